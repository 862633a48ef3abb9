import type { Request, Response } from 'express';
import { explainCandidates } from '../candidates/explain';
import { parseCandidatesRequest } from '../provider-query/request-groups';
import { CANDIDATES_WORDING } from '../provider-query/wording';
import { inWords } from '../http/domain-errors';
import { ILLEGAL_DUPLICATE_QUERYPARAM } from '../errors/codes';
import { badRequest } from '../errors/http-error';
import { queryEntries } from '../http/query';
import { writeJson } from '../http/respond';
import { hangUpSignal } from '../http/hang-up';
import { canonicalUuid, compileSchema, validateQuery } from '../validation/validator';
import { candidatesCounts, candidatesEngineOptions } from './allocation-candidates';
import { MARKER, querySchema } from './emplace-query';

type ProviderQuery = { provider?: string };
const validateProvider = compileSchema<ProviderQuery>(querySchema({ provider: MARKER }));

/**
 * GET /emplace/explain/allocation_candidates: the query string of GET /allocation_candidates, parsed and
 * validated by the same code at the request's microversion (so the same 400s), plus `provider`.
 */
export async function explainAllocationCandidates(req: Request, res: Response): Promise<void> {
  const entries = queryEntries(req);
  const providerValues = entries.get('provider') ?? [];
  entries.delete('provider');
  if (providerValues.length > 1) {
    throw badRequest("Query parameter 'provider' may be specified only once.", ILLEGAL_DUPLICATE_QUERYPARAM);
  }
  const { provider } = validateQuery<ProviderQuery>(
    validateProvider,
    providerValues.length ? { provider: providerValues[0] } : {},
  );
  const request = parseCandidatesRequest(entries, req.mv);
  const signal = hangUpSignal(res);
  const explanation = await inWords(CANDIDATES_WORDING, () =>
    explainCandidates(req.deps.db, request, {
      engine: candidatesEngineOptions(req, request, signal),
      model: req.deps.readModel,
      count: (result) => candidatesCounts(req, request, result),
      provider: provider === undefined ? undefined : canonicalUuid(provider),
    }),
  );
  signal.throwIfAborted();
  res.setHeader('cache-control', 'no-cache');
  writeJson(res, 200, explanation);
}
