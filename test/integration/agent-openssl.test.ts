/**
 * Whole Direct messages against OpenSSL as the independent peer, both directions: what we
 * send decrypts and verifies with `openssl cms` against the anchor; what OpenSSL builds
 * (sign, then encrypt) decrypts, verifies and is trusted by us.
 */
import { createPrivateKey, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decryptAndVerify } from '../../hisp/agent/inbound.js';
import { signAndEncrypt, type SenderIdentity } from '../../hisp/agent/outbound.js';
import {
  collect,
  type ContentCipher,
  type KeyTransport,
  type SigningDigest,
} from '../../hisp/agent/types.js';
import { parseCertificate } from '../../hisp/certs/certificate.js';
import { createSilentLogger } from '../../hisp/log/logger.js';
import {
  createTestCa,
  issueEndEntityCert,
  type TestCa,
  type TestEndEntity,
} from '../services/certs.js';
import { WRAP_HEADER, opensslReceive, opensslSend } from '../services/openssl-direct.js';
import { makeTempDir, type TempDir } from '../services/tmp.js';

let dir: TempDir;
let ca: TestCa;
let alice: TestEndEntity;
let bob: TestEndEntity;
let aliceIdentity: SenderIdentity;

beforeAll(async () => {
  dir = await makeTempDir('agent-openssl');
  ca = await createTestCa(dir.path, { commonName: 'Sealpost Test Direct CA' });
  [alice, bob] = await Promise.all([
    issueEndEntityCert(ca, dir.path, { email: 'alice@a.example.test' }),
    issueEndEntityCert(ca, dir.path, { email: 'bob@b.example.test' }),
  ]);
  aliceIdentity = {
    certDer: alice.certDer,
    chainDer: [ca.certDer],
    key: createPrivateKey(alice.keyPem),
  };
});
afterAll(async () => {
  await dir.remove();
});

/** A realistic message of about `size` bytes, CRLF, with a unique marker. */
function message(size: number): Buffer {
  const head =
    'From: Alice Example <alice@a.example.test>\r\nTo: bob@b.example.test\r\nSubject: Referral\r\n' +
    `Date: Thu, 26 Nov 2026 10:00:00 +0000\r\nMessage-ID: <${randomBytes(8).toString('hex')}@a.example.test>\r\n` +
    'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n';
  const line = 'Patient summary line with clinical details to transmit securely 0123456789.\r\n';
  return Buffer.from(
    head + line.repeat(Math.max(1, Math.ceil((size - head.length) / line.length))),
  );
}

interface Combo {
  readonly cipher: ContentCipher;
  readonly keyTransport: KeyTransport;
  readonly digest: SigningDigest;
  readonly size: number;
}

const KB10 = 10 * 1024;
const MB1 = 1024 * 1024;
const MB20 = 20 * 1024 * 1024;
const CIPHERS: ContentCipher[] = ['aes128-cbc', 'aes256-cbc', 'aes128-gcm', 'aes256-gcm'];
const TRANSPORTS: KeyTransport[] = ['oaep-sha256', 'oaep-sha1', 'pkcs1'];
const DIGESTS: SigningDigest[] = ['sha256', 'sha384', 'sha512'];

// Every combination at 10 KB; every cipher and key transport at 1 MB; the default and GCM at 20 MB.
const COMBOS: Combo[] = [
  ...CIPHERS.flatMap((cipher) =>
    TRANSPORTS.flatMap((keyTransport) =>
      DIGESTS.map((digest) => ({ cipher, keyTransport, digest, size: KB10 })),
    ),
  ),
  ...CIPHERS.flatMap((cipher) =>
    TRANSPORTS.map((keyTransport) => ({
      cipher,
      keyTransport,
      digest: 'sha256' as const,
      size: MB1,
    })),
  ),
  { cipher: 'aes256-cbc', keyTransport: 'oaep-sha256', digest: 'sha256', size: MB20 },
  { cipher: 'aes256-gcm', keyTransport: 'oaep-sha256', digest: 'sha512', size: MB20 },
];
const label = (c: Combo) =>
  `${c.cipher} ${c.keyTransport} ${c.digest} ${c.size >= MB1 ? `${c.size / MB1} MB` : `${c.size / 1024} KB`}`;

const bobKeys = () => [{ certDer: bob.certDer, key: createPrivateKey(bob.keyPem) }];
const receive = (wire: Buffer | string, command: 'cms' | 'smime' = 'cms') =>
  opensslReceive(wire, { dir: dir.path, recipient: bob, caPath: ca.certPath, command });

describe('risk-6: what Sealpost sends, OpenSSL decrypts and verifies against the anchor', () => {
  it.each(COMBOS.map((c) => [label(c), c] as const))('%s', async (_name, combo) => {
    const original = message(combo.size);
    const out = signAndEncrypt(original, aliceIdentity, [bob.certDer], combo);
    const wire = collect(out.message);
    // Nothing of the content is readable on the wire.
    expect(wire.includes('Patient summary')).toBe(false);
    expect(wire.includes('Referral')).toBe(false);
    const content = await receive(wire);
    // The signed content is the wrapped message: message/rfc822 around the original bytes.
    expect(content.subarray(0, 64).toString('latin1')).toMatch(
      /^Content-Type: message\/rfc822\r\n/,
    );
    expect(content.subarray(content.length - original.length).equals(original)).toBe(true);
    if (combo.cipher.endsWith('-cbc') && combo.keyTransport === 'pkcs1' && combo.size === KB10) {
      // `openssl smime` reads it too. It is the older PKCS#7 command: it knows neither
      // AuthEnvelopedData nor RSA-OAEP recipients, so it is checked with CBC and PKCS#1 only.
      const viaSmime = await receive(wire, 'smime');
      expect(viaSmime.toString('latin1')).toContain('Patient summary line');
    }
  });
});

