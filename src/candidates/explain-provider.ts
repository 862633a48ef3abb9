import type { Knex } from 'knex';
import { aggregateUuids, heartbeatAgeSeconds } from '../repo/emplace-explain';
import { candidatesForRoot, fits, satisfiesSingly, type CombineOptions, type RootContext } from './combine';
import { rootContext, type EngineOptions, type EngineResult } from './engine';
import { groupLabel } from './explain-stages';
import type { Candidate, ProviderRow, ResolvedGroup, ResolvedRequest } from './model';
import type { ReadView } from '../read-model/read-model';
import type { CandidatesRequest, RequestGroup } from '../provider-query/request-groups';

/**
 * `&provider=<uuid>` of the explain view: why that provider's tree anchors no candidate, or why the
 * provider takes part in none, in sentences that name the class, trait or aggregate. The tree is
 * judged by the engine's own combiner (candidatesForRoot), on the read model the engine reads.
 */

export interface ProviderExplanation {
  uuid: string;
  found: boolean;
  root_uuid?: string;
  /** The provider's tree anchors at least one allocation request. */
  tree_is_candidate?: boolean;
  /** The provider is part of at least one allocation request of the response. */
  in_response?: boolean;
  /** Why the tree anchors nothing; empty when it anchors something. */
  tree_reasons: string[];
  /** Per group, what keeps this provider from serving it (from taking each amount, for the unsuffixed group). */
  provider_reasons: string[];
  summary: string;
}

export interface ProviderQuestion {
  uuid: string;
  request: CandidatesRequest;
  resolved: ResolvedRequest;
  view: ReadView;
  engine: EngineOptions;
  result: EngineResult;
}

/** Candidates of one tree looked at to tell whether any uses the provider; a tree rarely has more. */
const MAX_SCAN = 10000;

type Words = (id: number) => string;

export async function explainProvider(db: Knex, q: ProviderQuestion): Promise<ProviderExplanation> {
  const provider = providerByUuid(q.view, q.uuid);
  if (!provider) {
    return {
      uuid: q.uuid,
      found: false,
      tree_reasons: [],
      provider_reasons: [],
      summary: `No provider has uuid ${q.uuid}.`,
    };
  }
  const ctx = contextOf(q.view.trees.get(provider.rootId)!, q);
  const names = await aggregateUuids(
    db,
    q.resolved.groups.flatMap((g) => [...g.memberOf.flat(), ...g.forbiddenAggregates]),
  );
  const aggregate: Words = (id) => names.get(id) ?? String(id);
  const label = (g: ResolvedGroup) => groupLabel(g.suffix);
  const providerReasons = q.resolved.groups.flatMap((g, i) =>
    reasonsOf(provider, g, q.request.groups[i], ctx, aggregate).map((r) => `${label(g)}: ${r}`),
  );
  const treeReasons = [
    ...rootReasons(ctx.root, q.resolved),
    ...(await staleReasons(db, ctx.root, q.engine.staleAfterSeconds)),
    ...q.resolved.groups.flatMap((g, i) =>
      treeGroupReasons(g, q.request.groups[i], ctx, aggregate).map((r) => `${label(g)}: ${r}`),
    ),
  ];
  const combine: CombineOptions = {
    groups: q.resolved.groups,
    groupPolicy: q.resolved.groupPolicy,
    sameSubtrees: q.resolved.sameSubtrees,
    nestedAware: q.engine.nestedAware,
  };
  const anchors = treeReasons.length === 0 && anyCandidate(ctx, combine, () => true);
  if (treeReasons.length === 0 && !anchors) treeReasons.push(combiningReason(ctx, combine));
  const usesProvider = (c: Candidate) => c.allocations.some((a) => a.provider.id === provider.id);
  const usedInTree = anchors && anyCandidate(ctx, combine, usesProvider);
  const inResponse = q.result.candidates.filter(usesProvider).length;
  return {
    uuid: q.uuid,
    found: true,
    root_uuid: ctx.root.uuid,
    tree_is_candidate: anchors,
    in_response: inResponse > 0,
    tree_reasons: treeReasons,
    provider_reasons: providerReasons,
    summary: summary(inResponse, anchors, usedInTree, treeReasons, providerReasons),
  };
}

/** A uuid names one provider; the model is keyed by id, and one scan costs less than a round trip. */
function providerByUuid(view: ReadView, uuid: string): ProviderRow | undefined {
  for (const provider of view.providers.values()) if (provider.uuid === uuid) return provider;
  return undefined;
}

