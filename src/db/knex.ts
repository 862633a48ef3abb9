import knex, { Knex } from 'knex';
import { types } from 'pg';

// bigint ids and sums fit comfortably in a JS number for this service; parse them as numbers.
types.setTypeParser(types.builtins.INT8, (value: string) => Number(value));
types.setTypeParser(types.builtins.NUMERIC, (value: string) => Number(value));

export type Db = Knex;
export type Tx = Knex.Transaction;
/** Either the pool or a transaction: reads that may run inside a caller's transaction take this. */
export type Queryable = Knex | Knex.Transaction;

export function createDb(connectionString: string, poolMax = 10): Db {
  return knex({
    client: 'pg',
    connection: { connectionString, application_name: 'emplace' },
    pool: { min: 0, max: poolMax },
  });
}

/** True when the database answers a trivial query (for /healthz). */
export async function databaseReachable(db: Db): Promise<boolean> {
  try {
    await db.raw('SELECT 1');
    return true;
  } catch {
    return false;
  }
}
