import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { createDb, type Db } from '../../src/db/knex';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { httpClient, type VersionedClient } from '../helpers/http-client';
import { seedInventory, seedProvider, type SeedProvider } from '../helpers/seed';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy';

/**
 * The service in front of a database that goes away or hangs (through a TCP proxy the test breaks):
 * requests fail fast with 503 + Retry-After in Placement's format, the health probes answer within a
 * second, and the service serves again by itself once the database is back.
 */

// Short waits so the test is quick; the defaults are longer (src/config.ts).
const ENV = {
  EMPLACE_DB_CONNECT_TIMEOUT_MS: '500',
  EMPLACE_DB_STATEMENT_TIMEOUT_MS: '800',
  EMPLACE_DB_ACQUIRE_TIMEOUT_MS: '1500',
};

let database: TestDatabase;
let proxy: TcpProxy;
let db: Db;
let server: Server;
let api: VersionedClient;
let baseUrl: string;
let host: SeedProvider;

beforeAll(async () => {
  database = await createTestDatabase();
  const target = new URL(database.url);
  proxy = await startTcpProxy(target.hostname, Number(target.port));
  const config = loadConfig({ ...ENV, DATABASE_URL: proxy.url(database.url) });
  db = createDb(config.databaseUrl!, 4, config.dbTimeouts);
  const app = createApp({ db, config, logger: pino({ level: process.env.EMPLACE_TEST_LOG_LEVEL ?? 'silent' }) });
  server = await new Promise((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  api = httpClient(baseUrl).at('1.39');
  host = await seedProvider(database.db);
  await seedInventory(database.db, host, { VCPU: 1000 });
});

afterEach(() => proxy.restore());

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await db?.destroy();
  await proxy?.close();
  await database?.drop();
});

function claim(consumer = randomUUID()) {
  return api.put(`/allocations/${consumer}`, {
    allocations: { [host.uuid]: { resources: { VCPU: 1 } } },
    project_id: 'p',
    user_id: 'u',
    consumer_generation: null,
    consumer_type: 'INSTANCE',
  });
}

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const started = Date.now();
  const result = await work();
  return [result, Date.now() - started];
}

function expectUnavailable(res: { status: number; headers: Headers; body: any }) {
  expect(res.status).toBe(503);
  expect(res.headers.get('retry-after')).toBe('2');
  expect(res.body.errors).toEqual([
    expect.objectContaining({
      status: 503,
      title: 'Service Unavailable',
      code: 'placement.undefined_code',
      detail: expect.stringContaining('The database is unavailable or did not answer in time; retry shortly.'),
    }),
  ]);
}

it('claims succeed through the proxy before any fault (the proxy itself is sound)', async () => {
  expect((await claim()).status).toBe(204);
  expect((await api.get('/healthz/ready')).status).toBe(200);
});

it('with the database refusing connections, a claim is a fast 503 with Retry-After, and /healthz says unreachable', async () => {
  proxy.cut();
  const [res, ms] = await timed(() => claim());
  expectUnavailable(res);
  expect(ms).toBeLessThan(3_000);
  const [health, healthMs] = await timed(() => api.get('/healthz'));
  expect(health.status).toBe(503);
  expect(health.body).toEqual({ status: 'unavailable', database: 'unreachable' });
  expect(healthMs).toBeLessThan(1_000);
  expect((await api.get('/healthz/ready')).status).toBe(503);
  const live = await api.get('/healthz/live');
  expect(live.status).toBe(200);
  expect(live.body).toEqual({ status: 'ok' });
});

it('with the database hung, claims fail with 503 within the statement timeout and probes answer within a second', async () => {
  expect((await claim()).status).toBe(204); // a pooled connection exists to hang on
  proxy.freeze();
  const [[first, second], ms] = await timed(() => Promise.all([claim(), claim()]));
  expectUnavailable(first);
  expectUnavailable(second);
  expect(ms).toBeLessThan(5_000);
  for (const path of ['/healthz', '/healthz/ready']) {
    const [health, healthMs] = await timed(() => api.get(path));
    expect(health.status).toBe(503);
    expect(healthMs).toBeLessThan(1_000);
  }
  expect((await api.get('/healthz/live')).status).toBe(200);
});

it('serves again by itself once the database is back, and every acknowledged claim is stored', async () => {
  proxy.cut();
  expect((await claim()).status).toBe(503);
  proxy.restore();
  const consumer = randomUUID();
  let res = await claim(consumer);
  // The first request after the fault may still meet a connection that died with it.
  for (let attempt = 0; res.status === 503 && attempt < 5; attempt++) res = await claim(consumer);
  expect(res.status).toBe(204);
  expect((await api.get('/healthz')).status).toBe(200);
  const stored = await database.db('consumers').where({ uuid: consumer }).first('id');
  expect(stored).toBeDefined();
});
