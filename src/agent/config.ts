import { readFileSync } from 'node:fs';

export type Layout = 'root' | 'nested';

/** Reserved amount and allocation ratio for one host resource class; unset means "not owned, keep what is there". */
export interface ResourceTuning {
  reserved?: number;
  allocationRatio?: number;
}

/** The agent's configuration, resolved once at start (defaults < file < flags < env). */
export interface AgentConfig {
  url: string;
  token?: string;
  tokenFile?: string;
  /**
   * Roles sent as `X-Roles` (noauth2 only; keystone takes them from the token). Placement's defaults
   * let the service role do all the agent does, including POST /reshaper, which the admin role may not.
   */
  roles: string[];
  hostRoot: string;
  stateDir: string;
  layout: Layout;
  once: boolean;
  dryRun: boolean;
  printDetection: boolean;
  /** Provider name; the host FQDN when unset. */
  providerName?: string;
  /** Provider uuid; created once and kept in stateDir when unset. */
  providerUuid?: string;
  intervalSeconds: number;
  /** Fraction of the interval added or removed at random so hosts do not beat in step. */
  jitter: number;
  /** Operator cap on key slots per pool. */
  maxSlots?: number;
  /** Reserved MEM_ENCRYPTION_CONTEXT; owned by the agent only when set. */
  reservedSlots?: number;
  /** Report VCPU, MEMORY_MB and DISK_GB (off where nova-compute owns them). */
  reportHostResources: boolean;
  diskPath: string;
  vcpu: ResourceTuning;
  memoryMb: ResourceTuning;
  diskGb: ResourceTuning;
  /** A file holding `virsh domcapabilities` output; read before running virsh. */
  domcapsFile?: string;
  /** Run `virsh domcapabilities` when no file is given (only when hostRoot is /). */
  useVirsh: boolean;
  /** Kernel log files, relative to hostRoot. */
  kernelLogFiles: string[];
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
  hostRoot: '/',
  stateDir: '/var/lib/emplace-agent',
  layout: 'root',
  once: false,
  dryRun: false,
  printDetection: false,
  intervalSeconds: 60,
  jitter: 0.1,
  reportHostResources: true,
  diskPath: '/var/lib',
  vcpu: {},
  memoryMb: {},
  diskGb: {},
  useVirsh: true,
  kernelLogFiles: ['/var/log/dmesg', '/var/log/kern.log'],
  logLevel: 'info',
  requestRetries: 4,
  conflictRetries: 5,
  backoffBaseMs: 1000,
  backoffCapMs: 300_000,
  requestTimeoutMs: 30_000,
};

type Kind = 'string' | 'int' | 'number' | 'bool' | 'list' | 'layout';
/** One row per setting: config key (camelCase; snake_case also accepted in files), flag, env var. */
const KEYS: Array<[keyof AgentConfig | `${'vcpu' | 'memoryMb' | 'diskGb'}.${keyof ResourceTuning}`, Kind]> = [
  ['url', 'string'],
  ['token', 'string'],
  ['tokenFile', 'string'],
  ['roles', 'list'],
  ['hostRoot', 'string'],
  ['stateDir', 'string'],
  ['layout', 'layout'],
  ['once', 'bool'],
  ['dryRun', 'bool'],
  ['printDetection', 'bool'],
  ['providerName', 'string'],
  ['providerUuid', 'string'],
  ['intervalSeconds', 'number'],
  ['jitter', 'number'],
  ['maxSlots', 'int'],
  ['reservedSlots', 'int'],
  ['reportHostResources', 'bool'],
  ['diskPath', 'string'],
  ['domcapsFile', 'string'],
  ['useVirsh', 'bool'],
  ['kernelLogFiles', 'list'],
  ['logLevel', 'string'],
  ['requestRetries', 'int'],
  ['conflictRetries', 'int'],
  ['backoffBaseMs', 'int'],
  ['backoffCapMs', 'int'],
  ['requestTimeoutMs', 'int'],
  ['vcpu.reserved', 'int'],
  ['vcpu.allocationRatio', 'number'],
  ['memoryMb.reserved', 'int'],
  ['memoryMb.allocationRatio', 'number'],
  ['diskGb.reserved', 'int'],
  ['diskGb.allocationRatio', 'number'],
];

