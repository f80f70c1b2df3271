/**
 * The OS keychain through `@napi-rs/keyring`: Secret Service on Linux (gnome-keyring,
 * KWallet, KeePassXC…), Keychain on macOS, Credential Manager on Windows.
 *
 * - Linux is pinned to the Secret Service (`{ linux: { store: 'secret-service' } }`). Without
 *   the pin the library silently falls back to the kernel keyring (keyutils), which lives in
 *   kernel memory and is lost on reboot — a master key kept there would lose the profile.
 *   Pinned, the library throws when the Secret Service cannot be reached, and we report
 *   KEYCHAIN_UNAVAILABLE naming the fixes (a desktop session / gnome-keyring, or the
 *   passphrase vault). There is no fallback of any kind here.
 * - Secrets are binary: the library's `setSecret`/`getSecret` (no base64 layer). The entry's
 *   attributes are `service` and `username` (= our account, e.g. `profile:<id>:master-key`);
 *   its label is fixed by the library as `keyring:<account>@<service>`.
 * - The library connects to D-Bus synchronously when an entry is made and, if the bus socket
 *   accepts but never answers, blocks there indefinitely (measured: > 60 s). So on Linux we
 *   first do the D-Bus authentication handshake ourselves, asynchronously and with a timeout,
 *   and report KEYCHAIN_UNAVAILABLE when the bus does not answer. Reads, writes and deletes
 *   then run on the library's worker threads (`AsyncEntry`) with an abort timeout.
 * - Library errors become HispErrors with KEYCHAIN_* codes and a message an IT person can act
 *   on; the library's error stays as `cause`. Messages never contain secrets.
 */
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

import type * as keyringTypes from '@napi-rs/keyring';
import type { LinuxStore } from '@napi-rs/keyring';

import { type ErrorCode, HispError } from '../api/errors.js';

export const DEFAULT_KEYCHAIN_SERVICE = 'Sealpost';

/** How long a read, write or delete may take (an unlock prompt may be waiting for a person). */
export const DEFAULT_KEYCHAIN_TIMEOUT_MS = 120_000;
/** How long the D-Bus session bus may take to answer the authentication handshake. */
export const DEFAULT_BUS_PROBE_TIMEOUT_MS = 5_000;

/** Largest secret we store (a PEM RSA-4096 private key is ~3.3 KB). */
export const MAX_KEYCHAIN_SECRET_BYTES = 16 * 1024;

export interface KeychainOptions {
  /** The keychain "service" every entry is filed under. Default 'Sealpost'. */
  service?: string;
  /** Timeout of one read, write or delete, in ms. Default 120 s. */
  timeoutMs?: number;
  /** Timeout of the D-Bus handshake made before each operation on Linux, in ms. Default 5 s. */
  busProbeTimeoutMs?: number;
}

/** A general secret store in the OS keychain: master keys now, private keys later. */
export interface Keychain {
  readonly service: string;
  /** The secret, or undefined when there is no entry for `account`. */
  get(account: string): Promise<Buffer | undefined>;
  /** Create or replace the entry for `account`. */
  set(account: string, secret: Buffer): Promise<void>;
  /** Remove the entry; true if there was one. */
  delete(account: string): Promise<boolean>;
}

type KeyringModule = typeof keyringTypes;
type AsyncEntry = InstanceType<KeyringModule['AsyncEntry']>;

/** The library's `LinuxStore.SecretService` (the runtime object is not in its .d.ts). */
const SECRET_SERVICE: LinuxStore = 'secret-service';

let keyringModule: Promise<KeyringModule> | undefined;

function loadKeyring(): Promise<KeyringModule> {
  // Loaded on first use so that a profile on the passphrase vault never loads the native
  // module, and a platform without a prebuilt binary gets a typed error, not a crash.
  keyringModule ??= import('@napi-rs/keyring').catch((err: unknown) => {
    keyringModule = undefined;
    throw new HispError(
      'KEYCHAIN_UNAVAILABLE',
      `The keychain library could not be loaded on this system (${platformName()}). Choose the passphrase vault in the profile's settings.`,
      { cause: err },
    );
  });
  return keyringModule;
}

function platformName(): string {
  return `${process.platform}-${process.arch}`;
}

const ACCOUNT_PATTERN = /^[\x21-\x7e]{1,256}$/; // printable ASCII, no spaces

