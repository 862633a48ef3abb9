import { fits } from '../candidates/combine';
import type { ProviderRow } from '../candidates/model';
import type { ProviderListFilter } from '../repo/providers';
import type { ReadView } from './read-model';
import { canonicalUuid } from '../validation/validator';

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
 * single-provider test is the one allocation candidates apply (capacity and units through `fits`, the
 * capacity rule of domain/capacity.ts); names were resolved to ids in PostgreSQL. At 10 000 hosts this
 * replaced a statement that probed usage totals once per inventory row (docs/performance.md).
 */
export function listFromModel(view: ReadView, { name, uuid: asked, filter }: ProviderListFilter): ListedProvider[] {
  // The query's uuid passed the uuid format check; PostgreSQL compared it as a uuid, whatever its case.
  const uuid = asked === undefined ? undefined : canonicalUuid(asked);
  const resources = (filter.resources ?? []).map(({ resourceClassId, amount }) => ({
    className: view.classNames.get(resourceClassId) ?? '',
    amount,
  }));
  const matches = (p: ProviderRow) =>
    (name === undefined || p.name === name) &&
    (uuid === undefined || p.uuid === uuid) &&
    (filter.inTreeRootId === undefined || p.rootId === filter.inTreeRootId) &&
    resources.every((r) => fits(p, r.className, r.amount)) &&
    (filter.requiredTraitIds ?? []).every((t) => p.traits.has(t)) &&
    !(filter.forbiddenTraitIds ?? []).some((t) => p.traits.has(t)) &&
    (filter.anyOfTraitIds ?? []).every((anyOf) => anyOf.some((t) => p.traits.has(t))) &&
    (filter.memberOfAggregateIds ?? []).every((anyOf) => anyOf.some((a) => p.aggregates.has(a))) &&
    !(filter.forbiddenAggregateIds ?? []).some((a) => p.aggregates.has(a));
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
