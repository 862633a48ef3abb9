import type { Request } from 'express';
import { ILLEGAL_DUPLICATE_QUERYPARAM } from '../errors/codes';
import { badRequest } from '../errors/http-error';
import { getAll, queryForValidation } from '../http/query';
import { canonicalUuid, validateQuery, type JsonSchema, type Validator } from '../validation/validator';

/**
 * Query parameters shared by the /emplace/... reads: `limit` and `marker` (paging in a stable order),
 * `stale_after` (seconds). Messages follow Placement's query wording ("Invalid query string parameters: ...").
 */

export const LIMIT = { type: 'string', pattern: '^[1-9][0-9]*$' };
export const MARKER = { type: 'string', format: 'uuid' };
/** Up to nine digits (31 years): a count of seconds PostgreSQL's int and interval arithmetic always hold. */
export const STALE_AFTER = { type: 'string', pattern: '^[0-9]{1,9}$' };

/** Most items one page (or audit section) carries. */
export const MAX_LIMIT = 1000;

/** A schema over the single-valued keys; `repeatable` keys may appear any number of times. */
export function querySchema(properties: Record<string, JsonSchema>, repeatable: string[] = []): JsonSchema {
  return {
    type: 'object',
    properties: { ...properties, ...Object.fromEntries(repeatable.map((key) => [key, { type: 'string' }])) },
    additionalProperties: false,
  };
}

/**
 * Validate the query against `validate`, refusing a repeated single-valued key rather than silently
 * using one of its values.
 */
export function readQuery<T>(req: Request, validate: Validator<T>, repeatable: string[] = []): T {
  for (const key of Object.keys(req.query as Record<string, unknown>)) {
    if (!repeatable.includes(key) && getAll(req, key).length > 1)
      throw badRequest(`Query parameter '${key}' may be specified only once.`, ILLEGAL_DUPLICATE_QUERYPARAM);
  }
  return validateQuery<T>(validate, queryForValidation(req));
}

/** `limit` as a number: `fallback` when absent, at most MAX_LIMIT. */
export function pageLimit(raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const limit = Number(raw);
  if (limit > MAX_LIMIT)
    throw badRequest(`Invalid query string parameters: 'limit' may be at most ${MAX_LIMIT}. Got: ${raw}`);
  return limit;
}

export const markerUuid = (raw: string | undefined) => (raw === undefined ? undefined : canonicalUuid(raw));

export const seconds = (raw: string | undefined) => (raw === undefined ? undefined : Number(raw));

/** The marker a client sends for the next page, or null on the last one. */
export function nextMarker<T>(items: T[], limit: number, key: (item: T) => string): string | null {
  return items.length > limit ? key(items[limit - 1]) : null;
}
