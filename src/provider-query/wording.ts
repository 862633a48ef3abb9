import { badRequest } from '../errors/http-error';
import { noSuchResourceClass, noSuchTraits } from '../errors/messages';
import type { Wording } from '../http/domain-errors';

/** An unknown class in `resources` is a bad query at both endpoints. */
const unknownClass: Wording['UnknownResourceClass'] = (e) =>
  badRequest(`Invalid resource class in resources parameter: ${noSuchResourceClass(e.className)}`);

/** GET /allocation_candidates: unknown traits keep the plain sentence. */
export const CANDIDATES_WORDING: Wording = { UnknownResourceClass: unknownClass };

/** GET /resource_providers (and /emplace/capacity, which takes the same `required`) names the parameter. */
export const PROVIDER_LIST_WORDING: Wording = {
  UnknownResourceClass: unknownClass,
  UnknownTrait: (e) => badRequest(`Invalid trait(s) in "required" parameter: ${noSuchTraits(e.names)}`),
};
