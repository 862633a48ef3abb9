import type { Request, Response } from 'express';
import { findCandidates } from '../candidates/engine';
import { parseCandidatesRequest } from '../provider-query/request-groups';
import { allocationRequestsBody, providerSummariesBody, type ResponseShape } from '../candidates/serialize';
import { inWords } from '../http/domain-errors';
import { CANDIDATES_WORDING } from '../provider-query/wording';
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
  const { config } = req.deps;
  const started = process.hrtime.bigint();
  const result = await inWords(CANDIDATES_WORDING, () =>
    findCandidates(req.deps.db, request, {
      limit: request.limit,
      maxCandidates: config.maxAllocationCandidates,
      randomize: config.randomizeAllocationCandidates,
      strategy: config.candidatesGenerationStrategy,
      nestedAware: req.mv.has(NESTED_CANDIDATES),
      staleAfterSeconds: config.staleAfterSeconds,
    }),
  );
  const shape: ResponseShape = {
    dictForm: req.mv.has(ALLOCATIONS_DICT_FORM),
    mappings: req.mv.has(CANDIDATE_MAPPINGS),
    traits: req.mv.has(CANDIDATES_REQUIRED_TRAITS),
    allResources: req.mv.has(SUMMARIES_ALL_INVENTORIES),
    tree: req.mv.has(NESTED_CANDIDATES),
    wholeTrees: req.mv.has(NESTED_CANDIDATES),
  };
  const requestedClasses = new Set(request.groups.flatMap((group) => [...group.resources.keys()]));
  const summaries = providerSummariesBody(result.candidates, result.trees, requestedClasses, shape, result.traitNames);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  observeCandidates(seconds, result.candidates.length, Object.keys(summaries).length, result.capReached);
  sendJson(
    req,
    res,
    200,
    { allocation_requests: allocationRequestsBody(result.candidates, shape), provider_summaries: summaries },
    null,
  );
}
