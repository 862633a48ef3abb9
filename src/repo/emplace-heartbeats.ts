import type { Queryable } from '../db/knex';
import { isForeignKeyViolation } from '../errors/pg-errors';

/**
 * Heartbeats (Emplace's own, migrations/0700_heartbeats.ts): when a provider's reporter last said it is
 * alive, by the database's clock so reporters' clocks never matter. A provider that never sent one is
 * never silent.
 */

/**
 * Record a heartbeat for the provider now; false when no provider has the uuid. One statement: nothing
 * else about the provider changes (no generation bump, no updated_at), so it never races a writer.
 */
export async function recordHeartbeat(db: Queryable, uuid: string): Promise<boolean> {
  try {
    const result = await db.raw(
      `INSERT INTO emplace_heartbeats (resource_provider_id, heartbeat_at)
       SELECT id, now() FROM resource_providers WHERE uuid = ?
       ON CONFLICT (resource_provider_id) DO UPDATE SET heartbeat_at = EXCLUDED.heartbeat_at`,
      [uuid],
    );
    return result.rowCount === 1;
  } catch (error) {
    // The provider was deleted between our read and our write: it no longer exists.
    if (isForeignKeyViolation(error)) return false;
    throw error;
  }
}

/**
 * Forget the provider's heartbeat (its reporter was retired: the host is judged as one that never sent any).
 * False when no provider has the uuid; forgetting a heartbeat that does not exist is not an error.
 */
export async function forgetHeartbeat(db: Queryable, uuid: string): Promise<boolean> {
  const result = await db.raw(
    `WITH provider AS (SELECT id FROM resource_providers WHERE uuid = ?),
          gone AS (DELETE FROM emplace_heartbeats h USING provider p WHERE h.resource_provider_id = p.id)
     SELECT id FROM provider`,
    [uuid],
  );
  return result.rows.length === 1;
}

export interface HeartbeatRow {
  uuid: string;
  name: string;
  root_uuid: string;
  heartbeat_at: Date;
  age_seconds: number;
}

export interface HeartbeatListOptions {
  /** Only providers whose last heartbeat is older than this many seconds. */
  staleAfterSeconds?: number;
  /** Providers after this uuid (the last one of the previous page). */
  marker?: string;
  limit: number;
}

/** Providers with a heartbeat, ordered by provider uuid; `limit + 1` rows tell the caller a next page exists. */
export async function listHeartbeats(db: Queryable, options: HeartbeatListOptions): Promise<HeartbeatRow[]> {
  const stale = options.staleAfterSeconds ?? null;
  const result = await db.raw(
    `SELECT p.uuid::text AS uuid, p.name, r.uuid::text AS root_uuid, h.heartbeat_at,
            round(EXTRACT(EPOCH FROM now() - h.heartbeat_at)::numeric, 3) AS age_seconds
       FROM emplace_heartbeats h
       JOIN resource_providers p ON p.id = h.resource_provider_id
       JOIN resource_providers r ON r.id = p.root_provider_id
      WHERE (?::int IS NULL OR h.heartbeat_at < now() - make_interval(secs => ?::int))
        AND (?::uuid IS NULL OR p.uuid > ?::uuid)
      ORDER BY p.uuid
      LIMIT ?`,
    [stale, stale, options.marker ?? null, options.marker ?? null, options.limit + 1],
  );
  return result.rows;
}

/**
 * EMPLACE_STALE_AFTER_SECONDS, as the candidates engine applies it: ids of providers whose heartbeat is
 * older than `staleAfterSeconds` (the engine leaves out trees whose root is one). No heartbeat row, no
 * effect (nova-reported hosts behave exactly as in Placement). Undefined when the option is off.
 */
export async function silentProviderIds(
  db: Queryable,
  staleAfterSeconds?: number,
): Promise<ReadonlySet<number> | undefined> {
  if (staleAfterSeconds === undefined) return undefined;
  const rows: Array<{ id: number }> = (
    await db.raw(
      `SELECT resource_provider_id AS id FROM emplace_heartbeats
        WHERE heartbeat_at < now() - make_interval(secs => ?::int)`,
      [staleAfterSeconds],
    )
  ).rows;
  return new Set(rows.map((row) => Number(row.id)));
}
