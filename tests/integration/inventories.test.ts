import { randomUUID } from 'node:crypto';
import { seedAllocation, seedInventory, seedProvider, type SeedProvider } from '../helpers/seed';
import { startTestServer, type TestServer } from '../helpers/server';

let api: TestServer;
beforeAll(async () => {
  api = await startTestServer();
});
afterAll(async () => {
  await api.close();
});

const inventoriesPath = (rp: SeedProvider) => `/resource_providers/${rp.uuid}/inventories`;

async function generationOf(rp: SeedProvider): Promise<number> {
  return (await api.database.db('resource_providers').where({ id: rp.id }).first('generation')).generation;
}

/** Everything a write could change for the provider, to prove a refused request changed nothing. */
async function stateOf(rp: SeedProvider) {
  const rows = await api.database
    .db('inventories')
    .where({ resource_provider_id: rp.id })
    .orderBy('resource_class_id')
    .select('resource_class_id', 'total', 'reserved', 'min_unit', 'max_unit', 'step_size', 'allocation_ratio');
  return { generation: await generationOf(rp), rows };
}

function detail(res: { body: any }): string {
  return res.body.errors[0].detail;
}

describe('reading inventories', () => {
  it('lists an empty inventory with the provider generation', async () => {
    const rp = await seedProvider(api.database.db);
    const res = await api.at('1.0').get(inventoriesPath(rp));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ inventories: {}, resource_provider_generation: 0 });
  });

  it('lists every class with all six fields', async () => {
    const rp = await seedProvider(api.database.db);
    await seedInventory(api.database.db, rp, {
      VCPU: { total: 8, reserved: 1, max_unit: 4, allocation_ratio: 16 },
      DISK_GB: 100,
    });
    const res = await api.at('1.0').get(inventoriesPath(rp));
    expect(res.body).toEqual({
      resource_provider_generation: 1,
      inventories: {
        VCPU: { total: 8, reserved: 1, min_unit: 1, max_unit: 4, step_size: 1, allocation_ratio: 16 },
        DISK_GB: { total: 100, reserved: 0, min_unit: 1, max_unit: 2147483647, step_size: 1, allocation_ratio: 1 },
      },
    });
  });

  it('shows one class with the generation', async () => {
    const rp = await seedProvider(api.database.db);
    await seedInventory(api.database.db, rp, { MEMORY_MB: { total: 1024, step_size: 256, max_unit: 1024 } });
    const res = await api.at('1.0').get(`${inventoriesPath(rp)}/MEMORY_MB`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      total: 1024,
      reserved: 0,
      min_unit: 1,
      max_unit: 1024,
      step_size: 256,
      allocation_ratio: 1,
      resource_provider_generation: 1,
    });
  });

  it('sends last-modified and cache-control from 1.15 only', async () => {
    const rp = await seedProvider(api.database.db);
    await seedInventory(api.database.db, rp, { VCPU: 4 });
    for (const path of [inventoriesPath(rp), `${inventoriesPath(rp)}/VCPU`]) {
      const before = await api.at('1.14').get(path);
      expect(before.headers.get('last-modified')).toBeNull();
      expect(before.headers.get('cache-control')).toBeNull();
      const after = await api.at('1.15').get(path);
      expect(after.headers.get('last-modified')).toMatch(/^\w+, \d+ \w+ \d{4} [\d:]+ GMT$/);
      expect(after.headers.get('cache-control')).toBe('no-cache');
    }
  });

  it('sends no last-modified for an empty inventory list, as Placement (no row to take it from)', async () => {
    const rp = await seedProvider(api.database.db);
    const res = await api.at('1.15').get(inventoriesPath(rp));
    expect(res.body.inventories).toEqual({});
    expect(res.headers.get('last-modified')).toBeNull();
    expect(res.headers.get('cache-control')).toBe('no-cache');
  });

  it('answers 404 for an unknown provider, also for a malformed uuid', async () => {
    const uuid = randomUUID();
    const res = await api.at('1.0').get(`/resource_providers/${uuid}/inventories`);
    expect(res.status).toBe(404);
    expect(detail(res)).toContain(`No resource provider with uuid ${uuid} found`);
    expect((await api.at('1.0').get('/resource_providers/not-a-uuid/inventories')).status).toBe(404);
    expect((await api.at('1.0').get(`/resource_providers/${uuid}/inventories/VCPU`)).status).toBe(404);
  });

  it('answers 404 naming class and provider when the class has no inventory, known or not', async () => {
    const rp = await seedProvider(api.database.db);
    for (const rc of ['IPV4_ADDRESS', 'HOUSE']) {
      const res = await api.at('1.0').get(`${inventoriesPath(rp)}/${rc}`);
      expect(res.status).toBe(404);
      expect(detail(res)).toContain(`No inventory of class ${rc} for ${rp.uuid}`);
    }
  });
});

