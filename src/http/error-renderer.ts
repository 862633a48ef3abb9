import type { NextFunction, Request, Response } from 'express';
import { CONCURRENT_UPDATE, DEFAULT } from '../errors/codes';
import { DomainError } from '../errors/domain';
import { HttpError, STATUS_EXPLANATION } from '../errors/http-error';
import { httpErrorFromDatabase } from '../errors/pg-errors';
import { httpErrorFromDomain } from './domain-errors';
import { ERROR_CODES, MAX_VERSION, MIN_VERSION } from '../microversion/versions';
import { abandonedRequests, concurrentUpdateConflicts } from '../metrics/metrics';
import { ClientHungUp } from './hang-up';
import { UNMATCHED_ROUTE } from '../metrics/http-metrics';
import { writeJson } from './respond';

/**
 * The only place an error becomes a response: `{"errors": [{status, title, detail, request_id, code}]}`,
 * `code` from 1.23 as Placement. Domain errors no handler family worded get Placement's common wording
 * (src/http/domain-errors.ts); anything else that is not an HttpError is a bug: 500, logged with its stack.
 */
export function renderError(error: unknown, req: Request, res: Response, _next: NextFunction): void {
  if (error instanceof ClientHungUp) {
    // Work stopped because nobody waits for its answer: not a fault, and there is no one to write to.
    abandonedRequests.inc({ route: req.routeTemplate ?? UNMATCHED_ROUTE, method: req.method });
    req.deps?.logger.debug({ requestId: req.requestId }, 'client hung up; work stopped');
    return;
  }
  const httpError =
    error instanceof HttpError
      ? error
      : error instanceof DomainError
        ? httpErrorFromDomain(error)
        : httpErrorFromDatabase(error);
  const status = httpError?.status ?? 500;
  if (!httpError) req.deps?.logger.error({ err: error, requestId: req.requestId }, 'unhandled error');
  // A mapped database error means a repo missed a check; worth seeing, not worth a 500.
  else if (!(error instanceof HttpError) && !(error instanceof DomainError))
    req.deps?.logger.warn({ err: error, requestId: req.requestId }, 'database error mapped to HTTP');
  if (httpError?.code === CONCURRENT_UPDATE)
    concurrentUpdateConflicts.inc({ route: req.routeTemplate ?? UNMATCHED_ROUTE, method: req.method });
  const [title, explanation] = STATUS_EXPLANATION[status] ?? [`Error ${status}`, ''];
  const message = httpError?.message ?? 'An unexpected error occurred; it has been logged.';
  const detail = `${explanation.replace('%METHOD%', req.method)}\n\n ${message}  `;
  if (res.headersSent) return;
  for (const [name, value] of Object.entries(httpError?.headers ?? {})) res.setHeader(name, value);
  const format = errorFormat(req);
  if (format !== 'json') {
    renderText(res, format, status, title, detail);
    return;
  }
  const entry: Record<string, unknown> = { status, title, detail, request_id: req.requestId };
  if (req.mv?.has(ERROR_CODES)) entry.code = httpError?.code ?? DEFAULT;
  // A failed negotiation tells the client which versions it may ask for.
  if (status === 406 && message.startsWith('Unacceptable version header')) {
    entry.max_version = MAX_VERSION;
    entry.min_version = MIN_VERSION;
  }
  writeJson(res, status, { errors: [entry] });
}

/**
 * webob, which writes Placement's errors, offers HTML and JSON by the client's Accept and falls back to
 * plain text when it accepts neither (so a 406 to `Accept: text/plain` is itself text/plain). We keep
 * JSON first whenever it is acceptable.
 */
function errorFormat(req: Request): 'json' | 'html' | 'plain' {
  if (!req.headers.accept || req.accepts('application/json')) return 'json';
  return req.accepts('text/html') ? 'html' : 'plain';
}

function renderText(res: Response, format: 'html' | 'plain', status: number, title: string, detail: string): void {
  const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const body =
    format === 'plain'
      ? `${status} ${title}\n\n${detail}`
      : `<html>\n <head>\n  <title>${status} ${escape(title)}</title>\n </head>\n <body>\n  <h1>${status} ${escape(title)}</h1>\n  ${escape(detail).replace(/\n\n/, '<br /><br />\n')}\n </body>\n</html>`;
  res.statusCode = status;
  res.setHeader('content-type', `text/${format}; charset=UTF-8`);
  res.end(body);
}
