import type { Knex } from 'knex';
import { badRequest } from '../errors/http-error';
import type { ResolvedGroup, ResolvedRequest } from './model';
import type { CandidatesRequest } from './request-groups';

const SHARING_TRAIT = 'MISC_SHARES_VIA_AGGREGATE';

interface NameRow {
  kind: 'rc' | 'trait' | 'agg' | 'rp' | 'sharing';
  key: string;
  id: number;
  root_id: number | null;
}

/**
 * Resolve every name in the request in ONE round trip (classes, traits, aggregates, in_tree providers)
 * and learn which providers share via aggregates. Unknown classes and traits are 400s as in Placement;
 * unknown aggregates or in_tree providers simply match nothing.
 */
export async function resolveRequest(db: Knex | Knex.Transaction, request: CandidatesRequest): Promise<ResolvedRequest> {
  const classes = new Set<string>();
  const traits = new Set<string>([...request.rootRequired, ...request.rootForbidden]);
  const aggregates = new Set<string>();
  const providers = new Set<string>();
  for (const group of request.groups) {
    for (const name of group.resources.keys()) classes.add(name);
    for (const name of [...group.requiredTraits.flat(), ...group.forbiddenTraits]) traits.add(name);
    for (const uuid of [...group.memberOf.flat(), ...group.forbiddenAggregates]) aggregates.add(uuid);
    if (group.inTree) providers.add(group.inTree);
  }
  const result = await db.raw(
    `SELECT 'rc' AS kind, name AS key, id, NULL::bigint AS root_id FROM resource_classes WHERE name = ANY(?::text[])
     UNION ALL SELECT 'trait', name, id, NULL FROM traits WHERE name = ANY(?::text[])
     UNION ALL SELECT 'agg', uuid::text, id, NULL FROM placement_aggregates WHERE uuid = ANY(?::uuid[])
     UNION ALL SELECT 'rp', uuid::text, id, root_provider_id FROM resource_providers WHERE uuid = ANY(?::uuid[])
     UNION ALL SELECT 'sharing', '', rpt.resource_provider_id, NULL
       FROM resource_provider_traits rpt JOIN traits t ON t.id = rpt.trait_id WHERE t.name = ?`,
    [[...classes], [...traits], [...aggregates], [...providers], SHARING_TRAIT],
  );
  const rows = result.rows as NameRow[];
  const ids = (kind: NameRow['kind']) => new Map(rows.filter((r) => r.kind === kind).map((r) => [r.key, r.id]));
  const classIds = ids('rc');
  const traitIds = ids('trait');
  const aggregateIds = ids('agg');
  const providerRoots = new Map(rows.filter((r) => r.kind === 'rp').map((r) => [r.key, r.root_id as number]));

  const traitId = (name: string): number => {
    const id = traitIds.get(name);
    if (id === undefined) throw badRequest(`No such trait(s): ${name}.`);
    return id;
  };
  // Placement resolves root_required first, then each group's classes and then its traits.
  const rootRequiredIds = request.rootRequired.map(traitId);
  const rootForbiddenIds = request.rootForbidden.map(traitId);
  let impossible = false;
  const groups: ResolvedGroup[] = request.groups.map((group) => {
    const resources = [...group.resources].map(([className, amount]) => {
      const classId = classIds.get(className);
      if (classId === undefined) {
        throw badRequest(`Invalid resource class in resources parameter: No such resource class ${className}.`);
      }
      return { className, classId, amount };
    });
    resources.sort((a, b) => a.classId - b.classId);
    const memberOf = group.memberOf.map((anyOf) => anyOf.flatMap((uuid) => aggregateIds.get(uuid) ?? []));
    if (memberOf.some((anyOf) => anyOf.length === 0)) impossible = true;
    let inTreeRootId: number | undefined;
    if (group.inTree) {
      inTreeRootId = providerRoots.get(group.inTree);
      if (inTreeRootId === undefined) impossible = true;
    }
    return {
      suffix: group.suffix,
      granular: group.suffix !== '',
      resources,
      requiredTraits: group.requiredTraits,
      requiredTraitIds: group.requiredTraits.map((anyOf) => anyOf.map(traitId)),
      forbiddenTraits: group.forbiddenTraits,
      forbiddenTraitIds: group.forbiddenTraits.map(traitId),
      memberOf,
      forbiddenAggregates: group.forbiddenAggregates.flatMap((uuid) => aggregateIds.get(uuid) ?? []),
      inTreeRootId,
    };
  });
  return {
    groups,
    groupPolicy: request.groupPolicy,
    rootRequired: request.rootRequired,
    rootRequiredIds,
    rootForbidden: request.rootForbidden,
    rootForbiddenIds,
    sameSubtrees: request.sameSubtrees,
    sharingProviderIds: rows.filter((r) => r.kind === 'sharing').map((r) => r.id),
    impossible,
  };
}
