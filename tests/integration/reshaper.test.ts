import { randomUUID } from 'node:crypto';
import { seedInventory, seedProvider, type SeedInventory, type SeedProvider } from '../helpers/seed';
import { startTestServer, type TestServer } from '../helpers/server';

let api: TestServer;
beforeAll(async () => {
  api = await startTestServer();
});
afterAll(async () => {
  await api.close();
});

const PROJECT = 'reshape-project';
const USER = 'reshape-user';
const detail = (res: { body: any }) => String(res.body?.errors?.[0]?.detail ?? '');
/** Placement's reshaper policy is service-only (nova-compute), even the admin role may not. */
const SERVICE = { 'x-auth-token': 'nova:service-project', 'x-roles': 'service' };

async function generationOf(provider: SeedProvider): Promise<number> {
  return (await api.database.db('resource_providers').where({ id: provider.id }).first('generation')).generation;
}

async function usages(provider: SeedProvider): Promise<Record<string, number>> {
  return (await api.at('1.39').get(`/resource_providers/${provider.uuid}/usages`)).body.usages;
}

async function inventoryTotals(provider: SeedProvider): Promise<Record<string, number>> {
  const rows = await api.database
    .db('inventories as i')
    .join('resource_classes as rc', 'rc.id', 'i.resource_class_id')
    .where('i.resource_provider_id', provider.id)
    .select('rc.name', 'i.total');
  return Object.fromEntries(rows.map((row: { name: string; total: number }) => [row.name, row.total]));
}

/** A compute node with VCPU and DISK_GB, a child provider, and two consumers holding VCPU and disk on the parent. */
async function world(
  inventory: Record<string, SeedInventory | number> = {
    VCPU: { total: 8, max_unit: 8 },
    DISK_GB: { total: 2048, max_unit: 2048 },
  },
) {
  const parent = await seedProvider(api.database.db);
  await seedInventory(api.database.db, parent, inventory);
  const child = await seedProvider(api.database.db, { parent });
  const c1 = randomUUID();
  const c2 = randomUUID();
  for (const [consumer, vcpu] of [
    [c1, 2],
    [c2, 4],
  ] as const) {
    const res = await api.at('1.28').put(`/allocations/${consumer}`, {
      allocations: { [parent.uuid]: { resources: { VCPU: vcpu, DISK_GB: 100 } } },
      project_id: PROJECT,
      user_id: USER,
      consumer_generation: null,
    });
    expect(res.status).toBe(204);
  }
  return { parent, child, c1, c2 };
}

function entry(
  allocations: Record<string, Record<string, number>>,
  generation: number | null,
  extra: Record<string, unknown> = {},
) {
  return {
    allocations: Object.fromEntries(Object.entries(allocations).map(([uuid, resources]) => [uuid, { resources }])),
    project_id: PROJECT,
    user_id: USER,
    consumer_generation: generation,
    ...extra,
  };
}

describe('POST /reshaper: access and shape', () => {
  it('is POST only, for the service role only, and absent before 1.30', async () => {
    const get = await api.at('1.30').get('/reshaper');
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    for (const token of ['user', 'admin']) {
      const refused = await api.request('POST', '/reshaper', {
        version: '1.30',
        body: {},
        headers: { 'x-auth-token': token },
      });
      expect(refused.status).toBe(403);
      expect(detail(refused)).toContain('Policy does not allow placement:reshaper:reshape to be performed.');
    }
    expect((await api.at('1.29', SERVICE).post('/reshaper', {})).status).toBe(404);
  });

  it('refuses malformed bodies with 400', async () => {
    const { parent } = await world();
    const inventories = { [parent.uuid]: { resource_provider_generation: 0, inventories: { VCPU: { total: 1 } } } };
    expect(detail(await api.at('1.30', SERVICE).post('/reshaper', { cows: 'moo' }))).toContain(
      'JSON does not validate',
    );
    expect(detail(await api.at('1.30', SERVICE).post('/reshaper', { inventories }))).toContain(
      "'allocations' is a required property",
    );
    expect(detail(await api.at('1.30', SERVICE).post('/reshaper', { inventories: {}, allocations: {} }))).toContain(
      '{} does not have enough properties',
    );
    const badField = {
      [parent.uuid]: { resource_provider_generation: 0, inventories: { VCPU: { total: 1, bad_field: 1 } } },
    };
    expect(
      detail(await api.at('1.30', SERVICE).post('/reshaper', { inventories: badField, allocations: {} })),
    ).toContain("'bad_field' was unexpected");
    const noGeneration = { [parent.uuid]: { inventories: { VCPU: { total: 1 } } } };
    expect(
      detail(await api.at('1.30', SERVICE).post('/reshaper', { inventories: noGeneration, allocations: {} })),
    ).toContain("'resource_provider_generation' is a required property");
  });
});

