import type { Db } from '../../src/db/knex';

/**
 * The shape that once exhausted the heap (issue 9): `roots` compute nodes, each with `children` NUMA
 * children holding VCPU (8 each, so every child can serve every group of a seven-group query). Bulk
 * SQL, because it is the read path that is under test.
 */
export async function seedWideCloud(db: Db, roots: number, children: number): Promise<void> {
  await db.raw(
    `WITH r AS (
       INSERT INTO resource_providers (id, uuid, name, root_provider_id)
       SELECT n, gen_random_uuid(), 'wide-' || n, n
       FROM (SELECT nextval('resource_providers_id_seq') AS n FROM generate_series(1, ?)) s
       RETURNING id)
     INSERT INTO resource_providers (id, uuid, name, parent_provider_id, root_provider_id)
     SELECT nextval('resource_providers_id_seq'), gen_random_uuid(), 'wide-' || r.id || '-numa' || c, r.id, r.id
     FROM r, generate_series(1, ?) c`,
    [roots, children],
  );
  await db.raw(
    `INSERT INTO inventories (resource_provider_id, resource_class_id, total, reserved, min_unit, max_unit,
                              step_size, allocation_ratio)
     SELECT id, (SELECT id FROM resource_classes WHERE name = 'VCPU'), 8, 0, 1, 8, 1, 1
     FROM resource_providers WHERE parent_provider_id IS NOT NULL AND name LIKE 'wide-%'`,
  );
}

/** `groups` granular groups of one VCPU each, at 1.39 nested candidates may spread them over a tree. */
export function granularVcpuQuery(groups: number): string {
  return Array.from({ length: groups }, (_, i) => `resources${i + 1}=VCPU:1`).join('&') + '&group_policy=none';
}
