/** Process entry of the `sealpost` command (bundled to dist/hisp/cli.js). */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readAll } from './files.js';
import { runCli } from './main.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

// `serve` and `demo` run until they are stopped, and stop in order on SIGINT or SIGTERM (they
// wait on stopSignal). Every other command is one-shot: no handler, so Ctrl-C or a kill ends
// it at once, as it ends any program — a handler here made them carry on to the end (a
// `certs discover` waiting on a silent DNS server ignored Ctrl-C for 18 s).
const runsUntilStopped = ['serve', 'demo'].includes(process.argv[2] ?? '');
const stopSignal = new Promise<string>((resolveStop) => {
  if (!runsUntilStopped) return;
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => resolveStop(signal));
});

const code = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  readStdin: (limit) => readAll(process.stdin, limit),
  writeStdout: (chunk) =>
    new Promise<void>((resolveWrite, reject) => {
      process.stdout.write(chunk, (error) => (error ? reject(error) : resolveWrite()));
    }),
  env: process.env,
  stopSignal,
  root,
});
process.exit(code);
