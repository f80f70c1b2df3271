// Builds everything that runs: the HISP and CLI (ESM for Node), the Electron main process
// (ESM) and preload (CommonJS: sandboxed preloads cannot be modules), and the renderer (Vite).
// Dependencies stay external: they are installed next to dist/ by npm.
import { build } from 'esbuild';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build as viteBuild } from 'vite';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const only = process.argv.slice(2);
const wanted = (part) => only.length === 0 || only.includes(part);

const common = {
  absWorkingDir: root,
  bundle: true,
  packages: 'external',
  sourcemap: 'linked',
  target: 'node22',
  logLevel: 'warning',
  legalComments: 'none',
};

if (only.length === 0) await rm(dist, { recursive: true, force: true });

if (wanted('hisp')) {
  await rm(join(dist, 'hisp'), { recursive: true, force: true });
  // The CLI is split so each command loads only its own code (see hisp/cli/main.ts): a
  // pipeline running `sealpost smime` does not pay for the web server or for zod.
  await build({
    ...common,
    platform: 'node',
    format: 'esm',
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    entryPoints: { cli: 'hisp/cli/bin.ts' },
    outdir: join(dist, 'hisp'),
  });
  await build({
    ...common,
    platform: 'node',
    format: 'esm',
    entryPoints: { 'hisp/utility': 'hisp/host/utility.ts' },
    outdir: dist,
  });
}

if (wanted('electron')) {
  await build({
    ...common,
    platform: 'node',
    format: 'esm',
    entryPoints: { 'electron/main': 'electron/main/main.ts' },
    outdir: dist,
    external: ['electron'],
  });
  await build({
    ...common,
    platform: 'node',
    format: 'cjs',
    // The preload imports the contract (zod included): bundle it all except Electron itself.
    packages: undefined,
    external: ['electron'],
    entryPoints: { 'electron/preload': 'electron/preload/preload.ts' },
    outExtension: { '.js': '.cjs' },
    outdir: dist,
  });
}

if (wanted('renderer')) {
  await viteBuild({ configFile: join(root, 'vite.config.ts'), logLevel: 'warn' });
}

process.stdout.write(`built ${only.length ? only.join(', ') : 'everything'} into dist/\n`);
