import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../src/db/embedded';
import { childrenOf, postmasterPid } from '../../src/db/postmaster';
import { buildService, freePort, startService, type ServiceProcess } from '../helpers/service-process';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy';

/**
 * The compiled service under a running claim load while the PostgreSQL it uses is stopped, killed
 * with SIGKILL, frozen with SIGSTOP, and switched over (every connection cut, new ones refused, at
 * a TCP proxy in between). Afterwards: every acknowledged claim is stored whole, none is
 * half-written, no provider is over capacity, and every request during a fault failed fast with 503
 * + Retry-After, never a 500 and never a hang. A few seconds of load per fault: the suite runs 3x.
 */

const STATEMENT_TIMEOUT_MS = 1500;
/** Acquire (2 s) + the client's read timeout (statement + 1 s) + slack for a loaded machine. */
const FAIL_FAST_BOUND_MS = 7_000;
const PROVIDERS = 3;
// Six clients hold up to nine claims each: more than fits, so capacity refusals (409) happen during faults too.
const VCPU_PER_PROVIDER = 15;

let scratch: string;
let dataDir: string;
let pgPort: number;
let pg: EmbeddedServer;
let proxy: TcpProxy;
let service: ServiceProcess;
let base: string;
const providers: string[] = [];

beforeAll(async () => {
  buildService();
  scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'emplace-faults-'));
  dataDir = path.join(scratch, 'pg');
  pgPort = await freePort();
  // Durable (no `fast`): with synchronous_commit off a SIGKILL loses acknowledged commits, which the audit catches.
  pg = await startEmbeddedPostgres({ dataDir, port: pgPort });
  await sql(pg.url(), 'CREATE DATABASE emplace');
  proxy = await startTcpProxy('127.0.0.1', pgPort);
  service = await startService({
    DATABASE_URL: proxy.url(pg.url('emplace')),
    EMPLACE_DB_CONNECT_TIMEOUT_MS: '1000',
    EMPLACE_DB_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS),
    EMPLACE_DB_ACQUIRE_TIMEOUT_MS: '2000',
    EMPLACE_LOG_LEVEL: 'warn',
  });
  await service.ready();
  base = `http://127.0.0.1:${service.port}`;
  for (let i = 0; i < PROVIDERS; i++) {
    const uuid = randomUUID();
    expect((await call('POST', '/resource_providers', { name: `fault-host-${i}`, uuid })).status).toBe(200);
    const inventories = { VCPU: { total: VCPU_PER_PROVIDER }, MEMORY_MB: { total: VCPU_PER_PROVIDER * 64 } };
    const res = await call('PUT', `/resource_providers/${uuid}/inventories`, {
      resource_provider_generation: 0,
      inventories,
    });
    expect(res.status).toBe(200);
    providers.push(uuid);
  }
}, 240_000);

afterAll(async () => {
  if (service) expect((await service.stop()).code).toBe(0);
  await proxy?.close();
  await pg?.stop();
  await fs.rm(scratch, { recursive: true, force: true });
}, 60_000);

async function sql(url: string, text: string): Promise<any[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text)).rows;
  } finally {
    await client.end();
  }
}

