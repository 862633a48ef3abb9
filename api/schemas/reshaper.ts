import type { JsonSchema } from '../../src/validation/validator';
import {
  RC_PATTERN,
  RESHAPER_ALLOCATIONS_V1_30,
  RESHAPER_ALLOCATIONS_V1_34,
  RESHAPER_ALLOCATIONS_V1_38,
  UUID_KEY_PATTERN,
} from './allocations';

/** POST /reshaper bodies (1.30; mappings from 1.34; consumer_type from 1.38), as Placement's schemas/reshaper.py. */

const MAX_INT = 2147483647;
const SQL_SP_FLOAT_MAX = 3.40282e38;
const bounded = (minimum: number) => ({ type: 'integer', maximum: MAX_INT, minimum });

/** One inventory record of PUT /resource_providers/{uuid}/inventories. */
const inventoryRecord: JsonSchema = {
  type: 'object',
  properties: {
    resource_provider_generation: { type: 'integer' },
    total: bounded(1),
    reserved: bounded(0),
    min_unit: bounded(1),
    max_unit: bounded(1),
    step_size: bounded(1),
    allocation_ratio: { type: 'number', maximum: SQL_SP_FLOAT_MAX },
  },
  required: ['total'],
  additionalProperties: false,
};

/** A provider's full replacement inventory, with the generation it was read at. */
const providerInventories: JsonSchema = {
  type: 'object',
  properties: {
    resource_provider_generation: { type: 'integer' },
    inventories: { type: 'object', patternProperties: { [RC_PATTERN]: inventoryRecord } },
  },
  required: ['resource_provider_generation', 'inventories'],
  additionalProperties: false,
};

function reshaperSchema(allocations: JsonSchema): JsonSchema {
  return {
    type: 'object',
    properties: {
      inventories: {
        type: 'object',
        patternProperties: { [UUID_KEY_PATTERN]: providerInventories },
        // Without at least one provider there is nothing to reshape.
        minProperties: 1,
        additionalProperties: false,
      },
      allocations,
    },
    required: ['inventories', 'allocations'],
    additionalProperties: false,
  };
}

export const POST_RESHAPER_V1_30 = reshaperSchema(RESHAPER_ALLOCATIONS_V1_30);
export const POST_RESHAPER_V1_34 = reshaperSchema(RESHAPER_ALLOCATIONS_V1_34);
export const POST_RESHAPER_V1_38 = reshaperSchema(RESHAPER_ALLOCATIONS_V1_38);
