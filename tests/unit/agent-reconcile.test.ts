import type { ModelName, ModelState } from '../../src/agent/detectors/detect';
import { childUuid, MEC, OWNER_TRAIT, type InventoryRecord, type ReportedProvider } from '../../src/agent/model';
import { planCycle, type PlanInput } from '../../src/agent/reconcile';

const ROOT = '11111111-2222-4333-8444-555555555555';
const NOVA_CHILD = 'd4e5f6a7-b8c9-4d0e-9f1a-2b3c4d5e6f70';
const present = (slots: number, extra: object = {}): ModelState => ({
  state: 'present',
  slots,
  pool: slots,
  reason: '',
  ...extra,
});
const absent: ModelState = { state: 'absent', slots: 0, reason: 'SEV disabled by kvm_amd parameter sev=N' };
const unknown: ModelState = { state: 'unknown', slots: 0, reason: 'kvm_amd is not loaded' };
const inv = (total: number, extra: Partial<InventoryRecord> = {}): InventoryRecord => ({
  total,
  reserved: 0,
  min_unit: 1,
  max_unit: 1,
  step_size: 1,
  allocation_ratio: 1.0,
  ...extra,
});
const provider = (extra: Partial<ReportedProvider> = {}): ReportedProvider => ({
  uuid: ROOT,
  name: 'host1',
  generation: 3,
  parentUuid: null,
  rootUuid: ROOT,
  inventories: {},
  traits: [OWNER_TRAIT],
  usages: {},
  ...extra,
});
const child = (model: ModelName, extra: Partial<ReportedProvider> = {}): ReportedProvider =>
  provider({
    uuid: childUuid(ROOT, model),
    name: `host1_amd_${model.replace('sev_', 'sev_')}`,
    parentUuid: ROOT,
    ...extra,
  });
type InputExtra = Omit<Partial<PlanInput>, 'models' | 'ownership'> & {
  models?: Partial<Record<ModelName, ModelState>>;
  ownership?: Partial<PlanInput['ownership']>;
};
const input = (extra: InputExtra = {}): PlanInput => ({
  layout: 'root',
  root: { uuid: ROOT, name: 'host1' },
  reported: { root: provider(), children: [] },
  drains: {},
  ownerTraitExists: true,
  ...extra,
  ownership: {
    ownRoot: false,
    writeNovaRoot: false,
    adoptByName: false,
    reportHostResources: 'auto',
    ...extra.ownership,
  },
  models: { sev: absent, sev_es: absent, sev_snp: absent, tdx: absent, ...(extra.models ?? {}) },
});
const SEV_TRAITS = ['HW_CPU_AMD_SEV', 'HW_CPU_X86_AMD_SEV'];

