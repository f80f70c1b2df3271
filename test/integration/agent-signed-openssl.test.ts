/**
 * CMS SignedData against OpenSSL 3, both directions: what Sealpost signs, `openssl cms
 * -verify` and `openssl smime -verify` accept (and `-cmsout -print` shows the attributes and
 * digest we meant); what `openssl cms -sign` writes — detached, opaque (-nodetach), streamed
 * BER (-stream), RSASSA-PSS, ECDSA — Sealpost verifies and reports correctly. Chain: root CA
 * → intermediate → end entity; the intermediate travels in the message.
 */
import { createPrivateKey, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type Signer, signDetached, verifySignedData } from '../../hisp/agent/cms/signed.js';
import { type SigningDigest, bytesOf } from '../../hisp/agent/types.js';
import {
  type TestCa,
  createTestCa,
  issueCert,
  issueEndEntityCert,
  issueIntermediateCa,
  signingLeafExtensions,
} from '../services/certs.js';
import { findBinary, run } from '../services/proc.js';
import { type TempDir, makeTempDir } from '../services/tmp.js';

interface Party {
  readonly name: string;
  readonly keyPath: string;
  readonly certPath: string;
  readonly certDer: Buffer;
  readonly signer: Signer;
}

const openssl = (): string => findBinary('openssl', 'openssl');

let tmp: TempDir;
let root: TestCa;
let intermediate: TestCa;
let rsa: Party;
let p256: Party;
let p384: Party;
const files = new Map<string, { path: string; bytes: Buffer }>();

const SIZES = { '10KB': 10 * 1024, '1MB': 1024 * 1024, '20MB': 20 * 1024 * 1024 } as const;
type SizeName = keyof typeof SIZES;

/** An ECDSA end-entity certificate (the harness issues RSA by default). */
async function issueEc(issuer: TestCa, dir: string, name: string, curve: string): Promise<Party> {
  const { keyPath, certPath, certDer, keyPem } = await issueCert(issuer, dir, name, {
    subject: `/O=Sealpost Tests/CN=${name}@example.test`,
    extensions: signingLeafExtensions(`${name}@example.test`),
    newkey: ['-newkey', 'ec', '-pkeyopt', `ec_paramgen_curve:${curve}`],
  });
  return {
    name,
    keyPath,
    certPath,
    certDer,
    signer: {
      certDer,
      chainDer: [intermediate.certDer],
      key: createPrivateKey(keyPem),
    },
  };
}

beforeAll(async () => {
  tmp = await makeTempDir('agent-signed-openssl');
  root = await createTestCa(tmp.path, { commonName: 'Sealpost Test Root' });
  intermediate = await issueIntermediateCa(root, tmp.path, { pathLen: 0 });
  const [ee, ec256, ec384] = await Promise.all([
    issueEndEntityCert(intermediate, tmp.path, { email: 'rsa@example.test' }),
    issueEc(intermediate, tmp.path, 'p256', 'P-256'),
    issueEc(intermediate, tmp.path, 'p384', 'P-384'),
  ]);
  rsa = {
    name: 'rsa',
    keyPath: ee.keyPath,
    certPath: ee.certPath,
    certDer: ee.certDer,
    signer: {
      certDer: ee.certDer,
      chainDer: [intermediate.certDer],
      key: createPrivateKey(ee.keyPem),
    },
  };
  p256 = ec256;
  p384 = ec384;
  for (const [name, size] of Object.entries(SIZES)) {
    // Binary content with CRLFs and bare LFs: -binary must keep every byte.
    const bytes = randomBytes(size);
    bytes.write('Content-Type: message/rfc822\r\n\r\nFrom: a@example.test\n\r\n', 0, 'latin1');
    const path = join(tmp.path, `content-${name}.bin`);
    await writeFile(path, bytes);
    files.set(name, { path, bytes });
  }
}, 60_000);

afterAll(async () => {
  await tmp.remove();
});

const content = (size: SizeName): { path: string; bytes: Buffer } => {
  const file = files.get(size);
  if (!file) throw new Error(`no content ${size}`);
  return file;
};

