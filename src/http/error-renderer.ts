import type { NextFunction, Request, Response } from 'express';
import { DEFAULT } from '../errors/codes';
import { HttpError, STATUS_EXPLANATION } from '../errors/http-error';
import { ERROR_CODES } from '../microversion/versions';
import { MAX_VERSION, MIN_VERSION } from '../microversion/versions';

/**
 * The only place an error becomes a response: `{"errors": [{status, title, detail, request_id, code}]}`,
 * `code` from 1.23 as Placement. Anything that is not an HttpError is a bug: 500, logged with its stack.
 */
export function renderError(error: unknown, req: Request, res: Response, _next: NextFunction): void {
  const httpError = error instanceof HttpError ? error : undefined;
  const status = httpError?.status ?? 500;
  if (!httpError) req.deps?.logger.error({ err: error, requestId: req.requestId }, 'unhandled error');
  const [title, explanation] = STATUS_EXPLANATION[status] ?? [`Error ${status}`, ''];
  const message = httpError?.message ?? 'An unexpected error occurred; it has been logged.';
  const entry: Record<string, unknown> = {
    status,
    title,
    detail: `${explanation.replace('%METHOD%', req.method)}\n\n ${message}  `,
    request_id: req.requestId,
  };
  if (req.mv?.has(ERROR_CODES)) entry.code = httpError?.code ?? DEFAULT;
  // A failed negotiation tells the client which versions it may ask for.
  if (status === 406 && message.startsWith('Unacceptable version header')) {
    entry.max_version = MAX_VERSION;
    entry.min_version = MIN_VERSION;
  }
  for (const [name, value] of Object.entries(httpError?.headers ?? {})) res.setHeader(name, value);
  if (res.headersSent) return;
  res.status(status).json({ errors: [entry] });
}
