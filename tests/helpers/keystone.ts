import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './service-process';

/**
 * A real Keystone on loopback (Debian's package, SQLite, fernet), one per test file: installed with apt-get
 * when missing, bootstrapped, served by uwsgi, with a service user (`placement`), nova's service user and
 * two project users. See /docs/authentication.md for what the service expects of it.
 */
export const PACKAGES = ['keystone', 'uwsgi-core', 'uwsgi-plugin-python3'];
const APT_ENV = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };

export function ensureInstalled(binaries: string[], packages: string[]): void {
  if (binaries.every((binary) => existsSync(binary))) return;
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env: APT_ENV, timeout: 300_000 });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], {
    stdio: 'ignore',
    env: APT_ENV,
    timeout: 600_000,
  });
}

export interface KeystoneUser {
  name: string;
  id: string;
  password: string;
  project: string;
  projectId: string;
}

export interface Keystone {
  /** http://127.0.0.1:<port>/v3 */
  url: string;
  dir: string;
  admin: KeystoneUser;
  /** The placement service user (admin and service on project `service`): Emplace's own credentials. */
  placement: KeystoneUser;
  /** nova's service user (service role on project `service`). */
  nova: KeystoneUser;
  alice: KeystoneUser;
  bob: KeystoneUser;
  /** A project-scoped token for `user`. */
  token(user: KeystoneUser): Promise<string>;
  systemToken(user: KeystoneUser): Promise<string>;
  revoke(token: string): Promise<void>;
  /** A v3 API call as admin; returns the parsed body. */
  call(method: string, apiPath: string, body?: unknown, token?: string): Promise<any>;
  applicationCredential(user: KeystoneUser, name: string): Promise<{ id: string; secret: string }>;
  stop(): Promise<void>;
}

export interface KeystoneOptions {
  /** [token] expiration, seconds. */
  tokenExpirationSeconds?: number;
  /** Registered as the `placement` service's public endpoint, first thing after start. */
  placementUrl?: string;
}

