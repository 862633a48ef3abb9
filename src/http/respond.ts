import type { Request, Response } from 'express';
import { CACHE_HEADERS } from '../microversion/versions';

/** An empty inventory list: Placement then sends cache-control but no last-modified (it has no row to take it from). */
export const NO_LAST_MODIFIED = Symbol('no last-modified');

/**
 * Send a JSON body. From 1.15 Placement adds `last-modified` (the newest change among what is shown;
 * now, when nothing says otherwise) and `cache-control: no-cache` to GET-style responses.
 */
export function sendJson(
  req: Request,
  res: Response,
  status: number,
  body: unknown,
  lastModified?: Date | null | typeof NO_LAST_MODIFIED,
): void {
  if (lastModified !== undefined) setCacheHeaders(req, res, lastModified);
  writeJson(res, status, body);
}

/**
 * sendJson for a body already serialised in parts (by a handler that yields the event loop between
 * them): the parts are written as they are, so no single step copies the whole body.
 */
export function sendJsonParts(
  req: Request,
  res: Response,
  status: number,
  parts: Buffer[],
  lastModified?: Date | null | typeof NO_LAST_MODIFIED,
): void {
  if (lastModified !== undefined) setCacheHeaders(req, res, lastModified);
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.setHeader(
    'content-length',
    parts.reduce((sum, part) => sum + part.length, 0),
  );
  for (const part of parts) res.write(part);
  res.end();
}

/** From 1.15: `last-modified` (now, when null) and `cache-control: no-cache`, also for bodiless answers (204). */
export function setCacheHeaders(
  req: Request,
  res: Response,
  lastModified: Date | null | typeof NO_LAST_MODIFIED,
): void {
  if (!req.mv.has(CACHE_HEADERS)) return;
  if (lastModified !== NO_LAST_MODIFIED) res.setHeader('last-modified', (lastModified ?? new Date()).toUTCString());
  res.setHeader('cache-control', 'no-cache');
}

/** Placement sends exactly `application/json` (no charset parameter); clients compare the header. */
export function writeJson(res: Response, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.setHeader('content-length', Buffer.byteLength(text));
  res.end(text);
}

export function sendNoContent(res: Response): void {
  res.status(204).end();
}

/** The newest of several timestamps, for last-modified. */
export function newest(dates: Array<Date | null | undefined>): Date | null {
  let latest: Date | null = null;
  for (const date of dates) if (date && (!latest || date > latest)) latest = date;
  return latest;
}
