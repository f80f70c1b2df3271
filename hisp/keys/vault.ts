/**
 * The passphrase vault: a profile's master key wrapped under a passphrase, for headless
 * servers without a keychain. Chosen by configuration only — never a fallback.
 *
 * File (JSON, UTF-8, mode 0600, written atomically: temp file, fsync, hard link/rename,
 * directory fsync):
 *
 *   { "version": 1,
 *     "kdf": { "name": "scrypt", "N": 131072, "r": 8, "p": 1, "salt": "<base64, 16 bytes>" },
 *     "wrapped": { "iv": "<base64, 12 bytes>", "data": "<base64>", "tag": "<base64, 16 bytes>" } }
 *
 * The wrapping key is scrypt(passphrase, salt, N, r, p) → 32 bytes; the key is sealed with
 * AES-256-GCM, with the file's version and KDF parameters as additional authenticated data.
 * The parameters and salt live in the file so they can be raised later without a format change.
 *
 * Errors:
 * - wrong passphrase → VAULT_BAD_PASSPHRASE. AES-GCM cannot tell a wrong passphrase from an
 *   altered salt, IV, ciphertext or tag (all fail the same tag check), so a tampered file whose
 *   structure is intact is also VAULT_BAD_PASSPHRASE; the message says "or the file was
 *   altered". Saying "corrupt" there would invite someone with the wrong passphrase to restore
 *   a good vault from backup.
 * - a file that is not a vault (bad JSON, missing or mistyped fields, wrong lengths, unknown
 *   version or KDF, parameters outside the accepted range, larger than 64 KiB) → STORE_CORRUPT
 *   with a message naming the vault file and what is wrong. Never an uncaught crash, and no
 *   KDF runs on parameters outside the range (an absurd N would exhaust memory).
 *
 * Derived keys are zeroed after use. The passphrase Buffer belongs to the caller.
 */
