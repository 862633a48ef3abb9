import { badRequest } from '../errors/http-error';
import { UUID_PATTERN, canonicalUuid } from '../validation/validator';

/**
 * Parsers for the provider-selecting query parameters (`resources`, `required`, `member_of`), pure and
 * shared by GET /resource_providers and allocation candidates. Messages are Placement's, verbatim:
 * clients and Placement's own tests match on them.
 */

const RESOURCES_FORM =
  'Badly formed resources parameter. Expected resources query string parameter in form: ?resources=VCPU:2,MEMORY_MB:1024.';

/** `VCPU:2,MEMORY_MB:1024` -> Map(class -> amount); a class given twice keeps its last amount. */
export function parseResourcesParam(value: string): Map<string, number> {
  if (value.trim() === '') throw badRequest(`${RESOURCES_FORM} Got: empty string.`);
  const amounts = new Map<string, number>();
  for (const pair of value.split(',')) {
    const parts = pair.split(':');
    if (parts.length !== 2) throw badRequest(`${RESOURCES_FORM} Got: ${pair}.`);
    const [className, rawAmount] = parts;
    const amount = parsePythonInt(rawAmount);
    if (amount === undefined) {
      throw badRequest(`Requested resource ${className} expected positive integer amount. Got: ${rawAmount}.`);
    }
    if (amount < 1) throw badRequest(`Requested resource ${className} requires amount >= 1. Got: ${amount}.`);
    amounts.set(className, amount);
  }
  return amounts;
}

/** Python's int() on a string: surrounding whitespace, a sign and underscores between digits are fine. */
function parsePythonInt(raw: string): number | undefined {
  const text = raw.trim();
  if (!/^[+-]?\d+(_\d+)*$/.test(text)) return undefined;
  return Number(text.replace(/_/g, ''));
}

export interface TraitQuery {
  /** Each inner list is any-of; the outer list is all-of. A plain required trait is a one-element group. */
  required: string[][];
  forbidden: string[];
}

export interface TraitQueryOptions {
  /** 1.22: `!TRAIT` forbids a trait. */
  allowForbidden: boolean;
  /** 1.39: `in:A,B` asks for any of the traits, and a repeated key adds groups instead of replacing. */
  allowAnyOf: boolean;
}

/** All values of a `required` key; before 1.39 only the last one counts, as in Placement. */
export function parseTraitParams(values: string[], options: TraitQueryOptions): TraitQuery {
  const considered = options.allowAnyOf ? values : values.slice(-1);
  const result: TraitQuery = { required: [], forbidden: [] };
  for (const value of considered) {
    const parsed = parseTraitParam(value, options);
    result.required.push(...parsed.required);
    for (const trait of parsed.forbidden) if (!result.forbidden.includes(trait)) result.forbidden.push(trait);
  }
  return result;
}

export function parseTraitParam(value: string, options: TraitQueryOptions): TraitQuery {
  if (value.startsWith('in:')) return parseAnyOfTraits(value, options);
  const all = value.split(',').map((part) => part.trim());
  // Placement strips every leading '!' (so '!!FOO' forbids FOO); kept for compatibility.
  const forbidden = unique(all.filter((t) => t.startsWith('!')).map((t) => t.replace(/^!+/, '')));
  if (all.some((t) => !t) || forbidden.some((t) => !t)) {
    const form = options.allowForbidden ? 'HW_CPU_X86_VMX,!CUSTOM_MAGIC' : 'HW_CPU_X86_VMX,CUSTOM_MAGIC';
    throw badRequest(
      `Invalid query string parameters: Expected 'required' parameter value of the form: ${form}. Got an empty trait in: ${value}`,
    );
  }
  if (forbidden.length && !options.allowForbidden) {
    throw badRequest(
      `Invalid query string parameters: Expected 'required' parameter value of the form: HW_CPU_X86_VMX,CUSTOM_MAGIC. Got: ${value}`,
    );
  }
  return { required: unique(all.filter((t) => !t.startsWith('!'))).map((t) => [t]), forbidden };
}

function parseAnyOfTraits(value: string, options: TraitQueryOptions): TraitQuery {
  if (!options.allowAnyOf) {
    throw badRequest(
      `Invalid query string parameters: The format 'in:HW_CPU_X86_VMX,CUSTOM_MAGIC' only supported since microversion 1.39. Got: ${value}`,
    );
  }
  const anyOf = unique(
    value
      .slice(3)
      .split(',')
      .map((part) => part.trim()),
  );
  if (anyOf.some((t) => !t)) {
    throw badRequest(
      `Invalid query string parameters: Expected 'required' parameter value of the form: in:HW_CPU_X86_VMX,CUSTOM_MAGIC. Got an empty trait in: ${value}`,
    );
  }
  if (anyOf.some((t) => t.startsWith('!'))) {
    throw badRequest(
      `Invalid query string parameters: The format 'in:HW_CPU_X86_VMX,CUSTOM_MAGIC' does not support forbidden traits. Got: ${value}`,
    );
  }
  return { required: [anyOf], forbidden: [] };
}

export interface MemberOfQuery {
  /** Each inner list is any-of (`in:`); the outer list is all-of (repeated key, 1.24). */
  required: string[][];
  /** In none of these (1.32 `!` and `!in:`). */
  forbidden: string[];
}

export interface MemberOfOptions {
  /** 1.24: the key may repeat. */
  allowMultiple: boolean;
  /** 1.32: `!` and `!in:`. */
  allowForbidden: boolean;
  /** Request-group suffix, for the messages of granular groups. */
  suffix?: string;
}

export function parseMemberOfParams(values: string[], options: MemberOfOptions): MemberOfQuery {
  const suffix = options.suffix ?? '';
  if (!options.allowMultiple && values.length > 1)
    throw badRequest(`Multiple member_of${suffix} parameters are not supported`);
  const result: MemberOfQuery = { required: [], forbidden: [] };
  for (const value of values) {
    const { required, forbidden } = parseMemberOfParam(value);
    if (required.length) result.required.push(required);
    if (forbidden.length) {
      if (!options.allowForbidden) {
        throw badRequest(`Forbidden member_of${suffix} parameters are not supported in the specified microversion`);
      }
      for (const uuid of forbidden) if (!result.forbidden.includes(uuid)) result.forbidden.push(uuid);
    }
  }
  return result;
}

/** One value: `UUID`, `!UUID`, `in:U1,U2` or `!in:U1,U2`. Uuids come back lowercase and dashed. */
export function parseMemberOfParam(value: string): { required: string[]; forbidden: string[] } {
  const prefixed = value.startsWith('in:') || value.startsWith('!in:');
  if (value.includes(',') && !prefixed) {
    throw badRequest(
      `Multiple values for 'member_of' must be prefixed with the 'in:' or '!in:' keyword using the valid microversion. Got: ${value}`,
    );
  }
  let required: string[] = [];
  let forbidden: string[] = [];
  if (value.startsWith('!in:')) forbidden = value.slice(4).split(',');
  else if (value.startsWith('!')) forbidden = [value.slice(1)];
  else if (value.startsWith('in:')) required = value.slice(3).split(',');
  else required = [value];
  for (const uuid of [...required, ...forbidden]) {
    if (!UUID_PATTERN.test(uuid)) {
      throw badRequest(
        `Invalid query string parameters: Expected 'member_of' parameter to contain valid UUID(s). Got: ${uuid}`,
      );
    }
  }
  return { required: unique(required.map(canonicalUuid)), forbidden: unique(forbidden.map(canonicalUuid)) };
}

function unique<T>(items: T[]): T[] {
  return [...new Set(items)];
}
