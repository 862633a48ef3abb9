import type { Tx } from '../db/knex';
import { ConsumerGenerationConflict } from '../errors/domain';

/** A consumer row locked for the rest of the caller's transaction. */
export interface LockedConsumer {
  id: number;
  uuid: string;
  generation: number;
  projectId: number;
  userId: number;
  consumerTypeId: number | null;
  /** Created by this transaction (it did not exist before). */
  created: boolean;
}

/** What a write asks a consumer to be. */
export interface ConsumerIdentity {
  uuid: string;
  projectExternalId: string;
  userExternalId: string;
  /** Undefined before 1.38: a new consumer gets no type and an existing one keeps its own. */
  consumerType?: string;
  /** Undefined before 1.28 (no check); null means "I expect this consumer not to exist". */
  expectedGeneration?: number | null;
}

/** Project/user external id -> row id, creating rows as needed. */
export async function ensureExternalIds(
  tx: Tx,
  table: 'projects' | 'users',
  externalIds: string[],
): Promise<Map<string, number>> {
  return ensureNamed(tx, table, 'external_id', externalIds);
}

/** Consumer type name -> id, creating types on first use as Placement does. */
export async function ensureConsumerTypes(tx: Tx, names: string[]): Promise<Map<string, number>> {
  return ensureNamed(tx, 'consumer_types', 'name', names);
}

/**
 * Ids of rows named `values` in `table`, in one lookup when they all exist (nearly every claim: these rows
 * are never deleted); missing ones are inserted one at a time in sorted order, so concurrent writers
 * creating the same rows insert in one order and cannot deadlock.
 */
async function ensureNamed(
  tx: Tx,
  table: 'projects' | 'users' | 'consumer_types',
  column: 'external_id' | 'name',
  values: string[],
): Promise<Map<string, number>> {
  const wanted = [...new Set(values)].sort();
  const result = new Map<string, number>();
  if (wanted.length === 0) return result;
  const found = await tx.raw(`SELECT id, ${column} AS value FROM ${table} WHERE ${column} = ANY(?)`, [wanted]);
  for (const row of found.rows as Array<{ id: number; value: string }>) result.set(row.value, row.id);
  for (const value of wanted) {
    if (result.has(value)) continue;
    await tx.raw(`INSERT INTO ${table} (${column}) VALUES (?) ON CONFLICT (${column}) DO NOTHING`, [value]);
    const row = await tx(table)
      .where({ [column]: value })
      .first<{ id: number }>('id');
    result.set(value, row.id);
  }
  return result;
}

/**
 * Lock the consumer row, creating it if it does not exist. A concurrent creator makes our INSERT
 * wait for its outcome; a concurrent delete makes the row vanish under our SELECT, so we try again.
 */
export async function lockOrCreateConsumer(
  tx: Tx,
  uuid: string,
  projectId: number,
  userId: number,
  consumerTypeId: number | null,
): Promise<LockedConsumer> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const inserted = await tx.raw(
      `INSERT INTO consumers (uuid, project_id, user_id, consumer_type_id) VALUES (?, ?, ?, ?)
       ON CONFLICT (uuid) DO NOTHING RETURNING id, generation`,
      [uuid, projectId, userId, consumerTypeId],
    );
    if (inserted.rows.length === 1) {
      const row = inserted.rows[0];
      return { id: row.id, uuid, generation: row.generation, projectId, userId, consumerTypeId, created: true };
    }
    const existing = await tx.raw(
      'SELECT id, generation, project_id, user_id, consumer_type_id FROM consumers WHERE uuid = ? FOR UPDATE',
      [uuid],
    );
    if (existing.rows.length === 1) {
      const row = existing.rows[0];
      return {
        id: row.id,
        uuid,
        generation: row.generation,
        projectId: row.project_id,
        userId: row.user_id,
        consumerTypeId: row.consumer_type_id,
        created: false,
      };
    }
  }
  throw new Error(`consumer ${uuid} kept appearing and disappearing`);
}

/** Placement's consumer generation check (1.28+): null for a consumer that must not exist yet. */
export function checkConsumerGeneration(consumer: LockedConsumer, expected: number | null | undefined): void {
  if (expected === undefined) return;
  if (consumer.created) {
    if (expected !== null) throw new ConsumerGenerationConflict(consumer.uuid, null, expected);
    return;
  }
  if (consumer.generation !== expected)
    throw new ConsumerGenerationConflict(consumer.uuid, consumer.generation, expected);
}

/**
 * Record the written state of a consumer: project/user as asked, type when one was given (1.38),
 * generation + 1. The row is locked, so the generation cannot have moved under us.
 */
export async function updateConsumerAfterWrite(
  tx: Tx,
  consumer: LockedConsumer,
  projectId: number,
  userId: number,
  consumerTypeId: number | null | undefined,
): Promise<void> {
  const changes: Record<string, unknown> = {
    project_id: projectId,
    user_id: userId,
    generation: consumer.generation + 1,
    updated_at: tx.fn.now(),
  };
  if (consumerTypeId !== undefined && consumerTypeId !== null) changes.consumer_type_id = consumerTypeId;
  await tx('consumers').where({ id: consumer.id }).update(changes);
}

/** Consumers exist only while they hold allocations (Placement deletes them with their last one). */
export async function deleteConsumersWithoutAllocations(tx: Tx, consumerIds: number[]): Promise<void> {
  if (consumerIds.length === 0) return;
  await tx.raw(
    `DELETE FROM consumers c WHERE c.id = ANY(?::bigint[])
       AND NOT EXISTS (SELECT 1 FROM allocations a WHERE a.consumer_id = c.id)`,
    [consumerIds],
  );
}
