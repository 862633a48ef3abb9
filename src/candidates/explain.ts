import type { Knex } from 'knex';
import { candidatesIn, readNow, rootContext, type EngineOptions, type EngineResult } from './engine';
import type { ReadModel, ReadView } from '../read-model/read-model';
import { explainProvider, type ProviderExplanation } from './explain-provider';
import { countPassing, TreeJudge, yieldsCandidate, type Verdict } from './explain-judge';
import { groupStages, type GroupStages, type Stage, type StageFilter } from './explain-stages';
import { keepTally, takeTally, Tally } from './explain-tally';
import { rowsKey } from './root-cache';
import type { CombineOptions, RootContext } from './combine';
import type { ProviderRow, ResolvedRequest } from './model';
import { Pacer } from './pacer';
import type { CandidatesRequest } from '../provider-query/request-groups';
import { resolveRequest } from '../provider-query/resolve';

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
  const { view, silent } = await readNow(db, options.model, options.engine);
  const resolved = resolveRequest(view, request);
  const counted = await countStages(view, resolved, silent, request, options);
  const result = await candidatesIn(view, resolved, silent, options.engine);
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
  /** How many tree stages the root passed: which trees the walk was given. */
  depthOf(rootId: number): number;
  contextOf(rootId: number): RootContext | undefined;
}

/**
 * Count every stage in memory over the view the answer comes from: providers for a suffixed group, trees
 * otherwise, each tree through all its stages in turn (only the trees changed since, when this request
 * was explained before: tallyStages).
 */
async function countStages(
  view: ReadView,
  resolved: ResolvedRequest,
  silent: ReadonlySet<number> | undefined,
  request: CandidatesRequest,
  options: ExplainOptions,
): Promise<Counted> {
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
  const judge = new TreeJudge(
    perTree,
    resolved,
    sharing,
    { combine, silent, staleAfterSeconds: options.engine.staleAfterSeconds },
    pacer,
  );
  const tally = await tallyStages(view, judge, planned, sharing, contextOf, pacer);
  const counted = (list: StageWords[], counts: number[]) =>
    list.map((stage, i) => ({ stage: stageCount(stage, counts[i]), emptied: stage.emptied }));
  const groupStagesCounted = planned.map((p, g) => counted(p.stages, tally.groupCounts[g]));
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
    trees: counted(judge.stages, tally.treeCounts),
    sharing: {
      providers: resolved.sharingProviderIds.length,
      trees_needing_sharing: resolved.impossible ? null : tally.needSharing,
    },
    depthOf: (rootId) => tally.depthOf(rootId),
    contextOf,
  };
}

/**
 * Every tree's share of the counts, or only the shares of trees replaced since this request shape was last
 * explained over this view (explain-tally.ts). Not kept while silence is judged (it changes by the minute).
 */
async function tallyStages(
  view: ReadView,
  judge: TreeJudge,
  planned: GroupStages[],
  sharing: ProviderRow[],
  contextOf: (rootId: number) => RootContext | undefined,
  pacer: Pacer,
): Promise<Tally> {
  const key = judge.signature === undefined ? undefined : rowsKey(judge.signature, sharing);
  const version = view.version;
  const known = key === undefined ? undefined : takeTally(key, view);
  const tally =
    known?.tally ??
    new Tally(
      view,
      version,
      planned.map((p) => p.stages.length),
      judge.stages.length,
    );
  const share = new Int32Array(tally.width);
  for (const rootId of known?.changed ?? view.rootIds) {
    const wait = pacer.step();
    if (wait) await wait;
    const ctx = contextOf(rootId);
    if (!ctx) {
      tally.set(rootId, undefined);
      continue;
    }
    const judged = judge.verdict(ctx);
    writeShare(share, ctx, planned, judged instanceof Promise ? await judged : judged);
    tally.set(rootId, share);
  }
  tally.version = version;
  if (key !== undefined) keepTally(key, tally);
  return tally;
}

/** The tree's share of the counts, laid out as Tally says. */
function writeShare(share: Int32Array, ctx: RootContext, planned: GroupStages[], verdict: Verdict): void {
  let at = 0;
  for (let g = 0; g < planned.length; g++) {
    const p = planned[g];
    if (p.unit === 'providers') for (const count of countPassing(ctx.tree, p.stages)) share[at++] = count;
    else for (let i = 0; i < p.stages.length; i++) share[at++] = i < verdict.groups[g] ? 1 : 0;
  }
  share[at++] = verdict.depth;
  share[at] = verdict.needsSharing ? 1 : 0;
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
  const trees = counted.view.rootIds.flatMap((rootId) =>
    counted.depthOf(rootId) >= reached ? (counted.contextOf(rootId) ?? []) : [],
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
