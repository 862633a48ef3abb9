/**
 * Deterministic generators of hostile input for the bad-input fuzz test: a seeded PRNG, odd path
 * segments, hostile query strings, random JSON and mutations of valid JSON. No dependency: the same
 * seed gives the same requests on every run, so a failure is reproducible from its message.
 */

export type Rng = {
  next(): number;
  int(maxExclusive: number): number;
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
};

/** mulberry32: tiny, fast and good enough to spread cases. */
export function seededRng(seed: number): Rng {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (maxExclusive: number) => Math.floor(next() * maxExclusive);
  return { next, int, chance: (p) => next() < p, pick: (items) => items[int(items.length)] };
}

/** A stable 32-bit seed from text (FNV-1a), so each route has its own stream. */
export function seedFrom(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash;
}

/**
 * Numbers JSON.stringify cannot write exactly (2**53+1, 1e400, -0) travel as this marker and are
 * spliced into the body text raw.
 */
const RAW = '\u0001raw:';
export const rawNumber = (text: string) => `${RAW}${text}`;
export function toJsonText(value: unknown): string {
  return JSON.stringify(value).replace(/"\\u0001raw:([^"]*)"/g, '$1');
}

export const NO_SUCH_UUID = '00000000-0000-4000-8000-00000000dead';

/** Strings that have broken services before: empty, huge, NUL, unicode, SQL, numbers as text. */
export const HOSTILE_STRINGS: readonly string[] = [
  '',
  ' ',
  'null',
  'true',
  '0',
  '-1',
  '1.5',
  '1e308',
  '-0',
  'NaN',
  'Infinity',
  '2147483648',
  '-2147483649',
  '9223372036854775808',
  '99999999999999999999999999',
  'a'.repeat(256),
  'A'.repeat(4000),
  'ü',
  '💥',
  '名前',
  '\u0000',
  'x\u0000y',
  '\ud800',
  '\t\n',
  "'; DROP TABLE resource_providers; --",
  '%',
  '%00',
  '../..',
  'CUSTOM_',
  'CUSTOM_' + 'X'.repeat(300),
  'VCPU',
  'vcpu',
  'CUSTOM_FUZZ_RC',
  'HW_CPU_X86_AVX',
  NO_SUCH_UUID,
  NO_SUCH_UUID.toUpperCase(),
  NO_SUCH_UUID.replace(/-/g, ''),
  `{${NO_SUCH_UUID}}`,
  `urn:uuid:${NO_SUCH_UUID}`,
  'in:',
  '!',
  '!in:',
];

const HOSTILE_NUMBERS: readonly unknown[] = [
  0,
  -1,
  1.5,
  -0.5,
  2147483647,
  2147483648,
  -2147483649,
  4294967296,
  9007199254740991,
  rawNumber('9007199254740993'),
  rawNumber('1e308'),
  rawNumber('-1e308'),
  rawNumber('1e400'),
  rawNumber('-1e400'),
  rawNumber('-0'),
  rawNumber('1.0'),
  rawNumber('1e-400'),
  rawNumber('123456789012345678901234567890'),
];

/** A random JSON value, `depth` levels deep at most. */
export function randomJson(rng: Rng, depth = 3): unknown {
  const kind = rng.int(depth > 0 ? 9 : 6);
  switch (kind) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
      return rng.pick(HOSTILE_NUMBERS);
    case 3:
    case 4:
      return rng.pick(HOSTILE_STRINGS);
    case 5:
      return rng.chance(0.5) ? {} : [];
    case 6:
      return Array.from({ length: rng.int(4) }, () => randomJson(rng, depth - 1));
    default: {
      const object: Record<string, unknown> = {};
      for (let i = rng.int(4); i > 0; i--) object[rng.pick(HOSTILE_KEYS)] = randomJson(rng, depth - 1);
      return object;
    }
  }
}

