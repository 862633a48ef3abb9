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
import { UUID_PATTERN } from '../validation/validator';
import { pyRepr } from '../validation/python-repr';
import { validateCandidatesQuery, type VersionGate } from './query-schema';

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
    throw badRequest('The "group_policy" parameter is required when specifying more than one "resources{N}" parameter.');
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
    const { required, forbidden } = parseTraits(rootRequired[0], true, false);
    result.rootRequired = [...new Set(required.map((set) => set[0]))];
    result.rootForbidden = forbidden;
    const conflicts = result.rootRequired.filter((trait) => forbidden.includes(trait)).sort();
    if (conflicts.length > 0) {
      throw badRequest(`Conflicting required and forbidden traits found in root_required: ${conflicts.join(', ')}`, QUERYPARAM_BAD_VALUE);
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
      group = { suffix, resources: new Map(), requiredTraits: [], forbiddenTraits: [], memberOf: [], forbiddenAggregates: [] };
      bySuffix.set(suffix, group);
    }
    if (prefix === 'resources') group.resources = parseResources(values[values.length - 1]);
    else if (prefix === 'required') Object.assign(group, parseRequiredParams(values, mv));
    else if (prefix === 'member_of') Object.assign(group, parseMemberOfParams(values, suffix, mv));
    else group.inTree = parseInTree(values[values.length - 1]);
  }
  return [...bySuffix.values()];
}

const RESOURCES_FORM = 'Badly formed resources parameter. Expected resources query string parameter in form: ?resources=VCPU:2,MEMORY_MB:1024.';

/** `VCPU:2,MEMORY_MB:1024` -> amounts by class; a repeated class keeps the last amount, as Placement. */
export function parseResources(value: string): Map<string, number> {
  if (value.trim() === '') throw badRequest(`${RESOURCES_FORM} Got: empty string.`);
  const result = new Map<string, number>();
  for (const part of value.split(',')) {
    const pieces = part.split(':');
    if (pieces.length !== 2) throw badRequest(`${RESOURCES_FORM} Got: ${part}.`);
    const [name, rawAmount] = pieces;
    if (!/^\s*[+-]?\d+\s*$/.test(rawAmount)) {
      throw badRequest(`Requested resource ${name} expected positive integer amount. Got: ${rawAmount}.`);
    }
    const amount = Number(rawAmount.trim());
    if (amount < 1) throw badRequest(`Requested resource ${name} requires amount >= 1. Got: ${amount}.`);
    result.set(name, amount);
  }
  return result;
}

/** Every `required<S>` value from 1.39 (they AND together); only the last one before that. */
function parseRequiredParams(values: string[], mv: VersionGate): Pick<RequestGroup, 'requiredTraits' | 'forbiddenTraits'> {
  const allowAny = mv.has(ANY_TRAITS);
  const used = allowAny ? values : values.slice(-1);
  const requiredTraits: string[][] = [];
  const forbidden = new Set<string>();
  for (const value of used) {
    const parsed = parseTraits(value, mv.has(FORBIDDEN_TRAITS), allowAny);
    requiredTraits.push(...parsed.required);
    for (const trait of parsed.forbidden) forbidden.add(trait);
  }
  return { requiredTraits, forbiddenTraits: [...forbidden] };
}

const QS = 'Invalid query string parameters:';

/** One traits value: `A,!B` (forbidden from 1.22) or `in:A,B` (any-of, from 1.39). */
export function parseTraits(value: string, allowForbidden: boolean, allowAny: boolean): { required: string[][]; forbidden: string[] } {
  if (value.startsWith('in:')) {
    if (!allowAny) {
      throw badRequest(`${QS} The format 'in:HW_CPU_X86_VMX,CUSTOM_MAGIC' only supported since microversion 1.39. Got: ${value}`);
    }
    const anyOf = [...new Set(value.slice(3).split(',').map((part) => part.trim()))];
    if (anyOf.some((trait) => trait === '')) {
      throw badRequest(`${QS} Expected 'required' parameter value of the form: in:HW_CPU_X86_VMX,CUSTOM_MAGIC. Got an empty trait in: ${value}`);
    }
    if (anyOf.some((trait) => trait.startsWith('!'))) {
      throw badRequest(`${QS} The format 'in:HW_CPU_X86_VMX,CUSTOM_MAGIC' does not support forbidden traits. Got: ${value}`);
    }
    return { required: [anyOf], forbidden: [] };
  }
  const all = value.split(',').map((part) => part.trim());
  // Placement strips any number of leading '!' (a known quirk kept for compatibility).
  const forbidden = [...new Set(all.filter((trait) => trait.startsWith('!')).map((trait) => trait.replace(/^!+/, '')))];
  if (all.some((trait) => trait === '') || forbidden.some((trait) => trait === '')) {
    const form = allowForbidden ? 'HW_CPU_X86_VMX,!CUSTOM_MAGIC' : 'HW_CPU_X86_VMX,CUSTOM_MAGIC';
    throw badRequest(`${QS} Expected 'required' parameter value of the form: ${form}. Got an empty trait in: ${value}`);
  }
  if (forbidden.length > 0 && !allowForbidden) {
    throw badRequest(`${QS} Expected 'required' parameter value of the form: HW_CPU_X86_VMX,CUSTOM_MAGIC. Got: ${value}`);
  }
  const required = [...new Set(all.filter((trait) => !trait.startsWith('!')))].map((trait) => [trait]);
  return { required, forbidden };
}

