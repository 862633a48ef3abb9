import type { Layout } from './config';
import { MODELS, type ModelName, type ModelState } from './detectors/detect';
import { UNKNOWN, type Unknown } from './detectors/types';
import {
  CHILD_SUFFIX,
  childUuid,
  LEGACY_SEV_TRAIT,
  MEC,
  MODEL_TRAITS,
  OWNED_TRAITS,
  type ConsumerAllocations,
  type HostClass,
  type Inventories,
  type InventoryRecord,
  type ReportedProvider,
} from './model';

/** The API operations a cycle may send, in the order they must go. Generations are filled in when sent. */
export type Operation =
  | { op: 'createProvider'; uuid: string; name: string; parentUuid?: string }
  | { op: 'reshape'; inventories: Record<string, Inventories>; allocations: Record<string, ConsumerAllocations> }
  | { op: 'setInventories'; uuid: string; inventories: Inventories }
  | { op: 'setTraits'; uuid: string; traits: string[] }
  | { op: 'deleteProvider'; uuid: string };

export interface HostClassWish {
  total: number | Unknown;
  reserved?: number;
  allocationRatio?: number;
}

export interface PlanInput {
  layout: Layout;
  root: { uuid: string; name: string };
  models: Record<ModelName, ModelState>;
  /** Configured reserved slots; unset leaves the reported value alone. */
  mecReserved?: number;
  /** Host classes the agent owns (absent when another reporter owns them). */
  hostResources?: Partial<Record<HostClass, HostClassWish>>;
  reported: { root?: ReportedProvider; children: ReportedProvider[] };
  /** Allocations of consumers holding MEM_ENCRYPTION_CONTEXT on the root (needed to reshape). */
  rootConsumers?: Record<string, ConsumerAllocations>;
  /** `${uuid}:${class}` pairs the agent drained by setting reserved = total (kept in the state dir). */
  draining: string[];
}

export interface Plan {
  ops: Operation[];
  warnings: string[];
  draining: string[];
}

type ClassWish = 'keep' | 'absent' | { total: number; maxUnit: number; reserved?: number; allocationRatio?: number };

const drainKey = (uuid: string, rc: string) => `${uuid}:${rc}`;

function sameInventory(a: InventoryRecord | undefined, b: InventoryRecord | undefined): boolean {
  if (!a || !b) return a === b;
  return (Object.keys(b) as Array<keyof InventoryRecord>).every((k) => a[k] === b[k]);
}

export function sameInventories(a: Inventories, b: Inventories): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((rc) => sameInventory(a[rc], b[rc]));
}

/** Apply the agent's wishes for the classes it owns; every other class and unowned field passes through. */
function mergeInventories(
  uuid: string,
  reported: ReportedProvider | undefined,
  wishes: Record<string, ClassWish>,
  draining: Set<string>,
  warnings: string[],
): Inventories {
  const result: Inventories = { ...(reported?.inventories ?? {}) };
  for (const [rc, wish] of Object.entries(wishes)) {
    const current = result[rc];
    const used = reported?.usages[rc] ?? 0;
    const key = drainKey(uuid, rc);
    if (wish === 'keep') continue;
    if (wish === 'absent') {
      if (!current) {
        draining.delete(key);
      } else if (used > 0) {
        // Deleting would fail with placement.inventory.inuse; stop new claims and wait for usage to reach 0.
        result[rc] = { ...current, reserved: current.total };
        draining.add(key);
        warnings.push(`${rc} on ${uuid} is gone but ${used} still allocated: draining (reserved = total)`);
      } else {
        delete result[rc];
        draining.delete(key);
      }
      continue;
    }
    const base = current ?? { total: 0, reserved: 0, min_unit: 1, max_unit: 1, step_size: 1, allocation_ratio: 1.0 };
    let reserved = wish.reserved ?? (draining.has(key) ? 0 : base.reserved);
    reserved = Math.min(reserved, wish.total);
    const next: InventoryRecord = {
      ...base,
      total: wish.total,
      reserved,
      min_unit: 1,
      max_unit: wish.maxUnit,
      step_size: 1,
      allocation_ratio: wish.allocationRatio ?? base.allocation_ratio,
    };
    draining.delete(key);
    if (used > wish.total)
      warnings.push(`${rc} on ${uuid} shrank to ${wish.total} below usage ${used}: evicting nothing`);
    result[rc] = next;
  }
  return result;
}