const HOSTILE_KEYS: readonly string[] = [
  '',
  'name',
  'uuid',
  'total',
  'resources',
  'allocations',
  'inventories',
  'traits',
  'aggregates',
  'resource_provider_generation',
  'consumer_generation',
  'project_id',
  'user_id',
  'consumer_type',
  'VCPU',
  'CUSTOM_X',
  'extra',
  'ü',
  '__proto__',
  'constructor',
  NO_SUCH_UUID,
  'A'.repeat(300),
];

/** Nesting deeper than any schema: within the parser's depth limit (so validators walk it) or far past it. */
export function deeplyNested(rng: Rng): string {
  const depth = rng.pick([40, 99, 100, 101, 20_000]);
  if (depth > 1000) return `{"a":${'['.repeat(depth)}${']'.repeat(depth)}}`;
  let value: unknown = rng.pick(HOSTILE_STRINGS);
  for (let i = 0; i < depth; i++) value = rng.chance(0.5) ? [value] : { a: value };
  return toJsonText(value);
}

/**
 * A nested value for mutations: deep enough to trip a recursive validator, shallow enough that JSON.stringify
 * and the mutation walk can handle it (the 20,000-deep one exists only as text, from deeplyNested).
 */
function nestedValue(rng: Rng): unknown {
  let value: unknown = rng.pick(HOSTILE_STRINGS);
  for (let i = rng.pick([40, 99, 100, 101]); i > 0; i--) value = rng.chance(0.5) ? [value] : { a: value };
  return value;
}

/** An array with far more items than any request needs (still under the body limit). */
export function hugeArray(rng: Rng): unknown {
  return Array.from({ length: 150_000 }, (_, i) => (i % 1000 === 999 ? rng.pick(HOSTILE_STRINGS) : 0));
}

type Path = Array<string | number>;

/** Every location inside a JSON value, the root included. */
function locations(value: unknown, path: Path = []): Path[] {
  const found: Path[] = [path];
  if (Array.isArray(value)) value.forEach((item, i) => found.push(...locations(item, [...path, i])));
  else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) found.push(...locations(item, [...path, key]));
  }
  return found;
}

function getAt(value: unknown, path: Path): unknown {
  return path.reduce<unknown>((node, key) => (node as Record<string | number, unknown>)[key], value);
}

function setAt(root: unknown, path: Path, replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const parent = getAt(root, path.slice(0, -1)) as Record<string | number, unknown>;
  parent[path[path.length - 1]] = replacement;
  return root;
}

/** A valid body changed in 1-3 places: wrong types, nulls, huge or negative numbers, lost or extra keys. */
export function mutate(rng: Rng, valid: unknown): unknown {
  let body = JSON.parse(JSON.stringify(valid)) as unknown;
  for (let n = 1 + rng.int(3); n > 0; n--) {
    const all = locations(body);
    const path = rng.chance(0.85) && all.length > 1 ? all[1 + rng.int(all.length - 1)] : all[0];
    body = mutateAt(rng, body, path);
  }
  return body;
}

function mutateAt(rng: Rng, body: unknown, path: Path): unknown {
  const current = getAt(body, path);
  const parent = path.length ? getAt(body, path.slice(0, -1)) : undefined;
  switch (rng.int(13)) {
    case 0:
      return setAt(body, path, null);
    case 10:
      return poison(body, path, current);
    case 1:
      return setAt(body, path, rng.pick(HOSTILE_NUMBERS));
    case 2:
      return setAt(body, path, rng.pick(HOSTILE_STRINGS));
    case 3:
      return setAt(body, path, Array.isArray(current) ? {} : [current]);
    case 4:
      return setAt(body, path, rng.chance(0.5) ? {} : []);
    case 5:
      // Drop the key (or array item) altogether.
      if (Array.isArray(parent)) parent.splice(path[path.length - 1] as number, 1);
      else if (parent && typeof parent === 'object') delete (parent as Record<string, unknown>)[path[path.length - 1]];
      return body;
    case 6:
      if (current && typeof current === 'object' && !Array.isArray(current)) {
        (current as Record<string, unknown>)[rng.pick(HOSTILE_KEYS)] = randomJson(rng, 1);
        return body;
      }
      return setAt(body, path, randomJson(rng, 2));
    case 7:
      return setAt(body, path, typeof current === 'number' ? -Math.abs(current) : String(current));
    case 8:
      return setAt(body, path, rng.chance(0.2) ? nestedValue(rng) : randomJson(rng, 2));
    default:
      return setAt(
        body,
        path,
        typeof current === 'string' ? current.toUpperCase() + rng.pick(HOSTILE_STRINGS) : rng.pick(HOSTILE_NUMBERS),
      );
  }
}

