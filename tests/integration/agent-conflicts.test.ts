import type { ServerResponse } from 'node:http';
import { childUuid, MEC, OWNER_TRAIT } from '../../src/agent/model';
import {
  cliArgs,
  fakeHost,
  runCli,
  startHarness,
  writeLines,
  type FakeHost,
  type Harness,
} from '../helpers/agent-harness';

/** Each 409 kind handled for what it is, and a 400 that concerns only its own operation. */
let harness: Harness;
const hosts: FakeHost[] = [];
const newHost = (fixture: string) => {
  const host = fakeHost(fixture);
  hosts.push(host);
  return host;
};

beforeAll(async () => {
  harness = await startHarness();
  await harness.api('PUT', `/traits/${OWNER_TRAIT}`);
});
afterAll(async () => {
  await harness.close();
  for (const host of hosts) host.dispose();
});
beforeEach(() => {
  harness.requests.length = 0;
  harness.intercept = undefined;
});

const uuidOf = async (name: string) =>
  (await harness.api('GET', `/resource_providers?name=${name}`)).body.resource_providers[0].uuid as string;
const placementError = (res: ServerResponse, status: number, code: string, detail: string) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ errors: [{ status, title: 'Conflict', detail, code }] }));
};

describe('409 and 400 from the service', () => {
  it('inventory.inuse (a guest claimed a slot after the read): re-reads and drains instead of deleting', async () => {
    const host = newHost('sev-es-cgroup2');
    const args = ['--once', ...cliArgs(harness, host, 'inuse.example.org')];
    expect((await runCli(args)).code).toBe(0);
    const root = await uuidOf('inuse.example.org');
    host.write('sys/module/kvm_amd/parameters/sev', 'N\n');
    let claimed = false;
    harness.intercept = async (req) => {
      if (claimed || req.method !== 'PUT' || req.url !== `/resource_providers/${root}/inventories`) return;
      claimed = true;
      const claim = await harness.api('PUT', '/allocations/f0000000-0000-4000-8000-000000000001', {
        allocations: { [root]: { resources: { [MEC]: 1 } } },
        project_id: 'p',
        user_id: 'u',
        consumer_generation: null,
        consumer_type: 'INSTANCE',
      });
      expect(claim.status).toBe(204);
    };
    harness.requests.length = 0;
    const { code, stdout } = await runCli(args);
    expect(claimed).toBe(true);
    expect(writeLines(harness.requests).filter((w) => !w.startsWith('PUT /allocations/'))).toEqual([
      `PUT /resource_providers/${root}/inventories`, // refused: 409 placement.inventory.inuse
      `PUT /resource_providers/${root}/inventories`, // the drain
      `PUT /resource_providers/${root}/traits`,
    ]);
    expect(stdout).toMatch(/warning: MEM_ENCRYPTION_CONTEXT on the root .* but 1 still allocated: draining/);
    const inv = (await harness.api('GET', `/resource_providers/${root}/inventories`)).body.inventories;
    expect(inv[MEC]).toMatchObject({ total: 509, reserved: 509 });
    expect(code).toBe(0);
  });

  it('a 400 on one operation does not stop the unrelated ones after it; the cycle reports it, exit 2', async () => {
    const host = newHost('sev-es-cgroup2');
    const name = 'bad-trait.example.org';
    const args = ['--once', ...cliArgs(harness, host, name, '--layout', 'nested')];
    let refused = '';
    harness.intercept = async (req, res) => {
      // An older service without the SEV trait refuses the SEV child's traits: the ES child's still go.
      if (refused || req.method !== 'PUT' || !req.url?.endsWith('/traits')) return;
      const root = await uuidOf(name);
      if (req.url !== `/resource_providers/${childUuid(root, 'sev')}/traits`) return;
      refused = req.url;
      placementError(res, 400, 'placement.undefined_code', 'No such trait(s): HW_CPU_X86_AMD_SEV');
      return 'handled';
    };
    const { code, stdout } = await runCli(args);
    const root = await uuidOf(name);
    expect(refused).toBe(`/resource_providers/${childUuid(root, 'sev')}/traits`);
    expect(writeLines(harness.requests).slice(-3)).toEqual([
      `PUT /resource_providers/${root}/traits`,
      `PUT /resource_providers/${childUuid(root, 'sev')}/traits`,
      `PUT /resource_providers/${childUuid(root, 'sev_es')}/traits`,
    ]);
    expect(stdout).toMatch(/error: set traits of \S+: .*: 400 No such trait\(s\): HW_CPU_X86_AMD_SEV/);
    const esTraits = await harness.api('GET', `/resource_providers/${childUuid(root, 'sev_es')}/traits`);
    expect(esTraits.body.traits.sort()).toEqual([OWNER_TRAIT, 'HW_CPU_X86_AMD_SEV_ES']);
    expect(code).toBe(2);

    harness.intercept = undefined;
    harness.requests.length = 0;
    expect((await runCli(args)).code).toBe(0);
    expect(writeLines(harness.requests)).toEqual([`PUT /resource_providers/${childUuid(root, 'sev')}/traits`]);
  });

  it('any other 409 stops the cycle with its error: nothing after it is sent', async () => {
    const host = newHost('sev-es-cgroup2');
    const name = 'other-409.example.org';
    harness.intercept = async (req, res) => {
      if (req.method !== 'PUT' || !req.url?.endsWith('/inventories')) return;
      placementError(res, 409, 'placement.undefined_code', 'Unable to update inventory: something else');
      return 'handled';
    };
    const { code, stdout } = await runCli(['--once', ...cliArgs(harness, host, name)]);
    expect(writeLines(harness.requests).map((w) => w.replace(/[0-9a-f-]{36}/, 'ROOT'))).toEqual([
      'POST /resource_providers',
      'PUT /resource_providers/ROOT/inventories',
    ]);
    expect(stdout).toMatch(/error: PUT \/resource_providers\/\S+\/inventories: 409 Unable to update inventory/);
    expect(code).toBe(2);
  });

  it('concurrent_update is re-read and retried a bounded number of times, then fails the cycle', async () => {
    const host = newHost('sev-es-cgroup2');
    let refusals = 0;
    harness.intercept = async (req, res) => {
      if (req.method !== 'PUT' || !req.url?.endsWith('/inventories')) return;
      refusals++;
      placementError(res, 409, 'placement.concurrent_update', 'resource provider generation conflict');
      return 'handled';
    };
    const { code, stdout } = await runCli([
      '--once',
      ...cliArgs(harness, host, 'always-raced.example.org', '--conflict-retries', '2'),
    ]);
    expect(refusals).toBe(3);
    expect(stdout).toMatch(/error: PUT .*: 409 resource provider generation conflict/);
    expect(code).toBe(2);
  });
});
