import type { Knex } from 'knex';
import type { Queryable } from '../db/knex';
import { truncatedCapacitySql } from '../domain/capacity';

/**
 * SQL for GET /emplace/capacity: per host (root provider) the providers of its tree that have inventory
 * of one resource class, with usage, reservation, model and the root's heartbeat; and totals per model
 * over every host the filters select. Two statements, each set-based (no query per host); plans in
 * docs/emplace-extensions.md.
 */

/**
 * A provider's model: the first of these its own traits include (most specific first). A root-layout
 * host is one provider, so its own traits decide too; a provider with none of them is `none`.
 */
export const MODELS: ReadonlyArray<{ model: string; traits: string[] }> = [
  { model: 'SEV-SNP', traits: ['HW_CPU_X86_AMD_SEV_SNP'] },
  { model: 'SEV-ES', traits: ['HW_CPU_X86_AMD_SEV_ES'] },
  // nova's pre-x86-namespace name still marks SEV hosts reported by older computes.
  { model: 'SEV', traits: ['HW_CPU_X86_AMD_SEV', 'HW_CPU_AMD_SEV'] },
  { model: 'TDX', traits: ['HW_CPU_X86_INTEL_TDX'] },
];
export const NO_MODEL = 'none';

/** Every trait that decides a model: these are the `traits` the capacity view shows per provider. */
export const MODEL_TRAITS = MODELS.flatMap((m) => m.traits);

/** Which hosts count, every name already resolved to an id. Each constraint holds when some provider of the tree meets it. */
export interface CapacityFilter {
  resourceClassId: number;
  /** Each group: some provider of the tree has one of these traits. */
  requiredTraitIds: number[][];
  /** No provider of the tree has any of these. */
  forbiddenTraitIds: number[];
  /** Each group: some provider of the tree is in one of these aggregates. */
  memberOf: number[][];
  /** No provider of the tree is in any of these. */
  forbiddenAggregateIds: number[];
}

export interface CapacityProviderRow {
  root_uuid: string;
  root_name: string;
  heartbeat_at: Date | null;
  heartbeat_age_seconds: number | null;
  stale: boolean;
  uuid: string;
  name: string;
  parent_uuid: string | null;
  total: number;
  reserved: number;
  allocation_ratio: number;
  capacity: number;
  used: number;
  draining: boolean;
  traits: string[];
  model: string;
}

export interface CapacityTotalsRow {
  /** null on the overall row. */
  model: string | null;
  hosts: number;
  providers: number;
  total: number;
  reserved: number;
  capacity: number;
  used: number;
  free: number;
  draining_providers: number;
  draining_used: number;
  draining_hosts: number;
  stale_hosts: number;
}

type Bindings = Knex.RawBinding[];

/** Capacity as Placement reports it, over inventories `i` (src/domain/capacity.ts). */
export const CAPACITY_SQL = truncatedCapacitySql('i');
/** Draining: everything reserved (nothing new fits) while consumers still hold some. */
export const drainingSql = (used: string, inventory = 'i') =>
  `(${inventory}.reserved = ${inventory}.total AND ${used} > 0)`;

/** The model traits with their ids and rank; a CTE both statements start with. */
function modelTraitsCte(): { sql: string; bindings: Bindings } {
  const rows = MODELS.flatMap((m, rank) => m.traits.map((name) => [name, m.model, rank] as const));
  return {
    sql: `model_traits AS MATERIALIZED (
      SELECT t.id AS trait_id, t.name, v.model, v.rank
        FROM (VALUES ${rows.map(() => '(?::text, ?::text, ?::int)').join(', ')}) AS v (name, model, rank)
        JOIN traits t ON t.name = v.name)`,
    bindings: rows.flat(),
  };
}

/** A capacity provider `c`'s model traits (in model order) and its model, from its own traits only. */
const PROVIDER_TRAITS = `ARRAY(SELECT mt.name FROM resource_provider_traits x JOIN model_traits mt ON mt.trait_id = x.trait_id
                  WHERE x.resource_provider_id = c.id ORDER BY mt.rank, mt.name)`;
const PROVIDER_MODEL = `COALESCE((SELECT mt.model FROM resource_provider_traits x JOIN model_traits mt ON mt.trait_id = x.trait_id
                  WHERE x.resource_provider_id = c.id ORDER BY mt.rank LIMIT 1), ?::text)`;

