import * as aggregates from './handlers/aggregates';
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
import type { RouteTable } from './http/route-table';
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

/** Every path the service answers, its methods, and the microversion window of each. */
export const ROUTES: RouteTable = {
  '/': { GET: { handler: root.home } },
  '/healthz': { GET: { handler: health.healthz } },
  '/resource_providers': {
    GET: { handler: resourceProviders.listResourceProviders },
    POST: { handler: resourceProviders.createResourceProvider, takesBody: true },
  },
  '/resource_providers/{uuid}': {
    GET: { handler: resourceProviders.getResourceProvider },
    PUT: { handler: resourceProviders.updateResourceProvider, takesBody: true },
    DELETE: { handler: resourceProviders.deleteResourceProvider },
  },
  '/resource_providers/{uuid}/inventories': {
    GET: { handler: inventories.getInventories },
    POST: { handler: inventories.createInventory, takesBody: true },
    PUT: { handler: inventories.setInventories, takesBody: true },
    DELETE: { handler: inventories.deleteInventories, since: DELETE_ALL_INVENTORIES, tooEarlyStatus: 405 },
  },
  '/resource_providers/{uuid}/inventories/{resource_class}': {
    GET: { handler: inventories.getInventory },
    PUT: { handler: inventories.updateInventory, takesBody: true },
    DELETE: { handler: inventories.deleteInventory },
  },
  '/resource_providers/{uuid}/usages': { GET: { handler: usages.listProviderUsages } },
  '/resource_providers/{uuid}/aggregates': {
    GET: { handler: aggregates.getAggregates, since: AGGREGATES },
    PUT: { handler: aggregates.setAggregates, since: AGGREGATES, takesBody: true },
  },
  '/resource_providers/{uuid}/allocations': { GET: { handler: allocations.listForResourceProvider } },
  '/resource_providers/{uuid}/traits': {
    GET: { handler: traits.listTraitsForResourceProvider, since: TRAITS },
    PUT: { handler: traits.updateTraitsForResourceProvider, since: TRAITS, takesBody: true },
    DELETE: { handler: traits.deleteTraitsForResourceProvider, since: TRAITS },
  },
  '/resource_classes': {
    GET: { handler: resourceClasses.listResourceClasses, since: RESOURCE_CLASSES },
    POST: { handler: resourceClasses.createResourceClass, since: RESOURCE_CLASSES, takesBody: true },
  },
  '/resource_classes/{name}': {
    GET: { handler: resourceClasses.getResourceClass, since: RESOURCE_CLASSES },
    // Before 1.7 PUT renames a class and needs a body; from 1.7 it is a bodiless create-or-ensure.
    PUT: { handler: resourceClasses.updateResourceClass, since: RESOURCE_CLASSES, takesBody: (mv) => !mv.has(RESOURCE_CLASS_PUT_CREATES) },
    DELETE: { handler: resourceClasses.deleteResourceClass, since: RESOURCE_CLASSES },
  },
  '/traits': { GET: { handler: traits.listTraits, since: TRAITS } },
  '/traits/{name}': {
    GET: { handler: traits.getTrait, since: TRAITS },
    PUT: { handler: traits.putTrait, since: TRAITS },
    DELETE: { handler: traits.deleteTrait, since: TRAITS },
  },
  '/allocations': { POST: { handler: allocations.setAllocations, since: POST_ALLOCATIONS, takesBody: true } },
  '/allocations/{consumer_uuid}': {
    GET: { handler: allocations.listForConsumer },
    PUT: { handler: allocations.setAllocationsForConsumer, takesBody: true },
    DELETE: { handler: allocations.deleteAllocations },
  },
  '/allocation_candidates': { GET: { handler: allocationCandidates.listAllocationCandidates, since: ALLOCATION_CANDIDATES } },
  '/usages': { GET: { handler: usages.getTotalUsages, since: USAGES } },
  '/reshaper': { POST: { handler: reshaper.reshape, since: RESHAPER, takesBody: true } },
};
