import net from 'node:net';
import { startTestServer, type TestServer } from '../helpers/server';
import { granularVcpuQuery, seedWideCloud } from '../helpers/wide-cloud';

/**
 * A client that hangs up on a heavy GET /allocation_candidates (or the explain view, which runs the same
 * engine) stops the work: with no cap, generation would run on to the 10 s time budget, holding its
 * database connection. Observed through GET /metrics, not through timing: the request is counted as
 * abandoned (the engine threw at a pause, so it never finished), its connection goes back to the pool
 * (the transaction ended), and the client's socket received nothing.
 */
let api: TestServer;
const HEAVY = granularVcpuQuery(7);

beforeAll(async () => {
  api = await startTestServer({ EMPLACE_MAX_ALLOCATION_CANDIDATES: '-1', EMPLACE_CANDIDATES_TIME_BUDGET_MS: '10000' });
  await seedWideCloud(api.database.db, 200, 4);
});
afterAll(async () => {
  await api?.close();
});

/** One sample's value from the Prometheus text of GET /metrics (0 when the series does not exist yet). */
async function metric(series: string): Promise<number> {
  const res = await api.request('GET', '/metrics', { headers: { accept: 'text/plain' } });
  const line = res.text.split('\n').find((l: string) => l.startsWith(series + ' '));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

const POOL_USED = 'emplace_db_pool_connections{state="used"}';
const QUERIES = 'emplace_db_query_duration_seconds_count{outcome="ok"}';
const ENGINE_RUNS = 'emplace_allocation_candidates_duration_seconds_count';
const abandoned = (route: string) => `emplace_http_requests_abandoned_total{route="${route}",method="GET"}`;

/** Polls until `test` holds; the bound only ends a failing run (the fixed server gets there in milliseconds). */
async function eventually(test: () => Promise<boolean>, what: string, boundMs = 20_000): Promise<void> {
  const end = performance.now() + boundMs;
  while (!(await test())) {
    if (performance.now() > end) throw new Error(`still not ${what} after ${boundMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Sends the GET on a bare socket, waits until it has asked its one statement (the read model's check; the
 * walk after it holds no connection) and 200 ms more, then hangs up: without a cap the walk runs on to the
 * 10 s time budget.
 */
async function hangUpDuring(path: string): Promise<() => number> {
  const { port } = new URL(api.baseUrl);
  const queriesBefore = await metric(QUERIES);
  const socket = net.connect(Number(port), '127.0.0.1');
  let received = 0;
  socket.on('data', (data) => (received += data.length));
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(
    `GET ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\nx-auth-token: admin\r\nopenstack-api-version: placement 1.39\r\n\r\n`,
  );
  await eventually(async () => (await metric(QUERIES)) > queriesBefore, 'generating');
  await new Promise((resolve) => setTimeout(resolve, 200));
  socket.destroy();
  return () => received;
}

describe('a client that hangs up on a heavy query', () => {
  it('stops GET /allocation_candidates: counted as abandoned, transaction ended, nothing written', async () => {
    const route = '/allocation_candidates';
    const before = { abandoned: await metric(abandoned(route)), runs: await metric(ENGINE_RUNS) };
    const received = await hangUpDuring(`${route}?${HEAVY}`);
    await eventually(async () => (await metric(abandoned(route))) === before.abandoned + 1, 'counted as abandoned');
    await eventually(async () => (await metric(POOL_USED)) === 0, 'back in the pool');
    // The engine never finished (it would have been observed), and no byte reached the client.
    expect(await metric(ENGINE_RUNS)).toBe(before.runs);
    expect(received()).toBe(0);
    // The service answers the next request as usual.
    const next = await api.at('1.39').get(`${route}?${HEAVY}&limit=2`);
    expect(next.status).toBe(200);
    expect(next.body.allocation_requests).toHaveLength(2);
  });

  it('stops GET /emplace/explain/allocation_candidates the same way', async () => {
    const route = '/emplace/explain/allocation_candidates';
    const before = await metric(abandoned(route));
    const received = await hangUpDuring(`${route}?${HEAVY}`);
    await eventually(async () => (await metric(abandoned(route))) === before + 1, 'counted as abandoned');
    await eventually(async () => (await metric(POOL_USED)) === 0, 'back in the pool');
    expect(received()).toBe(0);
  });
});
