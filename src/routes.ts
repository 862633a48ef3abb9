import * as aggregates from './handlers/aggregates';
import * as emplaceAudit from './handlers/emplace-audit';
import * as emplaceCapacity from './handlers/emplace-capacity';
import * as emplaceExplain from './handlers/emplace-explain';
import * as emplaceHeartbeats from './handlers/emplace-heartbeats';
import * as emplaceUi from './handlers/emplace-ui';
import * as allocationCandidates from './handlers/allocation-candidates';
import * as allocations from './handlers/allocations';
import * as health from './handlers/health';
import * as inventories from './handlers/inventories';
import * as resourceClasses from './handlers/resource-classes';
import * as resourceProviders from './handlers/resource-providers';
import * as reshaper from './handlers/reshaper';
import * as root from './handlers/root';
import * as traits from './handlers/traits';
import * as usages from './handlers/usages';
import { lastQueryValue } from './http/query';
import { showMetrics } from './metrics/metrics-handler';
import { providerUuid } from './handlers/provider-path';
import { PUBLIC, type RouteTable } from './http/route-table';
import {
  AGGREGATES,
  ALLOCATION_CANDIDATES,
  DELETE_ALL_INVENTORIES,
  POST_ALLOCATIONS,
  RESHAPER,
  RESOURCE_CLASSES,
  RESOURCE_CLASS_PUT_CREATES,
  TRAITS,
  USAGES,
} from './microversion/versions';
import { POLICY } from './policy/rules';

