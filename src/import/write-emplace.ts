import type { Knex } from 'knex';
import type { Db, Tx, Queryable } from '../db/knex';
import { STANDARD_TRAITS } from '../catalogue/catalogue';
import type { ImportPlan } from './plan-types';

/** Every table the import writes, locked together for the whole transaction. */
const TABLES = [
  'resource_classes',
  'traits',
  'resource_providers',
  'inventories',
  'resource_provider_traits',
  'placement_aggregates',
  'resource_provider_aggregates',
  'projects',
  'users',
  'consumer_types',
  'consumers',
  'allocations',
];

const FIRST_CUSTOM_CLASS_ID = 10000;
const CHUNK = 5000;
/** A running service holding its locks longer than this is a sign writes were not stopped. */
const LOCK_TIMEOUT = '10s';

export class TargetNotEmpty extends Error {
  constructor(readonly found: string[]) {
    super(
      `the Emplace database already holds data (${found.join(', ')}); import-placement only fills a database with nothing but the standard catalogue in it — was it imported already?`,
    );
  }
}

export class TargetBusy extends Error {}

/** What the Emplace database holds beyond the standard catalogue, as "resource providers: 3" phrases. */
export async function existingData(db: Queryable): Promise<string[]> {
  const result = await db.raw(
    `SELECT (SELECT count(*) FROM resource_providers) AS "resource providers",
            (SELECT count(*) FROM inventories) AS "inventories",
            (SELECT count(*) FROM resource_classes WHERE id >= ${FIRST_CUSTOM_CLASS_ID}) AS "custom resource classes",
            (SELECT count(*) FROM traits WHERE NOT (name = ANY(?::text[]))) AS "custom traits",
            (SELECT count(*) FROM placement_aggregates) AS "aggregates",
            (SELECT count(*) FROM projects) AS "projects",
            (SELECT count(*) FROM users) AS "users",
            (SELECT count(*) FROM consumer_types) AS "consumer types",
            (SELECT count(*) FROM consumers) AS "consumers",
            (SELECT count(*) FROM allocations) AS "allocations"`,
    [STANDARD_TRAITS as string[]],
  );
  return Object.entries(result.rows[0] as Record<string, number>)
    .filter(([, count]) => Number(count) > 0)
    .map(([what, count]) => `${what}: ${count}`);
}

/**
 * Write the plan in one transaction: lock every table the service writes, check that nothing but
 * the standard catalogue is there (so a second run is refused and never doubles anything), insert,
 * and move each id sequence past the ids copied. Any failure rolls everything back.
 */
export async function writeImport(db: Db, plan: ImportPlan): Promise<void> {
  try {
    await db.transaction(async (tx) => {
      await tx.raw(`SET LOCAL lock_timeout = '${LOCK_TIMEOUT}'`);
      await tx.raw(`LOCK TABLE ${TABLES.join(', ')} IN SHARE ROW EXCLUSIVE MODE`);
      const found = await existingData(tx);
      if (found.length > 0) throw new TargetNotEmpty(found);
      await writeCatalogue(tx, plan);
      await writeProviders(tx, plan);
      await writeConsumers(tx, plan);
      await writeAllocations(tx, plan);
      await moveSequences(tx);
    });
  } catch (error) {
    if ((error as { code?: string }).code === '55P03')
      throw new TargetBusy(
        `could not lock Emplace's tables within ${LOCK_TIMEOUT}: something is writing to this database; stop Emplace's writers and import again`,
      );
    throw error;
  }
}

async function writeCatalogue(tx: Tx, plan: ImportPlan): Promise<void> {
  await insert(
    tx,
    plan.customClasses.map((row, index) => ({ ...row, id: FIRST_CUSTOM_CLASS_ID + index })),
    `INSERT INTO resource_classes (id, name, created_at, updated_at)
     SELECT * FROM unnest(?::int[], ?::text[], ?::timestamptz[], ?::timestamptz[])`,
    ['id', 'name', 'created_at', 'updated_at'],
  );
  // Custom traits follow the standard ones, in Placement's order, so id-ordered listings agree.
  const next = (await tx.raw('SELECT COALESCE(max(id), 0) + 1 AS next FROM traits')).rows[0].next as number;
  await insert(
    tx,
    plan.customTraits.map((row, index) => ({ ...row, id: next + index })),
    `INSERT INTO traits (id, name, created_at, updated_at)
     SELECT * FROM unnest(?::int[], ?::text[], ?::timestamptz[], ?::timestamptz[])`,
    ['id', 'name', 'created_at', 'updated_at'],
  );
  for (const [table, rows] of [
    ['resource_classes', plan.standardClassStamps],
    ['traits', plan.standardTraitStamps],
  ] as const)
    await update(
      tx,
      rows,
      `UPDATE ${table} t SET created_at = u.created_at, updated_at = u.updated_at
         FROM unnest(?::text[], ?::timestamptz[], ?::timestamptz[]) AS u(name, created_at, updated_at)
        WHERE t.name = u.name`,
      ['name', 'created_at', 'updated_at'],
    );
}

