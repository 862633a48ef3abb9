import type { Knex } from 'knex';
import { PAUSE, walkRoot, type CombineOptions, type RootContext } from './combine';
import type { Candidate, ProviderRow, ResolvedRequest } from './model';
import type { CandidatesRequest } from '../provider-query/request-groups';
import { resolveRequest } from '../provider-query/resolve';
import { Pacer } from './pacer';
import { cacheKey, cachedCandidates, MAX_CACHED_PER_ROOT, rememberCandidates, requestSignature } from './root-cache';
import type { ReadModel, ReadView } from '../read-model/read-model';
import { silentProviderIds } from '../repo/emplace-heartbeats';

export interface EngineOptions {
  limit?: number;
  /** Placement's max_allocation_candidates; -1 is unlimited. */
  maxCandidates: number;
  randomize: boolean;
  strategy: 'depth-first' | 'breadth-first';
  /** 1.29: candidates may combine several providers of one tree. */
  nestedAware: boolean;
  /** Emplace's EMPLACE_STALE_AFTER_SECONDS: leave out trees whose root's heartbeat is older; unset is off. */
  staleAfterSeconds?: number;
  /** Emplace's EMPLACE_CANDIDATES_TIME_BUDGET_MS: past it generation throws CandidatesBudgetExceeded. */
  timeBudgetMs?: number;
  /** Aborted when the client hung up: generation stops at its next pause, throwing the signal's reason. */
  signal?: AbortSignal;
}

export interface EngineResult {
  candidates: Candidate[];
  /** Trees touched by the candidates, by root id, for provider_summaries. */
  trees: Map<number, ProviderRow[]>;
  /** Names of the traits those trees carry (rows hold ids). */
  traitNames: ReadonlyMap<number, string>;
  /** Generation stopped at max_allocation_candidates (not at `limit`): more may have fitted. */
  capReached: boolean;
}

/**
 * Find allocation candidates. Roots are visited in id order from the read model (src/read-model), and
 * generation stops as soon as enough candidates exist: the work follows `limit`, not the number of
 * viable hosts. The model first catches up with every write committed before the call; names then
 * resolve in it (unknown ones are 400s).
 */
export async function findCandidates(
  db: Knex,
  model: ReadModel,
  request: CandidatesRequest,
  options: EngineOptions,
): Promise<EngineResult> {
  const { view, silent } = await readNow(db, model, options);
  return candidatesIn(view, resolveRequest(view, request), silent, options);
}

/** The read model as of now (every write committed before the call is in it), and the silent roots. */
export async function readNow(
  db: Knex,
  model: ReadModel,
  options: Pick<EngineOptions, 'staleAfterSeconds'>,
): Promise<{ view: ReadView; silent: ReadonlySet<number> | undefined }> {
  const [view, silent] = await Promise.all([model.current(), silentProviderIds(db, options.staleAfterSeconds)]);
  return { view, silent };
}

/** findCandidates over a view already taken: the explain view counts over the same one it answers from. */
export async function candidatesIn(
  view: ReadView,
  resolved: ResolvedRequest,
  silent: ReadonlySet<number> | undefined,
  options: EngineOptions,
): Promise<EngineResult> {
  if (resolved.impossible) return { candidates: [], trees: new Map(), traitNames: new Map(), capReached: false };
  const sharing = resolved.sharingProviderIds.flatMap((id) => view.providers.get(id) ?? []);
  const sharingTrees = new Map<number, ProviderRow[]>();
  for (const provider of sharing) sharingTrees.set(provider.rootId, view.trees.get(provider.rootId)!);
  // max_allocation_candidates stops generation (Placement checks it while merging); a limit may stop it
  // too unless randomising, where Placement samples `limit` from everything generated up to that cap.
  // A cap of 0 gives nothing, as documented (Placement checks after adding, so returns one).
  const cap = Math.min(
    options.maxCandidates >= 0 ? options.maxCandidates : Infinity,
    options.randomize ? Infinity : (options.limit ?? Infinity),
  );
  const combine: CombineOptions = {
    groups: resolved.groups,
    groupPolicy: resolved.groupPolicy,
    sameSubtrees: resolved.sameSubtrees,
    nestedAware: options.nestedAware,
  };
  const collector = new Collector(cap, sharingTrees, new Set(resolved.sharingProviderIds));
  const pacer = new Pacer(options.timeBudgetMs, options.signal);
  const roots = anchorRoots(view, resolved, sharing, silent);
  if (options.strategy === 'breadth-first') await breadthFirst(roots, combine, collector, pacer);
  else await depthFirst(roots, combine, collector, pacer);
  const capReached = options.maxCandidates >= 0 && cap === options.maxCandidates && collector.full();
  let candidates = collector.candidates;
  if (options.randomize) candidates = randomSample(candidates, options.limit);
  return { candidates, trees: collector.treesFor(candidates), traitNames: view.traitNames, capReached };
}

