import type { Knex } from 'knex';

type Db = Knex | Knex.Transaction;

/**
 * SQL for GET /emplace/explain/allocation_candidates: stage counts, all in one statement, and the few
 * facts the per-provider answer needs. The stage queries themselves are the engine's (tree-query.ts
 * rootsQuery) and GET /resource_providers' (provider-filters.ts), so the counts judge as they do.
 */

/** Every query's row count, computed by PostgreSQL in one round trip (one scalar subquery each). */
export async function countRows(db: Db, queries: Knex.QueryBuilder[]): Promise<number[]> {
  if (queries.length === 0) return [];
  const parts = queries.map((query) => query.toSQL());
  const sql = parts.map((part, i) => `(SELECT count(*) FROM (${part.sql}) s${i}) AS c${i}`).join(', ');
  const result = await db.raw(`SELECT ${sql}`, parts.flatMap((part) => [...part.bindings]) as Knex.Value[]);
  const row = result.rows[0] as Record<string, string>;
  return queries.map((_, i) => Number(row[`c${i}`]));
}

/** Providers (`resource_providers AS p`) having an inventory of every one of the classes. */
export function providersWithClasses(db: Db, classIds: number[]): Knex.QueryBuilder {
  const query = (db as Knex)('resource_providers as p').select('p.id');
  for (const classId of classIds) {
    query.whereExists(function inventory() {
      this.select(this.client.raw('1'))
        .from('inventories as inv')
        .whereRaw('inv.resource_provider_id = p.id')
        .andWhere('inv.resource_class_id', classId);
    });
  }
  return query;
}

/** A class of the unsuffixed group, and the aggregates of the sharing providers that have an inventory of it. */
export interface ClassReach {
  classId: number;
  sharingAggregateIds: number[];
}

/**
 * Roots whose tree has an inventory of every class, each in the tree itself or in a sharing provider
 * sharing an aggregate with some provider of the tree (the way the engine links sharing providers).
 */
export function rootsWithClasses(db: Db, classes: ClassReach[]): Knex.QueryBuilder {
  const query = (db as Knex)('resource_providers as r').select('r.id').whereNull('r.parent_provider_id');
  return whereTreeHasClasses(query, classes);
}

/** Keep the roots (`resource_providers AS r`) of rootsWithClasses in a query over roots. */
export function whereTreeHasClasses(query: Knex.QueryBuilder, classes: ClassReach[]): Knex.QueryBuilder {
  for (const { classId, sharingAggregateIds } of classes) {
    query.whereRaw(
      `(EXISTS (SELECT 1 FROM resource_providers p JOIN inventories inv ON inv.resource_provider_id = p.id
                 WHERE p.root_provider_id = r.id AND inv.resource_class_id = ?)
        OR EXISTS (SELECT 1 FROM resource_providers t
                     JOIN resource_provider_aggregates ta ON ta.resource_provider_id = t.id
                    WHERE t.root_provider_id = r.id AND ta.aggregate_id = ANY(?::bigint[])))`,
      [classId, sharingAggregateIds],
    );
  }
  return query;
}

/** The provider's id and root id, or undefined when no provider has the uuid. */
export async function providerByUuid(db: Db, uuid: string): Promise<{ id: number; rootId: number } | undefined> {
  const row = await (db as Knex)('resource_providers').where({ uuid }).first('id', 'root_provider_id');
  return row ? { id: Number(row.id), rootId: Number(row.root_provider_id) } : undefined;
}

/** A query selecting one root id, in the shape fetchTrees takes. */
export function rootIdQuery(db: Db, rootId: number): Knex.QueryBuilder {
  return (db as Knex)('resource_providers').select('id').where({ id: rootId });
}

/** Aggregate uuids by id, for sentences that name aggregates. */
export async function aggregateUuids(db: Db, ids: number[]): Promise<Map<number, string>> {
  if (ids.length === 0) return new Map();
  const rows = await (db as Knex)('placement_aggregates')
    .whereIn('id', ids)
    .select('id', (db as Knex).raw('uuid::text AS uuid'));
  return new Map(rows.map((row: { id: string | number; uuid: string }) => [Number(row.id), row.uuid]));
}

/** Seconds since the provider's last heartbeat (to the millisecond), or undefined when it never sent one. */
export async function heartbeatAgeSeconds(db: Db, providerId: number): Promise<number | undefined> {
  const row = await (db as Knex)('emplace_heartbeats')
    .where({ resource_provider_id: providerId })
    .first((db as Knex).raw('round(EXTRACT(EPOCH FROM now() - heartbeat_at)::numeric, 3) AS age'));
  return row ? Number(row.age) : undefined;
}
