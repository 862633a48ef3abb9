import type { Layout } from './config';
import type { ModelState } from './detectors/decide';
import { UNKNOWN, type Unknown } from './detectors/types';
import { drainKey, KEEP, mergeInventories, sameInventories, type ClassWish, type Drains } from './inventory-merge';
import {
  AMD_MODELS,
  LEGACY_SEV_TRAIT,
  MEC,
  MODEL_LABEL,
  MODEL_TRAITS,
  MODELS,
  OWNED_TRAITS,
  OWNER_TRAIT,
  type ConsumerAllocations,
  type HostClass,
  type Inventories,
  type ModelName,
  type ReportedProvider,
} from './model';
import { resolveChild, rootAccess, type ChildResolution, type OwnershipConfig, type RootAccess } from './ownership';

/** The API operations a cycle may send, in the order they must go. Generations are filled in when sent. */
export type Operation =
  | { op: 'createTrait'; name: string }
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

export interface ReportedTree {
  root?: ReportedProvider;
  children: ReportedProvider[];
  /** Providers found by a child's name outside the tree read (names are unique service-wide). */
  byName?: Record<string, ReportedProvider | undefined>;
}

export interface PlanInput {
  layout: Layout;
  root: { uuid: string; name: string };
  models: Record<ModelName, ModelState>;
  /** Configured reserved slots; unset leaves the reported value alone. */
  mecReserved?: number;
  /** What the host offers of VCPU, MEMORY_MB, DISK_GB (written only where ownership allows). */
  hostResources?: Partial<Record<HostClass, HostClassWish>>;
  ownership: OwnershipConfig;
  /** The root uuid came from the agent's state dir. */
  rootFromState?: boolean;
  reported: ReportedTree;
  /** Allocations of consumers holding MEM_ENCRYPTION_CONTEXT on the root (needed to reshape). */
  rootConsumers?: Record<string, ConsumerAllocations>;
  /** The drains the agent made (kept in the state dir). */
  drains: Drains;
  /** CUSTOM_OWNER_EMPLACE_AGENT exists in the service. */
  ownerTraitExists: boolean;
}

export interface Plan {
  ops: Operation[];
  warnings: string[];
  /** Wanted changes the agent may not or cannot make: the host is not in sync. */
  errors: string[];
  /** Another reporter's provider stands where the agent's must go: the cycle writes nothing at all. */
  clashes: string[];
  drains: Drains;
  /** The provider holding each model's slots (for status and drift); undefined where there is none. */
  holders: Partial<Record<ModelName, { uuid: string; name: string }>>;
}

interface Work {
  input: PlanInput;
  access: RootAccess;
  resolutions: Record<ModelName, ChildResolution>;
  drains: Drains;
  warnings: string[];
  errors: string[];
}

const sameSet = (a: string[], b: string[]) => a.length === b.length && new Set([...a, ...b]).size === a.length;

/** Keep every trait the agent does not own; replace the owned ones with `wanted` (undefined: keep them too). */
function mergeTraits(reported: string[], wanted: string[] | undefined, owner: boolean): string[] {
  const kept = wanted === undefined ? reported : reported.filter((t) => !OWNED_TRAITS.has(t));
  const all = new Set([...kept, ...(wanted ?? [])]);
  if (owner) all.add(OWNER_TRAIT);
  return [...all].sort();
}

/** TDX always has its own child; the AMD models only in the nested layout. */
const wantsChild = (layout: Layout, model: ModelName) => model === 'tdx' || layout === 'nested';

/**
 * One cycle's operations, in the order they must go: create the owner trait and providers, then either one
 * reshape or the inventories that changed, then traits, then delete children no longer wanted.
 */
