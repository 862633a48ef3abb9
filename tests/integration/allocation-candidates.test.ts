import { randomUUID } from 'node:crypto';
import {
  seedAggregates,
  seedAllocation,
  seedInventory,
  seedProvider,
  seedTraits,
  type SeedProvider,
} from '../helpers/seed';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * Single-tree (non-nested) clouds: the common scheduler query, traits, aggregates, limit and the
 * response shape at each microversion boundary.
 */
let api: TestServer;
let cn1: SeedProvider;
let cn2: SeedProvider;
let sev: SeedProvider;
const AGG_A = randomUUID();
const AGG_B = randomUUID();

beforeAll(async () => {
  api = await startTestServer();
  const db = api.database.db;
  cn1 = await seedProvider(db, { name: 'cn1' });
  cn2 = await seedProvider(db, { name: 'cn2' });
  sev = await seedProvider(db, { name: 'sev1' });
  for (const cn of [cn1, cn2]) {
    await seedInventory(db, cn, { VCPU: 8, MEMORY_MB: { total: 16384, reserved: 512 }, DISK_GB: 100 });
  }
  await seedInventory(db, sev, {
    VCPU: { total: 8, allocation_ratio: 2 },
    MEMORY_MB: 16384,
    MEM_ENCRYPTION_CONTEXT: 15,
  });
  await seedTraits(db, cn1, ['HW_CPU_X86_AVX2']);
  await seedTraits(db, sev, ['HW_CPU_X86_AMD_SEV', 'HW_CPU_X86_AVX2']);
  await seedAggregates(db, cn1, [AGG_A]);
  await seedAggregates(db, cn2, [AGG_B]);
  await seedAggregates(db, sev, [AGG_A, AGG_B]);
  await seedAllocation(db, { [cn2.uuid]: { VCPU: 6 } });
});
afterAll(async () => {
  await api.close();
});

const providersOf = (body: any) =>
  body.allocation_requests.map((r: any) => Object.keys(r.allocations).sort().join(',')).sort();

describe('the SEV shape', () => {
  it('offers only the SEV host, with capacity and usage in its summary', async () => {
    const res = await api
      .at('1.39')
      .get(
        '/allocation_candidates?resources=VCPU:2,MEMORY_MB:4096,MEM_ENCRYPTION_CONTEXT:1&required=HW_CPU_X86_AMD_SEV&limit=10',
      );
    expect(res.status).toBe(200);
    expect(res.body.allocation_requests).toEqual([
      {
        allocations: { [sev.uuid]: { resources: { VCPU: 2, MEMORY_MB: 4096, MEM_ENCRYPTION_CONTEXT: 1 } } },
        mappings: { '': [sev.uuid] },
      },
    ]);
    expect(res.body.provider_summaries[sev.uuid]).toEqual({
      resources: {
        VCPU: { capacity: 16, used: 0 },
        MEMORY_MB: { capacity: 16384, used: 0 },
        MEM_ENCRYPTION_CONTEXT: { capacity: 15, used: 0 },
      },
      traits: ['HW_CPU_X86_AMD_SEV', 'HW_CPU_X86_AVX2'],
      parent_provider_uuid: null,
      root_provider_uuid: sev.uuid,
    });
  });
});

describe('plain compute', () => {
  it('lists every host with room, skipping one whose usage leaves too little', async () => {
    const res = await api.at('1.39').get('/allocation_candidates?resources=VCPU:4,MEMORY_MB:1024');
    expect(res.status).toBe(200);
    expect(providersOf(res.body)).toEqual([cn1.uuid, sev.uuid].sort());
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('last-modified')).toBeTruthy();
  });
});

