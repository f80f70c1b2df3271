/**
 * Launches the built desktop app in its `--smoke` mode with the real Electron binary: the
 * window loads, the HISP starts in its utility process, and the page gets the HISP's status
 * over the MessagePort through the preload's bridge; main then exits 0. Same window, same
 * sandbox, same preload as a normal start: nothing is relaxed for the test.
 *
 * Needs the Electron binary (never downloaded here: findElectronBinary only looks at files)
 * and `npm run build`. Where the binary or a display is missing, or the run is as root
 * (Chromium then demands --no-sandbox, which Sealpost never passes), the test is skipped,
 * its title says why, and a plain line on the console says so too.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

import { planElectronLaunch } from '../services/electronLaunch.js';
import { spawnDaemon } from '../services/proc.js';
import type { ExitInfo } from '../services/proc.js';
import { makeTempDir } from '../services/tmp.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const LAUNCH_TIMEOUT_MS = 60_000;

const plan = planElectronLaunch(repoRoot, { xvfbRun: true });
if (!plan.runnable) {
  console.log(`skipped: the Electron launch test cannot run on this machine — ${plan.reason}`);
}

const title =
  'launches the desktop app and the page gets the HISP status over the MessagePort (--smoke)' +
  (plan.runnable ? '' : ` (skipped where it cannot run: ${plan.reason})`);

function exitOrTimeout(exited: Promise<ExitInfo>, ms: number): Promise<ExitInfo | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  return Promise.race([exited, timeout]).finally(() => clearTimeout(timer));
}

describe('desktop app launch', () => {
  it.skipIf(!plan.runnable)(
    title,
    async () => {
      if (!plan.runnable) return;
      const built = {
        main: join(repoRoot, 'dist', 'electron', 'main.js'),
        preload: join(repoRoot, 'dist', 'electron', 'preload.cjs'),
        hisp: join(repoRoot, 'dist', 'hisp', 'utility.js'),
        renderer: join(repoRoot, 'dist', 'renderer', 'index.html'),
      };
      for (const [part, path] of Object.entries(built)) {
        expect(existsSync(path), `${part}: ${path} is missing; run npm run build first`).toBe(true);
      }

      const profile = await makeTempDir('electron-smoke');
      try {
        const env: NodeJS.ProcessEnv = { ...process.env };
        // Would make the binary behave as plain Node instead of Electron.
        delete env['ELECTRON_RUN_AS_NODE'];
        const app = spawnDaemon({
          name: 'electron',
          command: plan.command,
          args: [...plan.prefix, built.main, '--smoke', `--data-dir=${profile.path}`],
          env,
          cwd: repoRoot,
        });
        const exit = await exitOrTimeout(app.exited, LAUNCH_TIMEOUT_MS);
        await app.stop();
        const output = app.output();
        expect(
          exit,
          `Electron did not exit within ${LAUNCH_TIMEOUT_MS} ms:\n${output}`,
        ).toBeDefined();
        expect(exit?.code, `Electron exited with ${JSON.stringify(exit)}:\n${output}`).toBe(0);
        expect(output).toMatch(/smoke: passed: the page received the HISP status/);
      } finally {
        await profile.remove();
      }
    },
    LAUNCH_TIMEOUT_MS + 30_000,
  );
});
