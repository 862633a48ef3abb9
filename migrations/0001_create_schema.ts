import type { Knex } from 'knex';

/**
 * The whole data model the Placement API needs. Standard resource classes and traits are rows too,
 * synced from the catalogue at start (see src/repo/catalogue-sync.ts) so every reference is a foreign key.
 * Custom resource classes get ids from 10000, as in Placement, leaving 0..9999 to the standard catalogue.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE resource_providers (
      id bigserial PRIMARY KEY,
      uuid uuid NOT NULL UNIQUE,
      name varchar(200) NOT NULL,
      generation integer NOT NULL DEFAULT 0,
      parent_provider_id bigint REFERENCES resource_providers (id),
      root_provider_id bigint NOT NULL REFERENCES resource_providers (id),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT resource_providers_name_unique UNIQUE (name)
    );
    CREATE INDEX resource_providers_parent_idx ON resource_providers (parent_provider_id);
    CREATE INDEX resource_providers_root_idx ON resource_providers (root_provider_id);

    CREATE TABLE resource_classes (
      id integer PRIMARY KEY,
      name varchar(255) NOT NULL UNIQUE,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE SEQUENCE custom_resource_class_id_seq START WITH 10000 OWNED BY resource_classes.id;

    CREATE TABLE traits (
      id serial PRIMARY KEY,
      name varchar(255) NOT NULL UNIQUE,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE resource_provider_traits (
      resource_provider_id bigint NOT NULL REFERENCES resource_providers (id) ON DELETE CASCADE,
      trait_id integer NOT NULL REFERENCES traits (id),
      PRIMARY KEY (resource_provider_id, trait_id)
    );
    CREATE INDEX resource_provider_traits_trait_idx ON resource_provider_traits (trait_id, resource_provider_id);

    CREATE TABLE placement_aggregates (
      id serial PRIMARY KEY,
      uuid uuid NOT NULL UNIQUE
    );

    CREATE TABLE resource_provider_aggregates (
      resource_provider_id bigint NOT NULL REFERENCES resource_providers (id) ON DELETE CASCADE,
      aggregate_id integer NOT NULL REFERENCES placement_aggregates (id),
      PRIMARY KEY (resource_provider_id, aggregate_id)
    );
    CREATE INDEX resource_provider_aggregates_aggregate_idx ON resource_provider_aggregates (aggregate_id, resource_provider_id);

    CREATE TABLE projects (
      id serial PRIMARY KEY,
      external_id varchar(255) NOT NULL UNIQUE
    );

    CREATE TABLE users (
      id serial PRIMARY KEY,
      external_id varchar(255) NOT NULL UNIQUE
    );

    CREATE TABLE consumer_types (
      id serial PRIMARY KEY,
      name varchar(255) NOT NULL UNIQUE
    );

    CREATE TABLE consumers (
      id bigserial PRIMARY KEY,
      uuid uuid NOT NULL UNIQUE,
      project_id integer NOT NULL REFERENCES projects (id),
      user_id integer NOT NULL REFERENCES users (id),
      consumer_type_id integer REFERENCES consumer_types (id),
      generation integer NOT NULL DEFAULT 0,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX consumers_project_user_idx ON consumers (project_id, user_id);

    CREATE TABLE inventories (
      id bigserial PRIMARY KEY,
      resource_provider_id bigint NOT NULL REFERENCES resource_providers (id) ON DELETE CASCADE,
      resource_class_id integer NOT NULL REFERENCES resource_classes (id),
      total integer NOT NULL,
      reserved integer NOT NULL DEFAULT 0,
      min_unit integer NOT NULL DEFAULT 1,
      max_unit integer NOT NULL,
      step_size integer NOT NULL DEFAULT 1,
      allocation_ratio double precision NOT NULL DEFAULT 1.0,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT inventories_provider_class_unique UNIQUE (resource_provider_id, resource_class_id)
    );
    CREATE INDEX inventories_class_idx ON inventories (resource_class_id, resource_provider_id);

    CREATE TABLE allocations (
      id bigserial PRIMARY KEY,
      resource_provider_id bigint NOT NULL REFERENCES resource_providers (id),
      consumer_id bigint NOT NULL REFERENCES consumers (id),
      resource_class_id integer NOT NULL REFERENCES resource_classes (id),
      used integer NOT NULL CHECK (used > 0),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT allocations_consumer_provider_class_unique UNIQUE (consumer_id, resource_provider_id, resource_class_id)
    );
    CREATE INDEX allocations_provider_class_idx ON allocations (resource_provider_id, resource_class_id);
  `);
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
