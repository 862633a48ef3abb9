import { Client } from 'pg';
import { ReadModel } from '../../src/read-model/read-model';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { seedAllocation, seedInventory, seedProvider, seedTraits } from '../helpers/seed';

/**
 * The read model (src/read-model, migration 1410) against real PostgreSQL: each read sees every write
 * committed before it, whatever the write changed and in whatever order writers commit.
 */
let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database.drop();
});

const model = () => new ReadModel(database.db, { pollMs: 0 });
const usedOf = async (m: ReadModel, providerId: number, className: string) =>
  (await m.current()).providers.get(providerId)?.inventories.get(className)?.used;

it('follows usage, inventory, trait, new and deleted providers, and re-parenting', async () => {
  const m = model();
  const host = await seedProvider(database.db);
  await seedInventory(database.db, host, { VCPU: 8 });
  expect(await usedOf(m, host.id, 'VCPU')).toBe(0);

  await seedAllocation(database.db, { [host.uuid]: { VCPU: 3 } });
  expect(await usedOf(m, host.id, 'VCPU')).toBe(3);

  await seedTraits(database.db, host, ['CUSTOM_READ_MODEL']);
  const view = await m.current();
  const traitId = [...view.traitNames].find(([, name]) => name === 'CUSTOM_READ_MODEL')![0];
  expect(view.providers.get(host.id)!.traits.has(traitId)).toBe(true);

  const other = await seedProvider(database.db);
  expect((await m.current()).rootIds).toEqual([host.id, other.id]);

  const child = await seedProvider(database.db, { parent: host });
  await seedInventory(database.db, child, { MEMORY_MB: 1024 });
  expect((await m.current()).trees.get(host.id)!.map((p) => p.id)).toEqual([host.id, child.id]);

  // Re-parent the child under `other`: it leaves one tree for the other in one read.
  await database.db('resource_providers').where({ id: child.id }).update({
    parent_provider_id: other.id,
    root_provider_id: other.id,
  });
  const moved = await m.current();
  expect(moved.trees.get(host.id)!.map((p) => p.id)).toEqual([host.id]);
  expect(moved.trees.get(other.id)!.map((p) => p.id)).toEqual([other.id, child.id]);
  expect(moved.providers.get(child.id)!.rootId).toBe(other.id);

  await database.db('resource_providers').where({ id: child.id }).delete();
  await database.db('resource_providers').where({ id: other.id }).delete();
  const after = await m.current();
  expect(after.rootIds).toEqual([host.id]);
  expect(after.providers.has(child.id)).toBe(false);
});

it('sees a write whose transaction began before a later one but committed after it', async () => {
  const m = model();
  const host = await seedProvider(database.db);
  await seedInventory(database.db, host, { VCPU: 8, DISK_GB: 100 });
  await m.current();
  const early = new Client({ connectionString: database.url });
  await early.connect();
  try {
    // `early` takes its xid first; a later transaction commits first and the model reads in between.
    await early.query('BEGIN');
    await early.query(
      `UPDATE inventories SET total = 16 WHERE resource_provider_id = $1
          AND resource_class_id = (SELECT id FROM resource_classes WHERE name = 'VCPU')`,
      [host.id],
    );
    await database.db.raw(
      `UPDATE inventories SET total = 200 WHERE resource_provider_id = ?
          AND resource_class_id = (SELECT id FROM resource_classes WHERE name = 'DISK_GB')`,
      [host.id],
    );
    let view = await m.current();
    expect(view.providers.get(host.id)!.inventories.get('DISK_GB')!.total).toBe(200);
    expect(view.providers.get(host.id)!.inventories.get('VCPU')!.total).toBe(8);
    await early.query('COMMIT');
    view = await m.current();
    expect(view.providers.get(host.id)!.inventories.get('VCPU')!.total).toBe(16);
  } finally {
    await early.end();
  }
});

