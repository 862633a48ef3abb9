import { Client } from 'pg';
import { runCli } from '../../src/cli/run-cli';
import { MIGRATIONS } from '../../migrations';
import { createTestDatabase, type TestDatabase } from '../helpers/database';

// `emplace db version | status | sync` against real databases: one migrated, one created empty.

async function cli(argv: string[], env: Record<string, string>) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { env, out: (line) => out.push(line), err: (line) => err.push(line) });
  return { code, out, err };
}

const NAMES = MIGRATIONS.map(([name]) => name);

describe('emplace db', () => {
  let migrated: TestDatabase;
  let emptyUrl: string;
  let admin: Client;
  const emptyName = `emplace_cli_empty_${process.pid}`;

  beforeAll(async () => {
    migrated = await createTestDatabase();
    admin = new Client({ connectionString: process.env.EMPLACE_TEST_ADMIN_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${emptyName}`);
    const url = new URL(process.env.EMPLACE_TEST_ADMIN_URL!);
    url.pathname = `/${emptyName}`;
    emptyUrl = url.toString();
  });

  afterAll(async () => {
    await migrated.drop();
    await admin.query(`DROP DATABASE IF EXISTS ${emptyName} WITH (FORCE)`);
    await admin.end();
  });

  it('status lists every migration as applied and exits 0 on a current database', async () => {
    const status = await cli(['db', 'status'], { DATABASE_URL: migrated.url });
    expect(status.code).toBe(0);
    expect(status.out.slice(1)).toEqual([...NAMES.map((name) => `applied  ${name}`), 'up to date']);
    expect(status.out[0]).toMatch(/^database: postgres:\/\/.*\/emplace_t_/);
    expect((await cli(['db', 'version'], { DATABASE_URL: migrated.url })).out).toEqual([NAMES.at(-1)]);
  });

  it('reports pending migrations with exit 2 without applying them, and db sync applies them', async () => {
    const env = { DATABASE_URL: emptyUrl };
    expect((await cli(['db', 'version'], env)).out).toEqual(['none']);
    const pending = await cli(['db', 'status'], env);
    expect(pending.code).toBe(2);
    expect(pending.out.slice(1)).toEqual([
      ...NAMES.map((name) => `pending  ${name}`),
      `${NAMES.length} pending: run \`emplace db sync\` (or start the service with EMPLACE_MIGRATE_ON_START=true)`,
    ]);
    // Looking changed nothing: still no migration table.
    expect((await cli(['db', 'status'], env)).code).toBe(2);

    const sync = await cli(['db', 'sync'], env);
    expect(sync.code).toBe(0);
    expect(sync.out).toEqual([expect.stringMatching(new RegExp(`: migrated to ${NAMES.at(-1)}$`))]);
    expect((await cli(['db', 'status'], env)).code).toBe(0);
  });

  it('exits 3 when the database was migrated by a newer release', async () => {
    await migrated
      .db('knex_migrations')
      .insert({ name: '9999_from_the_future', batch: 99, migration_time: new Date() });
    try {
      const status = await cli(['db', 'status'], { DATABASE_URL: migrated.url });
      expect(status.code).toBe(3);
      expect(status.out).toContain('applied  9999_from_the_future  (unknown to this release)');
    } finally {
      await migrated.db('knex_migrations').where({ name: '9999_from_the_future' }).delete();
    }
  });

  it('refuses unknown subcommands and settings with exit 1 and says why', async () => {
    expect(await cli(['db', 'upgrade'], { DATABASE_URL: migrated.url })).toMatchObject({
      code: 1,
      err: ['usage: emplace db sync | version | status'],
    });
    expect(
      await cli(['db', 'status'], { DATABASE_URL: migrated.url, EMPLACE_MIGRATE_ON_START: 'maybe' }),
    ).toMatchObject({ code: 1, err: ["emplace: EMPLACE_MIGRATE_ON_START must be true or false, got 'maybe'"] });
    expect(await cli(['frobnicate'], {})).toMatchObject({ code: 1 });
  });
});
