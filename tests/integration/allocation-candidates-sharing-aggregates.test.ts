import { randomUUID } from 'node:crypto';
import { seedAggregates, seedInventory, seedProvider, seedTraits, type SeedProvider } from '../helpers/seed';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * member_of and sharing providers (Placement bug 1792503): a sharing provider serves a tree through
 * any aggregate they have in common, but it may only contribute to a candidate whose group names
 * aggregates if it is in those aggregates itself; the tree's own providers still count the root's
 * membership for the whole tree.
 *
 *   rack:  host1 (VCPU)        host2 (no inventory; also in edge)
 *                                └─ host2-numa (VCPU; in local)
 *   gold:  host3 (VCPU)
 *   nas-rack   DISK_GB, shares via rack
 *   nas-gold   DISK_GB, shares via rack and gold
 *   nas-local  DISK_GB, shares via local (reaches host2's tree through its NUMA node only)
 */
let api: TestServer;
const p: Record<string, SeedProvider> = {};
const RACK = randomUUID();
const EDGE = randomUUID();
const GOLD = randomUUID();
const LOCAL = randomUUID();

beforeAll(async () => {
  api = await startTestServer();
  const db = api.database.db;
  p.host1 = await seedProvider(db, { name: 'host1' });
  p.host2 = await seedProvider(db, { name: 'host2' });
  p['host2-numa'] = await seedProvider(db, { name: 'host2-numa', parent: p.host2 });
  p.host3 = await seedProvider(db, { name: 'host3' });
  for (const name of ['host1', 'host2-numa', 'host3']) await seedInventory(db, p[name], { VCPU: 16 });
  await seedAggregates(db, p.host1, [RACK]);
  await seedAggregates(db, p.host2, [RACK, EDGE]);
  await seedAggregates(db, p['host2-numa'], [LOCAL]);
  await seedAggregates(db, p.host3, [GOLD]);
  for (const [name, aggregates] of [
    ['nas-rack', [RACK]],
    ['nas-gold', [RACK, GOLD]],
    ['nas-local', [LOCAL]],
  ] as const) {
    p[name] = await seedProvider(db, { name });
    await seedInventory(db, p[name], { DISK_GB: 1000 });
    await seedTraits(db, p[name], ['MISC_SHARES_VIA_AGGREGATE']);
    await seedAggregates(db, p[name], [...aggregates]);
  }
});
afterAll(async () => {
  await api.close();
});

const nameOf = (uuid: string) => Object.keys(p).find((k) => p[k].uuid === uuid)!;
/** Each allocation request as its provider names joined by '+', sorted. */
async function pairs(query: string): Promise<string[]> {
  const res = await api.at('1.39').get(`/allocation_candidates?resources=VCPU:1,DISK_GB:10&${query}`);
  expect(res.status).toBe(200);
  return res.body.allocation_requests.map((r: any) => Object.keys(r.allocations).map(nameOf).sort().join('+')).sort();
}

describe('member_of with sharing providers', () => {
  it('without member_of, every sharing provider serves every tree it shares an aggregate with', async () => {
    expect(await pairs('')).toEqual([
      'host1+nas-gold',
      'host1+nas-rack',
      'host2-numa+nas-gold',
      'host2-numa+nas-local',
      'host2-numa+nas-rack',
      'host3+nas-gold',
    ]);
  });

  it('a sharing provider outside the aggregate is left out even when the tree root is in it', async () => {
    // host2 is in rack, so its NUMA node qualifies; nas-local reaches that tree but is not in rack.
    expect(await pairs(`member_of=${RACK}`)).toEqual([
      'host1+nas-gold',
      'host1+nas-rack',
      'host2-numa+nas-gold',
      'host2-numa+nas-rack',
    ]);
  });

  it('a tree whose only sharing providers are outside the aggregate gets nothing', async () => {
    // host2 alone is in edge; all three storage providers reach it, none is in edge.
    expect(await pairs(`member_of=${EDGE}`)).toEqual([]);
  });

  it('a sharing provider in the aggregate serves the trees it reaches through another one', async () => {
    expect(await pairs(`member_of=${GOLD}`)).toEqual(['host3+nas-gold']);
    // Any-of: edge qualifies host2's tree, gold qualifies host3 and nas-gold, which reaches host2 via rack.
    expect(await pairs(`member_of=in:${EDGE},${GOLD}`)).toEqual(['host2-numa+nas-gold', 'host3+nas-gold']);
  });

  it('an aggregate on a child qualifies that child and the sharing providers in it, not the rest of the tree', async () => {
    expect(await pairs(`member_of=${LOCAL}`)).toEqual(['host2-numa+nas-local']);
  });

  it('repeated member_of needs every aggregate on the sharing provider itself', async () => {
    // nas-gold is in both; no tree is in both rack and gold.
    expect(await pairs(`member_of=${RACK}&member_of=${GOLD}`)).toEqual([]);
  });

  it('forbidden aggregates remove sharing providers in them, positive ones still apply', async () => {
    expect(await pairs(`member_of=${RACK}&member_of=!${GOLD}`)).toEqual(['host1+nas-rack', 'host2-numa+nas-rack']);
    // A tree whose root is in a forbidden aggregate is out entirely; nas-local is not in rack but serves host2 only.
    expect(await pairs(`member_of=!${RACK}`)).toEqual([]);
    expect(await pairs(`member_of=!${EDGE}`)).toEqual(['host1+nas-gold', 'host1+nas-rack', 'host3+nas-gold']);
  });
});
