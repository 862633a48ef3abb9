import type { Config } from '../config';
import { startEmbeddedPostgres, type EmbeddedServer } from './embedded';
import { createDb, type Db } from './knex';
import { migrateToLatest } from './migrate';
import { syncStandardCatalogue } from '../repo/catalogue-sync';

export interface Database {
  db: Db;
  close(): Promise<void>;
}

const EMBEDDED_DATABASE = 'emplace';

/**
 * Connect to DATABASE_URL, or start the embedded server when it is unset; then migrate and sync
 * the standard catalogue so the service is ready to answer.
 */
export async function openDatabase(config: Config, log: (line: string) => void): Promise<Database> {
  let embedded: EmbeddedServer | undefined;
  let url = config.databaseUrl;
  if (!url) {
    embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPort, log });
    await ensureDatabase(embedded.url(), EMBEDDED_DATABASE);
    url = embedded.url(EMBEDDED_DATABASE);
  }
  const db = createDb(url, config.dbPoolSize);
  try {
    await migrateToLatest(db);
    await syncStandardCatalogue(db);
  } catch (error) {
    await db.destroy();
    await embedded?.stop();
    throw error;
  }
  return {
    db,
    close: async () => {
      await db.destroy();
      await embedded?.stop();
    },
  };
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
