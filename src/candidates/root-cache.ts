import type { CombineOptions, RootContext } from './combine';
import type { Candidate, ProviderRow } from './model';

/**
 * One root's candidates for one request, kept with its tree. The read model replaces a tree's array and
 * rows whenever anything in it changes, so an entry can only be found while it is still true; the key
 * carries the request (groups, policy, same_subtree, 1.29) and which rows of sharing providers were
 * linked, since those live in other trees. nova repeats the same few flavours for every boot, so most
 * roots of a limit=1000 answer are unchanged since the last one (profile in docs/performance.md).
 */
const byTree = new WeakMap<ProviderRow[], Map<string, Candidate[]>>();
const rowSerials = new WeakMap<ProviderRow, number>();
let nextSerial = 1;

/** Request shapes remembered per tree; the oldest is dropped first. */
const SHAPES_PER_TREE = 4;
/** A root with more candidates than this is walked every time (large nested trees): bounded memory. */
export const MAX_CACHED_PER_ROOT = 64;

export function requestSignature(options: CombineOptions): string {
  return shortRequestId(JSON.stringify(options));
}

/** Requests by a short id, so the key built per root is short to hash too; forgotten wholesale past a bound. */
const requestIds = new Map<string, string>();
const MAX_REQUEST_IDS = 1_000;
let nextRequestId = 1;

/** The same id for the same text; a forgotten request gets a new one, its old entries go with their trees. */
export function shortRequestId(text: string): string {
  let id = requestIds.get(text);
  if (id === undefined) {
    if (requestIds.size >= MAX_REQUEST_IDS) requestIds.clear();
    requestIds.set(text, (id = `r${nextRequestId++}`));
  }
  return id;
}

export function cacheKey(signature: string, ctx: RootContext): string {
  return rowsKey(signature, ctx.linkedSharing);
}

/** The signature with a serial per row: a row replaced (anything in its tree changed) gives another key. */
export function rowsKey(signature: string, rows: readonly ProviderRow[]): string {
  if (rows.length === 0) return signature;
  let key = signature + '|';
  for (const row of rows) key += serialOf(row) + ',';
  return key;
}

export function cachedCandidates(tree: ProviderRow[], key: string): Candidate[] | undefined {
  return byTree.get(tree)?.get(key);
}

export function rememberCandidates(tree: ProviderRow[], key: string, candidates: Candidate[]): void {
  let shapes = byTree.get(tree);
  if (!shapes) byTree.set(tree, (shapes = new Map()));
  if (shapes.size >= SHAPES_PER_TREE) shapes.delete(shapes.keys().next().value!);
  shapes.set(key, candidates);
}

function serialOf(row: ProviderRow): number {
  let serial = rowSerials.get(row);
  if (serial === undefined) rowSerials.set(row, (serial = nextSerial++));
  return serial;
}
