import type { HttpMethod } from '../../src/http/route-table';
import { ROUTES } from '../../src/routes';
import {
  NO_SUCH_UUID,
  deeplyNested,
  hugeArray,
  hostileQuery,
  hostileSegment,
  mutate,
  randomJson,
  seedFrom,
  seededRng,
  toJsonText,
  type Rng,
} from '../helpers/fuzz';
import { startTestServer, type ApiResponse, type TestServer } from '../helpers/server';

/**
 * "Bad input gets a clear 4xx in Placement's error format, never a 500, and loses nothing", checked
 * mechanically: every method of every route in the route table, at a spread of microversions, gets
 * seeded pseudo-random bad paths, queries and bodies (many of them mutations of a valid body, so the
 * input gets past the schema into the repos). Each rejected request must leave the database as it was.
 */

const VERSIONS = ['1.0', '1.12', '1.20', '1.28', '1.38', '1.39', 'latest'] as const;
const CASES_PER_METHOD = 120;

// The world, with fixed uuids so every run sends the same requests.
const ROOT = '7b3c4f1e-0c2a-4a3b-9d1e-000000000001';
const CHILD = '7b3c4f1e-0c2a-4a3b-9d1e-000000000002';
const CONSUMER = '7b3c4f1e-0c2a-4a3b-9d1e-0000000000c1';
const OTHER_CONSUMER = '7b3c4f1e-0c2a-4a3b-9d1e-0000000000c2';
const AGGREGATE = '7b3c4f1e-0c2a-4a3b-9d1e-0000000000a1';
const CUSTOM_RC = 'CUSTOM_FUZZ_RC';
const CUSTOM_TRAIT = 'CUSTOM_FUZZ_TRAIT';
const PROJECT = 'fuzz-project';
const USER = 'fuzz-user';

interface World {
  rootGeneration: number;
  childGeneration: number;
  consumerGeneration: number;
}

let api: TestServer;
let world: World;
let baseline: Record<string, string>;
let resets = 0;
let requests = 0;
const statuses = new Map<string, Map<number, number>>();
const started = Date.now();

beforeAll(async () => {
  api = await startTestServer();
  world = await buildWorld();
  baseline = await snapshot();
});
afterAll(async () => {
  // EMPLACE_FUZZ_STATS=1 prints the size, time and status spread per method (to tune the generators).
  if (process.env.EMPLACE_FUZZ_STATS) {
    const perMethod = [...statuses].map(
      ([route, counts]) =>
        `${route}: ${[...counts]
          .sort()
          .map(([s, n]) => `${s}x${n}`)
          .join(' ')}`,
    );

    console.log(
      [
        `bad-input fuzz: ${requests} requests, ${resets} world rebuilds, ${((Date.now() - started) / 1000).toFixed(1)} s`,
        ...perMethod,
      ].join('\n'),
    );
  }
  await api.close();
});

