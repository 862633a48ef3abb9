import { randomUUID } from 'node:crypto';
import { seedProvider, seedTraits, type SeedProvider } from '../helpers/seed';
import { startTestServer, type TestServer } from '../helpers/server';

let api: TestServer;
beforeAll(async () => {
  api = await startTestServer();
});
afterAll(async () => {
  await api.close();
});

const INVALID_TRAIT =
  'The trait is invalid. A valid trait must be no longer than 255 characters, start with the prefix "CUSTOM_" and use ' +
  'following characters: "A"-"Z", "0"-"9" and "_"';

function detail(res: { body: any }): string {
  return res.body.errors[0].detail;
}

async function traitCount(): Promise<number> {
  return Number((await api.database.db('traits').count('* as n').first())!.n);
}

async function generationOf(rp: SeedProvider): Promise<number> {
  return (await api.database.db('resource_providers').where({ id: rp.id }).first('generation')).generation;
}

async function linkedTraits(rp: SeedProvider): Promise<string[]> {
  return api.database
    .db('resource_provider_traits as rpt')
    .join('traits as t', 't.id', 'rpt.trait_id')
    .where('rpt.resource_provider_id', rp.id)
    .orderBy('t.name')
    .pluck('t.name');
}

describe('custom traits under /traits/{name}', () => {
  it('creates with 201 and Location, then confirms with 204', async () => {
    const created = await api.at('1.6').put('/traits/CUSTOM_TRAIT_1');
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`${api.baseUrl}/traits/CUSTOM_TRAIT_1`);
    expect(created.headers.get('content-type')).toBeNull();
    const again = await api.at('1.6').put('/traits/CUSTOM_TRAIT_1');
    expect(again.status).toBe(204);
    expect(again.headers.get('location')).toBe(`${api.baseUrl}/traits/CUSTOM_TRAIT_1`);
  });

  it.each([['TRAIT_X'], ['CUSTOM_ABC:1'], ['CUSTOM_lower'], [`CUSTOM_${'A'.repeat(249)}`], ['CUSTOM_']])(
    'refuses to create %s with 400 and creates nothing',
    async (name) => {
      const before = await traitCount();
      const res = await api.at('1.6').put(`/traits/${encodeURIComponent(name)}`);
      expect(res.status).toBe(400);
      expect(detail(res)).toContain(INVALID_TRAIT);
      expect(await traitCount()).toBe(before);
    },
  );

  it('accepts a 255-character custom trait', async () => {
    expect((await api.at('1.6').put(`/traits/CUSTOM_${'B'.repeat(248)}`)).status).toBe(201);
  });

  it('shows an existing trait as 204 and an unknown one as 404', async () => {
    await api.at('1.6').put('/traits/CUSTOM_SHOWN');
    const found = await api.at('1.6').get('/traits/CUSTOM_SHOWN');
    expect(found.status).toBe(204);
    expect(found.headers.get('content-type')).toBeNull();
    expect((await api.at('1.6').get('/traits/HW_CPU_X86_SSE')).status).toBe(204);
    const missing = await api.at('1.6').get('/traits/NON_EXISTED');
    expect(missing.status).toBe(404);
    expect(detail(missing)).toContain('No such trait(s): NON_EXISTED.');
  });

  it('sends cache headers on show and create from 1.15 only', async () => {
    await api.at('1.6').put('/traits/CUSTOM_CACHED');
    for (const call of [
      (v: string) => api.at(v).get('/traits/CUSTOM_CACHED'),
      (v: string) => api.at(v).put('/traits/CUSTOM_CACHED'),
    ]) {
      const old = await call('1.14');
      expect(old.headers.get('last-modified')).toBeNull();
      expect(old.headers.get('cache-control')).toBeNull();
      const now = await call('1.15');
      expect(now.headers.get('last-modified')).toMatch(/GMT$/);
      expect(now.headers.get('cache-control')).toBe('no-cache');
    }
  });

  it('does not exist before 1.6', async () => {
    expect((await api.at('1.5').put('/traits/CUSTOM_EARLY')).status).toBe(404);
    expect((await api.at('1.5').get('/traits/HW_CPU_X86_SSE')).status).toBe(404);
    expect((await api.at('1.5').delete('/traits/HW_CPU_X86_SSE')).status).toBe(404);
    expect((await api.at('1.5').get('/traits')).status).toBe(404);
    expect((await api.database.db('traits').where({ name: 'CUSTOM_EARLY' })).length).toBe(0);
  });

  it('deletes an unused custom trait', async () => {
    await api.at('1.6').put('/traits/CUSTOM_GONE');
    expect((await api.at('1.6').delete('/traits/CUSTOM_GONE')).status).toBe(204);
    expect((await api.at('1.6').get('/traits/CUSTOM_GONE')).status).toBe(404);
  });

  it('refuses to delete an unknown (404), a standard (400) or an in-use (409) trait', async () => {
    const unknown = await api.at('1.6').delete('/traits/CUSTOM_NON_EXISTED');
    expect(unknown.status).toBe(404);
    const standard = await api.at('1.6').delete('/traits/HW_CPU_X86_SSE');
    expect(standard.status).toBe(400);
    expect(detail(standard)).toContain('Cannot delete standard trait HW_CPU_X86_SSE.');
    const rp = await seedProvider(api.database.db);
    await seedTraits(api.database.db, rp, ['CUSTOM_BUSY']);
    const busy = await api.at('1.6').delete('/traits/CUSTOM_BUSY');
    expect(busy.status).toBe(409);
    expect(detail(busy)).toContain('The trait CUSTOM_BUSY is in use by a resource provider.');
    expect(await linkedTraits(rp)).toEqual(['CUSTOM_BUSY']);
  });

  it('answers 400, not 500, for a trait name with a NUL character, and writes nothing', async () => {
    const before = await traitCount();
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const res = await api.request(method, '/traits/CUSTOM_BUSY%00', { version: '1.6' });
      expect(res.status).toBe(400);
    }
    expect(await traitCount()).toBe(before);
  });
});

