import { startTestServer, type TestServer } from '../helpers/server';

let api: TestServer;
beforeAll(async () => {
  api = await startTestServer({
    EMPLACE_CORS_ALLOWED_ORIGINS: 'http://valid.example.com',
    EMPLACE_CORS_ALLOW_HEADERS: 'openstack-api-version',
  });
});
afterAll(async () => {
  await api.close();
});

const preflight = (origin: string, headers: Record<string, string> = {}) =>
  api.request('OPTIONS', '/', { headers: { origin, 'access-control-request-method': 'GET', ...headers } });

describe('CORS (configured origins only)', () => {
  it('answers a preflight from an allowed origin with the allowed method and headers', async () => {
    const res = await preflight('http://valid.example.com', {
      'access-control-request-headers': 'openstack-api-version',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('http://valid.example.com');
    expect(res.headers.get('access-control-allow-headers')).toBe('openstack-api-version');
  });

  it('answers a preflight from another origin without allowing it', async () => {
    const res = await preflight('http://invalid.example.com');
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('refuses a preflight asking for headers that are not allowed', async () => {
    const res = await preflight('http://valid.example.com', { 'access-control-request-headers': 'x-secret' });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('echoes an allowed origin on ordinary requests and not others', async () => {
    const good = await api.request('GET', '/', { headers: { origin: 'http://valid.example.com' } });
    expect(good.headers.get('access-control-allow-origin')).toBe('http://valid.example.com');
    const bad = await api.request('GET', '/', { headers: { origin: 'http://invalid.example.com' } });
    expect(bad.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('CORS off by default', () => {
  it('treats OPTIONS as any unknown method when no origin is configured', async () => {
    const plain = await startTestServer();
    try {
      const res = await plain.request('OPTIONS', '/', {
        headers: { origin: 'http://valid.example.com', 'access-control-request-method': 'GET' },
      });
      expect(res.status).toBe(405);
    } finally {
      await plain.close();
    }
  });
});
