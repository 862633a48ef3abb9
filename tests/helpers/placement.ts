import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { Client } from 'pg';
import { freePort } from './service-process';

/**
 * A real OpenStack Placement (Debian's placement-api package) for tests: installed with apt-get when
 * missing, its database made by `placement-manage db sync` on the machine's MariaDB
 * (127.0.0.1:3306, root, no password) or PostgreSQL (127.0.0.1:5432, trust), served by uwsgi on a
 * free loopback port with noauth2, and torn down with its database.
 */
export type PlacementBackend = 'mysql' | 'postgresql';

export interface PlacementServer {
  backend: PlacementBackend;
  /** http://127.0.0.1:port */
  url: string;
  /** placement.conf's [placement_database] connection (SQLAlchemy URL). */
  connection: string;
  configDir: string;
  /** placement-manage with this instance's configuration; resolves to its output. */
  manage(...args: string[]): Promise<string>;
  /** Run SQL on Placement's database directly (for rows Placement's API no longer writes). */
  sql(statement: string, params?: unknown[]): Promise<Array<Record<string, unknown>>>;
  stop(): Promise<void>;
}

const run = promisify(execFile);
const PACKAGES = ['placement-api', 'python3-pymysql', 'python3-psycopg2', 'uwsgi-core', 'uwsgi-plugin-python3'];
const PYTHON = '/usr/bin/python3';
const MYSQL = { host: '127.0.0.1', port: 3306, user: 'root' };
const POSTGRES = { host: '127.0.0.1', port: 5432, user: 'postgres' };
const START_TIMEOUT_MS = 120_000;

