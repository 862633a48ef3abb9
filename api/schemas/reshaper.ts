import type { JsonSchema } from '../../src/validation/validator';
import {
  RESHAPER_ALLOCATIONS_V1_30,
  RESHAPER_ALLOCATIONS_V1_34,
  RESHAPER_ALLOCATIONS_V1_38,
  UUID_KEY_PATTERN,
} from './allocations';
import { setInventoriesSchema } from './inventories';

/** POST /reshaper bodies (1.30; mappings from 1.34; consumer_type from 1.38), as Placement's schemas/reshaper.py. */

/** A provider's full replacement inventory, with the generation it was read at: PUT inventories' body. */
const providerInventories: JsonSchema = setInventoriesSchema;

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