let counter = 0;
async function writeTemp(data: Uint8Array, suffix: string): Promise<string> {
  const path = join(tmp.path, `${++counter}-${suffix}`);
  await writeFile(path, data);
  return path;
}

function opensslVerifyDetached(sigPath: string, contentPath: string): Promise<{ stderr: string }> {
  return run(
    openssl(),
    [
      'cms',
      '-verify',
      '-inform',
      'DER',
      '-binary',
      '-in',
      sigPath,
      '-content',
      contentPath,
      '-CAfile',
      root.certPath,
      '-purpose',
      'any',
      '-out',
      '/dev/null',
    ],
    { timeoutMs: 30_000 },
  );
}

async function opensslSign(
  party: Party,
  size: SizeName,
  digest: SigningDigest,
  extra: readonly string[] = [],
): Promise<Buffer> {
  const out = join(tmp.path, `${++counter}-openssl.der`);
  await run(
    openssl(),
    [
      'cms',
      '-sign',
      '-binary',
      '-outform',
      'DER',
      '-md',
      digest,
      '-signer',
      party.certPath,
      '-inkey',
      party.keyPath,
      '-certfile',
      intermediate.certPath,
      '-in',
      content(size).path,
      '-out',
      out,
      ...extra,
    ],
    { timeoutMs: 30_000 },
  );
  return readFile(out);
}

const SIGNING_TIME = new Date('2030-02-03T04:05:06Z');

