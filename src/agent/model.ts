import type { Schemas } from '../../api/types';
import { createHash } from 'node:crypto';
import type { ModelName } from './detectors/detect';

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
  inventories: Inventories;
  traits: string[];
  usages: Record<string, number>;
}

export const MEC = 'MEM_ENCRYPTION_CONTEXT';
export const HOST_CLASSES = ['VCPU', 'MEMORY_MB', 'DISK_GB'] as const;
export type HostClass = (typeof HOST_CLASSES)[number];

export const MODEL_TRAITS: Record<ModelName, string> = {
  sev: 'HW_CPU_X86_AMD_SEV',
  sev_es: 'HW_CPU_X86_AMD_SEV_ES',
  sev_snp: 'HW_CPU_X86_AMD_SEV_SNP',
};
/** The name nova used before the x86 namespace; the root layout sets it too for old flavors. */
export const LEGACY_SEV_TRAIT = 'HW_CPU_AMD_SEV';
/** Every trait the agent may add or remove; anything else on a provider belongs to someone else. */
export const OWNED_TRAITS = new Set([...Object.values(MODEL_TRAITS), LEGACY_SEV_TRAIT]);

export const CHILD_SUFFIX: Record<ModelName, string> = {
  sev: '_amd_sev',
  sev_es: '_amd_sev_es',
  sev_snp: '_amd_sev_snp',
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