describe('listing traits', () => {
  beforeAll(async () => {
    for (const name of ['CUSTOM_LIST_1', 'CUSTOM_LIST_2', 'CUSTOM_LISTED_X', 'CUSTOM_LISTXY'])
      await api.at('1.6').put(`/traits/${name}`);
    const rp = await seedProvider(api.database.db);
    await seedTraits(api.database.db, rp, ['CUSTOM_LIST_1', 'HW_CPU_X86_AVX2']);
  });

  it('lists standard and custom traits', async () => {
    const res = await api.at('1.6').get('/traits');
    expect(res.status).toBe(200);
    expect(res.body.traits).toEqual(expect.arrayContaining(['HW_CPU_X86_SSE', 'CUSTOM_LIST_1', 'CUSTOM_LIST_2']));
    expect(res.body.traits.length).toBe(await traitCount());
  });

  it('filters with name=in:', async () => {
    const res = await api.at('1.6').get('/traits?name=in:CUSTOM_LIST_1,CUSTOM_LIST_2,CUSTOM_NOPE');
    expect(res.body.traits.sort()).toEqual(['CUSTOM_LIST_1', 'CUSTOM_LIST_2']);
  });

  it('filters with name=startswith: treating _ literally', async () => {
    const res = await api.at('1.6').get('/traits?name=startswith:CUSTOM_LIST_');
    expect(res.body.traits.sort()).toEqual(['CUSTOM_LIST_1', 'CUSTOM_LIST_2']);
  });

  it('filters by association and combines with the name filter', async () => {
    const associated = await api.at('1.6').get('/traits?associated=true');
    expect(associated.body.traits.sort()).toEqual(expect.arrayContaining(['CUSTOM_LIST_1', 'HW_CPU_X86_AVX2']));
    expect(associated.body.traits).not.toContain('CUSTOM_LIST_2');
    const unassociated = await api.at('1.6').get('/traits?name=startswith:CUSTOM_LIST&associated=FALSE');
    expect(unassociated.body.traits.sort()).toEqual(['CUSTOM_LISTED_X', 'CUSTOM_LISTXY', 'CUSTOM_LIST_2'].sort());
  });

  it('refuses a badly formatted name, a bad associated value and unknown parameters', async () => {
    const name = await api.at('1.6').get('/traits?name=in_abc');
    expect(name.status).toBe(400);
    expect(detail(name)).toContain(
      'Badly formatted name parameter. Expected name query string parameter in form: ?name=[in|startswith]:[name1,name2|prefix]. Got: "in_abc"',
    );
    const associated = await api.at('1.6').get('/traits?associated=xyz');
    expect(associated.status).toBe(400);
    expect(detail(associated)).toContain('The query parameter "associated" only accepts "true" or "false"');
    const invalid = await api.at('1.6').get('/traits?invalid=abc');
    expect(invalid.status).toBe(400);
    expect(detail(invalid)).toContain('Invalid query string parameters: Additional properties are not allowed');
  });

  it('sends cache headers from 1.15 only', async () => {
    expect((await api.at('1.14').get('/traits')).headers.get('last-modified')).toBeNull();
    const res = await api.at('1.15').get('/traits');
    expect(res.headers.get('last-modified')).toMatch(/GMT$/);
    expect(res.headers.get('cache-control')).toBe('no-cache');
  });
});

