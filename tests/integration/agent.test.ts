import { MEC, OWNER_TRAIT } from '../../src/agent/model';
import type { Agent } from '../../src/agent/loop';
import { capturingLogger, fakeHost, makeAgent, startHarness, writesOf, type Harness } from '../helpers/agent-harness';

/**
 * One host through its life against the real service: registration, a quiet second cycle, operator edits,
 * slot changes, capability loss with and without guests, a concurrent writer and a service restart.
 * The scenarios run in order on the same provider.
 */
let harness: Harness;
let host: ReturnType<typeof fakeHost>;
let agent: Agent;
const logger = capturingLogger();
let rootUuid: string;

const SEV_ON = 'Y\n';
const SEV_OFF = 'N\n';
const provider = () => harness.api('GET', `/resource_providers/${rootUuid}`);
const inventories = async () =>
  (await harness.api('GET', `/resource_providers/${rootUuid}/inventories`)).body.inventories;
const traits = async () => (await harness.api('GET', `/resource_providers/${rootUuid}/traits`)).body.traits as string[];

beforeAll(async () => {
  harness = await startHarness();
  host = fakeHost('sev-es-cgroup2');
  agent = makeAgent(harness, host.root, {}, logger);
});
afterAll(async () => {
  await harness.close();
  host.dispose();
});
beforeEach(() => {
  harness.requests.length = 0;
  harness.intercept = undefined;
  logger.warnings.length = 0;
});

