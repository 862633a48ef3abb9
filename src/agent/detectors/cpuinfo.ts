import { readHostFile, UNKNOWN, type Unknown } from './types';

/** What /proc/cpuinfo (and /proc/sys/kernel/arch) say about the host as a whole. */
export interface HostCpu {
  /** `x86_64`, another machine name, or unknown when nothing tells. */
  arch: string | Unknown;
  /** `AuthenticAMD`, `GenuineIntel`, `none` (no vendor_id line: not x86), or unknown when unreadable. */
  vendor: string | Unknown;
  /** The first processor's `flags`; unknown when cpuinfo is unreadable. */
  flags: Set<string> | Unknown;
  notes: string[];
}

export function parseCpuinfo(text: string): { vendor?: string; flags?: Set<string> } {
  const vendor = /^vendor_id\s*:\s*(\S+)/m.exec(text)?.[1];
  const flagsLine = /^flags\s*:(.*)$/m.exec(text)?.[1];
  return { vendor, flags: flagsLine === undefined ? undefined : new Set(flagsLine.trim().split(/\s+/)) };
}

export function readHostCpu(hostRoot: string): HostCpu {
  const notes: string[] = [];
  const cpuinfo = readHostFile(hostRoot, '/proc/cpuinfo');
  let vendor: string | Unknown = UNKNOWN;
  let flags: Set<string> | Unknown = UNKNOWN;
  if ('text' in cpuinfo) {
    const parsed = parseCpuinfo(cpuinfo.text);
    if (!parsed.vendor && !/^processor\s*:/m.test(cpuinfo.text)) notes.push('/proc/cpuinfo lists no processor');
    else {
      vendor = parsed.vendor ?? 'none';
      flags = parsed.flags ?? new Set();
    }
  } else notes.push(`cannot read ${'error' in cpuinfo ? cpuinfo.error : cpuinfo.detail}`);
  let arch: string | Unknown = UNKNOWN;
  const kernelArch = readHostFile(hostRoot, '/proc/sys/kernel/arch');
  if ('text' in kernelArch && kernelArch.text.trim()) arch = kernelArch.text.trim();
  // Kernels before 5.x have no kernel.arch: long mode in the flags of an x86 CPU tells the same.
  else if (flags !== UNKNOWN && vendor !== 'none') arch = flags.has('lm') ? 'x86_64' : 'i686';
  else if (vendor === 'none') arch = 'not x86';
  return { arch, vendor, flags, notes };
}
