import { HttpError } from '../../src/errors/http-error';
import { parseCandidatesRequest } from '../../src/provider-query/request-groups';
import {
  parseMemberOfParam as parseMemberOf,
  parseResourcesParam as parseResources,
  parseTraitParam,
} from '../../src/provider-query/values';

const parseTraits = (value: string, allowForbidden: boolean, allowAnyOf: boolean) =>
  parseTraitParam(value, { allowForbidden, allowAnyOf });
import { Microversion } from '../../src/microversion/microversion';

const at = (version: string) => Microversion.fromKnown(version);
const query = (text: string) => {
  const entries = new Map<string, string[]>();
  for (const [key, value] of new URLSearchParams(text)) entries.set(key, [...(entries.get(key) ?? []), value]);
  return entries;
};
const parse = (text: string, version = '1.39') => parseCandidatesRequest(query(text), at(version));
const failure = (fn: () => unknown): HttpError => {
  try {
    fn();
  } catch (error) {
    if (error instanceof HttpError) return error;
    throw error;
  }
  throw new Error('expected an HttpError');
};

describe('resources', () => {
  it('parses classes and amounts, the last amount of a repeated class winning', () => {
    expect([...parseResources('VCPU:2,MEMORY_MB:1024,VCPU:3')]).toEqual([
      ['VCPU', 3],
      ['MEMORY_MB', 1024],
    ]);
  });

  it.each([
    ['', 'Got: empty string.'],
    ['VCPU', 'Got: VCPU.'],
    ['VCPU:1:2', 'Got: VCPU:1:2.'],
    ['VCPU:x', 'Requested resource VCPU expected positive integer amount. Got: x.'],
    ['VCPU:0', 'Requested resource VCPU requires amount >= 1. Got: 0.'],
  ])('rejects %p with Placement wording', (value, message) => {
    expect(failure(() => parseResources(value)).message).toContain(message);
  });
});

describe('traits', () => {
  it('splits required and forbidden, stripping any number of leading !', () => {
    expect(parseTraits('A,!B,!!C', true, false)).toEqual({ required: [['A']], forbidden: ['B', 'C'] });
  });

  it('reads in: as one any-of set from 1.39 only', () => {
    expect(parseTraits('in:A,B', true, true)).toEqual({ required: [['A', 'B']], forbidden: [] });
    expect(failure(() => parseTraits('in:A,B', true, false)).message).toContain(
      'only supported since microversion 1.39',
    );
    expect(failure(() => parseTraits('in:A,!B', true, true)).message).toContain('does not support forbidden traits');
  });

  it('rejects forbidden traits before 1.22 and empty names', () => {
    expect(failure(() => parseTraits('!A', false, false)).message).toContain('HW_CPU_X86_VMX,CUSTOM_MAGIC. Got: !A');
    expect(failure(() => parseTraits(',,', true, false)).message).toContain(
      'HW_CPU_X86_VMX,!CUSTOM_MAGIC. Got an empty trait in: ,,',
    );
  });

  it('ANDs repeated required params from 1.39 and keeps only the last before', () => {
    expect(parse('resources=VCPU:1&required=A&required=in:B,C').groups[0].requiredTraits).toEqual([['A'], ['B', 'C']]);
    expect(parse('resources=VCPU:1&required=A&required=B', '1.38').groups[0].requiredTraits).toEqual([['B']]);
  });
});

describe('member_of', () => {
  const A = '11111111-1111-1111-1111-111111111111';
  const B = '22222222222222222222222222222222';
  it('accepts one uuid, in: lists and forbidden forms, canonicalising uuids', () => {
    expect(parseMemberOf(`in:${A},${B}`)).toEqual({
      required: [A, '22222222-2222-2222-2222-222222222222'],
      forbidden: [],
    });
    expect(parseMemberOf(`!in:${A}`)).toEqual({ required: [], forbidden: [A] });
  });

  it('rejects unprefixed lists and non-uuids', () => {
    expect(failure(() => parseMemberOf(`${A},${B}`)).message).toContain(
      "must be prefixed with the 'in:' or '!in:' keyword",
    );
    expect(failure(() => parseMemberOf('in:nope')).message).toContain(
      "Expected 'member_of' parameter to contain valid UUID(s). Got: nope",
    );
  });

  it('allows repeated member_of (AND) from 1.24 and forbidden from 1.32', () => {
    expect(failure(() => parse(`resources=VCPU:1&member_of=${A}&member_of=${A}`, '1.23')).message).toBe(
      'Multiple member_of parameters are not supported',
    );
    expect(parse(`resources=VCPU:1&member_of=${A}&member_of=in:${A},${B}`, '1.24').groups[0].memberOf).toHaveLength(2);
    expect(failure(() => parse(`resources=VCPU:1&member_of=!${A}`, '1.31')).message).toContain(
      'Forbidden member_of parameters are not supported',
    );
  });
});

