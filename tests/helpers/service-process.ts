import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';

/** The compiled service (dist/) as a child process; tests build it first with `npx tsc -p tsconfig.build.json`. */
export const ROOT = path.resolve(__dirname, '../..');

export interface ServiceProcess {
  child: ChildProcess;
  exited: Promise<number | null>;
  output: () => string;
  /** The JSON log lines so far (pino writes one object per line). */
  lines: () => Array<Record<string, any>>;
}

export function startServiceProcess(env: Record<string, string>): ServiceProcess {
  const child = spawn(process.execPath, ['dist/src/main.js'], { cwd: ROOT, env: { ...process.env, ...env } });
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const lines = () =>
    output
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, any>);
  return { child, exited, output: () => output, lines };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** Wait until `check` holds, polling; fail with the service's output after `ms`. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  running: ServiceProcess,
  what: string,
  ms = 60_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await Promise.resolve(check()).catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what} within ${ms} ms; output:\n${running.output()}`);
}

export async function answers(port: number): Promise<boolean> {
  const res = await fetch(`http://127.0.0.1:${port}/`);
  return res.status === 200;
}
