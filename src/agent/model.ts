import type { Schemas } from '../../api/types';
import { createHash } from 'node:crypto';

/** The memory-encryption models the agent reports, each on its own child in the nested layout. */
export type ModelName = 'sev' | 'sev_es' | 'sev_snp' | 'tdx';
export const MODELS: ModelName[] = ['sev', 'sev_es', 'sev_snp', 'tdx'];
export const AMD_MODELS: ModelName[] = ['sev', 'sev_es', 'sev_snp'];

/** An inventory record as Placement sends and takes it (the API's generated wire type). */
export type InventoryRecord = Schemas['Inventory'];

export type Inventories = Record<string, InventoryRecord>;

/** One consumer's allocations as GET /allocations/{consumer} returns them at 1.38. */
export interface ConsumerAllocations {
  allocations: Record<string, { resources: Record<string, number> }>;
  project_id: string;
  user_id: string;
  consumer_generation: number | null;
  consumer_type?: string;
}

/** A provider as read from the service. */
export interface ReportedProvider {
  uuid: string;
  name: string;
  generation: number;
  parentUuid: string | null;
  /** The root of its tree (itself for a root). */
  rootUuid?: string;
  inventories: Inventories;
  traits: string[];
  usages: Record<string, number>;
}

export const MEC = 'MEM_ENCRYPTION_CONTEXT';
export const HOST_CLASSES = ['VCPU', 'MEMORY_MB', 'DISK_GB'] as const;
export type HostClass = (typeof HOST_CLASSES)[number];

/** On everything the agent creates; the agent changes only providers carrying it (see docs/agent.md). */
export const OWNER_TRAIT = 'CUSTOM_OWNER_EMPLACE_AGENT';
/** nova-compute's marks on its compute node provider (os-traits OWNER_NOVA, COMPUTE_NODE). */
export const NOVA_ROOT_TRAITS = ['OWNER_NOVA', 'COMPUTE_NODE'];

export const MODEL_TRAITS: Record<ModelName, string> = {
  sev: 'HW_CPU_X86_AMD_SEV',
  sev_es: 'HW_CPU_X86_AMD_SEV_ES',
  sev_snp: 'HW_CPU_X86_AMD_SEV_SNP',
  tdx: 'HW_CPU_X86_INTEL_TDX',
};
/** The name nova used before the x86 namespace; the root layout sets it too for old flavors. */
export const LEGACY_SEV_TRAIT = 'HW_CPU_AMD_SEV';
/** Every capability trait the agent may add or remove; anything else on a provider belongs to someone else. */
export const OWNED_TRAITS = new Set([...Object.values(MODEL_TRAITS), LEGACY_SEV_TRAIT]);

export const CHILD_SUFFIX: Record<ModelName, string> = {
  sev: '_amd_sev',
  sev_es: '_amd_sev_es',
  sev_snp: '_amd_sev_snp',
  tdx: '_intel_tdx',
};

/** Human names, for messages and the status table. */
export const MODEL_LABEL: Record<ModelName, string> = {
  sev: 'SEV',
  sev_es: 'SEV-ES',
  sev_snp: 'SEV-SNP',
  tdx: 'TDX',
};

/** RFC 4122 version 5 (SHA-1, name-based) UUID. */
export function uuidV5(name: string, namespace: string): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  if (ns.length !== 16) throw new Error(`namespace is not a uuid: ${namespace}`);
  const hash = createHash('sha1').update(ns).update(name, 'utf8').digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x50;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Child uuids are derived, so every agent run (and a rebuilt state dir) finds the same children. */
export function childUuid(rootUuid: string, model: ModelName): string {
  return uuidV5(`emplace-agent/${model}`, rootUuid);
}

export const childName = (rootName: string, model: ModelName): string => `${rootName}${CHILD_SUFFIX[model]}`;
