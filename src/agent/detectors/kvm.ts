import { existsSync, readFileSync, statSync } from 'node:fs';
import { hostPath } from './host-path';
import { isNotFound, UNKNOWN, type Tri } from './types';

export interface KvmGates {
  sev: Tri;
  sevEs: Tri;
  sevSnp: Tri;
  /** /dev/sev exists: the PSP firmware is up. */
  devSev: Tri;
  notes: string[];
}

/** kvm_amd parameters read 1/0 on older kernels and Y/N on newer ones (nova once missed Y). */
export function parseModuleFlag(text: string): Tri {
  const value = text.trim().toUpperCase();
  if (value === '1' || value === 'Y') return true;
  if (value === '0' || value === 'N') return false;
  return UNKNOWN;
}

function readFlag(hostRoot: string, name: string, notes: string[]): Tri {
  const file = hostPath(hostRoot, `/sys/module/kvm_amd/parameters/${name}`);
  try {
    const value = parseModuleFlag(readFileSync(file, 'utf8'));
    if (value === UNKNOWN) notes.push(`${name}: unexpected value in ${file}`);
    return value;
  } catch (error) {
    // No file (module not loaded, or a kernel without this parameter) means the feature is off.
    if (isNotFound(error)) return false;
    notes.push(`${name}: ${(error as Error).message}`);
    return UNKNOWN;
  }
}

function devSevPresent(hostRoot: string, notes: string[]): Tri {
  const file = hostPath(hostRoot, '/dev/sev');
  try {
    statSync(file);
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    notes.push(`/dev/sev: ${(error as Error).message}`);
    return existsSync(file) ? true : UNKNOWN;
  }
}

export function readKvmGates(hostRoot: string): KvmGates {
  const notes: string[] = [];
  return {
    sev: readFlag(hostRoot, 'sev', notes),
    sevEs: readFlag(hostRoot, 'sev_es', notes),
    sevSnp: readFlag(hostRoot, 'sev_snp', notes),
    devSev: devSevPresent(hostRoot, notes),
    notes,
  };
}
