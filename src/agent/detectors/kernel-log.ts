import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { hostPath } from './host-path';
import { isNotFound, readHostFile, type SourceResult } from './types';

/** kvm_amd's key-slot lines, in the wordings kernels have used (see docs/agent.md for the list). */
export interface LogFigures {
  sev?: number;
  /** The shared SEV-ES/SEV-SNP range (the union of the ES and SNP ranges where both are printed). */
  es?: number;
}

type Range = { enabled: boolean; low: number; high: number } | { enabled: boolean };

const count = (r: Range | undefined): number => {
  if (!r || !r.enabled || !('low' in r)) return 0;
  // "ASIDs 0 - 0": the range is empty (min_sev_asid is 1, nothing below it).
  return r.low === 0 ? 0 : Math.max(0, r.high - r.low + 1);
};

function rangeOf(word: string, low?: string, high?: string): Range {
  const enabled = word === 'enabled';
  return low === undefined ? { enabled } : { enabled, low: Number(low), high: Number(high) };
}

/**
 * Reads one boot's lines. Formats: `SEV supported: N ASIDs`, `SEV-ES supported: N ASIDs`,
 * `SEV-ES and SEV-SNP supported: N ASIDs`, and `SEV|SEV-ES|SEV-SNP enabled|disabled|unusable (ASIDs a - b)`.
 * Within the boot the last line of each kind wins.
 */
export function parseKernelLog(text: string): LogFigures {
  let sev: number | undefined;
  let esSupported: number | undefined;
  let esRange: Range | undefined;
  let snpRange: Range | undefined;
  for (const line of text.split('\n')) {
    let m: RegExpExecArray | null;
    if ((m = /\bSEV supported: (\d+) ASIDs/.exec(line))) sev = Number(m[1]);
    else if ((m = /\bSEV-ES and SEV-SNP supported: (\d+) ASIDs/.exec(line))) esSupported = Number(m[1]);
    else if ((m = /\bSEV-ES supported: (\d+) ASIDs/.exec(line))) esSupported = Number(m[1]);
    else if ((m = /\bSEV (enabled|disabled|unusable)(?: \(ASIDs (\d+) - (\d+)\))?/.exec(line)))
      sev = count(rangeOf(m[1], m[2], m[3]));
    else if ((m = /\bSEV-ES (enabled|disabled|unusable)(?: \(ASIDs (\d+) - (\d+)\))?/.exec(line)))
      esRange = rangeOf(m[1], m[2], m[3]);
    else if ((m = /\bSEV-SNP (enabled|disabled|unusable)(?: \(ASIDs (\d+) - (\d+)\))?/.exec(line)))
      snpRange = rangeOf(m[1], m[2], m[3]);
  }
  const result: LogFigures = {};
  if (sev !== undefined) result.sev = sev;
  if (esRange || snpRange) result.es = unionCount(esRange, snpRange);
  else if (esSupported !== undefined) result.es = esSupported;
  return result;
}

/** With ciphertext hiding SNP and ES get separate ranges; without, both lines print the same range. */
function unionCount(a: Range | undefined, b: Range | undefined): number {
  const ranges = [a, b].filter((r): r is { enabled: true; low: number; high: number } => count(r) > 0);
  const asids = new Set<number>();
  for (const r of ranges) for (let i = r.low; i <= r.high && asids.size < 1_000_000; i++) asids.add(i);
  return asids.size;
}

const BOOT_MARKER = /(?:\[\s*0\.000000\]|kernel:)\s*Linux version \d/;

/** The lines from the last boot marker on (the whole text when it holds none). */
export function lastBoot(text: string): { lines: string; marker?: string } {
  const lines = text.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    if (BOOT_MARKER.test(lines[i])) return { lines: lines.slice(i).join('\n'), marker: lines[i] };
  }
  return { lines: text };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** A line logged by this boot is stamped after the boot time; rsyslog may stamp late, never this early. */
const BOOT_SLACK_MS = 120_000;

/** A boot's first line is stamped within this long after the boot (rsyslog stamps the ring it reads late). */
const MARKER_WINDOW_MS = 3_600_000;

/**
 * Is a syslog line stamped during the boot that started at `bootMs`? undefined when it carries no stamp.
 * A boot marker must lie near the boot time; any other line between the boot and now.
 */
export function stampedInBoot(line: string, bootMs: number, nowMs: number, marker: boolean): boolean | undefined {
  const within = (at: number) =>
    at >= bootMs - BOOT_SLACK_MS && at <= (marker ? bootMs + MARKER_WINDOW_MS : nowMs + 86_400_000);
  const iso = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?)\s/.exec(line);
  if (iso) {
    const at = Date.parse(iso[1]);
    if (!Number.isNaN(at)) return within(at);
  }
  const bsd = /^([A-Z][a-z]{2}) +(\d{1,2}) (\d\d):(\d\d):(\d\d)\s/.exec(line);
  if (!bsd || !MONTHS.includes(bsd[1])) return undefined;
  // Traditional stamps carry no year (and are local time): try the boot's year and the next.
  const year = new Date(bootMs).getFullYear();
  return [year, year + 1].some((y) =>
    within(new Date(y, MONTHS.indexOf(bsd[1]), Number(bsd[2]), +bsd[3], +bsd[4], +bsd[5]).getTime()),
  );
}