describe('root layout', () => {
  it('registers a new host with the owner trait (creating it first), its inventory and both SEV traits', () => {
    const plan = planCycle(
      input({ models: { sev: present(509) }, reported: { children: [] }, ownerTraitExists: false }),
    );
    expect(plan.ops).toEqual([
      { op: 'createTrait', name: OWNER_TRAIT },
      { op: 'createProvider', uuid: ROOT, name: 'host1' },
      { op: 'setInventories', uuid: ROOT, inventories: { [MEC]: inv(509) } },
      { op: 'setTraits', uuid: ROOT, traits: [OWNER_TRAIT, ...SEV_TRAITS].sort() },
    ]);
  });

  it('plans nothing when the service already matches', () => {
    const root = provider({ inventories: { [MEC]: inv(509) }, traits: [OWNER_TRAIT, ...SEV_TRAITS] });
    expect(planCycle(input({ models: { sev: present(509) }, reported: { root, children: [] } })).ops).toEqual([]);
  });

  it('creates nothing at all when there is nothing to write', () => {
    const models = { sev: unknown, sev_es: unknown, sev_snp: unknown, tdx: unknown };
    expect(planCycle(input({ models, reported: { children: [] } })).ops).toEqual([]);
  });

  it("keeps operator traits, other classes and the operator's reserved and allocation ratio", () => {
    const root = provider({
      inventories: { [MEC]: inv(509, { reserved: 4, allocation_ratio: 1.5 }), VGPU: inv(2) },
      traits: ['CUSTOM_RACK_A', 'COMPUTE_STATUS_DISABLED', 'HW_CPU_X86_AMD_SEV', OWNER_TRAIT],
    });
    const plan = planCycle(input({ models: { sev: present(300) }, reported: { root, children: [] } }));
    expect(plan.ops).toEqual([
      {
        op: 'setInventories',
        uuid: ROOT,
        inventories: { [MEC]: inv(300, { reserved: 4, allocation_ratio: 1.5 }), VGPU: inv(2) },
      },
      {
        op: 'setTraits',
        uuid: ROOT,
        traits: ['COMPUTE_STATUS_DISABLED', 'CUSTOM_OWNER_EMPLACE_AGENT', 'CUSTOM_RACK_A', ...SEV_TRAITS],
      },
    ]);
  });

  it('deletes the inventory and traits when SEV is positively gone and nothing is allocated', () => {
    const root = provider({
      inventories: { [MEC]: inv(15), VCPU: inv(8) },
      traits: [...SEV_TRAITS, 'CUSTOM_X', OWNER_TRAIT],
    });
    const plan = planCycle(input({ reported: { root, children: [] } }));
    expect(plan.ops).toEqual([
      { op: 'setInventories', uuid: ROOT, inventories: { VCPU: inv(8) } },
      { op: 'setTraits', uuid: ROOT, traits: ['CUSTOM_OWNER_EMPLACE_AGENT', 'CUSTOM_X'] },
    ]);
  });

  it("drains while slots are allocated, remembers the operator's reserved, and deletes at zero usage", () => {
    const root = provider({ inventories: { [MEC]: inv(15, { reserved: 2 }) }, usages: { [MEC]: 2 } });
    const first = planCycle(input({ reported: { root, children: [] } }));
    expect(first.ops[0]).toEqual({
      op: 'setInventories',
      uuid: ROOT,
      inventories: { [MEC]: inv(15, { reserved: 15 }) },
    });
    expect(first.drains).toEqual({ [`${ROOT}:${MEC}`]: { reserved: 2 } });
    expect(first.warnings.join()).toMatch(/SEV disabled by kvm_amd parameter sev=N, but 2 still allocated: draining/);

    const drained = provider({ inventories: { [MEC]: inv(15, { reserved: 15 }) }, usages: { [MEC]: 2 } });
    expect(planCycle(input({ reported: { root: drained, children: [] }, drains: first.drains })).ops).toEqual([]);

    const idle = provider({ inventories: { [MEC]: inv(15, { reserved: 15 }) } });
    const last = planCycle(input({ reported: { root: idle, children: [] }, drains: first.drains }));
    expect(last.ops).toEqual([{ op: 'setInventories', uuid: ROOT, inventories: {} }]);
    expect(last.drains).toEqual({});
  });

  it("lifting its own drain restores the operator's earlier reserved, not 0", () => {
    const root = provider({ inventories: { [MEC]: inv(15, { reserved: 15 }) }, usages: { [MEC]: 2 } });
    const plan = planCycle(
      input({
        models: { sev: present(15) },
        reported: { root, children: [] },
        drains: { [`${ROOT}:${MEC}`]: { reserved: 3 } },
      }),
    );
    expect(plan.ops[0]).toEqual({ op: 'setInventories', uuid: ROOT, inventories: { [MEC]: inv(15, { reserved: 3 }) } });
    expect(plan.drains).toEqual({});
  });

  it('reports a drain it has no record of (state dir lost) and leaves reserved as it is', () => {
    const root = provider({ inventories: { [MEC]: inv(15, { reserved: 15 }) }, traits: [OWNER_TRAIT, ...SEV_TRAITS] });
    const plan = planCycle(input({ models: { sev: present(15) }, reported: { root, children: [] } }));
    expect(plan.ops).toEqual([]);
    expect(plan.warnings).toEqual([expect.stringMatching(/reserved = total \(15\) but the agent recorded no drain/)]);
  });

  it('writes a total below usage with a warning and evicts nothing', () => {
    const root = provider({
      inventories: { [MEC]: inv(15) },
      usages: { [MEC]: 10 },
      traits: [OWNER_TRAIT, ...SEV_TRAITS],
    });
    const plan = planCycle(input({ models: { sev: present(8) }, reported: { root, children: [] } }));
    expect(plan.ops).toEqual([{ op: 'setInventories', uuid: ROOT, inventories: { [MEC]: inv(8) } }]);
    expect(plan.warnings.join()).toMatch(/below usage 10/);
  });

  it('leaves inventory and traits exactly as they are when the model is unknown', () => {
    const root = provider({ inventories: { [MEC]: inv(15) }, traits: ['HW_CPU_X86_AMD_SEV', OWNER_TRAIT] });
    expect(planCycle(input({ models: { sev: unknown }, reported: { root, children: [] } })).ops).toEqual([]);
  });

  it('reports host resources on its own root with configured tuning, keeping them on unknown reads', () => {
    const root = provider({ inventories: { MEMORY_MB: inv(1000, { max_unit: 1000, allocation_ratio: 1.5 }) } });
    const plan = planCycle(
      input({
        reported: { root, children: [] },
        hostResources: {
          VCPU: { total: 16, allocationRatio: 4 },
          MEMORY_MB: { total: 'unknown' },
          DISK_GB: { total: 100, reserved: 10 },
        },
      }),
    );
    expect(plan.ops).toEqual([
      {
        op: 'setInventories',
        uuid: ROOT,
        inventories: {
          MEMORY_MB: inv(1000, { max_unit: 1000, allocation_ratio: 1.5 }),
          VCPU: inv(16, { max_unit: 16, allocation_ratio: 4 }),
          DISK_GB: inv(100, { max_unit: 100, reserved: 10 }),
        },
      },
    ]);
  });
});