export function planCycle(input: PlanInput): Plan {
  const work: Work = {
    input,
    access: rootAccess(input.reported.root, input.ownership, input.rootFromState ?? false),
    resolutions: Object.fromEntries(
      MODELS.map((m) => [
        m,
        resolveChild(input.root, m, input.reported.children, input.reported.byName ?? {}, input.ownership.adoptByName),
      ]),
    ) as Record<ModelName, ChildResolution>,
    drains: { ...input.drains },
    warnings: [],
    errors: [],
  };
  const clashes = findClashes(work);
  if (clashes.length > 0) return { ops: [], warnings: [], errors: [], clashes, drains: input.drains, holders: {} };
  const children = planChildren(work);
  const reshape = planReshape(work, children.inventories);
  const rootInventory = planRootInventory(work, reshape);
  const rootTraits = planRootTraits(work, reshape);
  const root = input.reported.root;
  const ops: Operation[] = [];
  if (work.access.created) {
    const useful =
      Object.keys(rootInventory).length > 0 ||
      rootTraits.some((t) => t !== OWNER_TRAIT) ||
      children.createOps.length > 0;
    if (!useful)
      return { ops: [], warnings: work.warnings, errors: work.errors, clashes, drains: work.drains, holders: {} };
    ops.push({ op: 'createProvider', uuid: input.root.uuid, name: input.root.name });
  }
  ops.push(...children.createOps);
  if (reshape.op) ops.push(reshape.op);
  else {
    if (!sameInventories(rootInventory, root?.inventories ?? {}))
      ops.push({ op: 'setInventories', uuid: input.root.uuid, inventories: rootInventory });
    for (const [uuid, inventories] of children.inventories) {
      const reported = work.input.reported.children.find((c) => c.uuid === uuid);
      if (!sameInventories(inventories, reported?.inventories ?? {}))
        ops.push({ op: 'setInventories', uuid, inventories });
    }
  }
  if (!sameSet(rootTraits, root?.traits ?? []))
    ops.push({ op: 'setTraits', uuid: input.root.uuid, traits: rootTraits });
  ops.push(...children.traitOps, ...children.deleteOps);
  const needsOwner = ops.some((op) => op.op === 'setTraits' && op.traits.includes(OWNER_TRAIT));
  if (needsOwner && !input.ownerTraitExists) ops.unshift({ op: 'createTrait', name: OWNER_TRAIT });
  const holders = { ...children.holders };
  if (input.layout === 'root') holders.sev = { uuid: input.root.uuid, name: input.root.name };
  return { ops, warnings: work.warnings, errors: work.errors, clashes, drains: work.drains, holders };
}

function findClashes(work: Work): string[] {
  const { input, access } = work;
  const clashes: string[] = [];
  for (const model of MODELS) {
    const resolution = work.resolutions[model];
    if (resolution.kind === 'clash' && wantsChild(input.layout, model) && input.models[model].state === 'present')
      clashes.push(resolution.message);
  }
  const root = input.reported.root;
  // A root the agent may not change that offers SEV slots itself (nova before 2025.2): a child would count them twice.
  if (input.layout === 'nested' && root?.inventories[MEC] && !access.inventory && input.models.sev.state === 'present')
    clashes.push(
      `the root ${root.uuid} already offers ${MEC} and is not the agent's to change (${access.refusal}); ` +
        `a ${MODEL_LABEL.sev} child would count the SEV slots twice: nothing written`,
    );
  return clashes;
}

interface ChildrenPlan {
  createOps: Operation[];
  /** Every child that stays, with its new inventory. */
  inventories: Map<string, Inventories>;
  traitOps: Operation[];
  deleteOps: Operation[];
  holders: Partial<Record<ModelName, { uuid: string; name: string }>>;
}

function planChildren(work: Work): ChildrenPlan {
  const plan: ChildrenPlan = { createOps: [], inventories: new Map(), traitOps: [], deleteOps: [], holders: {} };
  for (const model of MODELS) planChild(work, model, plan);
  if (work.input.layout === 'root') {
    for (const m of ['sev_es', 'sev_snp'] as ModelName[])
      if (work.input.models[m].state === 'present')
        work.warnings.push(`${MODEL_LABEL[m]} is available but only the nested layout can offer it`);
  }
  return plan;
}

/** A model's MEM_ENCRYPTION_CONTEXT on its child: the slots, less what a model sharing its ASIDs still holds. */
function childWish(work: Work, model: ModelName, state: ModelState | undefined): ClassWish {
  if (!state) return { kind: 'absent', why: 'the root layout keeps SEV on the root' };
  if (state.state !== 'present') return state.state === 'unknown' ? KEEP : { kind: 'absent', why: state.reason };
  let total = state.slots;
  const sharesWith = state.sharesWith;
  if (sharesWith) {
    const partner = work.resolutions[sharesWith];
    const holder = partner.kind === 'ours' ? partner.reported : partner.other;
    const used = holder?.usages[MEC] ?? 0;
    if (used > 0) {
      total = Math.min(total, state.pool - used);
      work.warnings.push(
        `${MODEL_LABEL[model]} shares ${state.pool} ASIDs with ${MODEL_LABEL[sharesWith]}, whose guests still ` +
          `hold ${used}: offering ${Math.max(0, total)}`,
      );
      if (total <= 0) return { kind: 'absent', why: `every shared ASID is still used by ${MODEL_LABEL[sharesWith]}` };
    }
  }
  return { kind: 'set', total, maxUnit: 1, reserved: work.input.mecReserved };
}

