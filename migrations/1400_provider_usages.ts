import type { Knex } from 'knex';

/**
 * Usage totals per (provider, class), kept by statement-level triggers on allocations, so reads
 * (allocation candidates, GET /resource_providers?resources=, provider usages) look one row up instead of
 * summing every allocation of every inventory they touch. Triggers rather than code in the claim path:
 * every writer (allocations, reshaper, consumer deletes, import-placement) goes through the table, and a
 * trigger runs inside the writer's transaction, so no snapshot sees allocations and totals disagree.
 * Writers lock the providers they touch in id order first, so the totals' row locks queue behind those;
 * each statement also upserts in key order. Capacity checks keep reading allocations under the provider
 * locks (src/repo/allocation-capacity.ts). Rows reaching 0 are removed. docs/decisions/1400-usage-totals.md.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE provider_usages (
      resource_provider_id bigint NOT NULL REFERENCES resource_providers (id) ON DELETE CASCADE,
      resource_class_id integer NOT NULL,
      used bigint NOT NULL,
      PRIMARY KEY (resource_provider_id, resource_class_id)
    );

    -- Transition tables are per event, so one function per event, each naming only the ones it has.
    CREATE FUNCTION provider_usages_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO provider_usages AS u (resource_provider_id, resource_class_id, used)
        SELECT resource_provider_id, resource_class_id, SUM(used) FROM new_rows
         GROUP BY resource_provider_id, resource_class_id ORDER BY resource_provider_id, resource_class_id
      ON CONFLICT (resource_provider_id, resource_class_id) DO UPDATE SET used = u.used + EXCLUDED.used;
      RETURN NULL;
    END $$;

    CREATE FUNCTION provider_usages_after_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE provider_usages u SET used = u.used - d.used
        FROM (SELECT resource_provider_id, resource_class_id, SUM(used) AS used FROM old_rows
               GROUP BY resource_provider_id, resource_class_id) d
       WHERE u.resource_provider_id = d.resource_provider_id AND u.resource_class_id = d.resource_class_id;
      DELETE FROM provider_usages u USING (SELECT DISTINCT resource_provider_id, resource_class_id FROM old_rows) d
       WHERE u.resource_provider_id = d.resource_provider_id AND u.resource_class_id = d.resource_class_id
         AND u.used = 0;
      RETURN NULL;
    END $$;

    CREATE FUNCTION provider_usages_after_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO provider_usages AS u (resource_provider_id, resource_class_id, used)
        SELECT resource_provider_id, resource_class_id, SUM(used) FROM (
                 SELECT resource_provider_id, resource_class_id, used FROM new_rows
                 UNION ALL SELECT resource_provider_id, resource_class_id, -used FROM old_rows) d
         GROUP BY resource_provider_id, resource_class_id HAVING SUM(used) <> 0
         ORDER BY resource_provider_id, resource_class_id
      ON CONFLICT (resource_provider_id, resource_class_id) DO UPDATE SET used = u.used + EXCLUDED.used;
      DELETE FROM provider_usages u USING (SELECT DISTINCT resource_provider_id, resource_class_id FROM old_rows) d
       WHERE u.resource_provider_id = d.resource_provider_id AND u.resource_class_id = d.resource_class_id
         AND u.used = 0;
      RETURN NULL;
    END $$;

    CREATE TRIGGER allocations_usage_insert AFTER INSERT ON allocations
      REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION provider_usages_after_insert();
    CREATE TRIGGER allocations_usage_delete AFTER DELETE ON allocations
      REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION provider_usages_after_delete();
    CREATE TRIGGER allocations_usage_update AFTER UPDATE ON allocations
      REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION provider_usages_after_update();

    -- Backfill with writers held off, so no allocation lands between the sum and the triggers.
    LOCK TABLE allocations IN SHARE MODE;
    INSERT INTO provider_usages (resource_provider_id, resource_class_id, used)
      SELECT resource_provider_id, resource_class_id, SUM(used) FROM allocations
       GROUP BY resource_provider_id, resource_class_id;
  `);
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
