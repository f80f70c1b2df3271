/**
 * HISP source bundled into one ESM file for a child Node process — for code that must run
 * inside another environment (a private D-Bus session for the keychain) or be killed with
 * SIGKILL mid-write. The native modules stay external, resolved to their absolute paths here
 * so the bundle works from a temp directory.
 */
import { build } from 'esbuild';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const requireHere = createRequire(import.meta.url);
const NATIVE = new Map(
  ['@napi-rs/keyring', 'better-sqlite3-multiple-ciphers'].map((name) => [
    name,
    requireHere.resolve(name),
  ]),
);

/**
 * Bundles `source` (TypeScript; relative imports from the repository root, e.g.
 * `./hisp/keys/masterKey.ts`) into `dir/name`; returns the file's path and file:// URL.
 */
export async function bundleForChild(
  source: string,
  dir: string,
  name = 'child.mjs',
): Promise<{ path: string; url: string }> {
  const outfile = join(dir, name);
  await build({
    stdin: {
      contents: source,
      resolveDir: ROOT,
      loader: 'ts',
      sourcefile: name.replace(/\.mjs$/, '.ts'),
    },
    absWorkingDir: ROOT,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    outfile,
    logLevel: 'warning',
    banner: {
      js: "import { createRequire as __sealpostRequire } from 'node:module'; const require = __sealpostRequire(import.meta.url);",
    },
    plugins: [
      {
        name: 'native-absolute',
        setup(b) {
          b.onResolve(
            { filter: /^(@napi-rs\/keyring|better-sqlite3-multiple-ciphers)$/ },
            (args) => ({
              path: NATIVE.get(args.path) ?? args.path,
              external: true,
            }),
          );
        },
      },
    ],
  });
  return { path: outfile, url: pathToFileURL(outfile).href };
}

/** The absolute path a native module resolves to (for children that import it themselves). */
export function nativeModulePath(
  name: '@napi-rs/keyring' | 'better-sqlite3-multiple-ciphers',
): string {
  const path = NATIVE.get(name);
  if (path === undefined) throw new Error(`unknown native module ${name}`);
  return path;
}
