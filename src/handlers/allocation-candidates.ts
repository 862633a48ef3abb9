import type { Request, Response } from 'express';
import { findCandidates, type EngineOptions, type EngineResult } from '../candidates/engine';
import { parseCandidatesRequest, type CandidatesRequest } from '../candidates/request-groups';
import { allocationRequestsBody, providerSummariesBody, type ResponseShape } from '../candidates/serialize';
import { queryEntries } from '../http/query';
import { sendJson } from '../http/respond';
import { observeCandidates } from '../metrics/metrics';
import {
  ALLOCATIONS_DICT_FORM,
  CANDIDATE_MAPPINGS,
  CANDIDATES_REQUIRED_TRAITS,
  NESTED_CANDIDATES,
  SUMMARIES_ALL_INVENTORIES,
} from '../microversion/versions';

/** GET /allocation_candidates (1.10+): allocation requests that fit, and summaries of the providers involved. */
export async function listAllocationCandidates(req: Request, res: Response): Promise<void> {
  const request = parseCandidatesRequest(queryEntries(req), req.mv);
  const started = process.hrtime.bigint();
  const result = await findCandidates(req.deps.db, request, candidatesEngineOptions(req, request));
  const body = candidatesBody(req, request, result);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  observeCandidates(seconds, result.candidates.length, Object.keys(body.provider_summaries).length, result.capReached);
  sendJson(req, res, 200, body, null);
}

/** How the engine runs for this request; GET /emplace/explain/allocation_candidates runs it the same way. */
export function candidatesEngineOptions(req: Request, request: CandidatesRequest): EngineOptions {
  const { config } = req.deps;
  return {
    limit: request.limit,
    maxCandidates: config.maxAllocationCandidates,
    randomize: config.randomizeAllocationCandidates,
    strategy: config.candidatesGenerationStrategy,
    nestedAware: req.mv.has(NESTED_CANDIDATES),
    staleAfterSeconds: config.staleAfterSeconds,
  };
}

/** The response body for the microversion (the explain view counts its entries). */
export function candidatesBody(
  req: Request,
  request: CandidatesRequest,
  result: EngineResult,
): { allocation_requests: unknown[]; provider_summaries: Record<string, unknown> } {
  const shape: ResponseShape = {
    dictForm: req.mv.has(ALLOCATIONS_DICT_FORM),
    mappings: req.mv.has(CANDIDATE_MAPPINGS),
    traits: req.mv.has(CANDIDATES_REQUIRED_TRAITS),
    allResources: req.mv.has(SUMMARIES_ALL_INVENTORIES),
    tree: req.mv.has(NESTED_CANDIDATES),
    wholeTrees: req.mv.has(NESTED_CANDIDATES),
  };
  const requestedClasses = new Set(request.groups.flatMap((group) => [...group.resources.keys()]));
  return {
    allocation_requests: allocationRequestsBody(result.candidates, shape),
    provider_summaries: providerSummariesBody(result.candidates, result.trees, requestedClasses, shape) as Record<
      string,
      unknown
    >,
  };
}
