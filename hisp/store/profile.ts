/**
 * A profile: one practice identity's directory (mode 700) holding
 *   profile.json  — id, where the master key lives, a key check value (no secret)
 *   sealpost.db   — the encrypted database (+ its -wal and -shm files)
 *   vault.json    — only for a passphrase-vault profile: the wrapped master key
 * The master key itself is in the OS keychain or wrapped in the vault; never on disk in
 * plaintext (DESIGN.md §5).
 *
 * The key check value (HMAC-SHA256 of a fixed label under the master key) tells a wrong key
 * (the keychain entry belongs to another profile) from a damaged database, which SQLite
 * reports alike; it reveals nothing about the key.
 */
import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { lstat, mkdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { HispError } from '../api/errors.js';
import type { MasterKeySource } from '../keys/masterKey.js';
import { EncryptedDatabase } from './database.js';
import { MIGRATIONS } from './migrations.js';

export const PROFILE_FILE = 'profile.json';
export const DATABASE_FILE = 'sealpost.db';
export const VAULT_FILE = 'vault.json';
/** Written by `sealpost serve` while it runs: {url, token, pid} of its loopback bridge (600). */
export const BRIDGE_FILE = 'bridge.json';

const PROFILE_FORMAT = 'sealpost-profile';
const PROFILE_VERSION = 1;
const KEY_CHECK_LABEL = 'sealpost profile key check v1';

export type KeySourceKind = MasterKeySource['kind'];

export interface ProfileInfo {
  readonly format: typeof PROFILE_FORMAT;
  readonly version: number;
  readonly id: string;
  readonly createdAt: string;
  readonly keySource: KeySourceKind;
  readonly keyCheck: string;
}

/** Gives the key source a profile needs: the keychain, or the vault with its passphrase. */
export type KeySourceFor = (kind: KeySourceKind, profileDir: string) => MasterKeySource;

/** Keys derived from the master key for one purpose each (HKDF-SHA256). */
export type SubkeyPurpose = 'audit' | 'key-wrap';

function deriveSubkeys(masterKey: Uint8Array): Map<SubkeyPurpose, Buffer> {
  const purposes: SubkeyPurpose[] = ['audit', 'key-wrap'];
  return new Map(
    purposes.map((purpose) => [
      purpose,
      Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), `sealpost ${purpose} v1`, 32)),
    ]),
  );
}

export class Profile {
  readonly dir: string;
  readonly info: ProfileInfo;
  readonly db: EncryptedDatabase;
  readonly #subkeys: Map<SubkeyPurpose, Buffer>;

  constructor(
    dir: string,
    info: ProfileInfo,
    db: EncryptedDatabase,
    subkeys: Map<SubkeyPurpose, Buffer>,
  ) {
    this.dir = dir;
    this.info = info;
    this.db = db;
    this.#subkeys = subkeys;
  }

  get id(): string {
    return this.info.id;
  }

  /**
   * A 32-byte key for one purpose (the audit chain's HMAC, wrapping private keys kept in the
   * database), derived from the master key at open and zeroed at close. The master key itself
   * is not kept.
   */
  subkey(purpose: SubkeyPurpose): Buffer {
    const key = this.#subkeys.get(purpose);
    if (key === undefined || !this.db.isOpen) {
      throw new HispError(
        'PROFILE_LOCKED',
        'The profile is locked (closed). Unlock it to continue.',
      );
    }
    return key;
  }

