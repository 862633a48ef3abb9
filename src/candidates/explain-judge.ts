import { PAUSE, walkRoot, type CombineOptions, type RootContext } from './combine';
import { treeStages, type Stage, type TreeStage, type TreeStageOptions, type WalkStage } from './explain-stages';
import type { ProviderRow, ResolvedRequest } from './model';
import type { Pacer } from './pacer';
import { shortRequestId } from './root-cache';

/**
 * How the explain view's stages (explain-stages.ts) are applied: providers counted stage after stage,
 * trees judged one at a time through all of theirs (explain-tally.ts keeps what they add up to).
 */

/** How many of `stages`, from `from`, the item passes before one refuses it (a walk stage stops it too). */
export function stagesPassed<T>(item: T, stages: Array<Stage<T> | WalkStage>, from = 0): number {
  let i = from;
  for (; i < stages.length; i++) {
    const stage = stages[i];
    if (!('keeps' in stage) || !stage.keeps(item)) break;
  }
  return i;
}

/** counts[i]: the items passing stage i and every earlier one. */
export function countPassing<T>(items: Iterable<T>, stages: Array<Stage<T>>): number[] {
  const counts = stages.map(() => 0);
  for (const item of items) for (let i = stagesPassed(item, stages) - 1; i >= 0; i--) counts[i]++;
  return counts;
}

/** What the stages make of one tree. */
export interface Verdict {
  /** Stages passed in each unsuffixed group (0 for a suffixed group, counted over providers). */
  groups: number[];
  /** The request's stages passed. */
  depth: number;
  /** It passes them all, but would not without its linked sharing providers. */
  needsSharing: boolean;
}

/**
 * Judges trees one at a time: through each unsuffixed group's stages, then through the request's. Only a
 * walk stage (same_subtree) awaits, pacing the walk as the engine does.
 */
export class TreeJudge {
  readonly stages: TreeStage[];
  /** The request, as a short id; undefined while silence is judged, when nothing is kept. */
  readonly signature: string | undefined;
  /** Sharing providers with a class or required trait some group asks for: the only ones a stage can use. */
  private readonly helping: Set<ProviderRow>;

  constructor(
    /** Each unsuffixed group's stages (none for a suffixed group, counted over providers). */
    private readonly groups: Array<Array<Stage<RootContext>>>,
    request: ResolvedRequest,
    sharing: ProviderRow[],
    options: TreeStageOptions,
    private readonly pacer: Pacer,
  ) {
    this.stages = treeStages(request, options);
    this.helping = new Set(sharing.filter((p) => couldHelp(p, request)));
    this.signature =
      options.silent === undefined
        ? shortRequestId(JSON.stringify({ request, nestedAware: options.combine.nestedAware }))
        : undefined;
  }

  /** The tree's verdict; a promise only when a walk stage had to pause (a promise per tree showed as garbage). */
  verdict(ctx: RootContext): Verdict | Promise<Verdict> {
    const groups = new Array<number>(this.groups.length);
    const depth = this.depth(ctx, groups);
    return typeof depth === 'number'
      ? this.withSharing(ctx, groups, depth)
      : depth.then((d) => this.withSharing(ctx, groups, d));
  }

  /** Whether a tree passing every stage would pass them without its linked sharing providers. */
  private withSharing(ctx: RootContext, groups: number[], depth: number): Verdict | Promise<Verdict> {
    if (depth < this.stages.length || !ctx.linkedSharing.some((p) => this.helping.has(p)))
      return { groups, depth, needsSharing: false };
    const alone = this.depth({ ...ctx, linkedSharing: [] });
    const verdict = (passed: number) => ({ groups, depth, needsSharing: passed < this.stages.length });
    return typeof alone === 'number' ? verdict(alone) : alone.then(verdict);
  }

  /** The request's stages the tree passes; `groups`, when given, hears how far it got in each group. */
  private depth(ctx: RootContext, groups?: number[]): number | Promise<number> {
    let all = true;
    for (let g = 0; g < this.groups.length; g++) {
      const passed = stagesPassed(ctx, this.groups[g]);
      if (groups) groups[g] = passed;
      if (passed < this.groups[g].length) all = false;
    }
    if (!all) return 0;
    const i = stagesPassed(ctx, this.stages);
    return i < this.stages.length && 'walk' in this.stages[i] ? this.walkOn(ctx, i) : i;
  }

  private async walkOn(ctx: RootContext, from: number): Promise<number> {
    let i = from;
    while (i < this.stages.length) {
      const stage = this.stages[i];
      if (!('walk' in stage) || !(await yieldsCandidate(ctx, stage.walk, this.pacer))) break;
      i = stagesPassed(ctx, this.stages, i + 1);
    }
    return i;
  }
}

/**
 * A sharing provider changes no stage unless it has a class or a required trait some group asks for
 * (a group asking neither is served by any provider): trees linked only to others need no second look.
 */
function couldHelp(p: ProviderRow, request: ResolvedRequest): boolean {
  return request.groups.some(
    (g) =>
      (g.resources.length === 0 && g.requiredTraitIds.length === 0) ||
      g.resources.some((r) => p.inventories.has(r.className)) ||
      g.requiredTraitIds.some((anyOf) => anyOf.some((t) => p.traits.has(t))),
  );
}

/** Whether the engine's walk finds at least one candidate in the tree (it stops at the first). */
export async function yieldsCandidate(ctx: RootContext, combine: CombineOptions, pacer: Pacer): Promise<boolean> {
  for (const item of walkRoot(ctx, combine)) {
    if (item !== PAUSE) return true;
    const wait = pacer.step();
    if (wait) await wait;
  }
  return false;
}
