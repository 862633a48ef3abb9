import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import pino from 'pino';
import { createApp } from '../../src/app';
import { loadConfig, type Config } from '../../src/config';
import { createDb, type Db } from '../../src/db/knex';
import type { TestDatabase } from './database';
import { httpClient, type HttpClient } from './http-client';

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
  const config = loadConfig({ ...env, DATABASE_URL: database.url });
  const db = createDb(database.url, poolSize);
  const logger = pino({ level: process.env.EMPLACE_TEST_LOG_LEVEL ?? 'silent' });
  const app = createApp({ db, config, logger });
  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    baseUrl,
    db,
    config,
    at: httpClient(baseUrl).at,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await db.destroy();
    },
  };
}
