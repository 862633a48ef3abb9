import { createDb, type Db } from '../src/db/knex';
import { compareExplainView } from './explain';
import { createScratchDatabase, request, serve } from './support';

/**
 * GET /allocation_candidates benchmark. Seeds a deterministic cloud straight into PostgreSQL with bulk
 * SQL (generate_series; the API would take minutes for 100k hosts and is not what is measured here),
 * then times the scheduler's queries over real HTTP against the real app.
 *
 * The cloud, for N hosts h = 1..N:
 * - every host: VCPU 64 (ratio 4), MEMORY_MB 262144, DISK_GB 2000 (except h % 20 = 7: diskless);
 * - h % 10 = 3: SEV hosts, MEM_ENCRYPTION_CONTEXT 15 and trait HW_CPU_X86_AMD_SEV;
 * - h % 10 = 5: NUMA hosts, VCPU and MEMORY_MB on two NUMA children, DISK_GB and HW_NUMA_ROOT on the root;
 * - h % 13 = 0: trait COMPUTE_STATUS_DISABLED (the forbidden-trait query avoids them);
 * - four shared-storage providers (DISK_GB 1000000, MISC_SHARES_VIA_AGGREGATE), host h in aggregate h % 4;
 * - usage: one consumer on each non-NUMA host with h % 3 != 0, pseudo-random VCPU/MEMORY_MB; h % 50 = 1 is full.
 */

export interface BenchQuery {
  name: string;
  query: string;
}

export const QUERIES: BenchQuery[] = [
  { name: 'plain compute', query: 'resources=VCPU:2,MEMORY_MB:4096,DISK_GB:20' },
  { name: 'SEV', query: 'resources=VCPU:2,MEMORY_MB:4096,MEM_ENCRYPTION_CONTEXT:1&required=HW_CPU_X86_AMD_SEV' },
  { name: 'forbidden trait', query: 'resources=VCPU:2,MEMORY_MB:4096,DISK_GB:20&required=!COMPUTE_STATUS_DISABLED' },
  {
    name: 'granular isolate',
    query: 'resources1=VCPU:2,MEMORY_MB:2048&resources2=VCPU:2,MEMORY_MB:2048&group_policy=isolate',
  },
  { name: 'nested NUMA', query: 'resources=VCPU:4,MEMORY_MB:8192,DISK_GB:10&root_required=HW_NUMA_ROOT' },
  {
    name: 'sharing DISK_GB',
    query:
      'resources=VCPU:1,MEMORY_MB:1024&resources_DISK=DISK_GB:500&required_DISK=MISC_SHARES_VIA_AGGREGATE&group_policy=none',
  },
];

export const LIMITS: Array<number | undefined> = [10, 1000, undefined];

export interface BenchRow {
  hosts: number;
  query: string;
  limit: string;
  candidates: number;
  p50: number;
  p95: number;
  rps: number;
  peakRssMb: number;
}

