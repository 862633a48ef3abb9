import { randomUUID } from 'node:crypto';
import { startTestServer, type TestServer, type VersionedClient } from '../helpers/server';

let api: TestServer;
let latest: VersionedClient;
beforeAll(async () => {
  api = await startTestServer();
  latest = api.at('1.39');
});
afterAll(async () => {
  await api.close();
});

const AGG_1 = 'f918801a-5e54-4bee-9095-09a9d0c786b8';
const AGG_2 = 'a893eb5c-e2a0-4251-ab26-f71d3b0cfc0b';

async function createProvider(): Promise<string> {
  const res = await latest.post('/resource_providers', { name: `rp-${randomUUID()}` });
  expect(res.status).toBe(200);
  return res.body.uuid;
}

const path = (uuid: string) => `/resource_providers/${uuid}/aggregates`;
const detail = (res: { body: any }): string => res.body.errors[0].detail;

async function generationOf(uuid: string): Promise<number> {
  return (await latest.get(`/resource_providers/${uuid}`)).body.generation;
}

describe('GET /resource_providers/{uuid}/aggregates', () => {
  it('does not exist before 1.1', async () => {
    const rp = await createProvider();
    expect((await api.at('1.0').get(path(rp))).status).toBe(404);
    expect((await api.at('1.0').put(path(rp), [])).status).toBe(404);
  });

  it('lists no aggregates for a new provider, without generation before 1.19', async () => {
    const rp = await createProvider();
    const res = await api.at('1.18').get(path(rp));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ aggregates: [] });
  });

  it('includes the provider generation from 1.19', async () => {
    const rp = await createProvider();
    const res = await api.at('1.19').get(path(rp));
    expect(res.body).toEqual({ aggregates: [], resource_provider_generation: 0 });
  });

  it('sends cache headers from 1.15 only', async () => {
    const rp = await createProvider();
    const old = await api.at('1.14').get(path(rp));
    expect(old.headers.get('last-modified')).toBeNull();
    expect(old.headers.get('cache-control')).toBeNull();
    const res = await api.at('1.15').get(path(rp));
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('last-modified')).toMatch(/GMT$/);
  });

  it('answers 404 for an unknown provider and for a malformed uuid', async () => {
    const res = await latest.get(path(randomUUID()));
    expect(res.status).toBe(404);
    expect((await latest.get(path('not-a-uuid'))).status).toBe(404);
  });
});

describe('PUT /resource_providers/{uuid}/aggregates before 1.19', () => {
  it('takes a bare list, answers without generation and leaves the generation alone', async () => {
    const rp = await createProvider();
    const res = await api.at('1.1').put(path(rp), [AGG_1, AGG_2]);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ aggregates: [AGG_1, AGG_2] });
    expect(await generationOf(rp)).toBe(0);
    expect((await api.at('1.18').get(path(rp))).body.aggregates.sort()).toEqual([AGG_1, AGG_2].sort());
  });

  it('refuses the 1.19 object form', async () => {
    const rp = await createProvider();
    const res = await api.at('1.18').put(path(rp), { aggregates: [AGG_1], resource_provider_generation: 0 });
    expect(res.status).toBe(400);
    expect(detail(res)).toContain('JSON does not validate');
    expect(detail(res)).toContain("is not of type 'array'");
  });

  it('sends no cache headers before 1.15', async () => {
    const rp = await createProvider();
    const res = await api.at('1.14').put(path(rp), [AGG_1]);
    expect(res.status).toBe(200);
    expect(res.headers.get('last-modified')).toBeNull();
  });
});

