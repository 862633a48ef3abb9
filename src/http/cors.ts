import type { NextFunction, Request, Response } from 'express';

export interface CorsOptions {
  allowedOrigins: string[];
  allowHeaders: string[];
  exposeHeaders: string[];
}

const ALLOWED_METHODS = ['GET', 'PUT', 'POST', 'DELETE', 'PATCH'];

/**
 * CORS as Placement's oslo middleware does it, off unless origins are configured. A preflight
 * (OPTIONS with an Origin and Access-Control-Request-Method) is answered here with 200; the allow
 * headers appear only for an allowed origin. Other requests from an allowed origin get the origin echoed.
 */
export function cors(options: CorsOptions) {
  const origins = new Set(options.allowedOrigins);
  const allowHeaders = new Set(options.allowHeaders.map((header) => header.toLowerCase()));
  return (req: Request, res: Response, next: NextFunction): void => {
    const origin = req.headers.origin;
    if (origins.size === 0 || typeof origin !== 'string') return next();
    const allowed = origins.has(origin) || origins.has('*');
    const requestedMethod = req.headers['access-control-request-method'];
    if (req.method === 'OPTIONS' && typeof requestedMethod === 'string') {
      const requestedHeaders = String(req.headers['access-control-request-headers'] ?? '')
        .split(',')
        .map((header) => header.trim().toLowerCase())
        .filter(Boolean);
      const headersOk = requestedHeaders.every((header) => allowHeaders.has(header));
      if (allowed && headersOk && ALLOWED_METHODS.includes(requestedMethod.toUpperCase())) {
        res.setHeader('access-control-allow-origin', origin);
        res.setHeader('access-control-allow-methods', requestedMethod.toUpperCase());
        if (requestedHeaders.length) res.setHeader('access-control-allow-headers', requestedHeaders.join(','));
        res.setHeader('vary', 'Origin');
      }
      res.status(200).end();
      return;
    }
    if (allowed) {
      res.setHeader('access-control-allow-origin', origin);
      if (options.exposeHeaders.length) res.setHeader('access-control-expose-headers', options.exposeHeaders.join(','));
      res.vary('Origin');
    }
    next();
  };
}
