import type { Knex } from 'knex';
import type { Queryable } from '../db/knex';

/** Usage of every class the provider has inventory of (0 when nothing is allocated), as Placement reports it; totals from migration 1400. */
export async function providerUsages(
  db: Queryable,
  providerId: number,
): Promise<Array<{ resource_class: string; used: number }>> {
  const result = await db.raw(
    `SELECT rc.name AS resource_class, COALESCE(u.used, 0)::bigint AS used
       FROM inventories i
       JOIN resource_classes rc ON rc.id = i.resource_class_id
       LEFT JOIN provider_usages u ON u.resource_provider_id = i.resource_provider_id AND u.resource_class_id = i.resource_class_id
      WHERE i.resource_provider_id = ?
      ORDER BY rc.id`,
    [providerId],
  );
  return result.rows;
}

export interface UsageScope {
  projectExternalId: string;
  userExternalId?: string;
}

/** Total usage per class of a project (and user), regardless of consumer type (1.9-1.37). */
export async function totalUsages(
  db: Queryable,
  scope: UsageScope,
): Promise<Array<{ resource_class: string; used: number }>> {
  const result = await db.raw(
    `SELECT rc.name AS resource_class, SUM(a.used)::bigint AS used
       FROM allocations a
       JOIN consumers c ON c.id = a.consumer_id
       JOIN resource_classes rc ON rc.id = a.resource_class_id
      WHERE ${scopeClause()}
      GROUP BY rc.id, rc.name
      ORDER BY rc.id`,
    scopeBindings(scope),
  );
  return result.rows;
}

export interface TypedUsageRow {
  consumer_type: string;
  resource_class: string;
  used: number;
  consumer_count: number;
}

/** Which consumers count and what they are grouped under (see usagesByConsumerType). */
export type ConsumerTypeFilter =
  | { kind: 'every-type' }
  | { kind: 'named'; name: string }
  | { kind: 'all'; key: string }
  | { kind: 'untyped'; key: string };

/**
 * Usage per consumer type and class with the number of distinct consumers per type (1.38).
 * `group` is the key to group under: the type's own name (null type -> `unknownName`), or one
 * fixed key for `all`/`unknown`. Consumers are counted per type, not per class, so a consumer
 * holding VCPU and MEMORY_MB counts once. Every selected column is grouped or aggregated: this is
 * the query Placement gets wrong on PostgreSQL (its GROUP BY answers 500 there).
 */
export async function usagesByConsumerType(
  db: Queryable,
  scope: UsageScope,
  filter: ConsumerTypeFilter,
  unknownName: string,
): Promise<TypedUsageRow[]> {
  const grouping = typeGrouping(filter, unknownName);
  const result = await db.raw(typedUsageSql(grouping), [
    ...grouping.keyBindings,
    ...scopeBindings(scope),
    ...grouping.filterBindings,
  ]);
  return result.rows;
}

/** SQL fragments (with their bindings) that pick the grouping key and narrow consumers by type. */
interface TypeGrouping {
  key: string;
  keyBindings: Knex.RawBinding[];
  filter: string;
  filterBindings: Knex.RawBinding[];
}

function typeGrouping(filter: ConsumerTypeFilter, unknownName: string): TypeGrouping {
  switch (filter.kind) {
    case 'every-type':
      return { key: 'COALESCE(ct.name, ?)', keyBindings: [unknownName], filter: '', filterBindings: [] };
    case 'named':
      return { key: 'ct.name', keyBindings: [], filter: 'AND ct.name = ?', filterBindings: [filter.name] };
    case 'all':
      return { key: '?::text', keyBindings: [filter.key], filter: '', filterBindings: [] };
    case 'untyped':
      return {
        key: '?::text',
        keyBindings: [filter.key],
        filter: 'AND c.consumer_type_id IS NULL',
        filterBindings: [],
      };
  }
}

/** Bindings in order: the grouping key's, the scope's, the type filter's. */
function typedUsageSql(grouping: TypeGrouping): string {
  return `WITH scoped AS (
       SELECT ${grouping.key} AS consumer_type, a.resource_class_id, a.used, a.consumer_id
         FROM allocations a
         JOIN consumers c ON c.id = a.consumer_id
         LEFT JOIN consumer_types ct ON ct.id = c.consumer_type_id
        WHERE ${scopeClause()} ${grouping.filter}
     ), counts AS (
       SELECT consumer_type, COUNT(DISTINCT consumer_id)::bigint AS consumer_count FROM scoped GROUP BY consumer_type
     )
     SELECT s.consumer_type, rc.name AS resource_class, SUM(s.used)::bigint AS used, MAX(n.consumer_count) AS consumer_count
       FROM scoped s
       JOIN counts n ON n.consumer_type = s.consumer_type
       JOIN resource_classes rc ON rc.id = s.resource_class_id
      GROUP BY s.consumer_type, rc.id, rc.name
      ORDER BY s.consumer_type, rc.id`;
}

function scopeClause(): string {
  return `c.project_id = (SELECT id FROM projects WHERE external_id = ?)
      AND (?::text IS NULL OR c.user_id = (SELECT id FROM users WHERE external_id = ?))`;
}

function scopeBindings(scope: UsageScope): Knex.RawBinding[] {
  return [scope.projectExternalId, scope.userExternalId ?? null, scope.userExternalId ?? null];
}
