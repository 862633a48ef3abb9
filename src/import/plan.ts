import { UUID_PATTERN, canonicalUuid } from '../validation/validator';
import type { PlacementSnapshot, Stamped } from './read-placement';
import { ImportRefused, type ImportNotes, type ImportPlan, type PlanOptions, type Stamps } from './plan-types';
import { planProviders } from './plan-providers';

/**
 * Turn a Placement snapshot into Emplace rows, or refuse with every problem found. Pure: the same
 * snapshot and options always give the same plan, and nothing is read or written here.
 */
export function planImport(source: PlacementSnapshot, options: PlanOptions): ImportPlan {
  const problems: string[] = [];
  const notes: ImportNotes = {
    revision: source.revision,
    standardClasses: 0,
    standardTraits: 0,
    rootsFilled: 0,
    incompleteConsumers: 0,
    uuidsCanonicalised: 0,
    aggregatesSkipped: 0,
    unknownStandardSkipped: [],
  };
  const uuids = new UuidChecker(problems, notes);
  const stamp = stamper(options.now);

  const classes = mapByName('resource class', source.resourceClasses, options.standardClasses, [
    ...source.inventories.map((row) => row.resource_class_id),
    ...source.allocations.map((row) => row.resource_class_id),
  ]);
  const traits = mapByName(
    'trait',
    source.traits,
    options.standardTraits,
    source.providerTraits.map((row) => row.trait_id),
  );
  for (const mapped of [classes, traits]) problems.push(...mapped.problems);
  notes.standardClasses = classes.standard.length;
  notes.standardTraits = traits.standard.length;
  notes.unknownStandardSkipped = [...classes.skipped, ...traits.skipped];

  const providers = planProviders(source.providers, problems, notes, uuids, stamp, options.now);
  // Against the source rows: a provider refused for its own reasons is not reported again here.
  const providerIds = new Set(source.providers.map((row) => row.id));
  // `where` is a function: these run per row, and the text is only wanted for a problem.
  const hasProvider = (id: number, where: () => string) => {
    if (!providerIds.has(id)) problems.push(`${where()}: resource provider id ${id} does not exist`);
  };
  const className = (id: number, where: () => string) => {
    const name = classes.nameById.get(id);
    if (name === undefined && !classes.known.has(id))
      problems.push(`${where()}: resource class id ${id} does not exist`);
    return name ?? '';
  };

  const inventories = source.inventories.map((row) => {
    const where = () => `inventory id ${row.id}`;
    hasProvider(row.resource_provider_id, where);
    const { created_at, updated_at, resource_class_id, ...rest } = row;
    return { ...rest, resource_class: className(resource_class_id, where), ...stamp({ created_at, updated_at }) };
  });

  const providerTraits = source.providerTraits.map((row) => {
    const where = () => `resource_provider_traits row (${row.resource_provider_id}, ${row.trait_id})`;
    hasProvider(row.resource_provider_id, where);
    const trait = traits.nameById.get(row.trait_id);
    if (trait === undefined && !traits.known.has(row.trait_id))
      problems.push(`${where()}: trait id ${row.trait_id} does not exist`);
    return { resource_provider_id: row.resource_provider_id, trait: trait ?? '' };
  });

  const { aggregates, providerAggregates } = planAggregates(source, problems, notes, uuids, hasProvider);
  const consumers = planConsumers(source, options, problems, notes, uuids, stamp);

  const seenAllocation = new Set<string>();
  const allocations = source.allocations.map((row) => {
    const where = () => `allocation id ${row.id} (consumer ${row.consumer_id})`;
    hasProvider(row.resource_provider_id, where);
    const resourceClass = className(row.resource_class_id, where);
    if (!Number.isInteger(row.used) || row.used <= 0)
      problems.push(`${where()}: used is ${row.used}; Emplace stores only allocations of at least 1`);
    const consumerId = consumers.idByUuid.get(canonicalOrSelf(row.consumer_id)) ?? 0;
    const key = `${consumerId}/${row.resource_provider_id}/${row.resource_class_id}`;
    if (seenAllocation.has(key))
      problems.push(
        `${where()}: a second allocation of the same class from the same provider for this consumer (Emplace keeps one per consumer, provider and class)`,
      );
    seenAllocation.add(key);
    return {
      id: row.id,
      resource_provider_id: row.resource_provider_id,
      consumer_id: consumerId,
      resource_class: resourceClass,
      used: row.used,
      ...stamp(row),
    };
  });

  if (problems.length > 0) throw new ImportRefused(problems);
  return {
    customClasses: classes.custom.map((row) => ({ name: row.name, ...stamp(row) })),
    customTraits: traits.custom.map((row) => ({ name: row.name, ...stamp(row) })),
    standardClassStamps: classes.standard.map((row) => ({ name: row.name, ...stamp(row) })),
    standardTraitStamps: traits.standard.map((row) => ({ name: row.name, ...stamp(row) })),
    providers,
    inventories,
    providerTraits,
    aggregates,
    providerAggregates,
    projects: consumers.projects,
    users: consumers.users,
    consumerTypes: source.consumerTypes.map(({ id, name }) => ({ id, name })),
    consumers: consumers.rows,
    allocations,
    notes,
  };
}

