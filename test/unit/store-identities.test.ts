/**
 * Migration 3 and hisp/keys/identities.ts on vault profiles (private keys wrapped inside the
 * encrypted database), plus `sealpost profile import-key` called as a function. Identities
 * come from files OpenSSL 3 writes (a different implementation), the Direct reference
 * implementation's certificates and the ETT's legacy PKCS#12. Every file lives in a temp dir
 * removed afterwards; no key material is printed.
 */
import { captureCli } from '../services/cliIo.js';
import { hispErrorOf as errorOf } from '../services/hispErrors.js';
import { convertLegacyPkcs12, opensslPkcs12 } from '../services/openssl-direct.js';
import { createSign, createVerify, randomBytes, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { HispError } from '../../hisp/api/errors.js';
import { parseCertificate, type ParsedCertificate } from '../../hisp/certs/certificate.js';
import {
  PROFILE_IMPORT_KEY_HELP,
  profileImportKeyCommand,
} from '../../hisp/cli/profileImportKey.js';
import { UsageError } from '../../hisp/cli/io.js';
import { IdentityStore } from '../../hisp/keys/identities.js';
import { vaultMasterKeySource } from '../../hisp/keys/masterKey.js';
import { readPkcs12, readPrivateKey } from '../../hisp/keys/material.js';
import { initProfile, openProfile, VAULT_FILE, type Profile } from '../../hisp/store/profile.js';
import {
  createTestCa,
  issueEndEntityCert,
  makeTempDir,
  run,
  type TempDir,
  type TestCa,
  type TestEndEntity,
} from '../services/index.js';

const interop = resolve(import.meta.dirname, '..', '..', '..', 'shared', 'interop');
const ettP12 = join(interop, 'ett', 'testCert.p12');
const javaRi = join(interop, 'java-ri');

const PASSPHRASE = 'identities test passphrase';
const sourceFor = (dir: string) =>
  vaultMasterKeySource({ file: join(dir, VAULT_FILE), passphrase: Buffer.from(PASSPHRASE) });

let tmp: TempDir;
let ca: TestCa;
let alice: TestEndEntity; // alice@example.test + DNS example.test
let carol: TestEndEntity; // carol@other.test + DNS example.test (domain-bound for example.test)
let weak: TestEndEntity; // RSA-1024
let profileA: Profile;
let profileB: Profile;
let dirA: string;
let dirB: string;
let count = 0;

beforeAll(async () => {
  tmp = await makeTempDir('store-identities');
  ca = await createTestCa(tmp.path);
  [alice, carol, weak] = await Promise.all([
    issueEndEntityCert(ca, tmp.path, { email: 'alice@example.test', dnsNames: ['example.test'] }),
    issueEndEntityCert(ca, tmp.path, { email: 'carol@other.test', dnsNames: ['Example.TEST'] }),
    issueEndEntityCert(ca, tmp.path, { email: 'weak@example.test', bits: 1024 }),
  ]);
  dirA = join(tmp.path, 'profile-a');
  dirB = join(tmp.path, 'profile-b');
  [profileA, profileB] = await Promise.all([
    initProfile(dirA, { keySource: sourceFor(dirA) }),
    initProfile(dirB, { keySource: sourceFor(dirB) }),
  ]);
}, 60_000);

afterAll(async () => {
  profileA?.close();
  profileB?.close();
  await tmp?.remove();
});

async function codeOf(work: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof work === 'function' ? work() : work);
  } catch (error) {
    return error instanceof HispError ? error.code : `not a HispError: ${String(error)}`;
  }
  return 'no error';
}

/** `openssl pkcs12 -export` (OpenSSL 3 default: PBES2 AES-256-CBC, SHA-256 MAC). */
async function exportP12(
  who: TestEndEntity,
  password: string,
  args: readonly string[] = [],
): Promise<string> {
  return opensslPkcs12(who, join(tmp.path, `p12-${++count}.p12`), password, { args });
}

function identityOf(file: Buffer, password: string) {
  const contents = readPkcs12(file, password);
  return {
    key: contents.key,
    cert: parseCertificate(contents.certDer),
    chain: contents.chainDer.map((d) => parseCertificate(d)),
  };
}

