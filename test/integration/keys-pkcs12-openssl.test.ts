/**
 * PKCS#12 files written by OpenSSL 3 (a different implementation) read by hisp/keys:
 * modern (PBES2 AES-256-CBC, SHA-256 MAC), pure legacy 3DES, OpenSSL's -legacy default
 * (RC2-40 certificates, 3DES key), chains, empty and non-ASCII passwords, no MAC, damaged
 * files, and the ETT's legacy testCert.p12. Every file lives in a temp dir removed afterwards;
 * no key material is printed.
 */
import { convertLegacyPkcs12, opensslPkcs12 } from '../services/openssl-direct.js';
import { X509Certificate, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  assertKeyMatchesCertificate,
  readPkcs12,
  readPrivateKey,
} from '../../hisp/keys/material.js';
import { OID, bmpPassword, digestInfo, pkcs12Kdf } from '../../hisp/keys/pbe.js';
import { createTestCa, issueEndEntityCert, makeTempDir, run } from '../services/index.js';
import type { TempDir, TestCa, TestEndEntity } from '../services/index.js';
import { thrownCode as codeOf, thrownHispError as errorOf } from '../services/hispErrors.js';

const interop = resolve(import.meta.dirname, '..', '..', '..', 'shared', 'interop');
const ettP12 = join(interop, 'ett', 'testCert.p12');