/** Real rows for the fuzz to hit: nested providers with inventory, traits, an aggregate, a consumer with allocations. */
async function buildWorld(): Promise<World> {
  const at = api.at('latest');
  const must = (res: ApiResponse, what: string) => {
    if (res.status >= 300) throw new Error(`${what}: ${res.status} ${res.text}`);
    return res;
  };
  must(await at.put(`/resource_classes/${CUSTOM_RC}`), 'custom class');
  must(await at.put(`/traits/${CUSTOM_TRAIT}`), 'custom trait');
  must(await at.post('/resource_providers', { name: 'fuzz-root', uuid: ROOT }), 'root');
  must(await at.post('/resource_providers', { name: 'fuzz-child', uuid: CHILD, parent_provider_uuid: ROOT }), 'child');
  must(
    await at.put(`/resource_providers/${ROOT}/inventories`, {
      resource_provider_generation: 0,
      inventories: { VCPU: { total: 8 }, MEMORY_MB: { total: 4096, max_unit: 4096 }, [CUSTOM_RC]: { total: 10 } },
    }),
    'root inventory',
  );
  must(
    await at.put(`/resource_providers/${CHILD}/inventories`, {
      resource_provider_generation: 0,
      inventories: { DISK_GB: { total: 100 } },
    }),
    'child inventory',
  );
  must(
    await at.put(`/resource_providers/${ROOT}/traits`, {
      resource_provider_generation: 1,
      traits: [CUSTOM_TRAIT, 'HW_CPU_X86_AVX'],
    }),
    'traits',
  );
  must(
    await at.put(`/resource_providers/${ROOT}/aggregates`, {
      resource_provider_generation: 2,
      aggregates: [AGGREGATE],
    }),
    'aggregates',
  );
  must(
    await at.put(`/allocations/${CONSUMER}`, {
      allocations: { [ROOT]: { resources: { VCPU: 2, MEMORY_MB: 512 } }, [CHILD]: { resources: { DISK_GB: 10 } } },
      project_id: PROJECT,
      user_id: USER,
      consumer_generation: null,
      consumer_type: 'INSTANCE',
    }),
    'allocations',
  );
  const root = must(await at.get(`/resource_providers/${ROOT}`), 'read root').body;
  const child = must(await at.get(`/resource_providers/${CHILD}`), 'read child').body;
  const consumer = must(await at.get(`/allocations/${CONSUMER}`), 'read consumer').body;
  return {
    rootGeneration: root.generation,
    childGeneration: child.generation,
    consumerGeneration: consumer.consumer_generation,
  };
}

/** Start again from the same world after a request that legitimately changed it. */
async function rebuildWorld(): Promise<void> {
  resets++;
  // TRUNCATE fires no row triggers, so the usage totals (migration 1400) go with the allocations.
  await api.database.db.raw(`
    TRUNCATE allocations, provider_usages, consumers, projects, users, consumer_types, inventories,
             resource_provider_traits, resource_provider_aggregates, placement_aggregates, emplace_heartbeats,
             resource_providers;
    DELETE FROM traits WHERE name LIKE 'CUSTOM\\_%';
    DELETE FROM resource_classes WHERE id >= 10000;`);
  world = await buildWorld();
  baseline = await snapshot();
}

/** One digest per table: everything a rejected request must leave alone. */
async function snapshot(): Promise<Record<string, string>> {
  const tables: Record<string, string> = {
    projects: 'projects',
    users: 'users',
    consumer_types: 'consumer_types',
    providers: 'resource_providers',
    inventories: 'inventories',
    allocations: 'allocations',
    usage_totals: 'provider_usages',
    consumers: 'consumers',
    traits: 'traits',
    provider_traits: 'resource_provider_traits',
    aggregates: 'placement_aggregates',
    provider_aggregates: 'resource_provider_aggregates',
    resource_classes: 'resource_classes',
    heartbeats: 'emplace_heartbeats',
  };
  const columns = Object.entries(tables)
    .map(
      ([label, table]) =>
        `(SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM ${table} t) AS ${label}`,
    )
    .join(', ');
  const result = await api.database.db.raw(`SELECT ${columns}`);
  return result.rows[0];
}

function changedTables(before: Record<string, string>, after: Record<string, string>): string[] {
  return Object.keys(before).filter((table) => before[table] !== after[table]);
}

// --- valid inputs per route, so mutations reach deep validation and the repos -----------------------

const numeric = (version: string) => (version === 'latest' ? 39 : Number(version.split('.')[1]));

function generationFor(uuidSegment: string): number {
  return uuidSegment === CHILD ? world.childGeneration : world.rootGeneration;
}

function allocationEntry(v: number, provider = ROOT): Record<string, unknown> {
  const entry: Record<string, unknown> = {
    allocations: { [provider]: { resources: { VCPU: 1, [CUSTOM_RC]: 1 } } },
    project_id: PROJECT,
    user_id: USER,
  };
  if (v >= 28) entry.consumer_generation = world.consumerGeneration;
  if (v >= 34) entry.mappings = { '': [provider] };
  if (v >= 38) entry.consumer_type = 'INSTANCE';
  return entry;
}