function pemIdentity(who: TestEndEntity): { key: KeyObject; cert: ParsedCertificate } {
  return { key: readPrivateKey(Buffer.from(who.keyPem)), cert: parseCertificate(who.certDer) };
}

function signedVerifies(key: KeyObject, cert: ParsedCertificate): boolean {
  const data = randomBytes(64);
  const signature = createSign('sha256').update(data).sign(key);
  return createVerify('sha256').update(data).verify(cert.x509.publicKey, signature);
}

function pkcs8Of(who: TestEndEntity): Buffer {
  return readPrivateKey(Buffer.from(who.keyPem)).export({ format: 'der', type: 'pkcs8' });
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/** Forms a key could take in a file: raw DER, hex, base64 (and a PEM line of it), a slice. */
function forms(der: Buffer): { name: string; bytes: Buffer }[] {
  const middle = der.subarray(Math.floor(der.length / 2), Math.floor(der.length / 2) + 48);
  const base64 = der.toString('base64');
  return [
    { name: 'DER', bytes: der },
    { name: 'DER slice', bytes: middle },
    { name: 'hex', bytes: Buffer.from(der.toString('hex')) },
    { name: 'HEX', bytes: Buffer.from(der.toString('hex').toUpperCase()) },
    { name: 'slice hex', bytes: Buffer.from(middle.toString('hex')) },
    { name: 'base64 (PEM line)', bytes: Buffer.from(base64.slice(256, 320)) },
    { name: 'slice base64', bytes: Buffer.from(middle.toString('base64').slice(4, 40)) },
  ];
}

const makeIo = (env: NodeJS.ProcessEnv = {}) =>
  captureCli({
    env: { PROFILE_PASS: PASSPHRASE, ...env },
    root: resolve(import.meta.dirname, '..', '..'),
  });

describe('migration 3: identities and private keys', () => {
  it('makes STRICT tables whose CHECKs refuse a bad location, fingerprint or IV', () => {
    const db = profileA.db;
    const tables = db.read(
      (d) =>
        d
          .prepare(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name IN ('identities', 'identity_chain', 'private_keys') ORDER BY name",
          )
          .all() as { name: string; sql: string }[],
    );
    expect(tables.map((t) => t.name)).toEqual(['identities', 'identity_chain', 'private_keys']);
    for (const table of tables) expect(table.sql).toMatch(/\)\s*STRICT$/);
    const insert = (fingerprint: string, location: string) => () =>
      db.transaction((d) =>
        d
          .prepare(
            `INSERT INTO identities (fingerprint, subject, addresses, not_before, not_after, cert, key_ref, key_location, imported_at)
             VALUES (?, 's', '[]', 'x', 'y', x'30', ?, ?, 'z')`,
          )
          .run(fingerprint, `ref-${fingerprint}`, location),
      );
    expect(insert('a'.repeat(64), 'disk')).toThrow(/CHECK/);
    expect(insert('A'.repeat(64), 'database')).toThrow(/CHECK/);
    expect(insert('a'.repeat(63), 'database')).toThrow(/CHECK/);
    expect(() =>
      db.transaction((d) =>
        d
          .prepare("INSERT INTO private_keys (ref, iv, data, tag) VALUES ('r', ?, x'01', ?)")
          .run(Buffer.alloc(8), Buffer.alloc(16)),
      ),
    ).toThrow(/CHECK/);
    expect(() =>
      db.transaction((d) =>
        d
          .prepare("INSERT INTO private_keys (ref, iv, data, tag) VALUES ('r', ?, 'text', ?)")
          .run(Buffer.alloc(12), Buffer.alloc(16)),
      ),
    ).toThrow(/cannot store TEXT value in BLOB column/);
    // Nothing above was kept.
    expect(db.read((d) => d.prepare('SELECT count(*) AS n FROM identities').get())).toEqual({
      n: 0,
    });
  });
});

