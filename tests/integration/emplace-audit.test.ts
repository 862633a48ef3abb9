import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startAppInstance } from '../helpers/server';
import {
  seedAllocation,
  seedInventory,
  seedProvider,
  seedTraits,
  seedAggregates,
  type SeedProvider,
} from '../helpers/seed';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * GET /emplace/audit over a world with one of each problem and a harmless look-alike of each:
 * - `shrunk`: VCPU inventory cut from 8 to 4 under 6 used; `reservedUp`: MEMORY_MB reservation raised under usage;
 *   `healthy`: used within capacity;
 * - `drained`: MEM_ENCRYPTION_CONTEXT reserved = total with two guests left (draining, not over capacity);
 * - consumer `split` on two hosts; `shared` on a host plus a sharing provider; `nestedOnly` on a root and its child;
 * - consumer `empty` with no allocations;
 * - custom classes and traits, used and unused.
 */
let api: TestServer;
const p: Record<string, SeedProvider> = {};
const consumers: Record<string, string> = {};

beforeAll(async () => {
  api = await startTestServer();
  const db = api.database.db;
  for (const name of ['shrunk', 'reservedUp', 'healthy', 'drained', 'hostA', 'hostB', 'pool', 'root']) {
    p[name] = await seedProvider(db, { name });
  }
  p.child = await seedProvider(db, { name: 'child', parent: p.root });
  await seedInventory(db, p.shrunk, { VCPU: 8 });
  await seedAllocation(db, { [p.shrunk.uuid]: { VCPU: 6 } });
  await seedInventory(db, p.shrunk, { VCPU: 4 });
  await seedInventory(db, p.reservedUp, { MEMORY_MB: 1000 });
  await seedAllocation(db, { [p.reservedUp.uuid]: { MEMORY_MB: 200 } });
  await seedInventory(db, p.reservedUp, { MEMORY_MB: { total: 1000, reserved: 900 } });
  await seedInventory(db, p.healthy, { VCPU: 8 });
  await seedAllocation(db, { [p.healthy.uuid]: { VCPU: 8 } });
  await seedInventory(db, p.drained, { MEM_ENCRYPTION_CONTEXT: 4 });
  await seedAllocation(db, { [p.drained.uuid]: { MEM_ENCRYPTION_CONTEXT: 1 } });
  await seedAllocation(db, { [p.drained.uuid]: { MEM_ENCRYPTION_CONTEXT: 1 } });
  await seedInventory(db, p.drained, { MEM_ENCRYPTION_CONTEXT: { total: 4, reserved: 4 } });

  for (const name of ['hostA', 'hostB', 'root', 'child']) await seedInventory(db, p[name], { VCPU: 8 });
  await seedInventory(db, p.pool, { DISK_GB: 1000 });
  await seedTraits(db, p.pool, ['MISC_SHARES_VIA_AGGREGATE']);
  const aggregate = randomUUID();
  await seedAggregates(db, p.pool, [aggregate]);
  await seedAggregates(db, p.hostA, [aggregate]);
  consumers.split = await seedAllocation(db, { [p.hostA.uuid]: { VCPU: 1 }, [p.hostB.uuid]: { VCPU: 1 } });
  consumers.shared = await seedAllocation(db, { [p.hostA.uuid]: { VCPU: 1 }, [p.pool.uuid]: { DISK_GB: 10 } });
  consumers.nestedOnly = await seedAllocation(db, { [p.root.uuid]: { VCPU: 1 }, [p.child.uuid]: { VCPU: 1 } });
  consumers.empty = await seedAllocation(db, {}, { projectId: 'proj-empty', userId: 'user-empty' });

  for (const name of ['CUSTOM_UNUSED_CLASS', 'CUSTOM_USED_CLASS']) {
    expect((await api.at('1.7').put(`/resource_classes/${name}`)).status).toBe(201);
  }
  await seedInventory(db, p.healthy, { CUSTOM_USED_CLASS: 1 });
  for (const name of ['CUSTOM_UNUSED_TRAIT', 'CUSTOM_USED_TRAIT']) {
    expect((await api.at('1.6').put(`/traits/${name}`)).status).toBe(201);
  }
  await seedTraits(db, p.healthy, ['CUSTOM_USED_TRAIT']);
});
afterAll(async () => {
  await api.close();
});

