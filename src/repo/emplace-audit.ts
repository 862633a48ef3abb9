import type { Queryable } from '../db/knex';
import { CAPACITY_SQL, drainingSql } from './emplace-capacity';

/**
 * SQL for GET /emplace/audit: things an operator should act on, each one statement over the whole
 * database that returns the total count (a window over every match) and the first `limit` items in a
 * stable order. Run in one read-only snapshot by the handler, so the sections agree with each other.
 */

export interface Section<T> {
  count: number;
  items: T[];
}

type Counted<T> = T & { count: number };

function section<T extends object>(rows: Array<Counted<T>>): Section<T> {
  return {
    count: rows.length ? Number(rows[0].count) : 0,
    items: rows.map(({ count: _count, ...item }) => item as unknown as T),
  };
}

/** Usage per provider and class (allocations grouped once, with their consumers). */
const USAGE = `usage AS (
  SELECT a.resource_provider_id, a.resource_class_id, SUM(a.used)::bigint AS used, count(DISTINCT a.consumer_id) AS consumers
    FROM allocations a GROUP BY a.resource_provider_id, a.resource_class_id)`;

export interface OverCapacityItem {
  resource_provider_uuid: string;
  name: string;
  resource_class: string;
  total: number | null;
  reserved: number | null;
  allocation_ratio: number | null;
  capacity: number;
  used: number;
}

/**
 * Usage beyond capacity by Placement's rule: the inventory shrank (or its reservation grew) below what
 * consumers already hold. Usage of a class with no inventory at all counts, with capacity 0. A draining
 * inventory (reserved = total) is listed under `draining` instead: the operator meant it.
 */
export async function overCapacity(db: Queryable, limit: number): Promise<Section<OverCapacityItem>> {
  const result = await db.raw(
    `WITH ${USAGE}
     SELECT p.uuid::text AS resource_provider_uuid, p.name, rc.name AS resource_class,
            i.total, i.reserved, i.allocation_ratio, COALESCE(${CAPACITY_SQL}, 0) AS capacity, u.used,
            count(*) OVER () AS count
       FROM usage u
       JOIN resource_providers p ON p.id = u.resource_provider_id
       JOIN resource_classes rc ON rc.id = u.resource_class_id
       LEFT JOIN inventories i ON i.resource_provider_id = u.resource_provider_id AND i.resource_class_id = u.resource_class_id
      WHERE u.used > COALESCE(${CAPACITY_SQL}, 0)
        AND NOT COALESCE(${drainingSql('u.used')}, false)
      ORDER BY p.uuid, rc.name
      LIMIT ?`,
    [limit],
  );
  return section(result.rows);
}

export interface DrainingItem {
  resource_provider_uuid: string;
  name: string;
  root_provider_uuid: string;
  resource_class: string;
  total: number;
  reserved: number;
  used: number;
  consumers: number;
}

/** Inventories reserved in full (reserved = total) that consumers still hold, and how much they hold in all. */
export async function draining(db: Queryable, limit: number): Promise<Section<DrainingItem> & { used: number }> {
  const result = await db.raw(
    `WITH ${USAGE}
     SELECT p.uuid::text AS resource_provider_uuid, p.name, r.uuid::text AS root_provider_uuid,
            rc.name AS resource_class, i.total, i.reserved, u.used, u.consumers,
            count(*) OVER () AS count, SUM(u.used) OVER () AS used_in_all
       FROM inventories i
       JOIN usage u ON u.resource_provider_id = i.resource_provider_id AND u.resource_class_id = i.resource_class_id
       JOIN resource_providers p ON p.id = i.resource_provider_id
       JOIN resource_providers r ON r.id = p.root_provider_id
       JOIN resource_classes rc ON rc.id = i.resource_class_id
      WHERE ${drainingSql('u.used')}
      ORDER BY p.uuid, rc.name
      LIMIT ?`,
    [limit],
  );
  const used = result.rows.length ? Number(result.rows[0].used_in_all) : 0;
  const rows = result.rows.map(({ used_in_all: _all, ...row }: Record<string, unknown>) => row);
  return { ...section<DrainingItem>(rows as Array<Counted<DrainingItem>>), used };
}