/** A NUL or other control character inside an existing string or key: fine to JSON, not to PostgreSQL text. */
function poison(body: unknown, path: Path, current: unknown): unknown {
  if (typeof current === 'string') return setAt(body, path, `${current}\u0000`);
  const parent = path.length ? getAt(body, path.slice(0, -1)) : undefined;
  const key = path[path.length - 1];
  if (parent && typeof parent === 'object' && !Array.isArray(parent) && typeof key === 'string') {
    delete (parent as Record<string, unknown>)[key];
    (parent as Record<string, unknown>)[`${key}\u0000`] = current;
    return body;
  }
  return setAt(body, path, 'nul\u0000');
}

/** Bad path segments, already percent-encoded where they need to be; `real` are values that exist. */
export function hostileSegment(rng: Rng, real: readonly string[], realShare = 0.3): string {
  if (rng.chance(realShare)) return encodeURIComponent(rng.pick(real));
  const encodedJunk = ['%', '%zz', '%00', '%C0%AF', '%2F', '%2e%2e', '%FF%FE', '%E2%82', '%20', '+', '%25'];
  const r = rng.int(7);
  if (r === 0) return rng.chance(0.5) ? rng.pick(encodedJunk) : `${encodeURIComponent(rng.pick(real))}%00`;
  if (r === 1) {
    const value = rng.pick(real);
    const odd = [
      value.toUpperCase(),
      value.toLowerCase(),
      value.replace(/-/g, ''),
      `${value} `,
      `in:${value}`,
      `!${value}`,
    ];
    return encodeURIComponent(rng.pick(odd));
  }
  return encodeURIComponent(
    rng.pick(HOSTILE_STRINGS.filter((s) => s !== '' && s !== '../..' && !s.includes('\ud800'))),
  );
}

const PREFIXED = (value: string) => [
  value,
  `in:${value}`,
  `!${value}`,
  `!in:${value}`,
  `in:${value},${value}`,
  `${value},`,
  `,${value}`,
];

/**
 * A hostile query string: valid keys with bad values, repeated keys, unknown keys, prefixes in the
 * wrong places, huge and negative numbers. `values` are plausible values (real names and uuids).
 */
export function hostileQuery(rng: Rng, keys: readonly string[], values: readonly string[]): string {
  const allKeys = [
    ...keys,
    ...keys,
    'resources1',
    'required1',
    'member_of1',
    'resources_A',
    'limit',
    'group_policy',
    'in_tree',
    'root_required',
    'same_subtree',
    'foo',
    'ü',
    '',
    '__proto__',
    'resources' + 'x'.repeat(70),
    'required_' + '-'.repeat(64),
  ];
  const parts: string[] = [];
  for (let n = 1 + rng.int(4); n > 0; n--) {
    const key = rng.pick(allKeys);
    const base = rng.chance(0.5) ? rng.pick(values) : rng.pick(HOSTILE_STRINGS.filter((s) => !s.includes('\ud800')));
    const prefixed = rng.chance(0.4) ? rng.pick(PREFIXED(base)) : base;
    const value = rng.chance(0.04) ? `${prefixed}\u0000` : prefixed;
    const repeat = rng.chance(0.15) ? 2 : 1;
    for (let i = 0; i < repeat; i++)
      parts.push(rng.chance(0.05) ? key : `${encodeURIComponent(key)}=${encodeURIComponent(value)}`);
  }
  if (rng.chance(0.05)) parts.push(rng.pick(['%zz=1', '=', '&&', 'a=%', 'limit=%00']));
  return parts.join('&');
}
