/**
 * The passphrase vault (hisp/keys/vault.ts) and its MasterKeySource (hisp/keys/masterKey.ts):
 * round trip, the file format and mode, no plaintext key on disk, refusing to replace a vault,
 * wrong passphrase, tampering, and files that are not vaults — each a typed HispError, never a
 * crash. No keychain is involved.
 */
import { createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { HispError } from '../../hisp/api/errors.js';
import { MASTER_KEY_BYTES, vaultMasterKeySource } from '../../hisp/keys/masterKey.js';
import {
  VAULT_MAX_FILE_BYTES,
  VAULT_SCRYPT_DEFAULTS,
  type VaultFile,
  scryptMaxmem,
  writeNewVault,
} from '../../hisp/keys/vault.js';

/** The lowest N a vault file may carry: quick, for the tests that are about the file format. */
const FAST = { N: 2 ** 14, r: 8, p: 1 } as const;
const PROFILE = '0123456789abcdef0123456789abcdef';

let dir: string;
let counter = 0;
const fresh = (): string => join(dir, `vault-${(counter += 1)}.json`);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sealpost-test-vault-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'no error';
  } catch (error) {
    return error instanceof HispError ? error.code : `not a HispError: ${String(error)}`;
  }
}

async function readJson(file: string): Promise<VaultFile> {
  return JSON.parse(await readFile(file, 'utf8')) as VaultFile;
}

