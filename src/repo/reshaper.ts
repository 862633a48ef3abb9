import type { Tx } from '../db/knex';
import { ProviderGenerationConflict, ProviderNotFound, UnknownResourceClass } from '../errors/domain';
import { UUID_PATTERN } from '../validation/validator';
import { bumpProviders, replaceAllocations, type AllocationWrite, type Identities } from './allocations';
import { readInventories, replaceInventories, withDefaults, type InventoryInput } from './inventories';
import { resourceClassIds } from './names';
import { findProviderByUuid, type ProviderRow } from './providers-core';

/** One provider's complete new inventory and the generation the client read it at. */
export interface ReshapeInventory {
  providerUuid: string;
  generation: number;
  inventories: Record<string, InventoryInput>;
}

/**
 * POST /reshaper in one transaction: move inventory between providers together with the allocations
 * against it. Inventory goes in two steps because allocations cannot sit on missing inventory and
 * inventory in use cannot be removed: first each provider gets the union of its old and new
 * inventory, then the allocations are replaced (capacity-checked under the provider locks, as every
 * claim), then the inventory is cut down to exactly what was asked. Any failure rolls back all of it.
 *
 * Generations move as in Placement, where each step is its own generation-bumping write: +1 for the
 * interim inventory (skipped when the new inventory is empty), +1 for each provider the allocation
 * replacement touches, +1 for the final inventory. Clients (and Placement's gabbits) rely on the totals.
 */
export async function reshape(
  tx: Tx,
  inventories: ReshapeInventory[],
  writes: AllocationWrite[],
  identities: Identities,
): Promise<void> {
  const providers = await requireInventoryProviders(tx, inventories);
  await requireInventoryClasses(tx, inventories);
  const locked = await replaceAllocations(tx, writes, identities, {
    extraProviderUuids: inventories.map((entry) => entry.providerUuid),
    beforeWrite: async (_tx, lockedProviders) => {
      for (const entry of inventories) {
        const provider = lockedProviders.get(entry.providerUuid)!;
        // Re-checked under the lock: the early check above ran before anyone was locked out.
        if (provider.generation !== entry.generation)
          throw new ProviderGenerationConflict(entry.providerUuid, provider.generation, entry.generation);
        if (Object.keys(entry.inventories).length === 0) continue;
        const interim: Record<string, InventoryInput> = {};
        for (const current of await readInventories(tx, providers.get(entry.providerUuid)!.id))
          interim[current.resource_class] = current;
        Object.assign(interim, entry.inventories);
        await replaceInventories(tx, providers.get(entry.providerUuid)!, interim, { allowInUse: true });
        await bumpProviders(tx, [provider]);
      }
    },
  });
  for (const entry of inventories) {
    await replaceInventories(tx, providers.get(entry.providerUuid)!, withAllDefaults(entry.inventories));
    await bumpProviders(tx, [locked.get(entry.providerUuid)!]);
  }
}

function withAllDefaults(inventories: Record<string, InventoryInput>): Record<string, InventoryInput> {
  return Object.fromEntries(Object.entries(inventories).map(([name, input]) => [name, withDefaults(input)]));
}

/** Placement checks every inventory provider and its generation before touching anything. */
async function requireInventoryProviders(tx: Tx, inventories: ReshapeInventory[]): Promise<Map<string, ProviderRow>> {
  const providers = new Map<string, ProviderRow>();
  for (const entry of inventories) {
    // Not a path segment: a body key, which the schema lets through when merely uuid-like (36 hex digits or
    // dashes). Placement reports such a key in turn, after the providers before it, so it is checked here.
    const provider = UUID_PATTERN.test(entry.providerUuid)
      ? await findProviderByUuid(tx, entry.providerUuid)
      : undefined;
    if (!provider) throw new ProviderNotFound(entry.providerUuid);
    if (provider.generation !== entry.generation)
      throw new ProviderGenerationConflict(entry.providerUuid, provider.generation, entry.generation);
    providers.set(entry.providerUuid, provider);
  }
  return providers;
}

/** Every class the new inventories name exists, and stays until we commit (key-share locked). */
async function requireInventoryClasses(tx: Tx, inventories: ReshapeInventory[]): Promise<void> {
  const names = inventories.flatMap((entry) => Object.keys(entry.inventories));
  const known = await resourceClassIds(tx, names, { lock: true });
  const unknown = names.find((name) => !known.has(name));
  if (unknown !== undefined) throw new UnknownResourceClass(unknown);
}
