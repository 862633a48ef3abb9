import path from 'node:path';
import { childUuid, MEC, OWNER_TRAIT } from '../../src/agent/model';
import {
  cliArgs,
  fakeHost,
  runCli,
  startHarness,
  writeLines,
  type FakeHost,
  type Harness,
} from '../helpers/agent-harness';

/**
 * Each fixture host through `emplace-agent --once` against the real service: what it printed about the
 * host, the exact writes the service received (none where the evidence is missing), and the exit status.
 */
let harness: Harness;
const hosts: FakeHost[] = [];
const newHost = (fixture: string) => {
  const host = fakeHost(fixture);
  hosts.push(host);
  return host;
};

beforeAll(async () => {
  harness = await startHarness();
  // Created once here so each case's writes are its own (the first agent write creates it otherwise).
  expect((await harness.api('PUT', `/traits/${OWNER_TRAIT}`)).status).toBe(201);
});
afterAll(async () => {
  await harness.close();
  for (const host of hosts) host.dispose();
});
beforeEach(() => {
  harness.requests.length = 0;
});

/** Writes as `METHOD /path` with provider uuids replaced by provider names (or left when deleted). */
async function writes(): Promise<string[]> {
  const all = (await harness.api('GET', '/resource_providers')).body.resource_providers as any[];
  const names = new Map(all.map((p) => [p.uuid, p.name]));
  return writeLines(harness.requests).map((line) => line.replace(/[0-9a-f-]{36}/g, (u) => names.get(u) ?? u));
}

async function providerByName(name: string) {
  const found = (await harness.api('GET', `/resource_providers?name=${name}`)).body.resource_providers[0];
  if (!found) return undefined;
  const base = `/resource_providers/${found.uuid}`;
  return {
    uuid: found.uuid as string,
    inventories: (await harness.api('GET', `${base}/inventories`)).body.inventories,
    traits: ((await harness.api('GET', `${base}/traits`)).body.traits as string[]).sort(),
  };
}

const once = (host: FakeHost, name: string, ...extra: string[]) =>
  runCli(['--once', ...cliArgs(harness, host, name, '--domcaps-file', '/domcapabilities.xml', ...extra)]);

/** Register a healthy SEV host under `name`, then point the same state dir at another fixture's tree. */
async function registeredThen(fixture: string, name: string, layout = 'root') {
  const healthy = newHost('sev-es-cgroup2');
  const first = await runCli(['--once', ...cliArgs(harness, healthy, name, '--layout', layout)]);
  expect(first.code).toBe(0);
  const before = await providerByName(name);
  const host = newHost(fixture);
  harness.requests.length = 0;
  const stateDir = path.join(healthy.root, '.agent-state');
  return { host, before, run: (...extra: string[]) => once(host, name, '--state-dir', stateDir, ...extra) };
}

const REGISTER_ROOT = (name: string) => [
  'POST /resource_providers',
  `PUT /resource_providers/${name}/inventories`,
  `PUT /resource_providers/${name}/traits`,
];

