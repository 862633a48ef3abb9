import type { Request, Response } from 'express';
import { databaseReachable } from '../db/knex';
import { writeJson } from '../http/respond';

/** GET /healthz: for load balancers; 200 when the database answers, 503 when it does not. */
export async function healthz(req: Request, res: Response): Promise<void> {
  if (await databaseReachable(req.deps.db)) writeJson(res, 200, { status: 'ok', database: 'reachable' });
  else writeJson(res, 503, { status: 'unavailable', database: 'unreachable' });
}