describe('passphrase vault: round trip and file format', () => {
  it('creates a random 32-byte key, writes it wrapped (0600, scrypt N=2^17) and loads it back', async () => {
    const file = fresh();
    const passphrase = Buffer.from('correct horse battery staple');
    const source = vaultMasterKeySource({ file, passphrase });
    expect(source.kind).toBe('vault');

    const key = await source.create(PROFILE);
    expect(key.length).toBe(MASTER_KEY_BYTES);

    const info = await stat(file);
    expect(info.mode & 0o777).toBe(0o600);
    // Atomic write: no temp file left beside it.
    expect((await readdir(dir)).filter((name) => name.includes('.tmp'))).toEqual([]);

    const text = await readFile(file, 'utf8');
    const json = JSON.parse(text) as VaultFile;
    expect(Object.keys(json).sort()).toEqual(['kdf', 'version', 'wrapped']);
    expect(json.version).toBe(1);
    expect(json.kdf).toMatchObject({ name: 'scrypt', N: 2 ** 17, r: 8, p: 1 });
    expect(VAULT_SCRYPT_DEFAULTS).toEqual({ N: 131072, r: 8, p: 1 });
    expect(Buffer.from(json.kdf.salt, 'base64').length).toBe(16);
    expect(Buffer.from(json.wrapped.iv, 'base64').length).toBe(12);
    expect(Buffer.from(json.wrapped.tag, 'base64').length).toBe(16);
    expect(Buffer.from(json.wrapped.data, 'base64').length).toBe(32);

    // The key is nowhere in the file: not raw, not base64, not hex.
    const raw = await readFile(file);
    expect(raw.includes(key)).toBe(false);
    expect(text.includes(key.toString('base64'))).toBe(false);
    expect(text.toLowerCase().includes(key.toString('hex'))).toBe(false);

    // Independently of vault.ts: scrypt + AES-256-GCM with the documented AAD opens it.
    const kek = scryptSync(passphrase, Buffer.from(json.kdf.salt, 'base64'), 32, {
      N: json.kdf.N,
      r: json.kdf.r,
      p: json.kdf.p,
      maxmem: scryptMaxmem(json.kdf),
    });
    const decipher = createDecipheriv('aes-256-gcm', kek, Buffer.from(json.wrapped.iv, 'base64'));
    decipher.setAAD(
      Buffer.from(
        `sealpost-vault:v1:scrypt:N=${json.kdf.N}:r=${json.kdf.r}:p=${json.kdf.p}:salt=${json.kdf.salt}`,
      ),
    );
    decipher.setAuthTag(Buffer.from(json.wrapped.tag, 'base64'));
    const opened = Buffer.concat([
      decipher.update(Buffer.from(json.wrapped.data, 'base64')),
      decipher.final(),
    ]);
    expect(opened.equals(key)).toBe(true);

    // A new source (as after a restart) with the same passphrase gets the same key.
    const again = vaultMasterKeySource({ file, passphrase: Buffer.from(passphrase) });
    expect((await again.load(PROFILE)).equals(key)).toBe(true);
  });

  it('makes a different key and salt for every vault', async () => {
    const passphrase = Buffer.from('same passphrase');
    const a = fresh();
    const b = fresh();
    await writeNewVault(a, randomBytes(32), passphrase, FAST);
    await writeNewVault(b, randomBytes(32), passphrase, FAST);
    const [ja, jb] = await Promise.all([readJson(a), readJson(b)]);
    expect(ja.kdf.salt).not.toBe(jb.kdf.salt);
    expect(ja.wrapped.iv).not.toBe(jb.wrapped.iv);
    const ka = await vaultMasterKeySource({ file: a, passphrase }).load(PROFILE);
    const kb = await vaultMasterKeySource({ file: b, passphrase }).load(PROFILE);
    expect(ka.equals(kb)).toBe(false);
  });

  it('honours the parameters stored in the file (so they can be raised later)', async () => {
    const file = fresh();
    const key = randomBytes(32);
    const passphrase = Buffer.from('pass');
    await writeNewVault(file, key, passphrase, { N: 2 ** 15, r: 4, p: 2 });
    expect((await readJson(file)).kdf).toMatchObject({ N: 2 ** 15, r: 4, p: 2 });
    expect((await vaultMasterKeySource({ file, passphrase }).load(PROFILE)).equals(key)).toBe(true);
  });

  it('refuses to replace an existing vault (PROFILE_EXISTS) and leaves it as it was', async () => {
    const file = fresh();
    const passphrase = Buffer.from('pass');
    await writeNewVault(file, randomBytes(32), passphrase, FAST);
    const before = await readFile(file);
    const source = vaultMasterKeySource({ file, passphrase });
    expect(await codeOf(source.create(PROFILE))).toBe('PROFILE_EXISTS');
    expect((await readFile(file)).equals(before)).toBe(true);
    expect((await readdir(dir)).filter((name) => name.includes('.tmp'))).toEqual([]);
  });

  it('refuses an empty passphrase for create and writes nothing', async () => {
    const file = fresh();
    const source = vaultMasterKeySource({ file, passphrase: Buffer.alloc(0) });
    expect(await codeOf(source.create(PROFILE))).toBe('VAULT_BAD_PASSPHRASE');
    await expect(stat(file)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('remove deletes the vault; removing a missing vault is not an error', async () => {
    const file = fresh();
    const passphrase = Buffer.from('pass');
    await writeNewVault(file, randomBytes(32), passphrase, FAST);
    const source = vaultMasterKeySource({ file, passphrase });
    await source.remove(PROFILE);
    await expect(stat(file)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(source.remove(PROFILE)).resolves.toBeUndefined();
    expect(await codeOf(source.load(PROFILE))).toBe('PROFILE_NOT_FOUND');
  });

  it('rejects profile ids that are not plain identifiers (a programming error: INTERNAL)', async () => {
    const source = vaultMasterKeySource({ file: fresh(), passphrase: Buffer.from('pass') });
    expect(await codeOf(source.create(''))).toBe('INTERNAL');
    expect(await codeOf(source.load('../etc'))).toBe('INTERNAL');
  });
});

describe('passphrase vault: wrong passphrase and tampering', () => {
  const passphrase = Buffer.from('the right passphrase');
  let good: string;
  let goodJson: VaultFile;
  let key: Buffer;

  beforeAll(async () => {
    good = fresh();
    key = randomBytes(32);
    await writeNewVault(good, key, passphrase, FAST);
    goodJson = await readJson(good);
  });

  it('opens with the right passphrase', async () => {
    expect((await vaultMasterKeySource({ file: good, passphrase }).load(PROFILE)).equals(key)).toBe(
      true,
    );
  });

  it('a wrong passphrase is VAULT_BAD_PASSPHRASE, with a message and no key material', async () => {
    const source = vaultMasterKeySource({ file: good, passphrase: Buffer.from('the wrong one') });
    const error = await source.load(PROFILE).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(HispError);
    expect((error as HispError).code).toBe('VAULT_BAD_PASSPHRASE');
    expect((error as HispError).message).toContain(good);
    expect((error as HispError).message).not.toContain('the wrong one');
    expect(
      await codeOf(vaultMasterKeySource({ file: good, passphrase: Buffer.alloc(0) }).load(PROFILE)),
    ).toBe('VAULT_BAD_PASSPHRASE');
  });

  const flip = (b64: string): string => {
    const bytes = Buffer.from(b64, 'base64');
    bytes[bytes.length - 1]! ^= 0x01;
    return bytes.toString('base64');
  };

  // AES-GCM cannot tell these from a wrong passphrase: all fail the same tag check.
  it.each([
    [
      'the wrapped key',
      (j: VaultFile) => ({ ...j, wrapped: { ...j.wrapped, data: flip(j.wrapped.data) } }),
    ],
    ['the tag', (j: VaultFile) => ({ ...j, wrapped: { ...j.wrapped, tag: flip(j.wrapped.tag) } })],
    ['the IV', (j: VaultFile) => ({ ...j, wrapped: { ...j.wrapped, iv: flip(j.wrapped.iv) } })],
    ['the salt', (j: VaultFile) => ({ ...j, kdf: { ...j.kdf, salt: flip(j.kdf.salt) } })],
    ['N (still in range)', (j: VaultFile) => ({ ...j, kdf: { ...j.kdf, N: 2 ** 15 } })],
  ])('an altered %s is VAULT_BAD_PASSPHRASE', async (_what, alter) => {
    const file = fresh();
    await writeFile(file, JSON.stringify(alter(goodJson)), { mode: 0o600 });
    expect(await codeOf(vaultMasterKeySource({ file, passphrase }).load(PROFILE))).toBe(
      'VAULT_BAD_PASSPHRASE',
    );
  });
});

describe('passphrase vault: files that are not vaults are STORE_CORRUPT, never a crash', () => {
  const passphrase = Buffer.from('pass');
  let goodJson: VaultFile;

  beforeAll(async () => {
    const file = fresh();
    await writeNewVault(file, randomBytes(32), passphrase, FAST);
    goodJson = await readJson(file);
  });

  const cases: Array<[string, (j: VaultFile) => unknown]> = [
    ['an empty file', () => ''],
    ['not JSON', () => '{"version":1,'],
    ['a JSON array', () => [1, 2]],
    ['JSON null', () => null],
    ['no version', (j) => ({ kdf: j.kdf, wrapped: j.wrapped })],
    ['version 2', (j) => ({ ...j, version: 2 })],
    ['version "1"', (j) => ({ ...j, version: '1' })],
    ['no kdf', (j) => ({ version: 1, wrapped: j.wrapped })],
    ['no wrapped', (j) => ({ version: 1, kdf: j.kdf })],
    ['kdf pbkdf2', (j) => ({ ...j, kdf: { ...j.kdf, name: 'pbkdf2' } })],
    ['N missing', (j) => ({ ...j, kdf: { ...j.kdf, N: undefined } })],
    ['N a string', (j) => ({ ...j, kdf: { ...j.kdf, N: '16384' } })],
    ['N = 2^40 (absurd)', (j) => ({ ...j, kdf: { ...j.kdf, N: 2 ** 40 } })],
    ['N = 1e308', (j) => ({ ...j, kdf: { ...j.kdf, N: 1e308 } })],
    ['N not a power of two', (j) => ({ ...j, kdf: { ...j.kdf, N: 20000 } })],
    ['N too small (2^10)', (j) => ({ ...j, kdf: { ...j.kdf, N: 1024 } })],
    ['N * r over 1 GiB', (j) => ({ ...j, kdf: { ...j.kdf, N: 2 ** 20, r: 16 } })],
    ['r = 0', (j) => ({ ...j, kdf: { ...j.kdf, r: 0 } })],
    ['p = 1000', (j) => ({ ...j, kdf: { ...j.kdf, p: 1000 } })],
    ['p = 1.5', (j) => ({ ...j, kdf: { ...j.kdf, p: 1.5 } })],
    ['salt not base64', (j) => ({ ...j, kdf: { ...j.kdf, salt: 'not base64!' } })],
    ['salt too short', (j) => ({ ...j, kdf: { ...j.kdf, salt: 'AAAA' } })],
    ['salt a number', (j) => ({ ...j, kdf: { ...j.kdf, salt: 7 } })],
    [
      'iv 8 bytes',
      (j) => ({ ...j, wrapped: { ...j.wrapped, iv: Buffer.alloc(8).toString('base64') } }),
    ],
    ['tag missing', (j) => ({ ...j, wrapped: { iv: j.wrapped.iv, data: j.wrapped.data } })],
    ['tag empty', (j) => ({ ...j, wrapped: { ...j.wrapped, tag: '' } })],
    ['data empty', (j) => ({ ...j, wrapped: { ...j.wrapped, data: '' } })],
    [
      'data 4 KiB',
      (j) => ({ ...j, wrapped: { ...j.wrapped, data: Buffer.alloc(4096).toString('base64') } }),
    ],
  ];

  it.each(cases)('%s', async (_what, make) => {
    const file = fresh();
    const value = make(goodJson);
    await writeFile(file, typeof value === 'string' ? value : JSON.stringify(value), {
      mode: 0o600,
    });
    const error = await vaultMasterKeySource({ file, passphrase })
      .load(PROFILE)
      .catch((err: unknown) => err);
    expect(error).toBeInstanceOf(HispError);
    expect((error as HispError).code).toBe('STORE_CORRUPT');
    expect((error as HispError).message).toContain(file);
  });

  it('a file larger than 64 KiB is STORE_CORRUPT without being parsed', async () => {
    const file = fresh();
    await writeFile(file, ' '.repeat(VAULT_MAX_FILE_BYTES + 1) + JSON.stringify(goodJson));
    expect(await codeOf(vaultMasterKeySource({ file, passphrase }).load(PROFILE))).toBe(
      'STORE_CORRUPT',
    );
  });

  it('a directory in place of the file is STORE_CORRUPT; a missing file is PROFILE_NOT_FOUND', async () => {
    expect(await codeOf(vaultMasterKeySource({ file: dir, passphrase }).load(PROFILE))).toBe(
      'STORE_CORRUPT',
    );
    expect(
      await codeOf(
        vaultMasterKeySource({ file: join(dir, 'nope.json'), passphrase }).load(PROFILE),
      ),
    ).toBe('PROFILE_NOT_FOUND');
  });

  it('a vault that opens but holds something other than a 32-byte key is STORE_CORRUPT', async () => {
    const file = fresh();
    await writeNewVault(file, randomBytes(16), passphrase, FAST);
    expect(await codeOf(vaultMasterKeySource({ file, passphrase }).load(PROFILE))).toBe(
      'STORE_CORRUPT',
    );
  });
});