it('reloads whole after TRUNCATE, and when pruning passed its snapshot', async () => {
  const m = model();
  const host = await seedProvider(database.db);
  await seedInventory(database.db, host, { VCPU: 8 });
  await seedAllocation(database.db, { [host.uuid]: { VCPU: 2 } });
  expect(await usedOf(m, host.id, 'VCPU')).toBe(2);
  // Nothing in Emplace truncates; an operator might. Usage totals go with allocations (decision 1400).
  await database.db.raw('TRUNCATE allocations, provider_usages');
  expect(await usedOf(m, host.id, 'VCPU')).toBe(0);

  // A model whose snapshot is older than the horizon another one pruned to cannot trust the log.
  const stale = model();
  await stale.current();
  await seedAllocation(database.db, { [host.uuid]: { VCPU: 5 } });
  await database.db.raw(`UPDATE emplace_read_horizon SET horizon = pg_current_xact_id()`);
  await database.db.raw('DELETE FROM emplace_read_changes');
  expect(await usedOf(stale, host.id, 'VCPU')).toBe(5);
});

it('prunes the log once a snapshot is old enough, and keeps reading right', async () => {
  const horizon = async () => (await database.db.raw('SELECT horizon::text AS h FROM emplace_read_horizon')).rows[0].h;
  const m = new ReadModel(database.db, { pollMs: 0, pruneAfterMs: 0 });
  const host = await seedProvider(database.db);
  await seedInventory(database.db, host, { VCPU: 8 });
  await m.current();
  const before = BigInt(await horizon());
  await seedAllocation(database.db, { [host.uuid]: { VCPU: 1 } });
  expect(await usedOf(m, host.id, 'VCPU')).toBe(1);
  await seedAllocation(database.db, { [host.uuid]: { VCPU: 1 } });
  expect(await usedOf(m, host.id, 'VCPU')).toBe(2);
  // Snapshots' xmin is server-wide: a transaction open in another suite on the same server holds it (and so
  // the horizon) back until it ends. Keep reading, as a service would, until the horizon passes it.
  for (let started = Date.now(); BigInt(await horizon()) <= before && Date.now() - started < 30_000;) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await usedOf(m, host.id, 'VCPU')).toBe(2);
  }
  expect(BigInt(await horizon())).toBeGreaterThan(before);
  const { rows } = await database.db.raw(
    `SELECT count(*)::int AS n FROM emplace_read_changes WHERE xid < (SELECT horizon FROM emplace_read_horizon)`,
  );
  expect(rows[0].n).toBe(0);
  // A second model, started before the prune, still answers right (it reloads whole).
  expect(await usedOf(model(), host.id, 'VCPU')).toBe(2);
});

it('takes a change to thousands of trees at once (it reloads whole, in bounded ranges)', async () => {
  const m = model();
  await m.current();
  const before = (await m.current()).rootIds.length;
  await database.db.raw(
    `INSERT INTO resource_providers (id, uuid, name, root_provider_id)
       SELECT n, gen_random_uuid(), 'bulk-' || n, n
         FROM (SELECT nextval('resource_providers_id_seq') AS n FROM generate_series(1, 2500)) s`,
  );
  const view = await m.current();
  expect(view.rootIds.length).toBe(before + 2500);
  expect([...view.rootIds]).toEqual([...view.rootIds].sort((a, b) => a - b));
});

it('names the roots replaced since a version, and forgets versions too far back', async () => {
  const m = model();
  const a = await seedProvider(database.db);
  const b = await seedProvider(database.db);
  await seedInventory(database.db, a, { VCPU: 8 });
  await seedInventory(database.db, b, { VCPU: 8 });
  const view = await m.current();
  const start = view.version;
  expect([...view.changedSince(start)!]).toEqual([]);

  await seedAllocation(database.db, { [a.uuid]: { VCPU: 1 } });
  await m.current();
  const afterA = view.version;
  await database.db('resource_providers').where({ id: b.id }).delete();
  expect((await m.current()).version).toBeGreaterThan(afterA);
  expect([...view.changedSince(start)!].sort()).toEqual([a.id, b.id].sort());
  expect([...view.changedSince(afterA)!]).toEqual([b.id]);

  // Hundreds of refreshes later the first version is forgotten: a reader must start over.
  for (let i = 0; i < 260; i++) {
    await seedAllocation(database.db, { [a.uuid]: { VCPU: 1 } });
    await m.current();
  }
  expect(view.changedSince(start)).toBeUndefined();
  expect([...view.changedSince(view.version - 1)!]).toEqual([a.id]);
  m.close();
});