async function writeProviders(tx: Tx, plan: ImportPlan): Promise<void> {
  // Chunks follow the plan's parents-first order, so each row's parent is already there.
  await insert(
    tx,
    plan.providers,
    `INSERT INTO resource_providers (id, uuid, name, generation, parent_provider_id, root_provider_id, created_at, updated_at)
     SELECT * FROM unnest(?::bigint[], ?::uuid[], ?::text[], ?::int[], ?::bigint[], ?::bigint[], ?::timestamptz[], ?::timestamptz[])`,
    ['id', 'uuid', 'name', 'generation', 'parent_provider_id', 'root_provider_id', 'created_at', 'updated_at'],
  );
  await insert(
    tx,
    plan.inventories,
    `INSERT INTO inventories (id, resource_provider_id, resource_class_id, total, reserved, min_unit, max_unit,
                              step_size, allocation_ratio, created_at, updated_at)
     SELECT u.id, u.resource_provider_id, rc.id, u.total, u.reserved, u.min_unit, u.max_unit, u.step_size,
            u.allocation_ratio, u.created_at, u.updated_at
       FROM unnest(?::bigint[], ?::bigint[], ?::text[], ?::int[], ?::int[], ?::int[], ?::int[], ?::int[],
                   ?::float8[], ?::timestamptz[], ?::timestamptz[])
            AS u(id, resource_provider_id, resource_class, total, reserved, min_unit, max_unit, step_size,
                 allocation_ratio, created_at, updated_at)
       JOIN resource_classes rc ON rc.name = u.resource_class`,
    [
      'id',
      'resource_provider_id',
      'resource_class',
      'total',
      'reserved',
      'min_unit',
      'max_unit',
      'step_size',
      'allocation_ratio',
      'created_at',
      'updated_at',
    ],
  );
  await insert(
    tx,
    plan.providerTraits,
    `INSERT INTO resource_provider_traits (resource_provider_id, trait_id)
     SELECT u.resource_provider_id, t.id FROM unnest(?::bigint[], ?::text[]) AS u(resource_provider_id, trait)
       JOIN traits t ON t.name = u.trait`,
    ['resource_provider_id', 'trait'],
  );
  await insert(
    tx,
    plan.aggregates,
    'INSERT INTO placement_aggregates (id, uuid) SELECT * FROM unnest(?::int[], ?::uuid[])',
    ['id', 'uuid'],
  );
  await insert(
    tx,
    plan.providerAggregates,
    `INSERT INTO resource_provider_aggregates (resource_provider_id, aggregate_id)
     SELECT * FROM unnest(?::bigint[], ?::int[])`,
    ['resource_provider_id', 'aggregate_id'],
  );
}

async function writeConsumers(tx: Tx, plan: ImportPlan): Promise<void> {
  for (const table of ['projects', 'users'] as const)
    await insert(tx, plan[table], `INSERT INTO ${table} (id, external_id) SELECT * FROM unnest(?::int[], ?::text[])`, [
      'id',
      'external_id',
    ]);
  await insert(
    tx,
    plan.consumerTypes,
    'INSERT INTO consumer_types (id, name) SELECT * FROM unnest(?::int[], ?::text[])',
    ['id', 'name'],
  );
  await insert(
    tx,
    plan.consumers,
    `INSERT INTO consumers (id, uuid, project_id, user_id, consumer_type_id, generation, created_at, updated_at)
     SELECT * FROM unnest(?::bigint[], ?::uuid[], ?::int[], ?::int[], ?::int[], ?::int[], ?::timestamptz[], ?::timestamptz[])`,
    ['id', 'uuid', 'project_id', 'user_id', 'consumer_type_id', 'generation', 'created_at', 'updated_at'],
  );
}

async function writeAllocations(tx: Tx, plan: ImportPlan): Promise<void> {
  await insert(
    tx,
    plan.allocations,
    `INSERT INTO allocations (id, resource_provider_id, consumer_id, resource_class_id, used, created_at, updated_at)
     SELECT u.id, u.resource_provider_id, u.consumer_id, rc.id, u.used, u.created_at, u.updated_at
       FROM unnest(?::bigint[], ?::bigint[], ?::bigint[], ?::text[], ?::int[], ?::timestamptz[], ?::timestamptz[])
            AS u(id, resource_provider_id, consumer_id, resource_class, used, created_at, updated_at)
       JOIN resource_classes rc ON rc.name = u.resource_class`,
    ['id', 'resource_provider_id', 'consumer_id', 'resource_class', 'used', 'created_at', 'updated_at'],
  );
}

/** Ids were copied, not drawn: the next row the service creates must come after them. */
async function moveSequences(tx: Tx): Promise<void> {
  for (const table of TABLES.filter((name) => !name.startsWith('resource_provider_') && name !== 'resource_classes'))
    await tx.raw(
      `SELECT setval(pg_get_serial_sequence('${table}', 'id'), COALESCE((SELECT max(id) FROM ${table}), 0) + 1, false)`,
    );
  await tx.raw(
    `SELECT setval('custom_resource_class_id_seq',
                   GREATEST(${FIRST_CUSTOM_CLASS_ID}, COALESCE((SELECT max(id) FROM resource_classes), 0) + 1), false)`,
  );
}

type Row = object;

/** One multi-row statement per chunk, each column bound as an array; every row must land. */
async function insert(tx: Tx, rows: Row[], sql: string, columns: string[]): Promise<void> {
  await inChunks(tx, rows, sql, columns, true);
}

async function update(tx: Tx, rows: Row[], sql: string, columns: string[]): Promise<void> {
  await inChunks(tx, rows, sql, columns, false);
}

async function inChunks(tx: Tx, rows: Row[], sql: string, columns: string[], all: boolean) {
  for (let start = 0; start < rows.length; start += CHUNK) {
    const chunk = rows.slice(start, start + CHUNK) as Array<Record<string, unknown>>;
    const arrays = columns.map((column) => chunk.map((row) => row[column])) as Knex.Value[];
    const result = await tx.raw(sql, arrays);
    if (all && result.rowCount !== chunk.length)
      throw new Error(`import wrote ${result.rowCount} of ${chunk.length} rows with: ${sql.split('\n')[0]}`);
  }
}
