import type { Request } from 'express';
import type { AuthContext } from '../http/context';
import { AuthRefused, headerToken, type AuthStrategy } from './strategy';

/**
 * Placement's noauth2, for development and tests only: any `X-Auth-Token` is accepted. The token `admin`
 * (or `admin:project`) has the admin role; `user[:project]` names the caller. `X-Roles`, `X-User-Id` and
 * `X-Project-Id` override what the token implies; `OpenStack-System-Scope` makes the token system-scoped.
 */
export function noauth2Strategy(): AuthStrategy {
  return {
    name: 'noauth2',
    async authenticate(req) {
      const token = headerToken(req, 'x-auth-token');
      if (token === undefined) throw new AuthRefused('missing_token');
      return authFromHeaders(token, req);
    },
  };
}

function authFromHeaders(token: string, req: Request): AuthContext {
  // `user[:project]`, split at the first colon as Placement's noauth does.
  const colon = token.indexOf(':');
  const tokenUser = colon < 0 ? token : token.slice(0, colon);
  const tokenProject = colon < 0 ? '' : token.slice(colon + 1);
  const header = (name: string) => headerToken(req, name);
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
