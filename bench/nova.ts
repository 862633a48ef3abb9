import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { createDb, DEFAULT_DB_TIMEOUTS, type Db } from '../src/db/knex';
import { aggregateUuid, seedNovaCloud } from './nova-cloud';
import { createScratchDatabase, request, serveProcess, type ServedProcess } from './support';

/**
 * Issue 14's bench: the nova-shaped cloud (bench/nova-cloud.ts) at each size, the scheduler's queries
 * timed over real HTTP against the real app (p50/p95, requests/s), then the claim loop nova runs.
 * Prints figures; fails only when the capacity audit finds a provider over capacity.
 */

const HEADERS = { 'openstack-api-version': 'placement 1.39', 'x-auth-token': 'admin', accept: 'application/json' };
const PLAIN = 'resources=VCPU:2,MEMORY_MB:4096,DISK_GB:20';
const SEV = 'resources=VCPU:2,MEMORY_MB:4096,MEM_ENCRYPTION_CONTEXT:1&required=HW_CPU_X86_AMD_SEV';

interface Shape {
  name: string;
  path: string;
  clients?: number;
  /** Only at these sizes and above / below. */
  minHosts?: number;
  maxHosts?: number;
}

export const SHAPES: Shape[] = [
  { name: 'plain limit=1000', path: `/allocation_candidates?${PLAIN}&limit=1000`, maxHosts: 10000 },
  {
    name: 'plain limit=1000, 8 clients',
    path: `/allocation_candidates?${PLAIN}&limit=1000`,
    clients: 8,
    maxHosts: 10000,
  },
  { name: 'SEV limit=10', path: `/allocation_candidates?${SEV}&limit=10` },
  { name: 'SEV limit=1000', path: `/allocation_candidates?${SEV}&limit=1000`, maxHosts: 10000 },
  {
    name: 'forbidden trait limit=1000',
    path: `/allocation_candidates?${PLAIN}&required=!COMPUTE_STATUS_DISABLED&limit=1000`,
    maxHosts: 10000,
  },
  {
    name: 'root_required limit=1000',
    path: `/allocation_candidates?${PLAIN}&root_required=HW_CPU_X86_AVX2,!COMPUTE_STATUS_DISABLED&limit=1000`,
    maxHosts: 10000,
  },
  {
    name: 'granular isolate limit=1000',
    path: '/allocation_candidates?resources1=VCPU:2,MEMORY_MB:2048&resources2=VCPU:2,MEMORY_MB:2048&group_policy=isolate&limit=1000',
    maxHosts: 10000,
  },
  {
    name: 'any-trait in: limit=1000',
    path: `/allocation_candidates?${PLAIN}&required=in:HW_CPU_X86_AVX512F,HW_CPU_X86_AMD_SEV&limit=1000`,
    maxHosts: 10000,
  },
  {
    name: 'member_of limit=1000',
    path: `/allocation_candidates?${PLAIN}&member_of=${aggregateUuid(1)}&limit=1000`,
    maxHosts: 10000,
  },
  {
    name: 'GET /resource_providers SEV (small)',
    path: '/resource_providers?resources=VCPU:2,MEMORY_MB:4096,MEM_ENCRYPTION_CONTEXT:1&required=HW_CPU_X86_AMD_SEV',
    maxHosts: 10000,
  },
  {
    name: 'GET /resource_providers AVX2,!DISABLED (large)',
    path: `/resource_providers?${PLAIN}&required=HW_CPU_X86_AVX2,!COMPUTE_STATUS_DISABLED`,
    maxHosts: 10000,
  },
];

interface Timing {
  count: number;
  p50: number;
  p95: number;
  rps: number;
  /** CPU per request in the service's processes and in PostgreSQL's backends: load-independent. */
  serviceCpuMs: number;
  pgCpuMs: number | undefined;
}

/**
 * CPU seconds used so far by the PostgreSQL backends of one database (children of the postmaster), read from
 * /proc; undefined when the server is not on this machine. Wall-clock figures on a shared 2-core machine
 * swing with the neighbours' load; CPU per request does not.
 */
class PgCpu {
  private constructor(
    private readonly postmaster: number | undefined,
    private readonly database: string,
  ) {}

  /** Counts the backends serving `db`'s database only: other databases on the server are someone else's work. */
  static async of(db: Db): Promise<PgCpu> {
    try {
      const result = await db.raw('SELECT pg_backend_pid() AS pid, current_database() AS name');
      const stat = fs.readFileSync(`/proc/${result.rows[0].pid}/stat`, 'utf8');
      return new PgCpu(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]), result.rows[0].name);
    } catch {
      return new PgCpu(undefined, '');
    }
  }

  /** Last ticks seen per backend: a pool connection closing mid-run keeps what it used. */
  private readonly seen = new Map<number, number>();

  seconds(): number | undefined {
    if (this.postmaster === undefined) return undefined;
    for (const entry of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        if (Number(fields[1]) !== this.postmaster) continue;
        if (!fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(` ${this.database} `)) continue;
        this.seen.set(Number(entry), Number(fields[11]) + Number(fields[12]));
      } catch {
        // the process ended between readdir and read
      }
    }
    let ticks = 0;
    for (const value of this.seen.values()) ticks += value;
    return ticks / 100; // USER_HZ is 100 on Linux
  }
}

