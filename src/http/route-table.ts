import type { NextFunction, Request, Response } from 'express';
import { HttpError } from '../errors/http-error';
import type { Microversion } from '../microversion/microversion';
import type { Target } from '../policy/check-string';
import type { PolicyName } from '../policy/rules';
import { authorize } from './authorize';
import { parseJsonBody } from './json-body';
import { rejectNulInput } from './nul-input';
import type { PathParams } from './path-params';
import { percentDecodeUtf8 } from './utf8';

export type Handler = (req: Request, res: Response) => Promise<void>;

/** Served to anyone (version discovery, health), as Placement serves its root. */
export const PUBLIC = 'public';

export interface RouteMethod {
  handler: Handler;
  /** The Placement policy the caller must pass, checked before the body is read; PUBLIC for none. */
  policy: PolicyName | typeof PUBLIC;
  /** The policy target when it depends on the request (default: the caller's own project and user). */
  policyTarget?: (req: Request) => Target;
  /** First microversion the method exists at; earlier requests get `tooEarlyStatus`. */
  since?: string;
  /** Placement answers 404 for most not-yet-existing methods, 405 for a few. */
  tooEarlyStatus?: 404 | 405;
  /** Served whatever the client's Accept says (Placement checks Accept on its API reads, not on `/`). */
  ignoresAccept?: boolean;
  /** Whether the request carries a JSON body (415 for other content types, then parsed). */
  takesBody?: boolean | ((mv: Microversion) => boolean);
  /** The media type the method answers with, checked against Accept (default JSON). */
  produces?: string;
  /** The kind of each path segment and the route's answer when one is not of it (see path-params.ts). */
  params?: PathParams;
}

export type HttpMethod = 'GET' | 'PUT' | 'POST' | 'DELETE' | 'PATCH';
export type RouteTable = Record<string, Partial<Record<HttpMethod, RouteMethod>>>;

interface CompiledRoute {
  path: string;
  pattern: RegExp;
  paramNames: string[];
  methods: Partial<Record<HttpMethod, RouteMethod>>;
  allow: string;
}

const JSON_TYPE = 'application/json';

/**
 * Turn the route table into one Express handler: 404 for unknown paths, 405 with `Allow` for known
 * paths and unknown methods, 406 when the client will not accept JSON, 415 for a non-JSON body.
 */
export function dispatcher(table: RouteTable) {
  const routes = Object.entries(table).map(([path, methods]) => compile(path, methods));
  return async (req: Request, res: Response, _next: NextFunction): Promise<void> => {
    const match = findRoute(routes, req.path);
    if (!match) throw new HttpError(404, `The resource could not be found.`);
    const { route, params } = match;
    req.routeTemplate = route.path;
    const method = route.methods[req.method as HttpMethod];
    if (!method) throw methodNotAllowed(req.method, route.allow);
    if (method.since && !req.mv.has(method.since)) {
      if ((method.tooEarlyStatus ?? 404) === 405) throw methodNotAllowed(req.method, route.allow);
      throw new HttpError(404, 'The resource could not be found.');
    }
    // Placement checks Accept on reads only; a write with a bad body is still a 400.
    const produces = method.produces ?? JSON_TYPE;
    if (req.method === 'GET' && !method.ignoresAccept && req.headers.accept && !req.accepts(produces))
      throw new HttpError(406, `Only ${produces} is provided`);
    const takesBody = typeof method.takesBody === 'function' ? method.takesBody(req.mv) : method.takesBody;
    if (takesBody) requireJsonContent(req);
    Object.defineProperty(req, 'params', { value: params, configurable: true, writable: true });
    // As in Placement: 404/405/406/415 first, then policy, and only then is the body read (403 before 400).
    if (method.policy !== PUBLIC) authorize(req, method.policy, method.policyTarget?.(req));
    if (takesBody) req.json = parseJsonBody(req);
    rejectNulInput(req);
    // Last, where the handler's own first lookup stood: a malformed segment loses to every check above.
    for (const [name, param] of Object.entries(method.params ?? {}))
      if (!param.accepts(params[name])) return param.malformed(req, res, params[name]);
    await method.handler(req, res);
  };
}

/**
 * Whether a path is served without a token: every method the route table declares for it is PUBLIC. The one
 * list of public paths; authentication asks this instead of keeping its own.
 */
export function publicPaths(table: RouteTable): (path: string) => boolean {
  const routes = Object.entries(table)
    .filter(([, methods]) => Object.values(methods).every((method) => method?.policy === PUBLIC))
    .map(([path, methods]) => compile(path, methods));
  return (path) => findRoute(routes, path) !== undefined;
}

function requireJsonContent(req: Request): void {
  const contentType = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (contentType !== JSON_TYPE)
    throw new HttpError(415, `The media type ${contentType || 'None'} is not supported, use ${JSON_TYPE}`);
}

function methodNotAllowed(method: string, allow: string): HttpError {
  return new HttpError(405, 'The method specified is not allowed for this resource.', undefined, { allow });
}

function compile(path: string, methods: Partial<Record<HttpMethod, RouteMethod>>): CompiledRoute {
  const paramNames: string[] = [];
  const source = path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{(\w+)\\?\}|\{(\w+)\}/g, (_m, a, b) => {
    paramNames.push(a ?? b);
    return '([^/]+)';
  });
  return { path, pattern: new RegExp(`^${source}$`), paramNames, methods, allow: Object.keys(methods).join(', ') };
}

function findRoute(routes: CompiledRoute[], path: string) {
  for (const route of routes) {
    const found = route.pattern.exec(path);
    if (!found) continue;
    const params: Record<string, string> = {};
    route.paramNames.forEach((name, i) => {
      params[name] = safeDecode(found[i + 1]);
    });
    return { route, params };
  }
  return undefined;
}

/** A path segment decoded; one that is not UTF-8 would name something else (U+FFFD), so it is refused. */
function safeDecode(segment: string): string {
  const decoded = percentDecodeUtf8(segment);
  if (decoded === undefined) throw new HttpError(400, 'Invalid path: it is not valid UTF-8.');
  return decoded;
}
