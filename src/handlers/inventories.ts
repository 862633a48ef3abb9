import type { Request, Response } from 'express';
import { RC_PATTERN } from '../../api/schemas/names';
import { createInventorySchema, setInventoriesSchema, updateInventorySchema } from '../../api/schemas/inventories';
import { withTransaction } from '../db/transaction';
import { CONCURRENT_UPDATE, INVENTORY_INUSE } from '../errors/codes';
import { badRequest, conflict, HttpError, notFound } from '../errors/http-error';
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

function generationConflict(): HttpError {
  return conflict('resource provider generation conflict', CONCURRENT_UPDATE);
}

/** Re-word an error from the repo the way a particular Placement handler does, keeping status and code. */
function reword(error: unknown, code: string, prefix: string): never {
  if (error instanceof HttpError && error.code === code)
    throw new HttpError(error.status, `${prefix}${error.message}`, code);
  throw error;
}

/** GET /resource_providers/{uuid}/inventories */
export async function getInventories(req: Request, res: Response): Promise<void> {
  const uuid = pathParam(req, 'uuid');
  const { db } = req.deps;
  // Placement repeats the lookup error after " : " here.
  const provider = await providerFromPath(db, uuid, ` : No resource provider with uuid ${uuid} found`);
  sendInventories(req, res, provider.generation, await readInventories(db, provider.id));
}

/** GET /resource_providers/{uuid}/inventories/{resource_class} */
export async function getInventory(req: Request, res: Response): Promise<void> {
  const uuid = pathParam(req, 'uuid');
  const resourceClass = pathParam(req, 'resource_class');
  const { db } = req.deps;
  const provider = await providerFromPath(db, uuid, ` : No resource provider with uuid ${uuid} found`);
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
  const [provider, inventory] = await withTransaction(db, async (tx) => {
    const current = await providerFromPath(tx, uuid);
    const {
      resource_class: resourceClass,
      resource_provider_generation: expected,
      ...input
    } = validateBody(validateCreate, req.json);
    const values = withDefaults(input);
    assertCapacity(current, { [resourceClass]: values }, req.mv.has(RESERVED_EQUALS_TOTAL), 'create');
    if (expected !== undefined && expected !== current.generation) throw generationConflict();
    const classId = (await resourceClassIds(tx, [resourceClass], { lock: true })).get(resourceClass);
    if (classId === undefined) {
      throw badRequest(
        `Unable to create inventory for resource provider ${uuid}: No such resource class ${resourceClass}.`,
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
  });
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
  const [generation, inventory] = await withTransaction(db, async (tx) => {
    const provider = await providerFromPath(tx, uuid);
    const { resource_provider_generation: expected, ...input } = validateBody(validateUpdate, req.json);
    if (expected !== provider.generation) throw generationConflict();
    const values = withDefaults(input);
    assertCapacity(provider, { [resourceClass]: values }, req.mv.has(RESERVED_EQUALS_TOTAL), 'update');
    const classId = (await resourceClassIds(tx, [resourceClass], { lock: true })).get(resourceClass);
    // Placement lets the unknown-class lookup escape as a plain 404.
    if (classId === undefined) throw notFound(`No such resource class ${resourceClass}.`);
    const next = await bumpProviderGeneration(tx, provider.id, provider.generation);
    if (!(await readInventory(tx, provider.id, resourceClass))) {
      throw badRequest(
        `No inventory record with resource class for resource provider ${uuid}: No inventory of class ${resourceClass} found.`,
      );
    }
    await upsertInventories(tx, provider.id, [[classId, values]]);
    return [next, (await readInventory(tx, provider.id, resourceClass))!] as const;
  });
  sendInventory(req, res, 200, generation, inventory);
}

/** DELETE /resource_providers/{uuid}/inventories/{resource_class} */
export async function deleteInventory(req: Request, res: Response): Promise<void> {
  const uuid = pathParam(req, 'uuid');
  const resourceClass = pathParam(req, 'resource_class');
  const { db } = req.deps;
  await withTransaction(db, async (tx) => {
    const provider = await providerFromPath(tx, uuid);
    const notFoundForDelete = (reason: string) =>
      notFound(`No inventory of class ${resourceClass} found for delete: ${reason}`);
    const classId = (await resourceClassIds(tx, [resourceClass])).get(resourceClass);
    if (classId === undefined) throw notFoundForDelete(`No such resource class ${resourceClass}.`);
    await bumpProviderGeneration(tx, provider.id, provider.generation);
    const deleted = await deleteInventoryRows(tx, provider, [classId]).catch((error: unknown) =>
      reword(error, INVENTORY_INUSE, `Unable to delete inventory of class ${resourceClass}: `),
    );
    if (deleted === 0) throw notFoundForDelete(`No inventory of class ${resourceClass} found for delete`);
  });
  sendNoContent(res);
}

/** PUT /resource_providers/{uuid}/inventories: replace every inventory of the provider. */
export async function setInventories(req: Request, res: Response): Promise<void> {
  const uuid = pathParam(req, 'uuid');
  const { db } = req.deps;
  const [generation, inventories] = await withTransaction(db, async (tx) => {
    const provider = await providerFromPath(tx, uuid);
    const body = validateBody(validateSet, req.json);
    if (body.resource_provider_generation !== provider.generation) throw generationConflict();
    // Keys outside the class pattern escape the schema (patternProperties); they name no class.
    const badName = Object.keys(body.inventories).find((name) => !new RegExp(RC_PATTERN).test(name));
    if (badName !== undefined) {
      throw badRequest(
        `Unknown resource class in inventory for resource provider ${uuid}: No such resource class ${badName}.`,
      );
    }
    const values = Object.fromEntries(Object.entries(body.inventories).map(([rc, input]) => [rc, withDefaults(input)]));
    assertCapacity(provider, values, req.mv.has(RESERVED_EQUALS_TOTAL), 'update');
    const next = await bumpProviderGeneration(tx, provider.id, provider.generation);
    await replaceInventories(tx, provider, values).catch((error: unknown) =>
      reword(error, INVENTORY_INUSE, 'update conflict: '),
    );
    return [next, await readInventories(tx, provider.id)] as const;
  });
  sendInventories(req, res, generation, inventories);
}

/** DELETE /resource_providers/{uuid}/inventories (1.5): remove every inventory not in use. */
export async function deleteInventories(req: Request, res: Response): Promise<void> {
  const uuid = pathParam(req, 'uuid');
  const { db } = req.deps;
  await withTransaction(db, async (tx) => {
    const provider = await providerFromPath(tx, uuid);
    await bumpProviderGeneration(tx, provider.id, provider.generation);
    await replaceInventories(tx, provider, {});
  }).catch((error: unknown) => {
    if (error instanceof HttpError && error.code === CONCURRENT_UPDATE) {
      throw conflict(
        `Unable to delete inventory for resource provider ${uuid} because the inventory was updated by another process. ` +
          'Please retry your request.',
        CONCURRENT_UPDATE,
      );
    }
    throw error;
  });
  sendNoContent(res);
}
