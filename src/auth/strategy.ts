import type { Request } from 'express';
import { HttpError } from '../errors/http-error';
import type { AuthContext } from '../http/context';
import type { AuthStrategyName } from './settings';

/**
 * One way of telling who is calling. The HTTP middleware (src/http/auth.ts) runs the one configured;
 * the policy layer then decides what the caller may do.
 */
export interface AuthStrategy {
  readonly name: AuthStrategyName;
  /** The caller the request's credentials name. Throws AuthRefused (401) or HttpError 503 (cannot tell now). */
  authenticate(req: Request): Promise<AuthContext>;
  /** SIGHUP: re-read whatever the strategy reads from files; the old state serves until the new one is ready. */
  reload?(): Promise<void>;
}

export const AUTH_REQUIRED = 'The request you have made requires authentication.';

/** A 401: the credentials are missing or wrong. `reason` is counted (src/auth/failures.ts), never shown. */
export class AuthRefused extends HttpError {
  constructor(
    readonly reason: string,
    headers: Record<string, string> = {},
  ) {
    super(401, AUTH_REQUIRED, undefined, headers);
  }
}

/** The one header value a strategy reads its token from; a repeated or empty header is no token. */
export function headerToken(req: Request, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}
