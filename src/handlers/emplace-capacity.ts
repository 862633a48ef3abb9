import type { Request, Response } from 'express';
import type { Db } from '../db/knex';
import { badRequest } from '../errors/http-error';
import { noSuchResourceClass, noSuchTraits } from '../errors/messages';
import { getAll } from '../http/query';
import { writeJson } from '../http/respond';
import {
  capacityPage,
  capacityTotals,
  MODELS,
  NO_MODEL,
  type CapacityFilter,
  type CapacityProviderRow,
  type CapacityTotalsRow,
} from '../repo/emplace-capacity';
import { aggregateIds, resourceClassIds, traitIds } from '../repo/names';
import { parseMemberOfParams, parseTraitParams } from '../provider-query/values';
import { compileSchema } from '../validation/validator';
import {
  LIMIT,
  MARKER,
  STALE_AFTER,
  markerUuid,
  nextMarker,
  pageLimit,
  querySchema,
  readQuery,
  seconds,
} from './emplace-query';

/** Without `resource_class` the view is of SEV guest slots (one ASID per guest). */
export const DEFAULT_CAPACITY_CLASS = 'MEM_ENCRYPTION_CONTEXT';
const DEFAULT_LIMIT = 100;
const REPEATABLE = ['member_of', 'required'];

type CapacityQuery = { resource_class?: string; limit?: string; marker?: string; stale_after?: string };
const validateCapacity = compileSchema<CapacityQuery>(
  querySchema(
    {
      resource_class: { type: 'string', pattern: '^[A-Z0-9_]+$', maxLength: 255 },
      limit: LIMIT,
      marker: MARKER,
      stale_after: STALE_AFTER,
    },
    REPEATABLE,
  ),
);

/** Model names in the order the view lists them (most specific first, then providers of no model). */
const MODEL_ORDER = [...MODELS.map((m) => m.model), NO_MODEL];

/**
 * GET /emplace/capacity: per host (root provider) whose tree has inventory of the class, every such
 * provider with total, reserved, capacity, used, free, draining and model; the root's heartbeat;
 * totals per model over every selected host on the first page (no marker). Hosts ordered by root uuid.
 */
export async function showCapacity(req: Request, res: Response): Promise<void> {
  const query = readQuery(req, validateCapacity, REPEATABLE);
  const className = query.resource_class ?? DEFAULT_CAPACITY_CLASS;
  const limit = pageLimit(query.limit, DEFAULT_LIMIT);
  const marker = markerUuid(query.marker);
  // The service's own stale threshold unless the caller asks for another.
  const staleAfterSeconds = seconds(query.stale_after) ?? req.deps.config.staleAfterSeconds;
  const { db } = req.deps;
  const filter = await resolveFilter(db, className, getAll(req, 'member_of'), getAll(req, 'required'));
  const { rows, totals } = filter
    ? await db.transaction(
        async (trx) => ({
          rows: await capacityPage(trx, filter, { marker, limit, staleAfterSeconds }),
          totals: marker === undefined ? await capacityTotals(trx, filter, staleAfterSeconds) : undefined,
        }),
        { isolationLevel: 'repeatable read', readOnly: true },
      )
    : { rows: [], totals: marker === undefined ? [] : undefined };
  const hosts = groupByHost(rows);
  res.setHeader('cache-control', 'no-cache');
  writeJson(res, 200, {
    resource_class: className,
    models: MODEL_ORDER,
    stale_after_seconds: staleAfterSeconds ?? null,
    ...(totals ? { totals: totalsBody(totals) } : {}),
    hosts: hosts.slice(0, limit).map(hostBody),
    next_marker: nextMarker(hosts, limit, (host) => host[0].root_uuid),
  });
}

/**
 * The filter with every name resolved, or undefined when nothing can match (a member_of group of
 * aggregates nobody is in). Unknown classes and traits are the caller's mistake: 400.
 */