/** A child without usage whose model is gone is deleted; one still in use is drained by mergeInventories. */
function planChild(work: Work, model: ModelName, plan: ChildrenPlan): void {
  const { input } = work;
  const resolution = work.resolutions[model];
  if (resolution.kind === 'clash') return;
  const state = wantsChild(input.layout, model) ? input.models[model] : undefined;
  const reported = resolution.reported;
  const wish = childWish(work, model, state);
  if (!reported && wish.kind !== 'set') return;
  const { uuid, name } = resolution;
  if (!reported) plan.createOps.push({ op: 'createProvider', uuid, name, parentUuid: input.root.uuid });
  if (resolution.adopted) work.warnings.push(`adopting provider "${name}" (${uuid}) by name (--adopt-by-name)`);
  const label = `${name} (${uuid})`;
  const merged = mergeInventories({ drains: work.drains, warnings: work.warnings, label }, uuid, reported, {
    [MEC]: wish,
  });
  const totalUsage = Object.values(reported?.usages ?? {}).reduce((a, b) => a + b, 0);
  if (reported && wish.kind === 'absent' && totalUsage === 0) {
    plan.deleteOps.push({ op: 'deleteProvider', uuid });
    return;
  }
  plan.inventories.set(uuid, merged);
  if (merged[MEC]) plan.holders[model] = { uuid, name };
  const wanted = state?.state === 'unknown' ? undefined : wish.kind === 'set' ? [MODEL_TRAITS[model]] : [];
  const traits = mergeTraits(reported?.traits ?? [], wanted, true);
  if (!sameSet(traits, reported?.traits ?? [])) plan.traitOps.push({ op: 'setTraits', uuid, traits });
}

interface ReshapePlan {
  op?: Extract<Operation, { op: 'reshape' }>;
  /** The root's SEV allocations cannot move: leave the root's SEV inventory and traits alone. */
  blocked: boolean;
}

/**
 * Root -> nested with MEM_ENCRYPTION_CONTEXT still allocated on the root: move inventory and allocations to
 * the plain-SEV child in one POST /reshaper (as nova does), so no guest loses its claim and nothing is drained.
 * Root-layout guests are plain SEV guests: they never go to the ES or SNP child.
 */
function planReshape(work: Work, childInventories: Map<string, Inventories>): ReshapePlan {
  const { input, access } = work;
  const root = input.reported.root;
  const used = root?.usages[MEC] ?? 0;
  if (input.layout !== 'nested' || !root?.inventories[MEC] || used === 0 || !access.inventory)
    return { blocked: false };
  const sev = input.models.sev;
  if (sev.state === 'unknown') return { blocked: true };
  const target = work.resolutions.sev;
  const targetInventory = target.kind === 'ours' ? childInventories.get(target.uuid)?.[MEC] : undefined;
  const cannot = (why: string): ReshapePlan => {
    work.errors.push(
      `cannot move ${used} plain-SEV allocation(s) of ${MEC} from the root to the ${MODEL_LABEL.sev} child: ${why}; ` +
        `no reshape, the root is left as it is`,
    );
    return { blocked: true };
  };
  if (sev.state !== 'present' || !targetInventory || target.kind !== 'ours')
    return cannot(`SEV is ${sev.state} (${sev.reason})`);
  const free = targetInventory.total - targetInventory.reserved - (target.reported?.usages[MEC] ?? 0);
  if (free < used) return cannot(`${target.name} offers only ${free} free slot(s)`);
  if (!input.rootConsumers) return { blocked: true };
  const allocations: Record<string, ConsumerAllocations> = {};
  for (const [consumer, current] of Object.entries(input.rootConsumers)) {
    const moved = structuredClone(current);
    const amount = moved.allocations[root.uuid]?.resources[MEC];
    if (!amount) continue;
    delete moved.allocations[root.uuid].resources[MEC];
    if (Object.keys(moved.allocations[root.uuid].resources).length === 0) delete moved.allocations[root.uuid];
    const onTarget = (moved.allocations[target.uuid] ??= { resources: {} });
    onTarget.resources[MEC] = (onTarget.resources[MEC] ?? 0) + amount;
    allocations[consumer] = moved;
  }
  work.warnings.push(`moving ${used} ${MEC} allocation(s) from the root to ${target.name} by reshaper`);
  const inventories: Record<string, Inventories> = { [root.uuid]: {} };
  for (const [uuid, inv] of childInventories) inventories[uuid] = inv;
  return { op: { op: 'reshape', inventories, allocations }, blocked: false };
}

