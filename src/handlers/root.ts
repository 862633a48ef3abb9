import type { Request, Response } from 'express';
import type { Schemas } from '../../api/types';
import { MAX_VERSION, MIN_VERSION } from '../microversion/versions';

/** GET /: the version document clients use for discovery; served without a token. */
export async function home(_req: Request, res: Response): Promise<void> {
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
  res.json(document);
}
