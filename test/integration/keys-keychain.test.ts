/**
 * hisp/keys/keychain.ts and the keychain MasterKeySource against a real gnome-keyring in a
 * private D-Bus session (test/services/keyring.ts).
 *
 * The code under test must run INSIDE that session, so each step runs in a child Node with the
 * keyring's env. The child imports hisp/keys bundled by esbuild into a temp dir (TypeScript
 * source → one ESM file; `@napi-rs/keyring` is left external, pointed at its absolute path so
 * the bundle loads it from this checkout's node_modules).
 *
 * The error mapping for KEYCHAIN_DENIED is tested on the library's error shape at the end:
 * gnome-keyring has no way to deny one application on demand.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join, resolve } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { HispError } from '../../hisp/api/errors.js';
import { keychainError, sessionBusSocket } from '../../hisp/keys/keychain.js';
import {
  findBinary,
  makeTempDir,
  run,
  startKeyring,
  waitUntil,
  type KeyringHandle,
  type TempDir,
} from '../services/index.js';
import { bundleForChild, nativeModulePath } from '../services/bundle.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const KEYRING_MODULE = nativeModulePath('@napi-rs/keyring');

interface Step {
  op: string;
  ok: boolean;
  /** Buffers as hex. */
  value?: unknown;
  code?: string;
  message?: string;
  cause?: string;
}

/**
 * Runs in the child. argv: [bundle URL, keyring module path, JSON {service, options, ops}].
 * Ops: create/load/remove <profileId> (keychainMasterKeySource), get/set/delete <account>
 * [hex] (openKeychain), keyutils-get <account> (the library pinned to the KERNEL keyring,
 * to prove nothing was written there).
 */
const CHILD = `
const [bundleUrl, keyringPath, json] = process.argv.slice(1);
const keys = await import(bundleUrl);
const { service, options, ops } = JSON.parse(json);
const source = keys.keychainMasterKeySource({ service, ...options });
const keychain = keys.openKeychain({ service, ...options });
const show = (v) => (Buffer.isBuffer(v) ? v.toString('hex') : v === undefined ? null : v);
const steps = [];
for (const [op, arg, extra] of ops) {
  try {
    let value;
    if (op === 'create') value = await source.create(arg);
    else if (op === 'load') value = await source.load(arg);
    else if (op === 'remove') value = await source.remove(arg);
    else if (op === 'get') value = await keychain.get(arg);
    else if (op === 'set') value = await keychain.set(arg, Buffer.from(extra, 'hex'));
    else if (op === 'delete') value = await keychain.delete(arg);
    else if (op === 'keyutils-get') {
      const { createRequire } = await import('node:module');
      const { Entry } = createRequire(import.meta.url)(keyringPath);
      const bytes = new Entry(service, arg, { linux: { store: 'keyutils' } }).getSecret();
      value = bytes === null ? null : Buffer.from(bytes).toString('hex');
    } else throw new Error('unknown op ' + op);
    steps.push({ op, ok: true, value: show(value) });
  } catch (err) {
    steps.push({
      op,
      ok: false,
      code: err && err.code,
      message: err && err.message,
      cause: err && err.cause && err.cause.message,
    });
  }
}
process.stdout.write(JSON.stringify(steps));
`;

let bundleDir: TempDir | undefined;
let bundleUrl = '';

beforeAll(async () => {
  bundleDir = await makeTempDir('keys-bundle');
  bundleUrl = (
    await bundleForChild(
      "export * from './hisp/keys/masterKey.ts'; export * from './hisp/keys/keychain.ts';",
      bundleDir.path,
      'keys.mjs',
    )
  ).url;
});

afterAll(async () => {
  await bundleDir?.remove();
});

async function steps(
  k: KeyringHandle,
  service: string,
  ops: Array<[string, string, string?]>,
  options: { env?: NodeJS.ProcessEnv; sourceOptions?: Record<string, unknown> } = {},
): Promise<Step[]> {
  const args = [
    '--input-type=module',
    '-e',
    CHILD,
    bundleUrl,
    KEYRING_MODULE,
    JSON.stringify({ service, options: options.sourceOptions ?? {}, ops }),
  ];
  // The run's own timeout (20 s) bounds a hang: a child that never answers fails the test.
  const { stdout } = options.env
    ? await run(process.execPath, args, { env: options.env, cwd: k.dir })
    : await k.runNode(args, { cwd: k.dir });
  return JSON.parse(stdout) as Step[];
}

const newId = (): string => randomBytes(16).toString('hex');
const newService = (): string => `Sealpost-test-${randomBytes(4).toString('hex')}`;