function hostWishes(work: Work): Record<string, ClassWish> {
  const wishes: Record<string, ClassWish> = {};
  if (!work.access.hostClassesWanted) return wishes;
  for (const [rc, wish] of Object.entries(work.input.hostResources ?? {})) {
    if (!wish) continue;
    wishes[rc] =
      wish.total === UNKNOWN
        ? KEEP
        : {
            kind: 'set',
            total: wish.total,
            maxUnit: wish.total,
            reserved: wish.reserved,
            allocationRatio: wish.allocationRatio,
          };
  }
  return wishes;
}

function rootMecWish(work: Work, reshape: ReshapePlan): ClassWish {
  const { input } = work;
  const sev = input.models.sev;
  // The reshape moves the slots with their allocations: no drain (and no draining warning) before it.
  if (sev.state === 'unknown' || reshape.blocked || reshape.op) return KEEP;
  if (input.layout === 'nested') return { kind: 'absent', why: 'the nested layout keeps SEV on its child' };
  if (sev.state === 'absent') return { kind: 'absent', why: sev.reason };
  // One guest, one slot; a new inventory starts at allocation_ratio 1.0, an operator's later choice is kept.
  return { kind: 'set', total: sev.slots, maxUnit: 1, reserved: input.mecReserved };
}

/** The root's classes: host classes and (root layout) SEV slots, each only where the agent may write. */
function planRootInventory(work: Work, reshape: ReshapePlan): Inventories {
  const { input, access } = work;
  const root = input.reported.root;
  const label = `the root ${input.root.name} (${input.root.uuid})`;
  const wishes: Record<string, ClassWish> = { ...hostWishes(work), [MEC]: rootMecWish(work, reshape) };
  for (const rc of Object.keys(wishes)) {
    const allowed = rc === MEC ? access.inventory : access.hostClasses;
    if (allowed) continue;
    const scratch = mergeInventories({ drains: { ...work.drains }, warnings: [], label }, input.root.uuid, root, {
      [rc]: wishes[rc],
    });
    if (!sameInventories(scratch, root?.inventories ?? {}))
      work.errors.push(`not writing ${rc} on the root: ${access.refusal}`);
    wishes[rc] = KEEP;
  }
  const merged = mergeInventories(
    { drains: work.drains, warnings: work.warnings, label },
    input.root.uuid,
    root,
    wishes,
  );
  if (reshape.op) {
    delete merged[MEC];
    delete work.drains[drainKey(input.root.uuid, MEC)];
    reshape.op.inventories[input.root.uuid] = merged;
  }
  return merged;
}

function planRootTraits(work: Work, reshape: ReshapePlan): string[] {
  const { input, access } = work;
  const reported = input.reported.root?.traits ?? [];
  const sev = input.models.sev.state;
  let wanted: string[] | undefined;
  if (sev === 'unknown' || reshape.blocked) wanted = undefined;
  else if (input.layout === 'nested') wanted = [];
  else wanted = sev === 'present' ? [MODEL_TRAITS.sev, LEGACY_SEV_TRAIT] : [];
  // The ES/SNP/TDX traits belong on children; on a root they are someone else's (or an operator's).
  if (wanted !== undefined) wanted = [...wanted, ...reported.filter((t) => OWNED_TRAITS.has(t) && !isSevTrait(t))];
  if (!access.traits && wanted !== undefined) {
    const would = mergeTraits(reported, wanted, false);
    if (!sameSet(would, reported)) work.errors.push(`not changing the SEV traits of the root: ${access.refusal}`);
    wanted = undefined;
  }
  return mergeTraits(reported, wanted, access.ours);
}

const isSevTrait = (t: string) =>
  t === MODEL_TRAITS.sev || t === LEGACY_SEV_TRAIT || AMD_MODELS.some((m) => MODEL_TRAITS[m] === t);
