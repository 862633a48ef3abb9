import type { Request, Response } from 'express';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { findCandidates, type EngineOptions, type EngineResult } from '../candidates/engine';
import { parseCandidatesRequest, type CandidatesRequest } from '../provider-query/request-groups';
import { allocationRequestsJson, providerSummariesJson, type ResponseShape } from '../candidates/serialize';
import { inWords } from '../http/domain-errors';
import { CANDIDATES_WORDING } from '../provider-query/wording';
import { queryEntries } from '../http/query';
import { sendJsonParts } from '../http/respond';
import { hangUpSignal } from '../http/hang-up';
import { observeCandidates } from '../metrics/metrics';
import {
  ALLOCATIONS_DICT_FORM,
  CANDIDATE_MAPPINGS,
  CANDIDATES_REQUIRED_TRAITS,
  NESTED_CANDIDATES,
  SUMMARIES_ALL_INVENTORIES,
} from '../microversion/versions';

/**
 * Over its time budget the request is refused whole rather than answered with whatever was found by
 * then: a partial list would change the answer depending on load (docs/decisions/0900).
 */
/** GET /allocation_candidates (1.10+): allocation requests that fit, and summaries of the providers involved. */
export async function listAllocationCandidates(req: Request, res: Response): Promise<void> {
  const request = parseCandidatesRequest(queryEntries(req), req.mv);
  const started = process.hrtime.bigint();
  const signal = hangUpSignal(res);
  const result = await inWords(CANDIDATES_WORDING, () =>
    findCandidates(req.deps.db, req.deps.readModel, request, candidatesEngineOptions(req, request, signal)),
  );
  const shape = responseShape(req);
  const summaries = summariesOf(request, result, shape);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  observeCandidates(seconds, result.candidates.length, summaries.count, result.capReached);
  const parts = [Buffer.from('{"allocation_requests":[')];
  for (let i = 0; i < result.candidates.length; i += SERIALIZE_SLICE) {
    if (i > 0) await nextTurn();
    signal.throwIfAborted();
    const slice = allocationRequestsJson(result.candidates.slice(i, i + SERIALIZE_SLICE), shape);
    parts.push(Buffer.from((i > 0 ? ',' : '') + slice));
  }
  parts.push(Buffer.from(`],"provider_summaries":${summaries.json}}`));
  sendJsonParts(req, res, 200, parts, null);
}

/**
 * Candidates serialised per turn of the event loop: a capped answer is megabytes of JSON, and one
 * JSON.stringify of all of it would stall every other request for tens of milliseconds.
 */
const SERIALIZE_SLICE = 200;

/** How the engine runs for this request; GET /emplace/explain/allocation_candidates runs it the same way. */
export function candidatesEngineOptions(req: Request, request: CandidatesRequest, signal: AbortSignal): EngineOptions {
  const { config } = req.deps;
  return {
    limit: request.limit,
    maxCandidates: config.maxAllocationCandidates,
    randomize: config.randomizeAllocationCandidates,
    strategy: config.candidatesGenerationStrategy,
    nestedAware: req.mv.has(NESTED_CANDIDATES),
    staleAfterSeconds: config.staleAfterSeconds,
    timeBudgetMs: config.candidatesTimeBudgetMs || undefined,
    signal,
  };
}

/** How many entries the response body has at this microversion (the explain view reports them). */
export function candidatesCounts(
  req: Request,
  request: CandidatesRequest,
  result: EngineResult,
): { allocation_requests: number; provider_summaries: number } {
  const summaries = summariesOf(request, result, responseShape(req));
  return { allocation_requests: result.candidates.length, provider_summaries: summaries.count };
}

function responseShape(req: Request): ResponseShape {
  return {
    dictForm: req.mv.has(ALLOCATIONS_DICT_FORM),
    mappings: req.mv.has(CANDIDATE_MAPPINGS),
    traits: req.mv.has(CANDIDATES_REQUIRED_TRAITS),
    allResources: req.mv.has(SUMMARIES_ALL_INVENTORIES),
    tree: req.mv.has(NESTED_CANDIDATES),
    wholeTrees: req.mv.has(NESTED_CANDIDATES),
  };
}

function summariesOf(
  request: CandidatesRequest,
  result: EngineResult,
  shape: ResponseShape,
): { json: string; count: number } {
  const requestedClasses = new Set(request.groups.flatMap((group) => [...group.resources.keys()]));
  return providerSummariesJson(result.candidates, result.trees, requestedClasses, shape, result.traitNames);
}
