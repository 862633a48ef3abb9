import { seedInventory, seedProvider } from '../helpers/seed';
import { startTestServer, type TestServer } from '../helpers/server';

let api: TestServer;
beforeAll(async () => {
  api = await startTestServer();
  const host = await seedProvider(api.database.db, { name: 'big-host' });
  await seedInventory(api.database.db, host, { VCPU: 2147483647 });
});
afterAll(async () => {
  await api.close();
});

// Amounts no inventory can hold match nothing, as in Placement, rather than overflowing PostgreSQL's integer.
describe.each(['2147483647', '2147483648', '99999999999999999999'])('a requested amount of %s', (amount) => {
  const fits = amount === '2147483647';

  it(`${fits ? 'finds' : 'finds no'} provider in GET /resource_providers`, async () => {
    const res = await api.at('1.39').get(`/resource_providers?resources=VCPU:${amount}`);
    expect(res.status).toBe(200);
    expect(res.body.resource_providers).toHaveLength(fits ? 1 : 0);
  });

  it(`${fits ? 'finds' : 'finds no'} candidate in GET /allocation_candidates`, async () => {
    const res = await api.at('1.39').get(`/allocation_candidates?resources=VCPU:${amount}`);
    expect(res.status).toBe(200);
    expect(res.body.allocation_requests).toHaveLength(fits ? 1 : 0);
  });
});