describe('creating one inventory with POST', () => {
  it('creates with defaults, bumps the generation and points Location at the new inventory', async () => {
    const rp = await seedProvider(api.database.db);
    const res = await api
      .at('1.0')
      .post(inventoriesPath(rp), { resource_class: 'DISK_GB', total: 2048, reserved: 512, step_size: 10 });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`${api.baseUrl}/resource_providers/${rp.uuid}/inventories/DISK_GB`);
    expect(res.body).toEqual({
      total: 2048,
      reserved: 512,
      min_unit: 1,
      max_unit: 2147483647,
      step_size: 10,
      allocation_ratio: 1,
      resource_provider_generation: 1,
    });
    expect(await generationOf(rp)).toBe(1);
    expect((await api.at('1.0').get(`${inventoriesPath(rp)}/DISK_GB`)).body.total).toBe(2048);
  });

  it('refuses a class the provider already has with 409 and changes nothing', async () => {
    const rp = await seedProvider(api.database.db);
    await seedInventory(api.database.db, rp, { IPV4_ADDRESS: 255 });
    const before = await stateOf(rp);
    const res = await api.at('1.23').post(inventoriesPath(rp), { resource_class: 'IPV4_ADDRESS', total: 10 });
    expect(res.status).toBe(409);
    expect(detail(res)).toContain('Update conflict');
    expect(res.body.errors[0].code).toBe('placement.concurrent_update');
    expect(await stateOf(rp)).toEqual(before);
  });

  it('refuses an unknown class with 400 naming it', async () => {
    const rp = await seedProvider(api.database.db);
    const res = await api.at('1.0').post(inventoriesPath(rp), { resource_class: 'NO_CLASS_14', total: 2048 });
    expect(res.status).toBe(400);
    expect(detail(res)).toContain('No such resource class NO_CLASS_14');
    expect(await stateOf(rp)).toEqual({ generation: 0, rows: [] });
  });

  it('checks a generation when the client sends one', async () => {
    const rp = await seedProvider(api.database.db);
    const stale = await api
      .at('1.23')
      .post(inventoriesPath(rp), { resource_class: 'VCPU', total: 4, resource_provider_generation: 7 });
    expect(stale.status).toBe(409);
    expect(stale.body.errors[0].code).toBe('placement.concurrent_update');
    const fresh = await api
      .at('1.23')
      .post(inventoriesPath(rp), { resource_class: 'VCPU', total: 4, resource_provider_generation: 0 });
    expect(fresh.status).toBe(201);
  });

  it('answers 404 for an unknown provider', async () => {
    const res = await api
      .at('1.0')
      .post(`/resource_providers/${randomUUID()}/inventories`, { resource_class: 'VCPU', total: 1 });
    expect(res.status).toBe(404);
  });

  it.each([
    [{ resource_class: 'DISK_GB' }, "'total' is a required property"],
    [{ total: 1 }, "'resource_class' is a required property"],
    [{ resource_class: 'DISK_GB', total: -1 }, '-1 is less than the minimum of 1'],
    [{ resource_class: 'DISK_GB', total: 0 }, '0 is less than the minimum of 1'],
    [{ resource_class: 'DISK_GB', total: 2147483648 }, '2147483648 is greater than the maximum of 2147483647'],
    [{ resource_class: 'DISK_GB', total: 10, reserved: -1 }, '-1 is less than the minimum of 0'],
    [{ resource_class: 'DISK_GB', total: 10, reserved: 2147483648 }, 'is greater than the maximum of 2147483647'],
    [{ resource_class: 'DISK_GB', total: 10, min_unit: 0 }, '0 is less than the minimum of 1'],
    [{ resource_class: 'DISK_GB', total: 10, max_unit: 0 }, '0 is less than the minimum of 1'],
    [{ resource_class: 'DISK_GB', total: 10, step_size: 0 }, '0 is less than the minimum of 1'],
    [{ resource_class: 'DISK_GB', total: 10, step_size: 2147483648 }, 'is greater than the maximum of 2147483647'],
    [{ resource_class: 'DISK_GB', total: 10, allocation_ratio: 3.40282e39 }, 'is greater than the maximum of'],
    [{ resource_class: 'DISK_GB', total: '10' }, "'10' is not of type 'integer'"],
    [{ resource_class: 'DISK_GB', total: 1.5 }, "1.5 is not of type 'integer'"],
    [{ resource_class: 'DISK_GB', total: 10, allocation_ratio: 'high' }, "'high' is not of type 'number'"],
    [{ resource_class: 'disk_gb', total: 10 }, "'disk_gb' does not match"],
    [
      { resource_class: 'DISK_GB', total: 10, colour: 'red' },
      "Additional properties are not allowed ('colour' was unexpected)",
    ],
  ])('refuses body %j with 400 "%s" and writes nothing', async (body, message) => {
    const rp = await seedProvider(api.database.db);
    const res = await api.at('1.0').post(inventoriesPath(rp), body);
    expect(res.status).toBe(400);
    expect(detail(res)).toContain('JSON does not validate');
    expect(detail(res)).toContain(message);
    expect(await stateOf(rp)).toEqual({ generation: 0, rows: [] });
  });

  it('refuses malformed JSON and a non-JSON content type', async () => {
    const rp = await seedProvider(api.database.db);
    const malformed = await api.request('POST', inventoriesPath(rp), {
      rawBody: '{"foo": }',
      headers: { 'content-type': 'application/json' },
    });
    expect(malformed.status).toBe(400);
    expect(malformed.text).toContain('Malformed JSON');
    const text = await api.request('POST', inventoriesPath(rp), {
      rawBody: 'total=1',
      headers: { 'content-type': 'text/plain' },
    });
    expect(text.status).toBe(415);
  });
});