/** Some provider of root r's tree is linked (through `table`.`column`) to one of the ids. */
function treeHas(table: string, column: string): string {
  return `EXISTS (SELECT 1 FROM resource_providers tp JOIN ${table} l ON l.resource_provider_id = tp.id
                   WHERE tp.root_provider_id = r.id AND l.${column} = ANY(?::int[]))`;
}

/** Roots whose tree has inventory of the class and meets every constraint of the filter. */
function hostsWhere(filter: CapacityFilter): { sql: string; bindings: Bindings } {
  const clauses = [
    'r.parent_provider_id IS NULL',
    `EXISTS (SELECT 1 FROM resource_providers tp JOIN inventories ti ON ti.resource_provider_id = tp.id
              WHERE tp.root_provider_id = r.id AND ti.resource_class_id = ?)`,
  ];
  const bindings: Bindings = [filter.resourceClassId];
  for (const anyOf of filter.requiredTraitIds) {
    clauses.push(treeHas('resource_provider_traits', 'trait_id'));
    bindings.push(anyOf);
  }
  if (filter.forbiddenTraitIds.length > 0) {
    clauses.push(`NOT ${treeHas('resource_provider_traits', 'trait_id')}`);
    bindings.push(filter.forbiddenTraitIds);
  }
  for (const anyOf of filter.memberOf) {
    clauses.push(treeHas('resource_provider_aggregates', 'aggregate_id'));
    bindings.push(anyOf);
  }
  if (filter.forbiddenAggregateIds.length > 0) {
    clauses.push(`NOT ${treeHas('resource_provider_aggregates', 'aggregate_id')}`);
    bindings.push(filter.forbiddenAggregateIds);
  }
  return { sql: clauses.join('\n AND '), bindings };
}

export interface CapacityPageOptions {
  /** Hosts after this root uuid. */
  marker?: string;
  /** Hosts on the page; the statement reads one more so the caller knows whether a next page exists. */
  limit: number;
  /** A host whose root's heartbeat is older than this is `stale`; undefined: none is. */
  staleAfterSeconds?: number;
}

/**
 * The statement behind capacityPage (exported so the plans in docs/emplace-extensions.md show the real one).
 * The page walks the root-uuid index and stops after `limit + 1` hosts; each host's providers, usage and
 * model are then index probes (LATERAL; OFFSET 0 keeps PostgreSQL from flattening it into a scan of every
 * provider), so the cost follows the page size, not the cloud's.
 */
export function capacityPageQuery(
  db: Queryable,
  filter: CapacityFilter,
  options: CapacityPageOptions,
): Knex.Raw<{ rows: CapacityProviderRow[] }> {
  const models = modelTraitsCte();
  const hosts = hostsWhere(filter);
  const marker = options.marker ?? null;
  const stale = options.staleAfterSeconds ?? null;
  return db.raw(
    `WITH ${models.sql},
     page AS MATERIALIZED (
       SELECT r.id, r.uuid, r.name,
              (SELECT hb.heartbeat_at FROM emplace_heartbeats hb WHERE hb.resource_provider_id = r.id) AS heartbeat_at
         FROM resource_providers r
        WHERE ${hosts.sql}
          AND (?::uuid IS NULL OR r.uuid > ?::uuid)
        ORDER BY r.uuid
        LIMIT ?)
     SELECT h.uuid::text AS root_uuid, h.name AS root_name, h.heartbeat_at,
            round(EXTRACT(EPOCH FROM now() - h.heartbeat_at)::numeric, 3) AS heartbeat_age_seconds,
            COALESCE(h.heartbeat_at < now() - make_interval(secs => ?::int), false) AS stale,
            c.uuid::text AS uuid, c.name, pp.uuid::text AS parent_uuid,
            c.total, c.reserved, c.allocation_ratio, c.capacity, used.used,
            ${drainingSql('used.used', 'c')} AS draining, ${PROVIDER_TRAITS} AS traits, ${PROVIDER_MODEL} AS model
       FROM page h
      CROSS JOIN LATERAL (
            SELECT p.id, p.uuid, p.name, p.parent_provider_id, i.resource_class_id, i.total, i.reserved,
                   i.allocation_ratio, ${CAPACITY_SQL} AS capacity
              FROM resource_providers p
              JOIN inventories i ON i.resource_provider_id = p.id AND i.resource_class_id = ?
             WHERE p.root_provider_id = h.id
            OFFSET 0) c
      CROSS JOIN LATERAL (SELECT COALESCE(SUM(a.used), 0)::bigint AS used FROM allocations a
                           WHERE a.resource_provider_id = c.id AND a.resource_class_id = c.resource_class_id) used
       LEFT JOIN resource_providers pp ON pp.id = c.parent_provider_id
      ORDER BY h.uuid, c.id`,
    [...models.bindings, ...hosts.bindings, marker, marker, options.limit + 1, stale, NO_MODEL, filter.resourceClassId],
  );
}

