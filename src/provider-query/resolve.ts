import type { Queryable } from '../db/knex';
import type { ReadView } from '../read-model/read-model';
import { canonicalUuid } from '../validation/validator';
import { UnknownResourceClass, UnknownTrait } from '../errors/domain';
import type { ResolvedGroup, ResolvedRequest } from '../candidates/model';
import type { ProviderFilter } from '../repo/provider-filters';
import type { ProviderListFilter } from '../repo/providers';
import type { CandidatesRequest, ProviderListQuery, RequestGroup } from './request-groups';

const SHARING_TRAIT = 'MISC_SHARES_VIA_AGGREGATE';

interface NameRow {
  kind: 'rc' | 'trait' | 'agg' | 'rp' | 'sharing';
  key: string;
  id: number;
  root_id: number | null;
}

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
 * Resolve every name in the request in ONE round trip (classes, traits, aggregates, in_tree providers)
 * and learn which providers share via aggregates. Unknown classes and traits are 400s as in Placement;
 * unknown aggregates or in_tree providers simply match nothing.
 */
export async function resolveRequest(
  db: Queryable,
  request: CandidatesRequest,
  view?: ReadView,
): Promise<ResolvedRequest> {
  const names = view ? namesInView(view, namesIn(request)) : await lookupNames(db, namesIn(request));
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
 * GET /resource_providers as a one-group request: the repo filter with every name resolved, or undefined when
 * no provider can match. Placement's order decides which problem wins: an unknown in_tree provider lists nothing
 * (before traits are looked at), then unknown traits, then an aggregate group nobody is in lists nothing, then
 * unknown resource classes.
 */
export async function resolveProviderList(
  db: Queryable,
  query: ProviderListQuery,
  view?: ReadView,
): Promise<ProviderListFilter | undefined> {
  const { group } = query;
  const asked = namesIn({ groups: [group], rootRequired: [], rootForbidden: [], sameSubtrees: [] });
  const names = view ? namesInView(view, asked) : await lookupNames(db, asked);
  if (group.inTree && !names.providerRoots.has(group.inTree)) return undefined;
  const unknownTrait = [...group.requiredTraits.flat(), ...group.forbiddenTraits].find((t) => !names.traitIds.has(t));
  if (unknownTrait !== undefined) throw new UnknownTrait([unknownTrait]);
  const aggregatesOf = (uuids: string[]) => uuids.flatMap((uuid) => names.aggregateIds.get(uuid) ?? []);
  const memberOf = group.memberOf.map(aggregatesOf);
  if (memberOf.some((anyOf) => anyOf.length === 0)) return undefined;
  const traitId = (name: string) => names.traitIds.get(name)!;
  const filter: ProviderFilter = {};
  if (group.inTree) filter.inTreeRootId = names.providerRoots.get(group.inTree);
  if (group.requiredTraits.length || group.forbiddenTraits.length) {
    filter.requiredTraitIds = group.requiredTraits
      .filter((anyOf) => anyOf.length === 1)
      .map((anyOf) => traitId(anyOf[0]));
    filter.anyOfTraitIds = group.requiredTraits.filter((anyOf) => anyOf.length > 1).map((anyOf) => anyOf.map(traitId));
    filter.forbiddenTraitIds = group.forbiddenTraits.map(traitId);
  }
  if (group.memberOf.length || group.forbiddenAggregates.length) {
    filter.memberOfAggregateIds = memberOf;
    filter.forbiddenAggregateIds = aggregatesOf(group.forbiddenAggregates);
  }
  if (group.resources.size) {
    filter.resources = [...group.resources].map(([className, amount]) => {
      const resourceClassId = names.classIds.get(className);
      if (resourceClassId === undefined) throw new UnknownResourceClass(className);
      return { resourceClassId, amount };
    });
  }
  return { name: query.name, uuid: query.uuid, filter };
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

async function lookupNames(db: Queryable, names: RequestNames): Promise<ResolvedNames> {
  const result = await db.raw(
    `SELECT 'rc' AS kind, name AS key, id, NULL::bigint AS root_id FROM resource_classes WHERE name = ANY(?::text[])
     UNION ALL SELECT 'trait', name, id, NULL FROM traits WHERE name = ANY(?::text[])
     UNION ALL SELECT 'agg', uuid::text, id, NULL FROM placement_aggregates WHERE uuid = ANY(?::uuid[])
     UNION ALL SELECT 'rp', uuid::text, id, root_provider_id FROM resource_providers WHERE uuid = ANY(?::uuid[])
     UNION ALL SELECT 'sharing', '', rpt.resource_provider_id, NULL
       FROM resource_provider_traits rpt JOIN traits t ON t.id = rpt.trait_id WHERE t.name = ?`,
    [[...names.classes], [...names.traits], [...names.aggregates], [...names.providers], SHARING_TRAIT],
  );
  const rows = result.rows as NameRow[];
  const ofKind = (kind: NameRow['kind']) => rows.filter((r) => r.kind === kind);
  const ids = (kind: NameRow['kind']) => new Map(ofKind(kind).map((r) => [r.key, r.id]));
  return {
    classIds: ids('rc'),
    traitIds: ids('trait'),
    aggregateIds: ids('agg'),
    providerRoots: new Map(ofKind('rp').map((r) => [r.key, r.root_id as number])),
    sharingProviderIds: ofKind('sharing').map((r) => r.id),
  };
}

/**
 * lookupNames answered from a read model that is current (ReadModel.current), with no round trip: the
 * same maps, keyed by the request's own spelling of each uuid.
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