describe('reserved against total', () => {
  it('refuses reserved above total at every version', async () => {
    const rp = await seedProvider(api.database.db);
    for (const version of ['1.0', '1.26']) {
      const res = await api
        .at(version)
        .post(inventoriesPath(rp), { resource_class: 'DISK_GB', total: 256, reserved: 512 });
      expect(res.status).toBe(400);
      expect(detail(res)).toContain(`Unable to create inventory for resource provider ${rp.uuid}`);
    }
  });

  it('refuses reserved equal to total before 1.26 and accepts it from 1.26', async () => {
    const rp = await seedProvider(api.database.db);
    const old = await api
      .at('1.25')
      .post(inventoriesPath(rp), { resource_class: 'DISK_GB', total: 256, reserved: 256 });
    expect(old.status).toBe(400);
    expect(detail(old)).toContain('The reserved value is greater than or equal to total.');
    const now = await api
      .at('1.26')
      .post(inventoriesPath(rp), { resource_class: 'DISK_GB', total: 256, reserved: 256 });
    expect(now.status).toBe(201);

    const put = (version: string, generation: number) =>
      api
        .at(version)
        .put(`${inventoriesPath(rp)}/DISK_GB`, { resource_provider_generation: generation, total: 10, reserved: 10 });
    expect((await put('1.25', 1)).status).toBe(400);
    expect((await put('1.26', 1)).status).toBe(200);

    const putAll = (version: string, generation: number, reserved: number) =>
      api.at(version).put(inventoriesPath(rp), {
        resource_provider_generation: generation,
        inventories: { DISK_GB: { total: 10, reserved } },
      });
    const refused = await putAll('1.25', 2, 10);
    expect(refused.status).toBe(400);
    expect(detail(refused)).toContain('Unable to update inventory');
    expect((await putAll('1.26', 2, 11)).status).toBe(400);
    expect(detail(await putAll('1.26', 2, 11))).toContain('The reserved value is greater than total.');
    expect((await putAll('1.26', 2, 10)).status).toBe(200);
  });

  it('treats a non-positive allocation ratio as no capacity', async () => {
    const rp = await seedProvider(api.database.db);
    const res = await api
      .at('1.39')
      .post(inventoriesPath(rp), { resource_class: 'VCPU', total: 4, allocation_ratio: -1 });
    expect(res.status).toBe(400);
    expect(await stateOf(rp)).toEqual({ generation: 0, rows: [] });
  });
});

