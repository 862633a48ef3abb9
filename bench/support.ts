import type { Server } from 'node:http';
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
