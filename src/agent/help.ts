import { AGENT_DEFAULTS } from './config';
import { EXIT_CONFIG, EXIT_IN_SYNC, EXIT_NOT_IN_SYNC, EXIT_UNKNOWN } from './exit-codes';
import { envName, kebab, OPTIONS, type OptionGroup, type OptionSpec } from './options';

const GROUPS: Record<OptionGroup, string> = {
  service: 'Service',
  identity: 'Identity (a token, a token file, or Keystone credentials; never printed)',
  host: 'Host and provider',
  ownership: 'Sharing a host with nova-compute',
  slots: 'Key slots',
  resources: 'Host resources (VCPU, MEMORY_MB, DISK_GB)',
  sources: 'Detection sources',
  run: 'Running',
};

function defaultOf(spec: OptionSpec): string {
  if (spec.defaultText) return spec.defaultText;
  if (spec.secret) return 'none';
  const [head, tail] = spec.key.split('.');
  const top = (AGENT_DEFAULTS as unknown as Record<string, unknown>)[head];
  const value = tail === undefined ? top : (top as Record<string, unknown> | undefined)?.[tail];
  if (value === undefined) return 'unset';
  return Array.isArray(value) ? value.join(',') || '(empty)' : String(value);
}

/** The usage text, from the option table itself (so a new option cannot be missing from --help). */
export function helpText(): string {
  const lines = [
    'usage: emplace-agent [options]          detect, reconcile, repeat every --interval-seconds',
    '       emplace-agent status [options]   the last cycle as a table (from the status file)',
    '       emplace-agent --help | --version',
    '',
    'Every option is also an EMPLACE_* environment variable and a key of the JSON file given by --config',
    '(or EMPLACE_CONFIG; camelCase or snake_case). Precedence: defaults < config file < environment < flags;',
    'when a flag overrides a variable the agent logs which won.',
  ];
  for (const group of Object.keys(GROUPS) as OptionGroup[]) {
    lines.push('', `${GROUPS[group]}:`);
    for (const spec of OPTIONS.filter((o) => o.group === group)) {
      const flag = `--${kebab(spec.key)}${spec.value ? ` ${spec.value}` : ''}`;
      lines.push(`  ${flag.padEnd(44)} ${spec.help}`);
      lines.push(`  ${''.padEnd(44)} [default: ${defaultOf(spec)}] [env: ${envName(spec.key)}]`);
    }
  }
  lines.push(
    '',
    'Exit status (with --once or --dry-run; a running daemon exits 0 on SIGTERM):',
    `  ${EXIT_IN_SYNC}  in sync`,
    `  ${EXIT_CONFIG}  bad configuration (systemd does not restart on it)`,
    `  ${EXIT_NOT_IN_SYNC}  not in sync: the cycle failed, a write was refused, a provider name clashed,`,
    '     or (with --dry-run) changes are pending',
    `  ${EXIT_UNKNOWN}  in sync as far as known, but some evidence was missing (those models were left as they are)`,
    '',
    'Documentation: docs/agent.md',
  );
  return lines.join('\n') + '\n';
}
