import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import pino from 'pino';
import { createApp } from '../../src/app';
import { loadConfig, type Config } from '../../src/config';
import { answerClientErrors } from '../../src/http/client-error';
import { createTestDatabase, type TestDatabase } from './database';

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface RequestOptions {
  body?: unknown;
  /** Microversion to send; omit for none (1.0). */
  version?: string;
  headers?: Record<string, string>;
  /** Send this exact text as the body (with the given headers). */
  rawBody?: string;
}

export interface TestServer {
  baseUrl: string;
  database: TestDatabase;
  config: Config;
  request<T = any>(method: string, path: string, options?: RequestOptions): Promise<ApiResponse<T>>;
  /** A client that sends `version` (and `headers`, e.g. another token or roles) on every request unless told otherwise. */
  at(version: string, headers?: Record<string, string>): VersionedClient;
  close(): Promise<void>;
}

export type VersionedClient = {
  [M in 'get' | 'put' | 'post' | 'delete' | 'patch']: <T = any>(path: string, body?: unknown, headers?: Record<string, string>) => Promise<ApiResponse<T>>;
};

/** Start the real app on 127.0.0.1 port 0 over a fresh database. Call `close` in afterAll. */
export async function startTestServer(env: Record<string, string> = {}): Promise<TestServer> {
  const database = await createTestDatabase();
  const config = loadConfig({ ...env, DATABASE_URL: database.url });
  const logger = pino({ level: process.env.EMPLACE_TEST_LOG_LEVEL ?? 'silent' });
  const app = createApp({ db: database.db, config, logger });
  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  answerClientErrors(server);
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const request = async <T>(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse<T>> => {
    const headers: Record<string, string> = { 'x-auth-token': 'admin', accept: 'application/json', ...(options.headers ?? {}) };
    if (options.version) headers['openstack-api-version'] = `placement ${options.version}`;
    // Raw bodies go as bytes so fetch adds no content type of its own.
    let body: string | Uint8Array | undefined = options.rawBody === undefined ? undefined : Buffer.from(options.rawBody);
    if (options.body !== undefined && body === undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    const response = await fetch(baseUrl + path, { method, headers, body });
    const text = await response.text();
    let parsed: unknown = undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: response.status, headers: response.headers, body: parsed as T, text };
  };
  const at = (version: string, defaults: Record<string, string> = {}): VersionedClient => {
    const send = (method: string) => <T>(path: string, body?: unknown, headers?: Record<string, string>) =>
      request<T>(method, path, { body, version, headers: { ...defaults, ...headers } });
    return { get: send('GET'), put: send('PUT'), post: send('POST'), delete: send('DELETE'), patch: send('PATCH') };
  };
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
