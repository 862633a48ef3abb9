import type { Request, Response } from 'express';
import type { Schemas } from '../../api/types';
import { SET_AGGREGATES_V1_1, SET_AGGREGATES_V1_19 } from '../../api/schemas/aggregates';
import { withTransaction } from '../db/transaction';
import { CONCURRENT_UPDATE } from '../errors/codes';
import { conflict } from '../errors/http-error';
import { providerGenerationChanged } from '../errors/messages';
import { sendJson } from '../http/respond';
import { AGGREGATES_GENERATION } from '../microversion/versions';
import { listProviderAggregates, replaceProviderAggregates } from '../repo/aggregates';
import { lockProvider } from '../repo/providers';
import { bumpProviderGeneration } from '../repo/providers-core';
import { providerFromPath, providerNotFound } from './provider-path';
import { canonicalUuid } from '../validation/validator';
import { compileSchema, validateBody } from '../validation/validator';

const validateSetV1_1 = compileSchema<string[]>(SET_AGGREGATES_V1_1);
const validateSetV1_19 = compileSchema<Schemas['SetProviderAggregates']>(SET_AGGREGATES_V1_19);

/** GET /resource_providers/{uuid}/aggregates (1.1+). */
export async function getAggregates(req: Request, res: Response): Promise<void> {
  const provider = await providerFromPath(req.deps.db, String(req.params.uuid));
  const aggregates = await listProviderAggregates(req.deps.db, provider.id);
  sendAggregates(req, res, aggregates, provider.generation);
}

/**
 * PUT /resource_providers/{uuid}/aggregates (1.1+). From 1.19 the caller's generation must be current
 * and the change bumps it; before, the generation is neither checked nor bumped (Placement's behaviour).
 */
export async function setAggregates(req: Request, res: Response): Promise<void> {
  // Placement looks the provider up before it reads the body: 404 wins over 400.
  const provider = await providerFromPath(req.deps.db, String(req.params.uuid));
  const withGeneration = req.mv.has(AGGREGATES_GENERATION);
  let uuids: string[];
  let expected: number | undefined;
  if (withGeneration) {
    const body = validateBody(validateSetV1_19, req.json);
    if (body.resource_provider_generation !== provider.generation) {
      throw conflict(providerGenerationChanged, CONCURRENT_UPDATE);
    }
    uuids = body.aggregates;
    expected = body.resource_provider_generation;
  } else {
    uuids = validateBody(validateSetV1_1, req.json);
  }
  const aggregates = [...new Set(uuids.map(canonicalUuid))];
  // The provider was read outside the transaction; a DELETE may commit before we write. So take the
  // provider's row lock first, before any link is written: from 1.19 the generation bump does it (and
  // answers 409 if the provider changed or went), before 1.19 a locking re-read (404 if it went).
  const generation = await withTransaction(req.deps.db, async (tx) => {
    let next = provider.generation;
    if (expected !== undefined) next = await bumpProviderGeneration(tx, provider.id, expected);
    else if (!(await lockProvider(tx, provider.id))) throw providerNotFound(provider.uuid);
    await replaceProviderAggregates(tx, provider.id, aggregates);
    return next;
  });
  sendAggregates(req, res, aggregates, generation);
}

function sendAggregates(req: Request, res: Response, aggregates: string[], generation: number): void {
  const body: Schemas['ProviderAggregates'] = { aggregates };
  if (req.mv.has(AGGREGATES_GENERATION)) body.resource_provider_generation = generation;
  // Placement records no time for aggregate links, so last-modified (1.15+) is now.
  sendJson(req, res, 200, body, null);
}
