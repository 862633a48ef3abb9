import type { Request } from 'express';

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
