import { randomUUID } from 'node:crypto';
import { startAppInstance, type AppInstance } from '../helpers/server';
import { seedInventory, seedProvider, type SeedProvider } from '../helpers/seed';
import { startTestServer, type TestServer } from '../helpers/server';
import { setHeartbeatAge } from './emplace-world';

/**
 * Heartbeats and EMPLACE_STALE_AFTER_SECONDS. One world, two service processes over it: `api` without
 * the option (Placement's behaviour) and `strict` with a 60-second threshold. Hosts:
 * fresh (spoke 5 s ago), silent (an hour ago), never (no heartbeat: nova-reported), and two nested
 * hosts where only the root or only the child is silent.
 */
let api: TestServer;
let strict: AppInstance;
const p: Record<string, SeedProvider> = {};

beforeAll(async () => {
  api = await startTestServer();
  strict = await startAppInstance(api.database, { EMPLACE_STALE_AFTER_SECONDS: '60' }, 2);
  const db = api.database.db;
  for (const name of ['fresh', 'silent', 'never']) {
    p[name] = await seedProvider(db, { name });
    await seedInventory(db, p[name], { VCPU: 4 });
  }
  for (const name of ['silentRoot', 'silentChild']) {
    p[name] = await seedProvider(db, { name });
    p[`${name}.numa`] = await seedProvider(db, { name: `${name}.numa`, parent: p[name] });
    await seedInventory(db, p[`${name}.numa`], { VCPU: 4 });
  }
  await setHeartbeatAge(db, p.fresh, 5);
  await setHeartbeatAge(db, p.silent, 3600);
  await setHeartbeatAge(db, p.silentRoot, 3600);
  await setHeartbeatAge(db, p['silentRoot.numa'], 5);
  await setHeartbeatAge(db, p.silentChild, 5);
  await setHeartbeatAge(db, p['silentChild.numa'], 3600);
});
afterAll(async () => {
  await strict.close();
  await api.close();
});

const detail = (res: { body: any }) => String(res.body?.errors?.[0]?.detail ?? '');
const nameOf = (uuid: string) => Object.keys(p).find((name) => p[name].uuid === uuid) ?? uuid;

async function candidateRoots(service: { at: TestServer['at'] }, query = 'resources=VCPU:1'): Promise<string[]> {
  const res = await service.at('1.39').get(`/allocation_candidates?${query}`);
  expect(res.status).toBe(200);
  const names = res.body.allocation_requests.map((r: any) => nameOf(Object.keys(r.allocations)[0]).split('.')[0]);
  return [...new Set<string>(names)].sort();
}

describe('PUT /emplace/heartbeats/{uuid}', () => {
  it('records the time and changes nothing else: 204, no body, same generation', async () => {
    const rp = await seedProvider(api.database.db, { name: `beat-${randomUUID()}` });
    const before = (await api.at('1.39').get(`/resource_providers/${rp.uuid}`)).body;
    const res = await api.at('1.39').put(`/emplace/heartbeats/${rp.uuid.toUpperCase()}`);
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    const after = (await api.at('1.39').get(`/resource_providers/${rp.uuid}`)).body;
    expect(after.generation).toBe(before.generation);
    const row = await api.database.db('emplace_heartbeats').where({ resource_provider_id: rp.id }).first();
    expect(Date.now() - new Date(row.heartbeat_at).getTime()).toBeLessThan(60_000);
    await setHeartbeatAge(api.database.db, rp, 100);
    expect((await api.at('1.39').put(`/emplace/heartbeats/${rp.uuid}`)).status).toBe(204);
    const again = await api.database.db('emplace_heartbeats').where({ resource_provider_id: rp.id }).first();
    expect(Date.now() - new Date(again.heartbeat_at).getTime()).toBeLessThan(60_000);
  });

  it('404s in Placement’s words for an unknown or malformed provider uuid', async () => {
    const uuid = randomUUID();
    const res = await api.at('1.39').put(`/emplace/heartbeats/${uuid}`);
    expect(res.status).toBe(404);
    expect(res.body.errors[0].code).toBe('placement.resource_provider.not_found');
    expect(detail(res)).toContain(`No resource provider with uuid ${uuid} found`);
    expect((await api.at('1.39').put('/emplace/heartbeats/not-a-uuid')).status).toBe(404);
    const get = await api.at('1.39').get(`/emplace/heartbeats/${uuid}`);
    expect([get.status, get.headers.get('allow')]).toEqual([405, 'PUT, DELETE']);
  });

  it('goes with its provider when the provider is deleted', async () => {
    const rp = await seedProvider(api.database.db, { name: `gone-${randomUUID()}` });
    expect((await api.at('1.39').put(`/emplace/heartbeats/${rp.uuid}`)).status).toBe(204);
    expect((await api.at('1.39').delete(`/resource_providers/${rp.uuid}`)).status).toBe(204);
    const listed = (await api.at('1.39').get('/emplace/heartbeats')).body.heartbeats.map(
      (h: any) => h.resource_provider_uuid,
    );
    expect(listed).not.toContain(rp.uuid);
  });

  it('is the service’s (and admin’s) to send', async () => {
    const member = { 'x-auth-token': 'user', 'x-roles': 'member,reader', 'x-project-id': 'p1' };
    const refused = await api.at('1.39').put(`/emplace/heartbeats/${p.fresh.uuid}`, undefined, member);
    expect(refused.status).toBe(403);
    expect(detail(refused)).toContain('Policy does not allow emplace:heartbeats:update to be performed.');
    const service = { 'x-auth-token': 'agent:service', 'x-roles': 'service' };
    expect((await api.at('1.39').put(`/emplace/heartbeats/${p.fresh.uuid}`, undefined, service)).status).toBe(204);
    await setHeartbeatAge(api.database.db, p.fresh, 5);
  });
});