/** Keeps distinct candidates up to the cap, and the trees they touch. */
class Collector {
  readonly candidates: Candidate[] = [];
  private readonly seen = new Set<string>();
  private readonly trees = new Map<number, ProviderRow[]>();

  constructor(
    private readonly cap: number,
    private readonly sharingTrees: Map<number, ProviderRow[]>,
    private readonly sharingIds: ReadonlySet<number>,
  ) {}

  remaining(): number {
    return this.cap - this.candidates.length;
  }

  full(): boolean {
    return this.candidates.length >= this.cap;
  }

  /**
   * Add unless an identical request (same amounts on the same providers, same mappings) was seen. One root's
   * walk never repeats itself, and a provider that is not sharing appears only in walks anchored at its own
   * root, so only requests made of sharing providers alone can come twice (from two roots they are linked to).
   */
  add(candidate: Candidate, tree: ProviderRow[]): void {
    if (candidate.allocations.every((a) => this.sharingIds.has(a.provider.id))) {
      const key = candidateKey(candidate);
      if (this.seen.has(key)) return;
      this.seen.add(key);
    }
    this.candidates.push(candidate);
    for (const { provider } of candidate.allocations) {
      if (this.trees.has(provider.rootId)) continue;
      this.trees.set(
        provider.rootId,
        provider.rootId === tree[0].rootId ? tree : this.sharingTrees.get(provider.rootId)!,
      );
    }
  }

  treesFor(candidates: Candidate[]): Map<number, ProviderRow[]> {
    const roots = new Set<number>();
    for (const candidate of candidates) for (const a of candidate.allocations) roots.add(a.provider.rootId);
    const trees = new Map<number, ProviderRow[]>();
    for (const root of [...roots].sort((a, b) => a - b)) trees.set(root, this.trees.get(root)!);
    return trees;
  }
}

/** Plain concatenation: this runs once per generated candidate, and template/join chains showed in profiles. */
export function candidateKey(candidate: Candidate): string {
  let key = '';
  for (const a of candidate.allocations) key += a.provider.id + ':' + a.className + ':' + a.amount + ',';
  key += '|';
  for (const [suffix, uuids] of candidate.mappings) key += suffix + '=' + uuids.join('+') + ',';
  return key;
}

async function depthFirst(
  roots: Iterable<RootContext>,
  combine: CombineOptions,
  collector: Collector,
  pacer: Pacer,
): Promise<void> {
  if (collector.full()) return;
  const signature = requestSignature(combine);
  for (const ctx of roots) {
    let wait = pacer.step();
    if (wait) await wait;
    const key = cacheKey(signature, ctx);
    const cached = cachedCandidates(ctx.tree, key);
    if (cached) {
      for (const candidate of cached) {
        collector.add(candidate, ctx.tree);
        if (collector.full()) return;
      }
      continue;
    }
    // Remembered only when the walk ran to its end and found few: a list cut short by the limit is not the root's.
    let found: Candidate[] | undefined = [];
    for (const item of walkRoot(ctx, combine)) {
      if (item !== PAUSE) {
        if (found && found.push(item) > MAX_CACHED_PER_ROOT) found = undefined;
        collector.add(item, ctx.tree);
        if (collector.full()) return;
      }
      wait = pacer.step();
      if (wait) await wait;
    }
    if (found) rememberCandidates(ctx.tree, key, found);
  }
}

