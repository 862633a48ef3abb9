import type { Knex } from 'knex';
import { Client } from 'pg';
import { MIGRATIONS } from '../../migrations';

// Arbitrary but fixed: every replica takes the same advisory lock so only one migrates at a time.
const MIGRATION_LOCK_KEY = 7_170_017;

const migrationSource: Knex.MigrationSource<readonly [string, Knex.Migration]> = {
  getMigrations: async () => [...MIGRATIONS],
  getMigrationName: ([name]) => name,
  getMigration: async ([, migration]) => migration,
};

/**
 * Apply pending migrations. Several replicas starting at once serialise on a session advisory lock,
 * held on a connection of its own (outside the pool the migrator uses); knex's lock table then finds
 * nothing left to do for the later ones.
 */
export async function migrateToLatest(db: Knex): Promise<string[]> {
  const lock = new Client(db.client.config.connection);
  await lock.connect();
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    // knex answers [batch, names applied now].
    const [, applied] = await db.migrate.latest({ migrationSource, disableMigrationsListValidation: true });
    return applied as string[];
  } finally {
    await lock.end();
  }
}

export interface MigrationStatus {
  /** Applied, in the order they ran. */
  applied: string[];
  /** Known to this version and not applied yet, in order. */
  pending: string[];
  /** Applied but unknown to this version: the database was migrated by a newer release. */
  unknown: string[];
}

/** Which migrations the database has, read without changing anything (no lock, no table creation). */
export async function migrationStatus(db: Knex): Promise<MigrationStatus> {
  const found = await db.raw("SELECT to_regclass('knex_migrations') IS NOT NULL AS present");
  const applied: string[] = found.rows[0].present ? await db('knex_migrations').orderBy('id').pluck('name') : [];
  const known = MIGRATIONS.map(([name]) => name);
  return {
    applied,
    pending: known.filter((name) => !applied.includes(name)),
    unknown: applied.filter((name) => !known.includes(name)),
  };
}
