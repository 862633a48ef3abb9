import type { PlacementSnapshot, Stamped } from './read-placement';
import type { ImportNotes, ImportPlan, Stamps } from './plan-types';
import type { UuidChecker } from './plan';

type ProviderRow = PlacementSnapshot['providers'][number];
interface Place {
  root: number;
  depth: number;
}

/**
 * Providers with their trees. A NULL root_provider_id (rows from before Stein's nested providers)
 * becomes the top of the provider's parent chain — for a provider without a parent that is itself,
 * as `placement-manage db online_data_migrations` sets it. A stored root that disagrees with the
 * parent chain, a missing parent or a cycle is refused: Emplace's tree queries rely on the root.
 */
export function planProviders(
  rows: ProviderRow[],
  problems: string[],
  notes: ImportNotes,
  uuids: UuidChecker,
  stamp: (row: Stamped) => Stamps,
  now: string,
): ImportPlan['providers'] {
  const places = placeInTrees(rows, problems);
  const planned: Array<ImportPlan['providers'][number] & { depth: number }> = [];
  for (const row of rows) {
    const where = `resource provider id ${row.id} (${row.uuid})`;
    const uuid = uuids.check(row.uuid, where, 'resource provider');
    if (row.name === null)
      problems.push(
        `${where}: name is NULL and Emplace requires one; name it in Placement (openstack resource provider set --name NAME ${row.uuid}) and import again`,
      );
    if (row.generation === null)
      problems.push(`${where}: generation is NULL (Placement never writes that); set it to 0 in Placement's database`);
    const place = places.get(row.id);
    if (place && row.root_provider_id !== null && row.root_provider_id !== place.root)
      problems.push(
        `${where}: root_provider_id is ${row.root_provider_id} but the top of its parent chain is provider id ${place.root}`,
      );
    if (!uuid || row.name === null || row.generation === null || !place) continue;
    // online_data_migrations fills the root with an UPDATE, which stamps updated_at; so does this.
    const filled = row.root_provider_id === null;
    if (filled) notes.rootsFilled += 1;
    const stamps = stamp(row);
    planned.push({
      id: row.id,
      uuid,
      name: row.name,
      generation: row.generation,
      parent_provider_id: row.parent_provider_id,
      root_provider_id: place.root,
      depth: place.depth,
      created_at: stamps.created_at,
      updated_at: filled ? now : stamps.updated_at,
    });
  }
  // Parents first, so every row's parent exists when it is inserted.
  planned.sort((a, b) => a.depth - b.depth || a.id - b.id);
  return planned.map(({ depth: _depth, ...provider }) => provider);
}

/** Each provider's root and depth from its parent chain; missing parents and cycles are problems (once each). */
function placeInTrees(rows: ProviderRow[], problems: string[]): Map<number, Place | null> {
  const byId = new Map(rows.map((row) => [row.id, row]));
  const places = new Map<number, Place | null>();
  for (const start of rows) {
    const path: ProviderRow[] = [];
    const onPath = new Set<number>();
    let found: Place | null;
    let row = start;
    for (;;) {
      if (places.has(row.id)) {
        found = places.get(row.id)!;
        break;
      }
      if (onPath.has(row.id)) {
        const cycle = [...path.slice(path.indexOf(row)).map((r) => r.id), row.id];
        problems.push(`resource provider id ${row.id} (${row.uuid}): its parents form a cycle (${cycle.join(' -> ')})`);
        found = null;
        break;
      }
      path.push(row);
      onPath.add(row.id);
      if (row.parent_provider_id === null) {
        path.pop();
        found = { root: row.id, depth: 0 };
        places.set(row.id, found);
        break;
      }
      const parent = byId.get(row.parent_provider_id);
      if (!parent) {
        problems.push(
          `resource provider id ${row.id} (${row.uuid}): parent provider id ${row.parent_provider_id} does not exist`,
        );
        found = null;
        break;
      }
      row = parent;
    }
    // Everything walked hangs below what was found, one level per step.
    for (let i = path.length - 1; i >= 0; i--) {
      found = found && { root: found.root, depth: found.depth + 1 };
      places.set(path[i].id, found);
    }
  }
  return places;
}
