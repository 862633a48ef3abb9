import type { Knex } from 'knex';
import type { Tx, Queryable } from '../db/knex';
import { DuplicateName, MissingParent, ProviderHasAllocations, ProviderHasChildren } from '../errors/domain';
import { isForeignKeyViolation, isUniqueViolation, pgConstraint } from '../errors/pg-errors';
import type { ProviderRow } from './providers-core';

/** A provider as the API shows it: its own columns plus its parent's and root's uuids. */
export interface ProviderView extends ProviderRow {
  parent_provider_uuid: string | null;
  root_provider_uuid: string;
}

function viewQuery(db: Queryable): Knex.QueryBuilder {
  return db('resource_providers as rp')
    .join('resource_providers as root', 'root.id', 'rp.root_provider_id')
    .leftJoin('resource_providers as parent', 'parent.id', 'rp.parent_provider_id')
    .select('rp.*', 'root.uuid as root_provider_uuid', 'parent.uuid as parent_provider_uuid');
}

/** `uuid` must be uuid-shaped, as findProviderByUuid's. */
export async function findProviderView(db: Queryable, uuid: string): Promise<ProviderView | undefined> {
  return viewQuery(db).where('rp.uuid', uuid).first();
}

/** Internal id and root id of a provider (uuid-shaped), for parent and in_tree lookups. */
export async function providerIds(
  db: Queryable,
  uuid: string,
  options: { lock?: boolean } = {},
): Promise<{ id: number; root_provider_id: number } | undefined> {
  const query = db('resource_providers').where({ uuid }).first('id', 'root_provider_id');
  // A share lock waits out a concurrent re-parenting of this row, so a new child sees the final root.
  if (options.lock) query.forShare();
  return query;
}

export interface NewProvider {
  uuid: string;
  name: string;
  parent?: { id: number; root_provider_id: number };
}

/**
 * Insert a provider; a root is its own root, so the id is drawn first and used for both columns.
 * A duplicate uuid or name raises DuplicateName naming every clashing field, as Placement does.
 */
export async function insertProvider(tx: Tx, provider: NewProvider): Promise<void> {
  const clashes = await tx('resource_providers')
    .where('uuid', provider.uuid)
    .orWhere('name', provider.name)
    .select<Array<{ uuid: string; name: string }>>('uuid', 'name');
  const fields: Array<'uuid' | 'name'> = [];
  if (clashes.some((row) => row.uuid === provider.uuid)) fields.push('uuid');
  if (clashes.some((row) => row.name === provider.name)) fields.push('name');
  if (fields.length) throw new DuplicateName('resource provider', provider.name, fields);
  try {
    await tx.raw(
      `INSERT INTO resource_providers (id, uuid, name, parent_provider_id, root_provider_id)
       SELECT n, ?, ?, ?, COALESCE(?, n) FROM (SELECT nextval('resource_providers_id_seq') AS n) s`,
      [provider.uuid, provider.name, provider.parent?.id ?? null, provider.parent?.root_provider_id ?? null],
    );
  } catch (error) {
    // A concurrent insert won the race between the check and the insert.
    if (isUniqueViolation(error))
      throw new DuplicateName('resource provider', provider.name, [
        (pgConstraint(error) ?? '').includes('name') ? 'name' : 'uuid',
      ]);
    // The parent was deleted between lookup and insert.
    if (isForeignKeyViolation(error)) throw new MissingParent();
    throw error;
  }
}

/** Lock the provider row for a structural change (delete, re-parent), re-reading it under the lock. */
export async function lockProvider(tx: Tx, id: number): Promise<ProviderRow | undefined> {
  return tx<ProviderRow>('resource_providers').where({ id }).forUpdate().first();
}

/** Lock tree roots in id order, so concurrent re-parentings touching the same trees run one at a time. */
export async function lockRoots(tx: Tx, rootIds: number[]): Promise<void> {
  const ids = [...new Set(rootIds)].sort((a, b) => a - b);
  for (const id of ids) await tx('resource_providers').where({ id }).forUpdate().select('id');
}

/** The ids of the provider and everything below it. */
export async function subtreeIds(db: Queryable, id: number): Promise<number[]> {
  const result = await db.raw(
    `WITH RECURSIVE subtree(id) AS (
       SELECT ?::bigint
       UNION ALL
       SELECT rp.id FROM resource_providers rp JOIN subtree s ON rp.parent_provider_id = s.id
     )
     SELECT id FROM subtree`,
    [id],
  );
  return (result.rows as Array<{ id: number }>).map((row) => Number(row.id));
}

export interface ProviderChange {
  name: string;
  /** Present only when the parent changes: the new parent (null: become a root) and the subtree's new root. */
  reparent?: { parentId: number | null; rootId: number; subtree: number[] };
}

/**
 * Rename and/or re-parent. Re-parenting moves the whole subtree to the new root in the same statement
 * set. Placement does not bump the generation on PUT; only updated_at changes.
 */
export async function updateProvider(tx: Tx, id: number, change: ProviderChange): Promise<void> {
  const columns: Record<string, unknown> = { name: change.name, updated_at: tx.fn.now() };
  if (change.reparent) columns.parent_provider_id = change.reparent.parentId;
  try {
    await tx('resource_providers').where({ id }).update(columns);
    if (change.reparent) {
      await tx('resource_providers')
        .whereIn('id', change.reparent.subtree)
        .update({ root_provider_id: change.reparent.rootId, updated_at: tx.fn.now() });
    }
  } catch (error) {
    if (isUniqueViolation(error)) throw new DuplicateName('resource provider', change.name);
    if (isForeignKeyViolation(error)) throw new MissingParent();
    throw error;
  }
}

/**
 * Delete a provider that has no children and no allocations; its inventories, trait and aggregate
 * links go with it (ON DELETE CASCADE). The caller holds the row lock, which blocks new children and
 * allocations (their foreign keys take a share lock on this row) until we commit.
 */
export async function deleteProvider(tx: Tx, id: number, uuid: string): Promise<void> {
  const child = await tx('resource_providers').where({ parent_provider_id: id }).first('id');
  if (child) throw new ProviderHasChildren(uuid);
  const allocation = await tx('allocations').where({ resource_provider_id: id }).first('id');
  if (allocation) throw new ProviderHasAllocations(uuid);
  try {
    await tx('resource_providers').where({ id }).delete();
  } catch (error) {
    if (isForeignKeyViolation(error)) throw new ProviderHasChildren(uuid);
    throw error;
  }
}
