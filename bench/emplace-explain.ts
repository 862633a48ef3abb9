import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { findCandidates, type EngineOptions, type EngineResult } from '../src/candidates/engine';
import { explainCandidates } from '../src/candidates/explain';
import { parseCandidatesRequest } from '../src/provider-query/request-groups';
import { ReadModel } from '../src/read-model/read-model';
import { createDb } from '../src/db/knex';
import { startEmbeddedPostgres, type EmbeddedServer } from '../src/db/embedded';
import { migrateToLatest } from '../src/db/migrate';
import { Microversion } from '../src/microversion/microversion';
import * as audit from '../src/repo/emplace-audit';
import { capacityPageQuery, capacityTotalsQuery, type CapacityFilter } from '../src/repo/emplace-capacity';
import { syncStandardCatalogue } from '../src/repo/catalogue-sync';

/**
 * `npm run build && node dist/bench/emplace-explain.js [--hosts=10000]`: plans and timings of Emplace's own
 * statements (capacity page and totals, audit sections, and the explain view against the query it explains) over a cloud of nested SEV hosts made in SQL. DATABASE_URL's server when set (scratch
 * database emplace_explain), else a throwaway embedded PostgreSQL.
 */
async function main(): Promise<void> {
  const hosts = Number(process.argv.find((a) => a.startsWith('--hosts='))?.slice(8) ?? 10_000);
  let server: EmbeddedServer | undefined;
  let dataDir: string | undefined;
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'emplace-explain-pg-'));
    server = await startEmbeddedPostgres({ dataDir: path.join(dataDir, 'data'), port: await freePort(), fast: true });
    adminUrl = server.url();
  }
  const admin = createDb(adminUrl, 1);
  await admin.raw('DROP DATABASE IF EXISTS emplace_explain WITH (FORCE)');
  await admin.raw('CREATE DATABASE emplace_explain');
  const url = new URL(adminUrl);
  url.pathname = '/emplace_explain';
  const db = createDb(url.toString(), 2);
  try {
    await migrateToLatest(db);
    await syncStandardCatalogue(db);
    await seed(db, hosts);
    console.log(`# ${hosts} hosts, ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}`);
    await report(db);
  } finally {
    await db.destroy();
    await admin.raw('DROP DATABASE IF EXISTS emplace_explain WITH (FORCE)');
    await admin.destroy();
    await server?.stop();
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  }
}

/**
 * `hosts` roots with VCPU, each with SEV, SEV-ES and SEV-SNP children holding MEM_ENCRYPTION_CONTEXT; one
 * allocation per used slot group; a tenth of the hosts in one of ten aggregates; heartbeats for all,
 * one host in fifty silent for an hour; every fiftieth SEV-ES child drained.
 */
