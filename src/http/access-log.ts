import type { NextFunction, Request, Response } from 'express';

/** One structured line per request, written when the response finishes. */
export function accessLog(req: Request, res: Response, next: NextFunction): void {
  const started = process.hrtime.bigint();
  res.on('finish', () => {
    const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
    req.deps.logger.info(
      {
        requestId: req.requestId,
        globalRequestId: req.globalRequestId,
        // Who, as authentication established it: ids only, never a token.
        userId: req.auth?.userId,
        projectId: req.auth?.projectId,
        method: req.method,
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
