/**
 * Placement's capacity rule, in one place: an inventory can take `amount` more when
 * used + amount <= (total - reserved) * allocation_ratio and the amount is within min_unit..max_unit and a
 * multiple of step_size. Pure and free of any repo or engine import; the SQL fragments below are the same rule
 * for queries. Truncated or not, the verdict is the same (docs/decisions/1202-untruncated-capacity-check.md):
 * amounts are whole numbers >= 1, and for such n, n <= c exactly when n <= trunc(c).
 */

/** Usable amount as Placement reports it in summaries and usages: int((total - reserved) * allocation_ratio). */
export function capacityOf(total: number, reserved: number, allocationRatio: number): number {
  return Math.trunc(untruncatedCapacity(total, reserved, allocationRatio));
}

/** The capacity Placement's allocation check compares against and prints in its 409. */
export function untruncatedCapacity(total: number, reserved: number, allocationRatio: number): number {
  return (total - reserved) * allocationRatio;
}

/** `amount` more fits next to `used`, against either form of the capacity. */
export function withinCapacity(used: number, amount: number, capacity: number): boolean {
  return used + amount <= capacity;
}

export interface UnitLimits {
  minUnit: number;
  maxUnit: number;
  stepSize: number;
}

/** One allocation's amount respects the inventory's unit constraints. */
export function withinUnits(amount: number, limits: UnitLimits): boolean {
  return amount >= limits.minUnit && amount <= limits.maxUnit && amount % limits.stepSize === 0;
}

/** The capacity of inventories row `inv` in SQL, untruncated (double arithmetic, as Placement's check). */
export const capacitySql = (inv: string) => `(${inv}.total - ${inv}.reserved) * ${inv}.allocation_ratio`;

/** The capacity of inventories row `inv` in SQL, truncated as capacityOf, for reports. */
export const truncatedCapacitySql = (inv: string) => `trunc(${capacitySql(inv)})::bigint`;
