import type { Knex } from 'knex';
import { findCandidates, rootContext, type EngineOptions, type EngineResult } from './engine';
import type { ReadModel, ReadView } from '../read-model/read-model';
import { explainProvider, type ProviderExplanation } from './explain-provider';
import { countPassing, TreeJudge, yieldsCandidate } from './explain-judge';
import { groupStages, type Stage, type StageFilter } from './explain-stages';
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
}

interface Counted {
  resolved: ResolvedRequest;
  view: ReadView;
  combine: CombineOptions;
  groupStages: CountedStage[][];
  groups: GroupExplanation[];
  trees: CountedStage[];
  sharing: Explanation['sharing'];
  /** The roots, in the order counted, and how many tree stages each passed: what the walk was given. */
  rootIds: readonly number[];
  depth: Uint16Array;
  contextOf(rootId: number): RootContext | undefined;
}

/**
 * Take the read model as of now (one statement) and resolve the request in it, then count every stage in
 * memory: providers of `view.providers` for a suffixed group, trees of `view.rootIds` otherwise. Each tree
 * goes through all its stages in turn, so nothing built for it outlives its turn.
 */
async function countStages(db: Knex, request: CandidatesRequest, options: ExplainOptions): Promise<Counted> {
  const [view, silent] = await Promise.all([
    options.model.current(),
    silentProviderIds(db, options.engine.staleAfterSeconds),
  ]);
  const resolved = resolveRequest(view, request);
  const pacer = new Pacer(options.engine.timeBudgetMs, options.engine.signal);
  const sharing = resolved.sharingProviderIds.flatMap((id) => view.providers.get(id) ?? []);
  const parents = { get: (id: number) => view.providers.get(id)?.parentId };
  const contextOf = (rootId: number) => {
    const tree = view.trees.get(rootId);
    return tree && rootContext(tree, sharing, parents);
  };
  const combine: CombineOptions = {
    groups: resolved.groups,
    groupPolicy: resolved.groupPolicy,
    sameSubtrees: resolved.sameSubtrees,
    nestedAware: options.engine.nestedAware,
  };
  const planned = resolved.groups.map((group, i) => groupStages(group, request.groups[i]));
  const perTree = planned.map((p) => (p.unit === 'trees' ? p.stages : []));
  const groupCounts = planned.map((p) =>
    p.unit === 'providers' ? countPassing(view.providers.values(), p.stages) : p.stages.map(() => 0),
  );
  const judge = new TreeJudge(
    perTree,
    resolved,
    sharing,
    { combine, silent, staleAfterSeconds: options.engine.staleAfterSeconds },
    pacer,
  );
  const { stages } = judge;
  const treeCounts = stages.map(() => 0);
  const { rootIds } = view;
  const depth = new Uint16Array(rootIds.length);
  let needSharing = 0;
  for (let n = 0; n < rootIds.length; n++) {
    const wait = pacer.step();
    if (wait) await wait;
    const ctx = contextOf(rootIds[n]);
    if (!ctx) continue;
    const judged = judge.verdict(ctx);
    const verdict = judged instanceof Promise ? await judged : judged;
    for (let g = 0; g < verdict.groups.length; g++) {
      for (let i = verdict.groups[g] - 1; i >= 0; i--) groupCounts[g][i]++;
    }
    depth[n] = verdict.depth;
    for (let i = verdict.depth - 1; i >= 0; i--) treeCounts[i]++;
    if (verdict.needsSharing) needSharing++;
  }
  const counted = (list: StageWords[], counts: number[]) =>
    list.map((stage, i) => ({ stage: stageCount(stage, counts[i]), emptied: stage.emptied }));
  const groupStagesCounted = planned.map((p, g) => counted(p.stages, groupCounts[g]));
  return {
    resolved,
    view,
    combine,
    groupStages: groupStagesCounted,
    groups: resolved.groups.map((group, i) => ({
      suffix: group.suffix,
      unit: planned[i].unit,
      stages: groupStagesCounted[i].map((s) => s.stage),
    })),
    trees: counted(stages, treeCounts),
    sharing: {
      providers: resolved.sharingProviderIds.length,
      trees_needing_sharing: resolved.impossible ? null : needSharing,
    },
    rootIds,
    depth,
    contextOf,
  };
}

type StageWords = Omit<Stage<unknown>, 'keeps'>;

function stageCount(stage: StageWords, count: number): StageCount {
  const counted: StageCount = stage.resource
    ? { filter: stage.filter, resource: stage.resource, count }
    : { filter: stage.filter, count };
  if (stage.note) counted.note = stage.note;
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
  // The trees the walk was given: those reaching same_subtree's stage, or those every stage kept.
  const reached = at >= 0 ? at : counted.trees.length;
  const trees = counted.rootIds.flatMap((rootId, n) =>
    counted.depth[n] >= reached ? (counted.contextOf(rootId) ?? []) : [],
  );
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
