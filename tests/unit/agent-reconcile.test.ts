import type { ModelName, ModelState } from '../../src/agent/detectors/detect';
import { childUuid, MEC, type InventoryRecord, type ReportedProvider } from '../../src/agent/model';
import { planCycle, type PlanInput } from '../../src/agent/reconcile';

const ROOT = '11111111-2222-4333-8444-555555555555';
const present = (slots: number): ModelState => ({ state: 'present', slots, reason: '' });
const absent: ModelState = { state: 'absent', slots: 0, reason: '' };
const unknown: ModelState = { state: 'unknown', slots: 0, reason: '' };
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
  inventories: {},
  traits: [],
  usages: {},
  ...extra,
});
const input = (
  extra: Omit<Partial<PlanInput>, 'models'> & { models?: Partial<Record<ModelName, ModelState>> } = {},
): PlanInput => ({
  layout: 'root',
  root: { uuid: ROOT, name: 'host1' },
  reported: { root: provider(), children: [] },
  draining: [],
  ...extra,
  models: { sev: absent, sev_es: absent, sev_snp: absent, ...(extra.models ?? {}) },
});

describe('root layout', () => {
  it('registers a new host with its inventory and both SEV traits', () => {
    const plan = planCycle(input({ models: { sev: present(509) }, reported: { children: [] } }));
    expect(plan.ops).toEqual([
      { op: 'createProvider', uuid: ROOT, name: 'host1' },
      { op: 'setInventories', uuid: ROOT, inventories: { [MEC]: inv(509) } },
      { op: 'setTraits', uuid: ROOT, traits: ['HW_CPU_AMD_SEV', 'HW_CPU_X86_AMD_SEV'] },
    ]);
  });

  it('plans nothing when the service already matches', () => {
    const root = provider({ inventories: { [MEC]: inv(509) }, traits: ['HW_CPU_AMD_SEV', 'HW_CPU_X86_AMD_SEV'] });
    expect(planCycle(input({ models: { sev: present(509) }, reported: { root, children: [] } })).ops).toEqual([]);
  });

  it("keeps operator traits, other classes and the operator's reserved and allocation ratio", () => {
    const root = provider({
      inventories: { [MEC]: inv(509, { reserved: 4, allocation_ratio: 1.5 }), VGPU: inv(2) },
      traits: ['CUSTOM_RACK_A', 'COMPUTE_STATUS_DISABLED', 'HW_CPU_X86_AMD_SEV'],
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
        traits: ['COMPUTE_STATUS_DISABLED', 'CUSTOM_RACK_A', 'HW_CPU_AMD_SEV', 'HW_CPU_X86_AMD_SEV'],
      },
    ]);
  });

  it('sets reserved slots when configured', () => {
    const root = provider({ inventories: { [MEC]: inv(509) } });
    const plan = planCycle(input({ models: { sev: present(509) }, mecReserved: 9, reported: { root, children: [] } }));
    expect(plan.ops[0]).toEqual({
      op: 'setInventories',
      uuid: ROOT,
      inventories: { [MEC]: inv(509, { reserved: 9 }) },
    });
  });

  it('deletes the inventory and traits when SEV is gone and nothing is allocated', () => {
    const root = provider({
      inventories: { [MEC]: inv(15), VCPU: inv(8) },
      traits: ['HW_CPU_X86_AMD_SEV', 'HW_CPU_AMD_SEV', 'CUSTOM_X'],
    });
    const plan = planCycle(input({ reported: { root, children: [] } }));
    expect(plan.ops).toEqual([
      { op: 'setInventories', uuid: ROOT, inventories: { VCPU: inv(8) } },
      { op: 'setTraits', uuid: ROOT, traits: ['CUSTOM_X'] },
    ]);
  });

  it('drains instead of deleting while slots are allocated, then deletes at zero usage', () => {
    const root = provider({
      inventories: { [MEC]: inv(15) },
      usages: { [MEC]: 2 },
      traits: ['HW_CPU_X86_AMD_SEV', 'HW_CPU_AMD_SEV'],
    });
    const first = planCycle(input({ reported: { root, children: [] } }));
    expect(first.ops[0]).toEqual({
      op: 'setInventories',
      uuid: ROOT,
      inventories: { [MEC]: inv(15, { reserved: 15 }) },
    });
    expect(first.draining).toEqual([`${ROOT}:${MEC}`]);
    expect(first.warnings.join()).toMatch(/draining/);

    const drained = provider({ inventories: { [MEC]: inv(15, { reserved: 15 }) }, usages: { [MEC]: 2 } });
    expect(planCycle(input({ reported: { root: drained, children: [] }, draining: first.draining })).ops).toEqual([]);

    const idle = provider({ inventories: { [MEC]: inv(15, { reserved: 15 }) }, usages: { [MEC]: 0 } });
    const last = planCycle(input({ reported: { root: idle, children: [] }, draining: first.draining }));
    expect(last.ops).toEqual([{ op: 'setInventories', uuid: ROOT, inventories: {} }]);
    expect(last.draining).toEqual([]);
  });

  it('lifts its own drain when the capability returns', () => {
    const root = provider({ inventories: { [MEC]: inv(15, { reserved: 15 }) }, usages: { [MEC]: 2 } });
    const plan = planCycle(
      input({ models: { sev: present(15) }, reported: { root, children: [] }, draining: [`${ROOT}:${MEC}`] }),
    );
    expect(plan.ops[0]).toEqual({ op: 'setInventories', uuid: ROOT, inventories: { [MEC]: inv(15) } });
    expect(plan.draining).toEqual([]);
  });

  it('writes a total below usage with a warning and evicts nothing', () => {
    const root = provider({
      inventories: { [MEC]: inv(15) },
      usages: { [MEC]: 10 },
      traits: ['HW_CPU_AMD_SEV', 'HW_CPU_X86_AMD_SEV'],
    });
    const plan = planCycle(input({ models: { sev: present(8) }, reported: { root, children: [] } }));
    expect(plan.ops).toEqual([{ op: 'setInventories', uuid: ROOT, inventories: { [MEC]: inv(8) } }]);
    expect(plan.warnings.join()).toMatch(/below usage 10/);
  });

  it('leaves everything alone when detection is unknown', () => {
    const root = provider({ inventories: { [MEC]: inv(15) }, traits: ['HW_CPU_X86_AMD_SEV'] });
    expect(planCycle(input({ models: { sev: unknown }, reported: { root, children: [] } })).ops).toEqual([]);
  });

  it('reports host resources with configured tuning and keeps them on unknown reads', () => {
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

describe('nested layout', () => {
  const sevChild = childUuid(ROOT, 'sev');
  const snpChild = childUuid(ROOT, 'sev_snp');

  it('derives stable, distinct child uuids (UUIDv5)', () => {
    expect(sevChild).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(childUuid(ROOT, 'sev')).toBe(sevChild);
    expect(new Set([sevChild, snpChild, childUuid(ROOT, 'sev_es')]).size).toBe(3);
  });

  it('creates one child per model with its trait and pool', () => {
    const plan = planCycle(input({ layout: 'nested', models: { sev: present(99), sev_snp: present(410) } }));
    expect(plan.ops).toEqual([
      { op: 'createProvider', uuid: sevChild, name: 'host1_amd_sev', parentUuid: ROOT },
      { op: 'createProvider', uuid: snpChild, name: 'host1_amd_sev_snp', parentUuid: ROOT },
      { op: 'setInventories', uuid: sevChild, inventories: { [MEC]: inv(99) } },
      { op: 'setInventories', uuid: snpChild, inventories: { [MEC]: inv(410) } },
      { op: 'setTraits', uuid: sevChild, traits: ['HW_CPU_X86_AMD_SEV'] },
      { op: 'setTraits', uuid: snpChild, traits: ['HW_CPU_X86_AMD_SEV_SNP'] },
    ]);
  });

  it('deletes an idle child whose model is gone and drains a busy one', () => {
    const child = (uuid: string, used: number): ReportedProvider =>
      provider({
        uuid,
        name: 'c',
        parentUuid: ROOT,
        inventories: { [MEC]: inv(10) },
        usages: { [MEC]: used },
        traits: ['HW_CPU_X86_AMD_SEV_SNP'],
      });
    const idle = planCycle(input({ layout: 'nested', reported: { root: provider(), children: [child(snpChild, 0)] } }));
    expect(idle.ops).toEqual([{ op: 'deleteProvider', uuid: snpChild }]);
    const busy = planCycle(input({ layout: 'nested', reported: { root: provider(), children: [child(snpChild, 1)] } }));
    expect(busy.ops).toEqual([
      { op: 'setInventories', uuid: snpChild, inventories: { [MEC]: inv(10, { reserved: 10 }) } },
      { op: 'setTraits', uuid: snpChild, traits: [] },
    ]);
  });

  it('moves allocated root inventory to the child in one reshape', () => {
    const root = provider({
      inventories: { [MEC]: inv(15), VCPU: inv(8) },
      usages: { [MEC]: 1, VCPU: 2 },
      traits: ['HW_CPU_X86_AMD_SEV', 'HW_CPU_AMD_SEV', 'CUSTOM_X'],
    });
    const consumer = {
      allocations: { [ROOT]: { resources: { [MEC]: 1, VCPU: 2 } } },
      project_id: 'p',
      user_id: 'u',
      consumer_generation: 1,
      consumer_type: 'INSTANCE',
    };
    const plan = planCycle(
      input({
        layout: 'nested',
        models: { sev: present(15) },
        reported: { root, children: [] },
        rootConsumers: { c1: consumer },
      }),
    );
    expect(plan.ops).toEqual([
      { op: 'createProvider', uuid: sevChild, name: 'host1_amd_sev', parentUuid: ROOT },
      {
        op: 'reshape',
        inventories: { [ROOT]: { VCPU: inv(8) }, [sevChild]: { [MEC]: inv(15) } },
        allocations: {
          c1: {
            ...consumer,
            allocations: { [ROOT]: { resources: { VCPU: 2 } }, [sevChild]: { resources: { [MEC]: 1 } } },
          },
        },
      },
      { op: 'setTraits', uuid: ROOT, traits: ['CUSTOM_X'] },
      { op: 'setTraits', uuid: sevChild, traits: ['HW_CPU_X86_AMD_SEV'] },
    ]);
    expect(plan.draining).toEqual([]);
  });
});
