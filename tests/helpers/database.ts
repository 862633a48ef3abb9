import { randomBytes } from 'node:crypto';
import { createDb, type Db } from '../../src/db/knex';
import { withDatabase } from './global-setup';

export interface TestDatabase {
  db: Db;
  url: string;
  drop(): Promise<void>;
}

/** A fresh, migrated database for one test file: a clone of the run's template. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = process.env.EMPLACE_TEST_ADMIN_URL;
  const template = process.env.EMPLACE_TEST_TEMPLATE;
  if (!adminUrl || !template) throw new Error('tests must run under jest with tests/helpers/global-setup.ts');
  const name = `${template.replace('emplace_tpl_', 'emplace_t_')}_${randomBytes(4).toString('hex')}`;
  await withAdmin(adminUrl, (admin) => admin.raw(`CREATE DATABASE ${name} TEMPLATE ${template}`));
  const url = withDatabase(adminUrl, name);
  const db = createDb(url, 20);
  return {
    db,
    url,
    drop: async () => {
      await db.destroy();
      await withAdmin(adminUrl, (admin) => admin.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

async function withAdmin<T>(adminUrl: string, work: (admin: Db) => Promise<T>): Promise<T> {
  const admin = createDb(adminUrl, 1);
  try {
    // CREATE DATABASE ... TEMPLATE fails while another session is connected to the template;
    // files start in parallel, so retry briefly.
    for (let attempt = 0; ; attempt++) {
      try {
        return await work(admin);
      } catch (error) {
        if (attempt >= 20 || !String((error as Error).message).includes('being accessed by other users')) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 200));
      }
    }
  } finally {
    await admin.destroy();
  }
}
