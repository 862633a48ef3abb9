import { satisfiesSingly } from '../candidates/combine';
import type { ProviderRow, SingleProviderTest } from '../candidates/model';
import type { ReadView } from './read-model';
import { canonicalUuid } from '../validation/validator';

/** GET /resource_providers' query with every name resolved (provider-query/resolve.ts resolveProviderList). */
export interface ProviderListFilter {
  name?: string;
  uuid?: string;
  test: SingleProviderTest;
}

/** A provider as GET /resource_providers shows it. */
export interface ListedProvider {
  uuid: string;
  name: string;
  generation: number;
  parent_provider_uuid: string | null;
  root_provider_uuid: string;
  modifiedAt: Date;
}

/**
 * GET /resource_providers from the read model: every provider passing the filter, in id order. The
 * single-provider test is a suffixed group's (`satisfiesSingly`, whose capacity rule is domain/capacity.ts).
 * At 10 000 hosts this replaced a statement that probed usage totals once per inventory row (docs/performance.md).
 */
export function listFromModel(view: ReadView, { name, uuid: asked, test }: ProviderListFilter): ListedProvider[] {
  // The query's uuid passed the uuid format check; PostgreSQL compared it as a uuid, whatever its case.
  const uuid = asked === undefined ? undefined : canonicalUuid(asked);
  const matches = (p: ProviderRow) =>
    (name === undefined || p.name === name) && (uuid === undefined || p.uuid === uuid) && satisfiesSingly(p, test);
  const found: ProviderRow[] = [];
  for (const p of view.providers.values()) if (matches(p)) found.push(p);
  found.sort((a, b) => a.id - b.id);
  return found.map((p) => ({
    uuid: p.uuid,
    name: p.name,
    generation: p.generation,
    parent_provider_uuid: p.parentId === null ? null : (view.providers.get(p.parentId)?.uuid ?? null),
    root_provider_uuid: view.providers.get(p.rootId)?.uuid ?? p.uuid,
    modifiedAt: p.modifiedAt,
  }));
}
