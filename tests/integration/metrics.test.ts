import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { ensureDebianTool } from '../helpers/debian-tools';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * GET /metrics after real requests: the text passes Prometheus' own parser and linter (promtool,
 * Debian's prometheus package), and the series carry route templates, never raw URLs.
 */

let api: TestServer;
let promtool: string;
beforeAll(async () => {
  promtool = ensureDebianTool('/usr/bin/promtool', 'prometheus');
  api = await startTestServer({ EMPLACE_MAX_ALLOCATION_CANDIDATES: '1' });
}, 20 * 60_000);
afterAll(async () => {
  await api?.close();
});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Samples of the exposition text (promtool has already checked its syntax). */
function samples(text: string): Sample[] {
  const found: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key] = value;
    found.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return found;
}

function find(all: Sample[], name: string, labels: Record<string, string> = {}): Sample[] {
  return all.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

async function scrape(): Promise<{ text: string; all: Sample[] }> {
  // What Prometheus sends.
  const accept = 'application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.2,*/*;q=0.1';
  const res = await api.request('GET', '/metrics', { headers: { accept } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  // promtool exits 1 when the text does not parse, 3 when it parses with lint findings: prom-client's
  // own nodejs_active_*_total gauges draw some; ours must draw none.
  const check = spawnSync(promtool, ['check', 'metrics'], { input: res.text, encoding: 'utf8' });
  expect([0, 3]).toContain(check.status);
  const findings = (check.stdout + check.stderr).split('\n').filter(Boolean);
  expect(findings.filter((line) => !/^nodejs_active_\w+_total non-counter metrics/.test(line))).toEqual([]);
  return { text: res.text, all: samples(res.text) };
}

async function host(): Promise<string> {
  const uuid = randomUUID();
  const v = api.at('1.39');
  expect((await v.post('/resource_providers', { name: `metrics-${uuid}`, uuid })).status).toBe(200);
  const inventories = { VCPU: { total: 8 }, MEMORY_MB: { total: 4096 } };
  expect(
    (await v.put(`/resource_providers/${uuid}/inventories`, { resource_provider_generation: 0, inventories })).status,
  ).toBe(200);
  return uuid;
}

it('counts requests by route template, method, status and microversion, with latency histograms', async () => {
  const uuid = await host();
  await host();
  expect((await api.at('1.39').get(`/resource_providers/${uuid}`)).status).toBe(200);
  expect((await api.at('1.39').get(`/resource_providers/${randomUUID()}`)).status).toBe(404);
  expect((await api.request('GET', '/no/such/path')).status).toBe(404);

  const { text, all } = await scrape();
  const show = { route: '/resource_providers/{uuid}', method: 'GET' };
  expect(find(all, 'emplace_http_requests_total', { ...show, status: '200', microversion: '1.39' })[0]?.value).toBe(1);
  expect(find(all, 'emplace_http_requests_total', { ...show, status: '404', microversion: '1.39' })[0]?.value).toBe(1);
  expect(find(all, 'emplace_http_requests_total', { route: 'unmatched', status: '404' })).toHaveLength(1);
  expect(find(all, 'emplace_http_request_duration_seconds_count', { ...show, status: '200' })[0]?.value).toBe(1);
  expect(
    find(all, 'emplace_http_request_duration_seconds_bucket', { ...show, status: '200', le: '+Inf' }),
  ).toHaveLength(1);
  // No uuid, and no raw path, ever becomes a label value.
  expect(text).not.toContain(uuid);
  expect(text).not.toContain('/no/such/path');
});

it('reports allocation-candidates time, candidate and summary counts, and cap hits', async () => {
  const res = await api.at('1.39').get('/allocation_candidates?resources=VCPU:1');
  expect(res.status).toBe(200);
  expect(res.body.allocation_requests).toHaveLength(1);
  const { all } = await scrape();
  expect(find(all, 'emplace_allocation_candidates_duration_seconds_count')[0]?.value).toBe(1);
  expect(find(all, 'emplace_allocation_candidates_returned_sum')[0]?.value).toBe(1);
  expect(find(all, 'emplace_allocation_candidates_provider_summaries_sum')[0]?.value).toBe(1);
  // Two hosts fit and EMPLACE_MAX_ALLOCATION_CANDIDATES=1 stopped the engine at one.
  expect(find(all, 'emplace_allocation_candidates_cap_hits_total')[0]?.value).toBe(1);
});

it('counts 409 concurrent_update answers by route, and 401s by reason', async () => {
  const uuid = await host();
  const stale = await api.at('1.39').put(`/resource_providers/${uuid}/inventories`, {
    resource_provider_generation: 0,
    inventories: { VCPU: { total: 4 } },
  });
  expect(stale.status).toBe(409);
  expect(stale.body.errors[0].code).toBe('placement.concurrent_update');
  const anonymous = await api.request('GET', '/resource_providers', { headers: { 'x-auth-token': '' } });
  expect(anonymous.status).toBe(401);

  const { all } = await scrape();
  const conflicts = find(all, 'emplace_concurrent_update_conflicts_total', {
    route: '/resource_providers/{uuid}/inventories',
    method: 'PUT',
  });
  expect(conflicts[0]?.value).toBe(1);
  expect(find(all, 'emplace_auth_failures_total', { reason: 'missing_token' })[0]?.value).toBeGreaterThanOrEqual(1);
  expect(find(all, 'emplace_allocation_retries_total')).toHaveLength(1);
});

it('reports the database pool, query latency, and process and event-loop metrics', async () => {
  const { all } = await scrape();
  expect(find(all, 'emplace_db_pool_max')[0]?.value).toBeGreaterThanOrEqual(10);
  expect(find(all, 'emplace_db_pool_connections', { state: 'used' })).toHaveLength(1);
  expect(find(all, 'emplace_db_pool_connections', { state: 'free' })[0]?.value).toBeGreaterThanOrEqual(1);
  expect(find(all, 'emplace_db_pool_waiting_acquires')).toHaveLength(1);
  expect(find(all, 'emplace_db_query_duration_seconds_count', { outcome: 'ok' })[0]?.value).toBeGreaterThan(5);
  expect(find(all, 'process_cpu_seconds_total')).toHaveLength(1);
  expect(find(all, 'nodejs_eventloop_lag_p99_seconds')).toHaveLength(1);
  expect(find(all, 'process_resident_memory_bytes')[0]?.value).toBeGreaterThan(0);
});

it('is behind emplace:metrics:show, admin only by default', async () => {
  const reader = await api.request('GET', '/metrics', {
    headers: { 'x-auth-token': 'someone', 'x-roles': 'reader', accept: '*/*' },
  });
  expect(reader.status).toBe(403);
  expect(String(reader.body.errors[0].detail)).toContain('emplace:metrics:show');
  expect((await api.request('GET', '/metrics', { headers: { 'x-auth-token': '', accept: '*/*' } })).status).toBe(401);
});

it('with EMPLACE_METRICS_LISTEN set, the API port does not serve it', async () => {
  const other = await startTestServer({ EMPLACE_METRICS_LISTEN: '127.0.0.1:0' });
  try {
    expect((await other.request('GET', '/metrics', { headers: { accept: '*/*' } })).status).toBe(404);
  } finally {
    await other.close();
  }
});