function validBody(route: string, method: HttpMethod, version: string, params: Record<string, string>): unknown {
  const v = numeric(version);
  const generation = generationFor(params.uuid ?? '');
  const inventory = { total: 16, reserved: 1, min_unit: 1, max_unit: 8, step_size: 1, allocation_ratio: 2.0 };
  switch (`${method} ${route}`) {
    case 'POST /resource_providers':
      return {
        name: 'fuzz-new',
        uuid: '7b3c4f1e-0c2a-4a3b-9d1e-0000000000f1',
        ...(v >= 14 ? { parent_provider_uuid: ROOT } : {}),
      };
    case 'PUT /resource_providers/{uuid}':
      return { name: 'fuzz-renamed', ...(v >= 14 ? { parent_provider_uuid: null } : {}) };
    case 'POST /resource_providers/{uuid}/inventories':
      return { resource_class: 'DISK_GB', resource_provider_generation: generation, ...inventory };
    case 'PUT /resource_providers/{uuid}/inventories':
      return { resource_provider_generation: generation, inventories: { VCPU: inventory, [CUSTOM_RC]: { total: 10 } } };
    case 'PUT /resource_providers/{uuid}/inventories/{resource_class}':
      return { resource_provider_generation: generation, ...inventory };
    case 'PUT /resource_providers/{uuid}/aggregates':
      return v >= 19
        ? { resource_provider_generation: generation, aggregates: [AGGREGATE, NO_SUCH_UUID] }
        : [AGGREGATE, NO_SUCH_UUID];
    case 'PUT /resource_providers/{uuid}/traits':
      return { resource_provider_generation: generation, traits: [CUSTOM_TRAIT, 'HW_CPU_X86_SSE'] };
    case 'POST /resource_classes':
    case 'PUT /resource_classes/{name}':
      return { name: 'CUSTOM_FUZZ_OTHER' };
    case 'POST /allocations':
      return {
        [CONSUMER]: allocationEntry(v),
        [OTHER_CONSUMER]: { ...allocationEntry(v, CHILD), consumer_generation: null },
      };
    case 'PUT /allocations/{consumer_uuid}': {
      if (v < 12) {
        const body: Record<string, unknown> = {
          allocations: [{ resource_provider: { uuid: ROOT }, resources: { VCPU: 1 } }],
        };
        return v >= 8 ? { ...body, project_id: PROJECT, user_id: USER } : body;
      }
      return allocationEntry(v);
    }
    case 'POST /reshaper':
      return {
        inventories: {
          [ROOT]: {
            resource_provider_generation: world.rootGeneration,
            inventories: { VCPU: inventory, MEMORY_MB: { total: 4096, max_unit: 4096 } },
          },
        },
        allocations: { [CONSUMER]: allocationEntry(v) },
      };
    default:
      return {};
  }
}

/** Query keys each GET understands, and values that exist, so hostile queries mix real and bad. */
const QUERY_KEYS: Record<string, readonly string[]> = {
  '/resource_providers': ['name', 'uuid', 'member_of', 'resources', 'in_tree', 'required'],
  '/allocation_candidates': [
    'resources',
    'required',
    'member_of',
    'limit',
    'group_policy',
    'in_tree',
    'root_required',
    'same_subtree',
    'resources1',
    'required1',
    'member_of1',
    'in_tree1',
  ],
  '/usages': ['project_id', 'user_id', 'consumer_type'],
  '/traits': ['name', 'associated'],
};
const QUERY_VALUES = [
  'VCPU:1',
  'VCPU:1,MEMORY_MB:512',
  `${CUSTOM_RC}:1`,
  CUSTOM_TRAIT,
  `!${CUSTOM_TRAIT}`,
  `in:${CUSTOM_TRAIT},HW_CPU_X86_AVX`,
  AGGREGATE,
  `in:${AGGREGATE}`,
  ROOT,
  CHILD,
  'fuzz-root',
  PROJECT,
  USER,
  'INSTANCE',
  'all',
  'unknown',
  'true',
  'false',
  'none',
  'isolate',
  '1',
  '10',
  '',
  '1,2',
  'VCPU:0',
  'VCPU:-1',
  'VCPU:2147483648',
  'VCPU:1e3',
  '_1',
  '1.5',
  '-5',
];
const VALID_QUERIES: Record<string, string> = {
  '/resource_providers': `resources=VCPU:1&required=${CUSTOM_TRAIT}&member_of=in:${AGGREGATE}&in_tree=${ROOT}`,
  '/allocation_candidates': `resources=VCPU:1&required=${CUSTOM_TRAIT}&member_of=${AGGREGATE}&limit=5&resources1=DISK_GB:1&group_policy=none`,
  '/usages': `project_id=${PROJECT}&user_id=${USER}&consumer_type=INSTANCE`,
  '/traits': `name=in:${CUSTOM_TRAIT}&associated=true`,
};

