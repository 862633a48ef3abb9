import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { buildService, startService } from '../helpers/service-process';
import { seedInventory, seedProvider, seedTraits, type SeedProvider } from '../helpers/seed';
import { startAppInstance, startTestServer, type AppInstance, type TestServer } from '../helpers/server';

/**
 * Reads never lag writes, whichever instance served them: usage totals (migration 1400) move in the
 * writer's transaction, and whatever an instance keeps in process (the trait catalogue) is checked
 * against the database on every read. Two app instances over one database stand in for two processes.
 */
let writer: TestServer;
let reader: AppInstance;
beforeAll(async () => {
  writer = await startTestServer();
  reader = await startAppInstance(writer.database, {}, 4);
});
afterAll(async () => {
  await reader.close();
  await writer.close();
});

const V = '1.39';
const owner = { project_id: 'coherence-project', user_id: 'coherence-user' };

async function claim(provider: SeedProvider, resources: Record<string, number>, consumer = randomUUID()) {
  const res = await writer.at(V).put(`/allocations/${consumer}`, {
    allocations: { [provider.uuid]: { resources } },
    ...owner,
    consumer_generation: null,
    consumer_type: 'INSTANCE',
  });
  expect(res.status).toBe(204);
  return consumer;
}

async function totalsMatchAllocations(): Promise<void> {
  const mismatches = await writer.database.db.raw(`
    SELECT COALESCE(a.resource_provider_id, u.resource_provider_id) AS provider, a.used AS summed, u.used AS kept
      FROM (SELECT resource_provider_id, resource_class_id, SUM(used) AS used FROM allocations
             GROUP BY resource_provider_id, resource_class_id) a
      FULL JOIN provider_usages u
        ON u.resource_provider_id = a.resource_provider_id AND u.resource_class_id = a.resource_class_id
     WHERE a.used IS DISTINCT FROM u.used`);
  expect(mismatches.rows).toEqual([]);
}

describe('usage totals', () => {
  it('equal the sum of allocations after claims, replacements, multi-consumer posts and deletes', async () => {
    const a = await seedProvider(writer.database.db);
    const b = await seedProvider(writer.database.db);
    await seedInventory(writer.database.db, a, { VCPU: 64, MEMORY_MB: 65536 });
    await seedInventory(writer.database.db, b, { VCPU: 64, MEMORY_MB: 65536 });
    const first = await claim(a, { VCPU: 4, MEMORY_MB: 1024 });
    await claim(a, { VCPU: 2 });
    await totalsMatchAllocations();
    // Replace: the consumer moves from a to b with other amounts.
    const moved = await writer.at(V).put(`/allocations/${first}`, {
      allocations: { [b.uuid]: { resources: { VCPU: 8 } } },
      ...owner,
      consumer_generation: 1,
      consumer_type: 'INSTANCE',
    });
    expect(moved.status).toBe(204);
    await totalsMatchAllocations();
    const posted = await writer.at(V).post('/allocations', {
      [randomUUID()]: {
        allocations: { [a.uuid]: { resources: { VCPU: 1 } }, [b.uuid]: { resources: { MEMORY_MB: 512 } } },
        ...owner,
        consumer_generation: null,
        consumer_type: 'INSTANCE',
      },
      [first]: { allocations: {}, ...owner, consumer_generation: 2, consumer_type: 'INSTANCE' },
    });
    expect(posted.status).toBe(204);
    await totalsMatchAllocations();
    const usages = await reader.at(V).get(`/resource_providers/${b.uuid}/usages`);
    expect(usages.body.usages).toEqual({ VCPU: 0, MEMORY_MB: 512 });
  });
});

describe('two instances on one database', () => {
  it('a claim acknowledged by one is seen by the next read on the other, every time', async () => {
    const host = await seedProvider(writer.database.db);
    await seedInventory(writer.database.db, host, { VCPU: { total: 40, max_unit: 40 } });
    await seedTraits(writer.database.db, host, ['HW_CPU_X86_AVX2']);
    const query = '/allocation_candidates?resources=VCPU:1&required=HW_CPU_X86_AVX2';
    for (let used = 1; used <= 40; used++) {
      await claim(host, { VCPU: 1 });
      const [candidates, usages, listed] = await Promise.all([
        reader.at(V).get(query),
        reader.at(V).get(`/resource_providers/${host.uuid}/usages`),
        reader.at(V).get(`/resource_providers?resources=VCPU:${41 - used}`),
      ]);
      expect(usages.body.usages.VCPU).toBe(used);
      const summary = candidates.body.provider_summaries[host.uuid];
      if (used < 40) expect(summary.resources.VCPU.used).toBe(used);
      else expect(candidates.body.allocation_requests).toEqual([]);
      // Room for 41 - used is gone as soon as `used` is taken.
      expect(listed.body.resource_providers.map((p: { uuid: string }) => p.uuid)).not.toContain(host.uuid);
    }
  });

  it('a trait created and set through one shows in the other’s candidates at once', async () => {
    const host = await seedProvider(writer.database.db);
    await seedInventory(writer.database.db, host, { VCPU: 8 });
    for (let i = 0; i < 10; i++) {
      const name = `CUSTOM_COHERENCE_${i}`;
      expect((await writer.at(V).put(`/traits/${name}`)).status).toBe(201);
      const current = await writer.at(V).get(`/resource_providers/${host.uuid}/traits`);
      const set = await writer.at(V).put(`/resource_providers/${host.uuid}/traits`, {
        traits: [...current.body.traits, name],
        resource_provider_generation: current.body.resource_provider_generation,
      });
      expect(set.status).toBe(200);
      const res = await reader.at(V).get(`/allocation_candidates?resources=VCPU:1&required=${name}`);
      expect(res.status).toBe(200);
      expect(res.body.provider_summaries[host.uuid].traits).toContain(name);
      const listed = await reader.at(V).get(`/resource_providers?required=${name}`);
      expect(listed.body.resource_providers.map((p: { uuid: string }) => p.uuid)).toEqual([host.uuid]);
    }
  });
});

describe('the compiled service as a second process, two workers', () => {
  /** A new connection per request, so node:cluster hands requests to either worker. */
  function getFrom(port: number, path: string): Promise<any> {
    return new Promise((resolve, reject) => {
      const req = http.get(
        {
          host: '127.0.0.1',
          port,
          path,
          agent: false,
          headers: { 'x-auth-token': 'admin', 'openstack-api-version': `placement ${V}` },
        },
        (res) => {
          let text = '';
          res.on('data', (chunk) => (text += chunk));
          res.on('end', () => resolve(JSON.parse(text)));
        },
      );
      req.on('error', reject);
    });
  }

  it('sees every claim acknowledged by this one at its next read, whichever worker answers', async () => {
    buildService();
    const service = await startService({ DATABASE_URL: writer.database.url, EMPLACE_WORKERS: '2' });
    try {
      await service.ready();
      const host = await seedProvider(writer.database.db);
      await seedInventory(writer.database.db, host, { VCPU: { total: 30, max_unit: 30 } });
      const query = `/allocation_candidates?resources=VCPU:1&in_tree=${host.uuid}`;
      for (let used = 1; used <= 30; used++) {
        await claim(host, { VCPU: 1 });
        const [first, second] = await Promise.all([getFrom(service.port, query), getFrom(service.port, query)]);
        for (const body of [first, second]) {
          if (used < 30) expect(body.provider_summaries[host.uuid].resources.VCPU.used).toBe(used);
          else expect(body.allocation_requests).toEqual([]);
        }
      }
    } finally {
      await service.stop();
    }
  }, 120_000);
});
