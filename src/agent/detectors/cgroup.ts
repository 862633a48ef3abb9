import { readFileSync } from 'node:fs';
import { hostPath } from './host-path';
import { isNotFound, type SourceResult } from './types';

/** cgroup v2 keeps misc.capacity at the root; v1 mounts the misc controller under its own directory. */
export const MISC_CAPACITY_PATHS = ['/sys/fs/cgroup/misc.capacity', '/sys/fs/cgroup/misc/misc.capacity'];

/** Lines `sev N` and `sev_es N`; other resources are ignored. */
export function parseMiscCapacity(text: string): { sev?: number; es?: number } {
  const result: { sev?: number; es?: number } = {};
  for (const line of text.split('\n')) {
    const match = /^\s*(sev|sev_es)\s+(\d+)\s*$/.exec(line);
    if (!match) continue;
    if (match[1] === 'sev') result.sev = Number(match[2]);
    else result.es = Number(match[2]);
  }
  return result;
}

export function readMiscCapacity(hostRoot: string): SourceResult {
  const errors: string[] = [];
  for (const absolute of MISC_CAPACITY_PATHS) {
    const file = hostPath(hostRoot, absolute);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      if (!isNotFound(error)) errors.push(`${absolute}: ${(error as Error).message}`);
      continue;
    }
    const parsed = parseMiscCapacity(text);
    if (parsed.sev === undefined && parsed.es === undefined) {
      return { source: 'cgroup', status: 'absent', detail: `${absolute} lists no sev resources` };
    }
    return { source: 'cgroup', ...parsed, detail: absolute };
  }
  if (errors.length > 0) return { source: 'cgroup', status: 'error', detail: errors.join('; ') };
  return { source: 'cgroup', status: 'absent', detail: 'no misc.capacity' };
}