const REAL_PARAMS: Record<string, readonly string[]> = {
  uuid: [ROOT, CHILD],
  consumer_uuid: [CONSUMER],
  resource_class: ['VCPU', CUSTOM_RC, 'DISK_GB'],
};

function realParams(route: string, name: string): readonly string[] {
  if (name === 'name') return route.startsWith('/traits') ? [CUSTOM_TRAIT, 'HW_CPU_X86_AVX'] : [CUSTOM_RC, 'VCPU'];
  return REAL_PARAMS[name] ?? [ROOT];
}

// --- one request -----------------------------------------------------------------------------------

interface FuzzRequest {
  method: HttpMethod;
  path: string;
  version: string;
  body?: string;
  contentType?: string;
}

function buildRequest(rng: Rng, route: string, method: HttpMethod, takesBody: boolean, since?: string): FuzzRequest {
  // Mostly versions where the method exists, so cases get past the 404/405 of an early version.
  const inWindow = VERSIONS.filter((version) => !since || numeric(version) >= numeric(since));
  const version = rng.chance(0.85) ? rng.pick(inWindow) : rng.pick(VERSIONS);
  const params: Record<string, string> = {};
  const path = route.replace(/\{(\w+)\}/g, (_m, name: string) => {
    // Bodies of writes get past the path more often, so their mutations reach the repos.
    const segment = hostileSegment(rng, realParams(route, name), takesBody ? 0.6 : 0.3);
    params[name] = decodeURIComponentSafe(segment);
    return segment;
  });
  const query = buildQuery(rng, route);
  const request: FuzzRequest = { method, path: query ? `${path}?${query}` : path, version };
  // fetch cannot send a GET body; other methods sometimes get one they do not expect.
  if (takesBody || (method !== 'GET' && rng.chance(0.1)))
    Object.assign(request, buildBody(rng, route, method, version, params));
  return request;
}

