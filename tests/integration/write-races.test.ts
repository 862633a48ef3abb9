import { randomUUID } from 'node:crypto';
import { startTestServer, type ApiResponse, type TestServer, type VersionedClient } from '../helpers/server';

/**
 * Writes racing a delete of what they name. Each round fires the two requests at once; whichever
 * order PostgreSQL puts them in, the loser must get a 4xx in Placement's format (never a 500 from a
 * foreign key) and the end state must be one of the two serial outcomes.
 */

let api: TestServer;
let client: VersionedClient;
beforeAll(async () => {
  api = await startTestServer();
  client = api.at('1.39');
});
afterAll(async () => {
  await api?.close();
});

const ROUNDS = 30;
const SERVICE = { 'x-auth-token': 'nova:service-project', 'x-roles': 'service' };

async function createProvider(): Promise<{ uuid: string; generation: number }> {
  const uuid = randomUUID();
  const res = await client.post('/resource_providers', { uuid, name: `race-${uuid}` });
  expect(res.status).toBe(200);
  return { uuid, generation: res.body.generation };
}

/** A Placement error body: one error, its status echoed, a code (1.23+). */
function expectPlacementError(res: ApiResponse, status: number, code?: string): void {
  expect(res.status).toBe(status);
  expect(res.body.errors).toHaveLength(1);
  expect(res.body.errors[0].status).toBe(status);
  if (code) expect(res.body.errors[0].code).toBe(code);
}

/**
 * Start two requests a few random milliseconds apart, either one first, so that over the rounds the
 * race lands at every point of the other's transaction.
 */
async function together(
  first: () => Promise<ApiResponse>,
  second: () => Promise<ApiResponse>,
): Promise<[ApiResponse, ApiResponse]> {
  const offset = Math.random() * 16 - 8;
  return Promise.all([pause(Math.max(0, offset)).then(first), pause(Math.max(0, -offset)).then(second)]);
}

/** Run `round` ROUNDS times concurrently; the callers list unexpected status pairs so a failure shows the whole picture. */
async function race<T>(round: (i: number) => Promise<T>): Promise<T[]> {
  return Promise.all(Array.from({ length: ROUNDS }, (_, i) => round(i)));
}

describe('deleting a trait while a provider is given it', () => {
  it('either the delete wins (the PUT gets 400) or the PUT wins (the delete gets 409); never a 500', async () => {
    const outcomes = await race(async (i) => {
      const trait = `CUSTOM_RACE_TRAIT_${i}`;
      const provider = await createProvider();
      expect((await client.put(`/traits/${trait}`)).status).toBe(201);
      const [del, put] = await together(
        () => client.delete(`/traits/${trait}`),
        () =>
          client.put(`/resource_providers/${provider.uuid}/traits`, {
            traits: [trait],
            resource_provider_generation: provider.generation,
          }),
      );
      return { trait, provider, del, put };
    });
    expect(
      outcomes
        .map(({ del, put }) => `${del.status}/${put.status}`)
        .filter((pair) => pair !== '204/400' && pair !== '409/200'),
    ).toEqual([]);
    for (const { trait, provider, del, put } of outcomes) {
      const traits = (await client.get(`/resource_providers/${provider.uuid}/traits`)).body.traits;
      if (del.status === 204) {
        expectPlacementError(put, 400);
        expect(put.body.errors[0].detail).toContain(`No such trait ${trait}`);
        expect((await client.get(`/traits/${trait}`)).status).toBe(404);
        expect(traits).toEqual([]);
      } else {
        expectPlacementError(del, 409);
        expect(del.body.errors[0].detail).toContain(`The trait ${trait} is in use by a resource provider.`);
        expect((await client.get(`/traits/${trait}`)).status).toBe(204);
        expect(traits).toEqual([trait]);
      }
    }
  });
});

