import type { Knex } from 'knex';
import { whereRootNotSilent } from '../repo/emplace-heartbeats';
import {
  providersWithClasses,
  rootsWhere,
  treesWithClass,
  treesWithProvider,
  type StageQuery,
} from '../repo/emplace-explain';
import { applyProviderFilter, type ProviderFilter } from '../repo/provider-filters';
import type { ProviderRow, ResolvedGroup, ResolvedRequest } from './model';
import type { RequestGroup } from '../provider-query/request-groups';
import { sharingHelp, type SharingHelp } from './tree-query';

type Db = Knex | Knex.Transaction;

/**
 * The filter stages of GET /emplace/explain/allocation_candidates, each a query whose rows are what
 * survives it and everything before it. Suffixed groups count providers (one provider serves such a
 * group: the single-provider filter GET /resource_providers uses); the unsuffixed group counts trees,
 * since its classes may come from several providers of one tree and from sharing providers. Trees are
 * judged by the engine's per-root pre-check (tree-query.ts rootsQuery), written here as sets of root ids
 * so that counting every root is a few scans rather than correlated probes per root and per stage; a
 * test holds the two to the same count over the candidates corpus. Tree stages judge the whole request.
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
  /** What survives; absent when the count is known without asking (fixed) or not countable in SQL. */
  count?: StageQuery;
  fixed?: number | null;
  /** The sentence saying this stage left nothing. */
  emptied: string;
  note?: string;
}

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
  const classSets = group.resources.map((r) =>
    treesWithClass(db, r.classId, aggregatesOf(sharing.filter((s) => s.inventories.has(r.className)))),
  );
  const classIds = group.resources.map((r) => r.classId);
  if (group.resources.length > 0) {
    const classes = list(group.resources.map((r) => r.className));
    plans.push({
      filter: 'resource_classes',
      count: group.granular ? { query: providersWithClasses(db, classIds) } : { sets: classSets },
      emptied: group.granular
        ? `No provider has inventory of every class ${label} asks for (${classes}).`
        : `No tree has inventory of every class ${label} asks for (${classes}), counting sharing providers.`,
    });
  }
  for (const step of steps) {
    const count: StageQuery = group.granular
      ? { query: applyProviderFilter(providersWithClasses(db, classIds), 'p', granularFilter(step.group)) }
      : { sets: [...classSets, ...groupSets(db, step.group, helpFor(step.group, sharing, sharingProviderIds))] };
    plans.push({
      filter: step.filter,
      resource: step.resource,
      count,
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

function helpFor(group: ResolvedGroup, sharing: ProviderRow[], sharingProviderIds: number[]): SharingHelp {
  return sharingHelp(bareRequest([group], sharingProviderIds), sharing);
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

/**
 * The roots that can anchor the group, as the sets whose intersection they are: the conditions
 * tree-query.ts adds per group (addUnsuffixedConditions, addGranularCondition), one set each.
 */
function groupSets(db: Db, group: ResolvedGroup, help: SharingHelp): Knex.QueryBuilder[] {
  if (group.granular) return [treesWithProvider(db, granularFilter(group), help.granular.get(group) ?? [])];
  const sets: Knex.QueryBuilder[] = [];
  const inTree = group.inTreeRootId;
  if (inTree !== undefined) sets.push(rootsWhere(db, (q) => q.where('r.id', inTree)));
  // With in_tree the unsuffixed group takes nothing from sharing providers outside the tree.
  const shared = (aggregates: number[] | undefined) => (inTree === undefined ? (aggregates ?? []) : []);
  const { forbiddenTraitIds, forbiddenAggregates } = group;
  if (forbiddenAggregates.length > 0) {
    sets.push(rootsWhere(db, (q) => applyProviderFilter(q, 'r', { forbiddenAggregateIds: forbiddenAggregates })));
  }
  group.resources.forEach((r, i) => {
    const filter = {
      resources: [{ resourceClassId: r.classId, amount: r.amount }],
      forbiddenTraitIds,
      forbiddenAggregateIds: forbiddenAggregates,
    };
    sets.push(treesWithProvider(db, filter, shared(help.perClass.get(group)?.[i])));
  });
  group.requiredTraitIds.forEach((anyOf, i) => {
    const filter = { anyOfTraitIds: [anyOf], forbiddenTraitIds };
    sets.push(treesWithProvider(db, filter, shared(help.perTraitSet.get(group)?.[i])));
  });
  if (group.memberOf.length > 0) {
    sets.push(treesWithProvider(db, { memberOfAggregateIds: group.memberOf }, shared(help.memberOf.get(group))));
  }
  return sets;
}

function aggregatesOf(providers: ProviderRow[]): number[] {
  return [...new Set(providers.flatMap((p) => [...p.aggregates]))];
}

export interface TreePlans {
  plans: StagePlan[];
  /** The last stage's roots counted without any sharing provider's help (to tell how many trees need one). */
  withoutSharing?: StageQuery;
}

/** Trees after combining the groups, then group_policy, same_subtree, root_required and the stale filter. */
export function treePlans(
  db: Db,
  request: ResolvedRequest,
  sharing: ProviderRow[],
  staleAfterSeconds: number | undefined,
): TreePlans {
  const zero = request.impossible ? 0 : undefined;
  const help = sharingHelp(request, sharing);
  const setsWith = (h: SharingHelp) => request.groups.flatMap((group) => groupSets(db, group, h));
  let sets = setsWith(help);
  const count = (): StageQuery | undefined => (zero === undefined ? { sets: [...sets] } : undefined);
  const plans: StagePlan[] = [
    {
      filter: 'combined',
      count: count(),
      fixed: zero,
      emptied: 'No tree can serve every request group together, though each group alone finds some.',
    },
  ];
  const extra: Knex.QueryBuilder[] = [];
  const add = (set: Knex.QueryBuilder) => {
    sets.push(set);
    extra.push(set);
  };
  const granular = request.groups.filter((g) => g.granular);
  if (request.groupPolicy === 'isolate' && granular.length >= 2) {
    // tree-query.ts addIsolateCondition: without sharing help every group's provider comes from the tree.
    if (!granular.some((g) => (help.granular.get(g) ?? []).length > 0)) {
      add(
        rootsWhere(db, (q) =>
          q.whereRaw('(SELECT count(*) FROM resource_providers c WHERE c.root_provider_id = r.id) >= ?', [
            granular.length,
          ]),
        ),
      );
    }
    const n = granular.length;
    plans.push({
      filter: 'group_policy',
      count: count(),
      fixed: zero,
      emptied: `No tree has ${n} distinct providers for the ${n} suffixed groups (group_policy=isolate).`,
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
    const filter = { requiredTraitIds: request.rootRequiredIds, forbiddenTraitIds: request.rootForbiddenIds };
    add(rootsWhere(db, (q) => applyProviderFilter(q, 'r', filter)));
    const words = list([...request.rootRequired, ...request.rootForbidden.map((t) => `!${t}`)]);
    plans.push({
      filter: 'root_required',
      count: count(),
      fixed: zero,
      emptied: `No root left has what root_required asks for (${words}).`,
    });
  }
  if (staleAfterSeconds !== undefined) {
    add(rootsWhere(db, (q) => whereRootNotSilent(q, 'r', staleAfterSeconds)));
    plans.push({
      filter: 'stale',
      count: count(),
      fixed: zero,
      emptied: `Every tree left has a root whose last heartbeat is older than ${staleAfterSeconds} seconds (EMPLACE_STALE_AFTER_SECONDS).`,
    });
  }
  sets = [...setsWith(sharingHelp(request, [])), ...extra];
  const withoutSharing = request.sharingProviderIds.length > 0 ? count() : undefined;
  return { plans, withoutSharing };
}

const sameSubtreeWords = (request: ResolvedRequest) => request.sameSubtrees.map((s) => s.join(',')).join(' and ');
