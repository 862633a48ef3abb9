import path from 'node:path';

/** Every detector reads through this so tests can point hostRoot at a fake /sys, /proc, /dev tree. */
export function hostPath(hostRoot: string, absolute: string): string {
  return path.join(hostRoot, absolute.replace(/^\/+/, ''));
}