async function seed(db: Knex, hosts: number): Promise<void> {
  await db.raw(
    `INSERT INTO resource_providers (id, uuid, name, root_provider_id)
     SELECT n, md5('root' || n)::uuid, 'cn-' || n, n FROM generate_series(1, ?) n`,
    [hosts],
  );
  await db.raw(
    `INSERT INTO resource_providers (id, uuid, name, parent_provider_id, root_provider_id)
     SELECT ? + (n - 1) * 3 + k, md5('child' || n || '-' || k)::uuid, 'cn-' || n || '_' || k, n, n
       FROM generate_series(1, ?) n, generate_series(1, 3) k`,
    [hosts, hosts],
  );
  await db.raw(`SELECT setval('resource_providers_id_seq', (SELECT max(id) FROM resource_providers))`);
  await db.raw(
    `INSERT INTO inventories (resource_provider_id, resource_class_id, total, max_unit)
     SELECT id, (SELECT id FROM resource_classes WHERE name = 'VCPU'), 128, 128 FROM resource_providers WHERE parent_provider_id IS NULL`,
  );
  await db.raw(
    `INSERT INTO inventories (resource_provider_id, resource_class_id, total, reserved, max_unit)
     SELECT p.id, (SELECT id FROM resource_classes WHERE name = 'MEM_ENCRYPTION_CONTEXT'), 16,
            CASE WHEN (p.id - ?) % 3 = 2 AND p.root_provider_id % 50 = 0 THEN 16 ELSE 0 END, 16
       FROM resource_providers p WHERE p.parent_provider_id IS NOT NULL`,
    [hosts],
  );
  await db.raw(
    `INSERT INTO resource_provider_traits (resource_provider_id, trait_id)
     SELECT p.id, t.id FROM resource_providers p
       JOIN traits t ON t.name = (ARRAY['HW_CPU_X86_AMD_SEV', 'HW_CPU_X86_AMD_SEV_ES', 'HW_CPU_X86_AMD_SEV_SNP'])[(p.id - ?) % 3 + 1]
      WHERE p.parent_provider_id IS NOT NULL`,
    [hosts + 1],
  );
  await db.raw(`INSERT INTO projects (external_id) VALUES ('p')`);
  await db.raw(`INSERT INTO users (external_id) VALUES ('u')`);
  await db.raw(
    `INSERT INTO consumers (uuid, project_id, user_id)
     SELECT md5('consumer' || p.id)::uuid, 1, 1 FROM resource_providers p WHERE p.parent_provider_id IS NOT NULL`,
  );
  await db.raw(
    `INSERT INTO allocations (resource_provider_id, consumer_id, resource_class_id, used)
     SELECT p.id, c.id, i.resource_class_id, 1 + p.id % 8
       FROM resource_providers p
       JOIN inventories i ON i.resource_provider_id = p.id
       JOIN consumers c ON c.uuid = md5('consumer' || p.id)::uuid`,
  );
  await db.raw(`INSERT INTO placement_aggregates (uuid) SELECT md5('agg' || n)::uuid FROM generate_series(1, 10) n`);
  await db.raw(
    `INSERT INTO resource_provider_aggregates (resource_provider_id, aggregate_id)
     SELECT id, 1 + id % 10 FROM resource_providers WHERE parent_provider_id IS NULL AND id % 10 = 0`,
  );
  await db.raw(
    `INSERT INTO emplace_heartbeats (resource_provider_id, heartbeat_at)
     SELECT id, CASE WHEN id % 50 = 7 THEN now() - interval '1 hour' ELSE now() END
       FROM resource_providers WHERE parent_provider_id IS NULL`,
  );
  await db.raw('ANALYZE');
}

async function report(db: Knex): Promise<void> {
  const classId = (await db('resource_classes').where({ name: 'MEM_ENCRYPTION_CONTEXT' }).first('id')).id;
  const filter: CapacityFilter = {
    resourceClassId: classId,
    requiredTraitIds: [],
    forbiddenTraitIds: [],
    memberOf: [],
    forbiddenAggregateIds: [],
  };
  const deepMarker = (
    await db.raw(`SELECT uuid::text FROM resource_providers WHERE parent_provider_id IS NULL
                                     ORDER BY uuid OFFSET 9000 LIMIT 1`)
  ).rows[0]?.uuid;
  const snp = (await db('traits').where({ name: 'HW_CPU_X86_AMD_SEV_SNP' }).first('id')).id;
  await explain(
    db,
    'capacity: first page (limit 100)',
    capacityPageQuery(db, filter, { limit: 100, staleAfterSeconds: 600 }),
  );
  await explain(
    db,
    'capacity: a deep page (marker after 9000 hosts, limit 1000)',
    capacityPageQuery(db, filter, { limit: 1000, marker: deepMarker }),
  );
  await explain(db, 'capacity: totals over every host', capacityTotalsQuery(db, filter, 600));
  await explain(
    db,
    'capacity: totals, required=HW_CPU_X86_AMD_SEV_SNP and member_of one aggregate',
    capacityTotalsQuery(db, { ...filter, requiredTraitIds: [[snp]], memberOf: [[1]] }, 600),
  );
  const sections: Array<[string, (trx: Knex.Transaction) => Promise<unknown>]> = [
    ['over_capacity', (trx) => audit.overCapacity(trx, 100)],
    ['draining', (trx) => audit.draining(trx, 100)],
    ['cross_tree_consumers', (trx) => audit.crossTreeConsumers(trx, 100)],
    ['empty_consumers', (trx) => audit.emptyConsumers(trx, 100)],
    ['unused_resource_classes', (trx) => audit.unusedResourceClasses(trx, 100)],
    ['unused_traits', (trx) => audit.unusedTraits(trx, 100)],
  ];
  for (const [name, work] of sections) await time(db, `audit: ${name} (limit 100)`, work);
  await compareExplainView(db);
}

