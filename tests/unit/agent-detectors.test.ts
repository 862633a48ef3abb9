import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AGENT_DEFAULTS, type AgentConfig } from '../../src/agent/config';
import { miscCapacitySource, parseMiscFile, readMisc } from '../../src/agent/detectors/cgroup';
import { readCpuidSlots, SEV_LEAF, slotsFromCpuid } from '../../src/agent/detectors/cpuid';
import { parseCpuinfo, readHostCpu } from '../../src/agent/detectors/cpuinfo';
import { detect } from '../../src/agent/detectors/detect';
import { countCpuList, parseMeminfoMb, readHostResources } from '../../src/agent/detectors/host-resources';
import {
  journalMessages,
  lastBoot,
  parseKernelLog,
  readKernelLog,
  stampedInBoot,
} from '../../src/agent/detectors/kernel-log';
import { AMD_PARAMS, parseModuleFlag, readModule } from '../../src/agent/detectors/kvm';
import { parseDomainCapabilities, parseQemuVersion, readDomainCapabilities } from '../../src/agent/detectors/libvirt';
import { resolvePool } from '../../src/agent/detectors/pools';

const HOSTS = path.join(__dirname, '..', 'fixtures', 'hosts');
const host = (name: string) => path.join(HOSTS, name);
const configFor = (name: string, extra: Partial<AgentConfig> = {}): AgentConfig => ({
  ...AGENT_DEFAULTS,
  hostRoot: host(name),
  useVirsh: false,
  useJournal: false,
  domcapsFile: '/domcapabilities.xml',
  qemuVersionFile: '/virsh-version.txt',
  journalFile: '/journal.json',
  ...extra,
});
const withTree = (files: Record<string, string | null>, run: (root: string) => void) => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'agent-tree-'));
  try {
    for (const [file, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
      // null: a directory where the file should be, which fails with EISDIR even for root (like EACCES).
      if (text === null) mkdirSync(path.join(root, file), { recursive: true });
      else writeFileSync(path.join(root, file), text);
    }
    run(root);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
};
const BOOT = Date.parse('2025-03-10T08:00:00Z');

describe('kvm module parameters', () => {
  it.each([
    ['1', true],
    ['0', false],
    ['Y', true],
    ['N', false],
    ['y\n', true],
    ['maybe', 'unknown'],
  ])('reads %j as %j', (text, expected) => {
    expect(parseModuleFlag(text)).toBe(expected);
  });

  it('tells a module that is not loaded from a parameter the module does not have', () => {
    expect(readModule(host('kvm-not-loaded'), 'kvm_amd', AMD_PARAMS)).toMatchObject({
      loaded: false,
      params: { sev: 'unknown' },
    });
    expect(readModule(host('sev-old-kernel-cgroup1'), 'kvm_amd', AMD_PARAMS)).toMatchObject({
      loaded: true,
      params: { sev: '1', sev_es: '0', sev_snp: 'missing', ciphertext_hiding_asids: 'missing' },
    });
  });

  it('reads an unreadable parameter as unknown, not off', () => {
    withTree({ 'sys/module/kvm_amd/parameters/sev': null, 'sys/module/kvm_amd/parameters/sev_es': 'Y\n' }, (root) => {
      const reading = readModule(root, 'kvm_amd', AMD_PARAMS);
      expect(reading.params).toMatchObject({ sev: 'unknown', sev_es: 'Y' });
      expect(reading.notes.join()).toMatch(/EISDIR/);
    });
  });
});

describe('/proc/cpuinfo', () => {
  it('reads the vendor and flags of the first processor, and the architecture', () => {
    const parsed = parseCpuinfo('processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu lm sev sev_es\n');
    expect(parsed.vendor).toBe('AuthenticAMD');
    expect([...parsed.flags!]).toEqual(['fpu', 'lm', 'sev', 'sev_es']);
    expect(readHostCpu(host('sev-es-cgroup2'))).toMatchObject({ arch: 'x86_64', vendor: 'AuthenticAMD' });
    expect(readHostCpu(host('tdx-host'))).toMatchObject({ arch: 'x86_64', vendor: 'GenuineIntel' });
  });

  it('is unknown when unreadable, and not x86 without a vendor_id', () => {
    expect(readHostCpu(host('empty-host-root'))).toMatchObject({ arch: 'unknown', vendor: 'unknown' });
    withTree({ 'proc/cpuinfo': 'processor\t: 0\nBogoMIPS\t: 50.00\nCPU implementer\t: 0x41\n' }, (root) =>
      expect(readHostCpu(root)).toMatchObject({ arch: 'not x86', vendor: 'none' }),
    );
  });
});

describe('misc cgroup', () => {
  it('parses flat-keyed files and reads v2 at the root, v1 under the controller', () => {
    expect(parseMiscFile('res_a 3\nsev 509\nsev_es 10\ntdx 32\n')).toEqual({ res_a: 3, sev: 509, sev_es: 10, tdx: 32 });
    expect(miscCapacitySource(readMisc(host('sev-es-cgroup2'), 'misc.capacity'))).toMatchObject({ sev: 509, es: 10 });
    expect(miscCapacitySource(readMisc(host('sev-old-kernel-cgroup1'), 'misc.capacity'))).toMatchObject({
      sev: 15,
      es: 0,
      detail: '/sys/fs/cgroup/misc/misc.capacity',
    });
    expect(miscCapacitySource(readMisc(host('tdx-host'), 'misc.capacity'))).toMatchObject({ tdx: 32 });
    expect(readMisc(host('sev-drift'), 'misc.current')).toMatchObject({ values: { sev: 2, sev_es: 0 } });
  });

  it('is absent without misc.capacity, and an error when it cannot be read', () => {
    expect(miscCapacitySource(readMisc(host('sev-domcaps'), 'misc.capacity'))).toMatchObject({ status: 'absent' });
    withTree({ 'sys/fs/cgroup/misc.capacity': null }, (root) =>
      expect(miscCapacitySource(readMisc(root, 'misc.capacity'))).toMatchObject({ status: 'error' }),
    );
  });
});

describe('libvirt', () => {
  const caps = (name: string, file = '/domcapabilities.xml') =>
    readDomainCapabilities({ hostRoot: host(name), file, useVirsh: false });

  it('reads maxGuests and maxESGuests, and SNP only from <launchSecurity>', () => {
    expect(caps('sev-domcaps')).toMatchObject({ snp: true, source: { sev: 15, es: 494 } });
    expect(caps('sev-es-snp-switch', '/domcaps-libvirt-10.0.xml')).toMatchObject({ snp: false });
    expect(caps('sev-es-snp-switch', '/domcaps-libvirt-10.5.xml')).toMatchObject({ snp: true });
    expect(caps('sev-cgroup-zero-libvirt-253')).toMatchObject({ snp: false, source: { sev: 253, es: 10 } });
  });

  it("cannot count without maxGuests, reads supported='no' as 0, and did not answer without a file", () => {
    expect(caps('sev-domcaps-nocount-oldlog').source).toMatchObject({ status: 'absent' });
    expect(caps('sev-two-sources-zero').source).toMatchObject({ sev: 0, es: 0 });
    expect(readDomainCapabilities({ hostRoot: host('sev-domcaps'), useVirsh: false })).toEqual({
      source: expect.objectContaining({ status: 'absent' }),
    });
    expect(parseDomainCapabilities('<html/>').source).toMatchObject({ status: 'error' });
  });

  it('reads the QEMU version from virsh version or a bare version', () => {
    expect(parseQemuVersion('Compiled against library: libvirt 9.0.0\nRunning hypervisor: QEMU 7.2.0\n')).toEqual([
      7, 2, 0,
    ]);
    expect(parseQemuVersion('8.2\n')).toEqual([8, 2, 0]);
    expect(parseQemuVersion('Compiled against library: libvirt 9.0.0\n')).toBeUndefined();
  });
});

describe('CPUID leaf 0x8000001F', () => {
  it('derives SEV slots as ECX - EDX + 1 and ES slots as EDX - 1', () => {
    expect(slotsFromCpuid({ eax: 0x1b, ebx: 0, ecx: 509, edx: 100 })).toEqual({ sev: 410, es: 99 });
    expect(slotsFromCpuid({ eax: 0x1, ebx: 0, ecx: 509, edx: 100 })).toEqual({ sev: 0, es: 0 });
  });

  it('reads the leaf at its offset in /dev/cpu/0/cpuid', () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'agent-cpuid-'));
    mkdirSync(path.join(root, 'dev/cpu/0'), { recursive: true });
    const fd = openSync(path.join(root, 'dev/cpu/0/cpuid'), 'w');
    const regs = Buffer.alloc(16);
    [0x1b, 0x3ef, 1006, 507].forEach((value, i) => regs.writeUInt32LE(value, i * 4));
    writeSync(fd, regs, 0, 16, SEV_LEAF); // sparse: only these 16 bytes occupy disk
    closeSync(fd);
    try {
      expect(readCpuidSlots(root)).toMatchObject({ source: 'cpuid', sev: 500, es: 506 });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('kernel log', () => {
  it.each([
    [
      'SEV supported: N ASIDs',
      'kvm_amd: SEV supported: 410 ASIDs\nkvm_amd: SEV-ES supported: 99 ASIDs',
      { sev: 410, es: 99 },
    ],
    [
      'SEV-ES and SEV-SNP supported',
      'SEV supported: 410 ASIDs\nSEV-ES and SEV-SNP supported: 99 ASIDs',
      { sev: 410, es: 99 },
    ],
    [
      'enabled (ASIDs a - b)',
      'kvm_amd: SEV enabled (ASIDs 100 - 509)\nkvm_amd: SEV-ES enabled (ASIDs 1 - 99)',
      { sev: 410, es: 99 },
    ],
    [
      'SNP and ES over one range',
      'SEV enabled (ASIDs 100 - 509)\nSEV-ES enabled (ASIDs 1 - 99)\nSEV-SNP enabled (ASIDs 1 - 99)',
      { sev: 410, es: 99 },
    ],
    [
      'ciphertext hiding: split ranges',
      'SEV enabled (ASIDs 410 - 509)\nSEV-ES enabled (ASIDs 101 - 409)\nSEV-SNP enabled (ASIDs 1 - 100)',
      { sev: 100, es: 409 },
    ],
    ['unusable', 'SEV unusable (ASIDs 510 - 509)\nSEV-ES enabled (ASIDs 1 - 509)', { sev: 0, es: 509 }],
    ['disabled', 'SEV disabled (ASIDs 100 - 509)\nSEV-ES disabled (ASIDs 1 - 99)', { sev: 0, es: 0 }],
    ['bare disabled', 'kvm_amd: SEV disabled\n', { sev: 0 }],
    ['an empty ES range', 'SEV enabled (ASIDs 1 - 509)\nSEV-ES enabled (ASIDs 0 - 0)', { sev: 509, es: 0 }],
    ['not the ccp driver', 'ccp 0000:22:00.1: sev enabled\nccp 0000:22:00.1: SEV API:1.55 build:21', {}],
  ])('reads the %s format', (_name, text, expected) => {
    expect(parseKernelLog(text)).toEqual(expected);
  });

  it('keeps the lines from the last boot marker on', () => {
    const text =
      'x kernel: Linux version 6.1\nSEV supported: 10 ASIDs\ny kernel: Linux version 6.8\nSEV supported: 20 ASIDs\n';
    expect(lastBoot(text).lines).toMatch(/^y kernel: Linux version 6\.8/);
    expect(parseKernelLog(lastBoot(text).lines)).toEqual({ sev: 20 });
  });

  it('tells a boot marker of this boot from an older one, for ISO and traditional stamps', () => {
    const now = Date.parse('2025-06-01T00:00:00Z');
    expect(stampedInBoot('2025-03-10T08:00:02+00:00 h kernel: Linux version', BOOT, now, true)).toBe(true);
    expect(stampedInBoot('2025-03-01T06:00:02+00:00 h kernel: Linux version', BOOT, now, true)).toBe(false);
    const local = new Date(BOOT + 30_000);
    const bsd = (d: Date) =>
      `${d.toLocaleString('en-US', { month: 'short' })} ${String(d.getDate()).padStart(2)} ${d.toTimeString().slice(0, 8)} h kernel:`;
    expect(stampedInBoot(bsd(local), BOOT, now, true)).toBe(true);
    expect(stampedInBoot(bsd(new Date(BOOT - 9 * 86_400_000)), BOOT, now, true)).toBe(false);
    expect(stampedInBoot('[    7.5] kvm_amd: SEV supported', BOOT, now, true)).toBeUndefined();
  });

  const read = (name: string, extra: object = {}) =>
    readKernelLog({ hostRoot: host(name), files: AGENT_DEFAULTS.kernelLogFiles, useJournal: false, ...extra });

  it('reads the current boot of a two-boot kern.log', () => {
    expect(read('sev-kernlog-two-boots')).toMatchObject({ source: 'kernel-log', sev: 310, es: 199 });
  });

  it('skips a kern.log holding only an older boot and reads the current boot from the journal', () => {
    expect(read('sev-kernlog-stale-journal', { journalFile: '/journal.json' })).toMatchObject({
      source: 'journal',
      sev: 380,
      es: 129,
      detail: '/journal.json (boot 3f9c1f2e8a4b4c6d9e0f1a2b3c4d5e6f)',
    });
    expect(read('sev-kernlog-stale-journal')).toMatchObject({
      status: 'absent',
      detail: expect.stringContaining('/var/log/kern.log holds no line from the current boot'),
    });
  });

  it('picks journal entries by boot id', () => {
    const lines = [
      JSON.stringify({ _BOOT_ID: 'a', MESSAGE: 'SEV supported: 1 ASIDs' }),
      'not json',
      JSON.stringify({ _BOOT_ID: 'b', MESSAGE: 'SEV supported: 2 ASIDs' }),
    ].join('\n');
    expect(journalMessages(lines, 'b')).toBe('SEV supported: 2 ASIDs');
  });

  it('reads dmesg files without stamps when they were written since the boot', () => {
    expect(read('sev-newlog')).toMatchObject({ sev: 410, es: 99, detail: '/var/log/dmesg (current boot)' });
    expect(read('sev-log-es-and-snp')).toMatchObject({ sev: 410, es: 99 });
  });

  it('cannot tell the current boot without /proc/stat', () => {
    withTree({ 'var/log/kern.log': 'SEV supported: 5 ASIDs\n' }, (root) =>
      expect(readKernelLog({ hostRoot: root, files: ['/var/log/kern.log'], useJournal: false })).toMatchObject({
        status: 'absent',
        detail: expect.stringContaining('no btime'),
      }),
    );
  });
});

describe('combining capacity sources', () => {
  const pool = (...said: Array<[string, number | undefined]>) => {
    const disagreements: string[] = [];
    return {
      pool: resolvePool(
        said.map(([source, sev]) => ({ source, sev })),
        'sev',
        disagreements,
      ),
      disagreements,
    };
  };

  it('takes the minimum of counts and reports the disagreement', () => {
    expect(pool(['cgroup', 509], ['libvirt', 253])).toEqual({
      pool: { kind: 'count', value: 253, said: 'cgroup=509, libvirt=253' },
      disagreements: ['SEV slots: cgroup=509, libvirt=253; using 253'],
    });
  });

  it('needs two sources reading 0 for zero; one 0 alone, or a 0 against a count, is unknown', () => {
    expect(pool(['cgroup', 0], ['libvirt', 0]).pool.kind).toBe('zero');
    expect(pool(['cgroup', 0]).pool).toMatchObject({ kind: 'unknown', why: 'only cgroup reads 0 SEV slots' });
    expect(pool(['cgroup', 0], ['libvirt', 253]).pool).toMatchObject({ kind: 'unknown' });
    expect(pool(['cgroup', undefined]).pool).toMatchObject({ kind: 'unknown', why: /no capacity source/ });
  });
});

describe('models from fixture hosts', () => {
  type Want = Record<string, string>;
  const cases: Array<[string, Want, Partial<AgentConfig>?]> = [
    ['empty-host-root', { sev: 'unknown: CPU vendor unknown', tdx: 'unknown: CPU vendor unknown' }],
    [
      'kvm-not-loaded',
      { sev: 'unknown: kvm_amd is not loaded', sev_snp: 'unknown: kvm_amd is not loaded', tdx: 'absent' },
    ],
    ['sev-no-firmware', { sev: 'present 509', sev_es: 'absent: kvm_amd has no sev_es parameter' }],
    ['sev-cgroup-zero-libvirt-253', { sev: 'unknown: capacity sources disagree (cgroup=0, libvirt=253)' }],
    ['sev-two-sources-zero', { sev: 'absent: no SEV slots (cgroup=0, libvirt=0)', sev_es: 'absent: no SEV-ES slots' }],
    [
      'sev-bios-disabled',
      { sev: 'absent: SEV disabled in firmware/BIOS', sev_es: 'absent: SEV disabled in firmware/BIOS' },
    ],
    ['no-sev', { sev: 'absent: SEV disabled by kvm_amd parameter sev=N' }],
    ['sev-snp-ciphertext-hiding', { sev: 'present 100', sev_es: 'present 309', sev_snp: 'present 100' }],
    [
      'sev-snp-cgroup2',
      {
        sev: 'present 99',
        sev_es: 'absent: the shared ES/SNP ASID range is offered to SEV-SNP',
        sev_snp: 'present 410',
      },
    ],
    [
      'sev-es-snp-switch',
      { sev_es: 'present 410', sev_snp: "absent: libvirt's domain capabilities do not list sev-snp" },
      { domcapsFile: '/domcaps-libvirt-10.0.xml' },
    ],
    [
      'sev-es-snp-switch',
      { sev_es: 'absent: the shared', sev_snp: 'present 410' },
      { domcapsFile: '/domcaps-libvirt-10.5.xml' },
    ],
    ['sev-kernlog-two-boots', { sev: 'present 310', sev_es: 'present 199' }],
    ['sev-kernlog-stale-journal', { sev: 'present 380', sev_snp: 'present 129' }],
    ['sev-log-unusable', { sev: 'unknown: only kernel-log reads 0 SEV slots', sev_es: 'present 509' }],
    ['sev-log-disabled', { sev: 'absent: SEV disabled by kvm_amd parameter sev=N' }],
    ['sev-qemu-7', { sev: 'present 509', sev_es: 'absent: QEMU 7.2.0 is older than 8.0' }],
    ['sev-old-kernel-cgroup1', { sev: 'present 15', sev_es: 'absent: SEV-ES disabled by kvm_amd parameter sev_es=0' }],
    ['tdx-host', { sev: 'absent: CPU vendor is GenuineIntel, not AuthenticAMD', tdx: 'present 32' }],
    ['tdx-no-capacity', { tdx: 'unknown: no capacity source gives the TDX slot count' }],
    ['tdx-off', { tdx: 'absent: TDX disabled by kvm_intel parameter tdx=N' }],
    [
      'sev-es-cgroup2',
      { sev: 'present 8', sev_es: 'present 10', sev_snp: 'absent' },
      { maxSlotsSev: 8, maxSlotsEs: 20 },
    ],
  ];

  // One argument per row: jest takes a test function with more parameters than the row for a `done` callback.
  it.each(cases.map(([name, want, extra]) => ({ name, want, extra })))('$name', ({ name, want, extra }) => {
    const { models } = detect(configFor(name, extra));
    const got = Object.fromEntries(
      Object.entries(models).map(([m, s]) => [
        m,
        `${s.state}${s.state === 'present' ? ` ${s.slots}` : ''}: ${s.reason}`,
      ]),
    );
    for (const [model, text] of Object.entries(want)) expect(got[model]).toContain(text);
  });

  it('warns about a missing /dev/sev only where SEV is switched on', () => {
    expect(detect(configFor('sev-no-firmware')).warnings).toEqual([expect.stringMatching(/\/dev\/sev is missing/)]);
    expect(detect(configFor('no-sev')).warnings).toEqual([]);
  });

  it('reads misc.current as host usage', () => {
    expect(detect(configFor('sev-drift')).hostUsage).toEqual({ sev: 2, es: 0, tdx: undefined });
  });
});

describe('host resources', () => {
  it('counts CPUs from the online list and memory from meminfo', () => {
    expect(countCpuList('0-3,8-11,16\n')).toBe(9);
    expect(parseMeminfoMb('MemTotal:       65843200 kB\n')).toBe(64300);
    const resources = readHostResources(host('sev-es-cgroup2'), '/var/lib');
    expect(resources).toMatchObject({ vcpu: 16, memoryMb: 64300 });
    expect(resources.diskGb).toEqual(expect.any(Number));
  });

  it('is unknown when a source is missing', () => {
    const resources = readHostResources(path.join(HOSTS, 'does-not-exist'), '/var/lib');
    expect(resources).toMatchObject({ vcpu: 'unknown', memoryMb: 'unknown', diskGb: 'unknown' });
  });
});
