import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { OWNER_TRAIT } from '../../src/agent/model';
import { authFailureCounts } from '../../src/auth/failures';
import { cliArgs, fakeHost, runCli } from '../helpers/agent-harness';
import { ensureInstalled, startKeystone, type Keystone } from '../helpers/keystone';
import { startTestServer, type TestServer } from '../helpers/server';
import { freePort } from '../helpers/service-process';

// The keystone strategy against a real Keystone (Debian's package on loopback, tests/helpers/keystone.ts).
// Short enough to wait for once, long enough that a token outlives a slow Keystone on a busy machine.
const EXPIRATION_SECONDS = 20;
let keystone: Keystone;
let api: TestServer;
let env: Record<string, string>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  // osc-placement's packages too, here where a fresh machine has the time to install them.
  ensureInstalled(
    ['/usr/bin/openstack', '/usr/lib/python3/dist-packages/osc_placement'],
    ['python3-openstackclient', 'python3-osc-placement'],
  );
  // Emplace's port is chosen first: Keystone's catalog names it as the placement endpoint (osc-placement).
  const port = await freePort();
  keystone = await startKeystone({
    tokenExpirationSeconds: EXPIRATION_SECONDS,
    placementUrl: `http://127.0.0.1:${port}`,
  });
  const policyFile = path.join(keystone.dir, 'policy.yaml');
  // An operator rule on service_roles, as oslo.context offers them: traits only for calls nova relays.
  await fs.writeFile(policyFile, '"placement:traits:list": "role:admin or service_roles:service"\n');
  env = {
    EMPLACE_AUTH_STRATEGY: 'keystone',
    EMPLACE_KEYSTONE_AUTH_URL: keystone.url,
    EMPLACE_KEYSTONE_USERNAME: 'placement',
    EMPLACE_KEYSTONE_PASSWORD: keystone.placement.password,
    EMPLACE_KEYSTONE_PROJECT_NAME: 'service',
    EMPLACE_KEYSTONE_TOKEN_CACHE_SECONDS: '2',
    EMPLACE_POLICY_FILE: policyFile,
  };
  api = await startTestServer(env, port);
}, 600_000);

afterAll(async () => {
  await api?.close();
  await keystone?.stop();
});

const get = (server: TestServer, url: string, headers: Record<string, string>, version = '1.39') =>
  server.request('GET', url, { version, headers });

describe('X-Auth-Token validated by Keystone', () => {
  it('a valid token names user, project and roles: a member reads its own project, not another (403)', async () => {
    const token = await keystone.token(keystone.alice);
    const own = await get(api, `/usages?project_id=${keystone.alice.projectId}`, { 'x-auth-token': token });
    expect(own.status).toBe(200);
    const other = await get(api, `/usages?project_id=${keystone.bob.projectId}`, { 'x-auth-token': token });
    expect(other.status).toBe(403);
    expect(other.body.errors[0].detail).toContain('Policy does not allow placement:usages to be performed.');
    // A member is neither admin nor service: providers are not for it.
    expect((await get(api, '/resource_providers', { 'x-auth-token': token })).status).toBe(403);
  });

  it("nova's service user (role service) manages providers", async () => {
    const token = await keystone.token(keystone.nova);
    const created = await api.request('POST', '/resource_providers', {
      version: '1.39',
      headers: { 'x-auth-token': token },
      body: { name: 'compute-ks-1' },
    });
    expect(created.status).toBe(200);
    expect((await get(api, '/resource_providers?name=compute-ks-1', { 'x-auth-token': token })).status).toBe(200);
  });

  it("no token, or one Keystone does not know: 401 in Placement's body with WWW-Authenticate naming Keystone", async () => {
    const before = authFailureCounts();
    for (const token of ['', 'gAAAAABnot-a-token']) {
      const headers = { 'x-auth-token': token };
      const res = await get(api, '/resource_providers', headers);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe(`Keystone uri="${keystone.url}"`);
      expect(res.body.errors[0]).toMatchObject({
        status: 401,
        title: 'Unauthorized',
        code: 'placement.undefined_code',
      });
      expect(res.body.errors[0].detail).toContain('The request you have made requires authentication.');
    }
    const after = authFailureCounts();
    expect(after.missing_token).toBe((before.missing_token ?? 0) + 1);
    expect(after.invalid_token).toBe((before.invalid_token ?? 0) + 1);
  });

  it('a revoked token is still served from the cache, and refused once the cache time (2 s) has passed', async () => {
    const token = await keystone.token(keystone.nova);
    expect((await get(api, '/resource_providers', { 'x-auth-token': token })).status).toBe(200);
    await keystone.revoke(token);
    expect((await get(api, '/resource_providers', { 'x-auth-token': token })).status).toBe(200);
    await sleep(2_100);
    expect((await get(api, '/resource_providers', { 'x-auth-token': token })).status).toBe(401);
  });

  it("a system-scoped token authenticates, and Placement's project-scoped rules refuse it (403)", async () => {
    const token = await keystone.systemToken(keystone.admin);
    const res = await get(api, '/resource_providers', { 'x-auth-token': token });
    expect(res.status).toBe(403);
  });
});