export async function seedCloud(db: Db, hosts: number): Promise<void> {
  const rc = (name: string) => `(SELECT id FROM resource_classes WHERE name = '${name}')`;
  const trait = (name: string) => `(SELECT id FROM traits WHERE name = '${name}')`;
  await db.raw(`
    INSERT INTO resource_providers (id, uuid, name, root_provider_id)
      SELECT h, md5('host-' || h)::uuid, 'host-' || h, h FROM generate_series(1, ${hosts}) h;
    INSERT INTO resource_providers (id, uuid, name, parent_provider_id, root_provider_id)
      SELECT ${hosts} + 2 * (h / 10) + n + 1, md5('numa-' || h || '-' || n)::uuid, 'host-' || h || '-numa' || n, h, h
      FROM generate_series(1, ${hosts}) h, generate_series(0, 1) n WHERE h % 10 = 5;
    INSERT INTO resource_providers (id, uuid, name, root_provider_id)
      SELECT s, md5('shared-' || s)::uuid, 'shared-storage-' || s, s
      FROM generate_series(${hosts * 2 + 10}, ${hosts * 2 + 13}) s;
    SELECT setval('resource_providers_id_seq', (SELECT max(id) FROM resource_providers));

    INSERT INTO inventories (resource_provider_id, resource_class_id, total, max_unit, allocation_ratio)
      SELECT h, ${rc('VCPU')}, 64, 64, 4 FROM generate_series(1, ${hosts}) h WHERE h % 10 <> 5
      UNION ALL SELECT h, ${rc('MEMORY_MB')}, 262144, 262144, 1 FROM generate_series(1, ${hosts}) h WHERE h % 10 <> 5
      UNION ALL SELECT h, ${rc('DISK_GB')}, 2000, 2000, 1 FROM generate_series(1, ${hosts}) h WHERE h % 20 <> 7
      UNION ALL SELECT h, ${rc('MEM_ENCRYPTION_CONTEXT')}, 15, 15, 1 FROM generate_series(1, ${hosts}) h WHERE h % 10 = 3
      UNION ALL SELECT id, ${rc('VCPU')}, 32, 32, 4 FROM resource_providers WHERE parent_provider_id IS NOT NULL
      UNION ALL SELECT id, ${rc('MEMORY_MB')}, 131072, 131072, 1 FROM resource_providers WHERE parent_provider_id IS NOT NULL
      UNION ALL SELECT s, ${rc('DISK_GB')}, 1000000, 1000000, 1 FROM generate_series(${hosts * 2 + 10}, ${hosts * 2 + 13}) s;

    INSERT INTO resource_provider_traits (resource_provider_id, trait_id)
      SELECT h, ${trait('HW_CPU_X86_AMD_SEV')} FROM generate_series(1, ${hosts}) h WHERE h % 10 = 3
      UNION ALL SELECT h, ${trait('HW_NUMA_ROOT')} FROM generate_series(1, ${hosts}) h WHERE h % 10 = 5
      UNION ALL SELECT h, ${trait('COMPUTE_STATUS_DISABLED')} FROM generate_series(1, ${hosts}) h WHERE h % 13 = 0
      UNION ALL SELECT s, ${trait('MISC_SHARES_VIA_AGGREGATE')} FROM generate_series(${hosts * 2 + 10}, ${hosts * 2 + 13}) s;

    INSERT INTO placement_aggregates (id, uuid) SELECT a, md5('agg-' || a)::uuid FROM generate_series(0, 3) a;
    INSERT INTO resource_provider_aggregates (resource_provider_id, aggregate_id)
      SELECT h, h % 4 FROM generate_series(1, ${hosts}) h
      UNION ALL SELECT s, s % 4 FROM generate_series(${hosts * 2 + 10}, ${hosts * 2 + 13}) s;

    INSERT INTO projects (id, external_id) VALUES (1, 'bench-project');
    INSERT INTO users (id, external_id) VALUES (1, 'bench-user');
    INSERT INTO consumers (id, uuid, project_id, user_id)
      SELECT h, md5('consumer-' || h)::uuid, 1, 1 FROM generate_series(1, ${hosts}) h WHERE h % 3 <> 0 AND h % 10 <> 5;
    INSERT INTO allocations (resource_provider_id, consumer_id, resource_class_id, used)
      SELECT id, id, ${rc('VCPU')}, CASE WHEN id % 50 = 1 THEN 255 ELSE 1 + (id * 37) % 200 END FROM consumers
      UNION ALL SELECT id, id, ${rc('MEMORY_MB')}, 1024 * (1 + (id * 101) % 200) FROM consumers;
  `);
  await db.raw('ANALYZE');
}

