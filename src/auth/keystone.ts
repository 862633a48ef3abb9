import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Request } from 'express';
import type { Logger } from 'pino';
import { AuthRefusedError, KeystoneSession, tokensUrl, type KeystoneCredentials } from '../agent/auth';
import { describeNetworkError, exchange, type HttpAnswer, type HttpExchange } from '../agent/transport';
import { ConfigError } from '../config';
import { HttpError } from '../errors/http-error';
import type { AuthContext } from '../http/context';
import type { KeystoneSettings } from './settings';
import { AuthRefused, headerToken, type AuthStrategy } from './strategy';

/** What a Keystone token names, from GET /v3/auth/tokens. */
export interface KeystoneIdentity {
  userId: string;
  userDomainId?: string;
  projectId?: string;
  projectDomainId?: string;
  domainId?: string;
  roles: string[];
  systemScope?: string;
  expiresAt: number;
}

/** Tokens remembered at most (valid and invalid together); the oldest entry goes first. */
const MAX_CACHED_TOKENS = 10_000;

export const KEYSTONE_UNAVAILABLE = 'The identity service cannot validate the token now; try again later.';

interface CacheEntry {
  identity?: KeystoneIdentity;
  until: number;
}

export interface KeystoneStrategyOptions {
  now?: () => number;
  send?: (ex: HttpExchange) => Promise<HttpAnswer>;
}

/**
 * keystonemiddleware's auth_token in one module: X-Auth-Token (and X-Service-Token) validated with
 * GET /v3/auth/tokens under the service's own token, answers cached (docs/decisions/1000-keystone-token-cache.md).
 * Keystone unreachable or refusing the service's credentials is a 503, never a pass.
 */
export function keystoneStrategy(
  settings: KeystoneSettings,
  logger: Logger,
  options: KeystoneStrategyOptions = {},
): AuthStrategy {
  const now = options.now ?? Date.now;
  const send = retryingResets(options.send ?? exchange);
  const ca = readCa(settings.caFile);
  const session = new KeystoneSession({
    authUrl: settings.authUrl,
    credentials: serviceCredentials(settings),
    secret: () => settings.applicationCredentialSecret ?? settings.password!,
    caFile: settings.caFile,
    timeoutMs: settings.timeoutMs,
    now,
    send,
  });
  const cache = new Map<string, CacheEntry>();
  const pending = new Map<string, Promise<KeystoneIdentity | undefined>>();
  const wwwAuthenticate = { 'www-authenticate': `Keystone uri="${settings.wwwAuthenticateUri}"` };
  const unavailable = (why: string) => {
    logger.error({ keystone: settings.authUrl, why }, 'cannot validate tokens with Keystone');
    return new HttpError(503, KEYSTONE_UNAVAILABLE);
  };

  async function ask(token: string, allowExpired: boolean): Promise<KeystoneIdentity | undefined> {
    const url = `${tokensUrl(settings.authUrl)}${allowExpired ? '?allow_expired=1' : ''}`;
    for (let attempt = 0; attempt < 2; attempt++) {
      let serviceToken: string;
      try {
        serviceToken = await session.token();
      } catch (error) {
        throw unavailable(
          error instanceof AuthRefusedError ? `the service's credentials: ${error.message}` : (error as Error).message,
        );
      }
      let answer: HttpAnswer;
      try {
        answer = await send({
          method: 'GET',
          url,
          headers: { 'x-auth-token': serviceToken, 'x-subject-token': token, accept: 'application/json' },
          timeoutMs: settings.timeoutMs,
          ca,
        });
      } catch (error) {
        throw unavailable(describeNetworkError(error));
      }
      if (answer.status === 200) return identityFrom(answer.text) ?? fail(`unreadable token answer`);
      // Expired, revoked, malformed or unknown: Keystone says 404 (400 for some malformed ones).
      if (answer.status === 404 || answer.status === 400) return undefined;
      // The service's own token expired or was revoked: log in again, once.
      if (answer.status === 401 && attempt === 0) {
        session.invalidate();
        continue;
      }
      throw unavailable(`GET /v3/auth/tokens answered HTTP ${answer.status}`);
    }
    throw unavailable('the service token is refused right after login');
    function fail(why: string): never {
      throw unavailable(why);
    }
  }

  /** A cached answer while it holds, else one question to Keystone shared by concurrent requests. */
  async function validate(token: string, allowExpired: boolean): Promise<KeystoneIdentity | undefined> {
    const key = `${allowExpired ? 'e' : 'v'}:${createHash('sha256').update(token).digest('hex')}`;
    const cached = cache.get(key);
    const at = now();
    if (cached && at < cached.until && (!cached.identity || allowExpired || at < cached.identity.expiresAt))
      return cached.identity;
    let asking = pending.get(key);
    if (!asking) {
      asking = ask(token, allowExpired).finally(() => pending.delete(key));
      pending.set(key, asking);
    }
    const identity = await asking;
    const answeredAt = now();
    const until = identity
      ? Math.min(answeredAt + settings.tokenCacheSeconds * 1000, allowExpired ? Infinity : identity.expiresAt)
      : answeredAt + settings.invalidTokenCacheSeconds * 1000;
    cache.delete(key);
    if (until > answeredAt) {
      if (cache.size >= MAX_CACHED_TOKENS) cache.delete(cache.keys().next().value!);
      cache.set(key, { identity, until });
    }
    if (identity && !allowExpired && answeredAt >= identity.expiresAt) return undefined;
    return identity;
  }

  return {
    name: 'keystone',
    async authenticate(req: Request): Promise<AuthContext> {
      const token = headerToken(req, 'x-auth-token');
      if (token === undefined) throw new AuthRefused('missing_token', wwwAuthenticate);
      const serviceToken = headerToken(req, 'x-service-token');
      let service: KeystoneIdentity | undefined;
      let serviceHasRoles = false;
      if (serviceToken !== undefined) {
        service = await validate(serviceToken, false);
        if (!service) throw new AuthRefused('invalid_service_token', wwwAuthenticate);
        serviceHasRoles = service.roles.some((role) => settings.serviceTokenRoles.includes(role));
        if (!serviceHasRoles && settings.serviceTokenRolesRequired)
          throw new AuthRefused('service_token_without_roles', wwwAuthenticate);
        if (!serviceHasRoles)
          logger.warn({ serviceUserId: service.userId }, 'X-Service-Token without any of the service token roles');
      }
      // As keystonemiddleware: a valid service token with the service roles lets an expired user token through.
      const user = await validate(token, serviceHasRoles);
      if (!user) throw new AuthRefused('invalid_token', wwwAuthenticate);
      return {
        userId: user.userId,
        projectId: user.projectId,
        roles: user.roles,
        systemScope: user.systemScope,
        userDomainId: user.userDomainId,
        projectDomainId: user.projectDomainId,
        domainId: user.domainId,
        ...(service
          ? { serviceRoles: service.roles, serviceUserId: service.userId, serviceProjectId: service.projectId }
          : {}),
      };
    },
    async reload() {
      cache.clear();
    },
  };
}

