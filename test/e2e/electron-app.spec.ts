/**
 * The full desktop app under Playwright's Electron driver: the built main process
 * (dist/electron/main.js) with its preload, the HISP in its utility process on a fresh data
 * directory, and the mail window on sealpost://app. What must hold, as a user and an attacker
 * would find it:
 *
 * - the window is the app's own page (sealpost://app/…, no file://) and reaches the HISP:
 *   on a fresh data directory it shows either "no Direct address to send from yet" (the
 *   keychain took the new profile's key) or the lock screen (no keychain here: the reason
 *   is shown) — both need the HISP's answers over the MessagePort;
 * - the renderer is hardened: Chromium's sandbox stays on (the launch keeps it), and the page
 *   sees no `require`, `process` or `module` (context isolation, no Node integration) — only
 *   the preload's bridge;
 * - the page cannot navigate away or open windows (a loopback address is tried, so a failing
 *   guard would reach nothing outside this machine).
 *
 * Needs the Electron binary, which these build machines cannot download, a display, and a
 * non-root user. Where any is missing the test is skipped, and its reason says which — "no
 * Electron binary on this machine" here. test/unit/electron-launch.test.ts covers the
 * `--smoke` start the same way.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { _electron as electron, expect, test } from '@playwright/test';

import { PRELOAD_GLOBAL } from '../../hisp/api/index.js';
import { planElectronLaunch } from '../services/electronLaunch.js';
import { makeTempDir } from '../services/tmp.js';
import { ROOT } from './support.js';

const plan = planElectronLaunch(ROOT, { xvfbRun: false });
if (!plan.runnable) console.log(`skipped: ${plan.reason}`);

test.describe('the desktop app (Electron)', () => {
  test.skip(!plan.runnable, `skipped: ${plan.runnable ? '' : plan.reason}`);

  test('opens the app page hardened, reaches the HISP, and cannot navigate or open windows', async () => {
    if (!plan.runnable) return;
    const main = join(ROOT, 'dist', 'electron', 'main.js');
    expect(existsSync(main), `${main} is missing; run npm run build first`).toBe(true);
    const dataDir = await makeTempDir('electron-app');
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(process.env)) {
      if (value !== undefined && key !== 'ELECTRON_RUN_AS_NODE') env[key] = value;
    }
    const app = await electron.launch({
      executablePath: plan.binary,
      args: [main, `--data-dir=${dataDir.path}`],
      cwd: ROOT,
      env,
      // Sealpost never runs without Chromium's sandbox; neither does its test.
      chromiumSandbox: true,
      timeout: 60_000,
    });
    try {
      const page = await app.firstWindow();
      expect(page.url()).toMatch(/^sealpost:\/\/app\//);

      // The HISP answered over the MessagePort: one of the two first-run screens.
      await expect(
        page.locator('[data-testid="no-mail"], [data-testid="lock-screen"]'),
      ).toBeVisible({ timeout: 30_000 });

      // Context isolation and the sandbox, as the page sees them: no Node, no require, no
      // process; only the preload's bridge.
      const seen = await page.evaluate((bridgeName) => {
        const scope = globalThis as Record<string, unknown>;
        const bridge = scope[bridgeName];
        return {
          require: typeof scope['require'],
          process: typeof scope['process'],
          module: typeof scope['module'],
          bridge: typeof bridge,
        };
      }, PRELOAD_GLOBAL);
      expect(seen).toEqual({
        require: 'undefined',
        process: 'undefined',
        module: 'undefined',
        bridge: 'object',
      });

      const appUrl = page.url();
      expect(await page.evaluate(() => window.open('http://127.0.0.1:9/') === null)).toBe(true);
      await page.evaluate(() => {
        window.location.href = 'http://127.0.0.1:9/';
      });
      await page.waitForTimeout(1000);
      expect(page.url()).toBe(appUrl);
      expect(app.windows()).toHaveLength(1);
    } finally {
      await app.close();
      await dataDir.remove();
    }
  });
});
