import { readdirSync, statSync } from 'node:fs';
import { hostPath } from './host-path';
import { isNotFound, readHostFile, UNKNOWN, type Tri, type Unknown } from './types';

/** One module parameter: its value, `missing` (the module has no such parameter), or unknown (unreadable). */
export type ParamValue = string | 'missing' | Unknown;

/** kvm_amd or kvm_intel as /sys/module shows it. */
export interface ModuleReading {
  name: string;
  /** false: /sys/module/<name> does not exist (not loaded yet, or /sys not visible in this container). */
  loaded: Tri;
  params: Record<string, ParamValue>;
  notes: string[];
}

/** kvm_amd parameters read 1/0 on older kernels and Y/N on newer ones (nova once missed Y). */
export function parseModuleFlag(text: string): Tri {
  const value = text.trim().toUpperCase();
  if (value === '1' || value === 'Y') return true;
  if (value === '0' || value === 'N') return false;
  return UNKNOWN;
}

export function flagOf(value: ParamValue): Tri | 'missing' {
  if (value === 'missing' || value === UNKNOWN) return value;
  return parseModuleFlag(value);
}

/** A count parameter (ciphertext_hiding_asids): missing reads as 0, the feature's absence. */
export function countOf(value: ParamValue): number | Unknown {
  if (value === 'missing') return 0;
  if (value === UNKNOWN) return UNKNOWN;
  const text = value.trim();
  return /^\d+$/.test(text) ? Number(text) : UNKNOWN;
}

export function readModule(hostRoot: string, name: string, params: string[]): ModuleReading {
  const reading: ModuleReading = { name, loaded: UNKNOWN, params: {}, notes: [] };
  const dir = hostPath(hostRoot, `/sys/module/${name}`);
  try {
    reading.loaded = statSync(dir).isDirectory();
  } catch (error) {
    reading.loaded = isNotFound(error) ? false : UNKNOWN;
    if (!isNotFound(error)) reading.notes.push(`/sys/module/${name}: ${(error as NodeJS.ErrnoException).code}`);
  }
  if (reading.loaded !== true) {
    for (const p of params) reading.params[p] = UNKNOWN;
    return reading;
  }
  let listed: Set<string> | undefined;
  try {
    listed = new Set(readdirSync(hostPath(hostRoot, `/sys/module/${name}/parameters`)));
  } catch (error) {
    reading.notes.push(`/sys/module/${name}/parameters: ${(error as NodeJS.ErrnoException).code}`);
  }
  for (const p of params) {
    // Without the parameters directory nothing proves a parameter is missing: unknown, not off.
    if (!listed) reading.params[p] = UNKNOWN;
    else if (!listed.has(p)) reading.params[p] = 'missing';
    else {
      const read = readHostFile(hostRoot, `/sys/module/${name}/parameters/${p}`);
      if ('text' in read) reading.params[p] = read.text.trim();
      else {
        reading.params[p] = UNKNOWN;
        reading.notes.push('error' in read ? read.error : read.detail);
      }
    }
  }
  return reading;
}

export const AMD_PARAMS = ['sev', 'sev_es', 'sev_snp', 'ciphertext_hiding_asids'];
export const INTEL_PARAMS = ['tdx'];

/** /dev/sev exists: the PSP firmware is up. Only a warning when missing: nova never checks it. */
export function devSevPresent(hostRoot: string): Tri {
  try {
    statSync(hostPath(hostRoot, '/dev/sev'));
    return true;
  } catch (error) {
    return isNotFound(error) ? false : UNKNOWN;
  }
}
