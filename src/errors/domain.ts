/**
 * What repos and the candidates engine say went wrong, as data. They never word a response: each handler
 * family maps these to Placement's status, code and sentence (src/http/domain-errors.ts holds the default
 * wording, a family overrides where its Placement handler says it differently).
 */
export abstract class DomainError extends Error {
  abstract readonly kind: string;
}

/** Candidate generation spent the request's EMPLACE_CANDIDATES_TIME_BUDGET_MS before it finished. */
export class CandidatesBudgetExceeded extends DomainError {
  readonly kind = 'CandidatesBudgetExceeded';
  constructor(readonly budgetMs: number) {
    super(`allocation candidate generation exceeded its time budget of ${budgetMs} ms`);
  }
}

/** No provider has this uuid (or it went away under a lock). */
export class ProviderNotFound extends DomainError {
  readonly kind = 'ProviderNotFound';
  constructor(readonly uuid: string) {
    super(`no resource provider ${uuid}`);
  }
}

/** A client's generation no longer matches the provider's. */
export class ProviderGenerationConflict extends DomainError {
  readonly kind = 'ProviderGenerationConflict';
  constructor(
    readonly uuid: string,
    readonly actual: number,
    readonly given: number,
  ) {
    super(`provider ${uuid} is at generation ${actual}, not ${given}`);
  }
}

/** Another writer changed the provider between our read and our compare-and-swap (or kept moving a tree). */
export class ProviderChanged extends DomainError {
  readonly kind = 'ProviderChanged';
  constructor() {
    super('the resource provider changed concurrently');
  }
}

/** The provider set or generations moved under an allocation write; the whole transaction is retried. */
export class ProviderRace extends DomainError {
  readonly kind = 'ProviderRace';
  constructor() {
    super('providers moved under an allocation write');
  }
}

/** Retries on provider races ran out (Placement's allocation_conflict_retry_count). */
export class AllocationRetriesExhausted extends DomainError {
  readonly kind = 'AllocationRetriesExhausted';
  constructor() {
    super('allocation retries exhausted');
  }
}

/** A consumer's generation is not what the client said (null: the client expected no consumer). */
export class ConsumerGenerationConflict extends DomainError {
  readonly kind = 'ConsumerGenerationConflict';
  constructor(
    readonly uuid: string,
    readonly actual: number | null,
    readonly given: number | null,
  ) {
    super(`consumer ${uuid} is at generation ${actual}, not ${given}`);
  }
}

/** Inventory with allocations against it would go away. */
export class InventoryInUse extends DomainError {
  readonly kind = 'InventoryInUse';
  constructor(
    readonly providerUuid: string,
    readonly resourceClasses: string[],
  ) {
    super(`inventory of ${resourceClasses.join(', ')} on ${providerUuid} is in use`);
  }
}

/** Reserved leaves no room (capacity <= 0, or < 0 from 1.26 where reserved may equal total). */
export class ReservedExceedsTotal extends DomainError {
  readonly kind = 'ReservedExceedsTotal';
  constructor(
    readonly providerUuid: string,
    readonly resourceClass: string,
    readonly reservedMayEqualTotal: boolean,
  ) {
    super(`reserved leaves no capacity for ${resourceClass} on ${providerUuid}`);
  }
}

/** A claim on a provider that has no inventory of the classes asked (all of them: Placement names them all). */
export class NoInventory extends DomainError {
  readonly kind = 'NoInventory';
  constructor(
    readonly providerUuid: string,
    readonly resourceClasses: string[],
  ) {
    super(`no inventory of ${resourceClasses.join(', ')} on ${providerUuid}`);
  }
}

/** An amount outside min_unit..max_unit or off the step_size. */
export class UnitConstraintViolated extends DomainError {
  readonly kind = 'UnitConstraintViolated';
  constructor(
    readonly providerUuid: string,
    readonly resourceClass: string,
    readonly requested: number,
    readonly limits: { minUnit: number; maxUnit: number; stepSize: number },
  ) {
    super(`${requested} of ${resourceClass} on ${providerUuid} violates the inventory's unit constraints`);
  }
}