function contextOf(tree: ProviderRow[], q: ProviderQuestion): RootContext {
  const sharing = q.resolved.sharingProviderIds.flatMap((id) => q.view.providers.get(id) ?? []);
  return rootContext(tree, sharing, { get: (id) => q.view.providers.get(id)?.parentId });
}

function summary(
  inResponse: number,
  anchors: boolean,
  usedInTree: boolean,
  treeReasons: string[],
  providerReasons: string[],
): string {
  if (inResponse > 0) return `The provider is part of ${inResponse} of the allocation requests returned.`;
  if (!anchors) return `Its tree anchors no allocation request: ${treeReasons[0]}.`;
  if (usedInTree) {
    return 'Its tree has allocation requests using the provider, but none is among those returned (limit or max_allocation_candidates).';
  }
  const why = providerReasons[0] ?? 'other providers of the tree serve every group';
  return `Its tree anchors allocation requests, but none uses this provider: ${why}.`;
}

/** Why `amount` of the class does not fit on the provider now; undefined when it fits. */
export function amountReason(p: ProviderRow, className: string, amount: number): string | undefined {
  const inv = p.inventories.get(className);
  if (!inv) return `lacks ${className} inventory`;
  if (amount < inv.minUnit) return `${className}: requested ${amount}, below min_unit ${inv.minUnit}`;
  if (amount > inv.maxUnit) return `${className}: requested ${amount}, above max_unit ${inv.maxUnit}`;
  if (amount % inv.stepSize !== 0)
    return `${className}: requested ${amount}, not a multiple of step_size ${inv.stepSize}`;
  if (inv.used + amount > inv.capacity) {
    return `${className}: capacity ${inv.capacity}, used ${inv.used}, requested ${amount}`;
  }
  return undefined;
}

const inAll = (p: ProviderRow, memberOf: number[][]) =>
  memberOf.every((anyOf) => anyOf.some((a) => p.aggregates.has(a)));
const setWords = (anyOf: string[]) => (anyOf.length > 1 ? `any of ${anyOf.join(', ')}` : anyOf[0]);

/**
 * What keeps the provider from serving the group. A suffixed group needs everything on this one
 * provider; the unsuffixed group takes each class from any provider of the tree and its required traits
 * from them together, so only the classes this provider has, and its exclusions, are judged here.
 */
function reasonsOf(p: ProviderRow, g: ResolvedGroup, raw: RequestGroup, ctx: RootContext, aggregate: Words): string[] {
  const reasons: string[] = [];
  const resources = g.granular ? g.resources : g.resources.filter((r) => p.inventories.has(r.className));
  if (!g.granular && resources.length === 0 && g.resources.length > 0) {
    reasons.push(`has none of the classes (${g.resources.map((r) => r.className).join(', ')})`);
  }
  for (const r of resources) {
    const why = amountReason(p, r.className, r.amount);
    if (why) reasons.push(why);
  }
  if (g.granular) {
    g.requiredTraitIds.forEach((anyOf, j) => {
      if (!anyOf.some((t) => p.traits.has(t))) reasons.push(`lacks ${setWords(g.requiredTraits[j])}`);
    });
  }
  g.forbiddenTraitIds.forEach((t, j) => {
    if (p.traits.has(t)) reasons.push(`has ${g.forbiddenTraits[j]}, which the group forbids`);
  });
  // member_of holds for the unsuffixed group when the provider or its tree's root is in the aggregates.
  const rootCounts = !g.granular && p.rootId === ctx.root.id && inAll(ctx.root, g.memberOf);
  g.memberOf.forEach((anyOf, j) => {
    if (!rootCounts && !anyOf.some((a) => p.aggregates.has(a))) {
      reasons.push(`is in none of the aggregates ${raw.memberOf[j].join(', ')}`);
    }
  });
  for (const a of g.forbiddenAggregates) {
    if (p.aggregates.has(a)) reasons.push(`is in aggregate ${aggregate(a)}, which the group forbids`);
  }
  if (raw.inTree !== undefined && p.rootId !== g.inTreeRootId) reasons.push(`is not in the tree of ${raw.inTree}`);
  return reasons;
}

