import { execFileSync } from 'node:child_process';
import { readHostFile, isNotFound, type SourceResult } from './types';

function element(xml: string, name: string): { attrs: string; body: string } | undefined {
  const match = new RegExp(`<${name}\\b([^>]*?)(?:/>|>([\\s\\S]*?)</${name}>)`).exec(xml);
  return match ? { attrs: match[1], body: match[2] ?? '' } : undefined;
}

function intChild(body: string, name: string): number | undefined {
  const match = new RegExp(`<${name}>\\s*(\\d+)\\s*</${name}>`).exec(body);
  return match ? Number(match[1]) : undefined;
}

const unsupported = (attrs: string) => /supported=['"]no['"]/.test(attrs);

/** What libvirt's domain capabilities say: a key-slot source, and whether it can launch SEV-SNP guests. */
export interface LibvirtAnswer {
  source: SourceResult;
  /** undefined when libvirt did not answer; false when it answered without sev-snp in <launchSecurity>. */
  snp?: boolean;
}

/**
 * libvirt domain capabilities: <features><sev supported='yes'> with maxGuests / maxESGuests (libvirt >= 8.0),
 * and <launchSecurity> listing sev-snp (libvirt >= 10.5; older libvirt has no <launchSecurity> and cannot
 * launch SNP guests). supported='no' means libvirt cannot launch any SEV guest: 0 slots.
 */
export function parseDomainCapabilities(xml: string): LibvirtAnswer {
  if (!/<domainCapabilities\b/.test(xml))
    return { source: { source: 'libvirt', status: 'error', detail: 'not a domainCapabilities document' } };
  const features = element(xml, 'features');
  const sev = features ? element(features.body, 'sev') : undefined;
  const launch = element(xml, 'launchSecurity');
  const snp = !!launch && !unsupported(launch.attrs) && /<value>\s*sev-snp\s*<\/value>/.test(launch.body);
  if (!sev) return { snp, source: { source: 'libvirt', status: 'absent', detail: 'no <sev> in domain capabilities' } };
  if (unsupported(sev.attrs))
    return { snp, source: { source: 'libvirt', sev: 0, es: 0, detail: "sev supported='no'" } };
  const sevSlots = intChild(sev.body, 'maxGuests');
  const esSlots = intChild(sev.body, 'maxESGuests');
  if (sevSlots === undefined && esSlots === undefined) {
    // Older libvirt says SEV works but not how many guests: it cannot answer the capacity question.
    return { snp, source: { source: 'libvirt', status: 'absent', detail: 'sev supported but no maxGuests' } };
  }
  return { snp, source: { source: 'libvirt', sev: sevSlots, es: esSlots, detail: 'domain capabilities' } };
}

export interface VirshOptions {
  hostRoot: string;
  file?: string;
  useVirsh: boolean;
}

/** A file under the host root if configured, else `virsh -r <args>` on the real host; undefined if neither. */
function virshText(options: VirshOptions, args: string[]): { text: string } | { absent: string } | { error: string } {
  if (options.file) {
    const read = readHostFile(options.hostRoot, options.file);
    if ('text' in read) return read;
    return 'error' in read ? { error: read.error } : { absent: read.detail };
  }
  if (!options.useVirsh || options.hostRoot !== '/') return { absent: 'no file configured and virsh not used' };
  try {
    const text = execFileSync('virsh', ['-r', ...args], {
      encoding: 'utf8',
      timeout: 10_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { text };
  } catch (error) {
    const message = `virsh ${args[0]}: ${(error as Error).message.split('\n')[0]}`;
    return isNotFound(error) ? { absent: message } : { error: message };
  }
}

export function readDomainCapabilities(options: VirshOptions): LibvirtAnswer {
  const got = virshText(options, ['domcapabilities']);
  if ('absent' in got) return { source: { source: 'libvirt', status: 'absent', detail: got.absent } };
  if ('error' in got) return { source: { source: 'libvirt', status: 'error', detail: got.error } };
  return parseDomainCapabilities(got.text);
}

/** `Running hypervisor: QEMU 8.2.2` (virsh version) or a bare `8.2.2`. */
export function parseQemuVersion(text: string): [number, number, number] | undefined {
  const running = /Running hypervisor:\s*QEMU\s+(\S+)/.exec(text)?.[1];
  // virsh output without a running-hypervisor line names only libvirt's own version: no QEMU version.
  const candidate = running ?? (/virsh|libvirt|hypervisor/i.test(text) ? undefined : text.trim());
  const match = candidate === undefined ? null : /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(candidate);
  return match ? [Number(match[1]), Number(match[2]), Number(match[3] ?? 0)] : undefined;
}

export function readQemuVersion(options: VirshOptions): [number, number, number] | undefined {
  const got = virshText(options, ['version']);
  return 'text' in got ? parseQemuVersion(got.text) : undefined;
}
