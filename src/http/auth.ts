import type { NextFunction, Request, Response } from 'express';
import { recordAuthFailure } from '../auth/failures';
import { AuthFailureLimiter } from '../auth/rate-limit';
import { AuthRefused, type AuthStrategy } from '../auth/strategy';
import type { Config } from '../config';
import { publicPaths, type RouteTable } from './route-table';

/**
 * Authentication: public routes (the route table says which) pass; every other request goes through the
 * configured strategy, which sets req.auth or refuses. Failures are counted and limited per client address.
 */
export function authenticate(strategy: AuthStrategy, table: RouteTable, config: Config) {
  const isPublic = publicPaths(table);
  const { authFailureLimit, authFailureWindowSeconds } = config.identity;
  const limiter = new AuthFailureLimiter(authFailureLimit, authFailureWindowSeconds * 1000);
  return async (req: Request, _res: Response, next: NextFunction): Promise<void> => {
    if (isPublic(req.path)) return next();
    const client = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    try {
      limiter.check(client);
    } catch (error) {
      recordAuthFailure('rate_limited');
      throw error;
    }
    try {
      req.auth = await strategy.authenticate(req);
    } catch (error) {
      if (error instanceof AuthRefused) {
        recordAuthFailure(error.reason);
        limiter.fail(client);
      }
      throw error;
    }
    next();
  };
}
