import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * Make sure a Debian package's program is on this machine (we are root in CI): apt-get install it
 * when missing, with `apt-get update` first, waiting for other installs that hold the dpkg lock.
 */
export function ensureDebianTool(program: string, pkg: string, { withRecommends = false } = {}): string {
  if (existsSync(program)) return program;
  const apt = (...args: string[]) =>
    execFileSync('apt-get', ['-o', 'DPkg::Lock::Timeout=600', ...args], {
      stdio: 'ignore',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      timeout: 15 * 60_000,
    });
  apt('update');
  apt('install', '-y', ...(withRecommends ? [] : ['--no-install-recommends']), pkg);
  if (!existsSync(program)) throw new Error(`apt-get install ${pkg} did not provide ${program}`);
  return program;
}
