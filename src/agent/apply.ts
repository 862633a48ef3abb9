import type { Schemas } from '../../api/types';
import { PlacementError, type PlacementClient } from './client';
import type { Operation, ReportedTree } from './reconcile';

/** Another writer got there first (generation, new usage, a vanished provider): re-read and plan again. */
export class RetryCycle extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** Stop the cycle: retrying cannot help (a name clash, a refused write); an operator must look. */
export class StopCycle extends Error {
  constructor(
    message: string,
    readonly clash: boolean,
  ) {
    super(message);
  }
}

const RETRY_CODES = new Set([
  'placement.concurrent_update',
  // Usage appeared between the read and the write: the re-read sees it, and the plan drains instead.
  'placement.inventory.inuse',
  'placement.resource_provider.inuse',
]);

export interface ExecuteResult {
  applied: Operation[];
  /** Operations refused with 400 (an unknown trait on an older service, ...), and those depending on them. */
  failed: Array<{ op: Operation; error: string }>;
}

/** The uuids an operation writes to; an operation on a provider that failed to be created is skipped. */
function touches(op: Operation): string[] {
  switch (op.op) {
    case 'createTrait':
      return [];
    case 'createProvider':
      return op.parentUuid ? [op.parentUuid] : [];
    case 'reshape':
      return Object.keys(op.inventories);
    default:
      return [op.uuid];
  }
}

export async function execute(
  client: PlacementClient,
  ops: Operation[],
  reported: ReportedTree,
): Promise<ExecuteResult> {
  const generations = new Map<string, number>();
  for (const p of [reported.root, ...reported.children, ...Object.values(reported.byName ?? {})])
    if (p) generations.set(p.uuid, p.generation);
  const generation = async (uuid: string) => generations.get(uuid) ?? (await client.generationOf(uuid));
  const result: ExecuteResult = { applied: [], failed: [] };
  const missing = new Set<string>();
  for (const op of ops) {
    const blocked = touches(op).find((uuid) => missing.has(uuid));
    if (blocked) {
      if (op.op === 'createProvider') missing.add(op.uuid);
      result.failed.push({ op, error: `skipped: provider ${blocked} was not created` });
      continue;
    }
    try {
      await send(client, op, generations, generation);
      result.applied.push(op);
    } catch (error) {
      if (!(error instanceof PlacementError)) throw error;
      if (error.status === 409 && error.code === 'placement.duplicate_name') throw new StopCycle(error.message, true);
      if ((error.status === 409 && RETRY_CODES.has(error.code ?? '')) || error.status === 404)
        throw new RetryCycle(error.message, error.code);
      // A 400 concerns this operation only: the unrelated ones after it still go.
      if (error.status !== 400) throw new StopCycle(error.message, false);
      if (op.op === 'createProvider') missing.add(op.uuid);
      result.failed.push({ op, error: error.message });
    }
  }
  return result;
}

async function send(
  client: PlacementClient,
  op: Operation,
  generations: Map<string, number>,
  generation: (uuid: string) => Promise<number>,
): Promise<void> {
  switch (op.op) {
    case 'createTrait':
      return client.createTrait(op.name);
    case 'createProvider':
      generations.set(op.uuid, await client.createProvider(op.uuid, op.name, op.parentUuid));
      return;
    case 'setInventories':
      generations.set(op.uuid, await client.setInventories(op.uuid, await generation(op.uuid), op.inventories));
      return;
    case 'setTraits':
      generations.set(op.uuid, await client.setTraits(op.uuid, await generation(op.uuid), op.traits));
      return;
    case 'deleteProvider':
      await client.deleteProvider(op.uuid);
      generations.delete(op.uuid);
      return;
    case 'reshape': {
      const inventories: Schemas['Reshape']['inventories'] = {};
      for (const [uuid, inv] of Object.entries(op.inventories))
        inventories[uuid] = { resource_provider_generation: await generation(uuid), inventories: inv };
      await client.reshape({ inventories, allocations: op.allocations });
      // The reshaper answers 204 without generations: read them again when next needed.
      for (const uuid of Object.keys(op.inventories)) generations.delete(uuid);
      return;
    }
  }
}

export function describe(op: Operation): string {
  switch (op.op) {
    case 'createTrait':
      return `create trait ${op.name}`;
    case 'createProvider':
      return `create provider ${op.name} (${op.uuid})${op.parentUuid ? ` under ${op.parentUuid}` : ''}`;
    case 'setInventories':
      return `set inventories of ${op.uuid}: ${
        Object.entries(op.inventories)
          .map(([rc, i]) => `${rc}=${i.total}${i.reserved ? `(reserved ${i.reserved})` : ''}`)
          .join(', ') || 'none'
      }`;
    case 'setTraits':
      return `set traits of ${op.uuid}: ${op.traits.join(', ') || 'none'}`;
    case 'deleteProvider':
      return `delete provider ${op.uuid}`;
    case 'reshape':
      return `reshape ${Object.keys(op.inventories).length} provider(s), move ${Object.keys(op.allocations).length} consumer(s)`;
  }
}
