import { readFileSync } from 'node:fs';
import path from 'node:path';
import { envName, kebab, OPTIONS, SECRET_KEYS, snake, type OptionKind, type OptionSpec } from './options';

export type Layout = 'root' | 'nested';

/** Reserved amount and allocation ratio for one host resource class; unset means "not owned, keep what is there". */
export interface ResourceTuning {
  reserved?: number;
  allocationRatio?: number;
}

/** The agent's configuration, resolved once at start (defaults < file < environment < flags). */
export interface AgentConfig {
  url: string;
  token?: string;
  tokenFile?: string;
  /**
   * Roles sent as `X-Roles` (noauth2 only; keystone takes them from the token). Placement's defaults
   * let the service role do all the agent does, including POST /reshaper, which the admin role may not.
   */
  roles: string[];
  authUrl?: string;
  username?: string;
  password?: string;
  passwordFile?: string;
  userDomainName: string;
  projectName?: string;
  projectDomainName: string;
  applicationCredentialId?: string;
  applicationCredentialSecret?: string;
  applicationCredentialSecretFile?: string;
  caFile?: string;
  hostRoot: string;
  stateDir: string;
  /** Defaults to `<stateDir>/status.json`. */
  statusFile?: string;
  metricsFile?: string;
  layout: Layout;
  once: boolean;
  dryRun: boolean;
  printDetection: boolean;
  printConfig: boolean;
  /** Provider name; the host FQDN when unset. */
  providerName?: string;
  /** Provider uuid; created once and kept in stateDir when unset. */
  providerUuid?: string;
  /** The SEV traits of an existing root the agent did not create are the agent's to set. */
  ownRoot: boolean;
  /** MEM_ENCRYPTION_CONTEXT and host classes may be written on a root carrying OWNER_NOVA or COMPUTE_NODE. */
  writeNovaRoot: boolean;
  /** A provider with a child's name but another uuid is taken over instead of being a clash. */
  adoptByName: boolean;
  intervalSeconds: number;
  /** Fraction of the interval added or removed at random so hosts do not beat in step. */
  jitter: number;
  maxSlotsSev?: number;
  maxSlotsEs?: number;
  maxSlotsSnp?: number;
  maxSlotsTdx?: number;
  /** Reserved MEM_ENCRYPTION_CONTEXT; owned by the agent only when set. */
  reservedSlots?: number;
  /** VCPU, MEMORY_MB and DISK_GB: auto reports them only on a root the agent created. */
  reportHostResources: boolean | 'auto';
  diskPath: string;
  vcpu: ResourceTuning;
  memoryMb: ResourceTuning;
  diskGb: ResourceTuning;
  /** A file holding `virsh domcapabilities` output; read before running virsh. */
  domcapsFile?: string;
  /** A file holding `virsh version` output; read before running virsh. */
  qemuVersionFile?: string;
  /** Run virsh when no file is given (only when hostRoot is /). */
  useVirsh: boolean;
  /** Kernel log files, relative to hostRoot. */
  kernelLogFiles: string[];
  /** A file holding `journalctl -k -o json` output; read before running journalctl. */
  journalFile?: string;
  useJournal: boolean;
  logLevel: string;
  /** Per-request retries on 5xx / network errors inside one cycle. */
  requestRetries: number;
  /** Bounded refresh-and-retry on 409 concurrent_update. */
  conflictRetries: number;
  backoffBaseMs: number;
  backoffCapMs: number;
  requestTimeoutMs: number;
}

export class AgentConfigError extends Error {}

export const AGENT_DEFAULTS: AgentConfig = {
  url: 'http://127.0.0.1:8778',
  roles: ['service'],
  userDomainName: 'Default',
  projectDomainName: 'Default',
  hostRoot: '/',
  stateDir: '/var/lib/emplace-agent',
  layout: 'root',
  once: false,
  dryRun: false,
  printDetection: false,
  printConfig: false,
  ownRoot: false,
  writeNovaRoot: false,
  adoptByName: false,
  intervalSeconds: 60,
  jitter: 0.1,
  reportHostResources: 'auto',
  diskPath: '/var/lib',
  vcpu: {},
  memoryMb: {},
  diskGb: {},
  useVirsh: true,
  kernelLogFiles: ['/var/log/kern.log', '/var/log/dmesg'],
  useJournal: true,
  logLevel: 'info',
  requestRetries: 4,
  conflictRetries: 5,
  backoffBaseMs: 1000,
  backoffCapMs: 300_000,
  requestTimeoutMs: 30_000,
};

/** Keys a former version took, with the reason they went; named in the error instead of "unknown key". */
const REPLACED: Record<string, string> = {
  maxSlots: 'maxSlots was replaced by the per-model caps maxSlotsSev, maxSlotsEs, maxSlotsSnp and maxSlotsTdx',
};