describe('keys: master keys in a real gnome-keyring (private D-Bus session)', () => {
  let keyring: KeyringHandle | undefined;
  let silent: Server | undefined;
  const silentSockets = new Set<Socket>();

  beforeAll(async () => {
    keyring = await startKeyring();
  });

  afterAll(async () => {
    try {
      await keyring?.stop();
    } finally {
      for (const socket of silentSockets) socket.destroy();
      await new Promise<void>((done) => (silent ? silent.close(() => done()) : done()));
    }
  });

  function ready(): KeyringHandle {
    if (!keyring) throw new Error('keyring did not start');
    return keyring;
  }

  it('creates a random 32-byte master key, finds it from another process, removes it', async () => {
    const k = ready();
    const service = newService();
    const id = newId();
    const account = `profile:${id}:master-key`;

    const first = await steps(k, service, [
      ['load', id],
      ['create', id],
      ['create', id],
    ]);
    expect(first[0]).toMatchObject({ op: 'load', ok: false, code: 'KEYCHAIN_ENTRY_MISSING' });
    expect(first[0]?.message).toContain(account);
    expect(first[1]).toMatchObject({ op: 'create', ok: true });
    const key = String(first[1]?.value);
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(first[2]).toMatchObject({ op: 'create', ok: false, code: 'PROFILE_EXISTS' });

    // Another process (as after a restart) loads the same key.
    const second = await steps(k, service, [['load', id]]);
    expect(second).toEqual([{ op: 'load', ok: true, value: key }]);

    // libsecret's own tool finds it under our service and account, as raw bytes.
    const bytes = await run(
      'sh',
      [
        '-c',
        `"$0" lookup service "$1" username "$2" | od -An -v -tx1 | tr -d ' \\n'`,
        findBinary('secret-tool', 'libsecret-tools'),
        service,
        account,
      ],
      { env: k.env },
    );
    expect(bytes.stdout).toBe(key);
    const search = await k.secretTool(['search', '--all', 'service', service, 'username', account]);
    const listing = search.stdout + search.stderr;
    expect(listing).toContain(`label = keyring:${account}@${service}`);
    expect(listing).toContain(`attribute.service = ${service}`);
    expect(listing).toContain(`attribute.username = ${account}`);

    // Stored encrypted: the key's bytes are not in the keyring file.
    const onDisk = await readFile(join(k.keyringsDir, 'login.keyring'));
    expect(onDisk.includes(Buffer.from(key, 'hex'))).toBe(false);

    const third = await steps(k, service, [
      ['remove', id],
      ['load', id],
      ['remove', id],
    ]);
    expect(third[0]).toEqual({ op: 'remove', ok: true, value: null });
    expect(third[1]).toMatchObject({ op: 'load', ok: false, code: 'KEYCHAIN_ENTRY_MISSING' });
    expect(third[2]).toEqual({ op: 'remove', ok: true, value: null });
  });

  it('keeps binary secrets (all 256 byte values) through openKeychain get/set/delete', async () => {
    const k = ready();
    const service = newService();
    const account = `key:${newId()}`;
    const secret = Buffer.from(Array.from({ length: 256 }, (_, i) => i)).toString('hex');
    const result = await steps(k, service, [
      ['get', account],
      ['set', account, secret],
      ['get', account],
      ['set', account, 'ff00'],
      ['get', account],
      ['delete', account],
      ['get', account],
      ['delete', account],
    ]);
    expect(result.map((s) => [s.op, s.ok, s.value])).toEqual([
      ['get', true, null],
      ['set', true, null],
      ['get', true, secret],
      ['set', true, null],
      ['get', true, 'ff00'],
      ['delete', true, true],
      ['get', true, null],
      ['delete', true, false],
    ]);
  });

  it('a second entry made by another program matching ours: INTERNAL naming the duplicate', async () => {
    const k = ready();
    const service = newService();
    const id = newId();
    const account = `profile:${id}:master-key`;
    const made = await steps(k, service, [['create', id]]);
    expect(made[0]).toMatchObject({ op: 'create', ok: true });
    // Secret Service search matches on a subset of attributes: an item with ours plus one
    // more is found by our lookup too.
    await k.secretTool(
      ['store', '--label=foreign', 'service', service, 'username', account, 'app', 'other'],
      { input: 'foreign secret' },
    );
    const result = await steps(k, service, [['load', id]]);
    expect(result[0]).toMatchObject({ op: 'load', ok: false, code: 'INTERNAL' });
    expect(result[0]?.message).toMatch(/more than one entry/);
    expect(result[0]?.cause).toMatch(/is matched by 2 credentials/);
  });

  it('no Secret Service (bus socket missing): KEYCHAIN_UNAVAILABLE naming the fix, nothing in the kernel keyring', async () => {
    const k = ready();
    const service = newService();
    const id = newId();
    const env = { ...k.env, DBUS_SESSION_BUS_ADDRESS: `unix:path=${join(k.dir, 'no-such-bus')}` };
    const result = await steps(
      k,
      service,
      [
        ['create', id],
        ['load', id],
        ['remove', id],
        ['keyutils-get', `profile:${id}:master-key`],
      ],
      { env },
    );
    for (const step of result.slice(0, 3)) {
      expect(step).toMatchObject({ ok: false, code: 'KEYCHAIN_UNAVAILABLE' });
      expect(step.message).toContain('no-such-bus');
      expect(step.message).toMatch(/passphrase vault/);
      expect(step.message).toMatch(/gnome-keyring/);
    }
    // The kernel keyring (where the unpinned library would have fallen back) holds nothing.
    expect(result[3]).toEqual({ op: 'keyutils-get', ok: true, value: null });
  });

  it('a bus that accepts but never answers: KEYCHAIN_UNAVAILABLE after the probe timeout, no hang', async () => {
    const k = ready();
    const path = join(k.dir, 'silent-bus');
    const server = createServer((socket) => {
      // accept and say nothing, like a wedged dbus-daemon
      silentSockets.add(socket);
    });
    silent = server;
    await new Promise<void>((done) => server.listen(path, done));
    const env = { ...k.env, DBUS_SESSION_BUS_ADDRESS: `unix:path=${path}` };
    const result = await steps(k, newService(), [['load', newId()]], {
      env,
      sourceOptions: { busProbeTimeoutMs: 300 },
    });
    expect(result[0]).toMatchObject({ ok: false, code: 'KEYCHAIN_UNAVAILABLE' });
    expect(result[0]?.message).toContain('did not answer');
  });
});

