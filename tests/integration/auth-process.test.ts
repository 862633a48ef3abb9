import { execFile, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { OWNER_TRAIT } from '../../src/agent/model';
import { cliArgs, fakeHost, runCli } from '../helpers/agent-harness';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { buildService, freePort, root, startService, type ServiceProcess } from '../helpers/service-process';

// The compiled service as a real process: the tokens strategy (create, use, revoke by removal + SIGHUP),
// HTTPS with a CA made here (curl --cacert, certificate reloaded on SIGHUP), no secret in its logs, and
// noauth2 refused on a network address. One file, so the service is compiled once.
const run = promisify(execFile);
let dir: string;
let database: TestDatabase;
let databaseUrl: string;
const DB_PASSWORD = `db-pw-${randomUUID()}`;
const DB_ROLE = `emplace_secret_${process.pid}`;

async function makeCa(name: string): Promise<{ ca: string; cert: string; key: string }> {
  const file = (suffix: string) => path.join(dir, `${name}-${suffix}`);
  const openssl = (...args: string[]) => run('openssl', args, { cwd: dir });
  await openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    `/CN=${name} test CA`,
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.pem'),
  );
  await openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=127.0.0.1',
    '-keyout',
    file('server.key'),
    '-out',
    file('server.csr'),
  );
  await fs.writeFile(file('ext'), 'subjectAltName=IP:127.0.0.1\n');
  await openssl(
    'x509',
    '-req',
    '-in',
    file('server.csr'),
    '-CA',
    file('ca.pem'),
    '-CAkey',
    file('ca.key'),
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    file('ext'),
    '-out',
    file('server.pem'),
  );
  return { ca: file('ca.pem'), cert: file('server.pem'), key: file('server.key') };
}

function createToken(args: string[]): { secret: string; stderr: string } {
  const result = spawnSync(process.execPath, ['dist/src/cli/emplace-token.js', 'create', ...args], {
    cwd: root,
    encoding: 'utf8',
  });
  expect(result.status).toBe(0);
  return { secret: result.stdout.trim(), stderr: result.stderr };
}

async function curl(url: string, token: string, ca?: string, extra: string[] = []) {
  const args = ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-H', `x-auth-token: ${token}`, ...extra, url];
  if (ca) args.unshift('--cacert', ca);
  try {
    return (await run('curl', args)).stdout;
  } catch (error) {
    return `curl exit ${(error as { code: number }).code}`;
  }
}

async function waitForLog(service: ServiceProcess, text: string, count: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (service.output().split(text).length - 1 < count) {
    if (Date.now() > deadline) throw new Error(`no '${text}' in:\n${service.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

beforeAll(async () => {
  buildService();
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'emplace-auth-process-'));
  database = await createTestDatabase();
  // A role with a password of its own, so the grep below can look for it.
  const admin = new Client({ connectionString: process.env.EMPLACE_TEST_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE ROLE ${DB_ROLE} LOGIN SUPERUSER PASSWORD '${DB_PASSWORD}'`);
  await admin.end();
  const url = new URL(database.url);
  url.username = DB_ROLE;
  url.password = DB_PASSWORD;
  databaseUrl = url.toString();
}, 300_000);

afterAll(async () => {
  await database.drop();
  const admin = new Client({ connectionString: process.env.EMPLACE_TEST_ADMIN_URL });
  await admin.connect();
  await admin.query(`DROP ROLE IF EXISTS ${DB_ROLE}`);
  await admin.end();
  await fs.rm(dir, { recursive: true, force: true });
});

