// npm run bench: builds the CLI and the benchmark, then runs it (see test/bench/agent.ts).
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const step = (args) => {
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
step(['scripts/build.mjs', 'hisp']);
await build({
  absWorkingDir: root,
  entryPoints: { 'bench/agent': 'test/bench/agent.ts' },
  outdir: join(root, 'dist'),
  bundle: true,
  packages: 'external',
  platform: 'node',
  format: 'esm',
  target: 'node22',
  logLevel: 'warning',
});
step([join(root, 'dist', 'bench', 'agent.js')]);
