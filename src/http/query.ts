import type { NextFunction, Request, Response } from 'express';
import { badRequest } from '../errors/http-error';
import { percentDecodeUtf8 } from './utf8';

type ParsedQuery = Record<string, string | string[]>;

/**
 * The query string as Express hands it to handlers: every key, each repeated key as an array, a key
 * without `=` as ''. Unlike Node's querystring (Express's 'simple' parser) there is no 1000-key cut:
 * a parameter past it would silently vanish (a `required=!TRAIT` after 999 others was ignored), so
 * the number is bounded by `checkQuery` instead, with a 400.
 */
export function parseQuery(text: string | null | undefined): ParsedQuery {
  const query: ParsedQuery = Object.create(null);
  for (const [key, value] of queryPairs(text ?? '')) {
    const existing = query[key];
    if (existing === undefined) query[key] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else query[key] = [existing, value];
  }
  return query;
}

function queryPairs(text: string): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (const piece of text.split('&')) {
    if (piece === '') continue;
    const at = piece.indexOf('=');
    const rawKey = at < 0 ? piece : piece.slice(0, at);
    const rawValue = at < 0 ? '' : piece.slice(at + 1);
    // checkQuery has refused undecodable text before any handler reads the query.
    pairs.push([percentDecodeUtf8(rawKey, true) ?? rawKey, percentDecodeUtf8(rawValue, true) ?? rawValue]);
  }
  return pairs;
}

/** The request's query string, without the `?`. */
const rawQuery = (req: Request) => {
  const at = req.url.indexOf('?');
  return at < 0 ? '' : req.url.slice(at + 1);
};

/**
 * Refuse, before anything reads it, a query string with more parameters than EMPLACE_MAX_QUERY_PARAMETERS
 * or that is not UTF-8 once percent-decoded: both would otherwise change the meaning of the request.
 */
export function checkQuery(maxParameters: number) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    const text = rawQuery(req);
    let count = 0;
    for (const piece of text.split('&')) {
      if (piece === '') continue;
      if (++count > maxParameters)
        throw badRequest(`Invalid query string parameters: more than ${maxParameters} parameters.`);
      const at = piece.indexOf('=');
      const parts = at < 0 ? [piece] : [piece.slice(0, at), piece.slice(at + 1)];
      if (parts.some((part) => percentDecodeUtf8(part, true) === undefined))
        throw badRequest('Invalid query string parameters: the query string is not valid UTF-8.');
    }
    next();
  };
}

/** Every value of a query key, in order; repeated keys are never silently collapsed. */
export function getAll(req: Request, key: string): string[] {
  const value = (req.query as Record<string, unknown>)[key];
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

/** All query keys with all their values. */
export function queryEntries(req: Request): Map<string, string[]> {
  const entries = new Map<string, string[]>();
  for (const key of Object.keys(req.query as Record<string, unknown>)) entries.set(key, getAll(req, key));
  return entries;
}

/**
 * The query as a plain object for schema validation, as Placement validates `dict(req.GET)`:
 * one value per key, the last one when a key repeats.
 */
export function queryForValidation(req: Request): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [key, values] of queryEntries(req)) flat[key] = values[values.length - 1];
  return flat;
}

/** The last value of a query key, as Placement's `req.GET.get` answers; undefined when absent. */
export function lastQueryValue(req: Request, key: string): string | undefined {
  return getAll(req, key).at(-1);
}