const audit = async (query = '') => {
  const res = await api.at('1.39').get(`/emplace/audit${query}`);
  expect(res.status).toBe(200);
  return res.body;
};

describe('GET /emplace/audit', () => {
  it('lists providers whose usage exceeds capacity by Placement’s rule, and only those', async () => {
    const { over_capacity } = await audit();
    expect(over_capacity.count).toBe(2);
    const items = over_capacity.items.map((item: any) => ({ ...item }));
    expect(items.sort((a: any, b: any) => a.name.localeCompare(b.name))).toEqual([
      {
        resource_provider_uuid: p.reservedUp.uuid,
        name: 'reservedUp',
        resource_class: 'MEMORY_MB',
        total: 1000,
        reserved: 900,
        allocation_ratio: 1,
        capacity: 100,
        used: 200,
      },
      {
        resource_provider_uuid: p.shrunk.uuid,
        name: 'shrunk',
        resource_class: 'VCPU',
        total: 4,
        reserved: 0,
        allocation_ratio: 1,
        capacity: 4,
        used: 6,
      },
    ]);
  });

  it('lists draining inventories with what they still hold', async () => {
    const { draining } = await audit();
    expect(draining).toEqual({
      count: 1,
      used: 2,
      items: [
        {
          resource_provider_uuid: p.drained.uuid,
          name: 'drained',
          root_provider_uuid: p.drained.uuid,
          resource_class: 'MEM_ENCRYPTION_CONTEXT',
          total: 4,
          reserved: 4,
          used: 2,
          consumers: 2,
        },
      ],
    });
  });

  it('names consumers spread over trees that no sharing provider explains', async () => {
    const { cross_tree_consumers } = await audit();
    expect(cross_tree_consumers).toEqual({
      count: 1,
      items: [
        {
          consumer_uuid: consumers.split,
          root_provider_uuids: [p.hostA.uuid, p.hostB.uuid].sort(),
          resource_provider_uuids: [p.hostA.uuid, p.hostB.uuid].sort(),
        },
      ],
    });
  });

  it('names consumers left without allocations', async () => {
    const { empty_consumers } = await audit();
    expect(empty_consumers.count).toBe(1);
    expect(empty_consumers.items).toEqual([
      expect.objectContaining({
        consumer_uuid: consumers.empty,
        project_id: 'proj-empty',
        user_id: 'user-empty',
        generation: 0,
      }),
    ]);
  });

  it('names custom resource classes and traits nothing uses', async () => {
    const body = await audit();
    expect(body.unused_resource_classes).toEqual({ count: 1, items: ['CUSTOM_UNUSED_CLASS'] });
    expect(body.unused_traits).toEqual({ count: 1, items: ['CUSTOM_UNUSED_TRAIT'] });
  });

  it('caps the items of each section at limit and keeps the full counts', async () => {
    const body = await audit('?limit=1');
    expect(body.limit).toBe(1);
    expect(body.over_capacity.count).toBe(2);
    expect(body.over_capacity.items).toHaveLength(1);
    const tooMany = await api.at('1.39').get('/emplace/audit?limit=1001');
    expect(tooMany.status).toBe(400);
  });

  it('is for admins and the service unless the policy file says otherwise, as Placement’s rules are', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'emplace-policy-'));
    const file = path.join(dir, 'policy.yaml');
    writeFileSync(file, '"emplace:audit:show": "role:reader"\n"emplace:capacity:show": "role:admin"\n');
    const instance = await startAppInstance(api.database, { EMPLACE_POLICY_FILE: file }, 2);
    try {
      const reader = { 'x-auth-token': 'user', 'x-roles': 'reader', 'x-project-id': 'p1' };
      expect((await instance.at('1.39').get('/emplace/audit', undefined, reader)).status).toBe(200);
      expect((await instance.at('1.39').get('/emplace/capacity', undefined, reader)).status).toBe(403);
      expect((await api.at('1.39').get('/emplace/capacity', undefined, reader)).status).toBe(200);
    } finally {
      await instance.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is for admins and the service', async () => {
    const reader = { 'x-auth-token': 'user', 'x-roles': 'reader', 'x-project-id': 'p1' };
    const res = await api.at('1.39').get('/emplace/audit', undefined, reader);
    expect(res.status).toBe(403);
    expect(String(res.body.errors[0].detail)).toContain('emplace:audit:show');
  });
});
