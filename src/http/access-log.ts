import type { NextFunction, Request, Response } from 'express';

/** oslo.middleware's form of a request id; anything else in the header is not logged as one. */
const REQUEST_ID_FORM = /^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The caller's own request id (X-OpenStack-Request-ID sent by nova and others), which OpenStack logs as
 * the global request id to follow one operation across services. Checked so a header cannot forge log text.
 */
export function globalRequestId(req: Request): string | undefined {
  const value = req.headers['x-openstack-request-id'];
  return typeof value === 'string' && REQUEST_ID_FORM.test(value) ? value : undefined;
}

/** One structured line per request, written when the response finishes. */
export function accessLog(req: Request, res: Response, next: NextFunction): void {
  const started = process.hrtime.bigint();
  res.on('finish', () => {
    const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
    req.deps.logger.info(
      {
        requestId: req.requestId,
        globalRequestId: globalRequestId(req),
        userId: req.auth?.userId,
        projectId: req.auth?.projectId,
        method: req.method,
        route: req.routeTemplate,
        path: req.originalUrl,
        status: res.statusCode,
        microversion: req.mv?.toString(),
        durationMs: Math.round(durationMs * 100) / 100,
      },
      'request',
    );
  });
  next();
}
