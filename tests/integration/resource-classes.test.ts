import { seedAllocation, seedInventory, seedProvider } from '../helpers/seed';
import { startTestServer, type TestServer } from '../helpers/server';

let api: TestServer;
beforeAll(async () => {
  api = await startTestServer();
});
afterAll(async () => {
  await api.close();
});

function detail(res: { body: any }): string {
  return res.body.errors[0].detail;
}

async function classRow(name: string): Promise<{ id: number; name: string } | undefined> {
  return api.database.db('resource_classes').where({ name }).first('id', 'name');
}

async function classCount(): Promise<number> {
  return Number((await api.database.db('resource_classes').count('* as n').first())!.n);
}

describe('listing and showing resource classes', () => {
  it('lists the standard classes with self links', async () => {
    const res = await api.at('1.2').get('/resource_classes');
    expect(res.status).toBe(200);
    expect(res.body.resource_classes[0]).toEqual({
      name: 'VCPU',
      links: [{ rel: 'self', href: '/resource_classes/VCPU' }],
    });
    expect(res.body.resource_classes.map((rc: { name: string }) => rc.name)).toEqual(
      expect.arrayContaining(['MEMORY_MB', 'DISK_GB']),
    );
    expect(res.body.resource_classes).toHaveLength(await classCount());
  });

  it('shows one class and answers 404 for an unknown one', async () => {
    const res = await api.at('1.2').get('/resource_classes/MEMORY_MB');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ name: 'MEMORY_MB', links: [{ rel: 'self', href: '/resource_classes/MEMORY_MB' }] });
    const missing = await api.at('1.2').get('/resource_classes/CUSTOM_MISSING');
    expect(missing.status).toBe(404);
    expect(detail(missing)).toContain('No such resource class CUSTOM_MISSING.');
  });

  it('does not exist before 1.2', async () => {
    expect((await api.at('1.1').get('/resource_classes')).status).toBe(404);
    expect((await api.at('1.1').get('/resource_classes/VCPU')).status).toBe(404);
    expect((await api.at('1.1').post('/resource_classes', { name: 'CUSTOM_EARLY' })).status).toBe(404);
    expect((await api.at('1.1').delete('/resource_classes/VCPU')).status).toBe(404);
    expect(await classRow('CUSTOM_EARLY')).toBeUndefined();
  });

  it('sends cache headers from 1.15 only', async () => {
    for (const path of ['/resource_classes', '/resource_classes/VCPU']) {
      expect((await api.at('1.14').get(path)).headers.get('last-modified')).toBeNull();
      const res = await api.at('1.15').get(path);
      expect(res.headers.get('last-modified')).toMatch(/GMT$/);
      expect(res.headers.get('cache-control')).toBe('no-cache');
    }
  });
});

