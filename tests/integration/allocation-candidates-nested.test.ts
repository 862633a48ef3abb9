import { randomUUID } from 'node:crypto';
import { seedAllocation, seedTraits } from '../helpers/seed';
import { startTestServer, type TestServer } from '../helpers/server';
import { seedNestedWorld, type NestedWorld } from './candidates-world';

/**
 * Nested trees and sharing providers: two compute nodes each with two NUMA nodes and a PF under each,
 * two sharing storage providers in the compute nodes' aggregate; cn2 also has local disk.
 */
let api: TestServer;
let p: NestedWorld['p'];

beforeAll(async () => {
  api = await startTestServer();
  ({ p } = await seedNestedWorld(api.database.db));
});
afterAll(async () => {
  await api.close();
});

const names = (uuids: string[]) => uuids.map((uuid) => Object.keys(p).find((k) => p[k].uuid === uuid)).sort();
/** Each allocation request as "provider:CLASS=amount" sorted, by provider name. */
const shapes = (body: any) =>
  body.allocation_requests
    .map((r: any) =>
      Object.entries(r.allocations)
        .flatMap(([uuid, a]: [string, any]) =>
          Object.entries(a.resources).map(([rc, n]) => `${names([uuid])[0]}:${rc}=${n}`),
        )
        .sort()
        .join(' '),
    )
    .sort();

describe('sharing providers', () => {
  it('serve disk to every compute node in their aggregate, local disk counting too (pre-1.29 summaries list used providers)', async () => {
    const res = await api.at('1.12').get('/allocation_candidates?resources=VCPU:1,MEMORY_MB:1024,DISK_GB:100');
    expect(res.status).toBe(200);
    expect(shapes(res.body)).toEqual([
      'cn1:MEMORY_MB=1024 cn1:VCPU=1 ss2:DISK_GB=100',
      'cn1:MEMORY_MB=1024 cn1:VCPU=1 ss:DISK_GB=100',
      'cn2:DISK_GB=100 cn2:MEMORY_MB=1024 cn2:VCPU=1',
      'cn2:MEMORY_MB=1024 cn2:VCPU=1 ss2:DISK_GB=100',
      'cn2:MEMORY_MB=1024 cn2:VCPU=1 ss:DISK_GB=100',
    ]);
    expect(names(Object.keys(res.body.provider_summaries))).toEqual(['cn1', 'cn2', 'ss', 'ss2']);
  });

  it('before 1.29 never combine two providers of one tree, but may pair a child with a sharing provider', async () => {
    const res = await api.at('1.28').get('/allocation_candidates?resources=DISK_GB:10,SRIOV_NET_VF:4');
    expect(res.body.allocation_requests).toHaveLength(8);
    expect(Object.keys(res.body.provider_summaries)).toHaveLength(6);
    const mixed = await api.at('1.28').get('/allocation_candidates?resources=VCPU:1,SRIOV_NET_VF:4');
    expect(mixed.body.allocation_requests).toEqual([]);
  });

  it('an unsuffixed group served only by sharing providers yields each distinct request once', async () => {
    const res = await api.at('1.34').get('/allocation_candidates?resources=DISK_GB:10');
    expect(shapes(res.body)).toEqual(['cn2:DISK_GB=10', 'ss2:DISK_GB=10', 'ss:DISK_GB=10']);
  });
});