describe('deleting a resource class while inventory of it is written', () => {
  const writers: Record<string, (uuid: string, generation: number, rc: string) => Promise<ApiResponse>> = {
    'PUT inventories': (uuid, generation, rc) =>
      client.put(`/resource_providers/${uuid}/inventories`, {
        resource_provider_generation: generation,
        inventories: { [rc]: { total: 4 } },
      }),
    'POST inventories': (uuid, generation, rc) =>
      client.post(`/resource_providers/${uuid}/inventories`, {
        resource_class: rc,
        total: 4,
        resource_provider_generation: generation,
      }),
    // The reshaper is service-only; it resolves the class once up front and again when it writes the inventory.
    'POST reshaper': (uuid, generation, rc) =>
      client.post(
        '/reshaper',
        {
          inventories: { [uuid]: { resource_provider_generation: generation, inventories: { [rc]: { total: 4 } } } },
          allocations: {},
        },
        SERVICE,
      ),
  };
  const created: Record<string, number> = { 'PUT inventories': 200, 'POST inventories': 201, 'POST reshaper': 204 };

  for (const [label, write] of Object.entries(writers)) {
    it(`${label}: either the delete wins (the write gets 400) or the write wins (the delete gets 409); never a 500`, async () => {
      const outcomes = await race(async (i) => {
        const rc = `CUSTOM_RACE_${label.replace(/\W/g, '_').toUpperCase()}_${i}`;
        const provider = await createProvider();
        expect((await client.put(`/resource_classes/${rc}`)).status).toBe(201);
        const [del, put] = await together(
          () => client.delete(`/resource_classes/${rc}`),
          () => write(provider.uuid, provider.generation, rc),
        );
        return { rc, provider, del, put };
      });
      const expected = [`204/400`, `409/${created[label]}`];
      expect(
        outcomes.map(({ del, put }) => `${del.status}/${put.status}`).filter((pair) => !expected.includes(pair)),
      ).toEqual([]);
      for (const { rc, provider, del, put } of outcomes) {
        const inventories = (await client.get(`/resource_providers/${provider.uuid}/inventories`)).body.inventories;
        if (del.status === 204) {
          expectPlacementError(put, 400);
          expect(put.body.errors[0].detail).toContain(`No such resource class ${rc}.`);
          expect((await client.get(`/resource_classes/${rc}`)).status).toBe(404);
          expect(inventories).toEqual({});
        } else {
          expectPlacementError(del, 409);
          expect(del.body.errors[0].detail).toContain(
            `Cannot delete resource class ${rc}. Class is in use in inventory.`,
          );
          expect((await client.get(`/resource_classes/${rc}`)).status).toBe(200);
          expect(Object.keys(inventories)).toEqual([rc]);
        }
      }
    });
  }
});

describe('setting aggregates while the provider is deleted', () => {
  // Before 1.19 the PUT carries no generation; from 1.19 it checks and bumps it.
  for (const version of ['1.18', '1.19']) {
    it(`at ${version} the delete always succeeds and the PUT gets 200 (before it) or 404/409 (after it); never a 500`, async () => {
      const at = api.at(version);
      const outcomes = await race(async () => {
        const provider = await createProvider();
        const aggregates = [randomUUID(), randomUUID()];
        const body =
          version === '1.18' ? aggregates : { aggregates, resource_provider_generation: provider.generation };
        const [del, put] = await together(
          () => at.delete(`/resource_providers/${provider.uuid}`),
          () => at.put(`/resource_providers/${provider.uuid}/aggregates`, body),
        );
        return { provider, del, put };
      });
      const allowed = version === '1.18' ? [200, 404] : [200, 404, 409];
      expect(
        outcomes
          .map(({ del, put }) => `${del.status}/${put.status}`)
          .filter((pair) => !allowed.some((status) => pair === `204/${status}`)),
      ).toEqual([]);
      for (const { provider, put } of outcomes) {
        // No error codes before 1.23: the detail says what happened.
        if (put.status === 404) {
          expectPlacementError(put, 404);
          expect(put.body.errors[0].detail).toContain(`No resource provider with uuid ${provider.uuid} found`);
        }
        if (put.status === 409) {
          expectPlacementError(put, 409);
          expect(put.body.errors[0].detail).toContain('concurrently updated');
        }
        // Its aggregate links went with it (ON DELETE CASCADE): nothing is left to show.
        expect((await client.get(`/resource_providers/${provider.uuid}`)).status).toBe(404);
      }
    });
  }
});

