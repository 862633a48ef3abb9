import { randomUUID } from 'node:crypto';
import { seedAggregates, seedAllocation, seedInventory, seedProvider, seedTraits, type SeedProvider } from '../helpers/seed';
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
  await seedInventory(db, sev, { VCPU: { total: 8, allocation_ratio: 2 }, MEMORY_MB: 16384, MEM_ENCRYPTION_CONTEXT: 15 });
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
      .get('/allocation_candidates?resources=VCPU:2,MEMORY_MB:4096,MEM_ENCRYPTION_CONTEXT:1&required=HW_CPU_X86_AMD_SEV&limit=10');
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
