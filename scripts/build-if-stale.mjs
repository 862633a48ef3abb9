// `npm start` without a TypeScript compile when dist/ is current: build only if a source the build
// reads (src, migrations, api, bench, tsconfig*, package.json) is newer than the last build's stamp.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const stamp = join(root, 'dist', '.build-stamp');
const inputs = ['src', 'migrations', 'api', 'bench', 'tsconfig.json', 'tsconfig.build.json', 'package.json'];

function newest(path) {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(path).reduce((latest, entry) => Math.max(latest, newest(join(path, entry))), stat.mtimeMs);
}

// Test files starting the service in parallel share one build: the first takes the lock, the others
// wait for it and then find the build current.
const lock = join(root, 'dist', '.build-lock');
mkdirSync(join(root, 'dist'), { recursive: true });
for (;;) {
  try {
    mkdirSync(lock);
    break;
  } catch {
    // A lock older than ten minutes was left by a build that was killed.
    if (Date.now() - newest(lock) > 600_000) rmSync(lock, { recursive: true, force: true });
    else await sleep(250);
  }
}
try {
  build();
} finally {
  rmSync(lock, { recursive: true, force: true });
}

function build() {
  const built = newest(stamp);
  const changed = Math.max(...inputs.map((input) => newest(join(root, input))));
  if (built !== 0 && changed <= built) return;
  const started = Date.now();
  // The stamp takes the time the build started: a file saved during the build triggers the next one.
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
  writeFileSync(stamp, `${new Date(started).toISOString()}\n`);
  utimesSync(stamp, started / 1000, started / 1000);
}
