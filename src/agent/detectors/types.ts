import { readFileSync } from 'node:fs';
import { hostPath } from './host-path';

/** A read that failed for a reason other than "not there" is unknown, never absent. */
export const UNKNOWN = 'unknown' as const;
export type Unknown = typeof UNKNOWN;
export type Tri = boolean | Unknown;

/** What one key-slot source said: a pool it does not report is undefined. */
export interface SlotReport {
  source: string;
  sev?: number;
  /** The ASID range shared by SEV-ES and SEV-SNP guests. */
  es?: number;
  tdx?: number;
  /** SEV-SNP offered by this source (libvirt launchSecurity). */
  snp?: boolean;
  detail?: string;
}

/** A source that could not answer: absent (nothing there) or an error (unknown). */
export interface SourceMiss {
  source: string;
  status: 'absent' | 'error';
  detail: string;
}

export type SourceResult = SlotReport | SourceMiss;

export function isMiss(result: SourceResult): result is SourceMiss {
  return 'status' in result;
}

export function isNotFound(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** A file under the host root: its text, missing (ENOENT/ENOTDIR), or unreadable (anything else). */
export type FileRead = { text: string } | { missing: true; detail: string } | { error: string };

export function readHostFile(hostRoot: string, absolute: string): FileRead {
  try {
    return { text: readFileSync(hostPath(hostRoot, absolute), 'utf8') };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    if (isNotFound(error)) return { missing: true, detail: `${absolute}: missing` };
    return { error: `${absolute}: ${code}` };
  }
}
