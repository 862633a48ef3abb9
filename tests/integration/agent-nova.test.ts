import { childUuid, MEC, OWNER_TRAIT } from '../../src/agent/model';
import {
  cliArgs,
  fakeHost,
  runCli,
  seedPlacement,
  startHarness,
  writeLines,
  type FakeHost,
  type Harness,
} from '../helpers/agent-harness';

/**
 * A host nova-compute (2025.2) already reports: its compute node (COMPUTE_NODE, OWNER_NOVA) and an SEV child
 * `<host>_amd_sev` with a random uuid, as tests/fixtures/hosts/nova-2025.2/placement.json describes them.
 */
const NAME = 'nova-compute.example.org';
const NOVA_ROOT = '6b1c2d3e-4f50-4a61-8b72-93a4b5c6d7e8';
const NOVA_SEV = 'd4e5f6a7-b8c9-4d0e-9f1a-2b3c4d5e6f70';

let harness: Harness;
let host: FakeHost;
const snapshot = async (uuid: string) => ({
  inventories: (await harness.api('GET', `/resource_providers/${uuid}/inventories`)).body,
  traits: (await harness.api('GET', `/resource_providers/${uuid}/traits`)).body,
});

beforeEach(async () => {
  harness = await startHarness();
  await seedPlacement(harness, 'nova-2025.2');
  host = fakeHost('nova-2025.2');
  harness.requests.length = 0;
});
afterEach(async () => {
  await harness.close();
  host.dispose();
});

const once = (...extra: string[]) => runCli(['--once', ...cliArgs(harness, host, NAME, ...extra)]);

