import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';
import { OWNER_TRAIT } from '../../src/agent/model';
import { fakeHost, startHarness, type FakeHost, type Harness } from '../helpers/agent-harness';

/**
 * contrib/install-emplace-agent.sh puts the agent where contrib/emplace-agent.service expects it, and the
 * installed copy runs on its own: no node_modules, a separate process, clean exit on SIGTERM.
 */
const REPO = path.join(__dirname, '..', '..');
let work: string;
let harness: Harness;
let host: FakeHost;

/** The agent compiled file by file (no type check: `npm run typecheck` does that), as the install expects it. */
function compileAgent(outDir: string): void {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
    );
  for (const file of walk(path.join(REPO, 'src', 'agent'))) {
    const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
      fileName: file,
    });
    const target = path.join(outDir, path.relative(REPO, file)).replace(/\.ts$/, '.js');
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, outputText);
  }
}

const install = (...args: string[]) =>
  execFileSync('sh', [path.join(REPO, 'contrib', 'install-emplace-agent.sh'), ...args], { encoding: 'utf8' });

beforeAll(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'agent-install-'));
  compileAgent(path.join(work, 'dist'));
  harness = await startHarness();
  await harness.api('PUT', `/traits/${OWNER_TRAIT}`);
  host = fakeHost('sev-es-cgroup2');
});
afterAll(async () => {
  await harness.close();
  host.dispose();
  rmSync(work, { recursive: true, force: true });
});

describe('installing the agent', () => {
  const stage = () => path.join(work, 'stage');
  const installed = () => path.join(stage(), 'usr/local/lib/emplace-agent/src/agent/cli.js');

  it('stages bin, lib, the unit and a starting config; ExecStart names the installed binary', () => {
    const out = install('--destdir', stage(), '--dist', path.join(work, 'dist'), '--no-build');
    expect(out).toContain('installed /usr/local/bin/emplace-agent -> /usr/local/lib/emplace-agent/src/agent/cli.js');
    expect(readlinkSync(path.join(stage(), 'usr/local/bin/emplace-agent'))).toBe(
      '/usr/local/lib/emplace-agent/src/agent/cli.js',
    );
    const unit = readFileSync(path.join(stage(), 'etc/systemd/system/emplace-agent.service'), 'utf8');
    expect(unit).toMatch(/^ExecStart=\/usr\/local\/bin\/emplace-agent --config \/etc\/emplace\/agent.json$/m);
    expect(unit).toMatch(/^RestartPreventExitStatus=1$/m);
    expect(unit).toMatch(/^After=.*systemd-modules-load\.service.*libvirtd\.service virtqemud\.service$/m);
    for (const line of ['ProtectSystem=strict', 'CapabilityBoundingSet=', 'NoNewPrivileges=yes'])
      expect(unit).toContain(`\n${line}\n`);
    expect(unit).toMatch(/^ReadOnlyPaths=\/sys \/proc/m);
    expect(JSON.parse(readFileSync(path.join(stage(), 'etc/emplace/agent.json'), 'utf8'))).toMatchObject({
      layout: 'nested',
    });
    expect(existsSync(path.join(stage(), 'usr/local/lib/emplace-agent/node_modules'))).toBe(false);
  });

  it('keeps an existing config, and a --prefix moves bin, lib and ExecStart together', () => {
    const other = path.join(work, 'stage-opt');
    mkdirSync(path.join(other, 'etc/emplace'), { recursive: true });
    writeFileSync(path.join(other, 'etc/emplace/agent.json'), '{"url":"http://mine"}');
    install('--destdir', other, '--prefix', '/opt/emplace', '--dist', path.join(work, 'dist'), '--no-build');
    expect(readFileSync(path.join(other, 'etc/emplace/agent.json'), 'utf8')).toBe('{"url":"http://mine"}');
    const unit = readFileSync(path.join(other, 'etc/systemd/system/emplace-agent.service'), 'utf8');
    expect(unit).toMatch(/^ExecStart=\/opt\/emplace\/bin\/emplace-agent /m);
    expect(existsSync(path.join(other, 'opt/emplace/lib/emplace-agent/src/agent/cli.js'))).toBe(true);
  });

  it('the unit passes systemd-analyze verify', () => {
    const analyze = spawnSync('systemd-analyze', ['--version']);
    if (analyze.error) return void console.warn('systemd-analyze not installed: unit not verified');
    const unit = readFileSync(path.join(stage(), 'etc/systemd/system/emplace-agent.service'), 'utf8');
    const copy = path.join(work, 'emplace-agent.service');
    writeFileSync(copy, unit.replaceAll('/usr/local/bin/emplace-agent', installed()));
    const verify = spawnSync('systemd-analyze', ['verify', '--man=no', copy], { encoding: 'utf8' });
    expect(verify.stderr.split('\n').filter((l) => l.includes('emplace-agent'))).toEqual([]);
    expect(verify.status).toBe(0);
  });

  it('the installed copy runs on its own: --version, a cycle against the service, SIGTERM ends it with 0', async () => {
    const version = execFileSync(process.execPath, [installed(), '--version'], { encoding: 'utf8' });
    expect(version).toBe(
      `emplace-agent ${JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')).version}\n`,
    );
    const state = path.join(host.root, '.installed-state');
    const agent = spawn(
      process.execPath,
      [
        installed(),
        '--url',
        harness.url,
        '--host-root',
        host.root,
        '--state-dir',
        state,
        '--provider-name',
        'installed.example.org',
        '--use-virsh=false',
        '--use-journal=false',
        '--interval-seconds',
        '3600',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    agent.stderr.on('data', (chunk) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => agent.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 30_000;
    while (!existsSync(path.join(state, 'status.json')) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 100));
    const status = JSON.parse(readFileSync(path.join(state, 'status.json'), 'utf8'));
    expect(status.lastCycle).toMatchObject({ outcome: 'in-sync', exitStatus: 0 });
    agent.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toMatch(/"msg":"emplace-agent starting"/);
    expect(stderr).toMatch(/"msg":"stopping after the current cycle"/);
    const found = await harness.api('GET', '/resource_providers?name=installed.example.org');
    expect(found.body.resource_providers).toHaveLength(1);
  });
});
