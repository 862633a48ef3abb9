import type { Knex } from 'knex';
import { CUSTOM_PREFIX } from '../catalogue/catalogue';
import { NameInUse, StandardNameImmutable, UnknownTrait } from '../errors/domain';
import type { Tx, Queryable } from '../db/knex';

export interface TraitRow {
  id: number;
  name: string;
  created_at: Date;
  updated_at: Date | null;
}

export interface TraitFilters {
  nameIn?: string[];
  prefix?: string;
  /** true: only traits some provider has; false: only traits no provider has. */
  associated?: boolean;
}

const COLUMNS = ['t.id', 't.name', 't.created_at', 't.updated_at'];

export async function listTraits(db: Queryable, filters: TraitFilters = {}): Promise<TraitRow[]> {
  const query = db('traits as t').select<TraitRow[]>(COLUMNS).orderBy('t.name');
  if (filters.nameIn) query.whereIn('t.name', filters.nameIn);
  // Escape LIKE wildcards so `_` in a prefix (every trait has one) matches only itself.
  if (filters.prefix !== undefined)
    query.whereRaw(`t.name LIKE ? ESCAPE '\\'`, [`${filters.prefix.replace(/[\\%_]/g, '\\$&')}%`]);
  if (filters.associated !== undefined) {
    const linked = (q: Knex.QueryBuilder) =>
      q.select(db.raw('1')).from('resource_provider_traits as rpt').whereRaw('rpt.trait_id = t.id');
    if (filters.associated)
      query.whereExists(function exists() {
        linked(this);
      });
    else
      query.whereNotExists(function notExists() {
        linked(this);
      });
  }
  return query;
}

export async function findTrait(db: Queryable, name: string): Promise<TraitRow | undefined> {
  return db('traits as t').where('t.name', name).first<TraitRow | undefined>(COLUMNS);
}

/** Create the trait unless it exists; `created` says which. Safe against a concurrent create. */
export async function ensureTrait(tx: Tx, name: string): Promise<{ trait: TraitRow; created: boolean }> {
  const inserted = await tx('traits')
    .insert({ name })
    .onConflict('name')
    .ignore()
    .returning<TraitRow[]>(['id', 'name', 'created_at', 'updated_at']);
  if (inserted.length > 0) return { trait: inserted[0], created: true };
  return { trait: (await findTrait(tx, name))!, created: false };
}

/** Delete a custom trait no provider has, with Placement's checks in its order: unknown, standard, in use. */
export async function deleteTrait(tx: Tx, name: string): Promise<void> {
  // FOR UPDATE before the in-use check: it waits for writers holding the trait FOR KEY SHARE (names.ts),
  // so the check sees the links they committed. Without it the DELETE itself would hit the foreign key.
  const trait = await tx('traits').where({ name }).forUpdate().first<TraitRow | undefined>('id', 'name');
  if (!trait) throw new UnknownTrait([name]);
  if (!name.startsWith(CUSTOM_PREFIX)) throw new StandardNameImmutable('trait', name, 'delete');
  const inUse = await tx('resource_provider_traits').where({ trait_id: trait.id }).first('trait_id');
  if (inUse) throw new NameInUse('trait', name);
  await tx('traits').where({ id: trait.id }).delete();
}

export async function providerTraits(db: Queryable, providerId: number): Promise<TraitRow[]> {
  return db('traits as t')
    .join('resource_provider_traits as rpt', 'rpt.trait_id', 't.id')
    .where('rpt.resource_provider_id', providerId)
    .orderBy('t.name')
    .select<TraitRow[]>(COLUMNS);
}

/** Make `traitIds` the provider's whole trait set, in the caller's transaction (the caller bumps the generation). */
export async function replaceProviderTraits(tx: Tx, providerId: number, traitIds: number[]): Promise<void> {
  await tx('resource_provider_traits').where({ resource_provider_id: providerId }).delete();
  const unique = [...new Set(traitIds)].sort((a, b) => a - b);
  if (unique.length > 0) {
    await tx('resource_provider_traits').insert(
      unique.map((traitId) => ({ resource_provider_id: providerId, trait_id: traitId })),
    );
  }
}
