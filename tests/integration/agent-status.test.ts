import { readFileSync } from 'node:fs';
import path from 'node:path';
import { OWNER_TRAIT } from '../../src/agent/model';
import { agentVersion } from '../../src/agent/version';
import { cliArgs, fakeHost, runCli, startHarness, type FakeHost, type Harness } from '../helpers/agent-harness';

/** What an operator sees: the status file and metrics after each cycle, `emplace-agent status`, --help, --version. */
let harness: Harness;
const hosts: FakeHost[] = [];
const newHost = (fixture: string) => {
  const host = fakeHost(fixture);
  hosts.push(host);
  return host;
};

beforeAll(async () => {
  harness = await startHarness();
  await harness.api('PUT', `/traits/${OWNER_TRAIT}`);
});
afterAll(async () => {
  await harness.close();
  for (const host of hosts) host.dispose();
});

describe('status file, metrics and `emplace-agent status`', () => {
  it('writes both after a cycle; the table shows model, provider, figures, sources and the last disagreement', async () => {
    const host = newHost('sev-disagree');
    const state = path.join(host.root, '.agent-state');
    const metrics = path.join(host.root, 'emplace-agent.prom');
    const name = 'status.example.org';
    const args = cliArgs(harness, host, name, '--layout', 'nested', '--domcaps-file', '/domcapabilities.xml');
    const run = await runCli(['--once', ...args, '--metrics-file', metrics]);
    expect(run.code).toBe(0);

    const status = JSON.parse(readFileSync(path.join(state, 'status.json'), 'utf8'));
    expect(status).toMatchObject({
      host: name,
      layout: 'nested',
      lastCycle: { outcome: 'in-sync', exitStatus: 0, unknowns: [] },
      models: {
        sev: { state: 'present', slots: 253, sources: { cgroup: 509, libvirt: 253 }, total: 253, used: 0 },
        sev_es: { state: 'present', slots: 10, total: 10, reserved: 0, draining: false },
        sev_snp: { state: 'absent' },
      },
      lastDisagreement: { text: ['SEV slots: cgroup=509, libvirt=253; using 253'] },
    });
    expect(status.models.sev.provider.name).toBe(`${name}_amd_sev`);

    const prom = readFileSync(metrics, 'utf8');
    expect(prom).toContain(`emplace_agent_cycle_outcome{host="${name}",outcome="in-sync"} 1`);
    expect(prom).toContain(`emplace_agent_inventory_total{host="${name}",model="sev"} 253`);
    expect(prom).toContain(`emplace_agent_model_state{host="${name}",model="sev_snp",state="absent"} 1`);
    expect(prom).toContain(`emplace_agent_unknown_evidence{host="${name}"} 0`);
    expect(prom).toMatch(/^# TYPE emplace_agent_last_success_timestamp_seconds gauge$/m);

    const shown = await runCli(['status', '--state-dir', state]);
    expect(shown.code).toBe(0);
    const lines = shown.stdout.split('\n');
    expect(lines[0]).toMatch(/^host status\.example\.org {2}provider \S+ {2}layout nested$/);
    expect(lines[1]).toMatch(/: in-sync, exit status 0; last success \d{4}-/);
    expect(lines[3]).toMatch(/^MODEL +STATE +PROVIDER +TOTAL +RESERVED +USED +DRAINING +SOURCES +LAST DISAGREEMENT$/);
    const sev = lines.find((l) => l.startsWith('SEV '))!;
    expect(sev).toMatch(
      /^SEV +present \(253\) +status\.example\.org_amd_sev +253 +0 +0 +no +cgroup=509 libvirt=253 +\S+: SEV slots: cgroup=509, libvirt=253; using 253$/,
    );
    expect(lines.find((l) => l.startsWith('SEV-ES '))).toMatch(/^SEV-ES +present \(10\) .* cgroup=10 libvirt=10 +-$/);

    // A later cycle without disagreement keeps the last one it saw.
    host.write('sys/fs/cgroup/misc.capacity', 'sev 253\nsev_es 10\n');
    expect((await runCli(['--once', ...args])).code).toBe(0);
    const later = JSON.parse(readFileSync(path.join(state, 'status.json'), 'utf8'));
    expect(later.disagreements).toEqual([]);
    expect(later.lastDisagreement).toEqual(status.lastDisagreement);
  });

  it('records unknown evidence: outcome unknown, exit status 3, and the table says what was left alone', async () => {
    const host = newHost('kvm-not-loaded');
    const state = path.join(host.root, '.agent-state');
    expect((await runCli(['--once', ...cliArgs(harness, host, 'status-unknown.example.org')])).code).toBe(3);
    const shown = await runCli(['status', '--state-dir', state]);
    expect(shown.code).toBe(3);
    expect(shown.stdout).toMatch(/: unknown, exit status 3/);
    expect(shown.stdout).toMatch(/^SEV +unknown +status-unknown\.example\.org +- +- +- +no +cgroup=0 +-$/m);
    expect(shown.stdout).toContain('unknown: SEV: kvm_amd is not loaded (or /sys/module is not visible here)');
  });

  it('says so when there is no status yet', async () => {
    const { code, stderr } = await runCli(['status', '--state-dir', '/nonexistent/emplace']);
    expect(code).toBe(3);
    expect(stderr).toMatch(/no status in \/nonexistent\/emplace\/status.json yet/);
  });
});

describe('command line surface', () => {
  it('--version prints the package version; --help the option table; both exit 0', async () => {
    const version = await runCli(['--version']);
    expect(version).toEqual({ code: 0, stdout: `emplace-agent ${agentVersion()}\n`, stderr: '' });
    expect(agentVersion()).toBe(JSON.parse(readFileSync(path.join(__dirname, '../../package.json'), 'utf8')).version);
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--adopt-by-name +take over a provider/);
  });

  it('never prints the token: not with debug logs, not in --print-config, not on failure', async () => {
    const secret = 'tok-7f3a9c1e-never-print-me';
    const host = newHost('sev-es-cgroup2');
    const args = cliArgs(harness, host, 'secret.example.org', '--token', secret);
    const run = await runCli(['--once', ...args], { EMPLACE_LOG_LEVEL: 'debug' });
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/--token on the command line is visible to other users/);
    const printed = await runCli(['--print-config', ...args]);
    expect(printed.stdout).toMatch(/"token": "\(secret\)"/);
    const down = await runCli(['--once', ...args, '--url', 'http://127.0.0.1:1', '--request-retries', '0'], {
      EMPLACE_LOG_LEVEL: 'debug',
    });
    expect(down.code).toBe(2);
    for (const output of [run, printed, down]) expect(output.stdout + output.stderr).not.toContain(secret);
    expect(readFileSync(path.join(host.root, '.agent-state', 'status.json'), 'utf8')).not.toContain(secret);
  });
});
