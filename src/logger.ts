import pino, { type Logger } from 'pino';
import type { Config } from './config';

/**
 * The service's logger: JSON lines with ISO-8601 times and level names (`"level":"info"`), which log
 * shippers and people read without pino's numeric levels. pid and hostname stay, to tell workers apart.
 */
export function createLogger(config: Pick<Config, 'logLevel'>): Logger {
  return pino({
    level: config.logLevel,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}

/** A connection string fit for a log: the password replaced by `***`. */
export function maskPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
  }
}

export interface StartFacts {
  version: string;
  listen: string;
  database: { embedded?: { dataDir: string; port: number }; url: string };
  migrations: { applied: number; appliedNow: string[]; pending: number; latest?: string };
  workers?: number;
}

/** The fields of the start line: what runs, where it listens, on which database, at which schema. */
export function startLineFields(facts: StartFacts): Record<string, unknown> {
  const { embedded, url } = facts.database;
  return {
    version: facts.version,
    listen: facts.listen,
    database: embedded
      ? { embedded: true, dataDir: embedded.dataDir, port: embedded.port }
      : { embedded: false, url: maskPassword(url) },
    migrations: facts.migrations,
    ...(facts.workers === undefined ? {} : { workers: facts.workers }),
  };
}
