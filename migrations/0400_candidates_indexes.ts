import type { Knex } from 'knex';

/**
 * Allocation candidates walk root providers in id order and stop after `limit` roots pass the
 * per-root checks (src/candidates/tree-query.ts). A partial index of the roots lets that walk skip
 * child providers entirely; the plans are in docs/candidates-plans.md.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(
    'CREATE INDEX IF NOT EXISTS resource_providers_roots_idx ON resource_providers (id) WHERE parent_provider_id IS NULL',
  );
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
