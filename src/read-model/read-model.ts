import type { Knex } from 'knex';
import type { ProviderRow } from '../candidates/model';
import { classNames, fetchTrees } from '../candidates/tree-query';

/**
 * What allocation candidates read, held in this process: every provider tree with its inventories,
 * usage totals, trait and aggregate ids, and the trait and class names. It is never stale: every read
 * (`current`) first asks PostgreSQL, in one statement, which trees changed since the model's snapshot
 * (migration 1410's change log) and reloads those, so a write acknowledged by any process before the
 * read began is in the answer. Claims do not use it: they check capacity under row locks as before.
 * docs/decisions/1410-read-model.md.
 */
export interface ReadView {
  /** Providers of each tree by root id, in provider id order. */
  trees: ReadonlyMap<number, ProviderRow[]>;
  /** Root ids in id order (the engine's default order). Replaced, never changed in place. */
  rootIds: readonly number[];
  providers: ReadonlyMap<number, ProviderRow>;
  providersByUuid: ReadonlyMap<string, ProviderRow>;
  /** Providers carrying MISC_SHARES_VIA_AGGREGATE. */
  sharingIds: ReadonlySet<number>;
  classNames: ReadonlyMap<number, string>;
  traitNames: ReadonlyMap<number, string>;
  /** The catalogues by name, and aggregate ids by uuid: requests resolve their names here. */
  classIds: ReadonlyMap<string, number>;
  traitIds: ReadonlyMap<string, number>;
  aggregateIds: ReadonlyMap<string, number>;
  /** Counts the tree replacements this view has had; a whole reload is a new view. */
  version: number;
  /**
   * Roots replaced after `version` (gone, new or changed), or undefined when the view no longer remembers that
   * far back: a reader keeping results per tree redoes only these (the explain view's counts).
   */
  changedSince(version: number): ReadonlySet<number> | undefined;
}

export interface ReadModelOptions {
  /** Background refresh period while the model is in use, so a quiet process keeps small deltas. 0 is off. */
  pollMs?: number;
  /** Change rows of transactions older than a snapshot this old are deleted by whoever notices first. */
  pruneAfterMs?: number;
}

const LOAD_RANGE_IDS = 2_000;
const LOAD_STREAMS = 2;
const SAMPLE_MS = 60_000;
const CATALOGUE_ROOT = 0;
const SHARING_TRAIT = 'MISC_SHARES_VIA_AGGREGATE';
const EVERYTHING = -1;
/** Replacements a view remembers: about a minute of refreshes under steady claims. */
const JOURNAL_ENTRIES = 256;

interface Snapshot {
  /** pg_snapshot text, `xmin:xmax:xip,...`. */
  text: string;
  xmin: string;
  takenAt: number;
}

interface Check {
  snapshot: string;
  xmin: string;
  pruned_past: boolean;
  roots: Array<string | number>;
}

/**
 * The change rows the previous snapshot did not see: rows of transactions that had not committed when it was
 * taken (every such xid is >= its xmin). The statement's own snapshot is returned as the next one: a row it
 * cannot see (its writer has not committed) will be new to that snapshot next time, whatever the commit order.
 */
const CHECK_SQL = `
  SELECT pg_current_snapshot()::text AS snapshot,
         pg_snapshot_xmin(pg_current_snapshot())::text AS xmin,
         (SELECT horizon > ?::xid8 FROM emplace_read_horizon) AS pruned_past,
         ARRAY(SELECT DISTINCT root_id FROM emplace_read_changes
                WHERE xid >= ?::xid8 AND NOT pg_visible_in_snapshot(xid, ?::pg_snapshot)) AS roots`;

/**
 * The check runs before every read, so it is a named (prepared) statement: PostgreSQL parses and plans it once
 * per connection, which halved its cost (0.30 → 0.16 ms a round trip at 100k hosts, docs/performance.md).
 */
const CHECK_STATEMENT = 'emplace_read_check';

export class ReadModel {
  private view: MutableView | undefined;
  private snapshot: Snapshot | undefined;
  private running: Promise<void> | undefined;
  private pending: Promise<void> | undefined;
  private poll: NodeJS.Timeout | undefined;
  /** Snapshots taken recently, oldest first: pruning deletes what the oldest one old enough had seen. */
  private readonly history: Snapshot[] = [];
  private readonly pollMs: number;
  private readonly pruneAfterMs: number;

  constructor(
    private readonly db: Knex,
    options: ReadModelOptions = {},
  ) {
    this.pollMs = options.pollMs ?? 2_000;
    this.pruneAfterMs = options.pruneAfterMs ?? 10 * 60_000;
  }

