import type { NextFunction, Request, Response } from 'express';
import { HttpError } from '../errors/http-error';
import { countAuthFailure } from '../metrics/metrics';
import type { AuthContext } from './context';

/** Paths served without a token, as Placement serves its root for version discovery. */
const PUBLIC_PATHS = new Set(['/', '', '/healthz']);

/**
 * Placement's noauth2 strategy: any `X-Auth-Token` is accepted. The token `admin` (or `admin:project`)
 * has the admin role; `user[:project]` names the caller. `X-Roles`, `X-User-Id` and `X-Project-Id`
 * override what the token implies. `OpenStack-System-Scope` makes the token system-scoped, with no
 * project from the token. Authentication only: the policy layer decides what the caller may do.
 * A keystone strategy would replace only this function.
 */
export function noAuth(req: Request, _res: Response, next: NextFunction): void {
  if (PUBLIC_PATHS.has(req.path)) return next();
  const token = req.headers['x-auth-token'];
  if (typeof token !== 'string' || token === '') {
    countAuthFailure('missing_token');
    throw new HttpError(401, 'The request you have made requires authentication.');
  }
  req.auth = authFromHeaders(token, req);
  next();
}

function authFromHeaders(token: string, req: Request): AuthContext {
  // `user[:project]`, split at the first colon as Placement's noauth does.
  const colon = token.indexOf(':');
  const tokenUser = colon < 0 ? token : token.slice(0, colon);
  const tokenProject = colon < 0 ? '' : token.slice(colon + 1);
  const header = (name: string) => {
    const value = req.headers[name];
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  // A present X-Roles, even empty, replaces the token's roles, as in Placement's noauth.
  const rolesHeader = req.headers['x-roles'];
  const roles =
    typeof rolesHeader === 'string'
      ? rolesHeader
          .split(',')
          .map((role) => role.trim())
          .filter(Boolean)
      : tokenUser === 'admin'
        ? ['admin']
        : [];
  const systemScope = header('openstack-system-scope');
  return {
    userId: header('x-user-id') ?? tokenUser,
    projectId: header('x-project-id') ?? (systemScope ? undefined : tokenProject || tokenUser),
    roles,
    systemScope,
  };
}
