import type { Request } from 'express';
import { badRequest } from '../errors/http-error';

/**
 * PostgreSQL text cannot hold U+0000: any query binding one fails with SQLSTATE 22021, whatever the
 * column. No stored name, uuid or id can contain it either, so a request carrying one is bad input
 * wherever it sits. Refuse it once, here, before any handler reaches the database (Placement on
 * PostgreSQL answers these with a 500).
 */
export function rejectNulInput(req: Request): void {
  if (Object.values(req.params as Record<string, string>).some(hasNul)) throw nulIn('path');
  for (const [key, value] of Object.entries(req.query as Record<string, unknown>)) {
    if (
      hasNul(key) ||
      (Array.isArray(value) ? value : [value]).some((item) => typeof item === 'string' && hasNul(item))
    ) {
      throw nulIn('query string');
    }
  }
  if (req.json !== undefined && jsonHasNul(req.json)) throw nulIn('JSON body');
}

const hasNul = (text: string) => text.includes('\u0000');

const nulIn = (where: string) =>
  badRequest(`Invalid input: the ${where} contains a NUL character (\\u0000), which cannot be stored.`);

/** Walks without recursion: a body may nest deeper than the stack. */
function jsonHasNul(root: unknown): boolean {
  const pending: unknown[] = [root];
  while (pending.length > 0) {
    const value = pending.pop();
    if (typeof value === 'string') {
      if (hasNul(value)) return true;
    } else if (Array.isArray(value)) {
      // A loop, not push(...value): a huge array would overflow the argument list.
      for (const item of value) pending.push(item);
    } else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) {
        if (hasNul(key)) return true;
        pending.push(item);
      }
    }
  }
  return false;
}
