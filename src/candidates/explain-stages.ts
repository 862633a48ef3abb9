import {
  satisfiesSingly,
  fits,
  mayServeUnsuffixed,
  unsuffixedScope,
  type CombineOptions,
  type RootContext,
} from './combine';
import type { ProviderRow, ResolvedGroup, ResolvedRequest, ResolvedResource } from './model';
import type { RequestGroup } from '../provider-query/request-groups';

/**
 * The filter stages of GET /emplace/explain/allocation_candidates, each a test over the read model that the
 * engine reads. Suffixed groups count providers (one provider serves such a group: the engine's
 * satisfiesSingly); the unsuffixed group counts trees, since its classes may come from several providers of
 * one tree and from sharing providers: a tree survives when, for each class, a provider the engine would
 * let serve the group (combine.ts mayServeUnsuffixed) has room, and each required trait set is on one of them.
 * Tree stages judge the whole request; same_subtree asks the engine's combination walk itself.
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

/** A filter of the explained query; what survives it is counted after every earlier stage's survivors. */
export interface Stage<T> {
  filter: StageFilter;
  /** For a capacity stage: the amount, as CLASS:N. */
  resource?: string;
  /** The sentence saying this stage left nothing. */
  emptied: string;
  note?: string;
  keeps(item: T): boolean;
}

/** A tree stage judged by walking the tree's combinations (async: the walk pauses for the pacer). */
export interface WalkStage extends Omit<Stage<RootContext>, 'keeps'> {
  walk: CombineOptions;
}

export type TreeStage = Stage<RootContext> | WalkStage;

export type GroupStages =
  { unit: 'providers'; stages: Array<Stage<ProviderRow>> } | { unit: 'trees'; stages: Array<Stage<RootContext>> };

export const groupLabel = (suffix: string) => `resources${suffix}`;

const list = (names: string[]) => names.join(', ');

/** The group's stages in the documented order; only the filters the query uses, after its classes. */
export function groupStages(group: ResolvedGroup, raw: RequestGroup): GroupStages {
  const label = groupLabel(group.suffix);
  const classes = list(group.resources.map((r) => r.className));
  const steps = groupSteps(group, raw);
  if (group.granular) {
    const stages: Array<Stage<ProviderRow>> = [];
    if (group.resources.length > 0) {
      stages.push({
        filter: 'resource_classes',
        emptied: `No provider has inventory of every class ${label} asks for (${classes}).`,
        keeps: (p) => group.resources.every((r) => p.inventories.has(r.className)),
      });
    }
    for (const step of steps) {
      stages.push({ ...describe(step, `No provider left in ${label}`), keeps: (p) => satisfiesSingly(p, step.group) });
    }
    return { unit: 'providers', stages };
  }
  const stages: Array<Stage<RootContext>> = [];
  if (group.resources.length > 0) {
    stages.push({
      filter: 'resource_classes',
      emptied: `No tree has inventory of every class ${label} asks for (${classes}), counting sharing providers.`,
      keeps: (ctx) =>
        group.resources.every(
          (r) =>
            ctx.tree.some((p) => p.inventories.has(r.className)) ||
            ctx.linkedSharing.some((p) => p.inventories.has(r.className)),
        ),
    });
  }
  for (const step of steps) {
    stages.push({ ...describe(step, `No tree left in ${label}`), keeps: (ctx) => unsuffixedHolds(ctx, step.group) });
  }
  return { unit: 'trees', stages };
}

function describe(step: GroupStep, none: string): Omit<Stage<unknown>, 'keeps'> {
  return { filter: step.filter, resource: step.resource, emptied: `${none} ${step.words}.` };
}

/**
 * Some provider of the tree or a linked sharing provider can take each of the unsuffixed group's amounts,
 * and each required trait set is on one that may serve the group. Whether the providers that take the
 * amounts also carry the traits between them is left to the walk (the `combination` verdict).
 */