describe('nested trees from 1.29', () => {
  it('combine the root and a child, summarising whole trees with parent and root uuids', async () => {
    const res = await api.at('1.29').get('/allocation_candidates?resources=VCPU:1,SRIOV_NET_VF:4');
    expect(shapes(res.body)).toEqual([
      'cn1:VCPU=1 pf1_1:SRIOV_NET_VF=4',
      'cn1:VCPU=1 pf1_2:SRIOV_NET_VF=4',
      'cn2:VCPU=1 pf2_1:SRIOV_NET_VF=4',
      'cn2:VCPU=1 pf2_2:SRIOV_NET_VF=4',
    ]);
    expect(Object.keys(res.body.provider_summaries)).toHaveLength(10);
    expect(res.body.provider_summaries[p.pf1_1.uuid]).toMatchObject({
      parent_provider_uuid: p.numa1_1.uuid,
      root_provider_uuid: p.cn1.uuid,
    });
  });

  it('limit=1 returns one request and only its tree in the summaries', async () => {
    const res = await api.at('1.29').get('/allocation_candidates?resources=VCPU:1,SRIOV_NET_VF:4&limit=1');
    expect(res.body.allocation_requests).toHaveLength(1);
    expect(Object.keys(res.body.allocation_requests[0].allocations)).toHaveLength(2);
    expect(Object.keys(res.body.provider_summaries)).toHaveLength(5);
  });

  it('required traits in the unsuffixed group count only providers that serve it', async () => {
    const res = await api
      .at('1.29')
      .get('/allocation_candidates?resources=VCPU:1,SRIOV_NET_VF:4&required=HW_CPU_X86_SSE');
    expect(shapes(res.body)).toEqual(['cn1:VCPU=1 pf1_1:SRIOV_NET_VF=4', 'cn1:VCPU=1 pf1_2:SRIOV_NET_VF=4']);
    const onlyVf = await api.at('1.29').get('/allocation_candidates?resources=SRIOV_NET_VF:4&required=HW_CPU_X86_SSE');
    expect(onlyVf.body.allocation_requests).toEqual([]);
  });

  it('a forbidden trait in the unsuffixed group excludes the trees whose serving provider has it (no 500)', async () => {
    const res = await api
      .at('1.29')
      .get('/allocation_candidates?resources=VCPU:1,SRIOV_NET_VF:4&required=!HW_CPU_X86_SSE');
    expect(res.status).toBe(200);
    expect(shapes(res.body)).toEqual(['cn2:VCPU=1 pf2_1:SRIOV_NET_VF=4', 'cn2:VCPU=1 pf2_2:SRIOV_NET_VF=4']);
  });

  it('mappings name the providers of each group (1.34)', async () => {
    const res = await api
      .at('1.34')
      .get('/allocation_candidates?resources=VCPU:1&resources_NET=SRIOV_NET_VF:4&in_tree=' + p.cn1.uuid);
    expect(res.body.allocation_requests).toEqual([
      {
        allocations: { [p.cn1.uuid]: { resources: { VCPU: 1 } }, [p.pf1_1.uuid]: { resources: { SRIOV_NET_VF: 4 } } },
        mappings: { '': [p.cn1.uuid], _NET: [p.pf1_1.uuid] },
      },
      {
        allocations: { [p.cn1.uuid]: { resources: { VCPU: 1 } }, [p.pf1_2.uuid]: { resources: { SRIOV_NET_VF: 4 } } },
        mappings: { '': [p.cn1.uuid], _NET: [p.pf1_2.uuid] },
      },
    ]);
  });
});

describe('in_tree (1.31)', () => {
  it('confines the unsuffixed group to the tree of the named provider, root or child', async () => {
    for (const where of [p.cn1.uuid, p.pf1_2.uuid]) {
      const res = await api.at('1.31').get(`/allocation_candidates?resources=VCPU:1,SRIOV_NET_VF:4&in_tree=${where}`);
      expect(res.body.allocation_requests).toHaveLength(2);
      expect(Object.keys(res.body.provider_summaries)).toHaveLength(5);
    }
  });

  it('excludes sharing providers outside the tree from the unsuffixed group', async () => {
    const cn1 = await api.at('1.31').get(`/allocation_candidates?resources=VCPU:1,DISK_GB:10&in_tree=${p.cn1.uuid}`);
    expect(cn1.body.allocation_requests).toEqual([]);
    const cn2 = await api.at('1.31').get(`/allocation_candidates?resources=VCPU:1,DISK_GB:10&in_tree=${p.cn2.uuid}`);
    expect(shapes(cn2.body)).toEqual(['cn2:DISK_GB=10 cn2:VCPU=1']);
  });

  it('lets a granular group take disk from a sharing provider named by in_treeN', async () => {
    const res = await api
      .at('1.31')
      .get(`/allocation_candidates?resources=VCPU:1&resources1=DISK_GB:10&in_tree1=${p.ss.uuid}`);
    expect(shapes(res.body)).toEqual(['cn1:VCPU=1 ss:DISK_GB=10', 'cn2:VCPU=1 ss:DISK_GB=10']);
    const local = await api
      .at('1.31')
      .get(`/allocation_candidates?resources=VCPU:1&in_tree=${p.cn2.uuid}&resources1=DISK_GB:10`);
    expect(shapes(local.body)).toEqual([
      'cn2:DISK_GB=10 cn2:VCPU=1',
      'cn2:VCPU=1 ss2:DISK_GB=10',
      'cn2:VCPU=1 ss:DISK_GB=10',
    ]);
  });

  it('an unknown in_tree provider matches nothing; a malformed one is a 400', async () => {
    const none = await api.at('1.31').get(`/allocation_candidates?resources=VCPU:1&in_tree=${randomUUID()}`);
    expect(none.status).toBe(200);
    expect(none.body).toEqual({ allocation_requests: [], provider_summaries: {} });
    const bad = await api.at('1.31').get('/allocation_candidates?resources=VCPU:1&in_tree=life-is-beautiful');
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].detail).toContain("Expected 'in_tree' parameter to be a format of uuid");
    const early = await api.at('1.30').get(`/allocation_candidates?resources=VCPU:1&in_tree=${p.cn1.uuid}`);
    expect(early.status).toBe(400);
  });
});

