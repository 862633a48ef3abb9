import type { Request, Response } from 'express';
import { writeJson } from '../http/respond';
import {
  crossTreeConsumers,
  draining,
  emptyConsumers,
  overCapacity,
  unusedResourceClasses,
  unusedTraits,
} from '../repo/emplace-audit';
import { compileSchema } from '../validation/validator';
import { LIMIT, pageLimit, querySchema, readQuery } from './emplace-query';

type AuditQuery = { limit?: string };
const validateAudit = compileSchema<AuditQuery>(querySchema({ limit: LIMIT }));
const DEFAULT_LIMIT = 100;

/**
 * GET /emplace/audit: what an operator should look at, each section with its full count and the first
 * `limit` items (ids included), all read from one snapshot so the sections agree.
 */
export async function showAudit(req: Request, res: Response): Promise<void> {
  const query = readQuery(req, validateAudit);
  const limit = pageLimit(query.limit, DEFAULT_LIMIT);
  const body = await req.deps.db.transaction(
    async (trx) => ({
      limit,
      over_capacity: await overCapacity(trx, limit),
      draining: await draining(trx, limit),
      cross_tree_consumers: await crossTreeConsumers(trx, limit),
      empty_consumers: await emptyConsumers(trx, limit),
      unused_resource_classes: await unusedResourceClasses(trx, limit),
      unused_traits: await unusedTraits(trx, limit),
    }),
    { isolationLevel: 'repeatable read', readOnly: true },
  );
  res.setHeader('cache-control', 'no-cache');
  writeJson(res, 200, body);
}
