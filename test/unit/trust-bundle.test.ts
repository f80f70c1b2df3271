/**
 * Trust bundles (hisp/certs/trust/bundle.ts) against bundles written by OpenSSL 3: unsigned
 * `openssl crl2pkcs7 -nocrl` (DER and PEM), PEM-concatenated certificates, and signed bundles
 * from `openssl cms -sign -nodetach -binary` (with and without signed attributes, RSASSA-PSS,
 * SHA-1, without the signer's certificate) and `openssl smime -sign -nodetach -binary`.
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { HispError } from '../../hisp/api/errors.js';
import {
  readTrustBundle,
  type ReadBundleOptions,
  type TrustBundleContent,
} from '../../hisp/certs/trust/bundle.js';
import { createSilentLogger } from '../../hisp/log/logger.js';
import { run } from '../services/proc.js';
import {
  DAY,
  TestPki,
  caExtensions,
  leafExtensions,
  openssl,
  type Issued,
} from './certs-fixtures.js';
import { hispErrorOf as failure } from '../services/hispErrors.js';

const logger = createSilentLogger();

let pki: TestPki;
let rootA: Issued;
let rootB: Issued;
let leafE: Issued;
let expiredRoot: Issued;
let signerCa: Issued;
let signer: Issued;
let signerRoot: Issued;
let signerIntermediate: Issued;
let chainedSigner: Issued;
let otherCa: Issued;
let otherSigner: Issued;

/** Named fixture files (bytes). */
const bundles = new Map<string, Buffer>();