async function resolveFilter(
  db: Db,
  className: string,
  memberOfValues: string[],
  requiredValues: string[],
): Promise<CapacityFilter | undefined> {
  const memberOf = parseMemberOfParams(memberOfValues, { allowMultiple: true, allowForbidden: true });
  const traits = parseTraitParams(requiredValues, { allowForbidden: true, allowAnyOf: true });
  const classId = (await resourceClassIds(db, [className])).get(className);
  if (classId === undefined)
    throw badRequest(`Invalid resource class in resource_class parameter: ${noSuchResourceClass(className)}`);
  const traitNames = [...traits.required.flat(), ...traits.forbidden];
  const ids = await traitIds(db, traitNames);
  const unknown = traitNames.find((name) => !ids.has(name));
  if (unknown) throw badRequest(`Invalid trait(s) in "required" parameter: ${noSuchTraits([unknown])}`);
  const aggregates = await aggregateIds(db, [...memberOf.required.flat(), ...memberOf.forbidden]);
  const known = (uuids: string[]) => uuids.flatMap((uuid) => aggregates.get(uuid) ?? []);
  const memberOfIds = memberOf.required.map(known);
  if (memberOfIds.some((group) => group.length === 0)) return undefined;
  return {
    resourceClassId: classId,
    requiredTraitIds: traits.required.map((group) => group.map((name) => ids.get(name)!)),
    forbiddenTraitIds: traits.forbidden.map((name) => ids.get(name)!),
    memberOf: memberOfIds,
    forbiddenAggregateIds: known(memberOf.forbidden),
  };
}

/** Rows come ordered by root uuid: consecutive rows of one root are one host. */
function groupByHost(rows: CapacityProviderRow[]): CapacityProviderRow[][] {
  const hosts: CapacityProviderRow[][] = [];
  for (const row of rows) {
    const last = hosts.at(-1);
    if (last && last[0].root_uuid === row.root_uuid) last.push(row);
    else hosts.push([row]);
  }
  return hosts;
}

interface Amounts {
  total: number;
  reserved: number;
  capacity: number;
  used: number;
  free: number;
}

const free = (capacity: number, used: number) => Math.max(capacity - used, 0);

function addTo(sum: Amounts, row: CapacityProviderRow): void {
  sum.total += row.total;
  sum.reserved += row.reserved;
  sum.capacity += Number(row.capacity);
  sum.used += Number(row.used);
  sum.free += free(Number(row.capacity), Number(row.used));
}

const zero = (): Amounts => ({ total: 0, reserved: 0, capacity: 0, used: 0, free: 0 });

function hostBody(providers: CapacityProviderRow[]) {
  const root = providers[0];
  const sum = zero();
  const byModel: Record<string, Amounts> = {};
  for (const row of providers) {
    addTo(sum, row);
    addTo((byModel[row.model] ??= zero()), row);
  }
  return {
    uuid: root.root_uuid,
    name: root.root_name,
    heartbeat_at: root.heartbeat_at ? root.heartbeat_at.toISOString() : null,
    heartbeat_age_seconds: root.heartbeat_age_seconds === null ? null : Number(root.heartbeat_age_seconds),
    stale: root.stale,
    draining: providers.some((row) => row.draining),
    ...sum,
    by_model: byModel,
    providers: providers.map(providerBody),
  };
}

function providerBody(row: CapacityProviderRow) {
  const capacity = Number(row.capacity);
  const used = Number(row.used);
  return {
    uuid: row.uuid,
    name: row.name,
    parent_provider_uuid: row.parent_uuid,
    model: row.model,
    traits: row.traits,
    total: row.total,
    reserved: row.reserved,
    allocation_ratio: row.allocation_ratio,
    capacity,
    used,
    free: free(capacity, used),
    draining: row.draining,
  };
}

function totalsBody(rows: CapacityTotalsRow[]) {
  const overall = rows.find((row) => row.model === null);
  const amounts = (row?: CapacityTotalsRow) => ({
    hosts: Number(row?.hosts ?? 0),
    providers: Number(row?.providers ?? 0),
    total: Number(row?.total ?? 0),
    reserved: Number(row?.reserved ?? 0),
    capacity: Number(row?.capacity ?? 0),
    used: Number(row?.used ?? 0),
    free: Number(row?.free ?? 0),
    draining_hosts: Number(row?.draining_hosts ?? 0),
    draining_providers: Number(row?.draining_providers ?? 0),
    draining_used: Number(row?.draining_used ?? 0),
    stale_hosts: Number(row?.stale_hosts ?? 0),
  });
  return {
    ...amounts(overall),
    by_model: Object.fromEntries(
      rows.filter((row) => row.model !== null).map((row) => [row.model as string, amounts(row)]),
    ),
  };
}
