import fs from 'node:fs/promises';
import { createDb } from '../../src/db/knex';

/** Drop the template and every database a test file left behind, then stop the embedded server. */
export default async function globalTeardown(): Promise<void> {
  const state = globalThis.__EMPLACE_EMBEDDED__;
  if (!state) return;
  const admin = createDb(state.adminUrl, 1);
  try {
    const prefix = state.template.replace('emplace_tpl_', 'emplace_t_');
    const leftovers = await admin.raw('SELECT datname FROM pg_database WHERE datname = ? OR datname LIKE ?', [
      state.template,
      `${prefix}%`,
    ]);
    for (const { datname } of leftovers.rows as Array<{ datname: string }>) {
      await admin.raw(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
    }
  } finally {
    await admin.destroy();
  }
  await state.server?.stop();
  if (state.dataDir) await fs.rm(state.dataDir, { recursive: true, force: true });
}
