import type { Db } from '../db/knex';
import { STANDARD_RESOURCE_CLASSES, STANDARD_TRAITS } from '../catalogue/catalogue';
import { planImport } from './plan';
import type { ImportPlan } from './plan-types';
import { PlacementSchemaError, readPlacement, type PlacementSnapshot } from './read-placement';
import { openSource } from './source';
import { maskUrl, parseSourceUrl } from './source-url';
import { existingData, writeImport } from './write-emplace';

export interface ImportOptions {
  /** placement.conf's [placement_database] connection, or a plain mysql:// / postgresql:// URL. */
  from: string;
  /** Emplace's database, migrated (except for a dry run, which only reads it if it is). */
  db: Db;
  dryRun: boolean;
  incompleteProjectId: string;
  incompleteUserId: string;
  now?: Date;
}

export interface ImportResult {
  plan: ImportPlan;
  written: boolean;
  /** What the target already holds; a real run refuses when this is not empty. */
  existing: string[];
}

/**
 * Copy a Placement database into Emplace's: read one consistent snapshot of Placement (and close
 * it: no network call happens inside the write transaction), plan it (refusing what cannot be
 * represented), then write it all in one transaction, or for a dry run only report.
 */
export async function importPlacement(options: ImportOptions): Promise<ImportResult> {
  const snapshot = await readSnapshot(options.from);
  const plan = planImport(snapshot, {
    standardClasses: STANDARD_RESOURCE_CLASSES,
    standardTraits: STANDARD_TRAITS,
    incompleteProjectId: options.incompleteProjectId,
    incompleteUserId: options.incompleteUserId,
    now: (options.now ?? new Date()).toISOString(),
  });
  if (options.dryRun) {
    const migrated = (await options.db.raw("SELECT to_regclass('resource_providers') IS NOT NULL AS present")).rows[0]
      .present as boolean;
    return { plan, written: false, existing: migrated ? await existingData(options.db) : [] };
  }
  await writeImport(options.db, plan);
  return { plan, written: true, existing: [] };
}

/** Placement could not be reached or read (connection refused, access denied, no such database, ...). */
export class SourceUnreadable extends Error {}

async function readSnapshot(from: string): Promise<PlacementSnapshot> {
  const location = parseSourceUrl(from);
  try {
    const source = await openSource(location);
    try {
      return await readPlacement(source);
    } finally {
      await source.close();
    }
  } catch (error) {
    if (error instanceof PlacementSchemaError) throw error;
    throw new SourceUnreadable(`cannot read the Placement database ${maskUrl(from)}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** The counts a run prints, one line per kind of row, with what the import had to decide. */
export function describePlan(plan: ImportPlan): string[] {
  const { notes } = plan;
  const lines: Array<[string, number, string?]> = [
    [
      'resource providers',
      plan.providers.length,
      notes.rootsFilled ? `${notes.rootsFilled} NULL root ids filled in` : '',
    ],
    ['inventories', plan.inventories.length],
    ['custom resource classes', plan.customClasses.length, `${notes.standardClasses} standard ones matched by name`],
    ['custom traits', plan.customTraits.length, `${notes.standardTraits} standard ones matched by name`],
    ['provider traits', plan.providerTraits.length],
    [
      'aggregates',
      plan.aggregates.length,
      notes.aggregatesSkipped ? `${notes.aggregatesSkipped} unused without uuid skipped` : '',
    ],
    ['provider aggregates', plan.providerAggregates.length],
    ['projects', plan.projects.length],
    ['users', plan.users.length],
    ['consumer types', plan.consumerTypes.length],
    [
      'consumers',
      plan.consumers.length,
      notes.incompleteConsumers
        ? `${notes.incompleteConsumers} made for allocations without a consumer record, as online_data_migrations does`
        : '',
    ],
    ['allocations', plan.allocations.length],
  ];
  const width = Math.max(...lines.map(([label]) => label.length));
  const out = lines.map(
    ([label, count, note]) => `  ${label.padEnd(width)} ${String(count).padStart(7)}${note ? `  (${note})` : ''}`,
  );
  if (notes.uuidsCanonicalised)
    out.push(`  ${notes.uuidsCanonicalised} uuid(s) stored in another spelling are written in canonical form`);
  if (notes.unknownStandardSkipped.length)
    out.push(
      `  not copied, unused and unknown to this Emplace's catalogue: ${notes.unknownStandardSkipped.join(', ')}`,
    );
  return out;
}
