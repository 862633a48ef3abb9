import type { Request, Response } from 'express';
import type { Schemas } from '../../api/types';
import { sendJson } from '../http/respond';
import { MAX_VERSION, MIN_VERSION } from '../microversion/versions';

/** GET /: the version document clients use for discovery; served without a token. */
export async function home(req: Request, res: Response): Promise<void> {
  const document: Schemas['VersionDocument'] = {
    versions: [
      {
        id: 'v1.0',
        max_version: MAX_VERSION,
        min_version: MIN_VERSION,
        status: 'CURRENT',
        links: [{ rel: 'self', href: '' }],
      },
    ],
  };
  // Like every GET from 1.15, the version document says it is not cacheable.
  sendJson(req, res, 200, document, null);
}