  /** Closes the database and zeroes the derived keys (what locking does). */
  close(): void {
    this.db.close();
    for (const key of this.#subkeys.values()) key.fill(0);
    this.#subkeys.clear();
  }
}

function keyCheck(key: Uint8Array): string {
  return createHmac('sha256', key).update(KEY_CHECK_LABEL).digest('hex');
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/**
 * `mkdir -p`: `path` and any missing parents, new ones with `mode`. Not Node's recursive
 * mkdir, which loops forever where mkdir answers ENOENT under a parent that exists (/proc and
 * /sys do: `sealpost profile init --profile /proc/x` spun at full CPU). Throws the errno
 * error of the step that failed (ENOTDIR when `path` is there and is not a directory).
 */
export async function makeDirectories(path: string, mode: number): Promise<void> {
  const missing: string[] = [];
  for (let current = resolve(path); ; current = dirname(current)) {
    try {
      await mkdir(current, { mode });
      break;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') {
        if ((await stat(current)).isDirectory()) break;
        throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${current}'`), {
          code: 'ENOTDIR',
        });
      }
      if (code !== 'ENOENT' || dirname(current) === current) throw error;
      missing.push(current);
    }
  }
  for (const dir of missing.reverse()) await mkdir(dir, { mode });
}

/**
 * Written whole or not at all, owner-only: into a new file beside `path`
 * (`.NAME.RANDOM.partial`), renamed over it once every chunk is written; on any failure that
 * file is removed and `path` is as it was. Synchronous, so the chunks can be produced while
 * they are written, never all held at once. Throws the file system's error (its `syscall`
 * says which step failed) or whatever `chunks` threw.
 */