function mecWish(model: ModelState | undefined, reserved: number | undefined): ClassWish {
  if (!model || model.state === 'absent') return 'absent';
  if (model.state === 'unknown') return 'keep';
  // One guest, one slot; a new inventory starts at allocation_ratio 1.0, an operator's later choice is kept.
  return { total: model.slots, maxUnit: 1, reserved };
}

function hostWishes(input: PlanInput): Record<string, ClassWish> {
  const wishes: Record<string, ClassWish> = {};
  for (const [rc, wish] of Object.entries(input.hostResources ?? {})) {
    if (!wish) continue;
    wishes[rc] =
      wish.total === UNKNOWN
        ? 'keep'
        : { total: wish.total, maxUnit: wish.total, reserved: wish.reserved, allocationRatio: wish.allocationRatio };
  }
  return wishes;
}

/** Owned traits the provider should carry; `undefined` means unknown: leave owned traits as they are. */
function mergeTraits(current: string[], wanted: string[] | undefined): string[] {
  if (wanted === undefined) return current;
  return [...new Set([...current.filter((t) => !OWNED_TRAITS.has(t)), ...wanted])].sort();
}

const sameSet = (a: string[], b: string[]) => a.length === b.length && new Set([...a, ...b]).size === a.length;

function rootTraitWish(input: PlanInput): string[] | undefined {
  if (input.layout === 'nested') return [];
  const sev = input.models.sev.state;
  if (sev === 'unknown') return undefined;
  return sev === 'present' ? [MODEL_TRAITS.sev, LEGACY_SEV_TRAIT] : [];
}

/** The child that takes the root's MEM_ENCRYPTION_CONTEXT allocations when moving to the nested layout. */
function reshapeTarget(input: PlanInput): ModelName | undefined {
  return (['sev', 'sev_snp', 'sev_es'] as ModelName[]).find((m) => input.models[m].state === 'present');
}

/**
 * One cycle's operations, in the order they must go: create the root, create children, then either one
 * reshape or the inventories that changed, then traits, then delete children no longer wanted.
 */
export function planCycle(input: PlanInput): Plan {
  const warnings: string[] = [];
  const draining = new Set(input.draining);
  const reportedRoot = input.reported.root;
  const wishes = rootWishes(input, warnings);
  const children = planChildren(input, draining, warnings);
  const rootInventory = mergeInventories(input.root.uuid, reportedRoot, wishes, draining, warnings);
  const reshape = planReshape(input, rootInventory, children.inventories, draining, warnings);
  const ops: Operation[] = [];
  if (!reportedRoot) ops.push({ op: 'createProvider', uuid: input.root.uuid, name: input.root.name });
  ops.push(
    ...children.createOps,
    ...(reshape ? [reshape] : inventoryOps(input, rootInventory, children.inventories)),
    ...rootTraitOps(input),
    ...children.traitOps,
    ...children.deleteOps,
  );
  return { ops, warnings, draining: [...draining].sort() };
}

/** The root's class wishes: the host classes, and MEM_ENCRYPTION_CONTEXT only in the root layout. */
function rootWishes(input: PlanInput, warnings: string[]): Record<string, ClassWish> {
  const wishes = hostWishes(input);
  wishes[MEC] = input.layout === 'root' ? mecWish(input.models.sev, input.mecReserved) : 'absent';
  if (input.layout === 'root') {
    for (const m of ['sev_es', 'sev_snp'] as ModelName[]) {
      if (input.models[m].state === 'present')
        warnings.push(`${m} is available but only the nested layout can offer it`);
    }
  }
  return wishes;
}

/** What the cycle does to the per-model children; `inventories` holds every child that stays. */
interface ChildrenPlan {
  createOps: Operation[];
  inventories: Map<string, Inventories>;
  traitOps: Operation[];
  deleteOps: Operation[];
}

/** Children the agent manages: derived uuids, wanted ones for models present (nested layout only). */
function planChildren(input: PlanInput, draining: Set<string>, warnings: string[]): ChildrenPlan {
  const plan: ChildrenPlan = { createOps: [], inventories: new Map(), traitOps: [], deleteOps: [] };
  for (const model of MODELS) planChild(input, model, plan, draining, warnings);
  return plan;
}

