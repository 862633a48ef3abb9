import type { Candidate, ProviderRow } from './model';

/**
 * The answer's JSON, written as text. A limit=1000 answer is ~1 MB; building it as objects first and
 * stringifying them cost more than generating the candidates (profile in docs/performance.md). Uuids
 * come from PostgreSQL's uuid type and class and trait names match ^[A-Z0-9_]+$, so neither needs
 * escaping; group suffixes go through JSON.stringify.
 */

/** Which response features the request's microversion turns on. */
export interface ResponseShape {
  /** 1.12: allocation requests keyed by provider uuid rather than a list. */
  dictForm: boolean;
  /** 1.34: mappings of suffix -> providers. */
  mappings: boolean;
  /** 1.17: provider traits in summaries. */
  traits: boolean;
  /** 1.27: every inventory in summaries, not only the requested classes. */
  allResources: boolean;
  /** 1.29: parent and root uuids in summaries. */
  tree: boolean;
  /** 1.29: summaries cover whole trees; before it, only the providers in the requests. */
  wholeTrees: boolean;
}

/** The allocation requests, comma-separated (the caller writes the brackets, a slice at a time). */
export function allocationRequestsJson(candidates: Candidate[], shape: ResponseShape): string {
  const variant = (shape.dictForm ? 1 : 0) | (shape.mappings ? 2 : 0);
  let out = '';
  for (let i = 0; i < candidates.length; i++) {
    if (i > 0) out += ',';
    // Candidates kept with their trees (root-cache.ts) come back request after request; so does their text.
    out += kept(requestTexts, candidates[i], variant, () => allocationRequestJson(candidates[i], shape));
  }
  return out;
}

const requestTexts = new WeakMap<Candidate, Array<string | undefined>>();

/** Text kept per object and response variant: the objects are replaced whenever what they say changes. */
function kept<K extends object>(
  texts: WeakMap<K, Array<string | undefined>>,
  key: K,
  variant: number,
  write: () => string,
): string {
  let byVariant = texts.get(key);
  if (!byVariant) texts.set(key, (byVariant = []));
  return (byVariant[variant] ??= write());
}

function allocationRequestJson(candidate: Candidate, shape: ResponseShape): string {
  // Allocations come ordered by provider, so each provider's classes are consecutive.
  let out = shape.dictForm ? '{"allocations":{' : '{"allocations":[';
  let current: ProviderRow | undefined;
  for (const { provider, className, amount } of candidate.allocations) {
    if (provider !== current) {
      if (current) out += '}}' + ',';
      out += shape.dictForm
        ? `"${provider.uuid}":{"resources":{`
        : `{"resource_provider":{"uuid":"${provider.uuid}"},"resources":{`;
      current = provider;
    } else out += ',';
    out += `"${className}":${amount}`;
  }
  if (current) out += '}}';
  out += shape.dictForm ? '}' : ']';
  if (shape.dictForm && shape.mappings) out += ',"mappings":' + JSON.stringify(Object.fromEntries(candidate.mappings));
  return out + '}';
}

/** The provider_summaries object and how many entries it has. */
export function providerSummariesJson(
  candidates: Candidate[],
  trees: Map<number, ProviderRow[]>,
  requestedClasses: Set<string>,
  shape: ResponseShape,
  traitNames: ReadonlyMap<number, string>,
): { json: string; count: number } {
  let used: Set<number> | undefined;
  if (!shape.wholeTrees) {
    used = new Set();
    for (const c of candidates) for (const a of c.allocations) used.add(a.provider.id);
  }
  let out = '{';
  let count = 0;
  for (const tree of trees.values()) {
    for (const provider of tree) {
      if (used && !used.has(provider.id)) continue;
      if (count++ > 0) out += ',';
      out += summaryJson(provider, tree, requestedClasses, shape, traitNames);
    }
  }
  return { json: out + '}', count };
}

/**
 * Summaries with every inventory (1.27+, what nova asks) depend only on the provider row and the shape,
 * so they are kept per row: the read model replaces a row whenever its tree changes.
 */
const summaryTexts = new WeakMap<ProviderRow, Array<string | undefined>>();

function summaryJson(
  provider: ProviderRow,
  tree: ProviderRow[],
  requestedClasses: Set<string>,
  shape: ResponseShape,
  traitNames: ReadonlyMap<number, string>,
): string {
  if (!shape.allResources) return writeSummary(provider, tree, requestedClasses, shape, traitNames);
  const variant = (shape.traits ? 1 : 0) | (shape.tree ? 2 : 0);
  return kept(summaryTexts, provider, variant, () => writeSummary(provider, tree, requestedClasses, shape, traitNames));
}

function writeSummary(
  provider: ProviderRow,
  tree: ProviderRow[],
  requestedClasses: Set<string>,
  shape: ResponseShape,
  traitNames: ReadonlyMap<number, string>,
): string {
  let out = `"${provider.uuid}":{"resources":{`;
  let first = true;
  for (const [className, inv] of provider.inventories) {
    if (!shape.allResources && !requestedClasses.has(className)) continue;
    out += `${first ? '' : ','}"${className}":{"capacity":${inv.capacity},"used":${inv.used}}`;
    first = false;
  }
  out += '}';
  // Trait id order (standard traits in catalogue order, then custom ones as created), as Placement's
  // database returns them; its gabbits compare the list literally.
  if (shape.traits) {
    const names: string[] = [];
    for (const id of provider.traits) names.push(`"${traitNames.get(id) ?? id}"`);
    out += `,"traits":[${names.join(',')}]`;
  }
  if (shape.tree) {
    const parent = provider.parentId === null ? undefined : tree.find((p) => p.id === provider.parentId);
    const root = tree.find((p) => p.id === provider.rootId);
    out += `,"parent_provider_uuid":${parent ? `"${parent.uuid}"` : 'null'}`;
    out += `,"root_provider_uuid":${root ? `"${root.uuid}"` : 'null'}`;
  }
  return out + '}';
}