/** Every path the service answers, its methods, the policy each enforces, and the microversion window of each. */
export const ROUTES: RouteTable = {
  '/': { GET: { handler: root.home, policy: PUBLIC, ignoresAccept: true } },
  '/healthz': { GET: { handler: health.healthz, policy: PUBLIC } },
  '/healthz/live': { GET: { handler: health.healthzLive, policy: PUBLIC } },
  '/healthz/ready': { GET: { handler: health.healthzReady, policy: PUBLIC } },
  '/resource_providers': {
    GET: { handler: resourceProviders.listResourceProviders, policy: POLICY.RESOURCE_PROVIDERS_LIST },
    POST: {
      handler: resourceProviders.createResourceProvider,
      policy: POLICY.RESOURCE_PROVIDERS_CREATE,
      takesBody: true,
    },
  },
  '/resource_providers/{uuid}': {
    GET: {
      handler: resourceProviders.getResourceProvider,
      policy: POLICY.RESOURCE_PROVIDERS_SHOW,
      params: providerUuid(),
    },
    PUT: {
      handler: resourceProviders.updateResourceProvider,
      policy: POLICY.RESOURCE_PROVIDERS_UPDATE,
      takesBody: true,
      params: providerUuid(),
    },
    DELETE: {
      handler: resourceProviders.deleteResourceProvider,
      policy: POLICY.RESOURCE_PROVIDERS_DELETE,
      params: providerUuid('for delete'),
    },
  },
  '/resource_providers/{uuid}/inventories': {
    GET: {
      handler: inventories.getInventories,
      policy: POLICY.INVENTORIES_LIST,
      params: providerUuid('repeat after spaced colon'),
    },
    POST: {
      handler: inventories.createInventory,
      policy: POLICY.INVENTORIES_CREATE,
      takesBody: true,
      params: providerUuid(),
    },
    PUT: {
      handler: inventories.setInventories,
      policy: POLICY.INVENTORIES_UPDATE,
      takesBody: true,
      params: providerUuid(),
    },
    DELETE: {
      handler: inventories.deleteInventories,
      policy: POLICY.INVENTORIES_DELETE,
      since: DELETE_ALL_INVENTORIES,
      tooEarlyStatus: 405,
      params: providerUuid(),
    },
  },
  '/resource_providers/{uuid}/inventories/{resource_class}': {
    GET: {
      handler: inventories.getInventory,
      policy: POLICY.INVENTORIES_SHOW,
      params: providerUuid('repeat after spaced colon'),
    },
    PUT: {
      handler: inventories.updateInventory,
      policy: POLICY.INVENTORIES_UPDATE,
      takesBody: true,
      params: providerUuid(),
    },
    DELETE: { handler: inventories.deleteInventory, policy: POLICY.INVENTORIES_DELETE, params: providerUuid() },
  },
  '/resource_providers/{uuid}/usages': {
    GET: {
      handler: usages.listProviderUsages,
      policy: POLICY.PROVIDER_USAGES,
      params: providerUuid('repeat after colon'),
    },
  },
  '/resource_providers/{uuid}/aggregates': {
    GET: {
      handler: aggregates.getAggregates,
      policy: POLICY.AGGREGATES_LIST,
      since: AGGREGATES,
      params: providerUuid(),
    },
    PUT: {
      handler: aggregates.setAggregates,
      policy: POLICY.AGGREGATES_UPDATE,
      since: AGGREGATES,
      takesBody: true,
      params: providerUuid(),
    },
  },
  '/resource_providers/{uuid}/allocations': {
    GET: {
      handler: allocations.listForResourceProvider,
      policy: POLICY.PROVIDER_ALLOCATIONS_LIST,
      params: providerUuid('allocations'),
    },
  },
  '/resource_providers/{uuid}/traits': {
    GET: {
      handler: traits.listTraitsForResourceProvider,
      policy: POLICY.PROVIDER_TRAITS_LIST,
      since: TRAITS,
      params: providerUuid('repeat after colon'),
    },
    PUT: {
      handler: traits.updateTraitsForResourceProvider,
      policy: POLICY.PROVIDER_TRAITS_UPDATE,
      since: TRAITS,
      takesBody: true,
      params: traits.PROVIDER_FOR_TRAITS_UPDATE,
    },
    DELETE: {
      handler: traits.deleteTraitsForResourceProvider,
      policy: POLICY.PROVIDER_TRAITS_DELETE,
      since: TRAITS,
      params: providerUuid(),
    },
  },
  '/resource_classes': {
    GET: {
      handler: resourceClasses.listResourceClasses,
      policy: POLICY.RESOURCE_CLASSES_LIST,
      since: RESOURCE_CLASSES,
    },
    POST: {
      handler: resourceClasses.createResourceClass,
      policy: POLICY.RESOURCE_CLASSES_CREATE,
      since: RESOURCE_CLASSES,
      takesBody: true,
    },
  },
  '/resource_classes/{name}': {
    GET: { handler: resourceClasses.getResourceClass, policy: POLICY.RESOURCE_CLASSES_SHOW, since: RESOURCE_CLASSES },
    // Before 1.7 PUT renames a class and needs a body; from 1.7 it is a bodiless create-or-ensure.
    PUT: {
      handler: resourceClasses.updateResourceClass,
      policy: POLICY.RESOURCE_CLASSES_UPDATE,
      since: RESOURCE_CLASSES,
      takesBody: (mv) => !mv.has(RESOURCE_CLASS_PUT_CREATES),
    },
    DELETE: {
      handler: resourceClasses.deleteResourceClass,
      policy: POLICY.RESOURCE_CLASSES_DELETE,
      since: RESOURCE_CLASSES,
    },
  },
  '/traits': { GET: { handler: traits.listTraits, policy: POLICY.TRAITS_LIST, since: TRAITS } },
  '/traits/{name}': {
    GET: { handler: traits.getTrait, policy: POLICY.TRAITS_SHOW, since: TRAITS },
    PUT: { handler: traits.putTrait, policy: POLICY.TRAITS_UPDATE, since: TRAITS, params: traits.CUSTOM_TRAIT_NAME },
    DELETE: { handler: traits.deleteTrait, policy: POLICY.TRAITS_DELETE, since: TRAITS },
  },
  '/allocations': {
    POST: {
      handler: allocations.setAllocations,
      policy: POLICY.ALLOCATIONS_MANAGE,
      since: POST_ALLOCATIONS,
      takesBody: true,
    },
  },
  '/allocations/{consumer_uuid}': {
    GET: {
      handler: allocations.listForConsumer,
      policy: POLICY.ALLOCATIONS_LIST,
      params: allocations.CONSUMER_TO_LIST,
    },
    PUT: {
      handler: allocations.setAllocationsForConsumer,
      policy: POLICY.ALLOCATIONS_UPDATE,
      takesBody: true,
      params: allocations.CONSUMER_TO_SET,
    },
    DELETE: {
      handler: allocations.deleteAllocations,
      policy: POLICY.ALLOCATIONS_DELETE,
      params: allocations.CONSUMER_TO_DELETE,
    },
  },
  '/allocation_candidates': {
    GET: {
      handler: allocationCandidates.listAllocationCandidates,
      policy: POLICY.ALLOCATION_CANDIDATES_LIST,
      since: ALLOCATION_CANDIDATES,
    },
  },
  '/usages': {
    // The target is the project asked about: a project reader may see its own project only.
    GET: {
      handler: usages.getTotalUsages,
      policy: POLICY.TOTAL_USAGES,
      policyTarget: (req) => ({ project_id: lastQueryValue(req, 'project_id') }),
      since: USAGES,
    },
  },
  '/reshaper': { POST: { handler: reshaper.reshape, policy: POLICY.RESHAPE, since: RESHAPER, takesBody: true } },
  // Emplace's own additions (docs/emplace-extensions.md): no Placement route's behaviour depends on them.
  '/emplace/capacity': { GET: { handler: emplaceCapacity.showCapacity, policy: POLICY.EMPLACE_CAPACITY_SHOW } },
  '/emplace/heartbeats': { GET: { handler: emplaceHeartbeats.listHeartbeats, policy: POLICY.EMPLACE_HEARTBEATS_LIST } },
  '/emplace/heartbeats/{uuid}': {
    PUT: {
      handler: emplaceHeartbeats.updateHeartbeat,
      policy: POLICY.EMPLACE_HEARTBEATS_UPDATE,
      params: emplaceHeartbeats.HEARTBEAT_PROVIDER,
    },
    DELETE: {
      handler: emplaceHeartbeats.deleteHeartbeat,
      policy: POLICY.EMPLACE_HEARTBEATS_DELETE,
      params: emplaceHeartbeats.HEARTBEAT_PROVIDER,
    },
  },
  '/emplace/audit': { GET: { handler: emplaceAudit.showAudit, policy: POLICY.EMPLACE_AUDIT_SHOW } },
  // The query of GET /allocation_candidates, explained: the same microversion window and query language.
  '/emplace/explain/allocation_candidates': {
    GET: {
      handler: emplaceExplain.explainAllocationCandidates,
      policy: POLICY.EMPLACE_EXPLAIN_SHOW,
      since: ALLOCATION_CANDIDATES,
    },
  },
  // The capacity page's files hold no data: public, as the version document is. Its data calls are guarded.
  '/emplace/ui': { GET: { handler: emplaceUi.redirectToPage, policy: PUBLIC } },
  '/emplace/ui/': { GET: { handler: emplaceUi.showPage, policy: PUBLIC } },
  '/emplace/ui/{name}': { GET: { handler: emplaceUi.showAsset, policy: PUBLIC } },
  // Prometheus' conventional path, not under /emplace/ (docs/decisions/1300-metrics.md).
  '/metrics': { GET: { handler: showMetrics, policy: POLICY.EMPLACE_METRICS_SHOW, produces: 'text/plain' } },
};
