import fs from 'node:fs';
import path from 'node:path';
import { PolicyFileError, loadPolicyDocument, parsePolicyText } from '../../src/policy/policy-file';
import { evaluate, parseCheck } from '../../src/policy/check-string';

// Fixtures written by PyYAML and oslo.policy's tools; regenerate with tests/fixtures/policy/generate.py.
const FIXTURES = path.resolve(__dirname, '../fixtures/policy');
const samples = fs
  .readdirSync(FIXTURES)
  .filter((name) => name.endsWith('.yaml'))
  .map((name) => name.replace(/\.yaml$/, ''));

function fixture(name: string): { text: string; expected: Record<string, unknown> } {
  return {
    text: fs.readFileSync(path.join(FIXTURES, `${name}.yaml`), 'utf8'),
    expected: JSON.parse(fs.readFileSync(path.join(FIXTURES, `${name}.expected.json`), 'utf8')),
  };
}

describe('policy file', () => {
  it('has the PyYAML samples', () => {
    expect(samples).toEqual(expect.arrayContaining(['pyyaml-plain', 'pyyaml-double-quoted', 'hand-written']));
  });

  it.each(samples)('%s loads as oslo.policy (PyYAML safe_load) loads it', (name) => {
    const { text, expected } = fixture(name);
    expect(loadPolicyDocument(text)).toEqual(expected);
  });

  it.each(samples)('%s gives a check string for every rule', (name) => {
    const { text, expected } = fixture(name);
    const rules = parsePolicyText(text);
    expect(Object.keys(rules).sort()).toEqual(Object.keys(expected).sort());
    for (const [rule, value] of Object.entries(expected))
      if (typeof value === 'string') expect(rules[rule]).toBe(value);
  });

  it.each(['oslo-policy-generator', 'json', 'hand-written'])('%s holds check strings the enforcer accepts', (name) => {
    const rules = Object.entries(parsePolicyText(fixture(name).text)).filter(
      ([rule]) => rule !== 'placement:reshaper:reshape',
    );
    expect(rules.length).toBeGreaterThan(0);
    for (const [, check] of rules) expect(() => parseCheck(check)).not.toThrow();
  });

  it('keeps long rules that PyYAML folded at 80 columns whole', () => {
    const { text } = fixture('pyyaml-double-quoted');
    expect(text).toMatch(/\\\n {2}\\ or \(role:reader/);
    expect(parsePolicyText(text)['placement:resource_providers:allocations:list']).toBe(
      'role:admin or (role:reader and system_scope:all) or (role:reader and project_id:%(project_id)s) or role:service',
    );
  });

  it('reads the old list-of-lists rules as oslo does: outer or, inner and, empty allows, all-empty denies', () => {
    const rules = parsePolicyText(fixture('hand-written').text);
    expect(rules.old_style).toBe('(role:admin) or (role:member and project_id:%(project_id)s)');
    expect(rules.old_style_bare).toBe('(role:admin) or (role:reader and system_scope:all)');
    expect(rules.old_style_empty).toBe('');
    expect(rules['placement:traits:list']).toBe('');
    expect(parsePolicyText('{"a": [[], []]}').a).toBe('!');
    const allowed = (rule: string, roles: string[], project = 'p1') =>
      evaluate(parseCheck(rule), {
        credentials: { roles, project_id: project },
        target: { project_id: 'p1' },
        rule: () => undefined,
      });
    expect(allowed(rules.old_style, ['member'])).toBe(true);
    expect(allowed(rules.old_style, ['member'], 'p2')).toBe(false);
    expect(allowed(rules.old_style, ['admin'], 'p2')).toBe(true);
  });

  it('refuses what oslo.policy cannot use, naming the file and the rule', () => {
    expect(() => parsePolicyText('{"a": 1}', 'p.json')).toThrow('p.json: rule a must be a string');
    expect(() => parsePolicyText('a: yes\n', 'p.yaml')).toThrow('p.yaml: rule a must be a string');
    expect(() => parsePolicyText('"a": [["role:a or role:b"]]')).toThrow("list rule entry 'role:a or role:b'");
    expect(() => parsePolicyText('- role:admin\n', 'p.yaml')).toThrow('p.yaml: expected a mapping');
    expect(() => parsePolicyText('"a": "unterminated\n', 'p.yaml')).toThrow(PolicyFileError);
    expect(() => parsePolicyText('"a": "unterminated\n', 'p.yaml')).toThrow(/^p\.yaml: not JSON or YAML: /);
  });

  it('treats an empty document as no rules, as oslo does', () => {
    expect(parsePolicyText('')).toEqual({});
    expect(parsePolicyText('---\n# only comments\n')).toEqual({});
    expect(parsePolicyText('{}')).toEqual({});
  });
});
