import { DuplicateName, NameInUse, StandardNameImmutable, UnknownResourceClass } from '../errors/domain';
import { isUniqueViolation } from '../errors/pg-errors';
import type { Tx, Queryable } from '../db/knex';

/** Custom classes get ids from here up (custom_resource_class_id_seq); below are the standard ones. */
export const MIN_CUSTOM_RESOURCE_CLASS_ID = 10000;

export interface ResourceClassRow {
  id: number;
  name: string;
  created_at: Date;
  updated_at: Date | null;
}

export const isStandard = (rc: ResourceClassRow) => rc.id < MIN_CUSTOM_RESOURCE_CLASS_ID;

export async function listResourceClasses(db: Queryable): Promise<ResourceClassRow[]> {
  return db('resource_classes').orderBy('id').select<ResourceClassRow[]>('id', 'name', 'created_at', 'updated_at');
}

export async function findResourceClass(db: Queryable, name: string): Promise<ResourceClassRow | undefined> {
  return db('resource_classes')
    .where({ name })
    .first<ResourceClassRow | undefined>('id', 'name', 'created_at', 'updated_at');
}

/** The class, or UnknownResourceClass. */
export async function requireResourceClass(db: Queryable, name: string): Promise<ResourceClassRow> {
  const rc = await findResourceClass(db, name);
  if (!rc) throw new UnknownResourceClass(name);
  return rc;
}

/** Create a custom class unless one of that name exists; `created` says which. Safe against a concurrent create. */
export async function ensureResourceClass(tx: Tx, name: string): Promise<{ rc: ResourceClassRow; created: boolean }> {
  const inserted = await tx.raw(
    `INSERT INTO resource_classes (id, name) VALUES (nextval('custom_resource_class_id_seq'), ?)
     ON CONFLICT (name) DO NOTHING RETURNING id, name, created_at, updated_at`,
    [name],
  );
  if (inserted.rows.length > 0) return { rc: inserted.rows[0], created: true };
  return { rc: (await findResourceClass(tx, name))!, created: false };
}

/** Rename a custom class (PUT before 1.7); its id, and so every inventory and allocation, stays. */
export async function renameResourceClass(tx: Tx, name: string, newName: string): Promise<ResourceClassRow> {
  const rc = await requireResourceClass(tx, name);
  if (isStandard(rc)) throw new StandardNameImmutable('resource class', name, 'update');
  try {
    const [renamed] = await tx('resource_classes')
      .where({ id: rc.id })
      .update({ name: newName, updated_at: tx.fn.now() })
      .returning<ResourceClassRow[]>(['id', 'name', 'created_at', 'updated_at']);
    return renamed;
  } catch (error) {
    if (isUniqueViolation(error)) throw new DuplicateName('resource class', newName);
    throw error;
  }
}

/** Delete a custom class nothing uses: unknown, standard and in-use (inventory or allocations) are refused. */
export async function deleteResourceClass(tx: Tx, name: string): Promise<void> {
  // FOR UPDATE before the in-use checks: it waits for inventory and allocation writers holding the class
  // FOR KEY SHARE (names.ts), so the checks see what they committed.
  const rc = await tx('resource_classes').where({ name }).forUpdate().first<ResourceClassRow | undefined>('id', 'name');
  if (!rc) throw new UnknownResourceClass(name);
  if (isStandard(rc)) throw new StandardNameImmutable('resource class', name, 'delete');
  const used =
    (await tx('inventories').where({ resource_class_id: rc.id }).first('id')) ??
    (await tx('allocations').where({ resource_class_id: rc.id }).first('id'));
  if (used) throw new NameInUse('resource class', name);
  await tx('resource_classes').where({ id: rc.id }).delete();
}
