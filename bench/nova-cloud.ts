import { createHash } from 'node:crypto';
import type { Db } from '../src/db/knex';

/**
 * The cloud of issue 14, seeded with bulk SQL (generate_series) so 10k hosts take seconds, not the
 * hours thousands of HTTP calls would. Deterministic: the same N gives the same cloud.
 *
 * For hosts h = 1..N:
 * - VCPU 64 (ratio 4), MEMORY_MB 262144, DISK_GB 2000 (h % 20 = 7: diskless, disk from shared storage only);
 * - h % 10 = 3: SEV host, MEM_ENCRYPTION_CONTEXT 15 and HW_CPU_X86_AMD_SEV (+ AMD_SVM);
 * - h % 10 = 5: two NUMA children carry VCPU 32 and MEMORY_MB 131072 each; DISK_GB and HW_NUMA_ROOT on the root;
 * - ~30 traits per host: 25 COMPUTE_* / CPU flags everyone has, HW_CPU_X86_AVX2 unless h % 17 = 0,
 *   HW_CPU_X86_AVX512F on even h, COMPUTE_STATUS_DISABLED when h % 13 = 0;
 * - four shared-storage providers (DISK_GB 1000000, MISC_SHARES_VIA_AGGREGATE) in aggregates 0..3, host h in h % 4;
 * - fill f(h) = ((37 h) mod 81) / 100, 0-80 %: 16 consumers per host, each taking f/16 of VCPU, MEMORY_MB
 *   and DISK_GB (on the NUMA children for NUMA hosts, alternating), and one SEV context each while
 *   fewer than 15 f are taken.
 */

export const COMMON_TRAITS = [
  'COMPUTE_NODE',
  'COMPUTE_ARCH_X86_64',
  'COMPUTE_DEVICE_TAGGING',
  'COMPUTE_FIRMWARE_BIOS',
  'COMPUTE_FIRMWARE_UEFI',
  'COMPUTE_GRAPHICS_MODEL_VIRTIO',
  'COMPUTE_GRAPHICS_MODEL_VGA',
  'COMPUTE_IMAGE_TYPE_QCOW2',
  'COMPUTE_IMAGE_TYPE_RAW',
  'COMPUTE_IMAGE_TYPE_ISO',
  'COMPUTE_NET_ATTACH_INTERFACE',
  'COMPUTE_NET_ATTACH_INTERFACE_WITH_TAG',
  'COMPUTE_NET_VIF_MODEL_VIRTIO',
  'COMPUTE_NET_VIF_MODEL_E1000',
  'COMPUTE_RESCUE_BFV',
  'COMPUTE_MIGRATE_AUTO_CONVERGE',
  'COMPUTE_MIGRATE_POST_COPY',
  'HW_CPU_X86_AVX',
  'HW_CPU_X86_AESNI',
  'HW_CPU_X86_ABM',
  'HW_CPU_X86_BMI',
  'HW_CPU_X86_BMI2',
  'HW_CPU_X86_CLMUL',
  'HW_CPU_X86_F16C',
  'HW_CPU_X86_FMA3',
];

export const CONSUMERS_PER_HOST = 16;