describe('claims racing an inventory that shrinks', () => {
  /**
   * What is guaranteed: claims and inventory writes serialise on the provider row (both bump its
   * generation by exactly one), and each claim is checked against the inventory in force when it
   * runs. An inventory write may shrink below current usage (Placement allows it), but every claim
   * committed after a write must fit that write's total. Since every step here bumps the generation
   * once, the generations the inventory writes return place each write in the serial order, and the
   * number of claims between two writes follows from them.
   */
  it('20 one-unit claims racing five PUTs that shrink the inventory: no 500, and no claim exceeds the total in force when it ran', async () => {
    const provider = await createProvider();
    const initialTotal = 20;
    const start = await client.put(`/resource_providers/${provider.uuid}/inventories`, {
      resource_provider_generation: provider.generation,
      inventories: { VCPU: { total: initialTotal } },
    });
    expect(start.status).toBe(200);
    const g0: number = start.body.resource_provider_generation;

    const claim = async () => {
      await pause(Math.random() * 6);
      return client.put(`/allocations/${randomUUID()}`, {
        allocations: { [provider.uuid]: { resources: { VCPU: 1 } } },
        project_id: 'race-project',
        user_id: 'race-user',
        consumer_generation: null,
        consumer_type: 'INSTANCE',
      });
    };
    const writes: Array<{ total: number; generation: number }> = [];
    const shrink = async (total: number, generation: number) => {
      await pause(Math.random() * 10);
      // A claim that commits first moves the generation: 409, read it fresh and retry a few times.
      for (let attempt = 0; attempt < 5; attempt++) {
        const res = await client.put(`/resource_providers/${provider.uuid}/inventories`, {
          resource_provider_generation: generation,
          inventories: { VCPU: { total } },
        });
        if (res.status === 200) {
          writes.push({ total, generation: res.body.resource_provider_generation });
          return;
        }
        expectPlacementError(res, 409, 'placement.concurrent_update');
        generation = (await client.get(`/resource_providers/${provider.uuid}/inventories`)).body
          .resource_provider_generation;
      }
    };
    // Five waves, each one shrink racing four claims. From the third on, the total drops below usage:
    // claims that land before the shrink fit the old total, claims after it must be refused.
    const claims: ApiResponse[] = [];
    for (const total of [18, 14, 6, 5, 3]) {
      const generation = (await client.get(`/resource_providers/${provider.uuid}/inventories`)).body
        .resource_provider_generation;
      const [, ...wave] = await Promise.all([shrink(total, generation), claim(), claim(), claim(), claim()]);
      claims.push(...wave);
    }

    expect(claims).toHaveLength(20);
    for (const res of claims.filter((r) => r.status !== 204)) {
      expectPlacementError(res, 409);
      expect(res.body.errors[0].detail).toContain('The requested amount would exceed the capacity.');
    }
    const granted = claims.filter((r) => r.status === 204).length;
    expect(writes.length).toBeGreaterThan(0);

    const usage = await client.get(`/resource_providers/${provider.uuid}/usages`);
    const finalGeneration: number = usage.body.resource_provider_generation;
    expect(usage.body.usages).toEqual({ VCPU: granted });
    // Every successful step moved the generation by exactly one; nothing else wrote.
    expect(finalGeneration - g0).toBe(granted + writes.length);

    // Walk the serial order: between consecutive inventory writes (and before the first, after the last),
    // the claims that ran there all fit the total then in force. Usage may exceed a total only because
    // the write itself shrank below usage, never because a later claim was let through.
    writes.sort((a, b) => a.generation - b.generation);
    const boundaries = [{ total: initialTotal, generation: g0 }, ...writes];
    const intervals = boundaries.map((write, k) => {
      const next = k + 1 < boundaries.length ? boundaries[k + 1].generation : finalGeneration + 1;
      const claimsBefore = write.generation - g0 - k; // claims committed before this write
      const claimsIn = next - write.generation - 1; // claims committed after it, before the next write
      return { total: write.total, usageAtWrite: claimsBefore, usageAfter: claimsBefore + claimsIn, claimsIn };
    });
    const violations = intervals.filter((interval) => interval.claimsIn > 0 && interval.usageAfter > interval.total);
    expect(violations).toEqual([]);
    const last = intervals[intervals.length - 1];
    if (granted > last.total) expect(last.claimsIn).toBe(0);
    // The race is only a test if claims were both granted and refused.
    expect(granted).toBeGreaterThan(0);
    expect(granted).toBeLessThan(20);
  });
});

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
