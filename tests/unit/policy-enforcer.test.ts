import { loadConfig, ConfigError } from '../../src/config';
import {
  createEnforcer,
  enforcerFromConfig,
  type PolicyCredentials,
  type PolicyOptions,
} from '../../src/policy/enforcer';
import { POLICY, POLICY_DEFAULTS, type PolicyName } from '../../src/policy/rules';

const SECURE: PolicyOptions = { enforceNewDefaults: true, enforceScope: true, overrides: {} };
const LEGACY: PolicyOptions = { ...SECURE, enforceNewDefaults: false };

const caller = (roles: string[], extra: Partial<PolicyCredentials> = {}): PolicyCredentials => ({
  userId: 'u',
  projectId: 'p',
  roles,
  ...extra,
});
const admin = caller(['admin', 'member', 'reader']);
const service = caller(['service']);
const member = caller(['member', 'reader']);
const reader = caller(['reader']);
const systemAdmin = caller(['admin', 'member', 'reader'], { projectId: undefined, systemScope: 'all' });
const own = { project_id: 'p', user_id: 'u' };
const ALL = Object.values(POLICY) as PolicyName[];

describe('policy defaults', () => {
  it('register every Placement action once, with the project scope', () => {
    const names = POLICY_DEFAULTS.map((rule) => rule.name);
    expect(new Set(names).size).toBe(names.length);
    for (const name of ALL) expect(POLICY_DEFAULTS.find((rule) => rule.name === name)?.scopeTypes).toEqual(['project']);
    // Placement's 33 and Emplace's own 6 (emplace:*).
    expect(ALL).toHaveLength(39);
  });

  it('allow admin and service on every action but the reshaper (service only) and metrics (admin only)', () => {
    const enforcer = createEnforcer(SECURE);
    for (const action of ALL) {
      expect(enforcer.allows(action, service, own)).toBe(action !== POLICY.EMPLACE_METRICS_SHOW);
      expect(enforcer.allows(action, admin, own)).toBe(action !== POLICY.RESHAPE);
    }
  });

  it('refuse project members and readers everywhere but their own project total usages and the capacity view', () => {
    const enforcer = createEnforcer(SECURE);
    for (const action of ALL) {
      const expected = action === POLICY.TOTAL_USAGES || action === POLICY.EMPLACE_CAPACITY_SHOW;
      expect(enforcer.allows(action, member, own)).toBe(expected);
      expect(enforcer.allows(action, reader, own)).toBe(expected);
    }
    expect(enforcer.allows(POLICY.TOTAL_USAGES, reader, { project_id: 'other' })).toBe(false);
    expect(enforcer.allows(POLICY.TOTAL_USAGES, reader, { project_id: undefined })).toBe(false);
    expect(enforcer.allows(POLICY.TOTAL_USAGES, admin, { project_id: 'other' })).toBe(true);
    expect(enforcer.allows(POLICY.TOTAL_USAGES, caller([]), own)).toBe(false);
  });

  it('refuse a system-scoped token even with the admin role, and allow it when scope is not enforced', () => {
    expect(createEnforcer(SECURE).allows(POLICY.RESOURCE_PROVIDERS_LIST, systemAdmin, {})).toBe(false);
    expect(
      createEnforcer({ ...SECURE, enforceScope: false }).allows(POLICY.RESOURCE_PROVIDERS_LIST, systemAdmin, {}),
    ).toBe(true);
    // Scope applies whatever the rule says, even an open one.
    const open = createEnforcer({ ...SECURE, overrides: { [POLICY.TRAITS_LIST]: '@' } });
    expect(open.allows(POLICY.TRAITS_LIST, systemAdmin, {})).toBe(false);
  });

  it('throw for an action nobody registered (a programming error, not a 403)', () => {
    expect(() => createEnforcer(SECURE).allows('placement:nothing' as PolicyName, admin, own)).toThrow(
      'not registered',
    );
  });
});

describe('legacy mode (enforce_new_defaults off)', () => {
  it('ORs the deprecated role:admin in, so the admin may reshape', () => {
    const enforcer = createEnforcer(LEGACY);
    expect(enforcer.allows(POLICY.RESHAPE, admin, own)).toBe(true);
    expect(enforcer.allows(POLICY.RESHAPE, service, own)).toBe(true);
    expect(enforcer.allows(POLICY.RESHAPE, member, own)).toBe(false);
  });

  it('keeps scope enforced unless that is switched off too', () => {
    expect(createEnforcer(LEGACY).allows(POLICY.RESOURCE_PROVIDERS_LIST, systemAdmin, {})).toBe(false);
    expect(
      createEnforcer({ ...LEGACY, enforceScope: false }).allows(POLICY.RESOURCE_PROVIDERS_LIST, systemAdmin, {}),
    ).toBe(true);
  });

  it('does not OR the deprecated rule into a rule the operator overrode', () => {
    const enforcer = createEnforcer({ ...LEGACY, overrides: { service_api: 'role:service' } });
    expect(enforcer.allows(POLICY.RESHAPE, admin, own)).toBe(false);
  });
});