describe('IdentityStore on a vault profile', () => {
  it('imports a modern PKCS#12 (OpenSSL 3 default, PBES2/AES) with its chain; the key is wrapped in private_keys', async () => {
    const p12 = await exportP12(alice, 'alice pw', ['-certfile', ca.certPath]);
    const info = await run('openssl', [
      'pkcs12',
      '-in',
      p12,
      '-info',
      '-noout',
      '-passin',
      'pass:alice pw',
    ]);
    expect(info.stderr + info.stdout).toMatch(/PBES2, PBKDF2, AES-256-CBC/);
    const store = new IdentityStore(profileA);
    const record = await store.import(identityOf(await readFile(p12), 'alice pw'));
    expect(record.fingerprintSha256).toBe(parseCertificate(alice.certDer).fingerprintSha256);
    expect(record.addresses).toEqual([
      { address: 'alice@example.test', bound: 'address' },
      { address: 'example.test', bound: 'domain' },
    ]);
    expect(record.keyLocation).toBe('database');
    expect(record.chain.map((c) => c.der.toString('hex'))).toEqual([ca.certDer.toString('hex')]);
    expect(record.subject).toContain('alice@example.test');
    const rows = profileA.db.read(
      (d) =>
        d.prepare('SELECT ref, length(data) AS n FROM private_keys').all() as {
          ref: string;
          n: number;
        }[],
    );
    expect(rows.map((r) => r.ref)).toEqual([
      `profile:${profileA.id}:key:${record.fingerprintSha256}`,
    ]);
    // AES-GCM adds no padding: the sealed key is as long as its PKCS#8 DER.
    expect(rows[0]?.n).toBe(pkcs8Of(alice).length);
    // The stored bytes are not the key (sealed, even inside the encrypted database).
    const data = profileA.db.read(
      (d) => (d.prepare('SELECT data FROM private_keys').get() as { data: Buffer }).data,
    );
    expect(data.includes(pkcs8Of(alice).subarray(40, 80))).toBe(false);
  });

  it('re-importing the same certificate is idempotent', async () => {
    const store = new IdentityStore(profileA);
    const before = store.list();
    const again = await store.import(pemIdentity(alice));
    expect(again.importedAt).toBe(before[0]?.importedAt);
    expect(store.list()).toHaveLength(before.length);
    expect(
      profileA.db.read((d) => d.prepare('SELECT count(*) AS n FROM private_keys').get()),
    ).toEqual({ n: 1 });
  });

  it('imports a PEM PKCS#8 key with its certificate; privateKey() signs what the certificate verifies', async () => {
    const store = new IdentityStore(profileA);
    const record = await store.import(pemIdentity(carol));
    expect(record.addresses).toEqual([
      { address: 'carol@other.test', bound: 'address' },
      { address: 'example.test', bound: 'domain' },
    ]);
    expect(store.list().map((r) => r.fingerprintSha256)).toContain(record.fingerprintSha256);
    const key = await store.privateKey(record.fingerprintSha256);
    expect(key.type).toBe('private');
    expect(signedVerifies(key, record.cert)).toBe(true);
    expect(signedVerifies(key, parseCertificate(alice.certDer))).toBe(false);
    // Colons and upper case are accepted, as fingerprints are often shown that way.
    const shown = record.fingerprintSha256.toUpperCase().replace(/(..)(?!$)/g, '$1:');
    expect((await store.privateKey(shown)).equals(key)).toBe(true);
  });

  it('forAddress: address-bound first, then domain-bound; only currently valid identities', () => {
    const store = new IdentityStore(profileA);
    const aliceFp = parseCertificate(alice.certDer).fingerprintSha256;
    const carolFp = parseCertificate(carol.certDer).fingerprintSha256;
    const found = store.forAddress('Alice@Example.Test');
    expect(found.map((r) => r.fingerprintSha256)).toEqual([aliceFp, carolFp]);
    expect(
      store
        .forAddress('dave@example.test')
        .map((r) => r.fingerprintSha256)
        .sort(),
    ).toEqual([aliceFp, carolFp].sort());
    expect(store.forAddress('carol@other.test').map((r) => r.fingerprintSha256)).toEqual([carolFp]);
    expect(store.forAddress('nobody@elsewhere.test')).toEqual([]);
    const later = new IdentityStore(profileA, { now: () => new Date(Date.now() + 400 * 86400e3) });
    expect(later.forAddress('alice@example.test')).toEqual([]);
    expect(later.list()).toHaveLength(2); // expired identities are kept: they decrypt old mail
  });

  it('a key that is not the certificate’s is KEY_CERT_MISMATCH, and nothing is kept', async () => {
    const store = new IdentityStore(profileB);
    const error = await errorOf(
      store.import({ key: pemIdentity(alice).key, cert: parseCertificate(carol.certDer) }),
    );
    expect(error.code).toBe('KEY_CERT_MISMATCH');
    expect(error.message).toContain('carol@other.test');
    expect(store.list()).toEqual([]);
  });

  it('an expired certificate (the Java RI’s expired.der) is CERT_EXPIRED; an RSA-1024 one is WEAK_KEY', async () => {
    const store = new IdentityStore(profileB);
    const expired = {
      key: readPrivateKey(readFileSync(join(javaRi, 'expiredKey.der'))),
      cert: parseCertificate(readFileSync(join(javaRi, 'expired.der'))),
    };
    const error = await errorOf(store.import(expired));
    expect(error.code).toBe('CERT_EXPIRED');
    expect(error.message).toMatch(/expired on 2010-12-03/);
    expect(await codeOf(store.import(pemIdentity(weak)))).toBe('WEAK_KEY');
    // A current certificate imported with a clock past its end is refused too.
    const future = new IdentityStore(profileB, {
      now: () => new Date(Date.now() + 400 * 86400e3),
    });
    expect(await codeOf(future.import(pemIdentity(alice)))).toBe('CERT_EXPIRED');
    expect(store.list()).toEqual([]);
    expect(
      profileB.db.read((d) => d.prepare('SELECT count(*) AS n FROM private_keys').get()),
    ).toEqual({ n: 0 });
  });

  it('imports a domain-bound identity (the Java RI’s cernerdemos.der, SAN dNSName only)', async () => {
    const store = new IdentityStore(profileB);
    const record = await store.import({
      key: readPrivateKey(readFileSync(join(javaRi, 'cernerdemosKey.der'))),
      cert: parseCertificate(readFileSync(join(javaRi, 'cernerdemos.der'))),
    });
    expect(record.addresses).toEqual([{ address: 'messaging.cernerdemos.com', bound: 'domain' }]);
    expect(
      store.forAddress('anyone@messaging.cernerdemos.com').map((r) => r.fingerprintSha256),
    ).toEqual([record.fingerprintSha256]);
    expect(store.forAddress('messaging.cernerdemos.com')).toEqual([]);
  });

  it('a wrapped key is bound to its reference (AAD): moved to another identity it does not open', async () => {
    const store = new IdentityStore(profileA);
    const [first, second] = store.list();
    if (first === undefined || second === undefined) throw new Error('two identities expected');
    const refA = store.keyRef(first.fingerprintSha256);
    const refB = store.keyRef(second.fingerprintSha256);
    const read = (ref: string) =>
      profileA.db.read(
        (d) =>
          d.prepare('SELECT iv, data, tag FROM private_keys WHERE ref = ?').get(ref) as {
            iv: Buffer;
            data: Buffer;
            tag: Buffer;
          },
      );
    const a = read(refA);
    const b = read(refB);
    const put = (ref: string, v: { iv: Buffer; data: Buffer; tag: Buffer }) =>
      profileA.db.transaction((d) =>
        d
          .prepare('UPDATE private_keys SET iv = ?, data = ?, tag = ? WHERE ref = ?')
          .run(v.iv, v.data, v.tag, ref),
      );
    put(refB, a);
    try {
      expect(await codeOf(store.privateKey(second.fingerprintSha256))).toBe('STORE_CORRUPT');
    } finally {
      put(refB, b);
    }
    expect(signedVerifies(await store.privateKey(second.fingerprintSha256), second.cert)).toBe(
      true,
    );
  });

  it('exportSecrets / importSecrets move keys to another profile, re-wrapped under its key', async () => {
    const source = new IdentityStore(profileA);
    const secrets = await source.exportSecrets();
    expect(secrets.map((s) => s.fingerprint)).toEqual(
      source.list().map((r) => r.fingerprintSha256),
    );
    expect(secrets[0]?.pkcs8.equals(pkcs8Of(alice))).toBe(true);
    const target = new IdentityStore(profileB);
    const [aliceSecret] = secrets;
    if (aliceSecret === undefined) throw new Error('a secret expected');
    // Without a row or a certificate there is nothing to attach the key to.
    expect(await codeOf(target.importSecrets([aliceSecret]))).toBe('IDENTITY_NOT_FOUND');
    // Someone else's key for alice's certificate is refused.
    expect(
      await codeOf(
        target.importSecrets([
          { fingerprint: aliceSecret.fingerprint, pkcs8: pkcs8Of(carol), certDer: alice.certDer },
        ]),
      ),
    ).toBe('KEY_CERT_MISMATCH');
    expect(
      await target.importSecrets([
        { ...aliceSecret, certDer: alice.certDer, chainDer: [ca.certDer] },
      ]),
    ).toBe(1);
    const moved = target.list().find((r) => r.fingerprintSha256 === aliceSecret.fingerprint);
    expect(moved?.keyLocation).toBe('database');
    expect(moved?.chain).toHaveLength(1);
    const key = await target.privateKey(aliceSecret.fingerprint);
    expect(signedVerifies(key, parseCertificate(alice.certDer))).toBe(true);
    // Restored rows that still name the old profile's key are re-bound to this one.
    const oldRef = source.keyRef(aliceSecret.fingerprint);
    profileB.db.transaction((d) =>
      d
        .prepare('UPDATE identities SET key_ref = ? WHERE fingerprint = ?')
        .run(oldRef, aliceSecret.fingerprint),
    );
    expect(await target.importSecrets([aliceSecret])).toBe(1);
    expect(
      profileB.db.read((d) =>
        d
          .prepare('SELECT key_ref FROM identities WHERE fingerprint = ?')
          .get(aliceSecret.fingerprint),
      ),
    ).toEqual({ key_ref: target.keyRef(aliceSecret.fingerprint) });
    expect((await target.privateKey(aliceSecret.fingerprint)).equals(key)).toBe(true);
    for (const s of secrets) s.pkcs8.fill(0);
  });

  it('remove() drops the identity and its wrapped key; unknown fingerprints are IDENTITY_NOT_FOUND', async () => {
    const store = new IdentityStore(profileB);
    const fingerprint = parseCertificate(alice.certDer).fingerprintSha256;
    const before = store.list().length;
    await store.remove(fingerprint);
    expect(store.list()).toHaveLength(before - 1);
    expect(
      profileB.db.read((d) =>
        d
          .prepare('SELECT count(*) AS n FROM private_keys WHERE ref = ?')
          .get(store.keyRef(fingerprint)),
      ),
    ).toEqual({ n: 0 });
    expect(
      profileB.db.read((d) => d.prepare('SELECT count(*) AS n FROM identity_chain').get()),
    ).toEqual({ n: 0 });
    expect(await codeOf(store.privateKey(fingerprint))).toBe('IDENTITY_NOT_FOUND');
    expect(await codeOf(store.remove(fingerprint))).toBe('IDENTITY_NOT_FOUND');
    expect(await codeOf(store.privateKey('not a fingerprint'))).toBe('IDENTITY_NOT_FOUND');
  });
});

