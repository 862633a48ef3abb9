import type { Knex } from 'knex';
import { RESOURCE_PROVIDER_NOT_FOUND } from '../errors/codes';
import { notFound } from '../errors/http-error';
import { findProviderByUuid, type ProviderRow } from '../repo/providers-core';

/**
 * The provider named by a `{uuid}` path segment, or 404 "No resource provider with uuid X found"
 * followed verbatim by `suffix` (some Placement handlers repeat the lookup error after it).
 */
export async function providerFromPath(db: Knex | Knex.Transaction, uuid: string, suffix = ''): Promise<ProviderRow> {
  const provider = await findProviderByUuid(db, uuid);
  if (!provider) throw notFound(`No resource provider with uuid ${uuid} found${suffix}`, RESOURCE_PROVIDER_NOT_FOUND);
  return provider;
}
