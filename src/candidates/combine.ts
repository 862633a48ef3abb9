import type { Candidate, CandidateAllocation, ProviderRow, ResolvedGroup, SingleProviderTest } from './model';
import { withinCapacity, withinUnits } from '../domain/capacity';

/** Everything the generator knows about one anchor root. */
export interface RootContext {
  root: ProviderRow;
  /** Providers of the root's tree, by id. */
  tree: ProviderRow[];
  /** Sharing providers outside this tree that share an aggregate with some provider in it. */
  linkedSharing: ProviderRow[];
  /** Parent lookup across every provider known to the request (trees and sharing trees). */
  parentOf(providerId: number): number | null;
}

export interface CombineOptions {
  groups: ResolvedGroup[];
  groupPolicy?: 'none' | 'isolate';
  sameSubtrees: string[][];
  /** From 1.29; before it a candidate may not use two providers of one tree. */
  nestedAware: boolean;
}

/** A way to satisfy one group: what it allocates and which providers it maps to. */
interface GroupOption {
  allocations: Array<[ProviderRow, string, number]>;
  providers: ProviderRow[];
  /** The allocations as a candidate lists them (by provider id, then class), for one-group requests. */
  sorted: CandidateAllocation[];
  /** Uuids of `providers`, sorted (the group's mapping). */
  uuids: string[];
}

function groupOption(allocations: Array<[ProviderRow, string, number]>, providers: ProviderRow[]): GroupOption {
  const sorted = allocations
    .map(([provider, className, amount]) => ({ provider, className, amount }))
    .sort(byProviderThenClass);
  return { allocations, providers, sorted, uuids: providers.map((p) => p.uuid).sort() };
}

const byProviderThenClass = (a: CandidateAllocation, b: CandidateAllocation) =>
  a.provider.id - b.provider.id || (a.className < b.className ? -1 : 1);

/** True when the provider alone can take `amount` of the class now (capacity, min/max unit, step). */
export function fits(provider: ProviderRow, className: string, amount: number): boolean {
  const inv = provider.inventories.get(className);
  if (!inv) return false;
  return withinUnits(amount, inv) && withinCapacity(inv.used, amount, inv.capacity);
}

const hasAny = (set: Set<number>, values: number[]) => values.some((v) => set.has(v));
const inAll = (aggregates: Set<number>, memberOf: number[][]) => memberOf.every((anyOf) => hasAny(aggregates, anyOf));

/**
 * Every allocation request anchored at one root, lazily, in a stable order: groups in request order,
 * within a group providers by id, the first group varying slowest (as itertools.product).
 */
export function* candidatesForRoot(ctx: RootContext, options: CombineOptions): Generator<Candidate> {
  for (const item of walkRoot(ctx, options)) if (item !== PAUSE) yield item;
}

/** Yielded by walkRoot between candidates, so its caller may pause (src/candidates/pacer.ts). */
export const PAUSE = Symbol('pause');

/**
 * One option tried per step of the walk; this many steps without a candidate yield a PAUSE. A tree
 * whose combinations are nearly all ruled out (capacity, isolate, same_subtree) would otherwise walk
 * them all without giving its caller a chance to yield the event loop or check its deadline. A try
 * costs ~0.1 µs, so with the pacer reading its clock every 8 steps it looks every ~0.25 ms, while a
 * pause (a yield through one generator frame per group) stays rare enough not to show in timings.
 */
const TRIES_PER_PAUSE = 256;

/** candidatesForRoot with a PAUSE every TRIES_PER_PAUSE options tried, for the engine, which paces itself. */
export function* walkRoot(ctx: RootContext, options: CombineOptions): Generator<Candidate | typeof PAUSE> {
  const perGroup = optionsPerGroup(ctx, options.groups);
  if (!perGroup) return;
  yield* extend({ ctx, options, perGroup, chosen: [], amounts: new Map(), tries: 0 }, 0);
}

/** The depth-first walk over the groups' options: what is chosen so far and the amounts it adds up to. */
interface Walk {
  ctx: RootContext;
  options: CombineOptions;
  perGroup: GroupOption[][];
  chosen: GroupOption[];
  /** Consolidated amount per `amountKey` over the chosen options (and the one being tried). */
  amounts: Map<string, number>;
  /** Options tried since the last PAUSE. */
  tries: number;
}

/** Each group's ways to be satisfied; undefined as soon as one group has none, since then no candidate exists. */
function optionsPerGroup(ctx: RootContext, groups: ResolvedGroup[]): GroupOption[][] | undefined {
  const perGroup: GroupOption[][] = [];
  for (const group of groups) {
    const groupOptions = group.granular ? granularOptions(ctx, group) : unsuffixedOptions(ctx, group);
    if (groupOptions.length === 0) return undefined;
    perGroup.push(groupOptions);
  }
  return perGroup;
}

