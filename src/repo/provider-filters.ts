import type { Knex } from 'knex';
import { fitsSql } from '../domain/capacity';

/**
 * Constraints on a single provider, shared by GET /resource_providers and the allocation-candidates
 * engine so both answer the same question the same way. All ids are already resolved.
 */
export interface ProviderFilter {
  /** The provider itself has capacity for each amount (and the amount fits min/max unit and step). */
  resources?: Array<{ resourceClassId: number; amount: number }>;
  /** Has every one of these traits. */
  requiredTraitIds?: number[];
  /** Has none of these traits. */
  forbiddenTraitIds?: number[];
  /** For each group, has at least one of its traits (1.39 `in:`). */
  anyOfTraitIds?: number[][];
  /** For each group, is in at least one of its aggregates (repeated member_of is AND from 1.24). */
  memberOfAggregateIds?: number[][];
  /** Is in none of these aggregates (1.32 `!`). */
  forbiddenAggregateIds?: number[];
  /** Belongs to the tree with this root provider id. */
  inTreeRootId?: number;
}

/**
 * Add the filter to a query over `resource_providers AS <alias>` as EXISTS / NOT EXISTS clauses,
 * which PostgreSQL plans as semi-joins on the (trait_id, provider) and (aggregate_id, provider) indexes.
 */
export function applyProviderFilter(
  query: Knex.QueryBuilder,
  alias: string,
  filter: ProviderFilter,
): Knex.QueryBuilder {
  const id = `${alias}.id`;
  for (const { resourceClassId, amount } of filter.resources ?? []) {
    query.whereExists(function capacity() {
      // A join, not a correlated sub-select, for the usage total: PostgreSQL can then hash it when the
      // EXISTS becomes a semi-join over many providers, and still probe the key for one.
      this.select(this.client.raw('1'))
        .from('inventories as inv')
        .leftJoin('provider_usages as u', function usage() {
          this.on('u.resource_provider_id', 'inv.resource_provider_id').andOn(
            'u.resource_class_id',
            'inv.resource_class_id',
          );
        })
        .whereRaw('inv.resource_provider_id = ??', [id])
        .andWhere('inv.resource_class_id', resourceClassId)
        .andWhereRaw(fitsSql('inv', 'COALESCE(u.used, 0)'), [amount, amount, amount, amount]);
    });
  }
  for (const traitId of filter.requiredTraitIds ?? []) {
    query.whereExists(traitLink(id, [traitId]));
  }
  if (filter.forbiddenTraitIds?.length) query.whereNotExists(traitLink(id, filter.forbiddenTraitIds));
  for (const group of filter.anyOfTraitIds ?? []) query.whereExists(traitLink(id, group));
  for (const group of filter.memberOfAggregateIds ?? []) query.whereExists(aggregateLink(id, group));
  if (filter.forbiddenAggregateIds?.length) query.whereNotExists(aggregateLink(id, filter.forbiddenAggregateIds));
  if (filter.inTreeRootId !== undefined) query.where(`${alias}.root_provider_id`, filter.inTreeRootId);
  return query;
}

function traitLink(providerColumn: string, traitIds: number[]) {
  return function trait(this: Knex.QueryBuilder) {
    this.select(this.client.raw('1'))
      .from('resource_provider_traits as rpt')
      .whereRaw('rpt.resource_provider_id = ??', [providerColumn])
      .whereIn('rpt.trait_id', traitIds);
  };
}

function aggregateLink(providerColumn: string, aggregateIds: number[]) {
  return function aggregate(this: Knex.QueryBuilder) {
    this.select(this.client.raw('1'))
      .from('resource_provider_aggregates as rpa')
      .whereRaw('rpa.resource_provider_id = ??', [providerColumn])
      .whereIn('rpa.aggregate_id', aggregateIds);
  };
}

/**
 * The resources part of the filter as one set-based semi-join: the providers whose inventories fit every
 * amount, found by one pass over the inventories of the asked classes (grouped per provider) instead of an
 * index probe per provider and class. GET /resource_providers answers with thousands of providers, where
 * this is several times cheaper; the candidates engine keeps the per-root probes, which stop at `limit`.
 * Same verdict as applyProviderFilter's `resources` (each asked amount matches at most one inventory row
 * per provider, so the count is the number of amounts that fit).
 */
export function whereFitsEvery(
  query: Knex.QueryBuilder,
  alias: string,
  resources: Array<{ resourceClassId: number; amount: number }>,
): Knex.QueryBuilder {
  if (resources.length === 0) return query;
  const values = resources.map(() => '(?::int, ?::numeric)').join(', ');
  return query.whereRaw(
    `?? IN (
       SELECT inv.resource_provider_id
         FROM (VALUES ${values}) AS want (class_id, amount)
         JOIN inventories inv ON inv.resource_class_id = want.class_id
         LEFT JOIN provider_usages u
           ON u.resource_provider_id = inv.resource_provider_id AND u.resource_class_id = inv.resource_class_id
        WHERE inv.min_unit <= want.amount AND inv.max_unit >= want.amount AND want.amount % inv.step_size = 0
          AND (inv.total - inv.reserved) * inv.allocation_ratio >= want.amount + COALESCE(u.used, 0)
        GROUP BY inv.resource_provider_id
       HAVING count(*) = ?)`,
    [`${alias}.id`, ...resources.flatMap((r) => [r.resourceClassId, r.amount]), resources.length],
  );
}
