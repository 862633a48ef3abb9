import type { Queryable } from '../db/knex';
import { notFound } from '../errors/http-error';
import { noSuchProvider } from '../errors/messages';
import { refuse, uuidParam, type PathParams } from '../http/path-params';
import { findProviderByUuid, type ProviderRow } from '../repo/providers-core';

/**
 * How a provider route words the 404 for its `{uuid}`. Placement's handlers vary: most say the sentence once,
 * some repeat it after ": " or " : ", DELETE adds "for delete", the allocations listing puts a head before it.
 */
export type MissingProviderWording =
  'plain' | 'repeat after colon' | 'repeat after spaced colon' | 'for delete' | 'allocations';

export function providerNotFound(uuid: string, wording: MissingProviderWording = 'plain'): Error {
  const sentence = noSuchProvider(uuid);
  switch (wording) {
    case 'plain':
      return notFound(sentence);
    case 'repeat after colon':
      return notFound(`${sentence}: ${sentence}`);
    case 'repeat after spaced colon':
      return notFound(`${sentence} : ${sentence}`);
    case 'for delete':
      return notFound(`${sentence} for delete`);
    case 'allocations':
      return notFound(`Resource provider '${uuid}' not found: ${sentence}`);
  }
}

/**
 * The route table's declaration of a provider `{uuid}`: one that is no uuid names no provider, so it gets the
 * route's 404 for a missing provider, in the same wording its handler passes to providerFromPath.
 */
export function providerUuid(wording: MissingProviderWording = 'plain'): PathParams {
  return { uuid: uuidParam(refuse((uuid) => providerNotFound(uuid, wording))) };
}

/**
 * The provider named by a `{uuid}` path segment (uuid-shaped: the route table declares it with providerUuid), or the route's 404. The code is placement.undefined_code,
 * as Placement's provider routes raise a plain HTTPNotFound (docs/decisions/1200-provider-404-code.md).
 */
export async function providerFromPath(
  db: Queryable,
  uuid: string,
  wording: MissingProviderWording = 'plain',
): Promise<ProviderRow> {
  const provider = await findProviderByUuid(db, uuid);
  if (!provider) throw providerNotFound(uuid, wording);
  return provider;
}
