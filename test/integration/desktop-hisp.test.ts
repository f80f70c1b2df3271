/**
 * The desktop app's HISP (hisp/host/utility.ts `startDesktopHisp`) as Electron runs it, minus
 * Electron: a fake `process.parentPort` hands over windows' ports (worker_threads
 * MessageChannel ports shaped as MessagePortMain, as test/unit/api-channel.test.ts does), and
 * each window is a real HispClient on its end of the channel. The profile's master key goes
 * to a real gnome-keyring on a private D-Bus session (test/services/keyring.ts).
 *
 * The keychain code must run INSIDE the keyring's session, so each run of the desktop HISP is
 * a child Node with the keyring's env, importing hisp bundled by esbuild into a temp dir (as
 * test/integration/identities-keychain.test.ts does). A child starts the HISP on a data
 * directory, opens windows, makes the calls it is given, stops the HISP and prints what it
 * saw; a second child on the same directory is a restart of the app. Covered: first run
 * (profile created, key in the keychain only), status, identities, PKCS#12 import (OpenSSL),
 * lock and unlock, restart, config.json (absent, used, unusable), mail that starts only once
 * an identity is imported, and no D-Bus session (starts locked, says why, creates nothing).
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { LOCKABLE_SETTING_LIST } from '../../hisp/api/lists.js';
import { parseCertificate } from '../../hisp/certs/certificate.js';
import { parseDesktopArgs } from '../../hisp/host/utility.js';
import {
  createSelfSignedServerCert,
  createTestCa,
  findBinary,
  freePort,
  issueEndEntityCert,
  makeTempDir,
  runToEnd,
  spawnDaemon,
  startKeyring,
  waitForOutput,
  type KeyringHandle,
  type TempDir,
  type TestEndEntity,
} from '../services/index.js';
import { bundleForChild } from '../services/bundle.js';
import { opensslPkcs12 } from '../services/openssl-direct.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

interface Step {
  readonly method: string;
  readonly ok: boolean;
  readonly value?: unknown;
  readonly code?: string;
  readonly message?: string;
}

interface ComponentStatus {
  readonly name: string;
  readonly state: string;
  readonly detail?: string;
}

interface StatusLike {
  readonly state: string;
  readonly mode: string;
  readonly profile: { readonly name: string; readonly throwaway: boolean };
  readonly components: readonly ComponentStatus[];
}

interface Run {
  /** What the HISP posted to the parent port. */
  readonly parent: unknown[];
  /** The first `status` event of a window that connected while the HISP was starting. */
  readonly early: StatusLike;
  readonly steps: Step[];
  /** The windows saw their channel close when the HISP stopped. */
  readonly closedOnStop: boolean;
}

/**
 * Runs in the child. argv: [bundle URL, JSON {argv, calls}]. Starts the desktop HISP with a
 * fake parent port; one window connects before it is up, another after; the calls run on the
 * second, in order, each answered or failed with its code.
 */
const CHILD = `
const [bundleUrl, json] = process.argv.slice(1);
const m = await import(bundleUrl);
const { MessageChannel } = await import('node:worker_threads');
const { EventEmitter } = await import('node:events');
const { argv, calls } = JSON.parse(json);
const parent = new EventEmitter();
const posted = [];
const parentPort = {
  on: (event, listener) => parent.on(event, listener),
  postMessage: (message) => posted.push(message),
};
// Electron's MessagePortMain: events are { data } objects on an EventEmitter.
const mainPort = (port) => ({
  on: (event, listener) =>
    event === 'message' ? port.on('message', (data) => listener({ data })) : port.on('close', listener),
  postMessage: (message) => port.postMessage(message),
  start: () => port.start(),
  close: () => port.close(),
});
const windowsClosed = [];
const openWindow = () => {
  const { port1, port2 } = new MessageChannel();
  // The window's end hears its port close (the preload reports that as CHANNEL_CLOSED).
  windowsClosed.push(new Promise((resolve) => port2.once('close', resolve)));
  parent.emit('message', { data: { type: 'connect' }, ports: [mainPort(port1)] });
  return new m.HispClient(new m.EventPortTransport(port2), { timeoutMs: 30000 });
};
const starting = m.startDesktopHisp(parentPort, argv);
const early = openWindow();
const earlyStatus = new Promise((resolve) => early.on('status', resolve));
const desktop = await starting;
const window = openWindow();
const steps = [];
for (const [method, params] of calls) {
  try {
    steps.push({ method, ok: true, value: await window.call(method, params) });
  } catch (error) {
    steps.push({ method, ok: false, code: error.code, message: error.message });
  }
}
await desktop.stop();
const closedOnStop = await Promise.race([
  Promise.all(windowsClosed).then(() => true),
  new Promise((resolve) => setTimeout(() => resolve(false), 5000)),
]);
process.stdout.write(JSON.stringify({ parent: posted, early: await earlyStatus, steps, closedOnStop }), () =>
  process.exit(0),
);
`;

