import type { Tx, Queryable } from '../db/knex';

/** The uuids of the aggregates a provider is in, oldest aggregate first. */
export async function listProviderAggregates(db: Queryable, providerId: number): Promise<string[]> {
  const rows = await db('resource_provider_aggregates as rpa')
    .join('placement_aggregates as pa', 'pa.id', 'rpa.aggregate_id')
    .where('rpa.resource_provider_id', providerId)
    .orderBy('pa.id')
    .select<Array<{ uuid: string }>>('pa.uuid');
  return rows.map((row) => row.uuid);
}

/**
 * Make the provider's aggregates exactly `uuids`, creating aggregates never seen before (Placement
 * creates them on demand and never deletes them). Concurrent writers of the same aggregate or link
 * meet in ON CONFLICT, not in an error.
 */
export async function replaceProviderAggregates(tx: Tx, providerId: number, uuids: string[]): Promise<void> {
  let ids: number[] = [];
  if (uuids.length) {
    await tx.raw(`INSERT INTO placement_aggregates (uuid) SELECT unnest(?::uuid[]) ON CONFLICT (uuid) DO NOTHING`, [
      uuids,
    ]);
    const rows = await tx('placement_aggregates').whereIn('uuid', uuids).select<Array<{ id: number }>>('id');
    ids = rows.map((row) => row.id);
  }
  const stale = tx('resource_provider_aggregates').where('resource_provider_id', providerId);
  if (ids.length) stale.whereNotIn('aggregate_id', ids);
  await stale.delete();
  if (ids.length) {
    await tx('resource_provider_aggregates')
      .insert(ids.map((aggregateId) => ({ resource_provider_id: providerId, aggregate_id: aggregateId })))
      .onConflict(['resource_provider_id', 'aggregate_id'])
      .ignore();
  }
}
