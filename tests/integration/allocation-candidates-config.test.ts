import { startAppInstance, type AppInstance } from '../helpers/server';
import { seedInventory, seedProvider, type SeedProvider } from '../helpers/seed';
import { startTestServer, type TestServer, type VersionedClient } from '../helpers/server';

/**
 * The three knobs of GET /allocation_candidates (Placement's max_allocation_candidates,
 * randomize_allocation_candidates and allocation_candidates_generation_strategy), each through its own
 * service instance over one shared world: four compute nodes a..d (created in that order), each with
 * two NUMA children a0/a1 .. d0/d1. Every NUMA child has VCPU except d1, so `resources=VCPU:1` has seven
 * candidates, two per root except d's one.
 */
let api: TestServer;
const p: Record<string, SeedProvider> = {};
const instances: AppInstance[] = [];

const VCPU = '/allocation_candidates?resources=VCPU:1';
/** Depth-first: every candidate of a root before the next root's (roots in creation order). */
const DEPTH_FIRST = ['a0', 'a1', 'b0', 'b1', 'c0', 'c1', 'd0'];
/** Breadth-first: the first candidate of each root, then the second of each root that has one left. */
const BREADTH_FIRST = ['a0', 'b0', 'c0', 'd0', 'a1', 'b1', 'c1'];

beforeAll(async () => {
  api = await startTestServer();
  const db = api.database.db;
  for (const root of ['a', 'b', 'c', 'd']) p[root] = await seedProvider(db, { name: root });
  for (const root of ['a', 'b', 'c', 'd']) {
    for (const numa of ['0', '1']) {
      p[root + numa] = await seedProvider(db, { name: root + numa, parent: p[root] });
      if (root + numa !== 'd1') await seedInventory(db, p[root + numa], { VCPU: 4 });
    }
  }
});
afterAll(async () => {
  for (const instance of instances) await instance.close();
  await api.close();
});

/** Another service process over the same database, configured by environment as an operator would. */
async function serviceWith(env: Record<string, string>): Promise<AppInstance> {
  const instance = await startAppInstance(api.database, env, 2);
  instances.push(instance);
  return instance;
}

const nameOf = (uuid: string) => Object.keys(p).find((name) => p[name].uuid === uuid) ?? uuid;

type Service = { at(version: string): VersionedClient };

/** The response body, after checking the status. */
async function listCandidates(service: Service, path: string): Promise<any> {
  const res = await service.at('1.39').get(path);
  expect(res.status).toBe(200);
  return res.body;
}

/** Each allocation request as the names of the providers it allocates from, in response order. */
async function candidates(service: Service, path: string): Promise<string[]> {
  const body = await listCandidates(service, path);
  return body.allocation_requests.map((r: any) => Object.keys(r.allocations).map(nameOf).sort().join('+'));
}

/** Each allocation request of a two-group query as "<group 1 provider>/<group 2 provider>". */
async function pairs(service: Service, path: string): Promise<string[]> {
  const body = await listCandidates(service, path);
  return body.allocation_requests.map((r: any) => `${nameOf(r.mappings['1'][0])}/${nameOf(r.mappings['2'][0])}`);
}

const sorted = (names: string[]) => [...names].sort();
const rootsOf = (names: string[]) => [...new Set(names.map((name) => name[0]))].sort();
/** Trees named in provider_summaries: with a limit or a cap, only those of the returned candidates. */
const summarisedRoots = (body: any) => rootsOf(Object.keys(body.provider_summaries).map(nameOf));

describe('the default configuration (depth-first, no cap, no randomisation)', () => {
  it('lists every candidate of one root before the next root, in the same order on every call', async () => {
    const first = await candidates(api, VCPU);
    expect(first).toEqual(DEPTH_FIRST);
    for (let i = 0; i < 3; i++) expect(await candidates(api, VCPU)).toEqual(first);
  });

  it('a limit keeps the first candidates of that order, and summaries of their trees only', async () => {
    const body = await listCandidates(api, `${VCPU}&limit=3`);
    expect(body.allocation_requests.map((r: any) => nameOf(Object.keys(r.allocations)[0]))).toEqual(['a0', 'a1', 'b0']);
    expect(summarisedRoots(body)).toEqual(['a', 'b']);
  });
});

describe('EMPLACE_CANDIDATES_STRATEGY=breadth-first', () => {
  let service: AppInstance;
  beforeAll(async () => {
    service = await serviceWith({ EMPLACE_CANDIDATES_STRATEGY: 'breadth-first' });
  });

  it('takes one candidate from each root in turn, dropping roots that have run out, the same on every call', async () => {
    const first = await candidates(service, VCPU);
    expect(first).toEqual(BREADTH_FIRST);
    for (let i = 0; i < 3; i++) expect(await candidates(service, VCPU)).toEqual(first);
  });

  it('a limit keeps one candidate from each of the first roots', async () => {
    expect(await candidates(service, `${VCPU}&limit=4`)).toEqual(['a0', 'b0', 'c0', 'd0']);
  });

  it('interleaves multi-group candidates the same way and skips a root with no candidate at all', async () => {
    const query = '/allocation_candidates?resources1=VCPU:1&resources2=VCPU:1&group_policy=isolate';
    // d has one NUMA node with VCPU, so isolated groups never fit there.
    expect(await pairs(api, query)).toEqual(['a0/a1', 'a1/a0', 'b0/b1', 'b1/b0', 'c0/c1', 'c1/c0']);
    expect(await pairs(service, query)).toEqual(['a0/a1', 'b0/b1', 'c0/c1', 'a1/a0', 'b1/b0', 'c1/c0']);
  });
});

