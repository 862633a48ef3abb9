import { randomUUID } from 'node:crypto';
import { seedAllocation, seedInventory, seedProvider, type SeedInventory, type SeedProvider } from '../helpers/seed';
import { startTestServer, type TestServer } from '../helpers/server';

let api: TestServer;
beforeAll(async () => {
  api = await startTestServer();
});
afterAll(async () => {
  await api.close();
});

const PROJECT = 'f7e2c3b0-project';
const USER = 'a1b2c3d4-user';

async function host(inventory: Record<string, SeedInventory | number>): Promise<SeedProvider> {
  const provider = await seedProvider(api.database.db);
  await seedInventory(api.database.db, provider, inventory);
  return provider;
}

async function generationOf(provider: SeedProvider): Promise<number> {
  return (await api.database.db('resource_providers').where({ id: provider.id }).first('generation')).generation;
}

async function usages(provider: SeedProvider): Promise<Record<string, number>> {
  return (await api.at('1.0').get(`/resource_providers/${provider.uuid}/usages`)).body.usages;
}

const dict = (provider: SeedProvider, resources: Record<string, number>) => ({ [provider.uuid]: { resources } });

function body128(
  provider: SeedProvider,
  resources: Record<string, number>,
  generation: number | null,
  extra: Record<string, unknown> = {},
) {
  return {
    allocations: dict(provider, resources),
    project_id: PROJECT,
    user_id: USER,
    consumer_generation: generation,
    ...extra,
  };
}

const detail = (res: { body: any }) => String(res.body?.errors?.[0]?.detail ?? '');

