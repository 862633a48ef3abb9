import type { AgentConfig } from '../config';
import type { ModelName } from '../model';
import { miscCapacitySource, readMisc } from './cgroup';
import { readCpuidSlots } from './cpuid';
import { readHostCpu, type HostCpu } from './cpuinfo';
import { decideModels, type ModelState } from './decide';
import { readHostResources, type HostResources } from './host-resources';
import { readKernelLog } from './kernel-log';
import { AMD_PARAMS, devSevPresent, INTEL_PARAMS, parseModuleFlag, readModule, type ModuleReading } from './kvm';
import { readDomainCapabilities, readQemuVersion } from './libvirt';
import { resolvePool, settled, type Pool } from './pools';
import { UNKNOWN, type SourceResult, type Tri } from './types';

export type { ModelName } from '../model';
export { MODELS } from '../model';
export type { ModelState } from './decide';

export interface Detection {
  cpu: HostCpu;
  amd: ModuleReading;
  intel: ModuleReading;
  devSev: Tri;
  sources: SourceResult[];
  pools: { sev: Pool; es: Pool; tdx: Pool };
  /** libvirt offers SEV-SNP (undefined: libvirt did not answer). */
  libvirtSnp?: boolean;
  qemuVersion?: string;
  disagreements: string[];
  /** Things an operator should know that change nothing (/dev/sev missing). */
  warnings: string[];
  /** misc.current at the cgroup root: slots in use on the host, where the kernel exposes it. */
  hostUsage?: { sev?: number; es?: number; tdx?: number };
  models: Record<ModelName, ModelState>;
  resources?: HostResources;
}

const wantsHostResources = (config: AgentConfig) => config.reportHostResources !== false;

export function detect(config: AgentConfig): Detection {
  const root = config.hostRoot;
  const cpu = readHostCpu(root);
  const amd = readModule(root, 'kvm_amd', AMD_PARAMS);
  const intel = readModule(root, 'kvm_intel', INTEL_PARAMS);
  const capacity = readMisc(root, 'misc.capacity');
  const libvirt = readDomainCapabilities({ hostRoot: root, file: config.domcapsFile, useVirsh: config.useVirsh });
  const qemu = readQemuVersion({ hostRoot: root, file: config.qemuVersionFile, useVirsh: config.useVirsh });
  const sources: SourceResult[] = [miscCapacitySource(capacity), libvirt.source, readCpuidSlots(root)];
  let disagreements: string[] = [];
  let pools = resolveAll(sources, disagreements);
  // The kernel log is read only when the live sources leave an SEV pool open: it is the weakest source.
  if (amd.loaded === true && !settled([pools.sev, pools.es])) {
    sources.push(
      readKernelLog({
        hostRoot: root,
        files: config.kernelLogFiles,
        journalFile: config.journalFile,
        useJournal: config.useJournal,
      }),
    );
    disagreements = [];
    pools = resolveAll(sources, disagreements);
  }
  const devSev = amd.loaded === true ? devSevPresent(root) : UNKNOWN;
  const warnings = [...cpu.notes, ...amd.notes, ...intel.notes];
  if (
    devSev === false &&
    amd.params.sev !== 'missing' &&
    amd.params.sev !== UNKNOWN &&
    parseModuleFlag(amd.params.sev) === true
  )
    warnings.push('/dev/sev is missing: the SEV firmware (ccp/PSP) may not be up; slots are still offered');
  const detection: Detection = {
    cpu,
    amd,
    intel,
    devSev,
    sources,
    pools,
    libvirtSnp: libvirt.snp,
    qemuVersion: qemu?.join('.'),
    disagreements,
    warnings,
    models: decideModels({
      cpu,
      amd,
      intel,
      pools,
      libvirtSnp: libvirt.snp,
      qemu,
      caps: {
        sev: config.maxSlotsSev,
        sev_es: config.maxSlotsEs,
        sev_snp: config.maxSlotsSnp,
        tdx: config.maxSlotsTdx,
      },
    }),
  };
  const current = readMisc(root, 'misc.current');
  if ('values' in current) {
    const { sev, sev_es: es, tdx } = current.values;
    detection.hostUsage = { sev, es, tdx };
  }
  if (wantsHostResources(config)) detection.resources = readHostResources(root, config.diskPath);
  return detection;
}

function resolveAll(sources: SourceResult[], disagreements: string[]): Detection['pools'] {
  return {
    sev: resolvePool(sources, 'sev', disagreements),
    es: resolvePool(sources, 'es', disagreements),
    tdx: resolvePool(sources, 'tdx', disagreements),
  };
}