describe('POST /reshaper: moving inventory and allocations', () => {
  it('moves VCPU and its allocations from a compute node to its child, atomically', async () => {
    const { parent, child, c1, c2 } = await world();
    const [pg, cg] = [await generationOf(parent), await generationOf(child)];
    const res = await api.at('1.30', SERVICE).post('/reshaper', {
      inventories: {
        [parent.uuid]: { resource_provider_generation: pg, inventories: { DISK_GB: { total: 2048, max_unit: 2048 } } },
        [child.uuid]: { resource_provider_generation: cg, inventories: { VCPU: { total: 8, max_unit: 8 } } },
      },
      allocations: {
        [c1]: entry({ [parent.uuid]: { DISK_GB: 100 }, [child.uuid]: { VCPU: 2 } }, 1),
        [c2]: entry({ [parent.uuid]: { DISK_GB: 100 }, [child.uuid]: { VCPU: 4 } }, 1),
      },
    });
    expect(res.status).toBe(204);
    expect(await usages(parent)).toEqual({ DISK_GB: 200 });
    expect(await usages(child)).toEqual({ VCPU: 6 });
    expect(await inventoryTotals(parent)).toEqual({ DISK_GB: 2048 });
    // As Placement: +1 interim inventory, +1 allocations, +1 final inventory on each.
    expect([await generationOf(parent), await generationOf(child)]).toEqual([pg + 3, cg + 3]);
    expect((await api.at('1.28').get(`/allocations/${c1}`)).body.consumer_generation).toBe(2);

    // ...and back again.
    const back = await api.at('1.30', SERVICE).post('/reshaper', {
      inventories: {
        [parent.uuid]: {
          resource_provider_generation: await generationOf(parent),
          inventories: { DISK_GB: { total: 2048 }, VCPU: { total: 8 } },
        },
        [child.uuid]: { resource_provider_generation: await generationOf(child), inventories: {} },
      },
      allocations: {
        [c1]: entry({ [parent.uuid]: { DISK_GB: 100, VCPU: 2 } }, 2),
        [c2]: entry({}, 2),
      },
    });
    expect(back.status).toBe(204);
    expect(await usages(parent)).toEqual({ DISK_GB: 100, VCPU: 2 });
    expect(await usages(child)).toEqual({});
    // The child's new inventory is empty (no interim step); c1 merely leaves it (no bump) but c2's
    // allocations are cleared (+1, as Placement's zero-amount rows), then the final inventory (+1).
    expect([await generationOf(parent), await generationOf(child)]).toEqual([pg + 6, cg + 5]);
  });

  it('refuses to drop inventory that still has allocations (409 inventory.inuse)', async () => {
    const { parent } = await world();
    const coded = await api.at('1.30', SERVICE).post('/reshaper', {
      inventories: {
        [parent.uuid]: {
          resource_provider_generation: await generationOf(parent),
          inventories: { DISK_GB: { total: 2048 } },
        },
      },
      allocations: {},
    });
    expect(coded.status).toBe(409);
    expect(coded.body.errors[0].code).toBe('placement.inventory.inuse');
    expect(detail(coded)).toContain(
      `update conflict: Inventory for 'VCPU' on resource provider '${parent.uuid}' in use.`,
    );
    expect(await inventoryTotals(parent)).toEqual({ VCPU: 8, DISK_GB: 2048 });
  });

  it('checks provider generations first (409 with actual and given)', async () => {
    const { parent } = await world();
    const actual = await generationOf(parent);
    const res = await api.at('1.30', SERVICE).post('/reshaper', {
      inventories: {
        [parent.uuid]: {
          resource_provider_generation: actual - 1,
          inventories: { VCPU: { total: 8 }, DISK_GB: { total: 2048 } },
        },
      },
      allocations: {},
    });
    expect(res.status).toBe(409);
    expect(res.body.errors[0].code).toBe('placement.concurrent_update');
    expect(detail(res)).toContain(
      `resource provider generation conflict for provider ${parent.uuid}: actual: ${actual}, given: ${actual - 1}`,
    );
  });

  it('checks consumer generations', async () => {
    const { parent, c1 } = await world();
    const res = await api.at('1.30', SERVICE).post('/reshaper', {
      inventories: {
        [parent.uuid]: {
          resource_provider_generation: await generationOf(parent),
          inventories: { VCPU: { total: 8 }, DISK_GB: { total: 2048 } },
        },
      },
      allocations: { [c1]: entry({ [parent.uuid]: { VCPU: 1 } }, 99) },
    });
    expect(res.status).toBe(409);
    expect(detail(res)).toContain('consumer generation conflict');
  });

  it('answers 400 resource_provider.not_found for an unknown inventory provider and 400 for an unknown class', async () => {
    const { parent, c1 } = await world();
    const missing = randomUUID();
    const res = await api.at('1.30', SERVICE).post('/reshaper', {
      inventories: { [missing]: { resource_provider_generation: 0, inventories: { VCPU: { total: 8 } } } },
      allocations: {},
    });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].code).toBe('placement.resource_provider.not_found');
    expect(detail(res)).toContain(`Resource provider ${missing} in inventories not found`);
    const steel = await api.at('1.30', SERVICE).post('/reshaper', {
      inventories: {
        [parent.uuid]: {
          resource_provider_generation: await generationOf(parent),
          inventories: { DISK_OF_STEEL: { total: 8 }, VCPU: { total: 8 } },
        },
      },
      allocations: { [c1]: entry({ [parent.uuid]: { VCPU: 2 } }, 1) },
    });
    expect(steel.status).toBe(400);
    expect(detail(steel)).toContain('malformed reshaper data: No such resource class DISK_OF_STEEL.');
  });

  it('changes nothing when one moved allocation does not fit the new inventory', async () => {
    const { parent, child, c1, c2 } = await world();
    const [pg, cg] = [await generationOf(parent), await generationOf(child)];
    const res = await api.at('1.30', SERVICE).post('/reshaper', {
      inventories: {
        [parent.uuid]: { resource_provider_generation: pg, inventories: { DISK_GB: { total: 2048 } } },
        [child.uuid]: { resource_provider_generation: cg, inventories: { VCPU: { total: 8, max_unit: 3 } } },
      },
      allocations: {
        [c1]: entry({ [parent.uuid]: { DISK_GB: 100 }, [child.uuid]: { VCPU: 2 } }, 1),
        [c2]: entry({ [parent.uuid]: { DISK_GB: 100 }, [child.uuid]: { VCPU: 4 } }, 1),
      },
    });
    expect(res.status).toBe(409);
    expect(detail(res)).toContain(
      `Unable to allocate inventory: Unable to create allocation for 'VCPU' on resource provider '${child.uuid}'. The requested amount would violate inventory constraints.`,
    );
    expect(await usages(parent)).toEqual({ VCPU: 6, DISK_GB: 200 });
    expect(await inventoryTotals(child)).toEqual({});
    expect([await generationOf(parent), await generationOf(child)]).toEqual([pg, cg]);
    expect((await api.at('1.28').get(`/allocations/${c2}`)).body.consumer_generation).toBe(1);
  });
});

