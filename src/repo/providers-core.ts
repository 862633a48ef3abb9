import { ProviderChanged } from '../errors/domain';
import { UUID_PATTERN } from '../validation/validator';
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

export async function findProviderByUuid(db: Queryable, uuid: string): Promise<ProviderRow | undefined> {
  // A path segment that is no uuid names no provider: 404 as Placement, not a PostgreSQL cast error.
  if (!UUID_PATTERN.test(uuid)) return undefined;
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
