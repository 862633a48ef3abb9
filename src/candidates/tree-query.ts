import type { Knex } from 'knex';
import { capacityOf } from '../domain/capacity';
import type { ProviderRow } from './model';

type Db = Knex | Knex.Transaction;

/**
 * The statement that reads whole provider trees (inventories, usage, trait and aggregate ids) into the
 * read model (src/read-model), and the class names its rows are keyed by.
 */

interface TreeRow {
  id: number;
  uuid: string;
  name: string;
  generation: number;
  modified_at: Date;
  parent_id: number | null;
  root_id: number;
  /** [class id, total, reserved, min_unit, max_unit, step_size, allocation_ratio, used] per inventory. */
  inventories: Array<[number, number, number, number, number, number, number, number]>;
  /** Trait ids, comma-separated in id order: text splits faster than node-postgres parses an array. */
  traits: string;
  aggregates: string;
}

/** Resource class names by id, for the read model's catalogue (custom classes may be renamed before 1.7). */
export async function classNames(db: Db): Promise<Map<number, string>> {
  const rows: Array<{ id: number; name: string }> = await (db as Knex)('resource_classes').select('id', 'name');
  return new Map(rows.map((row) => [row.id, row.name]));
}

/** Trees by their root ids, or every tree whose root id is in (after, upTo]. */
export type RootSelection = { ids: number[] } | { after: number; upTo: number };

/**
 * Every provider of the trees whose root ids `roots` selects, with inventories, current usage, traits
 * and aggregates, in one statement. Rows come ordered by root, then provider id.
 */
export async function fetchTrees(
  db: Db,
  roots: RootSelection,
  classes: ReadonlyMap<number, string>,
  sets?: Map<string, Set<number>>,
): Promise<Map<number, ProviderRow[]>> {
  const rows: TreeRow[] = await treesQuery(db, roots);
  const trees = new Map<number, ProviderRow[]>();
  for (const row of rows) {
    const provider = toProvider(row, classes, sets);
    const tree = trees.get(provider.rootId);
    if (tree) tree.push(provider);
    else trees.set(provider.rootId, [provider]);
  }
  return trees;
}

/** The statement behind fetchTrees. */
function treesQuery(db: Db, roots: RootSelection): Knex.QueryBuilder {
  // Conditions on the providers' root index itself: a join to a list of roots was planned as a merge join
  // scanning that index from its start, so each range of a full load read every tree before it too.
  const query = (db as Knex).from('resource_providers as p');
  if ('ids' in roots) query.whereRaw('p.root_provider_id = ANY(?::bigint[])', [roots.ids]);
  else query.where('p.root_provider_id', '>', roots.after).andWhere('p.root_provider_id', '<=', roots.upTo);
  return query
    .select(
      'p.id',
      db.raw('p.uuid::text AS uuid'),
      'p.name',
      'p.generation',
      db.raw('COALESCE(p.updated_at, p.created_at) AS modified_at'),
      'p.parent_provider_id as parent_id',
      'p.root_provider_id as root_id',
      // Ids only, no joins to the name tables: names come from the read model's catalogue (classNames
      // and its trait names), and the per-provider lookups stay index scans on (provider, ...) keys.
      db.raw(`COALESCE((
        SELECT json_agg(json_build_array(i.resource_class_id, i.total, i.reserved, i.min_unit, i.max_unit, i.step_size,
          i.allocation_ratio, COALESCE(u.used, 0)) ORDER BY i.resource_class_id)
        FROM inventories i
        LEFT JOIN provider_usages u ON u.resource_provider_id = i.resource_provider_id AND u.resource_class_id = i.resource_class_id
        WHERE i.resource_provider_id = p.id), '[]') AS inventories`),
      db.raw(`array_to_string(ARRAY(SELECT rpt.trait_id FROM resource_provider_traits rpt
                    WHERE rpt.resource_provider_id = p.id ORDER BY rpt.trait_id), ',') AS traits`),
      db.raw(
        `array_to_string(ARRAY(SELECT rpa.aggregate_id FROM resource_provider_aggregates rpa WHERE rpa.resource_provider_id = p.id), ',') AS aggregates`,
      ),
    )
    .orderBy([{ column: 'p.root_provider_id' }, { column: 'p.id' }]);
}

const ids = (list: string): number[] => (list === '' ? [] : list.split(',').map(Number));

/** The set of ids in `list`; with `sets`, one shared Set per distinct list (rows never change their sets). */
function idSet(list: string, sets?: Map<string, Set<number>>): Set<number> {
  if (!sets) return new Set(ids(list));
  let set = sets.get(list);
  if (!set) sets.set(list, (set = new Set(ids(list))));
  return set;
}

function toProvider(row: TreeRow, classes: ReadonlyMap<number, string>, sets?: Map<string, Set<number>>): ProviderRow {
  const inventories = new Map(
    row.inventories.map(([classId, total, reserved, minUnit, maxUnit, stepSize, allocationRatio, used]) => [
      classes.get(classId) ?? String(classId),
      {
        total,
        reserved,
        minUnit,
        maxUnit,
        stepSize,
        allocationRatio,
        used: Number(used),
        capacity: capacityOf(total, reserved, allocationRatio),
      },
    ]),
  );
  return {
    id: Number(row.id),
    uuid: row.uuid,
    name: row.name,
    generation: row.generation,
    modifiedAt: row.modified_at,
    parentId: row.parent_id === null ? null : Number(row.parent_id),
    rootId: Number(row.root_id),
    inventories,
    traits: idSet(row.traits, sets),
    aggregates: idSet(row.aggregates, sets),
  };
}
