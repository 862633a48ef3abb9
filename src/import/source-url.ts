/**
 * The Placement database to read, given as placement.conf's `[placement_database] connection`
 * (an SQLAlchemy URL such as `mysql+pymysql://placement:secret@db/placement?charset=utf8`) or a
 * plain `mysql://` / `postgresql://` URL.
 */
export interface SourceLocation {
  kind: 'mysql' | 'postgresql';
  host?: string;
  port?: number;
  /** MySQL's unix_socket query parameter, or a PostgreSQL host that is a socket directory. */
  socketPath?: string;
  user?: string;
  password?: string;
  database: string;
}

export class SourceUrlError extends Error {}

const KINDS: Record<string, SourceLocation['kind']> = {
  mysql: 'mysql',
  mariadb: 'mysql',
  postgresql: 'postgresql',
  postgres: 'postgresql',
};

export function parseSourceUrl(text: string): SourceLocation {
  const scheme = /^([a-z0-9]+)(?:\+[a-z0-9_]+)?:\/\//i.exec(text);
  const kind = scheme ? KINDS[scheme[1].toLowerCase()] : undefined;
  if (!scheme || !kind)
    throw new SourceUrlError(
      `--from must be a MySQL/MariaDB or PostgreSQL URL (mysql+pymysql://user:password@host/placement or postgresql://user@host/placement), got ${maskUrl(text)}`,
    );
  let url: URL;
  const rest = text.slice(scheme[0].length);
  // SQLAlchemy allows no host (`mysql+pymysql://placement@/placement?unix_socket=...`); URL() does not.
  const hostless = /^([^/@]*@)?\//.test(rest);
  try {
    // The driver part (+pymysql, +psycopg2) is SQLAlchemy's business; URL() wants a plain scheme.
    url = new URL(`${kind}://${hostless ? rest.replace(/^([^/@]*@)?\//, '$1localhost/') : rest}`);
  } catch {
    throw new SourceUrlError(`--from is not a valid URL: ${maskUrl(text)}`);
  }
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!database) throw new SourceUrlError(`--from names no database: ${maskUrl(text)}`);
  const socket = url.searchParams.get('unix_socket') ?? url.searchParams.get('host') ?? undefined;
  return {
    kind,
    host: hostless ? undefined : url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port ? Number(url.port) : undefined,
    socketPath: socket || undefined,
    user: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    database,
  };
}

/** A connection URL with its password replaced, for messages and logs. */
export function maskUrl(text: string): string {
  return text.replace(/^([a-z0-9+]+:\/\/[^:/@]*):[^@/]*@/i, '$1:****@');
}