/** Every capacity provider of up to `limit + 1` hosts after the marker, ordered by root uuid, then provider id. */
export async function capacityPage(
  db: Queryable,
  filter: CapacityFilter,
  options: CapacityPageOptions,
): Promise<CapacityProviderRow[]> {
  return (await capacityPageQuery(db, filter, options)).rows;
}

/**
 * The statement behind capacityTotals: one pass of hash joins over the class's inventories, its usage and
 * the model traits (no per-provider subquery), grouped per model and overall.
 */
export function capacityTotalsQuery(
  db: Queryable,
  filter: CapacityFilter,
  staleAfterSeconds?: number,
): Knex.Raw<{ rows: CapacityTotalsRow[] }> {
  const models = modelTraitsCte();
  const hosts = hostsWhere(filter);
  return db.raw(
    `WITH ${models.sql},
     hosts AS MATERIALIZED (
       SELECT r.id, COALESCE(hb.heartbeat_at < now() - make_interval(secs => ?::int), false) AS stale
         FROM resource_providers r LEFT JOIN emplace_heartbeats hb ON hb.resource_provider_id = r.id
        WHERE ${hosts.sql}),
     usage AS (SELECT a.resource_provider_id, SUM(a.used)::bigint AS used FROM allocations a
                WHERE a.resource_class_id = ? GROUP BY a.resource_provider_id),
     ranked AS (SELECT DISTINCT ON (x.resource_provider_id) x.resource_provider_id, mt.model
                  FROM model_traits mt JOIN resource_provider_traits x ON x.trait_id = mt.trait_id
                 ORDER BY x.resource_provider_id, mt.rank),
     cap AS (
       SELECT p.root_provider_id AS root_id, h.stale, i.total, i.reserved, ${CAPACITY_SQL} AS capacity, COALESCE(u.used, 0) AS used,
              ${drainingSql('COALESCE(u.used, 0)')} AS draining, COALESCE(m.model, ?::text) AS model
         FROM inventories i
         JOIN resource_providers p ON p.id = i.resource_provider_id
         JOIN hosts h ON h.id = p.root_provider_id
         LEFT JOIN usage u ON u.resource_provider_id = i.resource_provider_id
         LEFT JOIN ranked m ON m.resource_provider_id = i.resource_provider_id
        WHERE i.resource_class_id = ?)
     SELECT CASE WHEN GROUPING(model) = 1 THEN NULL ELSE model END AS model,
            count(DISTINCT root_id) AS hosts, count(*) AS providers,
            SUM(total) AS total, SUM(reserved) AS reserved, SUM(capacity) AS capacity, SUM(used) AS used,
            SUM(GREATEST(capacity - used, 0)) AS free,
            count(*) FILTER (WHERE draining) AS draining_providers,
            COALESCE(SUM(used) FILTER (WHERE draining), 0) AS draining_used,
            count(DISTINCT root_id) FILTER (WHERE draining) AS draining_hosts,
            count(DISTINCT root_id) FILTER (WHERE stale) AS stale_hosts
       FROM cap
      GROUP BY GROUPING SETS ((model), ())
      ORDER BY GROUPING(model), model`,
    [
      ...models.bindings,
      staleAfterSeconds ?? null,
      ...hosts.bindings,
      filter.resourceClassId,
      NO_MODEL,
      filter.resourceClassId,
    ],
  );
}

/** Totals per model (and overall, `model` null) over every host the filter selects. */
export async function capacityTotals(
  db: Queryable,
  filter: CapacityFilter,
  staleAfterSeconds?: number,
): Promise<CapacityTotalsRow[]> {
  return (await capacityTotalsQuery(db, filter, staleAfterSeconds)).rows;
}
