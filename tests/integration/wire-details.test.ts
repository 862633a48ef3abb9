import { seedProvider, seedTraits } from '../helpers/seed';
import { startTestServer, type TestServer } from '../helpers/server';

/** Issue 9: details where differential testing against Placement found Emplace answering differently. */
let api: TestServer;
beforeAll(async () => {
  api = await startTestServer();
});
afterAll(async () => {
  await api.close();
});

async function generationOf(uuid: string): Promise<number> {
  return (await api.at('1.39').get(`/resource_providers/${uuid}`)).body.generation;
}

describe('provider traits', () => {
  it('writing the set a provider already has leaves its generation alone', async () => {
    const rp = await seedProvider(api.database.db);
    await seedTraits(api.database.db, rp, ['HW_CPU_X86_AVX', 'HW_CPU_X86_SSE']);
    const generation = await generationOf(rp.uuid);
    const res = await api.at('1.39').put(`/resource_providers/${rp.uuid}/traits`, {
      resource_provider_generation: generation,
      traits: ['HW_CPU_X86_SSE', 'HW_CPU_X86_AVX'],
    });
    expect(res.status).toBe(200);
    expect(res.body.resource_provider_generation).toBe(generation);
    expect(res.body.traits.sort()).toEqual(['HW_CPU_X86_AVX', 'HW_CPU_X86_SSE']);
    expect(await generationOf(rp.uuid)).toBe(generation);
    // A real change still bumps it, and a stale generation is still a conflict.
    const changed = await api.at('1.39').put(`/resource_providers/${rp.uuid}/traits`, {
      resource_provider_generation: generation,
      traits: ['HW_CPU_X86_AVX'],
    });
    expect(changed.body.resource_provider_generation).toBe(generation + 1);
    const stale = await api.at('1.39').put(`/resource_providers/${rp.uuid}/traits`, {
      resource_provider_generation: generation,
      traits: ['HW_CPU_X86_AVX'],
    });
    expect(stale.status).toBe(409);
  });

  it('deleting the traits of a provider that has none leaves its generation alone', async () => {
    const rp = await seedProvider(api.database.db);
    const generation = await generationOf(rp.uuid);
    expect((await api.at('1.39').delete(`/resource_providers/${rp.uuid}/traits`)).status).toBe(204);
    expect(await generationOf(rp.uuid)).toBe(generation);
    await seedTraits(api.database.db, rp, ['HW_CPU_X86_AVX']);
    expect((await api.at('1.39').delete(`/resource_providers/${rp.uuid}/traits`)).status).toBe(204);
    expect(await generationOf(rp.uuid)).toBe(generation + 2);
  });
});

describe('inventories', () => {
  it('an empty inventory list has cache-control but no last-modified, read or written', async () => {
    const rp = await seedProvider(api.database.db);
    const read = await api.at('1.15').get(`/resource_providers/${rp.uuid}/inventories`);
    expect(read.headers.get('cache-control')).toBe('no-cache');
    expect(read.headers.get('last-modified')).toBeNull();
    const written = await api.at('1.15').put(`/resource_providers/${rp.uuid}/inventories`, {
      resource_provider_generation: read.body.resource_provider_generation,
      inventories: {},
    });
    expect(written.status).toBe(200);
    expect(written.headers.get('last-modified')).toBeNull();
  });
});

describe('Accept', () => {
  it('a 406 to Accept: text/plain is itself text/plain', async () => {
    const res = await api.request('GET', '/resource_providers', { headers: { accept: 'text/plain' } });
    expect(res.status).toBe(406);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=UTF-8');
    expect(res.text).toBe(
      '406 Not Acceptable\n\nThe resource could not be generated that was acceptable to your browser.\n\n Only application/json is provided  ',
    );
  });

  it('GET / answers its version document whatever Accept says', async () => {
    for (const accept of ['text/plain', 'text/html', 'image/png']) {
      const res = await api.request('GET', '/', { headers: { accept } });
      expect(res.status).toBe(200);
      expect(res.body.versions[0].id).toBe('v1.0');
    }
  });
});

describe('microversion header', () => {
  it('takes latest in lower case only: LATEST is an invalid version string', async () => {
    expect((await api.request('GET', '/', { version: 'latest' })).status).toBe(200);
    for (const header of ['openstack-api-version', 'x-openstack-placement-api-version']) {
      const value = header === 'openstack-api-version' ? 'placement LATEST' : 'LATEST';
      const res = await api.request('GET', '/resource_providers', { headers: { [header]: value } });
      expect(res.status).toBe(400);
      expect(res.body.errors[0].detail).toContain('invalid version string: LATEST');
    }
    // The service name itself is matched without regard to case.
    expect((await api.request('GET', '/', { headers: { 'openstack-api-version': 'PLACEMENT 1.39' } })).status).toBe(
      200,
    );
  });
});