function checkAccount(account: string): void {
  if (typeof account !== 'string' || !ACCOUNT_PATTERN.test(account)) {
    throw new HispError(
      'INTERNAL',
      'Keychain account names must be 1-256 printable ASCII characters without spaces.',
    );
  }
}

/** Open the keychain. Nothing is contacted until the first get/set/delete. */
export function openKeychain(options: KeychainOptions = {}): Keychain {
  const service = options.service ?? DEFAULT_KEYCHAIN_SERVICE;
  checkAccount(service);
  const timeoutMs = options.timeoutMs ?? DEFAULT_KEYCHAIN_TIMEOUT_MS;
  const probeTimeoutMs = options.busProbeTimeoutMs ?? DEFAULT_BUS_PROBE_TIMEOUT_MS;

  async function entry(account: string): Promise<AsyncEntry> {
    checkAccount(account);
    const keyring = await loadKeyring();
    if (process.platform === 'linux') await probeSessionBus(process.env, probeTimeoutMs);
    try {
      // The pin: on Linux, Secret Service or an error — never the kernel keyring.
      return new keyring.AsyncEntry(service, account, {
        linux: { store: SECRET_SERVICE },
      });
    } catch (err) {
      throw keychainError(err, { service, account });
    }
  }

  async function withEntry<T>(
    account: string,
    op: (e: AsyncEntry, signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const e = await entry(account);
    try {
      return await op(e, AbortSignal.timeout(timeoutMs));
    } catch (err) {
      throw keychainError(err, { service, account, timeoutMs });
    }
  }

  return {
    service,
    get: (account) =>
      withEntry(account, async (e, signal) => {
        const bytes = await e.getSecret(signal);
        if (bytes === null) return undefined;
        const secret = Buffer.from(bytes);
        bytes.fill(0);
        return secret;
      }),
    set: (account, secret) => {
      if (!Buffer.isBuffer(secret) || secret.length === 0) {
        return Promise.reject(new HispError('INTERNAL', 'A keychain secret must be bytes.'));
      }
      if (secret.length > MAX_KEYCHAIN_SECRET_BYTES) {
        return Promise.reject(
          new HispError(
            'LIMIT_EXCEEDED',
            `A keychain secret may be at most ${MAX_KEYCHAIN_SECRET_BYTES} bytes.`,
          ),
        );
      }
      return withEntry(account, (e, signal) => e.setSecret(secret, signal));
    },
    delete: (account) => withEntry(account, (e, signal) => e.deleteCredential(signal)),
  };
}

// ── Error mapping ────────────────────────────────────────────────────────────────────────────

/**
 * The library's errors (measured with 2.1.2 on Linux): plain `Error`s with `code:
 * 'GenericFailure'` and a `cause` chain; the variant is only in the message:
 * - "Platform failure: DBus error: Failed to connect to socket …" (bus socket missing),
 *   "… Using X11 for dbus-daemon autolaunch was disabled …" (no session bus at all),
 *   "… The name org.freedesktop.secrets was not provided by any .service files" (a bus but no
 *   Secret Service) — all thrown by the entry constructor;
 * - "Couldn't access platform storage: Secret Service: unlock prompt was dismissed" (the
 *   collection is locked and no unlock prompt could be shown, or the person cancelled it);
 * - "Entry is matched by 2 credentials: …" (Ambiguous: another program stored an item whose
 *   attributes include ours — Secret Service search matches on a subset), measured;
 * - "No matching credential found" (NoEntry; get/delete report a missing entry as null/false,
 *   so this is not expected on Linux).
 */
const LOCKED =
  /object locked|unlock prompt was dismissed|prompt dismissed|IsLocked|is locked|keychain is locked|interaction is not allowed|errSecInteractionNotAllowed|-25308/i;
const DENIED =
  /access denied|AccessDenied|permission denied|not permitted|not authorized|authorization|denied|errSecAuthFailed|user canceled|userCanceled|-128\b|-25293/i;
/** The bus or the service is not there: checked before DENIED ("…socket: Permission denied"). */
const UNREACHABLE =
  /Failed to connect to socket|No DBus session|no secret service|was not provided by any \.service files|ServiceUnknown|autolaunch|Address does not contain|No default store/i;
const UNAVAILABLE = /DBus error|D-Bus|dbus-daemon|NoReply|Disconnected|Platform failure/i;
const MISSING = /No matching (entry|credential)|NoEntry/i;
const AMBIGUOUS = /is matched by \d+ credentials|ambiguous/i;

/** The messages of an error and its causes, outermost first (bounded). */
function messageChain(err: unknown): string[] {
  const out: string[] = [];
  let current: unknown = err;
  for (let depth = 0; depth < 8 && current !== undefined && current !== null; depth += 1) {
    if (current instanceof Error) {
      out.push(current.message);
      current = (current as { cause?: unknown }).cause;
    } else {
      out.push(typeof current === 'string' ? current : 'non-Error value');
      break;
    }
  }
  return out;
}

/** The innermost, most specific reason the library gave (for the message, not a secret). */
function libraryReason(err: unknown): string {
  const chain = messageChain(err);
  const reason = chain[chain.length - 1] ?? 'unknown error';
  return reason.length > 300 ? `${reason.slice(0, 300)}…` : reason;
}

function isAbort(err: unknown): boolean {
  return (
    err instanceof Error &&
    (err.name === 'AbortError' || err.name === 'TimeoutError' || /abort/i.test(err.message))
  );
}

const UNAVAILABLE_FIX: Partial<Record<NodeJS.Platform, string>> = {
  linux:
    "Log in to a desktop session (or start gnome-keyring in this session: `gnome-keyring-daemon --start --components=secrets`), or choose the passphrase vault in the profile's settings. Sealpost does not fall back to the kernel keyring, which is lost on reboot.",
  darwin:
    "Run Sealpost as a user logged in to macOS, or choose the passphrase vault in the profile's settings.",
  win32:
    "Run Sealpost as a logged-in Windows user, or choose the passphrase vault in the profile's settings.",
};

const KEYCHAIN_NAME: Partial<Record<NodeJS.Platform, string>> = {
  linux: 'The Secret Service (gnome-keyring, KWallet or KeePassXC on the D-Bus session bus)',
  darwin: 'The macOS Keychain',
  win32: 'The Windows Credential Manager',
};

function unavailableFix(): string {
  return (
    UNAVAILABLE_FIX[process.platform] ?? "Choose the passphrase vault in the profile's settings."
  );
}

function keychainName(): string {
  return KEYCHAIN_NAME[process.platform] ?? 'The system keychain';
}

/**
 * Map anything the keychain library threw to a HispError with a KEYCHAIN_* code (or INTERNAL
 * for what is a bug or a foreign, ambiguous entry). HispErrors pass through.
 */
export function keychainError(
  err: unknown,
  context: { service: string; account: string; timeoutMs?: number },
): HispError {
  if (err instanceof HispError) return err;
  const where = `the entry "${context.account}" (service "${context.service}")`;
  const reason = libraryReason(err);
  const make = (code: ErrorCode, message: string): HispError =>
    new HispError(code, message, { cause: err });

  if (isAbort(err)) {
    const seconds = context.timeoutMs === undefined ? '' : ` within ${context.timeoutMs / 1000} s`;
    return make(
      'KEYCHAIN_UNAVAILABLE',
      `${keychainName()} did not answer${seconds} while Sealpost was using ${where}. If an unlock prompt is open, answer it and try again; otherwise restart the keyring. ${unavailableFix()}`,
    );
  }
  const text = messageChain(err).join(' | ');
  if (UNREACHABLE.test(text)) {
    return make(
      'KEYCHAIN_UNAVAILABLE',
      `${keychainName()} cannot be reached (${reason}). ${unavailableFix()}`,
    );
  }
  if (LOCKED.test(text)) {
    return make(
      'KEYCHAIN_LOCKED',
      `The keychain that holds ${where} is locked and was not unlocked (${reason}). Unlock it — log in to the desktop session, or unlock the "login" keyring in your keyring manager (Passwords and Keys / Seahorse) — and try again.`,
    );
  }
  if (MISSING.test(text)) {
    return make('KEYCHAIN_ENTRY_MISSING', `There is no ${where} in the keychain (${reason}).`);
  }
  if (AMBIGUOUS.test(text)) {
    return make(
      'INTERNAL',
      `The keychain holds more than one entry matching ${where}, which Sealpost never writes; another program made one. Remove the extra entry in your keyring manager (${reason}).`,
    );
  }
  if (DENIED.test(text)) {
    return make(
      'KEYCHAIN_DENIED',
      `The keychain refused Sealpost access to ${where} (${reason}). Allow Sealpost access to it in your keychain manager (on macOS: Keychain Access, the entry's Access Control), then try again.`,
    );
  }
  if (UNAVAILABLE.test(text)) {
    return make(
      'KEYCHAIN_UNAVAILABLE',
      `${keychainName()} cannot be reached (${reason}). ${unavailableFix()}`,
    );
  }
  if (/Couldn't access platform storage|NoStorageAccess/i.test(text)) {
    // The library's "no storage access" without a recognised reason: the store is there but
    // would not let us in.
    return make(
      'KEYCHAIN_DENIED',
      `The keychain would not let Sealpost use ${where} (${reason}). Check that it is unlocked and that Sealpost is allowed to use it.`,
    );
  }
  return make('INTERNAL', `The keychain failed on ${where} (${reason}).`);
}

// ── D-Bus session bus probe (Linux) ──────────────────────────────────────────────────────────

/** Where libdbus would connect for the session bus: the first unix address, if we can tell. */
export function sessionBusSocket(env: NodeJS.ProcessEnv): string | undefined {
  const address = env['DBUS_SESSION_BUS_ADDRESS'];
  if (address === undefined || address === '') {
    // libdbus falls back to $XDG_RUNTIME_DIR/bus when it exists.
    const runtime = env['XDG_RUNTIME_DIR'];
    if (runtime) {
      const bus = join(runtime, 'bus');
      if (existsSync(bus)) return bus;
    }
    return undefined;
  }
  const first = address.split(';')[0] ?? '';
  const colon = first.indexOf(':');
  if (colon < 0 || first.slice(0, colon) !== 'unix') return undefined;
  for (const pair of first.slice(colon + 1).split(',')) {
    const eq = pair.indexOf('=');
    if (eq < 0) continue;
    const key = pair.slice(0, eq);
    let value: string;
    try {
      value = decodeURIComponent(pair.slice(eq + 1));
    } catch {
      return undefined;
    }
    if (key === 'path') return value;
    if (key === 'abstract') return `\0${value}`;
    if (key === 'runtime' && value === 'yes' && env['XDG_RUNTIME_DIR']) {
      return join(env['XDG_RUNTIME_DIR'], 'bus');
    }
  }
  return undefined;
}

/**
 * Connect to the session bus and do the start of the D-Bus authentication (SASL EXTERNAL),
 * with a timeout, then hang up. Resolves when the bus answers; throws KEYCHAIN_UNAVAILABLE when
 * it is missing, refuses us or stays silent. Addresses we cannot read (tcp:, launchd:, none)
 * are left to the library, which fails fast on them.
 */
export function probeSessionBus(env: NodeJS.ProcessEnv, timeoutMs: number): Promise<void> {
  const path = sessionBusSocket(env);
  if (path === undefined) return Promise.resolve();
  const shown = path.startsWith('\0') ? `@${path.slice(1)}` : path;
  return new Promise<void>((resolve, reject) => {
    const socket = connect({ path });
    let answer = '';
    const fail = (why: string, cause?: unknown): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(
        new HispError(
          'KEYCHAIN_UNAVAILABLE',
          `${keychainName()} cannot be reached: the D-Bus session bus at ${shown} ${why}. ${unavailableFix()}`,
          cause === undefined ? undefined : { cause },
        ),
      );
    };
    const timer = setTimeout(() => {
      fail(`did not answer within ${timeoutMs / 1000} s`);
    }, timeoutMs);
    socket.on('connect', () => {
      const uid = typeof process.getuid === 'function' ? String(process.getuid()) : '';
      socket.write(`\0AUTH EXTERNAL ${Buffer.from(uid).toString('hex')}\r\n`);
    });
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('latin1');
      if (!answer.includes('\r\n')) return;
      clearTimeout(timer);
      socket.destroy();
      if (answer.startsWith('OK ')) resolve();
      else fail(`refused the connection (${answer.trim().slice(0, 80)})`);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      fail(`could not be connected to (${err.code ?? err.message})`, err);
    });
    socket.on('close', () => {
      if (!answer.includes('\r\n')) fail('closed the connection without answering');
    });
  });
}
