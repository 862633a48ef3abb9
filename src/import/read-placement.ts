import type { PlacementSource } from './source';

/** Placement's tables as stored (placement/db/sqlalchemy/models.py); ids are Placement's. */
export interface PlacementSnapshot {
  revision: string;
  resourceClasses: Array<{ id: number; name: string } & Stamped>;
  traits: Array<{ id: number; name: string } & Stamped>;
  providers: Array<
    {
      id: number;
      uuid: string;
      name: string | null;
      generation: number | null;
      root_provider_id: number | null;
      parent_provider_id: number | null;
    } & Stamped
  >;
  inventories: Array<
    {
      id: number;
      resource_provider_id: number;
      resource_class_id: number;
      total: number;
      reserved: number;
      min_unit: number;
      max_unit: number;
      step_size: number;
      allocation_ratio: number;
    } & Stamped
  >;
  providerTraits: Array<{ resource_provider_id: number; trait_id: number }>;
  aggregates: Array<{ id: number; uuid: string | null }>;
  providerAggregates: Array<{ resource_provider_id: number; aggregate_id: number }>;
  projects: Array<{ id: number; external_id: string }>;
  users: Array<{ id: number; external_id: string }>;
  consumerTypes: Array<{ id: number; name: string }>;
  consumers: Array<
    {
      id: number;
      uuid: string;
      project_id: number;
      user_id: number;
      generation: number;
      consumer_type_id: number | null;
    } & Stamped
  >;
  allocations: Array<
    { id: number; resource_provider_id: number; consumer_id: string; resource_class_id: number; used: number } & Stamped
  >;
}

/** Placement's naive UTC timestamps, as text; either may be NULL (rows written by raw INSERT ... SELECT). */
export interface Stamped {
  created_at: string | null;
  updated_at: string | null;
}

/**
 * Alembic revisions of placement/db/sqlalchemy/alembic/versions, oldest first. Only the last two
 * matter to the data: 422ece571366 added consumer_types; a082b8bb98d0 only dropped indexes.
 */
export const KNOWN_REVISIONS = ['b4ed3a175331', '611cd6dffd7b', 'b5c396305c25', '422ece571366', 'a082b8bb98d0'];
const CONSUMER_TYPES_REVISION = '422ece571366';

export class PlacementSchemaError extends Error {}

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
  'consumers',
  'allocations',
];

export async function readPlacement(source: PlacementSource): Promise<PlacementSnapshot> {
  const revision = await readRevision(source);
  const present = new Set(await source.tables());
  const missing = TABLES.filter((table) => !present.has(table));
  if (missing.length > 0)
    throw new PlacementSchemaError(`not a Placement database: tables ${missing.join(', ')} are missing`);
  const typed = KNOWN_REVISIONS.indexOf(revision) >= KNOWN_REVISIONS.indexOf(CONSUMER_TYPES_REVISION);
  const stamps = 'created_at, updated_at';
  return {
    revision,
    resourceClasses: await source.query(`SELECT id, name, ${stamps} FROM resource_classes ORDER BY id`),
    traits: await source.query(`SELECT id, name, ${stamps} FROM traits ORDER BY id`),
    providers: await source.query(
      `SELECT id, uuid, name, generation, root_provider_id, parent_provider_id, ${stamps}
         FROM resource_providers ORDER BY id`,
    ),
    inventories: await source.query(
      `SELECT id, resource_provider_id, resource_class_id, total, reserved, min_unit, max_unit, step_size,
              allocation_ratio, ${stamps}
         FROM inventories ORDER BY id`,
    ),
    providerTraits: await source.query(
      'SELECT resource_provider_id, trait_id FROM resource_provider_traits ORDER BY resource_provider_id, trait_id',
    ),
    aggregates: await source.query('SELECT id, uuid FROM placement_aggregates ORDER BY id'),
    providerAggregates: await source.query(
      'SELECT resource_provider_id, aggregate_id FROM resource_provider_aggregates ORDER BY resource_provider_id, aggregate_id',
    ),
    projects: await source.query('SELECT id, external_id FROM projects ORDER BY id'),
    users: await source.query('SELECT id, external_id FROM users ORDER BY id'),
    consumerTypes: typed ? await source.query('SELECT id, name FROM consumer_types ORDER BY id') : [],
    consumers: await source.query(
      `SELECT id, uuid, project_id, user_id, generation, ${typed ? 'consumer_type_id' : 'NULL AS consumer_type_id'},
              ${stamps}
         FROM consumers ORDER BY id`,
    ),
    allocations: await source.query(
      `SELECT id, resource_provider_id, consumer_id, resource_class_id, used, ${stamps} FROM allocations ORDER BY id`,
    ),
  };
}

async function readRevision(source: PlacementSource): Promise<string> {
  if (!(await source.tables()).includes('alembic_version'))
    throw new PlacementSchemaError(
      'not a Placement database (no alembic_version table); run `placement-manage db sync` on it with the Placement release it came from',
    );
  const rows = await source.query<{ version_num: string }>('SELECT version_num FROM alembic_version');
  if (rows.length !== 1) throw new PlacementSchemaError(`alembic_version holds ${rows.length} rows, expected one`);
  const revision = rows[0].version_num;
  if (!KNOWN_REVISIONS.includes(revision))
    throw new PlacementSchemaError(
      `Placement schema revision ${revision} is not one this importer knows (${KNOWN_REVISIONS.join(', ')}); a newer Placement may store data it cannot read`,
    );
  return revision;
}