/** Boot time from /proc/stat `btime`, in ms; undefined when unreadable. */
export function readBootTime(hostRoot: string): number | undefined {
  const read = readHostFile(hostRoot, '/proc/stat');
  const match = 'text' in read ? /^btime\s+(\d+)/m.exec(read.text) : null;
  return match ? Number(match[1]) * 1000 : undefined;
}

export function readBootId(hostRoot: string): string | undefined {
  const read = readHostFile(hostRoot, '/proc/sys/kernel/random/boot_id');
  const id = 'text' in read ? read.text.trim().replace(/-/g, '').toLowerCase() : '';
  return /^[0-9a-f]{32}$/.test(id) ? id : undefined;
}

type BootText = { text: string } | { none: string } | { error: string };

/** The current boot's part of one log file, or why there is none. */
function currentBootOfFile(hostRoot: string, file: string, bootMs: number, nowMs: number): BootText {
  const read = readHostFile(hostRoot, file);
  if ('missing' in read) return { none: `${file} missing` };
  if ('error' in read) return { error: read.error };
  try {
    if (statSync(hostPath(hostRoot, file)).mtimeMs < bootMs - BOOT_SLACK_MS)
      return { none: `${file} not written since this boot` };
  } catch (error) {
    return isNotFound(error) ? { none: `${file} missing` } : { error: `${file}: unreadable` };
  }
  const boot = lastBoot(read.text);
  const first = boot.marker ?? boot.lines.split('\n').find((l) => /\bSEV\b/.test(l)) ?? '';
  const stamp = stampedInBoot(first, bootMs, nowMs, boot.marker !== undefined);
  if (stamp === false) return { none: `${file} holds no line from the current boot` };
  return { text: boot.lines };
}

export interface KernelLogOptions {
  hostRoot: string;
  files: string[];
  journalFile?: string;
  useJournal: boolean;
  now?: number;
}

const answered = (f: LogFigures) => f.sev !== undefined || f.es !== undefined;

/** The current boot's kvm_amd lines: the first log file that has them, else the journal. */
export function readKernelLog(options: KernelLogOptions): SourceResult {
  const { hostRoot } = options;
  const now = options.now ?? Date.now();
  const bootMs = readBootTime(hostRoot);
  const notes: string[] = [];
  let failed = false;
  if (bootMs === undefined) notes.push('/proc/stat has no btime: cannot tell the current boot in log files');
  else {
    for (const file of options.files) {
      const got = currentBootOfFile(hostRoot, file, bootMs, now);
      if ('text' in got) {
        const figures = parseKernelLog(got.text);
        if (answered(figures)) return { source: 'kernel-log', ...figures, detail: `${file} (current boot)` };
        notes.push(`${file}: no SEV ASID line in the current boot`);
      } else if ('error' in got) {
        failed = true;
        notes.push(got.error);
      } else notes.push(got.none);
    }
  }
  const journal = readJournal(options);
  if ('text' in journal) {
    const figures = parseKernelLog(journal.text);
    if (answered(figures)) return { source: 'journal', ...figures, detail: journal.detail };
    notes.push(`${journal.detail}: no SEV ASID line in the current boot`);
  } else if ('error' in journal) {
    failed = true;
    notes.push(journal.error);
  } else notes.push(journal.none);
  return { source: 'kernel-log', status: failed ? 'error' : 'absent', detail: notes.join('; ') };
}

/** `journalctl -k -o json` lines of the current boot (by _BOOT_ID), joined as plain messages. */
export function journalMessages(jsonLines: string, bootId: string): string {
  const messages: string[] = [];
  for (const line of jsonLines.split('\n')) {
    if (!line.trim()) continue;
    let entry: { _BOOT_ID?: unknown; MESSAGE?: unknown };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      continue;
    }
    if (entry._BOOT_ID !== bootId || typeof entry.MESSAGE !== 'string') continue;
    messages.push(entry.MESSAGE);
  }
  return messages.join('\n');
}

function readJournal(options: KernelLogOptions): (BootText & { detail?: string }) | { text: string; detail: string } {
  const bootId = readBootId(options.hostRoot);
  if (!bootId) return { none: 'no /proc/sys/kernel/random/boot_id: cannot pick the current boot in the journal' };
  if (options.journalFile) {
    const read = readHostFile(options.hostRoot, options.journalFile);
    if ('missing' in read) return { none: `${options.journalFile} missing` };
    if ('error' in read) return { error: read.error };
    return { text: journalMessages(read.text, bootId), detail: `${options.journalFile} (boot ${bootId})` };
  }
  if (!options.useJournal || options.hostRoot !== '/') return { none: 'journal not used' };
  try {
    const out = execFileSync('journalctl', ['-k', '-b', bootId, '-o', 'json', '--no-pager', '-q'], {
      encoding: 'utf8',
      timeout: 15_000,
      maxBuffer: 64 * 1024 * 1024,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { text: journalMessages(out, bootId), detail: `journalctl -k -b ${bootId}` };
  } catch (error) {
    if (isNotFound(error)) return { none: 'journalctl not installed' };
    return { error: `journalctl: ${(error as Error).message.split('\n')[0]}` };
  }
}
