import net from 'node:net';
import pino from 'pino';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { createDb } from '../../src/db/knex';
import { startTestServer, type TestServer } from '../helpers/server';

let api: TestServer;
beforeAll(async () => {
  api = await startTestServer();
});
afterAll(async () => {
  await api.close();
});

describe('version document', () => {
  it('is served without a token and names min and max versions', async () => {
    const res = await api.request('GET', '/', { headers: { 'x-auth-token': '' } });
    expect(res.status).toBe(200);
    expect(res.body.versions[0]).toEqual({
      id: 'v1.0',
      min_version: '1.0',
      max_version: '1.39',
      status: 'CURRENT',
      links: [{ rel: 'self', href: '' }],
    });
  });
});

describe('microversion negotiation', () => {
  it('defaults to 1.0 and says so in both headers, with Vary', async () => {
    const res = await api.request('GET', '/');
    expect(res.headers.get('openstack-api-version')).toBe('placement 1.0');
    expect(res.headers.get('x-openstack-placement-api-version')).toBe('1.0');
    expect(res.headers.get('vary')).toMatch(/openstack-api-version/);
  });

  it('answers latest with the maximum', async () => {
    const res = await api.request('GET', '/', { version: 'latest' });
    expect(res.headers.get('openstack-api-version')).toBe('placement 1.39');
  });

  it('accepts the legacy header', async () => {
    const res = await api.request('GET', '/', { headers: { 'x-openstack-placement-api-version': '1.12' } });
    expect(res.headers.get('openstack-api-version')).toBe('placement 1.12');
  });

  it('compares versions numerically', async () => {
    const res = await api.request('GET', '/', { version: '1.10' });
    expect(res.headers.get('openstack-api-version')).toBe('placement 1.10');
  });

  it.each(['pony.horse', '1.2.3', '1', 'one'])('rejects malformed version %s with 400', async (version) => {
    const res = await api.request('GET', '/', { version });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].title).toBe('Bad Request');
    expect(res.body.errors[0].detail).toContain(`invalid version string: ${version}`);
  });

  it.each(['0.5', '1.40', '2.0'])(
    'rejects unavailable version %s with 406 and the supported range',
    async (version) => {
      const res = await api.request('GET', '/', { version });
      expect(res.status).toBe(406);
      expect(res.body.errors[0]).toMatchObject({ title: 'Not Acceptable', min_version: '1.0', max_version: '1.39' });
      expect(res.body.errors[0].detail).toContain(`Unacceptable version header: ${version}`);
    },
  );
});

describe('errors', () => {
  it('renders an unknown path as 404 with a request id and no code before 1.23', async () => {
    const res = await api.request('GET', '/barnabas');
    expect(res.status).toBe(404);
    expect(res.body.errors[0].title).toBe('Not Found');
    expect(res.body.errors[0].request_id).toMatch(/^req-[a-f0-9-]+$/);
    expect(res.body.errors[0].request_id).toBe(res.headers.get('openstack-request-id'));
    expect(res.body.errors[0]).not.toHaveProperty('code');
  });

  it('adds the default code from 1.23', async () => {
    const res = await api.request('GET', '/barnabas', { version: '1.23' });
    expect(res.body.errors[0].code).toBe('placement.undefined_code');
  });

  it('answers a known path with an unknown method with 405 and Allow', async () => {
    const res = await api.request('DELETE', '/resource_providers');
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, POST');
    expect(res.body.errors[0].detail).toContain('The method DELETE is not allowed for this resource.');
  });

  it('answers 405 at the root for DELETE', async () => {
    const res = await api.request('DELETE', '/');
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET');
  });

  it('treats a method before its microversion as Placement does (404, or 405 for DELETE inventories)', async () => {
    expect((await api.request('GET', '/traits', { version: '1.5' })).status).toBe(404);
    const res = await api.request('DELETE', '/resource_providers/5c3bbcb1-ee6f-4a73-9fcd-3d7e9b1f3bc6/inventories', {
      version: '1.4',
    });
    expect(res.status).toBe(405);
  });

  it('refuses a non-JSON body with 415', async () => {
    const res = await api.request('POST', '/resource_providers', {
      rawBody: '<x/>',
      headers: { 'content-type': 'application/xml' },
    });
    expect(res.status).toBe(415);
    expect(res.body.errors[0].detail).toContain(
      'The media type application/xml is not supported, use application/json',
    );
  });

  it('refuses malformed JSON with 400', async () => {
    const res = await api.request('POST', '/resource_providers', {
      rawBody: '{"name": ',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].detail).toContain('Malformed JSON');
  });

  it('refuses JSON nested deeper than 100 levels as malformed instead of overflowing the stack', async () => {
    const deep = (levels: number) => `{"name":${'['.repeat(levels - 1)}${']'.repeat(levels - 1)}}`;
    const tooDeep = await api.request('POST', '/resource_providers', {
      version: '1.39',
      rawBody: deep(20000),
      headers: { 'content-type': 'application/json' },
    });
    expect(tooDeep.status).toBe(400);
    expect(tooDeep.body.errors[0].detail).toContain('Malformed JSON: nested deeper than 100 levels');
    expect(tooDeep.body.errors[0].code).toBe('placement.undefined_code');
    // At the limit the body still reaches validation, which words the error as usual.
    const atLimit = await api.request('POST', '/resource_providers', {
      rawBody: deep(100),
      headers: { 'content-type': 'application/json' },
    });
    expect(atLimit.status).toBe(400);
    expect(atLimit.body.errors[0].detail).toContain('JSON does not validate: [[[');
    expect(Number((await api.database.db('resource_providers').count('* as n').first())!.n)).toBe(0);
  });

  it.each([
    ['the path', 'GET', '/resource_classes/CUSTOM_X%00', undefined],
    ['the query string', 'GET', '/resource_providers?name=x%00y', undefined],
    ['the JSON body', 'POST', '/resource_providers', '{"name": "x\\u0000y"}'],
  ])('refuses a NUL character in %s with 400, before PostgreSQL sees it', async (where, method, path, rawBody) => {
    const headers: Record<string, string> = rawBody ? { 'content-type': 'application/json' } : {};
    const res = await api.request(method, path, { version: '1.39', rawBody, headers });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].detail).toContain(
      `Invalid input: ${where} contains a NUL character (\\u0000), which cannot be stored.`,
    );
    expect(Number((await api.database.db('resource_providers').count('* as n').first())!.n)).toBe(0);
  });

  it('refuses a body without a content type with 400', async () => {
    const res = await api.request('POST', '/resource_providers', { rawBody: '{}' });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].detail).toContain('content-type header required');
  });

  it('refuses a body over the limit with 413', async () => {
    const big = JSON.stringify({ name: 'x'.repeat(api.config.bodyLimitBytes) });
    const res = await api.request('POST', '/resource_providers', {
      rawBody: big,
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(413);
  });

  it('answers 406 when the client will not accept JSON', async () => {
    const res = await api.request('GET', '/resource_providers', { headers: { accept: 'text/plain' } });
    expect(res.status).toBe(406);
  });
});