it('tokens over HTTPS: create, use, revoke by removal + SIGHUP, new certificate on SIGHUP, and no secret in the logs', async () => {
  const tokensFile = path.join(dir, 'tokens');
  const agent = createToken([
    '--name',
    'agent-host42',
    '--roles',
    'service',
    '--project',
    'agents',
    '--file',
    tokensFile,
  ]);
  const scheduler = createToken(['--name', 'scheduler', '--roles', 'admin', '--file', tokensFile]);
  expect(agent.secret).toMatch(/^emp_[0-9a-f]{16}_[\w-]{43}$/);
  expect(agent.stderr).toContain("added 'agent-host42'");
  const stored = await fs.readFile(tokensFile, 'utf8');
  expect(stored).not.toContain(agent.secret);
  // The random part is base64url and may itself hold '_': take everything after `emp_<id>_`.
  expect(stored).not.toContain(agent.secret.slice(agent.secret.indexOf('_', 'emp_'.length) + 1));
  expect((await fs.stat(tokensFile)).mode & 0o777).toBe(0o600);

  const first = await makeCa('first');
  const cert = path.join(dir, 'server.pem');
  const key = path.join(dir, 'server.key');
  await fs.copyFile(first.cert, cert);
  await fs.copyFile(first.key, key);
  const port = await freePort();
  const service = await startService({
    DATABASE_URL: databaseUrl,
    EMPLACE_LOG_LEVEL: 'debug',
    EMPLACE_AUTH_STRATEGY: 'tokens',
    EMPLACE_TOKENS_FILE: tokensFile,
    EMPLACE_TLS_CERT_FILE: cert,
    EMPLACE_TLS_KEY_FILE: key,
    EMPLACE_WORKERS: '1',
    EMPLACE_PORT: String(port),
  });
  const base = `https://127.0.0.1:${port}`;
  try {
    await service.listening();
    const providers = `${base}/resource_providers`;
    expect(await curl(providers, agent.secret, first.ca)).toBe('200');
    expect(await curl(providers, scheduler.secret, first.ca)).toBe('200');
    expect(await curl(providers, `${agent.secret.slice(0, -1)}x`, first.ca)).toBe('401');
    expect(await curl(providers, 'admin', first.ca)).toBe('401');
    // Without the test CA, curl does not trust the service (exit 60: certificate problem).
    expect(await curl(providers, agent.secret)).toBe('curl exit 60');

    // nova's request id, and the caller by name in the access log line.
    const globalId = `req-${randomUUID()}`;
    expect(await curl(providers, agent.secret, first.ca, ['-H', `x-openstack-request-id: ${globalId}`])).toBe('200');
    await waitForLog(service, globalId, 1);
    const line = JSON.parse(
      service
        .output()
        .split('\n')
        .find((l) => l.includes(globalId))!,
    );
    expect(line).toMatchObject({
      msg: 'request',
      globalRequestId: globalId,
      userId: 'agent-host42',
      projectId: 'agents',
    });
    expect(line.requestId).not.toBe(globalId);

    // The agent over HTTPS with --ca-file and its token in a file, never printing it.
    expect(
      await curl(`${base}/traits/${OWNER_TRAIT}`, scheduler.secret, first.ca, [
        '-X',
        'PUT',
        '-H',
        'openstack-api-version: placement 1.39',
      ]),
    ).toBe('201');
    const tokenFile = path.join(dir, 'agent-token');
    await fs.writeFile(tokenFile, `${agent.secret}\n`);
    const host = fakeHost('sev-snp-cgroup2');
    try {
      const args = cliArgs({ url: base } as never, host, 'tls-agent.example.org', '--token-file', tokenFile);
      const withoutCa = await runCli(['--once', ...args]);
      expect(withoutCa.code).not.toBe(0);
      const withCa = await runCli(['--once', ...args, '--ca-file', first.ca], { EMPLACE_LOG_LEVEL: 'debug' });
      expect(withCa.code).toBe(0);
      expect(withCa.stdout + withCa.stderr + withoutCa.stdout + withoutCa.stderr).not.toContain(agent.secret);
    } finally {
      host.dispose();
    }

    // Revoke the agent's token: remove its line, SIGHUP; requests during the reload keep being answered.
    await fs.writeFile(
      tokensFile,
      stored
        .split('\n')
        .filter((l) => !l.includes('"agent-host42"'))
        .join('\n'),
    );
    const during = Array.from({ length: 20 }, () => curl(providers, scheduler.secret, first.ca));
    service.child.kill('SIGHUP');
    expect(new Set(await Promise.all(during))).toEqual(new Set(['200']));
    await waitForLog(service, 'SIGHUP: reloaded', 1);
    expect(await curl(providers, agent.secret, first.ca)).toBe('401');
    expect(await curl(providers, scheduler.secret, first.ca)).toBe('200');

    // A certificate from another CA, loaded on SIGHUP: new connections get it.
    const second = await makeCa('second');
    await fs.copyFile(second.cert, cert);
    await fs.copyFile(second.key, key);
    service.child.kill('SIGHUP');
    await waitForLog(service, 'SIGHUP: reloaded', 2);
    expect(await curl(providers, scheduler.secret, second.ca)).toBe('200');
    expect(await curl(providers, scheduler.secret, first.ca)).toBe('curl exit 60');
  } finally {
    expect((await service.stop()).code).toBe(0);
  }
  const output = service.output();
  expect(output).toContain('"msg":"request"');
  for (const secret of [agent.secret, scheduler.secret, DB_PASSWORD, agent.secret.split('_')[2]])
    expect(output).not.toContain(secret);
}, 120_000);

describe('noauth2 on a network address', () => {
  it('refuses to start with noauth2 on a non-loopback address, before opening the database', async () => {
    const service = await startService({
      EMPLACE_HOST: '0.0.0.0',
      DATABASE_URL: database.url,
      EMPLACE_WORKERS: '1',
      EMPLACE_PORT: String(await freePort()),
    });
    expect(await service.exited).toBe(1);
    expect(service.output()).toContain(
      'emplace failed to start: EMPLACE_AUTH_STRATEGY=noauth2 on 0.0.0.0 would let anyone on the network act as admin',
    );
    expect(service.output()).toContain('EMPLACE_ALLOW_NOAUTH_ON_NETWORK=true');
  });

  it('starts on a network address with EMPLACE_ALLOW_NOAUTH_ON_NETWORK=true, and warns that it does', async () => {
    const port = await freePort();
    const service = await startService({
      EMPLACE_HOST: '0.0.0.0',
      EMPLACE_ALLOW_NOAUTH_ON_NETWORK: 'true',
      DATABASE_URL: database.url,
      EMPLACE_WORKERS: '1',
      EMPLACE_PORT: String(port),
    });
    try {
      await service.listening();
      const warning = service
        .output()
        .split('\n')
        .find((line) => line.includes('noauth2 on a network address'));
      expect(JSON.parse(warning!)).toMatchObject({ level: 'warn', host: '0.0.0.0', authStrategy: 'noauth2' });
      const res = await fetch(`http://127.0.0.1:${port}/resource_providers`, { headers: { 'x-auth-token': 'admin' } });
      expect(res.status).toBe(200);
    } finally {
      expect((await service.stop()).code).toBe(0);
    }
  });

  it('on loopback, noauth2 starts without the warning', async () => {
    const service = await startService({
      DATABASE_URL: database.url,
      EMPLACE_WORKERS: '1',
      EMPLACE_PORT: String(await freePort()),
    });
    try {
      await service.listening();
      expect(service.output()).not.toContain('noauth2 on a network address');
    } finally {
      expect((await service.stop()).code).toBe(0);
    }
  });
});
