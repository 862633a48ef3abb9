import type { Knex } from 'knex';
import { findCandidates, rootContext, type EngineOptions, type EngineResult } from './engine';
import type { ReadModel, ReadView } from '../read-model/read-model';
import { explainProvider, type ProviderExplanation } from './explain-provider';
import {
  groupStages,
  survivors,
  treeStages,
  yieldsCandidate,
  type Stage,
  type StageFilter,
  type WalkStage,
} from './explain-stages';
import type { CombineOptions, RootContext } from './combine';
import type { ResolvedRequest } from './model';
import { Pacer } from './pacer';
import type { CandidatesRequest } from '../provider-query/request-groups';
import { resolveRequest } from '../provider-query/resolve';
import { silentProviderIds } from '../repo/emplace-heartbeats';

/**
 * GET /emplace/explain/allocation_candidates: how many providers or trees survive each filter of the
 * query, the first filter that left nothing, and (with `provider`) why one provider's tree is not a
 * candidate. The final count comes from running the real engine once with the same options, so it is
 * what GET /allocation_candidates answers; every other count is taken in memory over the read model the
 * engine reads, with the engine's own tests (decision 1500).
 */

export interface StageCount {
  filter: StageFilter;
  resource?: string;
  /** Survivors of this stage and every earlier one. */
  count: number;
  note?: string;
}
export interface GroupExplanation {
  suffix: string;
  unit: 'providers' | 'trees';
  stages: StageCount[];
}

export interface FinalCounts {
  allocation_requests: number;
  provider_summaries: number;
}

export interface EmptiedAt {
  /** The group's suffix ('' for the unsuffixed group); null for a stage of the whole request. */
  group: string | null;
  filter: StageFilter | 'combination';
  message: string;
}

export interface Explanation {
  groups: GroupExplanation[];
  trees: StageCount[];
  sharing: { providers: number; trees_needing_sharing: number | null };
  final: FinalCounts;
  empty_at: EmptiedAt | null;
  provider?: ProviderExplanation;
}

export interface ExplainOptions {
  engine: EngineOptions;
  /** The read model the engine answers from, and the stages are counted over. */
  model: ReadModel;
  /** The response's entry counts for the engine's result, as GET /allocation_candidates serializes it. */
  count(result: EngineResult): FinalCounts;
  provider?: string;
}

export async function explainCandidates(
  db: Knex,
  request: CandidatesRequest,
  options: ExplainOptions,
): Promise<Explanation> {
  const [counted, result] = await Promise.all([
    countStages(db, request, options),
    findCandidates(db, options.model, request, options.engine),
  ]);
  const final = options.count(result);
  const emptyAt = await emptiedAt(counted, request, options, final);
  const explanation: Explanation = {
    groups: counted.groups,
    trees: counted.trees.map(({ stage }) => stage),
    sharing: counted.sharing,
    final,
    empty_at: emptyAt,
  };
  if (options.provider !== undefined) {
    explanation.provider = await explainProvider(db, {
      uuid: options.provider,
      request,
      resolved: counted.resolved,
      view: counted.view,
      engine: options.engine,
      result,
    });
  }
  return explanation;
}

interface CountedStage {
  stage: StageCount;
  emptied: string;
  /** The trees this stage kept (tree stages only), for naming what the walk refused. */
  kept?: RootContext[];
}

interface Counted {
  resolved: ResolvedRequest;
  view: ReadView;
  combine: CombineOptions;
  groupStages: CountedStage[][];
  groups: GroupExplanation[];
  trees: CountedStage[];
  sharing: Explanation['sharing'];
}

/**
 * Resolve the request (one statement), take the read model as of now (one), then count every stage in
 * memory: providers of `view.providers` for a suffixed group, trees of `view.rootIds` otherwise.
 */
async function countStages(db: Knex, request: CandidatesRequest, options: ExplainOptions): Promise<Counted> {
  const [resolved, view, silent] = await Promise.all([
    resolveRequest(db, request),
    options.model.current(),
    silentProviderIds(db, options.engine.staleAfterSeconds),
  ]);
  const pacer = new Pacer(options.engine.timeBudgetMs, options.engine.signal);
  const sharing = resolved.sharingProviderIds.flatMap((id) => view.providers.get(id) ?? []);
  const parents = { get: (id: number) => view.providers.get(id)?.parentId };
  const contexts = view.rootIds.flatMap((rootId) => {
    const tree = view.trees.get(rootId);
    return tree ? [rootContext(tree, sharing, parents)] : [];
  });
  const providers = [...view.providers.values()];
  const groupStagesCounted: CountedStage[][] = [];
  for (const [i, group] of resolved.groups.entries()) {
    const planned = groupStages(group, request.groups[i]);
    groupStagesCounted.push(
      planned.unit === 'providers'
        ? await countEach(providers, planned.stages, pacer)
        : await countEach(contexts, planned.stages, pacer),
    );
  }
  const combine: CombineOptions = {
    groups: resolved.groups,
    groupPolicy: resolved.groupPolicy,
    sameSubtrees: resolved.sameSubtrees,
    nestedAware: options.engine.nestedAware,
  };
  const planned = treeStages(resolved, { combine, silent, staleAfterSeconds: options.engine.staleAfterSeconds });
  const trees = await countEach(contexts, planned, pacer, true);
  const left = trees.at(-1)?.kept ?? [];
  // Trees left that no stage keeps once their linked sharing providers are taken away.
  const alone = left.map((ctx) => ({ ...ctx, linkedSharing: [] }));
  const needSharing =
    sharing.length > 0 ? left.length - (await countEach(alone, planned, pacer)).at(-1)!.stage.count : 0;
  return {
    resolved,
    view,
    combine,
    groupStages: groupStagesCounted,
    groups: resolved.groups.map((group, i) => ({
      suffix: group.suffix,
      unit: group.granular ? 'providers' : 'trees',
      stages: groupStagesCounted[i].map((s) => s.stage),
    })),
    trees,
    sharing: {
      providers: resolved.sharingProviderIds.length,
      trees_needing_sharing: resolved.impossible ? null : needSharing,
    },
  };
}

