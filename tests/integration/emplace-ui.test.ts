import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { launchBrowser, type TestBrowser } from '../helpers/browser';
import { seedAllocation, seedInventory, seedProvider, seedTraits } from '../helpers/seed';
import { startTestServer, type TestServer } from '../helpers/server';
import { MEC, seedSevWorld, setHeartbeatAge, type SevWorld } from './emplace-world';

/**
 * The capacity page in a real browser (Debian's chromium, headless) against the real service seeded with
 * SEV hosts. `EMPLACE_UPDATE_SCREENSHOTS=1` also writes the docs' screenshot (docs/images/capacity-ui.png).
 */
let api: TestServer;
let world: SevWorld;
let chrome: TestBrowser;
let page: Page;
const pageErrors: string[] = [];
const scratch = mkdtempSync(path.join(tmpdir(), 'emplace-ui-'));

beforeAll(async () => {
  // First: on a fresh machine this installs chromium, which takes minutes, and the heartbeat ages below
  // are read against the clock.
  chrome = await launchBrowser();
  api = await startTestServer();
  const db = api.database.db;
  world = await seedSevWorld(db);
  // A few more nested SEV hosts, as the agent lays them out, so the page looks like a small cloud.
  for (const [i, used] of [
    [11, 2],
    [12, 8],
    [13, 0],
  ]) {
    const root = await seedProvider(db, { name: `cn-milan-${i}` });
    await seedInventory(db, root, { VCPU: 96 });
    const sev = await seedProvider(db, { name: `cn-milan-${i}_amd_sev`, parent: root });
    await seedInventory(db, sev, { [MEC]: 8 });
    await seedTraits(db, sev, ['HW_CPU_X86_AMD_SEV']);
    const es = await seedProvider(db, { name: `cn-milan-${i}_amd_sev_es`, parent: root });
    await seedInventory(db, es, { [MEC]: 4 });
    await seedTraits(db, es, ['HW_CPU_X86_AMD_SEV_ES']);
    if (used) await seedAllocation(db, { [sev.uuid]: { [MEC]: used } });
    await setHeartbeatAge(db, root, 8);
  }
  await setHeartbeatAge(db, world.rootSev, 4);
  await setHeartbeatAge(db, world.nested, 12);
  // The TDX host's agent died an hour ago: past the page's own 600 s threshold (the service sets none).
  await setHeartbeatAge(db, world.tdx, 3600);
  page = await chrome.context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text());
  });
}, 900_000);
afterAll(async () => {
  await chrome?.close();
  await api?.close();
  rmSync(scratch, { recursive: true, force: true });
});

const rows = () => page.locator('#hosts tbody tr');
const row = (uuid: string) => page.locator(`#hosts tbody tr[data-uuid="${uuid}"]`);
const cell = (uuid: string, className: string) => row(uuid).locator(`td.${className} .free`);

async function connect(token: string): Promise<void> {
  await page.fill('#token', token);
  await page.click('#token-form button[type=submit]');
}

