import type { Request, Response } from 'express';
import { RC_PATTERN } from '../../api/schemas/names';
import { createInventorySchema, setInventoriesSchema, updateInventorySchema } from '../../api/schemas/inventories';
import { withTransaction } from '../db/transaction';
import { CONCURRENT_UPDATE, INVENTORY_INUSE } from '../errors/codes';
import { badRequest, conflict, notFound } from '../errors/http-error';
import {
  PROVIDER_GENERATION_CONFLICT,
  inventoryInUse,
  noSuchResourceClass,
  reservedExceedsTotal,
} from '../errors/messages';
import { UnknownResourceClass } from '../errors/domain';
import { inWords, type Wording } from '../http/domain-errors';
import { absoluteUrl, pathParam, segment } from '../http/paths';
import { NO_LAST_MODIFIED, newest, sendJson, sendNoContent } from '../http/respond';
import { RESERVED_EQUALS_TOTAL } from '../microversion/versions';
import {
  assertCapacity,
  deleteInventoryRows,
  readInventories,
  readInventory,
  replaceInventories,
  upsertInventories,
  withDefaults,
  type InventoryInput,
  type InventoryRecord,
  type InventoryValues,
} from '../repo/inventories';
import { resourceClassIds } from '../repo/names';
import { bumpProviderGeneration } from '../repo/providers-core';
import { compileSchema, validateBody } from '../validation/validator';
import { providerFromPath } from './provider-path';

type UpdateInventoryBody = InventoryInput & { resource_provider_generation: number };
type CreateInventoryBody = InventoryInput & { resource_class: string; resource_provider_generation?: number };
interface SetInventoriesBody {
  resource_provider_generation: number;
  inventories: Record<string, InventoryInput>;
}

const validateUpdate = compileSchema<UpdateInventoryBody>(updateInventorySchema);
const validateCreate = compileSchema<CreateInventoryBody>(createInventorySchema);
const validateSet = compileSchema<SetInventoriesBody>(setInventoriesSchema);

const FIELDS = ['total', 'reserved', 'min_unit', 'max_unit', 'step_size', 'allocation_ratio'] as const;

function serializeInventory(inventory: InventoryValues): InventoryValues {
  return Object.fromEntries(FIELDS.map((field) => [field, inventory[field]])) as unknown as InventoryValues;
}

function sendInventories(req: Request, res: Response, generation: number, inventories: InventoryRecord[]): void {
  const body = {
    inventories: Object.fromEntries(inventories.map((inv) => [inv.resource_class, serializeInventory(inv)])),
    resource_provider_generation: generation,
  };
  const stamps = inventories.map((inv) => inv.updated_at ?? inv.created_at);
  sendJson(req, res, 200, body, inventories.length === 0 ? NO_LAST_MODIFIED : newest(stamps));
}

function sendInventory(
  req: Request,
  res: Response,
  status: number,
  generation: number,
  inventory: InventoryRecord,
): void {
  const body = { ...serializeInventory(inventory), resource_provider_generation: generation };
  sendJson(req, res, status, body, inventory.updated_at ?? inventory.created_at);
}

function generationConflict() {
  return conflict(PROVIDER_GENERATION_CONFLICT, CONCURRENT_UPDATE);
}

/**
 * How Placement's inventory handlers word what the repo reports. Each handler puts its own head before the
 * shared sentence; `uuid` is the provider in the path.
 */
function inventoryWording(uuid: string, action: 'create' | 'update' | 'delete', resourceClass?: string): Wording {
  return {
    ReservedExceedsTotal: (e) =>
      badRequest(
        reservedExceedsTotal(
          action === 'create' ? 'create' : 'update',
          e.providerUuid,
          e.resourceClass,
          e.reservedMayEqualTotal,
        ),
      ),
    UnknownResourceClass: (e) =>
      badRequest(
        `Unknown resource class in inventory for resource provider ${uuid}: ${noSuchResourceClass(e.className)}`,
      ),
    InventoryInUse: (e) => {
      const head = action === 'delete' ? `Unable to delete inventory of class ${resourceClass}: ` : 'update conflict: ';
      return conflict(head + inventoryInUse(e.providerUuid, e.resourceClasses), INVENTORY_INUSE);
    },
  };
}

