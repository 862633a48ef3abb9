import type { Request, Response } from 'express';
import {
  POST_ALLOCATIONS_V1_13,
  POST_ALLOCATIONS_V1_28,
  POST_ALLOCATIONS_V1_34,
  POST_ALLOCATIONS_V1_38,
  PUT_ALLOCATIONS_V1_0,
  PUT_ALLOCATIONS_V1_12,
  PUT_ALLOCATIONS_V1_28,
  PUT_ALLOCATIONS_V1_34,
  PUT_ALLOCATIONS_V1_38,
  PUT_ALLOCATIONS_V1_8,
} from '../../api/schemas/allocations';
import { badRequest, notFound } from '../errors/http-error';
import { noAllocationsForConsumer, noSuchResourceClass } from '../errors/messages';
import { inWords } from '../http/domain-errors';
import { newest, sendJson, sendNoContent } from '../http/respond';
import {
  ALLOCATION_PROJECT_USER_REQUIRED,
  ALLOCATIONS_DICT_FORM,
  CANDIDATE_MAPPINGS,
  CONSUMER_GENERATION,
  CONSUMER_TYPES,
  MIN_VERSION,
  POST_ALLOCATIONS,
} from '../microversion/versions';
import {
  deleteAllocationsForConsumer,
  replaceAllocations,
  resolveIdentities,
  withAllocationRetry,
  type AllocationWrite,
} from '../repo/allocations';
import { allocationsForConsumer, allocationsForProvider } from '../repo/allocation-reads';
import { pathParam } from '../http/paths';
import { refuse, uuidParam, type PathParams } from '../http/path-params';
import { canonicalUuid, schemasByVersion, validateBody } from '../validation/validator';
import { providerFromPath } from './provider-path';
import { malformedConsumerUuid, toAllocationWrite, toAllocationWrites, type ConsumerBody } from './allocation-bodies';

/** Placement's name for consumers that never had a type (allocations written before 1.38). */
export const UNKNOWN_CONSUMER_TYPE = 'unknown';

const putSchema = schemasByVersion<ConsumerBody>([
  [MIN_VERSION, PUT_ALLOCATIONS_V1_0],
  [ALLOCATION_PROJECT_USER_REQUIRED, PUT_ALLOCATIONS_V1_8],
  [ALLOCATIONS_DICT_FORM, PUT_ALLOCATIONS_V1_12],
  [CONSUMER_GENERATION, PUT_ALLOCATIONS_V1_28],
  [CANDIDATE_MAPPINGS, PUT_ALLOCATIONS_V1_34],
  [CONSUMER_TYPES, PUT_ALLOCATIONS_V1_38],
]);
const postSchema = schemasByVersion<Record<string, ConsumerBody>>([
  [POST_ALLOCATIONS, POST_ALLOCATIONS_V1_13],
  [CONSUMER_GENERATION, POST_ALLOCATIONS_V1_28],
  [CANDIDATE_MAPPINGS, POST_ALLOCATIONS_V1_34],
  [CONSUMER_TYPES, POST_ALLOCATIONS_V1_38],
]);

/** How each /allocations/{consumer_uuid} method answers a segment that is no uuid, as Placement does. */
// Placement cannot tell a malformed consumer id from an unknown one here: both have no allocations.
export const CONSUMER_TO_LIST: PathParams = { consumer_uuid: uuidParam((req, res) => sendForConsumer(req, res, [])) };
export const CONSUMER_TO_SET: PathParams = { consumer_uuid: uuidParam(refuse(malformedConsumerUuid)) };
export const CONSUMER_TO_DELETE: PathParams = {
  consumer_uuid: uuidParam(refuse((raw) => notFound(noAllocationsForConsumer(raw)))),
};

/** GET /allocations/{consumer_uuid}: by provider; project/user from 1.12, generation 1.28, type 1.38. */
export async function listForConsumer(req: Request, res: Response): Promise<void> {
  const consumerUuid = canonicalUuid(pathParam(req, 'consumer_uuid'));
  await sendForConsumer(req, res, await allocationsForConsumer(req.deps.db, consumerUuid));
}

