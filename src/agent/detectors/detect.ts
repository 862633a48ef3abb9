import type { AgentConfig } from '../config';
import { readMiscCapacity } from './cgroup';
import { readCpuidSlots } from './cpuid';
import { readHostResources, type HostResources } from './host-resources';
import { readKernelLog } from './kernel-log';
import { readKvmGates, type KvmGates } from './kvm';
import { readDomainCapabilities } from './libvirt';
import { isMiss, UNKNOWN, type SlotReport, type SourceResult, type Tri, type Unknown } from './types';

export type ModelName = 'sev' | 'sev_es' | 'sev_snp';
export const MODELS: ModelName[] = ['sev', 'sev_es', 'sev_snp'];

export interface ModelState {
  state: 'present' | 'absent' | 'unknown';
  slots: number;
  reason: string;
}

export interface Detection {
  gates: KvmGates;
  sources: SourceResult[];
  /** Slots per pool after taking the minimum over sources and the operator cap. */
  pools: { sev: number | Unknown; es: number | Unknown };
  disagreements: string[];
  models: Record<ModelName, ModelState>;
  resources?: HostResources;
}

function pool(reports: SlotReport[], key: 'sev' | 'es', disagreements: string[]): number | Unknown {
  const said = reports.filter((r) => r[key] !== undefined);
  if (said.length === 0) return UNKNOWN;
  const values = said.map((r) => r[key] as number);
  const lowest = Math.min(...values);
  if (values.some((v) => v !== lowest)) {
    disagreements.push(`${key} slots: ${said.map((r) => `${r.source}=${r[key]}`).join(', ')}; using ${lowest}`);
  }
  return lowest;
}

/** Key-slot sources in order of trust; the kernel log is consulted only when none of the others answers. */
export function resolvePools(primary: SourceResult[], fallback: () => SourceResult, maxSlots?: number) {
  const sources = [...primary];
  let reports = sources.filter((s): s is SlotReport => !isMiss(s));
  if (!reports.some((r) => r.sev !== undefined || r.es !== undefined)) {
    sources.push(fallback());
    reports = sources.filter((s): s is SlotReport => !isMiss(s));
  }
  const disagreements: string[] = [];
  const cap = (value: number | Unknown) =>
    value === UNKNOWN || maxSlots === undefined ? value : Math.min(value, maxSlots);
  return {
    sources,
    disagreements,
    pools: { sev: cap(pool(reports, 'sev', disagreements)), es: cap(pool(reports, 'es', disagreements)) },
  };
}

function model(gate: Tri, devSev: Tri, slots: number | Unknown, name: string): ModelState {
  if (gate === false) return { state: 'absent', slots: 0, reason: `kvm_amd ${name} is off` };
  if (gate === UNKNOWN) return { state: 'unknown', slots: 0, reason: `kvm_amd ${name} unreadable` };
  if (devSev === false) return { state: 'absent', slots: 0, reason: '/dev/sev missing (firmware not up)' };
  if (devSev === UNKNOWN) return { state: 'unknown', slots: 0, reason: '/dev/sev unreadable' };
  if (slots === UNKNOWN) return { state: 'unknown', slots: 0, reason: 'no key-slot source answered' };
  if (slots <= 0) return { state: 'absent', slots: 0, reason: 'no key slots' };
  return { state: 'present', slots, reason: 'enabled' };
}

/** SEV-ES and SEV-SNP share the ES pool; with SNP on, the pool goes to SNP. */
export function decideModels(gates: KvmGates, pools: Detection['pools']): Record<ModelName, ModelState> {
  const snp = model(gates.sevSnp, gates.devSev, pools.es, 'sev_snp');
  let es = model(gates.sevEs, gates.devSev, pools.es, 'sev_es');
  if (es.state !== 'absent' && gates.sevSnp === true)
    es = { state: 'absent', slots: 0, reason: 'ES pool used by SEV-SNP' };
  else if (es.state === 'present' && gates.sevSnp === UNKNOWN)
    es = { state: 'unknown', slots: 0, reason: 'sev_snp unreadable' };
  return { sev: model(gates.sev, gates.devSev, pools.sev, 'sev'), sev_es: es, sev_snp: snp };
}

export function detect(config: AgentConfig): Detection {
  const gates = readKvmGates(config.hostRoot);
  const { sources, pools, disagreements } = resolvePools(
    [
      readMiscCapacity(config.hostRoot),
      readDomainCapabilities(config.hostRoot, { domcapsFile: config.domcapsFile, useVirsh: config.useVirsh }),
      readCpuidSlots(config.hostRoot),
    ],
    () => readKernelLog(config.hostRoot, config.kernelLogFiles),
    config.maxSlots,
  );
  const detection: Detection = { gates, sources, pools, disagreements, models: decideModels(gates, pools) };
  if (config.reportHostResources) detection.resources = readHostResources(config.hostRoot, config.diskPath);
  return detection;
}