async function timeQueries(
  baseUrl: string,
  hosts: number,
  label: string,
  budgetMs: number,
  maxIterations: number,
): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const { name, query } of QUERIES) {
    for (const limit of LIMITS) {
      const path = `/allocation_candidates?${query}${limit ? `&limit=${limit}` : ''}`;
      const headers = { 'openstack-api-version': 'placement 1.39', 'x-auth-token': 'admin' };
      let candidates = 0;
      let peakRss = process.memoryUsage().rss;
      const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
      const send = async () => {
        const response = await request(baseUrl, path, { headers });
        if (response.status !== 200) throw new Error(`${name}: HTTP ${response.status} ${response.text}`);
        const body = JSON.parse(response.text) as { allocation_requests?: unknown[] };
        candidates = body.allocation_requests?.length ?? 0;
      };
      await send(); // warm-up: plans cached, JIT warm
      const latencies: number[] = [];
      const started = performance.now();
      while (latencies.length < maxIterations && (latencies.length < 3 || performance.now() - started < budgetMs)) {
        const t0 = performance.now();
        await send();
        latencies.push(performance.now() - t0);
      }
      const elapsed = performance.now() - started;
      clearInterval(sampler);
      latencies.sort((a, b) => a - b);
      const pick = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
      const row: BenchRow = {
        hosts,
        query: name,
        limit: `${limit ?? 'none'}${label}`,
        candidates,
        p50: round(pick(0.5)),
        p95: round(pick(0.95)),
        rps: round((latencies.length * 1000) / elapsed),
        peakRssMb: Math.round(peakRss / 1048576),
      };
      console.log(formatRow(row));
      rows.push(row);
    }
  }
  return rows;
}

const round = (value: number) => Math.round(value * 10) / 10;

export function formatRow(row: BenchRow): string {
  return `| ${row.hosts} | ${row.query} | ${row.limit} | ${row.candidates} | ${row.p50} | ${row.p95} | ${row.rps} | ${row.peakRssMb} |`;
}

export const TABLE_HEADER =
  '| hosts | query | limit | candidates | p50 ms | p95 ms | req/s | peak RSS MB |\n|---|---|---|---|---|---|---|---|';

/** Seed a fresh database per size and time every query at limit 10, 1000 and none. */
export async function runCandidatesBench(
  adminUrl: string,
  sizes: number[],
  options: { explainOnly?: boolean } = {},
): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  console.log(TABLE_HEADER);
  for (const hosts of sizes) {
    const scratch = await createScratchDatabase(adminUrl, `emplace_bench_${hosts}`);
    const url = scratch.url;
    const setup = createDb(url, 1);
    const seedStart = performance.now();
    await seedCloud(setup, hosts);
    console.error(`seeded ${hosts} hosts in ${Math.round(performance.now() - seedStart)} ms`);
    await setup.destroy();
    if (options.explainOnly) {
      const app = await serve(url);
      await compareExplainView(app.baseUrl, hosts, QUERIES, [10, 1000]);
      await app.close();
      await scratch.drop();
      continue;
    }
    const budget = hosts >= 100000 ? 4000 : 2500;
    // The "no limit" column measures the uncapped walk, so neither the default cap nor the budget applies.
    const plain = await serve(url, { EMPLACE_MAX_ALLOCATION_CANDIDATES: '-1', EMPLACE_CANDIDATES_TIME_BUDGET_MS: '0' });
    rows.push(...(await timeQueries(plain.baseUrl, hosts, '', budget, hosts >= 100000 ? 20 : 50)));
    await plain.close();
    // max_allocation_candidates bounds the work and memory of an unlimited query.
    const capped = await serve(url, { EMPLACE_MAX_ALLOCATION_CANDIDATES: '1000' });
    const saved = LIMITS.splice(0, LIMITS.length, undefined);
    rows.push(...(await timeQueries(capped.baseUrl, hosts, ' (max_allocation_candidates=1000)', budget, 20)));
    LIMITS.splice(0, LIMITS.length, ...saved);
    await capped.close();
    await scratch.drop();
  }
  return rows;
}
