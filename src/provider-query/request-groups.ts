import { ILLEGAL_DUPLICATE_QUERYPARAM, QUERYPARAM_BAD_VALUE, QUERYPARAM_MISSING_VALUE } from '../errors/codes';
import { badRequest } from '../errors/http-error';
import {
  ANY_TRAITS,
  ARBITRARY_GROUP_SUFFIX,
  FORBIDDEN_AGGREGATES,
  FORBIDDEN_TRAITS,
  MULTIPLE_MEMBER_OF,
  SAME_SUBTREE,
} from '../microversion/versions';
import type { operations } from '../../api/generated/placement';
import { parseMemberOfParams, parseResourcesParam, parseTraitParam, parseTraitParams } from './values';
import { UUID_PATTERN, canonicalUuid } from '../validation/validator';
import { pyRepr } from '../validation/python-repr';
import { validateCandidatesQuery, type VersionGate } from './query-schema';

/**
 * The provider query language, parsed: `resources`, `required` (with `!` and `in:`), `member_of` (with `!`
 * and `in:`), `in_tree`, suffixed groups, `root_required` and `same_subtree`. GET /allocation_candidates asks
 * for any number of groups; GET /resource_providers is a one-group request (the unsuffixed group). Both yield
 * RequestGroup, and resolve.ts turns its names into ids in one round trip.
 */

/**
 * One request group. The unsuffixed group (suffix '') may be served by several providers of one tree
 * (and sharing providers); a suffixed (granular, 1.25) group must be served by a single provider.
 */
export interface RequestGroup {
  suffix: string;
  /** Resource class name -> amount, in the order given. */
  resources: Map<string, number>;
  /** AND of OR-sets of trait names (1.39 `in:` makes one set of several). */
  requiredTraits: string[][];
  forbiddenTraits: string[];
  /** AND of OR-sets of aggregate uuids (canonical lower-case, dashed). */
  memberOf: string[][];
  forbiddenAggregates: string[];
  /** Provider uuid (canonical) whose tree must serve this group (1.31). */
  inTree?: string;
}

export interface CandidatesRequest {
  groups: RequestGroup[];
  limit?: number;
  groupPolicy?: 'none' | 'isolate';
  /** root_required (1.35): traits the anchor root must have / must not have. */
  rootRequired: string[];
  rootForbidden: string[];
  /** same_subtree (1.36): each entry a set of suffixes. */
  sameSubtrees: string[][];
}

const KEY = /^(resources|required|member_of|in_tree)(.*)$/;

/** GET /resource_providers query after schema validation (last value of each key), as openapi.yaml describes it. */
export type ListQuery = NonNullable<operations['listResourceProviders']['parameters']['query']>;

/** GET /resource_providers: name and uuid match exactly; the rest is the one (unsuffixed) request group. */
export interface ProviderListQuery {
  name?: string;
  uuid?: string;
  group: RequestGroup;
}

/**
 * The list query as a one-group request. Formats are checked in Placement's order (member_of, required,
 * resources); `required` and `member_of` may repeat, so their values come from the query string itself.
 */
export function parseProviderListQuery(
  query: ListQuery,
  repeated: { memberOf: string[]; required: string[] },
  mv: VersionGate,
): ProviderListQuery {
  const group = emptyGroup('');
  if (repeated.memberOf.length) {
    const aggregates = parseMemberOfParams(repeated.memberOf, {
      allowMultiple: mv.has(MULTIPLE_MEMBER_OF),
      allowForbidden: mv.has(FORBIDDEN_AGGREGATES),
    });
    group.memberOf = aggregates.required;
    group.forbiddenAggregates = aggregates.forbidden;
  }
  if (repeated.required.length) {
    const traits = parseTraitParams(repeated.required, {
      allowForbidden: mv.has(FORBIDDEN_TRAITS),
      allowAnyOf: mv.has(ANY_TRAITS),
    });
    group.requiredTraits = traits.required;
    group.forbiddenTraits = traits.forbidden;
  }
  if (query.resources !== undefined) group.resources = parseResourcesParam(query.resources);
  // The schema checked in_tree is a uuid; canonical, as names resolve by their canonical text.
  if (query.in_tree) group.inTree = canonicalUuid(query.in_tree);
  // Placement filters on name and uuid only when they are non-empty.
  return { name: query.name || undefined, uuid: query.uuid || undefined, group };
}