describe('updating one inventory with PUT', () => {
  it('changes the fields, bumps the generation and returns it', async () => {
    const rp = await seedProvider(api.database.db);
    await seedInventory(api.database.db, rp, { DISK_GB: 2048 });
    const res = await api
      .at('1.0')
      .put(`${inventoriesPath(rp)}/DISK_GB`, { resource_provider_generation: 1, total: 4096, reserved: 1024 });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      total: 4096,
      reserved: 1024,
      min_unit: 1,
      max_unit: 2147483647,
      step_size: 1,
      allocation_ratio: 1,
      resource_provider_generation: 2,
    });
    expect(await generationOf(rp)).toBe(2);
  });

  it('refuses a stale generation with 409 concurrent_update and changes nothing', async () => {
    const rp = await seedProvider(api.database.db);
    await seedInventory(api.database.db, rp, { DISK_GB: 2048 });
    const before = await stateOf(rp);
    const res = await api
      .at('1.23')
      .put(`${inventoriesPath(rp)}/DISK_GB`, { resource_provider_generation: 5, total: 1 });
    expect(res.status).toBe(409);
    expect(detail(res)).toContain('resource provider generation conflict');
    expect(res.body.errors[0].code).toBe('placement.concurrent_update');
    expect(await stateOf(rp)).toEqual(before);
  });

  it('refuses a missing generation with 400', async () => {
    const rp = await seedProvider(api.database.db);
    await seedInventory(api.database.db, rp, { DISK_GB: 2048 });
    const res = await api.at('1.0').put(`${inventoriesPath(rp)}/DISK_GB`, { total: 1 });
    expect(res.status).toBe(400);
    expect(detail(res)).toContain("'resource_provider_generation' is a required property");
  });

  it('refuses a class the provider has no inventory of with 400', async () => {
    const rp = await seedProvider(api.database.db);
    await seedInventory(api.database.db, rp, { DISK_GB: 2048 });
    const res = await api
      .at('1.0')
      .put(`${inventoriesPath(rp)}/MEMORY_MB`, { resource_provider_generation: 1, total: 1 });
    expect(res.status).toBe(400);
    expect(detail(res)).toContain('No inventory record with resource class');
    expect(await generationOf(rp)).toBe(1);
  });

  it('answers 404 for a class that does not exist at all', async () => {
    const rp = await seedProvider(api.database.db);
    const res = await api.at('1.0').put(`${inventoriesPath(rp)}/HOUSE`, { resource_provider_generation: 0, total: 1 });
    expect(res.status).toBe(404);
    expect(detail(res)).toContain('No such resource class HOUSE');
  });

  it('accepts shrinking below current usage, as Placement does', async () => {
    const rp = await seedProvider(api.database.db);
    await seedInventory(api.database.db, rp, { VCPU: 8 });
    await seedAllocation(api.database.db, { [rp.uuid]: { VCPU: 6 } });
    const generation = await generationOf(rp);
    const res = await api
      .at('1.0')
      .put(`${inventoriesPath(rp)}/VCPU`, { resource_provider_generation: generation, total: 4 });
    expect(res.status).toBe(200);
    expect(res.body.total).toBe(4);
  });

  it('refuses extra properties and bad form', async () => {
    const rp = await seedProvider(api.database.db);
    await seedInventory(api.database.db, rp, { DISK_GB: 2048 });
    const before = await stateOf(rp);
    const res = await api.at('1.0').put(`${inventoriesPath(rp)}/DISK_GB`, { house: 'red', car: 'blue' });
    expect(res.status).toBe(400);
    expect(detail(res)).toContain('JSON does not validate');
    const extra = await api
      .at('1.0')
      .put(`${inventoriesPath(rp)}/DISK_GB`, { resource_provider_generation: 1, total: 1, resource_class: 'DISK_GB' });
    expect(extra.status).toBe(400);
    expect(await stateOf(rp)).toEqual(before);
  });
});

