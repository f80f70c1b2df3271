/**
 * The built command, run as a user runs it: `node bin/sealpost.js …` against dist/ (npm test
 * builds first). Proves the bundle, the bin shim and the built UI work together.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(root, 'bin', 'sealpost.js');

function sealpost(...args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 30_000,
  });
}

beforeAll(() => {
  if (
    !existsSync(join(root, 'dist', 'hisp', 'cli.js')) ||
    !existsSync(join(root, 'dist', 'renderer', 'index.html'))
  ) {
    throw new Error('dist/ is not built: run `npm run build` first (npm test does)');
  }
});

describe('the built sealpost command', () => {
  it('demo --smoke exits 0 after the UI is served and the HISP answers through the contract', () => {
    const r = sealpost('demo', '--smoke');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(
      /smoke: OK — UI served, and the UI's HISP answered through the contract: sealpost \S+, ready/,
    );
  });

  it('version and usage errors behave as documented', () => {
    expect(sealpost('version').stdout).toMatch(/^sealpost \d+\.\d+\.\d+ \(Node\.js v\d+/);
    const bad = sealpost('serve', '--nope');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain("unknown option '--nope'");
  });

  it('the desktop HISP entry refuses to run outside Electron, with a clear message', () => {
    const r = spawnSync(process.execPath, [join(root, 'dist', 'hisp', 'utility.js')], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('use `sealpost serve` for a headless HISP');
  });
});
