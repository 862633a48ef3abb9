import type { ReadView } from '../read-model/read-model';

/**
 * The explain view's counts for one request shape over one read view, with what each tree added to them, so
 * the next explain of that shape recounts only the trees replaced since (ReadView.changedSince). nova asks
 * the same few flavours again and again and a claim changes one tree: counting all of them each time made
 * explain cost several times the limited query it explains (docs/performance.md).
 */

/** What one tree adds to the counts. */
export interface TreeShare {
  /** Per group, per stage: the tree's providers passing it (suffixed) or 1/0 for the tree (unsuffixed). */
  groups: number[][];
  /** The request's tree stages passed. */
  depth: number;
  needsSharing: boolean;
}

export class Tally {
  readonly groupCounts: number[][];
  readonly treeCounts: number[];
  needSharing = 0;
  private readonly shares = new Map<number, TreeShare>();
  /** Trees with the same share hold one object: a cloud has few distinct ones. */
  private readonly interned = new Map<string, TreeShare>();

  constructor(
    readonly view: ReadView,
    /** The view's version the counts are as of: trees replaced after it are counted again. */
    public version: number,
    stagesPerGroup: number[],
    treeStages: number,
  ) {
    this.groupCounts = stagesPerGroup.map((n) => new Array<number>(n).fill(0));
    this.treeCounts = new Array<number>(treeStages).fill(0);
  }

  /** Take out the root's old share and add its new one (none: the tree is gone). */
  set(rootId: number, share: TreeShare | undefined): void {
    const old = this.shares.get(rootId);
    if (old) this.apply(old, -1);
    if (!share) return void this.shares.delete(rootId);
    const key = `${share.groups.join('|')};${share.depth};${share.needsSharing}`;
    let kept = this.interned.get(key);
    if (!kept) this.interned.set(key, (kept = share));
    this.shares.set(rootId, kept);
    this.apply(kept, 1);
  }

  /** The tree stages the root passed (0 when it is not counted). */
  depthOf(rootId: number): number {
    return this.shares.get(rootId)?.depth ?? 0;
  }

  private apply(share: TreeShare, sign: 1 | -1): void {
    for (let g = 0; g < share.groups.length; g++) {
      const counts = this.groupCounts[g];
      for (let i = 0; i < counts.length; i++) counts[i] += sign * share.groups[g][i];
    }
    for (let i = 0; i < share.depth; i++) this.treeCounts[i] += sign;
    if (share.needsSharing) this.needSharing += sign;
  }
}

/** Tallies by request shape; the oldest is dropped first. */
const kept = new Map<string, Tally>();
const MAX_TALLIES = 8;

/**
 * The tally kept for `key` over this view, and the roots to count again; undefined when there is none or
 * the view no longer remembers its version. It leaves the store until kept again, so two explains of one
 * shape at once never update the same counts: the second counts afresh.
 */
export function takeTally(key: string, view: ReadView): { tally: Tally; changed: ReadonlySet<number> } | undefined {
  const tally = kept.get(key);
  if (!tally) return undefined;
  kept.delete(key);
  const changed = tally.view === view ? view.changedSince(tally.version) : undefined;
  return changed && { tally, changed };
}

export function keepTally(key: string, tally: Tally): void {
  kept.delete(key);
  if (kept.size >= MAX_TALLIES) kept.delete(kept.keys().next().value!);
  kept.set(key, tally);
}
