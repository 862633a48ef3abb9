import { readFileSync, statfsSync } from 'node:fs';
import { hostPath } from './host-path';
import { UNKNOWN, type Unknown } from './types';

export interface HostResources {
  vcpu: number | Unknown;
  memoryMb: number | Unknown;
  diskGb: number | Unknown;
  notes: string[];
}

/** A kernel CPU list such as `0-3,8-11` or `0`. */
export function countCpuList(text: string): number {
  let count = 0;
  for (const part of text.trim().split(',').filter(Boolean)) {
    const [low, high] = part.split('-').map(Number);
    count += high === undefined ? 1 : high - low + 1;
  }
  return count;
}

export function parseMeminfoMb(text: string): number | undefined {
  const match = /^MemTotal:\s+(\d+)\s*kB/m.exec(text);
  return match ? Math.floor(Number(match[1]) / 1024) : undefined;
}

function vcpus(hostRoot: string, notes: string[]): number | Unknown {
  try {
    const count = countCpuList(readFileSync(hostPath(hostRoot, '/sys/devices/system/cpu/online'), 'utf8'));
    if (count > 0) return count;
  } catch {
    // fall back to /proc/cpuinfo
  }
  try {
    const count = (readFileSync(hostPath(hostRoot, '/proc/cpuinfo'), 'utf8').match(/^processor\s*:/gm) ?? []).length;
    if (count > 0) return count;
    notes.push('VCPU: no processors listed');
  } catch (error) {
    notes.push(`VCPU: ${(error as Error).message}`);
  }
  return UNKNOWN;
}

function memoryMb(hostRoot: string, notes: string[]): number | Unknown {
  try {
    const mb = parseMeminfoMb(readFileSync(hostPath(hostRoot, '/proc/meminfo'), 'utf8'));
    if (mb !== undefined) return mb;
    notes.push('MEMORY_MB: no MemTotal in /proc/meminfo');
  } catch (error) {
    notes.push(`MEMORY_MB: ${(error as Error).message}`);
  }
  return UNKNOWN;
}

function diskGb(hostRoot: string, diskPath: string, notes: string[]): number | Unknown {
  try {
    const stats = statfsSync(hostPath(hostRoot, diskPath));
    return Math.floor((Number(stats.blocks) * Number(stats.bsize)) / 1024 ** 3);
  } catch (error) {
    notes.push(`DISK_GB: ${(error as Error).message}`);
    return UNKNOWN;
  }
}

export function readHostResources(hostRoot: string, diskPath: string): HostResources {
  const notes: string[] = [];
  return {
    vcpu: vcpus(hostRoot, notes),
    memoryMb: memoryMb(hostRoot, notes),
    diskGb: diskGb(hostRoot, diskPath, notes),
    notes,
  };
}
