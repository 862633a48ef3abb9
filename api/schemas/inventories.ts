import type { JsonSchema } from '../../src/validation/validator';
import { MAX_ALLOCATION_RATIO, MAX_INT, RC_PATTERN } from './names';

const boundedInteger = (minimum: number) => ({ type: 'integer', maximum: MAX_INT, minimum });

/** The inventory fields every window shares; allocation_ratio has no minimum in Placement's schema. */
const inventoryProperties = {
  resource_provider_generation: { type: 'integer' },
  total: boundedInteger(1),
  reserved: boundedInteger(0),
  min_unit: boundedInteger(1),
  max_unit: boundedInteger(1),
  step_size: boundedInteger(1),
  allocation_ratio: { type: 'number', maximum: MAX_ALLOCATION_RATIO },
};

/** PUT /resource_providers/{uuid}/inventories/{resource_class}. */
export const updateInventorySchema: JsonSchema = {
  type: 'object',
  properties: inventoryProperties,
  required: ['total', 'resource_provider_generation'],
  additionalProperties: false,
};

/** POST /resource_providers/{uuid}/inventories: the class is in the body; the generation is optional. */
export const createInventorySchema: JsonSchema = {
  type: 'object',
  properties: { ...inventoryProperties, resource_class: { type: 'string', pattern: RC_PATTERN } },
  required: ['total', 'resource_class'],
  additionalProperties: false,
};

/** PUT /resource_providers/{uuid}/inventories: every inventory of the provider, keyed by class (the reshaper takes it too). */
export const setInventoriesSchema: JsonSchema = {
  type: 'object',
  properties: {
    resource_provider_generation: { type: 'integer' },
    inventories: {
      type: 'object',
      patternProperties: {
        [RC_PATTERN]: {
          type: 'object',
          properties: inventoryProperties,
          required: ['total'],
          additionalProperties: false,
        },
      },
    },
  },
  required: ['resource_provider_generation', 'inventories'],
  additionalProperties: false,
};
