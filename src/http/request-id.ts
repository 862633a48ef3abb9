import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

/** Every response carries the request id under both names Placement clients look for. */
export function requestId(req: Request, res: Response, next: NextFunction): void {
  req.requestId = `req-${randomUUID()}`;
  res.setHeader('openstack-request-id', req.requestId);
  res.setHeader('x-openstack-request-id', req.requestId);
  next();
}
