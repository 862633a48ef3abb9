/** Shapes shared by the candidates engine: resolved request groups, provider rows, candidates. */

export interface ResolvedResource {
  className: string;
  classId: number;
  amount: number;
}

/** A request group with every name resolved to an id. */
export interface ResolvedGroup {
  suffix: string;
  /** Suffixed groups (1.25) are served by one provider each. */
  granular: boolean;
  /** Ordered by class id, so products are generated in a stable order. */
  resources: ResolvedResource[];
  requiredTraits: string[][];
  requiredTraitIds: number[][];
  forbiddenTraits: string[];
  forbiddenTraitIds: number[];
  /** AND of OR-sets of aggregate ids; every set is non-empty (unknown uuids were dropped). */
  memberOf: number[][];
  forbiddenAggregates: number[];
  inTreeRootId?: number;
}

/** What one provider must have on its own: a suffixed group, or GET /resource_providers' filters. */
export type SingleProviderTest = Pick<
  ResolvedGroup,
  'resources' | 'requiredTraitIds' | 'forbiddenTraitIds' | 'memberOf' | 'forbiddenAggregates' | 'inTreeRootId'
>;

export interface ResolvedRequest {
  groups: ResolvedGroup[];
  groupPolicy?: 'none' | 'isolate';
  rootRequired: string[];
  rootRequiredIds: number[];
  rootForbidden: string[];
  rootForbiddenIds: number[];
  sameSubtrees: string[][];
  /** Providers carrying MISC_SHARES_VIA_AGGREGATE. */
  sharingProviderIds: number[];
  /** Some constraint can never match (unknown aggregate in member_of, unknown in_tree provider). */
  impossible: boolean;
}

export interface Inventory {
  total: number;
  reserved: number;
  minUnit: number;
  maxUnit: number;
  stepSize: number;
  allocationRatio: number;
  used: number;
  /** Placement's capacity: int((total - reserved) * allocation_ratio) (domain/capacity.ts capacityOf). */
  capacity: number;
}

export interface ProviderRow {
  id: number;
  uuid: string;
  /** Name, generation and last change are what GET /resource_providers shows (it lists from the read model). */
  name: string;
  generation: number;
  /** updated_at, or created_at for a row never updated (Last-Modified from 1.15). */
  modifiedAt: Date;
  parentId: number | null;
  rootId: number;
  inventories: Map<string, Inventory>;
  /** Trait ids in id order (names only for the answer: EngineResult.traitNames). */
  traits: Set<number>;
  aggregates: Set<number>;
}

export interface CandidateAllocation {
  provider: ProviderRow;
  className: string;
  amount: number;
}

/** One allocation request: consolidated amounts per (provider, class) and which providers serve which group. */
export interface Candidate {
  allocations: CandidateAllocation[];
  /** Suffix -> provider uuids (sorted), in group order. */
  mappings: Array<[string, string[]]>;
}
