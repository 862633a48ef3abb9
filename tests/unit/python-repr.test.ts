import { describeFirstError, describeValidationError } from '../../src/validation/validator';
import { compileSchema } from '../../src/validation/validator';
import { pyRepr } from '../../src/validation/python-repr';

describe('python-jsonschema wording', () => {
  it('renders values as Python would', () => {
    expect(pyRepr('abc')).toBe("'abc'");
    expect(pyRepr(null)).toBe('None');
    expect(pyRepr(true)).toBe('True');
    expect(pyRepr({ a: [1, 'b'] })).toBe("{'a': [1, 'b']}");
    expect(pyRepr(1.5)).toBe('1.5');
  });

  const schema = compileSchema({
    type: 'object',
    properties: { total: { type: 'integer', minimum: 1, maximum: 2147483647 }, name: { type: 'string', maxLength: 3 } },
    required: ['total'],
    additionalProperties: false,
  });
  const message = (body: unknown) => {
    schema(body);
    return describeFirstError(schema.errors, body);
  };

  it.each([
    [{}, "'total' is a required property"],
    [{ total: 1, x: 1 }, "Additional properties are not allowed ('x' was unexpected)"],
    [{ total: 'abc' }, "'abc' is not of type 'integer'"],
    [{ total: 0 }, '0 is less than the minimum of 1'],
    [{ total: 2147483648 }, '2147483648 is greater than the maximum of 2147483647'],
    [{ total: 1, name: 'abcd' }, "'abcd' is too long"],
  ])('%j -> %s', (body, expected) => {
    expect(message(body)).toBe(expected);
  });
});

describe('keys that must match patternProperties', () => {
  it('names the patterns, as python-jsonschema does', () => {
    const validate = compileSchema({
      type: 'object',
      patternProperties: { '^[A-Z0-9_]+$': { type: 'integer' } },
      additionalProperties: false,
    });
    const body = { vcpu: 1 };
    validate(body);
    expect(describeFirstError(validate.errors, body, validate.schema)).toBe(
      "'vcpu' does not match any of the regexes: '^[A-Z0-9_]+$'",
    );
  });
});

describe('the trailer Placement puts after a validation message', () => {
  const schema = {
    type: 'object',
    properties: { total: { type: 'integer', minimum: 1, maximum: 2147483647 } },
    required: ['total'],
  };
  const validate = compileSchema(schema);
  const trailer = (body: unknown) => {
    validate(body);
    return describeValidationError(validate.errors, body, validate.schema);
  };

  it('names the keyword, where it sits in the schema, and the instance', () => {
    expect(trailer({ total: 0 })).toBe(
      [
        '0 is less than the minimum of 1',
        '',
        "Failed validating 'minimum' in schema['properties']['total']:",
        "    {'maximum': 2147483647, 'minimum': 1, 'type': 'integer'}",
        '',
        "On instance['total']:",
        '    0',
      ].join('\n'),
    );
  });

  it('says "in schema" for a keyword at the root', () => {
    expect(trailer({})).toContain("Failed validating 'required' in schema:\n");
    expect(trailer({})).toContain('On instance:\n    {}');
  });
});