let bundleDir: TempDir | undefined;
let bundleUrl = '';
let keyring: KeyringHandle | undefined;
let tmp: TempDir | undefined;
let alice: TestEndEntity;
let p12Base64 = '';
const P12_PASSWORD = 'desktop p12 pw';

beforeAll(async () => {
  bundleDir = await makeTempDir('desktop-hisp-bundle');
  bundleUrl = (
    await bundleForChild(
      [
        "export { startDesktopHisp } from './hisp/host/utility.ts';",
        "export { HispClient, EventPortTransport } from './hisp/api/index.ts';",
      ].join('\n'),
      bundleDir.path,
      'desktop-hisp.mjs',
    )
  ).url;
  tmp = await makeTempDir('desktop-hisp');
  const ca = await createTestCa(tmp.path);
  alice = await issueEndEntityCert(ca, tmp.path, { email: 'alice@clinic.test' });
  const p12Path = join(tmp.path, 'alice.p12');
  await opensslPkcs12(alice, p12Path, P12_PASSWORD, { chain: ca.certPath });
  p12Base64 = (await readFile(p12Path)).toString('base64');
  keyring = await startKeyring();
}, 60_000);

afterAll(async () => {
  await keyring?.stop();
  await tmp?.remove();
  await bundleDir?.remove();
});

/** One run of the desktop HISP in the keyring's session (or in `env`). */
async function runDesktop(
  argv: readonly string[],
  calls: readonly (readonly [string, Record<string, unknown>])[],
  env?: NodeJS.ProcessEnv,
): Promise<Run> {
  if (keyring === undefined) throw new Error('no keyring');
  const args = ['--input-type=module', '-e', CHILD, bundleUrl, JSON.stringify({ argv, calls })];
  const result =
    env === undefined
      ? await keyring.runNode(args, { cwd: keyring.dir, timeoutMs: 60_000 })
      : await runNodeIn(env, args);
  try {
    return JSON.parse(result.stdout) as Run;
  } catch {
    throw new Error(`the child printed no result: ${result.stdout}\n${result.stderr}`);
  }
}

/** `node args` with exactly `env` (the keychain-unavailable case: no session bus). */
async function runNodeIn(
  env: NodeJS.ProcessEnv,
  args: readonly string[],
): Promise<{ stdout: string; stderr: string }> {
  const result = await runToEnd(process.execPath, [...args], { env, timeoutMs: 60_000 });
  return { stdout: result.stdout, stderr: result.stderr };
}

const component = (status: StatusLike, name: string) =>
  status.components.find((entry) => entry.name === name);

function value<T>(step: Step | undefined): T {
  if (step?.ok !== true) throw new Error(`call failed: ${JSON.stringify(step)}`);
  return step.value as T;
}

/** The master key's bytes via `secret-tool lookup` (an independent Secret Service client). */
async function masterKeyInKeychain(profileId: string): Promise<Buffer> {
  if (keyring === undefined) throw new Error('no keyring');
  const lookup = await runToEnd(
    findBinary('secret-tool', 'libsecret-tools'),
    ['lookup', 'service', 'Sealpost', 'username', `profile:${profileId}:master-key`],
    { env: keyring.env },
  );
  return lookup.bytes;
}

