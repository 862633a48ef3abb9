import type { Request, Response } from 'express';
import { writeJson } from '../http/respond';

/** GET /healthz: for load balancers; 200 when the database answers, 503 when it does not. */
export async function healthz(req: Request, res: Response): Promise<void> {
  try {
    await req.deps.db.raw('SELECT 1');
    writeJson(res, 200, { status: 'ok', database: 'reachable' });
  } catch {
    writeJson(res, 503, { status: 'unavailable', database: 'unreachable' });
  }
}