function unsuffixedHolds(ctx: RootContext, group: ResolvedGroup): boolean {
  const scope = unsuffixedScope(ctx, group);
  if (scope === 'none') return false;
  // Plain loops over the tree and then its linked sharing providers: this runs per tree and stage, and
  // lists or closures made here showed as garbage collection in profiles.
  const sharing = scope === 'tree+sharing' ? ctx.linkedSharing : [];
  for (const r of group.resources) {
    if (!someTakes(ctx.tree, r, group, ctx) && !someTakes(sharing, r, group, ctx)) return false;
  }
  for (const anyOf of group.requiredTraitIds) {
    if (!someCarries(ctx.tree, anyOf, group, ctx) && !someCarries(sharing, anyOf, group, ctx)) return false;
  }
  return true;
}

function someTakes(providers: ProviderRow[], r: ResolvedResource, group: ResolvedGroup, ctx: RootContext): boolean {
  for (const p of providers) if (fits(p, r.className, r.amount) && mayServeUnsuffixed(p, group, ctx)) return true;
  return false;
}

function someCarries(providers: ProviderRow[], anyOf: number[], group: ResolvedGroup, ctx: RootContext): boolean {
  for (const p of providers) {
    for (const t of anyOf) if (p.traits.has(t) && mayServeUnsuffixed(p, group, ctx)) return true;
  }
  return false;
}

/** A suffixed group can be served in this tree: one provider of it, or a linked sharing provider, alone. */
function granularHolds(ctx: RootContext, group: ResolvedGroup): boolean {
  const serves = (p: ProviderRow) => satisfiesSingly(p, group);
  return ctx.tree.some(serves) || ctx.linkedSharing.some(serves);
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

export interface TreeStageOptions {
  combine: CombineOptions;
  /** Roots left out by EMPLACE_STALE_AFTER_SECONDS; undefined when it is off. */
  silent?: ReadonlySet<number>;
  staleAfterSeconds?: number;
}

/** Trees after combining the groups, then group_policy, same_subtree, root_required and the stale filter. */
export function treeStages(request: ResolvedRequest, options: TreeStageOptions): TreeStage[] {
  const granular = request.groups.filter((g) => g.granular);
  const stages: TreeStage[] = [
    {
      filter: 'combined',
      emptied: 'No tree can serve every request group together, though each group alone finds some.',
      // A tree gets here through every unsuffixed group's stages (TreeJudge), the last being the whole group.
      keeps: (ctx) => granular.every((g) => granularHolds(ctx, g)),
    },
  ];
  if (request.groupPolicy === 'isolate' && granular.length >= 2) {
    const n = granular.length;
    stages.push({
      filter: 'group_policy',
      emptied: `No tree has ${n} distinct providers for the ${n} suffixed groups (group_policy=isolate).`,
      note: 'A necessary condition (enough providers); isolation itself is checked as candidates are combined.',
      // Linked sharing providers count only where they can serve a suffixed group.
      keeps: (ctx) =>
        ctx.tree.length + ctx.linkedSharing.filter((p) => granular.some((g) => satisfiesSingly(p, g))).length >= n,
    });
  }
  if (request.sameSubtrees.length > 0) {
    stages.push({
      filter: 'same_subtree',
      emptied: `No combination keeps the groups of same_subtree (${sameSubtreeWords(request)}) within one subtree.`,
      note: 'Trees that yield a candidate as the engine combines them, same_subtree and group_policy applied.',
      walk: options.combine,
    });
  }
  if (request.rootRequired.length > 0 || request.rootForbidden.length > 0) {
    const words = list([...request.rootRequired, ...request.rootForbidden.map((t) => `!${t}`)]);
    stages.push({
      filter: 'root_required',
      emptied: `No root left has what root_required asks for (${words}).`,
      keeps: ({ root }) =>
        request.rootRequiredIds.every((t) => root.traits.has(t)) &&
        !request.rootForbiddenIds.some((t) => root.traits.has(t)),
    });
  }
  const { silent, staleAfterSeconds } = options;
  if (silent !== undefined) {
    stages.push({
      filter: 'stale',
      emptied: `Every tree left has a root whose last heartbeat is older than ${staleAfterSeconds} seconds (EMPLACE_STALE_AFTER_SECONDS).`,
      keeps: ({ root }) => !silent.has(root.id),
    });
  }
  return stages;
}

const sameSubtreeWords = (request: ResolvedRequest) => request.sameSubtrees.map((s) => s.join(',')).join(' and ');
