import type { Knex } from 'knex';
import { countStages as countInSql } from '../repo/emplace-explain';
import { findCandidates, type EngineOptions, type EngineResult } from './engine';
import type { ReadModel } from '../read-model/read-model';
import { explainProvider, type ProviderExplanation } from './explain-provider';
import { groupPlans, treePlans, type StageFilter, type StagePlan } from './explain-stages';
import type { ProviderRow, ResolvedRequest } from './model';
import type { CandidatesRequest } from '../provider-query/request-groups';
import { resolveRequest } from '../provider-query/resolve';
import { classNames, fetchSharingTrees } from './tree-query';

/**
 * GET /emplace/explain/allocation_candidates: how many providers or trees survive each filter of the
 * query, the first filter that left nothing, and (with `provider`) why one provider's tree is not a
 * candidate. The final count comes from running the real engine once with the same options, so it is
 * what GET /allocation_candidates answers; every other count is one scalar subquery of ONE statement.
 */

export interface StageCount {
  filter: StageFilter;
  resource?: string;
  /** Survivors of this stage and every earlier one; null where SQL cannot count it (same_subtree). */
  count: number | null;
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
  /** The read model the engine answers from (the explained counts come from PostgreSQL). */
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
  const counted = await db.transaction(async (trx) => countStages(trx, request, options), {
    isolationLevel: 'repeatable read',
    readOnly: true,
  });
  const result = await findCandidates(db, options.model, request, options.engine);
  const final = options.count(result);
  let emptyAt = firstEmptied(counted, request);
  if (!emptyAt && final.allocation_requests === 0) emptyAt = await emptiedWhileCombining(db, request, options);
  const explanation: Explanation = {
    groups: counted.groups,
    trees: counted.trees.map(({ stage }) => stage),
    sharing: counted.sharing,
    final,
    empty_at: emptyAt,
  };
  if (options.provider !== undefined) {
    explanation.provider = await db.transaction(
      async (trx) =>
        explainProvider(trx, {
          uuid: options.provider!,
          request,
          resolved: counted.resolved,
          sharingTrees: counted.sharingTrees,
          engine: options.engine,
          result,
        }),
      { isolationLevel: 'repeatable read', readOnly: true },
    );
  }
  return explanation;
}

interface CountedStage {
  stage: StageCount;
  emptied: string;
}

interface Counted {
  resolved: ResolvedRequest;
  sharingTrees: Map<number, ProviderRow[]>;
  groups: GroupExplanation[];
  groupStages: CountedStage[][];
  trees: CountedStage[];
  sharing: Explanation['sharing'];
}

/** Resolve the request, then count every stage in one statement. */
async function countStages(
  trx: Knex.Transaction,
  request: CandidatesRequest,
  options: ExplainOptions,
): Promise<Counted> {
  const resolved = await resolveRequest(trx, request);
  const sharingTrees = await fetchSharingTrees(trx, resolved.sharingProviderIds, await classNames(trx));
  const sharingIds = new Set(resolved.sharingProviderIds);
  const sharing = [...sharingTrees.values()].flat().filter((p) => sharingIds.has(p.id));
  const perGroup = resolved.groups.map((group, i) =>
    groupPlans(trx, group, request.groups[i], sharing, resolved.sharingProviderIds),
  );
  const trees = treePlans(trx, resolved, sharing, options.engine.staleAfterSeconds);
  const all = [...perGroup.flat(), ...trees.plans];
  const queries = all.flatMap((plan) => (plan.count ? [plan.count] : []));
  if (trees.withoutSharing) queries.push(trees.withoutSharing);
  const counts = await countInSql(trx, queries);
  let next = 0;
  const countOf = (plan: StagePlan) => (plan.count ? counts[next++] : (plan.fixed ?? null));
  const toCounted = (plan: StagePlan): CountedStage => ({
    stage: stageCount(plan, countOf(plan)),
    emptied: plan.emptied,
  });
  const groupStages = perGroup.map((plans) => plans.map(toCounted));
  const treeStages = trees.plans.map(toCounted);
  const lastTrees = [...treeStages].reverse().find((s) => s.stage.count !== null)?.stage.count ?? 0;
  return {
    resolved,
    sharingTrees,
    groups: resolved.groups.map((group, i) => ({
      suffix: group.suffix,
      unit: group.granular ? 'providers' : 'trees',
      stages: groupStages[i].map((s) => s.stage),
    })),
    groupStages,
    trees: treeStages,
    sharing: {
      providers: resolved.sharingProviderIds.length,
      trees_needing_sharing: trees.withoutSharing ? lastTrees - counts[next] : resolved.impossible ? null : 0,
    },
  };
}

function stageCount(plan: StagePlan, count: number | null): StageCount {
  const stage: StageCount = plan.resource
    ? { filter: plan.filter, resource: plan.resource, count }
    : { filter: plan.filter, count };
  if (plan.note) stage.note = plan.note;
  return stage;
}

/** The first stage, group by group and then over the whole request, that counted nothing. */
function firstEmptied(counted: Counted, request: CandidatesRequest): EmptiedAt | null {
  for (const [i, stages] of counted.groupStages.entries()) {
    const empty = stages.find((s) => s.stage.count === 0);
    if (empty) return { group: request.groups[i].suffix, filter: empty.stage.filter, message: empty.emptied };
  }
  const empty = counted.trees.find((s) => s.stage.count === 0);
  return empty ? { group: null, filter: empty.stage.filter, message: empty.emptied } : null;
}

/**
 * Every SQL stage kept some tree, yet the engine found nothing: the verdict came while combining.
 * Ask the engine again with group_policy and then same_subtree relaxed (at most two runs, each
 * stopping at its first candidate) to name which one it was.
 */
async function emptiedWhileCombining(
  db: Knex,
  request: CandidatesRequest,
  options: ExplainOptions,
): Promise<EmptiedAt> {
  const engine: EngineOptions = { ...options.engine, limit: 1, maxCandidates: 1, randomize: false };
  if (options.engine.maxCandidates === 0) {
    return {
      group: null,
      filter: 'combination',
      message: 'max_allocation_candidates is 0: the service offers no candidates.',
    };
  }
  const combination: EmptiedAt = {
    group: null,
    filter: 'combination',
    message: combinationWords(request, options.engine.nestedAware),
  };
  const found = async (r: CandidatesRequest) =>
    (await findCandidates(db, options.model, r, engine)).candidates.length > 0;
  if (!(await found({ ...request, groupPolicy: 'none', sameSubtrees: [] }))) return combination;
  const subtree = request.sameSubtrees.length > 0;
  if (request.groupPolicy === 'isolate' && (!subtree || !(await found({ ...request, sameSubtrees: [] })))) {
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
