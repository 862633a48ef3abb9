/**
 * oslo.policy check strings: `@` (always), `!` (never), `role:X`, `rule:name`, any other `key:value`
 * (a credential compared with a literal or a `%(target)s` value), combined with `not`, `and`, `or`
 * (tightest first) and parentheses. An empty string allows, as in oslo.policy.
 */

export type Check =
  | { kind: 'true' }
  | { kind: 'false' }
  | { kind: 'not'; check: Check }
  | { kind: 'and' | 'or'; checks: Check[] }
  | { kind: 'role'; match: string }
  | { kind: 'rule'; name: string }
  | { kind: 'generic'; key: string; match: string };

export type Credentials = Record<string, unknown>;
export type Target = Record<string, unknown>;

export interface EvalContext {
  credentials: Credentials;
  target: Target;
  /** The parsed rule for `rule:name`, undefined when there is none (which denies). */
  rule: (name: string) => Check | undefined;
}

export class CheckStringError extends Error {}

const KEYWORDS = new Set(['and', 'or', 'not']);

function tokenize(text: string): string[] {
  const tokens: string[] = [];
  for (const word of text.split(/\s+/).filter(Boolean)) {
    // Parentheses may touch their operands: `(role:a` or `role:b))`.
    const open = /^\(*/.exec(word)![0].length;
    const rest = word.slice(open);
    const close = /\)*$/.exec(rest)![0].length;
    tokens.push(
      ...'('.repeat(open),
      ...(rest.length > close ? [rest.slice(0, rest.length - close)] : []),
      ...')'.repeat(close),
    );
  }
  return tokens.map((token) => (KEYWORDS.has(token.toLowerCase()) ? token.toLowerCase() : token));
}

/** Parse a check string; throws CheckStringError naming the problem. */
export function parseCheck(text: string): Check {
  const tokens = tokenize(text);
  if (tokens.length === 0) return { kind: 'true' };
  let pos = 0;
  const fail = (why: string): never => {
    throw new CheckStringError(`invalid check string '${text}': ${why}`);
  };
  const binary = (op: 'and' | 'or', operand: () => Check) => (): Check => {
    const checks = [operand()];
    while (tokens[pos] === op) {
      pos += 1;
      checks.push(operand());
    }
    return checks.length === 1 ? checks[0] : { kind: op, checks };
  };
  const primary = (): Check => {
    const token = tokens[pos++];
    if (token === undefined) return fail('unexpected end');
    if (token === 'not') return { kind: 'not', check: primary() };
    if (token === '(') {
      const inner = orExpr();
      if (tokens[pos++] !== ')') fail('missing )');
      return inner;
    }
    return atom(token) ?? fail(`unexpected '${token}'`);
  };
  const andExpr = binary('and', primary);
  const orExpr = binary('or', andExpr);
  const result = orExpr();
  if (pos < tokens.length) fail(`unexpected '${tokens[pos]}'`);
  return result;
}

function atom(token: string): Check | undefined {
  if (token === '@') return { kind: 'true' };
  if (token === '!') return { kind: 'false' };
  if (token === ')' || KEYWORDS.has(token)) return undefined;
  const colon = token.indexOf(':');
  if (colon <= 0 || colon === token.length - 1) return undefined;
  const key = token.slice(0, colon);
  const match = token.slice(colon + 1);
  if (key === 'role') return { kind: 'role', match };
  if (key === 'rule') return { kind: 'rule', name: match };
  // oslo's http: check calls out to a server; Emplace never makes network calls to authorize.
  if (key === 'http' || key === 'https') return undefined;
  return { kind: 'generic', key, match };
}

/** A value as Python's str() writes it, since rules compare text (`True`, not `true`). */
function text(value: unknown): string {
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  return String(value);
}

/** `%(name)s` from the target, as Python's % does; undefined when a name is missing. */
function substitute(match: string, target: Target): string | undefined {
  let missing = false;
  const value = match.replace(/%\((\w+)\)s/g, (_whole, name: string) => {
    const found = target[name];
    if (found === undefined || found === null) missing = true;
    return text(found);
  });
  return missing ? undefined : value;
}

/** A quoted string or True/False on the left of `:` compares with the literal, as oslo's literal_eval. */
function literal(key: string): string | undefined {
  const quoted = /^(['"])(.*)\1$/.exec(key);
  if (quoted) return quoted[2];
  return key === 'True' || key === 'False' ? key : undefined;
}

function credential(credentials: Credentials, path: string): unknown {
  let value: unknown = credentials;
  for (const segment of path.split('.')) {
    if (value === null || typeof value !== 'object' || !(segment in value)) return undefined;
    value = (value as Record<string, unknown>)[segment];
  }
  return value;
}

const MAX_RULE_DEPTH = 32;

export function evaluate(check: Check, context: EvalContext, depth = 0): boolean {
  switch (check.kind) {
    case 'true':
      return true;
    case 'false':
      return false;
    case 'not':
      return !evaluate(check.check, context, depth);
    case 'and':
      return check.checks.every((inner) => evaluate(inner, context, depth));
    case 'or':
      return check.checks.some((inner) => evaluate(inner, context, depth));
    case 'role': {
      const role = substitute(check.match, context.target)?.toLowerCase();
      const roles = context.credentials.roles;
      return role !== undefined && Array.isArray(roles) && roles.some((r) => String(r).toLowerCase() === role);
    }
    case 'rule': {
      const rule = context.rule(check.name);
      // A rule that refers to itself, directly or not, denies rather than loops.
      return rule !== undefined && depth < MAX_RULE_DEPTH && evaluate(rule, context, depth + 1);
    }
    case 'generic': {
      const match = substitute(check.match, context.target);
      if (match === undefined) return false;
      const fixed = literal(check.key);
      if (fixed !== undefined) return match === fixed;
      const value = credential(context.credentials, check.key);
      if (Array.isArray(value)) return value.map(text).includes(match);
      return value !== undefined && value !== null && text(value) === match;
    }
  }
}
