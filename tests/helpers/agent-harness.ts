import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { main } from '../../src/agent/cli';
import { AGENT_DEFAULTS, type AgentConfig } from '../../src/agent/config';
import type { Logger } from '../../src/agent/log';
import { Agent } from '../../src/agent/loop';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { createTestDatabase, type TestDatabase } from './database';

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

export async function startHarness(env: Record<string, string> = {}): Promise<Harness> {
  const database = await createTestDatabase();
  const config = loadConfig({ ...env, DATABASE_URL: database.url });
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

export const FIXTURE_HOSTS = path.join(__dirname, '..', 'fixtures', 'hosts');

export interface FakeHost {
  root: string;
  write(file: string, text: string): void;
  remove(file: string): void;
  dispose(): void;
}

/** A private copy of a fixture host so a test can flip module parameters and slot counts. */
export function fakeHost(fixture: string): FakeHost {
  const root = mkdtempSync(path.join(os.tmpdir(), `agent-host-${fixture}-`));
  cpSync(path.join(FIXTURE_HOSTS, fixture), root, { recursive: true });
  return {
    root,
    write: (file, text) => writeFileSync(path.join(root, file), text),
    remove: (file) => rmSync(path.join(root, file), { recursive: true, force: true }),
    dispose: () => rmSync(root, { recursive: true, force: true }),
  };
}

/**
 * A fixture's `placement.json`: the providers another reporter (nova-compute) or an earlier agent left in
 * the service, created through the API as they would have been.
 */
export async function seedPlacement(harness: Harness, fixture: string): Promise<Array<{ uuid: string; name: string }>> {
  const file = path.join(FIXTURE_HOSTS, fixture, 'placement.json');
  if (!existsSync(file)) throw new Error(`${fixture} has no placement.json`);
  const seed = JSON.parse(readFileSync(file, 'utf8')) as {
    providers: Array<{
      uuid: string;
      name: string;
      parent?: string;
      traits?: string[];
      inventories?: Record<string, { reserved?: number }>;
    }>;
    /** consumer -> provider -> resources; placed before `reserved` takes effect (a drain came after the claim). */
    allocations?: Record<string, Record<string, Record<string, number>>>;
  };
  const expectOk = (what: string, reply: { status: number; body: unknown }) => {
    if (reply.status >= 300) throw new Error(`seeding ${what}: ${reply.status} ${JSON.stringify(reply.body)}`);
    return reply;
  };
  const generationOf = async (uuid: string) =>
    (await harness.api('GET', `/resource_providers/${uuid}`)).body.generation as number;
  const setInventories = async (uuid: string, inventories: Record<string, unknown>) =>
    expectOk(
      `inventories of ${uuid}`,
      await harness.api('PUT', `/resource_providers/${uuid}/inventories`, {
        resource_provider_generation: await generationOf(uuid),
        inventories,
      }),
    );
  for (const p of seed.providers) {
    expectOk(
      p.name,
      await harness.api('POST', '/resource_providers', {
        uuid: p.uuid,
        name: p.name,
        ...(p.parent ? { parent_provider_uuid: p.parent } : {}),
      }),
    );
    if (p.inventories)
      await setInventories(
        p.uuid,
        Object.fromEntries(Object.entries(p.inventories).map(([rc, inv]) => [rc, { ...inv, reserved: 0 }])),
      );
    if (p.traits?.length) {
      for (const trait of p.traits.filter((t) => t.startsWith('CUSTOM_'))) await harness.api('PUT', `/traits/${trait}`);
      expectOk(
        `traits of ${p.name}`,
        await harness.api('PUT', `/resource_providers/${p.uuid}/traits`, {
          resource_provider_generation: await generationOf(p.uuid),
          traits: p.traits,
        }),
      );
    }
  }
  for (const [consumer, on] of Object.entries(seed.allocations ?? {})) {
    const allocations = Object.fromEntries(Object.entries(on).map(([rp, resources]) => [rp, { resources }]));
    expectOk(
      `allocations of ${consumer}`,
      await harness.api('PUT', `/allocations/${consumer}`, {
        allocations,
        project_id: 'p',
        user_id: 'u',
        consumer_generation: null,
        consumer_type: 'INSTANCE',
      }),
    );
  }
  for (const p of seed.providers) {
    if (p.inventories && Object.values(p.inventories).some((inv) => (inv.reserved ?? 0) > 0))
      await setInventories(p.uuid, p.inventories);
  }
  return seed.providers.map(({ uuid, name }) => ({ uuid, name }));
}

export interface CapturingLogger extends Logger {
  warnings: string[];
  errors: string[];
}

export function capturingLogger(): CapturingLogger {
  const warnings: string[] = [];
  const errors: string[] = [];
  const quiet = () => undefined;
  return {
    warnings,
    errors,
    debug: quiet,
    info: quiet,
    error: (obj: any, msg?: string) => void errors.push(obj?.error ?? msg ?? ''),
    warn: (obj: any, msg?: string) => void warnings.push(obj?.warning ?? msg ?? ''),
  };
}

export function agentConfig(harness: Harness, hostRoot: string, extra: Partial<AgentConfig> = {}): AgentConfig {
  const stateDir = extra.stateDir ?? path.join(hostRoot, '.agent-state');
  return {
    ...AGENT_DEFAULTS,
    url: harness.url,
    token: 'admin',
    hostRoot,
    stateDir,
    statusFile: path.join(stateDir, 'status.json'),
    providerName: 'compute1.example.org',
    useVirsh: false,
    useJournal: false,
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

/**
 * The writes of Placement data the service saw, as `METHOD /path` with provider uuids left in. Heartbeats
 * change nothing a scheduler reads (no generation bump); tests about them look at the requests directly.
 */
export const writesOf = (requests: Harness['requests']) =>
  requests.filter((r) => r.method !== 'GET' && !r.path.startsWith('/emplace/heartbeats/'));
export const writeLines = (requests: Harness['requests']) => writesOf(requests).map((r) => `${r.method} ${r.path}`);

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** `emplace-agent <args>` in this process, stdout and stderr captured. */
export async function runCli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await main(
    args,
    { EMPLACE_LOG_LEVEL: 'silent', ...env },
    {
      out: (text) => void (stdout += text),
      err: (text) => void (stderr += text),
    },
  );
  return { code, stdout, stderr };
}

/** The flags every CLI run against the harness needs. */
export function cliArgs(harness: Harness, host: FakeHost, name: string, ...extra: string[]): string[] {
  return [
    '--url',
    harness.url,
    '--host-root',
    host.root,
    '--state-dir',
    path.join(host.root, '.agent-state'),
    '--provider-name',
    name,
    '--use-virsh=false',
    '--use-journal=false',
    '--backoff-base-ms',
    '20',
    '--backoff-cap-ms',
    '200',
    ...extra,
  ];
}
