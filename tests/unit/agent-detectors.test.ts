import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AGENT_DEFAULTS, type AgentConfig } from '../../src/agent/config';
import { parseMiscCapacity, readMiscCapacity } from '../../src/agent/detectors/cgroup';
import { readCpuidSlots, SEV_LEAF, slotsFromCpuid } from '../../src/agent/detectors/cpuid';
import { decideModels, detect, resolvePools } from '../../src/agent/detectors/detect';
import { countCpuList, parseMeminfoMb, readHostResources } from '../../src/agent/detectors/host-resources';
import { parseKernelLog, readKernelLog } from '../../src/agent/detectors/kernel-log';
import { parseModuleFlag, readKvmGates, type KvmGates } from '../../src/agent/detectors/kvm';
import { parseDomainCapabilities, readDomainCapabilities } from '../../src/agent/detectors/libvirt';

const HOSTS = path.join(__dirname, '..', 'fixtures', 'hosts');
const host = (name: string) => path.join(HOSTS, name);
const configFor = (name: string, extra: Partial<AgentConfig> = {}): AgentConfig => ({
  ...AGENT_DEFAULTS,
  hostRoot: host(name),
  useVirsh: false,
  domcapsFile: '/domcapabilities.xml',
  ...extra,
});

describe('kvm_amd module parameters', () => {
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

  it('reads Y/N from a newer kernel tree', () => {
    const gates = readKvmGates(host('sev-es-cgroup2'));
    expect(gates).toMatchObject({ sev: true, sevEs: true, sevSnp: false, devSev: true });
  });

  it('reads 1/0 from an older kernel and treats the missing sev_snp file as off', () => {
    const gates = readKvmGates(host('sev-old-kernel-cgroup1'));
    expect(gates).toMatchObject({ sev: true, sevEs: false, sevSnp: false, devSev: true });
  });

  it('reports a missing /dev/sev as firmware down', () => {
    expect(readKvmGates(host('sev-no-firmware'))).toMatchObject({ sev: true, sevEs: false, devSev: false });
  });

  it('treats an unreadable parameter as unknown, not off', () => {
    // A directory where the file should be fails with EISDIR even for root, like EACCES would for others.
    const root = mkdtempSync(path.join(os.tmpdir(), 'agent-kvm-'));
    mkdirSync(path.join(root, 'sys/module/kvm_amd/parameters/sev'), { recursive: true });
    try {
      const gates = readKvmGates(root);
      expect(gates.sev).toBe('unknown');
      expect(gates.sevEs).toBe(false);
      expect(gates.notes.join()).toMatch(/EISDIR/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('misc cgroup capacity', () => {
  it('parses sev and sev_es lines and ignores other resources', () => {
    expect(parseMiscCapacity('res_a 3\nsev 509\nsev_es 10\n')).toEqual({ sev: 509, es: 10 });
  });

  it('reads cgroup v2 at the hierarchy root', () => {
    expect(readMiscCapacity(host('sev-es-cgroup2'))).toMatchObject({ source: 'cgroup', sev: 509, es: 10 });
  });

  it('reads cgroup v1 under the misc controller directory', () => {
    expect(readMiscCapacity(host('sev-old-kernel-cgroup1'))).toMatchObject({ source: 'cgroup', sev: 15, es: 0 });
  });

  it('is absent when no misc.capacity exists', () => {
    expect(readMiscCapacity(host('sev-domcaps'))).toMatchObject({ status: 'absent' });
  });
});

describe('libvirt domain capabilities', () => {
  it('reads maxGuests, maxESGuests and SNP from launchSecurity', () => {
    const result = readDomainCapabilities(host('sev-domcaps'), {
      domcapsFile: '/domcapabilities.xml',
      useVirsh: false,
    });
    expect(result).toMatchObject({ source: 'libvirt', sev: 15, es: 494, snp: true });
  });

  it('cannot answer the capacity question without maxGuests', () => {
    const result = readDomainCapabilities(host('sev-domcaps-nocount-oldlog'), {
      domcapsFile: '/domcapabilities.xml',
      useVirsh: false,
    });
    expect(result).toMatchObject({ source: 'libvirt', status: 'absent' });
  });

  it("reads supported='no' as no slots", () => {
    expect(
      parseDomainCapabilities("<domainCapabilities><features><sev supported='no'/></features></domainCapabilities>"),
    ).toMatchObject({ sev: 0, es: 0 });
  });

  it('takes maxGuests alone when maxESGuests is missing', () => {
    const xml =
      '<domainCapabilities><features><sev supported="yes"><maxGuests>7</maxGuests></sev></features></domainCapabilities>';
    expect(parseDomainCapabilities(xml)).toEqual({
      source: 'libvirt',
      sev: 7,
      es: undefined,
      snp: undefined,
      detail: 'domain capabilities',
    });
  });

  it('is absent when no file is configured and virsh is off', () => {
    expect(readDomainCapabilities(host('sev-domcaps'), { useVirsh: false })).toMatchObject({ status: 'absent' });
  });
});

describe('CPUID leaf 0x8000001F', () => {
  it('derives SEV slots as ECX - EDX + 1 and ES slots as EDX - 1', () => {
    expect(slotsFromCpuid({ eax: 0x1b, ebx: 0, ecx: 509, edx: 100 })).toEqual({ sev: 410, es: 99 });
  });

  it('reports no slots when the SEV bit is clear', () => {
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

  it('is absent without the cpuid device', () => {
    expect(readCpuidSlots(host('sev-es-cgroup2'))).toMatchObject({ status: 'absent' });
  });
});

describe('kernel log', () => {
  it('reads the older "SEV enabled (ASIDs a - b)" format', () => {
    expect(parseKernelLog('kvm_amd: SEV enabled (ASIDs 100 - 509)\nkvm_amd: SEV-ES enabled (ASIDs 1 - 99)\n')).toEqual({
      sev: 410,
      es: 99,
    });
  });

  it('reads the newer "SEV supported: N ASIDs" format', () => {
    expect(parseKernelLog('kvm_amd: SEV supported: 410 ASIDs\nkvm_amd: SEV-ES supported: 99 ASIDs\n')).toEqual({
      sev: 410,
      es: 99,
    });
  });

  it('takes the last boot when the log spans several', () => {
    expect(parseKernelLog('SEV supported: 10 ASIDs\n...\nSEV supported: 20 ASIDs\n')).toEqual({ sev: 20 });
  });

  it('finds the first configured file with SEV lines', () => {
    expect(readKernelLog(host('sev-newlog'), AGENT_DEFAULTS.kernelLogFiles)).toMatchObject({
      source: 'kernel-log',
      sev: 410,
      es: 99,
      detail: '/var/log/dmesg',
    });
    expect(readKernelLog(host('sev-domcaps-nocount-oldlog'), AGENT_DEFAULTS.kernelLogFiles)).toMatchObject({
      sev: 410,
      es: 99,
      detail: '/var/log/kern.log',
    });
  });
});

describe('combining key-slot sources', () => {
  it('takes the minimum when sources disagree and reports the disagreement', () => {
    const detection = detect(configFor('sev-disagree'));
    expect(detection.pools).toEqual({ sev: 253, es: 10 });
    expect(detection.disagreements).toEqual([expect.stringContaining('cgroup=509, libvirt=253; using 253')]);
  });

  it('consults the kernel log only when no other source answers', () => {
    const kernelLog = jest.fn(() => ({ source: 'kernel-log', sev: 1 }));
    const { pools } = resolvePools([{ source: 'cgroup', sev: 509, es: 10 }], kernelLog);
    expect(kernelLog).not.toHaveBeenCalled();
    expect(pools).toEqual({ sev: 509, es: 10 });
  });

  it('falls back to the old-format kernel log when libvirt gives no counts', () => {
    const detection = detect(configFor('sev-domcaps-nocount-oldlog'));
    expect(detection.pools).toEqual({ sev: 410, es: 99 });
    expect(detection.sources.map((s) => s.source)).toEqual(['cgroup', 'libvirt', 'cpuid', 'kernel-log']);
  });

  it('applies the operator cap to each pool', () => {
    expect(detect(configFor('sev-es-cgroup2', { maxSlots: 8 })).pools).toEqual({ sev: 8, es: 8 });
  });

  it('leaves a pool unknown when no source reports it', () => {
    expect(
      resolvePools([{ source: 'libvirt', sev: 7 }], () => ({ source: 'kernel-log', status: 'absent', detail: '' }))
        .pools,
    ).toEqual({ sev: 7, es: 'unknown' });
  });
});

describe('memory-encryption models', () => {
  it('offers SEV and SEV-ES on a host with SNP off', () => {
    const { models } = detect(configFor('sev-es-cgroup2'));
    expect(models.sev).toMatchObject({ state: 'present', slots: 509 });
    expect(models.sev_es).toMatchObject({ state: 'present', slots: 10 });
    expect(models.sev_snp.state).toBe('absent');
  });

  it('gives the shared ES pool to SEV-SNP when SNP is on', () => {
    const { models } = detect(configFor('sev-snp-cgroup2'));
    expect(models.sev).toMatchObject({ state: 'present', slots: 99 });
    expect(models.sev_snp).toMatchObject({ state: 'present', slots: 410 });
    expect(models.sev_es.state).toBe('absent');
  });

  it('offers only SEV when the ES pool is empty', () => {
    const { models } = detect(configFor('sev-old-kernel-cgroup1'));
    expect(models.sev).toMatchObject({ state: 'present', slots: 15 });
    expect(models.sev_es.state).toBe('absent');
  });

  it('offers nothing without /dev/sev or with the module parameters off', () => {
    for (const name of ['sev-no-firmware', 'no-sev']) {
      const { models } = detect(configFor(name));
      expect(Object.values(models).map((m) => m.state)).toEqual(['absent', 'absent', 'absent']);
    }
  });

  it('is unknown, not absent, when a gate cannot be read', () => {
    const gates: KvmGates = { sev: 'unknown', sevEs: false, sevSnp: false, devSev: true, notes: [] };
    expect(decideModels(gates, { sev: 10, es: 0 }).sev.state).toBe('unknown');
  });

  it('is unknown when SEV is on but no source gives the slot count', () => {
    const gates: KvmGates = { sev: true, sevEs: false, sevSnp: false, devSev: true, notes: [] };
    expect(decideModels(gates, { sev: 'unknown', es: 'unknown' }).sev.state).toBe('unknown');
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
