import type { Knex } from 'knex';
import { RESOURCE_PROVIDER_NOT_FOUND } from '../errors/codes';
import { notFound } from '../errors/http-error';
import { requireProvider, type ProviderRow } from '../repo/providers-core';
import { UUID_PATTERN } from '../validation/validator';

/**
 * The provider named by a `{uuid}` path segment. A segment that is no uuid at all is simply not
 * found (Placement answers 404), rather than reaching PostgreSQL's uuid parser.
 */
export async function providerFromPath(db: Knex | Knex.Transaction, uuid: string, detail = ''): Promise<ProviderRow> {
  if (!UUID_PATTERN.test(uuid)) {
    throw notFound(`No resource provider with uuid ${uuid} found${detail ? ` ${detail}` : ''}`, RESOURCE_PROVIDER_NOT_FOUND);
  }
  return requireProvider(db, uuid, detail);
}
