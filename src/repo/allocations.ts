import type { Db, Tx, Queryable } from '../db/knex';
import { withTransaction } from '../db/transaction';
import {
  AllocationProviderMissing,
  AllocationRetriesExhausted,
  ConsumerHasNoAllocations,
  ProviderRace,
  UnknownResourceClass,
} from '../errors/domain';
import { countAllocationRetry } from '../metrics/metrics';
import { checkCapacity } from './allocation-capacity';
import { resourceClassIds } from './names';
import { UUID_PATTERN } from '../validation/validator';
import {
  checkConsumerGeneration,
  deleteConsumersWithoutAllocations,
  ensureConsumerTypes,
  ensureExternalIds,
  lockOrCreateConsumer,
  updateConsumerAfterWrite,
  type ConsumerIdentity,
  type LockedConsumer,
} from './consumers';

/**
 * Allocation writes. The whole capacity guarantee rests on one rule: every transaction that adds or
 * removes allocations on a provider first locks that provider's row (SELECT ... FOR UPDATE, always in
 * id order, so two writers never wait on each other in a cycle). Capacity is then read and checked
 * under the lock, so no two claims on one provider can both see the same free space, whatever the
 * number of service processes sharing the database.
 */

/** One consumer's complete new set of allocations: provider uuid -> class -> amount (empty map: remove all). */
export interface AllocationWrite extends ConsumerIdentity {
  allocations: Map<string, Map<string, number>>;
}

export interface LockedProvider {
  id: number;
  uuid: string;
  generation: number;
}

/** Run an allocation-writing transaction, retrying it whole on a provider race up to `attempts` times. */
export async function withAllocationRetry<T>(db: Db, attempts: number, work: (tx: Tx) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await withTransaction(db, work);
    } catch (error) {
      if (!(error instanceof ProviderRace)) throw error;
      if (attempt >= Math.max(1, attempts)) throw new AllocationRetriesExhausted();
      countAllocationRetry();
    }
  }
}

/** Provider ids currently holding allocations of these consumers (read without locks, to know what to lock). */
async function providerIdsOfConsumers(db: Queryable, consumerUuids: string[]): Promise<number[]> {
  if (consumerUuids.length === 0) return [];
  const result = await db.raw(
    `SELECT DISTINCT a.resource_provider_id AS id FROM allocations a JOIN consumers c ON c.id = a.consumer_id
      WHERE c.uuid = ANY(?::uuid[])`,
    [consumerUuids],
  );
  return result.rows.map((row: { id: number }) => row.id);
}

/**
 * Lock providers by uuid and/or id, in id order. The uuids are body keys, which the schema lets through when
 * merely uuid-like; those simply match nothing, so they are reported missing at the point Placement does.
 */
export async function lockProviders(tx: Tx, uuids: string[], ids: number[] = []): Promise<Map<string, LockedProvider>> {
  const validUuids = [...new Set(uuids.filter((uuid) => UUID_PATTERN.test(uuid)))];
  const locked = new Map<string, LockedProvider>();
  if (validUuids.length === 0 && ids.length === 0) return locked;
  const result = await tx.raw(
    `SELECT id, uuid, generation FROM resource_providers
      WHERE uuid = ANY(?::uuid[]) OR id = ANY(?::bigint[]) ORDER BY id FOR UPDATE`,
    [validUuids, ids],
  );
  for (const row of result.rows as LockedProvider[]) locked.set(row.uuid, row);
  return locked;
}

interface ExistingAllocation {
  consumer_id: number;
  resource_provider_id: number;
  resource_class_id: number;
  used: number;
}

export interface ReplaceOptions {
  /** More providers to lock (the reshaper's inventory providers). */
  extraProviderUuids?: string[];
  /** Runs with every provider locked, before allocations change (the reshaper's interim inventories). */
  beforeWrite?: (tx: Tx, providers: Map<string, LockedProvider>) => Promise<void>;
}

/**
 * Replace the allocations of every consumer in `writes` inside `tx`, atomically: consumers are
 * created or locked, generations checked, capacity verified under provider locks, then the old
 * allocations are swapped for the new, provider and consumer generations bumped and consumers left
 * with nothing deleted. Throws domain errors for what the client got wrong, and ProviderRace (to be retried).
 */
