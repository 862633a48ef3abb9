import type { Queryable } from '../db/knex';

export interface NameLookupOptions {
  /**
   * For a write that is about to reference the rows: hold them FOR KEY SHARE until it commits. A
   * concurrent delete (which locks the row FOR UPDATE first) then waits for us and finds the row in
   * use, or, if it got there first, we wait and find the name gone. Without it the delete can commit
   * between our lookup and our insert, and the insert fails on the foreign key.
   */
  lock?: boolean;
}

/** Resource class name -> id for the names that exist; callers decide what a missing name means. */
export async function resourceClassIds(
  db: Queryable,
  names: string[],
  options: NameLookupOptions = {},
): Promise<Map<string, number>> {
  return nameIdMap(db, 'resource_classes', names, options);
}

/** Trait name -> id for the names that exist. */
export async function traitIds(
  db: Queryable,
  names: string[],
  options: NameLookupOptions = {},
): Promise<Map<string, number>> {
  return nameIdMap(db, 'traits', names, options);
}

/** Aggregate uuid -> id for the aggregates that exist. */
export async function aggregateIds(db: Queryable, uuids: string[]): Promise<Map<string, number>> {
  if (uuids.length === 0) return new Map();
  const rows = await db('placement_aggregates')
    .whereIn('uuid', uuids)
    .select<Array<{ id: number; uuid: string }>>('id', 'uuid');
  return new Map(rows.map((row) => [row.uuid, row.id]));
}

async function nameIdMap(
  db: Queryable,
  table: string,
  names: string[],
  options: NameLookupOptions,
): Promise<Map<string, number>> {
  if (names.length === 0) return new Map();
  const query = db(table)
    .whereIn('name', [...new Set(names)])
    .select<Array<{ id: number; name: string }>>('id', 'name');
  // Key-share locks never conflict with each other, so concurrent writers naming the same rows do not queue.
  if (options.lock) query.forKeyShare();
  const rows = await query;
  return new Map(rows.map((row) => [row.name, row.id]));
}