describe('GET /emplace/heartbeats', () => {
  it('lists every provider that sent one, with its last time, in uuid order', async () => {
    const res = await api.at('1.39').get('/emplace/heartbeats');
    expect(res.status).toBe(200);
    const beats = res.body.heartbeats.filter((h: any) => nameOf(h.resource_provider_uuid) in p);
    expect(beats.map((h: any) => nameOf(h.resource_provider_uuid)).sort()).toEqual(
      ['fresh', 'silent', 'silentChild', 'silentChild.numa', 'silentRoot', 'silentRoot.numa'].sort(),
    );
    const uuids = res.body.heartbeats.map((h: any) => h.resource_provider_uuid);
    expect(uuids).toEqual([...uuids].sort());
    const numa = beats.find((h: any) => h.resource_provider_uuid === p['silentRoot.numa'].uuid);
    expect(numa).toMatchObject({ name: 'silentRoot.numa', root_provider_uuid: p.silentRoot.uuid });
    expect(numa.age_seconds).toBeGreaterThanOrEqual(5);
    expect(numa.age_seconds).toBeLessThan(3600);
    expect(Date.parse(numa.heartbeat_at)).toBeLessThan(Date.now());
    expect(res.body).toMatchObject({ stale_after_seconds: null, next_marker: null });
  });

  it('with stale_after lists only the providers silent for longer', async () => {
    const res = await api.at('1.39').get('/emplace/heartbeats?stale_after=60');
    expect(res.body.stale_after_seconds).toBe(60);
    expect(res.body.heartbeats.map((h: any) => nameOf(h.resource_provider_uuid)).sort()).toEqual(
      ['silent', 'silentChild.numa', 'silentRoot'].sort(),
    );
    expect(res.body.heartbeats.every((h: any) => h.age_seconds >= 3600)).toBe(true);
  });

  it('pages with limit and marker', async () => {
    const all = (await api.at('1.39').get('/emplace/heartbeats')).body.heartbeats.map(
      (h: any) => h.resource_provider_uuid,
    );
    const seen: string[] = [];
    let marker: string | null = null;
    do {
      const page: any = await api.at('1.39').get(`/emplace/heartbeats?limit=2${marker ? `&marker=${marker}` : ''}`);
      expect(page.body.heartbeats.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.heartbeats.map((h: any) => h.resource_provider_uuid));
      marker = page.body.next_marker;
    } while (marker);
    expect(seen).toEqual(all);
  });

  it('refuses bad input and callers without the admin or service role', async () => {
    for (const query of ['stale_after=abc', 'stale_after=1234567890', 'limit=0', 'marker=x', 'other=1']) {
      const res = await api.at('1.39').get(`/emplace/heartbeats?${query}`);
      expect([query, res.status]).toEqual([query, 400]);
      expect(detail(res)).toContain('Invalid query string parameters');
    }
    const reader = { 'x-auth-token': 'user', 'x-roles': 'reader', 'x-project-id': 'p1' };
    const refused = await api.at('1.39').get('/emplace/heartbeats', undefined, reader);
    expect(detail(refused)).toContain('Policy does not allow emplace:heartbeats:list to be performed.');
  });
});

describe('EMPLACE_STALE_AFTER_SECONDS and allocation candidates', () => {
  it('off (the default): every tree is a candidate, heartbeat or not, as in Placement', async () => {
    expect(await candidateRoots(api)).toEqual(['fresh', 'never', 'silent', 'silentChild', 'silentRoot']);
  });

  it('on: trees whose root is silent are left out; never-heard roots and silent children are not', async () => {
    expect(await candidateRoots(strict)).toEqual(['fresh', 'never', 'silentChild']);
    // The per-root walk stops after `limit` good roots: silent ones do not use up the limit.
    expect(await candidateRoots(strict, 'resources=VCPU:1&limit=3')).toEqual(['fresh', 'never', 'silentChild']);
    expect(await candidateRoots(api, 'resources=VCPU:1&limit=3')).toEqual(['fresh', 'never', 'silent']);
  });

  it('on: a host whose heartbeat is forgotten (its agent retired) is judged as never heard of', async () => {
    const retired = await seedProvider(api.database.db, { name: 'retired' });
    p.retired = retired;
    await seedInventory(api.database.db, retired, { VCPU: 4 });
    await setHeartbeatAge(api.database.db, retired, 3600);
    expect(await candidateRoots(strict)).not.toContain('retired');
    const generation = (await api.at('1.39').get(`/resource_providers/${retired.uuid}`)).body.generation;
    expect((await strict.at('1.39').delete(`/emplace/heartbeats/${retired.uuid}`)).status).toBe(204);
    expect((await strict.at('1.39').delete(`/emplace/heartbeats/${retired.uuid}`)).status).toBe(204);
    expect(await candidateRoots(strict)).toContain('retired');
    expect((await api.at('1.39').get(`/resource_providers/${retired.uuid}`)).body.generation).toBe(generation);
    const unknown = await strict.at('1.39').delete(`/emplace/heartbeats/${randomUUID()}`);
    expect([unknown.status, unknown.body.errors[0].code]).toEqual([404, 'placement.resource_provider.not_found']);
  });

  it('on: a host that speaks again is a candidate again', async () => {
    const revived = await seedProvider(api.database.db, { name: 'revived' });
    p.revived = revived;
    await seedInventory(api.database.db, revived, { VCPU: 4 });
    await setHeartbeatAge(api.database.db, revived, 3600);
    expect(await candidateRoots(strict)).not.toContain('revived');
    expect((await strict.at('1.39').put(`/emplace/heartbeats/${revived.uuid}`)).status).toBe(204);
    expect(await candidateRoots(strict)).toContain('revived');
  });
});
