import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { Client } from 'pg';

/** The compiled service as a real process, as a supervisor runs it (tests of lifecycle and faults). */
export const root = path.resolve(__dirname, '../..');

/** Build dist/ once for all test files (scripts/build-if-stale.mjs takes a lock and skips a current build). */
export function buildService(): void {
  execFileSync(process.execPath, ['scripts/build-if-stale.mjs'], { cwd: root, stdio: 'inherit' });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

export interface ServiceProcess {
  child: ChildProcess;
  port: number;
  exited: Promise<number | null>;
  output(): string;
  /** The JSON log lines so far (pino writes one object per line). */
  lines(): Array<Record<string, any>>;
  /** Resolves once the log says the service listens (any transport); rejects with the output if it exits first. */
  listening(withinMs?: number): Promise<void>;
  /** Resolves once /healthz/ready says ok; rejects with the output if it does not within `withinMs`. */
  ready(withinMs?: number): Promise<void>;
  /** SIGTERM and wait: the exit code and how long it took. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; ms: number }>;
}

export async function startService(env: Record<string, string>): Promise<ServiceProcess> {
  const { DATABASE_URL: _ignored, ...inherited } = process.env;
  const port = env.EMPLACE_PORT ? Number(env.EMPLACE_PORT) : await freePort();
  const child = spawn(process.execPath, ['dist/src/main.js'], {
    cwd: root,
    env: { ...inherited, EMPLACE_LOG_LEVEL: 'info', ...env, EMPLACE_PORT: String(port) },
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
    lines: () =>
      output
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, any>),
    listening: async (withinMs = 60_000) => {
      const deadline = Date.now() + withinMs;
      while (Date.now() < deadline) {
        if (output.includes('"msg":"emplace listening"')) return;
        if (child.exitCode !== null) throw new Error(`service exited:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`service did not listen within ${withinMs} ms:\n${output}`);
    },
    ready: async (withinMs = 60_000) => {
      const deadline = Date.now() + withinMs;
      while (Date.now() < deadline && child.exitCode === null) {
        const res = await fetch(`http://127.0.0.1:${port}/healthz/ready`).catch(() => undefined);
        if (res?.status === 200) return;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      throw new Error(`service not ready within ${withinMs} ms:\n${output}`);
    },
    stop: async (signal = 'SIGTERM') => {
      const started = Date.now();
      child.kill(signal);
      const code = await exited;
      return { code, ms: Date.now() - started };
    },
  };
}

/** Wait until `check` holds, polling; fail with the service's output after `ms`. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  running: Pick<ServiceProcess, 'output'>,
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

/** `GET /` answers 200 on the port. */
export async function answers(port: number): Promise<boolean> {
  const res = await fetch(`http://127.0.0.1:${port}/`);
  return res.status === 200;
}

/** The embedded server's password, as the service keeps it in its data directory. */
export async function embeddedPassword(dataDir: string): Promise<string> {
  return (await fs.readFile(path.join(dataDir, 'emplace-password'), 'utf8')).trim();
}

export async function pgQuery(port: number, password: string, sql: string, database = 'emplace'): Promise<any[]> {
  const client = new Client({ host: '127.0.0.1', port, user: 'postgres', password, database });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

export async function postmasterPidOf(dataDir: string): Promise<number> {
  return Number((await fs.readFile(path.join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
