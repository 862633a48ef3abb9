import type { Knex } from 'knex';

type Db = Knex | Knex.Transaction;

/**
 * SQL for GET /emplace/explain/allocation_candidates: the few facts its per-provider answer needs that the
 * read model does not hold (the stage counts are taken over the read model, candidates/explain.ts).
 */

/** Aggregate uuids by id, for sentences that name aggregates. */
export async function aggregateUuids(db: Db, ids: number[]): Promise<Map<number, string>> {
  if (ids.length === 0) return new Map();
  const rows = await (db as Knex)('placement_aggregates')
    .whereIn('id', ids)
    .select('id', (db as Knex).raw('uuid::text AS uuid'));
  return new Map(rows.map((row: { id: string | number; uuid: string }) => [Number(row.id), row.uuid]));
}

/** Seconds since the provider's last heartbeat (to the millisecond), or undefined when it never sent one. */
export async function heartbeatAgeSeconds(db: Db, providerId: number): Promise<number | undefined> {
  const row = await (db as Knex)('emplace_heartbeats')
    .where({ resource_provider_id: providerId })
    .first((db as Knex).raw('round(EXTRACT(EPOCH FROM now() - heartbeat_at)::numeric, 3) AS age'));
  return row ? Number(row.age) : undefined;
}
