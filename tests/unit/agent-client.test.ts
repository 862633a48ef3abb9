import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { staticToken, type TokenSource } from '../../src/agent/auth';
import {
  backoffDelay,
  parseRetryAfter,
  PlacementClient,
  PlacementError,
  ServiceUnavailableError,
} from '../../src/agent/client';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
let server: Server;
let url: string;
let handler: Handler;
const seen: Array<{ method?: string; url?: string; headers: IncomingMessage['headers'] }> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({ method: req.method, url: req.url, headers: req.headers });
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  seen.length = 0;
});

const client = (sleeps: number[], retries = 3) =>
  new PlacementClient({
    url,
    tokens: staticToken('secret'),
    retries,
    backoffBaseMs: 100,
    backoffCapMs: 1000,
    timeoutMs: 2000,
    sleep: async (ms) => void sleeps.push(ms),
    random: () => 1,
  });

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};

describe('backoff', () => {
  it('doubles up to the cap, jittered between half and the full delay', () => {
    expect([0, 1, 2, 3, 10].map((n) => backoffDelay(n, 100, 1000, () => 1))).toEqual([100, 200, 400, 800, 1000]);
    expect(backoffDelay(2, 100, 1000, () => 0)).toBe(200);
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('7')).toBe(7000);
    expect(parseRetryAfter(new Date(10_000 + 3000).toUTCString(), 10_000)).toBe(3000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });
});

describe('placement client', () => {
  it('sends the microversion and token, and returns 4xx answers without retrying', async () => {
    handler = (_req, res) =>
      json(res, 404, { errors: [{ code: 'placement.resource_provider.not_found', detail: 'nope' }] });
    const sleeps: number[] = [];
    const reply = await client(sleeps).request('GET', '/resource_providers/x');
    expect(reply.status).toBe(404);
    expect(seen).toHaveLength(1);
    expect(seen[0].headers['openstack-api-version']).toBe('placement 1.39');
    expect(seen[0].headers['x-auth-token']).toBe('secret');
    expect(seen[0].headers['x-roles']).toBeUndefined();
    expect(sleeps).toEqual([]);
  });

  it('sends its roles as X-Roles when it has some (noauth2)', async () => {
    handler = (_req, res) => json(res, 200, {});
    const withRoles = new PlacementClient({
      url,
      tokens: staticToken('secret'),
      roles: ['admin', 'service'],
      retries: 0,
      backoffBaseMs: 1,
      backoffCapMs: 1,
      timeoutMs: 2000,
    });
    await withRoles.request('GET', '/');
    expect(seen[0].headers['x-roles']).toBe('admin,service');
  });

  it('retries 5xx with exponential backoff and succeeds when the service recovers', async () => {
    let calls = 0;
    handler = (_req, res) => (++calls < 3 ? json(res, 502, {}) : json(res, 200, { ok: true }));
    const sleeps: number[] = [];
    const reply = await client(sleeps).request('GET', '/');
    expect(reply.body).toEqual({ ok: true });
    expect(sleeps).toEqual([100, 200]);
  });

  it('honours Retry-After on 503', async () => {
    let calls = 0;
    handler = (_req, res) => (++calls === 1 ? json(res, 503, {}, { 'retry-after': '0' }) : json(res, 200, {}));
    const sleeps: number[] = [];
    await client(sleeps).request('GET', '/');
    expect(sleeps).toEqual([0]);
    calls = 0;
    handler = (_req, res) => (++calls === 1 ? json(res, 429, {}, { 'retry-after': '120' }) : json(res, 200, {}));
    const capped: number[] = [];
    await client(capped).request('GET', '/');
    expect(capped).toEqual([1000]); // capped at backoffCapMs
  });

  it('gives up after the bounded retries with a ServiceUnavailableError carrying Retry-After', async () => {
    handler = (_req, res) => json(res, 503, {}, { 'retry-after': '5' });
    const sleeps: number[] = [];
    const failure = client(sleeps, 2).request('GET', '/');
    await expect(failure).rejects.toBeInstanceOf(ServiceUnavailableError);
    await expect(failure).rejects.toMatchObject({ retryAfterMs: 5000 });
    expect(seen).toHaveLength(3);
  });

  it('treats a refused connection as transient', async () => {
    const dead = new PlacementClient({
      url: 'http://127.0.0.1:1',
      tokens: staticToken('t'),
      retries: 1,
      backoffBaseMs: 1,
      backoffCapMs: 1,
      timeoutMs: 500,
      sleep: async () => undefined,
    });
    await expect(dead.request('GET', '/')).rejects.toThrow(/ECONNREFUSED/);
  });

  it("turns unexpected 4xx into a PlacementError with Placement's code", async () => {
    handler = (_req, res) =>
      json(res, 409, { errors: [{ code: 'placement.concurrent_update', detail: 'generation conflict' }] });
    await expect(client([]).setTraits('u', 1, [])).rejects.toEqual(
      expect.objectContaining({ status: 409, code: 'placement.concurrent_update' }),
    );
    await expect(client([]).setTraits('u', 1, [])).rejects.toBeInstanceOf(PlacementError);
  });

  it('asks for a fresh token once after a 401, and gives the 401 back if that fails too', async () => {
    const issued: string[] = [];
    let invalidations = 0;
    const tokens: TokenSource = {
      description: 'test tokens',
      token: async () => {
        issued.push(`t${invalidations}`);
        return `t${invalidations}`;
      },
      invalidate: () => void invalidations++,
    };
    handler = (req, res) => (req.headers['x-auth-token'] === 't1' ? json(res, 200, { ok: 1 }) : json(res, 401, {}));
    const c = new PlacementClient({ url, tokens, retries: 0, backoffBaseMs: 1, backoffCapMs: 1, timeoutMs: 2000 });
    expect((await c.request('GET', '/')).status).toBe(200);
    expect(seen.map((s) => s.headers['x-auth-token'])).toEqual(['t0', 't1']);
    seen.length = 0;
    handler = (_req, res) => json(res, 401, {});
    expect((await c.request('GET', '/')).status).toBe(401);
    expect(seen).toHaveLength(2);
    expect(invalidations).toBe(2);
  });
});
