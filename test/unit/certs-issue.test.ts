/**
 * The demo PKI issuer (hisp/certs/issue.ts), judged by our own parser, path validation and
 * Direct policy, by the OpenSSL CLI (an independent implementation: `x509 -text`,
 * `asn1parse`, `verify -x509_strict`), and end to end by the security agent (sign + encrypt
 * between two issued identities, decrypt + verify against the issued anchor).
 *
 * Only certificates (public) are written to the temp dir; keys stay in memory.
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { decryptAndVerify } from '../../hisp/agent/inbound.js';
import { signAndEncrypt } from '../../hisp/agent/outbound.js';
import { collect } from '../../hisp/agent/types.js';
import { HispError } from '../../hisp/api/errors.js';
import { parseCertificate, type ParsedCertificate } from '../../hisp/certs/certificate.js';
import { generateKey, issueCertificate, subjectKeyIdentifier } from '../../hisp/certs/issue.js';
import { validatePath } from '../../hisp/certs/path.js';
import {
  addressBinding,
  checkDirectCertificate,
  EKU_EMAIL_PROTECTION,
} from '../../hisp/certs/policy.js';
import { createSilentLogger } from '../../hisp/log/logger.js';
import { findBinary, run } from '../services/proc.js';
import { makeTempDir, type TempDir } from '../services/tmp.js';

const openssl = (): string => findBinary('openssl', 'openssl');
const logger = createSilentLogger();
const YEAR = 365 * 24 * 60 * 60 * 1000;
const HOUR = 60 * 60 * 1000;

const pem = (der: Uint8Array): string =>
  `-----BEGIN CERTIFICATE-----\n${Buffer.from(der)
    .toString('base64')
    .replace(/.{64}/g, '$&\n')
    .replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;

/** The SKI computed independently: for RSA the subjectPublicKey value is the PKCS#1 key. */
const pkcs1Sha1 = (key: KeyObject): string =>
  createHash('sha1')
    .update(createPublicKey(key).export({ type: 'pkcs1', format: 'der' }))
    .digest('hex');

function errorCode(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof HispError ? error.code : `not a HispError: ${String(error)}`;
  }
  return undefined;
}

let temp: TempDir;
let rootKey: KeyObject;
let aliceKey: KeyObject;
let bobKey: KeyObject;
let otherKey: KeyObject;
let root: ParsedCertificate;
let alice: ParsedCertificate; // address-bound, practice A
let bob: ParsedCertificate; // domain-bound, practice B

beforeAll(async () => {
  temp = await makeTempDir('certs-issue');
  [rootKey, aliceKey, bobKey, otherKey] = await Promise.all([
    generateKey(),
    generateKey(),
    generateKey(),
    generateKey(),
  ]);
  root = parseCertificate(
    issueCertificate({
      subject: { commonName: 'Sealpost Demo Anchor', organization: 'Sealpost Demo' },
      key: rootKey,
      ca: true,
    }),
  );
  const issuer = { cert: root, key: rootKey };
  alice = parseCertificate(
    issueCertificate({
      subject: { commonName: 'alice@a.demo.test', organization: 'Practice A' },
      issuer,
      key: aliceKey,
      email: ['alice@a.demo.test'],
    }),
  );
  bob = parseCertificate(
    issueCertificate({
      subject: { commonName: 'b.demo.test', organization: 'Practice B' },
      issuer,
      key: bobKey,
      dnsNames: ['b.demo.test'],
    }),
  );
});

afterAll(async () => {
  await temp?.remove();
});

async function writeCert(name: string, der: Uint8Array): Promise<string> {
  const path = join(temp.path, `${name}.pem`);
  await writeFile(path, pem(der));
  return path;
}

async function opensslVerify(
  anchor: ParsedCertificate,
  leaf: ParsedCertificate,
  untrusted: ParsedCertificate[] = [],
  purpose = 'smimesign',
): Promise<string> {
  const tag = leaf.fingerprintSha256.slice(0, 12);
  const args = ['verify', '-x509_strict', '-purpose', purpose];
  args.push('-CAfile', await writeCert(`anchor-${tag}`, anchor.der));
  if (untrusted.length > 0) {
    const path = join(temp.path, `untrusted-${tag}.pem`);
    await writeFile(path, untrusted.map((c) => pem(c.der)).join(''));
    args.push('-untrusted', path);
  }
  args.push(await writeCert(`leaf-${tag}`, leaf.der));
  try {
    const { stdout } = await run(openssl(), args);
    return stdout.trim();
  } catch (error) {
    return `FAILED: ${String(error)}`;
  }
}

