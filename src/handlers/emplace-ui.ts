import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Request, Response } from 'express';
import { notFound } from '../errors/http-error';
import { pathParam } from '../http/paths';

/**
 * The capacity page (/emplace/ui/): static files, public because they hold no data; the page's script
 * asks /emplace/capacity with the token the user types, through authentication and policy like any
 * client. Only the files listed here are served: a path segment never reaches the file system.
 * `npm run build` copies src/ui next to the compiled handlers (dist/src/ui).
 */
const UI_DIR = path.join(__dirname, '..', 'ui');

const FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
};

/** The page loads only its own script and style and talks only to its own origin; nobody may frame it. */
const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

async function sendFile(res: Response, name: string): Promise<void> {
  const body = await readFile(path.join(UI_DIR, name));
  res.statusCode = 200;
  for (const [header, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(header, value);
  res.setHeader('content-type', FILES[name]);
  res.setHeader('content-length', body.length);
  res.end(body);
}

/** GET /emplace/ui: the page lives at the directory URL, so its relative links resolve. */
export async function redirectToPage(_req: Request, res: Response): Promise<void> {
  res.statusCode = 301;
  res.setHeader('location', 'ui/');
  res.end();
}

/** GET /emplace/ui/ */
export async function showPage(_req: Request, res: Response): Promise<void> {
  await sendFile(res, 'index.html');
}

/** GET /emplace/ui/{name}: one of the page's files. */
export async function showAsset(req: Request, res: Response): Promise<void> {
  const name = pathParam(req, 'name');
  if (!Object.hasOwn(FILES, name)) throw notFound('The resource could not be found.');
  await sendFile(res, name);
}
