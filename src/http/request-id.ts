import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { globalRequestId } from './access-log';

/**
 * Every response carries the request id under both names Placement clients look for. An incoming
 * X-OpenStack-Request-ID (nova sends its own) is kept as the global request id, so one nova request can be
 * followed into Emplace's log; it never replaces Emplace's own id.
 */
export function requestId(req: Request, res: Response, next: NextFunction): void {
  req.requestId = `req-${randomUUID()}`;
  req.globalRequestId = globalRequestId(req);
  res.setHeader('openstack-request-id', req.requestId);
  res.setHeader('x-openstack-request-id', req.requestId);
  next();
}