export function writeWholeFileSync(path: string, chunks: Iterable<Uint8Array>): void {
  const temporary = join(
    dirname(path),
    `.${basename(path)}.${randomBytes(6).toString('hex')}.partial`,
  );
  const fd = openSync(temporary, 'wx', 0o600);
  try {
    try {
      writeChunksSync(fd, chunks);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}

/** Every chunk to `fd`, each to its last byte. */
export function writeChunksSync(fd: number, chunks: Iterable<Uint8Array>): void {
  for (const chunk of chunks) {
    for (let done = 0; done < chunk.byteLength;) done += writeSync(fd, chunk, done);
  }
}

/** A small file written whole or not at all, readable by the owner only (writeWholeFileSync). */
export function writePrivateFile(path: string, content: string | Uint8Array): Promise<void> {
  writeWholeFileSync(path, [typeof content === 'string' ? Buffer.from(content, 'utf8') : content]);
  return Promise.resolve();
}

/**
 * Create a profile in `dir` (made with mode 700 if missing): a new master key in
 * `keySource`, the database with the current schema, then profile.json — last, so a crash
 * part-way leaves no half profile that looks whole.
 */
export interface InitProfileOptions {
  readonly keySource: MasterKeySource;
  readonly now?: Date;
  /** Restoring from an export: the profile's own id, master key, creation time and schema. */
  readonly restore?: {
    readonly id: string;
    readonly masterKey: Uint8Array;
    readonly createdAt: string;
    /** Create the schema only up to this migration (the export's), to load its rows. */
    readonly schemaVersion: number;
  };
}

export async function initProfile(dir: string, options: InitProfileOptions): Promise<Profile> {
  const root = resolve(dir);
  await makeDirectories(root, 0o700);
  if (await exists(join(root, PROFILE_FILE))) {
    throw new HispError('PROFILE_EXISTS', `A Sealpost profile already exists in ${root}.`);
  }
  if (await exists(join(root, DATABASE_FILE))) {
    throw new HispError(
      'PROFILE_EXISTS',
      `${root} holds a Sealpost database but no ${PROFILE_FILE} (an interrupted set-up, or files copied by hand). Move it away or choose another directory.`,
    );
  }
  const restore = options.restore;
  if (restore !== undefined && !/^[0-9a-f]{32}$/.test(restore.id)) {
    throw new HispError('EXPORT_MALFORMED', 'The export names no valid profile id.');
  }
  const id = restore?.id ?? randomBytes(16).toString('hex');
  const key = await options.keySource.create(id, restore?.masterKey);
  try {
    const db = EncryptedDatabase.open({
      file: join(root, DATABASE_FILE),
      key,
      ...(restore === undefined ? {} : { migrations: MIGRATIONS.slice(0, restore.schemaVersion) }),
    });
    const info: ProfileInfo = {
      format: PROFILE_FORMAT,
      version: PROFILE_VERSION,
      id,
      createdAt: restore?.createdAt ?? (options.now ?? new Date()).toISOString(),
      keySource: options.keySource.kind,
      keyCheck: keyCheck(key),
    };
    try {
      await writePrivateFile(join(root, PROFILE_FILE), `${JSON.stringify(info, null, 2)}\n`);
    } catch (error) {
      db.close();
      throw error;
    }
    return new Profile(root, info, db, deriveSubkeys(key));
  } finally {
    key.fill(0);
  }
}

/** The profile's description, checked; no key needed. */
export async function readProfileInfo(dir: string): Promise<ProfileInfo> {
  const root = resolve(dir);
  const file = join(root, PROFILE_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new HispError(
        'PROFILE_NOT_FOUND',
        `There is no Sealpost profile in ${root}. Create one with \`sealpost profile init --profile ${root}\`.`,
      );
    }
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw corruptProfile(file, 'it is not JSON');
  }
  const value = parsed as Partial<Record<keyof ProfileInfo, unknown>> | null;
  if (typeof value !== 'object' || value === null || value.format !== PROFILE_FORMAT) {
    throw corruptProfile(file, 'it is not a Sealpost profile description');
  }
  if (typeof value.version !== 'number' || value.version > PROFILE_VERSION) {
    throw new HispError(
      'STORE_TOO_NEW',
      `${file} was written by a newer Sealpost (profile format ${String(value.version)}). Update Sealpost to open it.`,
    );
  }
  if (
    typeof value.id !== 'string' ||
    !/^[0-9a-f]{32}$/.test(value.id) ||
    typeof value.createdAt !== 'string' ||
    (value.keySource !== 'keychain' && value.keySource !== 'vault') ||
    typeof value.keyCheck !== 'string' ||
    !/^[0-9a-f]{64}$/.test(value.keyCheck)
  ) {
    throw corruptProfile(file, 'a field is missing or has the wrong form');
  }
  return {
    format: PROFILE_FORMAT,
    version: value.version,
    id: value.id,
    createdAt: value.createdAt,
    keySource: value.keySource,
    keyCheck: value.keyCheck,
  };
}

function corruptProfile(file: string, why: string): HispError {
  return new HispError(
    'STORE_CORRUPT',
    `${file} cannot be used: ${why}. Restore the profile from an export.`,
  );
}

/**
 * Open an existing profile: its key from the keychain or vault, checked against the key check
 * value (STORE_WRONG_KEY), then the database (STORE_CORRUPT when it does not open with the
 * right key), migrated to the current schema.
 */
export async function openProfile(
  dir: string,
  options: { readonly keySourceFor: KeySourceFor },
): Promise<Profile> {
  const root = resolve(dir);
  const info = await readProfileInfo(root);
  const key = await options.keySourceFor(info.keySource, root).load(info.id);
  try {
    const expected = Buffer.from(info.keyCheck, 'hex');
    const actual = Buffer.from(keyCheck(key), 'hex');
    if (!timingSafeEqual(expected, actual)) {
      throw new HispError(
        'STORE_WRONG_KEY',
        `The key found in the ${info.keySource === 'vault' ? 'vault' : 'keychain'} does not belong to the profile in ${root}.`,
      );
    }
    const databaseFile = join(root, DATABASE_FILE);
    if (!(await exists(databaseFile))) {
      throw new HispError(
        'STORE_CORRUPT',
        `The profile database ${databaseFile} is missing. Restore the profile from an export.`,
      );
    }
    const db = EncryptedDatabase.open({ file: databaseFile, key });
    return new Profile(root, info, db, deriveSubkeys(key));
  } finally {
    key.fill(0);
  }
}
