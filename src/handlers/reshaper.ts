import type { Request, Response } from 'express';
import { POST_RESHAPER_V1_30, POST_RESHAPER_V1_34, POST_RESHAPER_V1_38 } from '../../api/schemas/reshaper';
import { CONCURRENT_UPDATE } from '../errors/codes';
import { badRequest, conflict } from '../errors/http-error';
import { sendNoContent } from '../http/respond';
import { CANDIDATE_MAPPINGS, CONSUMER_TYPES } from '../microversion/versions';
import {
  AllocationRetriesExhausted,
  UnknownResourceClass,
  resolveIdentities,
  withAllocationRetry,
} from '../repo/allocations';
import type { InventoryInput } from '../repo/inventories';
import { reshape as reshapeInTransaction, type ReshapeInventory } from '../repo/reshaper';
import { UUID_PATTERN, canonicalUuid, compileSchema, validateBody, type JsonSchema } from '../validation/validator';
import { toAllocationWrites, type ConsumerBody } from './allocation-bodies';

interface ReshaperBody {
  inventories: Record<string, { resource_provider_generation: number; inventories: Record<string, InventoryInput> }>;
  allocations: Record<string, ConsumerBody>;
}

const compiled = (schema: JsonSchema) => ({ validate: compileSchema(schema) });
const SCHEMAS = {
  v1_30: compiled(POST_RESHAPER_V1_30),
  v1_34: compiled(POST_RESHAPER_V1_34),
  v1_38: compiled(POST_RESHAPER_V1_38),
};

/** POST /reshaper (1.30): replace inventories of several providers and move allocations with them, atomically. */
export async function reshape(req: Request, res: Response): Promise<void> {
  const { validate } = req.mv.has(CONSUMER_TYPES)
    ? SCHEMAS.v1_38
    : req.mv.has(CANDIDATE_MAPPINGS)
      ? SCHEMAS.v1_34
      : SCHEMAS.v1_30;
  const body = validateBody<ReshaperBody>(validate, req.json);
  const inventories: ReshapeInventory[] = Object.entries(body.inventories).map(([uuid, entry]) => ({
    providerUuid: UUID_PATTERN.test(uuid) ? canonicalUuid(uuid) : uuid,
    generation: entry.resource_provider_generation,
    inventories: entry.inventories,
  }));
  const writes = toAllocationWrites(req, req.deps.config, body.allocations);
  const { db, config } = req.deps;
  try {
    await withAllocationRetry(db, config.allocationConflictRetryCount, async (tx) =>
      reshapeInTransaction(tx, inventories, writes, await resolveIdentities(tx, writes)),
    );
  } catch (error) {
    if (error instanceof UnknownResourceClass) throw badRequest(`malformed reshaper data: ${error.message}`);
    if (error instanceof AllocationRetriesExhausted)
      throw conflict(`update conflict: ${error.message}`, CONCURRENT_UPDATE);
    throw error;
  }
  sendNoContent(res);
}
