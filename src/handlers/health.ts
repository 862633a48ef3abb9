import type { Request, Response } from 'express';
import { databaseReachable, type Db } from '../db/knex';
import { migrationStatus } from '../db/migrate';
import { writeJson } from '../http/respond';

/** Every probe answers within this, whatever the database does (a hung server is "unreachable"). */
const PROBE_BUDGET_MS = 900;

/** GET /healthz: for load balancers; 200 when the database answers, 503 when it does not. */
export async function healthz(req: Request, res: Response): Promise<void> {
  if (await databaseReachable(req.deps.db, PROBE_BUDGET_MS))
    writeJson(res, 200, { status: 'ok', database: 'reachable' });
  else writeJson(res, 503, { status: 'unavailable', database: 'unreachable' });
}

/** GET /healthz/live: the process answers; the database is not asked (restarting us would not fix it). */
export async function healthzLive(_req: Request, res: Response): Promise<void> {
  writeJson(res, 200, { status: 'ok' });
}

/**
 * GET /healthz/ready: send traffic here? Only when this process is serving (not starting, not
 * draining after SIGTERM), the database answers, and it has every migration this version needs.
 */
export async function healthzReady(req: Request, res: Response): Promise<void> {
  const phase = req.deps.phase?.() ?? 'serving';
  if (phase !== 'serving') {
    writeJson(res, 503, { status: phase });
    return;
  }
  const started = Date.now();
  if (!(await databaseReachable(req.deps.db, PROBE_BUDGET_MS))) {
    writeJson(res, 503, { status: 'unavailable', database: 'unreachable' });
    return;
  }
  const migrated = await isMigrated(req.deps.db, PROBE_BUDGET_MS - (Date.now() - started));
  if (migrated) writeJson(res, 200, { status: 'ok', database: 'reachable', migrations: 'current' });
  else writeJson(res, 503, { status: 'unavailable', database: 'reachable', migrations: 'pending' });
}

/** Migrations only move forward, so once current a pool stays current; asked until then. */
const migratedPools = new WeakSet<Db>();

async function isMigrated(db: Db, withinMs: number): Promise<boolean> {
  if (migratedPools.has(db)) return true;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), Math.max(withinMs, 1))));
  const check = migrationStatus(db).then(
    (status) => status.pending.length === 0,
    () => false,
  );
  try {
    const migrated = await Promise.race([check, late]);
    if (migrated) migratedPools.add(db);
    return migrated;
  } finally {
    clearTimeout(timer);
  }
}
