import { PolicyFileError, parsePolicyText } from '../../src/policy/policy-file';

describe('policy file', () => {
  it('reads a JSON object of rules', () => {
    expect(parsePolicyText('{"placement:traits:list": "role:reader", "admin_api": "role:admin"}')).toEqual({
      'placement:traits:list': 'role:reader',
      admin_api: 'role:admin',
    });
  });

  it("reads oslo's policy.yaml lines, quoted or bare, skipping comments and blank lines", () => {
    const text = [
      '---',
      '# Loosen listing',
      '"placement:traits:list": "role:reader"',
      "'placement:traits:show': 'role:reader or role:admin'",
      'placement:usages: role:admin or role:service  # bare',
      '"placement:traits:update":"!"',
      '',
    ].join('\n');
    expect(parsePolicyText(text)).toEqual({
      'placement:traits:list': 'role:reader',
      'placement:traits:show': 'role:reader or role:admin',
      'placement:usages': 'role:admin or role:service',
      'placement:traits:update': '!',
    });
  });

  it('refuses what it cannot read, naming the line', () => {
    expect(() => parsePolicyText('{"a": 1}')).toThrow('rule a must be a string');
    expect(() => parsePolicyText('{"a": ')).toThrow(PolicyFileError);
    expect(() => parsePolicyText('[]')).toThrow(PolicyFileError);
    expect(() => parsePolicyText('"a": "@"\njust words\n', 'p.yaml')).toThrow('p.yaml:2: expected "name": "rule"');
  });
});
