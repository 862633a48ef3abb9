import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { badRequest } from '../errors/http-error';
import { pyRepr } from './python-repr';

/** Placement accepts uuids with or without dashes, in any case (oslo's is_uuid_like). */
export const UUID_PATTERN = /^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/;

/** Lowercase and dashed: the form PostgreSQL prints, so uuids compare and look up as text. */
export function canonicalUuid(uuid: string): string {
  const hex = uuid.replace(/-/g, '').toLowerCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The one ajv instance: schemas compile once, at module load of the handler that owns them. */
const ajv = new Ajv({ allErrors: false, strict: false, coerceTypes: false, useDefaults: false });
ajv.addFormat('uuid', UUID_PATTERN);

export type JsonSchema = Record<string, unknown>;
export type Validator<T> = ValidateFunction<T>;

export function compileSchema<T = unknown>(schema: JsonSchema): Validator<T> {
  return ajv.compile<T>(schema);
}

/** What picking a schema needs to know about the request's microversion. */
export interface VersionGate {
  has(gate: string): boolean;
}

/**
 * A handler's schemas by the window they apply from: `[since, schema]` in ascending order, the first from the
 * route's first version (use the gate constant that introduced each shape). All compile at load; a request gets
 * the last window its version has reached.
 */
export function schemasByVersion<T = unknown>(
  windows: ReadonlyArray<readonly [since: string, schema: JsonSchema]>,
): (mv: VersionGate) => Validator<T> {
  const compiled = windows.map(([since, schema]) => [since, compileSchema<T>(schema)] as const).reverse();
  return (mv) => compiled.find(([since]) => mv.has(since))![1];
}

/** Validate a request body; failures read as Placement's: `JSON does not validate: <reason>`. */
export function validateBody<T>(validate: Validator<T> | Validator<unknown>, body: unknown): T {
  if (!validate(body))
    throw badRequest(`JSON does not validate: ${describeValidationError(validate.errors, body, validate.schema)}`);
  return body as T;
}

/** Validate a query object; failures read as Placement's: `Invalid query string parameters: <reason>`. */
export function validateQuery<T>(validate: Validator<T> | Validator<unknown>, query: unknown): T {
  if (!validate(query))
    throw badRequest(
      `Invalid query string parameters: ${describeValidationError(validate.errors, query, validate.schema)}`,
    );
  return query as T;
}

/**
 * The whole of python-jsonschema's str(ValidationError), which Placement puts in its 400 details:
 * the message, then which keyword failed where in the schema, then the offending instance. Clients
 * and Placement's own tests match on "Failed validating 'minimum' in schema['properties']['total']".
 */
export function describeValidationError(
  errors: ErrorObject[] | null | undefined,
  root: unknown,
  schema: unknown,
): string {
  const message = describeFirstError(errors, root, schema);
  const error = errors?.[0];
  if (!error) return message;
  const schemaIndices = pointerSegments(error.schemaPath.replace(/^#/, '')).slice(0, -1);
  const instanceIndices = pointerSegments(error.instancePath);
  const subschema = schemaAt(schema, schemaIndices.map(String).join('/'));
  return [
    message,
    '',
    `Failed validating ${pyRepr(error.keyword)} in ${asIndex('schema', schemaIndices)}:`,
    indent(pyFormat(subschema ?? {})),
    '',
    `On ${asIndex('instance', instanceIndices)}:`,
    indent(pyFormat(valueAt(root, error.instancePath))),
  ].join('\n');
}

/** JSON-pointer segments, decoded; all-digit segments are list indices, as Python prints them. */
function pointerSegments(pointer: string): Array<string | number> {
  return pointer
    .split('/')
    .filter(Boolean)
    .map((part) => decodeURIComponent(part).replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((part) => (/^\d+$/.test(part) ? Number(part) : part));
}

function asIndex(container: string, indices: Array<string | number>): string {
  return indices.length === 0 ? container : `${container}[${indices.map((index) => pyRepr(index)).join('][')}]`;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
}

/** Python's pprint.pformat(width=72) closely enough: one line when it fits, else one entry per line. */
function pyFormat(value: unknown, column = 0): string {
  const flat = pyRepr(sortKeys(value));
  if (column + flat.length <= 72 || value === null || typeof value !== 'object') return flat;
  const separator = `,\n${' '.repeat(column + 1)}`;
  if (Array.isArray(value)) return `[${value.map((item) => pyFormat(item, column + 1)).join(separator)}]`;
  const record = value as Record<string, unknown>;
  const entries = Object.keys(record)
    .sort()
    .map((key) => `${pyRepr(key)}: ${pyFormat(record[key], column + 1 + pyRepr(key).length + 2)}`);
  return `{${entries.join(separator)}}`;
}

/** pprint prints dict keys sorted. */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const record = value as Record<string, unknown>;
  return Object.fromEntries(
    Object.keys(record)
      .sort()
      .map((key) => [key, sortKeys(record[key])]),
  );
}

/** Render an ajv error in python-jsonschema's wording. */
export function describeFirstError(errors: ErrorObject[] | null | undefined, root: unknown, schema?: unknown): string {
  const error = errors?.[0];
  if (!error) return 'invalid input';
  const format = MESSAGES.get(error.keyword);
  if (!format) return `${error.instancePath || 'body'} ${error.message ?? 'is invalid'}`;
  return format({
    error,
    instance: valueAt(root, error.instancePath),
    params: error.params as Record<string, unknown>,
    schema,
  });
}

/** What a message may draw on: the error, the offending value, ajv's params and the whole schema. */
interface FailedKeyword {
  error: ErrorObject;
  instance: unknown;
  params: Record<string, unknown>;
  schema: unknown;
}

const tooLong = ({ instance }: FailedKeyword) => `${pyRepr(instance)} is too long`;
const tooShort = ({ instance }: FailedKeyword) => `${pyRepr(instance)} is too short`;
const matchesNoSchema = ({ instance }: FailedKeyword) =>
  `${pyRepr(instance)} is not valid under any of the given schemas`;

/** ajv keyword -> python-jsonschema's message for it. */
const MESSAGES = new Map<string, (failed: FailedKeyword) => string>([
  ['required', ({ params }) => `${pyRepr(params.missingProperty)} is a required property`],
  ['additionalProperties', describeAdditionalProperty],
  ['type', ({ instance, params }) => `${pyRepr(instance)} is not of type ${typeList(params.type)}`],
  ['minimum', ({ instance, params }) => `${pyRepr(instance)} is less than the minimum of ${params.limit}`],
  ['maximum', ({ instance, params }) => `${pyRepr(instance)} is greater than the maximum of ${params.limit}`],
  [
    'exclusiveMinimum',
    ({ instance, params }) => `${pyRepr(instance)} is less than or equal to the minimum of ${params.limit}`,
  ],
  [
    'exclusiveMaximum',
    ({ instance, params }) => `${pyRepr(instance)} is greater than or equal to the maximum of ${params.limit}`,
  ],
  ['pattern', ({ instance, params }) => `${pyRepr(instance)} does not match ${pyRepr(params.pattern)}`],
  ['format', ({ instance, params }) => `${pyRepr(instance)} is not a ${pyRepr(params.format)}`],
  ['maxLength', tooLong],
  ['maxItems', tooLong],
  ['minLength', tooShort],
  ['minItems', tooShort],
  ['minProperties', ({ instance }) => `${pyRepr(instance)} does not have enough properties`],
  ['maxProperties', ({ instance }) => `${pyRepr(instance)} has too many properties`],
  ['uniqueItems', ({ instance }) => `${pyRepr(instance)} has non-unique elements`],
  ['enum', ({ instance, params }) => `${pyRepr(instance)} is not one of ${pyRepr(params.allowedValues)}`],
  ['const', ({ params }) => `${pyRepr(params.allowedValue)} was expected`],
  ['anyOf', matchesNoSchema],
  ['oneOf', matchesNoSchema],
  ['propertyNames', ({ params }) => `${pyRepr(params.propertyName)} does not match any of the regexes`],
]);

/** Where keys must match patternProperties, python-jsonschema names the patterns instead of "not allowed". */
function describeAdditionalProperty({ error, params, schema }: FailedKeyword): string {
  const parent = schemaAt(schema, error.schemaPath.replace(/^#/, '').replace(/\/additionalProperties$/, ''));
  const patterns = parent?.patternProperties as Record<string, unknown> | undefined;
  if (patterns) {
    const regexes = Object.keys(patterns)
      .sort()
      .map((pattern) => pyRepr(pattern))
      .join(', ');
    return `${pyRepr(params.additionalProperty)} does not match any of the regexes: ${regexes}`;
  }
  return `Additional properties are not allowed (${pyRepr(params.additionalProperty)} was unexpected)`;
}

function typeList(type: unknown): string {
  if (Array.isArray(type)) return type.map((t) => pyRepr(t)).join(', ');
  return pyRepr(type);
}

function schemaAt(schema: unknown, pointer: string): Record<string, unknown> | undefined {
  let current: unknown = schema;
  for (const part of pointer.split('/').filter(Boolean)) {
    if (current === null || typeof current !== 'object') return undefined;
    // ajv URI-encodes each segment of schemaPath (patterns contain ^, [ and $).
    current = (current as Record<string, unknown>)[decodeURIComponent(part).replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return current !== null && typeof current === 'object' ? (current as Record<string, unknown>) : undefined;
}

function valueAt(root: unknown, pointer: string): unknown {
  if (!pointer) return root;
  let current: unknown = root;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}
