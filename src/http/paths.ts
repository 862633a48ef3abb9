import type { Request } from 'express';

/** An absolute URL for a Location header, as webob makes Placement's relative locations absolute. */
export function absoluteUrl(req: Request, path: string): string {
  return `${req.protocol}://${req.host ?? 'localhost'}${underPrefix(req, path)}`;
}

/** A path as the client sees it: behind EMPLACE_PATH_PREFIX, as Placement puts SCRIPT_NAME before its links. */
export function underPrefix(req: Request, path: string): string {
  return `${req.pathPrefix ?? ''}${path}`;
}

/** A path segment as it appears in a URL. */
export const segment = (value: string) => encodeURIComponent(value);

/** A path parameter the route table captured (always one decoded segment). */
export function pathParam(req: Request, name: string): string {
  return String((req.params as Record<string, unknown>)[name]);
}
