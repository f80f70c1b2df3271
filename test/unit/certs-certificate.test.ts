import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as pkijs from 'pkijs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { HispError } from '../../hisp/api/errors.js';
import {
  CERTIFICATE_READ_LIMITS,
  parseCertificate,
  readCertificates,
} from '../../hisp/certs/certificate.js';
import { run } from '../services/proc.js';
import {
  INTEROP_DIR,
  TestPki,
  caExtensions,
  interopCert,
  leafExtensions,
  openssl,
} from './certs-fixtures.js';

const interopBytes = (name: string) => readFile(join(INTEROP_DIR, 'java-ri', name));

function codeOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    if (error instanceof HispError) return error.code;
    throw error;
  }
  return 'NO_ERROR';
}

describe('parseCertificate on the Java RI certificates', () => {
  it('reads ryan.der: names, SAN, key usage, key ids, key and signature algorithm', async () => {
    const ryan = await interopCert('ryan.der');
    expect(ryan.subject).toBe(
      'O=Cerner,ST=MO,C=US,CN=Ryan Niemeyer,emailAddress=ryan@securehealthemail.com',
    );
    expect(ryan.issuer).toBe('O=Cerner,ST=MO,C=US,CN=SimpleInterop,emailAddress=cmii@cerner.com');
    expect(ryan.rfc822Names).toEqual(['ryan@securehealthemail.com']);
    expect(ryan.dnsNames).toEqual([]);
    expect([...(ryan.keyUsage ?? [])].sort()).toEqual(['digitalSignature', 'keyEncipherment']);
    expect(ryan.extKeyUsage).toBeUndefined();
    expect(ryan.basicConstraints).toEqual({ ca: false });
    expect(ryan.authorityKeyId).toBe('47dcb19450541638a7a4f6f61dffc0b37a47873f');
    expect(ryan.subjectKeyId).toBeUndefined();
    expect(ryan.serialHex).toBe('3e48b9d9835a9f8d');
    expect(ryan.publicKey).toEqual({ type: 'rsa', bits: 2048 });
    expect(ryan.signatureAlgorithm).toEqual({
      oid: '1.2.840.113549.1.1.5',
      name: 'sha1WithRSAEncryption',
      hash: 'sha1',
    });
    expect(ryan.notAfter.toISOString()).toBe('2048-10-25T12:47:43.000Z');
    expect(ryan.selfIssued).toBe(false);
    expect(ryan.fingerprintSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(ryan.fingerprintSha256).toBe(ryan.x509.fingerprint256.replace(/:/g, '').toLowerCase());
    // The Name DER is the certificate's own bytes.
    expect(ryan.der.includes(ryan.subjectDer)).toBe(true);
    expect(ryan.der.includes(ryan.issuerDer)).toBe(true);
  });

  it('reads cernerdemos.der as domain-bound: a dNSName and no rfc822Name', async () => {
    const cert = await interopCert('cernerdemos.der');
    expect(cert.dnsNames).toEqual(['messaging.cernerdemos.com']);
    expect(cert.rfc822Names).toEqual([]);
    // Its subject "emailAddress" is a domain, not an address: a reason never to read the DN.
    expect(cert.subject).toContain('emailAddress=messaging.cernerdemos.com');
  });

  it('reads CheckSignatureCA.der: a self-issued CA without key usage, a dNSName with spaces', async () => {
    const ca = await interopCert('CheckSignatureCA.der');
    expect(ca.selfIssued).toBe(true);
    expect(ca.basicConstraints).toEqual({ ca: true });
    expect(ca.keyUsage).toBeUndefined();
    expect(ca.dnsNames).toEqual(['Check Signature CA']);
    // Measured: RSA-2048 and SHA-1, not the RSA-1024/MD5 the interop README describes.
    expect(ca.publicKey).toEqual({ type: 'rsa', bits: 2048 });
    expect(ca.signatureAlgorithm.hash).toBe('sha1');
  });

  it('reads expired.der: RSA-1024, and a notBefore after its notAfter', async () => {
    const cert = await interopCert('expired.der');
    expect(cert.publicKey.bits).toBe(1024);
    expect(cert.notBefore.toISOString()).toBe('2010-12-13T13:25:28.000Z');
    expect(cert.notAfter.toISOString()).toBe('2010-12-03T13:25:28.000Z');
  });

  it('never takes the subject DN e-mail as a SAN (altNameOnly.der, every RI certificate)', async () => {
    for (const name of ['altNameOnly.der', 'gm2552.der', 'cacert.der', 'cernerDemosCaCert.der']) {
      const cert = await interopCert(name);
      expect(cert.subject).toContain('emailAddress=');
      for (const address of cert.rfc822Names)
        expect(cert.der.includes(Buffer.from(address))).toBe(true);
    }
    expect((await interopCert('altNameOnly.der')).rfc822Names).toEqual([
      'altNameOnly@test.email.com',
    ]);
  });
});

describe('readCertificates', () => {
  let pki: TestPki;
  let pemBundle: Buffer;
  let p7der: Buffer;
  let p7pem: Buffer;
  let trusted: Buffer;
  let root: Awaited<ReturnType<TestPki['root']>>;
  let leaf: Awaited<ReturnType<TestPki['root']>>;

  beforeAll(async () => {
    pki = await TestPki.create('certs-read');
    root = await pki.root('read-root', {
      extensions: caExtensions({ aki: false, crlUrl: 'http://crl.example.test/root.crl' }),
    });
    leaf = await pki.issue(root, 'read-leaf', {
      subject: '/O=Sealpost Tests/CN=alice@example.test',
      key: 'ee',
      extensions: leafExtensions({
        email: 'alice@example.test',
        dnsNames: ['example.test'],
        crlUrl: 'http://crl.example.test/ca.crl',
        caIssuersUrl: 'http://aia.example.test/ca.der',
      }),
    });
    pemBundle = Buffer.from(
      [
        'Some text a mail client put in front.',
        (await readFile(leaf.keyPath, 'utf8')).trim(),
        leaf.pem.trim(),
        'junk between blocks',
        root.pem.trim(),
        '-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----',
      ].join('\n'),
    );
    p7der = await pki.pkcs7([leaf, root], 'DER');
    p7pem = await pki.pkcs7([leaf, root], 'PEM');
    const trustedOut = join(pki.dir, 'trusted.pem');
    await run(openssl(), [
      'x509',
      '-in',
      root.certPath,
      '-addtrust',
      'emailProtection',
      '-trustout',
      '-out',
      trustedOut,
    ]);
    trusted = await readFile(trustedOut);
  });
  afterAll(() => pki.remove());

  it('reads the extensions openssl wrote (AIA, CRL DP, EKU, SKI/AKI)', () => {
    const [cert] = readCertificates(leaf.der);
    expect(cert?.crlDistributionPoints).toEqual(['http://crl.example.test/ca.crl']);
    expect(cert?.caIssuers).toEqual(['http://aia.example.test/ca.der']);
    expect(cert?.extKeyUsage).toEqual(['1.3.6.1.5.5.7.3.4']);
    expect(cert?.authorityKeyId).toBe(root.cert.subjectKeyId);
    expect(cert?.dnsNames).toEqual(['example.test']);
    expect(root.cert.crlDistributionPoints).toEqual(['http://crl.example.test/root.crl']);
  });

  it('reads a PEM bundle with junk, keys and CRLs between the blocks', () => {
    const certs = readCertificates(pemBundle);
    expect(certs.map((c) => c.fingerprintSha256)).toEqual([
      leaf.cert.fingerprintSha256,
      root.cert.fingerprintSha256,
    ]);
  });

  it('reads DER, PKCS#7 certs-only (DER and PEM) and OpenSSL TRUSTED CERTIFICATE', () => {
    expect(readCertificates(root.der).map((c) => c.subject)).toEqual([root.cert.subject]);
    for (const bundle of [p7der, p7pem]) {
      expect(
        readCertificates(bundle)
          .map((c) => c.fingerprintSha256)
          .sort(),
      ).toEqual([leaf.cert.fingerprintSha256, root.cert.fingerprintSha256].sort());
    }
    expect(readCertificates(trusted).map((c) => c.fingerprintSha256)).toEqual([
      root.cert.fingerprintSha256,
    ]);
  });

  it('reads the RI DER files the same way parseCertificate does', async () => {
    const bytes = await interopBytes('gm2552.der');
    expect(readCertificates(bytes)[0]?.fingerprintSha256).toBe(
      parseCertificate(bytes).fingerprintSha256,
    );
  });

  it('refuses a PEM file with only a key in it', async () => {
    const keyOnly = await readFile(leaf.keyPath);
    expect(codeOf(() => readCertificates(keyOnly))).toBe('CERT_MALFORMED');
  });
});

describe('risk-16: hostile certificate inputs are refused with a typed error, never a crash', () => {
  let ryanDer: Buffer;
  beforeAll(async () => {
    ryanDer = await interopBytes('ryan.der');
  });

  it('garbage, empty input and plain text', () => {
    expect(codeOf(() => parseCertificate(Buffer.alloc(0)))).toBe('CERT_MALFORMED');
    expect(codeOf(() => parseCertificate(Buffer.from('hello world')))).toBe('CERT_MALFORMED');
    expect(codeOf(() => readCertificates(Buffer.alloc(0)))).toBe('CERT_MALFORMED');
    expect(codeOf(() => readCertificates(Buffer.from('not a certificate at all')))).toBe(
      'CERT_MALFORMED',
    );
    expect(codeOf(() => readCertificates(Buffer.from([0x30, 0x03, 0x02, 0x01, 0x01])))).toBe(
      'CERT_MALFORMED',
    );
  });

  it('every truncation of a real certificate', () => {
    for (let length = 0; length < ryanDer.length; length += 7) {
      expect(codeOf(() => parseCertificate(ryanDer.subarray(0, length)))).toBe('CERT_MALFORMED');
    }
  });

  it('trailing bytes after the certificate', () => {
    expect(codeOf(() => parseCertificate(Buffer.concat([ryanDer, Buffer.from([0])])))).toBe(
      'CERT_MALFORMED',
    );
  });

  it('huge declared lengths', () => {
    const huge = Buffer.from([0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0x30, 0x00]);
    expect(codeOf(() => parseCertificate(huge))).toBe('CERT_MALFORMED');
    expect(codeOf(() => readCertificates(huge))).toBe('CERT_MALFORMED');
    const eightByteLength = Buffer.from([0x30, 0x88, 1, 0, 0, 0, 0, 0, 0, 0]);
    expect(['CERT_MALFORMED', 'LIMIT_EXCEEDED']).toContain(
      codeOf(() => parseCertificate(eightByteLength)),
    );
  });

  it('deep nesting stops at the depth bound', () => {
    const depth = 5000;
    const nested = Buffer.concat([
      Buffer.alloc(depth * 2, Buffer.from([0x30, 0x80])),
      Buffer.alloc(depth * 2),
    ]);
    expect(['CERT_MALFORMED', 'LIMIT_EXCEEDED']).toContain(codeOf(() => parseCertificate(nested)));
    expect(['CERT_MALFORMED', 'LIMIT_EXCEEDED']).toContain(codeOf(() => readCertificates(nested)));
  });

  it('an input larger than a certificate may be', () => {
    const big = Buffer.alloc(2 * 1024 * 1024, 0);
    big[0] = 0x30;
    expect(codeOf(() => parseCertificate(big))).toBe('LIMIT_EXCEEDED');
    const bigger = Buffer.alloc(CERTIFICATE_READ_LIMITS.inputBytes + 1, 0x41);
    expect(codeOf(() => readCertificates(bigger))).toBe('LIMIT_EXCEEDED');
  });

  it('a PEM with 10,000 blocks', () => {
    const block = `-----BEGIN CERTIFICATE-----\n${ryanDer.toString('base64')}\n-----END CERTIFICATE-----\n`;
    const many = Buffer.from(block.repeat(10_000));
    expect(codeOf(() => readCertificates(many))).toBe('LIMIT_EXCEEDED');
  });

  it('broken PEM: bad base64, no END line, a certificate block holding garbage', () => {
    expect(
      codeOf(() =>
        readCertificates(
          Buffer.from('-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n'),
        ),
      ),
    ).toBe('CERT_MALFORMED');
    expect(
      codeOf(() =>
        readCertificates(
          Buffer.from(`-----BEGIN CERTIFICATE-----\n${ryanDer.toString('base64')}\n`),
        ),
      ),
    ).toBe('CERT_MALFORMED');
    expect(
      codeOf(() =>
        readCertificates(
          Buffer.from('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'),
        ),
      ),
    ).toBe('CERT_MALFORMED');
    expect(
      codeOf(() =>
        readCertificates(Buffer.from('-----BEGIN PKCS7-----\nMAA=\n-----END PKCS7-----\n')),
      ),
    ).toBe('CERT_MALFORMED');
  });

  it('a certificate with the same extension twice', () => {
    const cert = pkijs.Certificate.fromBER(new Uint8Array(ryanDer));
    const extensions = cert.extensions ?? [];
    const san = extensions.find((e) => e.extnID === '2.5.29.17');
    expect(san).toBeDefined();
    if (san) cert.extensions = [...extensions, san];
    const reencoded = Buffer.from(cert.toSchema(true).toBER(false));
    expect(codeOf(() => parseCertificate(reencoded))).toBe('CERT_MALFORMED');
  });

  it('random corruption of a real certificate (600 mutants): parsed or a typed error', () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    const outcomes = new Map<string, number>();
    for (let i = 0; i < 600; i++) {
      const mutant = Buffer.from(ryanDer);
      const flips = 1 + (random() % 4);
      for (let f = 0; f < flips; f++) mutant[random() % mutant.length] = random() & 0xff;
      const code = codeOf(() => parseCertificate(mutant));
      outcomes.set(code, (outcomes.get(code) ?? 0) + 1);
    }
    expect(
      [...outcomes.keys()].every((code) =>
        ['NO_ERROR', 'CERT_MALFORMED', 'LIMIT_EXCEEDED'].includes(code),
      ),
    ).toBe(true);
    expect(outcomes.get('CERT_MALFORMED') ?? 0).toBeGreaterThan(0);
  });
});
