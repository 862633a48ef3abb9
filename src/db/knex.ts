import knex, { Knex } from 'knex';
import { types, type Client } from 'pg';

// bigint ids and sums fit comfortably in a JS number for this service; parse them as numbers.
types.setTypeParser(types.builtins.INT8, (value: string) => Number(value));
types.setTypeParser(types.builtins.NUMERIC, (value: string) => Number(value));

export type Db = Knex;
export type Tx = Knex.Transaction;
/** Either the pool or a transaction: reads that may run inside a caller's transaction take this. */
export type Queryable = Knex | Knex.Transaction;

/** How long each kind of wait on the database may last, in milliseconds; 0 turns one off. */
export interface DbTimeouts {
  /** TCP connect plus PostgreSQL's startup handshake (a frozen server accepts but never answers). */
  connectMs: number;
  /** PostgreSQL's statement_timeout; the client also gives up 1 s after it (a frozen server never answers). */
  statementMs: number;
  /** PostgreSQL's lock_timeout: a row or table lock waited for longer fails the statement. */
  lockMs: number;
  /** PostgreSQL's idle_in_transaction_session_timeout: a transaction left open is ended by the server. */
  idleInTransactionMs: number;
  /** Waiting for a free connection of the pool. */
  acquireMs: number;
}

export const DEFAULT_DB_TIMEOUTS: DbTimeouts = {
  connectMs: 5_000,
  statementMs: 10_000,
  lockMs: 5_000,
  idleInTransactionMs: 30_000,
  acquireMs: 5_000,
};

/**
 * The client's own read timeout beyond statement_timeout: the server's timeout normally fires first
 * (a clean error, the connection stays usable); this one only fires when the server cannot answer.
 */
const CLIENT_READ_MARGIN_MS = 1_000;

export function createDb(connectionString: string, poolMax = 10, timeouts: DbTimeouts = DEFAULT_DB_TIMEOUTS): Db {
  const readTimeout = timeouts.statementMs > 0 ? timeouts.statementMs + CLIENT_READ_MARGIN_MS : 0;
  return knex({
    client: 'pg',
    connection: {
      connectionString,
      application_name: 'emplace',
      connectionTimeoutMillis: timeouts.connectMs,
      keepAlive: true,
      // pg leaves out a startup parameter that is 0, so the server's own setting applies.
      statement_timeout: timeouts.statementMs,
      lock_timeout: timeouts.lockMs,
      idle_in_transaction_session_timeout: timeouts.idleInTransactionMs,
      // PostgreSQL's JIT compiles any statement its planner guesses costly: 22 ms of compiling for one
      // 90 ms range of the read model's load, and nothing here is a long analytic query that repays it.
      options: '-c jit=off',
      query_timeout: readTimeout,
    } as Knex.PgConnectionConfig,
    acquireConnectionTimeout: timeouts.acquireMs > 0 ? timeouts.acquireMs : 2_147_483_647,
    pool: { min: 0, max: poolMax, afterCreate: dropOnReadTimeout },
    // knex warns on console about every lost connection; the same error reaches the caller, which
    // answers 503 and logs it once, in the service's log format.
    log: { warn: () => undefined, debug: () => undefined },
  });
}

type PooledClient = Client & {
  __knex__disposed?: unknown;
  connection: { stream: { destroy(): void } };
};

/**
 * pg's read timeout answers the caller but leaves the connection waiting for the lost reply: the
 * next query on it would wait too. Mark it for the pool to drop and close its socket, so a
 * transaction's ROLLBACK fails at once and no later request inherits the stall.
 */
function dropOnReadTimeout(connection: PooledClient, done: (error: Error | null, connection: PooledClient) => void) {
  const query = connection.query.bind(connection) as (...args: unknown[]) => unknown;
  (connection as { query: unknown }).query = (...args: unknown[]) => {
    const last = args.length - 1;
    const callback = args[last];
    if (typeof callback === 'function') {
      args[last] = (error: Error | null, result: unknown) => {
        if (error?.message === 'Query read timeout') {
          connection.__knex__disposed = error;
          connection.connection.stream.destroy();
        }
        callback(error, result);
      };
    }
    return query(...args);
  };
  done(null, connection);
}

const probes = new WeakMap<Db, Promise<boolean>>();

/**
 * True when the database answers a trivial query within `withinMs` (for the health probes). One
 * probe at a time per pool: checks arriving while one is out share its answer, so a load balancer
 * polling a hung database cannot take every connection of the pool.
 */
export async function databaseReachable(db: Db, withinMs = 900): Promise<boolean> {
  let probe = probes.get(db);
  if (!probe) {
    probe = db
      .raw('SELECT 1')
      .then(
        () => true,
        () => false,
      )
      .finally(() => probes.delete(db));
    probes.set(db, probe);
  }
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), withinMs)));
  try {
    return await Promise.race([probe, late]);
  } finally {
    clearTimeout(timer);
  }
}