describe('the desktop HISP on <data-dir>/profile', () => {
  let dataDir = '';
  let profileId = '';
  const fingerprint = () => parseCertificate(alice.certDer).fingerprintSha256;

  it('first run: creates the profile with its key in the keychain; windows get the status; identities, importIdentity, lock and unlock work', async () => {
    if (tmp === undefined) throw new Error('setup failed');
    dataDir = join(tmp.path, 'user-data');
    const run = await runDesktop(
      ['--data-dir', dataDir],
      [
        ['status', {}],
        ['identities', {}],
        ['importIdentity', { pkcs12Base64: p12Base64, password: P12_PASSWORD }],
        ['identities', {}],
        ['lock', {}],
        ['identities', {}],
        ['unlock', { passphrase: 'a keychain profile takes none' }],
        ['unlock', {}],
        ['identities', {}],
      ],
    );
    expect(run.parent).toEqual([{ type: 'ready' }]);
    // The window that connected while the profile was being created was connected after.
    expect(run.early).toMatchObject({ state: 'ready', mode: 'desktop' });
    expect(run.early.profile).toEqual({ name: join(dataDir, 'profile'), throwaway: false });

    const [status, empty, imported, listed, locked, whileLocked, withPass, unlocked, again] =
      run.steps;
    const ready = value<StatusLike>(status);
    expect(ready.state).toBe('ready');
    expect(component(ready, 'profile')).toEqual({
      name: 'profile',
      state: 'ok',
      detail: 'unlocked (key in the system keychain); locks after 15 min idle',
    });
    // No config.json and nothing set in Settings yet: nothing is relayed, and the status says so.
    expect(component(ready, 'config')).toBeUndefined();
    expect(component(ready, 'relay')).toMatchObject({
      state: 'off',
      detail: 'no relay configured: messages stay queued; 0 queued, 0 failed',
    });
    expect(component(ready, 'inbound')).toMatchObject({ state: 'off' });
    expect(component(ready, 'discovery')?.state).toBe('ok');

    expect(value<{ identities: unknown[] }>(empty).identities).toEqual([]);
    expect(value<{ identity: unknown; already: boolean }>(imported)).toMatchObject({
      already: false,
      identity: {
        fingerprintSha256: fingerprint(),
        addresses: [{ address: 'alice@clinic.test', bound: 'address' }],
        keyLocation: 'keychain',
      },
    });
    expect(
      value<{ identities: { address: string }[] }>(listed).identities.map((i) => i.address),
    ).toEqual(['alice@clinic.test']);
    expect(value<StatusLike>(locked).state).toBe('locked');
    expect(whileLocked).toMatchObject({ ok: false, code: 'PROFILE_LOCKED' });
    // Keychain profile: unlock takes no passphrase, and refuses one.
    expect(withPass).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
    expect(value<StatusLike>(unlocked).state).toBe('ready');
    expect(
      value<{ identities: { address: string }[] }>(again).identities.map((i) => i.address),
    ).toEqual(['alice@clinic.test']);
    expect(run.closedOnStop).toBe(true);

    // The profile: keychain kind, its 32-byte key in the Secret Service and in no file.
    const info = JSON.parse(await readFile(join(dataDir, 'profile', 'profile.json'), 'utf8')) as {
      id: string;
      keySource: string;
    };
    expect(info.keySource).toBe('keychain');
    expect(existsSync(join(dataDir, 'profile', 'vault.json'))).toBe(false);
    profileId = info.id;
    const key = await masterKeyInKeychain(profileId);
    expect(key.byteLength).toBe(32);
    const files = (await readdir(dataDir, { recursive: true, withFileTypes: true }))
      .filter((entry) => entry.isFile())
      .map((entry) => join(entry.parentPath, entry.name));
    expect(files.some((file) => file.endsWith('sealpost.db'))).toBe(true);
    for (const file of files) {
      const content = await readFile(file);
      for (const form of [
        key,
        Buffer.from(key.toString('hex')),
        Buffer.from(key.toString('base64')),
      ]) {
        expect(content.includes(form), file).toBe(false);
      }
    }
  });

  it('a restart on the same data directory reopens the same profile, with its identity', async () => {
    expect(profileId).not.toBe('');
    const run = await runDesktop(
      ['--data-dir', dataDir, '--auto-lock-minutes', '3'],
      [
        ['status', {}],
        ['identities', {}],
      ],
    );
    const [status, identities] = run.steps;
    expect(value<StatusLike>(status).state).toBe('ready');
    expect(component(value<StatusLike>(status), 'profile')?.detail).toBe(
      'unlocked (key in the system keychain); locks after 3 min idle',
    );
    expect(
      value<{ identities: { fingerprintSha256: string }[] }>(identities).identities.map(
        (i) => i.fingerprintSha256,
      ),
    ).toEqual([fingerprint()]);
    const info = JSON.parse(await readFile(join(dataDir, 'profile', 'profile.json'), 'utf8')) as {
      id: string;
    };
    expect(info.id).toBe(profileId);
  });

  it('config.json in the serve format sets up mail; one that cannot be used is reported in the status, and no relay runs', async () => {
    if (tmp === undefined) throw new Error('setup failed');
    await writeFile(
      join(dataDir, 'config.json'),
      JSON.stringify({
        relay: { smarthost: { host: '127.0.0.1', port: 2525, secure: 'starttls' } },
        dns: ['127.0.0.1:5353'],
      }),
    );
    const configured = value<StatusLike>(
      (await runDesktop(['--data-dir', dataDir], [['status', {}]])).steps[0],
    );
    expect(component(configured, 'config')).toBeUndefined();
    expect(component(configured, 'relay')?.detail).toContain('smarthost 127.0.0.1:2525');
    expect(component(configured, 'discovery')?.detail).toContain('DNS 127.0.0.1:5353');

    await writeFile(
      join(dataDir, 'config.json'),
      JSON.stringify({ relay: { smarthost: { host: '127.0.0.1', port: 'many' } } }),
    );
    const broken = value<StatusLike>(
      (await runDesktop(['--data-dir', dataDir], [['status', {}]])).steps[0],
    );
    expect(broken.state).toBe('ready');
    expect(component(broken, 'config')).toMatchObject({ state: 'down' });
    expect(component(broken, 'config')?.detail).toContain('relay.smarthost.port');
    expect(component(broken, 'config')?.detail).toContain('none of it is used');
    expect(component(broken, 'relay')).toMatchObject({ state: 'off' });

    await writeFile(join(dataDir, 'config.json'), '{ "relay": ');
    const notJson = value<StatusLike>(
      (await runDesktop(['--data-dir', dataDir], [['status', {}]])).steps[0],
    );
    expect(component(notJson, 'config')?.detail).toBe(
      `${join(dataDir, 'config.json')} cannot be used (not valid JSON): none of it is used; what it would set is not sent or received, and messages wait in the Outbox`,
    );
  });

  it('Settings and the machine policy (--policy-file): auto-lock set in Settings applies at once; what the policy locks is refused; a policy that cannot be read locks everything and says why', async () => {
    if (tmp === undefined) throw new Error('setup failed');
    const dir = join(tmp.path, 'policy-desk');
    await mkdir(dir, { mode: 0o700 });
    const policyFile = join(tmp.path, 'desk-policy.json');
    await writeFile(
      policyFile,
      JSON.stringify({
        relay: { smarthost: { host: 'relay.clinic.test', port: 587, secure: 'starttls' } },
        delivery: { timeoutHours: 4 },
        lockedSettings: ['relay', 'delivery'],
      }),
    );
    const run = await runDesktop(
      ['--data-dir', dir, '--policy-file', policyFile],
      [
        ['getPreferences', {}],
        ['updatePreferences', { autoLockMinutes: 5 }],
        ['status', {}],
        [
          'updatePreferences',
          { delivery: { timeoutHours: 1, requestDispatched: true, silenceAlertHours: 0 } },
        ],
        ['updatePreferences', { relay: { kind: 'mx', exceptions: [] } }],
        ['status', {}],
      ],
    );
    const [view, saved, status, delivery, relay, after] = run.steps;
    expect(value<Record<string, unknown>>(view)).toMatchObject({
      relay: {
        value: { kind: 'smarthost', host: 'relay.clinic.test', port: 587, passwordSet: false },
        source: 'organisation',
        managedFields: ['kind', 'host', 'port', 'secure'],
      },
      delivery: { value: { timeoutHours: 4 }, source: 'organisation' },
      autoLock: { value: 15, source: 'profile' },
      policyFile,
      managed: ['relay', 'delivery'],
      dataLocation: dir,
    });
    expect(value<Record<string, unknown>>(saved)).toMatchObject({ autoLock: { value: 5 } });
    expect(component(value<StatusLike>(status), 'profile')?.detail).toContain(
      'locks after 5 min idle',
    );
    expect(delivery).toMatchObject({ ok: false, code: 'SETTING_MANAGED' });
    expect(relay).toMatchObject({ ok: false, code: 'SETTING_MANAGED' });
    // The organisation's relay runs (no account named, so none is logged in to).
    expect(component(value<StatusLike>(after), 'relay')?.detail).toContain(
      'smarthost relay.clinic.test:587',
    );

    await writeFile(policyFile, JSON.stringify({ lockedSettings: ['everything'] }));
    const broken = await runDesktop(
      ['--data-dir', dir, '--policy-file', policyFile],
      [
        ['status', {}],
        ['getPreferences', {}],
        ['updatePreferences', { autoLockMinutes: 10 }],
      ],
    );
    const [brokenStatus, brokenView, refused] = broken.steps;
    expect(component(value<StatusLike>(brokenStatus), 'policy')).toMatchObject({ state: 'down' });
    expect(component(value<StatusLike>(brokenStatus), 'policy')?.detail).toContain(policyFile);
    const locked = value<{ managed: string[]; policyProblem?: string; autoUpdate: boolean }>(
      brokenView,
    );
    expect(locked.managed).toEqual([...LOCKABLE_SETTING_LIST]);
    expect(locked.policyProblem).toContain('lockedSettings');
    expect(locked.autoUpdate).toBe(false);
    expect(refused).toMatchObject({ ok: false, code: 'SETTING_MANAGED' });
  });
});

