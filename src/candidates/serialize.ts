import type { Candidate, ProviderRow } from './model';

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

export function allocationRequestsBody(candidates: Candidate[], shape: ResponseShape): unknown[] {
  return candidates.map((candidate) => {
    const byProvider = new Map<string, Record<string, number>>();
    for (const { provider, className, amount } of candidate.allocations) {
      const resources = byProvider.get(provider.uuid) ?? {};
      resources[className] = amount;
      byProvider.set(provider.uuid, resources);
    }
    if (!shape.dictForm) {
      return { allocations: [...byProvider].map(([uuid, resources]) => ({ resource_provider: { uuid }, resources })) };
    }
    const body: Record<string, unknown> = {
      allocations: Object.fromEntries([...byProvider].map(([uuid, resources]) => [uuid, { resources }])),
    };
    if (shape.mappings) body.mappings = Object.fromEntries(candidate.mappings);
    return body;
  });
}

export function providerSummariesBody(
  candidates: Candidate[],
  trees: Map<number, ProviderRow[]>,
  requestedClasses: Set<string>,
  shape: ResponseShape,
  traitNames: ReadonlyMap<number, string>,
): Record<string, unknown> {
  const used = new Set(candidates.flatMap((c) => c.allocations.map((a) => a.provider.id)));
  const uuidById = new Map<number, string>();
  for (const tree of trees.values()) for (const p of tree) uuidById.set(p.id, p.uuid);
  const summaries: Record<string, unknown> = {};
  for (const tree of trees.values()) {
    for (const provider of tree) {
      if (!shape.wholeTrees && !used.has(provider.id)) continue;
      const resources: Record<string, { capacity: number; used: number }> = {};
      for (const [className, inv] of provider.inventories) {
        if (shape.allResources || requestedClasses.has(className))
          resources[className] = { capacity: inv.capacity, used: inv.used };
      }
      const summary: Record<string, unknown> = { resources };
      // Trait id order (standard traits in catalogue order, then custom ones as created), as Placement's
      // database returns them; its gabbits compare the list literally.
      if (shape.traits) summary.traits = [...provider.traits].map((id) => traitNames.get(id) ?? String(id));
      if (shape.tree) {
        summary.parent_provider_uuid = provider.parentId === null ? null : (uuidById.get(provider.parentId) ?? null);
        summary.root_provider_uuid = uuidById.get(provider.rootId) ?? null;
      }
      summaries[provider.uuid] = summary;
    }
  }
  return summaries;
}