/** Choose an option for group `index` and every later one; prune as soon as consolidated amounts stop fitting. */
function* extend(walk: Walk, index: number): Generator<Candidate | typeof PAUSE> {
  if (index === walk.perGroup.length) {
    const candidate = finish(walk);
    if (candidate) yield candidate;
    return;
  }
  for (const option of walk.perGroup[index]) {
    if (++walk.tries >= TRIES_PER_PAUSE) {
      walk.tries = 0;
      yield PAUSE;
    }
    if (!isolated(walk, index, option)) continue;
    if (addAmounts(walk.amounts, option)) {
      walk.chosen.push(option);
      yield* extend(walk, index + 1);
      walk.chosen.pop();
    }
    removeAmounts(walk.amounts, option);
  }
}

/** group_policy=isolate: no two granular groups on one provider (checked as each group is chosen). */
function isolated(walk: Walk, index: number, option: GroupOption): boolean {
  const { groups, groupPolicy } = walk.options;
  if (groupPolicy !== 'isolate' || !groups[index].granular) return true;
  const provider = option.providers[0];
  return walk.chosen.every((other, i) => !groups[i].granular || other.providers[0] !== provider);
}

const amountKey = (provider: ProviderRow, className: string) => `${provider.id}|${className}`;

/** Add the option's amounts; false when a consolidated amount would exceed capacity or max_unit. */
function addAmounts(amounts: Map<string, number>, option: GroupOption): boolean {
  let ok = true;
  for (const [provider, className, amount] of option.allocations) {
    const key = amountKey(provider, className);
    const total = (amounts.get(key) ?? 0) + amount;
    amounts.set(key, total);
    const inv = provider.inventories.get(className)!;
    if (!withinCapacity(inv.used, total, inv.capacity) || total > inv.maxUnit) ok = false;
  }
  return ok;
}

function removeAmounts(amounts: Map<string, number>, option: GroupOption): void {
  for (const [provider, className, amount] of option.allocations) {
    const key = amountKey(provider, className);
    const total = (amounts.get(key) ?? 0) - amount;
    if (total <= 0) amounts.delete(key);
    else amounts.set(key, total);
  }
}

/** The candidate the chosen options make, unless same_subtree or (before 1.29) one-provider-per-tree refuses it. */
function finish(walk: Walk): Candidate | undefined {
  const { ctx, options, chosen } = walk;
  if (!sameSubtreeHolds(chosen, options, ctx)) return undefined;
  // One group (nova's usual request): the option is the candidate; its lists are never changed.
  if (chosen.length === 1) {
    if (!options.nestedAware && usesTwoProvidersOfOneTree(chosen[0].sorted)) return undefined;
    return { allocations: chosen[0].sorted, mappings: [[options.groups[0].suffix, chosen[0].uuids]] };
  }
  const allocations = consolidatedAllocations(chosen);
  if (!options.nestedAware && usesTwoProvidersOfOneTree(allocations)) return undefined;
  return { allocations, mappings: groupMappings(chosen, options.groups) };
}

/** One allocation per provider and class, summed over the groups, ordered by provider id then class name. */
function consolidatedAllocations(chosen: GroupOption[]): CandidateAllocation[] {
  const byKey = new Map<string, CandidateAllocation>();
  for (const option of chosen) {
    for (const [provider, className, amount] of option.allocations) {
      const key = amountKey(provider, className);
      const existing = byKey.get(key);
      if (existing) existing.amount += amount;
      else byKey.set(key, { provider, className, amount });
    }
  }
  return [...byKey.values()].sort(byProviderThenClass);
}

/** Suffix -> uuids of the providers serving that group, in group order (the 1.34 mappings). */
function groupMappings(chosen: GroupOption[], groups: ResolvedGroup[]): Candidate['mappings'] {
  const mappings = new Map<string, Set<string>>();
  chosen.forEach((option, i) => {
    const suffix = groups[i].suffix;
    const set = mappings.get(suffix) ?? new Set<string>();
    for (const provider of option.providers) set.add(provider.uuid);
    mappings.set(suffix, set);
  });
  return [...mappings].map(([suffix, uuids]) => [suffix, [...uuids].sort()]);
}

/** The unsuffixed group: each class from one provider of the tree or a linked sharing provider. */
function unsuffixedOptions(ctx: RootContext, group: ResolvedGroup): GroupOption[] {
  const scope = unsuffixedScope(ctx, group);
  if (scope === 'none') return [];
  const reachable = scope === 'tree' || ctx.linkedSharing.length === 0 ? ctx.tree : [...ctx.tree, ...ctx.linkedSharing];
  const perClass: ProviderRow[][] = [];
  for (const { className, amount } of group.resources) {
    const providers = reachable.filter((p) => fits(p, className, amount) && mayServeUnsuffixed(p, group, ctx));
    if (providers.length === 0) return [];
    perClass.push(providers);
  }
  const options: GroupOption[] = [];
  for (const combination of cartesian(perClass)) {
    // Required traits are satisfied collectively by the providers serving the group.
    if (!group.requiredTraitIds.every((anyOf) => anyOf.some((t) => combination.some((p) => p.traits.has(t))))) continue;
    options.push(
      groupOption(
        combination.map((provider, i) => [provider, group.resources[i].className, group.resources[i].amount]),
        [...new Set(combination)],
      ),
    );
  }
  return options;
}

