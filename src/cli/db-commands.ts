import { parseArgs } from 'node:util';
import type { Config } from '../config';
import { openDatabase, type Database } from '../db/database';
import { migrationStatus } from '../db/migrate';
import { EXIT_FAILED, EXIT_OK, describeTarget, type CliIo } from './run-cli';

export const EXIT_PENDING = 2;
export const EXIT_NEWER = 3;

/** `emplace db sync | version | status`: Placement's `placement-manage db sync | version`, plus a status. */
export async function runDbCommand(argv: string[], config: Config, io: CliIo): Promise<number> {
  let positionals: string[];
  try {
    ({ positionals } = parseArgs({ args: argv, allowPositionals: true, options: {} }));
  } catch (error) {
    io.err(`emplace db: ${(error as Error).message}`);
    return EXIT_FAILED;
  }
  const [sub, ...extra] = positionals;
  if (!['sync', 'version', 'status'].includes(sub) || extra.length > 0) {
    io.err('usage: emplace db sync | version | status');
    return EXIT_FAILED;
  }
  let database: Database;
  try {
    database = await openDatabase(config, () => undefined, sub === 'sync' ? 'apply' : 'none');
  } catch (error) {
    io.err(`emplace db ${sub}: cannot open ${describeTarget(config)}: ${(error as Error).message}`);
    return EXIT_FAILED;
  }
  try {
    const status = await migrationStatus(database.db);
    if (sub === 'version') {
      io.out(status.applied.at(-1) ?? 'none');
      return EXIT_OK;
    }
    if (sub === 'sync') {
      io.out(`${describeTarget(config)}: migrated to ${status.applied.at(-1) ?? 'none'}`);
      return EXIT_OK;
    }
    io.out(`database: ${describeTarget(config)}`);
    for (const name of status.applied)
      io.out(`applied  ${name}${status.unknown.includes(name) ? '  (unknown to this release)' : ''}`);
    for (const name of status.pending) io.out(`pending  ${name}`);
    if (status.unknown.length > 0) {
      io.out(
        `the database was migrated by a newer release (${status.unknown.length} unknown migration(s)); run that release`,
      );
      return EXIT_NEWER;
    }
    if (status.pending.length > 0) {
      io.out(
        `${status.pending.length} pending: run \`emplace db sync\` (or start the service with EMPLACE_MIGRATE_ON_START=true)`,
      );
      return EXIT_PENDING;
    }
    io.out('up to date');
    return EXIT_OK;
  } finally {
    await database.close();
  }
}