describe('PKCS#12 files that are not imported', () => {
  it('the ETT testCert.p12 (legacy RC2) is PKCS12_UNSUPPORTED with the conversion commands; converted, it reads and is refused by policy (RSA-1024, expired 2015)', async () => {
    const error = await errorOf(() => readPkcs12(readFileSync(ettP12), ''));
    expect(error.code).toBe('PKCS12_UNSUPPORTED');
    expect(error.message).toContain('openssl pkcs12 -legacy -in old.p12 -nodes -out tmp.pem');
    expect(error.message).toContain('openssl pkcs12 -export -in tmp.pem -out new.p12');
    // The two-step conversion from the message.
    const converted = await convertLegacyPkcs12(ettP12, tmp.path);
    const identity = identityOf(await readFile(converted), '');
    expect(identity.cert.publicKey.bits).toBe(1024);
    const store = new IdentityStore(profileB);
    expect(await codeOf(store.import(identity))).toBe('CERT_EXPIRED');
    const then = new IdentityStore(profileB, { now: () => new Date('2015-01-01T00:00:00Z') });
    const weakError = await errorOf(then.import(identity));
    expect(weakError.code).toBe('WEAK_KEY');
    expect(weakError.message).toMatch(/RSA-1024/);
    expect(store.list().map((r) => r.fingerprintSha256)).not.toContain(
      identity.cert.fingerprintSha256,
    );
  });

  it('a wrong password is PKCS12_BAD_PASSWORD; a damaged or foreign file is a typed error', async () => {
    const p12 = await readFile(await exportP12(alice, 'right'));
    expect(await codeOf(() => readPkcs12(p12, 'wrong'))).toBe('PKCS12_BAD_PASSWORD');
    const flipped = Buffer.from(p12);
    const at = Math.floor(flipped.length / 2);
    flipped.writeUInt8((flipped[at] ?? 0) ^ 0x55, at);
    expect(await codeOf(() => readPkcs12(flipped, 'right'))).toMatch(
      /^PKCS12_(BAD_PASSWORD|MALFORMED)$/,
    );
    expect(await codeOf(() => readPkcs12(p12.subarray(0, 300), 'right'))).toBe('PKCS12_MALFORMED');
    expect(await codeOf(() => readPkcs12(randomBytes(600), 'right'))).toBe('PKCS12_MALFORMED');
  });
});