const kebab = (key: string) => key.replace(/\./g, '-').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const snake = (key: string) => key.replace(/\./g, '_').replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const envName = (key: string) => `EMPLACE_${snake(key).toUpperCase()}`;

function coerce(key: string, kind: Kind, raw: unknown, where: string): unknown {
  const fail = (what: string): never => {
    throw new AgentConfigError(`${where}: ${key} must be ${what}, got ${JSON.stringify(raw)}`);
  };
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
  const [head, tail] = key.split('.');
  if (tail === undefined) (config as unknown as Record<string, unknown>)[head] = value;
  else
    (config as unknown as Record<string, Record<string, unknown>>)[head] = { ...(config as any)[head], [tail]: value };
}

function fromFile(config: AgentConfig, file: string, read: (path: string) => string): void {
  let data: Record<string, unknown>;
  try {
    data = JSON.parse(read(file));
  } catch (error) {
    throw new AgentConfigError(`config file ${file}: ${(error as Error).message}`);
  }
  const flat: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(data)) {
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      for (const [inner, v] of Object.entries(value)) flat[`${name}.${inner}`] = v;
    } else flat[name] = value;
  }
  const known = new Map(
    KEYS.flatMap(
      ([key, kind]) =>
        [
          [key as string, [key, kind]],
          [snake(key), [key, kind]],
        ] as const,
    ),
  );
  for (const [name, value] of Object.entries(flat)) {
    const entry = known.get(name) ?? known.get(name.replace(/\./g, '_'));
    if (!entry) throw new AgentConfigError(`config file ${file}: unknown key '${name}'`);
    assign(config, entry[0], coerce(entry[0], entry[1] as Kind, value, `config file ${file}`));
  }
}

export function parseFlags(argv: string[]): { config?: string; values: Map<string, string | boolean> } {
  const values = new Map<string, string | boolean>();
  let configFile: string | undefined;
  const byFlag = new Map(KEYS.map(([key, kind]) => [kebab(key), [key, kind] as const]));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new AgentConfigError(`unexpected argument '${arg}'`);
    const [name, inline] = arg.slice(2).split(/=(.*)/s, 2);
    if (name === 'config') {
      configFile = inline ?? argv[++i];
      continue;
    }
    const entry = byFlag.get(name);
    if (!entry) throw new AgentConfigError(`unknown flag --${name}`);
    if (entry[1] === 'bool' && inline === undefined) values.set(entry[0], true);
    else {
      const value = inline ?? argv[++i];
      if (value === undefined) throw new AgentConfigError(`--${name} needs a value`);
      values.set(entry[0], value);
    }
  }
  return { config: configFile, values };
}

export interface LoadOptions {
  argv?: string[];
  env?: Record<string, string | undefined>;
  readFile?: (path: string) => string;
}

/** defaults < config file (JSON) < flags < EMPLACE_* env vars. */
export function loadAgentConfig(options: LoadOptions = {}): AgentConfig {
  const env = options.env ?? process.env;
  const read = options.readFile ?? ((path: string) => readFileSync(path, 'utf8'));
  const config: AgentConfig = structuredClone(AGENT_DEFAULTS);
  const flags = parseFlags(options.argv ?? []);
  const file = env.EMPLACE_CONFIG || flags.config;
  if (file) fromFile(config, file, read);
  const kinds = new Map(KEYS);
  for (const [key, raw] of flags.values)
    assign(config, key, coerce(key, kinds.get(key as any)!, raw, `--${kebab(key)}`));
  for (const [key, kind] of KEYS) {
    const raw = env[envName(key)];
    if (raw !== undefined && raw !== '') assign(config, key, coerce(key, kind, raw, envName(key)));
  }
  if (config.token !== undefined && config.tokenFile !== undefined) {
    throw new AgentConfigError('give either token or tokenFile, not both');
  }
  return config;
}

/** The token to send: from tokenFile (re-read each cycle so rotation works), else token, else noauth2's admin. */
export function resolveToken(
  config: AgentConfig,
  read: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): string {
  if (config.tokenFile) return read(config.tokenFile).trim();
  return config.token ?? 'admin';
}