describe('readPkcs12 against OpenSSL 3 files', () => {
  let tmp: TempDir;
  let ca: TestCa;
  let alice: TestEndEntity;
  let count = 0;

  beforeAll(async () => {
    tmp = await makeTempDir('keys-p12');
    ca = await createTestCa(tmp.path);
    alice = await issueEndEntityCert(ca, tmp.path, { email: 'alice@example.test' });
  });

  afterAll(async () => {
    await tmp.remove();
  });

  /** `openssl pkcs12 -export` of alice's key and certificate, with extra arguments. */
  async function exportP12(
    password: string,
    args: readonly string[] = [],
    input?: { cert: string; key: string },
  ): Promise<Buffer> {
    const identity = {
      certPath: input?.cert ?? alice.certPath,
      keyPath: input?.key ?? alice.keyPath,
    };
    return readFile(
      await opensslPkcs12(identity, join(tmp.path, `p12-${++count}.p12`), password, { args }),
    );
  }

  /** OpenSSL's own description of a file, to be sure each case tests what it says. */
  async function info(file: Buffer, password: string, legacy = false): Promise<string> {
    const path = join(tmp.path, `info-${++count}.p12`);
    await writeFile(path, file);
    const { stderr, stdout } = await run('openssl', [
      'pkcs12',
      ...(legacy ? ['-legacy'] : []),
      '-in',
      path,
      '-info',
      '-noout',
      '-passin',
      `pass:${password}`,
    ]);
    return stderr + stdout;
  }

  function expectAlice(contents: ReturnType<typeof readPkcs12>): void {
    expect(contents.certDer.equals(alice.certDer)).toBe(true);
    expect(contents.key.type).toBe('private');
    expect(() => assertKeyMatchesCertificate(contents.key, contents.certDer)).not.toThrow();
    expect(contents.key.equals(readPrivateKey(Buffer.from(alice.keyPem)))).toBe(true);
  }

  it('reads the modern default (PBES2 AES-256-CBC, SHA-256 MAC)', async () => {
    const p12 = await exportP12('correct horse');
    const described = await info(p12, 'correct horse');
    expect(described).toMatch(/MAC: sha256/);
    expect(described).toMatch(/PBES2, PBKDF2, AES-256-CBC/);
    const contents = readPkcs12(p12, 'correct horse');
    expectAlice(contents);
    expect(contents.chainDer).toHaveLength(0);
  });

  it("reads a chain (-certfile): the leaf is the key's certificate, the CA is in chainDer", async () => {
    const p12 = await exportP12('pw', ['-certfile', ca.certPath, '-name', 'Alice Direct']);
    const contents = readPkcs12(p12, 'pw');
    expectAlice(contents);
    expect(contents.chainDer.map((d) => d.toString('hex'))).toEqual([ca.certDer.toString('hex')]);
    expect(contents.friendlyName).toBe('Alice Direct');
  });

  it('picks the matching certificate even when the CA certificate comes first and there is no localKeyId', async () => {
    // -in holds the CA before the leaf; OpenSSL then writes both without a localKeyId on the CA.
    const bundle = join(tmp.path, 'bundle.pem');
    await writeFile(bundle, ca.certPem + alice.certPem);
    const p12 = await exportP12('pw', [], { cert: bundle, key: alice.keyPath });
    const contents = readPkcs12(p12, 'pw');
    expectAlice(contents);
    expect(contents.chainDer.map((d) => d.toString('hex'))).toEqual([ca.certDer.toString('hex')]);
  });

  it('a wrong password is PKCS12_BAD_PASSWORD', async () => {
    const p12 = await exportP12('right');
    const error = errorOf(() => readPkcs12(p12, 'wrong'));
    expect(error.code).toBe('PKCS12_BAD_PASSWORD');
    expect(error.message).toMatch(/password is wrong/);
    expect(codeOf(() => readPkcs12(p12, ''))).toBe('PKCS12_BAD_PASSWORD');
  });

  it('reads pure legacy 3DES (-keypbe/-certpbe PBE-SHA1-3DES -macalg sha1)', async () => {
    const p12 = await exportP12('legacy pw', [
      '-keypbe',
      'PBE-SHA1-3DES',
      '-certpbe',
      'PBE-SHA1-3DES',
      '-macalg',
      'sha1',
    ]);
    const described = await info(p12, 'legacy pw');
    expect(described).toMatch(/MAC: sha1/);
    expect(described).toMatch(/pbeWithSHA1And3-KeyTripleDES-CBC/);
    expect(described).not.toMatch(/RC2/);
    expectAlice(readPkcs12(p12, 'legacy pw'));
    expect(codeOf(() => readPkcs12(p12, 'legacy pX'))).toBe('PKCS12_BAD_PASSWORD');
  });

  it('reads AES-128 with a SHA-512 MAC and AES-192 with a SHA-384 MAC (128-byte KDF blocks)', async () => {
    expectAlice(
      readPkcs12(
        await exportP12('a', [
          '-keypbe',
          'AES-128-CBC',
          '-certpbe',
          'AES-128-CBC',
          '-macalg',
          'sha512',
        ]),
        'a',
      ),
    );
    expectAlice(
      readPkcs12(
        await exportP12('b', [
          '-keypbe',
          'AES-192-CBC',
          '-certpbe',
          'AES-192-CBC',
          '-macalg',
          'sha384',
        ]),
        'b',
      ),
    );
  });

  it('reads a file whose certificates are not encrypted (-certpbe NONE) and one with a high iteration count', async () => {
    expectAlice(readPkcs12(await exportP12('c', ['-certpbe', 'NONE']), 'c'));
    expectAlice(readPkcs12(await exportP12('d', ['-iter', '100000', '-maciter']), 'd'));
  });

  it('OpenSSL -legacy (RC2-40 certificates, 3DES key) is PKCS12_UNSUPPORTED with the conversion commands', async () => {
    const p12 = await exportP12('old', ['-legacy']);
    const described = await info(p12, 'old', true);
    expect(described).toMatch(/pbeWithSHA1And40BitRC2-CBC/);
    expect(described).toMatch(/Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC/);
    const error = errorOf(() => readPkcs12(p12, 'old'));
    expect(error.code).toBe('PKCS12_UNSUPPORTED');
    expect(error.message).toContain('pbeWithSHA1And40BitRC2-CBC');
    expect(error.message).toContain(
      'the private key itself, protected with pbeWithSHA1And3-KeyTripleDES-CBC, was readable',
    );
    expect(error.message).toContain('openssl pkcs12 -legacy -in old.p12 -nodes -out tmp.pem');
    expect(error.message).toContain('openssl pkcs12 -export -in tmp.pem -out new.p12');
    expect(error.message).toMatch(/delete tmp\.pem securely/);
    expect(error.message).toContain('shred -u tmp.pem');
    expect(error.message).toContain(
      '-inkey <(openssl pkcs12 -legacy -in old.p12 -nocerts -nodes -passin env:P12PASS)',
    );
    // The MAC is checked first: a wrong password is still a wrong password.
    expect(codeOf(() => readPkcs12(p12, 'new'))).toBe('PKCS12_BAD_PASSWORD');
  });

  it('the one-step bash conversion in the message turns a -legacy file into one that reads', async () => {
    const dir = join(tmp.path, 'convert');
    await mkdir(dir);
    await writeFile(join(dir, 'old.p12'), await exportP12('old', ['-legacy']));
    const message = errorOf(() => readPkcs12(readFileSync(join(dir, 'old.p12')), 'old')).message;
    const command = message.split('\n').find((line) => line.includes('-inkey <('));
    expect(command).toBeDefined();
    // Run the line exactly as printed (in the directory holding old.p12), with the new
    // password given non-interactively.
    await run('bash', ['-c', `${command?.trim() ?? ''} -passout pass:new`], {
      cwd: dir,
      env: { ...process.env, P12PASS: 'old' },
    });
    expectAlice(readPkcs12(await readFile(join(dir, 'new.p12')), 'new'));
  });

  it('reads files with an empty password (modern and 3DES)', async () => {
    expectAlice(readPkcs12(await exportP12(''), ''));
    expectAlice(
      readPkcs12(
        await exportP12('', [
          '-keypbe',
          'PBE-SHA1-3DES',
          '-certpbe',
          'PBE-SHA1-3DES',
          '-macalg',
          'sha1',
        ]),
        '',
      ),
    );
    expect(codeOf(() => readPkcs12(readFileSync(ettP12), 'not empty'))).toBe('PKCS12_BAD_PASSWORD');
  });

  it('reads a non-ASCII password (UTF-8 for PBES2, BMPString for the MAC)', async () => {
    expectAlice(readPkcs12(await exportP12('pässwörd€'), 'pässwörd€'));
    expectAlice(
      readPkcs12(
        await exportP12('pässwörd€', ['-keypbe', 'PBE-SHA1-3DES', '-certpbe', 'PBE-SHA1-3DES']),
        'pässwörd€',
      ),
    );
  });

  it('reads a file without a MAC (-nomac); there a wrong password fails at decryption', async () => {
    const p12 = await exportP12('nomac', ['-nomac']);
    expect(await info(p12, 'nomac')).not.toMatch(/MAC:/);
    expectAlice(readPkcs12(p12, 'nomac'));
    const error = errorOf(() => readPkcs12(p12, 'wrong'));
    expect(error.code).toBe('PKCS12_BAD_PASSWORD');
    const legacy3des = await exportP12('nomac', [
      '-nomac',
      '-keypbe',
      'PBE-SHA1-3DES',
      '-certpbe',
      'PBE-SHA1-3DES',
    ]);
    expect(codeOf(() => readPkcs12(legacy3des, 'wrong'))).toBe('PKCS12_BAD_PASSWORD');
  });

  it('reads an EC P-256 identity', async () => {
    const key = join(tmp.path, 'ec.key');
    const cert = join(tmp.path, 'ec.pem');
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      '/CN=ec.example.test',
    ]);
    const contents = readPkcs12(await exportP12('ec', [], { cert, key }), 'ec');
    expect(contents.key.asymmetricKeyType).toBe('ec');
    expect(contents.certDer.equals(new X509Certificate(await readFile(cert)).raw)).toBe(true);
  });

  it('a file with no certificate, or no key, is PKCS12_MALFORMED', async () => {
    const keyOnly = await exportP12('k', ['-nocerts']);
    expect(errorOf(() => readPkcs12(keyOnly, 'k')).message).toMatch(/no certificate/);
    const out = join(tmp.path, 'certs-only.p12');
    await run('openssl', [
      'pkcs12',
      '-export',
      '-nokeys',
      '-in',
      alice.certPath,
      '-out',
      out,
      '-passout',
      'pass:c',
    ]);
    const certOnly = await readFile(out);
    const error = errorOf(() => readPkcs12(certOnly, 'c'));
    expect(error.code).toBe('PKCS12_MALFORMED');
    expect(error.message).toMatch(/no private key/);
  });

  it('risk-16: corrupted files (flipped bytes, truncation) are typed errors, never a crash or a wrong identity', async () => {
    const p12 = await exportP12('pw', ['-certfile', ca.certPath]);
    const seen = new Set<string>();
    for (let i = 0; i < p12.length; i += Math.max(1, Math.floor(p12.length / 150))) {
      const copy = Buffer.from(p12);
      copy[i] = (copy[i] ?? 0) ^ 0x5a;
      const code = codeOf(() => readPkcs12(copy, 'pw'));
      seen.add(code);
      expect(
        ['PKCS12_BAD_PASSWORD', 'PKCS12_MALFORMED', 'PKCS12_UNSUPPORTED'],
        `byte ${i}`,
      ).toContain(code);
    }
    // Flips inside the MAC'd content are caught by the MAC; flips in the framing are malformed.
    expect(seen).toContain('PKCS12_BAD_PASSWORD');
    expect(seen).toContain('PKCS12_MALFORMED');
    for (let length = 0; length < p12.length; length += 61) {
      const code = codeOf(() => readPkcs12(p12.subarray(0, length), 'pw'));
      expect(['PKCS12_MALFORMED', 'PKCS12_BAD_PASSWORD'], `length ${length}`).toContain(code);
    }
    expect(codeOf(() => readPkcs12(Buffer.concat([p12, randomBytes(3)]), 'pw'))).toBe(
      'PKCS12_MALFORMED',
    );
  });

  it('the ETT testCert.p12 (empty password, RC2-40 certificates) is PKCS12_UNSUPPORTED with the conversion commands', async () => {
    const ett = readFileSync(ettP12);
    const described = await info(ett, '', true);
    expect(described).toMatch(/MAC: sha1/);
    expect(described).toMatch(/pbeWithSHA1And40BitRC2-CBC/);
    const error = errorOf(() => readPkcs12(ett, ''));
    expect(error.code).toBe('PKCS12_UNSUPPORTED');
    expect(error.message).toContain('pbeWithSHA1And40BitRC2-CBC');
    expect(error.message).toContain('openssl pkcs12 -legacy -in old.p12 -nodes -out tmp.pem');
    expect(error.message).toContain('-passin pass:');
  });

  it('the ETT testCert.p12 converted with the two-step commands reads, and its key matches its certificate', async () => {
    const converted = await convertLegacyPkcs12(ettP12, tmp.path);
    const contents = readPkcs12(await readFile(converted), '');
    expect(() => assertKeyMatchesCertificate(contents.key, contents.certDer)).not.toThrow();
    expect(
      new X509Certificate(contents.certDer).publicKey.asymmetricKeyDetails?.modulusLength,
    ).toBe(1024);
  });

  it('the RFC 7292 KDF agrees with `openssl kdf PKCS12KDF` (SHA-1, SHA-256, SHA-512; ids 1-3)', async () => {
    const cases = [
      { digest: 'SHA1', oid: OID.sha1, id: 1 as const, iter: 1, n: 24, password: 'smeg' },
      { digest: 'SHA1', oid: OID.sha1, id: 2 as const, iter: 2048, n: 8, password: '' },
      {
        digest: 'SHA256',
        oid: OID.sha256,
        id: 3 as const,
        iter: 2048,
        n: 32,
        password: 'pässwörd',
      },
      {
        digest: 'SHA512',
        oid: OID.sha512,
        id: 3 as const,
        iter: 7,
        n: 100,
        password: 'a longer password that spans more than one sixty-four byte block!',
      },
    ];
    for (const c of cases) {
      const salt = randomBytes(13);
      const pw = bmpPassword(c.password);
      const { stdout } = await run('openssl', [
        'kdf',
        '-keylen',
        String(c.n),
        '-kdfopt',
        `digest:${c.digest}`,
        '-kdfopt',
        `hexpass:${pw.toString('hex')}`,
        '-kdfopt',
        `hexsalt:${salt.toString('hex')}`,
        '-kdfopt',
        `iter:${c.iter}`,
        '-kdfopt',
        `id:${c.id}`,
        'PKCS12KDF',
      ]);
      const expected = stdout.trim().replace(/:/g, '').toLowerCase();
      expect(
        pkcs12Kdf(digestInfo(c.oid), pw, salt, c.id, c.iter, c.n).toString('hex'),
        c.digest,
      ).toBe(expected);
    }
  });

  it('reads encrypted PKCS#8 written by `openssl pkcs8` (PBES2 and the PKCS#12 3DES PBE)', async () => {
    for (const args of [
      ['-v2', 'aes-256-cbc'],
      ['-v1', 'PBE-SHA1-3DES'],
      ['-v2', 'des3', '-v2prf', 'hmacWithSHA512'],
    ]) {
      for (const outform of ['PEM', 'DER']) {
        const out = join(tmp.path, `key-${++count}`);
        await run('openssl', [
          'pkcs8',
          '-topk8',
          '-in',
          alice.keyPath,
          '-out',
          out,
          '-outform',
          outform,
          '-passout',
          'pass:kp',
          ...args,
        ]);
        const data = await readFile(out);
        const key = readPrivateKey(data, 'kp');
        expect(
          () => assertKeyMatchesCertificate(key, alice.certDer),
          `${args.join(' ')} ${outform}`,
        ).not.toThrow();
        expect(codeOf(() => readPrivateKey(data, 'kq'))).toBe('KEY_MALFORMED');
      }
    }
    // RC2 (PBES1) encrypted PKCS#8: refused with how to re-encrypt.
    const out = join(tmp.path, `key-${++count}`);
    await run('openssl', [
      'pkcs8',
      '-topk8',
      '-in',
      alice.keyPath,
      '-out',
      out,
      '-passout',
      'pass:kp',
      '-v1',
      'PBE-SHA1-RC2-40',
      '-provider',
      'legacy',
      '-provider',
      'default',
    ]);
    const error = errorOf(() => readPrivateKey(readFileSync(out), 'kp'));
    expect(error.code).toBe('KEY_MALFORMED');
    expect(error.message).toMatch(/pbeWithSHA1And40BitRC2-CBC/);
    // The command in the message works on it (the file names and passwords are ours).
    const command = /openssl (pkcs8 -topk8 .*?-in old\.key -out new\.key)/.exec(error.message)?.[1];
    expect(command).toBeDefined();
    const converted = join(tmp.path, `key-${++count}`);
    const args = (command ?? '')
      .split(' ')
      .map((a) => (a === 'old.key' ? out : a === 'new.key' ? converted : a));
    await run('openssl', [...args, '-passin', 'pass:kp', '-passout', 'pass:np']);
    const key = readPrivateKey(await readFile(converted), 'np');
    expect(() => assertKeyMatchesCertificate(key, alice.certDer)).not.toThrow();
  });
});