export async function replaceAllocations(
  tx: Tx,
  writes: AllocationWrite[],
  identities: Identities,
  options: ReplaceOptions = {},
): Promise<Map<string, LockedProvider>> {
  const consumerUuids = writes.map((write) => write.uuid);
  const requestedProviders = writes.flatMap((write) => [...write.allocations.keys()]);
  // Before any provider lock: key-share locks on classes never wait on one another, and no holder of a
  // class's FOR UPDATE lock (delete, rename) waits on a provider, so this order cannot deadlock.
  const classes = await resolveClasses(tx, writes);
  const previousProviderIds = await providerIdsOfConsumers(tx, consumerUuids);
  const providers = await lockProviders(
    tx,
    [...requestedProviders, ...(options.extraProviderUuids ?? [])],
    previousProviderIds,
  );

  const consumers = await lockConsumers(tx, writes, identities);
  for (const write of writes) checkConsumerGeneration(consumers.get(write.uuid)!.locked, write.expectedGeneration);
  for (const uuid of requestedProviders) {
    if (!providers.has(uuid)) throw new AllocationProviderMissing(uuid);
  }
  const consumerIds = [...consumers.values()].map((entry) => entry.locked.id);
  // A consumer this transaction created holds nothing yet (nova's every claim): nothing to read or delete.
  const priorIds = [...consumers.values()].filter((entry) => !entry.locked.created).map((entry) => entry.locked.id);
  const existing = await existingAllocations(tx, priorIds);
  const lockedIds = new Set([...providers.values()].map((provider) => provider.id));
  // Someone moved these consumers' allocations between our first look and our locks: start again.
  if (existing.some((row) => !lockedIds.has(row.resource_provider_id))) throw new ProviderRace();

  if (classes.unknown !== undefined) throw new UnknownResourceClass(classes.unknown);
  const classIds = classes.ids;
  const rows = newAllocationRows(writes, consumers, providers, classIds);
  if (options.beforeWrite) await options.beforeWrite(tx, providers);
  await checkCapacity(tx, rows, consumerIds, providers, classIds);

  if (priorIds.length > 0) await tx('allocations').whereIn('consumer_id', priorIds).delete();
  // One plain INSERT: knex's batchInsert adds a savepoint and a timer tick while provider locks are held.
  if (rows.length > 0) await tx('allocations').insert(rows);

  const bumped = providersToBump(writes, consumers, providers, existing);
  await bumpProviders(
    tx,
    [...providers.values()].filter((provider) => bumped.has(provider.id)),
  );
  for (const write of writes) {
    const entry = consumers.get(write.uuid)!;
    await updateConsumerAfterWrite(tx, entry.locked, entry.projectId, entry.userId, entry.consumerTypeId);
  }
  // Only consumers that may now hold nothing: not one just created with allocations.
  const maybeEmpty = writes
    .map((write) => ({ write, locked: consumers.get(write.uuid)!.locked }))
    .filter(({ write, locked }) => !locked.created || write.allocations.size === 0);
  await deleteConsumersWithoutAllocations(
    tx,
    maybeEmpty.map(({ locked }) => locked.id),
  );
  return providers;
}

/**
 * Which provider generations an allocation write moves, as Placement's replace_all does: every
 * provider the request names for a consumer, and, for a consumer whose new allocations are empty,
 * every provider it held. A provider a consumer merely moves away from (its new allocations are
 * elsewhere) keeps its generation; Placement's gabbits assert the exact numbers.
 */
function providersToBump(
  writes: AllocationWrite[],
  consumers: Map<string, ConsumerEntry>,
  providers: Map<string, LockedProvider>,
  existing: ExistingAllocation[],
): Set<number> {
  const bumped = new Set<number>();
  for (const write of writes) {
    if (write.allocations.size > 0) {
      for (const uuid of write.allocations.keys()) bumped.add(providers.get(uuid)!.id);
      continue;
    }
    const consumerId = consumers.get(write.uuid)!.locked.id;
    for (const row of existing) if (row.consumer_id === consumerId) bumped.add(row.resource_provider_id);
  }
  return bumped;
}

interface ConsumerEntry {
  locked: LockedConsumer;
  projectId: number;
  userId: number;
  consumerTypeId: number | null | undefined;
}

/** Row ids of the projects, users and consumer types a write names. */
export interface Identities {
  projects: Map<string, number>;
  users: Map<string, number>;
  types: Map<string, number>;
}

/**
 * Create the project, user and consumer type rows a write needs, inside the claim's transaction so a
 * refused claim leaves nothing behind. Call it before locking providers: the inserts go in one order
 * (projects, users, types; each sorted), so writers that wait on each other's new rows cannot deadlock.
 */
export async function resolveIdentities(tx: Tx, writes: AllocationWrite[]): Promise<Identities> {
  return {
    projects: await ensureExternalIds(
      tx,
      'projects',
      writes.map((write) => write.projectExternalId),
    ),
    users: await ensureExternalIds(
      tx,
      'users',
      writes.map((write) => write.userExternalId),
    ),
    types: await ensureConsumerTypes(
      tx,
      writes.flatMap((write) => (write.consumerType === undefined ? [] : [write.consumerType])),
    ),
  };
}

