import { planImport } from '../../src/import/plan';
import { ImportRefused, type PlanOptions } from '../../src/import/plan-types';
import type { PlacementSnapshot } from '../../src/import/read-placement';
import { maskUrl, parseSourceUrl } from '../../src/import/source-url';

const NOW = '2030-01-01T00:00:00.000Z';
const OPTIONS: PlanOptions = {
  standardClasses: ['VCPU', 'MEMORY_MB', 'DISK_GB'],
  standardTraits: ['HW_CPU_X86_AVX2', 'MISC_SHARES_VIA_AGGREGATE'],
  incompleteProjectId: '00000000-0000-0000-0000-000000000000',
  incompleteUserId: '00000000-0000-0000-0000-000000000000',
  now: NOW,
};
const T = { created_at: '2024-05-06 07:08:09', updated_at: null };
const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

function snapshot(overrides: Partial<PlacementSnapshot> = {}): PlacementSnapshot {
  return {
    revision: '422ece571366',
    resourceClasses: [
      { id: 0, name: 'VCPU', ...T },
      { id: 1, name: 'MEMORY_MB', ...T },
      { id: 10000, name: 'CUSTOM_GOLD', ...T },
    ],
    traits: [
      { id: 1, name: 'HW_CPU_X86_AVX2', ...T },
      { id: 7, name: 'CUSTOM_FAST', ...T },
    ],
    providers: [
      { id: 1, uuid: uuid(1), name: 'cn1', generation: 3, root_provider_id: 1, parent_provider_id: null, ...T },
      { id: 2, uuid: uuid(2), name: 'numa0', generation: 1, root_provider_id: 1, parent_provider_id: 1, ...T },
    ],
    inventories: [
      {
        id: 5,
        resource_provider_id: 2,
        resource_class_id: 0,
        total: 8,
        reserved: 0,
        min_unit: 1,
        max_unit: 8,
        step_size: 1,
        allocation_ratio: 16.1,
        ...T,
      },
    ],
    providerTraits: [
      { resource_provider_id: 1, trait_id: 1 },
      { resource_provider_id: 1, trait_id: 7 },
    ],
    aggregates: [{ id: 3, uuid: uuid(100) }],
    providerAggregates: [{ resource_provider_id: 1, aggregate_id: 3 }],
    projects: [{ id: 1, external_id: 'p1' }],
    users: [{ id: 1, external_id: 'u1' }],
    consumerTypes: [{ id: 1, name: 'INSTANCE' }],
    consumers: [{ id: 4, uuid: uuid(200), project_id: 1, user_id: 1, generation: 2, consumer_type_id: 1, ...T }],
    allocations: [{ id: 9, resource_provider_id: 2, consumer_id: uuid(200), resource_class_id: 0, used: 2, ...T }],
    ...overrides,
  };
}

function problems(source: PlacementSnapshot): string[] {
  try {
    planImport(source, OPTIONS);
  } catch (error) {
    if (error instanceof ImportRefused) return error.problems;
    throw error;
  }
  throw new Error('expected the import to be refused');
}

