import { rmSync } from 'node:fs';
import path from 'node:path';
import { childUuid, MEC, OWNER_TRAIT } from '../../src/agent/model';
import {
  cliArgs,
  fakeHost,
  runCli,
  seedPlacement,
  startHarness,
  writeLines,
  type FakeHost,
  type Harness,
} from '../helpers/agent-harness';

/** Shared ES/SNP ranges, drains, migration and drift, each through `emplace-agent --once`. */
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
});

const uuidOf = async (name: string) =>
  (await harness.api('GET', `/resource_providers?name=${name}`)).body.resource_providers[0]?.uuid as string | undefined;
const mecOf = async (uuid: string) =>
  (await harness.api('GET', `/resource_providers/${uuid}/inventories`)).body?.inventories?.[MEC];
const claim = (consumer: string, rp: string, amount = 1) =>
  harness.api('PUT', `/allocations/${consumer}`, {
    allocations: { [rp]: { resources: { [MEC]: amount } } },
    project_id: 'p',
    user_id: 'u',
    consumer_generation: null,
    consumer_type: 'INSTANCE',
  });
const guest = (n: number) => `a0000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

describe('SEV-ES and SEV-SNP share one ASID range', () => {
  it('switching ES -> SNP with ES guests running: SNP gets the shared range less what ES still uses', async () => {
    const name = 'switch.example.org';
    const host = newHost('sev-es-snp-switch');
    const run = (domcaps: string) =>
      runCli(['--once', ...cliArgs(harness, host, name, '--layout', 'nested', '--domcaps-file', domcaps)]);
    // libvirt 10.0 cannot launch SNP guests: the shared range goes to SEV-ES.
    const before = await run('/domcaps-libvirt-10.0.xml');
    expect(before.stdout).toMatch(/SEV-SNP {2}absent {3}libvirt's domain capabilities do not list sev-snp/);
    expect(before.code).toBe(0);
    const root = (await uuidOf(name))!;
    const es = childUuid(root, 'sev_es');
    const snp = childUuid(root, 'sev_snp');
    expect(await mecOf(es)).toMatchObject({ total: 410, reserved: 0 });
    for (const n of [1, 2, 3]) expect((await claim(guest(n), es)).status).toBe(204);

    // libvirt upgraded to 10.5: SNP is now possible while three ES guests still run.
    harness.requests.length = 0;
    const after = await run('/domcaps-libvirt-10.5.xml');
    expect(after.stdout).toMatch(/SEV-ES {3}absent {3}the shared ES\/SNP ASID range is offered to SEV-SNP/);
    expect(after.stdout).toMatch(
      /warning: MEM_ENCRYPTION_CONTEXT on \S+ \(\S+\): the shared ES\/SNP ASID range .* 3 still allocated: draining/,
    );
    expect(after.stdout).toMatch(
      /warning: SEV-SNP shares 410 ASIDs with SEV-ES, whose guests still hold 3: offering 407/,
    );
    expect(writeLines(harness.requests)).toEqual([
      'POST /resource_providers',
      `PUT /resource_providers/${es}/inventories`,
      `PUT /resource_providers/${snp}/inventories`,
      `PUT /resource_providers/${es}/traits`,
      `PUT /resource_providers/${snp}/traits`,
    ]);
    expect(await mecOf(es)).toMatchObject({ total: 410, reserved: 410 });
    expect(await mecOf(snp)).toMatchObject({ total: 407, reserved: 0 });
    expect(after.code).toBe(0);

    // The ES guests end: the ES child goes, and SNP gets the whole range.
    for (const n of [1, 2, 3]) await harness.api('DELETE', `/allocations/${guest(n)}`);
    harness.requests.length = 0;
    expect((await run('/domcaps-libvirt-10.5.xml')).code).toBe(0);
    expect(writeLines(harness.requests)).toEqual([
      `PUT /resource_providers/${snp}/inventories`,
      `DELETE /resource_providers/${es}`,
    ]);
    expect(await mecOf(snp)).toMatchObject({ total: 410 });
  });
});

describe('migration and drains', () => {
  it('root -> nested never moves plain-SEV guests into the SNP child: no reshape, a clear error, exit 2', async () => {
    const name = 'snp-only.example.org';
    const host = newHost('sev-snp-cgroup2');
    const args = ['--once', ...cliArgs(harness, host, name)];
    expect((await runCli(args)).code).toBe(0);
    const root = (await uuidOf(name))!;
    expect((await claim(guest(10), root)).status).toBe(204);
    const before = {
      inventories: (await harness.api('GET', `/resource_providers/${root}/inventories`)).body.inventories,
      traits: (await harness.api('GET', `/resource_providers/${root}/traits`)).body.traits,
    };
    // The host loses plain SEV (two sources read 0); SNP stays.
    host.write('sys/fs/cgroup/misc.capacity', 'sev 0\nsev_es 410\n');
    host.write(
      'domcapabilities.xml',
      "<domainCapabilities><features><sev supported='yes'><maxGuests>0</maxGuests><maxESGuests>410</maxESGuests></sev></features>" +
        "<launchSecurity supported='yes'><enum name='sectype'><value>sev-snp</value></enum></launchSecurity></domainCapabilities>",
    );
    harness.requests.length = 0;
    const { code, stdout } = await runCli([...args, '--layout', 'nested', '--domcaps-file', '/domcapabilities.xml']);
    expect(stdout).toMatch(
      /error: cannot move 1 plain-SEV allocation\(s\) of MEM_ENCRYPTION_CONTEXT from the root to the SEV child: SEV is absent .* no reshape, the root is left as it is/,
    );
    const snp = childUuid(root, 'sev_snp');
    expect(writeLines(harness.requests)).toEqual([
      'POST /resource_providers',
      `PUT /resource_providers/${snp}/inventories`,
      `PUT /resource_providers/${snp}/traits`,
    ]);
    expect((await harness.api('GET', `/resource_providers/${root}/inventories`)).body.inventories).toEqual(
      before.inventories,
    );
    expect((await harness.api('GET', `/resource_providers/${root}/traits`)).body.traits).toEqual(before.traits);
    expect((await harness.api('GET', `/allocations/${guest(10)}`)).body.allocations[root].resources[MEC]).toBe(1);
    expect(code).toBe(2);
  });

  it('a drain left by a lost state dir is reported and left alone', async () => {
    const [root] = await seedPlacement(harness, 'sev-lost-state');
    expect((await harness.api('GET', `/resource_providers/${root.uuid}/usages`)).body.usages[MEC]).toBe(1);
    const host = newHost('sev-lost-state');
    rmSync(path.join(host.root, '.agent-state'), { recursive: true, force: true });
    harness.requests.length = 0;
    const { code, stdout } = await runCli(['--once', ...cliArgs(harness, host, root.name)]);
    expect(stdout).toMatch(
      /warning: no state file in \S+ but 7a8b9c0d-\S+ carries CUSTOM_OWNER_EMPLACE_AGENT: state dir lost\?/,
    );
    expect(stdout).toMatch(
      /warning: MEM_ENCRYPTION_CONTEXT on the root .* has reserved = total \(509\) but the agent recorded no drain/,
    );
    // Its own root (owner trait): host resources and SEV traits are written; the drain is not lifted.
    expect(writeLines(harness.requests)).toEqual([
      `PUT /resource_providers/${root.uuid}/inventories`,
      `PUT /resource_providers/${root.uuid}/traits`,
    ]);
    expect(await mecOf(root.uuid)).toMatchObject({ total: 509, reserved: 509 });
    expect(code).toBe(0);
  });
});

describe('drift', () => {
  it('reports slots in use on the host (misc.current) that the service does not know of', async () => {
    const name = 'drift.example.org';
    const { code, stdout } = await runCli(['--once', ...cliArgs(harness, newHost('sev-drift'), name)]);
    expect(stdout).toContain(
      'drift: SEV: 2 slot(s) in use on the host (misc.current), 0 in the service: 2 guest(s) started outside the scheduler?',
    );
    expect(code).toBe(0);
    const root = (await uuidOf(name))!;
    for (const n of [30, 31, 32]) expect((await claim(guest(n), root)).status).toBe(204);
    const again = await runCli(['--once', ...cliArgs(harness, newHost('sev-drift'), name, '--provider-uuid', root)]);
    expect(again.stdout).toContain(
      'drift: SEV: 2 slot(s) in use on the host (misc.current), 3 in the service: 1 claim(s) without a guest (leaked?)',
    );
  });
});
