import type { Request } from 'express';
import type { Config } from '../config';
import { badRequest } from '../errors/http-error';
import { ALLOCATIONS_DICT_FORM, CONSUMER_GENERATION, CONSUMER_TYPES } from '../microversion/versions';
import type { AllocationWrite } from '../repo/allocations';
import { UUID_PATTERN, canonicalUuid } from '../validation/validator';

/**
 * Parsing shared by PUT/POST /allocations and POST /reshaper: turn every microversion's (already
 * validated) body shape into the one AllocationWrite the repo understands.
 */

/** The body of one consumer in any microversion's shape (already schema-valid). */
export interface ConsumerBody {
  allocations:
    | Array<{ resource_provider: { uuid: string }; resources: Record<string, number> }>
    | Record<string, { resources: Record<string, number> }>;
  project_id?: string;
  user_id?: string;
  consumer_generation?: number | null;
  consumer_type?: string;
}

/** A body key's consumer uuid, canonicalised; Placement accepts dashless and any case. */
function parseConsumerUuid(raw: string): string {
  if (!UUID_PATTERN.test(raw)) throw malformedConsumerUuid(raw);
  return canonicalUuid(raw);
}

/** Placement's 400 for a consumer uuid that is no uuid, in a body key or in PUT's path. */
export const malformedConsumerUuid = (raw: string) => badRequest(`Malformed consumer_uuid: ${raw}`);

/** Provider keys are canonicalised when uuid-shaped; anything else stays as sent and is reported missing. */
function providerKey(raw: string): string {
  return UUID_PATTERN.test(raw) ? canonicalUuid(raw) : raw;
}

/** Turn one consumer's body (list form before 1.12, dict form after) into the repo's write. */
export function toAllocationWrite(
  req: Request,
  config: Config,
  consumerUuid: string,
  body: ConsumerBody,
): AllocationWrite {
  const allocations = new Map<string, Map<string, number>>();
  const add = (provider: string, resources: Record<string, number>) =>
    allocations.set(providerKey(provider), new Map(Object.entries(resources)));
  if (Array.isArray(body.allocations) && !req.mv.has(ALLOCATIONS_DICT_FORM)) {
    // A provider listed twice: the later entry wins, as in Placement's list-to-dict conversion.
    for (const entry of body.allocations) add(entry.resource_provider.uuid, entry.resources);
  } else {
    for (const [provider, entry] of Object.entries(body.allocations)) add(provider, entry.resources);
  }
  // Before 1.8 no project or user is sent: Placement's configurable "incomplete consumer" ids stand in.
  const incomplete = body.project_id === undefined;
  return {
    uuid: consumerUuid,
    projectExternalId: incomplete ? config.incompleteConsumerProjectId : body.project_id!,
    userExternalId: incomplete ? config.incompleteConsumerUserId : body.user_id!,
    consumerType: req.mv.has(CONSUMER_TYPES) ? body.consumer_type : undefined,
    expectedGeneration: req.mv.has(CONSUMER_GENERATION) ? (body.consumer_generation ?? null) : undefined,
    allocations,
  };
}

/** POST /allocations and the reshaper: one write per consumer key (a repeated uuid in other spelling: last wins). */
export function toAllocationWrites(
  req: Request,
  config: Config,
  byConsumer: Record<string, ConsumerBody>,
): AllocationWrite[] {
  const writes = new Map<string, AllocationWrite>();
  for (const [rawUuid, body] of Object.entries(byConsumer)) {
    const uuid = parseConsumerUuid(rawUuid);
    writes.set(uuid, toAllocationWrite(req, config, uuid, body));
  }
  return [...writes.values()];
}
