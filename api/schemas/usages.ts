import type { JsonSchema } from '../../src/validation/validator';

/** Query of GET /usages (1.9), with consumer_type from 1.38 (Placement's schemas/usage.py facts). */

const externalId = { type: 'string', minLength: 1, maxLength: 255 };

export const GET_USAGES_V1_9: JsonSchema = {
  type: 'object',
  properties: { project_id: externalId, user_id: externalId },
  required: ['project_id'],
  additionalProperties: false,
};

export const GET_USAGES_V1_38: JsonSchema = {
  ...GET_USAGES_V1_9,
  properties: {
    project_id: externalId,
    user_id: externalId,
    // A type name, or the two reserved words: `all` groups everything, `unknown` the untyped.
    consumer_type: { type: 'string', pattern: '^[A-Z0-9_]+$|^all|^unknown$', minLength: 1, maxLength: 255 },
  },
};
