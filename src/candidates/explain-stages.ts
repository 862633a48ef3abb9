import type { Knex } from 'knex';
import { providersWithClasses, rootsWithClasses, whereTreeHasClasses } from '../repo/emplace-explain';
import { applyProviderFilter, type ProviderFilter } from '../repo/provider-filters';
import type { ProviderRow, ResolvedGroup, ResolvedRequest } from './model';
import type { RequestGroup } from './request-groups';
import { rootsQuery, sharingHelp } from './tree-query';

type Db = Knex | Knex.Transaction;

/**
 * The filter stages of GET /emplace/explain/allocation_candidates, each a query whose rows are what
 * survives it and everything before it. Suffixed groups count providers (one provider serves such a
 * group: the single-provider filter GET /resource_providers uses); the unsuffixed group counts trees,
 * since its classes may come from several providers of one tree and from sharing providers, judged
 * by the engine's own per-root SQL (rootsQuery). Tree stages judge the whole request the same way.
 */

export type StageFilter =
  | 'resource_classes'
  | 'capacity'
  | 'required_traits'
  | 'forbidden_traits'
  | 'any_of_traits'
  | 'member_of'
  | 'in_tree'
  | 'combined'
  | 'group_policy'
  | 'same_subtree'
  | 'root_required'
  | 'stale';

export interface StagePlan {
  filter: StageFilter;
  /** For a capacity stage: the amount, as CLASS:N. */
  resource?: string;
  /** Rows surviving; absent when the count is known without asking (fixed) or not countable in SQL. */
  query?: Knex.QueryBuilder;
  fixed?: number | null;
  /** The sentence saying this stage left nothing. */
  emptied: string;
  note?: string;
}

/** Counting every root: rootsQuery takes a page size, and this one is never reached. */
const ALL_ROOTS = Number.MAX_SAFE_INTEGER;

export const groupLabel = (suffix: string) => `resources${suffix}`;

const list = (names: string[]) => names.join(', ');

/** The group's stages in the documented order; only the filters the query uses, after its classes. */
export function groupPlans(
  db: Db,
  group: ResolvedGroup,
  raw: RequestGroup,
  sharing: ProviderRow[],
  sharingProviderIds: number[],
): StagePlan[] {
  const label = groupLabel(group.suffix);
  const unit = group.granular ? 'provider' : 'tree';
  const steps = groupSteps(group, raw);
  const plans: StagePlan[] = [];
  // Each later stage keeps this one's condition, so the counts only ever fall.
  const reach = group.resources.map((r) => ({
    classId: r.classId,
    sharingAggregateIds: aggregatesOf(sharing.filter((s) => s.inventories.has(r.className))),
  }));
  if (group.resources.length > 0) {
    const classes = list(group.resources.map((r) => r.className));
    plans.push({
      filter: 'resource_classes',
      query: group.granular
        ? providersWithClasses(
            db,
            group.resources.map((r) => r.classId),
          )
        : rootsWithClasses(db, reach),
      emptied: group.granular
        ? `No provider has inventory of every class ${label} asks for (${classes}).`
        : `No tree has inventory of every class ${label} asks for (${classes}), counting sharing providers.`,
    });
  }
  for (const step of steps) {
    const query = group.granular
      ? applyProviderFilter(
          providersWithClasses(
            db,
            group.resources.map((r) => r.classId),
          ),
          'p',
          granularFilter(step.group),
        )
      : whereTreeHasClasses(unsuffixedQuery(db, step.group, sharing, sharingProviderIds), reach);
    plans.push({
      filter: step.filter,
      resource: step.resource,
      query,
      emptied: `No ${unit} left in ${label} ${step.words}.`,
    });
  }
  return plans;
}

interface GroupStep {
  filter: StageFilter;
  resource?: string;
  /** The group as far as this stage (every earlier constraint, and this one). */
  group: ResolvedGroup;
  /** Completes "No provider left in resources1 ...". */
  words: string;
}

