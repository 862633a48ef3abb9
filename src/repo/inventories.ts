import type { Schemas } from '../../api/types';
import { MAX_INT } from '../../api/schemas/names';
import { InventoryInUse, ReservedExceedsTotal, UnknownResourceClass } from '../errors/domain';
import type { ProviderRow } from './providers-core';
import { resourceClassIds } from './names';
import type { Tx, Queryable } from '../db/knex';
import { capacityOf } from '../domain/capacity';

/** One inventory as a client writes it (the wire type); omitted fields take Placement's defaults. */
export type InventoryInput = Schemas['InventoryInput'];

export type InventoryValues = Required<InventoryInput>;

/** One stored inventory, with its class name and timestamps (for last-modified). */
export interface InventoryRecord extends InventoryValues {
  resource_class: string;
  resource_class_id: number;
  created_at: Date;
  updated_at: Date;
}

/** Placement's handler defaults; note max_unit defaults to MAX_INT, not to total. */
export function withDefaults(input: InventoryInput): InventoryValues {
  return {
    total: input.total,
    reserved: input.reserved ?? 0,
    min_unit: input.min_unit ?? 1,
    max_unit: input.max_unit ?? MAX_INT,
    step_size: input.step_size ?? 1,
    allocation_ratio: input.allocation_ratio ?? 1.0,
  };
}

/** ReservedExceedsTotal when reserved leaves no room: capacity must be > 0, or >= 0 from 1.26 (reserved may equal total). */
export function assertCapacity(
  provider: ProviderRow,
  inventories: Record<string, InventoryValues>,
  reservedMayEqualTotal: boolean,
): void {
  for (const [resourceClass, inventory] of Object.entries(inventories)) {
    const capacity = capacityOf(inventory.total, inventory.reserved, inventory.allocation_ratio);
    if (reservedMayEqualTotal ? capacity >= 0 : capacity > 0) continue;
    throw new ReservedExceedsTotal(provider.uuid, resourceClass, reservedMayEqualTotal);
  }
}

/** All inventories of a provider, by resource class id. */
export async function readInventories(db: Queryable, providerId: number): Promise<InventoryRecord[]> {
  const rows = await db('inventories as i')
    .join('resource_classes as rc', 'rc.id', 'i.resource_class_id')
    .where('i.resource_provider_id', providerId)
    .orderBy('i.resource_class_id')
    .select(
      'rc.name as resource_class',
      'i.resource_class_id',
      'i.total',
      'i.reserved',
      'i.min_unit',
      'i.max_unit',
      'i.step_size',
      'i.allocation_ratio',
      'i.created_at',
      'i.updated_at',
    );
  return rows as InventoryRecord[];
}

export async function readInventory(
  db: Queryable,
  providerId: number,
  resourceClass: string,
): Promise<InventoryRecord | undefined> {
  return (await readInventories(db, providerId)).find((inventory) => inventory.resource_class === resourceClass);
}

/**
 * Make `inventories` the provider's complete inventory: add, update and delete rows as needed, in the
 * caller's transaction. The caller bumps the generation (before, to lock the provider row, or after).
 * Unknown classes are UnknownResourceClass; removing a class that has allocations is InventoryInUse
 * unless `allowInUse` (the reshaper moves the allocations in the same transaction and checks at the end).
 * Shrinking below usage is allowed, as in Placement (it only logs that the provider is over capacity).
 */
export async function replaceInventories(
  tx: Tx,
  provider: ProviderRow,
  inventories: Record<string, InventoryInput>,
  options: { allowInUse?: boolean } = {},
): Promise<void> {
  const names = Object.keys(inventories);
  const ids = await requireResourceClassIds(tx, names);
  const existing = await tx('inventories')
    .where('resource_provider_id', provider.id)
    .orderBy('resource_class_id')
    .forUpdate()
    .pluck<number[]>('resource_class_id');
  const wanted = new Set(ids.values());
  const toDelete = existing.filter((id) => !wanted.has(id));
  if (toDelete.length > 0) await deleteInventoryRows(tx, provider, toDelete, options.allowInUse ?? false);
  if (names.length > 0)
    await upsertInventories(
      tx,
      provider.id,
      names.map((name) => [ids.get(name)!, withDefaults(inventories[name])]),
    );
}

/** Ids of the classes the new inventory names, key-share locked so none can be deleted before we commit. */
async function requireResourceClassIds(tx: Tx, names: string[]): Promise<Map<string, number>> {
  const ids = await resourceClassIds(tx, names, { lock: true });
  const unknown = names.find((name) => !ids.has(name));
  if (unknown !== undefined) throw new UnknownResourceClass(unknown);
  return ids;
}

/** Class names (of `classIds`) that have allocations on the provider, in class id order. */
export async function classesInUse(db: Queryable, providerId: number, classIds: number[]): Promise<string[]> {
  if (classIds.length === 0) return [];
  const rows = await db('allocations as a')
    .join('resource_classes as rc', 'rc.id', 'a.resource_class_id')
    .where('a.resource_provider_id', providerId)
    .whereIn('a.resource_class_id', classIds)
    .groupBy('rc.id', 'rc.name')
    .orderBy('rc.id')
    .select<Array<{ name: string }>>('rc.name');
  return rows.map((row) => row.name);
}

/** Delete the provider's inventory rows of these classes; InventoryInUse when any has allocations (unless allowed). */
export async function deleteInventoryRows(
  tx: Tx,
  provider: ProviderRow,
  classIds: number[],
  allowInUse = false,
): Promise<number> {
  if (!allowInUse) {
    const inUse = await classesInUse(tx, provider.id, classIds);
    if (inUse.length > 0) throw new InventoryInUse(provider.uuid, inUse);
  }
  return tx('inventories').where('resource_provider_id', provider.id).whereIn('resource_class_id', classIds).delete();
}

/** Insert or overwrite rows; every row written gets a fresh updated_at, as Placement's UPDATE does. */
export async function upsertInventories(
  tx: Tx,
  providerId: number,
  rows: Array<[classId: number, values: InventoryValues]>,
): Promise<void> {
  if (rows.length === 0) return;
  await tx('inventories')
    .insert(
      rows.map(([classId, values]) => ({ resource_provider_id: providerId, resource_class_id: classId, ...values })),
    )
    .onConflict(['resource_provider_id', 'resource_class_id'])
    .merge({
      total: tx.raw('excluded.total'),
      reserved: tx.raw('excluded.reserved'),
      min_unit: tx.raw('excluded.min_unit'),
      max_unit: tx.raw('excluded.max_unit'),
      step_size: tx.raw('excluded.step_size'),
      allocation_ratio: tx.raw('excluded.allocation_ratio'),
      updated_at: tx.fn.now(),
    });
}
