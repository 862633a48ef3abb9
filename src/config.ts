import os from 'node:os';
import path from 'node:path';
import { readIdentitySettings, type IdentitySettings } from './auth/settings';
import type { DbTimeouts } from './db/knex';

/** Service configuration, read once at start from the environment and passed down. */
export interface Config {
  host: string;
  port: number;
  /** Unset: run an embedded PostgreSQL under dataDir. */
  databaseUrl?: string;
  dataDir: string;
  embeddedPort: number;
  logLevel: string;
  /** Placement's allocation_conflict_retry_count. */
  allocationConflictRetryCount: number;
  /** Placement's max_allocation_candidates; -1 means unlimited. */
  maxAllocationCandidates: number;
  /** Placement's randomize_allocation_candidates. */
  randomizeAllocationCandidates: boolean;
  /** Placement's allocation_candidates_generation_strategy: depth-first or breadth-first. */
  candidatesGenerationStrategy: 'depth-first' | 'breadth-first';
  /** Project and user ids recorded for consumers written before 1.8 (Placement's incomplete consumer). */
  incompleteConsumerProjectId: string;
  incompleteConsumerUserId: string;
  /** Largest accepted request body, in bytes. */
  bodyLimitBytes: number;
  /** Connections in this process's pool. */
  dbPoolSize: number;
  /** Placement's sync_on_startup: apply pending migrations at start; false refuses to start while any are pending. */
  migrateOnStart: boolean;
  /** CORS, off unless origins are listed (Placement's [cors] allowed_origin). */
  corsAllowedOrigins: string[];
  corsAllowHeaders: string[];
  corsExposeHeaders: string[];
  /** Operator policy overrides: oslo.policy's policy.yaml (or JSON), read as oslo.policy reads it. */
  policyFile?: string;
  /** oslo.policy enforce_new_defaults; false also accepts the deprecated admin-only rules. */
  policyEnforceNewDefaults: boolean;
  /** oslo.policy enforce_scope; false lets system-scoped tokens through to the rule check. */
  policyEnforceScope: boolean;
  /**
   * Emplace's opt-in: allocation candidates leave out trees whose root's last heartbeat is older than
   * this; unset (off) or >= 1. Roots that never sent a heartbeat are never left out.
   */
  staleAfterSeconds?: number;
  /** Authentication strategy, Keystone, API tokens, TLS, proxy and path prefix (src/auth/settings.ts). */
  identity: IdentitySettings;
  /** Bounds on one request's work and wait (docs/limits.md). 0 turns the candidates budget off. */
  candidatesTimeBudgetMs: number;
  /** Most query parameters a request may carry; more is a 400, never a silent truncation. */
  maxQueryParameters: number;
  /** A request's headers must arrive within this (408 beyond). */
  headersTimeoutMs: number;
  /** The whole request, body included, must arrive within this (408 beyond). */
  requestTimeoutMs: number;
  /** Operations (docs/operations.md). */
  /** EMPLACE_METRICS_LISTEN: serve /metrics on this address only, without auth; unset: on the API port behind emplace:metrics:show. */
  metricsListen?: { host: string; port: number };
  /** EMPLACE_WORKERS: server processes sharing the port (node:cluster); 1 runs no cluster. */
  workers: number;
  /** Faults: how long each wait on the database may last (ms; 0 turns one off), and the shutdown bound. */
  dbTimeouts: DbTimeouts;
  /** After SIGTERM/SIGINT the process exits within this, whatever the database or clients do. */
  shutdownTimeoutMs: number;
}

export class ConfigError extends Error {}

export type Env = Record<string, string | undefined>;

export function integer(env: Env, name: string, fallback: number, min = Number.MIN_SAFE_INTEGER): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^-?\d+$/.test(raw) || Number(raw) < min)
    throw new ConfigError(`${name} must be an integer >= ${min}, got '${raw}'`);
  return Number(raw);
}

