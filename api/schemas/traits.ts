import type { JsonSchema } from '../../src/validation/validator';
import { CUSTOM_TRAIT_PATTERN } from './names';

const trait = { type: 'string', minLength: 1, maxLength: 255 };

/** A custom trait name, as PUT /traits/{name} accepts it. */
export const customTraitSchema: JsonSchema = { ...trait, pattern: CUSTOM_TRAIT_PATTERN };

/** PUT /resource_providers/{uuid}/traits: any existing trait name, plus the provider generation. */
export const setProviderTraitsSchema: JsonSchema = {
  type: 'object',
  properties: {
    traits: { type: 'array', items: trait },
    resource_provider_generation: { type: 'integer' },
  },
  required: ['traits', 'resource_provider_generation'],
  additionalProperties: false,
};

/** GET /traits query string. */
export const listTraitsQuerySchema: JsonSchema = {
  type: 'object',
  properties: { name: { type: 'string' }, associated: { type: 'string' } },
  additionalProperties: false,
};
