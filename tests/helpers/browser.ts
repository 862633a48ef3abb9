import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { ensureDebianTool } from './debian-tools';

/** Debian's chromium, driven headless by playwright-core (which brings no browser of its own). */
export const CHROMIUM = '/usr/bin/chromium';

/** Install Debian's chromium when it is missing (we are root in CI), with its recommends (fonts). */
export function ensureChromium(): void {
  ensureDebianTool(CHROMIUM, 'chromium', { withRecommends: true });
}

export interface TestBrowser {
  context: BrowserContext;
  close(): Promise<void>;
}

/**
 * A headless chromium with a fresh profile in a temp dir (playwright takes the profile as userDataDir, not as
 * --user-data-dir) and nothing that phones home; close() removes the profile.
 */
export async function launchBrowser(viewport = { width: 1440, height: 900 }): Promise<TestBrowser> {
  ensureChromium();
  const profile = mkdtempSync(path.join(tmpdir(), 'emplace-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    viewport,
    headless: true,
    timeout: 60_000,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