describe('PUT /resource_providers/{uuid}/aggregates from 1.19', () => {
  it('replaces the set, bumps the generation and reports it', async () => {
    const rp = await createProvider();
    const res = await latest.put(path(rp), { aggregates: [AGG_1, AGG_2], resource_provider_generation: 0 });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ aggregates: [AGG_1, AGG_2], resource_provider_generation: 1 });
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const cleared = await latest.put(path(rp), { aggregates: [AGG_2], resource_provider_generation: 1 });
    expect(cleared.body).toEqual({ aggregates: [AGG_2], resource_provider_generation: 2 });
    expect((await latest.get(path(rp))).body).toEqual({ aggregates: [AGG_2], resource_provider_generation: 2 });
  });

  it('creates aggregates on demand and shares them between providers', async () => {
    const [a, b] = [await createProvider(), await createProvider()];
    const fresh = randomUUID();
    await latest.put(path(a), { aggregates: [fresh], resource_provider_generation: 0 });
    await latest.put(path(b), { aggregates: [fresh], resource_provider_generation: 0 });
    const rows = await api.database.db('placement_aggregates').where({ uuid: fresh });
    expect(rows).toHaveLength(1);
    const members = await latest.get(`/resource_providers?member_of=${fresh}`);
    expect(members.body.resource_providers.map((p: { uuid: string }) => p.uuid).sort()).toEqual([a, b].sort());
  });

  it('stores dashless uuids in canonical form', async () => {
    const rp = await createProvider();
    const res = await latest.put(path(rp), {
      aggregates: [AGG_1.replace(/-/g, '').toUpperCase()],
      resource_provider_generation: 0,
    });
    expect(res.status).toBe(200);
    expect((await latest.get(path(rp))).body.aggregates).toEqual([AGG_1]);
  });

  it('refuses a stale generation with 409 placement.concurrent_update and changes nothing', async () => {
    const rp = await createProvider();
    await latest.put(path(rp), { aggregates: [AGG_1], resource_provider_generation: 0 });
    const res = await latest.put(path(rp), { aggregates: [], resource_provider_generation: 0 });
    expect(res.status).toBe(409);
    expect(res.body.errors[0].code).toBe('placement.concurrent_update');
    expect(detail(res)).toContain("Resource provider's generation already changed.");
    expect((await latest.get(path(rp))).body).toEqual({ aggregates: [AGG_1], resource_provider_generation: 1 });
  });

  it('lets exactly one of two concurrent writers with the same generation win', async () => {
    const rp = await createProvider();
    const results = await Promise.all([
      latest.put(path(rp), { aggregates: [AGG_1], resource_provider_generation: 0 }),
      latest.put(path(rp), { aggregates: [AGG_2], resource_provider_generation: 0 }),
    ]);
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 409]);
    const winner = results.find((r) => r.status === 200)!;
    expect((await latest.get(path(rp))).body).toEqual({
      aggregates: winner.body.aggregates,
      resource_provider_generation: 1,
    });
  });

  it.each([
    ['the pre-1.19 bare list', [AGG_1], "is not of type 'object'"],
    ['a missing generation', { aggregates: [AGG_1] }, "'resource_provider_generation' is a required property"],
    ['missing aggregates', { resource_provider_generation: 0 }, "'aggregates' is a required property"],
    [
      'a generation that is not an integer',
      { aggregates: [], resource_provider_generation: '0' },
      "'0' is not of type 'integer'",
    ],
    [
      'non-uuid aggregates',
      { aggregates: ['harry', 'sally'], resource_provider_generation: 0 },
      "'harry' is not a 'uuid'",
    ],
    ['repeated aggregates', { aggregates: [AGG_1, AGG_1], resource_provider_generation: 0 }, 'has non-unique elements'],
    [
      'an extra property',
      { aggregates: [], resource_provider_generation: 0, extra: 1 },
      "Additional properties are not allowed ('extra' was unexpected)",
    ],
  ])('refuses %s with 400', async (_label, body, message) => {
    const rp = await createProvider();
    const res = await latest.put(path(rp), body);
    expect(res.status).toBe(400);
    expect(detail(res)).toContain('JSON does not validate');
    expect(detail(res)).toContain(message);
    expect(await generationOf(rp)).toBe(0);
  });

  it('refuses malformed JSON with 400', async () => {
    const rp = await createProvider();
    const res = await api.request('PUT', path(rp), {
      version: '1.39',
      rawBody: '{"bad", "not json"}',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(400);
    expect(detail(res)).toContain('Malformed JSON');
  });

  it('answers 404 for an unknown provider before looking at the body', async () => {
    const res = await latest.put(path(randomUUID()), []);
    expect(res.status).toBe(404);
  });
});
