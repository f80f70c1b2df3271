import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CommandError, run, startKeyring } from '../services/index.js';
import type { KeyringHandle } from '../services/index.js';

/** Resolved here, loaded by the child (which runs with the keyring's env, cwd in the temp dir). */
const KEYRING_MODULE = createRequire(import.meta.url).resolve('@napi-rs/keyring');

interface ChildResult {
  steps: Array<{ op: string; ok: boolean; value?: unknown; error?: string }>;
}

/**
 * Runs in a child Node process INSIDE the private D-Bus session, so @napi-rs/keyring connects
 * to our gnome-keyring. The entry is pinned to Secret Service: no silent kernel-keyring fallback.
 */
const CHILD = `
const { Entry } = require(process.argv[1]);
const { service, account, ops } = JSON.parse(process.argv[2]);
const steps = [];
for (const [op, arg] of ops) {
  try {
    const entry = new Entry(service, account, { linux: { store: 'secret-service' } });
    let value;
    if (op === 'set') value = entry.setPassword(arg);
    else if (op === 'get') value = entry.getPassword();
    else if (op === 'delete') value = entry.deletePassword();
    else throw new Error('unknown op ' + op);
    steps.push({ op, ok: true, value: value === undefined ? null : value });
  } catch (err) {
    steps.push({ op, ok: false, error: String(err && err.message ? err.message : err) });
  }
}
process.stdout.write(JSON.stringify({ steps }));
`;

describe('services: gnome-keyring Secret Service in a private D-Bus session (real daemon)', () => {
  let keyring: KeyringHandle | undefined;

  beforeAll(async () => {
    keyring = await startKeyring();
  });

  afterAll(async () => {
    await keyring?.stop();
  });

  function ready(): KeyringHandle {
    if (!keyring) throw new Error('keyring did not start');
    return keyring;
  }

  async function child(
    k: KeyringHandle,
    service: string,
    account: string,
    ops: Array<[string, string?]>,
    env?: NodeJS.ProcessEnv,
  ): Promise<ChildResult> {
    const args = ['-e', CHILD, KEYRING_MODULE, JSON.stringify({ service, account, ops })];
    const { stdout } = env
      ? await run(process.execPath, args, { env, cwd: k.dir })
      : await k.runNode(args, { cwd: k.dir });
    return JSON.parse(stdout) as ChildResult;
  }

  it('sets, gets and deletes a password through @napi-rs/keyring pinned to Secret Service', async () => {
    const k = ready();
    const service = 'sealpost-test';
    const account = `alice-${randomBytes(4).toString('hex')}`;
    const secret = `s3cret-${randomBytes(8).toString('hex')}`;

    const first = await child(k, service, account, [['get'], ['set', secret], ['get']]);
    expect(first.steps).toEqual([
      { op: 'get', ok: true, value: null },
      { op: 'set', ok: true, value: null },
      { op: 'get', ok: true, value: secret },
    ]);

    // The secret really is in gnome-keyring: libsecret's CLI finds it by the same attributes.
    const lookup = await k.secretTool(['lookup', 'service', service, 'username', account]);
    expect(lookup.stdout).toBe(secret);
    // ...and it is persisted, encrypted, in the login keyring file under XDG_DATA_HOME.
    const files = await readdir(k.keyringsDir);
    expect(files).toContain('login.keyring');
    const onDisk = await readFile(join(k.keyringsDir, 'login.keyring'));
    expect(onDisk.includes(Buffer.from(secret))).toBe(false);

    const second = await child(k, service, account, [['delete'], ['get'], ['delete']]);
    expect(second.steps).toEqual([
      { op: 'delete', ok: true, value: true },
      { op: 'get', ok: true, value: null },
      { op: 'delete', ok: true, value: false },
    ]);
    // secret-tool exits 1 when nothing matches.
    const after = await k
      .secretTool(['lookup', 'service', service, 'username', account])
      .catch((err: unknown) => err);
    expect(after).toBeInstanceOf(CommandError);
    expect((after as CommandError).exitCode).toBe(1);
  });

  it('fails loudly (no kernel-keyring fallback) when the Secret Service bus is unreachable', async () => {
    const k = ready();
    const env = { ...k.env, DBUS_SESSION_BUS_ADDRESS: `unix:path=${join(k.dir, 'no-such-bus')}` };
    const result = await child(k, 'sealpost-test', 'nobody', [['set', 'x']], env);
    expect(result.steps).toHaveLength(1);
    expect(result.steps[0]?.ok).toBe(false);
    expect(result.steps[0]?.error).toMatch(/DBus|socket/i);
  });
});
