import { startAppInstance, startTestServer, type AppInstance, type TestServer } from '../helpers/server';
import { granularVcpuQuery, seedWideCloud } from '../helpers/wide-cloud';

/**
 * Issue 9: 200 roots x 4 NUMA children and seven granular VCPU groups is 4^7 candidates per root,
 * 3.3 million in all, which once ran the process out of heap while `GET /` waited seconds. Now the
 * default cap bounds the answer, a time budget bounds the wait, and generation yields the event loop.
 */
let api: TestServer;
let uncapped: AppInstance;
const SEVEN_GROUPS = '/allocation_candidates?' + granularVcpuQuery(7);

beforeAll(async () => {
  api = await startTestServer();
  await seedWideCloud(api.database.db, 200, 4);
  uncapped = await startAppInstance(
    api.database,
    { EMPLACE_MAX_ALLOCATION_CANDIDATES: '-1', EMPLACE_CANDIDATES_TIME_BUDGET_MS: '1000' },
    2,
  );
});
afterAll(async () => {
  await uncapped?.close();
  await api?.close();
});

/** Runs `heavy` while sending `GET /` one after another; the latencies of those seen meanwhile, sorted. */
async function rootLatenciesDuring<T>(baseUrl: string, heavy: () => Promise<T>): Promise<{ result: T; ms: number[] }> {
  let done = false;
  const ms: number[] = [];
  const pinger = (async () => {
    while (!done) {
      const start = performance.now();
      const res = await fetch(baseUrl + '/');
      await res.text();
      ms.push(performance.now() - start);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  })();
  const result = await heavy().finally(() => (done = true));
  await pinger;
  return { result, ms: ms.sort((a, b) => a - b) };
}

const p99 = (sorted: number[]) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))];

/**
 * A bound, not a benchmark. On a busy machine (CI runs test files in parallel) any process that works
 * hard waits for a CPU, and `GET /` with it, however well the work is sliced. So the reference is the
 * same process doing ideally cooperative work (5 ms bursts, then a turn of the event loop) for as long
 * as the heavy request took: the bound is that the heavy request adds under 50 ms to `GET /`'s p99
 * over that. It passes when any of three runs holds it; before the fix every run stalled `GET /` for
 * seconds (or the process died).
 */
async function sevenGroupsWhileResponsive(baseUrl: string): Promise<{ status: number; body: any; ms: number }> {
  const excess: number[] = [];
  let answer = { status: 0, text: '', ms: 0 };
  for (let attempt = 0; attempt < 3; attempt++) {
    const busy = await rootLatenciesDuring(baseUrl, () => sevenGroups(baseUrl));
    answer = busy.result;
    const reference = await rootLatenciesDuring(baseUrl, () => cooperativeWork(Math.max(answer.ms, 500)));
    expect(busy.ms.length).toBeGreaterThan(0);
    excess.push(p99(busy.ms) - p99(reference.ms));
    if (excess.at(-1)! < 50) break;
  }
  expect(Math.min(...excess)).toBeLessThan(50);
  return { status: answer.status, body: JSON.parse(answer.text), ms: answer.ms };
}

/**
 * CPU work that yields the event loop every 5 ms, for `ms` milliseconds, retaining about 50 MiB of
 * small objects as it goes (what a capped answer holds), so the garbage collector's share of the
 * pauses is in the reference too.
 */
async function cooperativeWork(ms: number): Promise<void> {
  const start = performance.now();
  const retained: object[] = [];
  const target = 50 * 1024; // objects of about 1 KiB
  while (performance.now() < start + ms) {
    const burst = performance.now() + 5;
    const due = Math.min(target, Math.ceil((target * (performance.now() - start)) / ms));
    while (performance.now() < burst) {
      if (retained.length < due) retained.push({ n: retained.length, pad: Array.from({ length: 120 }, (_, i) => i) });
      else Math.sqrt(Math.random());
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  retained.length = 0;
}

/**
 * The heavy request, its body kept as text: parsing megabytes of JSON here, in the process that also
 * runs the server, would stall the `GET /` loop and be blamed on the server.
 */
async function sevenGroups(baseUrl: string): Promise<{ status: number; text: string; ms: number }> {
  const started = performance.now();
  const res = await fetch(baseUrl + SEVEN_GROUPS, {
    headers: { 'x-auth-token': 'admin', 'openstack-api-version': 'placement 1.39' },
  });
  const text = await res.text();
  return { status: res.status, text, ms: performance.now() - started };
}

describe('the seven-group query on 200 roots x 4 children', () => {
  it('is answered with the default cap of 10 000 candidates while GET / stays quick', async () => {
    const res = await sevenGroupsWhileResponsive(api.baseUrl);
    expect(res.status).toBe(200);
    expect(res.body.allocation_requests).toHaveLength(10_000);
  });

  it('with no cap is refused with 503 in Placement error format once over its time budget, GET / still quick', async () => {
    const res = await sevenGroupsWhileResponsive(uncapped.baseUrl);
    expect(res.status).toBe(503);
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors[0]).toMatchObject({
      status: 503,
      title: 'Service Unavailable',
      code: 'placement.undefined_code',
    });
    expect(res.body.errors[0].detail).toContain('could not be generated within 1000 ms');
    // The budget ends the work: the answer comes soon after it, not when generation would have finished.
    expect(res.ms).toBeLessThan(20_000);
    // The process is alive and answers the next request.
    expect((await uncapped.at('1.39').get('/allocation_candidates?' + granularVcpuQuery(7) + '&limit=2')).status).toBe(
      200,
    );
  });

  it('still honours limit below the cap, in generation order', async () => {
    const limited = await api.at('1.39').get(SEVEN_GROUPS + '&limit=5');
    expect(limited.status).toBe(200);
    expect(limited.body.allocation_requests).toHaveLength(5);
    const capped = await api.at('1.39').get(SEVEN_GROUPS + '&limit=20000');
    expect(capped.body.allocation_requests).toHaveLength(10_000);
    expect(capped.body.allocation_requests.slice(0, 5)).toEqual(limited.body.allocation_requests);
  });
});