describe('replacing all inventories with PUT', () => {
  it('adds, updates and removes classes in one go and bumps the generation once', async () => {
    const rp = await seedProvider(api.database.db);
    await seedInventory(api.database.db, rp, { VCPU: 8, DISK_GB: 100 });
    const res = await api.at('1.15').put(inventoriesPath(rp), {
      resource_provider_generation: 1,
      inventories: { VCPU: { total: 16, allocation_ratio: 4 }, IPV4_ADDRESS: { total: 253 } },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('last-modified')).toMatch(/GMT$/);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.body).toEqual({
      resource_provider_generation: 2,
      inventories: {
        VCPU: { total: 16, reserved: 0, min_unit: 1, max_unit: 2147483647, step_size: 1, allocation_ratio: 4 },
        IPV4_ADDRESS: { total: 253, reserved: 0, min_unit: 1, max_unit: 2147483647, step_size: 1, allocation_ratio: 1 },
      },
    });
    expect((await api.at('1.0').get(inventoriesPath(rp))).body).toEqual(res.body);
  });

  it('empties the inventory with an empty object', async () => {
    const rp = await seedProvider(api.database.db);
    await seedInventory(api.database.db, rp, { VCPU: 8 });
    const res = await api.at('1.4').put(inventoriesPath(rp), { resource_provider_generation: 1, inventories: {} });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ resource_provider_generation: 2, inventories: {} });
  });

  it('refuses a stale generation with 409 concurrent_update and changes nothing', async () => {
    const rp = await seedProvider(api.database.db);
    await seedInventory(api.database.db, rp, { VCPU: 8 });
    const before = await stateOf(rp);
    const res = await api
      .at('1.23')
      .put(inventoriesPath(rp), { resource_provider_generation: 99, inventories: { VCPU: { total: 1 } } });
    expect(res.status).toBe(409);
    expect(detail(res)).toContain('resource provider generation conflict');
    expect(res.body.errors[0].code).toBe('placement.concurrent_update');
    expect(await stateOf(rp)).toEqual(before);
  });

  it.each([['HOUSE'], ['house'], ['CUSTOM_NOT_THERE']])(
    'refuses the unknown class %s with 400 and changes nothing',
    async (rc) => {
      const rp = await seedProvider(api.database.db);
      await seedInventory(api.database.db, rp, { VCPU: 8 });
      const before = await stateOf(rp);
      const res = await api.at('1.0').put(inventoriesPath(rp), {
        resource_provider_generation: 1,
        inventories: { VCPU: { total: 2 }, [rc]: { total: 253 } },
      });
      expect(res.status).toBe(400);
      expect(detail(res)).toContain(
        `Unknown resource class in inventory for resource provider ${rp.uuid}: No such resource class ${rc}.`,
      );
      expect(await stateOf(rp)).toEqual(before);
    },
  );

  it.each([
    [{ inventories: {} }, "'resource_provider_generation' is a required property"],
    [{ resource_provider_generation: 1 }, "'inventories' is a required property"],
    [{ resource_provider_generation: '1', inventories: {} }, "'1' is not of type 'integer'"],
    [
      { resource_provider_generation: 1, inventories: { VCPU: { total: 2147483648 } } },
      'is greater than the maximum of 2147483647',
    ],
    [{ resource_provider_generation: 1, inventories: { VCPU: { reserved: 1 } } }, "'total' is a required property"],
    [{ resource_provider_generation: 1, inventories: { VCPU: { total: 1, bogus: 1 } } }, "('bogus' was unexpected)"],
    [
      { resource_provider_generation: 1, inventories: { VCPU: { total: 1, allocation_ratio: 3.40282e39 } } },
      'is greater than the maximum of',
    ],
    [{ resource_provider_generation: 1, inventories: [] }, "[] is not of type 'object'"],
    [{ resource_provider_generation: 1, inventories: {}, extra: true }, "('extra' was unexpected)"],
  ])('refuses body %j with 400 and changes nothing', async (body, message) => {
    const rp = await seedProvider(api.database.db);
    await seedInventory(api.database.db, rp, { VCPU: 8 });
    const before = await stateOf(rp);
    const res = await api.at('1.0').put(inventoriesPath(rp), body);
    expect(res.status).toBe(400);
    expect(detail(res)).toContain(message);
    expect(await stateOf(rp)).toEqual(before);
  });

  it('refuses removing a class with allocations with 409 inventory.inuse naming provider and class', async () => {
    const rp = await seedProvider(api.database.db);
    await seedInventory(api.database.db, rp, { VCPU: 8, DISK_GB: 100 });
    await seedAllocation(api.database.db, { [rp.uuid]: { DISK_GB: 10 } });
    const before = await stateOf(rp);
    const res = await api.at('1.23').put(inventoriesPath(rp), {
      resource_provider_generation: before.generation,
      inventories: { VCPU: { total: 8 } },
    });
    expect(res.status).toBe(409);
    expect(res.body.errors[0].code).toBe('placement.inventory.inuse');
    expect(detail(res)).toContain(`update conflict: Inventory for 'DISK_GB' on resource provider '${rp.uuid}' in use.`);
    expect(await stateOf(rp)).toEqual(before);
  });

  it('answers 404 for an unknown provider', async () => {
    const res = await api
      .at('1.0')
      .put(`/resource_providers/${randomUUID()}/inventories`, { resource_provider_generation: 0, inventories: {} });
    expect(res.status).toBe(404);
  });
});

