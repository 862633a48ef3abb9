import { childUuid, MEC, OWNER_TRAIT } from '../../src/agent/model';
import { fakeHost, makeAgent, runCli as run, startHarness, writesOf, type Harness } from '../helpers/agent-harness';

let harness: Harness;
const hosts: Array<ReturnType<typeof fakeHost>> = [];
const newHost = (fixture: string) => {
  const host = fakeHost(fixture);
  hosts.push(host);
  return host;
};

beforeAll(async () => {
  harness = await startHarness();
});
afterAll(async () => {
  await harness.close();
  for (const host of hosts) host.dispose();
});
beforeEach(() => {
  harness.requests.length = 0;
});

const SEV_QUERY =
  '/allocation_candidates?resources=VCPU:1,MEMORY_MB:512,MEM_ENCRYPTION_CONTEXT:1&required=HW_CPU_X86_AMD_SEV';

const runCli = (args: string[]) => run([...args, '--use-virsh=false']);

describe('emplace-agent command line', () => {
  it('--dry-run prints the plan for a fresh service, writes nothing and says the host is not in sync', async () => {
    const host = newHost('sev-es-cgroup2');
    const { code, stdout } = await runCli([
      '--dry-run',
      '--url',
      harness.url,
      '--host-root',
      host.root,
      '--state-dir',
      `${host.root}/.state`,
      '--provider-name',
      'cli-host.example.org',
    ]);
    expect(code).toBe(2);
    expect(stdout).toMatch(/create provider cli-host\.example\.org/);
    expect(stdout).toMatch(/MEM_ENCRYPTION_CONTEXT=509/);
    expect(stdout).toMatch(/^result: not in sync: 4 change\(s\) pending \(exit status 2\)$/m);
    expect(writesOf(harness.requests)).toEqual([]);
  });

  it('--once on a fake host tree registers a host the SEV scheduler query returns, then reports in sync', async () => {
    const host = newHost('sev-es-cgroup2');
    const args = [
      '--once',
      '--url',
      harness.url,
      '--host-root',
      host.root,
      '--state-dir',
      `${host.root}/.state`,
      '--provider-name',
      'cli-host.example.org',
    ];
    expect((await runCli(args)).code).toBe(0);
    const found = await harness.api('GET', '/resource_providers?name=cli-host.example.org');
    const uuid = found.body.resource_providers[0].uuid;
    const candidates = await harness.api('GET', SEV_QUERY);
    expect(candidates.status).toBe(200);
    expect(Object.keys(candidates.body.provider_summaries)).toContain(uuid);

    harness.requests.length = 0;
    expect((await runCli(args)).code).toBe(0);
    expect(writesOf(harness.requests)).toEqual([]);
  });

  it('--print-detection shows what each source said without calling the service', async () => {
    const host = newHost('sev-disagree');
    const { code, stdout } = await runCli([
      '--print-detection',
      '--host-root',
      host.root,
      '--domcaps-file',
      '/domcapabilities.xml',
      '--url',
      'http://127.0.0.1:1',
    ]);
    expect(code).toBe(0);
    const detection = JSON.parse(stdout);
    expect(detection.sources.map((s: any) => s.source)).toEqual(['cgroup', 'libvirt', 'cpuid']);
    expect(detection.disagreements).toHaveLength(1);
    expect(detection.models.sev).toMatchObject({ state: 'present', slots: 253 });
  });

  it('exits 1 on a bad flag', async () => {
    const { code, stderr } = await runCli(['--layout', 'flat']);
    expect(code).toBe(1);
    expect(stderr).toMatch(/layout must be root or nested/);
  });
});

