import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Db } from '../db/knex';

/**
 * Every instrument the service exports, in one registry (docs/operations.md lists them). Metrics are
 * per process: with EMPLACE_WORKERS > 1 the primary sums the workers' registries (src/metrics/cluster.ts).
 * Labels hold only bounded values: route templates from the route table, never raw URLs or uuids.
 */
export const registry = new Registry();

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const COUNT_BUCKETS = [0, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

export const httpRequests = new Counter({
  name: 'emplace_http_requests_total',
  help: 'HTTP requests answered, by route template, method, status and microversion.',
  labelNames: ['route', 'method', 'status', 'microversion'] as const,
  registers: [registry],
});

export const httpDuration = new Histogram({
  name: 'emplace_http_request_duration_seconds',
  help: 'Time from request to the end of the response, by route template, method and status.',
  labelNames: ['route', 'method', 'status'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});

export const candidatesDuration = new Histogram({
  name: 'emplace_allocation_candidates_duration_seconds',
  help: 'Time the allocation-candidates engine spent on one GET /allocation_candidates.',
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});

export const candidatesReturned = new Histogram({
  name: 'emplace_allocation_candidates_returned',
  help: 'allocation_requests in one GET /allocation_candidates answer.',
  buckets: COUNT_BUCKETS,
  registers: [registry],
});

export const summariesReturned = new Histogram({
  name: 'emplace_allocation_candidates_provider_summaries',
  help: 'provider_summaries entries in one GET /allocation_candidates answer.',
  buckets: COUNT_BUCKETS,
  registers: [registry],
});

export const candidatesCapHits = new Counter({
  name: 'emplace_allocation_candidates_cap_hits_total',
  help: 'Answers cut short by EMPLACE_MAX_ALLOCATION_CANDIDATES (Placement max_allocation_candidates).',
  registers: [registry],
});

export const abandonedRequests = new Counter({
  name: 'emplace_http_requests_abandoned_total',
  help: 'Requests whose client hung up before the answer, so their work was stopped and nothing written, by route.',
  labelNames: ['route', 'method'] as const,
  registers: [registry],
});

export const concurrentUpdateConflicts = new Counter({
  name: 'emplace_concurrent_update_conflicts_total',
  help: '409 placement.concurrent_update answers (generation conflicts and exhausted claim retries), by route.',
  labelNames: ['route', 'method'] as const,
  registers: [registry],
});

export const allocationRetries = new Counter({
  name: 'emplace_allocation_retries_total',
  help: 'Allocation writes retried whole after a provider race (EMPLACE_ALLOCATION_CONFLICT_RETRY_COUNT).',
  registers: [registry],
});

export const transactionRetries = new Counter({
  name: 'emplace_transaction_retries_total',
  help: 'Transactions retried after a serialization failure or deadlock, by SQLSTATE.',
  labelNames: ['sqlstate'] as const,
  registers: [registry],
});

export const authFailures = new Counter({
  name: 'emplace_auth_failures_total',
  help: 'Requests refused with 401, by reason.',
  labelNames: ['reason'] as const,
  registers: [registry],
});

export const dbQueryDuration = new Histogram({
  name: 'emplace_db_query_duration_seconds',
  help: 'Time of one SQL statement, from sending to its result or error.',
  labelNames: ['outcome'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});

/** A 401 on its way out; noauth calls it, and so does any other authentication strategy. */
export function countAuthFailure(reason: string): void {
  authFailures.inc({ reason });
}

/** One GET /allocation_candidates answer: engine time, what it returned, and whether the cap stopped it. */
export function observeCandidates(seconds: number, candidates: number, summaries: number, capReached: boolean): void {
  candidatesDuration.observe(seconds);
  candidatesReturned.observe(candidates);
  summariesReturned.observe(summaries);
  if (capReached) candidatesCapHits.inc();
}

export function countAllocationRetry(): void {
  allocationRetries.inc();
}

export function countTransactionRetry(sqlstate: string): void {
  transactionRetries.inc({ sqlstate });
}

let defaultsOn = false;

/** Process and event-loop metrics (prom-client's defaults), turned on once per process. */
export function collectProcessMetrics(): void {
  if (defaultsOn) return;
  defaultsOn = true;
  collectDefaultMetrics({ register: registry, prefix: '' });
}

/** tarn's view of a knex pool; knex sets `client.pool` while the pool is open and drops it on destroy. */
interface TarnPool {
  max: number;
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
  numPendingCreates(): number;
}

const pools = new Set<Db>();

function poolOf(db: Db): TarnPool | undefined {
  return (db.client as { pool?: TarnPool }).pool;
}

/** Sum over this process's open pools (one in production; tests open several). */
function poolSum(read: (pool: TarnPool) => number): number {
  let total = 0;
  for (const db of pools) {
    const pool = poolOf(db);
    if (pool) total += read(pool);
    else pools.delete(db);
  }
  return total;
}

new Gauge({
  name: 'emplace_db_pool_max',
  help: 'Largest number of connections the pool may open (EMPLACE_DB_POOL_SIZE).',
  registers: [registry],
  collect() {
    this.set(poolSum((pool) => pool.max));
  },
});

new Gauge({
  name: 'emplace_db_pool_connections',
  help: 'Connections in the pool, by state: used (lent to a query or transaction), free, or being opened.',
  labelNames: ['state'] as const,
  registers: [registry],
  collect() {
    this.set(
      { state: 'used' },
      poolSum((pool) => pool.numUsed()),
    );
    this.set(
      { state: 'free' },
      poolSum((pool) => pool.numFree()),
    );
    this.set(
      { state: 'pending' },
      poolSum((pool) => pool.numPendingCreates()),
    );
  },
});

new Gauge({
  name: 'emplace_db_pool_waiting_acquires',
  help: 'Queries and transactions waiting for a pool connection.',
  registers: [registry],
  collect() {
    this.set(poolSum((pool) => pool.numPendingAcquires()));
  },
});

interface QueryEvent {
  __knexQueryUid?: string;
}

/** Watch a knex instance: its pool in the gauges above, each statement in dbQueryDuration. Idempotent. */
export function instrumentDatabase(db: Db): void {
  if (pools.has(db)) return;
  pools.add(db);
  const started = new Map<string, bigint>();
  const finish = (outcome: 'ok' | 'error') => (_response: unknown, query: QueryEvent) => {
    const uid = query?.__knexQueryUid;
    const start = uid === undefined ? undefined : started.get(uid);
    if (uid === undefined || start === undefined) return;
    started.delete(uid);
    dbQueryDuration.observe({ outcome }, Number(process.hrtime.bigint() - start) / 1e9);
  };
  db.on('query', (query: QueryEvent) => {
    if (query.__knexQueryUid !== undefined) started.set(query.__knexQueryUid, process.hrtime.bigint());
  });
  db.on('query-response', finish('ok'));
  // knex passes (error, query) for failures.
  db.on('query-error', finish('error'));
}
