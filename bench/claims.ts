import { randomUUID } from 'node:crypto';
import type { Db } from '../src/db/knex';
import { createScratchDatabase, serve } from './support';

/**
 * Claim benchmark: N workers each loop "find a host -> claim on it" through HTTP, like schedulers
 * placing SEV guests, then the capacity of every provider is audited. It prints claims/s, the
 * conflict rate and latencies; it fails only if a provider ends up over capacity, never on speed.
 * Hosts are created through the API (POST /resource_providers, PUT inventories); workers pick a host
 * from GET /allocation_candidates?limit=10, the way a scheduler does.
 */
export interface ClaimsBenchOptions {
  hosts?: number;
  workers?: number;
  claims?: number;
}

const VERSION = 'placement 1.39';
const CLAIM = { VCPU: 2, MEMORY_MB: 2048, MEM_ENCRYPTION_CONTEXT: 1 };
const HOST_INVENTORY = {
  VCPU: { total: 32, allocation_ratio: 4.0, max_unit: 32 },
  MEMORY_MB: { total: 262144, reserved: 4096, max_unit: 262144 },
  MEM_ENCRYPTION_CONTEXT: { total: 15, max_unit: 1 },
};
const RESOURCES_QUERY = Object.entries(CLAIM)
  .map(([name, amount]) => `${name}:${amount}`)
  .join(',');

export async function runClaimsBench(adminUrl: string, options: ClaimsBenchOptions = {}): Promise<void> {
  const hosts = options.hosts ?? 20;
  const workers = options.workers ?? 16;
  const claims = options.claims ?? 400;
  const scratch = await createScratchDatabase(adminUrl, 'emplace_bench_claims');
  const app = await serve(scratch.url, {}, Math.max(10, workers));
  try {
    await seedHosts(app.baseUrl, hosts);
    console.log(
      `claims bench: ${hosts} hosts x ${HOST_INVENTORY.MEM_ENCRYPTION_CONTEXT.total} SEV slots, ${workers} workers, ${claims} claims`,
    );
    const stats = await race(app.baseUrl, workers, claims);
    report(stats);
    await audit(app.db);
  } finally {
    await app.close();
    await scratch.drop();
  }
}

async function call(
  baseUrl: string,
  method: string,
  url: string,
  body?: unknown,
): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = {
    'x-auth-token': 'admin',
    accept: 'application/json',
    'openstack-api-version': VERSION,
  };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(baseUrl + url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

async function seedHosts(baseUrl: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const uuid = randomUUID();
    const created = await call(baseUrl, 'POST', '/resource_providers', { name: `bench-host-${i}`, uuid });
    if (created.status !== 200)
      throw new Error(`creating a host failed: ${created.status} ${JSON.stringify(created.body)}`);
    const inventory = await call(baseUrl, 'PUT', `/resource_providers/${uuid}/inventories`, {
      resource_provider_generation: 0,
      inventories: HOST_INVENTORY,
    });
    if (inventory.status !== 200)
      throw new Error(`setting inventory failed: ${inventory.status} ${JSON.stringify(inventory.body)}`);
  }
}

/** Up to ten candidate claims, as a scheduler sees them; empty means the cloud is full. */
async function candidates(baseUrl: string): Promise<Array<Record<string, { resources: Record<string, number> }>>> {
  const res = await call(baseUrl, 'GET', `/allocation_candidates?resources=${RESOURCES_QUERY}&limit=10`);
  return (res.body?.allocation_requests ?? []).map(
    (request: { allocations: Record<string, { resources: Record<string, number> }> }) => request.allocations,
  );
}

interface Stats {
  attempts: number;
  claimed: number;
  conflicts: number;
  otherFailures: number;
  latenciesMs: number[];
  elapsedMs: number;
}

async function race(baseUrl: string, workers: number, claims: number): Promise<Stats> {
  const stats: Stats = { attempts: 0, claimed: 0, conflicts: 0, otherFailures: 0, latenciesMs: [], elapsedMs: 0 };
  let remaining = claims;
  let full = false;
  const started = performance.now();
  const worker = async () => {
    while (remaining > 0 && !full) {
      remaining--;
      const options = await candidates(baseUrl);
      if (options.length === 0) {
        full = true;
        break;
      }
      const allocations = options[Math.floor(Math.random() * options.length)];
      const body = {
        allocations,
        project_id: 'bench',
        user_id: 'bench',
        consumer_generation: null,
        consumer_type: 'INSTANCE',
      };
      const t0 = performance.now();
      const res = await call(baseUrl, 'PUT', `/allocations/${randomUUID()}`, body);
      stats.latenciesMs.push(performance.now() - t0);
      stats.attempts++;
      if (res.status === 204) stats.claimed++;
      else if (res.status === 409) stats.conflicts++;
      else stats.otherFailures++;
    }
  };
  await Promise.all(Array.from({ length: workers }, () => worker()));
  stats.elapsedMs = performance.now() - started;
  return stats;
}

function report(stats: Stats): void {
  const sorted = [...stats.latenciesMs].sort((a, b) => a - b);
  const pct = (p: number) =>
    sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))].toFixed(1) : 'n/a';
  const seconds = stats.elapsedMs / 1000;
  console.log(
    `  attempts ${stats.attempts}, claimed ${stats.claimed}, conflicts ${stats.conflicts} (${((100 * stats.conflicts) / Math.max(1, stats.attempts)).toFixed(1)}%), other failures ${stats.otherFailures}`,
  );
  console.log(
    `  ${(stats.attempts / seconds).toFixed(1)} attempts/s, ${(stats.claimed / seconds).toFixed(1)} claims/s over ${seconds.toFixed(2)} s (candidates -> claim loop)`,
  );
  console.log(`  claim latency ms: p50 ${pct(50)}, p95 ${pct(95)}, p99 ${pct(99)}, max ${pct(100)}`);
}

/** Fail loudly if any provider ended up over capacity: that is a correctness bug, not a speed one. */
async function audit(db: Db): Promise<void> {
  const result = await db.raw(`
    SELECT rp.uuid, rc.name, SUM(a.used) AS used, (i.total - i.reserved) * i.allocation_ratio AS capacity
      FROM inventories i
      JOIN resource_providers rp ON rp.id = i.resource_provider_id
      JOIN resource_classes rc ON rc.id = i.resource_class_id
      JOIN allocations a ON a.resource_provider_id = i.resource_provider_id AND a.resource_class_id = i.resource_class_id
     GROUP BY rp.uuid, rc.name, i.total, i.reserved, i.allocation_ratio
    HAVING SUM(a.used) > (i.total - i.reserved) * i.allocation_ratio`);
  const providers = await db('resource_providers').count<{ n: number }[]>('* as n');
  if (result.rows.length > 0) {
    throw new Error(`capacity audit FAILED: ${JSON.stringify(result.rows)}`);
  }
  console.log(`  capacity audit: ${providers[0].n} providers, none over capacity`);
}

// `node dist/bench/claims.js [hosts] [workers] [claims]` runs it alone.
if (require.main === module) {
  const [hosts, workers, claims] = process.argv.slice(2).map(Number);
  const adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) throw new Error('run it through `npm run bench`, or set DATABASE_URL');
  runClaimsBench(adminUrl, {
    hosts: hosts || undefined,
    workers: workers || undefined,
    claims: claims || undefined,
  }).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
