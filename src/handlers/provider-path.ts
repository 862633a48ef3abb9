import type { Knex } from 'knex';
import { RESOURCE_PROVIDER_NOT_FOUND } from '../errors/codes';
import { notFound } from '../errors/http-error';
import { findProviderByUuid, type ProviderRow } from '../repo/providers-core';
import { UUID_PATTERN } from '../validation/validator';

/**
 * The provider named by a `{uuid}` path segment, or 404 "No resource provider with uuid X found"
 * followed verbatim by `suffix` (some Placement handlers repeat the lookup error after it). A segment
 * that is no uuid at all is simply not found, rather than reaching PostgreSQL's uuid parser.
 */
export async function providerFromPath(db: Knex | Knex.Transaction, uuid: string, suffix = ''): Promise<ProviderRow> {
  const provider = UUID_PATTERN.test(uuid) ? await findProviderByUuid(db, uuid) : undefined;
  if (!provider) throw notFound(`No resource provider with uuid ${uuid} found${suffix}`, RESOURCE_PROVIDER_NOT_FOUND);
  return provider;
}
