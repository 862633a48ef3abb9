import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http, { type Server } from 'node:http';
import path from 'node:path';
import net, { type AddressInfo } from 'node:net';
import pino from 'pino';
import { createApp } from '../src/app';
import { loadConfig } from '../src/config';
import { createDb, type Db } from '../src/db/knex';
import { migrateToLatest } from '../src/db/migrate';
import { syncStandardCatalogue } from '../src/repo/catalogue-sync';

/** What the benches share: scratch databases on one server and the real app on a free port. */

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** (Re)create database `name` on the admin URL's server, migrated and with the standard catalogue. */
export async function createScratchDatabase(
  adminUrl: string,
  name: string,
): Promise<{ url: string; drop(): Promise<void> }> {
  const admin = createDb(adminUrl, 1);
  try {
    await admin.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.raw(`CREATE DATABASE ${name}`);
  } finally {
    await admin.destroy();
  }
  const url = withDatabase(adminUrl, name);
  const setup = createDb(url, 1);
  try {
    await migrateToLatest(setup);
    await syncStandardCatalogue(setup);
  } finally {
    await setup.destroy();
  }
  const drop = async () => {
    const cleanup = createDb(adminUrl, 1);
    await cleanup.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).finally(() => cleanup.destroy());
  };
  return { url, drop };
}

/**
 * One request over kept-alive connections, the body read whole. The bench's clients share two cores with the
 * service: undici's fetch cost about 1.3 ms of client CPU per request here (measured against this at 1k and
 * 100k hosts), which showed in every small answer's latency as if it were the service's.
 */
export function request(
  baseUrl: string,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; text: string }> {
  const url = new URL(path, baseUrl);
  return new Promise((resolve, reject) => {
    const sent = http.request(
      url,
      { method: options.method ?? 'GET', headers: options.headers, agent: keptAlive },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode!, text: Buffer.concat(chunks).toString() }));
        response.on('error', reject);
      },
    );
    sent.on('error', reject);
    sent.end(options.body);
  });
}

const keptAlive = new http.Agent({ keepAlive: true });

export interface ServedApp {
  baseUrl: string;
  db: Db;
  close(): Promise<void>;
}

/** The real app over `databaseUrl`, listening on 127.0.0.1 port 0. */
export async function serve(databaseUrl: string, env: Record<string, string> = {}, poolSize = 4): Promise<ServedApp> {
  const config = loadConfig({ ...env, DATABASE_URL: databaseUrl });
  const db = createDb(databaseUrl, poolSize);
  const app = createApp({ db, config, logger: pino({ level: 'silent' }) });
  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    db,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await db.destroy();
    },
  };
}

export interface ServedProcess extends ServedApp {
  /** CPU seconds used so far by the service's processes (the primary and its workers), from /proc. */
  cpuSeconds(): number;
  /** Resident memory of those processes, in MiB. */
  rssMiB(): number;
  /** From spawn to /healthz/ready answering 200, in ms. */
  readyMs: number;
}

/**
 * The compiled service (`dist/src/main.js`) as its own process, as it runs in production: the bench's
 * HTTP clients then parse answers on their own event loop instead of sharing the service's.
 */
export async function serveProcess(databaseUrl: string, env: Record<string, string> = {}): Promise<ServedProcess> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, [path.resolve(__dirname, '../src/main.js')], {
    env: { ...process.env, EMPLACE_LOG_LEVEL: 'warn', ...env, DATABASE_URL: databaseUrl, EMPLACE_PORT: String(port) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const baseUrl = `http://127.0.0.1:${port}`;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the service exited with ${child.exitCode} before it was ready`);
    const ok = await fetch(`${baseUrl}/healthz/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const readyMs = performance.now() - started;
  const db = createDb(databaseUrl, 2);
  const pids = () => [child.pid!, ...childPids(child.pid!)];
  return {
    baseUrl,
    db,
    readyMs,
    cpuSeconds: () => pids().reduce((sum, pid) => sum + procCpuSeconds(pid), 0),
    rssMiB: () => pids().reduce((sum, pid) => sum + procRssMiB(pid), 0),
    close: async () => {
      child.kill('SIGTERM');
      await exited;
      await db.destroy();
    },
  };
}

function childPids(pid: number): number[] {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function procCpuSeconds(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, USER_HZ 100
  } catch {
    return 0;
  }
}

function procRssMiB(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}