describe('nested layout', () => {
  it('puts each model in its own child, found by granular and unnumbered scheduler queries', async () => {
    const host = newHost('sev-snp-cgroup2');
    const agent = makeAgent(harness, host.root, { layout: 'nested', providerName: 'snp-host.example.org' });
    expect((await agent.runCycle()).inSync).toBe(true);
    const root = (await harness.api('GET', '/resource_providers?name=snp-host.example.org')).body.resource_providers[0]
      .uuid;
    const tree = (await harness.api('GET', `/resource_providers?in_tree=${root}`)).body.resource_providers;
    expect(tree.map((p: any) => p.name).sort()).toEqual([
      'snp-host.example.org',
      'snp-host.example.org_amd_sev',
      'snp-host.example.org_amd_sev_snp',
    ]);
    const snp = childUuid(root, 'sev_snp');
    expect((await harness.api('GET', `/resource_providers/${snp}/inventories`)).body.inventories[MEC].total).toBe(410);
    expect((await harness.api('GET', `/resource_providers/${snp}/traits`)).body.traits.sort()).toEqual([
      OWNER_TRAIT,
      'HW_CPU_X86_AMD_SEV_SNP',
    ]);

    const granular = await harness.api(
      'GET',
      '/allocation_candidates?resources=VCPU:1,MEMORY_MB:512&resources1=MEM_ENCRYPTION_CONTEXT:1&required1=HW_CPU_X86_AMD_SEV_SNP',
    );
    expect(granular.status).toBe(200);
    expect(granular.body.allocation_requests).toHaveLength(1);
    expect(Object.keys(granular.body.allocation_requests[0].allocations).sort()).toEqual([root, snp].sort());

    harness.requests.length = 0;
    expect((await agent.runCycle()).applied).toEqual([]);
    expect(writesOf(harness.requests)).toEqual([]);
  });

  it('moves a root layout host to nested with one POST /reshaper, keeping every allocation', async () => {
    const host = newHost('sev-old-kernel-cgroup1');
    const name = 'migrating.example.org';
    await makeAgent(harness, host.root, { providerName: name }).runCycle();
    const root = (await harness.api('GET', `/resource_providers?name=${name}`)).body.resource_providers[0].uuid;
    const consumer = 'd0000000-0000-4000-8000-000000000001';
    const claim = await harness.api('PUT', `/allocations/${consumer}`, {
      allocations: { [root]: { resources: { [MEC]: 1, VCPU: 2, MEMORY_MB: 512 } } },
      project_id: 'p',
      user_id: 'u',
      consumer_generation: null,
      consumer_type: 'INSTANCE',
    });
    expect(claim.status).toBe(204);

    harness.requests.length = 0;
    const nested = makeAgent(harness, host.root, { providerName: name, layout: 'nested' });
    const result = await nested.runCycle();
    expect(result.inSync).toBe(true);
    const writes = writesOf(harness.requests).map(
      (r) => `${r.method} ${r.path.replace(/\/resource_providers\/[^/]+/, '/resource_providers/X')}`,
    );
    expect(writes.filter((w) => w === 'POST /reshaper')).toHaveLength(1);
    expect(writes.filter((w) => w.includes('/inventories'))).toEqual([]);

    const sevChild = childUuid(root, 'sev');
    const moved = (await harness.api('GET', `/allocations/${consumer}`)).body.allocations;
    expect(moved[sevChild].resources).toEqual({ [MEC]: 1 });
    expect(moved[root].resources).toEqual({ VCPU: 2, MEMORY_MB: 512 });
    expect((await harness.api('GET', `/resource_providers/${root}/inventories`)).body.inventories[MEC]).toBeUndefined();
    expect((await harness.api('GET', `/resource_providers/${sevChild}/inventories`)).body.inventories[MEC].total).toBe(
      15,
    );
    expect((await harness.api('GET', `/resource_providers/${root}/traits`)).body.traits).toEqual([OWNER_TRAIT]);
    expect((await harness.api('GET', `/resource_providers/${sevChild}/traits`)).body.traits.sort()).toEqual([
      OWNER_TRAIT,
      'HW_CPU_X86_AMD_SEV',
    ]);
    // The reshaper moved the allocation: no drain came before it, so no draining warning either.
    expect(result.plan.warnings.join('\n')).not.toMatch(/draining/);

    harness.requests.length = 0;
    expect((await nested.runCycle()).applied).toEqual([]);
    expect(writesOf(harness.requests)).toEqual([]);
  });
});
