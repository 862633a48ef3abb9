import { randomUUID } from 'node:crypto';
import { startTestServer, type TestServer, type VersionedClient } from '../helpers/server';
import { seedAggregates, seedAllocation, seedInventory, seedTraits, type SeedProvider } from '../helpers/seed';

let api: TestServer;
let latest: VersionedClient;
beforeAll(async () => {
  api = await startTestServer();
  latest = api.at('1.39');
});
afterAll(async () => {
  await api.close();
});

/** Create a provider through the API at latest and return it as the seed builders want it. */
async function createProvider(
  name = `rp-${randomUUID().slice(0, 8)}`,
  parent?: string,
): Promise<SeedProvider & { body: any }> {
  const body: Record<string, unknown> = { name };
  if (parent) body.parent_provider_uuid = parent;
  const res = await latest.post('/resource_providers', body);
  expect(res.status).toBe(200);
  const row = await api.database.db('resource_providers').where({ uuid: res.body.uuid }).first('id');
  return { id: Number(row.id), uuid: res.body.uuid, name, body: res.body };
}

function detail(res: { body: any }): string {
  return res.body.errors[0].detail;
}

describe('POST /resource_providers', () => {
  it('answers 201 with Location and no body or content type before 1.20', async () => {
    const uuid = randomUUID();
    const res = await api.at('1.19').post('/resource_providers', { name: 'old-create', uuid });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`/resource_providers/${uuid}`);
    expect(res.headers.get('content-type')).toBeNull();
    expect(res.text).toBe('');
  });

  it('answers 200 with the provider, Location and cache headers from 1.20', async () => {
    const uuid = randomUUID();
    const res = await api.at('1.20').post('/resource_providers', { name: 'new-create', uuid });
    expect(res.status).toBe(200);
    expect(res.headers.get('location')).toBe(`/resource_providers/${uuid}`);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('last-modified')).toMatch(/^\w+, \d+ \w+ \d{4} [\d:]+ GMT$/);
    expect(res.body).toEqual({
      uuid,
      name: 'new-create',
      generation: 0,
      parent_provider_uuid: null,
      root_provider_uuid: uuid,
      links: [
        { rel: 'self', href: `/resource_providers/${uuid}` },
        { rel: 'inventories', href: `/resource_providers/${uuid}/inventories` },
        { rel: 'usages', href: `/resource_providers/${uuid}/usages` },
        { rel: 'aggregates', href: `/resource_providers/${uuid}/aggregates` },
        { rel: 'traits', href: `/resource_providers/${uuid}/traits` },
        { rel: 'allocations', href: `/resource_providers/${uuid}/allocations` },
      ],
    });
  });

  it('generates a uuid when none is given', async () => {
    const res = await latest.post('/resource_providers', { name: 'no-uuid' });
    expect(res.status).toBe(200);
    expect(res.body.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  it('normalises a dashless uppercase uuid and sees it as a duplicate of the dashed one', async () => {
    const uuid = randomUUID();
    const dashless = uuid.replace(/-/g, '').toUpperCase();
    const first = await latest.post('/resource_providers', { name: 'dashless', uuid: dashless });
    expect(first.body.uuid).toBe(uuid);
    const again = await latest.post('/resource_providers', { name: 'dashless-2', uuid: dashless });
    expect(again.status).toBe(409);
    expect(detail(again)).toContain(`Conflicting resource provider uuid: ${uuid} already exists.`);
  });

  it('refuses a duplicate name with 409 placement.duplicate_name', async () => {
    await createProvider('dup-name');
    const res = await latest.post('/resource_providers', { name: 'dup-name', uuid: randomUUID() });
    expect(res.status).toBe(409);
    expect(res.body.errors[0].code).toBe('placement.duplicate_name');
    expect(detail(res)).toContain('Conflicting resource provider name: dup-name already exists.');
  });

  it('names both fields when uuid and name clash', async () => {
    const existing = await createProvider('dup-both');
    const res = await latest.post('/resource_providers', { name: 'dup-both', uuid: existing.uuid });
    expect(res.status).toBe(409);
    expect(detail(res)).toContain(
      `Conflicting resource provider uuid: ${existing.uuid}, name: dup-both already exists.`,
    );
  });

  it.each([
    ['a missing name', {}, "'name' is a required property"],
    ['a name over 200 characters', { name: 'x'.repeat(201) }, 'is too long'],
    ['a name that is not a string', { name: 42 }, "42 is not of type 'string'"],
    ['a malformed uuid', { name: 'bad-uuid', uuid: 'this is not a uuid' }, "'this is not a uuid' is not a 'uuid'"],
    [
      'an extra property',
      { name: 'extra', generation: 1 },
      "Additional properties are not allowed ('generation' was unexpected)",
    ],
    ['a body that is not an object', ['x'], "['x'] is not of type 'object'"],
  ])('refuses %s with 400 JSON does not validate', async (_label, body, message) => {
    const res = await latest.post('/resource_providers', body);
    expect(res.status).toBe(400);
    expect(detail(res)).toContain('JSON does not validate');
    expect(detail(res)).toContain(message);
  });

  it('accepts a name of exactly 200 characters', async () => {
    const res = await latest.post('/resource_providers', { name: 'n'.repeat(200) });
    expect(res.status).toBe(200);
  });

  it('refuses an empty name as Placement does', async () => {
    const res = await latest.post('/resource_providers', { name: '' });
    expect(res.status).toBe(400);
    expect(detail(res)).toContain('Object action create failed because: name is required');
  });

  it('refuses parent_provider_uuid before 1.14', async () => {
    const parent = await createProvider();
    const res = await api
      .at('1.13')
      .post('/resource_providers', { name: 'early-child', parent_provider_uuid: parent.uuid });
    expect(res.status).toBe(400);
    expect(detail(res)).toContain("Additional properties are not allowed ('parent_provider_uuid' was unexpected)");
  });

  it('creates a child whose root is its parent’s root', async () => {
    const root = await createProvider();
    const mid = await createProvider(undefined, root.uuid);
    const leaf = await createProvider(undefined, mid.uuid);
    expect(leaf.body.parent_provider_uuid).toBe(mid.uuid);
    expect(leaf.body.root_provider_uuid).toBe(root.uuid);
  });

  it('refuses an unknown parent with 400', async () => {
    const uuid = randomUUID();
    const res = await latest.post('/resource_providers', { name: 'orphan', uuid, parent_provider_uuid: randomUUID() });
    expect(res.status).toBe(400);
    expect(detail(res)).toContain(
      `Unable to create resource provider "orphan", ${uuid}: Object action create failed because: parent provider UUID does not exist.`,
    );
    expect(await api.database.db('resource_providers').where({ uuid }).first()).toBeUndefined();
  });

  it('refuses a provider that is its own parent', async () => {
    const uuid = randomUUID();
    const res = await latest.post('/resource_providers', { name: 'self-parent', uuid, parent_provider_uuid: uuid });
    expect(res.status).toBe(400);
    expect(detail(res)).toContain('parent provider UUID cannot be same as UUID');
  });

  it('accepts an explicit null parent', async () => {
    const res = await latest.post('/resource_providers', { name: 'null-parent', parent_provider_uuid: null });
    expect(res.status).toBe(200);
    expect(res.body.parent_provider_uuid).toBeNull();
  });

  it('refuses a malformed parent uuid', async () => {
    const res = await latest.post('/resource_providers', { name: 'bad-parent', parent_provider_uuid: 'nope' });
    expect(res.status).toBe(400);
    expect(detail(res)).toContain('JSON does not validate');
  });
});

describe('GET /resource_providers/{uuid}', () => {
  it('shows links by microversion: 3 at 1.0, aggregates at 1.1, traits at 1.6, allocations at 1.11', async () => {
    const rp = await createProvider();
    const rels = async (version: string) =>
      (await api.at(version).get(`/resource_providers/${rp.uuid}`)).body.links.map((link: { rel: string }) => link.rel);
    expect(await rels('1.0')).toEqual(['self', 'inventories', 'usages']);
    expect(await rels('1.1')).toEqual(['self', 'inventories', 'usages', 'aggregates']);
    expect(await rels('1.5')).toEqual(['self', 'inventories', 'usages', 'aggregates']);
    expect(await rels('1.6')).toEqual(['self', 'inventories', 'usages', 'aggregates', 'traits']);
    expect(await rels('1.10')).toHaveLength(5);
    expect(await rels('1.11')).toEqual(['self', 'inventories', 'usages', 'aggregates', 'traits', 'allocations']);
  });

  it('adds parent and root uuids from 1.14 only', async () => {
    const rp = await createProvider();
    const old = await api.at('1.13').get(`/resource_providers/${rp.uuid}`);
    expect(Object.keys(old.body).sort()).toEqual(['generation', 'links', 'name', 'uuid']);
    const nested = await api.at('1.14').get(`/resource_providers/${rp.uuid}`);
    expect(nested.body).toMatchObject({ parent_provider_uuid: null, root_provider_uuid: rp.uuid });
  });

  it('sends last-modified and cache-control from 1.15 only', async () => {
    const rp = await createProvider();
    const before = await api.at('1.14').get(`/resource_providers/${rp.uuid}`);
    expect(before.headers.get('last-modified')).toBeNull();
    expect(before.headers.get('cache-control')).toBeNull();
    const after = await api.at('1.15').get(`/resource_providers/${rp.uuid}`);
    expect(after.headers.get('cache-control')).toBe('no-cache');
    expect(after.headers.get('last-modified')).toMatch(/GMT$/);
  });

  it('answers 404 for an unknown provider', async () => {
    const uuid = randomUUID();
    const res = await latest.get(`/resource_providers/${uuid}`);
    expect(res.status).toBe(404);
    expect(detail(res)).toContain(`No resource provider with uuid ${uuid} found`);
  });

  // Placement's provider routes raise a plain HTTPNotFound; its specific code is for the reshaper (decision 1200).
  it.each([
    ['GET', ''],
    ['PUT', ''],
    ['DELETE', ''],
    ['GET', '/inventories'],
    ['PUT', '/inventories'],
    ['GET', '/inventories/VCPU'],
    ['GET', '/usages'],
    ['GET', '/aggregates'],
    ['GET', '/traits'],
    ['GET', '/allocations'],
  ])('answers %s /resource_providers/{unknown}%s 404 with placement.undefined_code', async (method, path) => {
    const uuid = randomUUID();
    const url = `/resource_providers/${uuid}${path}`;
    const res =
      method === 'GET'
        ? await latest.get(url)
        : method === 'PUT'
          ? await latest.put(url, { name: 'x', resource_provider_generation: 0, inventories: {} })
          : await latest.delete(url);
    expect(res.status).toBe(404);
    expect(res.body.errors[0].code).toBe('placement.undefined_code');
    expect(detail(res)).toContain(`No resource provider with uuid ${uuid} found`);
  });

  it('answers 404, not 500, for a path segment that is no uuid', async () => {
    const res = await latest.get('/resource_providers/random_sauce');
    expect(res.status).toBe(404);
    expect(res.body.errors[0].title).toBe('Not Found');
  });
});

describe('PUT /resource_providers/{uuid}', () => {
  it('renames, keeps the generation and sends cache headers from 1.15', async () => {
    const rp = await createProvider();
    const res = await api.at('1.15').put(`/resource_providers/${rp.uuid}`, { name: `${rp.name}-renamed` });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ uuid: rp.uuid, name: `${rp.name}-renamed`, generation: 0 });
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('location')).toBeNull();
    expect((await latest.get(`/resource_providers/${rp.uuid}`)).body.name).toBe(`${rp.name}-renamed`);
  });

  it('answers 404 for an unknown provider before validating the body', async () => {
    const res = await latest.put(`/resource_providers/${randomUUID()}`, { bogus: true });
    expect(res.status).toBe(404);
  });

  it.each([
    ['a missing name', {}, "'name' is a required property"],
    ['a name over 200 characters', { name: 'y'.repeat(201) }, 'is too long'],
    ['a uuid', { name: 'x', uuid: randomUUID() }, "Additional properties are not allowed ('uuid' was unexpected)"],
    [
      'a generation',
      { name: 'x', generation: 0 },
      "Additional properties are not allowed ('generation' was unexpected)",
    ],
    [
      'a root provider uuid',
      { name: 'x', root_provider_uuid: randomUUID() },
      "Additional properties are not allowed ('root_provider_uuid' was unexpected)",
    ],
    ['a name of the wrong type', { name: ['x'] }, "['x'] is not of type 'string'"],
  ])('refuses %s with 400', async (_label, body, message) => {
    const rp = await createProvider();
    const res = await latest.put(`/resource_providers/${rp.uuid}`, body);
    expect(res.status).toBe(400);
    expect(detail(res)).toContain(message);
  });

  it('refuses parent_provider_uuid before 1.14', async () => {
    const [parent, rp] = [await createProvider(), await createProvider()];
    const res = await api
      .at('1.13')
      .put(`/resource_providers/${rp.uuid}`, { name: rp.name, parent_provider_uuid: parent.uuid });
    expect(res.status).toBe(400);
    expect(detail(res)).toContain('JSON does not validate');
  });

  it('refuses a name taken by another provider with 409 placement.duplicate_name', async () => {
    const [a, b] = [await createProvider(), await createProvider()];
    const res = await latest.put(`/resource_providers/${b.uuid}`, { name: a.name });
    expect(res.status).toBe(409);
    expect(res.body.errors[0].code).toBe('placement.duplicate_name');
    expect(detail(res)).toContain(`Conflicting resource provider ${a.name} already exists.`);
  });

  it('gives a root a parent at 1.14 and moves its whole subtree to the new root', async () => {
    const newRoot = await createProvider();
    const oldRoot = await createProvider();
    const child = await createProvider(undefined, oldRoot.uuid);
    const grandchild = await createProvider(undefined, child.uuid);
    const res = await api
      .at('1.14')
      .put(`/resource_providers/${oldRoot.uuid}`, { name: oldRoot.name, parent_provider_uuid: newRoot.uuid });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ parent_provider_uuid: newRoot.uuid, root_provider_uuid: newRoot.uuid });
    for (const rp of [child, grandchild]) {
      expect((await latest.get(`/resource_providers/${rp.uuid}`)).body.root_provider_uuid).toBe(newRoot.uuid);
    }
    const tree = await latest.get(`/resource_providers?in_tree=${grandchild.uuid}`);
    expect(tree.body.resource_providers).toHaveLength(4);
  });

  it('accepts naming the current parent again at any version', async () => {
    const parent = await createProvider();
    const child = await createProvider(undefined, parent.uuid);
    const res = await api
      .at('1.14')
      .put(`/resource_providers/${child.uuid}`, { name: child.name, parent_provider_uuid: parent.uuid });
    expect(res.status).toBe(200);
  });

  it('refuses re-parenting before 1.37 and allows it from 1.37, moving the subtree', async () => {
    const [a, b] = [await createProvider(), await createProvider()];
    const child = await createProvider(undefined, a.uuid);
    const grandchild = await createProvider(undefined, child.uuid);
    const early = await api
      .at('1.36')
      .put(`/resource_providers/${child.uuid}`, { name: child.name, parent_provider_uuid: b.uuid });
    expect(early.status).toBe(400);
    expect(detail(early)).toContain(
      `Unable to save resource provider ${child.uuid}: Object action update failed because: re-parenting a provider is not currently allowed.`,
    );
    const res = await api
      .at('1.37')
      .put(`/resource_providers/${child.uuid}`, { name: child.name, parent_provider_uuid: b.uuid });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ parent_provider_uuid: b.uuid, root_provider_uuid: b.uuid });
    expect((await latest.get(`/resource_providers/${grandchild.uuid}`)).body.root_provider_uuid).toBe(b.uuid);
  });

  it('refuses un-parenting before 1.37 and allows it from 1.37, making the subtree its own tree', async () => {
    const root = await createProvider();
    const child = await createProvider(undefined, root.uuid);
    const grandchild = await createProvider(undefined, child.uuid);
    const early = await api
      .at('1.36')
      .put(`/resource_providers/${child.uuid}`, { name: child.name, parent_provider_uuid: null });
    expect(early.status).toBe(400);
    expect(detail(early)).toContain('un-parenting a provider is not currently allowed.');
    const res = await api
      .at('1.37')
      .put(`/resource_providers/${child.uuid}`, { name: child.name, parent_provider_uuid: null });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ parent_provider_uuid: null, root_provider_uuid: child.uuid });
    expect((await latest.get(`/resource_providers/${grandchild.uuid}`)).body.root_provider_uuid).toBe(child.uuid);
    expect((await latest.get(`/resource_providers?in_tree=${root.uuid}`)).body.resource_providers).toHaveLength(1);
  });

  it('accepts a null parent for a root at any version from 1.14', async () => {
    const rp = await createProvider();
    const res = await api
      .at('1.14')
      .put(`/resource_providers/${rp.uuid}`, { name: rp.name, parent_provider_uuid: null });
    expect(res.status).toBe(200);
  });

  it('refuses loops: a provider under itself or under its own descendant', async () => {
    const root = await createProvider();
    const child = await createProvider(undefined, root.uuid);
    const grandchild = await createProvider(undefined, child.uuid);
    const self = await latest.put(`/resource_providers/${root.uuid}`, {
      name: root.name,
      parent_provider_uuid: root.uuid,
    });
    expect(self.status).toBe(400);
    expect(detail(self)).toContain('creating loop in the provider tree is not allowed.');
    const below = await latest.put(`/resource_providers/${child.uuid}`, {
      name: child.name,
      parent_provider_uuid: grandchild.uuid,
    });
    expect(below.status).toBe(400);
    expect(detail(below)).toContain('creating loop in the provider tree is not allowed.');
    expect((await latest.get(`/resource_providers/${child.uuid}`)).body.parent_provider_uuid).toBe(root.uuid);
  });

  it('refuses an unknown parent with 400', async () => {
    const rp = await createProvider();
    const res = await latest.put(`/resource_providers/${rp.uuid}`, {
      name: rp.name,
      parent_provider_uuid: randomUUID(),
    });
    expect(res.status).toBe(400);
    expect(detail(res)).toContain('parent provider UUID does not exist.');
  });

  it('keeps trees consistent when two providers are moved under each other concurrently', async () => {
    for (let round = 0; round < 5; round++) {
      const [a, b] = [await createProvider(), await createProvider()];
      const results = await Promise.all([
        latest.put(`/resource_providers/${a.uuid}`, { name: a.name, parent_provider_uuid: b.uuid }),
        latest.put(`/resource_providers/${b.uuid}`, { name: b.name, parent_provider_uuid: a.uuid }),
      ]);
      // The second move, run after the first under the tree locks, would make a loop.
      expect(results.map((r) => r.status).sort()).toEqual([200, 400]);
      expect(detail(results.find((r) => r.status === 400)!)).toContain(
        'creating loop in the provider tree is not allowed.',
      );
      const rows = await api.database.db('resource_providers').whereIn('id', [a.id, b.id]);
      const roots = rows.filter((row) => row.parent_provider_id === null);
      expect(roots).toHaveLength(1);
      expect(rows.every((row) => Number(row.root_provider_id) === Number(roots[0].id))).toBe(true);
    }
  });
});