describe('planning an import from Placement', () => {
  it('maps classes and traits by name, creating only the custom ones, and keeps the other ids', () => {
    const plan = planImport(snapshot(), OPTIONS);
    expect(plan.customClasses.map((row) => row.name)).toEqual(['CUSTOM_GOLD']);
    expect(plan.customTraits.map((row) => row.name)).toEqual(['CUSTOM_FAST']);
    expect(plan.inventories[0]).toMatchObject({ id: 5, resource_provider_id: 2, resource_class: 'VCPU' });
    expect(plan.providerTraits).toEqual([
      { resource_provider_id: 1, trait: 'HW_CPU_X86_AVX2' },
      { resource_provider_id: 1, trait: 'CUSTOM_FAST' },
    ]);
    expect(plan.allocations[0]).toMatchObject({ id: 9, consumer_id: 4, resource_class: 'VCPU', used: 2 });
    expect(plan.consumers).toEqual([
      expect.objectContaining({ id: 4, uuid: uuid(200), generation: 2, consumer_type_id: 1 }),
    ]);
  });

  it("takes Placement's naive UTC times as UTC, updated_at falling back to created_at and both to now", () => {
    const plan = planImport(
      snapshot({
        providers: [
          {
            id: 1,
            uuid: uuid(1),
            name: 'a',
            generation: 0,
            root_provider_id: 1,
            parent_provider_id: null,
            created_at: '2024-05-06 07:08:09',
            updated_at: '2024-06-01 00:00:00.123456',
          },
          {
            id: 2,
            uuid: uuid(2),
            name: 'b',
            generation: 0,
            root_provider_id: 2,
            parent_provider_id: null,
            created_at: null,
            updated_at: null,
          },
          {
            id: 3,
            uuid: uuid(3),
            name: 'c',
            generation: 0,
            root_provider_id: 3,
            parent_provider_id: null,
            created_at: '0000-00-00 00:00:00',
            updated_at: null,
          },
        ],
        inventories: [],
        allocations: [],
      }),
      OPTIONS,
    );
    expect(plan.providers.map(({ created_at, updated_at }) => [created_at, updated_at])).toEqual([
      ['2024-05-06T07:08:09Z', '2024-06-01T00:00:00.123456Z'],
      [NOW, NOW],
      [NOW, NOW],
    ]);
    expect(plan.inventories).toEqual([]);
  });

  it('fills NULL root ids from the parent chain, parents first, as online_data_migrations does', () => {
    const plan = planImport(
      snapshot({
        providers: [
          { id: 3, uuid: uuid(3), name: 'leaf', generation: 0, root_provider_id: null, parent_provider_id: 2, ...T },
          { id: 2, uuid: uuid(2), name: 'mid', generation: 0, root_provider_id: 1, parent_provider_id: 1, ...T },
          { id: 1, uuid: uuid(1), name: 'root', generation: 0, root_provider_id: null, parent_provider_id: null, ...T },
          { id: 4, uuid: uuid(4), name: 'old', generation: 5, root_provider_id: null, parent_provider_id: null, ...T },
        ],
        inventories: [],
        allocations: [],
      }),
      OPTIONS,
    );
    expect(plan.providers.map((row) => [row.id, row.root_provider_id])).toEqual([
      [1, 1],
      [4, 4],
      [2, 1],
      [3, 1],
    ]);
    expect(plan.notes.rootsFilled).toBe(3);
    // The migration's UPDATE stamps updated_at; so does the import.
    expect(plan.providers.find((row) => row.id === 4)?.updated_at).toBe(NOW);
    expect(plan.providers.find((row) => row.id === 2)?.updated_at).toBe('2024-05-06T07:08:09Z');
  });

  it('refuses broken trees, naming the provider', () => {
    const base = { generation: 0, ...T };
    expect(
      problems(
        snapshot({
          providers: [
            { id: 1, uuid: uuid(1), name: 'a', root_provider_id: 2, parent_provider_id: 2, ...base },
            { id: 2, uuid: uuid(2), name: 'b', root_provider_id: 1, parent_provider_id: 1, ...base },
            { id: 3, uuid: uuid(3), name: 'c', root_provider_id: 3, parent_provider_id: 99, ...base },
            { id: 4, uuid: uuid(4), name: 'd', root_provider_id: 1, parent_provider_id: null, ...base },
          ],
          inventories: [],
          allocations: [],
          providerTraits: [],
          providerAggregates: [],
        }),
      ),
    ).toEqual([
      `resource provider id 1 (${uuid(1)}): its parents form a cycle (1 -> 2 -> 1)`,
      `resource provider id 3 (${uuid(3)}): parent provider id 99 does not exist`,
      `resource provider id 4 (${uuid(4)}): root_provider_id is 1 but the top of its parent chain is provider id 4`,
    ]);
  });

  it('refuses what Emplace cannot hold and says how to fix it', () => {
    const found = problems(
      snapshot({
        providers: [
          { id: 1, uuid: uuid(1), name: null, generation: 3, root_provider_id: 1, parent_provider_id: null, ...T },
          { id: 2, uuid: uuid(2), name: 'b', generation: null, root_provider_id: 2, parent_provider_id: null, ...T },
          { id: 5, uuid: 'not-a-uuid', name: 'c', generation: 0, root_provider_id: 5, parent_provider_id: null, ...T },
        ],
        resourceClasses: [
          { id: 0, name: 'VCPU', ...T },
          { id: 42, name: 'FUTURE_CLASS', ...T },
        ],
        inventories: [],
        allocations: [
          { id: 1, resource_provider_id: 2, consumer_id: uuid(200), resource_class_id: 42, used: 1, ...T },
          { id: 2, resource_provider_id: 2, consumer_id: uuid(200), resource_class_id: 0, used: 0, ...T },
          { id: 3, resource_provider_id: 2, consumer_id: uuid(200), resource_class_id: 0, used: 1, ...T },
          { id: 4, resource_provider_id: 77, consumer_id: 'nope', resource_class_id: 0, used: 1, ...T },
        ],
      }),
    );
    expect(found).toEqual(
      expect.arrayContaining([
        'resource class FUTURE_CLASS (Placement id 42) is in use but is neither custom (CUSTOM_) nor a standard resource class this Emplace knows; upgrade Emplace to a release whose catalogue has it',
        `resource provider id 1 (${uuid(1)}): name is NULL and Emplace requires one; name it in Placement (openstack resource provider set --name NAME ${uuid(1)}) and import again`,
        `resource provider id 2 (${uuid(2)}): generation is NULL (Placement never writes that); set it to 0 in Placement's database`,
        'resource provider id 5 (not-a-uuid): "not-a-uuid" is not a uuid',
        `allocation id 2 (consumer ${uuid(200)}): used is 0; Emplace stores only allocations of at least 1`,
        `allocation id 3 (consumer ${uuid(200)}): a second allocation of the same class from the same provider for this consumer (Emplace keeps one per consumer, provider and class)`,
        'allocation id 4 (consumer nope): resource provider id 77 does not exist',
        'allocation id 4: consumer "nope" is not a uuid',
      ]),
    );
  });

  it('skips unused standard names a newer Placement knows and Emplace does not', () => {
    const plan = planImport(
      snapshot({ traits: [...snapshot().traits, { id: 8, name: 'COMPUTE_FROM_THE_FUTURE', ...T }] }),
      OPTIONS,
    );
    expect(plan.notes.unknownStandardSkipped).toEqual(['COMPUTE_FROM_THE_FUTURE']);
  });

  it('makes consumer records for allocations that have none, with the incomplete project and user', () => {
    const orphan = uuid(300);
    const plan = planImport(
      snapshot({
        projects: [
          { id: 1, external_id: 'p1' },
          { id: 2, external_id: OPTIONS.incompleteProjectId },
        ],
        allocations: [
          { id: 9, resource_provider_id: 2, consumer_id: uuid(200), resource_class_id: 0, used: 2, ...T },
          { id: 10, resource_provider_id: 2, consumer_id: orphan.toUpperCase(), resource_class_id: 0, used: 1, ...T },
          { id: 11, resource_provider_id: 2, consumer_id: orphan, resource_class_id: 1, used: 64, ...T },
        ],
      }),
      OPTIONS,
    );
    expect(plan.notes.incompleteConsumers).toBe(1);
    // The incomplete project already existed; the user did not.
    expect(plan.users).toEqual([
      { id: 1, external_id: 'u1' },
      { id: 2, external_id: OPTIONS.incompleteUserId },
    ]);
    expect(plan.consumers[1]).toEqual({
      id: 5,
      uuid: orphan,
      project_id: 2,
      user_id: 2,
      consumer_type_id: null,
      generation: 0,
      created_at: NOW,
      updated_at: NOW,
    });
    expect(plan.allocations.map((row) => row.consumer_id)).toEqual([4, 5, 5]);
    expect(plan.notes.uuidsCanonicalised).toBe(0);
  });

  it('writes uuids in canonical form and refuses two spellings of one uuid', () => {
    const spelled = uuid(1).toUpperCase().replace(/-/g, '');
    const plan = planImport(
      snapshot({
        providers: [
          { id: 1, uuid: spelled, name: 'a', generation: 0, root_provider_id: 1, parent_provider_id: null, ...T },
          { id: 2, uuid: uuid(2), name: 'b', generation: 0, root_provider_id: 1, parent_provider_id: 1, ...T },
        ],
      }),
      OPTIONS,
    );
    expect(plan.providers[0].uuid).toBe(uuid(1));
    expect(plan.notes.uuidsCanonicalised).toBe(1);
    expect(
      problems(
        snapshot({
          aggregates: [
            { id: 3, uuid: uuid(100) },
            { id: 4, uuid: uuid(100).toUpperCase() },
          ],
        }),
      ),
    ).toEqual([
      `aggregate id 4: ${uuid(100).toUpperCase()} and ${uuid(100)} are the same aggregate uuid spelled differently`,
    ]);
  });

  it('skips an aggregate row without uuid that no provider uses, and refuses one that is used', () => {
    const plan = planImport(snapshot({ aggregates: [...snapshot().aggregates, { id: 4, uuid: null }] }), OPTIONS);
    expect(plan.aggregates).toEqual([{ id: 3, uuid: uuid(100) }]);
    expect(plan.notes.aggregatesSkipped).toBe(1);
    expect(
      problems(
        snapshot({
          aggregates: [{ id: 3, uuid: null }],
          providerAggregates: [
            { resource_provider_id: 1, aggregate_id: 3 },
            { resource_provider_id: 1, aggregate_id: 8 },
          ],
        }),
      ),
    ).toEqual([
      'aggregate id 3: null is not a uuid',
      'resource_provider_aggregates row (1, 8): aggregate id 8 does not exist',
    ]);
  });

  it('lists at most 25 problems in its message and counts the rest', () => {
    const allocations = Array.from({ length: 30 }, (_, i) => ({
      id: i + 1,
      resource_provider_id: 99,
      consumer_id: uuid(200),
      resource_class_id: i,
      used: 1,
      ...T,
    }));
    const error = (() => {
      try {
        planImport(snapshot({ allocations, resourceClasses: [] }), OPTIONS);
      } catch (caught) {
        return caught as ImportRefused;
      }
    })();
    expect(error?.message.split('\n')).toHaveLength(1 + 25 + 1);
    expect(error?.message).toMatch(/\.\.\. and 36 more$/);
  });
});

