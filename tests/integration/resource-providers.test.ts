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
async function createProvider(name = `rp-${randomUUID().slice(0, 8)}`, parent?: string): Promise<SeedProvider & { body: any }> {
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
    expect(detail(res)).toContain(`Conflicting resource provider uuid: ${existing.uuid}, name: dup-both already exists.`);
  });

  it.each([
    ['a missing name', {}, "'name' is a required property"],
    ['a name over 200 characters', { name: 'x'.repeat(201) }, 'is too long'],
    ['a name that is not a string', { name: 42 }, "42 is not of type 'string'"],
    ['a malformed uuid', { name: 'bad-uuid', uuid: 'this is not a uuid' }, "'this is not a uuid' is not a 'uuid'"],
    ['an extra property', { name: 'extra', generation: 1 }, "Additional properties are not allowed ('generation' was unexpected)"],
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
    const res = await api.at('1.13').post('/resource_providers', { name: 'early-child', parent_provider_uuid: parent.uuid });
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
    expect(detail(res)).toContain(`Unable to create resource provider "orphan", ${uuid}: Object action create failed because: parent provider UUID does not exist.`);
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
    ['a generation', { name: 'x', generation: 0 }, "Additional properties are not allowed ('generation' was unexpected)"],
    ['a root provider uuid', { name: 'x', root_provider_uuid: randomUUID() }, "Additional properties are not allowed ('root_provider_uuid' was unexpected)"],
    ['a name of the wrong type', { name: ['x'] }, "['x'] is not of type 'string'"],
  ])('refuses %s with 400', async (_label, body, message) => {
    const rp = await createProvider();
    const res = await latest.put(`/resource_providers/${rp.uuid}`, body);
    expect(res.status).toBe(400);
    expect(detail(res)).toContain(message);
  });

  it('refuses parent_provider_uuid before 1.14', async () => {
    const [parent, rp] = [await createProvider(), await createProvider()];
    const res = await api.at('1.13').put(`/resource_providers/${rp.uuid}`, { name: rp.name, parent_provider_uuid: parent.uuid });
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
    const res = await api.at('1.14').put(`/resource_providers/${oldRoot.uuid}`, { name: oldRoot.name, parent_provider_uuid: newRoot.uuid });
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
    const res = await api.at('1.14').put(`/resource_providers/${child.uuid}`, { name: child.name, parent_provider_uuid: parent.uuid });
    expect(res.status).toBe(200);
  });

  it('refuses re-parenting before 1.37 and allows it from 1.37, moving the subtree', async () => {
    const [a, b] = [await createProvider(), await createProvider()];
    const child = await createProvider(undefined, a.uuid);
    const grandchild = await createProvider(undefined, child.uuid);
    const early = await api.at('1.36').put(`/resource_providers/${child.uuid}`, { name: child.name, parent_provider_uuid: b.uuid });
    expect(early.status).toBe(400);
    expect(detail(early)).toContain(
      `Unable to save resource provider ${child.uuid}: Object action update failed because: re-parenting a provider is not currently allowed.`,
    );
    const res = await api.at('1.37').put(`/resource_providers/${child.uuid}`, { name: child.name, parent_provider_uuid: b.uuid });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ parent_provider_uuid: b.uuid, root_provider_uuid: b.uuid });
    expect((await latest.get(`/resource_providers/${grandchild.uuid}`)).body.root_provider_uuid).toBe(b.uuid);
  });

  it('refuses un-parenting before 1.37 and allows it from 1.37, making the subtree its own tree', async () => {
    const root = await createProvider();
    const child = await createProvider(undefined, root.uuid);
    const grandchild = await createProvider(undefined, child.uuid);
    const early = await api.at('1.36').put(`/resource_providers/${child.uuid}`, { name: child.name, parent_provider_uuid: null });
    expect(early.status).toBe(400);
    expect(detail(early)).toContain('un-parenting a provider is not currently allowed.');
    const res = await api.at('1.37').put(`/resource_providers/${child.uuid}`, { name: child.name, parent_provider_uuid: null });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ parent_provider_uuid: null, root_provider_uuid: child.uuid });
    expect((await latest.get(`/resource_providers/${grandchild.uuid}`)).body.root_provider_uuid).toBe(child.uuid);
    expect((await latest.get(`/resource_providers?in_tree=${root.uuid}`)).body.resource_providers).toHaveLength(1);
  });

  it('accepts a null parent for a root at any version from 1.14', async () => {
    const rp = await createProvider();
    const res = await api.at('1.14').put(`/resource_providers/${rp.uuid}`, { name: rp.name, parent_provider_uuid: null });
    expect(res.status).toBe(200);
  });

  it('refuses loops: a provider under itself or under its own descendant', async () => {
    const root = await createProvider();
    const child = await createProvider(undefined, root.uuid);
    const grandchild = await createProvider(undefined, child.uuid);
    const self = await latest.put(`/resource_providers/${root.uuid}`, { name: root.name, parent_provider_uuid: root.uuid });
    expect(self.status).toBe(400);
    expect(detail(self)).toContain('creating loop in the provider tree is not allowed.');
    const below = await latest.put(`/resource_providers/${child.uuid}`, { name: child.name, parent_provider_uuid: grandchild.uuid });
    expect(below.status).toBe(400);
    expect(detail(below)).toContain('creating loop in the provider tree is not allowed.');
    expect((await latest.get(`/resource_providers/${child.uuid}`)).body.parent_provider_uuid).toBe(root.uuid);
  });

  it('refuses an unknown parent with 400', async () => {
    const rp = await createProvider();
    const res = await latest.put(`/resource_providers/${rp.uuid}`, { name: rp.name, parent_provider_uuid: randomUUID() });
    expect(res.status).toBe(400);
    expect(detail(res)).toContain('parent provider UUID does not exist.');
  });

  it('keeps trees consistent when two providers are moved under each other concurrently', async () => {
    const [a, b] = [await createProvider(), await createProvider()];
    const results = await Promise.all([
      latest.put(`/resource_providers/${a.uuid}`, { name: a.name, parent_provider_uuid: b.uuid }),
      latest.put(`/resource_providers/${b.uuid}`, { name: b.name, parent_provider_uuid: a.uuid }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 400]);
    const rows = await api.database.db('resource_providers').whereIn('id', [a.id, b.id]);
    const roots = rows.filter((row) => row.parent_provider_id === null);
    expect(roots).toHaveLength(1);
    expect(rows.every((row) => Number(row.root_provider_id) === Number(roots[0].id))).toBe(true);
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
    expect(detail(res)).toContain(`Unable to delete parent resource provider ${parent.uuid}: It has child resource providers.`);
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
