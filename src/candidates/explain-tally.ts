import type { ReadView } from '../read-model/read-model';

/**
 * The explain view's counts for one request shape over one read view, with what each tree added to them, so
 * the next explain of that shape recounts only the trees replaced since (ReadView.changedSince). nova asks
 * the same few flavours again and again and a claim changes one tree: counting all of them each time made
 * explain cost several times the limited query it explains (docs/performance.md).
 */

/**
 * What one tree adds to the counts, as `width` numbers: per group and stage, the tree's providers passing it
 * (a suffixed group) or 1/0 for the tree (unsuffixed); then the request's tree stages passed; then 1 when it
 * passes them only thanks to a sharing provider. Shares sit in one typed array, a row per tree: at 100k trees
 * an object per tree cost more to build, intern and collect than the counting itself.
 */
export class Tally {
  readonly groupCounts: number[][];
  readonly treeCounts: number[];
  needSharing = 0;
  /** The layout of a share row. */
  readonly width: number;
  private readonly depthAt: number;
  private readonly rows = new Map<number, number>();
  private shares: Int32Array;
  private readonly freeRows: number[] = [];
  private nextRow = 0;

  constructor(
    readonly view: ReadView,
    /** The view's version the counts are as of: trees replaced after it are counted again. */
    public version: number,
    stagesPerGroup: number[],
    treeStages: number,
  ) {
    this.groupCounts = stagesPerGroup.map((n) => new Array<number>(n).fill(0));
    this.treeCounts = new Array<number>(treeStages).fill(0);
    this.depthAt = stagesPerGroup.reduce((sum, n) => sum + n, 0);
    this.width = this.depthAt + 2;
    this.shares = new Int32Array(this.width * 1024);
  }

  /** Take out the root's old share and add its new one (none: the tree is gone). `share` is copied. */
  set(rootId: number, share: Int32Array | undefined): void {
    let row = this.rows.get(rootId);
    if (row !== undefined) this.apply(row, -1);
    if (!share) {
      if (row !== undefined) this.freeRows.push(row);
      this.rows.delete(rootId);
      return;
    }
    if (row === undefined) {
      row = this.freeRows.pop() ?? this.nextRow++;
      this.rows.set(rootId, row);
      if ((row + 1) * this.width > this.shares.length) {
        const grown = new Int32Array(this.shares.length * 2);
        grown.set(this.shares);
        this.shares = grown;
      }
    }
    this.shares.set(share, row * this.width);
    this.apply(row, 1);
  }

  /** The tree stages the root passed (0 when it is not counted). */
  depthOf(rootId: number): number {
    const row = this.rows.get(rootId);
    return row === undefined ? 0 : this.shares[row * this.width + this.depthAt];
  }

  private apply(row: number, sign: 1 | -1): void {
    let at = row * this.width;
    for (const counts of this.groupCounts) {
      for (let i = 0; i < counts.length; i++) counts[i] += sign * this.shares[at++];
    }
    const depth = this.shares[at++];
    for (let i = 0; i < depth; i++) this.treeCounts[i] += sign;
    this.needSharing += sign * this.shares[at];
  }
}

/** Tallies by request shape; the oldest is dropped first. One is about 8 MB at 100k hosts. */
const kept = new Map<string, Tally>();
const MAX_TALLIES = 4;

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
