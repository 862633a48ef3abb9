/**
 * Usable amount of an inventory as Placement computes it: int((total - reserved) * allocation_ratio).
 * Pure and free of any repo or engine import, so inventory writes and the candidates engine share it.
 */
export function capacityOf(total: number, reserved: number, allocationRatio: number): number {
  return Math.trunc((total - reserved) * allocationRatio);
}