describe('DELETE /resource_providers/{uuid}', () => {
  it('deletes a provider with its inventories, traits and aggregate links', async () => {
    const rp = await createProvider();
    await seedInventory(api.database.db, rp, { VCPU: 8 });
    await seedTraits(api.database.db, rp, ['CUSTOM_DELETE_ME']);
    await seedAggregates(api.database.db, rp, [randomUUID()]);
    const res = await latest.delete(`/resource_providers/${rp.uuid}`);
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    expect((await latest.get(`/resource_providers/${rp.uuid}`)).status).toBe(404);
    const db = api.database.db;
    expect(await db('inventories').where({ resource_provider_id: rp.id })).toHaveLength(0);
    expect(await db('resource_provider_traits').where({ resource_provider_id: rp.id })).toHaveLength(0);
    expect(await db('resource_provider_aggregates').where({ resource_provider_id: rp.id })).toHaveLength(0);
  });

  it('answers 404 with "for delete" for an unknown provider, and for a second delete', async () => {
    const uuid = randomUUID();
    const res = await latest.delete(`/resource_providers/${uuid}`);
    expect(res.status).toBe(404);
    expect(detail(res)).toContain(`No resource provider with uuid ${uuid} found for delete`);
    expect((await latest.delete('/resource_providers/not-a-uuid')).status).toBe(404);
  });

  it('refuses a parent with 409 placement.resource_provider.cannot_delete_parent', async () => {
    const parent = await createProvider();
    await createProvider(undefined, parent.uuid);
    const res = await latest.delete(`/resource_providers/${parent.uuid}`);
    expect(res.status).toBe(409);
    expect(res.body.errors[0].code).toBe('placement.resource_provider.cannot_delete_parent');
    expect(detail(res)).toContain(
      `Unable to delete parent resource provider ${parent.uuid}: It has child resource providers.`,
    );
  });

  it('refuses a provider with allocations with 409 placement.resource_provider.inuse', async () => {
    const rp = await createProvider();
    await seedInventory(api.database.db, rp, { VCPU: 8 });
    await seedAllocation(api.database.db, { [rp.uuid]: { VCPU: 2 } });
    const res = await latest.delete(`/resource_providers/${rp.uuid}`);
    expect(res.status).toBe(409);
    expect(res.body.errors[0].code).toBe('placement.resource_provider.inuse');
    expect(detail(res)).toContain(`Unable to delete resource provider ${rp.uuid}: Resource provider has allocations.`);
    expect((await latest.get(`/resource_providers/${rp.uuid}`)).status).toBe(200);
  });

  it('deletes a child, leaving the parent deletable', async () => {
    const parent = await createProvider();
    const child = await createProvider(undefined, parent.uuid);
    expect((await latest.delete(`/resource_providers/${child.uuid}`)).status).toBe(204);
    expect((await latest.delete(`/resource_providers/${parent.uuid}`)).status).toBe(204);
  });
});

