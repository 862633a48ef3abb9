import type { NextFunction, Request, Response } from 'express';
import { HttpError } from '../errors/http-error';
import { decodeUtf8, describeUtf8Error } from './utf8';

/**
 * Read the raw body ourselves so every failure is Placement-shaped: a body with no content type is
 * 400, an oversized body 413, and malformed JSON 400 `Malformed JSON: ...`. Content-type checks that
 * depend on the route (415) happen in the dispatcher, which knows whether the route takes a body.
 */
export function readBody(limitBytes: number) {
  return async (req: Request, _res: Response, next: NextFunction): Promise<void> => {
    req.json = undefined;
    const length = req.headers['content-length'];
    if (length !== undefined && !/^\d+$/.test(length))
      throw new HttpError(400, 'content-length header must be an integer');
    if (length !== undefined && Number(length) > limitBytes)
      throw new HttpError(413, `Request body is larger than ${limitBytes} bytes.`);
    const raw = await collect(req, limitBytes);
    if (raw.length > 0 && !req.headers['content-type']) {
      throw new HttpError(400, 'content-type header required when content-length > 0');
    }
    (req as Request & { rawBody: Buffer }).rawBody = raw;
    next();
  };
}

/**
 * No Placement body nests deeper than 8 levels; 100 leaves ample headroom. Far deeper bodies would
 * overflow the stack in the recursive walks that word validation errors (python-style repr, pprint):
 * a 500 where Placement (whose json.loads gives up near Python's recursion limit) also fails.
 * Refuse them as malformed instead.
 */
export const MAX_JSON_DEPTH = 100;

export function parseJsonBody(req: Request): unknown {
  const raw = (req as Request & { rawBody?: Buffer }).rawBody;
  if (!raw || raw.length === 0) throw new HttpError(400, 'Malformed JSON: Expecting value: line 1 column 1 (char 0)');
  // Python's json.loads refuses undecodable bytes (Placement: 400 Malformed JSON); Node would read U+FFFD.
  const text = decodeUtf8(raw);
  if (text === undefined) throw new HttpError(400, `Malformed JSON: ${describeUtf8Error(raw)}`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, `Malformed JSON: ${(error as Error).message}`);
  }
  if (exceedsDepth(body, MAX_JSON_DEPTH))
    throw new HttpError(400, `Malformed JSON: nested deeper than ${MAX_JSON_DEPTH} levels`);
  return body;
}

/** Iterative, so measuring a deep body cannot itself overflow the stack. */
function exceedsDepth(root: unknown, limit: number): boolean {
  const pending: Array<[unknown, number]> = [[root, 0]];
  while (pending.length > 0) {
    const [value, depth] = pending.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (depth >= limit) return true;
    for (const item of Object.values(value)) pending.push([item, depth + 1]);
  }
  return false;
}

async function collect(req: Request, limitBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > limitBytes) throw new HttpError(413, `Request body is larger than ${limitBytes} bytes.`);
      chunks.push(chunk as Buffer);
    }
  } catch (error) {
    if (error instanceof HttpError) throw error;
    // The client went away, or was cut off (408) before its body arrived: nobody is left to answer.
    throw new HttpError(400, 'The request body was not received completely.');
  }
  return Buffer.concat(chunks);
}
