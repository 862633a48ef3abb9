import {
  CheckStringError,
  evaluate,
  parseCheck,
  type Check,
  type Credentials,
  type Target,
} from '../../src/policy/check-string';

const reader: Credentials = { user_id: 'u1', project_id: 'p1', roles: ['reader', 'Member'], system_scope: undefined };

function allows(
  check: string,
  credentials: Credentials = reader,
  target: Target = {},
  rules: Record<string, string> = {},
): boolean {
  const parsed = new Map(Object.entries(rules).map(([name, text]) => [name, parseCheck(text)]));
  return evaluate(parseCheck(check), { credentials, target, rule: (name) => parsed.get(name) });
}

describe('policy check strings: atoms', () => {
  it('@ always allows, ! never does, and an empty rule allows as in oslo.policy', () => {
    expect(allows('@')).toBe(true);
    expect(allows('!')).toBe(false);
    expect(allows('')).toBe(true);
    expect(allows('   ')).toBe(true);
  });

  it('role: matches any of the caller roles, case-insensitively', () => {
    expect(allows('role:reader')).toBe(true);
    expect(allows('role:member')).toBe(true);
    expect(allows('role:READER')).toBe(true);
    expect(allows('role:admin')).toBe(false);
    expect(allows('role:reader', { ...reader, roles: [] })).toBe(false);
  });

  it('role: can name a role from the target', () => {
    expect(allows('role:%(needed)s', reader, { needed: 'reader' })).toBe(true);
    expect(allows('role:%(needed)s', reader, { needed: 'admin' })).toBe(false);
    expect(allows('role:%(needed)s', reader, {})).toBe(false);
  });

  it('key:%(target)s compares a credential with the target and denies when the target lacks the key', () => {
    expect(allows('project_id:%(project_id)s', reader, { project_id: 'p1' })).toBe(true);
    expect(allows('project_id:%(project_id)s', reader, { project_id: 'p2' })).toBe(false);
    expect(allows('project_id:%(project_id)s', reader, {})).toBe(false);
    expect(allows('project_id:%(project_id)s', reader, { project_id: undefined })).toBe(false);
    expect(allows('user_id:%(user_id)s', reader, { user_id: 'u1' })).toBe(true);
  });

  it('key:value compares with a literal; a missing credential never matches', () => {
    expect(allows('project_id:p1')).toBe(true);
    expect(allows('project_id:p2')).toBe(false);
    expect(allows('system_scope:all')).toBe(false);
    expect(allows('system_scope:all', { ...reader, system_scope: 'all' })).toBe(true);
    expect(allows('roles:reader')).toBe(true);
  });

  it('a quoted literal on the left compares with the target value', () => {
    expect(allows("'yes':%(flag)s", reader, { flag: 'yes' })).toBe(true);
    expect(allows("'yes':%(flag)s", reader, { flag: 'no' })).toBe(false);
    expect(allows('True:%(enabled)s', reader, { enabled: true })).toBe(true);
  });

  it('rule: evaluates the named rule; an unknown or self-referring rule denies', () => {
    expect(allows('rule:readers', reader, {}, { readers: 'role:reader' })).toBe(true);
    expect(allows('rule:admins', reader, {}, { admins: 'role:admin' })).toBe(false);
    expect(allows('rule:nowhere')).toBe(false);
    expect(allows('rule:loop', reader, {}, { loop: 'rule:loop' })).toBe(false);
    expect(allows('rule:outer', reader, {}, { outer: 'rule:inner', inner: 'project_id:%(project_id)s' })).toBe(false);
  });
});

describe('policy check strings: operators', () => {
  it('and needs both sides, or either', () => {
    expect(allows('role:reader and role:member')).toBe(true);
    expect(allows('role:reader and role:admin')).toBe(false);
    expect(allows('role:admin or role:reader')).toBe(true);
    expect(allows('role:admin or role:service')).toBe(false);
  });

  it('not negates the check that follows it', () => {
    expect(allows('not role:admin')).toBe(true);
    expect(allows('not role:reader')).toBe(false);
    expect(allows('not @')).toBe(false);
    expect(allows('not not role:reader')).toBe(true);
  });

  it('binds not tighter than and, and and tighter than or', () => {
    // (admin and reader) or member -> true; admin and (reader or member) -> false
    expect(allows('role:admin and role:reader or role:member')).toBe(true);
    expect(allows('role:admin and (role:reader or role:member)')).toBe(false);
    // (not admin) and reader -> true; not (admin or reader) -> false
    expect(allows('not role:admin and role:reader')).toBe(true);
    expect(allows('not (role:admin or role:reader)')).toBe(false);
  });

  it('accepts parentheses touching their operands and keywords in any case', () => {
    expect(allows('(role:admin or role:reader)')).toBe(true);
    expect(allows('((role:admin) OR (role:reader)) AND NOT role:service')).toBe(true);
    expect(allows('role:reader and (project_id:%(project_id)s)', reader, { project_id: 'p1' })).toBe(true);
  });

  it("reads Placement's project reader rule as written", () => {
    const check = 'role:admin or (role:reader and project_id:%(project_id)s) or role:service';
    expect(allows(check, reader, { project_id: 'p1' })).toBe(true);
    expect(allows(check, reader, { project_id: 'p2' })).toBe(false);
    expect(allows(check, { ...reader, roles: ['admin'] }, { project_id: 'p2' })).toBe(true);
  });
});

describe('policy check strings: malformed', () => {
  it.each([
    ['role:admin or', 'unexpected end'],
    ['(role:admin', 'missing )'],
    ['role:admin)', "unexpected ')'"],
    ['role:admin role:reader', "unexpected 'role:reader'"],
    ['admin', "unexpected 'admin'"],
    ['and role:admin', "unexpected 'and'"],
    ['role:', "unexpected 'role:'"],
    ['http://example.com/check', "unexpected 'http://example.com/check'"],
  ])('refuses %j (%s)', (text, why) => {
    expect(() => parseCheck(text)).toThrow(CheckStringError);
    expect(() => parseCheck(text)).toThrow(why);
  });

  it('parses to a tree the evaluator walks', () => {
    const tree: Check = parseCheck('role:a or role:b and not rule:c');
    expect(tree).toEqual({
      kind: 'or',
      checks: [
        { kind: 'role', match: 'a' },
        {
          kind: 'and',
          checks: [
            { kind: 'role', match: 'b' },
            { kind: 'not', check: { kind: 'rule', name: 'c' } },
          ],
        },
      ],
    });
  });
});
