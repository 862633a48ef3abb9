import type { Knex } from 'knex';

/**
 * The change log behind the in-process read model (src/read-model/read-model.ts). Every statement that
 * changes what allocation candidates read (providers, inventories, usage totals, traits and aggregates of
 * providers, the trait and class catalogues) records, inside the writer's transaction, which trees it
 * touched and the writer's transaction id. A reader learns what changed since its last look by asking
 * for the rows of transactions that its previous snapshot did not see: commit order does not matter, so
 * writers never queue on a shared counter. docs/decisions/1410-read-model.md.
 *
 * root_id: a tree's root provider id; 0 the catalogues (trait and class names, aggregate uuids); -1 everything (TRUNCATE).
 * emplace_read_horizon: rows of transactions older than it have been pruned; a reader whose previous
 * snapshot is older reloads whole.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE emplace_read_changes (
      xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
      root_id bigint NOT NULL CHECK (root_id >= -1)
    );
    CREATE INDEX emplace_read_changes_xid ON emplace_read_changes (xid);
    CREATE TABLE emplace_read_horizon (
      only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
      horizon xid8 NOT NULL
    );
    INSERT INTO emplace_read_horizon (horizon) VALUES ('0'::xid8);

    -- Providers: the old and the new root (a re-parented provider leaves one tree for another).
    CREATE FUNCTION emplace_read_providers_new() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO emplace_read_changes (root_id)
        SELECT DISTINCT COALESCE(root_provider_id, id) FROM new_rows;
      RETURN NULL;
    END $$;
    CREATE FUNCTION emplace_read_providers_old() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO emplace_read_changes (root_id)
        SELECT DISTINCT COALESCE(root_provider_id, id) FROM old_rows;
      RETURN NULL;
    END $$;
    CREATE FUNCTION emplace_read_providers_both() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO emplace_read_changes (root_id)
        SELECT COALESCE(root_provider_id, id) FROM old_rows
        UNION SELECT COALESCE(root_provider_id, id) FROM new_rows;
      RETURN NULL;
    END $$;
    CREATE TRIGGER resource_providers_read_insert AFTER INSERT ON resource_providers
      REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION emplace_read_providers_new();
    CREATE TRIGGER resource_providers_read_update AFTER UPDATE ON resource_providers
      REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION emplace_read_providers_both();
    CREATE TRIGGER resource_providers_read_delete AFTER DELETE ON resource_providers
      REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION emplace_read_providers_old();

    -- Rows keyed by provider: the provider's root. A provider deleted in the same statement (cascade) has
    -- no root to find, and its own trigger has logged it.
    CREATE FUNCTION emplace_read_by_provider_new() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO emplace_read_changes (root_id)
        SELECT DISTINCT p.root_provider_id FROM new_rows n JOIN resource_providers p ON p.id = n.resource_provider_id;
      RETURN NULL;
    END $$;
    CREATE FUNCTION emplace_read_by_provider_old() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO emplace_read_changes (root_id)
        SELECT DISTINCT p.root_provider_id FROM old_rows o JOIN resource_providers p ON p.id = o.resource_provider_id;
      RETURN NULL;
    END $$;
    CREATE FUNCTION emplace_read_by_provider_both() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO emplace_read_changes (root_id)
        SELECT p.root_provider_id FROM old_rows o JOIN resource_providers p ON p.id = o.resource_provider_id
        UNION SELECT p.root_provider_id FROM new_rows n JOIN resource_providers p ON p.id = n.resource_provider_id;
      RETURN NULL;
    END $$;

    -- The catalogues: one row, only when the statement changed any.
    CREATE FUNCTION emplace_read_catalogue_new() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO emplace_read_changes (root_id) SELECT 0 WHERE EXISTS (SELECT 1 FROM new_rows);
      RETURN NULL;
    END $$;
    CREATE FUNCTION emplace_read_catalogue_old() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO emplace_read_changes (root_id) SELECT 0 WHERE EXISTS (SELECT 1 FROM old_rows);
      RETURN NULL;
    END $$;

    CREATE FUNCTION emplace_read_everything() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO emplace_read_changes (root_id) VALUES (-1);
      RETURN NULL;
    END $$;
  `);
  for (const table of ['inventories', 'provider_usages', 'resource_provider_traits', 'resource_provider_aggregates'])
    await knex.raw(byEventTriggers(table, 'emplace_read_by_provider'));
  for (const table of ['traits', 'resource_classes', 'placement_aggregates'])
    await knex.raw(byEventTriggers(table, 'emplace_read_catalogue'));
  for (const table of [
    'resource_providers',
    'inventories',
    'provider_usages',
    'resource_provider_traits',
    'resource_provider_aggregates',
    'traits',
    'resource_classes',
    'placement_aggregates',
  ])
    await knex.raw(
      `CREATE TRIGGER ${table}_read_truncate AFTER TRUNCATE ON ${table} FOR EACH STATEMENT EXECUTE FUNCTION emplace_read_everything()`,
    );
}

/** Transition tables are per event, so three triggers per table, each naming only the tables its event has. */
function byEventTriggers(table: string, fn: string): string {
  return `
    CREATE TRIGGER ${table}_read_insert AFTER INSERT ON ${table}
      REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ${fn}_new();
    CREATE TRIGGER ${table}_read_delete AFTER DELETE ON ${table}
      REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION ${fn}_old();
    CREATE TRIGGER ${table}_read_update AFTER UPDATE ON ${table}
      REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ${fn}_${
        fn === 'emplace_read_catalogue' ? 'new' : 'both'
      }();`;
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
