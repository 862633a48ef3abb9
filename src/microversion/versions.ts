/**
 * Every microversion Emplace speaks, oldest first, and a named gate for each behaviour change.
 * Handlers ask `mv.has(GATE)`; they never compare version strings themselves.
 */

/** One entry per microversion: what it adds (Placement's history, in our words). */
export const VERSION_HISTORY: ReadonlyArray<readonly [string, string]> = [
  ['1.0', 'initial API'],
  ['1.1', 'provider aggregates'],
  ['1.2', 'custom resource classes'],
  ['1.3', 'member_of on GET /resource_providers'],
  ['1.4', 'resources filter on GET /resource_providers'],
  ['1.5', 'DELETE all inventories of a provider'],
  ['1.6', 'traits'],
  ['1.7', 'bodiless PUT /resource_classes/{name}'],
  ['1.8', 'project_id and user_id required when writing allocations'],
  ['1.9', 'GET /usages'],
  ['1.10', 'GET /allocation_candidates'],
  ['1.11', 'allocations link on providers'],
  ['1.12', 'dict form of allocations and allocation requests'],
  ['1.13', 'POST /allocations for several consumers'],
  ['1.14', 'nested providers: parent/root uuids, in_tree'],
  ['1.15', 'last-modified and cache-control headers'],
  ['1.16', 'limit on allocation candidates'],
  ['1.17', 'required traits on allocation candidates'],
  ['1.18', 'required traits on GET /resource_providers'],
  ['1.19', 'generation in provider aggregates'],
  ['1.20', 'POST /resource_providers answers 200 with the provider'],
  ['1.21', 'member_of on allocation candidates'],
  ['1.22', 'forbidden traits'],
  ['1.23', 'error codes in error bodies'],
  ['1.24', 'repeated member_of is AND'],
  ['1.25', 'granular request groups'],
  ['1.26', 'reserved may equal total'],
  ['1.27', 'all inventories in provider summaries'],
  ['1.28', 'consumer generations'],
  ['1.29', 'nested providers in allocation candidates'],
  ['1.30', 'POST /reshaper'],
  ['1.31', 'in_tree on allocation candidates'],
  ['1.32', 'forbidden aggregates'],
  ['1.33', 'arbitrary request group suffixes'],
  ['1.34', 'mappings in allocation requests'],
  ['1.35', 'root_required'],
  ['1.36', 'same_subtree and resourceless groups'],
  ['1.37', 're-parenting and un-parenting providers'],
  ['1.38', 'consumer types'],
  ['1.39', 'any-of traits with in: in required'],
];

export const MIN_VERSION = VERSION_HISTORY[0][0];
export const MAX_VERSION = VERSION_HISTORY[VERSION_HISTORY.length - 1][0];

// Named behaviour gates. The value is the first microversion with the behaviour.
export const AGGREGATES = '1.1';
export const RESOURCE_CLASSES = '1.2';
export const PROVIDER_MEMBER_OF = '1.3';
export const PROVIDER_RESOURCES_FILTER = '1.4';
export const DELETE_ALL_INVENTORIES = '1.5';
export const TRAITS = '1.6';
export const RESOURCE_CLASS_PUT_CREATES = '1.7';
export const ALLOCATION_PROJECT_USER_REQUIRED = '1.8';
export const USAGES = '1.9';
export const ALLOCATION_CANDIDATES = '1.10';
export const PROVIDER_ALLOCATIONS_LINK = '1.11';
export const ALLOCATIONS_DICT_FORM = '1.12';
export const POST_ALLOCATIONS = '1.13';
export const NESTED_PROVIDERS = '1.14';
export const CACHE_HEADERS = '1.15';
export const CANDIDATES_LIMIT = '1.16';
export const CANDIDATES_REQUIRED_TRAITS = '1.17';
export const PROVIDER_REQUIRED_TRAITS = '1.18';
export const AGGREGATES_GENERATION = '1.19';
export const CREATE_PROVIDER_RETURNS_BODY = '1.20';
export const CANDIDATES_MEMBER_OF = '1.21';
export const FORBIDDEN_TRAITS = '1.22';
export const ERROR_CODES = '1.23';
export const MULTIPLE_MEMBER_OF = '1.24';
export const GRANULAR_GROUPS = '1.25';
export const RESERVED_EQUALS_TOTAL = '1.26';
export const SUMMARIES_ALL_INVENTORIES = '1.27';
export const CONSUMER_GENERATION = '1.28';
export const NESTED_CANDIDATES = '1.29';
export const RESHAPER = '1.30';
export const CANDIDATES_IN_TREE = '1.31';
export const FORBIDDEN_AGGREGATES = '1.32';
export const ARBITRARY_GROUP_SUFFIX = '1.33';
export const CANDIDATE_MAPPINGS = '1.34';
export const ROOT_REQUIRED = '1.35';
export const SAME_SUBTREE = '1.36';
export const REPARENTING = '1.37';
export const CONSUMER_TYPES = '1.38';
export const ANY_TRAITS = '1.39';
