import { randomUUID } from 'node:crypto';
import { seedInventory, seedProvider, type SeedProvider } from '../helpers/seed';
import { startTestServer, type TestServer } from '../helpers/server';

let api: TestServer;
beforeAll(async () => {
  api = await startTestServer();
});
afterAll(async () => {
  await api.close();
});

const detail = (res: { body: any }) => String(res.body?.errors?.[0]?.detail ?? '');

async function claim(
  version: string,
  provider: SeedProvider,
  resources: Record<string, number>,
  who: { project: string; user: string; type?: string },
) {
  const body: Record<string, unknown> = {
    allocations: { [provider.uuid]: { resources } },
    project_id: who.project,
    user_id: who.user,
    consumer_generation: null,
  };
  if (who.type) body.consumer_type = who.type;
  const res = await api.at(version).put(`/allocations/${randomUUID()}`, body);
  expect(res.status).toBe(204);
}

describe('GET /resource_providers/{uuid}/usages', () => {
  it('404s for an unknown provider', async () => {
    const uuid = randomUUID();
    const res = await api.at('1.0').get(`/resource_providers/${uuid}/usages`);
    expect(res.status).toBe(404);
    expect(detail(res)).toContain(`No resource provider with uuid ${uuid} found`);
  });

  it('lists every inventoried class, zero when unused, with the generation; cache headers from 1.15', async () => {
    const rp = await seedProvider(api.database.db);
    expect((await api.at('1.0').get(`/resource_providers/${rp.uuid}/usages`)).body).toEqual({
      resource_provider_generation: 0,
      usages: {},
    });
    await seedInventory(api.database.db, rp, { VCPU: 8, DISK_GB: 100 });
    await claim('1.28', rp, { VCPU: 2 }, { project: 'p', user: 'u' });
    const res = await api.at('1.14').get(`/resource_providers/${rp.uuid}/usages`);
    expect(res.body).toEqual({ resource_provider_generation: 2, usages: { VCPU: 2, DISK_GB: 0 } });
    expect(res.headers.get('last-modified')).toBeNull();
    const cached = await api.at('1.15').get(`/resource_providers/${rp.uuid}/usages`);
    expect(cached.headers.get('cache-control')).toBe('no-cache');
    expect(cached.headers.get('last-modified')).toMatch(/GMT$/);
  });
});

describe('GET /usages', () => {
  let rp: SeedProvider;
  const project = `proj-${randomUUID()}`;
  beforeAll(async () => {
    rp = await seedProvider(api.database.db);
    await seedInventory(api.database.db, rp, {
      VCPU: { total: 100, max_unit: 100 },
      DISK_GB: { total: 5000, max_unit: 5000 },
    });
    // Two untyped consumers (written before 1.38), one INSTANCE, one PONY; one user differs.
    await claim('1.28', rp, { VCPU: 3, DISK_GB: 1000 }, { project, user: 'alice' });
    await claim('1.28', rp, { VCPU: 4, DISK_GB: 20 }, { project, user: 'bob' });
    await claim('1.38', rp, { DISK_GB: 10 }, { project, user: 'alice', type: 'INSTANCE' });
    await claim('1.38', rp, { DISK_GB: 10, VCPU: 1 }, { project, user: 'alice', type: 'PONY' });
    await claim('1.28', rp, { VCPU: 50 }, { project: 'someone-else', user: 'alice' });
  });

  it('does not exist before 1.9 and requires project_id', async () => {
    expect((await api.at('1.8').get(`/usages?project_id=${project}`)).status).toBe(404);
    const missing = await api.at('1.9').get('/usages');
    expect(missing.status).toBe(400);
    expect(detail(missing)).toContain("Invalid query string parameters: 'project_id' is a required property");
  });

  it.each([
    ['project_id=', "'' is too short"],
    [`project_id=${'x'.repeat(256)}`, 'is too long'],
    ['project_id=p&user_id=', "'' is too short"],
    ['project_id=p&dummy=1', 'Additional properties are not allowed'],
    ['project_id=p&consumer_type=instance', "'instance' does not match"],
    // PostgreSQL cannot bind a NUL; without the check this was a 500.
    ['project_id=p%00', 'the query string contains a NUL character'],
  ])('refuses %s with 400', async (query, message) => {
    const res = await api.at('1.38').get(`/usages?${query}`);
    expect(res.status).toBe(400);
    expect(detail(res)).toContain(message);
  });

  it('sums per class for a project, or a project and user (1.9-1.37)', async () => {
    expect((await api.at('1.9').get(`/usages?project_id=${project}`)).body).toEqual({
      usages: { VCPU: 8, DISK_GB: 1040 },
    });
    expect((await api.at('1.37').get(`/usages?project_id=${project}&user_id=bob`)).body).toEqual({
      usages: { VCPU: 4, DISK_GB: 20 },
    });
    expect((await api.at('1.9').get('/usages?project_id=nobody')).body).toEqual({ usages: {} });
    expect((await api.at('1.9').get(`/usages?project_id=${project}&user_id=nobody`)).body).toEqual({ usages: {} });
  });

  it('groups by consumer type with consumer counts from 1.38 (Placement answers 500 here on PostgreSQL)', async () => {
    const res = await api.at('1.38').get(`/usages?project_id=${project}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      usages: {
        INSTANCE: { consumer_count: 1, DISK_GB: 10 },
        PONY: { consumer_count: 1, DISK_GB: 10, VCPU: 1 },
        unknown: { consumer_count: 2, DISK_GB: 1020, VCPU: 7 },
      },
    });
    expect((await api.at('1.38').get(`/usages?project_id=${project}&user_id=alice`)).body.usages).toEqual({
      INSTANCE: { consumer_count: 1, DISK_GB: 10 },
      PONY: { consumer_count: 1, DISK_GB: 10, VCPU: 1 },
      unknown: { consumer_count: 1, DISK_GB: 1000, VCPU: 3 },
    });
  });

  it('filters by a type name, by all, and by unknown; ALL and UNKNOWN are just names', async () => {
    const get = async (type: string) =>
      (await api.at('1.38').get(`/usages?project_id=${project}&consumer_type=${type}`)).body.usages;
    expect(await get('PONY')).toEqual({ PONY: { consumer_count: 1, DISK_GB: 10, VCPU: 1 } });
    expect(await get('COW')).toEqual({});
    expect(await get('all')).toEqual({ all: { consumer_count: 4, DISK_GB: 1040, VCPU: 8 } });
    expect(await get('unknown')).toEqual({ unknown: { consumer_count: 2, DISK_GB: 1020, VCPU: 7 } });
    expect(await get('ALL')).toEqual({});
    expect(await get('UNKNOWN')).toEqual({});
  });

  it('sends cache headers from 1.15', async () => {
    const res = await api.at('1.15').get(`/usages?project_id=${project}`);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect((await api.at('1.14').get(`/usages?project_id=${project}`)).headers.get('cache-control')).toBeNull();
  });
});