describe('sharing a host with nova-compute', () => {
  const novaRoot = provider({
    traits: ['COMPUTE_NODE', 'OWNER_NOVA'],
    inventories: { VCPU: inv(16, { max_unit: 16 }) },
  });
  const hostResources = { VCPU: { total: 32 } };

  it('adopting an existing root by name writes neither host classes nor SEV there, and says why', () => {
    const plan = planCycle(
      input({ models: { sev: present(509) }, reported: { root: novaRoot, children: [] }, hostResources }),
    );
    expect(plan.ops).toEqual([]);
    expect(plan.errors).toEqual([
      expect.stringMatching(/not writing MEM_ENCRYPTION_CONTEXT on the root: the root .* was not created by the agent/),
      expect.stringMatching(/not changing the SEV traits of the root: .* pass --own-root/),
    ]);
  });

  it('--own-root gives it the SEV traits; MEC on a nova root still needs --write-nova-root', () => {
    const own = planCycle(
      input({
        models: { sev: present(509) },
        reported: { root: novaRoot, children: [] },
        ownership: { ownRoot: true },
      }),
    );
    expect(own.ops).toEqual([{ op: 'setTraits', uuid: ROOT, traits: ['COMPUTE_NODE', ...SEV_TRAITS, 'OWNER_NOVA'] }]);
    expect(own.errors).toEqual([expect.stringMatching(/carries OWNER_NOVA\/COMPUTE_NODE .* --write-nova-root/)]);
    const write = planCycle(
      input({
        models: { sev: present(509) },
        reported: { root: novaRoot, children: [] },
        ownership: { ownRoot: true, writeNovaRoot: true },
        hostResources,
      }),
    );
    // Host classes stay off on an adopted root unless asked for (reportHostResources: true).
    expect(write.ops[0]).toEqual({
      op: 'setInventories',
      uuid: ROOT,
      inventories: { VCPU: inv(16, { max_unit: 16 }), [MEC]: inv(509) },
    });
    expect(write.errors).toEqual([]);
  });

  it('explicitly asked for host classes on a nova root, it refuses without --write-nova-root', () => {
    const plan = planCycle(
      input({
        layout: 'nested',
        reported: { root: novaRoot, children: [] },
        ownership: { reportHostResources: true, ownRoot: true },
        hostResources,
      }),
    );
    expect(plan.ops).toEqual([]);
    expect(plan.errors).toEqual([expect.stringMatching(/not writing VCPU on the root: .* --write-nova-root/)]);
  });

  it('nested under a nova root: creates its own children and leaves the root alone', () => {
    const plan = planCycle(
      input({ layout: 'nested', models: { sev_es: present(10) }, reported: { root: novaRoot, children: [] } }),
    );
    const es = childUuid(ROOT, 'sev_es');
    expect(plan.ops).toEqual([
      { op: 'createProvider', uuid: es, name: 'host1_amd_sev_es', parentUuid: ROOT },
      { op: 'setInventories', uuid: es, inventories: { [MEC]: inv(10) } },
      { op: 'setTraits', uuid: es, traits: [OWNER_TRAIT, 'HW_CPU_X86_AMD_SEV_ES'] },
    ]);
    expect(plan.errors).toEqual([]);
  });

  const novaChild = provider({
    uuid: NOVA_CHILD,
    name: 'host1_amd_sev',
    parentUuid: ROOT,
    traits: ['HW_CPU_X86_AMD_SEV'],
    inventories: { [MEC]: inv(509) },
  });

  it('a child name held by another uuid is a clash naming both uuids: nothing at all is planned', () => {
    const plan = planCycle(
      input({
        layout: 'nested',
        models: { sev: present(509), sev_es: present(10) },
        reported: { root: novaRoot, children: [novaChild] },
      }),
    );
    expect(plan.ops).toEqual([]);
    expect(plan.clashes).toEqual([
      `provider "host1_amd_sev" already exists with uuid ${NOVA_CHILD} under the root ${ROOT}, not the agent's ` +
        `${childUuid(ROOT, 'sev')}: another reporter (nova-compute?) owns it; nothing written; pass --adopt-by-name to take it over`,
    ]);
  });

  it('--adopt-by-name takes the child over: owner trait, its inventory, no new provider', () => {
    const plan = planCycle(
      input({
        layout: 'nested',
        models: { sev: present(400) },
        reported: { root: novaRoot, children: [novaChild] },
        ownership: { adoptByName: true },
      }),
    );
    expect(plan.clashes).toEqual([]);
    expect(plan.ops).toEqual([
      { op: 'setInventories', uuid: NOVA_CHILD, inventories: { [MEC]: inv(400) } },
      { op: 'setTraits', uuid: NOVA_CHILD, traits: [OWNER_TRAIT, 'HW_CPU_X86_AMD_SEV'] },
    ]);
  });

  it('a foreign root offering SEV slots itself is a clash for the nested SEV child (no double counting)', () => {
    const root = provider({ traits: ['COMPUTE_NODE', 'OWNER_NOVA'], inventories: { [MEC]: inv(15) } });
    const plan = planCycle(input({ layout: 'nested', models: { sev: present(15) }, reported: { root, children: [] } }));
    expect(plan.ops).toEqual([]);
    expect(plan.clashes).toEqual([
      expect.stringMatching(/already offers MEM_ENCRYPTION_CONTEXT .* count the SEV slots twice/),
    ]);
  });

  it('a root recorded in its state dir before owner traits existed is its own (and gets the trait)', () => {
    const legacy = provider({ traits: SEV_TRAITS, inventories: { [MEC]: inv(15) } });
    const plan = planCycle(
      input({ models: { sev: present(15) }, reported: { root: legacy, children: [] }, rootFromState: true }),
    );
    expect(plan.ops).toEqual([{ op: 'setTraits', uuid: ROOT, traits: [OWNER_TRAIT, ...SEV_TRAITS].sort() }]);
  });
});

