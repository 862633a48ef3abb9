import {
  CONCURRENT_UPDATE,
  DUPLICATE_NAME,
  INVENTORY_INUSE,
  PROVIDER_CANNOT_DELETE_PARENT,
  PROVIDER_IN_USE,
} from '../errors/codes';
import { DomainError, type AnyDomainError } from '../errors/domain';
import { HttpError, badRequest, conflict, notFound } from '../errors/http-error';
import * as say from '../errors/messages';

/** How one handler family words domain errors: status, code and sentence per kind. */
export type Wording = { [E in AnyDomainError as E['kind']]?: (error: E) => HttpError };

/**
 * The wording most Placement handlers share. A family passes overrides where its Placement handler says it
 * differently (a prefix, another status); kinds nobody overrides land here, also via the error renderer.
 */
const PLACEMENT_WORDING: Required<Wording> = {
  // Placement's provider routes raise a plain HTTPNotFound: code placement.undefined_code (decision 1200).
  ProviderNotFound: (e) => notFound(say.noSuchProvider(e.uuid)),
  ProviderGenerationConflict: (e) =>
    conflict(say.providerGenerationConflict(e.uuid, e.actual, e.given), CONCURRENT_UPDATE),
  ProviderChanged: () => conflict(say.CONCURRENT_UPDATE_PROVIDER, CONCURRENT_UPDATE),
  ProviderRace: () => conflict(say.CONCURRENT_UPDATE_PROVIDER, CONCURRENT_UPDATE),
  AllocationRetriesExhausted: () => conflict(say.allocationsChanged(say.CONCURRENT_UPDATE_PROVIDER), CONCURRENT_UPDATE),
  ConsumerGenerationConflict: (e) => conflict(say.consumerGenerationConflict(e.actual, e.given), CONCURRENT_UPDATE),
  InventoryInUse: (e) => conflict(say.inventoryInUse(e.providerUuid, e.resourceClasses), INVENTORY_INUSE),
  ReservedExceedsTotal: (e) =>
    badRequest(say.reservedExceedsTotal('update', e.providerUuid, e.resourceClass, e.reservedMayEqualTotal)),
  NoInventory: (e) => conflict(say.noInventory(e.providerUuid, e.resourceClasses)),
  UnitConstraintViolated: (e) =>
    conflict(say.unitConstraintViolated(e.providerUuid, e.resourceClass, e.requested, e.limits)),
  CapacityExceeded: (e) =>
    conflict(say.capacityExceeded(e.providerUuid, e.resourceClass, e.requested, e.used, e.capacity)),
  AllocationProviderMissing: (e) => badRequest(say.allocationProviderMissing(e.providerUuid)),
  ConsumerHasNoAllocations: (e) => notFound(say.noAllocationsForConsumer(e.consumerUuid)),
  UnknownResourceClass: (e) => badRequest(say.noSuchResourceClass(e.className)),
  UnknownTrait: (e) => badRequest(say.noSuchTraits(e.names)),
  StandardNameImmutable: (e) => badRequest(say.standardNameImmutable(e.entity, e.entityName, e.action)),
  NameInUse: (e) => conflict(say.nameInUse(e.entity, e.entityName)),
  DuplicateName: (e) =>
    e.entity === 'resource class'
      ? conflict(say.resourceClassExists(e.entityName))
      : conflict(say.conflictingProvider(e.entityName), DUPLICATE_NAME),
  MissingParent: () => badRequest(say.PARENT_DOES_NOT_EXIST),
  ProviderHasChildren: (e) => conflict(say.providerHasChildren(e.uuid), PROVIDER_CANNOT_DELETE_PARENT),
  ProviderHasAllocations: (e) => conflict(say.providerHasAllocations(e.uuid), PROVIDER_IN_USE),
  CandidatesBudgetExceeded: (e) => new HttpError(503, say.candidatesOverBudget(e.budgetMs)),
};

/** The HTTP error for a domain error, in the family's words where it has its own, else Placement's common ones. */
export function httpErrorFromDomain(error: DomainError, family: Wording = {}): HttpError {
  const kind = (error as AnyDomainError).kind;
  const word = (family[kind] ?? PLACEMENT_WORDING[kind]) as (e: DomainError) => HttpError;
  return word(error);
}

/** Run `work`, turning any domain error it throws into the family's HTTP error. */
export async function inWords<T>(family: Wording, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof DomainError) throw httpErrorFromDomain(error, family);
    throw error;
  }
}
