/** Process entry of the `sealpost` command (bundled to dist/hisp/cli.js). */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readAll } from './files.js';
import { runCli } from './main.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const stopSignal = new Promise<string>((resolveStop) => {
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
