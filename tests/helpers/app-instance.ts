import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import pino from 'pino';
import { createApp } from '../../src/app';
import { loadConfig, type Config } from '../../src/config';
import { createDb, type Db } from '../../src/db/knex';
import type { TestDatabase } from './database';
import type { ApiResponse, VersionedClient } from './server';

/**
 * Another instance of the service over a database that already exists (e.g. `api.database` of a
 * startTestServer): its own connection pool, its own HTTP port. Two of these stand in for two
 * service processes sharing one PostgreSQL. Closing it leaves the database alone.
 */
export interface AppInstance {
  baseUrl: string;
  db: Db;
  config: Config;
  at(version: string): VersionedClient;
  close(): Promise<void>;
}

export async function startAppInstance(database: TestDatabase, env: Record<string, string> = {}, poolSize = 10): Promise<AppInstance> {
  const config = loadConfig({ ...env, DATABASE_URL: database.url });
  const db = createDb(database.url, poolSize);
  const logger = pino({ level: process.env.EMPLACE_TEST_LOG_LEVEL ?? 'silent' });
  const app = createApp({ db, config, logger });
  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const at = (version: string): VersionedClient => {
    const send = (method: string) => async <T>(path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse<T>> => {
      const all: Record<string, string> = { 'x-auth-token': 'admin', accept: 'application/json', 'openstack-api-version': `placement ${version}`, ...headers };
      if (body !== undefined) all['content-type'] ??= 'application/json';
      const response = await fetch(baseUrl + path, { method, headers: all, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await response.text();
      let parsed: unknown;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = undefined;
      }
      return { status: response.status, headers: response.headers, body: parsed as T, text };
    };
    return { get: send('GET'), put: send('PUT'), post: send('POST'), delete: send('DELETE'), patch: send('PATCH') };
  };
  return {
    baseUrl,
    db,
    config,
    at,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await db.destroy();
    },
  };
}
