import type { Schemas } from '../../api/types';
import { randomUUID } from 'node:crypto';
import type { Db } from '../../src/db/knex';
import { withDefaults } from '../../src/repo/inventories';

/**
 * Direct-to-database builders for tests of read paths (candidates, usages) that need a world to
 * exist before the API that writes it is under test. Real rows in real PostgreSQL; no shortcuts the
 * API would not take (generations are bumped like the API does).
 */

export interface SeedProvider {
  id: number;
  uuid: string;
  name: string;
}

export async function seedProvider(
  db: Db,
  options: { name?: string; uuid?: string; parent?: SeedProvider } = {},
): Promise<SeedProvider> {
  const uuid = options.uuid ?? randomUUID();
  const name = options.name ?? `rp-${uuid.slice(0, 8)}`;
  const result = await db.raw(
    `INSERT INTO resource_providers (id, uuid, name, parent_provider_id, root_provider_id)
     SELECT n, ?, ?, ?, COALESCE(?, n) FROM (SELECT nextval('resource_providers_id_seq') AS n) s
     RETURNING id`,
    [uuid, name, options.parent?.id ?? null, options.parent ? await rootOf(db, options.parent.id) : null],
  );
  return { id: result.rows[0].id, uuid, name };
}

async function rootOf(db: Db, providerId: number): Promise<number> {
  const row = await db('resource_providers').where({ id: providerId }).first('root_provider_id');
  return row.root_provider_id;
}

/** An inventory as the API takes it; omitted fields get the API's own defaults (withDefaults: max_unit MAX_INT). */
export type SeedInventory = Schemas['InventoryInput'];

export async function seedInventory(
  db: Db,
  provider: SeedProvider,
  inventories: Record<string, SeedInventory | number>,
): Promise<void> {
  for (const [className, spec] of Object.entries(inventories)) {
    const values = withDefaults(typeof spec === 'number' ? { total: spec } : spec);
    await db('inventories')
      .insert({ resource_provider_id: provider.id, resource_class_id: await resourceClassId(db, className), ...values })
      .onConflict(['resource_provider_id', 'resource_class_id'])
      .merge();
  }
  await bumpGeneration(db, provider.id);
}

export async function seedTraits(db: Db, provider: SeedProvider, traits: string[]): Promise<void> {
  for (const name of traits) {
    await db('traits').insert({ name }).onConflict('name').ignore();
    const trait = await db('traits').where({ name }).first('id');
    await db('resource_provider_traits')
      .insert({ resource_provider_id: provider.id, trait_id: trait.id })
      .onConflict()
      .ignore();
  }
  await bumpGeneration(db, provider.id);
}

export async function seedAggregates(db: Db, provider: SeedProvider, aggregateUuids: string[]): Promise<void> {
  for (const uuid of aggregateUuids) {
    await db('placement_aggregates').insert({ uuid }).onConflict('uuid').ignore();
    const aggregate = await db('placement_aggregates').where({ uuid }).first('id');
    await db('resource_provider_aggregates')
      .insert({ resource_provider_id: provider.id, aggregate_id: aggregate.id })
      .onConflict()
      .ignore();
  }
  await bumpGeneration(db, provider.id);
}

/** Record a consumer's allocations: `{ providerUuid: { CLASS: amount } }`. */
export async function seedAllocation(
  db: Db,
  allocations: Record<string, Record<string, number>>,
  options: { consumerUuid?: string; projectId?: string; userId?: string; consumerType?: string } = {},
): Promise<string> {
  const consumerUuid = options.consumerUuid ?? randomUUID();
  const projectId = await externalId(db, 'projects', options.projectId ?? 'project-a');
  const userId = await externalId(db, 'users', options.userId ?? 'user-a');
  let consumerTypeId: number | null = null;
  if (options.consumerType) {
    await db('consumer_types').insert({ name: options.consumerType }).onConflict('name').ignore();
    consumerTypeId = (await db('consumer_types').where({ name: options.consumerType }).first('id')).id;
  }
  await db('consumers')
    .insert({ uuid: consumerUuid, project_id: projectId, user_id: userId, consumer_type_id: consumerTypeId })
    .onConflict('uuid')
    .ignore();
  const consumer = await db('consumers').where({ uuid: consumerUuid }).first('id');
  for (const [providerUuid, resources] of Object.entries(allocations)) {
    const provider = await db('resource_providers').where({ uuid: providerUuid }).first('id');
    for (const [className, used] of Object.entries(resources)) {
      await db('allocations').insert({
        resource_provider_id: provider.id,
        consumer_id: consumer.id,
        resource_class_id: await resourceClassId(db, className),
        used,
      });
    }
    await bumpGeneration(db, provider.id);
  }
  return consumerUuid;
}

export async function resourceClassId(db: Db, name: string): Promise<number> {
  const existing = await db('resource_classes').where({ name }).first('id');
  if (existing) return existing.id;
  const created = await db.raw(
    `INSERT INTO resource_classes (id, name) VALUES (nextval('custom_resource_class_id_seq'), ?) RETURNING id`,
    [name],
  );
  return created.rows[0].id;
}

async function externalId(db: Db, table: 'projects' | 'users', external: string): Promise<number> {
  await db(table).insert({ external_id: external }).onConflict('external_id').ignore();
  return (await db(table).where({ external_id: external }).first('id')).id;
}

async function bumpGeneration(db: Db, providerId: number): Promise<void> {
  await db('resource_providers')
    .where({ id: providerId })
    .increment('generation', 1)
    .update({ updated_at: db.fn.now() });
}
