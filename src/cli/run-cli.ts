import { ConfigError, loadConfig, type Config } from '../config';
import { maskUrl } from '../import/source-url';
import { runCompareCommand } from './compare-command';
import { runDbCommand } from './db-commands';
import { runImportCommand } from './import-command';
import { runTokenCommand } from './token-command';

export interface CliIo {
  env: Record<string, string | undefined>;
  out(line: string): void;
  err(line: string): void;
}

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;

export const USAGE = `usage: emplace import-placement --from URL [--dry-run]
       emplace compare-placement --placement URL --emplace URL [--token TOKEN] [--versions LIST]
       emplace db sync | version | status
       emplace token create --name NAME [--roles ROLE,...] [--user USER] [--project PROJECT] [--file FILE]

  import-placement  copy a Placement database (placement.conf's [placement_database] connection,
                    MySQL/MariaDB or PostgreSQL) into Emplace's, in one transaction; --dry-run
                    prints what would be copied and writes nothing. Refused when Emplace's
                    database already holds data.
  compare-placement send every read of Placement's data to both services (each at its first
                    microversion, where it changes shape and the latest, or at --versions
                    1.0,1.14,latest) and print each difference; exit status 0 when there is
                    none. The token (default admin, for noauth2) goes to both;
                    --placement-token / --emplace-token set one each.
  db sync           apply pending migrations (placement-manage db sync)
  db version        print the last migration applied (placement-manage db version)
  db status         list applied and pending migrations; exit status 0 when nothing is pending,
                    2 when migrations are pending, 3 when the database was migrated by a newer
                    release
  token create      add an API token for EMPLACE_AUTH_STRATEGY=tokens; prints its secret once

Emplace's database is the service's: DATABASE_URL, or the embedded server in EMPLACE_DATA_DIR
(stop the service first: both would start it). Other settings come from the same EMPLACE_*
environment as the service.`;

/** The whole CLI as a function of its arguments and environment, returning the exit status. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    (command === undefined ? io.err : io.out)(USAGE);
    return command === undefined ? EXIT_FAILED : EXIT_OK;
  }
  let config: Config;
  try {
    config = loadConfig(io.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      io.err(`emplace: ${error.message}`);
      return EXIT_FAILED;
    }
    throw error;
  }
  if (command === 'import-placement') return runImportCommand(rest, config, io);
  if (command === 'db') return runDbCommand(rest, config, io);
  if (command === 'compare-placement') return runCompareCommand(rest, io);
  if (command === 'token') return runTokenCommand(rest, config, io);
  io.err(`emplace: unknown command '${command}'\n${USAGE}`);
  return EXIT_FAILED;
}

/** Where Emplace's data lives, for the first line of every command (password masked). */
export function describeTarget(config: Config): string {
  return config.databaseUrl
    ? maskUrl(config.databaseUrl)
    : `embedded PostgreSQL in ${config.dataDir} (port ${config.embeddedPort})`;
}

/** A bin's whole life: run the arguments on the process's streams, and set the exit status from the outcome. */
export function runAsProcess(name: string, argv: string[], detail: 'message' | 'stack'): void {
  runCli(argv, {
    env: process.env,
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  }).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`${name}: ${(error as Error)?.[detail] ?? String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
