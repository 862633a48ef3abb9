import type { Endpoint, ReadRequest } from './compare';

/**
 * One read: its path, the first microversion that has its route or query parameter, and the later
 * ones where its answer changes shape (placement/rest_api_version_history.rst).
 */
export type Read = [path: string, since: string, ...changes: string[]];

/** Where the compared reads change shape, beyond their first version and the latest. */
const PROVIDER = '1.14'; // parent and root provider uuids
const CONSUMER = ['1.12', '1.28', '1.38']; // project and user; consumer generation; consumer type
const AGGREGATES = '1.19'; // provider generation beside the list
const USAGES = '1.38'; // grouped by consumer type

const minor = (version: string) => Number(version.split('.')[1]);

/**
 * The requests to send. With `versions`, every read at each listed version that has it; without,
 * each read at its first version, where it changes shape, and `latest`.
 */
export function requestsFor(reads: Read[], latest: string, versions?: string[]): ReadRequest[] {
  return reads.flatMap(([path, since, ...changes]) => {
    const chosen = versions ?? [since, ...changes, latest];
    return [...new Set(chosen)]
      .filter((version) => minor(version) >= minor(since))
      .map((version) => ({ path, version }));
  });
}

/** Placement's newest microversion (its root document), which `latest` stands for. */
export async function latestVersion(placement: Endpoint): Promise<string> {
  const root = (await get(placement, '/', '1.0')) as { versions: Array<{ max_version: string }> };
  return root.versions[0].max_version;
}

/**
 * Every read of the data Placement holds, found through its API: each provider with its
 * inventories (and each class), traits, aggregates, allocations and usages; the provider list
 * filtered by each aggregate and each tree; each class and custom trait; each consumer's
 * allocations; usages for each project, project and user, and consumer type.
 */
export async function discoverReads(placement: Endpoint): Promise<Read[]> {
  const reads: Read[] = [
    ['/', '1.0'],
    ['/resource_providers', '1.0', PROVIDER],
    ['/resource_classes', '1.2'],
    ['/resource_classes/VCPU', '1.2'],
    ['/traits?associated=true', '1.6'],
    ['/traits?name=startswith:CUSTOM_', '1.6'],
  ];
  const { resource_classes } = (await get(placement, '/resource_classes', '1.2')) as {
    resource_classes: Array<{ name: string }>;
  };
  for (const { name } of resource_classes)
    if (name.startsWith('CUSTOM_')) reads.push([`/resource_classes/${name}`, '1.2']);
  const { traits } = (await get(placement, '/traits?name=startswith:CUSTOM_', '1.6')) as { traits: string[] };
  for (const name of traits) reads.push([`/traits/${name}`, '1.6']);

  const { resource_providers: providers } = (await get(placement, '/resource_providers', '1.14')) as {
    resource_providers: Array<{ uuid: string; root_provider_uuid: string }>;
  };
  const consumers = new Set<string>();
  const aggregates = new Set<string>();
  for (const provider of providers) {
    const base = `/resource_providers/${provider.uuid}`;
    reads.push([base, '1.0', PROVIDER], [`${base}/inventories`, '1.0'], [`${base}/allocations`, '1.0']);
    reads.push([`${base}/usages`, '1.0'], [`${base}/aggregates`, '1.1', AGGREGATES], [`${base}/traits`, '1.6']);
    const { inventories } = (await get(placement, `${base}/inventories`, '1.0')) as { inventories: object };
    for (const rc of Object.keys(inventories)) reads.push([`${base}/inventories/${rc}`, '1.0']);
    const { allocations } = (await get(placement, `${base}/allocations`, '1.0')) as { allocations: object };
    for (const consumer of Object.keys(allocations)) consumers.add(consumer);
    const linked = (await get(placement, `${base}/aggregates`, '1.1')) as { aggregates: string[] };
    for (const aggregate of linked.aggregates) aggregates.add(aggregate);
  }
  for (const root of new Set(providers.map((provider) => provider.root_provider_uuid)))
    reads.push([`/resource_providers?in_tree=${root}`, '1.14']);
  for (const aggregate of aggregates) reads.push([`/resource_providers?member_of=${aggregate}`, '1.3', PROVIDER]);

  const owners = new Map<string, { users: Set<string>; types: Set<string> }>();
  for (const consumer of consumers) {
    reads.push([`/allocations/${consumer}`, '1.0', ...CONSUMER]);
    const found = (await get(placement, `/allocations/${consumer}`, '1.38')) as {
      project_id?: string;
      user_id?: string;
      consumer_type?: string;
    };
    if (!found.project_id) continue;
    const owner = owners.get(found.project_id) ?? { users: new Set(), types: new Set(['all', 'unknown']) };
    owner.users.add(found.user_id ?? '');
    if (found.consumer_type) owner.types.add(found.consumer_type);
    owners.set(found.project_id, owner);
  }
  for (const [project, { users, types }] of owners) {
    reads.push([`/usages?project_id=${project}`, '1.9', USAGES]);
    for (const user of users) reads.push([`/usages?project_id=${project}&user_id=${user}`, '1.9', USAGES]);
    for (const type of types) reads.push([`/usages?project_id=${project}&consumer_type=${type}`, '1.38']);
  }
  return reads;
}

async function get(endpoint: Endpoint, path: string, version: string): Promise<unknown> {
  const res = await fetch(`${endpoint.url.replace(/\/$/, '')}${path}`, {
    headers: { 'x-auth-token': endpoint.token, 'openstack-api-version': `placement ${version}` },
    signal: AbortSignal.timeout(30_000),
  });
  if (res.status !== 200) throw new Error(`GET ${path} from Placement answered ${res.status}: ${await res.text()}`);
  return res.json();
}
