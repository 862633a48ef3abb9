import { ProviderChanged } from '../errors/domain';
import type { Tx, Queryable } from '../db/knex';

/** The provider columns every family needs. */
export interface ProviderRow {
  id: number;
  uuid: string;
  name: string;
  generation: number;
  parent_provider_id: number | null;
  root_provider_id: number;
  created_at: Date;
  updated_at: Date;
}

/** `uuid` must be uuid-shaped (path segments are checked by the route table, body fields by their schema). */
export async function findProviderByUuid(db: Queryable, uuid: string): Promise<ProviderRow | undefined> {
  return db<ProviderRow>('resource_providers').where({ uuid }).first();
}

/**
 * Compare-and-swap the provider generation inside the caller's transaction: the change the caller made
 * is only valid if nobody else changed the provider since `expected` was read. ProviderChanged otherwise.
 */
export async function bumpProviderGeneration(tx: Tx, providerId: number, expected: number): Promise<number> {
  const updated = await tx('resource_providers')
    .where({ id: providerId, generation: expected })
    .update({ generation: tx.raw('generation + 1'), updated_at: tx.fn.now() })
    .returning<Array<{ generation: number }>>('generation');
  if (updated.length !== 1) throw new ProviderChanged();
  return updated[0].generation;
}
