import { seedAllocation, seedInventory, seedProvider, seedTraits, type SeedProvider } from '../helpers/seed';
import { startTestServer, type TestServer, startAppInstance } from '../helpers/server';
import { seedNestedWorld, type NestedWorld } from './candidates-world';
import { MEC, seedSevWorld, setHeartbeatAge, type SevWorld } from './emplace-world';

/**
 * GET /emplace/explain/allocation_candidates over the SEV hosts of emplace-world.ts and the nested and
 * sharing cloud of the candidates tests (candidates-world.ts), plus `full`: a SEV host whose 15
 * MEM_ENCRYPTION_CONTEXT slots are all used.
 */
let api: TestServer;
let sev: SevWorld;
let nested: NestedWorld;
let full: SeedProvider;

beforeAll(async () => {
  api = await startTestServer();
  const db = api.database.db;
  sev = await seedSevWorld(db);
  nested = await seedNestedWorld(db);
  full = await seedProvider(db, { name: 'cn-full-06' });
  await seedInventory(db, full, { VCPU: 16, [MEC]: 15 });
  await seedTraits(db, full, ['HW_CPU_X86_AMD_SEV']);
  await seedAllocation(db, { [full.uuid]: { [MEC]: 15 } });
});
afterAll(async () => {
  await api.close();
});

const explain = async (version: string, query: string, client: { at: TestServer['at'] } = api) => {
  const res = await client.at(version).get(`/emplace/explain/allocation_candidates?${query}`);
  expect([query, res.status]).toEqual([query, 200]);
  return res.body;
};
const candidates = async (version: string, query: string, client: { at: TestServer['at'] } = api) => {
  const res = await client.at(version).get(`/allocation_candidates?${query}`);
  expect([query, res.status]).toEqual([query, 200]);
  return res.body;
};

/** The candidates tests' kinds of query, at the microversions where their meaning changes. */
const corpus = (): Array<[string, string]> => [
  ['1.39', 'resources=VCPU:1'],
  ['1.39', `resources=${MEC}:1&required=HW_CPU_X86_AMD_SEV`],
  ['1.39', `resources=VCPU:2,${MEC}:1&required=HW_CPU_X86_AMD_SEV`],
  ['1.39', `resources=VCPU:2,${MEC}:1&required=HW_CPU_X86_AMD_SEV_SNP`],
  ['1.39', `resources=${MEC}:6&required=HW_CPU_X86_AMD_SEV_SNP`],
  ['1.39', 'resources=VCPU:1,MEMORY_MB:1024,DISK_GB:100'],
  ['1.12', 'resources=VCPU:1,MEMORY_MB:1024,DISK_GB:100'],
  ['1.28', 'resources=VCPU:1,SRIOV_NET_VF:4'],
  ['1.29', 'resources=VCPU:1,SRIOV_NET_VF:4'],
  ['1.29', 'resources=VCPU:1,SRIOV_NET_VF:4&limit=1'],
  ['1.39', 'resources=SRIOV_NET_VF:4&required=HW_CPU_X86_SSE'],
  ['1.39', 'resources=VCPU:1,SRIOV_NET_VF:4&required=!HW_CPU_X86_SSE'],
  ['1.39', `resources=VCPU:1&resources_NET=SRIOV_NET_VF:4&in_tree=${nested.p.cn1.uuid}`],
  ['1.31', `resources=VCPU:1,DISK_GB:10&in_tree=${nested.p.cn2.uuid}`],
  ['1.31', 'resources=VCPU:1&in_tree=00000000-0000-4000-8000-000000000000'],
  ['1.34', 'resources1=SRIOV_NET_VF:1&resources2=SRIOV_NET_VF:1&group_policy=isolate'],
  ['1.34', 'resources1=SRIOV_NET_VF:1&resources2=SRIOV_NET_VF:1&resources3=SRIOV_NET_VF:1&group_policy=isolate'],
  ['1.34', 'resources1=SRIOV_NET_VF:1&resources2=SRIOV_NET_VF:1&group_policy=none'],
  ['1.36', 'resources_A=SRIOV_NET_VF:8&resources_B=SRIOV_NET_VF:8&group_policy=none&same_subtree=_A,_B'],
  ['1.36', 'resources_A=SRIOV_NET_VF:2&resources_B=SRIOV_NET_VF:2&group_policy=none&same_subtree=_A,_B'],
  ['1.39', `resources=${MEC}:1&required=in:HW_CPU_X86_AMD_SEV_SNP,HW_CPU_X86_INTEL_TDX`],
  ['1.39', `resources=${MEC}:1&member_of=${sev.aggregate}`],
  ['1.39', `resources=${MEC}:1&member_of=!${sev.aggregate}`],
  ['1.39', `resources_S=${MEC}:1&member_of_S=in:${sev.aggregate},${nested.aggregate}`],
  ['1.39', 'resources=VCPU:1&root_required=HW_CPU_X86_SSE'],
  ['1.39', 'resources=VCPU:1&root_required=!HW_CPU_X86_SSE'],
  ['1.39', `resources=${MEC}:20`],
  ['1.39', `resources=DISK_GB:10&member_of=${nested.aggregate}`],
  ['1.39', `resources_S=${MEC}:1&required_S=HW_CPU_X86_AMD_SEV&resources=VCPU:1&group_policy=none`],
  ['1.39', `resources_S=${MEC}:6&required_S=HW_CPU_X86_AMD_SEV_SNP`],
];