/**
 * A kept-alive connection the server closed meanwhile fails with ECONNRESET/EPIPE before any answer: ask again
 * on a new one, twice at most (keystonemiddleware retries too: http_request_max_retries).
 */
function retryingResets(send: (ex: HttpExchange) => Promise<HttpAnswer>) {
  return async (ex: HttpExchange): Promise<HttpAnswer> => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await send(ex);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (attempt >= 2 || (code !== 'ECONNRESET' && code !== 'EPIPE')) throw error;
      }
    }
  };
}

function serviceCredentials(settings: KeystoneSettings): KeystoneCredentials {
  if (settings.applicationCredentialId) return { kind: 'application_credential', id: settings.applicationCredentialId };
  return {
    kind: 'password',
    username: settings.username!,
    userDomainName: settings.userDomainName,
    projectName: settings.projectName!,
    projectDomainName: settings.projectDomainName,
  };
}

function readCa(file: string | undefined): string | undefined {
  if (!file) return undefined;
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`EMPLACE_KEYSTONE_CA_FILE: cannot read ${file} (${(error as NodeJS.ErrnoException).code})`);
  }
}

interface TokenAnswer {
  token?: {
    expires_at?: string;
    user?: { id?: string; domain?: { id?: string } };
    project?: { id?: string; domain?: { id?: string } };
    domain?: { id?: string };
    roles?: Array<{ name?: string }>;
    system?: { all?: boolean };
  };
}

/** The fields policy needs from a v3 token; undefined when the answer is not one. */
export function identityFrom(text: string): KeystoneIdentity | undefined {
  let body: TokenAnswer;
  try {
    body = JSON.parse(text) as TokenAnswer;
  } catch {
    return undefined;
  }
  const token = body?.token;
  const expiresAt = Date.parse(token?.expires_at ?? '');
  if (!token?.user?.id || Number.isNaN(expiresAt)) return undefined;
  return {
    userId: token.user.id,
    userDomainId: token.user.domain?.id,
    projectId: token.project?.id,
    projectDomainId: token.project?.domain?.id,
    domainId: token.domain?.id,
    roles: (token.roles ?? []).map((role) => role.name).filter((name): name is string => typeof name === 'string'),
    systemScope: token.system?.all ? 'all' : undefined,
    expiresAt,
  };
}
