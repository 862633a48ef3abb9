import type { Request, Response } from 'express';
import { GET_USAGES_V1_38, GET_USAGES_V1_9 } from '../../api/schemas/usages';
import { queryForValidation } from '../http/query';
import { sendJson } from '../http/respond';
import { CONSUMER_TYPES } from '../microversion/versions';
import { pathParam } from '../http/paths';
import { providerFromPath } from './provider-path';
import { providerUsages, totalUsages, usagesByConsumerType } from '../repo/usages';
import { compileSchema, validateQuery } from '../validation/validator';
import { UNKNOWN_CONSUMER_TYPE } from './allocations';

type UsagesQuery = { project_id: string; user_id?: string; consumer_type?: string };
const validateV1_9 = compileSchema<UsagesQuery>(GET_USAGES_V1_9);
const validateV1_38 = compileSchema<UsagesQuery>(GET_USAGES_V1_38);

/** The key that groups everything in GET /usages?consumer_type=all (1.38). */
const ALL_CONSUMER_TYPES = 'all';

/**
 * GET /resource_providers/{uuid}/usages. Usage is "now", so last-modified (1.15+) is the time of
 * the answer, as Placement does.
 */
export async function listProviderUsages(req: Request, res: Response): Promise<void> {
  const uuid = pathParam(req, 'uuid');
  // Placement repeats the lookup error after its own sentence.
  const provider = await providerFromPath(req.deps.db, uuid, 'repeat after colon');
  const rows = await providerUsages(req.deps.db, provider.id);
  const usages = Object.fromEntries(rows.map((row) => [row.resource_class, Number(row.used)]));
  sendJson(req, res, 200, { resource_provider_generation: provider.generation, usages }, null);
}

/** GET /usages?project_id=&user_id= (1.9); from 1.38 grouped by consumer type with consumer_count. */
export async function getTotalUsages(req: Request, res: Response): Promise<void> {
  const byType = req.mv.has(CONSUMER_TYPES);
  const query = validateQuery<UsagesQuery>(byType ? validateV1_38 : validateV1_9, queryForValidation(req));
  const scope = { projectExternalId: query.project_id, userExternalId: query.user_id };
  if (!byType) {
    const rows = await totalUsages(req.deps.db, scope);
    sendJson(
      req,
      res,
      200,
      { usages: Object.fromEntries(rows.map((row) => [row.resource_class, Number(row.used)])) },
      null,
    );
    return;
  }
  const type = query.consumer_type;
  const filter =
    type === undefined
      ? ({ kind: 'every-type' } as const)
      : type === ALL_CONSUMER_TYPES
        ? ({ kind: 'all', key: ALL_CONSUMER_TYPES } as const)
        : type === UNKNOWN_CONSUMER_TYPE
          ? ({ kind: 'untyped', key: UNKNOWN_CONSUMER_TYPE } as const)
          : ({ kind: 'named', name: type } as const);
  const rows = await usagesByConsumerType(req.deps.db, scope, filter, UNKNOWN_CONSUMER_TYPE);
  const usages: Record<string, Record<string, number>> = {};
  for (const row of rows) {
    usages[row.consumer_type] ??= { consumer_count: Number(row.consumer_count) };
    usages[row.consumer_type][row.resource_class] = Number(row.used);
  }
  sendJson(req, res, 200, { usages }, null);
}
