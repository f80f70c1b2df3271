// npm run bench: builds what the benchmarks need, then runs them: the security agent against
// OpenSSL (test/bench/agent.ts), then the mail window at 100,000 messages in Chromium
// (test/bench/ui.ts, which also needs the built UI). `npm run bench -- --only agent` or
// `--only ui` runs one part. Every part chosen runs; the exit status is non-zero when any
// missed a target or failed.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const PARTS = ['agent', 'ui'];
const args = process.argv.slice(2);
const only = args[0] === '--only' && args.length === 2 ? args[1] : undefined;
if (args.length > 0 && !PARTS.includes(only)) {
  console.error(`usage: npm run bench [-- --only ${PARTS.join('|')}]`);
  process.exit(2);
}
const parts = only === undefined ? PARTS : [only];

const run = (argv) =>
  spawnSync(process.execPath, argv, { cwd: root, stdio: 'inherit' }).status ?? 1;
const step = (argv) => {
  const status = run(argv);
  if (status !== 0) process.exit(status);
};
step(['scripts/build.mjs', 'hisp', ...(parts.includes('ui') ? ['renderer'] : [])]);
await build({
  absWorkingDir: root,
  entryPoints: Object.fromEntries(parts.map((part) => [`bench/${part}`, `test/bench/${part}.ts`])),
  outdir: join(root, 'dist'),
  bundle: true,
  packages: 'external',
  platform: 'node',
  format: 'esm',
  target: 'node22',
  logLevel: 'warning',
});
let failed = 0;
for (const part of parts) {
  const status = run([join(root, 'dist', 'bench', `${part}.js`)]);
  if (status !== 0) {
    console.log(`\nbench ${part}: exit status ${status} (a target missed, or the run failed)\n`);
    failed = status;
  }
}
process.exit(failed);
