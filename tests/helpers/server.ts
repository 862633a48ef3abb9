import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import pino from 'pino';
import { createApp } from '../../src/app';
import { loadConfig, type Config } from '../../src/config';
import { createDb, type Db } from '../../src/db/knex';
import { answerClientErrors } from '../../src/http/client-error';
import { createTestDatabase, type TestDatabase } from './database';
import { httpClient, type HttpClient } from './http-client';

export type { ApiResponse, RequestOptions, VersionedClient } from './http-client';

/** The real app listening on 127.0.0.1 port 0: the one way tests start the service. */
interface Listening extends HttpClient {
  baseUrl: string;
  config: Config;
  stop(): Promise<void>;
}

async function listen(db: Db, env: Record<string, string>, databaseUrl: string, port = 0): Promise<Listening> {
  const config = loadConfig({ ...env, DATABASE_URL: databaseUrl });
  const logger = pino({ level: process.env.EMPLACE_TEST_LOG_LEVEL ?? 'silent' });
  const app = createApp({ db, config, logger });
  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(port, '127.0.0.1', () => resolve(listening));
    answerClientErrors(listening, config);
  });
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { request, at } = httpClient(baseUrl);
  return {
    baseUrl,
    config,
    request,
    at,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface TestServer extends HttpClient {
  baseUrl: string;
  database: TestDatabase;
  config: Config;
  close(): Promise<void>;
}

/** Start the app over a fresh database. Call `close` in afterAll; it drops the database. */
export async function startTestServer(env: Record<string, string> = {}, port = 0): Promise<TestServer> {
  const database = await createTestDatabase();
  const { stop, ...listening } = await listen(database.db, env, database.url, port);
  return {
    ...listening,
    database,
    close: async () => {
      await stop();
      await database.drop();
    },
  };
}

/**
 * Another instance of the service over a database that already exists (e.g. `api.database` of a
 * startTestServer): its own connection pool, its own HTTP port. Two of these stand in for two
 * service processes sharing one PostgreSQL. Closing it leaves the database alone.
 */
export interface AppInstance extends Pick<HttpClient, 'at'> {
  baseUrl: string;
  db: Db;
  config: Config;
  close(): Promise<void>;
}

export async function startAppInstance(
  database: TestDatabase,
  env: Record<string, string> = {},
  poolSize = 10,
): Promise<AppInstance> {
  const db = createDb(database.url, poolSize);
  const { stop, baseUrl, config, at } = await listen(db, env, database.url);
  return {
    baseUrl,
    db,
    config,
    at,
    close: async () => {
      await stop();
      await db.destroy();
    },
  };
}
