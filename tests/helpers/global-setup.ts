import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createDb } from '../../src/db/knex';
import { migrateToLatest } from '../../src/db/migrate';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../src/db/embedded';
import { syncStandardCatalogue } from '../../src/repo/catalogue-sync';
import { freePort } from './service-process';

declare global {
  var __EMPLACE_EMBEDDED__:
    { server?: EmbeddedServer; dataDir?: string; adminUrl: string; template: string } | undefined;
}

/**
 * Start one PostgreSQL for the whole run (embedded unless DATABASE_URL is set), migrate a template
 * database once, and tell test files where it is: each file clones the template for itself.
 */
export default async function globalSetup(): Promise<void> {
  let adminUrl = process.env.DATABASE_URL;
  let server: EmbeddedServer | undefined;
  let dataDir: string | undefined;
  if (!adminUrl) {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'emplace-test-pg-'));
    server = await startEmbeddedPostgres({ dataDir: path.join(dataDir, 'data'), port: await freePort(), fast: true });
    adminUrl = server.url();
  }
  const template = `emplace_tpl_${process.pid}_${Date.now()}`;
  const admin = createDb(adminUrl, 1);
  try {
    await admin.raw(`CREATE DATABASE ${template}`);
  } finally {
    await admin.destroy();
  }
  const db = createDb(withDatabase(adminUrl, template), 1);
  try {
    await migrateToLatest(db);
    await syncStandardCatalogue(db);
  } finally {
    await db.destroy();
  }
  process.env.EMPLACE_TEST_ADMIN_URL = adminUrl;
  process.env.EMPLACE_TEST_TEMPLATE = template;
  globalThis.__EMPLACE_EMBEDDED__ = { server, dataDir, adminUrl, template };
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
