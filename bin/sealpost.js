#!/usr/bin/env node
// The `sealpost` command. Checks the Node.js version first, so an old Node gets a clear
// message rather than a syntax or native-module error, then runs the built CLI.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
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
await import(cli);
