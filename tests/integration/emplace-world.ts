import { randomUUID } from 'node:crypto';
import type { Db } from '../../src/db/knex';
import {
  seedAggregates,
  seedAllocation,
  seedInventory,
  seedProvider,
  seedTraits,
  type SeedProvider,
} from '../helpers/seed';

/**
 * A small cloud of confidential-computing hosts for the capacity view and its page, the way the agent
 * and nova lay them out:
 * - `rootSev`: root layout, MEM_ENCRYPTION_CONTEXT 15 on the host with SEV (and the legacy trait), 3 used;
 * - `nested`: host with VCPU only and three children: SEV 10 (4 used), SEV-SNP 5 (1 used),
 *   SEV-ES 4 reserved 4 with 2 still used (draining);
 * - `tdx`: TDX host, MEC 8, in aggregate `aggregate`;
 * - `plain`: MEC 2 at allocation ratio 1.5 (capacity 3), no model trait;
 * - `noMec`: a host with VCPU only, which the view leaves out.
 */
export interface SevWorld {
  rootSev: SeedProvider;
  nested: SeedProvider;
  nestedSev: SeedProvider;
  nestedSnp: SeedProvider;
  nestedEs: SeedProvider;
  tdx: SeedProvider;
  plain: SeedProvider;
  noMec: SeedProvider;
  aggregate: string;
}

export const MEC = 'MEM_ENCRYPTION_CONTEXT';

export async function seedSevWorld(db: Db): Promise<SevWorld> {
  const rootSev = await seedProvider(db, { name: 'cn-rome-01' });
  await seedInventory(db, rootSev, { VCPU: 64, [MEC]: 15 });
  await seedTraits(db, rootSev, ['HW_CPU_X86_AMD_SEV', 'HW_CPU_AMD_SEV']);

  const nested = await seedProvider(db, { name: 'cn-genoa-02' });
  await seedInventory(db, nested, { VCPU: 128 });
  const nestedSev = await seedProvider(db, { name: 'cn-genoa-02_amd_sev', parent: nested });
  await seedInventory(db, nestedSev, { [MEC]: 10 });
  await seedTraits(db, nestedSev, ['HW_CPU_X86_AMD_SEV']);
  const nestedSnp = await seedProvider(db, { name: 'cn-genoa-02_amd_sev_snp', parent: nested });
  await seedInventory(db, nestedSnp, { [MEC]: 5 });
  await seedTraits(db, nestedSnp, ['HW_CPU_X86_AMD_SEV_SNP']);
  const nestedEs = await seedProvider(db, { name: 'cn-genoa-02_amd_sev_es', parent: nested });
  await seedInventory(db, nestedEs, { [MEC]: { total: 4, reserved: 0 } });
  await seedTraits(db, nestedEs, ['HW_CPU_X86_AMD_SEV_ES']);

  const tdx = await seedProvider(db, { name: 'cn-sapphire-03' });
  await seedInventory(db, tdx, { [MEC]: 8 });
  await seedTraits(db, tdx, ['HW_CPU_X86_INTEL_TDX']);
  const aggregate = randomUUID();
  await seedAggregates(db, tdx, [aggregate]);

  const plain = await seedProvider(db, { name: 'cn-plain-04' });
  await seedInventory(db, plain, { [MEC]: { total: 2, allocation_ratio: 1.5 } });

  const noMec = await seedProvider(db, { name: 'cn-nomec-05' });
  await seedInventory(db, noMec, { VCPU: 32 });

  await seedAllocation(db, { [rootSev.uuid]: { [MEC]: 3 } });
  await seedAllocation(db, { [nestedSev.uuid]: { [MEC]: 4 } });
  await seedAllocation(db, { [nestedSnp.uuid]: { [MEC]: 1 } });
  await seedAllocation(db, { [nestedEs.uuid]: { [MEC]: 2 } });
  // The operator drains the SEV-ES child: everything reserved while two guests still run there.
  await seedInventory(db, nestedEs, { [MEC]: { total: 4, reserved: 4 } });
  return { rootSev, nested, nestedSev, nestedSnp, nestedEs, tdx, plain, noMec, aggregate };
}

/** Pretend the host's reporter last spoke `secondsAgo` seconds ago. */
export async function setHeartbeatAge(db: Db, provider: SeedProvider, secondsAgo: number): Promise<void> {
  await db.raw(
    `INSERT INTO emplace_heartbeats (resource_provider_id, heartbeat_at)
     VALUES (?, now() - make_interval(secs => ?))
     ON CONFLICT (resource_provider_id) DO UPDATE SET heartbeat_at = EXCLUDED.heartbeat_at`,
    [provider.id, secondsAgo],
  );
}
