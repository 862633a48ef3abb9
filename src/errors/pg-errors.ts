import { CONCURRENT_UPDATE } from './codes';
import { HttpError } from './http-error';
import { CONCURRENT_UPDATE_DATA, NUMBER_OUT_OF_RANGE, VALUE_NOT_STORABLE } from './messages';

/** PostgreSQL SQLSTATEs we act on, mapped in one place. */
export const PG_UNIQUE_VIOLATION = '23505';
export const PG_FOREIGN_KEY_VIOLATION = '23503';
export const PG_SERIALIZATION_FAILURE = '40001';
export const PG_DEADLOCK_DETECTED = '40P01';
export const PG_NUMERIC_OUT_OF_RANGE = '22003';
export const PG_INVALID_TEXT_REPRESENTATION = '22P02';
export const PG_UNTRANSLATABLE_CHARACTER = '22021';

/** Class 08 (connection exception) and the server going away or refusing new sessions. */
const UNAVAILABLE_SQLSTATES = new Set([
  '57P01', // admin_shutdown: the server is stopping
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: starting up or in recovery
  '53300', // too_many_connections
  '57014', // query_canceled: statement_timeout
  '55P03', // lock_not_available: lock_timeout
  '25P03', // idle_in_transaction_session_timeout
]);

/** Socket-level failures reaching the server (node's error codes). */
const UNAVAILABLE_SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** What pg and knex say when a connection is lost, times out, or cannot be had (knex may prefix the SQL). */
const UNAVAILABLE_MESSAGE =
  /(^|- )(Connection terminated|timeout expired|Query read timeout|Client has encountered a connection error|Client was closed|Knex: Timeout acquiring a connection)/;

/**
 * The database cannot be reached, went away mid-request, or did not answer in time: not the
 * request's fault and not a bug, so the client is told to come back (503 with Retry-After).
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const code = pgErrorCode(error);
  if (code !== undefined && (code.startsWith('08') || UNAVAILABLE_SQLSTATES.has(code))) return true;
  if (code !== undefined && UNAVAILABLE_SOCKET_CODES.has(code)) return true;
  if (error instanceof Error && (error.name === 'KnexTimeoutError' || UNAVAILABLE_MESSAGE.test(error.message)))
    return true;
  return false;
}

/** Seconds a client is asked to wait after a 503 for an unavailable database. */
export const DATABASE_RETRY_AFTER_SECONDS = 2;

export const DATABASE_UNAVAILABLE_MESSAGE = 'The database is unavailable or did not answer in time; retry shortly.';

export function pgErrorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

export const isUniqueViolation = (error: unknown) => pgErrorCode(error) === PG_UNIQUE_VIOLATION;
export const isForeignKeyViolation = (error: unknown) => pgErrorCode(error) === PG_FOREIGN_KEY_VIOLATION;

/** Errors worth retrying the whole transaction for. */
export function isRetryableTransactionError(error: unknown): boolean {
  const code = pgErrorCode(error);
  return code === PG_SERIALIZATION_FAILURE || code === PG_DEADLOCK_DETECTED;
}

/** The constraint a violation names, so repos can say which uniqueness failed. */
export function pgConstraint(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'constraint' in error) {
    const constraint = (error as { constraint: unknown }).constraint;
    return typeof constraint === 'string' ? constraint : undefined;
  }
  return undefined;
}

/**
 * The backstop for database errors no repo turned into a domain error: a constraint another writer
 * won is a 409 to retry, a value PostgreSQL cannot hold is a 400, an unreachable or timed-out database
 * is a 503 with Retry-After. Anything else stays a 500 (a bug).
 */
export function httpErrorFromDatabase(error: unknown): HttpError | undefined {
  if (isDatabaseUnavailable(error))
    return new HttpError(503, DATABASE_UNAVAILABLE_MESSAGE, undefined, {
      'retry-after': String(DATABASE_RETRY_AFTER_SECONDS),
    });
  switch (pgErrorCode(error)) {
    case PG_FOREIGN_KEY_VIOLATION:
    case PG_UNIQUE_VIOLATION:
    case PG_SERIALIZATION_FAILURE:
    case PG_DEADLOCK_DETECTED:
      return new HttpError(409, CONCURRENT_UPDATE_DATA, CONCURRENT_UPDATE);
    case PG_NUMERIC_OUT_OF_RANGE:
      return new HttpError(400, NUMBER_OUT_OF_RANGE);
    case PG_INVALID_TEXT_REPRESENTATION:
    case PG_UNTRANSLATABLE_CHARACTER:
      return new HttpError(400, VALUE_NOT_STORABLE);
    default:
      return undefined;
  }
}