function parseMemberOfParams(values: string[], suffix: string, mv: VersionGate): Pick<RequestGroup, 'memberOf' | 'forbiddenAggregates'> {
  if (!mv.has(MULTIPLE_MEMBER_OF) && values.length > 1) {
    throw badRequest(`Multiple member_of${suffix} parameters are not supported`);
  }
  const memberOf: string[][] = [];
  const forbidden = new Set<string>();
  for (const value of values) {
    const parsed = parseMemberOf(value);
    if (parsed.required.length > 0) memberOf.push(parsed.required);
    if (parsed.forbidden.length > 0) {
      if (!mv.has(FORBIDDEN_AGGREGATES)) {
        throw badRequest(`Forbidden member_of${suffix} parameters are not supported in the specified microversion`);
      }
      for (const uuid of parsed.forbidden) forbidden.add(uuid);
    }
  }
  return { memberOf, forbiddenAggregates: [...forbidden] };
}

/** `UUID`, `!UUID`, `in:U1,U2` or `!in:U1,U2`. */
export function parseMemberOf(value: string): { required: string[]; forbidden: string[] } {
  if (value.includes(',') && !(value.startsWith('in:') || value.startsWith('!in:'))) {
    throw badRequest(`Multiple values for 'member_of' must be prefixed with the 'in:' or '!in:' keyword using the valid microversion. Got: ${value}`);
  }
  let required: string[] = [];
  let forbidden: string[] = [];
  if (value.startsWith('!in:')) forbidden = value.slice(4).split(',');
  else if (value.startsWith('!')) forbidden = [value.slice(1)];
  else if (value.startsWith('in:')) required = value.slice(3).split(',');
  else required = [value];
  for (const uuid of [...required, ...forbidden]) {
    if (!UUID_PATTERN.test(uuid)) {
      throw badRequest(`${QS} Expected 'member_of' parameter to contain valid UUID(s). Got: ${uuid}`);
    }
  }
  return { required: [...new Set(required.map(canonicalUuid))], forbidden: [...new Set(forbidden.map(canonicalUuid))] };
}

function parseInTree(value: string): string {
  const trimmed = value.trim();
  if (!UUID_PATTERN.test(trimmed)) {
    throw badRequest(`${QS} Expected 'in_tree' parameter to be a format of uuid. Got: ${value}`);
  }
  return canonicalUuid(trimmed);
}

/** Lower-case, dashed: the form PostgreSQL prints, so lookups by text match. */
export function canonicalUuid(uuid: string): string {
  const hex = uuid.replace(/-/g, '').toLowerCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Before 1.36 every group needs resources; traits or member_of alone are "orphans". */
function checkOrphans(groups: RequestGroup[]): void {
  const orphanTraits = groups.filter((g) => g.requiredTraits.length > 0 && g.resources.size === 0).map((g) => `required${g.suffix}`);
  if (orphanTraits.length > 0) {
    throw badRequest(`All traits parameters must be associated with resources.  Found the following orphaned traits keys: ${orphanTraits.join(', ')}`);
  }
  const orphanMembers = groups
    .filter((g) => g.resources.size === 0 && (g.memberOf.length > 0 || g.forbiddenAggregates.length > 0))
    .map((g) => `member_of${g.suffix}`);
  if (orphanMembers.length > 0) {
    throw badRequest(`All member_of parameters must be associated with resources. Found the following orphaned member_of keys: ${orphanMembers.join(', ')}`);
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
    throw badRequest(`Conflicting required and forbidden traits found in the following traits keys: ${conflicts.sort().join(', ')}`);
  }
}
