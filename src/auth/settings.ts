import { boolean, ConfigError, integer, list, type Env } from '../config';

export const AUTH_STRATEGIES = ['keystone', 'tokens', 'noauth2'] as const;
export type AuthStrategyName = (typeof AUTH_STRATEGIES)[number];

/** keystonemiddleware's [keystone_authtoken] in Emplace's names (docs/authentication.md maps them). */
export interface KeystoneSettings {
  authUrl: string;
  /** The service's own credentials: a password user, or an application credential. */
  username?: string;
  password?: string;
  projectName?: string;
  userDomainName: string;
  projectDomainName: string;
  applicationCredentialId?: string;
  applicationCredentialSecret?: string;
  /** PEM bundle trusted for Keystone on top of the system CAs (cafile). */
  caFile?: string;
  /** Every call to Keystone gives up after this (http_connect_timeout, but over the whole exchange). */
  timeoutMs: number;
  /** How long a valid token is trusted without asking Keystone again (token_cache_time); never past its expiry. */
  tokenCacheSeconds: number;
  /** How long a refused token stays refused without asking Keystone again. */
  invalidTokenCacheSeconds: number;
  /** service_token_roles / service_token_roles_required. */
  serviceTokenRoles: string[];
  serviceTokenRolesRequired: boolean;
  /** www_authenticate_uri: named in the 401's WWW-Authenticate header; defaults to authUrl. */
  wwwAuthenticateUri: string;
}

export interface IdentitySettings {
  strategy: AuthStrategyName;
  /** noauth2 on a non-loopback address is refused unless this is set. */
  allowNoauthOnNetwork: boolean;
  keystone?: KeystoneSettings;
  /** The tokens strategy's file of hashed API tokens. */
  tokensFile: string;
  tlsCertFile?: string;
  tlsKeyFile?: string;
  /** Peers whose X-Forwarded-Proto/Forwarded/X-Forwarded-For are believed: addresses, or `loopback`. */
  trustedProxies: string[];
  /** The URL path Emplace is served under behind a proxy (`/placement`), '' for the root. */
  pathPrefix: string;
  /** Failed authentications per client address within the window before answering 429; 0 is off. */
  authFailureLimit: number;
  authFailureWindowSeconds: number;
}

function keystoneSettings(env: Env): KeystoneSettings {
  const authUrl = env.EMPLACE_KEYSTONE_AUTH_URL;
  if (!authUrl) throw new ConfigError('EMPLACE_AUTH_STRATEGY=keystone needs EMPLACE_KEYSTONE_AUTH_URL');
  const applicationCredentialId = env.EMPLACE_KEYSTONE_APPLICATION_CREDENTIAL_ID || undefined;
  const settings: KeystoneSettings = {
    authUrl,
    username: env.EMPLACE_KEYSTONE_USERNAME || undefined,
    password: env.EMPLACE_KEYSTONE_PASSWORD || undefined,
    projectName: env.EMPLACE_KEYSTONE_PROJECT_NAME || undefined,
    userDomainName: env.EMPLACE_KEYSTONE_USER_DOMAIN_NAME || 'Default',
    projectDomainName: env.EMPLACE_KEYSTONE_PROJECT_DOMAIN_NAME || 'Default',
    applicationCredentialId,
    applicationCredentialSecret: env.EMPLACE_KEYSTONE_APPLICATION_CREDENTIAL_SECRET || undefined,
    caFile: env.EMPLACE_KEYSTONE_CA_FILE || undefined,
    timeoutMs: integer(env, 'EMPLACE_KEYSTONE_TIMEOUT_SECONDS', 5, 1) * 1000,
    tokenCacheSeconds: integer(env, 'EMPLACE_KEYSTONE_TOKEN_CACHE_SECONDS', 300, 0),
    invalidTokenCacheSeconds: integer(env, 'EMPLACE_KEYSTONE_INVALID_TOKEN_CACHE_SECONDS', 10, 0),
    serviceTokenRoles: list(env, 'EMPLACE_KEYSTONE_SERVICE_TOKEN_ROLES', ['service']),
    serviceTokenRolesRequired: boolean(env, 'EMPLACE_KEYSTONE_SERVICE_TOKEN_ROLES_REQUIRED', false),
    wwwAuthenticateUri: env.EMPLACE_KEYSTONE_WWW_AUTHENTICATE_URI || authUrl,
  };
  if (applicationCredentialId) {
    if (!settings.applicationCredentialSecret)
      throw new ConfigError(
        'EMPLACE_KEYSTONE_APPLICATION_CREDENTIAL_ID needs EMPLACE_KEYSTONE_APPLICATION_CREDENTIAL_SECRET',
      );
  } else if (!settings.username || !settings.password || !settings.projectName) {
    throw new ConfigError(
      'EMPLACE_AUTH_STRATEGY=keystone needs EMPLACE_KEYSTONE_USERNAME, EMPLACE_KEYSTONE_PASSWORD and EMPLACE_KEYSTONE_PROJECT_NAME, or EMPLACE_KEYSTONE_APPLICATION_CREDENTIAL_ID and _SECRET',
    );
  }
  return settings;
}

/** `/placement`, `/placement/` and `placement` all mean `/placement`; '' or `/` mean none. */
function pathPrefix(env: Env): string {
  const raw = (env.EMPLACE_PATH_PREFIX ?? '').trim().replace(/\/+$/, '');
  if (raw === '') return '';
  const prefix = raw.startsWith('/') ? raw : `/${raw}`;
  if (!/^(\/[A-Za-z0-9._~-]+)+$/.test(prefix))
    throw new ConfigError(
      `EMPLACE_PATH_PREFIX must be a URL path such as /placement, got '${env.EMPLACE_PATH_PREFIX}'`,
    );
  return prefix;
}

export function readIdentitySettings(env: Env): IdentitySettings {
  const strategy = (env.EMPLACE_AUTH_STRATEGY || 'noauth2') as AuthStrategyName;
  if (!AUTH_STRATEGIES.includes(strategy))
    throw new ConfigError(`EMPLACE_AUTH_STRATEGY must be one of ${AUTH_STRATEGIES.join(', ')}, got '${strategy}'`);
  const tlsCertFile = env.EMPLACE_TLS_CERT_FILE || undefined;
  const tlsKeyFile = env.EMPLACE_TLS_KEY_FILE || undefined;
  if (Boolean(tlsCertFile) !== Boolean(tlsKeyFile))
    throw new ConfigError('EMPLACE_TLS_CERT_FILE and EMPLACE_TLS_KEY_FILE must be set together');
  return {
    strategy,
    allowNoauthOnNetwork: boolean(env, 'EMPLACE_ALLOW_NOAUTH_ON_NETWORK', false),
    keystone: strategy === 'keystone' ? keystoneSettings(env) : undefined,
    tokensFile: env.EMPLACE_TOKENS_FILE || '/etc/emplace/tokens',
    tlsCertFile,
    tlsKeyFile,
    trustedProxies: list(env, 'EMPLACE_TRUSTED_PROXIES', []),
    pathPrefix: pathPrefix(env),
    authFailureLimit: integer(env, 'EMPLACE_AUTH_FAILURE_LIMIT', 30, 0),
    authFailureWindowSeconds: integer(env, 'EMPLACE_AUTH_FAILURE_WINDOW_SECONDS', 60, 1),
  };
}

/** Whether `host` only accepts connections from this machine. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^127(\.\d{1,3}){3}$/.test(bare) || bare === '::ffff:127.0.0.1';
}
