import { readFileSync } from 'node:fs';
import { hostPath } from './host-path';
import { isNotFound, type SourceResult } from './types';

/**
 * kvm_amd prints either `SEV supported: N ASIDs` / `SEV-ES supported: N ASIDs` or
 * `SEV enabled (ASIDs a - b)` / `SEV-ES enabled (ASIDs a - b)` depending on the kernel. The last line wins
 * (the log may span several boots).
 */
export function parseKernelLog(text: string): { sev?: number; es?: number } {
  const result: { sev?: number; es?: number } = {};
  const pattern = /\bSEV(-ES)? (?:supported: (\d+) ASIDs|enabled \(ASIDs (\d+) - (\d+)\))/g;
  for (const match of text.matchAll(pattern)) {
    const count = match[2] !== undefined ? Number(match[2]) : Math.max(0, Number(match[4]) - Number(match[3]) + 1);
    if (match[1]) result.es = count;
    else result.sev = count;
  }
  return result;
}

export function readKernelLog(hostRoot: string, files: string[]): SourceResult {
  const errors: string[] = [];
  for (const absolute of files) {
    let text: string;
    try {
      text = readFileSync(hostPath(hostRoot, absolute), 'utf8');
    } catch (error) {
      if (!isNotFound(error)) errors.push(`${absolute}: ${(error as Error).message}`);
      continue;
    }
    const parsed = parseKernelLog(text);
    if (parsed.sev !== undefined || parsed.es !== undefined)
      return { source: 'kernel-log', ...parsed, detail: absolute };
  }
  if (errors.length > 0) return { source: 'kernel-log', status: 'error', detail: errors.join('; ') };
  return { source: 'kernel-log', status: 'absent', detail: 'no SEV ASID line in kernel logs' };
}