export interface CrossTreeConsumerItem {
  consumer_uuid: string;
  root_provider_uuids: string[];
  resource_provider_uuids: string[];
}

/**
 * Consumers holding resources in more than one tree where no sharing provider explains it: the
 * providers they use that lack MISC_SHARES_VIA_AGGREGATE belong to two or more roots.
 */
export async function crossTreeConsumers(db: Queryable, limit: number): Promise<Section<CrossTreeConsumerItem>> {
  const result = await db.raw(
    `WITH sharing AS (
       SELECT rpt.resource_provider_id FROM resource_provider_traits rpt JOIN traits t ON t.id = rpt.trait_id
        WHERE t.name = 'MISC_SHARES_VIA_AGGREGATE'),
     spans AS (
       SELECT a.consumer_id,
              array_agg(DISTINCT r.uuid::text ORDER BY r.uuid::text) AS root_provider_uuids,
              array_agg(DISTINCT p.uuid::text ORDER BY p.uuid::text) AS resource_provider_uuids
         FROM allocations a
         JOIN resource_providers p ON p.id = a.resource_provider_id
         JOIN resource_providers r ON r.id = p.root_provider_id
        WHERE NOT EXISTS (SELECT 1 FROM sharing s WHERE s.resource_provider_id = a.resource_provider_id)
        GROUP BY a.consumer_id
       HAVING count(DISTINCT p.root_provider_id) > 1)
     SELECT c.uuid::text AS consumer_uuid, s.root_provider_uuids, s.resource_provider_uuids, count(*) OVER () AS count
       FROM spans s JOIN consumers c ON c.id = s.consumer_id
      ORDER BY c.uuid
      LIMIT ?`,
    [limit],
  );
  return section(result.rows);
}

export interface EmptyConsumerItem {
  consumer_uuid: string;
  project_id: string;
  user_id: string;
  generation: number;
  created_at: Date;
  updated_at: Date;
}

/** Consumer records with no allocation left (Placement deletes them when their last allocation goes). */
export async function emptyConsumers(db: Queryable, limit: number): Promise<Section<EmptyConsumerItem>> {
  const result = await db.raw(
    `SELECT c.uuid::text AS consumer_uuid, pr.external_id AS project_id, us.external_id AS user_id,
            c.generation, c.created_at, c.updated_at, count(*) OVER () AS count
       FROM consumers c
       JOIN projects pr ON pr.id = c.project_id
       JOIN users us ON us.id = c.user_id
      WHERE NOT EXISTS (SELECT 1 FROM allocations a WHERE a.consumer_id = c.id)
      ORDER BY c.uuid
      LIMIT ?`,
    [limit],
  );
  return section(result.rows);
}

/** Custom resource classes no inventory (and no allocation) refers to. */
export async function unusedResourceClasses(db: Queryable, limit: number): Promise<Section<string>> {
  const result = await db.raw(
    `SELECT rc.name, count(*) OVER () AS count
       FROM resource_classes rc
      WHERE left(rc.name, 7) = 'CUSTOM_'
        AND NOT EXISTS (SELECT 1 FROM inventories i WHERE i.resource_class_id = rc.id)
        AND NOT EXISTS (SELECT 1 FROM allocations a WHERE a.resource_class_id = rc.id)
      ORDER BY rc.name
      LIMIT ?`,
    [limit],
  );
  return namesSection(result.rows);
}

/** Custom traits no provider has. */
export async function unusedTraits(db: Queryable, limit: number): Promise<Section<string>> {
  const result = await db.raw(
    `SELECT t.name, count(*) OVER () AS count
       FROM traits t
      WHERE left(t.name, 7) = 'CUSTOM_'
        AND NOT EXISTS (SELECT 1 FROM resource_provider_traits rpt WHERE rpt.trait_id = t.id)
      ORDER BY t.name
      LIMIT ?`,
    [limit],
  );
  return namesSection(result.rows);
}

function namesSection(rows: Array<{ name: string; count: number }>): Section<string> {
  return { count: rows.length ? Number(rows[0].count) : 0, items: rows.map((row) => row.name) };
}