describe('nested layout', () => {
  const sevChild = childUuid(ROOT, 'sev');
  const esChild = childUuid(ROOT, 'sev_es');
  const snpChild = childUuid(ROOT, 'sev_snp');
  const tdxChild = childUuid(ROOT, 'tdx');

  it('derives stable, distinct child uuids (UUIDv5)', () => {
    expect(sevChild).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(childUuid(ROOT, 'sev')).toBe(sevChild);
    expect(new Set([sevChild, snpChild, esChild, tdxChild]).size).toBe(4);
  });

  it('creates one child per model with its trait, the owner trait and its pool', () => {
    const plan = planCycle(input({ layout: 'nested', models: { sev: present(99), sev_snp: present(410) } }));
    expect(plan.ops).toEqual([
      { op: 'createProvider', uuid: sevChild, name: 'host1_amd_sev', parentUuid: ROOT },
      { op: 'createProvider', uuid: snpChild, name: 'host1_amd_sev_snp', parentUuid: ROOT },
      { op: 'setInventories', uuid: sevChild, inventories: { [MEC]: inv(99) } },
      { op: 'setInventories', uuid: snpChild, inventories: { [MEC]: inv(410) } },
      { op: 'setTraits', uuid: sevChild, traits: [OWNER_TRAIT, 'HW_CPU_X86_AMD_SEV'] },
      { op: 'setTraits', uuid: snpChild, traits: [OWNER_TRAIT, 'HW_CPU_X86_AMD_SEV_SNP'] },
    ]);
  });

  it('gives Intel TDX its own child in either layout', () => {
    const plan = planCycle(input({ models: { tdx: present(32) } }));
    expect(plan.ops).toEqual([
      { op: 'createProvider', uuid: tdxChild, name: 'host1_intel_tdx', parentUuid: ROOT },
      { op: 'setInventories', uuid: tdxChild, inventories: { [MEC]: inv(32) } },
      { op: 'setTraits', uuid: tdxChild, traits: [OWNER_TRAIT, 'HW_CPU_X86_INTEL_TDX'] },
    ]);
  });

  it('deletes an idle child whose model is gone and drains a busy one', () => {
    const snp = (used: number) =>
      child('sev_snp', {
        name: 'host1_amd_sev_snp',
        inventories: { [MEC]: inv(10) },
        usages: { [MEC]: used },
        traits: ['HW_CPU_X86_AMD_SEV_SNP', OWNER_TRAIT],
      });
    const idle = planCycle(input({ layout: 'nested', reported: { root: provider(), children: [snp(0)] } }));
    expect(idle.ops).toEqual([{ op: 'deleteProvider', uuid: snpChild }]);
    const busy = planCycle(input({ layout: 'nested', reported: { root: provider(), children: [snp(1)] } }));
    expect(busy.ops).toEqual([
      { op: 'setInventories', uuid: snpChild, inventories: { [MEC]: inv(10, { reserved: 10 }) } },
      { op: 'setTraits', uuid: snpChild, traits: [OWNER_TRAIT] },
    ]);
  });

  it('with SEV unknown, the root keeps its SEV inventory and traits', () => {
    const root = provider({
      inventories: { [MEC]: inv(15) },
      usages: { [MEC]: 1 },
      traits: [OWNER_TRAIT, ...SEV_TRAITS],
    });
    const plan = planCycle(input({ layout: 'nested', models: { sev: unknown }, reported: { root, children: [] } }));
    expect(plan.ops).toEqual([]);
    expect(plan.warnings).toEqual([]);
  });

  it('ES -> SNP with ES guests running: the SNP pool is the shared pool less what ES still holds', () => {
    const es = child('sev_es', {
      name: 'host1_amd_sev_es',
      inventories: { [MEC]: inv(410) },
      usages: { [MEC]: 3 },
      traits: ['HW_CPU_X86_AMD_SEV_ES', OWNER_TRAIT],
    });
    const plan = planCycle(
      input({
        layout: 'nested',
        models: {
          sev_es: { state: 'absent', slots: 0, reason: 'the shared ES/SNP ASID range is offered to SEV-SNP' },
          sev_snp: present(410, { sharesWith: 'sev_es' }),
        },
        reported: { root: provider(), children: [es] },
      }),
    );
    expect(plan.ops).toEqual([
      { op: 'createProvider', uuid: snpChild, name: 'host1_amd_sev_snp', parentUuid: ROOT },
      { op: 'setInventories', uuid: esChild, inventories: { [MEC]: inv(410, { reserved: 410 }) } },
      { op: 'setInventories', uuid: snpChild, inventories: { [MEC]: inv(407) } },
      { op: 'setTraits', uuid: esChild, traits: [OWNER_TRAIT] },
      { op: 'setTraits', uuid: snpChild, traits: [OWNER_TRAIT, 'HW_CPU_X86_AMD_SEV_SNP'] },
    ]);
    expect(plan.warnings).toEqual([
      expect.stringMatching(/offered to SEV-SNP, but 3 still allocated: draining/),
      'SEV-SNP shares 410 ASIDs with SEV-ES, whose guests still hold 3: offering 407',
    ]);
  });

  const rootWithGuest = () =>
    provider({
      inventories: { [MEC]: inv(15), VCPU: inv(8) },
      usages: { [MEC]: 1, VCPU: 2 },
      traits: [...SEV_TRAITS, 'CUSTOM_X', OWNER_TRAIT],
    });
  const consumer = {
    allocations: { [ROOT]: { resources: { [MEC]: 1, VCPU: 2 } } },
    project_id: 'p',
    user_id: 'u',
    consumer_generation: 1,
    consumer_type: 'INSTANCE',
  };

  it('moves allocated root inventory to the SEV child in one reshape, without a draining warning', () => {
    const plan = planCycle(
      input({
        layout: 'nested',
        models: { sev: present(15), sev_snp: present(400) },
        reported: { root: rootWithGuest(), children: [] },
        rootConsumers: { c1: consumer },
      }),
    );
    expect(plan.ops).toEqual([
      { op: 'createProvider', uuid: sevChild, name: 'host1_amd_sev', parentUuid: ROOT },
      { op: 'createProvider', uuid: snpChild, name: 'host1_amd_sev_snp', parentUuid: ROOT },
      {
        op: 'reshape',
        inventories: { [ROOT]: { VCPU: inv(8) }, [sevChild]: { [MEC]: inv(15) }, [snpChild]: { [MEC]: inv(400) } },
        allocations: {
          c1: {
            ...consumer,
            allocations: { [ROOT]: { resources: { VCPU: 2 } }, [sevChild]: { resources: { [MEC]: 1 } } },
          },
        },
      },
      { op: 'setTraits', uuid: ROOT, traits: ['CUSTOM_OWNER_EMPLACE_AGENT', 'CUSTOM_X'] },
      { op: 'setTraits', uuid: sevChild, traits: [OWNER_TRAIT, 'HW_CPU_X86_AMD_SEV'] },
      { op: 'setTraits', uuid: snpChild, traits: [OWNER_TRAIT, 'HW_CPU_X86_AMD_SEV_SNP'] },
    ]);
    expect(plan.warnings).toEqual([expect.stringMatching(/^moving 1 MEM_ENCRYPTION_CONTEXT allocation/)]);
    expect(plan.drains).toEqual({});
  });

  it('never moves plain-SEV guests into the SNP child: no SEV child, no reshape, the root untouched', () => {
    const plan = planCycle(
      input({
        layout: 'nested',
        models: { sev: absent, sev_snp: present(400) },
        reported: { root: rootWithGuest(), children: [] },
        rootConsumers: { c1: consumer },
      }),
    );
    expect(plan.ops.map((op) => op.op)).toEqual(['createProvider', 'setInventories', 'setTraits']);
    expect(plan.ops.every((op) => !('uuid' in op) || op.uuid === snpChild)).toBe(true);
    expect(plan.errors).toEqual([
      expect.stringMatching(/cannot move 1 plain-SEV allocation\(s\) .* SEV is absent .* no reshape, the root is left/),
    ]);
  });

  it('refuses the reshape when the SEV child has fewer free slots than the root has guests', () => {
    const plan = planCycle(
      input({
        layout: 'nested',
        models: { sev: present(1) },
        mecReserved: 1,
        reported: { root: rootWithGuest(), children: [] },
        rootConsumers: { c1: consumer },
      }),
    );
    expect(plan.ops.some((op) => op.op === 'reshape')).toBe(false);
    expect(plan.errors).toEqual([expect.stringMatching(/host1_amd_sev offers only 0 free slot/)]);
  });
});