describe('creating custom classes with POST', () => {
  it('creates with 201, Location, no body, and an id from 10000 up', async () => {
    const res = await api.at('1.2').post('/resource_classes', { name: 'CUSTOM_NFV_FOO' });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`${api.baseUrl}/resource_classes/CUSTOM_NFV_FOO`);
    expect(res.headers.get('content-type')).toBeNull();
    expect((await classRow('CUSTOM_NFV_FOO'))!.id).toBeGreaterThanOrEqual(10000);
    expect((await api.at('1.2').get('/resource_classes/CUSTOM_NFV_FOO')).body.name).toBe('CUSTOM_NFV_FOO');
  });

  it('refuses a duplicate with 409', async () => {
    await api.at('1.2').post('/resource_classes', { name: 'CUSTOM_TWICE' });
    const res = await api.at('1.2').post('/resource_classes', { name: 'CUSTOM_TWICE' });
    expect(res.status).toBe(409);
    expect(detail(res)).toContain('Conflicting resource class already exists: CUSTOM_TWICE');
  });

  it.each([
    [{ name: 'FOO' }, "'FOO' does not match '^CUSTOM_[A-Z0-9_]+$'"],
    [{ name: 'VCPU' }, 'does not match'],
    [{ name: 'IRON_NFV' }, 'does not match'],
    [{ name: 'CUSTOM_lower' }, 'does not match'],
    [{ name: 'CUSTOM_Illegal&@!Name?' }, 'does not match'],
    [{ name: `CUSTOM_${'S'.repeat(249)}` }, 'is too long'],
    [{ name: 42 }, "42 is not of type 'string'"],
    [{}, "'name' is a required property"],
    [{ name: 'CUSTOM_NFV_BAR', another: 'x' }, "Additional properties are not allowed ('another' was unexpected)"],
  ])('refuses body %j with 400 and creates nothing', async (body, message) => {
    const before = await classCount();
    const res = await api.at('1.2').post('/resource_classes', body);
    expect(res.status).toBe(400);
    expect(detail(res)).toContain('JSON does not validate');
    expect(detail(res)).toContain(message);
    expect(await classCount()).toBe(before);
  });

  it('refuses malformed JSON and other content types', async () => {
    const malformed = await api.request('POST', '/resource_classes', {
      version: '1.2',
      rawBody: '{"name": ',
      headers: { 'content-type': 'application/json' },
    });
    expect(malformed.status).toBe(400);
    expect(malformed.text).toContain('Malformed JSON');
    const text = await api.request('POST', '/resource_classes', {
      version: '1.2',
      rawBody: 'name',
      headers: { 'content-type': 'text/plain' },
    });
    expect(text.status).toBe(415);
  });
});

describe('renaming with PUT before 1.7', () => {
  it('renames a custom class, keeping its id, and answers 200 with the class', async () => {
    await api.at('1.2').post('/resource_classes', { name: 'CUSTOM_OLD_NAME' });
    const id = (await classRow('CUSTOM_OLD_NAME'))!.id;
    const res = await api.at('1.6').put('/resource_classes/CUSTOM_OLD_NAME', { name: 'CUSTOM_NEW_NAME' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      name: 'CUSTOM_NEW_NAME',
      links: [{ rel: 'self', href: '/resource_classes/CUSTOM_NEW_NAME' }],
    });
    expect(await classRow('CUSTOM_OLD_NAME')).toBeUndefined();
    expect((await classRow('CUSTOM_NEW_NAME'))!.id).toBe(id);
  });

  it('refuses renaming a standard class with 400', async () => {
    const res = await api.at('1.2').put('/resource_classes/VCPU', { name: 'CUSTOM_VCPU' });
    expect(res.status).toBe(400);
    expect(detail(res)).toContain('Cannot update standard resource class VCPU');
    expect(await classRow('VCPU')).toBeDefined();
    expect(await classRow('CUSTOM_VCPU')).toBeUndefined();
  });

  it('refuses a taken name with 409, bad names with 400 and unknown classes with 404', async () => {
    await api.at('1.2').post('/resource_classes', { name: 'CUSTOM_A' });
    await api.at('1.2').post('/resource_classes', { name: 'CUSTOM_B' });
    const taken = await api.at('1.2').put('/resource_classes/CUSTOM_A', { name: 'CUSTOM_B' });
    expect(taken.status).toBe(409);
    expect(detail(taken)).toContain('Resource class already exists: CUSTOM_B');
    expect(await classRow('CUSTOM_A')).toBeDefined();
    const standardName = await api.at('1.2').put('/resource_classes/CUSTOM_A', { name: 'VCPU' });
    expect(standardName.status).toBe(400);
    expect(detail(standardName)).toContain('JSON does not validate');
    const tooLong = await api.at('1.2').put('/resource_classes/CUSTOM_A', { name: `CUSTOM_${'S'.repeat(249)}` });
    expect(tooLong.status).toBe(400);
    const extra = await api.at('1.2').put('/resource_classes/CUSTOM_A', { name: 'CUSTOM_C', more: 1 });
    expect(extra.status).toBe(400);
    expect(detail(extra)).toContain('Additional properties are not allowed');
    const unknown = await api.at('1.2').put('/resource_classes/CUSTOM_NOPE', { name: 'CUSTOM_C' });
    expect(unknown.status).toBe(404);
    expect(await classRow('CUSTOM_C')).toBeUndefined();
  });
});