describe('keys: a locked keyring, then no Secret Service on a live bus (real gnome-keyring)', () => {
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

  const dbusSend = (k: KeyringHandle, args: string[]): Promise<{ stdout: string }> =>
    run(findBinary('dbus-send', 'dbus-x11'), ['--session', '--print-reply', ...args], {
      env: k.env,
    });

  const service = newService();
  const id = newId();

  it('locked collection (no unlock prompt possible): KEYCHAIN_LOCKED for load, create and remove', async () => {
    const k = ready();
    const made = await steps(k, service, [['create', id]]);
    expect(made[0]).toMatchObject({ op: 'create', ok: true });

    // Lock the login collection through the Secret Service API.
    await dbusSend(k, [
      '--dest=org.freedesktop.secrets',
      '/org/freedesktop/secrets',
      'org.freedesktop.Secret.Service.Lock',
      'array:objpath:/org/freedesktop/secrets/collection/login',
    ]);
    const locked = await dbusSend(k, [
      '--dest=org.freedesktop.secrets',
      '/org/freedesktop/secrets/collection/login',
      'org.freedesktop.DBus.Properties.Get',
      'string:org.freedesktop.Secret.Collection',
      'string:Locked',
    ]);
    expect(locked.stdout).toMatch(/boolean true/);

    const result = await steps(k, service, [
      ['load', id],
      ['create', newId()],
      ['remove', id],
      ['get', `profile:${id}:master-key`],
    ]);
    for (const step of result) {
      expect(step).toMatchObject({ ok: false, code: 'KEYCHAIN_LOCKED' });
      expect(step.message).toMatch(/locked/);
      expect(step.message).toMatch(/[Uu]nlock it/);
      expect(step.cause).toMatch(/unlock prompt was dismissed/);
    }
  });

  it('a live bus without a Secret Service: KEYCHAIN_UNAVAILABLE from the library error', async () => {
    const k = ready();
    // Stop only gnome-keyring (by its PID; the bus stays up), then wait for its name to go.
    process.kill(k.pid, 'SIGTERM');
    await waitUntil(
      async () => {
        const { stdout } = await dbusSend(k, [
          '--dest=org.freedesktop.DBus',
          '/org/freedesktop/DBus',
          'org.freedesktop.DBus.NameHasOwner',
          'string:org.freedesktop.secrets',
        ]);
        return /boolean false/.test(stdout);
      },
      { what: 'org.freedesktop.secrets to leave the bus' },
    );
    const result = await steps(k, service, [['load', id]]);
    expect(result[0]).toMatchObject({ ok: false, code: 'KEYCHAIN_UNAVAILABLE' });
    expect(result[0]?.message).toContain('org.freedesktop.secrets');
    expect(result[0]?.message).toMatch(/passphrase vault/);
    expect(result[0]?.cause).toMatch(/^Platform failure: DBus error/);
  });
});

/**
 * The library's errors, as measured with @napi-rs/keyring 2.1.2 (see the tests above): an
 * Error with code 'GenericFailure' whose message carries the keyring-core variant, and a
 * `cause` chain down to the platform's own message.
 */
