import { syncStandardCatalogue } from '../../src/repo/catalogue-sync';
import { createTestDatabase, type TestDatabase } from '../helpers/database';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database.drop();
});

it('is idempotent on a database that already has the catalogue', async () => {
  const before = await database.db('resource_classes').count<{ count: number }[]>('* as count');
  await syncStandardCatalogue(database.db);
  const after = await database.db('resource_classes').count<{ count: number }[]>('* as count');
  expect(Number(after[0].count)).toBe(Number(before[0].count));
});

it('refuses to start when a standard class sits at another id than the catalogue says', async () => {
  // What a catalogue edited mid-list (rather than appended to) would look like to an existing database.
  await database.db('resource_classes').where({ id: 0 }).update({ name: 'NOT_VCPU' });
  await expect(syncStandardCatalogue(database.db)).rejects.toThrow(/VCPU \(id null, catalogue 0\)/);
});
