import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { hostPath } from './host-path';
import { isNotFound, type SourceResult } from './types';

function element(xml: string, name: string): { attrs: string; body: string } | undefined {
  const match = new RegExp(`<${name}\\b([^>]*?)(?:/>|>([\\s\\S]*?)</${name}>)`).exec(xml);
  return match ? { attrs: match[1], body: match[2] ?? '' } : undefined;
}

function intChild(body: string, name: string): number | undefined {
  const match = new RegExp(`<${name}>\\s*(\\d+)\\s*</${name}>`).exec(body);
  return match ? Number(match[1]) : undefined;
}

/**
 * libvirt domain capabilities: <features><sev supported='yes'> with maxGuests / maxESGuests (libvirt >= 8.0),
 * and <launchSecurity> listing sev-snp (libvirt >= 10.5). supported='no' means libvirt cannot launch any.
 */
export function parseDomainCapabilities(xml: string): SourceResult {
  const features = element(xml, 'features');
  const sev = features ? element(features.body, 'sev') : undefined;
  const launch = element(xml, 'launchSecurity');
  const snp = launch
    ? /<value>\s*sev-snp\s*<\/value>/.test(launch.body) && !/supported=['"]no['"]/.test(launch.attrs)
    : undefined;
  if (!sev) return { source: 'libvirt', status: 'absent', detail: 'no <sev> feature in domain capabilities' };
  if (/supported=['"]no['"]/.test(sev.attrs))
    return { source: 'libvirt', sev: 0, es: 0, snp: false, detail: "sev supported='no'" };
  const sevSlots = intChild(sev.body, 'maxGuests');
  const esSlots = intChild(sev.body, 'maxESGuests');
  if (sevSlots === undefined && esSlots === undefined) {
    // Older libvirt says SEV works but not how many guests: it cannot answer the capacity question.
    return { source: 'libvirt', status: 'absent', detail: 'sev supported but no maxGuests/maxESGuests' };
  }
  return { source: 'libvirt', sev: sevSlots, es: esSlots, snp, detail: 'domain capabilities' };
}

export interface DomcapsOptions {
  domcapsFile?: string;
  useVirsh: boolean;
}

export function readDomainCapabilities(hostRoot: string, options: DomcapsOptions): SourceResult {
  let xml: string;
  if (options.domcapsFile) {
    try {
      xml = readFileSync(hostPath(hostRoot, options.domcapsFile), 'utf8');
    } catch (error) {
      const status = isNotFound(error) ? 'absent' : 'error';
      return { source: 'libvirt', status, detail: `${options.domcapsFile}: ${(error as Error).message}` };
    }
  } else if (options.useVirsh && hostRoot === '/') {
    try {
      xml = execFileSync('virsh', ['-r', 'domcapabilities'], {
        encoding: 'utf8',
        timeout: 10_000,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (error) {
      const status = isNotFound(error) ? 'absent' : 'error';
      return { source: 'libvirt', status, detail: `virsh domcapabilities: ${(error as Error).message.split('\n')[0]}` };
    }
  } else {
    return { source: 'libvirt', status: 'absent', detail: 'no domcapabilities file configured' };
  }
  return parseDomainCapabilities(xml);
}
