import { badRequest } from '../errors/http-error';
import {
  ARBITRARY_GROUP_SUFFIX,
  CANDIDATES_IN_TREE,
  CANDIDATES_LIMIT,
  CANDIDATES_MEMBER_OF,
  CANDIDATES_REQUIRED_TRAITS,
  GRANULAR_GROUPS,
  ROOT_REQUIRED,
  SAME_SUBTREE,
} from '../microversion/versions';
import { pyRepr } from '../validation/python-repr';

/** What the parser needs to know about the request's microversion. */
export interface VersionGate {
  has(gate: string): boolean;
}

const NUMBERED_SUFFIX = '[1-9][0-9]*';
const VERBOSE_SUFFIX = '[a-zA-Z0-9_-]{1,64}';
const LIMIT_PATTERN = '^[1-9][0-9]*$';

/** The group-key patterns Placement's schema accepts at this version (1.25+), as regex source text. */
export function groupKeyPatterns(mv: VersionGate): string[] {
  const suffix = mv.has(ARBITRARY_GROUP_SUFFIX) ? VERBOSE_SUFFIX : NUMBERED_SUFFIX;
  const prefixes = ['resources', 'required', 'member_of'];
  if (mv.has(CANDIDATES_IN_TREE)) prefixes.push('in_tree');
  return prefixes.map((prefix) => `^${prefix}(${suffix})?$`);
}

/**
 * Validate the query keys as Placement's JSON schema for GET /allocation_candidates does (one schema
 * per microversion window), with python-jsonschema's wording. Placement validates `dict(req.GET)`,
 * i.e. the last value of each key; root-level problems win over per-property ones (best_match).
 */
export function validateCandidatesQuery(flat: Record<string, string>, mv: VersionGate): void {
  const keys = Object.keys(flat);
  const fixed = new Set<string>();
  let patterns: string[] = [];
  if (mv.has(GRANULAR_GROUPS)) {
    fixed.add('limit').add('group_policy');
    if (mv.has(ROOT_REQUIRED)) fixed.add('root_required');
    if (mv.has(SAME_SUBTREE)) fixed.add('same_subtree');
    patterns = groupKeyPatterns(mv);
  } else {
    fixed.add('resources');
    if (mv.has(CANDIDATES_LIMIT)) fixed.add('limit');
    if (mv.has(CANDIDATES_REQUIRED_TRAITS)) fixed.add('required');
    if (mv.has(CANDIDATES_MEMBER_OF)) fixed.add('member_of');
    if (!('resources' in flat)) fail(`'resources' is a required property`, 'required', '');
  }
  const regexes = patterns.map((source) => new RegExp(source));
  const extras = keys.filter((key) => !fixed.has(key) && !regexes.some((re) => re.test(key)));
  if (extras.length > 0) {
    const verb = extras.length === 1 ? 'was' : 'were';
    if (patterns.length > 0) {
      const joined = [...extras]
        .sort()
        .map((key) => pyRepr(key))
        .join(', ');
      const list = [...patterns]
        .sort()
        .map((p) => pyRepr(p))
        .join(', ');
      fail(
        `${joined} ${extras.length === 1 ? 'does' : 'do'} not match any of the regexes: ${list}`,
        'additionalProperties',
        '',
      );
    }
    fail(
      `Additional properties are not allowed (${extras.map((key) => pyRepr(key)).join(', ')} ${verb} unexpected)`,
      'additionalProperties',
      '',
    );
  }
  if ('limit' in flat && !new RegExp(LIMIT_PATTERN).test(flat.limit)) {
    fail(`${pyRepr(flat.limit)} does not match ${pyRepr(LIMIT_PATTERN)}`, 'pattern', "['properties']['limit']");
  }
  if ('group_policy' in flat && !['none', 'isolate'].includes(flat.group_policy)) {
    fail(`${pyRepr(flat.group_policy)} is not one of ['none', 'isolate']`, 'enum', "['properties']['group_policy']");
  }
}

/** python-jsonschema's str(ValidationError) starts with the message and names the failed keyword. */
function fail(message: string, keyword: string, where: string): never {
  throw badRequest(
    `Invalid query string parameters: ${message}\n\nFailed validating ${pyRepr(keyword)} in schema${where}`,
  );
}