function libraryError(outer: string, inner: string): Error {
  const innermost = Object.assign(new Error(inner), { code: 'GenericFailure' });
  return Object.assign(new Error(`${outer}${inner}`, { cause: innermost }), {
    code: 'GenericFailure',
  });
}

describe('keys: keychain error mapping on the library error shape (no gnome-keyring needed)', () => {
  const where = { service: 'Sealpost', account: 'profile:abc:master-key' };

  // No real part produces KEYCHAIN_DENIED on demand: gnome-keyring grants every process of the
  // session user; the macOS Keychain (errSecAuthFailed, user denied the access prompt) and a
  // D-Bus policy denial are what would. Tested here on the library's shape.
  it.each([
    [
      "Couldn't access platform storage: ",
      'org.freedesktop.DBus.Error.AccessDenied: Rejected send message',
    ],
    [
      "Couldn't access platform storage: ",
      'The user name or passphrase you entered is not correct. (errSecAuthFailed)',
    ],
    ["Couldn't access platform storage: ", 'Access is denied. (os error 5)'],
    ["Couldn't access platform storage: ", 'something the platform did not explain'],
  ])('KEYCHAIN_DENIED: %s%s', (outer, inner) => {
    const error = libraryError(outer, inner);
    const mapped = keychainError(error, where);
    expect(mapped).toBeInstanceOf(HispError);
    expect(mapped.code).toBe('KEYCHAIN_DENIED');
    expect(mapped.cause).toBe(error);
    expect(mapped.message).toContain('profile:abc:master-key');
  });

  it.each([
    [
      'Platform failure: DBus error: ',
      'Failed to connect to socket /x/bus: No such file or directory',
      'KEYCHAIN_UNAVAILABLE',
    ],
    [
      'Platform failure: DBus error: ',
      'Failed to connect to socket /run/user/1/bus: Permission denied',
      'KEYCHAIN_UNAVAILABLE',
    ],
    [
      'Platform failure: DBus error: ',
      'Using X11 for dbus-daemon autolaunch was disabled at compile time, set your DBUS_SESSION_BUS_ADDRESS instead',
      'KEYCHAIN_UNAVAILABLE',
    ],
    [
      "Couldn't access platform storage: ",
      'Secret Service: unlock prompt was dismissed',
      'KEYCHAIN_LOCKED',
    ],
    ["Couldn't access platform storage: ", 'Secret Service: object locked', 'KEYCHAIN_LOCKED'],
    ['', 'No matching credential found', 'KEYCHAIN_ENTRY_MISSING'],
    ['', 'Entry is matched by 2 credentials: [a, b]', 'INTERNAL'],
    ['', 'Password data is not valid UTF-8', 'INTERNAL'],
  ])('%s%s → %s', (outer, inner, code) => {
    const error = libraryError(outer, inner);
    const mapped = keychainError(error, where);
    expect(mapped.code).toBe(code);
    expect(mapped.cause).toBe(error);
  });

  it('an aborted (timed-out) operation is KEYCHAIN_UNAVAILABLE; a HispError passes through', () => {
    const abort = Object.assign(new Error('The operation was aborted'), { name: 'AbortError' });
    expect(keychainError(abort, { ...where, timeoutMs: 5000 }).message).toContain('within 5 s');
    expect(keychainError(abort, where).code).toBe('KEYCHAIN_UNAVAILABLE');
    const own = new HispError('KEYCHAIN_LOCKED');
    expect(keychainError(own, where)).toBe(own);
  });

  it('finds the session bus socket the way libdbus does', () => {
    expect(sessionBusSocket({ DBUS_SESSION_BUS_ADDRESS: 'unix:path=/run/user/1/bus' })).toBe(
      '/run/user/1/bus',
    );
    expect(
      sessionBusSocket({
        DBUS_SESSION_BUS_ADDRESS: 'unix:abstract=/tmp/dbus-x,guid=ab;unix:path=/b',
      }),
    ).toBe('\0/tmp/dbus-x');
    expect(sessionBusSocket({ DBUS_SESSION_BUS_ADDRESS: 'unix:path=/a%20b' })).toBe('/a b');
    expect(
      sessionBusSocket({ DBUS_SESSION_BUS_ADDRESS: 'unix:runtime=yes', XDG_RUNTIME_DIR: '/r' }),
    ).toBe('/r/bus');
    expect(sessionBusSocket({ DBUS_SESSION_BUS_ADDRESS: 'tcp:host=localhost,port=1' })).toBe(
      undefined,
    );
    expect(sessionBusSocket({ XDG_RUNTIME_DIR: join(ROOT, 'no-such-dir') })).toBe(undefined);
  });
});
