import type { operations } from '../../api/generated/placement';
import type { Db } from '../db/knex';
import { badRequest } from '../errors/http-error';
import type { Microversion } from '../microversion/microversion';
import { ANY_TRAITS, FORBIDDEN_AGGREGATES, FORBIDDEN_TRAITS, MULTIPLE_MEMBER_OF } from '../microversion/versions';
import { aggregateIds, resourceClassIds, traitIds } from '../repo/names';
import type { ProviderFilter } from '../repo/provider-filters';
import { providerIds, type ProviderListFilter } from '../repo/providers';
import {
  parseMemberOfParams,
  parseResourcesParam,
  parseTraitParams,
  type MemberOfQuery,
  type TraitQuery,
} from '../validation/provider-query';

/** GET /resource_providers query after schema validation (last value of each key), as openapi.yaml describes it. */
export type ListQuery = NonNullable<operations['listResourceProviders']['parameters']['query']>;

/**
 * Turn the list query into a repo filter with every name resolved to an id, or undefined when no
 * provider can match (unknown in_tree provider, an aggregate group nobody is in). Checks run in
 * Placement's order: parameter formats first, then in_tree, traits, aggregates, resource classes.
 */
export async function buildListFilter(
  db: Db,
  mv: Microversion,
  query: ListQuery,
  repeated: { memberOf: string[]; required: string[] },
): Promise<ProviderListFilter | undefined> {
  const memberOf = repeated.memberOf.length
    ? parseMemberOfParams(repeated.memberOf, {
        allowMultiple: mv.has(MULTIPLE_MEMBER_OF),
        allowForbidden: mv.has(FORBIDDEN_AGGREGATES),
      })
    : undefined;
  const traits = repeated.required.length
    ? parseTraitParams(repeated.required, { allowForbidden: mv.has(FORBIDDEN_TRAITS), allowAnyOf: mv.has(ANY_TRAITS) })
    : undefined;
  const resources = query.resources !== undefined ? parseResourcesParam(query.resources) : undefined;

  const filter: ProviderFilter = {};
  if (query.in_tree) {
    const tree = await providerIds(db, query.in_tree);
    // A tree that does not exist lists nothing, as Placement does.
    if (!tree) return undefined;
    filter.inTreeRootId = tree.root_provider_id;
  }
  if (traits) Object.assign(filter, await resolveTraits(db, traits));
  if (memberOf) {
    const resolved = await resolveAggregates(db, memberOf);
    if (!resolved) return undefined;
    Object.assign(filter, resolved);
  }
  if (resources) filter.resources = await resolveResources(db, resources);
  // Placement filters on name and uuid only when they are non-empty.
  return { name: query.name || undefined, uuid: query.uuid || undefined, filter };
}

async function resolveTraits(db: Db, traits: TraitQuery): Promise<ProviderFilter> {
  const names = [...traits.required.flat(), ...traits.forbidden];
  const ids = await traitIds(db, names);
  const unknown = names.find((name) => !ids.has(name));
  if (unknown) throw badRequest(`Invalid trait(s) in "required" parameter: No such trait(s): ${unknown}.`);
  const idOf = (name: string) => ids.get(name) as number;
  return {
    requiredTraitIds: traits.required.filter((group) => group.length === 1).map((group) => idOf(group[0])),
    anyOfTraitIds: traits.required.filter((group) => group.length > 1).map((group) => group.map(idOf)),
    forbiddenTraitIds: traits.forbidden.map(idOf),
  };
}

/** Aggregates nobody was ever put in do not exist; a required group of only those matches nothing. */
async function resolveAggregates(db: Db, memberOf: MemberOfQuery): Promise<ProviderFilter | undefined> {
  const ids = await aggregateIds(db, [...memberOf.required.flat(), ...memberOf.forbidden]);
  const known = (uuids: string[]) => uuids.flatMap((uuid) => (ids.has(uuid) ? [ids.get(uuid) as number] : []));
  const groups = memberOf.required.map(known);
  if (groups.some((group) => group.length === 0)) return undefined;
  return { memberOfAggregateIds: groups, forbiddenAggregateIds: known(memberOf.forbidden) };
}

async function resolveResources(db: Db, amounts: Map<string, number>): Promise<ProviderFilter['resources']> {
  const ids = await resourceClassIds(db, [...amounts.keys()]);
  const resolved: NonNullable<ProviderFilter['resources']> = [];
  for (const [name, amount] of amounts) {
    const id = ids.get(name);
    if (id === undefined)
      throw badRequest(`Invalid resource class in resources parameter: No such resource class ${name}.`);
    resolved.push({ resourceClassId: id, amount });
  }
  return resolved;
}
