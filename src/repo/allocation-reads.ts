import type { Queryable } from '../db/knex';

/* The read side of allocations (GET by consumer, GET by provider); writes stay in allocations.ts. */

export interface ConsumerAllocationRow {
  provider_uuid: string;
  provider_generation: number;
  resource_class: string;
  used: number;
  consumer_generation: number;
  project_external_id: string;
  user_external_id: string;
  consumer_type: string | null;
  updated_at: Date;
}

/** Every allocation of one consumer with what GET /allocations/{consumer_uuid} shows. */
export async function allocationsForConsumer(db: Queryable, consumerUuid: string): Promise<ConsumerAllocationRow[]> {
  const result = await db.raw(
    `SELECT rp.uuid AS provider_uuid, rp.generation AS provider_generation, rc.name AS resource_class, a.used,
            c.generation AS consumer_generation, p.external_id AS project_external_id,
            u.external_id AS user_external_id, ct.name AS consumer_type, a.updated_at
       FROM consumers c
       JOIN allocations a ON a.consumer_id = c.id
       JOIN resource_providers rp ON rp.id = a.resource_provider_id
       JOIN resource_classes rc ON rc.id = a.resource_class_id
       JOIN projects p ON p.id = c.project_id
       JOIN users u ON u.id = c.user_id
       LEFT JOIN consumer_types ct ON ct.id = c.consumer_type_id
      WHERE c.uuid = ?
      ORDER BY rp.id, rc.id`,
    [consumerUuid],
  );
  return result.rows;
}

export interface ProviderAllocationRow {
  consumer_uuid: string;
  consumer_generation: number;
  resource_class: string;
  used: number;
  updated_at: Date;
}

/** Every allocation against one provider (GET /resource_providers/{uuid}/allocations). */
export async function allocationsForProvider(db: Queryable, providerId: number): Promise<ProviderAllocationRow[]> {
  const result = await db.raw(
    `SELECT c.uuid AS consumer_uuid, c.generation AS consumer_generation, rc.name AS resource_class, a.used, a.updated_at
       FROM allocations a
       JOIN consumers c ON c.id = a.consumer_id
       JOIN resource_classes rc ON rc.id = a.resource_class_id
      WHERE a.resource_provider_id = ?
      ORDER BY c.id, rc.id`,
    [providerId],
  );
  return result.rows;
}