describe('agent against the real service', () => {
  it('registers a new host: root provider, key slots, host resources and both SEV traits', async () => {
    const result = await agent.runCycle();
    expect(result.inSync).toBe(true);
    const found = await harness.api('GET', '/resource_providers?name=compute1.example.org');
    expect(found.body.resource_providers).toHaveLength(1);
    rootUuid = found.body.resource_providers[0].uuid;
    const inv = await inventories();
    expect(inv[MEC]).toEqual({
      total: 509,
      reserved: 0,
      min_unit: 1,
      max_unit: 1,
      step_size: 1,
      allocation_ratio: 1.0,
    });
    expect(inv.VCPU).toMatchObject({ total: 16, max_unit: 16 });
    expect(inv.MEMORY_MB).toMatchObject({ total: 64300 });
    expect(inv.DISK_GB.total).toBeGreaterThan(0);
    expect((await traits()).sort()).toEqual([OWNER_TRAIT, 'HW_CPU_AMD_SEV', 'HW_CPU_X86_AMD_SEV']);
  });

  it('is found by the scheduler query for an SEV guest', async () => {
    const res = await harness.api(
      'GET',
      '/allocation_candidates?resources=VCPU:1,MEMORY_MB:512,MEM_ENCRYPTION_CONTEXT:1&required=HW_CPU_X86_AMD_SEV',
    );
    expect(res.status).toBe(200);
    expect(Object.keys(res.body.provider_summaries)).toEqual([rootUuid]);
  });

  it('writes nothing on a second cycle when nothing changed', async () => {
    const before = (await provider()).body.generation;
    const result = await agent.runCycle();
    expect(result).toMatchObject({ inSync: true, applied: [] });
    expect(writesOf(harness.requests)).toEqual([]);
    expect((await provider()).body.generation).toBe(before);
  });

  it('sends a heartbeat for its root after a cycle that kept the host true, bumping nothing', async () => {
    const before = (await provider()).body.generation;
    const result = await agent.runCycle();
    expect(result).toMatchObject({ inSync: true, heartbeat: 'sent' });
    expect(
      harness.requests.filter((r) => r.method === 'PUT' && r.path === `/emplace/heartbeats/${rootUuid}`),
    ).toHaveLength(1);
    const listed = await harness.api('GET', '/emplace/heartbeats');
    expect(listed.body.heartbeats.map((h: { resource_provider_uuid: string }) => h.resource_provider_uuid)).toContain(
      rootUuid,
    );
    expect((await provider()).body.generation).toBe(before);
  });

  it('takes a 404 for the heartbeat as a service without them (OpenStack Placement) and stays in sync', async () => {
    harness.intercept = async (req, res) => {
      if (!req.url?.startsWith('/emplace/heartbeats/')) return;
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ errors: [{ status: 404, title: 'Not Found', detail: 'The resource could not be found.' }] }),
      );
      return 'handled';
    };
    const result = await agent.runCycle();
    expect(result).toMatchObject({ inSync: true, outcome: 'in-sync', heartbeat: 'unsupported' });
    expect(logger.warnings).toEqual([]);
  });

  it("keeps an operator's traits, reserved amount and allocation ratio across cycles", async () => {
    for (const trait of ['CUSTOM_RACK_A', 'CUSTOM_CONCURRENT'])
      expect((await harness.api('PUT', `/traits/${trait}`)).status).toBe(201);
    const gen = (await provider()).body.generation;
    const put = await harness.api('PUT', `/resource_providers/${rootUuid}/traits`, {
      resource_provider_generation: gen,
      traits: ['HW_CPU_X86_AMD_SEV', 'CUSTOM_RACK_A', 'COMPUTE_STATUS_DISABLED', OWNER_TRAIT],
    });
    expect(put.status).toBe(200);
    const inv = await inventories();
    const tuned = await harness.api('PUT', `/resource_providers/${rootUuid}/inventories`, {
      resource_provider_generation: put.body.resource_provider_generation,
      inventories: { ...inv, VCPU: { ...inv.VCPU, allocation_ratio: 4.0 }, [MEC]: { ...inv[MEC], reserved: 3 } },
    });
    expect(tuned.status).toBe(200);

    const result = await agent.runCycle();
    expect(result.applied.map((op) => op.op)).toEqual(['setTraits']);
    expect((await traits()).sort()).toEqual([
      'COMPUTE_STATUS_DISABLED',
      OWNER_TRAIT,
      'CUSTOM_RACK_A',
      'HW_CPU_AMD_SEV',
      'HW_CPU_X86_AMD_SEV',
    ]);
    const after = await inventories();
    expect(after.VCPU.allocation_ratio).toBe(4.0);
    expect(after[MEC].reserved).toBe(3);
  });

  it('follows a change in key slots', async () => {
    host.write('sys/fs/cgroup/misc.capacity', 'sev 100\nsev_es 10\n');
    await agent.runCycle();
    expect((await inventories())[MEC]).toMatchObject({ total: 100, reserved: 3 });
  });

  it('writes a total below usage, warns, and evicts nothing', async () => {
    // max_unit is 1: each guest holds one slot.
    const consumers = [1, 2, 3].map((n) => `c0000000-0000-4000-8000-00000000000${n}`);
    for (const consumer of consumers) {
      const claim = await harness.api('PUT', `/allocations/${consumer}`, {
        allocations: { [rootUuid]: { resources: { [MEC]: 1, VCPU: 1 } } },
        project_id: 'p',
        user_id: 'u',
        consumer_generation: null,
        consumer_type: 'INSTANCE',
      });
      expect(claim).toMatchObject({ status: 204, body: undefined });
    }
    host.write('sys/fs/cgroup/misc.capacity', 'sev 2\nsev_es 10\n');
    const result = await agent.runCycle();
    expect((await inventories())[MEC]).toMatchObject({ total: 2, reserved: 2 }); // operator's 3, capped at total
    expect(result.plan.warnings.join('\n')).toMatch(/below usage 3/);
    for (const consumer of consumers) {
      expect((await harness.api('GET', `/allocations/${consumer}`)).body.allocations[rootUuid].resources[MEC]).toBe(1);
      await harness.api('DELETE', `/allocations/${consumer}`);
    }
    host.write('sys/fs/cgroup/misc.capacity', 'sev 100\nsev_es 10\n');
    await agent.runCycle();
  });

  it('writes to a provider another writer just changed: re-reads on 409 and keeps both changes', async () => {
    // Someone dropped the legacy trait, so the agent has a trait write to make...
    const gen = (await provider()).body.generation;
    await harness.api('PUT', `/resource_providers/${rootUuid}/traits`, {
      resource_provider_generation: gen,
      traits: ['HW_CPU_X86_AMD_SEV', 'CUSTOM_RACK_A', OWNER_TRAIT],
    });
    // ...and just before it lands, an operator adds a trait of their own.
    harness.requests.length = 0;
    let raced = false;
    harness.intercept = async (req) => {
      if (raced || req.method !== 'PUT' || !req.url?.endsWith('/traits')) return;
      raced = true;
      const current = await harness.api('GET', `/resource_providers/${rootUuid}/traits`);
      await harness.api('PUT', `/resource_providers/${rootUuid}/traits`, {
        resource_provider_generation: current.body.resource_provider_generation,
        traits: [...current.body.traits, 'CUSTOM_CONCURRENT'],
      });
    };
    const result = await agent.runCycle();
    expect(raced).toBe(true);
    expect(result.inSync).toBe(true);
    const traitWrites = writesOf(harness.requests).filter((r) => r.path.endsWith('/traits'));
    expect(traitWrites.length).toBe(3); // the operator's, the agent's refused one, the agent's retry
    expect((await traits()).sort()).toEqual([
      'CUSTOM_CONCURRENT',
      OWNER_TRAIT,
      'CUSTOM_RACK_A',
      'HW_CPU_AMD_SEV',
      'HW_CPU_X86_AMD_SEV',
    ]);
  });

  it('survives a service restart in the middle of a cycle', async () => {
    host.write('sys/fs/cgroup/misc.capacity', 'sev 200\nsev_es 10\n');
    let restarted = false;
    harness.intercept = async (req, res) => {
      if (restarted || req.method !== 'PUT') return;
      restarted = true;
      res.socket?.destroy();
      await harness.stop();
      setTimeout(() => void harness.start(), 150);
      return 'handled';
    };
    const result = await agent.runCycle();
    expect(restarted).toBe(true);
    expect(result.inSync).toBe(true);
    expect((await inventories())[MEC].total).toBe(200);
  });

  it('removes inventory and traits when SEV goes away and nothing is allocated', async () => {
    host.write('sys/module/kvm_amd/parameters/sev', SEV_OFF);
    await agent.runCycle();
    expect((await inventories())[MEC]).toBeUndefined();
    expect((await inventories()).VCPU).toBeDefined();
    expect((await traits()).sort()).toEqual(['CUSTOM_CONCURRENT', OWNER_TRAIT, 'CUSTOM_RACK_A']);
  });

  const setReserved = async (reserved: number) => {
    const current = await harness.api('GET', `/resource_providers/${rootUuid}/inventories`);
    const inv = current.body.inventories;
    const put = await harness.api('PUT', `/resource_providers/${rootUuid}/inventories`, {
      resource_provider_generation: current.body.resource_provider_generation,
      inventories: { ...inv, [MEC]: { ...inv[MEC], reserved } },
    });
    expect(put.status).toBe(200);
  };
  const consumer = 'c0000000-0000-4000-8000-000000000002';

  it("drains instead of deleting while a guest holds a slot, and remembers the operator's reserved", async () => {
    host.write('sys/module/kvm_amd/parameters/sev', SEV_ON);
    await agent.runCycle();
    await setReserved(2);
    const claim = await harness.api('PUT', `/allocations/${consumer}`, {
      allocations: { [rootUuid]: { resources: { [MEC]: 1, VCPU: 1 } } },
      project_id: 'p',
      user_id: 'u',
      consumer_generation: null,
      consumer_type: 'INSTANCE',
    });
    expect(claim.status).toBe(204);

    host.write('sys/module/kvm_amd/parameters/sev', SEV_OFF);
    const draining = await agent.runCycle();
    expect(draining.plan.drains).toEqual({ [`${rootUuid}:${MEC}`]: { reserved: 2 } });
    expect((await inventories())[MEC]).toMatchObject({ total: 200, reserved: 200 });
    expect(draining.plan.warnings.join('\n')).toMatch(/draining/);
    harness.requests.length = 0;
    const again = await agent.runCycle();
    expect(again.applied).toEqual([]);
    expect(writesOf(harness.requests)).toEqual([]);
  });

  it("lifts its own drain when SEV comes back, restoring the operator's reserved", async () => {
    host.write('sys/module/kvm_amd/parameters/sev', SEV_ON);
    const lifted = await agent.runCycle();
    expect(lifted.plan.drains).toEqual({});
    expect((await inventories())[MEC]).toMatchObject({ total: 200, reserved: 2 });
  });

  it('deletes the inventory once usage reaches zero', async () => {
    host.write('sys/module/kvm_amd/parameters/sev', SEV_OFF);
    await agent.runCycle();
    expect((await inventories())[MEC]).toMatchObject({ reserved: 200 });
    expect((await harness.api('DELETE', `/allocations/${consumer}`)).status).toBe(204);
    await agent.runCycle();
    expect((await inventories())[MEC]).toBeUndefined();
  });
});
