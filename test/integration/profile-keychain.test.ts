/**
 * A keychain profile, as a user makes and uses it: the built `sealpost` run inside a private
 * Secret Service (real gnome-keyring on a private D-Bus session). The master key goes to the
 * keychain and nowhere on disk; a missing entry, a locked keychain and no Secret Service
 * each give their own typed error and exit code 2.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  findBinary,
  makeTempDir,
  startKeyring,
  type KeyringHandle,
  type TempDir,
  runToEnd,
} from '../services/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(root, 'bin', 'sealpost.js');

let keyring: KeyringHandle;
let tmp: TempDir;

beforeAll(async () => {
  if (!existsSync(join(root, 'dist', 'hisp', 'cli.js'))) {
    throw new Error('dist/ is not built: run `npm run build` first (npm test does)');
  }
  keyring = await startKeyring();
  tmp = await makeTempDir('profile-keychain');
});

afterAll(async () => {
  await keyring?.stop();
  await tmp?.remove();
});

const exec = (command: string, args: string[], env: NodeJS.ProcessEnv) =>
  runToEnd(command, args, { env, cwd: root });

function sealpost(args: string[], env: NodeJS.ProcessEnv = keyring.env) {
  return exec(process.execPath, [bin, ...args], env);
}

async function allFilesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(join(entry.parentPath, entry.name));
  }
  return out;
}

describe('risk-22 a profile whose key is in the system keychain', () => {
  it('init stores the key in the keychain only; the profile opens with it', async () => {
    const dir = join(tmp.path, 'desk');
    const init = await sealpost(['profile', 'init', '--profile', dir]);
    expect(init.stderr).toBe('');
    expect(init.code).toBe(0);
    expect(init.stdout).toMatch(/its key is in the system keychain/);
    const info = JSON.parse(await readFile(join(dir, 'profile.json'), 'utf8')) as {
      id: string;
      keySource: string;
    };
    expect(info.keySource).toBe('keychain');

    const lookup = await exec(
      findBinary('secret-tool', 'libsecret-tools'),
      ['lookup', 'service', 'Sealpost', 'username', `profile:${info.id}:master-key`],
      keyring.env,
    );
    const key = lookup.bytes;
    expect(key.byteLength).toBe(32);
    // The key is in no file of the profile (raw, hex or base64).
    for (const file of await allFilesUnder(dir)) {
      const content = await readFile(file);
      for (const form of [
        key,
        Buffer.from(key.toString('hex')),
        Buffer.from(key.toString('base64')),
      ]) {
        expect(content.includes(form), file).toBe(false);
      }
    }

    const list = await sealpost(['anchors', 'list', '--profile', dir]);
    expect(list.code).toBe(0);
    expect(list.stdout).toBe('No trust anchors.\n');
    const withPass = await sealpost(['anchors', 'list', '--profile', dir, '--pass', 'env:X']);
    expect(withPass.code).toBe(1);
    expect(withPass.stderr).toMatch(/keeps its key in the system keychain/);
  });

  it('no Secret Service: KEYCHAIN_UNAVAILABLE naming the fix, and nothing is created', async () => {
    const dir = join(tmp.path, 'headless');
    const env = {
      ...keyring.env,
      DBUS_SESSION_BUS_ADDRESS: `unix:path=${join(tmp.path, 'no-such-bus')}`,
    };
    const init = await sealpost(['profile', 'init', '--profile', dir], env);
    expect(init.code).toBe(2);
    expect(init.stderr).toMatch(/\[KEYCHAIN_UNAVAILABLE\]/);
    expect(init.stderr).toMatch(/vault/);
    expect(existsSync(join(dir, 'profile.json'))).toBe(false);
  });

  it('the keychain entry gone: KEYCHAIN_ENTRY_MISSING; the keychain locked: KEYCHAIN_LOCKED', async () => {
    const moved = join(tmp.path, 'moved');
    expect((await sealpost(['profile', 'init', '--profile', moved])).code).toBe(0);
    const info = JSON.parse(await readFile(join(moved, 'profile.json'), 'utf8')) as { id: string };
    await keyring.secretTool([
      'clear',
      'service',
      'Sealpost',
      'username',
      `profile:${info.id}:master-key`,
    ]);
    const missing = await sealpost(['anchors', 'list', '--profile', moved]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/\[KEYCHAIN_ENTRY_MISSING\]/);

    const desk = join(tmp.path, 'locked');
    expect((await sealpost(['profile', 'init', '--profile', desk])).code).toBe(0);
    // Lock the login collection through the Secret Service API (no prompter here to unlock).
    const lock = await exec(
      findBinary('dbus-send', 'dbus-x11'),
      [
        '--session',
        '--print-reply',
        '--dest=org.freedesktop.secrets',
        '/org/freedesktop/secrets',
        'org.freedesktop.Secret.Service.Lock',
        'array:objpath:/org/freedesktop/secrets/collection/login',
      ],
      keyring.env,
    );
    expect(lock.code, lock.stderr).toBe(0);
    const locked = await sealpost(['anchors', 'list', '--profile', desk]);
    expect(locked.code).toBe(2);
    expect(locked.stderr).toMatch(/\[KEYCHAIN_LOCKED\]/);
  });
});
