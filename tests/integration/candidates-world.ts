import { randomUUID } from 'node:crypto';
import type { Db } from '../../src/db/knex';
import { seedAggregates, seedInventory, seedProvider, seedTraits, type SeedProvider } from '../helpers/seed';

/**
 * The nested-and-sharing cloud of allocation-candidates-nested.test.ts, as a builder other tests can
 * seed next to emplace-world.ts's SEV hosts: two compute nodes each with two NUMA nodes and a PF (8 VFs)
 * under each, VCPU and MEMORY_MB on the compute nodes, HW_CPU_X86_SSE(2) on cn1, local DISK_GB on cn2,
 * and two sharing storage providers (ss, ss2) in the compute nodes' aggregate `aggregate`.
 */
export interface NestedWorld {
  p: Record<string, SeedProvider>;
  aggregate: string;
}

export async function seedNestedWorld(db: Db, prefix = ''): Promise<NestedWorld> {
  const p: Record<string, SeedProvider> = {};
  const aggregate = randomUUID();
  for (const name of ['cn1', 'cn2', 'ss', 'ss2']) {
    p[name] = await seedProvider(db, { name: prefix + name });
    await seedAggregates(db, p[name], [aggregate]);
  }
  for (const [cn, n] of [
    ['cn1', '1'],
    ['cn2', '2'],
  ]) {
    for (const i of ['1', '2']) {
      p[`numa${n}_${i}`] = await seedProvider(db, { name: `${prefix}numa${n}_${i}`, parent: p[cn] });
      p[`pf${n}_${i}`] = await seedProvider(db, { name: `${prefix}pf${n}_${i}`, parent: p[`numa${n}_${i}`] });
      await seedInventory(db, p[`pf${n}_${i}`], { SRIOV_NET_VF: 8 });
    }
    await seedInventory(db, p[cn], {
      VCPU: { total: 24, allocation_ratio: 16 },
      MEMORY_MB: { total: 131072, allocation_ratio: 1.5 },
    });
  }
  await seedTraits(db, p.cn1, ['HW_CPU_X86_SSE', 'HW_CPU_X86_SSE2']);
  await seedInventory(db, p.cn2, { DISK_GB: { total: 2000, reserved: 100 } });
  for (const ss of [p.ss, p.ss2]) {
    await seedInventory(db, ss, { DISK_GB: { total: 2000, reserved: 100 } });
    await seedTraits(db, ss, ['MISC_SHARES_VIA_AGGREGATE']);
  }
  return { p, aggregate };
}