/** The group's constraints added one filter at a time, in the documented order. */
function groupSteps(group: ResolvedGroup, raw: RequestGroup): GroupStep[] {
  const steps: GroupStep[] = [];
  let partial: ResolvedGroup = {
    ...group,
    resources: [],
    requiredTraits: [],
    requiredTraitIds: [],
    forbiddenTraits: [],
    forbiddenTraitIds: [],
    memberOf: [],
    forbiddenAggregates: [],
    inTreeRootId: undefined,
  };
  const add = (filter: StageFilter, change: Partial<ResolvedGroup>, words: string, resource?: string) => {
    partial = { ...partial, ...change };
    steps.push({ filter, resource, group: partial, words });
  };
  group.resources.forEach((r, i) => {
    const amount = `${r.className}:${r.amount}`;
    add('capacity', { resources: group.resources.slice(0, i + 1) }, `has capacity for ${amount}`, amount);
  });
  const allOf = group.requiredTraits.map((_, i) => i).filter((i) => group.requiredTraits[i].length === 1);
  const anyOf = group.requiredTraits.map((_, i) => i).filter((i) => group.requiredTraits[i].length > 1);
  const traitsAt = (indices: number[]) => ({
    requiredTraits: [...partial.requiredTraits, ...indices.map((i) => group.requiredTraits[i])],
    requiredTraitIds: [...partial.requiredTraitIds, ...indices.map((i) => group.requiredTraitIds[i])],
  });
  if (allOf.length > 0) {
    const names = list(allOf.map((i) => group.requiredTraits[i][0]));
    add('required_traits', traitsAt(allOf), `has the required traits (${names})`);
  }
  if (group.forbiddenTraits.length > 0) {
    const change = { forbiddenTraits: group.forbiddenTraits, forbiddenTraitIds: group.forbiddenTraitIds };
    add('forbidden_traits', change, `is free of the forbidden traits (${list(group.forbiddenTraits)})`);
  }
  if (anyOf.length > 0) {
    const sets = anyOf.map((i) => `in:${group.requiredTraits[i].join(',')}`).join(' and ');
    add('any_of_traits', traitsAt(anyOf), `has one trait of each set (${sets})`);
  }
  if (group.memberOf.length > 0 || group.forbiddenAggregates.length > 0) {
    const change = { memberOf: group.memberOf, forbiddenAggregates: group.forbiddenAggregates };
    add('member_of', change, `is in the aggregates member_of asks for (${memberOfWords(raw)})`);
  }
  if (raw.inTree !== undefined) {
    // An in_tree uuid naming no provider matches nothing (no root has id -1).
    add('in_tree', { inTreeRootId: group.inTreeRootId ?? -1 }, `is in the tree of ${raw.inTree}`);
  }
  return steps;
}

function memberOfWords(raw: RequestGroup): string {
  const sets = raw.memberOf.map((anyOf) => (anyOf.length > 1 ? `in:${anyOf.join(',')}` : anyOf[0]));
  return [...sets, ...raw.forbiddenAggregates.map((uuid) => `!${uuid}`)].join(' and ');
}

function granularFilter(group: ResolvedGroup): ProviderFilter {
  return {
    resources: group.resources.map((r) => ({ resourceClassId: r.classId, amount: r.amount })),
    anyOfTraitIds: group.requiredTraitIds,
    forbiddenTraitIds: group.forbiddenTraitIds,
    memberOfAggregateIds: group.memberOf,
    forbiddenAggregateIds: group.forbiddenAggregates,
    inTreeRootId: group.inTreeRootId,
  };
}

/** Roots the engine's own pre-check accepts for the unsuffixed group alone, as far as this stage. */
function unsuffixedQuery(
  db: Db,
  group: ResolvedGroup,
  sharing: ProviderRow[],
  sharingProviderIds: number[],
): Knex.QueryBuilder {
  const request = bareRequest([group], sharingProviderIds);
  return rootsQuery(db, request, sharingHelp(request, sharing), 0, ALL_ROOTS);
}