/** GET /emplace/explain/allocation_candidates' work against the query's own, for the same query strings. */
async function compareExplainView(db: Knex): Promise<void> {
  const queries = [
    'resources=MEM_ENCRYPTION_CONTEXT:1&required=HW_CPU_X86_AMD_SEV_SNP&limit=100',
    'resources=MEM_ENCRYPTION_CONTEXT:1&required=HW_CPU_X86_AMD_SEV_SNP',
    'resources=VCPU:1,MEM_ENCRYPTION_CONTEXT:8&required=HW_CPU_X86_AMD_SEV_ES&member_of=' + md5Uuid('agg3'),
    'resources=VCPU:1,MEM_ENCRYPTION_CONTEXT:20',
    'resources=VCPU:1&resources_S=MEM_ENCRYPTION_CONTEXT:1&required_S=HW_CPU_X86_AMD_SEV_SNP&group_policy=none&limit=100',
  ];
  for (const query of queries) {
    const entries = new Map<string, string[]>();
    for (const [key, value] of new URLSearchParams(query)) entries.set(key, [...(entries.get(key) ?? []), value]);
    const request = parseCandidatesRequest(entries, Microversion.fromKnown('1.39'));
    const engine: EngineOptions = {
      limit: request.limit,
      maxCandidates: -1,
      randomize: false,
      strategy: 'depth-first',
      nestedAware: true,
    };
    const count = (result: EngineResult) => ({
      allocation_requests: result.candidates.length,
      provider_summaries: [...result.trees.values()].flat().length,
    });
    const model = new ReadModel(db, { pollMs: 0 });
    const real = await median(() => findCandidates(db, model, request, engine));
    const explained = await median(() => explainCandidates(db, request, { engine, count, model }));
    console.log(
      `\n## explain view vs the query, ${query}: ${explained.toFixed(1)} ms vs ${real.toFixed(1)} ms (medians of 5)`,
    );
  }
}

function md5Uuid(text: string): string {
  const hex = createHash('md5').update(text).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

async function median(work: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const start = process.hrtime.bigint();
    await work();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return times.sort((a, b) => a - b)[2];
}

type Statement = { toSQL(): { sql: string; bindings: readonly unknown[] } } | Knex.Raw;

function sqlOf(statement: Statement): { sql: string; bindings: unknown[] } {
  const native = (statement as Knex.Raw).toSQL();
  return { sql: native.sql, bindings: [...native.bindings] };
}

/** EXPLAIN ANALYZE once (plan printed), then the median of five runs. */
async function explain(db: Knex, title: string, statement: Statement): Promise<void> {
  const { sql, bindings } = sqlOf(statement);
  const plan = await db.raw(`EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) ${sql}`, bindings as never);
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const start = process.hrtime.bigint();
    await db.raw(sql, bindings as never);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  console.log(`\n## ${title}: median ${times[2].toFixed(1)} ms`);
  console.log(plan.rows.map((row: Record<string, string>) => row['QUERY PLAN']).join('\n'));
}

async function time(db: Knex, title: string, work: (trx: Knex.Transaction) => Promise<unknown>): Promise<void> {
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const start = process.hrtime.bigint();
    await db.transaction(work, { isolationLevel: 'repeatable read', readOnly: true });
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  console.log(`\n## ${title}: median ${times[2].toFixed(1)} ms`);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
