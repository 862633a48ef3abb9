import { createDb } from '../../src/db/knex';
import { migrateToLatest } from '../../src/db/migrate';
import { MIGRATIONS } from '../../migrations';
import { createTestDatabase, type TestDatabase } from '../helpers/database';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database.drop();
});

it('is idempotent on an already migrated database', async () => {
  await migrateToLatest(database.db);
  const applied = await database.db('knex_migrations').select('name');
  expect(applied.map((row) => row.name)).toEqual(MIGRATIONS.map(([name]) => name));
});

it('lets several replicas migrate an empty database at once', async () => {
  const target = `emplace_race_${process.pid}_${Date.now()}`;
  await database.db.raw(`CREATE DATABASE ${target}`);
  const url = new URL(database.url);
  url.pathname = `/${target}`;
  const replicas = [createDb(url.toString(), 2), createDb(url.toString(), 2), createDb(url.toString(), 2)];
  try {
    await Promise.all(replicas.map((db) => migrateToLatest(db)));
    const applied = await replicas[0]('knex_migrations').count<{ count: number }[]>('* as count');
    expect(Number(applied[0].count)).toBe(MIGRATIONS.length);
  } finally {
    await Promise.all(replicas.map((db) => db.destroy()));
    await database.db.raw(`DROP DATABASE ${target} WITH (FORCE)`);
  }
});