describe('agreement with GET /allocation_candidates', () => {
  it('has the final counts of the real answer for every query of the corpus', async () => {
    for (const [version, query] of corpus()) {
      const real = await candidates(version, query);
      const body = await explain(version, query);
      expect([version, query, body.final]).toEqual([
        version,
        query,
        {
          allocation_requests: real.allocation_requests.length,
          provider_summaries: Object.keys(real.provider_summaries).length,
        },
      ]);
      // A query with answers never names a filter that emptied it, and one without always does.
      expect([query, body.empty_at === null]).toEqual([query, real.allocation_requests.length > 0]);
    }
  });

  it('counts, over the whole request, every tree the real answer draws on, and no tree only when it is empty', async () => {
    for (const [version, query] of corpus()) {
      if (Number(version.split('.')[1]) < 29) continue; // summaries name roots from 1.29
      const real = await candidates(version, query);
      const summaries: Record<string, { root_provider_uuid: string; traits: string[] }> = real.provider_summaries;
      const anchors = new Set<string>();
      for (const request of real.allocation_requests) {
        const roots = Object.keys(request.allocations).map((uuid) => summaries[uuid]);
        // A sharing provider's tree anchors a candidate only when nothing else does.
        const own = roots.filter((s) => !s.traits.includes('MISC_SHARES_VIA_AGGREGATE'));
        for (const s of own.length > 0 ? own : roots) anchors.add(s.root_provider_uuid);
      }
      const body = await explain(version, query);
      const last = body.trees.at(-1).count;
      expect([query, last >= anchors.size]).toEqual([query, true]);
      if (last === 0) expect([query, real.allocation_requests.length]).toEqual([query, 0]);
    }
  });

  it('refuses what GET /allocation_candidates refuses, with the same status and words', async () => {
    for (const [version, query] of [
      ['1.39', 'resources=VCPU:x'],
      ['1.39', 'resources=CUSTOM_NOPE:1'],
      ['1.39', 'resources=VCPU:1&required=CUSTOM_NO_SUCH_TRAIT'],
      ['1.39', 'resources1=VCPU:1&resources2=VCPU:1'],
      ['1.39', 'resources=VCPU:1&foo=bar'],
      ['1.30', `resources=VCPU:1&in_tree=${nested.p.cn1.uuid}`],
      ['1.39', 'resources=VCPU:1&root_required=FOO&root_required=BAR'],
    ]) {
      const real = await api.at(version).get(`/allocation_candidates?${query}`);
      const res = await api.at(version).get(`/emplace/explain/allocation_candidates?${query}`);
      expect(real.status).toBe(400);
      expect([query, res.status, res.body.errors[0].detail]).toEqual([query, 400, real.body.errors[0].detail]);
    }
    const early = await api.at('1.9').get('/emplace/explain/allocation_candidates?resources=VCPU:1');
    expect(early.status).toBe(404);
  });

  it('asks the database what the query itself asks, and nothing more', async () => {
    const statements = async (path: string) => {
      let n = 0;
      const count = () => n++;
      api.database.db.on('query', count);
      try {
        expect((await api.at('1.39').get(path)).status).toBe(200);
      } finally {
        api.database.db.off('query', count);
      }
      return n;
    };
    const query = `resources=VCPU:2,MEMORY_MB:1024,DISK_GB:100&required=HW_CPU_X86_SSE&member_of=${nested.aggregate}`;
    const real = await statements(`/allocation_candidates?${query}`);
    const explained = await statements(`/emplace/explain/allocation_candidates?${query}`);
    // One look at the read model's change log, shared by the counts and the answer.
    expect(explained).toBe(real);
  });
});