describe('GET /resource_providers', () => {
  // A small world: two trees and a lone provider, with inventory, usage, traits and aggregates.
  const AGG_A = randomUUID();
  const AGG_B = randomUUID();
  const AGG_C = randomUUID();
  let world: Record<'cn1' | 'numa1' | 'cn2' | 'lone', SeedProvider>;
  let worldUuids: Set<string>;

  beforeAll(async () => {
    const db = api.database.db;
    const cn1 = await createProvider('list-cn1');
    const numa1 = await createProvider('list-numa1', cn1.uuid);
    const cn2 = await createProvider('list-cn2');
    const lone = await createProvider('list-lone');
    world = { cn1, numa1, cn2, lone };
    worldUuids = new Set(Object.values(world).map((rp) => rp.uuid));
    await seedInventory(db, cn1, {
      VCPU: 8,
      MEMORY_MB: { total: 4096, min_unit: 512, max_unit: 2048, step_size: 512 },
    });
    await seedInventory(db, numa1, { VCPU: 4 });
    await seedInventory(db, cn2, { VCPU: { total: 4, reserved: 1, allocation_ratio: 2, max_unit: 8 } });
    await seedAllocation(db, { [cn1.uuid]: { VCPU: 6 } });
    await seedTraits(db, cn1, ['HW_CPU_X86_AVX2', 'CUSTOM_GOLD']);
    await seedTraits(db, numa1, ['HW_CPU_X86_AVX2']);
    await seedTraits(db, cn2, ['CUSTOM_SILVER']);
    await seedAggregates(db, cn1, [AGG_A, AGG_B]);
    await seedAggregates(db, cn2, [AGG_B]);
    await seedAggregates(db, lone, [AGG_C]);
  });

  /** Names of the world's providers the query lists (other tests' providers are ignored). */
  async function listed(query: string, version = '1.39'): Promise<string[]> {
    const res = await api.at(version).get(`/resource_providers${query}`);
    expect(res.status).toBe(200);
    return res.body.resource_providers
      .filter((rp: { uuid: string }) => worldUuids.has(rp.uuid))
      .map((rp: { name: string }) => rp.name.replace('list-', ''))
      .sort();
  }

  async function refused(query: string, version = '1.39'): Promise<string> {
    const res = await api.at(version).get(`/resource_providers${query}`);
    expect(res.status).toBe(400);
    expect(res.body.errors[0].title).toBe('Bad Request');
    return detail(res);
  }

  it('lists everything with cache headers from 1.15 and without them before', async () => {
    expect(await listed('')).toEqual(['cn1', 'cn2', 'lone', 'numa1']);
    const res = await api.at('1.15').get('/resource_providers');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('last-modified')).toMatch(/GMT$/);
    const old = await api.at('1.14').get('/resource_providers');
    expect(old.headers.get('cache-control')).toBeNull();
    expect(old.headers.get('last-modified')).toBeNull();
  });

  it('serializes each provider by microversion', async () => {
    const res = await api.at('1.0').get(`/resource_providers?uuid=${world.numa1.uuid}`);
    expect(res.body.resource_providers).toEqual([
      expect.objectContaining({ uuid: world.numa1.uuid, name: 'list-numa1', generation: expect.any(Number) }),
    ]);
    expect(res.body.resource_providers[0].links).toHaveLength(3);
    expect(res.body.resource_providers[0]).not.toHaveProperty('root_provider_uuid');
    const nested = await api.at('1.14').get(`/resource_providers?uuid=${world.numa1.uuid}`);
    expect(nested.body.resource_providers[0]).toMatchObject({
      parent_provider_uuid: world.cn1.uuid,
      root_provider_uuid: world.cn1.uuid,
    });
  });

  it('filters by name and uuid; empty name means no filter', async () => {
    expect(await listed('?name=list-cn2', '1.0')).toEqual(['cn2']);
    expect(await listed('?name=nobody', '1.0')).toEqual([]);
    expect(await listed(`?uuid=${world.lone.uuid}`, '1.0')).toEqual(['lone']);
    expect(await listed(`?uuid=${randomUUID()}`, '1.0')).toEqual([]);
    expect(await listed('?name=', '1.0')).toEqual(['cn1', 'cn2', 'lone', 'numa1']);
  });

  it('refuses a malformed uuid and unknown parameters with Invalid query string parameters', async () => {
    expect(await refused('?uuid=spameggs')).toContain("Invalid query string parameters: 'spameggs' is not a 'uuid'");
    expect(await refused('?spam=eggs')).toContain(
      "Invalid query string parameters: Additional properties are not allowed ('spam' was unexpected)",
    );
  });

  it('introduces each filter at its microversion', async () => {
    expect(await refused(`?member_of=${AGG_A}`, '1.2')).toContain('Invalid query string parameters');
    expect(await refused('?resources=VCPU:1', '1.3')).toContain('Invalid query string parameters');
    expect(await refused(`?in_tree=${world.cn1.uuid}`, '1.13')).toContain('Invalid query string parameters');
    expect(await refused('?required=CUSTOM_GOLD', '1.17')).toContain('Additional properties are not allowed');
    expect(await listed(`?member_of=${AGG_A}`, '1.3')).toEqual(['cn1']);
    expect(await listed('?resources=VCPU:1', '1.4')).toEqual(['cn1', 'cn2', 'numa1']);
    expect(await listed(`?in_tree=${world.numa1.uuid}`, '1.14')).toEqual(['cn1', 'numa1']);
    expect(await listed('?required=CUSTOM_GOLD', '1.18')).toEqual(['cn1']);
  });

  describe('member_of', () => {
    it('matches one aggregate, or any of several with in:', async () => {
      expect(await listed(`?member_of=${AGG_B}`)).toEqual(['cn1', 'cn2']);
      expect(await listed(`?member_of=in:${AGG_A},${AGG_C}`)).toEqual(['cn1', 'lone']);
      expect(await listed(`?member_of=${randomUUID()}`)).toEqual([]);
    });

    it('refuses several uuids without in:, and values that are no uuids', async () => {
      expect(await refused(`?member_of=${AGG_A},${AGG_B}`)).toContain(
        `Multiple values for 'member_of' must be prefixed with the 'in:' or '!in:' keyword using the valid microversion. Got: ${AGG_A},${AGG_B}`,
      );
      expect(await refused('?member_of=not+a+uuid')).toContain(
        "Invalid query string parameters: Expected 'member_of' parameter to contain valid UUID(s). Got: not a uuid",
      );
      expect(await refused('?member_of=')).toContain("Expected 'member_of' parameter to contain valid UUID(s).");
    });

    it('refuses a repeated member_of before 1.24 and ANDs repeats from 1.24', async () => {
      expect(await refused(`?member_of=${AGG_A}&member_of=${AGG_B}`, '1.23')).toContain(
        'Multiple member_of parameters are not supported',
      );
      expect(await listed(`?member_of=${AGG_A}&member_of=${AGG_B}`, '1.24')).toEqual(['cn1']);
      expect(await listed(`?member_of=${AGG_B}&member_of=in:${AGG_A},${AGG_C}`, '1.24')).toEqual(['cn1']);
    });

    it('refuses ! before 1.32 and excludes with ! and !in: from 1.32', async () => {
      expect(await refused(`?member_of=!${AGG_A}`, '1.31')).toContain(
        'Forbidden member_of parameters are not supported in the specified microversion',
      );
      expect(await refused(`?member_of=!in:${AGG_A},${AGG_C}`, '1.31')).toContain(
        'Forbidden member_of parameters are not supported',
      );
      expect(await listed(`?member_of=!${AGG_A}`, '1.32')).toEqual(['cn2', 'lone', 'numa1']);
      expect(await listed(`?member_of=!in:${AGG_A},${AGG_C}`, '1.32')).toEqual(['cn2', 'numa1']);
      expect(await listed(`?member_of=!${AGG_A}&member_of=${AGG_B}`, '1.32')).toEqual(['cn2']);
      expect(await listed(`?member_of=!${randomUUID()}`, '1.32')).toEqual(['cn1', 'cn2', 'lone', 'numa1']);
      expect(await refused(`?member_of=in:${AGG_A},!${AGG_B}`, '1.32')).toContain(
        "Expected 'member_of' parameter to contain valid UUID(s).",
      );
    });
  });

  describe('resources', () => {
    it('lists only providers that alone have capacity, counting usage, reserved and allocation ratio', async () => {
      // cn1 has 8 VCPU with 6 used; cn2 has (4 - 1) * 2 = 6; numa1 has 4.
      expect(await listed('?resources=VCPU:2')).toEqual(['cn1', 'cn2', 'numa1']);
      expect(await listed('?resources=VCPU:3')).toEqual(['cn2', 'numa1']);
      expect(await listed('?resources=VCPU:6')).toEqual(['cn2']);
      expect(await listed('?resources=VCPU:7')).toEqual([]);
    });

    it('honours min_unit, max_unit and step_size', async () => {
      expect(await listed('?resources=MEMORY_MB:512')).toEqual(['cn1']);
      expect(await listed('?resources=MEMORY_MB:256')).toEqual([]);
      expect(await listed('?resources=MEMORY_MB:4096')).toEqual([]);
      expect(await listed('?resources=MEMORY_MB:600')).toEqual([]);
      expect(await listed('?resources=MEMORY_MB:1024,VCPU:2')).toEqual(['cn1']);
      expect(await listed('?resources=DISK_GB:1')).toEqual([]);
    });

    it('refuses badly formed values with Placement’s messages', async () => {
      expect(await refused('?resources=')).toContain(
        'Badly formed resources parameter. Expected resources query string parameter in form: ?resources=VCPU:2,MEMORY_MB:1024. Got: empty string.',
      );
      expect(await refused('?resources=VCPU')).toContain('Got: VCPU.');
      expect(await refused('?resources=DISK_GB:500,')).toContain('Badly formed resources parameter');
      expect(await refused('?resources=VCPU:fred')).toContain(
        'Requested resource VCPU expected positive integer amount. Got: fred.',
      );
      expect(await refused('?resources=VCPU:-2')).toContain('Requested resource VCPU requires amount >= 1. Got: -2.');
      expect(await refused('?resources=VCPU:0')).toContain('Requested resource VCPU requires amount >= 1. Got: 0.');
    });

    it('refuses an unknown resource class', async () => {
      expect(await refused('?resources=MYMISSINGCLASS:1')).toContain(
        'Invalid resource class in resources parameter: No such resource class MYMISSINGCLASS.',
      );
    });
  });

  describe('in_tree', () => {
    it('lists the whole tree of any member, and nothing for an unknown provider', async () => {
      expect(await listed(`?in_tree=${world.cn1.uuid}`)).toEqual(['cn1', 'numa1']);
      expect(await listed(`?in_tree=${world.numa1.uuid}`)).toEqual(['cn1', 'numa1']);
      expect(await listed(`?in_tree=${world.cn2.uuid}`)).toEqual(['cn2']);
      expect(await listed(`?in_tree=${randomUUID()}`)).toEqual([]);
    });

    it('refuses a malformed uuid', async () => {
      expect(await refused('?in_tree=not-a-uuid')).toContain(
        "Invalid query string parameters: 'not-a-uuid' is not a 'uuid'",
      );
    });

    it('combines with the other filters', async () => {
      expect(await listed(`?in_tree=${world.cn1.uuid}&required=HW_CPU_X86_AVX2&resources=VCPU:3`)).toEqual(['numa1']);
    });
  });

  describe('required', () => {
    it('needs every listed trait', async () => {
      expect(await listed('?required=HW_CPU_X86_AVX2')).toEqual(['cn1', 'numa1']);
      expect(await listed('?required=HW_CPU_X86_AVX2,CUSTOM_GOLD')).toEqual(['cn1']);
      expect(await listed('?required=CUSTOM_GOLD,CUSTOM_SILVER')).toEqual([]);
    });

    it('refuses ! before 1.22 and forbids traits from 1.22', async () => {
      expect(await refused('?required=!CUSTOM_GOLD', '1.21')).toContain(
        "Invalid query string parameters: Expected 'required' parameter value of the form: HW_CPU_X86_VMX,CUSTOM_MAGIC. Got: !CUSTOM_GOLD",
      );
      expect(await listed('?required=!CUSTOM_GOLD', '1.22')).toEqual(['cn2', 'lone', 'numa1']);
      expect(await listed('?required=HW_CPU_X86_AVX2,!CUSTOM_GOLD', '1.22')).toEqual(['numa1']);
    });

    it('refuses empty trait names with the form for the microversion', async () => {
      expect(await refused('?required=')).toContain(
        "Invalid query string parameters: Expected 'required' parameter value of the form: HW_CPU_X86_VMX,!CUSTOM_MAGIC. Got an empty trait in: ",
      );
      expect(await refused('?required=', '1.21')).toContain(
        'parameter value of the form: HW_CPU_X86_VMX,CUSTOM_MAGIC. Got an empty trait in: ',
      );
      expect(await refused('?required=CUSTOM_GOLD,,CUSTOM_SILVER')).toContain(
        'Got an empty trait in: CUSTOM_GOLD,,CUSTOM_SILVER',
      );
    });

    it('refuses unknown traits, required or forbidden', async () => {
      expect(await refused('?required=CUSTOM_GOLD,BOGUS_TRAIT')).toContain(
        'Invalid trait(s) in "required" parameter: No such trait(s): BOGUS_TRAIT.',
      );
      expect(await refused('?required=!BOGUS_TRAIT')).toContain('No such trait(s): BOGUS_TRAIT.');
    });

    it('refuses in: before 1.39 and takes only the last repeated value', async () => {
      expect(await refused('?required=in:CUSTOM_GOLD,CUSTOM_SILVER', '1.38')).toContain(
        "The format 'in:HW_CPU_X86_VMX,CUSTOM_MAGIC' only supported since microversion 1.39. Got: in:CUSTOM_GOLD,CUSTOM_SILVER",
      );
      expect(await listed('?required=CUSTOM_GOLD&required=CUSTOM_SILVER', '1.38')).toEqual(['cn2']);
    });

    it('matches any of in: and ANDs repeated values from 1.39', async () => {
      expect(await listed('?required=in:CUSTOM_GOLD,CUSTOM_SILVER')).toEqual(['cn1', 'cn2']);
      expect(await listed('?required=in:CUSTOM_GOLD,CUSTOM_SILVER&required=HW_CPU_X86_AVX2')).toEqual(['cn1']);
      expect(await listed('?required=in:CUSTOM_GOLD,CUSTOM_SILVER&required=!CUSTOM_GOLD')).toEqual(['cn2']);
      expect(await listed('?required=CUSTOM_GOLD&required=CUSTOM_SILVER')).toEqual([]);
    });

    it('refuses forbidden or empty traits inside in:', async () => {
      expect(await refused('?required=in:CUSTOM_GOLD,!CUSTOM_SILVER')).toContain(
        "The format 'in:HW_CPU_X86_VMX,CUSTOM_MAGIC' does not support forbidden traits. Got: in:CUSTOM_GOLD,!CUSTOM_SILVER",
      );
      expect(await refused('?required=in:CUSTOM_GOLD,')).toContain(
        "Expected 'required' parameter value of the form: in:HW_CPU_X86_VMX,CUSTOM_MAGIC. Got an empty trait in: in:CUSTOM_GOLD,",
      );
    });
  });

  it('ANDs all filters together', async () => {
    expect(await listed(`?member_of=${AGG_B}&required=CUSTOM_SILVER&resources=VCPU:5`)).toEqual(['cn2']);
    expect(await listed(`?member_of=${AGG_B}&required=CUSTOM_GOLD&resources=VCPU:5`)).toEqual([]);
  });
});
