import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { buildService, freePort } from '../helpers/service-process';

// `npm start` end to end: the compiled service on an embedded PostgreSQL, stopped by SIGTERM, started again.
const root = path.resolve(__dirname, '../..');
let dataDir: string;

beforeAll(async () => {
  buildService();
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'emplace-main-'));
}, 120_000);

afterAll(async () => {
  await fs.rm(dataDir, { recursive: true, force: true });
});

interface Running {
  child: ChildProcess;
  exited: Promise<number | null>;
  output: () => string;
}

function startService(env: Record<string, string>): Running {
  const { DATABASE_URL: _ignored, ...inherited } = process.env;
  const child = spawn(process.execPath, ['dist/src/main.js'], { cwd: root, env: { ...inherited, ...env } });
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => output };
}

async function waitForVersions(port: number, running: Running): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`service did not answer within 60 s:\n${running.output()}`);
}

async function query(pgPort: number, sql: string): Promise<any[]> {
  const password = (await fs.readFile(path.join(dataDir, 'pg', 'emplace-password'), 'utf8')).trim();
  const client = new Client({
    host: '127.0.0.1',
    port: pgPort,
    user: 'postgres',
    password,
    database: 'emplace',
  });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

it('serves on embedded PostgreSQL, stops cleanly on SIGTERM, and reuses its data on the next start', async () => {
  const port = await freePort();
  const pgPort = await freePort();
  const env = {
    EMPLACE_PORT: String(port),
    EMPLACE_EMBEDDED_PG_PORT: String(pgPort),
    EMPLACE_DATA_DIR: path.join(dataDir, 'pg'),
  };

  const first = startService(env);
  await waitForVersions(port, first);
  const versions = (await (await fetch(`http://127.0.0.1:${port}/`)).json()) as {
    versions: Array<{ max_version: string }>;
  };
  expect(versions.versions[0].max_version).toBe('1.39');
  await query(pgPort, `INSERT INTO traits (name) VALUES ('CUSTOM_SURVIVES_RESTART')`);
  const migrationsBefore = await query(pgPort, 'SELECT name FROM knex_migrations ORDER BY id');

  first.child.kill('SIGTERM');
  expect(await first.exited).toBe(0);
  await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
  await expect(query(pgPort, 'SELECT 1')).rejects.toThrow();

  const second = startService(env);
  try {
    await waitForVersions(port, second);
    expect(await query(pgPort, `SELECT name FROM traits WHERE name = 'CUSTOM_SURVIVES_RESTART'`)).toHaveLength(1);
    expect(await query(pgPort, 'SELECT name FROM knex_migrations ORDER BY id')).toEqual(migrationsBefore);
  } finally {
    second.child.kill('SIGINT');
    expect(await second.exited).toBe(0);
  }
}, 180_000);

it('refuses to start with an unreadable or malformed policy file, before starting PostgreSQL', async () => {
  const bad = path.join(dataDir, 'policy.json');
  await fs.writeFile(bad, JSON.stringify({ 'placement:traits:list': 'role:admin or' }));
  for (const [file, message] of [
    [path.join(dataDir, 'missing.json'), 'EMPLACE_POLICY_FILE: cannot read policy file'],
    [bad, "EMPLACE_POLICY_FILE: invalid check string 'role:admin or': unexpected end"],
  ]) {
    const env = {
      EMPLACE_PORT: String(await freePort()),
      EMPLACE_DATA_DIR: path.join(dataDir, 'never'),
      EMPLACE_POLICY_FILE: file,
    };
    const running = startService(env);
    expect(await running.exited).toBe(1);
    expect(running.output()).toContain(`emplace failed to start: ${message}`);
  }
  await expect(fs.access(path.join(dataDir, 'never'))).rejects.toThrow();
}, 60_000);

it('with EMPLACE_MIGRATE_ON_START=false refuses to start while migrations are pending, naming `emplace db sync`', async () => {
  const adminUrl = process.env.EMPLACE_TEST_ADMIN_URL!;
  const name = `emplace_unmigrated_${process.pid}`;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  try {
    const port = await freePort();
    const env = { DATABASE_URL: url.toString(), EMPLACE_PORT: String(port), EMPLACE_MIGRATE_ON_START: 'false' };
    const refused = startService(env);
    expect(await refused.exited).toBe(1);
    const lines = refused.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^emplace failed to start: the database has \d+ pending migration\(s\) \(0001_create_schema, .*\) and EMPLACE_MIGRATE_ON_START=false: run `emplace db sync` first$/,
    );

    const sync = spawnSync(process.execPath, ['dist/src/cli/emplace.js', 'db', 'sync'], {
      cwd: root,
      env: { ...process.env, ...env },
      encoding: 'utf8',
    });
    expect(sync.status).toBe(0);
    const started = startService(env);
    try {
      await waitForVersions(port, started);
    } finally {
      started.child.kill('SIGTERM');
      expect(await started.exited).toBe(0);
    }
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}, 60_000);