/** Create-or-lock every consumer in uuid order, so two writers never wait on each other's consumers in a cycle. */
async function lockConsumers(
  tx: Tx,
  writes: AllocationWrite[],
  identities: Identities,
): Promise<Map<string, ConsumerEntry>> {
  const entries = new Map<string, ConsumerEntry>();
  for (const write of [...writes].sort((a, b) => (a.uuid < b.uuid ? -1 : a.uuid > b.uuid ? 1 : 0))) {
    const projectId = identities.projects.get(write.projectExternalId)!;
    const userId = identities.users.get(write.userExternalId)!;
    const consumerTypeId = write.consumerType === undefined ? undefined : identities.types.get(write.consumerType)!;
    const locked = await lockOrCreateConsumer(tx, write.uuid, projectId, userId, consumerTypeId ?? null);
    entries.set(write.uuid, { locked, projectId, userId, consumerTypeId });
  }
  return entries;
}

async function existingAllocations(tx: Tx, consumerIds: number[]): Promise<ExistingAllocation[]> {
  if (consumerIds.length === 0) return [];
  return tx('allocations')
    .whereIn('consumer_id', consumerIds)
    .select<ExistingAllocation[]>('consumer_id', 'resource_provider_id', 'resource_class_id', 'used');
}

/**
 * Class ids for every name the writes use, key-share locked until commit. The capacity check alone would
 * already refuse a class whose inventory is gone (inventory goes only under the provider lock we take
 * next), but holding the rows makes the guarantee local: a concurrent DELETE /resource_classes waits
 * for us and then finds the class in use.
 */
async function resolveClasses(
  tx: Tx,
  writes: AllocationWrite[],
): Promise<{ ids: Map<string, number>; unknown?: string }> {
  const names = new Set<string>();
  for (const write of writes)
    for (const resources of write.allocations.values()) for (const name of resources.keys()) names.add(name);
  const ids = await resourceClassIds(tx, [...names], { lock: true });
  return { ids, unknown: [...names].find((name) => !ids.has(name)) };
}

export interface NewRow {
  resource_provider_id: number;
  consumer_id: number;
  resource_class_id: number;
  used: number;
}

function newAllocationRows(
  writes: AllocationWrite[],
  consumers: Map<string, ConsumerEntry>,
  providers: Map<string, LockedProvider>,
  classIds: Map<string, number>,
): NewRow[] {
  const rows: NewRow[] = [];
  for (const write of writes) {
    const consumerId = consumers.get(write.uuid)!.locked.id;
    for (const [providerUuid, resources] of write.allocations) {
      for (const [className, used] of resources) {
        rows.push({
          resource_provider_id: providers.get(providerUuid)!.id,
          consumer_id: consumerId,
          resource_class_id: classIds.get(className)!,
          used,
        });
      }
    }
  }
  return rows;
}

/** Bump generations of locked providers; a miss means our lock did not hold what we thought. */
export async function bumpProviders(tx: Tx, providers: LockedProvider[]): Promise<void> {
  if (providers.length === 0) return;
  const result = await tx.raw(
    `UPDATE resource_providers rp SET generation = rp.generation + 1, updated_at = now()
       FROM unnest(?::bigint[], ?::int[]) AS x(id, generation)
      WHERE rp.id = x.id AND rp.generation = x.generation`,
    [providers.map((provider) => provider.id), providers.map((provider) => provider.generation)],
  );
  if (result.rowCount !== providers.length) throw new ProviderRace();
  for (const provider of providers) provider.generation += 1;
}

/**
 * DELETE /allocations/{consumer_uuid}: remove everything the consumer holds, and the consumer with
 * it. 404 when it holds nothing. Provider generations stay as they are (Placement's delete_all does
 * not bump them); the providers are still locked in id order like every allocation write.
 */
export async function deleteAllocationsForConsumer(tx: Tx, consumerUuid: string): Promise<void> {
  const previousProviderIds = await providerIdsOfConsumers(tx, [consumerUuid]);
  const providers = await lockProviders(tx, [], previousProviderIds);
  const consumer = await tx.raw('SELECT id FROM consumers WHERE uuid = ? FOR UPDATE', [consumerUuid]);
  const consumerId: number | undefined = consumer.rows[0]?.id;
  const existing = consumerId === undefined ? [] : await existingAllocations(tx, [consumerId]);
  if (existing.length === 0) throw new ConsumerHasNoAllocations(consumerUuid);
  const lockedIds = new Set([...providers.values()].map((provider) => provider.id));
  if (existing.some((row) => !lockedIds.has(row.resource_provider_id))) throw new ProviderRace();
  await tx('allocations').where({ consumer_id: consumerId }).delete();
  await deleteConsumersWithoutAllocations(tx, [consumerId!]);
}
