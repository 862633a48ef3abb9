import type { Knex } from 'knex';
import { CONCURRENT_UPDATE, RESOURCE_PROVIDER_NOT_FOUND } from '../errors/codes';
import { conflict, notFound } from '../errors/http-error';
import { UUID_PATTERN } from '../validation/validator';
import type { Queryable } from '../db/knex';

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
 * The provider or a 404 in Placement's words. `detail` completes the sentence
 * "No resource provider with uuid X found" (e.g. 'for delete'), as Placement's messages vary by handler.
 */
export async function requireProvider(db: Queryable, uuid: string, detail = ''): Promise<ProviderRow> {
  const provider = await findProviderByUuid(db, uuid);
  if (!provider) throw providerNotFound(uuid, detail);
  return provider;
}

/** The 404 requireProvider throws, for callers that look the provider up another way. */
export function providerNotFound(uuid: string, detail = ''): Error {
  return notFound(
    `No resource provider with uuid ${uuid} found${detail ? ` ${detail}` : ''}`,
    RESOURCE_PROVIDER_NOT_FOUND,
  );
}

/**
 * Compare-and-swap the provider generation inside the caller's transaction: the change the caller made
 * is only valid if nobody else changed the provider since `expected` was read. 409 otherwise.
 */
export async function bumpProviderGeneration(
  tx: Knex.Transaction,
  providerId: number,
  expected: number,
): Promise<number> {
  const updated = await tx('resource_providers')
    .where({ id: providerId, generation: expected })
    .update({ generation: tx.raw('generation + 1'), updated_at: tx.fn.now() })
    .returning<Array<{ generation: number }>>('generation');
  if (updated.length !== 1) throw concurrentUpdate();
  return updated[0].generation;
}

export function concurrentUpdate(): Error {
  return conflict(
    'Another thread concurrently updated the resource provider data. Please retry your update',
    CONCURRENT_UPDATE,
  );
}
