import mysql from 'mysql2/promise';
import { Client, types } from 'pg';
import type { SourceLocation } from './source-url';

/**
 * A read-only, consistent view of a Placement database: one REPEATABLE READ snapshot taken at open,
 * so everything read belongs to one moment even if Placement is still writing. Rows come back with
 * numbers as numbers and Placement's naive UTC timestamps as text (`YYYY-MM-DD HH:MM:SS[.ffffff]`),
 * never shifted by the local time zone.
 */
export interface PlacementSource {
  query<T>(sql: string): Promise<T[]>;
  tables(): Promise<string[]>;
  close(): Promise<void>;
}

const CONNECT_TIMEOUT_MS = 10_000;
/** A generous bound for one table read; an import that needs longer is better stopped and asked about. */
const QUERY_TIMEOUT_MS = 10 * 60_000;

export async function openSource(location: SourceLocation): Promise<PlacementSource> {
  return location.kind === 'mysql' ? openMysql(location) : openPostgres(location);
}

async function openMysql(location: SourceLocation): Promise<PlacementSource> {
  const connection = await mysql.createConnection({
    host: location.socketPath ? undefined : (location.host ?? 'localhost'),
    port: location.port ?? 3306,
    socketPath: location.socketPath,
    user: location.user,
    password: location.password,
    database: location.database,
    charset: 'utf8mb4',
    connectTimeout: CONNECT_TIMEOUT_MS,
    // DATETIME as text: Placement stores naive UTC, which a Date would reinterpret in local time.
    dateStrings: true,
    supportBigNumbers: true,
  });
  try {
    await connection.query('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    await connection.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
  } catch (error) {
    await connection.end();
    throw error;
  }
  return {
    // The text protocol (query, not execute): FLOAT columns arrive as MySQL prints them (16.1), not
    // as the single-precision binary value (16.100000381469727), which is what Placement reads too.
    query: async <T>(sql: string) => {
      const [rows] = await connection.query({ sql, timeout: QUERY_TIMEOUT_MS });
      return rows as T[];
    },
    tables: async () => {
      const [rows] = await connection.query(
        'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE()',
      );
      return (rows as Array<{ name: string }>).map((row) => row.name);
    },
    close: async () => {
      await connection.query('ROLLBACK').catch(() => undefined);
      await connection.end();
    },
  };
}

const TIMESTAMP_WITHOUT_TIME_ZONE = 1114;

async function openPostgres(location: SourceLocation): Promise<PlacementSource> {
  const client = new Client({
    host: location.socketPath ?? location.host ?? 'localhost',
    port: location.port ?? 5432,
    user: location.user,
    password: location.password,
    database: location.database,
    application_name: 'emplace import-placement',
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    statement_timeout: QUERY_TIMEOUT_MS,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === TIMESTAMP_WITHOUT_TIME_ZONE
          ? (value: string) => value
          : types.getTypeParser(oid, format as 'text')) as typeof types.getTypeParser,
    },
  });
  await client.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  } catch (error) {
    await client.end();
    throw error;
  }
  return {
    query: async <T>(sql: string) => (await client.query(sql)).rows as T[],
    tables: async () =>
      (
        await client.query<{ name: string }>(
          'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()',
        )
      ).rows.map((row) => row.name),
    close: async () => {
      await client.query('ROLLBACK').catch(() => undefined);
      await client.end();
    },
  };
}