describe('evidence missing: unknown, nothing written', () => {
  it('kvm_amd not loaded: every SEV model unknown, the registered root untouched, exit 3', async () => {
    const { run, before } = await registeredThen('kvm-not-loaded', 'unloaded.example.org');
    const { code, stdout } = await run();
    expect(stdout).toMatch(/SEV {6}unknown {2}kvm_amd is not loaded \(or \/sys\/module is not visible here\)/);
    expect(stdout).toMatch(/unknown: SEV: kvm_amd is not loaded .* \(left as it is\)/);
    expect(stdout).toMatch(/result: unknown \(exit status 3\)/);
    expect(await writes()).toEqual([]);
    expect(await providerByName('unloaded.example.org')).toEqual(before);
    expect(code).toBe(3);
  });

  it('nested layout with SEV unknown: the root keeps its SEV inventory and traits', async () => {
    const { run, before } = await registeredThen('kvm-not-loaded', 'unloaded-nested.example.org');
    expect(before?.inventories[MEC].total).toBe(509);
    const { code } = await run('--layout', 'nested');
    expect(await writes()).toEqual([]);
    expect(await providerByName('unloaded-nested.example.org')).toEqual(before);
    expect(code).toBe(3);
  });

  it.each([
    ['an empty host root', () => newHost('empty-host-root').root],
    ['a host root that does not exist', () => path.join(newHost('empty-host-root').root, 'missing')],
  ])('%s: nothing known, no provider created, exit 3', async (_what, rootOf) => {
    const root = rootOf();
    const { code, stdout } = await runCli([
      '--once',
      ...cliArgs(harness, { root } as FakeHost, 'nothing.example.org'),
      '--state-dir',
      `${root}-state`,
    ]);
    expect(stdout).toMatch(/SEV {6}unknown {2}CPU vendor unknown \(cannot read \/proc\/cpuinfo: missing\)/);
    expect(stdout).toMatch(/TDX {6}unknown/);
    expect(stdout).toMatch(/unknown: host resources/);
    expect(await writes()).toEqual([]);
    expect(await providerByName('nothing.example.org')).toBeUndefined();
    expect(code).toBe(3);
  });

  it('the misc cgroup at 0 against libvirt at 253: unknown, the disagreement printed, nothing written', async () => {
    const { run, before } = await registeredThen('sev-cgroup-zero-libvirt-253', 'zero-vs-253.example.org');
    const { code, stdout } = await run();
    expect(stdout).toMatch(/SEV {6}unknown {2}capacity sources disagree \(cgroup=0, libvirt=253\)/);
    expect(stdout).toMatch(/disagreement: SEV slots: cgroup=0, libvirt=253; a zero against a count: unknown/);
    expect(await writes()).toEqual([]);
    expect(await providerByName('zero-vs-253.example.org')).toEqual(before);
    expect(code).toBe(3);
  });

  it('SEV-ES unknown while kvm_amd says SEV is unusable: ES gets its child, the root is left alone', async () => {
    const host = newHost('sev-log-unusable');
    const { code, stdout } = await once(host, 'unusable.example.org', '--layout', 'nested');
    expect(stdout).toMatch(/SEV {6}unknown {2}only kernel-log reads 0 SEV slots/);
    expect(stdout).toMatch(/SEV-ES {3}present {2}509 slot\(s\)/);
    expect(await writes()).toEqual([
      'POST /resource_providers',
      'POST /resource_providers',
      'PUT /resource_providers/unusable.example.org/inventories',
      'PUT /resource_providers/unusable.example.org_amd_sev_es/inventories',
      'PUT /resource_providers/unusable.example.org/traits',
      'PUT /resource_providers/unusable.example.org_amd_sev_es/traits',
    ]);
    expect(code).toBe(3);
  });
});

describe('positive evidence', () => {
  it('parameters Y without /dev/sev: offered, with a warning, exit 0', async () => {
    const { code, stdout } = await once(newHost('sev-no-firmware'), 'no-dev-sev.example.org');
    expect(stdout).toMatch(/SEV {6}present {2}509 slot\(s\)/);
    expect(stdout).toMatch(/warning: \/dev\/sev is missing: the SEV firmware \(ccp\/PSP\) may not be up/);
    expect(await writes()).toEqual(REGISTER_ROOT('no-dev-sev.example.org'));
    expect((await providerByName('no-dev-sev.example.org'))?.inventories[MEC].total).toBe(509);
    expect(code).toBe(0);
  });

  it('two sources reading 0 take SEV away', async () => {
    const { run } = await registeredThen('sev-two-sources-zero', 'two-zeros.example.org');
    const { code, stdout } = await run();
    expect(stdout).toMatch(/SEV {6}absent {3}no SEV slots \(cgroup=0, libvirt=0\)/);
    expect(await writes()).toEqual([
      'PUT /resource_providers/two-zeros.example.org/inventories',
      'PUT /resource_providers/two-zeros.example.org/traits',
    ]);
    const after = await providerByName('two-zeros.example.org');
    expect(after?.inventories[MEC]).toBeUndefined();
    expect(after?.traits).toEqual([OWNER_TRAIT]);
    expect(code).toBe(0);
  });

  it('SEV disabled in the BIOS is told apart from SEV disabled by the kvm_amd parameter', async () => {
    const bios = await registeredThen('sev-bios-disabled', 'bios-off.example.org');
    const { code, stdout } = await bios.run();
    expect(stdout).toMatch(/SEV {6}absent {3}SEV disabled in firmware\/BIOS \(no 'sev' flag in \/proc\/cpuinfo\)/);
    expect(stdout).not.toMatch(/disabled by kvm_amd parameter/);
    expect(await writes()).toEqual([
      'PUT /resource_providers/bios-off.example.org/inventories',
      'PUT /resource_providers/bios-off.example.org/traits',
    ]);
    expect(code).toBe(0);

    const param = await registeredThen('no-sev', 'param-off.example.org');
    const off = await param.run();
    expect(off.stdout).toMatch(/SEV {6}absent {3}SEV disabled by kvm_amd parameter sev=N/);
    expect(off.stdout).not.toMatch(/BIOS/);
    expect(off.code).toBe(0);
  });
});