export function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got '${env[name]}'`);
}

/** The headers a browser client of Placement sends and reads. */
const DEFAULT_CORS_HEADERS = [
  'x-auth-token',
  'openstack-api-version',
  'x-openstack-request-id',
  'openstack-request-id',
  'content-type',
];

export function list(env: Env, name: string, fallback: string[]): string[] {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  return raw
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

/** EMPLACE_STALE_AFTER_SECONDS: unset or empty is off; else 1 s up to nine digits (what the SQL's int holds). */
function staleAfterSeconds(env: Env): number | undefined {
  if (!env.EMPLACE_STALE_AFTER_SECONDS) return undefined;
  const seconds = integer(env, 'EMPLACE_STALE_AFTER_SECONDS', 0, 1);
  if (seconds > 999_999_999)
    throw new ConfigError(`EMPLACE_STALE_AFTER_SECONDS must be at most 999999999, got '${seconds}'`);
  return seconds;
}

/** `host:port`, `[v6]:port` or a bare port (loopback). */
function listenAddress(env: Env, name: string): { host: string; port: number } | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  const found = /^(?:\[([^\]]+)\]:|([^:]+):)?(\d{1,5})$/.exec(raw);
  const port = Number(found?.[3]);
  if (!found || port > 65535) throw new ConfigError(`${name} must be host:port or a port, got '${raw}'`);
  return { host: found[1] ?? found[2] ?? '127.0.0.1', port };
}

export function loadConfig(env: Env = process.env): Config {
  const strategy = env.EMPLACE_CANDIDATES_STRATEGY ?? 'depth-first';
  if (strategy !== 'depth-first' && strategy !== 'breadth-first') {
    throw new ConfigError(`EMPLACE_CANDIDATES_STRATEGY must be depth-first or breadth-first, got '${strategy}'`);
  }
  return {
    host: env.EMPLACE_HOST || '127.0.0.1',
    port: integer(env, 'EMPLACE_PORT', 8778, 0),
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir: path.resolve(env.EMPLACE_DATA_DIR || path.join('data', 'postgres')),
    embeddedPort: integer(env, 'EMPLACE_EMBEDDED_PG_PORT', 54329, 1),
    logLevel: env.EMPLACE_LOG_LEVEL || 'info',
    allocationConflictRetryCount: integer(env, 'EMPLACE_ALLOCATION_CONFLICT_RETRY_COUNT', 10, 0),
    maxAllocationCandidates: integer(env, 'EMPLACE_MAX_ALLOCATION_CANDIDATES', 10_000, -1),
    randomizeAllocationCandidates: boolean(env, 'EMPLACE_RANDOMIZE_ALLOCATION_CANDIDATES', false),
    candidatesGenerationStrategy: strategy,
    incompleteConsumerProjectId: env.EMPLACE_INCOMPLETE_CONSUMER_PROJECT_ID || '00000000-0000-0000-0000-000000000000',
    incompleteConsumerUserId: env.EMPLACE_INCOMPLETE_CONSUMER_USER_ID || '00000000-0000-0000-0000-000000000000',
    bodyLimitBytes: integer(env, 'EMPLACE_BODY_LIMIT_BYTES', 1024 * 1024, 1),
    dbPoolSize: integer(env, 'EMPLACE_DB_POOL_SIZE', 10, 1),
    migrateOnStart: boolean(env, 'EMPLACE_MIGRATE_ON_START', true),
    corsAllowedOrigins: list(env, 'EMPLACE_CORS_ALLOWED_ORIGINS', []),
    corsAllowHeaders: list(env, 'EMPLACE_CORS_ALLOW_HEADERS', DEFAULT_CORS_HEADERS),
    corsExposeHeaders: list(env, 'EMPLACE_CORS_EXPOSE_HEADERS', DEFAULT_CORS_HEADERS),
    policyFile: env.EMPLACE_POLICY_FILE || undefined,
    // Placement's current defaults (oslo.policy >= 4): new rules and scope both enforced.
    policyEnforceNewDefaults: boolean(env, 'EMPLACE_POLICY_ENFORCE_NEW_DEFAULTS', true),
    policyEnforceScope: boolean(env, 'EMPLACE_POLICY_ENFORCE_SCOPE', true),
    staleAfterSeconds: staleAfterSeconds(env),
    identity: readIdentitySettings(env),
    candidatesTimeBudgetMs: integer(env, 'EMPLACE_CANDIDATES_TIME_BUDGET_MS', 10_000, 0),
    maxQueryParameters: integer(env, 'EMPLACE_MAX_QUERY_PARAMETERS', 10_000, 1),
    headersTimeoutMs: integer(env, 'EMPLACE_HEADERS_TIMEOUT_MS', 10_000, 1),
    requestTimeoutMs: integer(env, 'EMPLACE_REQUEST_TIMEOUT_MS', 30_000, 1),
    metricsListen: listenAddress(env, 'EMPLACE_METRICS_LISTEN'),
    workers: integer(env, 'EMPLACE_WORKERS', os.availableParallelism(), 1),
    dbTimeouts: {
      connectMs: integer(env, 'EMPLACE_DB_CONNECT_TIMEOUT_MS', 5_000, 0),
      statementMs: integer(env, 'EMPLACE_DB_STATEMENT_TIMEOUT_MS', 10_000, 0),
      lockMs: integer(env, 'EMPLACE_DB_LOCK_TIMEOUT_MS', 5_000, 0),
      idleInTransactionMs: integer(env, 'EMPLACE_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS', 30_000, 0),
      acquireMs: integer(env, 'EMPLACE_DB_ACQUIRE_TIMEOUT_MS', 5_000, 0),
    },
    shutdownTimeoutMs: integer(env, 'EMPLACE_SHUTDOWN_TIMEOUT_MS', 15_000, 1),
  };
}