/** A claim beyond free capacity: used (by others) + requested > capacity. */
export class CapacityExceeded extends DomainError {
  readonly kind = 'CapacityExceeded';
  constructor(
    readonly providerUuid: string,
    readonly resourceClass: string,
    readonly requested: number,
    readonly used: number,
    readonly capacity: number,
  ) {
    super(`${requested} of ${resourceClass} on ${providerUuid} exceeds the capacity`);
  }
}

/** A claim names a provider that does not exist. */
export class AllocationProviderMissing extends DomainError {
  readonly kind = 'AllocationProviderMissing';
  constructor(readonly providerUuid: string) {
    super(`allocation on missing provider ${providerUuid}`);
  }
}

/** The consumer holds no allocations (DELETE /allocations/{consumer_uuid}). */
export class ConsumerHasNoAllocations extends DomainError {
  readonly kind = 'ConsumerHasNoAllocations';
  constructor(readonly consumerUuid: string) {
    super(`consumer ${consumerUuid} holds no allocations`);
  }
}

/** A resource class name no class has. */
export class UnknownResourceClass extends DomainError {
  readonly kind = 'UnknownResourceClass';
  constructor(readonly className: string) {
    super(`no resource class ${className}`);
  }
}

/** A trait name no trait has. */
export class UnknownTrait extends DomainError {
  readonly kind = 'UnknownTrait';
  constructor(readonly names: string[]) {
    super(`no trait ${names.join(', ')}`);
  }
}

/** A standard (non-custom) class or trait cannot be changed or deleted. */
export class StandardNameImmutable extends DomainError {
  readonly kind = 'StandardNameImmutable';
  constructor(
    readonly entity: 'resource class' | 'trait',
    readonly entityName: string,
    readonly action: 'update' | 'delete',
  ) {
    super(`standard ${entity} ${entityName} cannot be ${action}d`);
  }
}

/** A class or trait still used by inventory, allocations or providers. */
export class NameInUse extends DomainError {
  readonly kind = 'NameInUse';
  constructor(
    readonly entity: 'resource class' | 'trait',
    readonly entityName: string,
  ) {
    super(`${entity} ${entityName} is in use`);
  }
}

/** A name (or uuid) another row already has. */
export class DuplicateName extends DomainError {
  readonly kind = 'DuplicateName';
  constructor(
    readonly entity: 'resource provider' | 'resource class',
    readonly entityName: string,
    /** For providers: which unique column clashed. */
    readonly fields: Array<'uuid' | 'name'> = ['name'],
  ) {
    super(`${entity} ${entityName} already exists`);
  }
}

/** The named parent vanished under a concurrent delete. */
export class MissingParent extends DomainError {
  readonly kind = 'MissingParent';
  constructor() {
    super('parent provider UUID does not exist.');
  }
}

/** A provider with children cannot be deleted. */
export class ProviderHasChildren extends DomainError {
  readonly kind = 'ProviderHasChildren';
  constructor(readonly uuid: string) {
    super(`provider ${uuid} has children`);
  }
}

/** A provider with allocations cannot be deleted. */
export class ProviderHasAllocations extends DomainError {
  readonly kind = 'ProviderHasAllocations';
  constructor(readonly uuid: string) {
    super(`provider ${uuid} has allocations`);
  }
}

export type AnyDomainError =
  | ProviderNotFound
  | ProviderGenerationConflict
  | ProviderChanged
  | ProviderRace
  | AllocationRetriesExhausted
  | ConsumerGenerationConflict
  | InventoryInUse
  | ReservedExceedsTotal
  | NoInventory
  | UnitConstraintViolated
  | CapacityExceeded
  | AllocationProviderMissing
  | ConsumerHasNoAllocations
  | UnknownResourceClass
  | UnknownTrait
  | StandardNameImmutable
  | NameInUse
  | DuplicateName
  | MissingParent
  | ProviderHasChildren
  | ProviderHasAllocations
  | CandidatesBudgetExceeded;
