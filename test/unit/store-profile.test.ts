import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HispError } from '../../hisp/api/errors.js';
import { vaultMasterKeySource } from '../../hisp/keys/masterKey.js';
import {
  DATABASE_FILE,
  initProfile,
  makeDirectories,
  openProfile,
  PROFILE_FILE,
  VAULT_FILE,
} from '../../hisp/store/profile.js';

let root: string;
const passphrase = Buffer.from('a profile passphrase for tests');
const sourceFor = (dir: string) =>
  vaultMasterKeySource({ file: join(dir, VAULT_FILE), passphrase });
const open = (dir: string) => openProfile(dir, { keySourceFor: (_kind, at) => sourceFor(at) });

async function codeOf(work: Promise<unknown>): Promise<string | undefined> {
  try {
    const value = await work;
    (value as { close?: () => void } | undefined)?.close?.();
  } catch (error) {
    return error instanceof HispError ? error.code : `not a HispError: ${String(error)}`;
  }
  return undefined;
}

let first: string;
let second: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sealpost-profile-'));
  first = join(root, 'first');
  second = join(root, 'second');
  (await initProfile(first, { keySource: sourceFor(first) })).close();
  (await initProfile(second, { keySource: sourceFor(second) })).close();
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('profiles', () => {
  it('init makes a private directory; open finds the key and the database', async () => {
    expect((await stat(first)).mode & 0o777).toBe(0o700);
    expect((await stat(join(first, PROFILE_FILE))).mode & 0o777).toBe(0o600);
    const profile = await open(first);
    expect(profile.info.keySource).toBe('vault');
    expect(profile.id).toMatch(/^[0-9a-f]{32}$/);
    expect(profile.db.version).toBeGreaterThan(0);
    profile.close();
  });

  it('a second init in the same place is PROFILE_EXISTS, also over a leftover database', async () => {
    expect(await codeOf(initProfile(first, { keySource: sourceFor(first) }))).toBe(
      'PROFILE_EXISTS',
    );
    const leftover = join(root, 'leftover');
    await mkdir(leftover);
    await writeFile(join(leftover, DATABASE_FILE), 'x');
    expect(await codeOf(initProfile(leftover, { keySource: sourceFor(leftover) }))).toBe(
      'PROFILE_EXISTS',
    );
  });

  it('no profile is PROFILE_NOT_FOUND; a wrong passphrase is VAULT_BAD_PASSPHRASE', async () => {
    expect(await codeOf(open(join(root, 'nowhere')))).toBe('PROFILE_NOT_FOUND');
    const wrong = openProfile(first, {
      keySourceFor: () =>
        vaultMasterKeySource({
          file: join(first, VAULT_FILE),
          passphrase: Buffer.from('nope, wrong'),
        }),
    });
    expect(await codeOf(wrong)).toBe('VAULT_BAD_PASSPHRASE');
  });

  it("another profile's key is STORE_WRONG_KEY; another profile's database is STORE_CORRUPT", async () => {
    const mixed = join(root, 'mixed');
    await mkdir(mixed, { mode: 0o700 });
    await copyFile(join(first, PROFILE_FILE), join(mixed, PROFILE_FILE));
    await copyFile(join(second, VAULT_FILE), join(mixed, VAULT_FILE));
    await copyFile(join(first, DATABASE_FILE), join(mixed, DATABASE_FILE));
    expect(await codeOf(open(mixed))).toBe('STORE_WRONG_KEY');

    await copyFile(join(first, VAULT_FILE), join(mixed, VAULT_FILE));
    await copyFile(join(second, DATABASE_FILE), join(mixed, DATABASE_FILE));
    expect(await codeOf(open(mixed))).toBe('STORE_CORRUPT');

    await rm(join(mixed, DATABASE_FILE));
    expect(await codeOf(open(mixed))).toBe('STORE_CORRUPT');
  });

  it('a damaged or foreign profile.json is a typed error, never a crash', async () => {
    const broken = join(root, 'broken');
    await mkdir(broken, { mode: 0o700 });
    const original = JSON.parse(await readFile(join(first, PROFILE_FILE), 'utf8')) as Record<
      string,
      unknown
    >;
    const cases: [string, string][] = [
      ['not json', 'STORE_CORRUPT'],
      ['{}', 'STORE_CORRUPT'],
      ['null', 'STORE_CORRUPT'],
      [JSON.stringify({ ...original, id: '../../etc' }), 'STORE_CORRUPT'],
      [JSON.stringify({ ...original, keySource: 'plaintext' }), 'STORE_CORRUPT'],
      [JSON.stringify({ ...original, keyCheck: 'zz' }), 'STORE_CORRUPT'],
      [JSON.stringify({ ...original, version: 99 }), 'STORE_TOO_NEW'],
    ];
    for (const [content, code] of cases) {
      await writeFile(join(broken, PROFILE_FILE), content);
      expect(await codeOf(open(broken)), content).toBe(code);
    }
  });
});

describe('makeDirectories', () => {
  it('creates missing parents owner-only, accepts a directory that is there, refuses a file', async () => {
    const deep = join(root, 'made', 'by', 'makeDirectories');
    await makeDirectories(deep, 0o700);
    for (const dir of [join(root, 'made'), join(root, 'made', 'by'), deep])
      expect((await stat(dir)).mode & 0o777, dir).toBe(0o700);
    await makeDirectories(deep, 0o700); // already there
    const file = join(root, 'made', 'a-file');
    await writeFile(file, 'x');
    await expect(makeDirectories(file, 0o700)).rejects.toMatchObject({ code: 'ENOTDIR' });
    await expect(makeDirectories(join(file, 'below'), 0o700)).rejects.toMatchObject({
      code: 'ENOTDIR',
    });
  });

  it("under /proc, where mkdir says ENOENT below a parent that exists, fails at once (Node's recursive mkdir spins there)", async () => {
    await expect(makeDirectories('/proc/sealpost-no-such-dir/x', 0o700)).rejects.toMatchObject({
      code: 'ENOENT',
    });
  }, 5_000);
});
