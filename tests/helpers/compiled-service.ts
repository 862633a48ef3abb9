import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';

/** The compiled service (dist/src/main.js) as a real process, for what only a process shows: signals, logs, TLS. */
export const root = path.resolve(__dirname, '../..');

export function buildService(): void {
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

export interface ServiceProcess {
  child: ChildProcess;
  port: number;
  exited: Promise<number | null>;
  /** Everything the process wrote to stdout and stderr so far. */
  output: () => string;
  stop(): Promise<number | null>;
}

export function startService(env: Record<string, string>, port: number): ServiceProcess {
  const { DATABASE_URL: _ignored, ...inherited } = process.env;
  const child = spawn(process.execPath, ['dist/src/main.js'], {
    cwd: root,
    env: { ...inherited, EMPLACE_PORT: String(port), EMPLACE_WORKERS: '1', ...env },
  });
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    port,
    exited,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Wait until the log says the service listens (or it exits, which throws with its output). */
export async function waitListening(service: ServiceProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (service.output().includes('"msg":"emplace listening"')) return;
    if (service.child.exitCode !== null) throw new Error(`service exited:\n${service.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`service did not listen within 60 s:\n${service.output()}`);
}