function decodeURIComponentSafe(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function buildQuery(rng: Rng, route: string): string {
  const keys = QUERY_KEYS[route] ?? [];
  if (!keys.length && rng.chance(0.7)) return '';
  if (VALID_QUERIES[route] && rng.chance(0.5)) {
    // A valid query with one or two values made bad: deep in the parser, not at its first check.
    const parts = VALID_QUERIES[route].split('&');
    for (let n = 1 + rng.int(2); n > 0; n--) {
      const i = rng.int(parts.length + 1);
      const replacement = hostileQuery(rng, [parts[i % parts.length].split('=')[0]], QUERY_VALUES);
      if (i === parts.length) parts.push(replacement);
      else parts[i] = replacement;
    }
    return parts.join('&');
  }
  return hostileQuery(rng, keys, QUERY_VALUES);
}

function buildBody(
  rng: Rng,
  route: string,
  method: HttpMethod,
  version: string,
  params: Record<string, string>,
): Pick<FuzzRequest, 'body' | 'contentType'> {
  const r = rng.int(20);
  if (r === 0)
    return {
      body: rng.pick(['{', '{"a":}', 'nul', '[1,]', '"\\x"', '\u0000', '{"a":1}{}', '1e', '']),
      contentType: 'application/json',
    };
  if (r === 1)
    return {
      body: '{}',
      contentType: rng.pick(['text/plain', 'application/json-patch+json', 'application/jsonx', '']),
    };
  if (r === 2)
    return { body: rng.chance(0.7) ? deeplyNested(rng) : toJsonText(hugeArray(rng)), contentType: 'application/json' };
  if (r < 6) return { body: toJsonText(randomJson(rng, 3)), contentType: 'application/json' };
  return { body: toJsonText(mutate(rng, validBody(route, method, version, params))), contentType: 'application/json' };
}

async function send(request: FuzzRequest): Promise<ApiResponse> {
  requests++;
  const headers: Record<string, string> = {};
  if (request.contentType) headers['content-type'] = request.contentType;
  // The reshaper is the service's alone; the admin token passes every other policy.
  if (request.path.startsWith('/reshaper')) headers['x-roles'] = 'service';
  return api.request(request.method, request.path, { version: request.version, headers, rawBody: request.body });
}

/** What is wrong with a response, or undefined when it is a proper answer. */
function problemWith(request: FuzzRequest, res: ApiResponse): string | undefined {
  if (res.status >= 500) return `status ${res.status}`;
  if (res.status < 400) return undefined;
  const entry = res.body?.errors?.[0];
  if (!res.headers.get('content-type')?.startsWith('application/json') || !entry || res.body.errors.length !== 1)
    return 'not a Placement error body';
  if (entry.status !== res.status || typeof entry.title !== 'string' || typeof entry.detail !== 'string')
    return 'error entry lacks status/title/detail';
  if (typeof entry.request_id !== 'string' || !entry.request_id.startsWith('req-'))
    return 'error entry lacks request_id';
  const wantsCode = request.version === 'latest' || numeric(request.version) >= 23;
  if (wantsCode && !(typeof entry.code === 'string' && entry.code.startsWith('placement.')))
    return 'error entry lacks code (1.23+)';
  if (!wantsCode && 'code' in entry) return 'error entry has code before 1.23';
  return undefined;
}

function describeFailure(request: FuzzRequest, res: ApiResponse, problem: string): string {
  const body =
    request.body === undefined ? '' : `\n  content-type: ${request.contentType}\n  body: ${request.body.slice(0, 600)}`;
  return `${problem}: ${request.method} ${request.path.slice(0, 400)} @ ${request.version}${body}\n  -> ${res.status} ${res.text.slice(0, 400)}`;
}

const METHODS = Object.entries(ROUTES).flatMap(([route, methods]) =>
  (Object.entries(methods) as Array<[HttpMethod, NonNullable<(typeof methods)[HttpMethod]>]>).map(([method, spec]) => ({
    route,
    method,
    takesBody: Boolean(spec.takesBody),
    since: spec.since,
  })),
);

describe('bad input never causes a 500 and is rejected without writing', () => {
  it('covers every route and method in the route table', () => {
    expect(METHODS.length).toBeGreaterThan(30);
  });

  it.each(METHODS)('$method $route', async ({ route, method, takesBody, since }) => {
    const rng = seededRng(seedFrom(`${method} ${route}`));
    const failures: string[] = [];
    for (let i = 0; i < CASES_PER_METHOD; i++) {
      const request = buildRequest(rng, route, method, takesBody, since);
      const res = await send(request);
      const counts = statuses.get(`${method} ${route}`) ?? new Map<number, number>();
      statuses.set(`${method} ${route}`, counts.set(res.status, (counts.get(res.status) ?? 0) + 1));
      const problem = problemWith(request, res);
      if (problem) failures.push(describeFailure(request, res, problem));
      const after = await snapshot();
      const changed = changedTables(baseline, after);
      if (changed.length === 0) continue;
      // A request that succeeded may change the world; a rejected (or failed) one may not.
      if (res.status >= 400)
        failures.push(describeFailure(request, res, `rejected request changed ${changed.join(', ')}`));
      // An accepted heartbeat touches nothing the other routes read: keep the world, not a rebuild per beat.
      else if (changed.every((table) => table === 'heartbeats')) {
        baseline = after;
        continue;
      }
      await rebuildWorld();
    }
    expect(failures.slice(0, 10).join('\n\n')).toBe('');
  });
});