describe('granular groups and group_policy', () => {
  it('isolate puts each group on its own provider; none allows sharing one', async () => {
    const q = 'resources1=SRIOV_NET_VF:4&resources2=SRIOV_NET_VF:4&in_tree1=' + p.cn1.uuid + '&in_tree2=' + p.cn1.uuid;
    const isolate = await api.at('1.34').get(`/allocation_candidates?${q}&group_policy=isolate`);
    expect(shapes(isolate.body)).toEqual([
      'pf1_1:SRIOV_NET_VF=4 pf1_2:SRIOV_NET_VF=4',
      'pf1_1:SRIOV_NET_VF=4 pf1_2:SRIOV_NET_VF=4',
    ]);
    expect(isolate.body.allocation_requests.map((r: any) => r.mappings['1'][0]).sort()).toEqual(
      [p.pf1_1.uuid, p.pf1_2.uuid].sort(),
    );
    const none = await api.at('1.34').get(`/allocation_candidates?${q}&group_policy=none`);
    expect(shapes(none.body)).toEqual([
      'pf1_1:SRIOV_NET_VF=4 pf1_2:SRIOV_NET_VF=4',
      'pf1_1:SRIOV_NET_VF=4 pf1_2:SRIOV_NET_VF=4',
      'pf1_1:SRIOV_NET_VF=8',
      'pf1_2:SRIOV_NET_VF=8',
    ]);
  });

  it('refuses a consolidated amount beyond capacity', async () => {
    const res = await api
      .at('1.34')
      .get(
        `/allocation_candidates?resources1=SRIOV_NET_VF:5&resources2=SRIOV_NET_VF:5&group_policy=none&in_tree1=${p.cn1.uuid}&in_tree2=${p.cn1.uuid}`,
      );
    expect(shapes(res.body)).toEqual([
      'pf1_1:SRIOV_NET_VF=5 pf1_2:SRIOV_NET_VF=5',
      'pf1_1:SRIOV_NET_VF=5 pf1_2:SRIOV_NET_VF=5',
    ]);
  });

  it('requires group_policy with more than one granular group', async () => {
    const res = await api.at('1.25').get('/allocation_candidates?resources1=VCPU:1&resources2=SRIOV_NET_VF:1');
    expect(res.status).toBe(400);
    expect(res.body.errors[0].detail).toContain(
      'The "group_policy" parameter is required when specifying more than one "resources{N}" parameter.',
    );
  });
});

describe('root_required (1.35)', () => {
  it('filters on the anchor root traits, even when the root serves nothing', async () => {
    const res = await api
      .at('1.35')
      .get('/allocation_candidates?resources=SRIOV_NET_VF:4&root_required=HW_CPU_X86_SSE');
    expect(shapes(res.body)).toEqual(['pf1_1:SRIOV_NET_VF=4', 'pf1_2:SRIOV_NET_VF=4']);
    const forbidden = await api
      .at('1.35')
      .get('/allocation_candidates?resources=SRIOV_NET_VF:4&root_required=!HW_CPU_X86_SSE');
    expect(shapes(forbidden.body)).toEqual(['pf2_1:SRIOV_NET_VF=4', 'pf2_2:SRIOV_NET_VF=4']);
  });

  it('rejects a repeated root_required with the duplicate-key code', async () => {
    const res = await api
      .at('1.35')
      .get('/allocation_candidates?resources=VCPU:1&root_required=HW_CPU_X86_SSE&root_required=!HW_CPU_X86_SSE2');
    expect(res.status).toBe(400);
    expect(res.body.errors[0].code).toBe('placement.query.duplicate_key');
  });
});

describe('same_subtree with resourceless groups (1.36)', () => {
  it('keeps the VF under the NUMA node that a resourceless group picked', async () => {
    await seedTraits(api.database.db, p.numa1_1, ['CUSTOM_PICKED']);
    const res = await api
      .at('1.36')
      .get(
        '/allocation_candidates?resources_VF=SRIOV_NET_VF:1&required_NUMA=CUSTOM_PICKED&same_subtree=_VF,_NUMA&group_policy=none',
      );
    expect(shapes(res.body)).toEqual(['pf1_1:SRIOV_NET_VF=1']);
    expect(res.body.allocation_requests[0].mappings).toEqual({ _VF: [p.pf1_1.uuid], _NUMA: [p.numa1_1.uuid] });
  });

  it('rejects a resourceless group not named in same_subtree', async () => {
    const res = await api
      .at('1.36')
      .get('/allocation_candidates?resources_VF=SRIOV_NET_VF:1&required_NUMA=CUSTOM_PICKED&group_policy=none');
    expect(res.status).toBe(400);
    expect(res.body.errors[0].code).toBe('placement.query.bad_value');
    expect(res.body.errors[0].detail).toContain("bad group(s) - ['_NUMA']");
  });
});

describe('capacity against committed claims', () => {
  it('reflects usage committed before the query, and drops a provider once it is full', async () => {
    const db = api.database.db;
    await seedAllocation(db, { [p.pf2_1.uuid]: { SRIOV_NET_VF: 6 } });
    const res = await api.at('1.31').get('/allocation_candidates?resources=SRIOV_NET_VF:4&in_tree=' + p.cn2.uuid);
    expect(shapes(res.body)).toEqual(['pf2_2:SRIOV_NET_VF=4']);
    expect(res.body.provider_summaries[p.pf2_1.uuid].resources.SRIOV_NET_VF).toEqual({ capacity: 8, used: 6 });
  });
});