describe('what OpenSSL sends (sign, then encrypt), Sealpost decrypts, verifies and trusts', () => {
  it.each(COMBOS.map((c) => [label(c), c] as const))('%s', async (_name, combo) => {
    const original = message(combo.size);
    const encrypted = await opensslSend(original, {
      dir: dir.path,
      signer: alice,
      recipient: bob,
      certfile: ca.certPath,
      ...combo,
      from: 'alice@a.example.test',
      to: 'bob@b.example.test',
      subject: 'Direct message',
    });
    const result = await decryptAndVerify(await readFile(encrypted), {
      keys: bobKeys(),
      anchors: [parseCertificate(ca.certDer)],
      // These test certificates name no CRL distribution point; revocation has its own tests.
      revocation: 'off',
      logger: createSilentLogger(),
      envelope: { mailFrom: 'alice@a.example.test', rcptTo: ['bob@b.example.test'] },
    });
    expect(result.reasons).toEqual([]);
    expect(result).toMatchObject({
      decrypted: true,
      signatureValid: true,
      trusted: true,
      cipher: combo.cipher,
      keyTransport: combo.keyTransport,
      digest: combo.digest,
      wrapped: true,
      signer: { address: 'alice@a.example.test' },
    });
    expect(result.inner?.equals(original)).toBe(true);
  });
});

describe('BER (indefinite-length, chunked) messages from OpenSSL -stream', () => {
  it('decrypt in place over chunked content gives the exact message (5 MB, aes256-gcm and aes128-cbc)', async () => {
    for (const cipher of ['aes256-gcm', 'aes128-cbc'] as const) {
      const original = message(5 * 1024 * 1024);
      const encrypted = await opensslSend(original, {
        dir: dir.path,
        signer: alice,
        recipient: bob,
        cipher,
        stream: true,
        from: 'alice@a.example.test',
        to: 'bob@b.example.test',
      });
      const wire = await readFile(encrypted);
      expect(
        Buffer.from(wire.toString('latin1').split(/\r?\n\r?\n/)[1] ?? '', 'base64').subarray(0, 2),
      ).toEqual(Buffer.from([0x30, 0x80]));
      const result = await decryptAndVerify(wire, {
        keys: bobKeys(),
        anchors: [parseCertificate(ca.certDer)],
        revocation: 'off',
        logger: createSilentLogger(),
        consumeInput: true,
      });
      expect(result.reasons).toEqual([]);
      expect(result.trusted).toBe(true);
      expect(result.cipher).toBe(cipher);
      expect(result.inner?.equals(original)).toBe(true);
    }
  });
});

describe('other shapes peers send', () => {
  it('openssl smime (application/x-pkcs7-*), wrapped', async () => {
    const original = message(20 * 1024);
    const encrypted = await opensslSend(original, {
      dir: dir.path,
      signer: alice,
      recipient: bob,
      command: 'smime',
      digest: 'sha256',
      from: 'alice@a.example.test',
      to: 'bob@b.example.test',
    });
    const wire = await readFile(encrypted);
    expect(wire.toString('latin1')).toMatch(/Content-Type: application\/x-pkcs7-mime/i);
    const result = await decryptAndVerify(wire, {
      keys: bobKeys(),
      anchors: [parseCertificate(ca.certDer)],
      revocation: 'off',
      logger: createSilentLogger(),
    });
    expect(result.reasons).toEqual([]);
    expect(result.trusted).toBe(true);
    expect(result.inner?.equals(original)).toBe(true);
  });

  it('unwrapped: the signed entity is the body and the outer headers are the message headers', async () => {
    const body =
      'Content-Type: text/plain; charset=us-ascii\r\n\r\nUnwrapped Direct message body.\r\n';
    const encrypted = await opensslSend(Buffer.from(body), {
      dir: dir.path,
      signer: alice,
      recipient: bob,
      cipher: 'aes128-cbc',
      wrap: false,
      from: 'alice@a.example.test',
      to: 'bob@b.example.test',
      subject: 'Unwrapped',
    });
    const result = await decryptAndVerify(await readFile(encrypted), {
      keys: bobKeys(),
      anchors: [parseCertificate(ca.certDer)],
      revocation: 'off',
      logger: createSilentLogger(),
      envelope: { mailFrom: 'alice@a.example.test', rcptTo: ['bob@b.example.test'] },
    });
    expect(result.reasons).toEqual([]);
    expect(result).toMatchObject({
      trusted: true,
      wrapped: false,
      signer: { address: 'alice@a.example.test' },
    });
    const inner = result.inner?.toString('latin1') ?? '';
    expect(inner).toMatch(/^From: alice@a\.example\.test\r$/m);
    expect(inner).toMatch(/^Subject: Unwrapped\r$/m);
    expect(inner.endsWith(body)).toBe(true);
  });

  it('a 50 MB message: Sealpost to Sealpost and to OpenSSL', async () => {
    const original = message(50 * 1024 * 1024);
    const wire = collect(signAndEncrypt(original, aliceIdentity, [bob.certDer]).message);
    const result = await decryptAndVerify(wire, {
      keys: bobKeys(),
      anchors: [parseCertificate(ca.certDer)],
      revocation: 'off',
      logger: createSilentLogger(),
    });
    expect(result.reasons).toEqual([]);
    expect(result.trusted).toBe(true);
    expect(result.inner?.equals(original)).toBe(true);
    const verified = await receive(wire);
    expect(verified.subarray(0, WRAP_HEADER.length).toString('latin1')).toBe(WRAP_HEADER);
    expect(verified.subarray(verified.length - original.length).equals(original)).toBe(true);
  });
});
