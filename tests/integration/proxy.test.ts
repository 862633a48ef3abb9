import { startTestServer, type TestServer } from '../helpers/server';

// Behind a proxy: Placement served under /placement (as devstack does), X-Forwarded-* / Forwarded believed
// only from EMPLACE_TRUSTED_PROXIES.
let behind: TestServer;
let direct: TestServer;

beforeAll(async () => {
  behind = await startTestServer({ EMPLACE_PATH_PREFIX: '/placement/', EMPLACE_TRUSTED_PROXIES: 'loopback' });
  direct = await startTestServer({});
});

afterAll(async () => {
  await behind.close();
  await direct.close();
});

it('every route answers under the prefix, and nothing outside it', async () => {
  const root = await behind.request('GET', '/placement/', { headers: { 'x-auth-token': '' } });
  expect(root.status).toBe(200);
  expect(root.body.versions[0].max_version).toBe('1.39');
  expect((await behind.request('GET', '/placement')).status).toBe(200);
  expect((await behind.request('GET', '/placement/resource_providers', { version: '1.39' })).status).toBe(200);
  expect((await behind.request('GET', '/resource_providers', { version: '1.39' })).status).toBe(404);
  expect((await behind.request('GET', '/placementx/resource_providers', { version: '1.39' })).status).toBe(404);
});

it('links and Location headers carry the prefix', async () => {
  const created = await behind.request('POST', '/placement/resource_providers', {
    version: '1.20',
    body: { name: 'behind-proxy' },
  });
  expect(created.status).toBe(200);
  const uuid = created.body.uuid;
  expect(created.headers.get('location')).toBe(`/placement/resource_providers/${uuid}`);
  expect(created.body.links[0]).toEqual({ rel: 'self', href: `/placement/resource_providers/${uuid}` });
  const listed = await behind.request('GET', '/placement/resource_classes', { version: '1.7' });
  expect(listed.body.resource_classes[0].links[0].href).toMatch(/^\/placement\/resource_classes\//);
});

it('X-Forwarded-Proto and Forwarded count from a trusted proxy only', async () => {
  const put = (server: TestServer, path: string, headers: Record<string, string>) =>
    server.request('PUT', path, { version: '1.7', headers });
  const forwarded = await put(behind, '/placement/resource_classes/CUSTOM_A', { 'x-forwarded-proto': 'https' });
  expect(forwarded.status).toBe(201);
  expect(forwarded.headers.get('location')).toBe(
    `${behind.baseUrl.replace('http:', 'https:')}/placement/resource_classes/CUSTOM_A`,
  );
  const rfc = await put(behind, '/placement/resource_classes/CUSTOM_B', {
    forwarded: 'for=192.0.2.1;proto=https;host=placement.example.org',
  });
  expect(rfc.headers.get('location')).toBe('https://placement.example.org/placement/resource_classes/CUSTOM_B');
  const ignored = await put(direct, '/resource_classes/CUSTOM_C', {
    'x-forwarded-proto': 'https',
    forwarded: 'proto=https;host=evil.example.org',
  });
  expect(ignored.headers.get('location')).toBe(`${direct.baseUrl}/resource_classes/CUSTOM_C`);
});