function emptyGroup(suffix: string): RequestGroup {
  return {
    suffix,
    resources: new Map(),
    requiredTraits: [],
    forbiddenTraits: [],
    memberOf: [],
    forbiddenAggregates: [],
  };
}

/** Turn the query (every key with all its values, in query order) into request groups, as Placement. */
export function parseCandidatesRequest(entries: Map<string, string[]>, mv: VersionGate): CandidatesRequest {
  const flat: Record<string, string> = {};
  for (const [key, values] of entries) flat[key] = values[values.length - 1];
  validateCandidatesQuery(flat, mv);
  const wide = parseRequestWide(entries);
  const groups = parseGroups(entries, mv);
  if (mv.has(SAME_SUBTREE)) checkSameSubtree(groups, wide.sameSubtrees);
  else checkOrphans(groups);
  if (mv.has(FORBIDDEN_TRAITS)) checkConflictingTraits(groups);
  if (!wide.groupPolicy && groups.filter((group) => group.suffix !== '').length > 1) {
    throw badRequest(
      'The "group_policy" parameter is required when specifying more than one "resources{N}" parameter.',
    );
  }
  return { ...wide, groups };
}

function parseRequestWide(entries: Map<string, string[]>): Omit<CandidatesRequest, 'groups'> {
  // Placement takes the first limit and group_policy; the schema has checked the last one.
  const limitValue = entries.get('limit')?.[0];
  const policy = entries.get('group_policy')?.[0] as CandidatesRequest['groupPolicy'];
  const result: Omit<CandidatesRequest, 'groups'> = { rootRequired: [], rootForbidden: [], sameSubtrees: [] };
  if (limitValue !== undefined) result.limit = Number(limitValue);
  if (policy) result.groupPolicy = policy;
  const rootRequired = entries.get('root_required') ?? [];
  if (rootRequired.length > 1) {
    throw badRequest("Query parameter 'root_required' may be specified only once.", ILLEGAL_DUPLICATE_QUERYPARAM);
  }
  if (rootRequired.length === 1) {
    // root_required has no any-of form: every required trait is its own set.
    const { required, forbidden } = parseTraitParam(rootRequired[0], { allowForbidden: true, allowAnyOf: false });
    result.rootRequired = [...new Set(required.map((set) => set[0]))];
    result.rootForbidden = forbidden;
    const conflicts = result.rootRequired.filter((trait) => forbidden.includes(trait)).sort();
    if (conflicts.length > 0) {
      throw badRequest(
        `Conflicting required and forbidden traits found in root_required: ${conflicts.join(', ')}`,
        QUERYPARAM_BAD_VALUE,
      );
    }
  }
  for (const value of entries.get('same_subtree') ?? []) {
    const suffixes = [...new Set(value.split(',').map((part) => part.trim()))];
    if (suffixes.includes('')) {
      throw badRequest('Empty string (unsuffixed group) can not be specified in `same_subtree` ', QUERYPARAM_BAD_VALUE);
    }
    result.sameSubtrees.push(suffixes);
  }
  return result;
}

function parseGroups(entries: Map<string, string[]>, mv: VersionGate): RequestGroup[] {
  const suffixPattern = mv.has(ARBITRARY_GROUP_SUFFIX) ? /^[a-zA-Z0-9_-]{1,64}$/ : /^[1-9][0-9]*$/;
  const bySuffix = new Map<string, RequestGroup>();
  for (const [key, values] of entries) {
    const match = KEY.exec(key);
    if (!match || (match[2] !== '' && !suffixPattern.test(match[2]))) continue;
    const [, prefix, suffix] = match;
    let group = bySuffix.get(suffix);
    if (!group) {
      group = emptyGroup(suffix);
      bySuffix.set(suffix, group);
    }
    if (prefix === 'resources') {
      group.resources = parseResourcesParam(values[values.length - 1]);
    } else if (prefix === 'required') {
      const traits = parseTraitParams(values, {
        allowForbidden: mv.has(FORBIDDEN_TRAITS),
        allowAnyOf: mv.has(ANY_TRAITS),
      });
      group.requiredTraits = traits.required;
      group.forbiddenTraits = traits.forbidden;
    } else if (prefix === 'member_of') {
      const options = {
        allowMultiple: mv.has(MULTIPLE_MEMBER_OF),
        allowForbidden: mv.has(FORBIDDEN_AGGREGATES),
        suffix,
      };
      const aggregates = parseMemberOfParams(values, options);
      group.memberOf = aggregates.required;
      group.forbiddenAggregates = aggregates.forbidden;
    } else {
      group.inTree = parseInTree(values[values.length - 1]);
    }
  }
  return [...bySuffix.values()];
}