describe('the stage counts', () => {
  it('count providers per filter of a suffixed group, and name the filter that emptied it', async () => {
    const body = await explain('1.39', `resources_S=${MEC}:6&required_S=HW_CPU_X86_AMD_SEV_SNP`);
    expect(body.groups).toEqual([
      {
        suffix: '_S',
        unit: 'providers',
        stages: [
          // Every provider with a MEM_ENCRYPTION_CONTEXT inventory ...
          { filter: 'resource_classes', count: 7 },
          // ... of which rootSev (12 free), nestedSev (6 free) and tdx (8) have room for 6 ...
          { filter: 'capacity', resource: `${MEC}:6`, count: 3 },
          // ... and none is SEV-SNP (the SNP child has 4 free).
          { filter: 'required_traits', count: 0 },
        ],
      },
    ]);
    expect(body.empty_at).toEqual({
      group: '_S',
      filter: 'required_traits',
      message: 'No provider left in resources_S has the required traits (HW_CPU_X86_AMD_SEV_SNP).',
    });
    expect(body.final).toEqual({ allocation_requests: 0, provider_summaries: 0 });
  });

  it('count trees for the unsuffixed group, one capacity stage per amount, then the trees of the request', async () => {
    const body = await explain('1.39', `resources=VCPU:2,${MEC}:11&required=HW_CPU_X86_AMD_SEV`);
    expect(body.groups[0]).toEqual({
      suffix: '',
      unit: 'trees',
      stages: [
        // Trees with both classes: rootSev, nested (VCPU on the host, MEC on children), full.
        { filter: 'resource_classes', count: 3 },
        { filter: 'capacity', resource: 'VCPU:2', count: 3 },
        { filter: 'capacity', resource: `${MEC}:11`, count: 1 },
        { filter: 'required_traits', count: 1 },
      ],
    });
    expect(body.trees).toEqual([{ filter: 'combined', count: 1 }]);
    expect(body.final.allocation_requests).toBe(1);
    expect(body.empty_at).toBeNull();
  });

  it('name a request-wide filter: root_required', async () => {
    const body = await explain('1.39', 'resources=VCPU:1&root_required=HW_CPU_X86_AMD_SEV_SNP');
    expect(body.trees).toEqual([
      { filter: 'combined', count: 6 },
      { filter: 'root_required', count: 0 },
    ]);
    expect(body.empty_at).toEqual({
      group: null,
      filter: 'root_required',
      message: 'No root left has what root_required asks for (HW_CPU_X86_AMD_SEV_SNP).',
    });
  });

  it('name group_policy=isolate when only isolation leaves nothing', async () => {
    const body = await explain(
      '1.34',
      'resources1=SRIOV_NET_VF:1&resources2=SRIOV_NET_VF:1&resources3=SRIOV_NET_VF:1&group_policy=isolate',
    );
    expect(body.trees.map((s: any) => s.filter)).toEqual(['combined', 'group_policy']);
    expect(body.trees[1].count).toBe(2);
    expect(body.empty_at).toMatchObject({ group: null, filter: 'group_policy' });
    expect(body.empty_at.message).toContain('group_policy=isolate');
  });

  it('name same_subtree when the groups fit only in different subtrees', async () => {
    const query = 'resources_A=SRIOV_NET_VF:8&resources_B=SRIOV_NET_VF:8&group_policy=none&same_subtree=_A,_B';
    const body = await explain('1.36', query);
    // cn1 and cn2 each have a PF with 8 VFs per NUMA node: the walk finds no tree with both in one subtree.
    expect(body.trees[1]).toMatchObject({ filter: 'same_subtree', count: 0 });
    expect(body.empty_at).toEqual({
      group: null,
      filter: 'same_subtree',
      message: 'No combination keeps the groups of same_subtree (_A,_B) within one subtree.',
    });
    // With 2 VFs each, both groups fit on one PF of either compute node.
    const fits = await explain('1.36', query.replaceAll('SRIOV_NET_VF:8', 'SRIOV_NET_VF:2'));
    expect(fits.trees).toEqual([
      { filter: 'combined', count: 2 },
      expect.objectContaining({ filter: 'same_subtree', count: 2 }),
    ]);
    expect(fits.empty_at).toBeNull();
  });

  it('say when trees pass every filter but their providers cannot be combined', async () => {
    // The SNP child has the trait but no room; the SEV child has room but not the trait.
    const body = await explain('1.39', `resources=${MEC}:6&required=HW_CPU_X86_AMD_SEV_SNP`);
    expect(body.trees).toEqual([{ filter: 'combined', count: 1 }]);
    expect(body.empty_at.filter).toBe('combination');
    expect(body.empty_at.message).toContain('required traits between them');
  });

  it('count the trees that need a sharing provider', async () => {
    const body = await explain('1.39', `resources=VCPU:1,DISK_GB:100&member_of=${nested.aggregate}`);
    // cn1 gets its disk from ss or ss2; cn2 has its own.
    expect(body.sharing).toEqual({ providers: 2, trees_needing_sharing: 1 });
    expect(body.trees).toEqual([{ filter: 'combined', count: 2 }]);
  });
});