async function send(url: string, init: RequestInit): Promise<Response> {
  // uwsgi's http-socket now and then resets a connection: retry those, never a real answer.
  for (let attempt = 0; ; attempt++) {
    try {
      return await fetch(url, { ...init, headers: { connection: 'close', ...(init.headers ?? {}) } });
    } catch (error) {
      if (attempt >= 20) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/** Bumped when what the template holds changes. */
const TEMPLATE_VERSION = 1;
const ADMIN_PASSWORD = 'keystone-admin-secret';

function writeConf(dir: string, expirationSeconds: number): Promise<void> {
  return fs.writeFile(
    path.join(dir, 'keystone.conf'),
    [
      '[DEFAULT]',
      `log_file = ${path.join(dir, 'keystone.log')}`,
      '[database]',
      `connection = sqlite:///${path.join(dir, 'keystone.db')}`,
      '[identity]',
      // bcrypt's cheapest cost: every user creation and login hashes, and this is a throwaway server.
      'password_hash_rounds = 4',
      '[token]',
      'provider = fernet',
      `expiration = ${expirationSeconds}`,
      '[fernet_tokens]',
      `key_repository = ${path.join(dir, 'fernet-keys')}`,
      '[credential]',
      `key_repository = ${path.join(dir, 'credential-keys')}`,
      '',
    ].join('\n'),
  );
}

function serve(dir: string, port: number): ChildProcess {
  return spawn(
    'uwsgi',
    [
      '--plugin',
      'python3',
      '--http-socket',
      `127.0.0.1:${port}`,
      '--wsgi-file',
      '/usr/bin/keystone-wsgi-public',
      '--processes',
      '1',
      '--master',
      '--die-on-term',
      // http-socket does not keep connections alive; say so, or clients reuse them and get resets.
      '--add-header',
      'Connection: close',
      '--env',
      `OS_KEYSTONE_CONFIG_FILES=${path.join(dir, 'keystone.conf')}`,
    ],
    { stdio: 'ignore' },
  );
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/**
 * db_sync, bootstrap and the users take a minute on a busy machine, so they are done once per package
 * version into a template directory (under a lock dir, as test files start in parallel) that each start copies.
 */
async function template(): Promise<string> {
  const version = execFileSync('dpkg-query', ['-W', '-f', '${Version}', 'keystone'], { encoding: 'utf8' });
  const dir = path.join(
    os.tmpdir(),
    `emplace-keystone-template-${TEMPLATE_VERSION}-${version.replace(/[^\w.-]/g, '_')}`,
  );
  const lock = `${dir}.lock`;
  const deadline = Date.now() + 240_000;
  for (;;) {
    if (existsSync(path.join(dir, 'users.json'))) return dir;
    try {
      await fs.mkdir(lock);
      break;
    } catch {
      // A run killed while building leaves its lock behind: one older than the longest build is stale.
      const age =
        Date.now() -
        (await fs
          .stat(lock)
          .then((st) => st.mtimeMs)
          .catch(() => Date.now()));
      if (age > 600_000) await fs.rm(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`Keystone template lock ${lock} held for 4 minutes`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  try {
    if (existsSync(path.join(dir, 'users.json'))) return dir;
    const building = `${dir}.building`;
    await fs.rm(building, { recursive: true, force: true });
    await fs.mkdir(building);
    await writeConf(building, 3600);
    const conf = path.join(building, 'keystone.conf');
    const manage = (...args: string[]) =>
      execFileSync('keystone-manage', ['--config-file', conf, ...args], { stdio: 'ignore', timeout: 180_000 });
    const me = os.userInfo().username;
    const owner = ['--keystone-user', me, '--keystone-group', os.userInfo().uid === 0 ? 'root' : me];
    manage('db_sync');
    manage('fernet_setup', ...owner);
    manage('credential_setup', ...owner);
    manage('bootstrap', '--bootstrap-password', ADMIN_PASSWORD, '--bootstrap-public-url', 'http://127.0.0.1:5000/v3');
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/v3`;
    const child = serve(building, port);
    try {
      await waitForKeystone(url);
      const users = await populate(url);
      await fs.writeFile(path.join(building, 'users.json'), JSON.stringify(users));
    } finally {
      await stopProcess(child);
    }
    await fs.rm(path.join(building, 'keystone.log'), { force: true });
    await fs.rename(building, dir);
    return dir;
  } finally {
    await fs.rmdir(lock);
  }
}

type Users = Pick<Keystone, 'admin' | 'placement' | 'nova' | 'alice' | 'bob'>;

export async function startKeystone(options: KeystoneOptions = {}): Promise<Keystone> {
  ensureInstalled(['/usr/bin/keystone-manage', '/usr/lib/uwsgi/plugins/python3_plugin.so'], PACKAGES);
  const from = await template();
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'emplace-keystone-'));
  await fs.cp(from, dir, { recursive: true });
  await writeConf(dir, options.tokenExpirationSeconds ?? 3600);
  const users = JSON.parse(await fs.readFile(path.join(dir, 'users.json'), 'utf8')) as Users;
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/v3`;
  const child = serve(dir, port);
  const stop = async () => {
    await stopProcess(child);
    await fs.rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForKeystone(url);
    return await client(url, dir, users, stop, options.placementUrl);
  } catch (error) {
    await stop();
    throw error;
  }
}

async function waitForKeystone(url: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url, { headers: { connection: 'close' } })).status === 200) return;
    } catch {
      // not serving yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`Keystone at ${url} did not answer within 60 s`);
}

function passwordAuth(user: { name: string; password: string }, scope: unknown) {
  return {
    auth: {
      identity: {
        methods: ['password'],
        password: { user: { name: user.name, domain: { id: 'default' }, password: user.password } },
      },
      scope,
    },
  };
}

async function login(url: string, user: { name: string; password: string }, scope: unknown): Promise<string> {
  const res = await send(`${url}/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(passwordAuth(user, scope)),
  });
  if (res.status !== 201) throw new Error(`Keystone login of ${user.name}: HTTP ${res.status} ${await res.text()}`);
  return res.headers.get('x-subject-token')!;
}

async function adminCall(url: string, token: string, method: string, apiPath: string, body?: unknown) {
  // SQLite under Keystone now and then answers a write 500 "database is locked": give it a moment and repeat.
  for (let attempt = 0; ; attempt++) {
    const res = await send(`${url}${apiPath}`, {
      method,
      headers: { 'x-auth-token': token, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status === 500 && attempt < 5) {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      continue;
    }
    if (res.status >= 300) throw new Error(`Keystone ${method} ${apiPath}: HTTP ${res.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  }
}

const projectScope = (project: string) => ({ project: { name: project, domain: { id: 'default' } } });

/** The template's users and projects, created in order, never probing for what does not exist yet (SQLite locks). */
async function populate(url: string): Promise<Users> {
  const adminToken = await login(url, { name: 'admin', password: ADMIN_PASSWORD }, projectScope('admin'));
  const call = (method: string, apiPath: string, body?: unknown) => adminCall(url, adminToken, method, apiPath, body);
  const roles: Record<string, string> = {};
  for (const role of (await call('GET', '/roles')).roles) roles[role.name] = role.id;
  roles.service = (await call('POST', '/roles', { role: { name: 'service' } })).role.id;
  const project = async (name: string) =>
    (await call('POST', '/projects', { project: { name, domain_id: 'default' } })).project.id as string;
  const admin: KeystoneUser = {
    name: 'admin',
    password: ADMIN_PASSWORD,
    project: 'admin',
    projectId: (await call('GET', '/projects?name=admin')).projects[0].id,
    id: (await call('GET', '/users?name=admin')).users[0].id,
  };
  const projects = { service: await project('service'), p1: await project('p1'), p2: await project('p2') };
  const user = async (name: string, projectName: keyof typeof projects, roleNames: string[]): Promise<KeystoneUser> => {
    const password = `${name}-secret-${Math.random().toString(36).slice(2)}`;
    const id = (await call('POST', '/users', { user: { name, password, domain_id: 'default' } })).user.id as string;
    for (const role of roleNames)
      await call('PUT', `/projects/${projects[projectName]}/users/${id}/roles/${roles[role]}`);
    return { name, id, password, project: projectName, projectId: projects[projectName] };
  };
  return {
    admin,
    placement: await user('placement', 'service', ['admin', 'service']),
    nova: await user('nova', 'service', ['service']),
    alice: await user('alice', 'p1', ['member']),
    bob: await user('bob', 'p2', ['member']),
  };
}

async function client(
  url: string,
  dir: string,
  users: Users,
  stop: () => Promise<void>,
  placementUrl?: string,
): Promise<Keystone> {
  // A fresh admin token per call: tests may run Keystone with tokens that live only seconds.
  const adminLogin = () => login(url, users.admin, projectScope('admin'));
  const first = await adminLogin();
  if (placementUrl) {
    // Catalog writes come first: after a few logins, SQLite under Keystone tends to answer them "locked".
    const service = await adminCall(url, first, 'POST', '/services', {
      service: { type: 'placement', name: 'placement' },
    });
    await adminCall(url, first, 'POST', '/endpoints', {
      endpoint: { service_id: service.service.id, interface: 'public', url: placementUrl },
    });
  }
  return {
    url,
    dir,
    ...users,
    token: (u) => login(url, u, projectScope(u.project)),
    systemToken: (u) => login(url, u, { system: { all: true } }),
    revoke: async (token) => {
      const res = await send(`${url}/auth/tokens`, {
        method: 'DELETE',
        headers: { 'x-auth-token': await adminLogin(), 'x-subject-token': token },
      });
      if (res.status !== 204) throw new Error(`Keystone revoke: HTTP ${res.status}`);
    },
    call: async (method, apiPath, body, token) => adminCall(url, token ?? (await adminLogin()), method, apiPath, body),
    applicationCredential: async (u, name) => {
      const own = await login(url, u, projectScope(u.project));
      const answer = await adminCall(url, own, 'POST', `/users/${u.id}/application_credentials`, {
        application_credential: { name },
      });
      return { id: answer.application_credential.id, secret: answer.application_credential.secret };
    },
    stop,
  };
}