async function call(method: string, route: string, body?: unknown) {
  const res = await fetch(`${base}${route}`, {
    method,
    headers: {
      'x-auth-token': 'admin',
      'openstack-api-version': 'placement 1.39',
      'content-type': 'application/json',
      accept: 'application/json',
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), text: await res.text() };
}

interface Outcome {
  status: number;
  ms: number;
  retryAfter: string | null;
  text: string;
}

/** Claims and releases from several clients until stopped; what the service acknowledged is recorded. */
function runLoad(clients = 6) {
  const acknowledged = new Map<string, string>(); // consumer -> provider
  const uncertain = new Set<string>(); // a claim or release that was not acknowledged either way
  const outcomes: Outcome[] = [];
  let running = true;
  const timed = async (method: string, route: string, body?: unknown) => {
    const started = Date.now();
    try {
      const res = await call(method, route, body);
      outcomes.push({ ...res, ms: Date.now() - started });
      return res.status;
    } catch (error) {
      // The service itself must never stop answering.
      outcomes.push({ status: 0, ms: Date.now() - started, retryAfter: null, text: String(error) });
      return 0;
    }
  };
  const client = async (index: number) => {
    const mine: string[] = [];
    while (running) {
      if (mine.length > 8) {
        const consumer = mine.shift()!;
        const status = await timed('DELETE', `/allocations/${consumer}`);
        if (status === 204) acknowledged.delete(consumer);
        else uncertain.add(consumer);
        continue;
      }
      const consumer = randomUUID();
      const provider = providers[(index + mine.length) % providers.length];
      const status = await timed('PUT', `/allocations/${consumer}`, {
        allocations: { [provider]: { resources: { VCPU: 1, MEMORY_MB: 64 } } },
        project_id: 'fault-project',
        user_id: 'fault-user',
        consumer_generation: null,
        consumer_type: 'INSTANCE',
      });
      if (status === 204) {
        acknowledged.set(consumer, provider);
        mine.push(consumer);
      } else if (status !== 409) {
        uncertain.add(consumer);
      }
    }
  };
  const done = Promise.all(Array.from({ length: clients }, (_, i) => client(i)));
  return {
    acknowledged,
    uncertain,
    outcomes,
    stop: async () => {
      running = false;
      await done;
    },
  };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function healthyWithin(ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const res = await fetch(`${base}/healthz`).catch(() => undefined);
    if (res?.status === 200) return;
    await pause(100);
  }
  throw new Error(`service not healthy again within ${ms} ms:\n${service.output()}`);
}

/** Every acknowledged claim stored whole; nothing half-written; no provider over capacity. */
async function audit(load: ReturnType<typeof runLoad>): Promise<void> {
  const url = pg.url('emplace');
  const rows = await sql(
    url,
    `SELECT c.uuid::text AS consumer, p.uuid::text AS provider, rc.name AS class, a.used
       FROM consumers c
       LEFT JOIN allocations a ON a.consumer_id = c.id
       LEFT JOIN resource_providers p ON p.id = a.resource_provider_id
       LEFT JOIN resource_classes rc ON rc.id = a.resource_class_id`,
  );
  const stored = new Map<string, string[]>();
  for (const row of rows)
    stored.set(row.consumer, [...(stored.get(row.consumer) ?? []), `${row.provider}:${row.class}:${row.used}`]);
  for (const [consumer, provider] of load.acknowledged) {
    expect([consumer, (stored.get(consumer) ?? []).sort()]).toEqual([
      consumer,
      [`${provider}:MEMORY_MB:64`, `${provider}:VCPU:1`],
    ]);
  }
  for (const [consumer, parts] of stored) {
    // Whole or absent: both classes of one claim, on one provider, or no consumer at all.
    expect([consumer, parts.length]).toEqual([consumer, 2]);
  }
  const over = await sql(
    url,
    `SELECT i.resource_provider_id, i.resource_class_id, i.total, SUM(a.used) AS used
       FROM inventories i JOIN allocations a
         ON a.resource_provider_id = i.resource_provider_id AND a.resource_class_id = i.resource_class_id
      GROUP BY i.id HAVING SUM(a.used) > (i.total - i.reserved) * i.allocation_ratio`,
  );
  expect(over).toEqual([]);
  // Unacknowledged writes may have landed or not; acknowledged ones are all present (above).
  expect(load.acknowledged.size).toBeGreaterThan(0);
}

/** During faults: only 2xx, 409 (capacity) or a fast 503 with Retry-After; never a 500, a hang or a refused connection. */
function expectFailedFast(outcomes: Outcome[]): void {
  const bad = outcomes.filter(
    (o) => !(o.status === 204 || o.status === 409 || (o.status === 503 && o.retryAfter === '2')),
  );
  expect(bad.slice(0, 3)).toEqual([]);
  expect(Math.max(...outcomes.map((o) => o.ms))).toBeLessThan(FAIL_FAST_BOUND_MS);
}

it.each([
  [
    'stopped (fast shutdown), then started again',
    async () => {
      await pg.stop();
      await pause(2_000);
      pg = await startEmbeddedPostgres({ dataDir, port: pgPort });
    },
  ],
  [
    'killed with SIGKILL (its watcher starts it again after crash recovery)',
    async () => {
      const pid = (await postmasterPid(dataDir))!;
      process.kill(pid, 'SIGKILL');
      await pause(2_000);
    },
  ],
  [
    'frozen with SIGSTOP for 3 s, then SIGCONT',
    async () => {
      const pid = (await postmasterPid(dataDir))!;
      const all = [pid, ...(await childrenOf(pid))];
      for (const each of all) process.kill(each, 'SIGSTOP');
      await pause(3_000);
      for (const each of all) process.kill(each, 'SIGCONT');
    },
  ],
  [
    'switched over: every connection cut and new ones refused for 3 s (TCP proxy)',
    async () => {
      proxy.cut();
      await pause(3_000);
      proxy.restore();
    },
  ],
])(
  'database %s: the service keeps answering, fails fast with 503, comes back by itself, and loses no acknowledged claim',
  async (_name, fault) => {
    const load = runLoad();
    await pause(700);
    const before = load.outcomes.length;
    await fault();
    await healthyWithin(30_000);
    await pause(700);
    await load.stop();
    expect(load.outcomes.length).toBeGreaterThan(before);
    expect(load.outcomes.filter((o) => o.status === 204).length).toBeGreaterThan(0);
    expect(load.outcomes.some((o) => o.status === 503)).toBe(true);
    expectFailedFast(load.outcomes);
    await audit(load);
    // Release everything, so the next fault starts below capacity again.
    const leftovers = [...load.acknowledged.keys(), ...load.uncertain];
    // A few at a time: a hundred at once would wait on the pool past its 2 s acquire timeout.
    for (let i = 0; i < leftovers.length; i += 6) {
      const batch = leftovers.slice(i, i + 6).map((consumer) => call('DELETE', `/allocations/${consumer}`));
      for (const res of await Promise.all(batch)) expect([204, 404]).toContain(res.status);
    }
    if (process.env.EMPLACE_FAULT_REPORT) {
      const count = (status: number) => load.outcomes.filter((o) => o.status === status).length;
      const slowest503 = Math.max(0, ...load.outcomes.filter((o) => o.status === 503).map((o) => o.ms));
      process.stderr.write(
        `fault report: ${_name}: ${load.outcomes.length} requests, 204=${count(204)} 409=${count(409)} 503=${count(503)}, slowest 503 ${slowest503} ms, slowest ${Math.max(...load.outcomes.map((o) => o.ms))} ms, acknowledged kept ${load.acknowledged.size}\n`,
      );
    }
  },
  90_000,
);