interface NamedRow extends Stamped {
  id: number;
  name: string;
}

/**
 * Placement's class and trait ids mean nothing here: match by name. CUSTOM_ names are created;
 * standard names map onto ours; a standard name we do not know is refused where it is used, and
 * skipped (reported) where nothing uses it — a newer Placement lists its whole catalogue.
 */
function mapByName(kind: string, rows: NamedRow[], standardNames: readonly string[], usedIds: number[]) {
  const standardSet = new Set(standardNames);
  const used = new Set(usedIds);
  const nameById = new Map<number, string>();
  const result = {
    nameById,
    known: new Set(rows.map((row) => row.id)),
    custom: [] as NamedRow[],
    standard: [] as NamedRow[],
    skipped: [] as string[],
    problems: [] as string[],
  };
  for (const row of rows) {
    if (row.name.startsWith('CUSTOM_')) result.custom.push(row);
    else if (standardSet.has(row.name)) result.standard.push(row);
    else if (used.has(row.id)) {
      result.problems.push(
        `${kind} ${row.name} (Placement id ${row.id}) is in use but is neither custom (CUSTOM_) nor a standard ${kind} this Emplace knows; upgrade Emplace to a release whose catalogue has it`,
      );
      continue;
    } else {
      result.skipped.push(row.name);
      continue;
    }
    nameById.set(row.id, row.name);
  }
  return result;
}

function planAggregates(
  source: PlacementSnapshot,
  problems: string[],
  notes: ImportNotes,
  uuids: UuidChecker,
  hasProvider: (id: number, where: () => string) => void,
) {
  const linked = new Set(source.providerAggregates.map((row) => row.aggregate_id));
  const aggregates: ImportPlan['aggregates'] = [];
  for (const row of source.aggregates) {
    if (row.uuid === null && !linked.has(row.id)) {
      notes.aggregatesSkipped += 1;
      continue;
    }
    const uuid = uuids.check(row.uuid, `aggregate id ${row.id}`, 'aggregate');
    if (uuid) aggregates.push({ id: row.id, uuid });
  }
  const known = new Set(source.aggregates.map((row) => row.id));
  for (const row of source.providerAggregates) {
    const where = () => `resource_provider_aggregates row (${row.resource_provider_id}, ${row.aggregate_id})`;
    hasProvider(row.resource_provider_id, where);
    if (!known.has(row.aggregate_id)) problems.push(`${where()}: aggregate id ${row.aggregate_id} does not exist`);
  }
  return { aggregates, providerAggregates: source.providerAggregates.map((row) => ({ ...row })) };
}

/**
 * Consumers as stored, plus one for every consumer uuid that has allocations but no consumer row
 * (allocations written before 1.8 on a Placement that never ran `placement-manage db
 * online_data_migrations`): exactly what that migration creates — the incomplete project and user,
 * generation 0, no consumer type. See docs/decisions/0550-import-from-placement.md.
 */
