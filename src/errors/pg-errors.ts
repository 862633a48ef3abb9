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
 * won is a 409 to retry, a value PostgreSQL cannot hold is a 400. Anything else stays a 500 (a bug).
 */
export function httpErrorFromDatabase(error: unknown): HttpError | undefined {
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