describe('the --from URL', () => {
  it("reads placement.conf's SQLAlchemy URLs and plain ones", () => {
    expect(parseSourceUrl('mysql+pymysql://placement:s%40cret@db.example:3307/placement?charset=utf8')).toEqual({
      kind: 'mysql',
      host: 'db.example',
      port: 3307,
      user: 'placement',
      password: 's@cret',
      database: 'placement',
      socketPath: undefined,
    });
    expect(parseSourceUrl('postgresql+psycopg2://postgres@127.0.0.1/placement')).toMatchObject({
      kind: 'postgresql',
      host: '127.0.0.1',
      database: 'placement',
    });
    expect(parseSourceUrl('mysql://root@/placement?unix_socket=/run/mysqld/mysqld.sock')).toMatchObject({
      kind: 'mysql',
      host: undefined,
      socketPath: '/run/mysqld/mysqld.sock',
    });
    expect(() => parseSourceUrl('sqlite:////var/lib/placement.db')).toThrow(
      /--from must be a MySQL\/MariaDB or PostgreSQL URL/,
    );
    expect(() => parseSourceUrl('mysql://root@host/')).toThrow('--from names no database');
  });

  it('masks the password wherever it is shown', () => {
    expect(maskUrl('mysql+pymysql://placement:secret@db/placement')).toBe(
      'mysql+pymysql://placement:****@db/placement',
    );
    expect(maskUrl('postgresql://postgres@db/placement')).toBe('postgresql://postgres@db/placement');
    expect(() => parseSourceUrl('ftp://placement:secret@db/x')).toThrow(/ftp:\/\/placement:\*\*\*\*@db\/x/);
  });
});
