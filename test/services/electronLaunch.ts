/**
 * Whether the real desktop app can be launched on this machine, and how: the Electron binary
 * (never downloaded here: findElectronBinary only looks at files), not as root (Chromium then
 * demands --no-sandbox, which Sealpost never passes), and a display — or, where the caller
 * can use one, `xvfb-run`. The tests that need it skip with `reason` when it cannot.
 */
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { findElectronBinary } from '../../hisp/host/electronBinary.js';

export type ElectronLaunchPlan =
  | {
      readonly runnable: true;
      /** What to run: the binary, or xvfb-run with the binary first in `prefix`. */
      readonly command: string;
      readonly prefix: readonly string[];
      /** The Electron binary itself. */
      readonly binary: string;
    }
  | { readonly runnable: false; readonly reason: string };

function onPath(name: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/**
 * The launch plan for the app in `repoRoot`. `xvfbRun`: whether a missing display may be
 * made up with `xvfb-run` (a plain child process can; Playwright's Electron launch cannot).
 */
export function planElectronLaunch(
  repoRoot: string,
  options: { readonly xvfbRun: boolean },
): ElectronLaunchPlan {
  const binary = findElectronBinary(repoRoot);
  if (!binary.found) return { runnable: false, reason: binary.reason };
  if (process.platform === 'linux' && process.getuid?.() === 0) {
    return {
      runnable: false,
      reason:
        'running as root: Chromium refuses to start as root without --no-sandbox, and Sealpost never turns its sandbox off',
    };
  }
  if (process.platform === 'linux' && !process.env['DISPLAY'] && !process.env['WAYLAND_DISPLAY']) {
    const xvfbRun = options.xvfbRun ? onPath('xvfb-run') : undefined;
    if (xvfbRun === undefined) {
      return {
        runnable: false,
        reason: `no display (DISPLAY and WAYLAND_DISPLAY unset)${options.xvfbRun ? ' and no xvfb-run' : ''}`,
      };
    }
    return { runnable: true, command: xvfbRun, prefix: ['-a', binary.path], binary: binary.path };
  }
  return { runnable: true, command: binary.path, prefix: [], binary: binary.path };
}