function coerce(spec: OptionSpec, raw: unknown, where: string): unknown {
  const fail = (what: string): never => {
    // A secret's value is never echoed, not even a wrong one: it may be the real secret in the wrong place.
    const got = spec.secret ? 'a value of another type' : JSON.stringify(raw);
    throw new AgentConfigError(`${where}: ${spec.key} must be ${what}, got ${got}`);
  };
  return coerceKind(spec.kind, raw, fail);
}

function coerceKind(kind: OptionKind, raw: unknown, fail: (what: string) => never): unknown {
  switch (kind) {
    case 'string':
      return typeof raw === 'string' ? raw : fail('a string');
    case 'layout':
      return raw === 'root' || raw === 'nested' ? raw : fail('root or nested');
    case 'list':
      if (Array.isArray(raw) && raw.every((item) => typeof item === 'string')) return raw;
      return typeof raw === 'string'
        ? raw
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : fail('a list of strings');
    case 'auto-bool':
      if (raw === 'auto') return 'auto';
      return coerceKind('bool', raw, () => fail('auto, true or false'));
    case 'bool': {
      if (typeof raw === 'boolean') return raw;
      const text = String(raw).toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(text)) return true;
      if (['0', 'false', 'no', 'off'].includes(text)) return false;
      return fail('true or false');
    }
    case 'int':
    case 'number': {
      const value = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
      if (!Number.isFinite(value) || value < 0 || (kind === 'int' && !Number.isInteger(value))) {
        fail(kind === 'int' ? 'a non-negative integer' : 'a non-negative number');
      }
      return value;
    }
  }
}

function assign(config: AgentConfig, key: string, value: unknown): void {
  const target = config as unknown as Record<string, unknown>;
  const [head, tail] = key.split('.');
  if (tail === undefined) target[head] = value;
  else target[head] = { ...(target[head] as Record<string, unknown>), [tail]: value };
}

const byKey = new Map(OPTIONS.flatMap((o) => [[o.key, o] as const, [snake(o.key), o] as const]));
const byFlag = new Map(OPTIONS.map((o) => [kebab(o.key), o] as const));

function fromFile(config: AgentConfig, file: string, read: (path: string) => string, set: Set<string>): void {
  let data: unknown;
  try {
    data = JSON.parse(read(file));
  } catch (error) {
    throw new AgentConfigError(`config file ${file}: ${(error as Error).message}`);
  }
  if (!data || typeof data !== 'object' || Array.isArray(data))
    throw new AgentConfigError(`config file ${file}: must hold a JSON object`);
  const flat: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(data)) {
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      for (const [inner, v] of Object.entries(value)) flat[`${name}.${inner}`] = v;
    } else flat[name] = value;
  }
  for (const [name, value] of Object.entries(flat)) {
    const spec = byKey.get(name) ?? byKey.get(name.replace(/\./g, '_'));
    if (!spec) {
      const replaced = REPLACED[name] ?? REPLACED[name.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase())];
      throw new AgentConfigError(`config file ${file}: ${replaced ?? `unknown key '${name}'`}`);
    }
    assign(config, spec.key, coerce(spec, value, `config file ${file}`));
    set.add(spec.key);
  }
}

export interface ParsedArgs {
  /** The first bare word: `status`, or `run` (the default). */
  command: 'run' | 'status';
  config?: string;
  help: boolean;
  version: boolean;
  values: Map<string, string | boolean>;
}

export function parseArgs(argv: string[]): ParsedArgs {
  const parsed: ParsedArgs = { command: 'run', help: false, version: false, values: new Map() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (i === 0 && (arg === 'status' || arg === 'run')) {
      parsed.command = arg;
      continue;
    }
    if (arg === '-h' || arg === '--help') parsed.help = true;
    else if (arg === '--version') parsed.version = true;
    else if (!arg.startsWith('--')) throw new AgentConfigError(`unexpected argument '${arg}'`);
    else {
      const [name, inline] = arg.slice(2).split(/=(.*)/s, 2);
      if (name === 'config') {
        parsed.config = inline ?? argv[++i];
        if (parsed.config === undefined) throw new AgentConfigError('--config needs a value');
        continue;
      }
      const spec = byFlag.get(name);
      if (!spec) {
        const replaced = REPLACED[name.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase())];
        throw new AgentConfigError(replaced ? `--${name}: ${replaced}` : `unknown flag --${name}`);
      }
      if (spec.kind === 'bool' && inline === undefined) parsed.values.set(spec.key, true);
      else {
        const value = inline ?? argv[++i];
        if (value === undefined) throw new AgentConfigError(`--${name} needs a value`);
        parsed.values.set(spec.key, value);
      }
    }
  }
  return parsed;
}