/** The uuid the seed gives aggregate `n` (md5 of 'agg-n', as PostgreSQL's md5()::uuid). */
export function aggregateUuid(n: number): string {
  const hex = createHash('md5').update(`agg-${n}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export async function seedNovaCloud(db: Db, hosts: number): Promise<void> {
  const rc = (name: string) => `(SELECT id FROM resource_classes WHERE name = '${name}')`;
  const trait = (name: string) => `(SELECT id FROM traits WHERE name = '${name}')`;
  const common = COMMON_TRAITS.map((t) => `'${t}'`).join(', ');
  const numaChild = (n: string) => `${hosts} + 2 * (h / 10) + ${n} + 1`;
  const fill = `((h * 37) % 81)`; // percent, 0..80
  // Replica mode skips the foreign-key and usage-total triggers while loading (rows are consistent by
  // construction; three FK probes per allocation row were most of the seed time); totals are summed after.
  await db.raw(`
    SET session_replication_role = replica;
    INSERT INTO resource_providers (id, uuid, name, root_provider_id)
      SELECT h, md5('host-' || h)::uuid, 'host-' || h, h FROM generate_series(1, ${hosts}) h;
    INSERT INTO resource_providers (id, uuid, name, parent_provider_id, root_provider_id)
      SELECT ${numaChild('n')}, md5('numa-' || h || '-' || n)::uuid, 'host-' || h || '-numa' || n, h, h
      FROM generate_series(1, ${hosts}) h, generate_series(0, 1) n WHERE h % 10 = 5;
    INSERT INTO resource_providers (id, uuid, name, root_provider_id)
      SELECT s, md5('shared-' || s)::uuid, 'shared-storage-' || s, s
      FROM generate_series(${hosts * 3 + 10}, ${hosts * 3 + 13}) s;
    SELECT setval('resource_providers_id_seq', (SELECT max(id) FROM resource_providers));

    INSERT INTO inventories (resource_provider_id, resource_class_id, total, max_unit, allocation_ratio)
      SELECT h, ${rc('VCPU')}, 64, 64, 4 FROM generate_series(1, ${hosts}) h WHERE h % 10 <> 5
      UNION ALL SELECT h, ${rc('MEMORY_MB')}, 262144, 262144, 1 FROM generate_series(1, ${hosts}) h WHERE h % 10 <> 5
      UNION ALL SELECT h, ${rc('DISK_GB')}, 2000, 2000, 1 FROM generate_series(1, ${hosts}) h WHERE h % 20 <> 7
      UNION ALL SELECT h, ${rc('MEM_ENCRYPTION_CONTEXT')}, 15, 15, 1 FROM generate_series(1, ${hosts}) h WHERE h % 10 = 3
      UNION ALL SELECT id, ${rc('VCPU')}, 32, 32, 4 FROM resource_providers WHERE parent_provider_id IS NOT NULL
      UNION ALL SELECT id, ${rc('MEMORY_MB')}, 131072, 131072, 1 FROM resource_providers WHERE parent_provider_id IS NOT NULL
      UNION ALL SELECT s, ${rc('DISK_GB')}, 1000000, 1000000, 1 FROM generate_series(${hosts * 3 + 10}, ${hosts * 3 + 13}) s;

    INSERT INTO resource_provider_traits (resource_provider_id, trait_id)
      SELECT h, t.id FROM generate_series(1, ${hosts}) h, traits t WHERE t.name IN (${common})
      UNION ALL SELECT h, ${trait('HW_CPU_X86_AVX2')} FROM generate_series(1, ${hosts}) h WHERE h % 17 <> 0
      UNION ALL SELECT h, ${trait('HW_CPU_X86_AVX512F')} FROM generate_series(1, ${hosts}) h WHERE h % 2 = 0
      UNION ALL SELECT h, ${trait('HW_CPU_X86_AMD_SEV')} FROM generate_series(1, ${hosts}) h WHERE h % 10 = 3
      UNION ALL SELECT h, ${trait('HW_CPU_X86_AMD_SVM')} FROM generate_series(1, ${hosts}) h WHERE h % 10 = 3
      UNION ALL SELECT h, ${trait('HW_NUMA_ROOT')} FROM generate_series(1, ${hosts}) h WHERE h % 10 = 5
      UNION ALL SELECT h, ${trait('COMPUTE_STATUS_DISABLED')} FROM generate_series(1, ${hosts}) h WHERE h % 13 = 0
      UNION ALL SELECT s, ${trait('MISC_SHARES_VIA_AGGREGATE')} FROM generate_series(${hosts * 3 + 10}, ${hosts * 3 + 13}) s;

    INSERT INTO placement_aggregates (id, uuid) SELECT a, md5('agg-' || a)::uuid FROM generate_series(0, 3) a;
    INSERT INTO resource_provider_aggregates (resource_provider_id, aggregate_id)
      SELECT h, h % 4 FROM generate_series(1, ${hosts}) h
      UNION ALL SELECT s, s % 4 FROM generate_series(${hosts * 3 + 10}, ${hosts * 3 + 13}) s;

    INSERT INTO projects (id, external_id) VALUES (1, 'bench-project');
    INSERT INTO users (id, external_id) VALUES (1, 'bench-user');
    INSERT INTO consumers (id, uuid, project_id, user_id)
      SELECT (h - 1) * ${CONSUMERS_PER_HOST} + c + 1, md5('consumer-' || h || '-' || c)::uuid, 1, 1
      FROM generate_series(1, ${hosts}) h, generate_series(0, ${CONSUMERS_PER_HOST - 1}) c
      WHERE 256 * ${fill} / 100 / ${CONSUMERS_PER_HOST} > 0;
    SELECT setval('consumers_id_seq', (SELECT COALESCE(max(id), 1) FROM consumers));
    INSERT INTO allocations (resource_provider_id, consumer_id, resource_class_id, used)
      SELECT CASE WHEN h % 10 = 5 THEN ${numaChild('c % 2')} ELSE h END, (h - 1) * ${CONSUMERS_PER_HOST} + c + 1,
             k.class_id, k.amount
      FROM generate_series(1, ${hosts}) h, generate_series(0, ${CONSUMERS_PER_HOST - 1}) c,
           LATERAL (VALUES (${rc('VCPU')}, 256 * ${fill} / 100 / ${CONSUMERS_PER_HOST}),
                           (${rc('MEMORY_MB')}, 262144 / 100 * ${fill} / ${CONSUMERS_PER_HOST})) k(class_id, amount)
      WHERE 256 * ${fill} / 100 / ${CONSUMERS_PER_HOST} > 0
      UNION ALL
      SELECT h, (h - 1) * ${CONSUMERS_PER_HOST} + c + 1, ${rc('DISK_GB')}, 2000 * ${fill} / 100 / ${CONSUMERS_PER_HOST}
      FROM generate_series(1, ${hosts}) h, generate_series(0, ${CONSUMERS_PER_HOST - 1}) c
      WHERE h % 20 <> 7 AND 256 * ${fill} / 100 / ${CONSUMERS_PER_HOST} > 0
      UNION ALL
      SELECT h, (h - 1) * ${CONSUMERS_PER_HOST} + c + 1, ${rc('MEM_ENCRYPTION_CONTEXT')}, 1
      FROM generate_series(1, ${hosts}) h, generate_series(0, ${CONSUMERS_PER_HOST - 1}) c
      WHERE h % 10 = 3 AND c < 15 * ${fill} / 100 AND 256 * ${fill} / 100 / ${CONSUMERS_PER_HOST} > 0;
    SET session_replication_role = DEFAULT;
    INSERT INTO provider_usages (resource_provider_id, resource_class_id, used)
      SELECT resource_provider_id, resource_class_id, SUM(used) FROM allocations GROUP BY 1, 2;
  `);
  await db.raw('VACUUM ANALYZE');
}