describe('traits and aggregates', () => {
  it('required traits need 1.17; forbidden traits need 1.22', async () => {
    const early = await api.at('1.16').get('/allocation_candidates?resources=VCPU:1&required=HW_CPU_X86_AVX2');
    expect(early.status).toBe(400);
    const avx = await api.at('1.17').get('/allocation_candidates?resources=VCPU:1&required=HW_CPU_X86_AVX2');
    expect(providersOf(avx.body)).toEqual([cn1.uuid, sev.uuid].sort());
    const notAvx = await api.at('1.22').get('/allocation_candidates?resources=VCPU:1&required=!HW_CPU_X86_AVX2');
    expect(providersOf(notAvx.body)).toEqual([cn2.uuid]);
  });

  it('any-of traits with in: and repeated required (1.39)', async () => {
    const res = await api
      .at('1.39')
      .get(
        '/allocation_candidates?resources=VCPU:1&required=in:HW_CPU_X86_AMD_SEV,CUSTOM_NOPE_X&required=HW_CPU_X86_AVX2',
      );
    expect(res.status).toBe(400);
    expect(res.body.errors[0].detail).toContain('No such trait(s): CUSTOM_NOPE_X.');
    const ok = await api
      .at('1.39')
      .get(
        '/allocation_candidates?resources=VCPU:1&required=in:HW_CPU_X86_AMD_SEV,HW_CPU_X86_SSE&required=HW_CPU_X86_AVX2',
      );
    expect(providersOf(ok.body)).toEqual([sev.uuid]);
  });

  it('member_of: any-of, repeated AND (1.24), forbidden (1.32), unknown aggregate matches nothing', async () => {
    const anyOf = await api.at('1.21').get(`/allocation_candidates?resources=VCPU:1&member_of=in:${AGG_A},${AGG_B}`);
    expect(providersOf(anyOf.body)).toEqual([cn1.uuid, cn2.uuid, sev.uuid].sort());
    const both = await api
      .at('1.24')
      .get(`/allocation_candidates?resources=VCPU:1&member_of=${AGG_A}&member_of=${AGG_B}`);
    expect(providersOf(both.body)).toEqual([sev.uuid]);
    const notA = await api.at('1.32').get(`/allocation_candidates?resources=VCPU:1&member_of=!${AGG_A}`);
    expect(providersOf(notA.body)).toEqual([cn2.uuid]);
    const unknown = await api.at('1.21').get(`/allocation_candidates?resources=VCPU:1&member_of=${randomUUID()}`);
    expect(unknown.body).toEqual({ allocation_requests: [], provider_summaries: {} });
  });
});

describe('limit', () => {
  it('needs 1.16 and then returns that many requests with only their providers summarised', async () => {
    const early = await api.at('1.15').get('/allocation_candidates?resources=VCPU:1&limit=1');
    expect(early.status).toBe(400);
    expect(early.body.errors[0].detail).toContain("'limit' was unexpected");
    const res = await api.at('1.16').get('/allocation_candidates?resources=VCPU:1&limit=2');
    expect(res.body.allocation_requests).toHaveLength(2);
    expect(Object.keys(res.body.provider_summaries).sort()).toEqual(providersOf(res.body));
  });

  it('default order is deterministic: by provider id', async () => {
    const res = await api.at('1.16').get('/allocation_candidates?resources=VCPU:1');
    expect(res.body.allocation_requests.map((r: any) => Object.keys(r.allocations)[0])).toEqual([
      cn1.uuid,
      cn2.uuid,
      sev.uuid,
    ]);
  });
});

describe('response shape by microversion', () => {
  it('is 404 before 1.10', async () => {
    expect((await api.at('1.9').get('/allocation_candidates?resources=VCPU:1')).status).toBe(404);
  });

  it('lists allocations before 1.12 and shows only requested classes without traits before 1.17', async () => {
    const res = await api.at('1.10').get('/allocation_candidates?resources=VCPU:1');
    expect(res.body.allocation_requests[0]).toEqual({
      allocations: [{ resource_provider: { uuid: cn1.uuid }, resources: { VCPU: 1 } }],
    });
    expect(res.body.provider_summaries[cn1.uuid]).toEqual({ resources: { VCPU: { capacity: 8, used: 0 } } });
    expect(res.headers.get('last-modified')).toBeNull();
  });

  it('adds traits at 1.17, every inventory at 1.27, tree uuids at 1.29 and mappings at 1.34', async () => {
    const v126 = await api.at('1.26').get('/allocation_candidates?resources=VCPU:1');
    expect(Object.keys(v126.body.provider_summaries[cn1.uuid].resources)).toEqual(['VCPU']);
    expect(v126.body.provider_summaries[cn1.uuid].traits).toEqual(['HW_CPU_X86_AVX2']);
    const v127 = await api.at('1.27').get('/allocation_candidates?resources=VCPU:1');
    expect(v127.body.provider_summaries[cn1.uuid].resources).toEqual({
      VCPU: { capacity: 8, used: 0 },
      MEMORY_MB: { capacity: 15872, used: 0 },
      DISK_GB: { capacity: 100, used: 0 },
    });
    expect(v127.body.provider_summaries[cn1.uuid].root_provider_uuid).toBeUndefined();
    expect(v127.body.allocation_requests[0].mappings).toBeUndefined();
    const v134 = await api.at('1.34').get('/allocation_candidates?resources=VCPU:1');
    expect(v134.body.allocation_requests[0].mappings).toEqual({ '': [cn1.uuid] });
  });
});