describe('deleting inventory', () => {
  it('deletes one class, bumps the generation and answers 204 without content type', async () => {
    const rp = await seedProvider(api.database.db);
    await seedInventory(api.database.db, rp, { VCPU: 8, DISK_GB: 100 });
    const res = await api.at('1.0').delete(`${inventoriesPath(rp)}/DISK_GB`);
    expect(res.status).toBe(204);
    expect(res.headers.get('content-type')).toBeNull();
    expect(await generationOf(rp)).toBe(2);
    expect(Object.keys((await api.at('1.0').get(inventoriesPath(rp))).body.inventories)).toEqual(['VCPU']);
  });

  it('answers 404 when there is nothing of that class to delete', async () => {
    const rp = await seedProvider(api.database.db);
    const missing = await api.at('1.0').delete(`${inventoriesPath(rp)}/IPV4_ADDRESS`);
    expect(missing.status).toBe(404);
    expect(detail(missing)).toContain('No inventory of class IPV4_ADDRESS found for delete');
    const unknown = await api.at('1.0').delete(`${inventoriesPath(rp)}/HOUSE`);
    expect(unknown.status).toBe(404);
    expect(detail(unknown)).toContain('No such resource class HOUSE');
    expect(await generationOf(rp)).toBe(0);
    expect((await api.at('1.0').delete(`/resource_providers/${randomUUID()}/inventories/VCPU`)).status).toBe(404);
  });

  it('refuses deleting a class with allocations with 409 and keeps it', async () => {
    const rp = await seedProvider(api.database.db);
    await seedInventory(api.database.db, rp, { VCPU: 8 });
    await seedAllocation(api.database.db, { [rp.uuid]: { VCPU: 2 } });
    const before = await stateOf(rp);
    const res = await api.at('1.23').delete(`${inventoriesPath(rp)}/VCPU`);
    expect(res.status).toBe(409);
    expect(res.body.errors[0].code).toBe('placement.inventory.inuse');
    expect(detail(res)).toContain(
      `Unable to delete inventory of class VCPU: Inventory for 'VCPU' on resource provider '${rp.uuid}' in use.`,
    );
    expect(await stateOf(rp)).toEqual(before);
  });

  it('deletes all inventories from 1.5, even when already empty, bumping the generation each time', async () => {
    const rp = await seedProvider(api.database.db);
    await seedInventory(api.database.db, rp, { VCPU: 8, DISK_GB: 100 });
    expect((await api.at('1.5').delete(inventoriesPath(rp))).status).toBe(204);
    expect(await stateOf(rp)).toEqual({ generation: 2, rows: [] });
    expect((await api.at('1.5').delete(inventoriesPath(rp))).status).toBe(204);
    expect(await generationOf(rp)).toBe(3);
  });

  it('answers 405 to delete-all before 1.5', async () => {
    const rp = await seedProvider(api.database.db);
    await seedInventory(api.database.db, rp, { VCPU: 8 });
    const res = await api.at('1.4').delete(inventoriesPath(rp));
    expect(res.status).toBe(405);
    expect((await stateOf(rp)).rows).toHaveLength(1);
  });

  it('refuses delete-all while any class has allocations, naming them', async () => {
    const rp = await seedProvider(api.database.db);
    await seedInventory(api.database.db, rp, { VCPU: 8, MEMORY_MB: 1024, DISK_GB: 100 });
    await seedAllocation(api.database.db, { [rp.uuid]: { VCPU: 1, MEMORY_MB: 64 } });
    const before = await stateOf(rp);
    const res = await api.at('1.23').delete(inventoriesPath(rp));
    expect(res.status).toBe(409);
    expect(res.body.errors[0].code).toBe('placement.inventory.inuse');
    expect(detail(res)).toContain(`Inventory for 'VCPU, MEMORY_MB' on resource provider '${rp.uuid}' in use.`);
    expect(await stateOf(rp)).toEqual(before);
  });

  it('answers 404 to delete-all for an unknown provider', async () => {
    expect((await api.at('1.5').delete(`/resource_providers/${randomUUID()}/inventories`)).status).toBe(404);
  });
});

describe('concurrent writers', () => {
  it('lets exactly one of two writers with the same generation win', async () => {
    const rp = await seedProvider(api.database.db);
    await seedInventory(api.database.db, rp, { VCPU: 8 });
    const write = (total: number) =>
      api.at('1.23').put(inventoriesPath(rp), { resource_provider_generation: 1, inventories: { VCPU: { total } } });
    const results = await Promise.all([write(2), write(3), write(4)]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 409, 409]);
    expect(await generationOf(rp)).toBe(2);
  });
});