/** GET /resource_providers/{uuid}/inventories */
export async function getInventories(req: Request, res: Response): Promise<void> {
  const uuid = pathParam(req, 'uuid');
  const { db } = req.deps;
  const provider = await providerFromPath(db, uuid, 'repeat after spaced colon');
  sendInventories(req, res, provider.generation, await readInventories(db, provider.id));
}

/** GET /resource_providers/{uuid}/inventories/{resource_class} */
export async function getInventory(req: Request, res: Response): Promise<void> {
  const uuid = pathParam(req, 'uuid');
  const resourceClass = pathParam(req, 'resource_class');
  const { db } = req.deps;
  const provider = await providerFromPath(db, uuid, 'repeat after spaced colon');
  const inventory = await readInventory(db, provider.id, resourceClass);
  if (!inventory) throw notFound(`No inventory of class ${resourceClass} for ${uuid}`);
  sendInventory(req, res, 200, provider.generation, inventory);
}

/**
 * POST /resource_providers/{uuid}/inventories: add one class. The generation is optional in the body;
 * when given it is checked, as the api-ref calls it a consistent view marker.
 */
export async function createInventory(req: Request, res: Response): Promise<void> {
  const uuid = pathParam(req, 'uuid');
  const { db } = req.deps;
  const [provider, inventory] = await inWords(inventoryWording(uuid, 'create'), () =>
    withTransaction(db, async (tx) => {
      const current = await providerFromPath(tx, uuid);
      const {
        resource_class: resourceClass,
        resource_provider_generation: expected,
        ...input
      } = validateBody(validateCreate, req.json);
      const values = withDefaults(input);
      assertCapacity(current, { [resourceClass]: values }, req.mv.has(RESERVED_EQUALS_TOTAL));
      if (expected !== undefined && expected !== current.generation) throw generationConflict();
      const classId = (await resourceClassIds(tx, [resourceClass], { lock: true })).get(resourceClass);
      if (classId === undefined) {
        throw badRequest(
          `Unable to create inventory for resource provider ${uuid}: ${noSuchResourceClass(resourceClass)}`,
        );
      }
      const generation = await bumpProviderGeneration(tx, current.id, current.generation);
      if (await readInventory(tx, current.id, resourceClass)) {
        throw conflict(
          `Update conflict: Inventory for '${resourceClass}' on resource provider '${uuid}' already exists.`,
          CONCURRENT_UPDATE,
        );
      }
      await upsertInventories(tx, current.id, [[classId, values]]);
      return [{ ...current, generation }, (await readInventory(tx, current.id, resourceClass))!] as const;
    }),
  );
  res.setHeader(
    'location',
    absoluteUrl(req, `/resource_providers/${provider.uuid}/inventories/${segment(inventory.resource_class)}`),
  );
  sendInventory(req, res, 201, provider.generation, inventory);
}

/** PUT /resource_providers/{uuid}/inventories/{resource_class}: change one existing class. */
export async function updateInventory(req: Request, res: Response): Promise<void> {
  const uuid = pathParam(req, 'uuid');
  const resourceClass = pathParam(req, 'resource_class');
  const { db } = req.deps;
  const [generation, inventory] = await inWords(inventoryWording(uuid, 'update'), () =>
    withTransaction(db, async (tx) => {
      const provider = await providerFromPath(tx, uuid);
      const { resource_provider_generation: expected, ...input } = validateBody(validateUpdate, req.json);
      if (expected !== provider.generation) throw generationConflict();
      const values = withDefaults(input);
      assertCapacity(provider, { [resourceClass]: values }, req.mv.has(RESERVED_EQUALS_TOTAL));
      const classId = (await resourceClassIds(tx, [resourceClass], { lock: true })).get(resourceClass);
      // Placement lets the unknown-class lookup escape as a plain 404.
      if (classId === undefined) throw notFound(noSuchResourceClass(resourceClass));
      const next = await bumpProviderGeneration(tx, provider.id, provider.generation);
      if (!(await readInventory(tx, provider.id, resourceClass))) {
        throw badRequest(
          `No inventory record with resource class for resource provider ${uuid}: No inventory of class ${resourceClass} found.`,
        );
      }
      await upsertInventories(tx, provider.id, [[classId, values]]);
      return [next, (await readInventory(tx, provider.id, resourceClass))!] as const;
    }),
  );
  sendInventory(req, res, 200, generation, inventory);
}