describe('sealpost profile import-key', () => {
  it('imports a PKCS#12 into a vault profile and prints the identity (exit 0); again: nothing changed', async () => {
    const dir = join(tmp.path, 'cli-profile');
    (await initProfile(dir, { keySource: sourceFor(dir) })).close();
    const p12 = await exportP12(carol, 'p12 pw', ['-certfile', ca.certPath]);
    const args = [
      '--profile',
      dir,
      '--pass',
      'env:PROFILE_PASS',
      '--p12',
      p12,
      '--p12-pass',
      'env:P12',
    ];
    const first = makeIo({ P12: 'p12 pw' });
    expect(await profileImportKeyCommand(args, first.io)).toBe(0);
    const fingerprint = parseCertificate(carol.certDer).fingerprintSha256;
    expect(first.out()).toContain('Imported the identity');
    expect(first.out()).toContain(fingerprint);
    expect(first.out()).toContain('carol@other.test (address-bound)');
    expect(first.out()).toContain('example.test (domain-bound)');
    expect(first.out()).toMatch(/valid until: +\d{4}-\d\d-\d\dT/);
    expect(first.out()).toContain("private key:  in the profile's encrypted database");
    expect(first.err()).toBe('');
    const second = makeIo({ P12: 'p12 pw' });
    expect(await profileImportKeyCommand(args, second.io)).toBe(0);
    expect(second.out()).toContain('already in the profile; nothing changed');
    const profile = await openProfile(dir, { keySourceFor: (_k, at) => sourceFor(at) });
    try {
      const [record] = new IdentityStore(profile).list();
      expect(record?.fingerprintSha256).toBe(fingerprint);
      expect(record?.chain).toHaveLength(1);
    } finally {
      profile.close();
    }
  });

  it('imports --key (encrypted PKCS#8 PEM) with --cert and --chain', async () => {
    const dir = join(tmp.path, 'cli-profile');
    const encrypted = join(tmp.path, 'alice-enc.key');
    await run('openssl', [
      'pkcs8',
      '-topk8',
      '-v2',
      'aes-256-cbc',
      '-in',
      alice.keyPath,
      '-out',
      encrypted,
      '-passout',
      'pass:key pw',
    ]);
    const { io, out, err } = makeIo({ KEYPW: 'key pw' });
    const code = await profileImportKeyCommand(
      [
        '--profile',
        dir,
        '--pass',
        'env:PROFILE_PASS',
        '--key',
        encrypted,
        '--key-pass',
        'env:KEYPW',
        '--cert',
        alice.certPath,
        '--chain',
        ca.derPath,
      ],
      io,
    );
    expect(err()).toBe('');
    expect(code).toBe(0);
    expect(out()).toContain(parseCertificate(alice.certDer).fingerprintSha256);
    expect(out()).toContain('Sealpost Test CA');
  });

  it('refusals exit 2 with their code; the ETT file’s message gives the conversion commands', async () => {
    const dir = join(tmp.path, 'cli-profile');
    const base = ['--profile', dir, '--pass', 'env:PROFILE_PASS'];
    const cases: { args: string[]; env?: NodeJS.ProcessEnv; code: string }[] = [
      { args: ['--p12', ettP12], code: 'PKCS12_UNSUPPORTED' },
      {
        args: ['--p12', await exportP12(alice, 'right'), '--p12-pass', 'env:P'],
        env: { P: 'wrong' },
        code: 'PKCS12_BAD_PASSWORD',
      },
      { args: ['--key', alice.keyPath, '--cert', carol.certPath], code: 'KEY_CERT_MISMATCH' },
      { args: ['--key', weak.keyPath, '--cert', weak.certPath], code: 'WEAK_KEY' },
      {
        args: ['--key', join(javaRi, 'expiredKey.der'), '--cert', join(javaRi, 'expired.der')],
        code: 'CERT_EXPIRED',
      },
      { args: ['--key', alice.certPath, '--cert', alice.certPath], code: 'KEY_MALFORMED' },
    ];
    const corrupt = join(tmp.path, 'corrupt.p12');
    await writeFile(corrupt, (await readFile(await exportP12(alice, 'x'))).subarray(0, 200));
    cases.push({
      args: ['--p12', corrupt, '--p12-pass', 'env:P'],
      env: { P: 'x' },
      code: 'PKCS12_MALFORMED',
    });
    for (const c of cases) {
      const { io, out, err } = makeIo(c.env);
      expect(await profileImportKeyCommand([...base, ...c.args], io), c.code).toBe(2);
      expect(err(), c.code).toContain(`[${c.code}]`);
      expect(out()).toBe('');
      if (c.code === 'PKCS12_UNSUPPORTED') {
        expect(err()).toContain('openssl pkcs12 -legacy -in old.p12 -nodes -out tmp.pem');
        expect(err()).toContain('shred -u tmp.pem');
      }
    }
  });

  it('usage errors are UsageErrors (exit 1 from the CLI); --help prints the help', async () => {
    const dir = join(tmp.path, 'cli-profile');
    const usage = async (args: string[]) => {
      try {
        await profileImportKeyCommand(args, makeIo().io);
      } catch (error) {
        return error instanceof UsageError ? error.message : `other: ${String(error)}`;
      }
      return 'no error';
    };
    expect(await usage(['--p12', ettP12])).toMatch(/--profile DIR is required/);
    expect(await usage(['--profile', dir, '--pass', 'env:PROFILE_PASS'])).toMatch(
      /an identity is required/,
    );
    expect(await usage(['--profile', dir, '--p12', ettP12, '--key', alice.keyPath])).toMatch(
      /not both/,
    );
    expect(await usage(['--profile', dir, '--p12', ettP12, '--p12-pass', 'bare'])).toMatch(
      /^--p12-pass takes env:NAME or file:PATH/,
    );
    expect(await usage(['--profile', dir, '--p12', join(tmp.path, 'nope.p12')])).toMatch(
      /no such file/,
    );
    expect(await usage(['--profile', dir, '--bogus'])).toMatch(/unknown option/);
    const help = makeIo();
    expect(await profileImportKeyCommand(['--help'], help.io)).toBe(0);
    expect(help.out()).toBe(PROFILE_IMPORT_KEY_HELP);
  });
});