describe('provider summary traits', () => {
  it('lists traits in trait id order: standard ones in catalogue order, then custom ones as created', async () => {
    const db = api.database.db;
    const fpga = await seedProvider(db, { name: 'fpga-host' });
    await seedInventory(db, fpga, { FPGA: 2 });
    await seedTraits(db, fpga, [
      'CUSTOM_ZED_FIRST_MADE',
      'HW_CPU_X86_AVX2',
      'CUSTOM_ABC_SECOND_MADE',
      'COMPUTE_ACCELERATORS',
    ]);
    const res = await api.at('1.39').get('/allocation_candidates?resources=FPGA:1');
    expect(res.body.provider_summaries[fpga.uuid].traits).toEqual([
      'COMPUTE_ACCELERATORS',
      'HW_CPU_X86_AVX2',
      'CUSTOM_ZED_FIRST_MADE',
      'CUSTOM_ABC_SECOND_MADE',
    ]);
  });
});

describe('validation errors', () => {
  it.each([
    ['1.10', '', "'resources' is a required property", undefined],
    ['1.10', 'resources=', 'Badly formed resources parameter', undefined],
    [
      '1.10',
      'resources=MCPU:99',
      'Invalid resource class in resources parameter: No such resource class MCPU.',
      undefined,
    ],
    ['1.17', 'resources=VCPU:1&required=INVALID_TRAIT', 'No such trait(s): INVALID_TRAIT.', undefined],
    ['1.25', 'resources=VCPU:1&required1=HW_CPU_X86_AVX2', 'orphaned traits keys: required1', undefined],
    [
      '1.36',
      'required=HW_CPU_X86_AVX2',
      'There must be at least one resources or resources[$S] parameter.',
      'placement.query.missing_value',
    ],
    [
      '1.35',
      'resources=VCPU:1&root_required=A&root_required=B',
      "Query parameter 'root_required' may be specified only once.",
      'placement.query.duplicate_key',
    ],
  ])('at %s, %p is a 400 (%s)', async (version, qs, message, code) => {
    const res = await api.at(version).get(`/allocation_candidates?${qs}`);
    expect(res.status).toBe(400);
    expect(res.body.errors[0].detail).toContain(message);
    if (code) expect(res.body.errors[0].code).toBe(code);
  });
});

describe('concurrent claims', () => {
  it('every answer agrees with the usage it reports while claims commit in parallel', async () => {
    const db = api.database.db;
    const host = await seedProvider(db, { name: 'busy' });
    await seedInventory(db, host, { CUSTOM_SLOT: 20 });
    const claims = Array.from({ length: 10 }, () => seedAllocation(db, { [host.uuid]: { CUSTOM_SLOT: 2 } }));
    const reads = Array.from({ length: 10 }, () =>
      api.at('1.34').get('/allocation_candidates?resources=CUSTOM_SLOT:2'),
    );
    const answers = await Promise.all(reads);
    await Promise.all(claims);
    for (const answer of answers) {
      const summary = answer.body.provider_summaries[host.uuid];
      if (answer.body.allocation_requests.length === 0) {
        // Offered nothing: then it cannot have been summarised with room to spare.
        expect(summary).toBeUndefined();
      } else {
        expect(summary.resources.CUSTOM_SLOT.capacity - summary.resources.CUSTOM_SLOT.used).toBeGreaterThanOrEqual(2);
        expect(summary.resources.CUSTOM_SLOT.used % 2).toBe(0);
      }
    }
    const after = await api.at('1.34').get('/allocation_candidates?resources=CUSTOM_SLOT:2');
    expect(after.body.allocation_requests).toEqual([]);
    const oneLeft = await api.at('1.34').get('/allocation_candidates?resources=CUSTOM_SLOT:1');
    expect(oneLeft.body.allocation_requests).toEqual([]);
  });
});