describe('the desktop HISP’s mail', () => {
  it('mail that cannot start yet (inbound SMTP, no identity) leaves the HISP running and says why; importing the identity starts it', async () => {
    if (tmp === undefined) throw new Error('setup failed');
    const dataDir = join(tmp.path, 'inbound-desk');
    await mkdir(dataDir, { mode: 0o700 });
    const tls = await createSelfSignedServerCert(tmp.path, { name: 'desk-smtp' });
    const port = await freePort();
    await writeFile(
      join(dataDir, 'config.json'),
      JSON.stringify({
        inbound: { listen: `127.0.0.1:${port}`, tlsCert: tls.certPath, tlsKey: tls.keyPath },
      }),
    );
    const run = await runDesktop(
      ['--data-dir', dataDir],
      [
        ['status', {}],
        ['importIdentity', { pkcs12Base64: p12Base64, password: P12_PASSWORD }],
        ['status', {}],
      ],
    );
    const [before, imported, after] = run.steps;
    expect(value<StatusLike>(before).state).toBe('ready');
    expect(component(value<StatusLike>(before), 'inbound')).toEqual({
      name: 'inbound',
      state: 'down',
      detail: 'not running (IDENTITY_NOT_FOUND); unlock the profile again to retry',
    });
    expect(imported?.ok, JSON.stringify(imported)).toBe(true);
    expect(component(value<StatusLike>(after), 'inbound')).toMatchObject({
      state: 'ok',
      detail: `SMTP on 127.0.0.1:${port} for clinic.test; 0 received`,
    });
  });
});