describe('query keys by microversion', () => {
  it('requires resources before 1.25 and rejects keys of later versions', () => {
    expect(failure(() => parse('', '1.10')).message).toContain("'resources' is a required property");
    expect(failure(() => parse('resources=VCPU:1&limit=5', '1.15')).message).toContain("('limit' was unexpected)");
    expect(failure(() => parse('resources=VCPU:1&required=A', '1.16')).message).toContain("'required' was unexpected");
    expect(failure(() => parse('resources=VCPU:1&member_of=x', '1.20')).message).toContain(
      "'member_of' was unexpected",
    );
    expect(failure(() => parse('resources=VCPU:1&resources1=VCPU:1', '1.24')).message).toContain(
      "'resources1' was unexpected",
    );
  });

  it('validates limit against the pattern', () => {
    for (const limit of ['cow', '-99', '0']) {
      const error = failure(() => parse(`resources=VCPU:1&limit=${limit}`, '1.16'));
      expect(error.message).toContain('Invalid query string parameters');
      expect(error.message).toContain("Failed validating 'pattern'");
    }
    expect(parse('resources=VCPU:1&limit=10&limit=1', '1.16').limit).toBe(10);
  });

  it('names the regexes for unknown keys from 1.25, with in_tree from 1.31 and verbose suffixes from 1.33', () => {
    expect(failure(() => parse('resources=VCPU:1&root_required=A', '1.34')).message).toContain(
      "'root_required' does not match any of the regexes",
    );
    expect(failure(() => parse('resources_X=VCPU:1', '1.32')).message).toContain('does not match any of the regexes');
    expect(parse('resources_X=VCPU:1', '1.33').groups[0].suffix).toBe('_X');
    expect(failure(() => parse('resources=VCPU:1&group_policy=bogus', '1.25')).message).toContain(
      "'bogus' is not one of ['none', 'isolate']",
    );
  });
});

describe('group checks', () => {
  it('requires resources in every group before 1.36, naming orphans', () => {
    expect(failure(() => parse('resources1=VCPU:1&required=A&required1=B', '1.25')).message).toBe(
      'All traits parameters must be associated with resources.  Found the following orphaned traits keys: required',
    );
    expect(failure(() => parse('resources=VCPU:1&in_tree1=11111111-1111-1111-1111-111111111111', '1.31')).message).toBe(
      'All request groups must specify resources.',
    );
  });

  it('from 1.36 allows a resourceless group named by same_subtree, with Placement codes otherwise', () => {
    expect(
      parse('resources_A=VCPU:1&required_B=X&same_subtree=_A,_B&group_policy=none').groups.map((g) => g.suffix),
    ).toEqual(['_A', '_B']);
    expect(failure(() => parse('required_B=X&same_subtree=_B')).code).toBe('placement.query.missing_value');
    expect(failure(() => parse('resources_A=VCPU:1&same_subtree=_A,_C&group_policy=none')).message).toContain(
      "Real suffixes should be specified in `same_subtree`: ['_C'] not found in ['_A'].",
    );
    expect(failure(() => parse('resources_A=VCPU:1&same_subtree=_A,')).code).toBe('placement.query.bad_value');
  });

  it('rejects a required set made only of forbidden traits from 1.22', () => {
    expect(failure(() => parse('resources=VCPU:1&required=A,!A', '1.22')).message).toBe(
      'Conflicting required and forbidden traits found in the following traits keys: required: (A)',
    );
  });

  it('parses root_required once, rejecting conflicts', () => {
    expect(parse('resources=VCPU:1&root_required=A,!B', '1.35')).toMatchObject({
      rootRequired: ['A'],
      rootForbidden: ['B'],
    });
    expect(failure(() => parse('resources=VCPU:1&root_required=A,!A', '1.35')).message).toBe(
      'Conflicting required and forbidden traits found in root_required: A',
    );
  });
});
