import { randomUUID } from 'node:crypto';
import { capacityOf } from '../../src/domain/capacity';
import { seedInventory, seedProvider } from '../helpers/seed';
import { startTestServer, type TestServer } from '../helpers/server';
import { MEC, seedSevWorld, setHeartbeatAge, type SevWorld } from './emplace-world';

let api: TestServer;
let world: SevWorld;
beforeAll(async () => {
  api = await startTestServer();
  world = await seedSevWorld(api.database.db);
  await setHeartbeatAge(api.database.db, world.rootSev, 5);
  await setHeartbeatAge(api.database.db, world.nested, 3600);
});
afterAll(async () => {
  await api.close();
});

const get = (path: string, headers?: Record<string, string>) => api.at('1.39').get(path, undefined, headers);
const detail = (res: { body: any }) => String(res.body?.errors?.[0]?.detail ?? '');
const byName = (hosts: any[]) => Object.fromEntries(hosts.map((host) => [host.name, host]));
const amounts = (total: number, reserved: number, capacity: number, used: number, free: number) => ({
  total,
  reserved,
  capacity,
  used,
  free,
});

describe('GET /emplace/capacity', () => {
  it('lists every host whose tree has the class, per provider with its model, and leaves the rest out', async () => {
    const res = await get('/emplace/capacity');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.body.resource_class).toBe(MEC);
    expect(res.body.models).toEqual(['SEV-SNP', 'SEV-ES', 'SEV', 'TDX', 'none']);
    const hosts = byName(res.body.hosts);
    expect(Object.keys(hosts).sort()).toEqual(['cn-genoa-02', 'cn-plain-04', 'cn-rome-01', 'cn-sapphire-03']);
    expect(res.body.hosts.map((h: any) => h.uuid)).toEqual(res.body.hosts.map((h: any) => h.uuid).sort());

    expect(hosts['cn-rome-01']).toMatchObject({
      uuid: world.rootSev.uuid,
      draining: false,
      ...amounts(15, 0, 15, 3, 12),
    });
    expect(hosts['cn-rome-01'].providers).toEqual([
      {
        uuid: world.rootSev.uuid,
        name: 'cn-rome-01',
        parent_provider_uuid: null,
        model: 'SEV',
        traits: ['HW_CPU_AMD_SEV', 'HW_CPU_X86_AMD_SEV'],
        total: 15,
        reserved: 0,
        allocation_ratio: 1,
        capacity: 15,
        used: 3,
        free: 12,
        draining: false,
      },
    ]);

    const nested = hosts['cn-genoa-02'];
    expect(nested).toMatchObject({ uuid: world.nested.uuid, draining: true, ...amounts(19, 4, 15, 7, 10) });
    expect(nested.providers.map((p: any) => [p.uuid, p.parent_provider_uuid, p.model, p.traits, p.draining])).toEqual([
      [world.nestedSev.uuid, world.nested.uuid, 'SEV', ['HW_CPU_X86_AMD_SEV'], false],
      [world.nestedSnp.uuid, world.nested.uuid, 'SEV-SNP', ['HW_CPU_X86_AMD_SEV_SNP'], false],
      [world.nestedEs.uuid, world.nested.uuid, 'SEV-ES', ['HW_CPU_X86_AMD_SEV_ES'], true],
    ]);
    expect(nested.by_model).toEqual({
      SEV: amounts(10, 0, 10, 4, 6),
      'SEV-SNP': amounts(5, 0, 5, 1, 4),
      'SEV-ES': amounts(4, 4, 0, 2, 0),
    });
    expect(hosts['cn-sapphire-03'].by_model).toEqual({ TDX: amounts(8, 0, 8, 0, 8) });
    // Free follows Placement's capacity rule, allocation ratio included.
    expect(hosts['cn-plain-04'].by_model).toEqual({ none: amounts(2, 0, capacityOf(2, 0, 1.5), 0, 3) });
  });

  it('totals per model and overall over every selected host', async () => {
    const { totals } = (await get('/emplace/capacity?stale_after=60')).body;
    const row = (hosts: number, providers: number, a: ReturnType<typeof amounts>, draining = [0, 0, 0], stale = 0) => ({
      hosts,
      providers,
      ...a,
      draining_hosts: draining[0],
      draining_providers: draining[1],
      draining_used: draining[2],
      stale_hosts: stale,
    });
    expect(totals).toEqual({
      ...row(4, 6, amounts(44, 4, 41, 10, 33), [1, 1, 2], 1),
      by_model: {
        SEV: row(2, 2, amounts(25, 0, 25, 7, 18), [0, 0, 0], 1),
        'SEV-SNP': row(1, 1, amounts(5, 0, 5, 1, 4), [0, 0, 0], 1),
        'SEV-ES': row(1, 1, amounts(4, 4, 0, 2, 0), [1, 1, 2], 1),
        TDX: row(1, 1, amounts(8, 0, 8, 0, 8)),
        none: row(1, 1, amounts(2, 0, 3, 0, 3)),
      },
    });
  });

  it('marks a host stale when its root heartbeat is older than stale_after; never-heard hosts are not', async () => {
    const quiet = byName((await get('/emplace/capacity')).body.hosts);
    expect(Object.values(quiet).map((h: any) => h.stale)).toEqual([false, false, false, false]);
    const res = await get('/emplace/capacity?stale_after=60');
    expect(res.body.stale_after_seconds).toBe(60);
    const hosts = byName(res.body.hosts);
    expect(hosts['cn-genoa-02'].stale).toBe(true);
    expect(hosts['cn-genoa-02'].heartbeat_age_seconds).toBeGreaterThanOrEqual(3600);
    expect(hosts['cn-rome-01']).toMatchObject({ stale: false });
    expect(hosts['cn-rome-01'].heartbeat_age_seconds).toBeLessThan(3600);
    expect(new Date(hosts['cn-rome-01'].heartbeat_at).getTime()).toBeLessThan(Date.now() + 60_000);
    expect(hosts['cn-sapphire-03']).toMatchObject({ stale: false, heartbeat_at: null, heartbeat_age_seconds: null });
  });

  it('pages hosts in uuid order with limit and marker; totals come with the first page', async () => {
    const all = (await get('/emplace/capacity')).body.hosts.map((h: any) => h.uuid);
    const first = await get('/emplace/capacity?limit=3');
    expect(first.body.hosts.map((h: any) => h.uuid)).toEqual(all.slice(0, 3));
    expect(first.body.next_marker).toBe(all[2]);
    expect(first.body.totals.hosts).toBe(4);
    const second = await get(`/emplace/capacity?limit=3&marker=${first.body.next_marker.toUpperCase()}`);
    expect(second.body.hosts.map((h: any) => h.uuid)).toEqual(all.slice(3));
    expect(second.body.next_marker).toBeNull();
    expect(second.body).not.toHaveProperty('totals');
    expect((await get('/emplace/capacity?limit=4')).body.next_marker).toBeNull();
  });

  it('filters by aggregate and by trait, anywhere in the tree, with Placement’s syntax', async () => {
    const names = async (query: string) => (await get(`/emplace/capacity?${query}`)).body.hosts.map((h: any) => h.name);
    expect(await names(`member_of=${world.aggregate}`)).toEqual(['cn-sapphire-03']);
    expect(await names(`member_of=!${world.aggregate}`)).not.toContain('cn-sapphire-03');
    expect(await names(`member_of=${randomUUID()}`)).toEqual([]);
    expect(await names('required=HW_CPU_X86_AMD_SEV_SNP')).toEqual(['cn-genoa-02']);
    expect((await names('required=in:HW_CPU_X86_AMD_SEV_SNP,HW_CPU_X86_INTEL_TDX')).sort()).toEqual([
      'cn-genoa-02',
      'cn-sapphire-03',
    ]);
    expect(await names('required=HW_CPU_X86_AMD_SEV&required=!HW_CPU_X86_AMD_SEV_SNP')).toEqual(['cn-rome-01']);
    const filtered = (await get(`/emplace/capacity?member_of=${world.aggregate}`)).body.totals;
    expect(filtered).toMatchObject({ hosts: 1, capacity: 8, free: 8 });
    const nothing = (await get(`/emplace/capacity?member_of=${randomUUID()}`)).body.totals;
    expect(nothing).toMatchObject({ hosts: 0, capacity: 0, by_model: {} });
  });

  it('works for any resource class', async () => {
    const res = await get('/emplace/capacity?resource_class=VCPU');
    expect(res.body.resource_class).toBe('VCPU');
    const hosts = byName(res.body.hosts);
    expect(Object.keys(hosts).sort()).toEqual(['cn-genoa-02', 'cn-nomec-05', 'cn-rome-01']);
    expect(hosts['cn-genoa-02'].providers).toMatchObject([{ uuid: world.nested.uuid, model: 'none', total: 128 }]);
    expect(hosts['cn-rome-01'].providers).toMatchObject([{ model: 'SEV', total: 64, used: 0 }]);
  });

  it('follows a claim: used and free change as soon as allocations are written', async () => {
    const before = byName((await get('/emplace/capacity')).body.hosts)['cn-sapphire-03'];
    const consumer = randomUUID();
    const put = await api.at('1.39').put(`/allocations/${consumer}`, {
      allocations: { [world.tdx.uuid]: { resources: { [MEC]: 2 } } },
      project_id: 'p',
      user_id: 'u',
      consumer_generation: null,
      consumer_type: 'INSTANCE',
    });
    expect(put.status).toBe(204);
    const after = byName((await get('/emplace/capacity')).body.hosts)['cn-sapphire-03'];
    expect([before.used, before.free]).toEqual([0, 8]);
    expect([after.used, after.free]).toEqual([2, 6]);
    expect((await api.at('1.39').delete(`/allocations/${consumer}`)).status).toBe(204);
  });

  it('refuses bad input with Placement’s 400s', async () => {
    const cases: Array<[string, string]> = [
      ['resource_class=NO_SUCH_CLASS', 'No such resource class NO_SUCH_CLASS'],
      ['resource_class=lower', 'Invalid query string parameters'],
      ['required=CUSTOM_NOPE', 'No such trait(s): CUSTOM_NOPE'],
      ['member_of=not-a-uuid', "Expected 'member_of' parameter to contain valid UUID(s)"],
      ['limit=0', 'Invalid query string parameters'],
      ['limit=1001', "'limit' may be at most 1000"],
      ['marker=nope', 'Invalid query string parameters'],
      ['stale_after=-1', 'Invalid query string parameters'],
      ['bogus=1', "Additional properties are not allowed ('bogus' was unexpected)"],
    ];
    for (const [query, message] of cases) {
      const res = await get(`/emplace/capacity?${query}`);
      expect([query, res.status]).toEqual([query, 400]);
      expect(detail(res)).toContain(message);
    }
    const repeated = await get('/emplace/capacity?limit=1&limit=2');
    expect(repeated.status).toBe(400);
    expect(repeated.body.errors[0].code).toBe('placement.query.duplicate_key');
  });

  it('is a reader’s view: a project reader may look, a caller without a role may not', async () => {
    const reader = await get('/emplace/capacity', {
      'x-auth-token': 'alice',
      'x-roles': 'reader',
      'x-project-id': 'p1',
    });
    expect(reader.status).toBe(200);
    const nobody = await get('/emplace/capacity', { 'x-auth-token': 'bob:p1' });
    expect(nobody.status).toBe(403);
    expect(detail(nobody)).toContain('Policy does not allow emplace:capacity:show to be performed.');
    expect((await get('/emplace/capacity', { 'x-auth-token': '' })).status).toBe(401);
  });

  it('does not count a host added without the class until it gets inventory', async () => {
    const late = await seedProvider(api.database.db, { name: 'cn-late-06' });
    const names = async () => (await get('/emplace/capacity')).body.hosts.map((h: any) => h.name);
    expect(await names()).not.toContain('cn-late-06');
    await seedInventory(api.database.db, late, { [MEC]: 1 });
    expect(await names()).toContain('cn-late-06');
  });
});
