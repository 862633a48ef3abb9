/**
 * Constraints on a single provider, as GET /resource_providers asks them (src/read-model/provider-listing.ts
 * applies them to the read model). All ids are already resolved.
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