describe('with provider=', () => {
  const ask = (query: string, provider: SeedProvider) => explain('1.39', `${query}&provider=${provider.uuid}`);

  it('gives capacity, usage and the amount asked for a host that is full', async () => {
    const body = await ask(`resources=${MEC}:1&required=HW_CPU_X86_AMD_SEV`, full);
    expect(body.provider).toMatchObject({
      uuid: full.uuid,
      found: true,
      root_uuid: full.uuid,
      tree_is_candidate: false,
      in_response: false,
      provider_reasons: [`resources: ${MEC}: capacity 15, used 15, requested 1`],
    });
    expect(body.provider.tree_reasons).toEqual([
      `resources: no provider of the tree can take ${MEC}:1 (${full.uuid}: ${MEC}: capacity 15, used 15, requested 1)`,
    ]);
    expect(body.provider.summary).toContain(`capacity 15, used 15, requested 1`);
  });

  it('names the trait a host lacks for a suffixed group', async () => {
    const body = await ask(`resources_SEV=${MEC}:1&required_SEV=HW_CPU_X86_AMD_SEV`, sev.tdx);
    expect(body.provider.provider_reasons).toEqual(['resources_SEV: lacks HW_CPU_X86_AMD_SEV']);
    expect(body.provider.tree_reasons[0]).toContain('lacks HW_CPU_X86_AMD_SEV');
    expect(body.provider.tree_is_candidate).toBe(false);
  });

  it('tells a child its tree is a candidate through a sibling, and why not through it', async () => {
    const body = await ask(`resources=VCPU:1,${MEC}:1&required=HW_CPU_X86_AMD_SEV`, sev.nestedEs);
    expect(body.provider).toMatchObject({
      root_uuid: sev.nested.uuid,
      tree_is_candidate: true,
      in_response: false,
      tree_reasons: [],
      provider_reasons: [`resources: ${MEC}: capacity 0, used 2, requested 1`],
    });
    expect(body.provider.summary).toContain('none uses this provider');
  });

  it('says so for a provider in the answer, and for an unknown or malformed uuid', async () => {
    const ok = await ask(`resources=${MEC}:1&required=HW_CPU_X86_AMD_SEV`, sev.rootSev);
    expect(ok.provider).toMatchObject({ tree_is_candidate: true, in_response: true, tree_reasons: [] });
    const unknown = await explain('1.39', `resources=VCPU:1&provider=00000000-0000-4000-8000-000000000000`);
    expect(unknown.provider).toMatchObject({ found: false });
    const bad = await api.at('1.39').get('/emplace/explain/allocation_candidates?resources=VCPU:1&provider=nope');
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].detail).toContain("'provider'");
    const twice = await api
      .at('1.39')
      .get(`/emplace/explain/allocation_candidates?resources=VCPU:1&provider=${full.uuid}&provider=${full.uuid}`);
    expect(twice.status).toBe(400);
  });
});