describe('the desktop HISP without a keychain', () => {
  it('no D-Bus session: starts locked, the status says why, nothing is created; unlock says it again', async () => {
    if (tmp === undefined || keyring === undefined) throw new Error('setup failed');
    const dataDir = join(tmp.path, 'no-keychain');
    // No bus address, and a runtime directory without the `bus` socket libdbus falls back to.
    const runtime = join(tmp.path, 'no-bus-runtime');
    await mkdir(runtime, { mode: 0o700 });
    const env: NodeJS.ProcessEnv = { ...keyring.env, XDG_RUNTIME_DIR: runtime };
    delete env['DBUS_SESSION_BUS_ADDRESS'];
    const run = await runDesktop(
      ['--data-dir', dataDir],
      [
        ['status', {}],
        ['unlock', {}],
        ['identities', {}],
      ],
      env,
    );
    expect(run.parent).toEqual([{ type: 'ready' }]);
    const [status, unlock, identities] = run.steps;
    const locked = value<StatusLike>(status);
    expect(locked.state).toBe('locked');
    const profile = component(locked, 'profile');
    expect(profile?.state).toBe('down');
    expect(profile?.detail).toMatch(
      /^locked: the profile could not be opened \(KEYCHAIN_UNAVAILABLE\): .*cannot be reached/,
    );
    expect(run.early.state).toBe('locked');
    expect(unlock).toMatchObject({ ok: false, code: 'KEYCHAIN_UNAVAILABLE' });
    expect(identities).toMatchObject({ ok: false, code: 'PROFILE_LOCKED' });
    // No silent fallback: no profile, no vault, no database was made.
    for (const file of ['profile.json', 'vault.json', 'sealpost.db']) {
      expect(existsSync(join(dataDir, 'profile', file)), file).toBe(false);
    }
  });
});

