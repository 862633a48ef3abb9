import { setImmediate as nextTurn } from 'node:timers/promises';
import { CandidatesBudgetExceeded } from '../errors/domain';

/** How long generation may hold the event loop before it lets other requests run. */
const SLICE_MS = 5;
/** Clock reads are cheap but not free: look at it once per this many steps. */
const STEPS_PER_CHECK = 8;

/**
 * Keeps candidate generation cooperative: the combination walk is synchronous, so without a pause a
 * large query would hold the event loop (and every other request) for seconds. `step` is called per
 * candidate and per root; every few milliseconds it yields a turn of the loop, and past the request's
 * deadline it throws, so an over-budget request ends with an answer instead of running on. At the
 * same points it throws the signal's reason once aborted (the client hung up): nobody waits for the answer.
 */
export class Pacer {
  private readonly deadline: number;
  private sliceStart = performance.now();
  private steps = 0;

  constructor(
    private readonly budgetMs: number | undefined,
    private readonly signal?: AbortSignal,
  ) {
    this.deadline = budgetMs === undefined ? Infinity : performance.now() + budgetMs;
  }

  /**
   * A promise only when it is time to yield (`const wait = pacer.step(); if (wait) await wait;`): awaiting
   * per candidate allocated a promise each time, which showed as garbage collection in profiles.
   */
  step(): Promise<void> | undefined {
    if (++this.steps % STEPS_PER_CHECK !== 0) return undefined;
    this.signal?.throwIfAborted();
    const now = performance.now();
    if (now >= this.deadline) throw new CandidatesBudgetExceeded(this.budgetMs!);
    if (now - this.sliceStart < SLICE_MS) return undefined;
    return nextTurn().then(() => {
      this.sliceStart = performance.now();
    });
  }

  /** After an await that may have taken long (a database round trip): only the deadline and the signal. */
  check(): void {
    this.signal?.throwIfAborted();
    const now = performance.now();
    if (now >= this.deadline) throw new CandidatesBudgetExceeded(this.budgetMs!);
    this.sliceStart = now;
  }
}
