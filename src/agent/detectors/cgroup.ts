import { readHostFile, type SourceResult } from './types';

/** cgroup v2 keeps the misc files at the root; v1 mounts the misc controller under its own directory. */
export const MISC_DIRS = ['/sys/fs/cgroup', '/sys/fs/cgroup/misc'];

/** A flat-keyed misc file (`sev 509`, `sev_es 10`, `tdx 32`, ...). */
export function parseMiscFile(text: string): Record<string, number> {
  const result: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const match = /^\s*([a-z_]+)\s+(\d+)\s*$/.exec(line);
    if (match) result[match[1]] = Number(match[2]);
  }
  return result;
}

export type MiscRead = { values: Record<string, number>; path: string } | { missing: true } | { error: string };

export function readMisc(hostRoot: string, file: 'misc.capacity' | 'misc.current'): MiscRead {
  const errors: string[] = [];
  for (const dir of MISC_DIRS) {
    const read = readHostFile(hostRoot, `${dir}/${file}`);
    if ('text' in read) return { values: parseMiscFile(read.text), path: `${dir}/${file}` };
    if ('error' in read) errors.push(read.error);
  }
  return errors.length > 0 ? { error: errors.join('; ') } : { missing: true };
}

/** misc.capacity as a key-slot source: `sev`, `sev_es` and `tdx` lines. */
export function miscCapacitySource(read: MiscRead): SourceResult {
  if ('error' in read) return { source: 'cgroup', status: 'error', detail: read.error };
  if ('missing' in read) return { source: 'cgroup', status: 'absent', detail: 'no misc.capacity' };
  const { sev, sev_es: es, tdx } = read.values;
  if (sev === undefined && es === undefined && tdx === undefined)
    return { source: 'cgroup', status: 'absent', detail: `${read.path} lists no sev, sev_es or tdx` };
  return { source: 'cgroup', sev, es, tdx, detail: read.path };
}