describe('with EMPLACE_STALE_AFTER_SECONDS', () => {
  it('counts the trees the stale filter leaves, agrees with the real answer, and names a silent root', async () => {
    const instance = await startAppInstance(api.database, { EMPLACE_STALE_AFTER_SECONDS: '60' }, 2);
    try {
      await setHeartbeatAge(api.database.db, sev.rootSev, 3600);
      const query = `resources=${MEC}:1&required=HW_CPU_X86_AMD_SEV`;
      const body = await explain('1.39', `${query}&provider=${sev.rootSev.uuid}`, instance);
      const real = await candidates('1.39', query, instance);
      expect(body.trees).toEqual([
        { filter: 'combined', count: 2 },
        { filter: 'stale', count: 1 },
      ]);
      expect(body.final.allocation_requests).toBe(real.allocation_requests.length);
      expect(body.provider.tree_is_candidate).toBe(false);
      expect(body.provider.tree_reasons[0]).toMatch(/^the root's last heartbeat was 36\d\d seconds ago/);
      const alone = await explain('1.39', `resources=${MEC}:12&required=HW_CPU_X86_AMD_SEV`, instance);
      expect(alone.empty_at).toMatchObject({ group: null, filter: 'stale' });
      expect(alone.empty_at.message).toContain('older than 60 seconds');
    } finally {
      await api.database.db('emplace_heartbeats').where({ resource_provider_id: sev.rootSev.id }).delete();
      await instance.close();
    }
  });
});

describe('policy', () => {
  it('is for admins and the service', async () => {
    const reader = { 'x-auth-token': 'user', 'x-roles': 'reader', 'x-project-id': 'p1' };
    const res = await api.at('1.39').get('/emplace/explain/allocation_candidates?resources=VCPU:1', undefined, reader);
    expect(res.status).toBe(403);
    expect(String(res.body.errors[0].detail)).toContain('emplace:explain:show');
    const service = { 'x-auth-token': 'nova:service', 'x-roles': 'service' };
    const ok = await api.at('1.39').get('/emplace/explain/allocation_candidates?resources=VCPU:1', undefined, service);
    expect(ok.status).toBe(200);
  });
});

describe('over a cloud that changes', () => {
  it('counts a tree again once it changed, though the same query was explained before', async () => {
    const db = api.database.db;
    const host = await seedProvider(db, { name: 'cn-changing' });
    await seedInventory(db, host, { VCPU: 4, [MEC]: 15 });
    await seedTraits(db, host, ['HW_CPU_X86_AMD_SEV']);
    const query = `resources=${MEC}:13&required=HW_CPU_X86_AMD_SEV`;
    const before = await explain('1.39', query);
    await seedAllocation(db, { [host.uuid]: { [MEC]: 3 } });
    const after = await explain('1.39', query);
    const capacity = (body: any) => body.groups[0].stages.find((s: any) => s.filter === 'capacity').count;
    expect(capacity(after)).toBe(capacity(before) - 1);
    expect(after.trees[0].count).toBe(before.trees[0].count - 1);
  });

  it('keeps its counts as a fresh count would give them while trees are added, changed, moved and deleted', async () => {
    const db = api.database.db;
    const queries = [
      `resources=${MEC}:1&required=HW_CPU_X86_AMD_SEV`,
      `resources_S=${MEC}:1&required_S=HW_CPU_X86_AMD_SEV&resources=VCPU:1&group_policy=none`,
      `resources=DISK_GB:10&member_of=${nested.aggregate}`,
      'resources1=SRIOV_NET_VF:1&resources2=SRIOV_NET_VF:1&group_policy=isolate',
    ];
    const counts = (body: any) => ({ groups: body.groups, trees: body.trees, sharing: body.sharing });
    const agree = async () => {
      // Another app has its own read model, so it counts every tree afresh.
      const fresh = await startAppInstance(api.database, {}, 2);
      try {
        for (const query of queries) {
          expect([query, counts(await explain('1.39', query))]).toEqual([
            query,
            counts(await explain('1.39', query, fresh)),
          ]);
        }
      } finally {
        await fresh.close();
      }
    };
    await agree();
    const added = await seedProvider(db, { name: 'cn-tally-new' });
    await seedInventory(db, added, { VCPU: 8, [MEC]: 15 });
    await seedTraits(db, added, ['HW_CPU_X86_AMD_SEV']);
    const child = await seedProvider(db, { name: 'cn-tally-child', parent: added });
    await seedInventory(db, child, { SRIOV_NET_VF: 4 });
    await agree();
    await seedAllocation(db, { [added.uuid]: { [MEC]: 15 } });
    await seedTraits(db, sev.rootSev, ['HW_CPU_X86_AMD_SEV', 'CUSTOM_TALLY']);
    await agree();
    // 1.37 lets a provider move to another tree: both trees change.
    const other = await seedProvider(db, { name: 'cn-tally-other' });
    await seedInventory(db, other, { VCPU: 8 });
    const moved = await api
      .at('1.39')
      .put(`/resource_providers/${child.uuid}`, { name: child.name, parent_provider_uuid: other.uuid });
    expect(moved.status).toBe(200);
    await agree();
    expect((await api.at('1.39').delete(`/resource_providers/${child.uuid}`)).status).toBe(204);
    await agree();
  });
});
