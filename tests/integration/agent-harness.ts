import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { AGENT_DEFAULTS, type AgentConfig } from '../../src/agent/config';
import type { Logger } from '../../src/agent/client';
import { Agent } from '../../src/agent/loop';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { createTestDatabase, type TestDatabase } from '../helpers/database';

export type Interceptor = (req: IncomingMessage, res: ServerResponse) => Promise<'handled' | void>;

/**
 * The real service over a fresh database, on a fixed port that survives `restart()`, with a hook that runs
 * before each request reaches the app (to count writes or inject a concurrent writer).
 */
export interface Harness {
  url: string;
  database: TestDatabase;
  requests: Array<{ method: string; path: string }>;
  intercept?: Interceptor;
  api<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startHarness(): Promise<Harness> {
  const database = await createTestDatabase();
  const config = loadConfig({ DATABASE_URL: database.url });
  const app = createApp({ db: database.db, config, logger: pino({ level: 'silent' }) });
  let server: Server | undefined;
  let port = 0;
  const harness: Harness = {
    url: '',
    database,
    requests: [],
    async api(method, urlPath, body) {
      const headers: Record<string, string> = { 'x-auth-token': 'admin', 'openstack-api-version': 'placement 1.39' };
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(harness.url + urlPath, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    },
    async start() {
      server = createServer((req, res) => {
        harness.requests.push({ method: req.method ?? '', path: req.url ?? '' });
        const hook = harness.intercept ?? (async () => undefined);
        hook(req, res).then(
          (outcome) => (outcome === 'handled' ? undefined : app(req as any, res as any)),
          (error) => {
            res.statusCode = 500;
            res.end(String(error));
          },
        );
      });
      await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;
      harness.url = `http://127.0.0.1:${port}`;
    },
    async stop() {
      if (!server) return;
      const closing = server;
      server = undefined;
      closing.closeAllConnections();
      await new Promise((resolve) => closing.close(resolve));
    },
    async close() {
      await harness.stop();
      await database.drop();
    },
  };
  await harness.start();
  return harness;
}

/** A private copy of a fixture host so a test can flip module parameters and slot counts. */
export function fakeHost(fixture: string): { root: string; write(file: string, text: string): void; remove(): void } {
  const root = mkdtempSync(path.join(os.tmpdir(), `agent-host-${fixture}-`));
  cpSync(path.join(__dirname, '..', 'fixtures', 'hosts', fixture), root, { recursive: true });
  return {
    root,
    write: (file, text) => writeFileSync(path.join(root, file), text),
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}

export interface CapturingLogger extends Logger {
  warnings: string[];
}

export function capturingLogger(): CapturingLogger {
  const warnings: string[] = [];
  const quiet = () => undefined;
  return {
    warnings,
    debug: quiet,
    info: quiet,
    error: quiet,
    warn: (obj: any, msg?: string) => void warnings.push(obj?.warning ?? msg ?? ''),
  };
}

export function agentConfig(harness: Harness, hostRoot: string, extra: Partial<AgentConfig> = {}): AgentConfig {
  return {
    ...AGENT_DEFAULTS,
    url: harness.url,
    token: 'admin',
    hostRoot,
    stateDir: path.join(hostRoot, '.agent-state'),
    providerName: 'compute1.example.org',
    useVirsh: false,
    logLevel: 'silent',
    backoffBaseMs: 20,
    backoffCapMs: 200,
    requestRetries: 8,
    ...extra,
  };
}

export function makeAgent(
  harness: Harness,
  hostRoot: string,
  extra: Partial<AgentConfig> = {},
  logger: Logger = capturingLogger(),
): Agent {
  return new Agent(agentConfig(harness, hostRoot, extra), logger);
}

export const writesOf = (requests: Harness['requests']) => requests.filter((r) => r.method !== 'GET');
