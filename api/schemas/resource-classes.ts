import type { JsonSchema } from '../../src/validation/validator';
import { CUSTOM_RC_PATTERN } from './names';

/**
 * POST /resource_classes and PUT /resource_classes/{name} before 1.7 (rename). From 1.7 the same
 * schema checks the name in the path, as Placement validates `{"name": <path name>}`.
 */
export const resourceClassNameSchema: JsonSchema = {
  type: 'object',
  properties: { name: { type: 'string', pattern: CUSTOM_RC_PATTERN, maxLength: 255 } },
  required: ['name'],
  additionalProperties: false,
};