describe('nothing of a private key on disk', () => {
  it('no file under the profile directories holds a private key (raw, hex or base64), open or closed; closed, no key is given', async () => {
    const keys = [alice, carol].map(pkcs8Of);
    keys.push(
      readPrivateKey(readFileSync(join(javaRi, 'cernerdemosKey.der'))).export({
        format: 'der',
        type: 'pkcs8',
      }),
    );
    const check = async () => {
      const files = [
        ...(await filesUnder(dirA)),
        ...(await filesUnder(dirB)),
        ...(await filesUnder(join(tmp.path, 'cli-profile'))),
      ];
      expect(files.some((f) => f.endsWith('sealpost.db'))).toBe(true);
      for (const file of files) {
        const content = await readFile(file);
        for (const der of keys) {
          for (const form of forms(der)) {
            expect(content.includes(form.bytes), `${form.name} in ${file}`).toBe(false);
          }
        }
      }
    };
    await check(); // open: the WAL holds recent pages
    profileA.close();
    profileB.close();
    await check();
    // A closed (locked) profile gives no key.
    const locked = new IdentityStore(profileA);
    expect(await codeOf(() => locked.list())).toBe('PROFILE_LOCKED');
    expect(await codeOf(locked.privateKey(parseCertificate(alice.certDer).fingerprintSha256))).toBe(
      'PROFILE_LOCKED',
    );
  });
});
