import type { JsonSchema } from '../../src/validation/validator';

/** PUT /resource_providers/{uuid}/aggregates bodies. */

const aggregateList = { type: 'array', items: { type: 'string', format: 'uuid' }, uniqueItems: true };

/** 1.1–1.18: the body is the bare list of aggregate uuids. */
export const SET_AGGREGATES_V1_1: JsonSchema = aggregateList;

/** 1.19: the list travels with the provider generation the caller last saw. */
export const SET_AGGREGATES_V1_19: JsonSchema = {
  type: 'object',
  properties: {
    aggregates: aggregateList,
    resource_provider_generation: { type: 'integer' },
  },
  required: ['aggregates', 'resource_provider_generation'],
  additionalProperties: false,
};
