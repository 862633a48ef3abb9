import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PUBLIC, type HttpMethod } from '../../src/http/route-table';
import { POLICY } from '../../src/policy/rules';
import { ROUTES } from '../../src/routes';
import { startAppInstance, type AppInstance } from '../helpers/server';
import { seedProvider } from '../helpers/seed';
import { startTestServer, type TestServer } from '../helpers/server';

let api: TestServer;
beforeAll(async () => {
  api = await startTestServer();
});
afterAll(async () => {
  await api.close();
});

const LATEST = '1.39';
const PROJECT = 'c5d3e7f0a1b24c6d8e9f0a1b2c3d4e5f';
/** The callers of Placement's RBAC gabbits, as noauth2 headers. */
const AS = {
  admin: { 'x-auth-token': 'admin' },
  service: { 'x-auth-token': 'nova:service', 'x-roles': 'service' },
  projectAdmin: { 'x-auth-token': 'user', 'x-roles': 'admin,member,reader', 'x-project-id': PROJECT },
  member: { 'x-auth-token': 'user', 'x-roles': 'member,reader', 'x-project-id': PROJECT },
  reader: { 'x-auth-token': 'user', 'x-roles': 'reader', 'x-project-id': PROJECT },
  noRoles: { 'x-auth-token': `user:${PROJECT}` },
  systemAdmin: { 'x-auth-token': 'user', 'x-roles': 'admin,member,reader', 'openstack-system-scope': 'all' },
  systemReader: { 'x-auth-token': 'user', 'x-roles': 'reader', 'openstack-system-scope': 'all' },
} as const;

const detail = (res: { body: any }) => String(res.body?.errors?.[0]?.detail ?? '');
const refusal = (action: string) => `Policy does not allow ${action} to be performed.`;

function expectRefused(res: { status: number; body: any }, action: string): void {
  expect(res.status).toBe(403);
  expect(res.body.errors[0].title).toBe('Forbidden');
  expect(detail(res)).toBe(`Access was denied to this resource.\n\n ${refusal(action)}  `);
}

/** Every route method that has a policy, with its path made concrete. */
const GUARDED = Object.entries(ROUTES).flatMap(([template, methods]) =>
  Object.entries(methods)
    .filter(([, method]) => method!.policy !== PUBLIC)
    .map(([verb, method]) => {
      const concrete = template.replace(/\{(\w+)\}/g, (_m, name: string) =>
        name === 'resource_class' || name === 'name' ? 'CUSTOM_POLICY' : randomUUID(),
      );
      return [`${verb} ${template}`, verb as HttpMethod, concrete, method!.policy, Boolean(method!.takesBody)] as const;
    }),
);

describe('policy: secure defaults', () => {
  it('guards every non-public route with one of Placement’s policies, and uses them all', () => {
    const used = new Set(GUARDED.map(([, , , policy]) => policy));
    expect(used).toEqual(new Set(Object.values(POLICY)));
  });

  it.each(GUARDED)(
    '%s refuses a project member with 403 naming its policy',
    async (_name, verb, concrete, policy, takesBody) => {
      // GET /usages is open to the member's own project: ask about another one.
      const url = policy === POLICY.TOTAL_USAGES ? `${concrete}?project_id=${randomUUID()}` : concrete;
      // Emplace's capacity view is open to readers (a member is one): a caller without roles is refused.
      const who = policy === POLICY.EMPLACE_CAPACITY_SHOW ? AS.noRoles : AS.member;
      // Any media type: GET /metrics answers text/plain, and Accept is checked before the policy.
      const res = await api.request(verb, url, {
        version: LATEST,
        headers: { ...who, accept: '*/*' },
        body: takesBody ? {} : undefined,
      });
      expectRefused(res, policy as string);
    },
  );

  it('lets the admin role and the service role in, each with their own token', async () => {
    for (const who of [AS.admin, AS.service, AS.projectAdmin]) {
      const res = await api.at(LATEST, who).get('/resource_providers');
      expect(res.status).toBe(200);
    }
    const created = await api.at(LATEST, AS.service).post('/resource_providers', { name: `svc-${randomUUID()}` });
    expect(created.status).toBe(200);
  });

  it('refuses readers, members and role-less tokens the provider list with the exact detail', async () => {
    for (const who of [AS.reader, AS.member, AS.noRoles]) {
      expectRefused(await api.at(LATEST, who).get('/resource_providers'), 'placement:resource_providers:list');
    }
  });

  it('reads roles as noauth2 does: the admin token has the admin role, a present X-Roles replaces it, even empty', async () => {
    expect((await api.at(LATEST, { 'x-auth-token': 'admin:some-project' }).get('/traits')).status).toBe(200);
    expectRefused(
      await api.at(LATEST, { 'x-auth-token': 'admin', 'x-roles': 'reader' }).get('/traits'),
      'placement:traits:list',
    );
    expectRefused(
      await api.at(LATEST, { 'x-auth-token': 'admin', 'x-roles': '' }).get('/traits'),
      'placement:traits:list',
    );
    expect((await api.at(LATEST, { 'x-auth-token': 'nova', 'x-roles': 'reader, service' }).get('/traits')).status).toBe(
      200,
    );
  });

  it('keeps the reshaper for the service role: admin refused, service reaches validation', async () => {
    expectRefused(await api.at(LATEST, AS.admin).post('/reshaper', {}), 'placement:reshaper:reshape');
    const service = await api.at(LATEST, AS.service).post('/reshaper', {});
    expect(service.status).toBe(400);
  });

  it('lets a project reader see total usages of its own project only', async () => {
    const own = await api.at(LATEST, AS.reader).get(`/usages?project_id=${PROJECT}`);
    expect(own.status).toBe(200);
    expect(own.body).toEqual({ usages: {} });
    expect((await api.at(LATEST, AS.member).get(`/usages?project_id=${PROJECT}`)).status).toBe(200);
    expectRefused(await api.at(LATEST, AS.reader).get(`/usages?project_id=${randomUUID()}`), 'placement:usages');
    // Without project_id there is no project to match: refused before the 400 for the missing parameter.
    expectRefused(await api.at(LATEST, AS.reader).get('/usages'), 'placement:usages');
    expect((await api.at(LATEST, AS.admin).get('/usages')).status).toBe(400);
    expect((await api.at(LATEST, AS.admin).get(`/usages?project_id=${randomUUID()}`)).status).toBe(200);
  });

  it('refuses system-scoped tokens, even with the admin role', async () => {
    for (const who of [AS.systemAdmin, AS.systemReader]) {
      expectRefused(await api.at(LATEST, who).get('/resource_providers'), 'placement:resource_providers:list');
      expectRefused(await api.at(LATEST, who).get(`/usages?project_id=${PROJECT}`), 'placement:usages');
    }
  });

  it('answers 403 before looking at the body, but 415 and 404 before the policy, as Placement does', async () => {
    const malformed = await api.request('POST', '/resource_providers', {
      version: LATEST,
      headers: { ...AS.member, 'content-type': 'application/json' },
      rawBody: '{not json',
    });
    expectRefused(malformed, 'placement:resource_providers:create');
    const invalid = await api.at(LATEST, AS.reader).post('/reshaper', { inventories: [], allocations: {} });
    expectRefused(invalid, 'placement:reshaper:reshape');
    const textBody = await api.request('POST', '/resource_providers', {
      version: LATEST,
      headers: { ...AS.member, 'content-type': 'text/plain' },
      rawBody: 'x',
    });
    expect(textBody.status).toBe(415);
    expect((await api.at('1.29', AS.member).post('/reshaper', {})).status).toBe(404);
    expect((await api.at(LATEST, AS.member).get('/nowhere')).status).toBe(404);
  });

  it('still serves the root without a token or a policy', async () => {
    const res = await api.request('GET', '/', { headers: { 'x-auth-token': '' } });
    expect(res.status).toBe(200);
  });
});

