import { MEC, type Inventories, type InventoryRecord, type ReportedProvider } from './model';

/** What the agent wants for one resource class on one provider. */
export type ClassWish =
  | { kind: 'keep' }
  /** Remove the class; while it is allocated, drain it (reserved = total) instead. */
  | { kind: 'absent'; why: string }
  | { kind: 'set'; total: number; maxUnit: number; reserved?: number; allocationRatio?: number };

export const KEEP: ClassWish = { kind: 'keep' };

/** A drain the agent made: `reserved` is the operator's value before it, restored when the drain is lifted. */
export interface DrainRecord {
  reserved: number;
}
export type Drains = Record<string, DrainRecord>;

export const drainKey = (uuid: string, rc: string): string => `${uuid}:${rc}`;

export interface MergeContext {
  drains: Drains;
  warnings: string[];
  /** Label for messages: "SEV child compute1_amd_sev (uuid)". */
  label: string;
}

function sameInventory(a: InventoryRecord | undefined, b: InventoryRecord | undefined): boolean {
  if (!a || !b) return a === b;
  return (Object.keys(b) as Array<keyof InventoryRecord>).every((k) => a[k] === b[k]);
}

export function sameInventories(a: Inventories, b: Inventories): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((rc) => sameInventory(a[rc], b[rc]));
}

const NEW_RECORD: InventoryRecord = {
  total: 0,
  reserved: 0,
  min_unit: 1,
  max_unit: 1,
  step_size: 1,
  allocation_ratio: 1.0,
};

/** Apply the agent's wishes for the classes it owns; every other class and unowned field passes through. */
export function mergeInventories(
  ctx: MergeContext,
  uuid: string,
  reported: ReportedProvider | undefined,
  wishes: Record<string, ClassWish>,
): Inventories {
  const result: Inventories = { ...(reported?.inventories ?? {}) };
  for (const [rc, wish] of Object.entries(wishes)) {
    const current = result[rc];
    const used = reported?.usages[rc] ?? 0;
    const key = drainKey(uuid, rc);
    if (wish.kind === 'keep') continue;
    if (wish.kind === 'absent') {
      if (!current) delete ctx.drains[key];
      else if (used > 0) {
        // Deleting would fail with placement.inventory.inuse; stop new claims and wait for usage to reach 0.
        ctx.drains[key] ??= { reserved: current.reserved };
        result[rc] = { ...current, reserved: current.total };
        ctx.warnings.push(
          `${rc} on ${ctx.label}: ${wish.why}, but ${used} still allocated: draining (reserved = total)`,
        );
      } else {
        delete result[rc];
        delete ctx.drains[key];
      }
      continue;
    }
    result[rc] = setRecord(ctx, key, rc, current, wish, used);
  }
  return result;
}

function setRecord(
  ctx: MergeContext,
  key: string,
  rc: string,
  current: InventoryRecord | undefined,
  wish: Extract<ClassWish, { kind: 'set' }>,
  used: number,
): InventoryRecord {
  const base = current ?? NEW_RECORD;
  const drain = ctx.drains[key];
  let reserved = wish.reserved ?? (drain ? drain.reserved : base.reserved);
  if (!drain && wish.reserved === undefined && rc === MEC && current && current.reserved >= current.total) {
    ctx.warnings.push(
      `${rc} on ${ctx.label} has reserved = total (${current.total}) but the agent recorded no drain ` +
        `(state dir lost, or an operator's choice): left as it is; lower reserved by hand or set --reserved-slots`,
    );
  }
  reserved = Math.min(reserved, wish.total);
  delete ctx.drains[key];
  if (used > wish.total)
    ctx.warnings.push(`${rc} on ${ctx.label} shrank to ${wish.total} below usage ${used}: evicting nothing`);
  return {
    ...base,
    total: wish.total,
    reserved,
    min_unit: 1,
    max_unit: wish.maxUnit,
    step_size: 1,
    allocation_ratio: wish.allocationRatio ?? base.allocation_ratio,
  };
}
