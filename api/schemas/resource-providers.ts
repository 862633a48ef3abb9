import type { JsonSchema } from '../../src/validation/validator';

/**
 * Request schemas for /resource_providers, one per microversion window where Placement's differ.
 * Names are at most 200 characters (the column width); PUT never carries a uuid.
 */

const name = { type: 'string', maxLength: 200 };
const uuid = { type: 'string', format: 'uuid' };
/** 1.14: a provider may name its parent; null means "no parent". */
const parentProviderUuid = { anyOf: [{ type: 'string', format: 'uuid' }, { type: 'null' }] };

export const CREATE_PROVIDER_V1_0: JsonSchema = {
  type: 'object',
  properties: { name, uuid },
  required: ['name'],
  additionalProperties: false,
};

export const CREATE_PROVIDER_V1_14: JsonSchema = {
  type: 'object',
  properties: { name, uuid, parent_provider_uuid: parentProviderUuid },
  required: ['name'],
  additionalProperties: false,
};

export const UPDATE_PROVIDER_V1_0: JsonSchema = {
  type: 'object',
  properties: { name },
  required: ['name'],
  additionalProperties: false,
};

export const UPDATE_PROVIDER_V1_14: JsonSchema = {
  type: 'object',
  properties: { name, parent_provider_uuid: parentProviderUuid },
  required: ['name'],
  additionalProperties: false,
};

/** GET /resource_providers query, validated on the last value of each key as Placement does. */
export const LIST_PROVIDERS_QUERY_V1_0: JsonSchema = {
  type: 'object',
  properties: { name: { type: 'string' }, uuid },
  additionalProperties: false,
};

const withProperties = (base: JsonSchema, extra: Record<string, unknown>): JsonSchema => ({
  ...base,
  properties: { ...(base.properties as Record<string, unknown>), ...extra },
});

/** 1.3 member_of; its value format is checked by the member_of parser. */
export const LIST_PROVIDERS_QUERY_V1_3 = withProperties(LIST_PROVIDERS_QUERY_V1_0, { member_of: { type: 'string' } });
/** 1.4 resources; its value format is checked by the resources parser. */
export const LIST_PROVIDERS_QUERY_V1_4 = withProperties(LIST_PROVIDERS_QUERY_V1_3, { resources: { type: 'string' } });
/** 1.14 in_tree. */
export const LIST_PROVIDERS_QUERY_V1_14 = withProperties(LIST_PROVIDERS_QUERY_V1_4, { in_tree: uuid });
/** 1.18 required traits. */
export const LIST_PROVIDERS_QUERY_V1_18 = withProperties(LIST_PROVIDERS_QUERY_V1_14, { required: { type: 'string' } });
