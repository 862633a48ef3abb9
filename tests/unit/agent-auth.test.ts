import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  AuthRefusedError,
  AuthUnavailableError,
  authBody,
  fileToken,
  KeystoneSession,
  renewAt,
  tokenSource,
  tokensUrl,
  type KeystoneOptions,
} from '../../src/agent/auth';
import { loadAgentConfig } from '../../src/agent/config';
import type { HttpAnswer, HttpExchange } from '../../src/agent/transport';

/**
 * The parts of the Keystone login that need no Keystone: request shape, caching until shortly before
 * expires_at, one login for concurrent callers, and error messages that never carry the secret.
 * (The login against a real Keystone is in tests/integration/agent-keystone.test.ts once the Keystone helper exists.)
 */
const SECRET = 'pa55-w0rd-never-shown';
const HOUR = 3_600_000;

function keystone(answers: Array<(ex: HttpExchange) => HttpAnswer | Promise<HttpAnswer>>) {
  const sent: HttpExchange[] = [];
  let clock = Date.parse('2025-03-10T08:00:00Z');
  const options: KeystoneOptions = {
    authUrl: 'https://keystone.example.org:5000/v3/',
    credentials: {
      kind: 'password',
      username: 'agent',
      userDomainName: 'Default',
      projectName: 'service',
      projectDomainName: 'Default',
    },
    secret: () => SECRET,
    timeoutMs: 1000,
    now: () => clock,
    send: async (ex) => {
      sent.push(ex);
      const answer = answers.shift();
      if (!answer) throw new Error('no more answers');
      return answer(ex);
    },
  };
  return {
    session: new KeystoneSession(options),
    sent,
    advance: (ms: number) => (clock += ms),
    now: () => clock,
  };
}

const issued = (token: string, expiresInMs: number, now: () => number) => (): HttpAnswer => ({
  status: 201,
  headers: new Headers({ 'x-subject-token': token }),
  text: JSON.stringify({ token: { expires_at: new Date(now() + expiresInMs).toISOString() } }),
});

describe('Keystone login', () => {
  it('POSTs a project-scoped password login to <auth url>/auth/tokens and takes X-Subject-Token', async () => {
    const answers: Array<() => HttpAnswer> = [];
    const probe = keystone(answers);
    answers.push(issued('tok-1', HOUR, probe.now));
    expect(await probe.session.token()).toBe('tok-1');
    expect(probe.sent[0]).toMatchObject({ method: 'POST', url: 'https://keystone.example.org:5000/v3/auth/tokens' });
    expect(JSON.parse(probe.sent[0].body!)).toEqual(authBody(probe.session['options'].credentials, SECRET));
    expect(JSON.parse(probe.sent[0].body!).auth.scope).toEqual({
      project: { name: 'service', domain: { name: 'Default' } },
    });
  });

  it('builds an application credential login without a scope', () => {
    expect(authBody({ kind: 'application_credential', id: 'ac1' }, 's')).toEqual({
      auth: { identity: { methods: ['application_credential'], application_credential: { id: 'ac1', secret: 's' } } },
    });
    expect(tokensUrl('http://k:5000')).toBe('http://k:5000/v3/auth/tokens');
    expect(tokensUrl('http://k:5000/identity/v3')).toBe('http://k:5000/identity/v3/auth/tokens');
  });

  it('caches the token until shortly before expires_at, then logs in again', async () => {
    const answers: Array<() => HttpAnswer> = [];
    const k = keystone(answers);
    answers.push(issued('tok-1', HOUR, k.now), issued('tok-2', HOUR, k.now));
    expect(await k.session.token()).toBe('tok-1');
    k.advance(HOUR - 6 * 60_000);
    expect(await k.session.token()).toBe('tok-1');
    expect(k.sent).toHaveLength(1);
    k.advance(2 * 60_000); // now 4 minutes before expiry: inside the 5-minute margin
    expect(await k.session.token()).toBe('tok-2');
    expect(k.sent).toHaveLength(2);
  });

  it('renews a short-lived token half-way, never after it expired', () => {
    expect(renewAt(0, 10 * 60_000)).toBe(5 * 60_000);
    expect(renewAt(0, HOUR)).toBe(HOUR - 5 * 60_000);
    expect(renewAt(100, 50)).toBe(50);
  });

  it('logs in again after invalidate (a 401 from Emplace), and shares one login between concurrent callers', async () => {
    const answers: Array<() => HttpAnswer> = [];
    const k = keystone(answers);
    answers.push(issued('tok-1', HOUR, k.now), issued('tok-2', HOUR, k.now));
    const [a, b] = await Promise.all([k.session.token(), k.session.token()]);
    expect([a, b]).toEqual(['tok-1', 'tok-1']);
    expect(k.sent).toHaveLength(1);
    k.session.invalidate();
    expect(await k.session.token()).toBe('tok-2');
  });

  it('a refusal names the user, never the password; Keystone down is transient', async () => {
    const refused = keystone([
      () => ({
        status: 401,
        headers: new Headers(),
        text: JSON.stringify({ error: { message: 'The request you have made requires authentication.' } }),
      }),
    ]);
    const error = await refused.session.token().catch((e: Error) => e);
    expect(error).toBeInstanceOf(AuthRefusedError);
    expect((error as Error).message).toBe(
      'Keystone refused Keystone user agent@Default, project service@Default (HTTP 401: The request you have made requires authentication.)',
    );
    const down = keystone([
      () => {
        throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5000'), { code: 'ECONNREFUSED' });
      },
    ]);
    const unavailable = await down.session.token().catch((e: Error) => e);
    expect(unavailable).toBeInstanceOf(AuthUnavailableError);
    const busy = keystone([() => ({ status: 503, headers: new Headers(), text: '' })]);
    expect(await busy.session.token().catch((e: Error) => e)).toBeInstanceOf(AuthUnavailableError);
    for (const e of [error, unavailable]) expect(String((e as Error).message)).not.toContain(SECRET);
  });
});

describe('token files and the configured source', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'agent-auth-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('re-reads a token file on every call, and says which file is empty or missing', async () => {
    const file = path.join(dir, 'token');
    writeFileSync(file, 'first\n');
    const source = fileToken(file);
    expect(await source.token()).toBe('first');
    writeFileSync(file, 'second\n');
    expect(await source.token()).toBe('second');
    writeFileSync(file, '\n');
    await expect(source.token()).rejects.toThrow(`token file ${file} is empty`);
    await expect(fileToken(path.join(dir, 'none')).token()).rejects.toThrow(/ENOENT/);
  });

  it('picks the source the configuration names, with a secret-free description', () => {
    const secretFile = path.join(dir, 'secret');
    writeFileSync(secretFile, `${SECRET}\n`);
    const source = (argv: string[]) => tokenSource(loadAgentConfig({ argv, env: {} }).config);
    expect(source([]).description).toBe('noauth2 admin token');
    expect(source(['--token-file', '/t']).description).toBe('token file /t');
    const appCred = source([
      '--auth-url',
      'http://k/v3',
      '--application-credential-id',
      'ac-42',
      '--application-credential-secret-file',
      secretFile,
    ]);
    expect(appCred.description).toBe('Keystone application credential ac-42');
    expect((appCred as KeystoneSession)['options'].secret()).toBe(SECRET);
    const password = source([
      '--auth-url',
      'http://k/v3',
      '--username',
      'agent',
      '--password-file',
      secretFile,
      '--project-name',
      'service',
    ]);
    expect(password.description).not.toContain(SECRET);
  });
});
