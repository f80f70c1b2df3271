#!/usr/bin/env node
// The `sealpost` command. Checks the Node.js version first, so an old Node gets a clear
// message rather than a syntax or native-module error, then runs the built CLI. Node's
// compile cache (V8 code cache on disk, per user) saves compiling the CLI's code at every
// start: a `sealpost smime` in a pipeline pays start-up on every message.
import { existsSync, mkdirSync } from 'node:fs';
import module from 'node:module';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  process.stderr.write(
    `sealpost: Node.js 22.12 or newer is needed; this is ${process.version}.\n` +
      "In a checkout, 'source scripts/ensure-node.sh' fetches Node 22 from the npm registry and puts it first on PATH.\n",
  );
  process.exit(1);
}

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'hisp', 'cli.js');
if (!existsSync(cli)) {
  process.stderr.write("sealpost: not built yet. Run 'npm run build' first.\n");
  process.exit(1);
}
enableCompileCache();
await import(cli);

/**
 * Turns on Node's module compile cache in $XDG_CACHE_HOME/sealpost/compile-cache (else
 * ~/.cache/sealpost/compile-cache), created owner-only. Only a speed-up: any failure (no home,
 * read-only disk, NODE_DISABLE_COMPILE_CACHE) leaves the command running without it, silently.
 */
function enableCompileCache() {
  try {
    if (typeof module.enableCompileCache !== 'function') return;
    const xdg = process.env.XDG_CACHE_HOME;
    const base = xdg !== undefined && isAbsolute(xdg) ? xdg : join(homedir(), '.cache');
    // One level at a time: Node's recursive mkdir spins forever where mkdir answers ENOENT
    // below a directory that exists (XDG_CACHE_HOME under /proc hung every command).
    const dir = join(base, 'sealpost', 'compile-cache');
    for (const level of [base, join(base, 'sealpost'), dir]) {
      try {
        mkdirSync(level, { mode: 0o700 });
      } catch (error) {
        if (error?.code !== 'EEXIST') throw error;
      }
    }
    module.enableCompileCache(dir);
  } catch {
    // No cache: slower start-up, same behaviour.
  }
}
