/**
 * Placement's sentences, each once. Clients and Placement's gabbits match on this text, so it is part of the
 * contract: keep the wording (and its odd spacing) as Placement sends it. Handlers compose a response from these
 * and a domain error's data; nothing else writes one of these sentences.
 */

export const noSuchProvider = (uuid: string) => `No resource provider with uuid ${uuid} found`;

/** Placement's ConcurrentUpdateDetected, and the variant its resource provider object raises. */
export const CONCURRENT_UPDATE_DATA = 'Another thread concurrently updated the data. Please retry your update';
export const CONCURRENT_UPDATE_PROVIDER =
  'Another thread concurrently updated the resource provider data. Please retry your update';

export const providerGenerationChanged =
  "Resource provider's generation already changed. Please update the generation and try again.";
export const providerGenerationConflict = (uuid: string, actual: number, given: number) =>
  `resource provider generation conflict for provider ${uuid}: actual: ${actual}, given: ${given}`;
export const PROVIDER_GENERATION_CONFLICT = 'resource provider generation conflict';

export const consumerGenerationConflict = (actual: number | null, given: number | null) =>
  `consumer generation conflict - expected ${actual === null ? 'null' : actual} but got ${given === null ? 'None' : given}`;

export const allocationsChanged = (reason: string) =>
  `Inventory and/or allocations changed while attempting to allocate: ${reason}`;

export const noSuchResourceClass = (name: string) => `No such resource class ${name}.`;
export const noSuchTraits = (names: string[]) => `No such trait(s): ${names.join(', ')}.`;

export const inventoryInUse = (providerUuid: string, classes: string[]) =>
  `Inventory for '${classes.join(', ')}' on resource provider '${providerUuid}' in use.`;

export const reservedExceedsTotal = (
  action: 'create' | 'update',
  providerUuid: string,
  resourceClass: string,
  reservedMayEqualTotal: boolean,
) =>
  `Unable to ${action} inventory for resource provider ${providerUuid}: Invalid inventory for '${resourceClass}' on ` +
  `resource provider '${providerUuid}'. The reserved value is ${reservedMayEqualTotal ? 'greater than total' : 'greater than or equal to total'}.`;

const cannotAllocate = 'Unable to allocate inventory: ';
const allocationOf = (resourceClass: string, providerUuid: string) =>
  `Unable to create allocation for '${resourceClass}' on resource provider '${providerUuid}'.`;

export const noInventory = (providerUuid: string, classes: string[]) =>
  `${cannotAllocate}Inventory for '${classes.join(', ')}' on resource provider '${providerUuid}' invalid.`;

export const unitConstraintViolated = (
  providerUuid: string,
  resourceClass: string,
  requested: number,
  limits: { minUnit: number; maxUnit: number; stepSize: number },
) =>
  `${cannotAllocate}${allocationOf(resourceClass, providerUuid)} The requested amount would violate inventory constraints. ` +
  `Requested ${requested}; min_unit ${limits.minUnit}, max_unit ${limits.maxUnit}, step_size ${limits.stepSize}.`;

export const capacityExceeded = (
  providerUuid: string,
  resourceClass: string,
  requested: number,
  used: number,
  capacity: number,
) =>
  `${cannotAllocate}${allocationOf(resourceClass, providerUuid)} The requested amount would exceed the capacity. ` +
  `Requested ${requested}, used ${used}, capacity ${capacity}, free ${Math.max(0, Math.floor(capacity - used))}.`;

export const allocationProviderMissing = (providerUuid: string) =>
  `Allocation for resource provider '${providerUuid}' that does not exist.`;
export const noAllocationsForConsumer = (consumerUuid: string) => `No allocations for consumer '${consumerUuid}'`;

export const providerHasChildren = (uuid: string) =>
  `Unable to delete parent resource provider ${uuid}: It has child resource providers.`;
export const providerHasAllocations = (uuid: string) =>
  `Unable to delete resource provider ${uuid}: Resource provider has allocations.`;
export const PARENT_DOES_NOT_EXIST = 'parent provider UUID does not exist.';

export const standardNameImmutable = (
  entity: 'resource class' | 'trait',
  name: string,
  action: 'update' | 'delete',
) => {
  if (entity === 'trait') return `Cannot delete standard trait ${name}.`;
  return action === 'update'
    ? `Cannot update standard resource class ${name}`
    : `Error in delete resource class: Cannot delete standard resource class ${name}.`;
};
export const nameInUse = (entity: 'resource class' | 'trait', name: string) =>
  entity === 'trait'
    ? `The trait ${name} is in use by a resource provider.`
    : `Error in delete resource class: Cannot delete resource class ${name}. Class is in use in inventory.`;
export const resourceClassExists = (name: string) => `Resource class already exists: ${name}`;
export const conflictingProvider = (clashes: string) => `Conflicting resource provider ${clashes} already exists.`;

/** Backstops for database errors no repo turned into a domain error. */
export const NUMBER_OUT_OF_RANGE = 'A number in the request is out of range.';
export const VALUE_NOT_STORABLE = 'A value in the request cannot be stored as given.';

/** Emplace's own: GET /allocation_candidates past EMPLACE_CANDIDATES_TIME_BUDGET_MS (decision 0900). */
export const candidatesOverBudget = (budgetMs: number) =>
  `Allocation candidates could not be generated within ${budgetMs} ms. Ask for fewer with limit, or narrow the request.`;