async function get(baseUrl: string, path: string): Promise<number> {
  const response = await request(baseUrl, path, { headers: HEADERS });
  const body = JSON.parse(response.text) as { allocation_requests?: unknown[]; resource_providers?: unknown[] };
  if (response.status !== 200) throw new Error(`${path}: HTTP ${response.status} ${response.text}`);
  return (body.allocation_requests ?? body.resource_providers ?? []).length;
}

/** `clients` loops sending `path` for about `budgetMs` (at least 3 requests each, at most `max` in all). */
async function time(
  baseUrl: string,
  serviceCpu: () => number,
  pgCpu: PgCpu,
  path: string,
  clients: number,
  budgetMs: number,
  max: number,
): Promise<Timing> {
  // Warm-up: plans cached, the service's JIT warm for this route (one request left small answers' p50 cold).
  for (const warm = performance.now(); performance.now() - warm < 1000;) await get(baseUrl, path);
  const latencies: number[] = [];
  let count = 0;
  const cpu0 = serviceCpu();
  const pg0 = pgCpu.seconds();
  const started = performance.now();
  const loop = async () => {
    for (let i = 0; i < 3 || (performance.now() - started < budgetMs && latencies.length < max); i++) {
      const t0 = performance.now();
      count = await get(baseUrl, path);
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: clients }, loop));
  const elapsed = performance.now() - started;
  const cpu = serviceCpu() - cpu0;
  const pg1 = pgCpu.seconds();
  latencies.sort((a, b) => a - b);
  const pick = (q: number) => round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]);
  const n = latencies.length;
  return {
    count,
    p50: pick(0.5),
    p95: pick(0.95),
    rps: round((n * 1000) / elapsed),
    serviceCpuMs: round((cpu * 1000) / n),
    pgCpuMs: pg0 === undefined || pg1 === undefined ? undefined : round(((pg1 - pg0) * 1000) / n),
  };
}

/** Waits until the service's processes use under 5 % of a core over half a second (at most a minute); returns how long. */
async function settled(app: ServedProcess): Promise<number> {
  const started = performance.now();
  for (let before = app.cpuSeconds(); performance.now() - started < 60_000;) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const now = app.cpuSeconds();
    if (now - before < 0.025) break;
    before = now;
  }
  return performance.now() - started;
}

const round = (value: number) => Math.round(value * 10) / 10;

export interface NovaBenchOptions {
  budgetMs?: number;
  claimSeconds?: number;
  /** EMPLACE_WORKERS for the service; unset, its own default (one per CPU). */
  workers?: number;
}

export async function runNovaBench(adminUrl: string, sizes: number[], options: NovaBenchOptions = {}): Promise<void> {
  console.log(
    '| hosts | shape | answers | p50 ms | p95 ms | req/s | service CPU ms/req | pg CPU ms/req |\n|---|---|---|---|---|---|---|---|',
  );
  for (const hosts of sizes) {
    const scratch = await createScratchDatabase(adminUrl, `emplace_nova_${hosts}`);
    // Seeding 100k hosts runs statements for minutes: no statement timeout for it.
    const setup = createDb(scratch.url, 1, { ...DEFAULT_DB_TIMEOUTS, statementMs: 0 });
    const seedStart = performance.now();
    await seedNovaCloud(setup, hosts);
    console.error(`seeded ${hosts} hosts in ${Math.round(performance.now() - seedStart)} ms`);
    await setup.destroy();
    const app = await serveProcess(scratch.url, options.workers ? { EMPLACE_WORKERS: String(options.workers) } : {});
    const pgCpu = await PgCpu.of(app.db);
    try {
      const firstStart = performance.now();
      await get(app.baseUrl, SHAPES[2].path);
      console.error(
        `service ready in ${Math.round(app.readyMs)} ms; first candidates answer (loads the read model) ${Math.round(performance.now() - firstStart)} ms later`,
      );
      // Each worker loads its own model: time nothing until all of them have, or one load's CPU shows as the queries'.
      const settledMs = await settled(app);
      console.error(`service idle ${Math.round(settledMs)} ms after that answer (every worker's model loaded)`);
      for (const shape of SHAPES) {
        if (hosts > (shape.maxHosts ?? Infinity) || hosts < (shape.minHosts ?? 0)) continue;
        const t = await time(
          app.baseUrl,
          app.cpuSeconds,
          pgCpu,
          shape.path,
          shape.clients ?? 1,
          options.budgetMs ?? 3000,
          1000,
        );
        console.log(
          `| ${hosts} | ${shape.name} | ${t.count} | ${t.p50} | ${t.p95} | ${t.rps} | ${t.serviceCpuMs} | ${t.pgCpuMs ?? '-'} |`,
        );
      }
      if (hosts <= 10000) await claimLoop(app, pgCpu, hosts, 8, options.claimSeconds ?? 10);
      console.error(`service resident memory at ${hosts} hosts: ${Math.round(app.rssMiB())} MiB`);
    } finally {
      await app.close();
      await scratch.drop();
    }
  }
}

