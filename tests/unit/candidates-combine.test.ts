import {
  candidatesForRoot,
  PAUSE,
  walkRoot,
  type CombineOptions,
  type RootContext,
} from '../../src/candidates/combine';
import type { Candidate, ProviderRow, ResolvedGroup } from '../../src/candidates/model';

// Rows carry trait ids; the engine compares ids, so names here map to fixed ids.
const TRAIT_IDS = new Map([
  ['HW_CPU_X86_AVX2', 1],
  ['CUSTOM_FAST', 2],
]);
const traitId = (name: string) => TRAIT_IDS.get(name) ?? 0;

const provider = (
  id: number,
  parentId: number | null,
  rootId: number,
  inventories: Record<string, [total: number, used: number]>,
  traits: string[] = [],
): ProviderRow => ({
  id,
  uuid: `uuid-${id}`,
  name: `rp-${id}`,
  generation: 0,
  modifiedAt: new Date(0),
  parentId,
  rootId,
  inventories: new Map(
    Object.entries(inventories).map(([name, [total, used]]) => [
      name,
      { total, reserved: 0, minUnit: 1, maxUnit: total, stepSize: 1, allocationRatio: 1, used, capacity: total },
    ]),
  ),
  traits: new Set(traits.map(traitId)),
  aggregates: new Set(),
});

const group = (
  suffix: string,
  resources: Record<string, number>,
  extra: Partial<ResolvedGroup> = {},
): ResolvedGroup => ({
  suffix,
  granular: suffix !== '',
  resources: Object.entries(resources).map(([className, amount], i) => ({ className, classId: i, amount })),
  requiredTraits: [],
  forbiddenTraits: [],
  memberOf: [],
  forbiddenAggregates: [],
  ...extra,
  requiredTraitIds: (extra.requiredTraits ?? []).map((anyOf) => anyOf.map(traitId)),
  forbiddenTraitIds: (extra.forbiddenTraits ?? []).map(traitId),
});

// A host with VCPU on the root and two NUMA children holding memory.
const root = provider(1, null, 1, { VCPU: [8, 0] }, ['HW_CPU_X86_AVX2']);
const numa0 = provider(2, 1, 1, { MEMORY_MB: [1024, 512] });
const numa1 = provider(3, 1, 1, { MEMORY_MB: [1024, 0] }, ['CUSTOM_FAST']);
const ctx: RootContext = {
  root,
  tree: [root, numa0, numa1],
  linkedSharing: [],
  parentOf: (id) => (id === 1 ? null : 1),
};
const run = (options: Partial<CombineOptions> & { groups: ResolvedGroup[] }) =>
  [...candidatesForRoot(ctx, { nestedAware: true, sameSubtrees: [], ...options })].map((c) =>
    c.allocations.map((a) => `${a.provider.id}:${a.className}=${a.amount}`).join(' '),
  );

describe('candidates for one root', () => {
  it('spreads the unsuffixed group across the tree, one provider per class, skipping full ones', () => {
    expect(run({ groups: [group('', { VCPU: 2, MEMORY_MB: 600 })] })).toEqual(['1:VCPU=2 3:MEMORY_MB=600']);
  });

  it('checks required traits collectively over the providers that serve the group', () => {
    expect(run({ groups: [group('', { VCPU: 1, MEMORY_MB: 100 }, { requiredTraits: [['CUSTOM_FAST']] })] })).toEqual([
      '1:VCPU=1 3:MEMORY_MB=100',
    ]);
    expect(run({ groups: [group('', { MEMORY_MB: 100 }, { requiredTraits: [['HW_CPU_X86_AVX2']] })] })).toEqual([]);
  });

  it('consolidates granular groups on one provider unless isolated, and respects capacity', () => {
    const groups = [group('1', { MEMORY_MB: 400 }), group('2', { MEMORY_MB: 400 })];
    expect(run({ groups, groupPolicy: 'none' })).toEqual([
      '2:MEMORY_MB=400 3:MEMORY_MB=400',
      '2:MEMORY_MB=400 3:MEMORY_MB=400',
      '3:MEMORY_MB=800',
    ]);
    expect(run({ groups, groupPolicy: 'isolate' })).toHaveLength(2);
  });

  it('applies same_subtree through the parent chain', () => {
    const groups = [group('_A', { MEMORY_MB: 100 }), group('_B', {}, { requiredTraits: [['CUSTOM_FAST']] })];
    expect(run({ groups, groupPolicy: 'none', sameSubtrees: [['_A', '_B']] })).toEqual(['3:MEMORY_MB=100']);
  });

  it('before 1.29 refuses requests that use two providers of one tree', () => {
    expect(run({ groups: [group('', { VCPU: 1, MEMORY_MB: 100 })], nestedAware: false })).toEqual([]);
  });

  it('pauses inside a tree whose combinations are all ruled out, and gives the same candidates as without pauses', () => {
    // Six children of one VCPU under a root without any: seven isolated groups of one VCPU never fit,
    // yet every ordering of six children is tried first; six groups fit in 720 ways.
    const bare = provider(1, null, 1, {});
    const children = Array.from({ length: 6 }, (_, i) => provider(10 + i, 1, 1, { VCPU: [1, 0] }));
    const wide: RootContext = { ...ctx, root: bare, tree: [bare, ...children] };
    const groups = (n: number): CombineOptions => ({
      groups: Array.from({ length: n }, (_, i) => group(String(i + 1), { VCPU: 1 })),
      groupPolicy: 'isolate',
      sameSubtrees: [],
      nestedAware: true,
    });
    const none = [...walkRoot(wide, groups(7))];
    expect(none.length).toBeGreaterThan(10);
    expect(none.every((item) => item === PAUSE)).toBe(true);
    const walked = [...walkRoot(wide, groups(6))];
    const candidates = walked.filter((item) => item !== PAUSE);
    const ids = (c: Candidate) => c.mappings.map(([suffix, [uuid]]) => `${suffix}=${uuid}`).join(' ');
    expect(candidates).toHaveLength(720);
    expect(candidates.map(ids)).toEqual([...candidatesForRoot(wide, groups(6))].map(ids));
    expect(walked.length).toBeGreaterThan(candidates.length);
  });
});