/**
 * Round-robin across roots (Placement's breadth-first strategy): the first candidate of every root,
 * then the second of every root, ... The first pass streams, so a limit still bounds the work.
 */
async function breadthFirst(
  roots: Iterable<RootContext>,
  combine: CombineOptions,
  collector: Collector,
  pacer: Pacer,
): Promise<void> {
  if (collector.full()) return;
  let active: Array<{ ctx: RootContext; gen: RootWalk }> = [];
  for (const ctx of roots) {
    const wait = pacer.step();
    if (wait) await wait;
    const gen = walkRoot(ctx, combine);
    const first = await next(gen, pacer);
    if (!first) continue;
    collector.add(first, ctx.tree);
    if (collector.full()) return;
    active.push({ ctx, gen });
  }
  while (active.length > 0) {
    const remaining: typeof active = [];
    for (const entry of active) {
      const candidate = await next(entry.gen, pacer);
      if (!candidate) continue;
      collector.add(candidate, entry.ctx.tree);
      if (collector.full()) return;
      remaining.push(entry);
      const wait = pacer.step();
      if (wait) await wait;
    }
    active = remaining;
  }
}

type RootWalk = ReturnType<typeof walkRoot>;

/** The root's next candidate (undefined when it has no more), pacing at each pause the walk makes. */
async function next(gen: RootWalk, pacer: Pacer): Promise<Candidate | undefined> {
  for (let step = gen.next(); !step.done; step = gen.next()) {
    if (step.value !== PAUSE) return step.value;
    const wait = pacer.step();
    if (wait) await wait;
  }
  return undefined;
}

/**
 * Roots in id order that may anchor a candidate: root_required and root_forbidden hold on the root, and
 * it is not silent (EMPLACE_STALE_AFTER_SECONDS). The walk decides the rest.
 */
function* anchorRoots(
  view: ReadView,
  resolved: ResolvedRequest,
  sharing: ProviderRow[],
  silent: ReadonlySet<number> | undefined,
): Generator<RootContext> {
  const parents = { get: (id: number) => view.providers.get(id)?.parentId };
  const { rootRequiredIds, rootForbiddenIds } = resolved;
  for (const rootId of view.rootIds) {
    const tree = view.trees.get(rootId);
    if (!tree) continue;
    if (silent?.has(rootId)) continue;
    const root = tree.find((p) => p.parentId === null)!;
    if (!rootRequiredIds.every((t) => root.traits.has(t))) continue;
    if (rootForbiddenIds.some((t) => root.traits.has(t))) continue;
    yield rootContext(tree, sharing, parents);
  }
}

/** Exported for the explain view (candidates/explain-provider.ts), which judges one tree as the engine does. */
export function rootContext(
  tree: ProviderRow[],
  sharing: ProviderRow[],
  parents: { get(id: number): number | null | undefined },
): RootContext {
  const root = tree.find((p) => p.parentId === null)!;
  // Runs once per root visited: loops rather than spreads, which showed as garbage in profiles.
  const linkedSharing: ProviderRow[] = [];
  for (const s of sharing) {
    if (s.rootId !== root.id && tree.some((p) => shareAnAggregate(p.aggregates, s.aggregates))) linkedSharing.push(s);
  }
  return { root, tree, linkedSharing, parentOf: (id) => parents.get(id) ?? null };
}

function shareAnAggregate(a: ReadonlySet<number>, b: ReadonlySet<number>): boolean {
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  for (const id of small) if (large.has(id)) return true;
  return false;
}

/** randomize_allocation_candidates: a random sample of `limit`, or everything shuffled. */
function randomSample(candidates: Candidate[], limit?: number): Candidate[] {
  const shuffled = [...candidates];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
  }
  return limit === undefined ? shuffled : shuffled.slice(0, limit);
}