describe('generateKey', () => {
  it('makes a 2048-bit RSA private key by default and refuses weak sizes', async () => {
    expect(aliceKey.type).toBe('private');
    expect(aliceKey.asymmetricKeyType).toBe('rsa');
    expect(aliceKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(aliceKey.asymmetricKeyDetails?.publicExponent).toBe(65537n);
    await expect(generateKey(1024)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });
});

describe('issueCertificate: what our parser reads', () => {
  it('a self-signed anchor: cA without path length, keyCertSign + cRLSign, SKI = AKI', () => {
    expect(root.subject).toBe('CN=Sealpost Demo Anchor,O=Sealpost Demo');
    expect(root.issuer).toBe(root.subject);
    expect(root.selfIssued).toBe(true);
    expect(root.x509.verify(createPublicKey(rootKey))).toBe(true);
    expect(root.basicConstraints).toEqual({ ca: true });
    expect([...(root.keyUsage ?? [])].sort()).toEqual(['cRLSign', 'keyCertSign']);
    expect(root.extKeyUsage).toBeUndefined();
    expect(root.rfc822Names).toEqual([]);
    expect(root.dnsNames).toEqual([]);
    expect(root.subjectKeyId).toBe(pkcs1Sha1(rootKey));
    expect(root.authorityKeyId).toBe(root.subjectKeyId);
    expect(root.signatureAlgorithm.oid).toBe('1.2.840.113549.1.1.11');
    expect(root.publicKey).toEqual({ type: 'rsa', bits: 2048 });
    expect(root.unhandledCriticalExtensions).toEqual([]);
    expect(root.x509.publicKey.export({ type: 'spki', format: 'der' })).toEqual(
      createPublicKey(rootKey).export({ type: 'spki', format: 'der' }),
    );
  });

  it('an address-bound end entity: SAN rfc822Name, signing + encipherment, emailProtection', () => {
    expect(alice.subject).toBe('CN=alice@a.demo.test,O=Practice A');
    expect(alice.issuerDer.equals(root.subjectDer)).toBe(true);
    expect(alice.x509.verify(createPublicKey(rootKey))).toBe(true);
    expect(alice.x509.checkIssued(root.x509)).toBe(true);
    expect(alice.rfc822Names).toEqual(['alice@a.demo.test']);
    expect(alice.dnsNames).toEqual([]);
    expect([...(alice.keyUsage ?? [])].sort()).toEqual(['digitalSignature', 'keyEncipherment']);
    expect(alice.extKeyUsage).toEqual([EKU_EMAIL_PROTECTION]);
    expect(alice.basicConstraints).toEqual({ ca: false });
    expect(alice.subjectKeyId).toBe(pkcs1Sha1(aliceKey));
    expect(alice.authorityKeyId).toBe(root.subjectKeyId);
    // keyUsage in strict DER (X.690 §11.2.2: trailing zero bits dropped, unused-bit count set).
    expect(alice.der.includes(Buffer.from('0603551d0f0101ff0404030205a0', 'hex'))).toBe(true);
    expect(root.der.includes(Buffer.from('0603551d0f0101ff040403020106', 'hex'))).toBe(true);
    expect(alice.serialHex).toMatch(/^[4-7][0-9a-f]{31}$/); // positive, 16 octets
    expect(alice.serialHex).not.toBe(bob.serialHex);
  });

  it('a domain-bound end entity: SAN dNSName only', () => {
    expect(bob.subject).toBe('CN=b.demo.test,O=Practice B');
    expect(bob.rfc822Names).toEqual([]);
    expect(bob.dnsNames).toEqual(['b.demo.test']);
    expect(bob.basicConstraints).toEqual({ ca: false });
    expect(bob.extKeyUsage).toEqual([EKU_EMAIL_PROTECTION]);
  });

  it('subjectKeyIdentifier hashes the subjectPublicKey value (RFC 5280 method 1)', () => {
    const spki = createPublicKey(bobKey).export({ type: 'spki', format: 'der' });
    expect(subjectKeyIdentifier(spki).toString('hex')).toBe(pkcs1Sha1(bobKey));
    expect(subjectKeyIdentifier(spki).toString('hex')).not.toBe(pkcs1Sha1(aliceKey));
  });

  it('names are O then CN, UTF8String, and non-ASCII survives; IDNA domains in the SAN', async () => {
    const der = issueCertificate({
      subject: { commonName: 'Dr. Müller', organization: 'Praxis Zürich' },
      issuer: { cert: root, key: rootKey },
      key: otherKey,
      email: ['mueller@Ärzte.demo.test'],
      dnsNames: ['Praxis-B.Demo.Test.'],
    });
    const cert = parseCertificate(der);
    expect(cert.subject).toBe('CN=Dr. Müller,O=Praxis Zürich');
    expect(cert.x509.subject).toBe('O=Praxis Zürich\nCN=Dr. Müller'); // DER order: O first
    expect(cert.rfc822Names).toEqual(['mueller@xn--rzte-koa.demo.test']);
    expect(cert.dnsNames).toEqual(['praxis-b.demo.test']);
    const { stdout } = await run(openssl(), ['asn1parse', '-inform', 'DER'], { input: der });
    expect(stdout.match(/UTF8STRING/g)).toHaveLength(4); // issuer O + CN, subject O + CN
    expect(stdout).not.toMatch(/PRINTABLESTRING|IA5STRING|T61STRING/);
  });

  it('validity: defaults, UTCTime before 2050, GeneralizedTime from 2050 on', async () => {
    const before = Date.now();
    const leaf = parseCertificate(
      issueCertificate({
        subject: { commonName: 'x' },
        issuer: { cert: root, key: rootKey },
        key: otherKey,
      }),
    );
    const ca = parseCertificate(
      issueCertificate({ subject: { commonName: 'y' }, key: otherKey, ca: true }),
    );
    const after = Date.now();
    const floorSecond = (t: number): number => Math.floor(t / 1000) * 1000;
    for (const [cert, years] of [
      [leaf, 2],
      [ca, 10],
    ] as const) {
      expect(cert.notBefore.getTime()).toBeGreaterThanOrEqual(floorSecond(before - HOUR));
      expect(cert.notBefore.getTime()).toBeLessThanOrEqual(after - HOUR);
      expect(cert.notAfter.getTime()).toBeGreaterThanOrEqual(floorSecond(before + years * YEAR));
      expect(cert.notAfter.getTime()).toBeLessThanOrEqual(after + years * YEAR);
    }

    const notBefore = new Date('2049-12-31T23:59:59.900Z');
    const notAfter = new Date('2050-01-01T00:00:00Z');
    const der = issueCertificate({
      subject: { commonName: 'z' },
      key: otherKey,
      ca: true,
      notBefore,
      notAfter,
    });
    const cert = parseCertificate(der);
    expect(cert.notBefore.toISOString()).toBe('2049-12-31T23:59:59.000Z');
    expect(cert.notAfter.toISOString()).toBe('2050-01-01T00:00:00.000Z');
    const utc = Buffer.concat([Buffer.of(0x17, 13), Buffer.from('491231235959Z')]);
    const generalized = Buffer.concat([Buffer.of(0x18, 15), Buffer.from('20500101000000Z')]);
    expect(der.includes(Buffer.concat([utc, generalized]))).toBe(true);
    const { stdout } = await run(openssl(), ['x509', '-inform', 'DER', '-noout', '-dates'], {
      input: der,
    });
    expect(stdout).toContain('notBefore=Dec 31 23:59:59 2049 GMT');
    expect(stdout).toContain('notAfter=Jan  1 00:00:00 2050 GMT');
  });

  it('serial: as given, positive, at most 20 octets', () => {
    const issue = (serial: bigint): ParsedCertificate =>
      parseCertificate(issueCertificate({ subject: { commonName: 's' }, key: otherKey, serial }));
    expect(issue(0x1234n).serialHex).toBe('1234');
    expect(issue(0x80n).serialHex).toBe('80'); // encoded 00 80, read back without the pad
    expect(issue(2n ** 159n - 1n).serialHex).toBe('7f'.padEnd(40, 'f'));
    for (const serial of [0n, -1n, 2n ** 159n]) {
      expect(
        errorCode(() => issueCertificate({ subject: { commonName: 's' }, key: otherKey, serial })),
      ).toBe('BAD_REQUEST');
    }
  });

  it('refuses a non-CA issuer, a key that is not the issuer certificate’s, and bad input', () => {
    const subject = { commonName: 'n' };
    expect(
      errorCode(() =>
        issueCertificate({ subject, issuer: { cert: alice, key: aliceKey }, key: otherKey }),
      ),
    ).toBe('BAD_REQUEST');
    expect(
      errorCode(() =>
        issueCertificate({ subject, issuer: { cert: root, key: otherKey }, key: otherKey }),
      ),
    ).toBe('KEY_CERT_MISMATCH');
    expect(errorCode(() => issueCertificate({ subject, key: createPublicKey(otherKey) }))).toBe(
      'BAD_REQUEST',
    );
    expect(errorCode(() => issueCertificate({ subject: { commonName: ' ' }, key: otherKey }))).toBe(
      'BAD_REQUEST',
    );
    expect(
      errorCode(() => issueCertificate({ subject, key: otherKey, email: ['no-at-sign'] })),
    ).toBe('BAD_REQUEST');
    expect(
      errorCode(() => issueCertificate({ subject, key: otherKey, dnsNames: ['*.demo.test'] })),
    ).toBe('BAD_REQUEST');
    const at = new Date('2030-01-01T00:00:00Z');
    expect(
      errorCode(() => issueCertificate({ subject, key: otherKey, notBefore: at, notAfter: at })),
    ).toBe('BAD_REQUEST');
  });
});

describe('issueCertificate: what OpenSSL says', () => {
  it('x509 -text reads v3, sha256WithRSAEncryption and every extension', async () => {
    const text = async (cert: ParsedCertificate): Promise<string> =>
      (await run(openssl(), ['x509', '-inform', 'DER', '-noout', '-text'], { input: cert.der }))
        .stdout;
    const leaf = await text(alice);
    expect(leaf).toContain('Version: 3 (0x2)');
    expect(leaf).toContain('Signature Algorithm: sha256WithRSAEncryption');
    expect(leaf).toContain('Public-Key: (2048 bit)');
    expect(leaf).toMatch(/X509v3 Basic Constraints: critical\s+CA:FALSE/);
    expect(leaf).toMatch(/X509v3 Key Usage: critical\s+Digital Signature, Key Encipherment\n/);
    expect(leaf).toMatch(/X509v3 Extended Key Usage:\s+E-mail Protection\n/);
    expect(leaf).toMatch(/X509v3 Subject Alternative Name:\s+email:alice@a\.demo\.test\n/);
    const colonHex = (hex: string | undefined): string =>
      (hex ?? '').toUpperCase().replace(/(..)(?!$)/g, '$1:');
    expect(leaf).toMatch(
      new RegExp(`X509v3 Subject Key Identifier:\\s+${colonHex(alice.subjectKeyId)}\\n`),
    );
    expect(leaf).toMatch(
      new RegExp(`X509v3 Authority Key Identifier:\\s+(keyid:)?${colonHex(root.subjectKeyId)}\\n`),
    );
    expect(leaf).toContain('Subject: O = Practice A, CN = alice@a.demo.test');
    expect(leaf).toContain('Issuer: O = Sealpost Demo, CN = Sealpost Demo Anchor');

    const anchor = await text(root);
    expect(anchor).toMatch(/X509v3 Basic Constraints: critical\s+CA:TRUE\n/);
    expect(anchor).toMatch(/X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign\n/);
    expect(anchor).not.toContain('Extended Key Usage');
    expect(await text(bob)).toMatch(/X509v3 Subject Alternative Name:\s+DNS:b\.demo\.test\n/);
  });

  it('verify -x509_strict: OK for leaves under the anchor (sign and encrypt purposes)', async () => {
    expect(await opensslVerify(root, alice)).toMatch(/: OK$/);
    expect(await opensslVerify(root, bob, [], 'smimeencrypt')).toMatch(/: OK$/);
  });

  it('verify: an intermediate CA (pathLen 0) chains too, and a same-name spoofed anchor does not', async () => {
    const intermediateKey = otherKey;
    const intermediate = parseCertificate(
      issueCertificate({
        subject: { commonName: 'Demo Intermediate', organization: 'Sealpost Demo' },
        issuer: { cert: root, key: rootKey },
        key: intermediateKey,
        ca: true,
      }),
    );
    expect(intermediate.basicConstraints).toEqual({ ca: true, pathLength: 0 });
    const leaf = parseCertificate(
      issueCertificate({
        subject: { commonName: 'carol@a.demo.test' },
        issuer: { cert: intermediate, key: intermediateKey },
        key: aliceKey,
        email: ['carol@a.demo.test'],
      }),
    );
    expect(await opensslVerify(root, leaf, [intermediate])).toMatch(/: OK$/);
    const path = await validatePath(leaf, {
      anchors: [root],
      intermediates: [intermediate],
      revocation: 'off',
      logger,
    });
    expect(path.reasons).toEqual([]);
    expect(path.trusted).toBe(true);
    expect(path.chain.map((c) => c.fingerprintSha256)).toEqual(
      [leaf, intermediate, root].map((c) => c.fingerprintSha256),
    );

    // Same subject name as the anchor, another key: what it signs must not chain to the anchor.
    const spoof = parseCertificate(
      issueCertificate({
        subject: { commonName: 'Sealpost Demo Anchor', organization: 'Sealpost Demo' },
        key: otherKey,
        ca: true,
      }),
    );
    expect(spoof.subjectDer.equals(root.subjectDer)).toBe(true);
    const forged = parseCertificate(
      issueCertificate({
        subject: { commonName: 'alice@a.demo.test' },
        issuer: { cert: spoof, key: otherKey },
        key: aliceKey,
        email: ['alice@a.demo.test'],
      }),
    );
    expect(forged.issuerDer.equals(root.subjectDer)).toBe(true);
    expect(await opensslVerify(root, forged)).toMatch(/^FAILED/);
  });
});

describe('issued certificates in our path validation and Direct policy', () => {
  it('validatePath: a leaf under the anchor is trusted; one signed by another key is not', async () => {
    for (const leaf of [alice, bob]) {
      const result = await validatePath(leaf, { anchors: [root], revocation: 'off', logger });
      expect(result.reasons).toEqual([]);
      expect(result.trusted).toBe(true);
      expect(result.anchor?.fingerprintSha256).toBe(root.fingerprintSha256);
    }
    const spoof = parseCertificate(
      issueCertificate({
        subject: { commonName: 'Sealpost Demo Anchor', organization: 'Sealpost Demo' },
        key: otherKey,
        ca: true,
      }),
    );
    const forged = parseCertificate(
      issueCertificate({
        subject: { commonName: 'alice@a.demo.test', organization: 'Practice A' },
        issuer: { cert: spoof, key: otherKey },
        key: aliceKey,
        email: ['alice@a.demo.test'],
      }),
    );
    const result = await validatePath(forged, { anchors: [root], revocation: 'off', logger });
    expect(result.trusted).toBe(false);
    expect(result.reasons.length).toBeGreaterThan(0);
  });

  it('checkDirectCertificate passes for signing and encryption; addressBinding address/domain', () => {
    const at = new Date();
    for (const usage of ['sign', 'encrypt'] as const) {
      expect(checkDirectCertificate(alice, { address: 'alice@a.demo.test', usage, at })).toEqual(
        [],
      );
      expect(checkDirectCertificate(bob, { address: 'bob@b.demo.test', usage, at })).toEqual([]);
      expect(checkDirectCertificate(root, { usage, at }).map((r) => r.code)).toContain(
        'CERT_KEY_USAGE',
      );
    }
    expect(addressBinding(alice, 'alice@a.demo.test')).toBe('address');
    expect(addressBinding(alice, 'other@a.demo.test')).toBeUndefined();
    expect(addressBinding(bob, 'bob@b.demo.test')).toBe('domain');
    expect(addressBinding(bob, 'bob@a.demo.test')).toBeUndefined();
  });

  it('a Direct message between two issued identities decrypts, verifies and is trusted', async () => {
    const original = Buffer.from(
      'From: alice@a.demo.test\r\nTo: bob@b.demo.test\r\nSubject: Referral\r\n' +
        'Message-ID: <demo-1@a.demo.test>\r\nMIME-Version: 1.0\r\n' +
        'Content-Type: text/plain\r\n\r\nPlease see the patient on Monday.\r\n',
    );
    const sent = signAndEncrypt(original, { certDer: alice.der, chainDer: [], key: aliceKey }, [
      bob.der,
    ]);
    const wire = collect(sent.message);
    const received = await decryptAndVerify(wire, {
      keys: [{ certDer: bob.der, key: bobKey }],
      anchors: [root],
      revocation: 'off',
      logger,
    });
    expect(received.reasons).toEqual([]);
    expect(received.decrypted).toBe(true);
    expect(received.signatureValid).toBe(true);
    expect(received.trusted).toBe(true);
    expect(received.signer?.fingerprintSha256).toBe(alice.fingerprintSha256);
    expect(received.anchor?.fingerprintSha256).toBe(root.fingerprintSha256);
    expect(received.inner?.equals(original)).toBe(true);

    // Under another anchor the same message is not trusted.
    const stranger = parseCertificate(
      issueCertificate({ subject: { commonName: 'Other Anchor' }, key: otherKey, ca: true }),
    );
    const untrusted = await decryptAndVerify(
      collect(
        signAndEncrypt(original, { certDer: alice.der, chainDer: [], key: aliceKey }, [bob.der])
          .message,
      ),
      { keys: [{ certDer: bob.der, key: bobKey }], anchors: [stranger], revocation: 'off', logger },
    );
    expect(untrusted.decrypted).toBe(true);
    expect(untrusted.trusted).toBe(false);
  });
});
