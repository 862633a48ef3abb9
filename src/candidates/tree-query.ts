import type { Knex } from 'knex';
import { capacityOf } from '../domain/capacity';
import { whereRootNotSilent } from '../repo/emplace-heartbeats';
import { applyProviderFilter, type ProviderFilter } from '../repo/provider-filters';
import { fits, satisfiesSingly } from './combine';
import type { ProviderRow, ResolvedGroup, ResolvedRequest } from './model';

type Db = Knex | Knex.Transaction;

/**
 * SQL for the engine: which roots can anchor a candidate (a necessary condition checked per root with
 * index probes, ordered by root id so LIMIT bounds the work), and the full rows of the chosen trees.
 * The plans are in docs/candidates-plans.md.
 */

/** Aggregates through which sharing providers could help a root; computed once per request. */
export interface SharingHelp {
  /** Per unsuffixed-group class (by index in group.resources): aggregates of sharing providers with room. */
  perClass: Map<ResolvedGroup, number[][]>;
  /** Per unsuffixed-group required any-of set: aggregates of sharing providers having one of the traits. */
  perTraitSet: Map<ResolvedGroup, number[][]>;
  /** Unsuffixed group member_of: aggregates of sharing providers in all the required aggregates. */
  memberOf: Map<ResolvedGroup, number[]>;
  /** Per suffixed group: aggregates of sharing providers that satisfy it alone. */
  granular: Map<ResolvedGroup, number[]>;
}

export function sharingHelp(request: ResolvedRequest, sharing: ProviderRow[]): SharingHelp {
  const aggsOf = (providers: ProviderRow[]) => [...new Set(providers.flatMap((p) => [...p.aggregates]))];
  const help: SharingHelp = { perClass: new Map(), perTraitSet: new Map(), memberOf: new Map(), granular: new Map() };
  for (const group of request.groups) {
    if (group.granular) {
      help.granular.set(group, aggsOf(sharing.filter((p) => satisfiesSingly(p, group))));
      continue;
    }
    // A sharing provider helps the unsuffixed group only if it is itself in the group's member_of
    // aggregates and in none of its forbidden ones (Placement bug 1792503).
    const usable = sharing.filter(
      (p) =>
        !group.forbiddenTraitIds.some((t) => p.traits.has(t)) &&
        group.memberOf.every((anyOf) => anyOf.some((a) => p.aggregates.has(a))) &&
        !group.forbiddenAggregates.some((a) => p.aggregates.has(a)),
    );
    help.perClass.set(
      group,
      group.resources.map((r) => aggsOf(usable.filter((p) => fits(p, r.className, r.amount)))),
    );
    help.perTraitSet.set(
      group,
      group.requiredTraitIds.map((anyOf) => aggsOf(usable.filter((p) => anyOf.some((t) => p.traits.has(t))))),
    );
    help.memberOf.set(group, aggsOf(usable));
  }
  return help;
}

/**
 * Roots after `cursor` (by id) that pass every per-root necessary condition, at most `size` of them.
 * With `staleAfterSeconds` (Emplace's EMPLACE_STALE_AFTER_SECONDS) roots silent for longer anchor nothing.
 */
export function rootsQuery(
  db: Db,
  request: ResolvedRequest,
  help: SharingHelp,
  cursor: number,
  size: number,
  staleAfterSeconds?: number,
): Knex.QueryBuilder {
  const query = db('resource_providers as r')
    .select('r.id')
    .whereNull('r.parent_provider_id')
    .andWhere('r.id', '>', cursor);
  whereRootNotSilent(query, 'r', staleAfterSeconds);
  applyProviderFilter(query, 'r', {
    requiredTraitIds: request.rootRequiredIds,
    forbiddenTraitIds: request.rootForbiddenIds,
  });
  for (const group of request.groups) {
    if (group.granular) addGranularCondition(query, group, help.granular.get(group) ?? []);
    else addUnsuffixedConditions(query, group, help);
  }
  addIsolateCondition(query, request, help);
  return query.orderBy('r.id').limit(size);
}

/**
 * group_policy=isolate needs as many distinct providers as granular groups; without sharing help they
 * all come from the tree, so a tree with fewer providers cannot anchor a candidate.
 */
function addIsolateCondition(query: Knex.QueryBuilder, request: ResolvedRequest, help: SharingHelp): void {
  const granular = request.groups.filter((g) => g.granular);
  if (request.groupPolicy !== 'isolate' || granular.length < 2) return;
  if (granular.some((g) => (help.granular.get(g) ?? []).length > 0)) return;
  query.whereRaw('(SELECT count(*) FROM resource_providers c WHERE c.root_provider_id = r.id) >= ?', [granular.length]);
}

function addGranularCondition(query: Knex.QueryBuilder, group: ResolvedGroup, sharingAggs: number[]): void {
  const filter: ProviderFilter = {
    resources: group.resources.map((r) => ({ resourceClassId: r.classId, amount: r.amount })),
    anyOfTraitIds: group.requiredTraitIds,
    forbiddenTraitIds: group.forbiddenTraitIds,
    memberOfAggregateIds: group.memberOf,
    forbiddenAggregateIds: group.forbiddenAggregates,
    inTreeRootId: group.inTreeRootId,
  };
  eitherTreeOrSharing(query, filter, sharingAggs);
}

