import type { Request, Response } from 'express';
import { POST_RESHAPER_V1_30, POST_RESHAPER_V1_34, POST_RESHAPER_V1_38 } from '../../api/schemas/reshaper';
import { CONCURRENT_UPDATE, INVENTORY_INUSE, RESOURCE_PROVIDER_NOT_FOUND } from '../errors/codes';
import { badRequest, conflict } from '../errors/http-error';
import { CONCURRENT_UPDATE_PROVIDER, inventoryInUse, noSuchProvider, noSuchResourceClass } from '../errors/messages';
import { inWords, type Wording } from '../http/domain-errors';
import { sendNoContent } from '../http/respond';
import { CANDIDATE_MAPPINGS, CONSUMER_TYPES, RESHAPER } from '../microversion/versions';
import { resolveIdentities, withAllocationRetry } from '../repo/allocations';
import type { InventoryInput } from '../repo/inventories';
import { reshape as reshapeInTransaction, type ReshapeInventory } from '../repo/reshaper';
import { UUID_PATTERN, canonicalUuid, schemasByVersion, validateBody } from '../validation/validator';
import { toAllocationWrites, type ConsumerBody } from './allocation-bodies';

interface ReshaperBody {
  inventories: Record<string, { resource_provider_generation: number; inventories: Record<string, InventoryInput> }>;
  allocations: Record<string, ConsumerBody>;
}

/** Placement's reshaper handler words what the repo reports with its own heads. */
const RESHAPER_WORDING: Wording = {
  // The one place Placement uses placement.resource_provider.not_found: a provider named in the body (decision 1200).
  ProviderNotFound: (e) =>
    badRequest(
      `Resource provider ${e.uuid} in inventories not found: ${noSuchProvider(e.uuid)}`,
      RESOURCE_PROVIDER_NOT_FOUND,
    ),
  UnknownResourceClass: (e) => badRequest(`malformed reshaper data: ${noSuchResourceClass(e.className)}`),
  InventoryInUse: (e) =>
    conflict(`update conflict: ${inventoryInUse(e.providerUuid, e.resourceClasses)}`, INVENTORY_INUSE),
  AllocationRetriesExhausted: () => conflict(`update conflict: ${CONCURRENT_UPDATE_PROVIDER}`, CONCURRENT_UPDATE),
};

const reshaperSchema = schemasByVersion<ReshaperBody>([
  [RESHAPER, POST_RESHAPER_V1_30],
  [CANDIDATE_MAPPINGS, POST_RESHAPER_V1_34],
  [CONSUMER_TYPES, POST_RESHAPER_V1_38],
]);

/** POST /reshaper (1.30): replace inventories of several providers and move allocations with them, atomically. */
export async function reshape(req: Request, res: Response): Promise<void> {
  const body = validateBody(reshaperSchema(req.mv), req.json);
  const inventories: ReshapeInventory[] = Object.entries(body.inventories).map(([uuid, entry]) => ({
    providerUuid: UUID_PATTERN.test(uuid) ? canonicalUuid(uuid) : uuid,
    generation: entry.resource_provider_generation,
    inventories: entry.inventories,
  }));
  const writes = toAllocationWrites(req, req.deps.config, body.allocations);
  const { db, config } = req.deps;
  await inWords(RESHAPER_WORDING, () =>
    withAllocationRetry(db, config.allocationConflictRetryCount, async (tx) =>
      reshapeInTransaction(tx, inventories, writes, await resolveIdentities(tx, writes)),
    ),
  );
  sendNoContent(res);
}
