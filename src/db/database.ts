import { ConfigError, type Config } from '../config';
import { startEmbeddedPostgres, type EmbeddedServer } from './embedded';
import { createDb, type Db } from './knex';
import { migrateToLatest, migrationStatus } from './migrate';
import { syncStandardCatalogue } from '../repo/catalogue-sync';

export interface Database {
  db: Db;
  /** Where the data is, for the start line: the embedded server's, or DATABASE_URL (password masked by the caller). */
  url: string;
  embedded?: { dataDir: string; port: number };
  /** Migrations this open applied (empty when the schema was current, or when not migrating). */
  migrated: string[];
  close(): Promise<void>;
}

const EMBEDDED_DATABASE = 'emplace';

/**
 * What to do about migrations on open: apply the pending ones, refuse while any are pending, or
 * leave the database untouched (for commands that only report on it).
 */
export type MigrationMode = 'apply' | 'require' | 'none';

/** The database is behind this version and the configuration says not to migrate it at start. */
export class MigrationsPendingError extends ConfigError {}

/**
 * Connect to DATABASE_URL, or start the embedded server when it is unset; then migrate (or check
 * that nothing is pending, with EMPLACE_MIGRATE_ON_START=false) and sync the standard catalogue so
 * the service is ready to answer.
 */
export async function openDatabase(
  config: Config,
  /** PostgreSQL's own output at 'debug'; what the operator should know (a leftover server stopped) at 'warn'. */
  log: (line: string, level?: 'debug' | 'warn') => void,
  migrations: MigrationMode = config.migrateOnStart ? 'apply' : 'require',
): Promise<Database> {
  let embedded: EmbeddedServer | undefined;
  let url = config.databaseUrl;
  if (!url) {
    embedded = await startEmbeddedPostgres({
      dataDir: config.dataDir,
      port: config.embeddedPort,
      log: (line) => log(line, 'debug'),
      notice: (line) => log(line, 'warn'),
    });
    await ensureDatabase(embedded.url(), EMBEDDED_DATABASE).catch(async (error: unknown) => {
      await embedded?.stop();
      throw error;
    });
    url = embedded.url(EMBEDDED_DATABASE);
  }
  const db = createDb(url, config.dbPoolSize, config.dbTimeouts);
  let migrated: string[] = [];
  try {
    if (migrations === 'apply') migrated = await migrate(url, config);
    if (migrations === 'require') await requireMigrated(db);
    if (migrations !== 'none') await syncStandardCatalogue(db);
  } catch (error) {
    await db.destroy();
    await embedded?.stop();
    throw error;
  }
  return {
    db,
    url,
    embedded: embedded && { dataDir: config.dataDir, port: config.embeddedPort },
    migrated,
    close: async () => {
      await db.destroy();
      await embedded?.stop();
    },
  };
}

/**
 * Migrations run on a pool of their own without statement and lock timeouts: an index build on a
 * large table, or waiting for another replica's migration lock, may rightly take longer than a request.
 */
async function migrate(url: string, config: Config): Promise<string[]> {
  const db = createDb(url, 1, { ...config.dbTimeouts, statementMs: 0, lockMs: 0, acquireMs: 0 });
  try {
    return await migrateToLatest(db);
  } finally {
    await db.destroy();
  }
}

async function requireMigrated(db: Db): Promise<void> {
  const { pending } = await migrationStatus(db);
  if (pending.length === 0) return;
  throw new MigrationsPendingError(
    `the database has ${pending.length} pending migration(s) (${pending.join(', ')}) and EMPLACE_MIGRATE_ON_START=false: run \`emplace db sync\` first`,
  );
}

async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  const admin = createDb(adminUrl, 1);
  try {
    const found = await admin.raw('SELECT 1 FROM pg_database WHERE datname = ?', [name]);
    if (found.rows.length === 0) await admin.raw(`CREATE DATABASE ${name}`);
  } finally {
    await admin.destroy();
  }
}