export interface LoadOptions {
  argv?: string[];
  env?: Record<string, string | undefined>;
  readFile?: (path: string) => string;
}

export interface LoadedConfig {
  config: AgentConfig;
  command: ParsedArgs['command'];
  help: boolean;
  version: boolean;
  /** `--flag overrides EMPLACE_X` notes, so an operator sees which of two settings won. */
  overrides: string[];
  /** Things worth a warning at start (a secret on the command line). */
  warnings: string[];
}

/** defaults < config file (JSON) < EMPLACE_* environment < command-line flags. */
export function loadAgentConfig(options: LoadOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const read = options.readFile ?? ((file: string) => readFileSync(file, 'utf8'));
  const config: AgentConfig = structuredClone(AGENT_DEFAULTS);
  const args = parseArgs(options.argv ?? []);
  const result: LoadedConfig = {
    config,
    command: args.command,
    help: args.help,
    version: args.version,
    overrides: [],
    warnings: [],
  };
  if (args.help || args.version) return result;
  const file = args.config ?? (env.EMPLACE_CONFIG || undefined);
  const set = new Set<string>();
  if (file) fromFile(config, file, read, set);
  const fromEnv = new Set<string>();
  for (const spec of OPTIONS) {
    const raw = env[envName(spec.key)];
    if (raw === undefined || raw === '') continue;
    assign(config, spec.key, coerce(spec, raw, envName(spec.key)));
    fromEnv.add(spec.key);
    set.add(spec.key);
  }
  for (const [key, raw] of args.values) {
    const spec = byKey.get(key)!;
    assign(config, key, coerce(spec, raw, `--${kebab(key)}`));
    if (fromEnv.has(key)) result.overrides.push(`--${kebab(key)} overrides ${envName(key)}`);
    if (spec.secret) result.warnings.push(`--${kebab(key)} on the command line is visible to other users (ps)`);
    set.add(key);
  }
  validate(config, set);
  return result;
}

function validate(config: AgentConfig, set: Set<string>): void {
  const given = (...keys: string[]) => keys.filter((k) => set.has(k));
  const tokenKeys = given('token', 'tokenFile');
  const keystoneKeys = given(
    'authUrl',
    'username',
    'password',
    'passwordFile',
    'projectName',
    'applicationCredentialId',
    'applicationCredentialSecret',
    'applicationCredentialSecretFile',
  );
  if (tokenKeys.length > 1) throw new AgentConfigError('give either token or tokenFile, not both');
  if (tokenKeys.length > 0 && keystoneKeys.length > 0)
    throw new AgentConfigError(`give either a token (${tokenKeys.join()}) or Keystone credentials, not both`);
  if (keystoneKeys.length > 0) validateKeystone(config);
  if (config.statusFile === undefined) config.statusFile = path.join(config.stateDir, 'status.json');
}

function validateKeystone(config: AgentConfig): void {
  const fail = (message: string): never => {
    throw new AgentConfigError(`Keystone login: ${message}`);
  };
  if (!config.authUrl) fail('authUrl is required');
  if (config.password !== undefined && config.passwordFile !== undefined)
    fail('give either password or passwordFile, not both');
  if (config.applicationCredentialSecret !== undefined && config.applicationCredentialSecretFile !== undefined)
    fail('give either applicationCredentialSecret or applicationCredentialSecretFile, not both');
  const appCred = config.applicationCredentialId !== undefined;
  const appSecret =
    config.applicationCredentialSecret !== undefined || config.applicationCredentialSecretFile !== undefined;
  const password = config.password !== undefined || config.passwordFile !== undefined;
  if (appCred || appSecret) {
    if (!appCred || !appSecret) fail('an application credential needs both its id and its secret (or secret file)');
    if (password || config.username !== undefined) fail('give an application credential or a user, not both');
    return;
  }
  if (config.username === undefined || !password || config.projectName === undefined)
    fail('a password login needs username, password (or passwordFile) and projectName');
}

/** The configuration with every secret replaced, for --print-config and logs. */
export function redactedConfig(config: AgentConfig): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...config };
  for (const key of SECRET_KEYS) if (copy[key] !== undefined) copy[key] = '(secret)';
  return copy;
}

/** Which secret-free way of authenticating the configuration chose. */
export function authMode(
  config: AgentConfig,
): 'token' | 'token-file' | 'keystone-password' | 'keystone-app-cred' | 'noauth' {
  if (config.tokenFile) return 'token-file';
  if (config.token !== undefined) return 'token';
  if (config.authUrl && config.applicationCredentialId) return 'keystone-app-cred';
  if (config.authUrl) return 'keystone-password';
  return 'noauth';
}