/** Why no provider of the tree (or sharing provider linked to it) can serve the group; empty when some can. */
function treeGroupReasons(g: ResolvedGroup, raw: RequestGroup, ctx: RootContext, aggregate: Words): string[] {
  if (raw.inTree !== undefined && g.inTreeRootId !== ctx.root.id) return [`in_tree asks for the tree of ${raw.inTree}`];
  const reachable = g.inTreeRootId !== undefined && !g.granular ? ctx.tree : [...ctx.tree, ...ctx.linkedSharing];
  const detail = (providers: ProviderRow[], why: (p: ProviderRow) => string[]) =>
    providers
      .slice(0, 10)
      .map((p) => `${p.uuid}: ${why(p).join('; ')}`)
      .join('; ');
  if (g.granular) {
    if (reachable.some((p) => satisfiesSingly(p, g))) return [];
    const why = (p: ProviderRow) => reasonsOf(p, g, raw, ctx, aggregate);
    return [`no provider of the tree can serve it alone (${detail(reachable, why)})`];
  }
  const reasons: string[] = [];
  if (g.forbiddenAggregates.some((a) => ctx.root.aggregates.has(a)))
    reasons.push('the root is in an aggregate the group forbids');
  for (const r of g.resources) {
    const having = reachable.filter((p) => p.inventories.has(r.className));
    const serving = having.filter(
      (p) => fits(p, r.className, r.amount) && reasonsOf(p, g, raw, ctx, aggregate).length === 0,
    );
    if (having.length === 0) reasons.push(`no provider of the tree has ${r.className} inventory`);
    else if (serving.length === 0) {
      const why = (p: ProviderRow) => reasonsOf(p, { ...g, resources: [r] }, raw, ctx, aggregate);
      reasons.push(`no provider of the tree can take ${r.className}:${r.amount} (${detail(having, why)})`);
    }
  }
  g.requiredTraitIds.forEach((anyOf, j) => {
    if (!reachable.some((p) => anyOf.some((t) => p.traits.has(t)))) {
      reasons.push(`the tree lacks ${setWords(g.requiredTraits[j])}`);
    }
  });
  return reasons;
}

function rootReasons(root: ProviderRow, resolved: ResolvedRequest): string[] {
  return [
    ...resolved.rootRequired
      .filter((_, j) => !root.traits.has(resolved.rootRequiredIds[j]))
      .map((t) => `the root lacks ${t} (root_required)`),
    ...resolved.rootForbidden
      .filter((_, j) => root.traits.has(resolved.rootForbiddenIds[j]))
      .map((t) => `the root has ${t}, which root_required forbids`),
  ];
}

async function staleReasons(db: Knex, root: ProviderRow, staleAfter?: number): Promise<string[]> {
  if (staleAfter === undefined) return [];
  const age = await heartbeatAgeSeconds(db, root.id);
  if (age === undefined || age <= staleAfter) return [];
  return [
    `the root's last heartbeat was ${Math.floor(age)} seconds ago, over EMPLACE_STALE_AFTER_SECONDS (${staleAfter})`,
  ];
}

/** Whether the tree yields a candidate satisfying `test` (looking at a bounded number of them). */
function anyCandidate(ctx: RootContext, combine: CombineOptions, test: (c: Candidate) => boolean): boolean {
  let seen = 0;
  for (const candidate of candidatesForRoot(ctx, combine)) {
    if (test(candidate)) return true;
    if (++seen >= MAX_SCAN) return false;
  }
  return false;
}

/** Every provider-level check passes, yet the combiner yields nothing: which request-wide rule refused. */
function combiningReason(ctx: RootContext, combine: CombineOptions): string {
  const relaxed = { ...combine, groupPolicy: 'none' as const, sameSubtrees: [] };
  if (!anyCandidate(ctx, relaxed, () => true)) {
    return 'the groups together ask its providers for more than they have free, or its providers lack the unsuffixed group’s required traits between them'.concat(
      combine.nestedAware ? '' : ', or (before microversion 1.29) a candidate may use only one provider of the tree',
    );
  }
  const subtree = combine.sameSubtrees.length > 0;
  if (
    combine.groupPolicy === 'isolate' &&
    (!subtree || !anyCandidate(ctx, { ...combine, sameSubtrees: [] }, () => true))
  ) {
    return 'group_policy=isolate: it has too few providers to serve each suffixed group with a different one';
  }
  return `same_subtree: no choice keeps ${combine.sameSubtrees.map((s) => s.join(',')).join(' and ')} within one subtree`;
}
