import type { NextFunction, Request, Response } from 'express';
import { HttpError } from '../errors/http-error';

/**
 * EMPLACE_PATH_PREFIX: served under `/placement` (as devstack does), a request's prefix is taken off before
 * routing and put back in links and Location headers (src/http/paths.ts). Outside the prefix there is nothing.
 */
export function stripPathPrefix(prefix: string) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    if (prefix === '') return next();
    const rest = req.url.slice(prefix.length);
    if (!req.url.startsWith(prefix) || !(rest === '' || rest.startsWith('/') || rest.startsWith('?')))
      throw new HttpError(404, 'The resource could not be found.');
    req.url = rest.startsWith('/') ? rest : `/${rest}`;
    req.pathPrefix = prefix;
    next();
  };
}

/**
 * RFC 7239 `Forwarded: proto=https;host=...` from a trusted proxy (Express reads only X-Forwarded-*): the
 * nearest element wins, as X-Forwarded-Proto's last value does. Express's `trust proxy` decides trust.
 */
export function honourForwarded(req: Request, _res: Response, next: NextFunction): void {
  const header = req.headers.forwarded;
  const trust = req.app.get('trust proxy fn') as (address: string, hop: number) => boolean;
  if (typeof header !== 'string' || !trust(req.socket.remoteAddress ?? '', 0)) return next();
  const nearest = header.split(',').pop()!;
  for (const pair of nearest.split(';')) {
    const [key, raw] = pair.split('=').map((part) => part?.trim());
    const value = raw?.replace(/^"|"$/g, '');
    if (!value) continue;
    if (key.toLowerCase() === 'proto' && /^https?$/i.test(value))
      Object.defineProperty(req, 'protocol', { value: value.toLowerCase(), configurable: true });
    if (key.toLowerCase() === 'host' && /^[\w.:[\]-]+$/.test(value))
      Object.defineProperty(req, 'host', { value, configurable: true });
  }
  next();
}