  /** The model as of a snapshot taken after this call: every write committed before it is in. */
  async current(): Promise<ReadView> {
    await this.refreshAfterNow();
    this.startPolling();
    return this.view!;
  }

  close(): void {
    if (this.poll) clearInterval(this.poll);
    this.poll = undefined;
  }

  /**
   * Refreshes run one at a time. A caller arriving while one runs waits for the next, which begins
   * after it arrived (the running one's check may predate a write the caller saw acknowledged); every
   * caller arriving meanwhile shares that next one.
   */
  private refreshAfterNow(): Promise<void> {
    if (this.pending) return this.pending;
    const start = async (): Promise<void> => {
      this.pending = undefined;
      const run = this.refresh();
      this.running = run;
      try {
        await run;
      } finally {
        if (this.running === run) this.running = undefined;
      }
    };
    if (!this.running) return start();
    this.pending = this.running.then(start, start);
    return this.pending;
  }

  private startPolling(): void {
    if (this.poll || this.pollMs <= 0) return;
    this.poll = setInterval(() => {
      if (!this.running) this.refreshAfterNow().catch(() => undefined);
    }, this.pollMs);
    this.poll.unref();
  }

  private async refresh(): Promise<void> {
    if (!this.view || !this.snapshot) return this.loadAll();
    const previous = this.snapshot;
    const {
      rows: [check],
    } = (await this.db
      .raw(CHECK_SQL, [previous.xmin, previous.xmin, previous.text])
      .options({ name: CHECK_STATEMENT })) as { rows: Check[] };
    const roots = check.roots.map(Number);
    if (check.pruned_past || roots.includes(EVERYTHING)) return this.loadAll();
    if (roots.includes(CATALOGUE_ROOT) && !(await this.reloadCatalogue(this.view))) return this.loadAll();
    const trees = roots.filter((id) => id > 0);
    // Many trees at once (an import, every agent restarting): one statement for all of them could outlast the
    // statement timeout and fail every read after it; the whole load goes in bounded ranges.
    if (trees.length > LOAD_RANGE_IDS) return this.loadAll();
    if (trees.length > 0)
      this.view.replaceTrees(trees, await fetchTrees(this.db, { ids: trees }, this.view.classNames));
    this.remember({ text: check.snapshot, xmin: check.xmin, takenAt: Date.now() });
    await this.pruneIfDue();
  }

  /** Everything, read after taking the snapshot it will count from (later writes are reported again: harmless). */
  private async loadAll(): Promise<void> {
    const {
      rows: [first],
    } = (await this.db.raw(
      'SELECT pg_current_snapshot()::text AS snapshot, pg_snapshot_xmin(pg_current_snapshot())::text AS xmin',
    )) as { rows: Check[] };
    const view = new MutableView();
    await this.reloadCatalogue(view);
    // Trees sharing a trait or aggregate set share one Set object: a cloud has few distinct ones.
    const sets = new Map<string, Set<number>>();
    const {
      rows: [{ last }],
    } = await this.db.raw(
      'SELECT COALESCE(max(id), 0) AS last FROM resource_providers WHERE parent_provider_id IS NULL',
    );
    // Ranges of root ids, LOAD_STREAMS at a time: PostgreSQL builds one range while Node reads another.
    let next = 0;
    const stream = async () => {
      for (let lo = next; lo < Number(last); lo = next) {
        next += LOAD_RANGE_IDS;
        const roots = { after: lo, upTo: lo + LOAD_RANGE_IDS };
        for (const [rootId, tree] of await fetchTrees(this.db, roots, view.classNames, sets))
          view.addTree(rootId, tree);
      }
    };
    await Promise.all(Array.from({ length: LOAD_STREAMS }, stream));
    view.sortRoots();
    this.view = view;
    this.remember({ text: first.snapshot, xmin: first.xmin, takenAt: Date.now() });
  }

  /** False when a class was renamed (before 1.7 a custom class could be): inventories are keyed by name. */
  private async reloadCatalogue(view: MutableView): Promise<boolean> {
    const [classes, traits, aggregates] = await Promise.all([
      classNames(this.db),
      this.db('traits').select('id', 'name') as Promise<Array<{ id: number; name: string }>>,
      this.db('placement_aggregates').select('id', this.db.raw('uuid::text AS uuid')) as Promise<
        Array<{ id: number; uuid: string }>
      >,
    ]);
    const renamed = [...view.classNames].some(([id, name]) => classes.has(id) && classes.get(id) !== name);
    view.classNames = classes;
    view.classIds = new Map([...classes].map(([id, name]) => [name, id]));
    view.traitNames = new Map(traits.map((t) => [t.id, t.name]));
    view.traitIds = new Map(traits.map((t) => [t.name, t.id]));
    view.aggregateIds = new Map(aggregates.map((a) => [a.uuid, a.id]));
    // The trait is standard (catalogue sync creates it); only a changed id would need the trees rescanned.
    const sharingTrait = view.traitIds.get(SHARING_TRAIT);
    if (sharingTrait !== view.sharingTraitId && view.providers.size > 0) return false;
    view.sharingTraitId = sharingTrait;
    return !renamed;
  }