/** Each stage's survivors among the previous stage's, so the counts only ever fall. */
async function countEach<T>(
  items: T[],
  stages: Array<Stage<T> | WalkStage>,
  pacer: Pacer,
  keep = false,
): Promise<CountedStage[]> {
  const counted: CountedStage[] = [];
  let left = items;
  for (const stage of stages) {
    left = await survivors(left, stage, pacer);
    const count: StageCount = stage.resource
      ? { filter: stage.filter, resource: stage.resource, count: left.length }
      : { filter: stage.filter, count: left.length };
    if (stage.note) count.note = stage.note;
    counted.push({ stage: count, emptied: stage.emptied, kept: keep ? (left as RootContext[]) : undefined });
  }
  return counted;
}

/**
 * The first stage, group by group and then over the whole request, that counted nothing; when the walk
 * (same_subtree's stage, or the engine's final answer) is what left nothing, which of its rules refused.
 */
async function emptiedAt(
  counted: Counted,
  request: CandidatesRequest,
  options: ExplainOptions,
  final: FinalCounts,
): Promise<EmptiedAt | null> {
  for (const [i, stages] of counted.groupStages.entries()) {
    const empty = stages.find((s) => s.stage.count === 0);
    if (empty) return { group: request.groups[i].suffix, filter: empty.stage.filter, message: empty.emptied };
  }
  const at = counted.trees.findIndex((s) => s.stage.count === 0);
  const walked = counted.trees[at]?.stage.filter === 'same_subtree';
  if (at >= 0 && !walked) {
    const empty = counted.trees[at];
    return { group: null, filter: empty.stage.filter, message: empty.emptied };
  }
  if (at < 0 && final.allocation_requests > 0) return null;
  if (at < 0 && options.engine.maxCandidates === 0) {
    return {
      group: null,
      filter: 'combination',
      message: 'max_allocation_candidates is 0: the service offers no candidates.',
    };
  }
  // The trees the walk was given: those before same_subtree's stage, or those every stage kept.
  const trees = (at >= 0 ? counted.trees[at - 1] : counted.trees.at(-1))?.kept ?? [];
  return emptiedWhileCombining(trees, counted.combine, request, options);
}

/**
 * Every counted stage kept some tree, yet the walk found nothing in them: walk them again with
 * group_policy and then same_subtree relaxed (each walk stops at a tree's first candidate) to name
 * which rule it was.
 */
async function emptiedWhileCombining(
  trees: RootContext[],
  combine: CombineOptions,
  request: CandidatesRequest,
  options: ExplainOptions,
): Promise<EmptiedAt> {
  const pacer = new Pacer(options.engine.timeBudgetMs, options.engine.signal);
  const found = async (relaxed: CombineOptions) => {
    for (const ctx of trees) if (await yieldsCandidate(ctx, relaxed, pacer)) return true;
    return false;
  };
  const combination: EmptiedAt = {
    group: null,
    filter: 'combination',
    message: combinationWords(request, options.engine.nestedAware),
  };
  if (!(await found({ ...combine, groupPolicy: 'none', sameSubtrees: [] }))) return combination;
  const subtree = request.sameSubtrees.length > 0;
  if (request.groupPolicy === 'isolate' && (!subtree || !(await found({ ...combine, sameSubtrees: [] })))) {
    return {
      group: null,
      filter: 'group_policy',
      message: 'No tree can serve the suffixed groups with a different provider each (group_policy=isolate).',
    };
  }
  return subtree ? sameSubtreeEmptied(request) : combination;
}

function sameSubtreeEmptied(request: CandidatesRequest): EmptiedAt {
  const sets = request.sameSubtrees.map((s) => s.join(',')).join(' and ');
  return {
    group: null,
    filter: 'same_subtree',
    message: `No combination keeps the groups of same_subtree (${sets}) within one subtree.`,
  };
}

function combinationWords(request: CandidatesRequest, nestedAware: boolean): string {
  const why = [
    'the groups together ask one provider for more than it has free or than max_unit allows',
    ...(request.groups.some((g) => g.suffix === '' && g.requiredTraits.length > 0)
      ? ['the providers serving the unsuffixed group do not have its required traits between them']
      : []),
    ...(nestedAware ? [] : ['before microversion 1.29 a candidate may use only one provider of each tree']),
  ];
  return `Trees pass every filter, but no combination of their providers fits: ${why.join('; or ')}.`;
}