function bundle(name: string): Buffer {
  const bytes = bundles.get(name);
  if (bytes === undefined) throw new Error(`no fixture ${name}`);
  return bytes;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function fingerprints(certs: readonly { fingerprintSha256: string }[]): string[] {
  return certs.map((c) => c.fingerprintSha256);
}

async function read(
  bytes: Uint8Array,
  options: Partial<ReadBundleOptions> = {},
): Promise<TrustBundleContent> {
  return readTrustBundle(bytes, { signers: [], logger, ...options });
}

/** `openssl cms|smime -sign -nodetach -binary -outform DER` over `inPath`. */
async function sign(
  name: string,
  inPath: string,
  by: Issued,
  extra: readonly string[] = [],
  tool: 'cms' | 'smime' = 'cms',
): Promise<Buffer> {
  const out = join(pki.dir, `${name}.p7m`);
  await run(openssl(), [
    tool,
    '-sign',
    '-nodetach',
    '-binary',
    '-outform',
    'DER',
    '-in',
    inPath,
    '-signer',
    by.certPath,
    '-inkey',
    by.keyPath,
    '-out',
    out,
    ...extra,
  ]);
  const bytes = await readFile(out);
  bundles.set(name, bytes);
  return bytes;
}

beforeAll(async () => {
  pki = await TestPki.create('trust-bundle');
  const signerLeaf = leafExtensions({ keyUsage: 'digitalSignature', extKeyUsage: false });
  [rootA, rootB, signerCa, signerRoot, otherCa] = await Promise.all([
    pki.root('Bundle Root A'),
    pki.root('Bundle Root B'),
    pki.root('Bundle Signer CA'),
    pki.root('Bundle Signer Root'),
    pki.root('Other CA'),
  ]);
  [leafE, expiredRoot, signer, signerIntermediate, otherSigner] = await Promise.all([
    pki.issue(rootA, 'Bundle Leaf E', {
      subject: '/O=Sealpost Tests/CN=Bundle Leaf E',
      extensions: leafExtensions({ email: 'e@example.test' }),
    }),
    pki.root('Expired Root', {
      notBefore: new Date(Date.now() - 10 * DAY),
      notAfter: new Date(Date.now() - DAY),
    }),
    pki.issue(signerCa, 'Bundle Signer', {
      subject: '/O=Sealpost Tests/CN=Bundle Signer',
      extensions: signerLeaf,
    }),
    pki.issue(signerRoot, 'Bundle Signer Intermediate', {
      subject: '/O=Sealpost Tests/CN=Bundle Signer Intermediate',
      extensions: caExtensions({ pathLen: 0 }),
    }),
    pki.issue(otherCa, 'Other Signer', {
      subject: '/O=Sealpost Tests/CN=Bundle Signer',
      extensions: signerLeaf,
    }),
  ]);
  chainedSigner = await pki.issue(signerIntermediate, 'Chained Signer', {
    subject: '/O=Sealpost Tests/CN=Chained Signer',
    extensions: signerLeaf,
  });

  const unsignedDer = await pki.pkcs7([rootA, rootB, leafE], 'DER');
  const unsignedPem = await pki.pkcs7([rootA, rootB, leafE], 'PEM');
  bundles.set('unsigned.der', unsignedDer);
  bundles.set('unsigned.pem', unsignedPem);
  bundles.set('with-expired.der', await pki.pkcs7([expiredRoot, rootA], 'DER'));
  bundles.set('concatenated.pem', Buffer.from([rootA.pem, 'comment\n', rootB.pem].join('')));
  const unsignedDerPath = join(pki.dir, 'unsigned.p7b');
  const unsignedPemPath = join(pki.dir, 'unsigned-pem.p7b');
  await writeFile(unsignedDerPath, unsignedDer);
  await writeFile(unsignedPemPath, unsignedPem);

  await Promise.all([
    sign('cms', unsignedDerPath, signer),
    sign('cms-noattr', unsignedDerPath, signer, ['-noattr']),
    sign('cms-stream', unsignedDerPath, signer, ['-stream']),
    sign('cms-two', unsignedDerPath, signer, [
      '-signer',
      otherSigner.certPath,
      '-inkey',
      otherSigner.keyPath,
    ]),
    sign('cms-pss', unsignedDerPath, signer, ['-keyopt', 'rsa_padding_mode:pss', '-md', 'sha384']),
    sign('cms-inner-pem', unsignedPemPath, signer),
    sign('smime', unsignedDerPath, signer, [], 'smime'),
    sign('cms-sha1', unsignedDerPath, signer, ['-md', 'sha1']),
    sign('cms-nocerts', unsignedDerPath, signer, ['-nocerts']),
    sign('cms-other', unsignedDerPath, otherSigner),
    sign('cms-chained', unsignedDerPath, chainedSigner, ['-certfile', signerIntermediate.certPath]),
  ]);
  const signedPath = join(pki.dir, 'cms.p7m');
  await sign('cms-nested', signedPath, signer);

  // A CMS EnvelopedData (an encrypted message), not a bundle.
  const plain = join(pki.dir, 'plain.txt');
  await writeFile(plain, 'hello\r\n');
  const enveloped = join(pki.dir, 'enveloped.der');
  await run(openssl(), [
    'cms',
    '-encrypt',
    '-aes256',
    '-binary',
    '-outform',
    'DER',
    '-in',
    plain,
    '-out',
    enveloped,
    leafE.certPath,
  ]);
  bundles.set('enveloped.der', await readFile(enveloped));
});

afterAll(async () => {
  await pki?.remove();
});

describe('unsigned bundles', () => {
  it('reads a DER p7b (openssl crl2pkcs7) to exactly its certificates, CA and end-entity alike', async () => {
    const bytes = bundle('unsigned.der');
    const content = await read(bytes);
    expect(content.signed).toBe(false);
    expect(content.signer).toBeUndefined();
    expect(content.format).toBe('pkcs7-der');
    expect(content.skipped).toEqual([]);
    expect(new Set(fingerprints(content.anchors))).toEqual(
      new Set([rootA, rootB, leafE].map((c) => c.cert.fingerprintSha256)),
    );
    expect(content.anchors).toHaveLength(3);
    for (const anchor of content.anchors) expect(anchor.der.byteLength).toBeGreaterThan(300);
  });

  it('reads the same bundle as PEM (-----BEGIN PKCS7-----) to the same anchors', async () => {
    const der = await read(bundle('unsigned.der'));
    const pemBytes = bundle('unsigned.pem');
    expect(pemBytes.toString('latin1')).toContain('-----BEGIN PKCS7-----');
    const pem = await read(pemBytes);
    expect(pem.format).toBe('pkcs7-pem');
    expect(fingerprints(pem.anchors)).toEqual(fingerprints(der.anchors));
    // The CMS label is accepted too.
    const cmsLabel = Buffer.from(pemBytes.toString('latin1').replaceAll('PKCS7', 'CMS'), 'latin1');
    expect(fingerprints((await read(cmsLabel)).anchors)).toEqual(fingerprints(der.anchors));
  });

  it('reads PEM-concatenated CERTIFICATE blocks as an unsigned bundle, de-duplicated in order', async () => {
    const content = await read(bundle('concatenated.pem'));
    expect(content.signed).toBe(false);
    expect(content.format).toBe('pem-certificates');
    expect(fingerprints(content.anchors)).toEqual([
      rootA.cert.fingerprintSha256,
      rootB.cert.fingerprintSha256,
    ]);
    const twice = Buffer.from([rootA.pem, rootB.pem, rootA.pem].join(''));
    expect(fingerprints((await read(twice)).anchors)).toEqual(fingerprints(content.anchors));
  });

  it('gives digestSha256 as the SHA-256 of exactly the input bytes', async () => {
    for (const name of ['unsigned.der', 'unsigned.pem', 'concatenated.pem', 'cms']) {
      const bytes = bundle(name);
      const content = await read(bytes, { signers: [signer.cert] });
      expect(content.digestSha256).toBe(sha256(bytes));
    }
    const der = bundle('unsigned.der');
    const pem = bundle('unsigned.pem');
    expect((await read(der)).digestSha256).not.toBe((await read(pem)).digestSha256);
  });

  it('skips an expired anchor with CERT_EXPIRED and keeps the others', async () => {
    const content = await read(bundle('with-expired.der'));
    expect(fingerprints(content.anchors)).toEqual([rootA.cert.fingerprintSha256]);
    expect(content.skipped).toHaveLength(1);
    expect(content.skipped[0]?.fingerprintSha256).toBe(expiredRoot.cert.fingerprintSha256);
    expect(content.skipped[0]?.subject).toBe(expiredRoot.cert.subject);
    expect(content.skipped[0]?.reason.code).toBe('CERT_EXPIRED');
    // At a time when it was valid, it is an anchor (and rootA, issued yesterday, is not yet).
    const earlier = await read(bundle('with-expired.der'), {
      at: new Date(Date.now() - 5 * DAY),
    });
    expect(fingerprints(earlier.anchors)).toEqual([expiredRoot.cert.fingerprintSha256]);
    expect(earlier.skipped.map((s) => [s.fingerprintSha256, s.reason.code])).toEqual([
      [rootA.cert.fingerprintSha256, 'CERT_NOT_YET_VALID'],
    ]);
    // Before any was valid: CERT_NOT_YET_VALID.
    const before = await read(bundle('with-expired.der'), {
      at: new Date(Date.now() - 20 * DAY),
    });
    expect(before.anchors).toHaveLength(0);
    expect(before.skipped.map((s) => s.reason.code)).toEqual([
      'CERT_NOT_YET_VALID',
      'CERT_NOT_YET_VALID',
    ]);
  });

  it('skips an unreadable certificate with CERT_MALFORMED, naming its fingerprint', async () => {
    // Break rootB inside the bundle: its tbsCertificate's [0] version tag becomes a NULL tag.
    const der = Buffer.from(bundle('unsigned.der'));
    const at = der.indexOf(rootB.der);
    expect(at).toBeGreaterThan(0);
    // Certificate SEQUENCE header (4 octets) then tbsCertificate SEQUENCE header (4 octets)
    // then [0] version: make it a NULL-tagged element of the same length.
    expect(der[at + 8]).toBe(0xa0);
    der[at + 8] = 0x05;
    const broken = der.subarray(at, at + rootB.der.byteLength);
    const content = await read(der);
    expect(fingerprints(content.anchors)).toEqual([
      rootA.cert.fingerprintSha256,
      leafE.cert.fingerprintSha256,
    ]);
    expect(content.skipped).toEqual([
      {
        fingerprintSha256: sha256(broken),
        reason: { code: 'CERT_MALFORMED', message: expect.stringContaining('Entry 2') as string },
      },
    ]);
  });

  it('refuses an unsigned bundle when a signature is required (BUNDLE_SIGNER_UNTRUSTED)', async () => {
    for (const name of ['unsigned.der', 'concatenated.pem']) {
      const error = await failure(read(bundle(name), { requireSigned: true }));
      expect(error.code).toBe('BUNDLE_SIGNER_UNTRUSTED');
      expect(error.message).toMatch(/not signed/);
    }
  });
});

describe('signed bundles', () => {
  const expectInner = (content: TrustBundleContent, by: Issued) => {
    expect(content.signed).toBe(true);
    expect(content.signer).toEqual({
      subject: by.cert.subject,
      fingerprintSha256: by.cert.fingerprintSha256,
    });
    // The anchors are the INNER bundle's; the signer's chain is not among them.
    expect(content.anchors).toHaveLength(3);
    expect(new Set(fingerprints(content.anchors))).toEqual(
      new Set([rootA, rootB, leafE].map((c) => c.cert.fingerprintSha256)),
    );
    expect(fingerprints(content.anchors)).not.toContain(by.cert.fingerprintSha256);
  };

  it('verifies openssl cms -sign with the signer certificate itself configured', async () => {
    const content = await read(bundle('cms'), { signers: [signer.cert] });
    expectInner(content, signer);
    expect(content.signingTime).toBeInstanceOf(Date);
    expect(content.format).toBe('pkcs7-der');
  });

  it("verifies it with the signer's CA configured instead", async () => {
    expectInner(await read(bundle('cms'), { signers: [signerCa.cert] }), signer);
    // Among other configured signers too.
    expectInner(
      await read(bundle('cms'), { signers: [otherCa.cert, rootA.cert, signerCa.cert] }),
      signer,
    );
  });

  it('verifies a signer that chains through an intermediate carried in the bundle', async () => {
    expectInner(await read(bundle('cms-chained'), { signers: [signerRoot.cert] }), chainedSigner);
  });

  it('verifies without signed attributes (-noattr), with RSASSA-PSS/SHA-384, and openssl smime -sign', async () => {
    const noattr = await read(bundle('cms-noattr'), { signers: [signer.cert] });
    expectInner(noattr, signer);
    expect(noattr.signingTime).toBeUndefined();
    expectInner(await read(bundle('cms-pss'), { signers: [signerCa.cert] }), signer);
    // Streamed BER (indefinite lengths, segmented eContent).
    const streamed = bundle('cms-stream');
    expect(streamed[1]).toBe(0x80);
    expectInner(await read(streamed, { signers: [signer.cert] }), signer);
    expectInner(await read(bundle('smime'), { signers: [signer.cert] }), signer);
  });

  it('accepts a PEM bundle inside the signature, and a PEM-armoured signed bundle', async () => {
    expectInner(await read(bundle('cms-inner-pem'), { signers: [signer.cert] }), signer);
    const armoured = Buffer.from(
      `-----BEGIN PKCS7-----\n${bundle('cms').toString('base64').replace(/.{64}/g, '$&\n')}\n-----END PKCS7-----\n`,
    );
    const content = await read(armoured, { signers: [signer.cert] });
    expectInner(content, signer);
    expect(content.format).toBe('pkcs7-pem');
  });

  it('refuses a bundle signed by a wrong signer (BUNDLE_SIGNER_UNTRUSTED naming it)', async () => {
    // Same subject name as the configured signer, another key and another CA.
    const error = await failure(read(bundle('cms-other'), { signers: [signer.cert] }));
    expect(error.code).toBe('BUNDLE_SIGNER_UNTRUSTED');
    expect(error.message).toContain(otherSigner.cert.fingerprintSha256);
    expect(error.message).toContain(otherSigner.cert.subject);
    const viaCa = await failure(read(bundle('cms-other'), { signers: [signerCa.cert] }));
    expect(viaCa.code).toBe('BUNDLE_SIGNER_UNTRUSTED');
    expect(viaCa.message).toContain(otherSigner.cert.fingerprintSha256);
    // The right bundle with only a wrong signer configured.
    const wrong = await failure(read(bundle('cms'), { signers: [otherCa.cert] }));
    expect(wrong.code).toBe('BUNDLE_SIGNER_UNTRUSTED');
    expect(wrong.message).toContain(signer.cert.fingerprintSha256);
  });

  it('refuses a signed bundle when no signer is configured, giving its fingerprint', async () => {
    const error = await failure(read(bundle('cms'), { signers: [] }));
    expect(error.code).toBe('BUNDLE_SIGNER_UNTRUSTED');
    expect(error.message).toContain(signer.cert.fingerprintSha256);
    expect(error.message).toContain(signer.cert.subject);
    expect(error.message).toMatch(/configure/);
  });

  it('refuses a signer that is expired at `at`, even when configured itself', async () => {
    const later = new Date(signer.cert.notAfter.getTime() + DAY);
    const error = await failure(read(bundle('cms'), { signers: [signer.cert], at: later }));
    expect(error.code).toBe('BUNDLE_SIGNER_UNTRUSTED');
    expect(error.message).toMatch(/expired/);
    expect(error.message).toContain(signer.cert.fingerprintSha256);
  });

  it('refuses a bundle with two signatures (BUNDLE_MALFORMED)', async () => {
    const error = await failure(
      read(bundle('cms-two'), { signers: [signer.cert, otherSigner.cert] }),
    );
    expect(error.code).toBe('BUNDLE_MALFORMED');
    expect(error.message).toMatch(/2 signatures/);
  });

  it('refuses a signed bundle that does not carry its signer (-nocerts)', async () => {
    const error = await failure(read(bundle('cms-nocerts'), { signers: [signer.cert] }));
    expect(error.code).toBe('BUNDLE_SIGNER_UNTRUSTED');
  });

  it('refuses one flipped byte in the inner bundle (BUNDLE_SIGNATURE_INVALID), with and without attributes', async () => {
    const inner = bundle('unsigned.der');
    for (const name of ['cms', 'cms-noattr', 'smime']) {
      const tampered = Buffer.from(bundle(name));
      const at = tampered.indexOf(inner);
      expect(at).toBeGreaterThan(0);
      const target = at + Math.floor(inner.byteLength / 2);
      tampered[target] = (tampered[target] ?? 0) ^ 0x01;
      const error = await failure(read(tampered, { signers: [signer.cert] }));
      expect(error.code, name).toBe('BUNDLE_SIGNATURE_INVALID');
    }
  });

  it('refuses a SHA-1 signature, naming the digest', async () => {
    const error = await failure(read(bundle('cms-sha1'), { signers: [signer.cert] }));
    expect(error.code).toBe('BUNDLE_SIGNATURE_INVALID');
    expect(error.message).toContain('SHA1');
  });

  it('refuses a signed bundle inside a signed bundle (LIMIT_EXCEEDED)', async () => {
    const error = await failure(read(bundle('cms-nested'), { signers: [signer.cert] }));
    expect(error.code).toBe('LIMIT_EXCEEDED');
    expect(error.message).toMatch(/nests/);
  });
});

describe('risk-16: what is not a bundle', () => {
  it('refuses garbage, text, an empty input and a single certificate (BUNDLE_MALFORMED saying what it was)', async () => {
    const cases: [string, Uint8Array, RegExp][] = [
      ['empty', new Uint8Array(0), /empty/],
      ['text', Buffer.from('hello, this is not a bundle\n'), /not PKCS#7/],
      ['garbage DER', Buffer.from([0x30, 0x03, 0x02, 0x01, 0x05]), /not valid PKCS#7|not PKCS#7/],
      ['random', Buffer.from('3082ffff'.repeat(3), 'hex'), /truncated|not valid PKCS#7/],
      ['certificate', rootA.der, /single X\.509 certificate/],
      [
        'PEM key only',
        Buffer.from('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'),
        /PRIVATE KEY/,
      ],
      [
        'bad PEM base64',
        Buffer.from('-----BEGIN PKCS7-----\n!!!!\n-----END PKCS7-----\n'),
        /PEM is broken/,
      ],
    ];
    for (const [name, bytes, message] of cases) {
      const error = await failure(read(bytes));
      expect(error.code, name).toBe('BUNDLE_MALFORMED');
      expect(error.message, name).toMatch(message);
    }
  });

  it('refuses a truncated bundle, saying so', async () => {
    const whole = bundle('unsigned.der');
    for (const cut of [1, 2, 10, Math.floor(whole.byteLength / 2), whole.byteLength - 1]) {
      const error = await failure(read(whole.subarray(0, cut)));
      expect(error.code, `cut at ${cut}`).toBe('BUNDLE_MALFORMED');
    }
    const half = await failure(read(whole.subarray(0, Math.floor(whole.byteLength / 2))));
    expect(half.message).toMatch(/truncated/);
    const signedHalf = bundle('cms').subarray(0, 900);
    expect((await failure(read(signedHalf, { signers: [signer.cert] }))).code).toBe(
      'BUNDLE_MALFORMED',
    );
  });

  it('refuses a CMS EnvelopedData, naming it', async () => {
    const error = await failure(read(bundle('enveloped.der')));
    expect(error.code).toBe('BUNDLE_MALFORMED');
    expect(error.message).toMatch(/enveloped-data/);
  });

  it('refuses an absurd declared length, too many bytes or too many certificates (LIMIT_EXCEEDED)', async () => {
    const absurd = Buffer.from([0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x06, 0x09]);
    expect((await failure(read(absurd))).code).toBe('LIMIT_EXCEEDED');
    const nineOctets = Buffer.from([0x30, 0x89, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0]);
    expect((await failure(read(nineOctets))).code).toBe('LIMIT_EXCEEDED');
    const whole = bundle('unsigned.der');
    const tooBig = await failure(read(whole, { maxBytes: whole.byteLength - 1 }));
    expect(tooBig.code).toBe('LIMIT_EXCEEDED');
    const tooMany = await failure(read(whole, { maxCertificates: 2 }));
    expect(tooMany.code).toBe('LIMIT_EXCEEDED');
    expect(tooMany.message).toMatch(/more than 2 certificates/);
    const tooManyPem = await failure(read(bundle('concatenated.pem'), { maxCertificates: 1 }));
    expect(tooManyPem.code).toBe('LIMIT_EXCEEDED');
    // Exactly at the bounds is fine.
    const atBounds = await read(whole, { maxBytes: whole.byteLength, maxCertificates: 3 });
    expect(atBounds.anchors).toHaveLength(3);
  });
  it('never fails with anything but a bundle error on randomly damaged bundles', async () => {
    // A fixed linear congruential generator: the same damage on every run.
    let state = 0x5eed;
    const next = (bound: number) => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state % bound;
    };
    const allowed = new Set([
      'BUNDLE_MALFORMED',
      'BUNDLE_SIGNATURE_INVALID',
      'BUNDLE_SIGNER_UNTRUSTED',
      'LIMIT_EXCEEDED',
    ]);
    const outcomes = new Map<string, number>();
    for (const name of ['unsigned.der', 'cms', 'cms-stream']) {
      const original = bundle(name);
      for (let round = 0; round < 150; round++) {
        const damaged = Buffer.from(original);
        const flips = 1 + next(4);
        for (let f = 0; f < flips; f++) damaged[next(damaged.byteLength)] = next(256);
        const cut = next(3) === 0 ? damaged.subarray(0, next(damaged.byteLength)) : damaged;
        let outcome: string;
        try {
          const content = await read(cut, { signers: [signer.cert] });
          outcome = content.signed ? 'signed' : 'unsigned';
        } catch (error) {
          if (!(error instanceof HispError)) throw error;
          expect(allowed, error.message).toContain(error.code);
          outcome = error.code;
        }
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      }
    }
    // The damage reached both the structure and the signature.
    expect(outcomes.get('BUNDLE_MALFORMED')).toBeGreaterThan(0);
    expect(outcomes.get('BUNDLE_SIGNATURE_INVALID')).toBeGreaterThan(0);
  });
});
