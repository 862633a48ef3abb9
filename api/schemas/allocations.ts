import type { JsonSchema } from '../../src/validation/validator';
import { MAX_INT, RC_PATTERN } from './names';

/**
 * Request bodies of PUT /allocations/{consumer_uuid} and POST /allocations, one schema per
 * microversion window where the shape changes (Placement's schemas/allocation.py, same facts).
 */

/** Placement's loose uuid key pattern (36 hex digits or dashes); real uuid-ness is checked after. */
export const UUID_KEY_PATTERN = '^[0-9a-fA-F-]{36}$';
export const CONSUMER_TYPE_PATTERN = '^[A-Z0-9_]+$';
/** Request-group suffixes of 1.33+, as used in `mappings`. */
const GROUP_SUFFIX_PATTERN = '^[a-zA-Z0-9_-]{1,64}$';

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

const externalId = { type: 'string', minLength: 1, maxLength: 255 };

export const resourcesSchema: JsonSchema = {
  type: 'object',
  minProperties: 1,
  patternProperties: { [RC_PATTERN]: { type: 'integer', minimum: 1, maximum: MAX_INT } },
  additionalProperties: false,
};

/** 1.0-1.7: a list of {resource_provider: {uuid}, resources}. */
export const PUT_ALLOCATIONS_V1_0: JsonSchema = {
  type: 'object',
  properties: {
    allocations: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        properties: {
          resource_provider: {
            type: 'object',
            properties: { uuid: { type: 'string', format: 'uuid' } },
            additionalProperties: false,
            required: ['uuid'],
          },
          resources: resourcesSchema,
        },
        required: ['resource_provider', 'resources'],
        additionalProperties: false,
      },
    },
  },
  required: ['allocations'],
  additionalProperties: false,
};

/** 1.8-1.11: project_id and user_id become required. */
export const PUT_ALLOCATIONS_V1_8: JsonSchema = (() => {
  const schema = clone(PUT_ALLOCATIONS_V1_0) as { properties: Record<string, unknown>; required: string[] };
  schema.properties.project_id = externalId;
  schema.properties.user_id = externalId;
  schema.required.push('project_id', 'user_id');
  return schema;
})();

/** 1.12-1.27: the dict form keyed by provider uuid, symmetric with GET. */
export const PUT_ALLOCATIONS_V1_12: JsonSchema = {
  type: 'object',
  properties: {
    allocations: {
      type: 'object',
      minProperties: 1,
      patternProperties: {
        [UUID_KEY_PATTERN]: {
          type: 'object',
          properties: {
            // Accepted for symmetry with GET; Placement ignores it.
            generation: { type: 'integer' },
            resources: resourcesSchema,
          },
          required: ['resources'],
          additionalProperties: false,
        },
      },
      additionalProperties: false,
    },
    project_id: externalId,
    user_id: externalId,
  },
  additionalProperties: false,
  required: ['allocations', 'project_id', 'user_id'],
};

/** The 1.12 shape with empty allocations allowed (POST entries, and PUT from 1.28). */
const DELETABLE_V1_12: JsonSchema = (() => {
  const schema = clone(PUT_ALLOCATIONS_V1_12) as { properties: { allocations: Record<string, unknown> } };
  schema.properties.allocations.minProperties = 0;
  return schema;
})();

function withProperty(base: JsonSchema, name: string, property: unknown, required: boolean): JsonSchema {
  const schema = clone(base) as { properties: Record<string, unknown>; required: string[] };
  schema.properties[name] = property;
  if (required) schema.required.push(name);
  return schema;
}

const consumerGeneration = { type: ['integer', 'null'] };
const mappings = {
  type: 'object',
  minProperties: 1,
  patternProperties: {
    [GROUP_SUFFIX_PATTERN]: { type: 'array', minItems: 1, items: { type: 'string', format: 'uuid' } },
  },
};
const consumerType = { type: 'string', pattern: CONSUMER_TYPE_PATTERN, minLength: 1, maxLength: 255 };

/** 1.28-1.33: consumer_generation required (null for a new consumer); empty allocations delete. */
export const PUT_ALLOCATIONS_V1_28 = withProperty(DELETABLE_V1_12, 'consumer_generation', consumerGeneration, true);
/** 1.34-1.37: optional request-group mappings, accepted and not stored (as Placement). */
export const PUT_ALLOCATIONS_V1_34 = withProperty(PUT_ALLOCATIONS_V1_28, 'mappings', mappings, false);
/** 1.38-: consumer_type required. */
export const PUT_ALLOCATIONS_V1_38 = withProperty(PUT_ALLOCATIONS_V1_34, 'consumer_type', consumerType, true);

function byConsumer(entry: JsonSchema, minProperties = 1): JsonSchema {
  return {
    type: 'object',
    minProperties,
    additionalProperties: false,
    patternProperties: { [UUID_KEY_PATTERN]: entry },
  };
}

/** POST /allocations: a dict keyed by consumer uuid of PUT-1.12-shaped entries (allocations may be empty). */
export const POST_ALLOCATIONS_V1_13 = byConsumer(DELETABLE_V1_12);
export const POST_ALLOCATIONS_V1_28 = byConsumer(PUT_ALLOCATIONS_V1_28);
export const POST_ALLOCATIONS_V1_34 = byConsumer(PUT_ALLOCATIONS_V1_34);
export const POST_ALLOCATIONS_V1_38 = byConsumer(PUT_ALLOCATIONS_V1_38);

/** The allocations part of a reshaper body: POST's shape, possibly empty. */
export const RESHAPER_ALLOCATIONS_V1_30 = byConsumer(PUT_ALLOCATIONS_V1_28, 0);
export const RESHAPER_ALLOCATIONS_V1_34 = byConsumer(PUT_ALLOCATIONS_V1_34, 0);
export const RESHAPER_ALLOCATIONS_V1_38 = byConsumer(PUT_ALLOCATIONS_V1_38, 0);
