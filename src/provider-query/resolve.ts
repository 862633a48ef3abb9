import type { ReadView } from '../read-model/read-model';
import { canonicalUuid } from '../validation/validator';
import { UnknownResourceClass, UnknownTrait } from '../errors/domain';
import type { ResolvedGroup, ResolvedRequest } from '../candidates/model';
import type { ProviderListFilter } from '../read-model/provider-listing';
import type { CandidatesRequest, ProviderListQuery, RequestGroup } from './request-groups';

/** The names a request mentions, by kind. */
interface RequestNames {
  classes: Set<string>;
  traits: Set<string>;
  aggregates: Set<string>;
  providers: Set<string>;
}

/** What the names resolved to; a name missing from a map does not exist. */
interface ResolvedNames {
  classIds: Map<string, number>;
  traitIds: Map<string, number>;
  aggregateIds: Map<string, number>;
  /** in_tree provider uuid -> its root provider id. */
  providerRoots: Map<string, number>;
  sharingProviderIds: number[];
}

/**
 * Resolve every name in the request (classes, traits, aggregates, in_tree providers) and learn which
 * providers share via aggregates. Unknown classes and traits are 400s as in Placement; unknown
 * aggregates or in_tree providers simply match nothing.
 */
export function resolveRequest(view: ReadView, request: CandidatesRequest): ResolvedRequest {
  const names = namesInView(view, namesIn(request));
  const traitId = traitIdOf(names.traitIds);
  // Placement resolves root_required first, then each group's classes and then its traits.
  const rootRequiredIds = request.rootRequired.map(traitId);
  const rootForbiddenIds = request.rootForbidden.map(traitId);
  const groups = request.groups.map((group) => resolveGroup(group, names, traitId));
  return {
    groups,
    groupPolicy: request.groupPolicy,
    rootRequired: request.rootRequired,
    rootRequiredIds,
    rootForbidden: request.rootForbidden,
    rootForbiddenIds,
    sameSubtrees: request.sameSubtrees,
    sharingProviderIds: names.sharingProviderIds,
    impossible: request.groups.some((group, i) => neverMatches(group, groups[i])),
  };
}

/**
 * GET /resource_providers as a one-group request: its single-provider test with every name resolved, or undefined when
 * no provider can match. Placement's order decides which problem wins: an unknown in_tree provider lists nothing
 * (before traits are looked at), then unknown traits, then an aggregate group nobody is in lists nothing, then
 * unknown resource classes.
 */
export function resolveProviderList(view: ReadView, query: ProviderListQuery): ProviderListFilter | undefined {
  const { group } = query;
  const names = namesInView(view, namesIn({ groups: [group], rootRequired: [], rootForbidden: [], sameSubtrees: [] }));
  if (group.inTree && !names.providerRoots.has(group.inTree)) return undefined;
  const unknownTrait = [...group.requiredTraits.flat(), ...group.forbiddenTraits].find((t) => !names.traitIds.has(t));
  if (unknownTrait !== undefined) throw new UnknownTrait([unknownTrait]);
  const aggregatesOf = (uuids: string[]) => uuids.flatMap((uuid) => names.aggregateIds.get(uuid) ?? []);
  const memberOf = group.memberOf.map(aggregatesOf);
  if (memberOf.some((anyOf) => anyOf.length === 0)) return undefined;
  const traitId = (name: string) => names.traitIds.get(name)!;
  const resources = [...group.resources].map(([className, amount]) => {
    const classId = names.classIds.get(className);
    if (classId === undefined) throw new UnknownResourceClass(className);
    return { className, classId, amount };
  });
  const test = {
    resources,
    requiredTraitIds: group.requiredTraits.map((anyOf) => anyOf.map(traitId)),
    forbiddenTraitIds: group.forbiddenTraits.map(traitId),
    memberOf,
    forbiddenAggregates: aggregatesOf(group.forbiddenAggregates),
    inTreeRootId: group.inTree ? names.providerRoots.get(group.inTree) : undefined,
  };
  return { name: query.name, uuid: query.uuid, test };
}

function namesIn(request: CandidatesRequest): RequestNames {
  const names: RequestNames = {
    classes: new Set(),
    traits: new Set([...request.rootRequired, ...request.rootForbidden]),
    aggregates: new Set(),
    providers: new Set(),
  };
  for (const group of request.groups) {
    for (const name of group.resources.keys()) names.classes.add(name);
    for (const name of [...group.requiredTraits.flat(), ...group.forbiddenTraits]) names.traits.add(name);
    for (const uuid of [...group.memberOf.flat(), ...group.forbiddenAggregates]) names.aggregates.add(uuid);
    if (group.inTree) names.providers.add(group.inTree);
  }
  return names;
}

/**
 * The request's names in a read model that is current (ReadModel.current): no round trip, and a name
 * another process created before the read is there. Maps are keyed by the request's own spelling of each uuid.
 */
function namesInView(view: ReadView, names: RequestNames): ResolvedNames {
  const found = <T>(keys: Set<string>, lookup: (key: string) => T | undefined) => {
    const map = new Map<string, T>();
    for (const key of keys) {
      const value = lookup(key);
      if (value !== undefined) map.set(key, value);
    }
    return map;
  };
  return {
    classIds: found(names.classes, (name) => view.classIds.get(name)),
    traitIds: found(names.traits, (name) => view.traitIds.get(name)),
    aggregateIds: found(names.aggregates, (uuid) => view.aggregateIds.get(canonicalUuid(uuid))),
    providerRoots: found(names.providers, (uuid) => view.providersByUuid.get(canonicalUuid(uuid))?.rootId),
    sharingProviderIds: [...view.sharingIds].sort((a, b) => a - b),
  };
}

function traitIdOf(traitIds: Map<string, number>): (name: string) => number {
  return (name) => {
    const id = traitIds.get(name);
    if (id === undefined) throw new UnknownTrait([name]);
    return id;
  };
}

function resolveGroup(group: RequestGroup, names: ResolvedNames, traitId: (name: string) => number): ResolvedGroup {
  const resources = [...group.resources].map(([className, amount]) => {
    const classId = names.classIds.get(className);
    if (classId === undefined) throw new UnknownResourceClass(className);
    return { className, classId, amount };
  });
  resources.sort((a, b) => a.classId - b.classId);
  return {
    suffix: group.suffix,
    granular: group.suffix !== '',
    resources,
    requiredTraits: group.requiredTraits,
    requiredTraitIds: group.requiredTraits.map((anyOf) => anyOf.map(traitId)),
    forbiddenTraits: group.forbiddenTraits,
    forbiddenTraitIds: group.forbiddenTraits.map(traitId),
    memberOf: group.memberOf.map((anyOf) => anyOf.flatMap((uuid) => names.aggregateIds.get(uuid) ?? [])),
    forbiddenAggregates: group.forbiddenAggregates.flatMap((uuid) => names.aggregateIds.get(uuid) ?? []),
    inTreeRootId: group.inTree ? names.providerRoots.get(group.inTree) : undefined,
  };
}

/** A member_of set whose aggregates are all unknown, or an unknown in_tree provider, matches nothing. */
function neverMatches(group: RequestGroup, resolved: ResolvedGroup): boolean {
  const unknownTree = Boolean(group.inTree) && resolved.inTreeRootId === undefined;
  return resolved.memberOf.some((anyOf) => anyOf.length === 0) || unknownTree;
}