/**
 * Which providers the unsuffixed group may draw on from this root: none (the root rules it out), the
 * tree's, or the tree's and its linked sharing providers'. Exported, with mayServeUnsuffixed, for the
 * explain view's stage counts (explain-stages.ts).
 */
export function unsuffixedScope(ctx: RootContext, group: ResolvedGroup): 'none' | 'tree' | 'tree+sharing' {
  // in_tree on the unsuffixed group confines it to that tree, sharing providers elsewhere included (Placement).
  if (group.inTreeRootId !== undefined && group.inTreeRootId !== ctx.root.id) return 'none';
  if (hasAny(ctx.root.aggregates, group.forbiddenAggregates)) return 'none';
  return group.inTreeRootId !== undefined ? 'tree' : 'tree+sharing';
}

/** The provider may serve the unsuffixed group anchored at ctx's root: exclusions and member_of (fits judges amounts). */
export function mayServeUnsuffixed(p: ProviderRow, group: ResolvedGroup, ctx: RootContext): boolean {
  // member_of holds for a provider of the tree when it or the anchor root is in the aggregates
  // (Placement's "rp or tree"); a sharing provider from another tree must be in them itself (bug 1792503).
  return (
    !hasAny(p.traits, group.forbiddenTraitIds) &&
    (inAll(p.aggregates, group.memberOf) || (p.rootId === ctx.root.id && inAll(ctx.root.aggregates, group.memberOf))) &&
    !hasAny(p.aggregates, group.forbiddenAggregates)
  );
}

/** A suffixed group: one provider with every class, trait and aggregate the group asks for. */
function granularOptions(ctx: RootContext, group: ResolvedGroup): GroupOption[] {
  return (ctx.linkedSharing.length === 0 ? ctx.tree : [...ctx.tree, ...ctx.linkedSharing])
    .filter((p) => satisfiesSingly(p, group))
    .map((provider) =>
      groupOption(
        group.resources.map((r) => [provider, r.className, r.amount] as [ProviderRow, string, number]),
        [provider],
      ),
    );
}

/** The single-provider test: a suffixed group's, and GET /resource_providers' (read-model/provider-listing.ts). */
export function satisfiesSingly(p: ProviderRow, group: SingleProviderTest): boolean {
  return (
    group.resources.every((r) => fits(p, r.className, r.amount)) &&
    group.requiredTraitIds.every((anyOf) => hasAny(p.traits, anyOf)) &&
    !hasAny(p.traits, group.forbiddenTraitIds) &&
    inAll(p.aggregates, group.memberOf) &&
    !hasAny(p.aggregates, group.forbiddenAggregates) &&
    (group.inTreeRootId === undefined || p.rootId === group.inTreeRootId)
  );
}

function* cartesian<T>(lists: T[][]): Generator<T[]> {
  if (lists.every((list) => list.length === 1)) {
    yield lists.map((list) => list[0]);
    return;
  }
  const picked: T[] = [];
  function* step(i: number): Generator<T[]> {
    if (i === lists.length) {
      yield [...picked];
      return;
    }
    for (const item of lists[i]) {
      picked.push(item);
      yield* step(i + 1);
      picked.pop();
    }
  }
  yield* step(0);
}

/** same_subtree (1.36): the providers of the named groups all descend from one of them. */
function sameSubtreeHolds(chosen: GroupOption[], options: CombineOptions, ctx: RootContext): boolean {
  for (const suffixes of options.sameSubtrees) {
    const ids = new Set<number>();
    chosen.forEach((option, i) => {
      if (suffixes.includes(options.groups[i].suffix)) for (const p of option.providers) ids.add(p.id);
    });
    if (ids.size <= 1) continue;
    const lineages = [...ids].map((id) => ancestry(id, ctx));
    const common = [...ids].filter((candidate) => lineages.every((lineage) => lineage.has(candidate)));
    if (common.length === 0) return false;
  }
  return true;
}

function ancestry(id: number, ctx: RootContext): Set<number> {
  const line = new Set<number>();
  for (let current: number | null = id; current !== null && !line.has(current); current = ctx.parentOf(current))
    line.add(current);
  return line;
}

function usesTwoProvidersOfOneTree(allocations: CandidateAllocation[]): boolean {
  const rootByProvider = new Map<number, number>();
  for (const { provider } of allocations) rootByProvider.set(provider.id, provider.rootId);
  return new Set(rootByProvider.values()).size !== rootByProvider.size;
}
