import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findElectronBinary } from '../../hisp/host/electronBinary.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sealpost-electron-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('findElectronBinary (never downloads)', () => {
  it('says the package is missing', () => {
    const result = findElectronBinary(join(root, 'nothing'), {});
    expect(result).toEqual({
      found: false,
      reason: expect.stringContaining('not installed') as unknown,
    });
  });

  it('says the binary is missing when npm installed the package without it', async () => {
    const project = join(root, 'no-binary');
    await mkdir(join(project, 'node_modules', 'electron'), { recursive: true });
    const result = findElectronBinary(project, {});
    expect(result.found).toBe(false);
    expect(result.found ? '' : result.reason).toContain('no Electron binary on this machine');
  });

  it('finds an installed binary, and honours ELECTRON_OVERRIDE_DIST_PATH', async () => {
    const project = join(root, 'with-binary');
    const pkg = join(project, 'node_modules', 'electron');
    await mkdir(join(pkg, 'dist'), { recursive: true });
    await writeFile(join(pkg, 'path.txt'), 'electron');
    await writeFile(join(pkg, 'dist', 'electron'), '#!/bin/sh\n');
    await chmod(join(pkg, 'dist', 'electron'), 0o755);
    expect(findElectronBinary(project, {})).toEqual({
      found: true,
      path: join(pkg, 'dist', 'electron'),
    });

    const override = join(root, 'override');
    await mkdir(override);
    expect(findElectronBinary(project, { ELECTRON_OVERRIDE_DIST_PATH: override }).found).toBe(
      false,
    );
    await writeFile(join(override, 'electron'), '');
    expect(findElectronBinary(project, { ELECTRON_OVERRIDE_DIST_PATH: override })).toEqual({
      found: true,
      path: join(override, 'electron'),
    });
  });
});
