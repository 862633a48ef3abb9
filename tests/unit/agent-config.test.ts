import { AGENT_DEFAULTS, AgentConfigError, loadAgentConfig, redactedConfig } from '../../src/agent/config';
import { helpText } from '../../src/agent/help';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { envName, kebab, OPTIONS, snake } from '../../src/agent/options';

const files = (content: Record<string, unknown>) => () => JSON.stringify(content);
const load = (argv: string[], env: Record<string, string> = {}, file?: Record<string, unknown>) =>
  loadAgentConfig({ argv, env, readFile: file ? files(file) : undefined });

describe('agent configuration', () => {
  it('starts from the defaults; the status file lives in the state dir', () => {
    const { config } = load([]);
    expect(config).toEqual({ ...AGENT_DEFAULTS, statusFile: '/var/lib/emplace-agent/status.json' });
    expect(config).toMatchObject({ layout: 'root', intervalSeconds: 60, hostRoot: '/', reportHostResources: 'auto' });
    expect(load(['--state-dir', '/s']).config.statusFile).toBe('/s/status.json');
  });

  it('layers defaults < file < environment < flags, and says when a flag overrode the environment', () => {
    const loaded = load(
      ['--config', '/etc/agent.json', '--url', 'http://flag', '--state-dir=/flag/state', '--once'],
      { EMPLACE_URL: 'http://env', EMPLACE_LAYOUT: 'nested', EMPLACE_JITTER: '0.5' },
      {
        url: 'http://file',
        layout: 'root',
        state_dir: '/file/state',
        max_slots_sev: 10,
        vcpu: { allocation_ratio: 4 },
      },
    );
    expect(loaded.config).toMatchObject({
      url: 'http://flag',
      stateDir: '/flag/state',
      layout: 'nested',
      jitter: 0.5,
      maxSlotsSev: 10,
      once: true,
      vcpu: { allocationRatio: 4 },
    });
    expect(loaded.overrides).toEqual(['--url overrides EMPLACE_URL']);
  });

  it('identifies with the service role by default, which Placement requires for the reshaper', () => {
    expect(load([]).config.roles).toEqual(['service']);
    expect(load(['--roles', 'admin,service']).config.roles).toEqual(['admin', 'service']);
    expect(load(['--config', 'x'], { EMPLACE_ROLES: 'reader' }, { roles: [] }).config.roles).toEqual(['reader']);
    expect(load(['--config', 'x'], {}, { roles: [] }).config.roles).toEqual([]);
  });

  it('reads every option from an EMPLACE_* variable too', () => {
    const { config } = load([], {
      EMPLACE_HOST_ROOT: '/fake',
      EMPLACE_LAYOUT: 'nested',
      EMPLACE_DRY_RUN: 'true',
      EMPLACE_MEMORY_MB_RESERVED: '512',
      EMPLACE_REPORT_HOST_RESOURCES: 'false',
      EMPLACE_MAX_SLOTS_SNP: '7',
    });
    expect(config).toMatchObject({
      hostRoot: '/fake',
      layout: 'nested',
      dryRun: true,
      memoryMb: { reserved: 512 },
      reportHostResources: false,
      maxSlotsSnp: 7,
    });
  });

  it('takes the per-model caps and names the old shared cap when it is used', () => {
    expect(load(['--max-slots-sev', '1', '--max-slots-es', '2', '--max-slots-snp', '3']).config).toMatchObject({
      maxSlotsSev: 1,
      maxSlotsEs: 2,
      maxSlotsSnp: 3,
    });
    expect(() => load(['--max-slots', '4'])).toThrow(/replaced by the per-model caps/);
    expect(() => load(['--config', 'x'], {}, { max_slots: 4 })).toThrow(/replaced by the per-model caps/);
  });

  it('refuses unknown flags, bad values and unknown file keys', () => {
    expect(() => load(['--nope'])).toThrow(AgentConfigError);
    expect(() => load(['--layout', 'flat'])).toThrow(/root or nested/);
    expect(() => load([], { EMPLACE_MAX_SLOTS_SEV: '-1' })).toThrow(/non-negative integer/);
    expect(() => load(['--report-host-resources', 'maybe'])).toThrow(/auto, true or false/);
    expect(() => load(['--config', 'x'], {}, { colour: 'red' })).toThrow(/unknown key 'colour'/);
    expect(() => load(['stray'])).toThrow(/unexpected argument 'stray'/);
  });

  it('knows the status command, --help and --version', () => {
    expect(load(['status', '--state-dir', '/s'])).toMatchObject({ command: 'status', config: { stateDir: '/s' } });
    expect(load(['--help']).help).toBe(true);
    expect(load(['-h']).help).toBe(true);
    expect(load(['--version']).version).toBe(true);
  });
});