/**
 * nova's loop: GET a_c limit=1000, pick one of the first 8 (nova's host_subset_size-like spread), claim it
 * with PUT /allocations; a 409 (someone else took the room) just goes round again.
 */
async function claimLoop(
  app: ServedProcess,
  pgCpu: PgCpu,
  hosts: number,
  workers: number,
  seconds: number,
): Promise<void> {
  const { baseUrl, db } = app;
  const cpu0 = app.cpuSeconds();
  const pg0 = pgCpu.seconds();
  let claimed = 0;
  let conflicts = 0;
  let failures = 0;
  const latencies: number[] = [];
  const started = performance.now();
  const worker = async () => {
    while (performance.now() - started < seconds * 1000) {
      const t0 = performance.now();
      const found = await request(baseUrl, `/allocation_candidates?${PLAIN}&limit=1000`, { headers: HEADERS });
      const body = JSON.parse(found.text) as { allocation_requests: Array<{ allocations: unknown }> };
      const options = body.allocation_requests.slice(0, 8);
      if (options.length === 0) break;
      const pick = options[Math.floor(Math.random() * options.length)];
      const put = await request(baseUrl, `/allocations/${randomUUID()}`, {
        method: 'PUT',
        headers: { ...HEADERS, 'content-type': 'application/json' },
        body: JSON.stringify({
          allocations: pick.allocations,
          project_id: 'bench-project',
          user_id: 'bench-user',
          consumer_generation: null,
          consumer_type: 'INSTANCE',
        }),
      });
      latencies.push(performance.now() - t0);
      if (put.status === 204) claimed++;
      else if (put.status === 409) conflicts++;
      else failures++;
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
  const elapsed = (performance.now() - started) / 1000;
  const cpu = app.cpuSeconds() - cpu0;
  const pg1 = pgCpu.seconds();
  const n = Math.max(1, latencies.length);
  const pgMs = pg0 === undefined || pg1 === undefined ? '-' : round(((pg1 - pg0) * 1000) / n);
  latencies.sort((a, b) => a - b);
  const p = (q: number) => round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0);
  console.log(
    `| ${hosts} | claim loop, ${workers} workers | ${claimed} claimed, ${conflicts} conflicts, ${failures} other | ${p(0.5)} | ${p(0.95)} | ${round(claimed / elapsed)} claims/s | ${round((cpu * 1000) / n)} | ${pgMs} |`,
  );
  await auditCapacity(db);
}

/** No provider over capacity, and the usage totals (migration 1400) equal to the sum of allocations. */
export async function auditCapacity(db: Db): Promise<void> {
  const over = await db.raw(`
    SELECT a.resource_provider_id, a.resource_class_id, SUM(a.used) AS used
      FROM allocations a
      JOIN inventories i ON i.resource_provider_id = a.resource_provider_id AND i.resource_class_id = a.resource_class_id
     GROUP BY a.resource_provider_id, a.resource_class_id, i.total, i.reserved, i.allocation_ratio
    HAVING SUM(a.used) > (i.total - i.reserved) * i.allocation_ratio`);
  if (over.rows.length > 0) throw new Error(`capacity audit FAILED: ${JSON.stringify(over.rows.slice(0, 5))}`);
  const drift = await db.raw(`
    SELECT COALESCE(a.resource_provider_id, u.resource_provider_id) AS provider, a.used AS summed, u.used AS kept
      FROM (SELECT resource_provider_id, resource_class_id, SUM(used) AS used FROM allocations GROUP BY 1, 2) a
      FULL JOIN provider_usages u
        ON u.resource_provider_id = a.resource_provider_id AND u.resource_class_id = a.resource_class_id
     WHERE a.used IS DISTINCT FROM u.used`);
  if (drift.rows.length > 0) throw new Error(`usage totals audit FAILED: ${JSON.stringify(drift.rows.slice(0, 5))}`);
  console.error('capacity audit: no provider over capacity; usage totals equal the sum of allocations');
}

/** `node dist/bench/nova.js [sizes]` runs it alone against DATABASE_URL. */
if (require.main === module) {
  const adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) throw new Error('run it through `npm run bench`, or set DATABASE_URL');
  const sizes = (process.argv[2] ?? '1000,10000').split(',').map(Number);
  runNovaBench(adminUrl, sizes).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
