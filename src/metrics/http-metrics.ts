import type { NextFunction, Request, Response } from 'express';
import { httpDuration, httpRequests } from './metrics';

/** The label for requests no route matched: one series, whatever the URL was. */
export const UNMATCHED_ROUTE = 'unmatched';

/** Count and time each request once its response finishes, labelled by the route table's template. */
export function httpMetrics(req: Request, res: Response, next: NextFunction): void {
  const started = process.hrtime.bigint();
  res.on('finish', () => {
    const route = req.routeTemplate ?? UNMATCHED_ROUTE;
    const status = String(res.statusCode);
    httpRequests.inc({ route, method: req.method, status, microversion: req.mv?.toString() ?? 'none' });
    httpDuration.observe({ route, method: req.method, status }, Number(process.hrtime.bigint() - started) / 1e9);
  });
  next();
}