describe('response format', () => {
  it('labels JSON exactly application/json, as Placement clients compare the header', async () => {
    expect((await api.request('GET', '/')).headers.get('content-type')).toBe('application/json');
    expect((await api.request('GET', '/barnabas')).headers.get('content-type')).toBe('application/json');
  });

  it('marks the version document uncacheable from 1.15 only', async () => {
    const at115 = await api.request('GET', '/', { version: '1.15' });
    expect(at115.headers.get('cache-control')).toBe('no-cache');
    expect(Date.parse(at115.headers.get('last-modified') ?? '')).not.toBeNaN();
    expect((await api.request('GET', '/', { version: '1.14' })).headers.get('cache-control')).toBeNull();
  });

  it('renders errors as HTML to a client that accepts HTML but not JSON', async () => {
    const res = await api.request('GET', '/barnabas', { headers: { accept: 'text/html' } });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.text).toContain('404 Not Found');
  });

  it('checks Accept on reads only: a bad write body is still a 400', async () => {
    const res = await api.request('POST', '/resource_classes', {
      version: 'latest',
      headers: { accept: 'text/plain', 'content-type': 'application/json' },
      rawBody: '{"name": 1}',
    });
    expect(res.status).toBe(400);
  });
});

describe('requests the HTTP parser refuses', () => {
  it("answers a content-length that is not a number with 400 in Placement's words", async () => {
    const url = new URL(api.baseUrl);
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(Number(url.port), url.hostname, () => {
        socket.write(
          'POST /resource_providers HTTP/1.1\r\nhost: x\r\nx-auth-token: admin\r\ncontent-type: application/json\r\ncontent-length: hi mom\r\n\r\n{}',
        );
      });
      let text = '';
      socket.on('data', (chunk) => (text += chunk));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400/);
    expect(raw).toContain('content-length header must be an integer');
  });

  it('answers an oversized URL with 431 in the error format, not a bare status line', async () => {
    const res = await api.request('GET', `/resource_providers?name=${'x'.repeat(20000)}`);
    expect(res.status).toBe(431);
    expect(res.body.errors[0]).toMatchObject({ status: 431, title: 'Request Header Fields Too Large' });
  });
});

describe('authentication (noauth2)', () => {
  it('requires a token everywhere but the root', async () => {
    const res = await api.request('GET', '/resource_providers', { headers: { 'x-auth-token': '' } });
    expect(res.status).toBe(401);
    expect(res.body.errors[0].title).toBe('Unauthorized');
  });

  it('puts request ids on every response under both names', async () => {
    const res = await api.request('GET', '/');
    expect(res.headers.get('openstack-request-id')).toMatch(/^req-/);
    expect(res.headers.get('x-openstack-request-id')).toBe(res.headers.get('openstack-request-id'));
  });
});

describe('health', () => {
  it('reports the database reachable without a token', async () => {
    const res = await api.request('GET', '/healthz', { headers: { 'x-auth-token': '' } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok', database: 'reachable' });
  });
});

describe('health when the database is gone', () => {
  it('answers 503 instead of failing the request', async () => {
    const db = createDb('postgres://nobody@127.0.0.1:1/nothing', 1);
    const app = createApp({ db, config: loadConfig({}), logger: pino({ level: 'silent' }) });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const { port } = server.address() as { port: number };
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ status: 'unavailable', database: 'unreachable' });
    } finally {
      server.close();
      await db.destroy();
    }
  });
});