describe('traits of a provider', () => {
  const path = (rp: { uuid: string }) => `/resource_providers/${rp.uuid}/traits`;

  it('starts empty, with the generation', async () => {
    const rp = await seedProvider(api.database.db);
    const res = await api.at('1.6').get(path(rp));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ traits: [], resource_provider_generation: 0 });
  });

  it('replaces the set, bumps the generation and returns the new set', async () => {
    const rp = await seedProvider(api.database.db);
    await seedTraits(api.database.db, rp, ['HW_CPU_X86_SSE']);
    await api.at('1.6').put('/traits/CUSTOM_RP_1');
    const res = await api
      .at('1.6')
      .put(path(rp), { traits: ['CUSTOM_RP_1', 'HW_CPU_X86_AVX2', 'CUSTOM_RP_1'], resource_provider_generation: 1 });
    expect(res.status).toBe(200);
    expect(res.body.resource_provider_generation).toBe(2);
    expect(res.body.traits.sort()).toEqual(['CUSTOM_RP_1', 'HW_CPU_X86_AVX2']);
    expect(await linkedTraits(rp)).toEqual(['CUSTOM_RP_1', 'HW_CPU_X86_AVX2']);
    const read = await api.at('1.6').get(path(rp));
    expect(read.body.resource_provider_generation).toBe(2);
    expect(read.body.traits.sort()).toEqual(['CUSTOM_RP_1', 'HW_CPU_X86_AVX2']);
  });

  it('refuses a stale generation with 409 concurrent_update and changes nothing', async () => {
    const rp = await seedProvider(api.database.db);
    await seedTraits(api.database.db, rp, ['HW_CPU_X86_SSE']);
    const res = await api.at('1.23').put(path(rp), { traits: ['HW_CPU_X86_AVX2'], resource_provider_generation: 5 });
    expect(res.status).toBe(409);
    expect(res.body.errors[0].code).toBe('placement.concurrent_update');
    expect(detail(res)).toContain(
      "Resource provider's generation already changed. Please update the generation and try again.",
    );
    expect(await linkedTraits(rp)).toEqual(['HW_CPU_X86_SSE']);
    expect(await generationOf(rp)).toBe(1);
  });

  it('refuses unknown traits with 400 listing them and changes nothing', async () => {
    const rp = await seedProvider(api.database.db);
    const res = await api.at('1.6').put(path(rp), {
      traits: ['NON_EXISTED_TRAIT1', 'NON_EXISTED_TRAIT2', 'HW_CPU_X86_SSE'],
      resource_provider_generation: 0,
    });
    expect(res.status).toBe(400);
    expect(detail(res)).toContain('No such trait NON_EXISTED_TRAIT1, NON_EXISTED_TRAIT2');
    expect(await linkedTraits(rp)).toEqual([]);
    expect(await generationOf(rp)).toBe(0);
  });

  it.each([
    [{ traits: ['CUSTOM_TRAIT_1'] }, "'resource_provider_generation' is a required property"],
    [{ resource_provider_generation: 0 }, "'traits' is a required property"],
    [
      { traits: ['HW_CPU_X86_SSE'], resource_provider_generation: 'invalid_generation' },
      "'invalid_generation' is not of type 'integer'",
    ],
    [{ traits: 'invalid_type', resource_provider_generation: 0 }, "'invalid_type' is not of type 'array'"],
    [{ traits: [''], resource_provider_generation: 0 }, "'' is too short"],
    [{ traits: [1], resource_provider_generation: 0 }, "1 is not of type 'string'"],
    [{ traits: [], resource_provider_generation: 0, additional: 'x' }, 'Additional properties are not allowed'],
  ])('refuses body %j with 400 "%s"', async (body, message) => {
    const rp = await seedProvider(api.database.db);
    const res = await api.at('1.6').put(path(rp), body);
    expect(res.status).toBe(400);
    expect(detail(res)).toContain(message);
    expect(await generationOf(rp)).toBe(0);
  });

  it('answers 404 for unknown providers, including malformed uuids', async () => {
    const body = { traits: ['HW_CPU_X86_SSE'], resource_provider_generation: 1 };
    const put = await api.at('1.6').put('/resource_providers/non_existed/traits', body);
    expect(put.status).toBe(404);
    expect(detail(put)).toContain('No resource provider with uuid non_existed found');
    const uuid = randomUUID();
    const get = await api.at('1.6').get(path({ uuid }));
    expect(get.status).toBe(404);
    expect(detail(get)).toContain(
      `No resource provider with uuid ${uuid} found: No resource provider with uuid ${uuid} found`,
    );
    expect((await api.at('1.6').delete(path({ uuid }))).status).toBe(404);
  });

  it('removes all traits with DELETE, bumping the generation', async () => {
    const rp = await seedProvider(api.database.db);
    await seedTraits(api.database.db, rp, ['HW_CPU_X86_SSE', 'HW_CPU_X86_AVX2']);
    const res = await api.at('1.6').delete(path(rp));
    expect(res.status).toBe(204);
    expect(res.headers.get('content-type')).toBeNull();
    expect(await linkedTraits(rp)).toEqual([]);
    expect(await generationOf(rp)).toBe(2);
  });

  it('does not exist before 1.6', async () => {
    const rp = await seedProvider(api.database.db);
    expect((await api.at('1.5').get(path(rp))).status).toBe(404);
    expect((await api.at('1.5').put(path(rp), { traits: [], resource_provider_generation: 0 })).status).toBe(404);
    expect((await api.at('1.5').delete(path(rp))).status).toBe(404);
    expect(await generationOf(rp)).toBe(0);
  });

  it('sends cache headers from 1.15 only', async () => {
    const rp = await seedProvider(api.database.db);
    expect((await api.at('1.14').get(path(rp))).headers.get('last-modified')).toBeNull();
    const get = await api.at('1.15').get(path(rp));
    expect(get.headers.get('last-modified')).toMatch(/GMT$/);
    const put = await api.at('1.15').put(path(rp), { traits: ['HW_CPU_X86_SSE'], resource_provider_generation: 0 });
    expect(put.headers.get('cache-control')).toBe('no-cache');
    const old = await api.at('1.14').put(path(rp), { traits: ['HW_CPU_X86_SSE'], resource_provider_generation: 1 });
    expect(old.status).toBe(200);
    expect(old.headers.get('last-modified')).toBeNull();
  });
});