describe('identity settings', () => {
  it('takes one way of authenticating', () => {
    expect(() => load(['--token', 'a', '--token-file', '/t'])).toThrow(/either token or tokenFile/);
    expect(() => load(['--token-file', '/t', '--auth-url', 'http://k'])).toThrow(/either a token .* or Keystone/);
    expect(() => load(['--auth-url', 'http://k'])).toThrow(/needs username, password/);
    expect(() => load(['--auth-url', 'http://k', '--application-credential-id', 'x'])).toThrow(/both its id and/);
    expect(() => load(['--username', 'u'])).toThrow(/authUrl is required/);
    const password = load([
      '--auth-url',
      'http://k/v3',
      '--username',
      'agent',
      '--password-file',
      '/p',
      '--project-name',
      'service',
    ]).config;
    expect(password).toMatchObject({ userDomainName: 'Default', projectDomainName: 'Default', passwordFile: '/p' });
    const appCred = load([], {
      EMPLACE_AUTH_URL: 'http://k',
      EMPLACE_APPLICATION_CREDENTIAL_ID: 'id1',
      EMPLACE_APPLICATION_CREDENTIAL_SECRET: 's3cr3t-value',
    }).config;
    expect(appCred).toMatchObject({ applicationCredentialId: 'id1' });
  });

  it('never shows a secret: not in --print-config, not in errors, and warns about secrets on the command line', () => {
    const secret = 'hunter2-do-not-print';
    const loaded = load(['--auth-url', 'http://k', '--username', 'u', '--password', secret, '--project-name', 'p']);
    expect(JSON.stringify(redactedConfig(loaded.config))).not.toContain(secret);
    expect(redactedConfig(loaded.config).password).toBe('(secret)');
    expect(loaded.warnings).toEqual(['--password on the command line is visible to other users (ps)']);
    let message = '';
    try {
      load(['--config', 'x'], {}, { token: [secret] });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/token must be a string, got a value of another type/);
    expect(message).not.toContain(secret);
  });
});

describe('--help', () => {
  const help = helpText();

  it('lists every option of the table with its flag, variable and default', () => {
    for (const option of OPTIONS) {
      expect(help).toContain(`--${kebab(option.key)}`);
      expect(help).toContain(`[env: ${envName(option.key)}]`);
    }
    expect(help).toContain('[default: http://127.0.0.1:8778]');
    expect(help).toContain('[default: 60]');
    expect(help).toContain('[default: /var/log/kern.log,/var/log/dmesg]');
    expect(help).toMatch(/defaults < config file < environment < flags/);
    expect(help).toMatch(/ 3 {2}in sync as far as known/);
  });

  it('shows no default for a secret', () => {
    expect(help).toMatch(/--password PASSWORD[^\n]*\n[^\n]*\[default: none\]/);
  });
});

describe('docs/agent.md', () => {
  it('names every option of the table', () => {
    const doc = readFileSync(path.join(__dirname, '..', '..', 'docs', 'agent.md'), 'utf8');
    const missing = OPTIONS.map((o) => snake(o.key).replace(/\./g, '_')).filter(
      (key) => !doc.includes(key.replace(/^(vcpu|memory_mb|disk_gb)_.*/, '$1')),
    );
    expect(missing).toEqual([]);
  });
});
