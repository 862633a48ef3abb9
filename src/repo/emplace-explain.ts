import type { Knex } from 'knex';
import { applyProviderFilter, type ProviderFilter } from './provider-filters';

type Db = Knex | Knex.Transaction;

/**
 * SQL for GET /emplace/explain/allocation_candidates: stage counts, all in one statement, and the few
 * facts the per-provider answer needs. Providers are judged by the filter GET /resource_providers and the
 * engine share (provider-filters.ts); trees as the engine's per-root pre-check does (tree-query.ts).
 */

/** What a stage counts: the rows of `query`, or the roots in every one of the root-id `sets` (`id` columns). */
export type StageQuery = { query: Knex.QueryBuilder } | { sets: Knex.QueryBuilder[] };

/**
 * Every stage's count in ONE statement. Root-id sets are common table expressions, each computed once
 * however many stages use it (a later stage keeps the earlier ones' sets), so counting stages over n
 * roots costs a set-based scan per condition and hashed intersections, not correlated probes per root.
 */
export async function countStages(db: Db, stages: StageQuery[]): Promise<number[]> {
  if (stages.length === 0) return [];
  const sets = new Map<string, { name: string; sql: string; bindings: readonly unknown[] }>();
  const setName = (query: Knex.QueryBuilder) => {
    const { sql, bindings } = query.toSQL();
    const key = `${sql}\u0000${JSON.stringify(bindings)}`;
    let set = sets.get(key);
    if (!set) sets.set(key, (set = { name: `s${sets.size}`, sql, bindings }));
    return set.name;
  };
  const counts: Array<{ sql: string; bindings: readonly unknown[] }> = stages.map((stage) => {
    if ('query' in stage) {
      const { sql, bindings } = stage.query.toSQL();
      return { sql: `SELECT count(*) FROM (${sql}) q`, bindings };
    }
    // Every set holds root ids only; INTERSECT (a hashed set operation) keeps the planner from probing a
    // materialised set once per root.
    const names = [...new Set(stage.sets.map(setName))];
    if (names.length === 0) {
      return { sql: 'SELECT count(*) FROM resource_providers WHERE parent_provider_id IS NULL', bindings: [] };
    }
    if (names.length === 1) return { sql: `SELECT count(DISTINCT id) FROM ${names[0]}`, bindings: [] };
    const sql = names.map((name) => `SELECT id FROM ${name}`).join(' INTERSECT ');
    return { sql: `SELECT count(*) FROM (${sql}) q`, bindings: [] };
  });
  const ctes = [...sets.values()];
  const withSql = ctes.length ? `WITH ${ctes.map((c) => `${c.name} AS MATERIALIZED (${c.sql})`).join(', ')} ` : '';
  const select = counts.map((c, i) => `(${c.sql}) AS c${i}`).join(', ');
  const bindings = [...ctes.flatMap((c) => [...c.bindings]), ...counts.flatMap((c) => [...c.bindings])];
  const result = await db.raw(`${withSql}SELECT ${select}`, bindings as Knex.Value[]);
  const row = result.rows[0] as Record<string, string>;
  return stages.map((_, i) => Number(row[`c${i}`]));
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

/**
 * Root ids (`id`) of the trees having a provider that passes `filter`, or sharing an aggregate with one
 * of `sharingAggregateIds` through any of their providers: the engine's "in the tree or from a linked
 * sharing provider" (tree-query.ts eitherTreeOrSharing), as a set rather than a per-root probe.
 */
export function treesWithProvider(db: Db, filter: ProviderFilter, sharingAggregateIds: number[]): Knex.QueryBuilder {
  const query = applyProviderFilter(
    (db as Knex)('resource_providers as p').select('p.root_provider_id as id'),
    'p',
    filter,
  );
  if (sharingAggregateIds.length === 0) return query;
  return withTreesLinkedTo(query, sharingAggregateIds);
}

/** Root ids (`id`) of the trees having an inventory of the class, in the tree or from a linked sharing provider. */
export function treesWithClass(db: Db, classId: number, sharingAggregateIds: number[]): Knex.QueryBuilder {
  const query = (db as Knex)('inventories as inv')
    .join('resource_providers as p', 'p.id', 'inv.resource_provider_id')
    .select('p.root_provider_id as id')
    .where('inv.resource_class_id', classId);
  if (sharingAggregateIds.length === 0) return query;
  return withTreesLinkedTo(query, sharingAggregateIds);
}

/** `query`'s root ids plus those of every tree with a provider in one of the sharing providers' aggregates. */
function withTreesLinkedTo(query: Knex.QueryBuilder, sharingAggregateIds: number[]): Knex.QueryBuilder {
  return query.union(function linked() {
    this.select('t.root_provider_id as id')
      .from('resource_providers as t')
      .join('resource_provider_aggregates as ta', 'ta.resource_provider_id', 't.id')
      .whereIn('ta.aggregate_id', sharingAggregateIds);
  });
}

/** Root ids (`id`) of the roots (`resource_providers AS r`) that `where` keeps. */
export function rootsWhere(db: Db, where: (query: Knex.QueryBuilder) => void): Knex.QueryBuilder {
  const query = (db as Knex)('resource_providers as r').select('r.id').whereNull('r.parent_provider_id');
  where(query);
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