describe('create-or-ensure with PUT from 1.7', () => {
  it('creates with 201 then confirms with 204, both with Location', async () => {
    const created = await api.at('1.7').put('/resource_classes/CUSTOM_COW');
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`${api.baseUrl}/resource_classes/CUSTOM_COW`);
    const again = await api.at('1.7').put('/resource_classes/CUSTOM_COW');
    expect(again.status).toBe(204);
    expect(again.headers.get('location')).toBe(`${api.baseUrl}/resource_classes/CUSTOM_COW`);
    expect((await classRow('CUSTOM_COW'))!.id).toBeGreaterThanOrEqual(10000);
  });

  it.each([['COW'], ['VCPU'], ['CUSTOM_cow'], [`CUSTOM_${'S'.repeat(249)}`]])(
    'refuses %s with 400 and creates nothing',
    async (name) => {
      const before = await classCount();
      const res = await api.at('1.7').put(`/resource_classes/${name}`);
      expect(res.status).toBe(400);
      expect(detail(res)).toContain('JSON does not validate');
      expect(await classCount()).toBe(before);
    },
  );

  it('needs no body or content type', async () => {
    const res = await api.request('PUT', '/resource_classes/CUSTOM_BARE', { version: '1.7' });
    expect(res.status).toBe(201);
  });
});

describe('deleting custom classes', () => {
  it('deletes an unused custom class, then answers 404', async () => {
    await api.at('1.2').post('/resource_classes', { name: 'CUSTOM_DOOMED' });
    expect((await api.at('1.2').delete('/resource_classes/CUSTOM_DOOMED')).status).toBe(204);
    expect(await classRow('CUSTOM_DOOMED')).toBeUndefined();
    const again = await api.at('1.2').delete('/resource_classes/CUSTOM_DOOMED');
    expect(again.status).toBe(404);
    expect(detail(again)).toContain('No such resource class CUSTOM_DOOMED.');
  });

  it('refuses deleting a standard class with 400', async () => {
    const res = await api.at('1.2').delete('/resource_classes/VCPU');
    expect(res.status).toBe(400);
    expect(detail(res)).toContain('Cannot delete standard resource class VCPU.');
    expect(await classRow('VCPU')).toBeDefined();
  });

  it('refuses deleting a class with inventory, or with allocations, with 409', async () => {
    const rp = await seedProvider(api.database.db);
    await api.at('1.7').put('/resource_classes/CUSTOM_STOCKED');
    await seedInventory(api.database.db, rp, { CUSTOM_STOCKED: 10 });
    const stocked = await api.at('1.2').delete('/resource_classes/CUSTOM_STOCKED');
    expect(stocked.status).toBe(409);
    expect(detail(stocked)).toContain('Cannot delete resource class CUSTOM_STOCKED. Class is in use in inventory.');

    await api.at('1.7').put('/resource_classes/CUSTOM_ALLOCATED');
    await seedAllocation(api.database.db, { [rp.uuid]: { CUSTOM_ALLOCATED: 1 } });
    expect((await api.at('1.2').delete('/resource_classes/CUSTOM_ALLOCATED')).status).toBe(409);
    expect(await classRow('CUSTOM_STOCKED')).toBeDefined();
    expect(await classRow('CUSTOM_ALLOCATED')).toBeDefined();
  });

  it('answers 400, not 500, for a class name with a NUL character', async () => {
    for (const method of ['GET', 'DELETE']) {
      const res = await api.request(method, '/resource_classes/CUSTOM_X%00', { version: '1.2' });
      expect(res.status).toBe(400);
      expect(detail(res)).toContain('the path contains a NUL character');
    }
  });

  it('lets a new custom class be used for inventory right away', async () => {
    await api.at('1.7').put('/resource_classes/CUSTOM_FRESH');
    const rp = await seedProvider(api.database.db);
    const res = await api
      .at('1.7')
      .post(`/resource_providers/${rp.uuid}/inventories`, { resource_class: 'CUSTOM_FRESH', total: 3 });
    expect(res.status).toBe(201);
  });
});