function installed(): boolean {
  const files = ['/usr/bin/placement-manage', '/usr/bin/placement-api', '/usr/bin/uwsgi'];
  if (!files.every((file) => fs.existsSync(file))) return false;
  if (!fs.readdirSync('/usr/lib/uwsgi/plugins').some((name) => /^python3\d*_plugin\.so$/.test(name))) return false;
  const probe = (module: string) => {
    try {
      execFileSync(PYTHON, ['-c', `import ${module}`], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  return probe('pymysql') && probe('psycopg2');
}

let installing: Promise<void> | undefined;

/** apt-get install what is missing (once per process); `apt-get update` first only when a package is not found. */
export function ensurePlacementInstalled(): Promise<void> {
  installing ??= (async () => {
    if (installed()) return;
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const install = () =>
      run('apt-get', ['-o', 'DPkg::Lock::Timeout=600', 'install', '-y', '--no-install-recommends', ...PACKAGES], {
        env,
        maxBuffer: 64 * 1024 * 1024,
        timeout: 15 * 60_000,
      });
    try {
      await install();
    } catch {
      await run('apt-get', ['-o', 'DPkg::Lock::Timeout=600', 'update'], { env, timeout: 10 * 60_000 });
      await install();
    }
    if (!installed()) throw new Error(`apt-get installed ${PACKAGES.join(' ')} but Placement is still not usable`);
  })();
  return installing;
}

export async function startPlacement(backend: PlacementBackend): Promise<PlacementServer> {
  await ensurePlacementInstalled();
  const database = `placement_t_${process.pid}_${randomBytes(3).toString('hex')}`;
  const connection =
    backend === 'mysql'
      ? `mysql+pymysql://${MYSQL.user}@${MYSQL.host}:${MYSQL.port}/${database}?charset=utf8mb4`
      : `postgresql+psycopg2://${POSTGRES.user}@${POSTGRES.host}:${POSTGRES.port}/${database}`;
  const sql = backend === 'mysql' ? mysqlRunner(database) : postgresRunner(database);
  await adminSql(backend, `CREATE DATABASE ${database}`);
  const configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'emplace-placement-'));
  let child: ChildProcess | undefined;
  const stop = async () => {
    if (child) await stopProcess(child);
    await sql.close();
    await adminSql(backend, `DROP DATABASE IF EXISTS ${database}${backend === 'postgresql' ? ' WITH (FORCE)' : ''}`);
    fs.rmSync(configDir, { recursive: true, force: true });
  };
  try {
    writeConfig(configDir, connection);
    const manage = async (...args: string[]) => {
      const { stdout, stderr } = await run(
        'placement-manage',
        ['--config-file', `${configDir}/placement.conf`, ...args],
        {
          env: { ...process.env, OS_PLACEMENT_CONFIG_DIR: configDir },
          timeout: 120_000,
        },
      );
      return stdout + stderr;
    };
    await manage('db', 'sync');
    const port = await freePort();
    child = startUwsgi(configDir, port);
    const url = `http://127.0.0.1:${port}`;
    await waitForPlacement(url, child, configDir);
    return { backend, url, connection, configDir, manage, sql: sql.query, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

function writeConfig(configDir: string, connection: string): void {
  // Empty policy file and directory of our own: Debian's /etc/placement/policy.d stays out of it.
  fs.mkdirSync(path.join(configDir, 'policy.d'));
  fs.writeFileSync(path.join(configDir, 'policy.yaml'), '# no overrides\n');
  fs.writeFileSync(
    path.join(configDir, 'placement.conf'),
    [
      '[DEFAULT]',
      'debug = false',
      '[api]',
      'auth_strategy = noauth2',
      '[placement_database]',
      `connection = ${connection}`,
      '[oslo_policy]',
      `policy_file = ${configDir}/policy.yaml`,
      `policy_dirs = ${configDir}/policy.d`,
      '',
    ].join('\n'),
  );
}

function startUwsgi(configDir: string, port: number): ChildProcess {
  const args = [
    '--plugins',
    'python3',
    '--http-socket',
    `127.0.0.1:${port}`,
    '--wsgi-file',
    '/usr/bin/placement-api',
    '--master',
    // Processes, not threads: Placement's eventlet-based libraries fail across threads
    // ("greenlet.error: cannot switch to a different thread"); each worker loads the app itself.
    '--processes',
    '2',
    '--threads',
    '1',
    '--lazy-apps',
    '--need-app',
    '--die-on-term',
    '--no-orphans',
    // uwsgi's http-socket closes every connection after the response; say so, or clients reuse it.
    '--add-header',
    'Connection: close',
    '--env',
    `OS_PLACEMENT_CONFIG_DIR=${configDir}`,
    '--logto',
    path.join(configDir, 'uwsgi.log'),
  ];
  const child = spawn('uwsgi', args, { stdio: 'ignore' });
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  child.once('exit', () => process.removeListener('exit', kill));
  return child;
}

async function waitForPlacement(url: string, child: ChildProcess, configDir: string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    try {
      const res = await fetch(`${url}/`, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) return;
    } catch {
      // not answering yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const log = fs.readFileSync(path.join(configDir, 'uwsgi.log'), 'utf8').split('\n').slice(-30).join('\n');
  throw new Error(`Placement did not answer at ${url} within ${START_TIMEOUT_MS / 1000} s:\n${log}`);
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

async function adminSql(backend: PlacementBackend, statement: string): Promise<void> {
  if (backend === 'mysql') {
    const admin = await mysql.createConnection({ ...MYSQL, connectTimeout: 10_000 });
    try {
      await admin.query(statement);
    } finally {
      await admin.end();
    }
    return;
  }
  const admin = new Client({ ...POSTGRES, database: 'postgres', connectionTimeoutMillis: 10_000 });
  await admin.connect();
  try {
    await admin.query(statement);
  } finally {
    await admin.end();
  }
}

interface SqlRunner {
  query(statement: string, params?: unknown[]): Promise<Array<Record<string, unknown>>>;
  close(): Promise<void>;
}

function mysqlRunner(database: string): SqlRunner {
  let pool: mysql.Pool | undefined;
  return {
    query: async (statement, params = []) => {
      pool ??= mysql.createPool({ ...MYSQL, database, connectionLimit: 2, dateStrings: true });
      const [rows] = await pool.query(statement, params);
      return Array.isArray(rows) ? (rows as Array<Record<string, unknown>>) : [];
    },
    close: async () => {
      await pool?.end();
    },
  };
}

function postgresRunner(database: string): SqlRunner {
  let client: Client | undefined;
  return {
    query: async (statement, params = []) => {
      if (!client) {
        client = new Client({ ...POSTGRES, database });
        await client.connect();
      }
      // Placement's SQL is MySQL-flavoured in tests (`?` placeholders); number them for PostgreSQL.
      let n = 0;
      return (
        await client.query(
          statement.replace(/\?/g, () => `$${++n}`),
          params,
        )
      ).rows;
    },
    close: async () => {
      await client?.end();
    },
  };
}