  /** Snapshots are sampled at most every SAMPLE_MS (or a tenth of pruneAfterMs) for pruning later. */
  private remember(snapshot: Snapshot): void {
    this.snapshot = snapshot;
    const last = this.history[this.history.length - 1];
    if (!last || snapshot.takenAt - last.takenAt >= Math.min(SAMPLE_MS, this.pruneAfterMs / 10))
      this.history.push(snapshot);
  }

  /**
   * Change rows of transactions that ended before a snapshot taken pruneAfterMs ago are seen by every model
   * whose own snapshot is younger; an older one finds the horizon past it and reloads whole.
   */
  private async pruneIfDue(): Promise<void> {
    let old: Snapshot | undefined;
    while (this.history.length > 0 && Date.now() - this.history[0].takenAt >= this.pruneAfterMs)
      old = this.history.shift();
    if (!old) return;
    const horizon = old.xmin;
    await this.db.transaction(async (trx) => {
      await trx.raw('UPDATE emplace_read_horizon SET horizon = GREATEST(horizon, ?::xid8)', [horizon]);
      await trx.raw('DELETE FROM emplace_read_changes WHERE xid < ?::xid8', [horizon]);
    });
  }
}

class MutableView implements ReadView {
  readonly trees = new Map<number, ProviderRow[]>();
  readonly providers = new Map<number, ProviderRow>();
  readonly providersByUuid = new Map<string, ProviderRow>();
  readonly sharingIds = new Set<number>();
  rootIds: number[] = [];
  classNames = new Map<number, string>();
  traitNames = new Map<number, string>();
  classIds = new Map<string, number>();
  traitIds = new Map<string, number>();
  aggregateIds = new Map<string, number>();
  sharingTraitId: number | undefined;
  version = 0;
  /** The roots of the latest replacements, newest last; bounded, so an old version is simply forgotten. */
  private readonly journal: Array<{ version: number; rootIds: number[] }> = [];

  changedSince(version: number): ReadonlySet<number> | undefined {
    if (version === this.version) return new Set();
    if (version > this.version || (this.journal[0]?.version ?? Infinity) > version + 1) return undefined;
    const roots = new Set<number>();
    for (const entry of this.journal) if (entry.version > version) for (const id of entry.rootIds) roots.add(id);
    return roots;
  }

  addTree(rootId: number, tree: ProviderRow[]): void {
    this.trees.set(rootId, tree);
    for (const provider of tree) {
      this.providers.set(provider.id, provider);
      this.providersByUuid.set(provider.uuid, provider);
      if (this.sharingTraitId !== undefined && provider.traits.has(this.sharingTraitId))
        this.sharingIds.add(provider.id);
    }
  }

  private removeTree(rootId: number): void {
    for (const provider of this.trees.get(rootId) ?? []) {
      // A provider that moved may already sit in a tree added earlier in the same refresh.
      if (this.providers.get(provider.id) !== provider) continue;
      this.providers.delete(provider.id);
      this.providersByUuid.delete(provider.uuid);
      this.sharingIds.delete(provider.id);
    }
    this.trees.delete(rootId);
  }

  sortRoots(): void {
    this.rootIds = [...this.trees.keys()].sort((a, b) => a - b);
  }

  /** Swap in the trees as read now; roots absent from `fresh` are gone (deleted, or now inside another tree). */
  replaceTrees(rootIds: number[], fresh: Map<number, ProviderRow[]>): void {
    let membershipChanged = false;
    // Removals first: a provider that moved between two of these trees must end up in its new one.
    for (const rootId of rootIds) {
      if (!this.trees.has(rootId)) continue;
      this.removeTree(rootId);
      if (!fresh.has(rootId)) membershipChanged = true;
    }
    for (const [rootId, tree] of fresh) {
      if (!isKnownRoot(this.rootIds, rootId)) membershipChanged = true;
      this.addTree(rootId, tree);
    }
    if (membershipChanged) this.sortRoots();
    this.version++;
    this.journal.push({ version: this.version, rootIds: [...new Set([...rootIds, ...fresh.keys()])] });
    if (this.journal.length > JOURNAL_ENTRIES) this.journal.shift();
  }
}

function isKnownRoot(sorted: readonly number[], id: number): boolean {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] === id) return true;
    if (sorted[mid] < id) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}