describe('policy: operator configuration', () => {
  let open: AppInstance;
  let legacy: AppInstance;
  let unscoped: AppInstance;
  beforeAll(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'emplace-policy-'));
    const file = path.join(dir, 'policy.yaml');
    writeFileSync(
      file,
      `# readers may list and show providers\n"placement:resource_providers:list": "role:reader"\n"placement:resource_providers:show": "rule:admin_or_service_api or role:reader"\n`,
    );
    open = await startAppInstance(api.database, { EMPLACE_POLICY_FILE: file }, 2);
    legacy = await startAppInstance(api.database, { EMPLACE_POLICY_ENFORCE_NEW_DEFAULTS: 'false' }, 2);
    unscoped = await startAppInstance(
      api.database,
      { EMPLACE_POLICY_ENFORCE_NEW_DEFAULTS: 'false', EMPLACE_POLICY_ENFORCE_SCOPE: 'false' },
      2,
    );
  });
  afterAll(async () => {
    await Promise.all([open, legacy, unscoped].map((instance) => instance?.close()));
  });

  it('an override file loosens the rules it names, as written, and no others', async () => {
    const provider = await seedProvider(api.database.db);
    expect((await open.at(LATEST).get('/resource_providers', undefined, AS.reader)).status).toBe(200);
    expect((await open.at(LATEST).get(`/resource_providers/${provider.uuid}`, undefined, AS.reader)).status).toBe(200);
    // The list rule now says role:reader only: the admin role alone no longer matches it.
    expectRefused(
      await open.at(LATEST).get('/resource_providers', undefined, { 'x-roles': 'admin' }),
      'placement:resource_providers:list',
    );
    expect((await open.at(LATEST).get(`/resource_providers/${provider.uuid}`, undefined, AS.admin)).status).toBe(200);
    expectRefused(
      await open.at(LATEST).delete(`/resource_providers/${provider.uuid}`, undefined, AS.reader),
      'placement:resource_providers:delete',
    );
  });

  it('legacy mode accepts the deprecated admin-only rule: the admin may reshape, members still may not', async () => {
    expect((await legacy.at(LATEST).post('/reshaper', {}, AS.admin)).status).toBe(400);
    expectRefused(await legacy.at(LATEST).post('/reshaper', {}, AS.member), 'placement:reshaper:reshape');
    expectRefused(
      await legacy.at(LATEST).get('/resource_providers', undefined, AS.member),
      'placement:resource_providers:list',
    );
  });

  it('legacy mode still refuses system scope unless scope enforcement is off too', async () => {
    expectRefused(
      await legacy.at(LATEST).get('/resource_providers', undefined, AS.systemAdmin),
      'placement:resource_providers:list',
    );
    expect((await unscoped.at(LATEST).get('/resource_providers', undefined, AS.systemAdmin)).status).toBe(200);
    expectRefused(
      await unscoped.at(LATEST).get('/resource_providers', undefined, AS.systemReader),
      'placement:resource_providers:list',
    );
  });
});
