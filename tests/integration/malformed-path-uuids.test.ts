import { startTestServer, type TestServer } from '../helpers/server';

/**
 * A `{uuid}` segment that is no uuid, on every route that has one. Placement answers it as it answers a
 * well-formed uuid that names nothing (quoting the segment as sent), except PUT /allocations/{consumer_uuid},
 * which refuses it with a 400. The route table checks these segments; these tests pin each route's answer.
 */
let api: TestServer;
beforeAll(async () => {
  api = await startTestServer();
});
afterAll(async () => api.close());

const MISSING = '8b6c1e4e-2f0a-4d3b-9c55-0a1e3f7d2b90';
const MALFORMED = ['not-a-uuid', '-'.repeat(36), `{${MISSING}}`];

const inventory = { resource_class: 'VCPU', total: 1 };
const PROVIDER_ROUTES: Array<[method: 'get' | 'put' | 'post' | 'delete', path: string, body?: unknown]> = [
  ['get', '/resource_providers/{}'],
  ['put', '/resource_providers/{}', { name: 'renamed' }],
  ['delete', '/resource_providers/{}'],
  ['get', '/resource_providers/{}/inventories'],
  ['post', '/resource_providers/{}/inventories', inventory],
  ['put', '/resource_providers/{}/inventories', { resource_provider_generation: 0, inventories: {} }],
  ['delete', '/resource_providers/{}/inventories'],
  ['get', '/resource_providers/{}/inventories/VCPU'],
  ['put', '/resource_providers/{}/inventories/VCPU', { resource_provider_generation: 0, total: 1 }],
  ['delete', '/resource_providers/{}/inventories/VCPU'],
  ['get', '/resource_providers/{}/usages'],
  ['get', '/resource_providers/{}/aggregates'],
  ['put', '/resource_providers/{}/aggregates', { resource_provider_generation: 0, aggregates: [] }],
  ['get', '/resource_providers/{}/allocations'],
  ['get', '/resource_providers/{}/traits'],
  ['put', '/resource_providers/{}/traits', { resource_provider_generation: 0, traits: [] }],
  // Placement reads this body before it looks the provider up: the bad body's 400 wins either way.
  ['put', '/resource_providers/{}/traits', { traits: 'no list' }],
  ['delete', '/resource_providers/{}/traits'],
  ['get', '/allocations/{}'],
  ['delete', '/allocations/{}'],
  ['put', '/emplace/heartbeats/{}'],
  ['delete', '/emplace/heartbeats/{}'],
];

/** What a client can see of an answer, with the segment replaced so two answers compare. */
function seen(res: { status: number; body: any; headers: Headers }, segment: string) {
  const text = JSON.stringify(res.body ?? null)
    .split(JSON.stringify(segment).slice(1, -1))
    .join('<segment>');
  return { status: res.status, body: JSON.parse(text.replace(/"request_id":"[^"]*"/g, '"request_id":"-"')) };
}

describe.each(PROVIDER_ROUTES)('%s %s (body %j)', (method, path, body) => {
  it.each(MALFORMED)('answers %s as it answers a uuid that names nothing', async (segment) => {
    const client = api.at('1.39');
    const missing = await client[method](path.replace('{}', MISSING), body);
    const malformed = await client[method](path.replace('{}', encodeURIComponent(segment)), body);
    expect(missing.status).toBeGreaterThanOrEqual(200);
    expect(seen(malformed, segment)).toEqual(seen(missing, MISSING));
  });
});

describe('PUT /allocations/{consumer_uuid}', () => {
  it('refuses a consumer uuid that is no uuid with a 400 quoting it, before reading the body', async () => {
    const res = await api.at('1.39').put('/allocations/not-a-uuid', { nonsense: true });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].detail).toContain('Malformed consumer_uuid: not-a-uuid');
  });
});
