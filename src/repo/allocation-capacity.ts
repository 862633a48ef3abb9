import type { Tx } from '../db/knex';
import { untruncatedCapacity, withinCapacity, withinUnits } from '../domain/capacity';
import { CapacityExceeded, NoInventory, UnitConstraintViolated } from '../errors/domain';
import type { LockedProvider, NewRow } from './allocations';

interface CapacityRow {
  resource_provider_id: number;
  resource_class_id: number;
  total: number;
  reserved: number;
  min_unit: number;
  max_unit: number;
  step_size: number;
  allocation_ratio: number;
  used_before: number;
  used_by_others: number;
}

/**
 * Placement's capacity rule, read under the provider locks: for each provider and class,
 * used by others + requested <= (total - reserved) * allocation_ratio, every amount within
 * min_unit..max_unit and a multiple of step_size. A write that leaves an already over-committed
 * provider no worse than before is allowed, as in Placement.
 */
export async function checkCapacity(
  tx: Tx,
  rows: NewRow[],
  consumerIds: number[],
  providers: Map<string, LockedProvider>,
  classIds: Map<string, number>,
): Promise<void> {
  if (rows.length === 0) return;
  const inventory = await readCapacityRows(tx, rows, consumerIds);
  const uuidOf = new Map([...providers.values()].map((provider) => [provider.id, provider.uuid]));
  const nameOf = new Map([...classIds].map(([name, id]) => [id, name]));
  const requested = requestedAmounts(rows);
  checkProvidersHaveInventory(rows, inventory, uuidOf, nameOf);
  for (const row of rows) {
    const key = capacityKey(row.resource_provider_id, row.resource_class_id);
    const inv = inventory.get(key);
    const where = {
      provider: uuidOf.get(row.resource_provider_id)!,
      resourceClass: nameOf.get(row.resource_class_id)!,
    };
    if (!inv) throw new NoInventory(where.provider, [where.resourceClass]);
    checkUnitConstraints(row, inv, where);
    checkWithinCapacity(inv, requested.get(key)!, where);
  }
}

const capacityKey = (providerId: number, classId: number) => `${providerId}:${classId}`;

/** Inventory of every provider written to, with its usage before the write and by consumers not being written. */
async function readCapacityRows(tx: Tx, rows: NewRow[], consumerIds: number[]): Promise<Map<string, CapacityRow>> {
  const providerIds = [...new Set(rows.map((row) => row.resource_provider_id))];
  const result = await tx.raw(
    `SELECT i.resource_provider_id, i.resource_class_id, i.total, i.reserved, i.min_unit, i.max_unit, i.step_size,
            i.allocation_ratio,
            COALESCE(u.used_before, 0) AS used_before, COALESCE(u.used_by_others, 0) AS used_by_others
       FROM inventories i
       LEFT JOIN (
         SELECT a.resource_provider_id, a.resource_class_id, SUM(a.used) AS used_before,
                SUM(a.used) FILTER (WHERE a.consumer_id <> ALL(?::bigint[])) AS used_by_others
           FROM allocations a
          WHERE a.resource_provider_id = ANY(?::bigint[])
          GROUP BY a.resource_provider_id, a.resource_class_id
       ) u ON u.resource_provider_id = i.resource_provider_id AND u.resource_class_id = i.resource_class_id
      WHERE i.resource_provider_id = ANY(?::bigint[])`,
    [consumerIds, providerIds, providerIds],
  );
  const inventory = new Map<string, CapacityRow>();
  for (const row of result.rows as CapacityRow[])
    inventory.set(capacityKey(row.resource_provider_id, row.resource_class_id), row);
  return inventory;
}

/** The amount requested per provider and class, summed over the consumers being written. */
function requestedAmounts(rows: NewRow[]): Map<string, number> {
  const requested = new Map<string, number>();
  for (const row of rows) {
    const key = capacityKey(row.resource_provider_id, row.resource_class_id);
    requested.set(key, (requested.get(key) ?? 0) + row.used);
  }
  return requested;
}

/** Which provider and class a check is about. */
interface Where {
  provider: string;
  resourceClass: string;
}

function checkUnitConstraints(row: NewRow, inv: CapacityRow, where: Where): void {
  if (!withinUnits(row.used, { minUnit: inv.min_unit, maxUnit: inv.max_unit, stepSize: inv.step_size })) {
    throw new UnitConstraintViolated(where.provider, where.resourceClass, row.used, {
      minUnit: inv.min_unit,
      maxUnit: inv.max_unit,
      stepSize: inv.step_size,
    });
  }
}

function checkWithinCapacity(inv: CapacityRow, requested: number, where: Where): void {
  // Untruncated, as Placement's check and its message (decision 1202).
  const capacity = untruncatedCapacity(inv.total, inv.reserved, inv.allocation_ratio);
  // A write that leaves an already over-committed provider no worse than before is allowed, as in Placement.
  const after = inv.used_by_others + requested;
  if (!withinCapacity(inv.used_by_others, requested, capacity) && after > inv.used_before)
    throw new CapacityExceeded(where.provider, where.resourceClass, requested, inv.used_by_others, capacity);
}

/** A provider with inventory for none of the classes asked of it: Placement names them all. */
function checkProvidersHaveInventory(
  rows: NewRow[],
  inventory: Map<string, CapacityRow>,
  uuidOf: Map<number, string>,
  nameOf: Map<number, string>,
): void {
  const classesByProvider = new Map<number, Set<number>>();
  for (const row of rows) {
    if (!classesByProvider.has(row.resource_provider_id)) classesByProvider.set(row.resource_provider_id, new Set());
    classesByProvider.get(row.resource_provider_id)!.add(row.resource_class_id);
  }
  for (const [providerId, classes] of classesByProvider) {
    if ([...classes].some((classId) => inventory.has(capacityKey(providerId, classId)))) continue;
    throw new NoInventory(
      uuidOf.get(providerId)!,
      [...classes].map((classId) => nameOf.get(classId)!),
    );
  }
}