describe('key slots from the kernel log and ciphertext hiding', () => {
  const children = (name: string, ...suffixes: string[]) => [
    ...suffixes.map(() => 'POST /resource_providers'),
    `PUT /resource_providers/${name}/inventories`,
    ...suffixes.slice(1).map((s) => `PUT /resource_providers/${name}${s}/inventories`),
    `PUT /resource_providers/${name}/traits`,
    ...suffixes.slice(1).map((s) => `PUT /resource_providers/${name}${s}/traits`),
  ];

  it('ciphertext hiding: SNP gets ciphertext_hiding_asids, SEV-ES the rest of the shared range', async () => {
    const name = 'cth.example.org';
    const { code, stdout } = await once(newHost('sev-snp-ciphertext-hiding'), name, '--layout', 'nested');
    expect(stdout).toMatch(
      /SEV-ES {3}present {2}309 slot\(s\): 309 slots \(309 left by ciphertext hiding of kernel-log=409\)/,
    );
    expect(stdout).toMatch(
      /SEV-SNP {2}present {2}100 slot\(s\): 100 slots \(ciphertext_hiding_asids=100 of kernel-log=409\)/,
    );
    expect(await writes()).toEqual(children(name, '', '_amd_sev', '_amd_sev_es', '_amd_sev_snp'));
    for (const [suffix, total] of [
      ['_amd_sev', 100],
      ['_amd_sev_es', 309],
      ['_amd_sev_snp', 100],
    ] as const)
      expect((await providerByName(`${name}${suffix}`))?.inventories[MEC].total).toBe(total);
    expect(code).toBe(0);
  });

  it('a kern.log with two boots: the current boot only', async () => {
    const { code, stdout } = await once(newHost('sev-kernlog-two-boots'), 'two-boots.example.org');
    expect(stdout).toMatch(/source kernel-log: sev=310 es=199 \(\/var\/log\/kern.log \(current boot\)\)/);
    expect(await writes()).toEqual(REGISTER_ROOT('two-boots.example.org'));
    expect((await providerByName('two-boots.example.org'))?.inventories[MEC].total).toBe(310);
    expect(code).toBe(0);
  });

  it('a kern.log of an older boot is skipped for the journal of the current boot', async () => {
    const name = 'journal.example.org';
    const host = newHost('sev-kernlog-stale-journal');
    const { code, stdout } = await once(host, name, '--layout', 'nested', '--journal-file', '/journal.json');
    expect(stdout).toMatch(
      /source journal: sev=380 es=129 \(\/journal.json \(boot 3f9c1f2e8a4b4c6d9e0f1a2b3c4d5e6f\)\)/,
    );
    expect(await writes()).toEqual(children(name, '', '_amd_sev', '_amd_sev_snp'));
    expect((await providerByName(`${name}_amd_sev_snp`))?.inventories[MEC].total).toBe(129);
    expect(code).toBe(0);
  });

  it.each([
    ['sev-newlog', 'SEV supported: N ASIDs', 'sev=410 es=99 (/var/log/dmesg (current boot))', 410],
    ['sev-domcaps-nocount-oldlog', 'enabled (ASIDs a - b)', 'sev=410 es=99 (/var/log/kern.log (current boot))', 410],
    ['sev-log-es-and-snp', 'SEV-ES and SEV-SNP supported', 'sev=410 es=99 (/var/log/dmesg (current boot))', 410],
  ])('%s: the "%s" format', async (fixture, _format, said, total) => {
    const name = `${fixture}.example.org`;
    const { code, stdout } = await once(newHost(fixture), name);
    expect(stdout).toContain(`source kernel-log: ${said}`);
    expect(await writes()).toEqual(REGISTER_ROOT(name));
    expect((await providerByName(name))?.inventories[MEC].total).toBe(total);
    expect(code).toBe(0);
  });

  it('the "disabled" format with the parameters off: no SEV, the host registered with its resources only', async () => {
    const name = 'log-disabled.example.org';
    const { code, stdout } = await once(newHost('sev-log-disabled'), name);
    expect(stdout).toContain('source kernel-log: sev=0 es=0');
    expect(stdout).toMatch(/SEV {6}absent {3}SEV disabled by kvm_amd parameter sev=N/);
    expect(await writes()).toEqual(REGISTER_ROOT(name));
    const root = await providerByName(name);
    expect(Object.keys(root!.inventories).sort()).toEqual(['DISK_GB', 'MEMORY_MB', 'VCPU']);
    expect(root!.traits).toEqual([OWNER_TRAIT]);
    expect(code).toBe(0);
  });

  it('SEV-ES needs QEMU 8.0: with QEMU 7.2 only the SEV child', async () => {
    const name = 'qemu7.example.org';
    const host = newHost('sev-qemu-7');
    const { code, stdout } = await once(host, name, '--layout', 'nested', '--qemu-version-file', '/virsh-version.txt');
    expect(stdout).toMatch(/SEV-ES {3}absent {3}QEMU 7\.2\.0 is older than 8\.0, which SEV-ES needs/);
    expect(await writes()).toEqual(children(name, '', '_amd_sev'));
    expect(code).toBe(0);
  });
});