describe('policy overrides', () => {
  it('replace an action rule as written', () => {
    const enforcer = createEnforcer({ ...SECURE, overrides: { [POLICY.RESOURCE_PROVIDERS_LIST]: 'role:reader' } });
    expect(enforcer.allows(POLICY.RESOURCE_PROVIDERS_LIST, reader, own)).toBe(true);
    expect(enforcer.allows(POLICY.RESOURCE_PROVIDERS_LIST, service, own)).toBe(false);
    expect(enforcer.allows(POLICY.RESOURCE_PROVIDERS_SHOW, reader, own)).toBe(false);
  });

  it('replace a base rule for every action that refers to it', () => {
    const enforcer = createEnforcer({
      ...SECURE,
      overrides: { admin_or_service_api: 'role:admin or role:service or role:member' },
    });
    expect(enforcer.allows(POLICY.TRAITS_LIST, member, own)).toBe(true);
    expect(enforcer.allows(POLICY.ALLOCATIONS_DELETE, member, own)).toBe(true);
    expect(enforcer.allows(POLICY.RESHAPE, member, own)).toBe(false);
  });

  it('may add helper rules that others refer to', () => {
    const enforcer = createEnforcer({
      ...SECURE,
      overrides: { operators: 'role:operator', [POLICY.TRAITS_LIST]: 'rule:operators' },
    });
    expect(enforcer.allows(POLICY.TRAITS_LIST, caller(['operator']), own)).toBe(true);
  });

  it('refuse to build with a malformed rule', () => {
    expect(() => createEnforcer({ ...SECURE, overrides: { [POLICY.TRAITS_LIST]: 'role:admin or' } })).toThrow(
      'invalid check string',
    );
  });
});

describe('enforcerFromConfig', () => {
  const files: Record<string, string> = {
    '/etc/emplace/policy.json': JSON.stringify({ [POLICY.TRAITS_LIST]: 'role:reader' }),
    '/etc/emplace/policy.yaml': `# loosen traits\n"${POLICY.TRAITS_LIST}": "role:reader"\n`,
    '/etc/emplace/bad.json': JSON.stringify({ [POLICY.TRAITS_LIST]: 'role:reader or' }),
  };
  const read = (path: string) => {
    if (!(path in files)) throw new Error('ENOENT: no such file');
    return files[path];
  };
  const build = (env: Record<string, string>) => enforcerFromConfig(loadConfig({ ...env }), read);

  it('uses the secure defaults when nothing is configured', () => {
    const enforcer = build({});
    expect(enforcer.allows(POLICY.RESHAPE, admin, own)).toBe(false);
    expect(enforcer.allows(POLICY.TRAITS_LIST, systemAdmin, {})).toBe(false);
  });

  it.each(['/etc/emplace/policy.json', '/etc/emplace/policy.yaml'])('reads overrides from %s', (file) => {
    expect(build({ EMPLACE_POLICY_FILE: file }).allows(POLICY.TRAITS_LIST, reader, own)).toBe(true);
  });

  it('honours the two switches', () => {
    expect(build({ EMPLACE_POLICY_ENFORCE_NEW_DEFAULTS: 'false' }).allows(POLICY.RESHAPE, admin, own)).toBe(true);
    expect(build({ EMPLACE_POLICY_ENFORCE_SCOPE: 'false' }).allows(POLICY.TRAITS_LIST, systemAdmin, {})).toBe(true);
  });

  it('stops the start with a ConfigError for a missing or malformed file', () => {
    expect(() => build({ EMPLACE_POLICY_FILE: '/nowhere.json' })).toThrow(ConfigError);
    expect(() => build({ EMPLACE_POLICY_FILE: '/nowhere.json' })).toThrow('cannot read policy file /nowhere.json');
    expect(() => build({ EMPLACE_POLICY_FILE: '/etc/emplace/bad.json' })).toThrow(
      /EMPLACE_POLICY_FILE: invalid check string/,
    );
    expect(() => loadConfig({ EMPLACE_POLICY_ENFORCE_SCOPE: 'maybe' })).toThrow(
      'EMPLACE_POLICY_ENFORCE_SCOPE must be true or false',
    );
  });
});
