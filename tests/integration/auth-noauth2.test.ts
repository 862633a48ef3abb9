import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { buildService, freePort, startService, waitListening } from '../helpers/service-process';

// noauth2 makes every caller an admin: the compiled service refuses it on a network address unless told.
let database: TestDatabase;

beforeAll(async () => {
  buildService();
  database = await createTestDatabase();
}, 120_000);

afterAll(async () => {
  await database.drop();
});

it('refuses to start with noauth2 on a non-loopback address, before opening the database', async () => {
  const service = startService({ EMPLACE_HOST: '0.0.0.0', DATABASE_URL: database.url }, await freePort());
  expect(await service.exited).toBe(1);
  expect(service.output()).toContain(
    'emplace failed to start: EMPLACE_AUTH_STRATEGY=noauth2 on 0.0.0.0 would let anyone on the network act as admin',
  );
  expect(service.output()).toContain('EMPLACE_ALLOW_NOAUTH_ON_NETWORK=true');
});

it('starts on a network address with EMPLACE_ALLOW_NOAUTH_ON_NETWORK=true, and warns that it does', async () => {
  const port = await freePort();
  const service = startService(
    { EMPLACE_HOST: '0.0.0.0', EMPLACE_ALLOW_NOAUTH_ON_NETWORK: 'true', DATABASE_URL: database.url },
    port,
  );
  try {
    await waitListening(service);
    const warning = service
      .output()
      .split('\n')
      .find((line) => line.includes('noauth2 on a network address'));
    expect(JSON.parse(warning!)).toMatchObject({ level: 40, host: '0.0.0.0', authStrategy: 'noauth2' });
    const res = await fetch(`http://127.0.0.1:${port}/resource_providers`, { headers: { 'x-auth-token': 'admin' } });
    expect(res.status).toBe(200);
  } finally {
    expect(await service.stop()).toBe(0);
  }
});

it('on loopback, noauth2 starts without the warning', async () => {
  const service = startService({ DATABASE_URL: database.url }, await freePort());
  try {
    await waitListening(service);
    expect(service.output()).not.toContain('noauth2 on a network address');
  } finally {
    expect(await service.stop()).toBe(0);
  }
});