describe('sharing a host with nova-compute', () => {
  it("nested: nova's <host>_amd_sev is a clash naming both uuids; one attempt, zero writes, exit 2", async () => {
    const root = await snapshot(NOVA_ROOT);
    const child = await snapshot(NOVA_SEV);
    const { code, stdout } = await once('--layout', 'nested');
    expect(stdout).toContain(
      `error: provider "${NAME}_amd_sev" already exists with uuid ${NOVA_SEV} under the root ${NOVA_ROOT}, ` +
        `not the agent's ${childUuid(NOVA_ROOT, 'sev')}`,
    );
    expect(stdout).toMatch(/pass --adopt-by-name to take it over/);
    expect(writeLines(harness.requests)).toEqual([]);
    // One read of the tree and nothing more: a clash is not retried.
    expect(harness.requests.filter((r) => r.path.startsWith('/resource_providers?in_tree='))).toHaveLength(1);
    expect(await snapshot(NOVA_ROOT)).toEqual(root);
    expect(await snapshot(NOVA_SEV)).toEqual(child);
    expect(code).toBe(2);
  });

  it('root layout: no MEM_ENCRYPTION_CONTEXT, host classes or traits on the nova root; says why, exit 2', async () => {
    const root = await snapshot(NOVA_ROOT);
    const { code, stdout } = await once('--layout', 'root');
    expect(stdout).toMatch(
      /error: not writing MEM_ENCRYPTION_CONTEXT on the root: the root 6b1c2d3e-\S+ was not created by the agent/,
    );
    expect(stdout).toMatch(/error: not changing the SEV traits of the root: .* pass --own-root/);
    expect(writeLines(harness.requests)).toEqual([]);
    expect(await snapshot(NOVA_ROOT)).toEqual(root);
    expect(code).toBe(2);
  });

  it('--own-root sets the SEV traits only; MEC still needs --write-nova-root; host classes stay off', async () => {
    const before = await snapshot(NOVA_ROOT);
    const own = await once('--layout', 'root', '--own-root');
    expect(writeLines(harness.requests)).toEqual([`PUT /resource_providers/${NOVA_ROOT}/traits`]);
    expect(own.stdout).toMatch(
      /error: not writing MEM_ENCRYPTION_CONTEXT on the root: .* carries OWNER_NOVA\/COMPUTE_NODE/,
    );
    expect(own.code).toBe(2);

    harness.requests.length = 0;
    const write = await once('--layout', 'root', '--own-root', '--write-nova-root');
    expect(writeLines(harness.requests)).toEqual([`PUT /resource_providers/${NOVA_ROOT}/inventories`]);
    const after = await snapshot(NOVA_ROOT);
    expect(after.inventories.inventories[MEC]).toMatchObject({ total: 509 });
    // nova's VCPU/MEMORY_MB/DISK_GB are exactly as nova wrote them: host resources are off on an adopted root.
    for (const rc of ['VCPU', 'MEMORY_MB', 'DISK_GB'])
      expect(after.inventories.inventories[rc]).toEqual(before.inventories.inventories[rc]);
    expect(after.traits.traits.sort()).toEqual([
      'COMPUTE_NODE',
      'COMPUTE_STATUS_DISABLED',
      'HW_CPU_AMD_SEV',
      'HW_CPU_X86_AMD_SEV',
      'OWNER_NOVA',
    ]);
    expect(write.code).toBe(0);
  });

  it("--adopt-by-name takes over nova's SEV child and adds its ES child; the nova root is untouched", async () => {
    const root = await snapshot(NOVA_ROOT);
    const { code, stdout } = await once('--layout', 'nested', '--adopt-by-name');
    expect(stdout).toMatch(/warning: adopting provider "nova-compute.example.org_amd_sev" \(d4e5f6a7-\S+\) by name/);
    const es = childUuid(NOVA_ROOT, 'sev_es');
    expect(writeLines(harness.requests)).toEqual([
      `PUT /traits/${OWNER_TRAIT}`,
      'POST /resource_providers',
      `PUT /resource_providers/${es}/inventories`,
      `PUT /resource_providers/${NOVA_SEV}/traits`,
      `PUT /resource_providers/${es}/traits`,
    ]);
    expect((await snapshot(NOVA_SEV)).traits.traits.sort()).toEqual([OWNER_TRAIT, 'HW_CPU_X86_AMD_SEV']);
    expect((await snapshot(es)).inventories.inventories[MEC].total).toBe(10);
    expect(await snapshot(NOVA_ROOT)).toEqual(root);
    expect(code).toBe(0);

    // Adopted once, the child carries the owner trait: the next run needs no flag and writes nothing.
    harness.requests.length = 0;
    expect((await once('--layout', 'nested')).code).toBe(0);
    expect(writeLines(harness.requests)).toEqual([]);
  });

  it('a provider taking the name between read and create: 409 duplicate_name stops the cycle, not retried', async () => {
    await harness.api('DELETE', `/resource_providers/${NOVA_SEV}`);
    const interloper = 'e0000000-0000-4000-8000-00000000000e';
    let raced = false;
    harness.requests.length = 0;
    harness.intercept = async (req) => {
      if (raced || req.method !== 'POST' || req.url !== '/resource_providers') return;
      raced = true;
      await harness.api('POST', '/resource_providers', {
        uuid: interloper,
        name: `${NAME}_amd_sev`,
        parent_provider_uuid: NOVA_ROOT,
      });
    };
    const { code, stdout } = await once('--layout', 'nested');
    expect(raced).toBe(true);
    expect(stdout).toContain(
      `error: provider "${NAME}_amd_sev" could not be created with uuid ${childUuid(NOVA_ROOT, 'sev')}: ` +
        `the name is taken by ${interloper} (409 placement.duplicate_name); nothing more written, not retried`,
    );
    // The owner trait, then the interloper's create and ours (refused): nothing after it, no second try.
    expect(writeLines(harness.requests)).toEqual([
      `PUT /traits/${OWNER_TRAIT}`,
      'POST /resource_providers',
      'POST /resource_providers',
    ]);
    expect(code).toBe(2);
  });
});
