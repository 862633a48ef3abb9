/**
 * Placement's policy names and default rules, as data (placement/policies/*.py). Every API action
 * names one of `POLICY`; the route table carries the name, the enforcer looks the rule up here.
 */

/** Where a token may come from: Placement scopes every API to project-scoped tokens. */
export type ScopeType = 'project' | 'system' | 'domain';

export interface PolicyDefault {
  name: string;
  /** oslo.policy check string. */
  check: string;
  /** Token scopes allowed; absent means not checked (Placement's project_reader_api). */
  scopeTypes?: ScopeType[];
  /** The pre-Wallaby rule, ORed in when new defaults are not enforced. */
  deprecatedCheck?: string;
}

export const POLICY = {
  RESOURCE_PROVIDERS_LIST: 'placement:resource_providers:list',
  RESOURCE_PROVIDERS_CREATE: 'placement:resource_providers:create',
  RESOURCE_PROVIDERS_SHOW: 'placement:resource_providers:show',
  RESOURCE_PROVIDERS_UPDATE: 'placement:resource_providers:update',
  RESOURCE_PROVIDERS_DELETE: 'placement:resource_providers:delete',
  INVENTORIES_LIST: 'placement:resource_providers:inventories:list',
  INVENTORIES_CREATE: 'placement:resource_providers:inventories:create',
  INVENTORIES_SHOW: 'placement:resource_providers:inventories:show',
  INVENTORIES_UPDATE: 'placement:resource_providers:inventories:update',
  INVENTORIES_DELETE: 'placement:resource_providers:inventories:delete',
  AGGREGATES_LIST: 'placement:resource_providers:aggregates:list',
  AGGREGATES_UPDATE: 'placement:resource_providers:aggregates:update',
  PROVIDER_USAGES: 'placement:resource_providers:usages',
  PROVIDER_ALLOCATIONS_LIST: 'placement:resource_providers:allocations:list',
  PROVIDER_TRAITS_LIST: 'placement:resource_providers:traits:list',
  PROVIDER_TRAITS_UPDATE: 'placement:resource_providers:traits:update',
  PROVIDER_TRAITS_DELETE: 'placement:resource_providers:traits:delete',
  RESOURCE_CLASSES_LIST: 'placement:resource_classes:list',
  RESOURCE_CLASSES_CREATE: 'placement:resource_classes:create',
  RESOURCE_CLASSES_SHOW: 'placement:resource_classes:show',
  RESOURCE_CLASSES_UPDATE: 'placement:resource_classes:update',
  RESOURCE_CLASSES_DELETE: 'placement:resource_classes:delete',
  TRAITS_LIST: 'placement:traits:list',
  TRAITS_SHOW: 'placement:traits:show',
  TRAITS_UPDATE: 'placement:traits:update',
  TRAITS_DELETE: 'placement:traits:delete',
  ALLOCATIONS_LIST: 'placement:allocations:list',
  ALLOCATIONS_MANAGE: 'placement:allocations:manage',
  ALLOCATIONS_UPDATE: 'placement:allocations:update',
  ALLOCATIONS_DELETE: 'placement:allocations:delete',
  ALLOCATION_CANDIDATES_LIST: 'placement:allocation_candidates:list',
  TOTAL_USAGES: 'placement:usages',
  RESHAPE: 'placement:reshaper:reshape',
  // Emplace's own additions under /emplace/... (docs/emplace-extensions.md), overridable like the rest.
  EMPLACE_CAPACITY_SHOW: 'emplace:capacity:show',
  EMPLACE_HEARTBEATS_UPDATE: 'emplace:heartbeats:update',
  EMPLACE_HEARTBEATS_LIST: 'emplace:heartbeats:list',
  EMPLACE_HEARTBEATS_DELETE: 'emplace:heartbeats:delete',
  EMPLACE_AUDIT_SHOW: 'emplace:audit:show',
  EMPLACE_METRICS_SHOW: 'emplace:metrics:show',
} as const;

export type PolicyName = (typeof POLICY)[keyof typeof POLICY];

/** Deprecated in Wallaby: everything was admin-only before the service and reader roles. */
const LEGACY_ADMIN = 'role:admin';
const PROJECT: ScopeType[] = ['project'];

/** The generic rules the actions refer to with `rule:` (placement/policies/base.py). */
export const BASE_RULES: PolicyDefault[] = [
  { name: 'admin_api', check: 'role:admin', scopeTypes: PROJECT },
  { name: 'service_api', check: 'role:service', scopeTypes: PROJECT, deprecatedCheck: LEGACY_ADMIN },
  {
    name: 'admin_or_service_api',
    check: 'role:admin or role:service',
    scopeTypes: PROJECT,
    deprecatedCheck: LEGACY_ADMIN,
  },
  { name: 'project_reader_api', check: 'role:reader and project_id:%(project_id)s', deprecatedCheck: LEGACY_ADMIN },
  {
    name: 'admin_or_project_reader_or_service_api',
    check: 'role:admin or rule:project_reader_api or role:service',
    scopeTypes: PROJECT,
    deprecatedCheck: LEGACY_ADMIN,
  },
];

const ADMIN_OR_SERVICE = 'rule:admin_or_service_api';

/** The rule each action uses unless a policy file overrides it. */
const ACTION_CHECKS: Record<PolicyName, string> = {
  ...Object.fromEntries(Object.values(POLICY).map((name) => [name, ADMIN_OR_SERVICE])),
  // Only the service (nova-compute) moves inventory and allocations between providers.
  [POLICY.RESHAPE]: 'rule:service_api',
  // A project's readers may see their own project's totals.
  [POLICY.TOTAL_USAGES]: 'rule:admin_or_project_reader_or_service_api',
  // The capacity view (and the /emplace/ui/ page built on it) is for readers too: it shows no project's data.
  [POLICY.EMPLACE_CAPACITY_SHOW]: 'rule:admin_or_project_reader_or_service_api',
  // GET /metrics on the API port: operators only (EMPLACE_METRICS_LISTEN serves it elsewhere, unauthenticated).
  [POLICY.EMPLACE_METRICS_SHOW]: 'rule:admin_api',
} as Record<PolicyName, string>;

export const ACTION_RULES: PolicyDefault[] = Object.values(POLICY).map((name) => ({
  name,
  check: ACTION_CHECKS[name],
  scopeTypes: PROJECT,
}));

export const POLICY_DEFAULTS: PolicyDefault[] = [...BASE_RULES, ...ACTION_RULES];