/**
 * The built entry as Electron runs it: `process.parentPort` is set before dist/hisp/utility.js
 * loads, the flags follow the script as `utilityProcess.fork` passes them. A window asks for
 * the status in raw wire messages; SIGTERM (what main's `kill()` sends) ends it.
 */
const ENTRY_CHILD = `
const [entryUrl] = process.argv.slice(1);
const { MessageChannel } = await import('node:worker_threads');
const { EventEmitter } = await import('node:events');
const parent = new EventEmitter();
process.parentPort = {
  on: (event, listener) => parent.on(event, listener),
  postMessage: (message) => {
    if (message.type !== 'ready') return;
    const { port1, port2 } = new MessageChannel();
    port2.on('message', (answer) => {
      if (answer.t === 'res') process.stdout.write('STATUS ' + JSON.stringify(answer) + '\\n');
    });
    parent.emit('message', {
      data: { type: 'connect' },
      ports: [{
        on: (event, listener) =>
          event === 'message' ? port1.on('message', (data) => listener({ data })) : port1.on('close', listener),
        postMessage: (m) => port1.postMessage(m),
        start: () => port1.start(),
        close: () => port1.close(),
      }],
    });
    port2.postMessage({ t: 'req', id: 1, method: 'status', params: {} });
  },
};
await import(entryUrl);
`;

describe('the built desktop entry (dist/hisp/utility.js)', () => {
  it('under a parent port it runs the practice on <data-dir>/profile; SIGTERM closes the profile and exits 0', async () => {
    if (tmp === undefined || keyring === undefined) throw new Error('setup failed');
    const entry = join(ROOT, 'dist', 'hisp', 'utility.js');
    if (!existsSync(entry)) {
      throw new Error(
        'dist/ is not built: run `node scripts/build.mjs hisp` first (npm test does)',
      );
    }
    const dataDir = join(tmp.path, 'entry-desk');
    const daemon = spawnDaemon({
      name: 'desktop-hisp',
      command: process.execPath,
      args: [
        '--input-type=module',
        '-e',
        ENTRY_CHILD,
        pathToFileURL(entry).href,
        '--data-dir',
        dataDir,
        '--auto-lock-minutes',
        '7',
      ],
      env: keyring.env,
      cwd: keyring.dir,
    });
    try {
      await waitForOutput(daemon, /^STATUS /m, { timeoutMs: 30_000 });
      const line =
        daemon
          .stdoutText()
          .split('\n')
          .find((l) => l.startsWith('STATUS ')) ?? '';
      const answer = JSON.parse(line.slice('STATUS '.length)) as {
        ok: boolean;
        result: StatusLike;
      };
      expect(answer.ok).toBe(true);
      expect(answer.result).toMatchObject({
        state: 'ready',
        mode: 'desktop',
        profile: { name: join(dataDir, 'profile'), throwaway: false },
      });
      expect(component(answer.result, 'profile')?.detail).toBe(
        'unlocked (key in the system keychain); locks after 7 min idle',
      );
      daemon.child.kill('SIGTERM');
      const exit = await daemon.exited;
      expect(exit.code, daemon.output()).toBe(0);
      expect(daemon.output()).toMatch(/"reason":"stop"[^\n]*"msg":"profile locked"/);
    } finally {
      await daemon.stop();
    }
  });
});

describe('the desktop HISP’s arguments', () => {
  it('needs an absolute --data-dir; --auto-lock-minutes is whole minutes up to 1440 (default 15)', () => {
    expect(parseDesktopArgs(['--data-dir', '/var/lib/x'])).toEqual({
      dataDir: '/var/lib/x',
      autoLockMinutes: 15,
    });
    expect(parseDesktopArgs(['--data-dir', '/x', '--auto-lock-minutes', '0']).autoLockMinutes).toBe(
      0,
    );
    for (const argv of [
      [],
      ['--data-dir', 'relative/dir'],
      ['--data-dir', '/x', '--auto-lock-minutes', '1441'],
      ['--data-dir', '/x', '--auto-lock-minutes', '-1'],
      ['--data-dir', '/x', '--auto-lock-minutes', '1.5'],
      ['--data-dir', '/x', '--unknown'],
      ['--data-dir', '/x', 'positional'],
    ]) {
      expect(() => parseDesktopArgs(argv), argv.join(' ')).toThrow(
        expect.objectContaining({ code: 'USAGE' }),
      );
    }
  });
});