import {
  createCipheriv,
  createDecipheriv,
  randomBytes,
  scrypt as scryptCallback,
  type ScryptOptions,
} from 'node:crypto';
import { link, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { HispError } from '../api/errors.js';

export const VAULT_VERSION = 1;
/** What Sealpost writes today. */
export const VAULT_SCRYPT_DEFAULTS = { N: 2 ** 17, r: 8, p: 1 } as const;
/** What a vault file may ask for: below is too weak to be ours, above would exhaust memory. */
export const VAULT_SCRYPT_LIMITS = {
  minN: 2 ** 14,
  maxN: 2 ** 20,
  maxR: 32,
  maxP: 16,
  /** 128 * N * r, the memory scrypt needs. */
  maxMemoryBytes: 1024 * 1024 * 1024,
} as const;
export const VAULT_SALT_BYTES = 16;
export const VAULT_IV_BYTES = 12;
export const VAULT_TAG_BYTES = 16;
export const VAULT_MAX_FILE_BYTES = 64 * 1024;
/** Largest secret a vault holds (a master key is 32 bytes). */
export const VAULT_MAX_SECRET_BYTES = 1024;

export interface ScryptParams {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

export interface VaultFile {
  version: 1;
  kdf: { name: 'scrypt'; N: number; r: number; p: number; salt: string };
  wrapped: { iv: string; data: string; tag: string };
}

function corrupt(file: string, what: string): HispError {
  return new HispError(
    'STORE_CORRUPT',
    `The passphrase vault ${file} is damaged or is not a Sealpost vault (${what}), so the profile's key cannot be read from it. Restore the vault file (or the profile) from a backup or an export.`,
  );
}

function badPassphrase(file: string): HispError {
  return new HispError(
    'VAULT_BAD_PASSPHRASE',
    `The passphrase does not open the vault ${file} (or the vault file was altered). Check the passphrase and try again.`,
  );
}

function checkPassphrase(passphrase: Buffer): void {
  if (!Buffer.isBuffer(passphrase)) {
    throw new HispError('INTERNAL', 'The vault passphrase must be given as a Buffer.');
  }
}

/** The memory scrypt needs for these parameters, and the maxmem to give Node for them. */
export function scryptMaxmem({ N, r, p }: ScryptParams): number {
  // OpenSSL's check: 128*r*(N+2) for V plus 128*r*p for B must fit in maxmem.
  return 128 * r * (N + 2) + 128 * r * p + 1024 * 1024;
}

function paramsProblem({ N, r, p }: ScryptParams): string | undefined {
  const L = VAULT_SCRYPT_LIMITS;
  if (!Number.isSafeInteger(N) || N < L.minN || N > L.maxN || (N & (N - 1)) !== 0) {
    return `scrypt N must be a power of two from ${L.minN} to ${L.maxN}`;
  }
  if (!Number.isSafeInteger(r) || r < 1 || r > L.maxR) return `scrypt r must be 1 to ${L.maxR}`;
  if (!Number.isSafeInteger(p) || p < 1 || p > L.maxP) return `scrypt p must be 1 to ${L.maxP}`;
  if (128 * N * r > L.maxMemoryBytes) return 'scrypt N and r would need more than 1 GiB';
  return undefined;
}

function deriveKey(passphrase: Buffer, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const options: ScryptOptions = {
    N: params.N,
    r: params.r,
    p: params.p,
    maxmem: scryptMaxmem(params),
  };
  return new Promise<Buffer>((resolve, reject) => {
    scryptCallback(passphrase, salt, 32, options, (err, key) => {
      if (err)
        reject(new HispError('INTERNAL', 'The vault key could not be derived.', { cause: err }));
      else resolve(key);
    });
  });
}

function aad(kdf: VaultFile['kdf']): Buffer {
  return Buffer.from(
    `sealpost-vault:v${VAULT_VERSION}:${kdf.name}:N=${kdf.N}:r=${kdf.r}:p=${kdf.p}:salt=${kdf.salt}`,
    'utf8',
  );
}

/** Wrap `secret` under `passphrase`: the vault file's contents. */
export async function sealVault(
  secret: Buffer,
  passphrase: Buffer,
  params: ScryptParams = VAULT_SCRYPT_DEFAULTS,
): Promise<VaultFile> {
  checkPassphrase(passphrase);
  if (passphrase.length === 0) {
    throw new HispError(
      'VAULT_BAD_PASSPHRASE',
      'An empty passphrase cannot protect a vault. Choose a passphrase.',
    );
  }
  if (secret.length === 0 || secret.length > VAULT_MAX_SECRET_BYTES) {
    throw new HispError('INTERNAL', 'A vault holds 1 to 1024 bytes.');
  }
  const problem = paramsProblem(params);
  if (problem !== undefined) throw new HispError('INTERNAL', `Bad vault parameters: ${problem}.`);
  const salt = randomBytes(VAULT_SALT_BYTES);
  const iv = randomBytes(VAULT_IV_BYTES);
  const kdf: VaultFile['kdf'] = {
    name: 'scrypt',
    N: params.N,
    r: params.r,
    p: params.p,
    salt: salt.toString('base64'),
  };
  const key = await deriveKey(passphrase, salt, params);
  try {
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: VAULT_TAG_BYTES });
    cipher.setAAD(aad(kdf));
    const data = Buffer.concat([cipher.update(secret), cipher.final()]);
    return {
      version: VAULT_VERSION,
      kdf,
      wrapped: {
        iv: iv.toString('base64'),
        data: data.toString('base64'),
        tag: cipher.getAuthTag().toString('base64'),
      },
    };
  } finally {
    key.fill(0);
  }
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function base64Field(
  file: string,
  obj: Record<string, unknown>,
  name: string,
  where: string,
  length?: { min: number; max: number },
): Buffer {
  const value = obj[name];
  if (typeof value !== 'string' || value.length % 4 !== 0 || !BASE64.test(value)) {
    throw corrupt(file, `${where}.${name} is not base64`);
  }
  const bytes = Buffer.from(value, 'base64');
  if (length && (bytes.length < length.min || bytes.length > length.max)) {
    throw corrupt(file, `${where}.${name} has ${bytes.length} bytes`);
  }
  return bytes;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export interface ParsedVault {
  kdf: VaultFile['kdf'];
  salt: Buffer;
  iv: Buffer;
  data: Buffer;
  tag: Buffer;
}

/** Check a vault file's structure; `file` names it in messages. */
export function parseVault(text: string, file: string): ParsedVault {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw corrupt(file, 'not JSON');
  }
  if (!isRecord(json)) throw corrupt(file, 'not a JSON object');
  if (json['version'] !== VAULT_VERSION) {
    if (typeof json['version'] === 'number' && json['version'] > VAULT_VERSION) {
      throw corrupt(file, `version ${json['version']} is newer than this Sealpost reads`);
    }
    throw corrupt(file, 'no version 1');
  }
  const kdf = json['kdf'];
  const wrapped = json['wrapped'];
  if (!isRecord(kdf)) throw corrupt(file, 'no kdf');
  if (!isRecord(wrapped)) throw corrupt(file, 'no wrapped key');
  if (kdf['name'] !== 'scrypt') throw corrupt(file, 'kdf.name is not scrypt');
  const { N, r, p } = kdf;
  if (typeof N !== 'number' || typeof r !== 'number' || typeof p !== 'number') {
    throw corrupt(file, 'kdf.N, r or p is missing');
  }
  const problem = paramsProblem({ N, r, p });
  if (problem !== undefined) throw corrupt(file, problem);
  const salt = base64Field(file, kdf, 'salt', 'kdf', { min: 16, max: 64 });
  const iv = base64Field(file, wrapped, 'iv', 'wrapped', {
    min: VAULT_IV_BYTES,
    max: VAULT_IV_BYTES,
  });
  const data = base64Field(file, wrapped, 'data', 'wrapped', {
    min: 1,
    max: VAULT_MAX_SECRET_BYTES,
  });
  const tag = base64Field(file, wrapped, 'tag', 'wrapped', {
    min: VAULT_TAG_BYTES,
    max: VAULT_TAG_BYTES,
  });
  return {
    kdf: { name: 'scrypt', N, r, p, salt: kdf['salt'] as string },
    salt,
    iv,
    data,
    tag,
  };
}

/** Unwrap a parsed vault. VAULT_BAD_PASSPHRASE when the tag does not verify. */
export async function unsealVault(
  vault: ParsedVault,
  passphrase: Buffer,
  file: string,
): Promise<Buffer> {
  checkPassphrase(passphrase);
  const key = await deriveKey(passphrase, vault.salt, vault.kdf);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, vault.iv, {
      authTagLength: VAULT_TAG_BYTES,
    });
    decipher.setAAD(aad(vault.kdf));
    decipher.setAuthTag(vault.tag);
    const plain = decipher.update(vault.data);
    try {
      decipher.final();
    } catch {
      plain.fill(0);
      throw badPassphrase(file);
    }
    return plain;
  } finally {
    key.fill(0);
  }
}