describe('X-Service-Token', () => {
  it("carries the service's roles to policy as service_roles; a user token alone does not", async () => {
    const user = await keystone.token(keystone.alice);
    const service = await keystone.token(keystone.nova);
    expect((await get(api, '/traits', { 'x-auth-token': user })).status).toBe(403);
    const relayed = await get(api, '/traits', { 'x-auth-token': user, 'x-service-token': service });
    expect(relayed.status).toBe(200);
  });

  it('an invalid service token is a 401, whatever the user token', async () => {
    const user = await keystone.token(keystone.alice);
    const res = await get(api, '/traits', { 'x-auth-token': user, 'x-service-token': 'gAAAAABbogus' });
    expect(res.status).toBe(401);
  });
});

describe('expiry (one wait for the whole block)', () => {
  it('an expired token is refused, unless a valid service token relays it (allow_expired); the service logs in again', async () => {
    const nova = await keystone.token(keystone.nova);
    const alice = await keystone.token(keystone.alice);
    const usages = `/usages?project_id=${keystone.alice.projectId}`;
    expect((await get(api, '/resource_providers', { 'x-auth-token': nova })).status).toBe(200);
    expect((await get(api, usages, { 'x-auth-token': alice })).status).toBe(200);
    await sleep(EXPIRATION_SECONDS * 1000 + 1_000);
    // The cache never outlives the expiry.
    expect((await get(api, '/resource_providers', { 'x-auth-token': nova })).status).toBe(401);
    expect((await get(api, usages, { 'x-auth-token': alice })).status).toBe(401);
    // The service's own token expired meanwhile too: it logs in again to validate these.
    const service = await keystone.token(keystone.nova);
    expect((await get(api, usages, { 'x-auth-token': alice, 'x-service-token': service })).status).toBe(200);
    expect((await get(api, '/resource_providers', { 'x-auth-token': service })).status).toBe(200);
  }, 60_000);
});

describe("the service's own credentials and reachability", () => {
  it('an application credential works as the service credentials', async () => {
    const credential = await keystone.applicationCredential(keystone.placement, 'emplace-service');
    const withAppCred = await startTestServer({
      EMPLACE_AUTH_STRATEGY: 'keystone',
      EMPLACE_KEYSTONE_AUTH_URL: keystone.url,
      EMPLACE_KEYSTONE_APPLICATION_CREDENTIAL_ID: credential.id,
      EMPLACE_KEYSTONE_APPLICATION_CREDENTIAL_SECRET: credential.secret,
    });
    try {
      const token = await keystone.token(keystone.nova);
      expect((await get(withAppCred, '/resource_providers', { 'x-auth-token': token })).status).toBe(200);
    } finally {
      await withAppCred.close();
    }
  });

  it('Keystone unreachable, or refusing the service credentials, is a 503, never a pass', async () => {
    const unreachable = await startTestServer({ ...env, EMPLACE_KEYSTONE_AUTH_URL: 'http://127.0.0.1:9/v3' });
    const refused = await startTestServer({ ...env, EMPLACE_KEYSTONE_PASSWORD: 'wrong-password' });
    try {
      const token = await keystone.token(keystone.nova);
      for (const server of [unreachable, refused]) {
        const res = await get(server, '/resource_providers', { 'x-auth-token': token });
        expect(res.status).toBe(503);
        expect(res.body.errors[0].detail).toContain('cannot validate the token now');
        expect(res.text).not.toContain('wrong-password');
      }
    } finally {
      await unreachable.close();
      await refused.close();
    }
  });

  it('repeated failed authentications from one address are answered 429 with Retry-After', async () => {
    const limited = await startTestServer({ ...env, EMPLACE_AUTH_FAILURE_LIMIT: '3' });
    try {
      for (let i = 0; i < 3; i++)
        expect((await get(limited, '/resource_providers', { 'x-auth-token': `bad-${i}` })).status).toBe(401);
      const token = await keystone.token(keystone.nova);
      const res = await get(limited, '/resource_providers', { 'x-auth-token': token });
      expect(res.status).toBe(429);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    } finally {
      await limited.close();
    }
  });
});