describe('Intel TDX', () => {
  it('kvm_intel tdx=Y and a tdx line in misc.capacity: a <host>_intel_tdx child with the TDX trait', async () => {
    const name = 'tdx.example.org';
    const { code, stdout } = await once(newHost('tdx-host'), name);
    expect(stdout).toMatch(/TDX {6}present {2}32 slot\(s\): 32 slots \(cgroup=32\)/);
    expect(stdout).toMatch(/SEV {6}absent {3}CPU vendor is GenuineIntel, not AuthenticAMD/);
    expect(await writes()).toEqual([
      'POST /resource_providers',
      'POST /resource_providers',
      `PUT /resource_providers/${name}/inventories`,
      `PUT /resource_providers/${name}_intel_tdx/inventories`,
      `PUT /resource_providers/${name}/traits`,
      `PUT /resource_providers/${name}_intel_tdx/traits`,
    ]);
    const root = await providerByName(name);
    const tdx = await providerByName(`${name}_intel_tdx`);
    expect(tdx?.uuid).toBe(childUuid(root!.uuid, 'tdx'));
    expect(tdx?.inventories[MEC]).toMatchObject({ total: 32, max_unit: 1 });
    expect(tdx?.traits).toEqual([OWNER_TRAIT, 'HW_CPU_X86_INTEL_TDX']);
    const candidates = await harness.api(
      'GET',
      '/allocation_candidates?resources=VCPU:1&resources1=MEM_ENCRYPTION_CONTEXT:1&required1=HW_CPU_X86_INTEL_TDX',
    );
    expect(Object.keys(candidates.body.provider_summaries).sort()).toEqual([root!.uuid, tdx!.uuid].sort());
    expect(code).toBe(0);
  });

  it('tdx=Y without a tdx line in misc.capacity: unknown, no child, exit 3', async () => {
    const name = 'tdx-nocount.example.org';
    const { code, stdout } = await once(newHost('tdx-no-capacity'), name);
    expect(stdout).toMatch(/TDX {6}unknown {2}no capacity source gives the TDX slot count/);
    expect(await writes()).toEqual(REGISTER_ROOT(name));
    expect(await providerByName(`${name}_intel_tdx`)).toBeUndefined();
    expect(code).toBe(3);
  });
});
