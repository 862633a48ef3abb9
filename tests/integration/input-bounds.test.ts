import { rawExchange, rawRequest } from '../helpers/raw-http';
import { seedInventory, seedProvider, seedTraits, type SeedProvider } from '../helpers/seed';
import { startTestServer, type TestServer } from '../helpers/server';

/** Issue 9, input: nothing a client sends is silently dropped, replaced or reordered. */
let api: TestServer;
let strict: TestServer;
let avx: SeedProvider;
let plain: SeedProvider;

beforeAll(async () => {
  api = await startTestServer();
  strict = await startTestServer({
    EMPLACE_MAX_QUERY_PARAMETERS: '5',
    EMPLACE_HEADERS_TIMEOUT_MS: '500',
    EMPLACE_REQUEST_TIMEOUT_MS: '1000',
  });
  avx = await seedProvider(api.database.db, { name: 'avx' });
  plain = await seedProvider(api.database.db, { name: 'plain' });
  for (const rp of [avx, plain]) await seedInventory(api.database.db, rp, { VCPU: 8 });
  await seedTraits(api.database.db, avx, ['HW_CPU_X86_AVX']);
});
afterAll(async () => {
  await strict?.close();
  await api?.close();
});

describe('query parameters', () => {
  it('reads every parameter: a forbidden trait after 1000 others still applies', async () => {
    const query = ['resources=VCPU:1', ...Array(999).fill('limit=50'), 'required=!HW_CPU_X86_AVX'].join('&');
    const res = await api.at('1.39').get(`/allocation_candidates?${query}`);
    expect(res.status).toBe(200);
    expect(Object.keys(res.body.provider_summaries)).toEqual([plain.uuid]);
  });

  it('refuses more than EMPLACE_MAX_QUERY_PARAMETERS with 400 rather than truncating', async () => {
    const ok = await strict.at('1.39').get('/resource_providers?name=a&name=b&name=c&name=d&name=e');
    expect(ok.status).toBe(200);
    const res = await strict.at('1.39').get('/resource_providers?name=a&name=b&name=c&name=d&name=e&name=f');
    expect(res.status).toBe(400);
    expect(res.body.errors[0].detail).toContain('Invalid query string parameters: more than 5 parameters.');
  });
});

describe('invalid UTF-8', () => {
  it('in a query string is a 400, not a search for U+FFFD', async () => {
    const res = await api.at('1.39').get('/resource_providers?name=%FFavx');
    expect(res.status).toBe(400);
    expect(res.body.errors[0].detail).toContain('the query string is not valid UTF-8');
    expect((await api.at('1.39').get('/resource_providers?name=%C3%A9')).status).toBe(200);
  });

  it('in a path is a 400', async () => {
    const res = await api.at('1.39').put('/traits/CUSTOM_%FF');
    expect(res.status).toBe(400);
    expect(res.body.errors[0].detail).toContain('Invalid path: it is not valid UTF-8.');
    expect(await api.database.db('traits').where('name', 'like', 'CUSTOM_%').pluck('name')).toEqual([]);
  });

  it('in a body is a 400 Malformed JSON, as Placement, and nothing is stored', async () => {
    const body = Buffer.concat([Buffer.from('{"name": "bad'), Buffer.from([0xff]), Buffer.from('"}')]);
    const res = await fetch(`${api.baseUrl}/resource_providers/${plain.uuid}`, {
      method: 'PUT',
      headers: {
        'x-auth-token': 'admin',
        'openstack-api-version': 'placement 1.39',
        'content-type': 'application/json',
      },
      body,
    });
    expect(res.status).toBe(400);
    const detail = ((await res.json()) as any).errors[0].detail;
    expect(detail).toContain("Malformed JSON: 'utf-8' codec can't decode byte 0xff in position 13: invalid start byte");
    expect((await api.database.db('resource_providers').where({ id: plain.id }).first('name')).name).toBe('plain');
  });
});

describe('pipelined requests on one connection', () => {
  it('are processed in order: PUT /traits/X then GET /traits/X finds it, every time', async () => {
    for (let i = 0; i < 20; i++) {
      const name = `CUSTOM_PIPELINED_${i}`;
      const { responses } = await rawExchange(
        api.baseUrl,
        [rawRequest('PUT', `/traits/${name}`) + rawRequest('GET', `/traits/${name}`)],
        { expect: 2 },
      );
      expect(responses.map((r) => r.status)).toEqual([201, 204]);
    }
  });

  it('a junk request after a valid one still gets the valid one answered, then a 400', async () => {
    const { responses, closed } = await rawExchange(api.baseUrl, [
      rawRequest('GET', '/resource_providers') + 'NOT HTTP AT ALL\r\n\r\n',
    ]);
    expect(responses.map((r) => r.status)).toEqual([200, 400]);
    expect(JSON.parse(responses[0].body).resource_providers).toHaveLength(2);
    expect(closed).toBe(true);
  });
});

describe('slow clients', () => {
  it('headers that do not arrive within EMPLACE_HEADERS_TIMEOUT_MS get 408 and the connection closes', async () => {
    const { responses, closed, ms } = await rawExchange(strict.baseUrl, ['GET / HTTP/1.1\r\nHost: x\r\n'], {
      timeoutMs: 10_000,
    });
    expect(responses.map((r) => r.status)).toEqual([408]);
    expect(JSON.parse(responses[0].body).errors[0]).toMatchObject({ status: 408, title: 'Request Timeout' });
    expect(closed).toBe(true);
    expect(ms).toBeLessThan(8_000);
  });

  it('headers dribbled byte by byte are cut too', async () => {
    const dribble = [...'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: yes\r\n\r\n'];
    const { responses } = await rawExchange(strict.baseUrl, dribble, { gapMs: 100, timeoutMs: 10_000 });
    expect(responses[0]?.status).toBe(408);
  });

  it('a body that does not arrive within EMPLACE_REQUEST_TIMEOUT_MS gets 408', async () => {
    const head = rawRequest('PUT', '/traits/CUSTOM_SLOW').replace('Content-Length: 0', 'Content-Length: 100');
    const { responses, closed, ms } = await rawExchange(strict.baseUrl, [head, '{"a'], { timeoutMs: 10_000 });
    expect(responses.map((r) => r.status)).toEqual([408]);
    expect(closed).toBe(true);
    expect(ms).toBeLessThan(8_000);
  });
});