describe('the agent (src/agent) through Keystone', () => {
  const runAgent = async (name: string, identity: string[]) => {
    const host = fakeHost('sev-snp-cgroup2');
    try {
      const args = cliArgs({ url: api.baseUrl } as never, host, name, '--auth-url', keystone.url, ...identity);
      return await runCli(['--once', ...args], { EMPLACE_LOG_LEVEL: 'debug' });
    } finally {
      host.dispose();
    }
  };

  beforeAll(async () => {
    const admin = await keystone.token(keystone.placement);
    await api.request('PUT', `/traits/${OWNER_TRAIT}`, { version: '1.39', headers: { 'x-auth-token': admin } });
  });

  it('logs in with a password (from a file) and an application credential, and never prints either secret', async () => {
    const passwordFile = path.join(keystone.dir, 'agent-password');
    await fs.writeFile(passwordFile, `${keystone.nova.password}\n`);
    const byPassword = await runAgent('ks-agent-1.example.org', [
      '--username',
      'nova',
      '--password-file',
      passwordFile,
      '--project-name',
      'service',
    ]);
    expect(byPassword.code).toBe(0);
    const credential = await keystone.applicationCredential(keystone.nova, 'agent-host');
    const secretFile = path.join(keystone.dir, 'agent-secret');
    await fs.writeFile(secretFile, credential.secret);
    const byCredential = await runAgent('ks-agent-2.example.org', [
      '--application-credential-id',
      credential.id,
      '--application-credential-secret-file',
      secretFile,
    ]);
    expect(byCredential.code).toBe(0);
    for (const run of [byPassword, byCredential]) {
      expect(run.stdout + run.stderr).not.toContain(keystone.nova.password);
      expect(run.stdout + run.stderr).not.toContain(credential.secret);
    }
    const token = await keystone.token(keystone.nova);
    const listed = await get(api, '/resource_providers?name=ks-agent-2.example.org', { 'x-auth-token': token });
    expect(listed.body.resource_providers).toHaveLength(1);
  });
});

describe('osc-placement', () => {
  it('lists and creates providers through Keystone with --os-auth-type password', async () => {
    const osc = (...args: string[]) =>
      promisify(execFile)('/usr/bin/openstack', args, {
        timeout: 60_000,
        env: {
          PATH: process.env.PATH,
          HOME: keystone.dir,
          OS_AUTH_TYPE: 'password',
          OS_AUTH_URL: keystone.url,
          OS_USERNAME: 'nova',
          OS_PASSWORD: keystone.nova.password,
          OS_PROJECT_NAME: 'service',
          OS_USER_DOMAIN_NAME: 'Default',
          OS_PROJECT_DOMAIN_NAME: 'Default',
          OS_IDENTITY_API_VERSION: '3',
          OS_PLACEMENT_API_VERSION: '1.39',
        },
      });
    await osc('resource', 'provider', 'create', 'osc-made', '-f', 'json');
    const { stdout } = await osc('resource', 'provider', 'list', '--name', 'osc-made', '-f', 'json');
    expect(JSON.parse(stdout)).toEqual([expect.objectContaining({ name: 'osc-made', generation: 0 })]);
  }, 120_000);
});
