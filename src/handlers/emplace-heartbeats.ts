import type { Request, Response } from 'express';
import { RESOURCE_PROVIDER_NOT_FOUND } from '../errors/codes';
import { notFound } from '../errors/http-error';
import { noSuchProvider } from '../errors/messages';
import { pathParam } from '../http/paths';
import { refuse, uuidParam, type PathParams } from '../http/path-params';
import { sendNoContent, writeJson } from '../http/respond';
import { forgetHeartbeat, listHeartbeats as listHeartbeatRows, recordHeartbeat } from '../repo/emplace-heartbeats';
import { canonicalUuid, compileSchema } from '../validation/validator';
import {
  LIMIT,
  MARKER,
  STALE_AFTER,
  markerUuid,
  nextMarker,
  pageLimit,
  querySchema,
  readQuery,
  seconds,
} from './emplace-query';

type HeartbeatsQuery = { stale_after?: string; limit?: string; marker?: string };
const validateList = compileSchema<HeartbeatsQuery>(
  querySchema({ stale_after: STALE_AFTER, limit: LIMIT, marker: MARKER }),
);

const DEFAULT_LIMIT = 1000;

/**
 * PUT /emplace/heartbeats/{uuid}: the provider's reporter is alive now (the database's clock). 204; the
 * provider itself is untouched (no generation bump), so a heartbeat never conflicts with a writer.
 */
export async function updateHeartbeat(req: Request, res: Response): Promise<void> {
  await withProvider(req, recordHeartbeat);
  sendNoContent(res);
}

/**
 * DELETE /emplace/heartbeats/{uuid}: the provider's reporter was retired on purpose; from now on the host is
 * judged as one that never sent a heartbeat (never stale). 204, also when it had none.
 */
export async function deleteHeartbeat(req: Request, res: Response): Promise<void> {
  await withProvider(req, forgetHeartbeat);
  sendNoContent(res);
}

const missingProvider = (uuid: string) => notFound(noSuchProvider(uuid), RESOURCE_PROVIDER_NOT_FOUND);

/** The `{uuid}` of both methods: one that is no uuid names no provider, so it gets the same 404. */
export const HEARTBEAT_PROVIDER: PathParams = { uuid: uuidParam(refuse(missingProvider)) };

/** Run `work` on the `{uuid}` provider; 404 as Placement's provider routes answer. */
async function withProvider(req: Request, work: (db: Request['deps']['db'], uuid: string) => Promise<boolean>) {
  const uuid = pathParam(req, 'uuid');
  if (!(await work(req.deps.db, canonicalUuid(uuid)))) throw missingProvider(uuid);
}

/**
 * GET /emplace/heartbeats[?stale_after=S]: every provider that has sent a heartbeat with its last time,
 * or with `stale_after` only those silent for longer than S seconds; ordered by provider uuid, paged.
 */
export async function listHeartbeats(req: Request, res: Response): Promise<void> {
  const query = readQuery(req, validateList);
  const limit = pageLimit(query.limit, DEFAULT_LIMIT);
  const staleAfterSeconds = seconds(query.stale_after);
  const rows = await listHeartbeatRows(req.deps.db, { staleAfterSeconds, marker: markerUuid(query.marker), limit });
  res.setHeader('cache-control', 'no-cache');
  writeJson(res, 200, {
    stale_after_seconds: staleAfterSeconds ?? null,
    heartbeats: rows.slice(0, limit).map((row) => ({
      resource_provider_uuid: row.uuid,
      name: row.name,
      root_provider_uuid: row.root_uuid,
      heartbeat_at: row.heartbeat_at.toISOString(),
      age_seconds: Number(row.age_seconds),
    })),
    next_marker: nextMarker(rows, limit, (row) => row.uuid),
  });
}
