import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The version in the nearest package.json named emplace (the repo, dist/, or an install's copy). */
export function agentVersion(from: string = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'emplace' && pkg.version) return pkg.version;
    } catch {
      // no package.json here: look one level up
    }
    if (path.dirname(dir) === dir) return 'unknown';
  }
}
