import type { Request, Response } from 'express';

/** GET /healthz: for load balancers; 200 when the database answers, 503 when it does not. */
export async function healthz(req: Request, res: Response): Promise<void> {
  try {
    await req.deps.db.raw('SELECT 1');
    res.json({ status: 'ok', database: 'reachable' });
  } catch {
    res.status(503).json({ status: 'unavailable', database: 'unreachable' });
  }
}
