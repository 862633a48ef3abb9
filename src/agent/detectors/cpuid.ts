import { closeSync, openSync, readSync } from 'node:fs';
import { hostPath } from './host-path';
import { isNotFound, type SourceResult } from './types';

/** AMD memory-encryption leaf; the cpuid driver maps the leaf to the file offset. */
export const SEV_LEAF = 0x8000001f;

export interface CpuidRegisters {
  eax: number;
  ebx: number;
  ecx: number;
  edx: number;
}

/** ECX is the highest ASID, EDX the lowest SEV-only ASID; ASIDs below EDX belong to SEV-ES/SNP. */
export function slotsFromCpuid(regs: CpuidRegisters): { sev: number; es: number } {
  if ((regs.eax & 0b10) === 0) return { sev: 0, es: 0 };
  const sev = regs.edx === 0 ? 0 : Math.max(0, regs.ecx - regs.edx + 1);
  const es = regs.edx === 0 ? 0 : Math.max(0, regs.edx - 1);
  return { sev, es };
}

export function readCpuidSlots(hostRoot: string): SourceResult {
  const file = hostPath(hostRoot, '/dev/cpu/0/cpuid');
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    const status = isNotFound(error) ? 'absent' : 'error';
    return { source: 'cpuid', status, detail: `/dev/cpu/0/cpuid: ${(error as Error).message}` };
  }
  try {
    const buffer = Buffer.alloc(16);
    const read = readSync(fd, buffer, 0, 16, SEV_LEAF);
    if (read < 16) return { source: 'cpuid', status: 'absent', detail: 'leaf 0x8000001F not readable' };
    const regs = {
      eax: buffer.readUInt32LE(0),
      ebx: buffer.readUInt32LE(4),
      ecx: buffer.readUInt32LE(8),
      edx: buffer.readUInt32LE(12),
    };
    return { source: 'cpuid', ...slotsFromCpuid(regs), detail: `ecx=${regs.ecx} edx=${regs.edx}` };
  } catch (error) {
    // EIO: the CPU does not implement the leaf (not AMD, or too old).
    const code = (error as NodeJS.ErrnoException).code;
    return { source: 'cpuid', status: code === 'EIO' ? 'absent' : 'error', detail: (error as Error).message };
  } finally {
    closeSync(fd);
  }
}
