import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import pino from 'pino';
import { createApp } from '../../src/app';
import { loadConfig, type Config } from '../../src/config';
import { answerClientErrors } from '../../src/http/client-error';
import { createTestDatabase, type TestDatabase } from './database';
import { httpClient, type HttpClient } from './http-client';

export type { ApiResponse, RequestOptions, VersionedClient } from './http-client';

export interface TestServer extends HttpClient {
  baseUrl: string;
  database: TestDatabase;
  config: Config;
  close(): Promise<void>;
}

/** Start the real app on 127.0.0.1 port 0 over a fresh database. Call `close` in afterAll. */
export async function startTestServer(env: Record<string, string> = {}, port = 0): Promise<TestServer> {
  const database = await createTestDatabase();
  const config = loadConfig({ ...env, DATABASE_URL: database.url });
  const logger = pino({ level: process.env.EMPLACE_TEST_LOG_LEVEL ?? 'silent' });
  const app = createApp({ db: database.db, config, logger });
  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(port, '127.0.0.1', () => resolve(listening));
  });
  answerClientErrors(server);
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { request, at } = httpClient(baseUrl);
  return {
    baseUrl,
    database,
    config,
    request,
    at,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await database.drop();
    },
  };
}