async function sendForConsumer(
  req: Request,
  res: Response,
  rows: Awaited<ReturnType<typeof allocationsForConsumer>>,
): Promise<void> {
  const allocations: Record<string, { generation: number; resources: Record<string, number> }> = {};
  for (const row of rows) {
    allocations[row.provider_uuid] ??= { generation: row.provider_generation, resources: {} };
    allocations[row.provider_uuid].resources[row.resource_class] = row.used;
  }
  const body: Record<string, unknown> = { allocations };
  if (rows.length > 0 && req.mv.has(ALLOCATIONS_DICT_FORM)) {
    body.project_id = rows[0].project_external_id;
    body.user_id = rows[0].user_external_id;
    if (req.mv.has(CONSUMER_GENERATION)) body.consumer_generation = rows[0].consumer_generation;
    if (req.mv.has(CONSUMER_TYPES)) body.consumer_type = rows[0].consumer_type ?? UNKNOWN_CONSUMER_TYPE;
  }
  sendJson(req, res, 200, body, newest(rows.map((row) => row.updated_at)));
}

/** GET /resource_providers/{uuid}/allocations: by consumer, with the provider generation. */
export async function listForResourceProvider(req: Request, res: Response): Promise<void> {
  const uuid = pathParam(req, 'uuid');
  const provider = await providerFromPath(req.deps.db, uuid, 'allocations');
  const rows = await allocationsForProvider(req.deps.db, provider.id);
  const allocations: Record<string, { resources: Record<string, number>; consumer_generation?: number }> = {};
  for (const row of rows) {
    allocations[row.consumer_uuid] ??= { resources: {} };
    allocations[row.consumer_uuid].resources[row.resource_class] = row.used;
    if (req.mv.has(CONSUMER_GENERATION)) allocations[row.consumer_uuid].consumer_generation = row.consumer_generation;
  }
  const body = { allocations, resource_provider_generation: provider.generation };
  sendJson(req, res, 200, body, newest(rows.map((row) => row.updated_at)));
}

/** PUT /allocations/{consumer_uuid}: replace one consumer's allocations (empty from 1.28: remove them). */
export async function setAllocationsForConsumer(req: Request, res: Response): Promise<void> {
  const consumerUuid = canonicalUuid(pathParam(req, 'consumer_uuid'));
  const body = validateBody(putSchema(req.mv), req.json);
  const write = toAllocationWrite(req, req.deps.config, consumerUuid, body);
  await writeWithPlacementErrors(
    req,
    [write],
    (name) => `Unable to allocate inventory for consumer ${consumerUuid}: ${noSuchResourceClass(name)}`,
  );
  sendNoContent(res);
}

/** POST /allocations (1.13): several consumers at once, atomically (e.g. moving a claim to a migration). */
export async function setAllocations(req: Request, res: Response): Promise<void> {
  const body = validateBody(postSchema(req.mv), req.json);
  const writes = toAllocationWrites(req, req.deps.config, body);
  await writeWithPlacementErrors(req, writes, (name) => `Unable to allocate inventory ${noSuchResourceClass(name)}`);
  sendNoContent(res);
}

async function writeWithPlacementErrors(
  req: Request,
  writes: AllocationWrite[],
  unknownClass: (name: string) => string,
): Promise<void> {
  const { db, config } = req.deps;
  await inWords({ UnknownResourceClass: (e) => badRequest(unknownClass(e.className)) }, () =>
    withAllocationRetry(db, config.allocationConflictRetryCount, async (tx) =>
      replaceAllocations(tx, writes, await resolveIdentities(tx, writes)),
    ),
  );
}

/** DELETE /allocations/{consumer_uuid}: 404 when the consumer holds nothing. */
export async function deleteAllocations(req: Request, res: Response): Promise<void> {
  const consumerUuid = canonicalUuid(pathParam(req, 'consumer_uuid'));
  const { db, config } = req.deps;
  await inWords({}, () =>
    withAllocationRetry(db, config.allocationConflictRetryCount, (tx) =>
      deleteAllocationsForConsumer(tx, consumerUuid),
    ),
  );
  sendNoContent(res);
}
