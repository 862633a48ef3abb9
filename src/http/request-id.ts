import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

/** oslo.middleware's request_id: a caller's id is taken as the global request id only in this shape. */
const GLOBAL_REQUEST_ID = /^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Every response carries the request id under both names Placement clients look for. An incoming
 * X-OpenStack-Request-ID (nova sends its own) is kept as the global request id, so one nova request can be
 * followed into Emplace's log; it never replaces Emplace's own id.
 */
export function requestId(req: Request, res: Response, next: NextFunction): void {
  req.requestId = `req-${randomUUID()}`;
  const incoming = req.headers['x-openstack-request-id'];
  if (typeof incoming === 'string' && GLOBAL_REQUEST_ID.test(incoming)) req.globalRequestId = incoming;
  res.setHeader('openstack-request-id', req.requestId);
  res.setHeader('x-openstack-request-id', req.requestId);
  next();
}
