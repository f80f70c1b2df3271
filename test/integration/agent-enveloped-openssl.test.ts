/**
 * CMS EnvelopedData / AuthEnvelopedData against OpenSSL 3 (`openssl cms`), both directions:
 * what OpenSSL encrypts, we decrypt; what we encrypt, OpenSSL decrypts. A different
 * implementation is the test of interoperability, not our own round trips.
 */
import { spawnSync } from 'node:child_process';
import { createPrivateKey, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { BerReader } from '../../hisp/asn1/ber.js';
import { decryptContent, encryptContent } from '../../hisp/agent/cms/enveloped.js';
import type { DecryptKey } from '../../hisp/agent/cms/enveloped.js';
import { bytesOf, collect } from '../../hisp/agent/types.js';
import type { ContentCipher, KeyTransport } from '../../hisp/agent/types.js';
import { createTestCa, issueEndEntityCert } from '../services/certs.js';
import type { TestEndEntity } from '../services/certs.js';
import { findBinary, run } from '../services/proc.js';
import { makeTempDir } from '../services/tmp.js';
import type { TempDir } from '../services/tmp.js';
import { thrownHispError as hispError } from '../services/hispErrors.js';

const OPENSSL_CIPHER: Record<ContentCipher, string> = {
  'aes128-cbc': '-aes-128-cbc',
  'aes192-cbc': '-aes-192-cbc',
  'aes256-cbc': '-aes-256-cbc',
  'aes128-gcm': '-aes-128-gcm',
  'aes192-gcm': '-aes-192-gcm',
  'aes256-gcm': '-aes-256-gcm',
};

function keyOptions(keyTransport: KeyTransport): string[] {
  if (keyTransport === 'pkcs1') return [];
  const md = keyTransport.slice(5);
  return [
    '-keyopt',
    'rsa_padding_mode:oaep',
    '-keyopt',
    `rsa_oaep_md:${md}`,
    '-keyopt',
    `rsa_mgf1_md:${md}`,
  ];
}

const CIPHERS: readonly ContentCipher[] = [
  'aes128-cbc',
  'aes192-cbc',
  'aes256-cbc',
  'aes128-gcm',
  'aes256-gcm',
];
const TRANSPORTS: readonly KeyTransport[] = ['oaep-sha256', 'oaep-sha1', 'pkcs1'];
/** Whether this OpenSSL can load its legacy provider (RC2 lives there). */
const legacyProvider =
  spawnSync(findBinary('openssl', 'openssl'), ['list', '-providers', '-provider', 'legacy'], {
    stdio: 'ignore',
  }).status === 0;

const SIZES = [
  ['10 KB', 10 * 1024],
  ['1 MB', 1024 * 1024],
] as const;

describe('CMS enveloping interoperates with OpenSSL 3 (openssl cms)', () => {
  const openssl = findBinary('openssl', 'openssl');
  let tmp: TempDir;
  let alice: TestEndEntity;
  let bob: TestEndEntity;
  let aliceKey: DecryptKey;
  let bobKey: DecryptKey;
  const contents = new Map<number, { data: Buffer; path: string }>();
  let serial = 0;
  const file = (stem: string): string => join(tmp.path, `${stem}-${++serial}`);

  beforeAll(async () => {
    tmp = await makeTempDir('enveloped');
    const ca = await createTestCa(tmp.path);
    [alice, bob] = await Promise.all([
      issueEndEntityCert(ca, tmp.path, { email: 'alice@example.test' }),
      issueEndEntityCert(ca, tmp.path, { email: 'bob@example.test' }),
    ]);
    aliceKey = { certDer: alice.certDer, key: createPrivateKey(alice.keyPem) };
    bobKey = { certDer: bob.certDer, key: createPrivateKey(bob.keyPem) };
    for (const [, size] of SIZES) {
      const data = randomBytes(size);
      const path = join(tmp.path, `content-${size}.bin`);
      await writeFile(path, data);
      contents.set(size, { data, path });
    }
  });

  afterAll(async () => {
    await tmp?.remove();
  });

  function content(size: number): { data: Buffer; path: string } {
    const entry = contents.get(size);
    if (!entry) throw new Error(`no content of ${size} bytes`);
    return entry;
  }

  /** openssl cms -encrypt → DER bytes. */
  async function opensslEncrypt(
    input: string,
    cipher: ContentCipher,
    keyTransport: KeyTransport,
    recipients: readonly TestEndEntity[],
    extra: readonly string[] = [],
  ): Promise<Buffer> {
    const out = file('openssl.p7m');
    const recips = recipients.flatMap((r) => ['-recip', r.certPath, ...keyOptions(keyTransport)]);
    await run(openssl, [
      'cms',
      '-encrypt',
      '-binary',
      '-outform',
      'DER',
      OPENSSL_CIPHER[cipher],
      ...extra,
      '-in',
      input,
      '-out',
      out,
      ...recips,
    ]);
    return readFile(out);
  }

  /** openssl cms -decrypt of our DER → plaintext bytes. */
  async function opensslDecrypt(message: Uint8Array, who: TestEndEntity): Promise<Buffer> {
    const input = file('ours.p7m');
    const out = file('plain');
    await writeFile(input, message);
    await run(openssl, [
      'cms',
      '-decrypt',
      '-inform',
      'DER',
      '-in',
      input,
      '-inkey',
      who.keyPath,
      '-recip',
      who.certPath,
      '-binary',
      '-out',
      out,
    ]);
    return readFile(out);
  }

  function ours(
    data: Uint8Array,
    cipher: ContentCipher,
    keyTransport: KeyTransport,
    recipients: readonly TestEndEntity[],
    recipientIdentifier?: 'subjectKeyIdentifier',
  ): Buffer {
    const options = recipientIdentifier
      ? { cipher, keyTransport, recipientIdentifier }
      : { cipher, keyTransport };
    return collect(
      encryptContent(
        bytesOf(data),
        recipients.map((r) => r.certDer),
        options,
      ),
    );
  }

  for (const cipher of CIPHERS) {
    for (const keyTransport of TRANSPORTS) {
      for (const [label, size] of SIZES) {
        it(`OpenSSL → Sealpost: ${cipher} × ${keyTransport}, ${label}`, async () => {
          const { data, path } = content(size);
          const message = await opensslEncrypt(path, cipher, keyTransport, [alice]);
          const result = decryptContent(message, [aliceKey]);
          expect(result.cipher).toBe(cipher);
          expect(result.keyTransport).toBe(keyTransport);
          expect(result.recipientCertDer).toBe(alice.certDer);
          expect(result.content.length).toBe(data.length);
          expect(Buffer.compare(result.content, data)).toBe(0);
        });

        it(`Sealpost → OpenSSL: ${cipher} × ${keyTransport}, ${label}`, async () => {
          const { data } = content(size);
          const message = ours(data, cipher, keyTransport, [alice]);
          const plain = await opensslDecrypt(message, alice);
          expect(plain.length).toBe(data.length);
          expect(Buffer.compare(plain, data)).toBe(0);
        });
      }
    }
  }

  for (const keyTransport of ['oaep-sha384', 'oaep-sha512'] as const) {
    it(`both ways with ${keyTransport} (aes256-cbc and aes192-gcm, 10 KB)`, async () => {
      const { data, path } = content(10 * 1024);
      for (const cipher of ['aes256-cbc', 'aes192-gcm'] as const) {
        const fromOpenssl = decryptContent(
          await opensslEncrypt(path, cipher, keyTransport, [alice]),
          [aliceKey],
        );
        expect(fromOpenssl.keyTransport).toBe(keyTransport);
        expect(Buffer.compare(fromOpenssl.content, data)).toBe(0);
        const plain = await opensslDecrypt(ours(data, cipher, keyTransport, [alice]), alice);
        expect(Buffer.compare(plain, data)).toBe(0);
      }
    });
  }

  it('writes the algorithm identifiers byte for byte as OpenSSL does', async () => {
    // keyEncryptionAlgorithm of RecipientInfo 0, contentEncryptionAlgorithm minus the IV.
    const algorithms = (message: Uint8Array): { keyAlg: string; contentOid: string } => {
      const reader = new BerReader(message);
      const walk = (path: number[]) => {
        let node = reader.root();
        for (const i of path) {
          const child = [...reader.children(node)][i];
          if (!child) throw new Error(`nothing at ${path.join('.')}`);
          node = child;
        }
        return node;
      };
      return {
        keyAlg: Buffer.from(reader.raw(walk([1, 0, 1, 0, 2]))).toString('hex'),
        contentOid: Buffer.from(reader.raw(walk([1, 0, 2, 1, 0]))).toString('hex'),
      };
    };
    const { data, path } = content(10 * 1024);
    for (const keyTransport of ['oaep-sha1', 'oaep-sha256', 'oaep-sha512', 'pkcs1'] as const) {
      for (const cipher of ['aes128-cbc', 'aes256-gcm'] as const) {
        const theirs = algorithms(await opensslEncrypt(path, cipher, keyTransport, [alice]));
        const mine = algorithms(ours(data, cipher, keyTransport, [alice]));
        expect(mine, `${cipher} ${keyTransport}`).toEqual(theirs);
      }
    }
    // What OpenSSL 3 writes: SHA-1 OAEP as an empty RSAES-OAEP-params SEQUENCE; SHA-2 OAEP
    // with hashFunc and MGF1 hash identifiers whose parameters are absent (not NULL).
    const sha1 = algorithms(await opensslEncrypt(path, 'aes128-cbc', 'oaep-sha1', [alice]));
    expect(sha1.keyAlg).toBe('300d06092a864886f70d0101073000');
    const sha256 = algorithms(await opensslEncrypt(path, 'aes128-cbc', 'oaep-sha256', [alice]));
    expect(sha256.keyAlg).toBe(
      '303806092a864886f70d010107302ba00d300b0609608648016503040201a11a301806092a864886f70d010108300b0609608648016503040201',
    );
  });

  it('reads OpenSSL -stream -indef BER output (indefinite lengths, chunked content)', async () => {
    const { data, path } = content(1024 * 1024);
    for (const cipher of ['aes256-cbc', 'aes128-gcm'] as const) {
      for (const keyTransport of ['oaep-sha256', 'pkcs1'] as const) {
        const message = await opensslEncrypt(
          path,
          cipher,
          keyTransport,
          [alice],
          ['-stream', '-indef'],
        );
        const reader = new BerReader(message);
        const root = reader.root();
        expect(root.indefinite, 'OpenSSL wrote indefinite lengths').toBe(true);
        const result = decryptContent(message, [aliceKey]);
        expect(result.cipher).toBe(cipher);
        expect(Buffer.compare(result.content, data)).toBe(0);
      }
    }
  });

  it('several recipients both ways; each recipient decrypts', async () => {
    const { data, path } = content(10 * 1024);
    const fromOpenssl = await opensslEncrypt(path, 'aes256-cbc', 'oaep-sha256', [alice, bob]);
    expect(decryptContent(fromOpenssl, [bobKey]).recipientCertDer).toBe(bob.certDer);
    expect(Buffer.compare(decryptContent(fromOpenssl, [aliceKey]).content, data)).toBe(0);
    const mine = ours(data, 'aes256-gcm', 'oaep-sha256', [alice, bob]);
    for (const who of [alice, bob]) {
      expect(Buffer.compare(await opensslDecrypt(mine, who), data)).toBe(0);
    }
  });

  it('rid as subjectKeyIdentifier both ways (openssl -keyid)', async () => {
    const { data, path } = content(10 * 1024);
    const fromOpenssl = await opensslEncrypt(
      path,
      'aes128-cbc',
      'oaep-sha256',
      [alice],
      ['-keyid'],
    );
    const rid = new BerReader(fromOpenssl);
    let node = rid.root();
    for (const i of [1, 0, 1, 0, 1]) node = [...rid.children(node)][i] ?? node;
    expect(node).toMatchObject({ tagClass: 2, tagNumber: 0 });
    expect(Buffer.compare(decryptContent(fromOpenssl, [aliceKey]).content, data)).toBe(0);
    const mine = ours(data, 'aes128-gcm', 'oaep-sha1', [alice], 'subjectKeyIdentifier');
    expect(Buffer.compare(await opensslDecrypt(mine, alice), data)).toBe(0);
  });

  it('OpenSSL 3DES → UNSUPPORTED_ALGORITHM', async () => {
    const { path } = content(10 * 1024);
    const message = await opensslEncrypt(path, 'aes128-cbc', 'oaep-sha256', [alice], ['-des3']);
    const error = hispError(() => decryptContent(message, [aliceKey]));
    expect(error.code).toBe('UNSUPPORTED_ALGORITHM');
    expect(error.message).toMatch(/3DES/);
  });

  it.skipIf(!legacyProvider)(
    'OpenSSL RC2 → UNSUPPORTED_ALGORITHM (runs only where OpenSSL has its legacy provider)',
    async () => {
      const { path } = content(10 * 1024);
      const message = await opensslEncrypt(
        path,
        'aes128-cbc',
        'pkcs1',
        [alice],
        ['-provider', 'legacy', '-provider', 'default', '-rc2'],
      );
      const error = hispError(() => decryptContent(message, [aliceKey]));
      expect(error.code).toBe('UNSUPPORTED_ALGORITHM');
      expect(error.message).toMatch(/rc2/);
    },
  );

  it('a message for someone else → NO_MATCHING_RECIPIENT; a tampered GCM tag → DECRYPT_FAILED', async () => {
    const { path } = content(10 * 1024);
    const forBob = await opensslEncrypt(path, 'aes256-gcm', 'oaep-sha256', [bob]);
    expect(hispError(() => decryptContent(forBob, [aliceKey])).code).toBe('NO_MATCHING_RECIPIENT');
    const tampered = Buffer.from(forBob);
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 1; // last octet of mac
    expect(hispError(() => decryptContent(tampered, [bobKey])).code).toBe('DECRYPT_FAILED');
  });

  describe('20 MB, aes256-cbc × oaep-sha256', () => {
    const size = 20 * 1024 * 1024;
    let data: Buffer;
    let plainPath: string;

    beforeAll(async () => {
      data = randomBytes(size);
      plainPath = join(tmp.path, 'content-20m.bin');
      await writeFile(plainPath, data);
    });

    it('OpenSSL → Sealpost', async () => {
      let started = performance.now();
      const message = await opensslEncrypt(plainPath, 'aes256-cbc', 'oaep-sha256', [alice]);
      const opensslMs = performance.now() - started;
      started = performance.now();
      const result = decryptContent(message, [aliceKey]);
      const oursMs = performance.now() - started;
      expect(Buffer.compare(result.content, data)).toBe(0);
      console.log(
        `20 MB encrypt by openssl (process): ${opensslMs.toFixed(0)} ms; decrypt by Sealpost (in process): ${oursMs.toFixed(0)} ms`,
      );
    });

    it('Sealpost → OpenSSL (streamed to a file)', async () => {
      const out = file('ours-20m.p7m');
      let started = performance.now();
      const source = encryptContent(bytesOf(data), [alice.certDer], {
        cipher: 'aes256-cbc',
        keyTransport: 'oaep-sha256',
      });
      const stream = createWriteStream(out);
      for (const chunk of source.chunks()) {
        if (!stream.write(chunk))
          await new Promise<void>((resolve) => stream.once('drain', () => resolve()));
      }
      stream.end();
      await finished(stream);
      const oursMs = performance.now() - started;
      started = performance.now();
      const plainOut = file('plain-20m');
      await run(openssl, [
        'cms',
        '-decrypt',
        '-inform',
        'DER',
        '-in',
        out,
        '-inkey',
        alice.keyPath,
        '-recip',
        alice.certPath,
        '-binary',
        '-out',
        plainOut,
      ]);
      const opensslMs = performance.now() - started;
      const plain = await readFile(plainOut);
      expect(Buffer.compare(plain, data)).toBe(0);
      console.log(
        `20 MB encrypt by Sealpost (streamed to file): ${oursMs.toFixed(0)} ms; decrypt by openssl (process): ${opensslMs.toFixed(0)} ms`,
      );
    });
  });
});