function planConsumers(
  source: PlacementSnapshot,
  options: PlanOptions,
  problems: string[],
  notes: ImportNotes,
  uuids: UuidChecker,
  stamp: (row: Stamped) => Stamps,
) {
  const projects = source.projects.map(({ id, external_id }) => ({ id, external_id }));
  const users = source.users.map(({ id, external_id }) => ({ id, external_id }));
  const projectIds = new Set(projects.map((row) => row.id));
  const userIds = new Set(users.map((row) => row.id));
  const typeIds = new Set(source.consumerTypes.map((row) => row.id));
  const idByUuid = new Map<string, number>();
  const rows: ImportPlan['consumers'] = [];
  for (const row of source.consumers) {
    const where = () => `consumer id ${row.id} (${row.uuid})`;
    const uuid = uuids.check(row.uuid, where, 'consumer');
    if (!projectIds.has(row.project_id)) problems.push(`${where()}: project id ${row.project_id} does not exist`);
    if (!userIds.has(row.user_id)) problems.push(`${where()}: user id ${row.user_id} does not exist`);
    if (row.consumer_type_id !== null && !typeIds.has(row.consumer_type_id))
      problems.push(`${where()}: consumer type id ${row.consumer_type_id} does not exist`);
    if (!uuid) continue;
    idByUuid.set(uuid, row.id);
    const { created_at, updated_at, ...rest } = row;
    rows.push({ ...rest, uuid, ...stamp({ created_at, updated_at }) });
  }

  let nextId = Math.max(0, ...source.consumers.map((row) => row.id)) + 1;
  let incompleteProject: number | undefined;
  let incompleteUser: number | undefined;
  for (const allocation of source.allocations) {
    if (!UUID_PATTERN.test(allocation.consumer_id)) {
      problems.push(`allocation id ${allocation.id}: consumer ${JSON.stringify(allocation.consumer_id)} is not a uuid`);
      continue;
    }
    const uuid = canonicalUuid(allocation.consumer_id);
    if (idByUuid.has(uuid)) continue;
    incompleteProject ??= findOrAdd(projects, options.incompleteProjectId);
    incompleteUser ??= findOrAdd(users, options.incompleteUserId);
    idByUuid.set(uuid, nextId);
    rows.push({
      id: nextId++,
      uuid,
      project_id: incompleteProject,
      user_id: incompleteUser,
      consumer_type_id: null,
      generation: 0,
      ...stamp({ created_at: null, updated_at: null }),
    });
    notes.incompleteConsumers += 1;
  }
  return { rows, idByUuid, projects, users };
}

function findOrAdd(rows: Array<{ id: number; external_id: string }>, externalId: string): number {
  const found = rows.find((row) => row.external_id === externalId);
  if (found) return found.id;
  const id = Math.max(0, ...rows.map((row) => row.id)) + 1;
  rows.push({ id, external_id: externalId });
  return id;
}

function canonicalOrSelf(value: string): string {
  return UUID_PATTERN.test(value) ? canonicalUuid(value) : value;
}

/** Placement accepts any spelling oslo's is_uuid_like does and stores it as sent; Emplace stores the canonical form. */
export class UuidChecker {
  private readonly seen = new Map<string, string>();

  constructor(
    private readonly problems: string[],
    private readonly notes: ImportNotes,
  ) {}

  check(value: string | null, where: string | (() => string), kind: string): string | undefined {
    const at = () => (typeof where === 'string' ? where : where());
    if (value === null || !UUID_PATTERN.test(value)) {
      this.problems.push(`${at()}: ${JSON.stringify(value)} is not a uuid`);
      return undefined;
    }
    const canonical = canonicalUuid(value);
    if (canonical !== value) this.notes.uuidsCanonicalised += 1;
    const key = `${kind}/${canonical}`;
    const other = this.seen.get(key);
    if (other !== undefined) {
      this.problems.push(`${at()}: ${value} and ${other} are the same ${kind} uuid spelled differently`);
      return undefined;
    }
    this.seen.set(key, value);
    return canonical;
  }
}

const TIMESTAMP = /^\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?$/;

/** Placement's naive UTC text as timestamptz; updated_at falls back to created_at, both to the import time. */
export function stamper(now: string): (row: Stamped) => Stamps {
  // MySQL may hold the zero date where sql_mode allowed it; that is no time at all.
  const utc = (value: string | null) =>
    value !== null && TIMESTAMP.test(value) && !value.startsWith('0000') ? `${value.replace(' ', 'T')}Z` : null;
  return (row) => {
    const created = utc(row.created_at) ?? utc(row.updated_at) ?? now;
    return { created_at: created, updated_at: utc(row.updated_at) ?? created };
  };
}
