import { readFileSync } from 'node:fs';
import type { AgentConfig } from './config';
import { describeNetworkError, exchange, type HttpExchange, type HttpAnswer } from './transport';

/**
 * Where the X-Auth-Token comes from. `invalidate` is called once after a 401 so the next `token()` fetches
 * (or re-reads) a fresh one. Implementations never put a secret into an error message or a log field.
 */
export interface TokenSource {
  token(): Promise<string>;
  invalidate(): void;
  /** Secret-free description for logs: "token file /etc/emplace/token", "Keystone user agent@Default". */
  readonly description: string;
}

/** Keystone is unreachable or answers 5xx: try again later, like the service being down. */
export class AuthUnavailableError extends Error {}
/** Keystone refused the credentials (or the file holding them is unreadable): an operator must act. */
export class AuthRefusedError extends Error {}

export function staticToken(token: string, description = 'static token'): TokenSource {
  return { token: async () => token, invalidate: () => undefined, description };
}

/** Re-read on every call, so rotating the file needs no restart. */
export function fileToken(file: string, read: (path: string) => string = (p) => readFileSync(p, 'utf8')): TokenSource {
  return {
    async token() {
      try {
        const token = read(file).trim();
        if (!token) throw new AuthRefusedError(`token file ${file} is empty`);
        return token;
      } catch (error) {
        if (error instanceof AuthRefusedError) throw error;
        throw new AuthRefusedError(`token file ${file}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`);
      }
    },
    invalidate: () => undefined,
    description: `token file ${file}`,
  };
}

export type KeystoneCredentials =
  | { kind: 'password'; username: string; userDomainName: string; projectName: string; projectDomainName: string }
  | { kind: 'application_credential'; id: string };

export interface KeystoneOptions {
  authUrl: string;
  credentials: KeystoneCredentials;
  /** Reads the password or the application credential secret, each login (so rotation works). */
  secret: () => string;
  caFile?: string;
  timeoutMs: number;
  now?: () => number;
  send?: (ex: HttpExchange) => Promise<HttpAnswer>;
}

/** Renew this long before `expires_at`, but never later than half-way through a short-lived token. */
export const RENEW_MARGIN_MS = 5 * 60 * 1000;

export function renewAt(issuedAt: number, expiresAt: number): number {
  const lifetime = Math.max(0, expiresAt - issuedAt);
  return expiresAt - Math.min(RENEW_MARGIN_MS, lifetime / 2);
}

/** `<auth url>/auth/tokens`, with /v3 added when the URL names the Keystone root. */
export function tokensUrl(authUrl: string): string {
  const base = authUrl.replace(/\/+$/, '');
  return `${/\/v3$/.test(base) ? base : `${base}/v3`}/auth/tokens`;
}

export function authBody(credentials: KeystoneCredentials, secret: string): unknown {
  if (credentials.kind === 'application_credential') {
    return {
      auth: {
        identity: { methods: ['application_credential'], application_credential: { id: credentials.id, secret } },
      },
    };
  }
  return {
    auth: {
      identity: {
        methods: ['password'],
        password: {
          user: { name: credentials.username, domain: { name: credentials.userDomainName }, password: secret },
        },
      },
      scope: { project: { name: credentials.projectName, domain: { name: credentials.projectDomainName } } },
    },
  };
}

interface TokenBody {
  token?: { expires_at?: string };
  error?: { message?: string };
}

/** A Keystone v3 token, obtained with POST /v3/auth/tokens and cached until shortly before it expires. */
export class KeystoneSession implements TokenSource {
  private cached?: { token: string; renewAt: number };
  private pending?: Promise<string>;
  readonly description: string;
  private readonly now: () => number;
  private readonly send: (ex: HttpExchange) => Promise<HttpAnswer>;
  private ca?: string;

  constructor(private readonly options: KeystoneOptions) {
    const c = options.credentials;
    this.description =
      c.kind === 'password'
        ? `Keystone user ${c.username}@${c.userDomainName}, project ${c.projectName}@${c.projectDomainName}`
        : `Keystone application credential ${c.id}`;
    this.now = options.now ?? Date.now;
    this.send = options.send ?? exchange;
  }

  async token(): Promise<string> {
    if (this.cached && this.now() < this.cached.renewAt) return this.cached.token;
    // One login at a time: requests waiting for a token share it.
    this.pending ??= this.login().finally(() => (this.pending = undefined));
    return this.pending;
  }

  invalidate(): void {
    this.cached = undefined;
  }

  private async login(): Promise<string> {
    const url = tokensUrl(this.options.authUrl);
    let secret: string;
    try {
      secret = this.options.secret();
    } catch (error) {
      throw new AuthRefusedError(`Keystone login: cannot read the secret: ${(error as Error).message}`);
    }
    if (this.options.caFile && this.ca === undefined) this.ca = readFileSync(this.options.caFile, 'utf8');
    const issuedAt = this.now();
    let answer: HttpAnswer;
    try {
      answer = await this.send({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/json', accept: 'application/json', 'user-agent': 'emplace-agent' },
        body: JSON.stringify(authBody(this.options.credentials, secret)),
        timeoutMs: this.options.timeoutMs,
        ca: this.ca,
      });
    } catch (error) {
      throw new AuthUnavailableError(`Keystone login at ${url}: ${describeNetworkError(error)}`);
    }
    const body = parse(answer.text);
    if (answer.status >= 500 || answer.status === 429)
      throw new AuthUnavailableError(`Keystone login at ${url}: HTTP ${answer.status}`);
    const token = answer.headers.get('x-subject-token');
    if (answer.status !== 201 || !token) {
      const why = body?.error?.message ? `: ${body.error.message}` : '';
      throw new AuthRefusedError(`Keystone refused ${this.description} (HTTP ${answer.status}${why})`);
    }
    const expiresAt = Date.parse(body?.token?.expires_at ?? '');
    // No usable expiry: use the token for this cycle's requests only.
    const renew = Number.isNaN(expiresAt) ? issuedAt : renewAt(issuedAt, expiresAt);
    this.cached = { token, renewAt: renew };
    return token;
  }
}

function parse(text: string): TokenBody | undefined {
  try {
    return JSON.parse(text) as TokenBody;
  } catch {
    return undefined;
  }
}

const readSecret = (file: string) => () => readFileSync(file, 'utf8').replace(/\r?\n$/, '');

/** The token source the configuration asks for; noauth2's `admin` when none is configured. */
export function tokenSource(config: AgentConfig): TokenSource {
  if (config.tokenFile) return fileToken(config.tokenFile);
  if (config.token !== undefined) return staticToken(config.token);
  if (!config.authUrl) return staticToken('admin', 'noauth2 admin token');
  const common = { authUrl: config.authUrl, caFile: config.caFile, timeoutMs: config.requestTimeoutMs };
  if (config.applicationCredentialId) {
    const inline = config.applicationCredentialSecret;
    return new KeystoneSession({
      ...common,
      credentials: { kind: 'application_credential', id: config.applicationCredentialId },
      secret: inline !== undefined ? () => inline : readSecret(config.applicationCredentialSecretFile!),
    });
  }
  const password = config.password;
  return new KeystoneSession({
    ...common,
    credentials: {
      kind: 'password',
      username: config.username!,
      userDomainName: config.userDomainName,
      projectName: config.projectName!,
      projectDomainName: config.projectDomainName,
    },
    secret: password !== undefined ? () => password : readSecret(config.passwordFile!),
  });
}