describe('EMPLACE_MAX_ALLOCATION_CANDIDATES', () => {
  it('depth-first, stops after that many candidates, which may all come from the first roots', async () => {
    const service = await serviceWith({ EMPLACE_MAX_ALLOCATION_CANDIDATES: '3' });
    const body = await listCandidates(service, VCPU);
    expect(body.allocation_requests.map((r: any) => nameOf(Object.keys(r.allocations)[0]))).toEqual(['a0', 'a1', 'b0']);
    expect(summarisedRoots(body)).toEqual(['a', 'b']);
  });

  it('breadth-first, spreads the capped candidates over the roots', async () => {
    const service = await serviceWith({
      EMPLACE_MAX_ALLOCATION_CANDIDATES: '3',
      EMPLACE_CANDIDATES_STRATEGY: 'breadth-first',
    });
    const body = await listCandidates(service, VCPU);
    expect(body.allocation_requests.map((r: any) => nameOf(Object.keys(r.allocations)[0]))).toEqual(['a0', 'b0', 'c0']);
    expect(summarisedRoots(body)).toEqual(['a', 'b', 'c']);
  });

  it('with a limit, the smaller of the two wins', async () => {
    const service = await serviceWith({ EMPLACE_MAX_ALLOCATION_CANDIDATES: '3' });
    expect(await candidates(service, `${VCPU}&limit=2`)).toEqual(['a0', 'a1']);
    expect(await candidates(service, `${VCPU}&limit=5`)).toEqual(['a0', 'a1', 'b0']);
  });

  it('-1 and a cap above the number of candidates leave the answer whole', async () => {
    for (const cap of ['-1', '7', '100']) {
      const service = await serviceWith({ EMPLACE_MAX_ALLOCATION_CANDIDATES: cap });
      expect(await candidates(service, VCPU)).toEqual(DEPTH_FIRST);
    }
  });

  it('0 means no candidates (Placement checks its cap only after adding one, and so returns one)', async () => {
    const service = await serviceWith({ EMPLACE_MAX_ALLOCATION_CANDIDATES: '0' });
    const body = await listCandidates(service, VCPU);
    expect(body.allocation_requests).toEqual([]);
    expect(body.provider_summaries).toEqual({});
  });
});

describe('EMPLACE_RANDOMIZE_ALLOCATION_CANDIDATES=true', () => {
  /** Orders seen over `calls` requests; 7 candidates give 5040 orders: 8 calls in one order by chance 5040^-7. */
  async function callsOf(service: Service, path: string, calls: number): Promise<string[][]> {
    const results: string[][] = [];
    for (let i = 0; i < calls; i++) results.push(await candidates(service, path));
    return results;
  }
  const distinct = (results: string[][]) => new Set(results.map((r) => r.join(','))).size;

  it('without a limit returns every candidate, in an order that changes between calls', async () => {
    const service = await serviceWith({ EMPLACE_RANDOMIZE_ALLOCATION_CANDIDATES: 'true' });
    const results = await callsOf(service, VCPU, 8);
    for (const result of results) expect(sorted(result)).toEqual(sorted(DEPTH_FIRST));
    expect(distinct(results)).toBeGreaterThan(1);
  });

  it('with a limit returns a sample of that size drawn from the whole set, not its first candidates', async () => {
    const service = await serviceWith({ EMPLACE_RANDOMIZE_ALLOCATION_CANDIDATES: 'true' });
    const seen = new Set<string>();
    for (let i = 0; i < 10; i++) {
      const body = await listCandidates(service, `${VCPU}&limit=3`);
      const names = body.allocation_requests.map((r: any) => nameOf(Object.keys(r.allocations)[0]));
      expect(names).toHaveLength(3);
      expect(new Set(names).size).toBe(3);
      for (const name of names) expect(DEPTH_FIRST).toContain(name);
      expect(summarisedRoots(body)).toEqual(rootsOf(names));
      names.forEach((name: string) => seen.add(name));
    }
    // Without sampling the limit would always keep a0, a1, b0; ten samples all inside them: (1/35)^10.
    expect([...seen].some((name) => !['a0', 'a1', 'b0'].includes(name))).toBe(true);
  });

  it('samples from the capped set when EMPLACE_MAX_ALLOCATION_CANDIDATES is set (depth-first: the first roots)', async () => {
    const service = await serviceWith({
      EMPLACE_RANDOMIZE_ALLOCATION_CANDIDATES: 'true',
      EMPLACE_MAX_ALLOCATION_CANDIDATES: '4',
    });
    // 4 candidates give 24 orders: ten calls in one order by chance 24^-9.
    const results = await callsOf(service, VCPU, 10);
    for (const result of results) expect(sorted(result)).toEqual(['a0', 'a1', 'b0', 'b1']);
    expect(distinct(results)).toBeGreaterThan(1);
    // A limit samples from those four: fifteen 2-samples all one pair by chance (1/6)^14.
    const sampled = new Set((await callsOf(service, `${VCPU}&limit=2`, 15)).flat());
    expect([...sampled].every((name) => ['a0', 'a1', 'b0', 'b1'].includes(name))).toBe(true);
    expect(sampled.size).toBeGreaterThan(2);
  });

  it('breadth-first with a cap samples from one candidate of each root', async () => {
    const service = await serviceWith({
      EMPLACE_RANDOMIZE_ALLOCATION_CANDIDATES: 'true',
      EMPLACE_MAX_ALLOCATION_CANDIDATES: '4',
      EMPLACE_CANDIDATES_STRATEGY: 'breadth-first',
    });
    const results = await callsOf(service, VCPU, 10);
    for (const result of results) expect(sorted(result)).toEqual(['a0', 'b0', 'c0', 'd0']);
    expect(distinct(results)).toBeGreaterThan(1);
  });
});