/** DELETE /resource_providers/{uuid}/inventories/{resource_class} */
export async function deleteInventory(req: Request, res: Response): Promise<void> {
  const uuid = pathParam(req, 'uuid');
  const resourceClass = pathParam(req, 'resource_class');
  const { db } = req.deps;
  await inWords(inventoryWording(uuid, 'delete', resourceClass), () =>
    withTransaction(db, async (tx) => {
      const provider = await providerFromPath(tx, uuid);
      const notFoundForDelete = (reason: string) =>
        notFound(`No inventory of class ${resourceClass} found for delete: ${reason}`);
      const classId = (await resourceClassIds(tx, [resourceClass])).get(resourceClass);
      if (classId === undefined) throw notFoundForDelete(noSuchResourceClass(resourceClass));
      await bumpProviderGeneration(tx, provider.id, provider.generation);
      const deleted = await deleteInventoryRows(tx, provider, [classId]);
      if (deleted === 0) throw notFoundForDelete(`No inventory of class ${resourceClass} found for delete`);
    }),
  );
  sendNoContent(res);
}

/** PUT /resource_providers/{uuid}/inventories: replace every inventory of the provider. */
export async function setInventories(req: Request, res: Response): Promise<void> {
  const uuid = pathParam(req, 'uuid');
  const { db } = req.deps;
  const [generation, inventories] = await inWords(inventoryWording(uuid, 'update'), () =>
    withTransaction(db, async (tx) => {
      const provider = await providerFromPath(tx, uuid);
      const body = validateBody(validateSet, req.json);
      if (body.resource_provider_generation !== provider.generation) throw generationConflict();
      // Keys outside the class pattern escape the schema (patternProperties); they name no class.
      const badName = Object.keys(body.inventories).find((name) => !new RegExp(RC_PATTERN).test(name));
      if (badName !== undefined) throw new UnknownResourceClass(badName);
      const values = Object.fromEntries(
        Object.entries(body.inventories).map(([rc, input]) => [rc, withDefaults(input)]),
      );
      assertCapacity(provider, values, req.mv.has(RESERVED_EQUALS_TOTAL));
      const next = await bumpProviderGeneration(tx, provider.id, provider.generation);
      await replaceInventories(tx, provider, values);
      return [next, await readInventories(tx, provider.id)] as const;
    }),
  );
  sendInventories(req, res, generation, inventories);
}

/** DELETE /resource_providers/{uuid}/inventories (1.5): remove every inventory not in use. */
export async function deleteInventories(req: Request, res: Response): Promise<void> {
  const uuid = pathParam(req, 'uuid');
  const { db } = req.deps;
  const wording: Wording = {
    ...inventoryWording(uuid, 'update'),
    ProviderChanged: () =>
      conflict(
        `Unable to delete inventory for resource provider ${uuid} because the inventory was updated by another process. ` +
          'Please retry your request.',
        CONCURRENT_UPDATE,
      ),
  };
  await inWords(wording, () =>
    withTransaction(db, async (tx) => {
      const provider = await providerFromPath(tx, uuid);
      await bumpProviderGeneration(tx, provider.id, provider.generation);
      await replaceInventories(tx, provider, {});
    }),
  );
  sendNoContent(res);
}
