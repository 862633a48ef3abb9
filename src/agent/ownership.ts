import { childName, childUuid, NOVA_ROOT_TRAITS, OWNER_TRAIT, type ModelName, type ReportedProvider } from './model';

/** The operator's word on providers the agent did not create. */
export interface OwnershipConfig {
  /** The SEV traits of an existing root are the agent's. */
  ownRoot: boolean;
  /** MEM_ENCRYPTION_CONTEXT and host classes may go on a root carrying OWNER_NOVA or COMPUTE_NODE. */
  writeNovaRoot: boolean;
  /** Take over a provider with a child's name but another uuid. */
  adoptByName: boolean;
  reportHostResources: boolean | 'auto';
}

/** What the agent may change on the root provider, and why not where it may not. */
export interface RootAccess {
  /** The root does not exist yet: the agent creates it (and so owns it). */
  created: boolean;
  /** It carries CUSTOM_OWNER_EMPLACE_AGENT, or the agent creates it now (or recorded it before owner traits). */
  ours: boolean;
  /** nova-compute's compute node: OWNER_NOVA or COMPUTE_NODE. */
  nova: boolean;
  traits: boolean;
  inventory: boolean;
  /** VCPU, MEMORY_MB, DISK_GB are in the agent's scope at all (auto: only on its own root). */
  hostClassesWanted: boolean;
  hostClasses: boolean;
  /** Why a wanted change is not allowed, for the error naming it. */
  refusal: string;
}

export function rootAccess(
  root: ReportedProvider | undefined,
  config: OwnershipConfig,
  /** The uuid came from the agent's state dir: a root an earlier version created before owner traits. */
  fromState: boolean,
): RootAccess {
  const traits = root?.traits ?? [];
  const nova = NOVA_ROOT_TRAITS.some((t) => traits.includes(t));
  const created = !root;
  const ours = created || traits.includes(OWNER_TRAIT) || (fromState && !nova);
  const claimed = ours || config.ownRoot;
  const inventory = claimed && (!nova || config.writeNovaRoot);
  const hostClassesWanted =
    config.reportHostResources === true || (config.reportHostResources === 'auto' && ours && !nova);
  const marks = NOVA_ROOT_TRAITS.filter((t) => traits.includes(t)).join('/');
  const refusal = !claimed
    ? `the root ${root?.uuid} was not created by the agent (no ${OWNER_TRAIT}); pass --own-root to let it set SEV traits there`
    : `the root ${root?.uuid} carries ${marks} (nova-compute's); pass --write-nova-root to allow it`;
  return {
    created,
    ours,
    nova,
    traits: claimed,
    inventory,
    hostClassesWanted,
    hostClasses: hostClassesWanted && inventory,
    refusal,
  };
}

export type ChildResolution =
  | { kind: 'ours'; uuid: string; name: string; reported?: ReportedProvider; adopted: boolean }
  | { kind: 'clash'; uuid: string; name: string; other: ReportedProvider; message: string };

/**
 * A child is the agent's when it has the derived uuid, or carries the owner trait, or is adopted by name.
 * A provider with the child's name and another uuid is someone else's (nova >= 2025.2 creates
 * `<host>_amd_sev` with a random uuid): creating ours would fail with 409 placement.duplicate_name.
 */
export function resolveChild(
  root: { uuid: string; name: string },
  model: ModelName,
  children: ReportedProvider[],
  byName: Record<string, ReportedProvider | undefined>,
  adoptByName: boolean,
): ChildResolution {
  const uuid = childUuid(root.uuid, model);
  const name = childName(root.name, model);
  const derived = children.find((c) => c.uuid === uuid);
  if (derived) return { kind: 'ours', uuid, name, reported: derived, adopted: false };
  const named = children.find((c) => c.name === name) ?? byName[name];
  if (!named) return { kind: 'ours', uuid, name, adopted: false };
  const inTree = (named.rootUuid ?? named.parentUuid) === root.uuid || named.parentUuid === root.uuid;
  if (named.traits.includes(OWNER_TRAIT) && inTree)
    return { kind: 'ours', uuid: named.uuid, name, reported: named, adopted: false };
  if (adoptByName && inTree) return { kind: 'ours', uuid: named.uuid, name, reported: named, adopted: true };
  const where = inTree ? `under the root ${root.uuid}` : `in another tree (root ${named.rootUuid ?? '?'})`;
  const hint = inTree ? '; pass --adopt-by-name to take it over' : '';
  return {
    kind: 'clash',
    uuid,
    name,
    other: named,
    message:
      `provider "${name}" already exists with uuid ${named.uuid} ${where}, not the agent's ${uuid}: ` +
      `another reporter (nova-compute?) owns it; nothing written${hint}`,
  };
}
