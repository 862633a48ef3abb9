import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { STATUS_EXPLANATION } from '../errors/http-error';

/** Seconds a client is asked to wait while the service is still starting. */
const STARTING_RETRY_AFTER_SECONDS = 2;

/**
 * What the port answers between listening and serving (the database starting, migrations running):
 * alive, not ready, and 503 + Retry-After in Placement's error format for everything else. Plain
 * node:http, so it needs nothing the start is still building.
 */
export function answerWhileStarting(req: IncomingMessage, res: ServerResponse): void {
  const path = (req.url ?? '/').split('?')[0];
  const requestId = `req-${randomUUID()}`;
  res.setHeader('openstack-request-id', requestId);
  res.setHeader('x-openstack-request-id', requestId);
  if (path === '/healthz/live') return send(res, 200, { status: 'ok' });
  if (path === '/healthz/ready') return send(res, 503, { status: 'starting' });
  if (path === '/healthz') return send(res, 503, { status: 'unavailable', database: 'unreachable' });
  const [title, explanation] = STATUS_EXPLANATION[503];
  res.setHeader('retry-after', String(STARTING_RETRY_AFTER_SECONDS));
  const detail = `${explanation}\n\n The service is starting; retry shortly.  `;
  send(res, 503, { errors: [{ status: 503, title, detail, request_id: requestId }] });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.setHeader('content-length', Buffer.byteLength(text));
  res.end(text);
}