/** A child without usage whose model is gone is deleted; one still in use is drained by mergeInventories. */
function planChild(
  input: PlanInput,
  model: ModelName,
  plan: ChildrenPlan,
  draining: Set<string>,
  warnings: string[],
): void {
  const uuid = childUuid(input.root.uuid, model);
  const reported = input.reported.children.find((c) => c.uuid === uuid);
  const state = input.layout === 'nested' ? input.models[model] : undefined;
  const wish = mecWish(state, input.mecReserved);
  if (!reported && (wish === 'absent' || wish === 'keep')) return;
  if (!reported)
    plan.createOps.push({
      op: 'createProvider',
      uuid,
      name: `${input.root.name}${CHILD_SUFFIX[model]}`,
      parentUuid: input.root.uuid,
    });
  const merged = mergeInventories(uuid, reported, { [MEC]: wish }, draining, warnings);
  const totalUsage = Object.values(reported?.usages ?? {}).reduce((a, b) => a + b, 0);
  if (reported && wish === 'absent' && totalUsage === 0) {
    plan.deleteOps.push({ op: 'deleteProvider', uuid });
    return;
  }
  plan.inventories.set(uuid, merged);
  const traits = mergeTraits(
    reported?.traits ?? [],
    state?.state === 'unknown' ? undefined : wish === 'absent' ? [] : [MODEL_TRAITS[model]],
  );
  if (!sameSet(traits, reported?.traits ?? [])) plan.traitOps.push({ op: 'setTraits', uuid, traits });
}

/** Without a reshape: a PUT for each provider whose inventory differs from the reported one, the root first. */
function inventoryOps(
  input: PlanInput,
  rootInventory: Inventories,
  childInventories: Map<string, Inventories>,
): Operation[] {
  const ops: Operation[] = [];
  if (!sameInventories(rootInventory, input.reported.root?.inventories ?? {})) {
    ops.push({ op: 'setInventories', uuid: input.root.uuid, inventories: rootInventory });
  }
  for (const [uuid, inventories] of childInventories) {
    const reported = input.reported.children.find((c) => c.uuid === uuid);
    if (!sameInventories(inventories, reported?.inventories ?? {}))
      ops.push({ op: 'setInventories', uuid, inventories });
  }
  return ops;
}

function rootTraitOps(input: PlanInput): Operation[] {
  const reported = input.reported.root?.traits ?? [];
  const traits = mergeTraits(reported, rootTraitWish(input));
  return sameSet(traits, reported) ? [] : [{ op: 'setTraits', uuid: input.root.uuid, traits }];
}

/**
 * Root -> nested with MEM_ENCRYPTION_CONTEXT still allocated on the root: move inventory and allocations to the
 * child in one POST /reshaper, so no guest ever loses its claim and nothing is drained.
 */
function planReshape(
  input: PlanInput,
  rootInventory: Inventories,
  childInventories: Map<string, Inventories>,
  draining: Set<string>,
  warnings: string[],
): Operation | undefined {
  const root = input.reported.root;
  const used = root?.usages[MEC] ?? 0;
  const target = reshapeTarget(input);
  if (input.layout !== 'nested' || !root?.inventories[MEC] || used === 0 || !target || !input.rootConsumers)
    return undefined;
  const targetUuid = childUuid(input.root.uuid, target);
  const targetInventory = childInventories.get(targetUuid);
  if (!targetInventory) return undefined;
  // mergeInventories drained the root's MEM_ENCRYPTION_CONTEXT; the reshape removes it instead.
  const newRoot = { ...rootInventory };
  delete newRoot[MEC];
  draining.delete(drainKey(root.uuid, MEC));
  const allocations: Record<string, ConsumerAllocations> = {};
  for (const [consumer, current] of Object.entries(input.rootConsumers)) {
    const moved = structuredClone(current);
    const amount = moved.allocations[root.uuid]?.resources[MEC];
    if (!amount) continue;
    delete moved.allocations[root.uuid].resources[MEC];
    if (Object.keys(moved.allocations[root.uuid].resources).length === 0) delete moved.allocations[root.uuid];
    const onTarget = (moved.allocations[targetUuid] ??= { resources: {} });
    onTarget.resources[MEC] = (onTarget.resources[MEC] ?? 0) + amount;
    allocations[consumer] = moved;
  }
  warnings.push(`moving ${used} ${MEC} allocation(s) from the root to ${target} child by reshaper`);
  const inventories: Record<string, Inventories> = { [root.uuid]: newRoot };
  for (const [uuid, inv] of childInventories) inventories[uuid] = inv;
  return { op: 'reshape', inventories, allocations };
}