describe('Sealpost signs → OpenSSL verifies', () => {
  const cases: Array<[string, () => Party, SizeName, SigningDigest]> = [
    ['RSA-2048', () => rsa, '10KB', 'sha256'],
    ['RSA-2048', () => rsa, '10KB', 'sha384'],
    ['RSA-2048', () => rsa, '10KB', 'sha512'],
    ['ECDSA P-256', () => p256, '10KB', 'sha256'],
    ['ECDSA P-384', () => p384, '10KB', 'sha384'],
    ['RSA-2048', () => rsa, '1MB', 'sha256'],
    ['ECDSA P-256', () => p256, '1MB', 'sha512'],
  ];
  for (const [keyName, party, size, digest] of cases) {
    it(`openssl cms -verify accepts ${keyName} ${digest} over ${size}`, async () => {
      const { path, bytes } = content(size);
      const sig = signDetached(bytesOf(bytes), party().signer, {
        digest,
        signingTime: SIGNING_TIME,
      });
      const sigPath = await writeTemp(sig, 'ours.der');
      const { stderr } = await opensslVerifyDetached(sigPath, path);
      expect(stderr).toMatch(/Verification successful/);
    });
  }

  it('openssl cms -verify rejects the same signature over content changed by one byte', async () => {
    const { bytes } = content('10KB');
    const sig = signDetached(bytesOf(bytes), rsa.signer, { digest: 'sha256' });
    const changed = Buffer.from(bytes);
    changed[5000]! ^= 0x20;
    const sigPath = await writeTemp(sig, 'ours.der');
    await expect(
      opensslVerifyDetached(sigPath, await writeTemp(changed, 'changed.bin')),
    ).rejects.toThrow(/Verification failure|digest failure/i);
  });

  it('openssl smime -verify (the PKCS#7 code path) accepts it as DER too, RSA and ECDSA', async () => {
    const { path, bytes } = content('10KB');
    for (const party of [rsa, p384]) {
      const sig = signDetached(bytesOf(bytes), party.signer, { digest: 'sha256' });
      const sigPath = await writeTemp(sig, `ours-${party.name}.der`);
      const { stderr } = await run(openssl(), [
        'smime',
        '-verify',
        '-inform',
        'DER',
        '-binary',
        '-in',
        sigPath,
        '-content',
        path,
        '-CAfile',
        root.certPath,
        '-purpose',
        'any',
        '-out',
        '/dev/null',
      ]);
      expect(stderr).toMatch(/Verification successful/);
    }
  });

  it('openssl cms -verify accepts our RSASSA-PSS (smime -verify cannot: PKCS7 has no PSS, even for its own)', async () => {
    const { path, bytes } = content('10KB');
    for (const digest of ['sha256', 'sha384'] as const) {
      const sig = signDetached(bytesOf(bytes), rsa.signer, { digest, rsaPadding: 'pss' });
      const { stderr } = await opensslVerifyDetached(await writeTemp(sig, 'ours-pss.der'), path);
      expect(stderr).toMatch(/Verification successful/);
    }
  });

  it('openssl cms -cmsout -print shows version 1, the digest, the signed attributes and the chain', async () => {
    const { bytes } = content('10KB');
    const sig = signDetached(bytesOf(bytes), rsa.signer, {
      digest: 'sha384',
      signingTime: SIGNING_TIME,
    });
    const sigPath = await writeTemp(sig, 'ours.der');
    const { stdout } = await run(openssl(), [
      'cms',
      '-cmsout',
      '-print',
      '-inform',
      'DER',
      '-in',
      sigPath,
    ]);
    expect(stdout).toMatch(/d\.signedData:\s+version: 1/);
    expect(stdout).toMatch(
      /digestAlgorithms:\s+algorithm: sha384 \(2\.16\.840\.1\.101\.3\.4\.2\.2\)\s+parameter: <ABSENT>/,
    );
    expect(stdout).toMatch(/eContentType: pkcs7-data[\s\S]*eContent: <ABSENT>/);
    expect(stdout).toMatch(
      /signatureAlgorithm:\s+algorithm: rsaEncryption \(1\.2\.840\.113549\.1\.1\.1\)\s+parameter: NULL/,
    );
    const attributes = [
      ...stdout.matchAll(/object: ([^(\n]+) \(1\.2\.840\.113549\.1\.9\.\d+\)/g),
    ].map((m) => m[1]);
    expect(attributes).toEqual([
      'contentType',
      'signingTime',
      'messageDigest',
      'S/MIME Capabilities',
    ]);
    expect(stdout).toMatch(/UTCTIME:Feb {2}3 04:05:06 2030 GMT/);
    expect(stdout).toMatch(/:aes-256-cbc[\s\S]*:aes-128-cbc[\s\S]*:aes-256-gcm/);
    expect(stdout).toMatch(/CN=Sealpost Test Intermediate/);
    expect(stdout.match(/d\.certificate:/g)).toHaveLength(2);
  });

  it('20 MB: Sealpost signs, OpenSSL verifies (throughput printed)', async () => {
    const { path, bytes } = content('20MB');
    const started = performance.now();
    const sig = signDetached(bytesOf(bytes), rsa.signer, { digest: 'sha256' });
    const signMs = performance.now() - started;
    const sigPath = await writeTemp(sig, 'ours-20mb.der');
    const { stderr } = await opensslVerifyDetached(sigPath, path);
    expect(stderr).toMatch(/Verification successful/);
    console.log(
      `sign 20 MiB sha256/RSA-2048: ${signMs.toFixed(0)} ms (${((20 / signMs) * 1000).toFixed(0)} MiB/s)`,
    );
  });
});

describe('OpenSSL signs → Sealpost verifies', () => {
  for (const size of ['10KB', '1MB'] as const) {
    for (const digest of ['sha256', 'sha384', 'sha512'] as const) {
      it(`detached RSA ${digest} over ${size}: valid, digest, algorithm, signer and chain`, async () => {
        const sig = await opensslSign(rsa, size, digest);
        const check = verifySignedData(sig, content(size).bytes);
        expect(check.reasons).toEqual([]);
        expect(check.signatureValid).toBe(true);
        expect(check.digest).toBe(digest);
        expect(check.signatureAlgorithm).toBe(`rsa-pkcs1-${digest}`);
        expect(Buffer.from(check.signerCertDer!).equals(rsa.certDer)).toBe(true);
        expect(check.certificatesDer.some((c) => Buffer.from(c).equals(intermediate.certDer))).toBe(
          true,
        );
        expect(check.signingTime).toBeInstanceOf(Date);
        expect(Math.abs(check.signingTime!.getTime() - Date.now())).toBeLessThan(5 * 60_000);
        expect(check.encapsulatedContent).toBeUndefined();
      });
    }
  }

  it('detached, content changed by one byte → not valid, SIGNATURE_INVALID', async () => {
    const sig = await opensslSign(rsa, '10KB', 'sha256');
    const changed = Buffer.from(content('10KB').bytes);
    changed[0]! ^= 0x01;
    const check = verifySignedData(sig, changed);
    expect(check.signatureValid).toBe(false);
    expect(check.reasons.map((r) => r.code)).toEqual(['SIGNATURE_INVALID']);
  });

  for (const size of ['10KB', '1MB'] as const) {
    it(`opaque (-nodetach) over ${size}: valid and the encapsulated content is returned`, async () => {
      const sig = await opensslSign(rsa, size, 'sha256', ['-nodetach']);
      const check = verifySignedData(sig);
      expect(check.reasons).toEqual([]);
      expect(check.encapsulatedContent?.equals(content(size).bytes)).toBe(true);
    });
  }

  it('streamed BER (-nodetach -stream: indefinite lengths, segmented eContent) verifies', async () => {
    const sig = await opensslSign(p256, '1MB', 'sha384', ['-nodetach', '-stream']);
    expect(sig.subarray(0, 2).toString('hex')).toBe('3080'); // really BER indefinite
    const check = verifySignedData(sig);
    expect(check.reasons).toEqual([]);
    expect(check.signatureAlgorithm).toBe('ecdsa-sha384');
    expect(check.encapsulatedContent?.equals(content('1MB').bytes)).toBe(true);
  });

  it('RSASSA-PSS (-keyopt rsa_padding_mode:pss) → rsa-pss-<digest>, valid', async () => {
    for (const digest of ['sha256', 'sha512'] as const) {
      const sig = await opensslSign(rsa, '10KB', digest, ['-keyopt', 'rsa_padding_mode:pss']);
      const check = verifySignedData(sig, content('10KB').bytes);
      expect(check.reasons).toEqual([]);
      expect(check.signatureAlgorithm).toBe(`rsa-pss-${digest}`);
      expect(check.digest).toBe(digest);
    }
  });

  it('ECDSA P-256 and P-384 → ecdsa-<digest>, valid, signer found', async () => {
    for (const [party, digest] of [
      [p256, 'sha256'],
      [p384, 'sha384'],
      [p384, 'sha512'],
    ] as const) {
      const sig = await opensslSign(party, '10KB', digest);
      const check = verifySignedData(sig, content('10KB').bytes);
      expect(check.reasons).toEqual([]);
      expect(check.signatureAlgorithm).toBe(`ecdsa-${digest}`);
      expect(Buffer.from(check.signerCertDer!).equals(party.certDer)).toBe(true);
    }
  });

  it('20 MB streamed BER (-nodetach -stream): Sealpost verifies and returns the content', async () => {
    const sig = await opensslSign(p256, '20MB', 'sha256', ['-nodetach', '-stream']);
    const started = performance.now();
    const check = verifySignedData(sig);
    const verifyMs = performance.now() - started;
    expect(check.reasons).toEqual([]);
    expect(check.encapsulatedContent?.equals(content('20MB').bytes)).toBe(true);
    console.log(`verify 20 MiB opaque BER sha256/P-256: ${verifyMs.toFixed(0)} ms`);
  });

  it('20 MB: OpenSSL signs, Sealpost verifies (throughput printed)', async () => {
    const sig = await opensslSign(rsa, '20MB', 'sha256');
    const { bytes } = content('20MB');
    const started = performance.now();
    const check = verifySignedData(sig, bytes);
    const verifyMs = performance.now() - started;
    expect(check.reasons).toEqual([]);
    expect(check.signatureValid).toBe(true);
    console.log(
      `verify 20 MiB sha256/RSA-2048: ${verifyMs.toFixed(0)} ms (${((20 / verifyMs) * 1000).toFixed(0)} MiB/s)`,
    );
  });
});
