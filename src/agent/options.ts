/**
 * The agent's one option table: every setting's flag, EMPLACE_* variable, config file key, default and help
 * line come from here, so `--help`, the loader and docs/agent.md cannot drift apart.
 */
export type OptionKind = 'string' | 'int' | 'number' | 'bool' | 'list' | 'layout' | 'auto-bool';

export type OptionGroup = 'service' | 'identity' | 'host' | 'ownership' | 'slots' | 'resources' | 'sources' | 'run';

export interface OptionSpec {
  /** camelCase config key; `a.b` for the per-class tuning objects. */
  key: string;
  kind: OptionKind;
  group: OptionGroup;
  help: string;
  /** Shown in --help; the real default lives in AGENT_DEFAULTS. */
  defaultText?: string;
  /** Placeholder after the flag in --help. */
  value?: string;
  /** A secret is never printed: not in --help defaults, --print-config, error messages or logs. */
  secret?: boolean;
}

export const OPTIONS: OptionSpec[] = [
  { key: 'url', kind: 'string', group: 'service', value: 'URL', help: 'Emplace / Placement endpoint' },
  {
    key: 'token',
    kind: 'string',
    group: 'identity',
    value: 'TOKEN',
    secret: true,
    help: 'static X-Auth-Token (visible in ps when given as a flag: prefer --token-file)',
  },
  {
    key: 'tokenFile',
    kind: 'string',
    group: 'identity',
    value: 'FILE',
    help: 'file holding the X-Auth-Token, re-read on every request so rotation works',
  },
  {
    key: 'roles',
    kind: 'list',
    group: 'identity',
    value: 'ROLE,...',
    help: 'sent as X-Roles under noauth2 (the reshaper needs service); ignored by Keystone',
  },
  {
    key: 'authUrl',
    kind: 'string',
    group: 'identity',
    value: 'URL',
    help: 'Keystone v3 URL: log in instead of a token',
  },
  { key: 'username', kind: 'string', group: 'identity', value: 'NAME', help: 'Keystone user (password login)' },
  {
    key: 'password',
    kind: 'string',
    group: 'identity',
    value: 'PASSWORD',
    secret: true,
    help: 'Keystone password (prefer --password-file)',
  },
  { key: 'passwordFile', kind: 'string', group: 'identity', value: 'FILE', help: 'file holding the Keystone password' },
  { key: 'userDomainName', kind: 'string', group: 'identity', value: 'NAME', help: "the user's domain" },
  { key: 'projectName', kind: 'string', group: 'identity', value: 'NAME', help: 'project the token is scoped to' },
  { key: 'projectDomainName', kind: 'string', group: 'identity', value: 'NAME', help: "the project's domain" },
  {
    key: 'applicationCredentialId',
    kind: 'string',
    group: 'identity',
    value: 'ID',
    help: 'Keystone application credential id (instead of user and password)',
  },
  {
    key: 'applicationCredentialSecret',
    kind: 'string',
    group: 'identity',
    value: 'SECRET',
    secret: true,
    help: 'application credential secret (prefer --application-credential-secret-file)',
  },
  {
    key: 'applicationCredentialSecretFile',
    kind: 'string',
    group: 'identity',
    value: 'FILE',
    help: 'file holding the application credential secret',
  },
  {
    key: 'caFile',
    kind: 'string',
    group: 'identity',
    value: 'FILE',
    help: 'PEM CA bundle trusted for HTTPS to Emplace and Keystone (in addition to the system CAs)',
  },
  { key: 'hostRoot', kind: 'string', group: 'host', value: 'DIR', help: 'where /sys, /proc, /dev and /var are read' },
  { key: 'stateDir', kind: 'string', group: 'host', value: 'DIR', help: "the agent's memory: provider uuid, drains" },
  {
    key: 'statusFile',
    kind: 'string',
    group: 'host',
    value: 'FILE',
    defaultText: '<state-dir>/status.json',
    help: 'JSON status written after each cycle (read by `emplace-agent status`)',
  },
  {
    key: 'metricsFile',
    kind: 'string',
    group: 'host',
    value: 'FILE',
    help: 'Prometheus text file written after each cycle (node-exporter textfile collector)',
  },
  {
    key: 'providerName',
    kind: 'string',
    group: 'host',
    value: 'NAME',
    defaultText: 'the host FQDN',
    help: 'root provider name',
  },
  {
    key: 'providerUuid',
    kind: 'string',
    group: 'host',
    value: 'UUID',
    defaultText: 'state dir, else the provider with that name, else new',
    help: 'root provider uuid',
  },
  {
    key: 'layout',
    kind: 'layout',
    group: 'host',
    value: 'root|nested',
    help: 'root: SEV slots on the host provider; nested: one child per model',
  },
  {
    key: 'ownRoot',
    kind: 'bool',
    group: 'ownership',
    help: 'treat an existing root the agent did not create as its own for the SEV traits',
  },
  {
    key: 'writeNovaRoot',
    kind: 'bool',
    group: 'ownership',
    help: 'allow MEM_ENCRYPTION_CONTEXT and host classes on a root carrying OWNER_NOVA or COMPUTE_NODE',
  },
  {
    key: 'adoptByName',
    kind: 'bool',
    group: 'ownership',
    help: 'take over a provider that has the name of one of the agent\'s children but another uuid (e.g. nova\'s "<host>_amd_sev")',
  },
  { key: 'maxSlotsSev', kind: 'int', group: 'slots', value: 'N', help: 'cap on SEV slots offered' },
  { key: 'maxSlotsEs', kind: 'int', group: 'slots', value: 'N', help: 'cap on SEV-ES slots offered' },
  { key: 'maxSlotsSnp', kind: 'int', group: 'slots', value: 'N', help: 'cap on SEV-SNP slots offered' },
  { key: 'maxSlotsTdx', kind: 'int', group: 'slots', value: 'N', help: 'cap on Intel TDX slots offered' },
  {
    key: 'reservedSlots',
    kind: 'int',
    group: 'slots',
    value: 'N',
    defaultText: "unset: the operator's value is kept",
    help: 'reserved MEM_ENCRYPTION_CONTEXT on every model',
  },
  {
    key: 'reportHostResources',
    kind: 'auto-bool',
    group: 'resources',
    value: 'auto|true|false',
    help: 'report VCPU, MEMORY_MB, DISK_GB; auto: only on a root the agent created',
  },
  { key: 'diskPath', kind: 'string', group: 'resources', value: 'DIR', help: 'file system whose size is DISK_GB' },
  { key: 'vcpu.reserved', kind: 'int', group: 'resources', value: 'N', help: 'reserved VCPU (unset: kept)' },
  { key: 'vcpu.allocationRatio', kind: 'number', group: 'resources', value: 'X', help: 'VCPU allocation ratio' },
  { key: 'memoryMb.reserved', kind: 'int', group: 'resources', value: 'N', help: 'reserved MEMORY_MB (unset: kept)' },
  { key: 'memoryMb.allocationRatio', kind: 'number', group: 'resources', value: 'X', help: 'MEMORY_MB ratio' },
  { key: 'diskGb.reserved', kind: 'int', group: 'resources', value: 'N', help: 'reserved DISK_GB (unset: kept)' },
  { key: 'diskGb.allocationRatio', kind: 'number', group: 'resources', value: 'X', help: 'DISK_GB allocation ratio' },
  {
    key: 'domcapsFile',
    kind: 'string',
    group: 'sources',
    value: 'FILE',
    help: '`virsh domcapabilities` output to read instead of running virsh (path under --host-root)',
  },
  {
    key: 'qemuVersionFile',
    kind: 'string',
    group: 'sources',
    value: 'FILE',
    help: '`virsh version` output (or a bare version) instead of running virsh (path under --host-root)',
  },
  {
    key: 'useVirsh',
    kind: 'bool',
    group: 'sources',
    help: 'run `virsh -r domcapabilities` / `virsh -r version` when no file is given (host root / only)',
  },
  {
    key: 'kernelLogFiles',
    kind: 'list',
    group: 'sources',
    value: 'FILE,...',
    help: 'kernel logs read for the current boot before the journal',
  },
  {
    key: 'journalFile',
    kind: 'string',
    group: 'sources',
    value: 'FILE',
    help: '`journalctl -k -o json` output to read instead of running journalctl (path under --host-root)',
  },
  {
    key: 'useJournal',
    kind: 'bool',
    group: 'sources',
    help: 'run `journalctl -k -b <boot id> -o json` when the kernel log files hold no current boot',
  },
  { key: 'intervalSeconds', kind: 'number', group: 'run', value: 'S', help: 'seconds between cycles' },
  { key: 'jitter', kind: 'number', group: 'run', value: 'F', help: 'fraction of the interval added or removed' },
  { key: 'once', kind: 'bool', group: 'run', help: 'run one cycle and exit with its status' },
  { key: 'dryRun', kind: 'bool', group: 'run', help: 'print the plan, write nothing' },
  { key: 'printDetection', kind: 'bool', group: 'run', help: 'print what every source says as JSON; no service calls' },
  { key: 'printConfig', kind: 'bool', group: 'run', help: 'print the resolved configuration (secrets hidden)' },
  { key: 'logLevel', kind: 'string', group: 'run', value: 'LEVEL', help: 'debug, info, warn, error or silent' },
  { key: 'requestRetries', kind: 'int', group: 'run', value: 'N', help: 'retries of one request on 5xx/429/network' },
  { key: 'conflictRetries', kind: 'int', group: 'run', value: 'N', help: 're-reads on 409 concurrent_update' },
  { key: 'backoffBaseMs', kind: 'int', group: 'run', value: 'MS', help: 'first retry delay' },
  { key: 'backoffCapMs', kind: 'int', group: 'run', value: 'MS', help: 'longest retry delay' },
  { key: 'requestTimeoutMs', kind: 'int', group: 'run', value: 'MS', help: 'timeout of one request' },
];

export const kebab = (key: string): string => key.replace(/\./g, '-').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
export const snake = (key: string): string => key.replace(/\./g, '_').replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
export const envName = (key: string): string => `EMPLACE_${snake(key).toUpperCase()}`;

export const SECRET_KEYS = new Set(OPTIONS.filter((o) => o.secret).map((o) => o.key));
