import type { Knex } from 'knex';

type Queryable = Knex | Knex.Transaction;

/** Resource class name -> id for the names that exist; callers decide what a missing name means. */
export async function resourceClassIds(db: Queryable, names: string[]): Promise<Map<string, number>> {
  return nameIdMap(db, 'resource_classes', names);
}

/** Trait name -> id for the names that exist. */
export async function traitIds(db: Queryable, names: string[]): Promise<Map<string, number>> {
  return nameIdMap(db, 'traits', names);
}

/** Aggregate uuid -> id for the aggregates that exist. */
export async function aggregateIds(db: Queryable, uuids: string[]): Promise<Map<string, number>> {
  if (uuids.length === 0) return new Map();
  const rows = await db('placement_aggregates').whereIn('uuid', uuids).select<Array<{ id: number; uuid: string }>>('id', 'uuid');
  return new Map(rows.map((row) => [row.uuid, row.id]));
}

async function nameIdMap(db: Queryable, table: string, names: string[]): Promise<Map<string, number>> {
  if (names.length === 0) return new Map();
  const rows = await db(table).whereIn('name', [...new Set(names)]).select<Array<{ id: number; name: string }>>('id', 'name');
  return new Map(rows.map((row) => [row.name, row.id]));
}
