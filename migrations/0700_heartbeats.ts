import type { Knex } from 'knex';

/**
 * Emplace's own addition: the last time a provider's reporter (the host agent) said it is alive.
 * One row per provider that ever sent one; providers that never did have none and are never treated
 * as silent. Written by PUT /emplace/heartbeats/{uuid}, which touches nothing else (no generation bump).
 * The provider's deletion takes its heartbeat with it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE emplace_heartbeats (
      resource_provider_id bigint PRIMARY KEY REFERENCES resource_providers (id) ON DELETE CASCADE,
      heartbeat_at timestamptz NOT NULL
    );
    CREATE INDEX emplace_heartbeats_at_idx ON emplace_heartbeats (heartbeat_at);
  `);
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