function bareRequest(groups: ResolvedGroup[], sharingProviderIds: number[]): ResolvedRequest {
  return {
    groups,
    rootRequired: [],
    rootRequiredIds: [],
    rootForbidden: [],
    rootForbiddenIds: [],
    sameSubtrees: [],
    sharingProviderIds,
    impossible: false,
  };
}

function aggregatesOf(providers: ProviderRow[]): number[] {
  return [...new Set(providers.flatMap((p) => [...p.aggregates]))];
}

export interface TreePlans {
  plans: StagePlan[];
  /** The last stage's roots counted without any sharing provider's help (to tell how many trees need one). */
  withoutSharing?: Knex.QueryBuilder;
}

/** Trees after combining the groups, then group_policy, same_subtree, root_required and the stale filter. */
export function treePlans(
  db: Db,
  request: ResolvedRequest,
  sharing: ProviderRow[],
  staleAfterSeconds: number | undefined,
): TreePlans {
  const help = sharingHelp(request, sharing);
  const noHelp = sharingHelp(request, []);
  const zero = request.impossible ? 0 : undefined;
  const roots = (r: ResolvedRequest, stale?: number, h = help) =>
    zero === undefined ? rootsQuery(db, r, h, 0, ALL_ROOTS, stale) : undefined;
  let current: ResolvedRequest = {
    ...request,
    groupPolicy: 'none',
    rootRequired: [],
    rootRequiredIds: [],
    rootForbidden: [],
    rootForbiddenIds: [],
  };
  const plans: StagePlan[] = [
    {
      filter: 'combined',
      query: roots(current),
      fixed: zero,
      emptied: 'No tree can serve every request group together, though each group alone finds some.',
    },
  ];
  const granular = request.groups.filter((g) => g.granular).length;
  if (request.groupPolicy === 'isolate' && granular >= 2) {
    current = { ...current, groupPolicy: 'isolate' };
    plans.push({
      filter: 'group_policy',
      query: roots(current),
      fixed: zero,
      emptied: `No tree has ${granular} distinct providers for the ${granular} suffixed groups (group_policy=isolate).`,
      note: 'A necessary condition in SQL; isolation itself is checked as candidates are combined.',
    });
  }
  if (request.sameSubtrees.length > 0) {
    plans.push({
      filter: 'same_subtree',
      fixed: null,
      emptied: `No combination keeps the groups of same_subtree (${sameSubtreeWords(request)}) within one subtree.`,
      note: 'Checked as candidates are combined, not countable in SQL; the final count includes it.',
    });
  }
  if (request.rootRequired.length > 0 || request.rootForbidden.length > 0) {
    current = {
      ...current,
      ...pick(request, ['rootRequired', 'rootRequiredIds', 'rootForbidden', 'rootForbiddenIds']),
    };
    const words = list([...request.rootRequired, ...request.rootForbidden.map((t) => `!${t}`)]);
    plans.push({
      filter: 'root_required',
      query: roots(current),
      fixed: zero,
      emptied: `No root left has what root_required asks for (${words}).`,
    });
  }
  if (staleAfterSeconds !== undefined) {
    plans.push({
      filter: 'stale',
      query: roots(current, staleAfterSeconds),
      fixed: zero,
      emptied: `Every tree left has a root whose last heartbeat is older than ${staleAfterSeconds} seconds (EMPLACE_STALE_AFTER_SECONDS).`,
    });
  }
  const withoutSharing = request.sharingProviderIds.length > 0 ? roots(current, staleAfterSeconds, noHelp) : undefined;
  return { plans, withoutSharing };
}

const sameSubtreeWords = (request: ResolvedRequest) => request.sameSubtrees.map((s) => s.join(',')).join(' and ');

function pick<T, K extends keyof T>(value: T, keys: K[]): Pick<T, K> {
  return Object.fromEntries(keys.map((key) => [key, value[key]])) as Pick<T, K>;
}