describe('the page’s files', () => {
  it('are public, with a strict content security policy; the data is not', async () => {
    const html = await fetch(`${api.baseUrl}/emplace/ui/`);
    expect(html.status).toBe(200);
    expect(html.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(html.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(html.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(await html.text()).toContain('<script src="app.js" defer></script>');
    for (const [file, type] of [
      ['app.js', 'text/javascript; charset=utf-8'],
      ['style.css', 'text/css; charset=utf-8'],
    ]) {
      const res = await fetch(`${api.baseUrl}/emplace/ui/${file}`);
      expect([file, res.status, res.headers.get('content-type')]).toEqual([file, 200, type]);
    }
    const bare = await fetch(`${api.baseUrl}/emplace/ui`, { redirect: 'manual' });
    expect([bare.status, bare.headers.get('location')]).toEqual([301, 'ui/']);
    // Only the page's own files: nothing else under the folder, above it or beside it.
    for (const name of ['nope.html', '..%2Fpackage.json', '.env', 'app.ts']) {
      const res = await fetch(`${api.baseUrl}/emplace/ui/${name}`, { headers: { accept: 'application/json' } });
      expect([name, res.status]).toEqual([name, 404]);
      expect(((await res.json()) as any).errors[0].status).toBe(404);
    }
    expect((await fetch(`${api.baseUrl}/emplace/ui/index.html%00`)).status).toBe(400);
    expect((await fetch(`${api.baseUrl}/emplace/capacity`)).status).toBe(401);
  });
});

describe('the capacity page in headless chromium', () => {
  it('asks for a token, then shows every host with the right slots and totals', async () => {
    await page.goto(`${api.baseUrl}/emplace/ui/`);
    await expect(page.textContent('#status')).resolves.toContain('Enter a token');
    await connect('admin');
    const expected = (await api.at('1.39').get('/emplace/capacity?stale_after=600')).body;
    await rows()
      .nth(expected.hosts.length - 1)
      .waitFor();
    await expect(rows().count()).resolves.toBe(expected.hosts.length);
    const shown = await rows().evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-uuid')));
    expect(shown.sort()).toEqual(expected.hosts.map((h: any) => h.uuid).sort());

    // Columns for the models the cloud has, in the service's order; TDX host present, no plain model column missing.
    const headers = await page.locator('#hosts thead th').allTextContents();
    expect(headers.map((h) => h.replace(/[▲▼]/g, '').trim())).toEqual([
      'Host',
      'State',
      'SEV-SNP',
      'SEV-ES',
      'SEV',
      'TDX',
      'none',
      'All slots',
      'Heartbeat',
    ]);
    await expect(cell(world.rootSev.uuid, 'model-SEV').textContent()).resolves.toBe('12 free');
    await expect(cell(world.nested.uuid, 'model-SEV-SNP').textContent()).resolves.toBe('4 free');
    await expect(cell(world.nested.uuid, 'model-SEV-ES').textContent()).resolves.toBe('0 free');
    await expect(cell(world.plain.uuid, 'model-none').textContent()).resolves.toBe('3 free');
    await expect(row(world.rootSev.uuid).locator('td.model-SEV .used').textContent()).resolves.toBe('3 used / 15');

    // Draining and stale hosts are marked, by class and by a visible word.
    await expect(row(world.nested.uuid).getAttribute('class')).resolves.toBe('draining');
    await expect(row(world.nested.uuid).locator('.badge').allTextContents()).resolves.toEqual(['draining']);
    await expect(row(world.tdx.uuid).getAttribute('class')).resolves.toBe('stale');
    await expect(row(world.tdx.uuid).locator('td.heartbeat').textContent()).resolves.toBe('60 min ago');
    await expect(row(world.plain.uuid).locator('td.heartbeat').textContent()).resolves.toBe('never');

    // Totals at the top agree with the service's.
    const cards = await page
      .locator('#totals .card')
      .evaluateAll((nodes) =>
        nodes.map((n) => [n.querySelector('h2')!.textContent, n.querySelector('.value')!.textContent]),
      );
    expect(cards).toEqual([
      ['All models', `${expected.totals.free} free`],
      ['SEV-SNP', `${expected.totals.by_model['SEV-SNP'].free} free`],
      ['SEV-ES', `${expected.totals.by_model['SEV-ES'].free} free`],
      ['SEV', `${expected.totals.by_model.SEV.free} free`],
      ['TDX', '8 free'],
      ['none', '3 free'],
      ['Stale hosts', '1'],
      ['Draining hosts', '1'],
    ]);
    expect(expected.totals.free).toBe(12 + 10 + 8 + 3 + (6 + 4) + (0 + 4) + (8 + 4));
    await expect(page.textContent('#status')).resolves.toContain('stale after 600 s');
  });

  it('updates by itself after a claim', async () => {
    const res = await api.at('1.39').put(`/allocations/${randomUUID()}`, {
      allocations: { [world.rootSev.uuid]: { resources: { [MEC]: 2 } } },
      project_id: 'p',
      user_id: 'u',
      consumer_generation: null,
      consumer_type: 'INSTANCE',
    });
    expect(res.status).toBe(204);
    await page
      .locator(`tr[data-uuid="${world.rootSev.uuid}"] td.model-SEV .free`, { hasText: /^10 free$/ })
      .waitFor({ timeout: 20_000 });
    await expect(row(world.rootSev.uuid).locator('td.model-SEV .used').textContent()).resolves.toBe('5 used / 15');
  });

  it('filters and sorts', async () => {
    await page.fill('#filter', 'sapphire');
    await expect(rows().count()).resolves.toBe(1);
    await page.fill('#filter', '');
    await page.selectOption('#show', 'stale');
    await expect(rows().evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-uuid')))).resolves.toEqual([
      world.tdx.uuid,
    ]);
    await page.selectOption('#show', 'draining');
    await expect(rows().count()).resolves.toBe(1);
    await page.selectOption('#show', 'all');
    await page.selectOption('#model', 'SEV-ES');
    await expect(rows().count()).resolves.toBe(4);
    await page.selectOption('#model', '');
    await page.click('#hosts thead button[data-sort="free"]');
    const free = await page.locator('#hosts tbody td.all .free').allTextContents();
    const numbers = free.map((text) => Number(text.split(' ')[0]));
    expect(numbers).toEqual([...numbers].sort((a, b) => b - a));
    await page.click('#hosts thead button[data-sort="name"]');
    const names = await page.locator('#hosts tbody td.host .name').allTextContents();
    expect(names).toEqual([...names].sort());
  });

  it('produces a readable screenshot for the docs', async () => {
    const target = process.env.EMPLACE_UPDATE_SCREENSHOTS
      ? path.resolve(__dirname, '../../docs/images/capacity-ui.png')
      : path.join(scratch, 'capacity-ui.png');
    mkdirSync(path.dirname(target), { recursive: true });
    await page.screenshot({ path: target, fullPage: true });
    const png = readFileSync(target);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(png.length).toBeGreaterThan(20_000);
    expect(pageErrors).toEqual([]);
  });

  it('says why when the token may not read capacity', async () => {
    await connect('nobody');
    await page.locator('#status.error').waitFor();
    await expect(page.textContent('#status')).resolves.toContain(
      'Policy does not allow emplace:capacity:show to be performed.',
    );
  });
});