const QS = 'Invalid query string parameters:';

function parseInTree(value: string): string {
  const trimmed = value.trim();
  if (!UUID_PATTERN.test(trimmed)) {
    throw badRequest(`${QS} Expected 'in_tree' parameter to be a format of uuid. Got: ${value}`);
  }
  return canonicalUuid(trimmed);
}

/** Before 1.36 every group needs resources; traits or member_of alone are "orphans". */
function checkOrphans(groups: RequestGroup[]): void {
  const orphanTraits = groups
    .filter((g) => g.requiredTraits.length > 0 && g.resources.size === 0)
    .map((g) => `required${g.suffix}`);
  if (orphanTraits.length > 0) {
    throw badRequest(
      `All traits parameters must be associated with resources.  Found the following orphaned traits keys: ${orphanTraits.join(', ')}`,
    );
  }
  const orphanMembers = groups
    .filter((g) => g.resources.size === 0 && (g.memberOf.length > 0 || g.forbiddenAggregates.length > 0))
    .map((g) => `member_of${g.suffix}`);
  if (orphanMembers.length > 0) {
    throw badRequest(
      `All member_of parameters must be associated with resources. Found the following orphaned member_of keys: ${orphanMembers.join(', ')}`,
    );
  }
  if (!groups.every((g) => g.resources.size > 0)) throw badRequest('All request groups must specify resources.');
  if (groups.length === 0) throw badRequest('At least one request group (`resources` or `resources{$S}`) is required.');
}

/** From 1.36 a group may be resourceless, but only when same_subtree names it. */
function checkSameSubtree(groups: RequestGroup[], sameSubtrees: string[][]): void {
  const resourceless = groups.filter((g) => g.resources.size === 0).map((g) => g.suffix);
  const inSubtree = new Set(sameSubtrees.flat());
  if (resourceless.length === groups.length) {
    throw badRequest('There must be at least one resources or resources[$S] parameter.', QUERYPARAM_MISSING_VALUE);
  }
  const bad = resourceless.filter((suffix) => !inSubtree.has(suffix));
  if (bad.length > 0) {
    throw badRequest(
      `Resourceless suffixed group request should be specified in \`same_subtree\` query param: bad group(s) - ${pyRepr(bad)}.`,
      QUERYPARAM_BAD_VALUE,
    );
  }
  const known = groups.map((g) => g.suffix);
  const unknown = [...inSubtree].filter((suffix) => !known.includes(suffix));
  if (unknown.length > 0) {
    throw badRequest(
      `Real suffixes should be specified in \`same_subtree\`: ${pyRepr(unknown)} not found in ${pyRepr(known)}.`,
      QUERYPARAM_BAD_VALUE,
    );
  }
}

/** A required set made entirely of forbidden traits can never match (1.22). */
function checkConflictingTraits(groups: RequestGroup[]): void {
  const conflicts: string[] = [];
  for (const group of groups) {
    for (const anyOf of group.requiredTraits) {
      if (anyOf.every((trait) => group.forbiddenTraits.includes(trait))) {
        conflicts.push(`required${group.suffix}: (${[...anyOf].sort().join(', ')})`);
      }
    }
  }
  if (conflicts.length > 0) {
    throw badRequest(
      `Conflicting required and forbidden traits found in the following traits keys: ${conflicts.sort().join(', ')}`,
    );
  }
}