describe('POST /reshaper: consumer types (1.38)', () => {
  it('requires consumer_type from 1.38, stores it, and refuses it before', async () => {
    const { parent } = await world();
    const fresh = randomUUID();
    const body = (extra: Record<string, unknown>) => ({
      inventories: {
        [parent.uuid]: {
          resource_provider_generation: 0,
          inventories: { VCPU: { total: 8 }, DISK_GB: { total: 2048 } },
        },
      },
      allocations: { [fresh]: entry({ [parent.uuid]: { DISK_GB: 10 } }, null, extra) },
    });
    const early = await api.at('1.36', SERVICE).post('/reshaper', body({ consumer_type: 'RESHAPED' }));
    expect(detail(early)).toContain("'consumer_type' was unexpected");
    const missing = await api.at('1.38', SERVICE).post('/reshaper', body({}));
    expect(detail(missing)).toContain("'consumer_type' is a required property");
    const generation = await generationOf(parent);
    const ok = await api.at('1.38', SERVICE).post('/reshaper', {
      ...body({ consumer_type: 'RESHAPED' }),
      inventories: {
        [parent.uuid]: {
          resource_provider_generation: generation,
          inventories: { VCPU: { total: 8 }, DISK_GB: { total: 2048 } },
        },
      },
    });
    expect(ok.status).toBe(204);
    expect((await api.at('1.38').get(`/allocations/${fresh}`)).body.consumer_type).toBe('RESHAPED');
  });
});

describe('POST /reshaper under concurrent claims', () => {
  it('never over-commits the providers it reshapes while claims race against them', async () => {
    const { parent, child, c1, c2 } = await world({
      VCPU: { total: 8, max_unit: 8 },
      DISK_GB: { total: 2048, max_unit: 2048 },
    });
    const claims = Array.from({ length: 20 }, () =>
      api
        .at('1.28')
        .put(`/allocations/${randomUUID()}`, entry({ [child.uuid]: { VCPU: 1 } }, null))
        .then((res) => res.status),
    );
    const reshaped = api.at('1.30', SERVICE).post('/reshaper', {
      inventories: {
        [parent.uuid]: {
          resource_provider_generation: await generationOf(parent),
          inventories: { DISK_GB: { total: 2048 } },
        },
        [child.uuid]: {
          resource_provider_generation: await generationOf(child),
          inventories: { VCPU: { total: 8, max_unit: 8 } },
        },
      },
      allocations: {
        [c1]: entry({ [parent.uuid]: { DISK_GB: 100 }, [child.uuid]: { VCPU: 2 } }, 1),
        [c2]: entry({ [parent.uuid]: { DISK_GB: 100 }, [child.uuid]: { VCPU: 4 } }, 1),
      },
    });
    const statuses = await Promise.all(claims);
    const reshapeStatus = (await reshaped).status;
    expect([204, 409]).toContain(reshapeStatus);
    expect(statuses.every((status) => status === 204 || status === 409)).toBe(true);
    const used = (await usages(child)).VCPU ?? 0;
    expect(used).toBeLessThanOrEqual(8);
    // Each successful claim is in the usage; the reshape's 6 VCPU are there only if it won.
    expect(used).toBe(statuses.filter((status) => status === 204).length + (reshapeStatus === 204 ? 6 : 0));
  });
});