describe('GET /allocations/{consumer_uuid}', () => {
  it('answers an empty dict for a consumer with nothing', async () => {
    const res = await api.at('1.39').get(`/allocations/${randomUUID()}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ allocations: {} });
  });

  it('answers an empty dict for a malformed consumer id, as Placement does', async () => {
    const res = await api.at('1.39').get('/allocations/not-a-uuid');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ allocations: {} });
  });

  it('has no GET on the collection (405, Allow: POST)', async () => {
    const res = await api.at('1.39').get('/allocations');
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
  });
});

describe('PUT /allocations/{consumer_uuid}, list form (1.0-1.11)', () => {
  it('claims, creates the consumer with the incomplete project/user, bumps the provider generation', async () => {
    const rp = await host({ DISK_GB: { total: 2048, min_unit: 10, max_unit: 1024 } });
    const before = await generationOf(rp);
    const consumer = randomUUID();
    const res = await api.at('1.7').put(`/allocations/${consumer}`, {
      allocations: [{ resource_provider: { uuid: rp.uuid }, resources: { DISK_GB: 10 } }],
    });
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    expect(await generationOf(rp)).toBe(before + 1);
    expect(await usages(rp)).toEqual({ DISK_GB: 10 });
    const got = await api.at('1.12').get(`/allocations/${consumer}`);
    expect(got.body).toEqual({
      allocations: { [rp.uuid]: { generation: before + 1, resources: { DISK_GB: 10 } } },
      project_id: api.config.incompleteConsumerProjectId,
      user_id: api.config.incompleteConsumerUserId,
    });
    // 1.0 shows neither project nor user.
    expect((await api.at('1.0').get(`/allocations/${consumer}`)).body).not.toHaveProperty('project_id');
  });

  it("replaces (not adds to) a consumer's allocations on a second PUT", async () => {
    const rp = await host({ DISK_GB: 100 });
    const consumer = randomUUID();
    const put = (n: number) =>
      api.at('1.0').put(`/allocations/${consumer}`, {
        allocations: [{ resource_provider: { uuid: rp.uuid }, resources: { DISK_GB: n } }],
      });
    expect((await put(10)).status).toBe(204);
    expect((await put(12)).status).toBe(204);
    expect(await usages(rp)).toEqual({ DISK_GB: 12 });
  });

  it('requires project_id and user_id from 1.8', async () => {
    const rp = await host({ DISK_GB: 100 });
    const allocations = [{ resource_provider: { uuid: rp.uuid }, resources: { DISK_GB: 1 } }];
    const missing = await api.at('1.8').put(`/allocations/${randomUUID()}`, { allocations, user_id: USER });
    expect(missing.status).toBe(400);
    expect(detail(missing)).toContain("JSON does not validate: 'project_id' is a required property");
    const empty = await api
      .at('1.8')
      .put(`/allocations/${randomUUID()}`, { allocations, project_id: '', user_id: USER });
    expect(empty.status).toBe(400);
    const ok = await api
      .at('1.8')
      .put(`/allocations/${randomUUID()}`, { allocations, project_id: PROJECT, user_id: USER });
    expect(ok.status).toBe(204);
  });

  it('refuses project_id before 1.8 (not part of that shape)', async () => {
    const rp = await host({ DISK_GB: 100 });
    const res = await api.at('1.7').put(`/allocations/${randomUUID()}`, {
      allocations: [{ resource_provider: { uuid: rp.uuid }, resources: { DISK_GB: 1 } }],
      project_id: PROJECT,
    });
    expect(res.status).toBe(400);
    expect(detail(res)).toContain("'project_id' was unexpected");
  });
});

describe('bad input is refused with 4xx and nothing is written', () => {
  let rp: SeedProvider;
  beforeAll(async () => {
    rp = await host({ DISK_GB: { total: 2048, min_unit: 10, max_unit: 1024, step_size: 2 } });
  });
  const put = (resources: unknown, consumer: string = randomUUID()) =>
    api
      .at('1.0')
      .put(`/allocations/${consumer}`, { allocations: [{ resource_provider: { uuid: rp.uuid }, resources }] });

  it.each([
    [{ DISK_GB: 0 }, '0 is less than the minimum of 1'],
    [{ DISK_GB: -5 }, '-5 is less than the minimum of 1'],
    [{ DISK_GB: 1.5 }, "1.5 is not of type 'integer'"],
    [{ DISK_GB: '10' }, "'10' is not of type 'integer'"],
    [{ DISK_GB: 2147483648 }, '2147483648 is greater than the maximum of 2147483647'],
    [{}, '{} does not have enough properties'],
    [{ cow: 10 }, "'cow' does not match any of the regexes: '^[A-Z0-9_]+$'"],
  ])('amounts %j -> 400 %s', async (resources, message) => {
    const res = await put(resources);
    expect(res.status).toBe(400);
    expect(detail(res)).toContain(`JSON does not validate: ${message}`);
    expect(await usages(rp)).toEqual({ DISK_GB: 0 });
  });

  it('refuses an empty allocation list', async () => {
    const res = await api.at('1.0').put(`/allocations/${randomUUID()}`, { allocations: [] });
    expect(res.status).toBe(400);
    expect(detail(res)).toContain('[] is too short');
  });

  it('refuses a consumer id that is not a uuid', async () => {
    const res = await put({ DISK_GB: 10 }, 'not-a-uuid');
    expect(res.status).toBe(400);
    expect(detail(res)).toContain('Malformed consumer_uuid: not-a-uuid');
  });

  it('refuses an unknown provider with 400 naming it', async () => {
    const missing = randomUUID();
    const res = await api.at('1.0').put(`/allocations/${randomUUID()}`, {
      allocations: [{ resource_provider: { uuid: missing }, resources: { DISK_GB: 10 } }],
    });
    expect(res.status).toBe(400);
    expect(detail(res)).toContain(`Allocation for resource provider '${missing}' that does not exist.`);
  });

  it('refuses a class that does not exist with 400 (Placement wording)', async () => {
    const consumer = randomUUID();
    const res = await put({ COWS: 12 }, consumer);
    expect(res.status).toBe(400);
    expect(detail(res)).toContain(
      `Unable to allocate inventory for consumer ${consumer}: No such resource class COWS.`,
    );
    expect((await api.at('1.28').get(`/allocations/${consumer}`)).body).toEqual({ allocations: {} });
    expect(await api.database.db('consumers').where({ uuid: consumer }).first()).toBeUndefined();
  });

  it('refuses a class the provider has no inventory of with 409', async () => {
    const res = await put({ VCPU: 1 });
    expect(res.status).toBe(409);
    expect(detail(res)).toContain(
      `Unable to allocate inventory: Inventory for 'VCPU' on resource provider '${rp.uuid}' invalid.`,
    );
  });

  it('refuses one missing class among several with 409 even when another fits', async () => {
    const res = await put({ DISK_GB: 10, VCPU: 1 });
    expect(res.status).toBe(409);
    expect(detail(res)).toContain(`Inventory for 'VCPU' on resource provider '${rp.uuid}' invalid.`);
    expect(await usages(rp)).toEqual({ DISK_GB: 0 });
  });

  it.each([
    [4, 'min_unit'],
    [1026, 'max_unit'],
    [11, 'step_size'],
  ])('refuses %d (violates %s) with 409 naming the constraints', async (amount) => {
    const res = await put({ DISK_GB: amount });
    expect(res.status).toBe(409);
    expect(detail(res)).toContain(
      `Unable to create allocation for 'DISK_GB' on resource provider '${rp.uuid}'. The requested amount would violate inventory constraints.`,
    );
    expect(detail(res)).toContain(`Requested ${amount}; min_unit 10, max_unit 1024, step_size 2.`);
  });

  it('refuses an oversized body with 413', async () => {
    const huge = {
      allocations: [{ resource_provider: { uuid: rp.uuid }, resources: { DISK_GB: 10 } }],
      pad: 'x'.repeat(api.config.bodyLimitBytes),
    };
    const res = await api.at('1.0').put(`/allocations/${randomUUID()}`, huge);
    expect(res.status).toBe(413);
  });

  it('refuses a body that is not JSON with 400', async () => {
    const res = await api.request('PUT', `/allocations/${randomUUID()}`, {
      rawBody: '{"allocations": [',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(400);
    expect(detail(res)).toContain('Malformed JSON');
  });
});

describe('capacity', () => {
  it('refuses a claim beyond free capacity with 409 naming provider, class, asked and free', async () => {
    const rp = await host({ VCPU: { total: 8, reserved: 2, allocation_ratio: 2.0, max_unit: 12 } });
    // capacity (8 - 2) * 2 = 12
    expect(
      (
        await api
          .at('1.39')
          .put(`/allocations/${randomUUID()}`, { ...body128(rp, { VCPU: 10 }, null), consumer_type: 'INSTANCE' })
      ).status,
    ).toBe(204);
    const generation = await generationOf(rp);
    const res = await api
      .at('1.39')
      .put(`/allocations/${randomUUID()}`, { ...body128(rp, { VCPU: 3 }, null), consumer_type: 'INSTANCE' });
    expect(res.status).toBe(409);
    expect(detail(res)).toContain(
      `Unable to allocate inventory: Unable to create allocation for 'VCPU' on resource provider '${rp.uuid}'. The requested amount would exceed the capacity.`,
    );
    expect(detail(res)).toContain('Requested 3, used 10, capacity 12, free 2.');
    expect(await generationOf(rp)).toBe(generation);
    const fits = await api
      .at('1.39')
      .put(`/allocations/${randomUUID()}`, { ...body128(rp, { VCPU: 2 }, null), consumer_type: 'INSTANCE' });
    expect(fits.status).toBe(204);
    expect(await usages(rp)).toEqual({ VCPU: 12 });
  });

  it('is atomic across providers: one refusal writes nothing anywhere', async () => {
    const a = await host({ VCPU: 4 });
    const b = await host({ DISK_GB: 10 });
    const res = await api.at('1.12').put(`/allocations/${randomUUID()}`, {
      allocations: { ...dict(a, { VCPU: 2 }), ...dict(b, { DISK_GB: 11 }) },
      project_id: PROJECT,
      user_id: USER,
    });
    expect(res.status).toBe(409);
    expect(await usages(a)).toEqual({ VCPU: 0 });
    expect(await usages(b)).toEqual({ DISK_GB: 0 });
  });

  it('lets a consumer shrink a claim on a provider that is already over capacity', async () => {
    const rp = await host({ VCPU: { total: 4, max_unit: 8 } });
    const consumer = await seedAllocation(
      api.database.db,
      { [rp.uuid]: { VCPU: 6 } },
      { projectId: PROJECT, userId: USER },
    );
    const res = await api
      .at('1.12')
      .put(`/allocations/${consumer}`, { allocations: dict(rp, { VCPU: 5 }), project_id: PROJECT, user_id: USER });
    expect(res.status).toBe(204);
    const worse = await api
      .at('1.12')
      .put(`/allocations/${consumer}`, { allocations: dict(rp, { VCPU: 7 }), project_id: PROJECT, user_id: USER });
    expect(worse.status).toBe(409);
  });

  it('names every requested class when the provider has inventory of none of them', async () => {
    const rp = await host({ DISK_GB: 10 });
    const res = await api
      .at('1.12')
      .put(`/allocations/${randomUUID()}`, { allocations: dict(rp, { VCPU: 1 }), project_id: PROJECT, user_id: USER });
    expect(res.status).toBe(409);
    expect(detail(res)).toContain(`Inventory for 'VCPU' on resource provider '${rp.uuid}' invalid.`);
  });
});

describe('dict form (1.12)', () => {
  it('round-trips: what GET returns can be PUT back', async () => {
    const a = await host({ VCPU: 96, DISK_GB: 2048 });
    const consumer = randomUUID();
    const first = await api.at('1.12').put(`/allocations/${consumer}`, {
      allocations: dict(a, { VCPU: 1, DISK_GB: 20 }),
      project_id: PROJECT,
      user_id: USER,
    });
    expect(first.status).toBe(204);
    const got = await api.at('1.12').get(`/allocations/${consumer}`);
    expect(got.body.project_id).toBe(PROJECT);
    expect(got.body.user_id).toBe(USER);
    const again = await api
      .at('1.12')
      .put(`/allocations/${consumer}`, { allocations: got.body.allocations, project_id: PROJECT, user_id: USER });
    expect(again.status).toBe(204);
  });

  it('refuses the list form, non-uuid provider keys, bad class names, empty dicts and unknown fields', async () => {
    const a = await host({ VCPU: 4 });
    const url = `/allocations/${randomUUID()}`;
    const cases: Array<[unknown, string]> = [
      [
        {
          allocations: [{ resource_provider: { uuid: a.uuid }, resources: { VCPU: 1 } }],
          project_id: PROJECT,
          user_id: USER,
        },
        "is not of type 'object'",
      ],
      [
        { allocations: { nice_house_friend: { resources: { VCPU: 1 } } }, project_id: PROJECT, user_id: USER },
        "'nice_house_friend' does not match any of the regexes: '^[0-9a-fA-F-]{36}$'",
      ],
      [
        { allocations: { [a.uuid]: { resources: { vcpu: 1 } } }, project_id: PROJECT, user_id: USER },
        "'vcpu' does not match any of the regexes",
      ],
      [{ allocations: {}, project_id: PROJECT, user_id: USER }, '{} does not have enough properties'],
      [
        { allocations: dict(a, { VCPU: 1 }), project_id: PROJECT, user_id: USER, bad_field: 'moo' },
        "'bad_field' was unexpected",
      ],
    ];
    for (const [body, message] of cases) {
      const res = await api.at('1.12').put(url, body);
      expect(res.status).toBe(400);
      expect(detail(res)).toContain('JSON does not validate');
      expect(detail(res)).toContain(message);
    }
  });

  it('moves a consumer to another project when asked (bug 1779717)', async () => {
    const a = await host({ VCPU: 16 });
    const consumer = randomUUID();
    await api.at('1.28').put(`/allocations/${consumer}`, body128(a, { VCPU: 2 }, null));
    const moved = await api
      .at('1.28')
      .put(`/allocations/${consumer}`, { ...body128(a, { VCPU: 2 }, 1), project_id: 'other-project' });
    expect(moved.status).toBe(204);
    expect((await api.at('1.28').get(`/allocations/${consumer}`)).body).toMatchObject({
      project_id: 'other-project',
      user_id: USER,
      consumer_generation: 2,
    });
  });

  it('accepts a dashless consumer uuid and stores it in canonical form', async () => {
    const a = await host({ VCPU: 16 });
    const consumer = randomUUID();
    const res = await api
      .at('1.28')
      .put(`/allocations/${consumer.replace(/-/g, '').toUpperCase()}`, body128(a, { VCPU: 1 }, null));
    expect(res.status).toBe(204);
    expect((await api.at('1.28').get(`/allocations/${consumer}`)).body.allocations[a.uuid].resources).toEqual({
      VCPU: 1,
    });
  });
});

describe('consumer generations (1.28)', () => {
  it('requires consumer_generation, null for a new consumer, and checks it afterwards', async () => {
    const a = await host({ DISK_GB: 100 });
    const consumer = randomUUID();
    const url = `/allocations/${consumer}`;
    const missing = await api
      .at('1.28')
      .put(url, { allocations: dict(a, { DISK_GB: 10 }), project_id: PROJECT, user_id: USER });
    expect(missing.status).toBe(400);
    expect(detail(missing)).toContain("'consumer_generation' is a required property");

    const notNull = await api.at('1.28').put(url, body128(a, { DISK_GB: 10 }, 5));
    expect(notNull.status).toBe(409);
    expect(notNull.body.errors[0].code).toBe('placement.concurrent_update');
    expect(detail(notNull)).toContain('consumer generation conflict - expected null but got 5');

    expect((await api.at('1.28').put(url, body128(a, { DISK_GB: 10 }, null))).status).toBe(204);
    const got = await api.at('1.28').get(url);
    expect(got.body.consumer_generation).toBe(1);

    const stale = await api.at('1.28').put(url, body128(a, { DISK_GB: 11 }, null));
    expect(stale.status).toBe(409);
    expect(detail(stale)).toContain('consumer generation conflict - expected 1 but got None');
    const wrong = await api.at('1.28').put(url, body128(a, { DISK_GB: 11 }, 12));
    expect(detail(wrong)).toContain('consumer generation conflict - expected 1 but got 12');

    expect((await api.at('1.28').put(url, body128(a, { DISK_GB: 11 }, 1))).status).toBe(204);
    expect((await api.at('1.28').get(url)).body.consumer_generation).toBe(2);
    // Before 1.28 nothing is checked, but the generation still moves.
    expect(
      (await api.at('1.27').put(url, { allocations: dict(a, { DISK_GB: 12 }), project_id: PROJECT, user_id: USER }))
        .status,
    ).toBe(204);
    expect((await api.at('1.28').get(url)).body.consumer_generation).toBe(3);
  });

  it('deletes allocations (and the consumer) with an empty dict, after which null is right again', async () => {
    const a = await host({ DISK_GB: 100 });
    const consumer = randomUUID();
    const url = `/allocations/${consumer}`;
    await api.at('1.28').put(url, body128(a, { DISK_GB: 10 }, null));
    const generation = await generationOf(a);
    const cleared = await api
      .at('1.28')
      .put(url, { allocations: {}, project_id: PROJECT, user_id: USER, consumer_generation: 1 });
    expect(cleared.status).toBe(204);
    expect(await generationOf(a)).toBe(generation + 1);
    expect((await api.at('1.28').get(url)).body).toEqual({ allocations: {} });
    expect(await api.database.db('consumers').where({ uuid: consumer }).first()).toBeUndefined();
    expect(await usages(a)).toEqual({ DISK_GB: 0 });
    expect((await api.at('1.28').put(url, body128(a, { DISK_GB: 10 }, null))).status).toBe(204);
  });

  it('bumps the providers a consumer is moved to, not the one it leaves', async () => {
    const source = await host({ VCPU: 4 });
    const target = await host({ VCPU: 4 });
    const consumer = randomUUID();
    const url = `/allocations/${consumer}`;
    await api.at('1.28').put(url, body128(source, { VCPU: 2 }, null));
    const [gs, gt] = [await generationOf(source), await generationOf(target)];
    expect((await api.at('1.28').put(url, body128(target, { VCPU: 2 }, 1))).status).toBe(204);
    expect([await generationOf(source), await generationOf(target)]).toEqual([gs, gt + 1]);
    expect(await usages(source)).toEqual({ VCPU: 0 });
    // Re-writing the same claim still counts as a write on the provider it names.
    expect((await api.at('1.28').put(url, body128(target, { VCPU: 2 }, 2))).status).toBe(204);
    expect(await generationOf(target)).toBe(gt + 2);
  });

  it("leaves no consumer behind when a new consumer's claim is refused (bug 1778591)", async () => {
    const a = await host({ VCPU: 4 });
    const consumer = randomUUID();
    const url = `/allocations/${consumer}`;
    const refused = await api.at('1.28').put(url, body128(a, { VCPU: 9999 }, null));
    expect(refused.status).toBe(409);
    expect((await api.at('1.28').get(url)).body).toEqual({ allocations: {} });
    expect((await api.at('1.28').put(url, body128(a, { VCPU: 1 }, null))).status).toBe(204);
  });

  it('leaves no project, user or consumer type behind when a claim is refused', async () => {
    const a = await host({ VCPU: 4 });
    const project = `project-${randomUUID()}`;
    const user = `user-${randomUUID()}`;
    const refused = await api.at('1.38').put(`/allocations/${randomUUID()}`, {
      ...body128(a, { VCPU: 9999 }, null, { project_id: project, user_id: user }),
      consumer_type: 'CUSTOM_REFUSED',
    });
    expect(refused.status).toBe(409);
    const db = api.database.db;
    expect(await db('projects').where({ external_id: project })).toHaveLength(0);
    expect(await db('users').where({ external_id: user })).toHaveLength(0);
    expect(await db('consumer_types').where({ name: 'CUSTOM_REFUSED' })).toHaveLength(0);
  });

  it('shows consumer generations in provider allocations from 1.28', async () => {
    const a = await host({ VCPU: 4 });
    const consumer = randomUUID();
    await api.at('1.28').put(`/allocations/${consumer}`, body128(a, { VCPU: 1 }, null));
    const old = await api.at('1.27').get(`/resource_providers/${a.uuid}/allocations`);
    expect(old.body.allocations[consumer]).toEqual({ resources: { VCPU: 1 } });
    const now = await api.at('1.28').get(`/resource_providers/${a.uuid}/allocations`);
    expect(now.body).toEqual({
      allocations: { [consumer]: { resources: { VCPU: 1 }, consumer_generation: 1 } },
      resource_provider_generation: await generationOf(a),
    });
  });
});

describe('mappings (1.34) and consumer types (1.38)', () => {
  it('accepts mappings from 1.34 and refuses them before', async () => {
    const a = await host({ VCPU: 4 });
    const ok = await api
      .at('1.34')
      .put(`/allocations/${randomUUID()}`, body128(a, { VCPU: 1 }, null, { mappings: { NET1: [a.uuid] } }));
    expect(ok.status).toBe(204);
    const early = await api
      .at('1.33')
      .put(`/allocations/${randomUUID()}`, body128(a, { VCPU: 1 }, null, { mappings: { NET1: [a.uuid] } }));
    expect(early.status).toBe(400);
    expect(detail(early)).toContain('Additional properties are not allowed');
    const bad = await api
      .at('1.34')
      .put(`/allocations/${randomUUID()}`, body128(a, { VCPU: 1 }, null, { mappings: { alpha: 'beta' } }));
    expect(detail(bad)).toContain("JSON does not validate: 'beta' is not of type 'array'");
  });

  it('requires consumer_type from 1.38, returns it, and shows unknown for older consumers', async () => {
    const a = await host({ DISK_GB: 100 });
    const consumer = randomUUID();
    const url = `/allocations/${consumer}`;
    const missing = await api.at('1.38').put(url, body128(a, { DISK_GB: 10 }, null));
    expect(missing.status).toBe(400);
    expect(detail(missing)).toContain("'consumer_type' is a required property");
    const lower = await api.at('1.38').put(url, body128(a, { DISK_GB: 10 }, null, { consumer_type: 'instance' }));
    expect(detail(lower)).toContain("'instance' does not match '^[A-Z0-9_]+$'");
    expect((await api.at('1.37').put(url, body128(a, { DISK_GB: 10 }, null))).status).toBe(204);
    expect((await api.at('1.38').get(url)).body.consumer_type).toBe('unknown');
    expect((await api.at('1.37').get(url)).body).not.toHaveProperty('consumer_type');
    expect((await api.at('1.38').put(url, body128(a, { DISK_GB: 10 }, 1, { consumer_type: 'PONY' }))).status).toBe(204);
    expect((await api.at('1.38').get(url)).body).toMatchObject({ consumer_type: 'PONY', consumer_generation: 2 });
    // A write before 1.38 keeps the type it had.
    expect((await api.at('1.28').put(url, body128(a, { DISK_GB: 9 }, 2))).status).toBe(204);
    expect((await api.at('1.38').get(url)).body.consumer_type).toBe('PONY');
    const early = await api.at('1.37').put(url, body128(a, { DISK_GB: 10 }, 3, { consumer_type: 'PONY' }));
    expect(detail(early)).toContain("'consumer_type' was unexpected");
  });
});

describe('DELETE /allocations/{consumer_uuid}', () => {
  it('removes everything without moving provider generations, and 404s the second time', async () => {
    const a = await host({ VCPU: 4 });
    const b = await host({ DISK_GB: 40 });
    const consumer = randomUUID();
    await api.at('1.12').put(`/allocations/${consumer}`, {
      allocations: { ...dict(a, { VCPU: 2 }), ...dict(b, { DISK_GB: 4 }) },
      project_id: PROJECT,
      user_id: USER,
    });
    const [ga, gb] = [await generationOf(a), await generationOf(b)];
    expect((await api.at('1.0').delete(`/allocations/${consumer}`)).status).toBe(204);
    // Placement's delete_all leaves generations alone; its gabbits count on it.
    expect([await generationOf(a), await generationOf(b)]).toEqual([ga, gb]);
    expect(await usages(a)).toEqual({ VCPU: 0 });
    const again = await api.at('1.0').delete(`/allocations/${consumer}`);
    expect(again.status).toBe(404);
    expect(detail(again)).toContain(`No allocations for consumer '${consumer}'`);
    expect((await api.at('1.0').delete('/allocations/not-a-uuid')).status).toBe(404);
  });
});

describe('POST /allocations (1.13)', () => {
  it('does not exist before 1.13', async () => {
    expect((await api.at('1.12').post('/allocations', {})).status).toBe(404);
  });

  it('refuses a NUL character in a project or user id with 400 and writes nothing, not even the project', async () => {
    const rp = await host({ VCPU: 4 });
    const consumer = randomUUID();
    const project = `p-${randomUUID()}`;
    const res = await api.at('1.13').post('/allocations', {
      [consumer]: { allocations: dict(rp, { VCPU: 1 }), project_id: project, user_id: 'nul\u0000user' },
    });
    expect(res.status).toBe(400);
    expect(detail(res)).toContain('the JSON body contains a NUL character');
    expect(await usages(rp)).toEqual({ VCPU: 0 });
    expect(await api.database.db('projects').where({ external_id: project }).first()).toBeUndefined();
  });

  it('writes several consumers at once and clears one with an empty dict', async () => {
    const compute1 = await host({ VCPU: 16, MEMORY_MB: 2048 });
    const compute2 = await host({ VCPU: 16, MEMORY_MB: 2048 });
    const storage = await host({ DISK_GB: 4096 });
    const instance = randomUUID();
    const migration = randomUUID();
    const project = `p-${randomUUID()}`;
    const res = await api.at('1.13').post('/allocations', {
      [instance]: {
        allocations: { ...dict(compute2, { MEMORY_MB: 1024, VCPU: 2 }), ...dict(storage, { DISK_GB: 5 }) },
        project_id: project,
        user_id: USER,
      },
      [migration]: { allocations: dict(compute1, { MEMORY_MB: 1024, VCPU: 2 }), project_id: project, user_id: USER },
    });
    expect(res.status).toBe(204);
    expect((await api.at('1.28').get(`/allocations/${instance}`)).body).toMatchObject({
      consumer_generation: 1,
      project_id: project,
    });
    expect((await api.at('1.9').get(`/usages?project_id=${project}`)).body.usages).toEqual({
      DISK_GB: 5,
      VCPU: 4,
      MEMORY_MB: 2048,
    });

    const before = [await generationOf(compute1), await generationOf(compute2), await generationOf(storage)];
    const cleared = await api.at('1.13').post('/allocations', {
      [instance]: {
        allocations: { ...dict(compute2, { MEMORY_MB: 1024, VCPU: 2 }), ...dict(storage, { DISK_GB: 5 }) },
        project_id: project,
        user_id: USER,
      },
      [migration]: { allocations: {}, project_id: project, user_id: USER },
    });
    expect(cleared.status).toBe(204);
    expect((await api.at('1.9').get(`/usages?project_id=${project}`)).body.usages).toEqual({
      DISK_GB: 5,
      VCPU: 2,
      MEMORY_MB: 1024,
    });
    // Named providers and those of the cleared consumer all move, as in Placement's replace_all.
    expect([await generationOf(compute1), await generationOf(compute2), await generationOf(storage)]).toEqual(
      before.map((g) => g + 1),
    );
    expect((await api.at('1.28').get(`/allocations/${instance}`)).body.consumer_generation).toBe(2);
  });

  it('moves a claim to a migration consumer and the instance to a new host in one request on full hosts', async () => {
    const source = await host({ VCPU: 4 });
    const target = await host({ VCPU: 4 });
    const instance = randomUUID();
    const migration = randomUUID();
    await api.at('1.28').put(`/allocations/${instance}`, body128(source, { VCPU: 4 }, null));
    const res = await api.at('1.28').post('/allocations', {
      [migration]: {
        allocations: dict(source, { VCPU: 4 }),
        project_id: PROJECT,
        user_id: USER,
        consumer_generation: null,
      },
      [instance]: {
        allocations: dict(target, { VCPU: 4 }),
        project_id: PROJECT,
        user_id: USER,
        consumer_generation: 1,
      },
    });
    expect(res.status).toBe(204);
    expect((await api.at('1.0').get(`/resource_providers/${source.uuid}/allocations`)).body.allocations).toEqual({
      [migration]: { resources: { VCPU: 4 } },
    });
    expect((await api.at('1.0').get(`/resource_providers/${target.uuid}/allocations`)).body.allocations).toEqual({
      [instance]: { resources: { VCPU: 4 } },
    });
  });

  it('counts all consumers of the request together against capacity (bug 1778743)', async () => {
    const a = await host({ VCPU: 2 });
    const entry = () => ({
      allocations: dict(a, { VCPU: 1 }),
      project_id: PROJECT,
      user_id: USER,
      consumer_generation: null,
    });
    const consumers = [randomUUID(), randomUUID(), randomUUID()];
    const res = await api.at('1.28').post('/allocations', Object.fromEntries(consumers.map((uuid) => [uuid, entry()])));
    expect(res.status).toBe(409);
    expect(detail(res)).toContain('The requested amount would exceed the capacity');
    expect(await usages(a)).toEqual({ VCPU: 0 });
    expect(await api.database.db('consumers').whereIn('uuid', consumers).count('* as n').first()).toEqual({ n: 0 });
  });

  it('reports the first wrong consumer generation and writes nothing', async () => {
    const a = await host({ VCPU: 8 });
    const known = randomUUID();
    await api.at('1.28').put(`/allocations/${known}`, body128(a, { VCPU: 1 }, null));
    const fresh = randomUUID();
    const res = await api.at('1.28').post('/allocations', {
      [fresh]: { allocations: dict(a, { VCPU: 1 }), project_id: PROJECT, user_id: USER, consumer_generation: null },
      [known]: { allocations: dict(a, { VCPU: 2 }), project_id: PROJECT, user_id: USER, consumer_generation: 7 },
    });
    expect(res.status).toBe(409);
    expect(detail(res)).toContain('consumer generation conflict - expected 1 but got 7');
    expect((await api.at('1.0').get(`/allocations/${fresh}`)).body).toEqual({ allocations: {} });
    expect(await usages(a)).toEqual({ VCPU: 1 });
  });

  it("answers Placement's 400s for unknown providers and classes and shape errors", async () => {
    const a = await host({ VCPU: 8 });
    const missing = randomUUID();
    const noProvider = await api.at('1.13').post('/allocations', {
      [randomUUID()]: {
        allocations: dict({ uuid: missing } as SeedProvider, { VCPU: 1 }),
        project_id: PROJECT,
        user_id: USER,
      },
    });
    expect(noProvider.status).toBe(400);
    expect(detail(noProvider)).toContain(`Allocation for resource provider '${missing}' that does not exist.`);
    const noClass = await api.at('1.13').post('/allocations', {
      [randomUUID()]: { allocations: dict(a, { CUSTOM_PONY: 1 }), project_id: PROJECT, user_id: USER },
    });
    expect(noClass.status).toBe(400);
    expect(detail(noClass)).toContain('No such resource class CUSTOM_PONY');
    const shallow = await api.at('1.13').post('/allocations', { [randomUUID()]: { cow: 'moo' } });
    expect(shallow.status).toBe(400);
    const empty = await api.at('1.13').post('/allocations', {});
    expect(empty.status).toBe(400);
    const noGeneration = await api.at('1.28').post('/allocations', {
      [randomUUID()]: { allocations: dict(a, { VCPU: 1 }), project_id: PROJECT, user_id: USER },
    });
    expect(detail(noGeneration)).toContain("'consumer_generation' is a required property");
    const noType = await api.at('1.38').post('/allocations', {
      [randomUUID()]: {
        allocations: dict(a, { VCPU: 1 }),
        project_id: PROJECT,
        user_id: USER,
        consumer_generation: null,
      },
    });
    expect(detail(noType)).toContain("'consumer_type' is a required property");
    expect(await usages(a)).toEqual({ VCPU: 0 });
  });
});

describe('GET /resource_providers/{uuid}/allocations', () => {
  it('lists by consumer with the provider generation; 404 for an unknown provider', async () => {
    const a = await host({ DISK_GB: 100, VCPU: 8 });
    const c1 = randomUUID();
    const c2 = randomUUID();
    await api.at('1.12').put(`/allocations/${c1}`, {
      allocations: dict(a, { DISK_GB: 20, VCPU: 4 }),
      project_id: PROJECT,
      user_id: USER,
    });
    await api
      .at('1.12')
      .put(`/allocations/${c2}`, { allocations: dict(a, { DISK_GB: 10 }), project_id: PROJECT, user_id: USER });
    const res = await api.at('1.0').get(`/resource_providers/${a.uuid}/allocations`);
    expect(res.body).toEqual({
      resource_provider_generation: await generationOf(a),
      allocations: { [c1]: { resources: { DISK_GB: 20, VCPU: 4 } }, [c2]: { resources: { DISK_GB: 10 } } },
    });
    const missing = await api.at('1.0').get(`/resource_providers/${randomUUID()}/allocations`);
    expect(missing.status).toBe(404);
    expect((await api.at('1.0').get('/resource_providers/nope/allocations')).status).toBe(404);
  });

  it('sends cache headers from 1.15 only', async () => {
    const a = await host({ DISK_GB: 100 });
    const consumer = randomUUID();
    await api
      .at('1.12')
      .put(`/allocations/${consumer}`, { allocations: dict(a, { DISK_GB: 1 }), project_id: PROJECT, user_id: USER });
    for (const path of [`/resource_providers/${a.uuid}/allocations`, `/allocations/${consumer}`]) {
      const old = await api.at('1.14').get(path);
      expect(old.headers.get('last-modified')).toBeNull();
      expect(old.headers.get('cache-control')).toBeNull();
      const now = await api.at('1.15').get(path);
      expect(now.headers.get('cache-control')).toBe('no-cache');
      expect(now.headers.get('last-modified')).toMatch(/^\w+, \d+ \w+ \d{4} [\d:]+ GMT$/);
    }
  });
});