function addUnsuffixedConditions(query: Knex.QueryBuilder, group: ResolvedGroup, help: SharingHelp): void {
  if (group.inTreeRootId !== undefined) query.andWhere('r.id', group.inTreeRootId);
  // With in_tree the unsuffixed group takes nothing from sharing providers outside the tree.
  const sharingOk = group.inTreeRootId === undefined;
  if (group.forbiddenAggregates.length > 0)
    applyProviderFilter(query, 'r', { forbiddenAggregateIds: group.forbiddenAggregates });
  group.resources.forEach((r, i) => {
    const filter: ProviderFilter = {
      resources: [{ resourceClassId: r.classId, amount: r.amount }],
      forbiddenTraitIds: group.forbiddenTraitIds,
      forbiddenAggregateIds: group.forbiddenAggregates,
    };
    eitherTreeOrSharing(query, filter, sharingOk ? help.perClass.get(group)![i] : []);
  });
  group.requiredTraitIds.forEach((anyOf, i) => {
    eitherTreeOrSharing(
      query,
      { anyOfTraitIds: [anyOf], forbiddenTraitIds: group.forbiddenTraitIds },
      sharingOk ? help.perTraitSet.get(group)![i] : [],
    );
  });
  if (group.memberOf.length > 0) {
    eitherTreeOrSharing(query, { memberOfAggregateIds: group.memberOf }, sharingOk ? help.memberOf.get(group)! : []);
  }
}

/** Some provider of r's tree passes `filter`, or r's tree shares an aggregate with a sharing provider that does. */
function eitherTreeOrSharing(query: Knex.QueryBuilder, filter: ProviderFilter, sharingAggs: number[]): void {
  const db = query.client.queryBuilder.bind(query.client) as () => Knex.QueryBuilder;
  const inTree = db()
    .select(query.client.raw('1'))
    .from('resource_providers as p')
    .whereRaw('p.root_provider_id = r.id');
  applyProviderFilter(inTree, 'p', filter);
  const parts = [perRowExists(inTree)];
  if (sharingAggs.length > 0) {
    const linked = db()
      .select(query.client.raw('1'))
      .from('resource_providers as t')
      .join('resource_provider_aggregates as ta', 'ta.resource_provider_id', 't.id')
      .whereRaw('t.root_provider_id = r.id')
      .whereIn('ta.aggregate_id', sharingAggs);
    parts.push(perRowExists(linked));
  }
  const sql = parts.map((part) => part.sql).join(' OR ');
  query.whereRaw(`(${sql})`, parts.flatMap((part) => [...part.bindings]) as Knex.Value[]);
}

/**
 * EXISTS evaluated per root row. OFFSET 0 stops PostgreSQL from flattening it into a semi-join over
 * every provider: we want the walk along the primary key in id order that stops after LIMIT roots,
 * so a limited query costs O(limit / selectivity) index probes instead of O(hosts).
 */
function perRowExists(sub: Knex.QueryBuilder): { sql: string; bindings: readonly Knex.Value[] } {
  const { sql, bindings } = sub.toSQL();
  return { sql: `EXISTS (${sql} OFFSET 0)`, bindings };
}

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

/** Resource class names by id, read once per request (custom classes may be renamed before 1.7). */
export async function classNames(db: Db): Promise<Map<number, string>> {
  const rows: Array<{ id: number; name: string }> = await (db as Knex)('resource_classes').select('id', 'name');
  return new Map(rows.map((row) => [row.id, row.name]));
}

/** Trait names for ids: only those the answer shows, in one lookup (ids are never reused for another name). */
export async function traitNames(db: Db, ids: Iterable<number>): Promise<Map<number, string>> {
  const wanted = [...new Set(ids)];
  if (wanted.length === 0) return new Map();
  const rows: Array<{ id: number; name: string }> = await (db as Knex)('traits')
    .whereRaw('id = ANY(?::int[])', [wanted])
    .select('id', 'name');
  return new Map(rows.map((row) => [row.id, row.name]));
}

/**
 * Every provider of the trees whose root ids `roots` selects, with inventories, current usage, traits
 * and aggregates, in one statement. Rows come ordered by root, then provider id.
 */
export async function fetchTrees(
  db: Db,
  roots: Knex.QueryBuilder,
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

/** The statement behind fetchTrees (exported so bench/explain.ts can show its plan). */
export function treesQuery(db: Db, roots: Knex.QueryBuilder): Knex.QueryBuilder {
  return (db as Knex)
    .withMaterialized('roots', roots)
    .from('roots')
    .join('resource_providers as p', 'p.root_provider_id', 'roots.id')
    .select(
      'p.id',
      db.raw('p.uuid::text AS uuid'),
      'p.name',
      'p.generation',
      db.raw('COALESCE(p.updated_at, p.created_at) AS modified_at'),
      'p.parent_provider_id as parent_id',
      'p.root_provider_id as root_id',
      // Ids only, no joins to the name tables: names come from the request's catalogue (classNames,
      // traitNames), and the per-provider lookups stay index scans on (provider, ...) keys.
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

/** The trees holding the sharing providers (their summaries show whole trees, like any provider's). */
export async function fetchSharingTrees(
  db: Db,
  sharingProviderIds: number[],
  classes: Map<number, string>,
): Promise<Map<number, ProviderRow[]>> {
  if (sharingProviderIds.length === 0) return new Map();
  const roots = (db as Knex)('resource_providers').distinct('root_provider_id as id').whereIn('id', sharingProviderIds);
  return fetchTrees(db, roots, classes);
}