/** Read and unwrap the vault at `file`. A missing file is PROFILE_NOT_FOUND. */
export async function readVault(file: string, passphrase: Buffer): Promise<Buffer> {
  checkPassphrase(passphrase);
  let text: string;
  try {
    const info = await stat(file);
    if (!info.isFile()) throw corrupt(file, 'not a file');
    if (info.size > VAULT_MAX_FILE_BYTES) throw corrupt(file, `${info.size} bytes, too large`);
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (err instanceof HispError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new HispError(
        'PROFILE_NOT_FOUND',
        `The passphrase vault ${file} does not exist, so the profile's key cannot be read. Restore it from a backup, or check the profile directory.`,
        { cause: err },
      );
    }
    throw new HispError('INTERNAL', `The passphrase vault ${file} could not be read.`, {
      cause: err,
    });
  }
  if (text.length > VAULT_MAX_FILE_BYTES) throw corrupt(file, 'too large');
  return unsealVault(parseVault(text, file), passphrase, file);
}

/**
 * Write `contents` to `file` atomically with mode 0600: a temp file in the same directory,
 * fsync, then a hard link to the final name (fails if it exists: no clobbering) or, where
 * links are not supported, a rename after an existence check; then the directory is fsynced.
 */
export async function writeFileAtomicExclusive(file: string, contents: string): Promise<void> {
  const dir = dirname(file);
  const tmp = join(dir, `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(tmp, 'wx', 0o600);
  try {
    try {
      await handle.writeFile(contents, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await link(tmp, file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS' && code !== 'EOPNOTSUPP') {
        throw err;
      }
      if (await exists(file)) {
        throw Object.assign(new Error(`${file} exists`), { code: 'EEXIST' });
      }
      await rename(tmp, file);
    }
  } finally {
    await rm(tmp, { force: true });
  }
  await syncDir(dir);
}

function vaultExists(file: string, cause?: unknown): HispError {
  return new HispError(
    'PROFILE_EXISTS',
    `A passphrase vault already exists at ${file}; it was not replaced.`,
    cause === undefined ? undefined : { cause },
  );
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function syncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Seal `secret` and write a new vault at `file`. PROFILE_EXISTS if the file exists already. */
export async function writeNewVault(
  file: string,
  secret: Buffer,
  passphrase: Buffer,
  params: ScryptParams = VAULT_SCRYPT_DEFAULTS,
): Promise<void> {
  // Fail fast (before the KDF); the hard link below is what guarantees no clobbering.
  if (await exists(file)) throw vaultExists(file);
  const vault = await sealVault(secret, passphrase, params);
  try {
    await writeFileAtomicExclusive(file, `${JSON.stringify(vault, null, 2)}\n`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw vaultExists(file, err);
    throw new HispError('INTERNAL', `The passphrase vault ${file} could not be written.`, {
      cause: err,
    });
  }
}
