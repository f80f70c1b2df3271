/**
 * Where the Electron binary is, without triggering a download: `require('electron')` tries
 * to fetch it from the internet when it is missing, which these machines (and many clinic
 * networks) cannot do. This only looks at the files npm installed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export type ElectronBinary =
  | { readonly found: true; readonly path: string }
  | { readonly found: false; readonly reason: string };

export function findElectronBinary(
  projectRoot: string,
  env: NodeJS.ProcessEnv = process.env,
): ElectronBinary {
  const packageDir = join(projectRoot, 'node_modules', 'electron');
  const override = env['ELECTRON_OVERRIDE_DIST_PATH'];
  let relative: string | undefined;
  try {
    relative = readFileSync(join(packageDir, 'path.txt'), 'utf8').trim();
  } catch {
    relative = undefined;
  }
  if (override) {
    const candidate = join(override, relative ?? 'electron');
    return existsSync(candidate)
      ? { found: true, path: candidate }
      : {
          found: false,
          reason: `ELECTRON_OVERRIDE_DIST_PATH is set but ${candidate} does not exist`,
        };
  }
  if (!existsSync(packageDir)) {
    return { found: false, reason: 'the electron package is not installed (run npm ci)' };
  }
  if (relative === undefined) {
    return {
      found: false,
      reason:
        'no Electron binary on this machine: npm installed the electron package without its binary, which cannot be downloaded here',
    };
  }
  const candidate = join(packageDir, 'dist', relative);
  return existsSync(candidate)
    ? { found: true, path: candidate }
    : { found: false, reason: `no Electron binary on this machine (${candidate} is missing)` };
}
