/**
 * CMS SignedData signing and verification (hisp/agent/cms/signed.ts): round trips for every
 * digest × key type, DER order of the signed attributes (checked with asn1js, an independent
 * parser), tampering, signer lookup, weak and unknown algorithms (inputs made by OpenSSL),
 * BER input, and hostile input (risk-16). Certificates come from the OpenSSL CLI.
 */
import {
  X509Certificate,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign as cryptoSign,
  randomBytes,
} from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import * as asn1js from 'asn1js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { HispError } from '../../hisp/api/errors.js';
import { type Signer, signDetached, verifySignedData } from '../../hisp/agent/cms/signed.js';
import { SMIME_CAPABILITIES } from '../../hisp/agent/cms/signedAttributes.js';
import {
  algorithmIdentifier as derAlgorithmIdentifier,
  compareDer,
  encodeLength,
  integer,
  nullValue,
  octetString as derOctetString,
  oid,
  tlv,
} from '../../hisp/asn1/der.js';
import { SIGNED_OID } from '../../hisp/agent/cms/signedOids.js';
import { AGENT_LIMITS } from '../../hisp/agent/limits.js';
import { type ByteSource, type SigningDigest, bytesOf } from '../../hisp/agent/types.js';
import {
  createTestCa,
  issueCert,
  issueEndEntityCert,
  signingLeafExtensions,
  type TestCa,
} from '../services/certs.js';
import { findBinary, run } from '../services/proc.js';
import { type TempDir, makeTempDir } from '../services/tmp.js';

// ── Hand-built DER: the shared writer (hisp/asn1/der.ts), as Buffers to splice ─────────────

/** Identifier octets of the elements these tests build by hand. */
const TAG = {
  sequence: 0x30,
  set: 0x31,
  utcTime: 0x17,
  octetStringConstructed: 0x24,
  context0: 0xa0,
  context1: 0xa1,
} as const;
const asBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
const der = (tag: number, ...contents: readonly Uint8Array[]): Buffer =>
  asBuffer(tlv(tag, ...contents));
const sequence = (...contents: readonly Uint8Array[]): Buffer => der(TAG.sequence, ...contents);
const encodeOid = (dotted: string): Buffer => asBuffer(oid(dotted));
const octetString = (value: Uint8Array): Buffer => asBuffer(derOctetString(value));
const derNull = (): Buffer => asBuffer(nullValue());
const smallIntegerDer = (value: number): Buffer => asBuffer(integer(value));
const algorithmIdentifier = (algorithm: string, parameters?: Uint8Array): Buffer =>
  asBuffer(derAlgorithmIdentifier(algorithm, parameters));

// ── Fixtures ───────────────────────────────────────────────────────────────────────────────

interface Issued {
  readonly name: string;
  readonly keyPath: string;
  readonly certPath: string;
  readonly certDer: Buffer;
  readonly key: KeyObject;
}

const openssl = (): string => findBinary('openssl', 'openssl');

/** An end-entity certificate from `ca` with any key (`newkey` are `openssl req` arguments). */
async function issue(
  ca: TestCa,
  dir: string,
  name: string,
  newkey: readonly string[],
  serial = `0x${randomBytes(8)
    .toString('hex')
    .replace(/^[89a-f]/, '1')}`,
): Promise<Issued> {
  const { keyPath, certPath, certDer, keyPem } = await issueCert(ca, dir, name, {
    subject: `/O=Sealpost Tests/CN=${name}`,
    extensions: signingLeafExtensions(`${name}@example.test`),
    newkey,
    serial,
  });
  return { name, keyPath, certPath, certDer, key: createPrivateKey(keyPem) };
}

let tmp: TempDir;
let ca: TestCa;
let otherCa: TestCa;
const signers = new Map<string, Issued>();
let rsa: Issued;
let ec: Issued;
/** Same issuer and serial as `rsa`, another key. */
let rsaTwin: Issued;
/** Issued by another CA. */
let stranger: Issued;
/** Issued by another CA with the same serial as `rsa`. */
let strangerTwin: Issued;

beforeAll(async () => {
  tmp = await makeTempDir('agent-signed');
  ca = await createTestCa(tmp.path);
  otherCa = await createTestCa(tmp.path, { name: 'other-ca', commonName: 'Other CA' });
  const ee = await issueEndEntityCert(ca, tmp.path, { email: 'rsa2048@example.test' });
  rsa = {
    name: 'rsa-2048',
    keyPath: ee.keyPath,
    certPath: ee.certPath,
    certDer: ee.certDer,
    key: createPrivateKey(ee.keyPem),
  };
  const [rsa3072, p256, p384] = await Promise.all([
    issue(ca, tmp.path, 'rsa-3072', ['-newkey', 'rsa:3072']),
    issue(ca, tmp.path, 'ecdsa-p256', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']),
    issue(ca, tmp.path, 'ecdsa-p384', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384']),
  ]);
  ec = p256;
  signers
    .set('rsa-2048', rsa)
    .set('rsa-3072', rsa3072)
    .set('ecdsa-p256', p256)
    .set('ecdsa-p384', p384);
  const rsaSerial = `0x${new X509Certificate(rsa.certDer).serialNumber}`;
  [rsaTwin, stranger, strangerTwin] = await Promise.all([
    issue(ca, tmp.path, 'twin', ['-newkey', 'rsa:2048'], rsaSerial),
    issue(otherCa, tmp.path, 'stranger', ['-newkey', 'rsa:2048']),
    issue(otherCa, tmp.path, 'stranger-twin', ['-newkey', 'rsa:2048'], rsaSerial),
  ]);
}, 120_000);

afterAll(async () => {
  await tmp.remove();
});

const signerOf = (issued: Issued, chain: readonly Uint8Array[] = [ca.certDer]): Signer => ({
  certDer: issued.certDer,
  chainDer: chain,
  key: issued.key,
});

const CONTENT = Buffer.from(
  'Content-Type: message/rfc822\r\n\r\nFrom: a@example.test\r\nTo: b@example.test\r\n\r\nHello\r\n',
);
const SIGNING_TIME = new Date('2031-04-05T06:07:08.900Z');

function sign(
  issued: Issued = rsa,
  digest: SigningDigest = 'sha256',
  content: Uint8Array = CONTENT,
): Buffer {
  return signDetached(bytesOf(content), signerOf(issued), { digest, signingTime: SIGNING_TIME });
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof HispError) return error.code;
    throw error;
  }
  return 'no error';
}

// ── Independent structure access (asn1js) and re-assembly ─────────────────────────────────

function parseBer(bytes: Uint8Array): asn1js.AsnType {
  const { result, offset } = asn1js.fromBER(bytes, {
    maxContentLength: 64 * 1024 * 1024,
    maxNodes: 1_000_000,
  });
  if (offset === -1) throw new Error(`asn1js: ${result.error}`);
  return result;
}

function kids(node: asn1js.AsnType): asn1js.AsnType[] {
  const value = (node.valueBlock as { value?: unknown }).value;
  if (!Array.isArray(value)) throw new Error(`not constructed: ${node.constructor.name}`);
  return value as asn1js.AsnType[];
}

const rawOf = (node: asn1js.AsnType): Buffer => Buffer.from(node.valueBeforeDecodeView);

interface SignedDataParts {
  version: Buffer;
  digestAlgorithms: Buffer;
  encap: Buffer;
  certificates: Buffer[] | undefined;
  signerInfos: Buffer[];
}

function splitSignedData(sig: Uint8Array): SignedDataParts {
  const contentInfo = parseBer(sig);
  const [, explicit] = kids(contentInfo);
  const [signedData] = kids(explicit!);
  const fields = kids(signedData!);
  const certs = fields.find((f) => f.idBlock.tagClass === 3 && f.idBlock.tagNumber === 0);
  return {
    version: rawOf(fields[0]!),
    digestAlgorithms: rawOf(fields[1]!),
    encap: rawOf(fields[2]!),
    certificates: certs ? kids(certs).map(rawOf) : undefined,
    signerInfos: kids(fields[fields.length - 1]!).map(rawOf),
  };
}

function joinSignedData(parts: SignedDataParts): Buffer {
  const signedData = sequence(
    parts.version,
    parts.digestAlgorithms,
    parts.encap,
    ...(parts.certificates ? [der(TAG.context0, ...parts.certificates)] : []),
    der(TAG.set, ...parts.signerInfos),
  );
  return sequence(encodeOid(SIGNED_OID.signedData), der(TAG.context0, signedData));
}

interface SignerInfoParts {
  version: Buffer;
  sid: Buffer;
  digestAlgorithm: Buffer;
  signedAttrs: Buffer | undefined;
  signatureAlgorithm: Buffer;
  signature: Buffer;
}

function splitSignerInfo(signerInfo: Uint8Array): SignerInfoParts {
  const fields = kids(parseBer(signerInfo)).map(rawOf);
  const hasAttrs = fields[3]?.[0] === 0xa0;
  const at = hasAttrs ? 4 : 3;
  return {
    version: fields[0]!,
    sid: fields[1]!,
    digestAlgorithm: fields[2]!,
    signedAttrs: hasAttrs ? fields[3] : undefined,
    signatureAlgorithm: fields[at]!,
    signature: fields[at + 1]!,
  };
}

function signerInfoFields(p: SignerInfoParts): Buffer[] {
  return [
    p.version,
    p.sid,
    p.digestAlgorithm,
    ...(p.signedAttrs ? [p.signedAttrs] : []),
    p.signatureAlgorithm,
    p.signature,
  ];
}

function joinSignerInfo(p: SignerInfoParts): Buffer {
  return sequence(...signerInfoFields(p));
}

/** The Attribute encodings inside a signer's [0] signed attributes, in received order. */
function signedAttributeElements(sig: Uint8Array): Buffer[] {
  const [signerInfo] = splitSignedData(sig).signerInfos;
  const { signedAttrs } = splitSignerInfo(signerInfo!);
  return kids(parseBer(signedAttrs!)).map(rawOf);
}

const attribute = (type: string, ...values: Uint8Array[]): Buffer =>
  sequence(encodeOid(type), der(TAG.set, ...values));

/**
 * A SignerInfo built by hand over `attributes` in the order given (not sorted), signed
 * with RSA PKCS#1 v1.5 over exactly those bytes with the SET tag.
 */
function handSignerInfo(
  issued: Issued,
  attributes: readonly Buffer[],
  options: { digestOid?: string; signatureAlgorithm?: Buffer; hash?: string } = {},
): Buffer {
  const sid = splitSignerInfo(splitSignedData(sign(issued)).signerInfos[0]!).sid;
  const asSet = der(TAG.set, ...attributes);
  const signature = cryptoSign(options.hash ?? 'sha256', asSet, issued.key);
  const implicit = Buffer.from(asSet);
  implicit[0] = TAG.context0;
  return sequence(
    smallIntegerDer(1),
    sid,
    algorithmIdentifier(options.digestOid ?? SIGNED_OID.sha256),
    implicit,
    options.signatureAlgorithm ?? algorithmIdentifier(SIGNED_OID.rsaEncryption, derNull()),
    octetString(signature),
  );
}

function standardAttributes(content: Uint8Array, hash = 'sha256'): Buffer[] {
  return [
    attribute(SIGNED_OID.contentType, encodeOid(SIGNED_OID.data)),
    attribute(SIGNED_OID.messageDigest, octetString(createHash(hash).update(content).digest())),
  ];
}

function withSignerInfos(base: Uint8Array, signerInfos: Buffer[], certificates?: Buffer[]): Buffer {
  const parts = splitSignedData(base);
  return joinSignedData({
    ...parts,
    signerInfos,
    certificates: certificates ?? parts.certificates,
  });
}

// ── Round trips ────────────────────────────────────────────────────────────────────────────

describe('signDetached → verifySignedData round trips', () => {
  const digests: SigningDigest[] = ['sha256', 'sha384', 'sha512'];
  const keys = ['rsa-2048', 'rsa-3072', 'ecdsa-p256', 'ecdsa-p384'];
  for (const keyName of keys) {
    for (const digest of digests) {
      it(`${keyName} with ${digest} verifies and reports digest, algorithm, signer and time`, () => {
        const issued = signers.get(keyName)!;
        const sig = sign(issued, digest);
        const check = verifySignedData(sig, CONTENT);
        expect(check.reasons).toEqual([]);
        expect(check.signatureValid).toBe(true);
        expect(check.digest).toBe(digest);
        expect(check.signatureAlgorithm).toBe(
          keyName.startsWith('rsa') ? `rsa-pkcs1-${digest}` : `ecdsa-${digest}`,
        );
        expect(Buffer.from(check.signerCertDer!).equals(issued.certDer)).toBe(true);
        expect(check.signingTime?.toISOString()).toBe('2031-04-05T06:07:08.000Z');
        expect(check.encapsulatedContent).toBeUndefined();
      });
    }
  }

  it('carries the signer and its chain byte for byte, deduplicated', () => {
    const sig = signDetached(
      bytesOf(CONTENT),
      signerOf(rsa, [ca.certDer, rsa.certDer, ca.certDer]),
      {
        digest: 'sha256',
      },
    );
    const check = verifySignedData(sig, CONTENT);
    expect(check.signatureValid).toBe(true);
    // A DER SET OF: sorted by encoding.
    const carried = splitSignedData(sig).certificates!;
    expect(carried).toHaveLength(2);
    expect(Buffer.compare(carried[0]!, carried[1]!)).toBeLessThan(0);
    expect(check.certificatesDer.map((c) => Buffer.from(c).toString('hex')).sort()).toEqual(
      [rsa.certDer, ca.certDer].map((c) => c.toString('hex')).sort(),
    );
  });

  it('writes what OpenSSL writes: version 1, rsaEncryption+NULL, SHA-2 without parameters', () => {
    const parts = splitSignedData(sign(rsa, 'sha384'));
    expect(parts.version.toString('hex')).toBe('020101');
    expect(parts.encap.equals(sequence(encodeOid(SIGNED_OID.data)))).toBe(true);
    const si = splitSignerInfo(parts.signerInfos[0]!);
    expect(si.version.toString('hex')).toBe('020101');
    expect(si.sid[0]).toBe(0x30); // issuerAndSerialNumber
    expect(si.digestAlgorithm.equals(algorithmIdentifier(SIGNED_OID.sha384))).toBe(true);
    expect(
      si.signatureAlgorithm.equals(algorithmIdentifier(SIGNED_OID.rsaEncryption, derNull())),
    ).toBe(true);
    const ecInfo = splitSignerInfo(splitSignedData(sign(ec, 'sha512')).signerInfos[0]!);
    expect(ecInfo.signatureAlgorithm.equals(algorithmIdentifier(SIGNED_OID.ecdsaWithSha512))).toBe(
      true,
    );
  });

  it('signs RSASSA-PSS on request and verifies it as rsa-pss', () => {
    for (const digest of ['sha256', 'sha512'] as const) {
      const sig = signDetached(bytesOf(CONTENT), signerOf(rsa), { digest, rsaPadding: 'pss' });
      const check = verifySignedData(sig, CONTENT);
      expect(check.reasons).toEqual([]);
      expect(check.signatureAlgorithm).toBe(`rsa-pss-${digest}`);
    }
  });

  it('streams a byte source once: many chunks, not reiterable', () => {
    const pieces = Array.from({ length: 200 }, (_, i) => randomBytes(97 + i));
    const whole = Buffer.concat(pieces);
    let iterations = 0;
    const source: ByteSource = {
      length: whole.length,
      reiterable: false,
      chunks() {
        iterations++;
        if (iterations > 1) throw new Error('iterated twice');
        return pieces;
      },
    };
    const sig = signDetached(source, signerOf(ec), { digest: 'sha384' });
    expect(iterations).toBe(1);
    expect(verifySignedData(sig, whole).signatureValid).toBe(true);
  });

  it('refuses a key that is not the certificate’s, a weak digest and a bad certificate', () => {
    expect(
      codeOf(() =>
        signDetached(
          bytesOf(CONTENT),
          { ...signerOf(rsa), key: rsaTwin.key },
          { digest: 'sha256' },
        ),
      ),
    ).toBe('KEY_CERT_MISMATCH');
    expect(
      codeOf(() =>
        signDetached(bytesOf(CONTENT), signerOf(rsa), {
          digest: 'sha1' as unknown as SigningDigest,
        }),
      ),
    ).toBe('UNSUPPORTED_ALGORITHM');
    expect(
      codeOf(() =>
        signDetached(
          bytesOf(CONTENT),
          { ...signerOf(rsa), certDer: Buffer.from('not a cert') },
          { digest: 'sha256' },
        ),
      ),
    ).toBe('CERT_MALFORMED');
    const lying: ByteSource = { length: 10, reiterable: true, chunks: () => [Buffer.alloc(5)] };
    expect(codeOf(() => signDetached(lying, signerOf(rsa), { digest: 'sha256' }))).toBe('INTERNAL');
  });

  it('refuses keys Direct does not allow: Ed25519, ECDSA P-521, a public key', () => {
    const attempt = (key: KeyObject): string =>
      codeOf(() => signDetached(bytesOf(CONTENT), { ...signerOf(rsa), key }, { digest: 'sha256' }));
    expect(attempt(generateKeyPairSync('ed25519').privateKey)).toBe('UNSUPPORTED_ALGORITHM');
    expect(attempt(generateKeyPairSync('ec', { namedCurve: 'P-521' }).privateKey)).toBe(
      'UNSUPPORTED_ALGORITHM',
    );
    expect(attempt(createPublicKey(rsa.key))).toBe('KEY_MALFORMED');
  });

  it('writes signingTime as GeneralizedTime from 2050 on (RFC 5652 §11.3) and reads it back', () => {
    const when = new Date('2061-01-02T03:04:05Z');
    const sig = signDetached(bytesOf(CONTENT), signerOf(rsa), {
      digest: 'sha256',
      signingTime: when,
    });
    const check = verifySignedData(sig, CONTENT);
    expect(check.signingTime?.toISOString()).toBe(when.toISOString());
    expect(
      sig.includes(Buffer.concat([Buffer.from([0x18, 0x0f]), Buffer.from('20610102030405Z')])),
    ).toBe(true);
  });
});

// ── DER order ──────────────────────────────────────────────────────────────────────────────

describe('signed attributes', () => {
  it('are a DER SET OF: elements sorted by their encodings (X.690 11.6)', () => {
    for (const issued of [rsa, ec]) {
      for (const digest of ['sha256', 'sha512'] as const) {
        const elements = signedAttributeElements(sign(issued, digest));
        expect(elements).toHaveLength(4);
        for (let i = 1; i < elements.length; i++) {
          expect(Buffer.compare(elements[i - 1]!, elements[i]!)).toBeLessThan(0);
        }
        const types = elements.map((e) => {
          const [type] = kids(parseBer(e));
          return (type as asn1js.ObjectIdentifier).valueBlock.toString();
        });
        expect(new Set(types)).toEqual(
          new Set([
            SIGNED_OID.contentType,
            SIGNED_OID.signingTime,
            SIGNED_OID.messageDigest,
            SIGNED_OID.smimeCapabilities,
          ]),
        );
        // What OpenSSL writes too: the encodings sort by length first here.
        expect(types).toEqual([
          SIGNED_OID.contentType,
          SIGNED_OID.signingTime,
          SIGNED_OID.messageDigest,
          SIGNED_OID.smimeCapabilities,
        ]);
      }
    }
  });

  it('X.690 11.6 comparison pads the shorter encoding with zero octets', () => {
    const a = Buffer.from([0x30, 0x03, 0x02]);
    const b = Buffer.from([0x30, 0x03, 0x02, 0x00]);
    const c = Buffer.from([0x30, 0x03, 0x02, 0x01]);
    expect(compareDer(a, b)).toBe(0);
    expect(compareDer(a, c)).toBeLessThan(0);
    expect(compareDer(c, a)).toBeGreaterThan(0);
    expect(compareDer(Buffer.from([0x31]), Buffer.from([0x30, 0xff]))).toBeGreaterThan(0);
  });

  it('announce AES-256-CBC first, then the other AES ciphers, with absent parameters', () => {
    const elements = signedAttributeElements(sign());
    const caps = elements.find((e) => e.includes(encodeOid(SIGNED_OID.smimeCapabilities)))!;
    const [, values] = kids(parseBer(caps));
    const [list] = kids(values!);
    const ids = kids(list!).map((cap) => {
      const fields = kids(cap);
      expect(fields).toHaveLength(1);
      return (fields[0] as asn1js.ObjectIdentifier).valueBlock.toString();
    });
    expect(ids[0]).toBe(SIGNED_OID.aes256Cbc);
    expect(ids).toContain(SIGNED_OID.aes128Cbc);
    expect(ids).toContain(SIGNED_OID.aes256Gcm);
    expect(ids).toHaveLength(SMIME_CAPABILITIES.length);
  });

  it('are verified as received, not re-encoded: an unsorted (non-DER) set signed as sent verifies', () => {
    const unsorted = [...standardAttributes(CONTENT)].reverse();
    expect(Buffer.compare(unsorted[0]!, unsorted[1]!)).toBeGreaterThan(0);
    const sig = withSignerInfos(sign(), [handSignerInfo(rsa, unsorted)]);
    const check = verifySignedData(sig, CONTENT);
    expect(check.reasons).toEqual([]);
    expect(check.signatureValid).toBe(true);
    expect(check.signingTime).toBeUndefined();
  });

  it('must carry contentType and messageDigest once each', () => {
    const [contentType, messageDigest] = standardAttributes(CONTENT);
    const missing = withSignerInfos(sign(), [handSignerInfo(rsa, [contentType!])]);
    const check = verifySignedData(missing, CONTENT);
    expect(check.signatureValid).toBe(false);
    expect(check.reasons.map((r) => r.code)).toEqual(['SIGNATURE_INVALID']);
    expect(check.reasons[0]?.message).toMatch(/messageDigest attribute is missing/);

    const twice = withSignerInfos(sign(), [
      handSignerInfo(rsa, [contentType!, messageDigest!, messageDigest!]),
    ]);
    expect(verifySignedData(twice, CONTENT).reasons[0]?.message).toMatch(/more than once/);

    const wrongType = attribute(SIGNED_OID.contentType, encodeOid(SIGNED_OID.signedData));
    const mismatched = withSignerInfos(sign(), [handSignerInfo(rsa, [wrongType, messageDigest!])]);
    expect(verifySignedData(mismatched, CONTENT).reasons[0]?.message).toMatch(/contentType/);
  });
});

// ── Tampering and signer lookup ────────────────────────────────────────────────────────────

describe('tampering', () => {
  it('one changed content byte → not valid, SIGNATURE_INVALID', () => {
    const sig = sign(ec, 'sha384');
    for (const at of [0, 17, CONTENT.length - 1]) {
      const tampered = Buffer.from(CONTENT);
      tampered[at]! ^= 0x01;
      const check = verifySignedData(sig, tampered);
      expect(check.signatureValid).toBe(false);
      expect(check.reasons.map((r) => r.code)).toEqual(['SIGNATURE_INVALID']);
    }
    expect(verifySignedData(sig, CONTENT.subarray(0, -1)).signatureValid).toBe(false);
  });

  it('a changed signed attribute (signingTime) → not valid, SIGNATURE_INVALID', () => {
    const sig = sign(rsa);
    const time = Buffer.from('310405060708Z');
    const at = sig.indexOf(time);
    expect(at).toBeGreaterThan(0);
    const tampered = Buffer.from(sig);
    tampered[at + 1] = 0x32; // 2031 → 2032
    const check = verifySignedData(tampered, CONTENT);
    expect(check.signatureValid).toBe(false);
    expect(check.signingTime?.getUTCFullYear()).toBe(2032);
    expect(check.reasons.map((r) => r.code)).toEqual(['SIGNATURE_INVALID']);
  });

  it('a changed signature byte → not valid, SIGNATURE_INVALID', () => {
    for (const issued of [rsa, ec]) {
      const sig = sign(issued);
      const tampered = Buffer.from(sig);
      tampered[tampered.length - 5]! ^= 0x40;
      const check = verifySignedData(tampered, CONTENT);
      expect(check.signatureValid).toBe(false);
      expect(check.reasons.map((r) => r.code)).toContain('SIGNATURE_INVALID');
    }
  });

  it('detached signature with no content, or content that differs from eContent', () => {
    expect(codeOf(() => verifySignedData(sign()))).toBe('CMS_MALFORMED');
  });
});

describe('signer certificate lookup', () => {
  // Documented choice: a message whose certificates do not include the one the sid names
  // is NOT_SIGNED (no signer to check); a certificate that the sid names but whose key did
  // not make the signature is SIGNATURE_INVALID.
  it('sid names no certificate in the message → NOT_SIGNED, no signer certificate', () => {
    const sig = sign(rsa);
    const parts = splitSignedData(sig);
    const swapped = joinSignedData({ ...parts, certificates: [stranger.certDer, ca.certDer] });
    const check = verifySignedData(swapped, CONTENT);
    expect(check.signatureValid).toBe(false);
    expect(check.signerCertDer).toBeUndefined();
    expect(check.reasons.map((r) => r.code)).toEqual(['NOT_SIGNED']);
    expect(check.certificatesDer).toHaveLength(2);

    const none = joinSignedData({ ...parts, certificates: undefined });
    expect(verifySignedData(none, CONTENT).reasons.map((r) => r.code)).toEqual(['NOT_SIGNED']);
  });

  it('a certificate with the same issuer and serial but another key → SIGNATURE_INVALID', () => {
    const parts = splitSignedData(sign(rsa));
    const forged = joinSignedData({ ...parts, certificates: [rsaTwin.certDer] });
    const check = verifySignedData(forged, CONTENT);
    expect(check.signatureValid).toBe(false);
    expect(Buffer.from(check.signerCertDer!).equals(rsaTwin.certDer)).toBe(true);
    expect(check.reasons.map((r) => r.code)).toEqual(['SIGNATURE_INVALID']);
  });

  it('finds the signer among many certificates by issuerAndSerialNumber (issuer compared as DER)', () => {
    const parts = splitSignedData(sign(rsa));
    const many = joinSignedData({
      ...parts,
      certificates: [
        stranger.certDer,
        rsaTwin.certDer.subarray(0),
        otherCa.certDer,
        ca.certDer,
        rsa.certDer,
      ],
    });
    // rsaTwin shares issuer+serial and comes first: the first match is reported — and fails.
    expect(verifySignedData(many, CONTENT).signatureValid).toBe(false);
    // strangerTwin has the same serial but another issuer: it must not match.
    const fine = joinSignedData({
      ...parts,
      certificates: [strangerTwin.certDer, otherCa.certDer, ca.certDer, rsa.certDer],
    });
    const check = verifySignedData(fine, CONTENT);
    expect(check.signatureValid).toBe(true);
    expect(Buffer.from(check.signerCertDer!).equals(rsa.certDer)).toBe(true);
    expect(check.certificatesDer.map((c) => Buffer.from(c))).toEqual([
      strangerTwin.certDer,
      otherCa.certDer,
      ca.certDer,
      rsa.certDer,
    ]);
  });

  it('finds the signer by subjectKeyIdentifier (openssl cms -sign -keyid)', async () => {
    const input = join(tmp.path, 'keyid.txt');
    const out = join(tmp.path, 'keyid.der');
    await writeFile(input, CONTENT);
    await run(openssl(), [
      'cms',
      '-sign',
      '-binary',
      '-keyid',
      '-md',
      'sha256',
      '-outform',
      'DER',
      '-signer',
      ec.certPath,
      '-inkey',
      ec.keyPath,
      '-certfile',
      ca.certPath,
      '-in',
      input,
      '-out',
      out,
    ]);
    const sig = await readFile(out);
    const si = splitSignerInfo(splitSignedData(sig).signerInfos[0]!);
    expect(si.sid[0]).toBe(0x80);
    const check = verifySignedData(sig, CONTENT);
    expect(check.reasons).toEqual([]);
    expect(Buffer.from(check.signerCertDer!).equals(ec.certDer)).toBe(true);
  });

  it('several SignerInfos: the first that verifies is reported, else the first failure', () => {
    const good = splitSignedData(sign(ec)).signerInfos[0]!;
    const other = splitSignedData(sign(rsa, 'sha256', Buffer.from('other content')))
      .signerInfos[0]!;
    const certs = [rsa.certDer, ec.certDer, ca.certDer];
    const check = verifySignedData(withSignerInfos(sign(), [other, good], certs), CONTENT);
    expect(check.signatureValid).toBe(true);
    expect(check.signatureAlgorithm).toBe('ecdsa-sha256');
    const failing = verifySignedData(
      withSignerInfos(sign(), [other, good], certs),
      Buffer.from('x'),
    );
    expect(failing.signatureValid).toBe(false);
    expect(failing.signatureAlgorithm).toBe('rsa-pkcs1-sha256');
    expect(failing.reasons.map((r) => r.code)).toEqual(['SIGNATURE_INVALID']);
  });

  it('several SignerInfos: one that verifies with no reasons beats one that verifies with SHA-1', async () => {
    const input = join(tmp.path, 'weak-first.txt');
    const out = join(tmp.path, 'weak-first.der');
    await writeFile(input, CONTENT);
    await run(openssl(), [
      'cms',
      '-sign',
      '-binary',
      '-md',
      'sha1',
      '-outform',
      'DER',
      '-signer',
      ec.certPath,
      '-inkey',
      ec.keyPath,
      '-in',
      input,
      '-out',
      out,
    ]);
    const weak = splitSignedData(await readFile(out)).signerInfos[0]!;
    const strong = splitSignedData(sign(rsa, 'sha512')).signerInfos[0]!;
    const both = withSignerInfos(sign(), [weak, strong], [ec.certDer, rsa.certDer]);
    const check = verifySignedData(both, CONTENT);
    expect(check.reasons).toEqual([]);
    expect(check.digest).toBe('sha512');
    const weakOnly = verifySignedData(withSignerInfos(sign(), [weak], [ec.certDer]), CONTENT);
    expect(weakOnly.signatureValid).toBe(true);
    expect(weakOnly.reasons.map((r) => r.code)).toEqual(['WEAK_DIGEST']);
  });

  it('no SignerInfo at all (a certs-only bundle) → NOT_SIGNED with the certificates', () => {
    const parts = splitSignedData(sign());
    const check = verifySignedData(joinSignedData({ ...parts, signerInfos: [] }));
    expect(check.signatureValid).toBe(false);
    expect(check.reasons.map((r) => r.code)).toEqual(['NOT_SIGNED']);
    expect(check.certificatesDer).toHaveLength(2);
  });
});

// ── Algorithms ─────────────────────────────────────────────────────────────────────────────

describe('digest and signature algorithms', () => {
  async function opensslSign(
    md: string,
    issued: Issued = rsa,
    extra: string[] = [],
  ): Promise<Buffer> {
    const input = join(tmp.path, `in-${md}.txt`);
    const out = join(tmp.path, `sig-${md}-${issued.name}.der`);
    await writeFile(input, CONTENT);
    await run(openssl(), [
      'cms',
      '-sign',
      '-binary',
      '-md',
      md,
      '-outform',
      'DER',
      '-signer',
      issued.certPath,
      '-inkey',
      issued.keyPath,
      '-in',
      input,
      '-out',
      out,
      ...extra,
    ]);
    return readFile(out);
  }

  // OpenSSL 3.0 still signs with MD5 and SHA-1 in CMS, so both inputs are real OpenSSL output.
  for (const md of ['sha1', 'md5'] as const) {
    it(`${md.toUpperCase()} (made by openssl -md ${md}) → verifies but WEAK_DIGEST, never acceptable`, async () => {
      const check = verifySignedData(await opensslSign(md), CONTENT);
      expect(check.digest).toBe(md);
      expect(check.signatureValid).toBe(true);
      expect(check.reasons.map((r) => r.code)).toEqual(['WEAK_DIGEST']);
      expect(check.signatureAlgorithm).toBe(`rsa-pkcs1-${md}`);
    });
  }

  it('SHA-1 with ECDSA (openssl) → WEAK_DIGEST; tampered → also SIGNATURE_INVALID', async () => {
    const sig = await opensslSign('sha1', ec);
    expect(verifySignedData(sig, CONTENT).reasons.map((r) => r.code)).toEqual(['WEAK_DIGEST']);
    const check = verifySignedData(sig, Buffer.from('tampered'));
    expect(check.reasons.map((r) => r.code).sort()).toEqual(['SIGNATURE_INVALID', 'WEAK_DIGEST']);
  });

  it('SHA-224 (openssl) → UNSUPPORTED_ALGORITHM (Direct wants SHA-256 or stronger)', async () => {
    const check = verifySignedData(await opensslSign('sha224'), CONTENT);
    expect(check.digest).toBe('sha224');
    expect(check.reasons.map((r) => r.code)).toEqual(['UNSUPPORTED_ALGORITHM']);
  });

  it('an unknown digest or signature algorithm → UNSUPPORTED_ALGORITHM, not valid', () => {
    const unknownDigest = handSignerInfo(rsa, standardAttributes(CONTENT), {
      digestOid: '1.2.3.4.5',
    });
    const a = verifySignedData(withSignerInfos(sign(), [unknownDigest]), CONTENT);
    expect(a.digest).toBe('unknown');
    expect(a.signatureValid).toBe(false);
    expect(a.reasons.map((r) => r.code)).toEqual(['UNSUPPORTED_ALGORITHM']);

    const ed = handSignerInfo(rsa, standardAttributes(CONTENT), {
      signatureAlgorithm: algorithmIdentifier('1.3.101.112'),
    });
    const b = verifySignedData(withSignerInfos(sign(), [ed]), CONTENT);
    expect(b.signatureAlgorithm).toBe('ed25519');
    expect(b.signatureValid).toBe(false);
    expect(b.reasons.map((r) => r.code)).toEqual(['UNSUPPORTED_ALGORITHM']);
  });

  it('a forged MD5 digest OID in a structure built here → WEAK_DIGEST', () => {
    const si = handSignerInfo(rsa, standardAttributes(CONTENT, 'md5'), {
      digestOid: SIGNED_OID.md5,
      hash: 'md5',
    });
    const check = verifySignedData(withSignerInfos(sign(), [si]), CONTENT);
    expect(check.signatureValid).toBe(true);
    expect(check.reasons.map((r) => r.code)).toEqual(['WEAK_DIGEST']);
  });

  it('sha256WithRSAEncryption as signatureAlgorithm is accepted too; a hash mismatch is not', () => {
    const named = handSignerInfo(rsa, standardAttributes(CONTENT), {
      signatureAlgorithm: algorithmIdentifier(SIGNED_OID.sha256WithRSAEncryption, derNull()),
    });
    const ok = verifySignedData(withSignerInfos(sign(), [named]), CONTENT);
    expect(ok.reasons).toEqual([]);
    expect(ok.signatureAlgorithm).toBe('rsa-pkcs1-sha256');
    const mismatch = handSignerInfo(rsa, standardAttributes(CONTENT), {
      signatureAlgorithm: algorithmIdentifier(SIGNED_OID.sha512WithRSAEncryption, derNull()),
    });
    const bad = verifySignedData(withSignerInfos(sign(), [mismatch]), CONTENT);
    expect(bad.signatureValid).toBe(false);
    expect(bad.reasons.map((r) => r.code)).toContain('UNSUPPORTED_ALGORITHM');
  });

  it('ECDSA on P-521 (openssl) → verifies but UNSUPPORTED_ALGORITHM (Direct: P-256/P-384)', async () => {
    const p521 = await issue(ca, tmp.path, 'ecdsa-p521', [
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-521',
    ]);
    const check = verifySignedData(await opensslSign('sha512', p521), CONTENT);
    expect(check.signatureValid).toBe(true);
    expect(check.signatureAlgorithm).toBe('ecdsa-sha512');
    expect(check.reasons.map((r) => r.code)).toEqual(['UNSUPPORTED_ALGORITHM']);
  });

  it('RSASSA-PSS from openssl (-keyopt rsa_padding_mode:pss) → rsa-pss-sha384', async () => {
    const sig = await opensslSign('sha384', rsa, ['-keyopt', 'rsa_padding_mode:pss']);
    const check = verifySignedData(sig, CONTENT);
    expect(check.reasons).toEqual([]);
    expect(check.signatureAlgorithm).toBe('rsa-pss-sha384');
  });
});

// ── BER input ──────────────────────────────────────────────────────────────────────────────

/** An opaque SignedData made from a detached one: indefinite lengths, eContent in segments. */
function toOpaqueBer(sig: Uint8Array, content: Uint8Array, segment = 7): Buffer {
  const parts = splitSignedData(sig);
  const indefinite = (tag: number, ...inner: Uint8Array[]): Buffer =>
    Buffer.concat([Buffer.from([tag, 0x80]), ...inner, Buffer.from([0, 0])]);
  const segments: Buffer[] = [];
  for (let i = 0; i < content.length; i += segment) {
    segments.push(octetString(content.subarray(i, i + segment)));
  }
  const encap = indefinite(
    TAG.sequence,
    encodeOid(SIGNED_OID.data),
    indefinite(TAG.context0, indefinite(TAG.octetStringConstructed, ...segments)),
  );
  const signedData = indefinite(
    TAG.sequence,
    parts.version,
    parts.digestAlgorithms,
    encap,
    indefinite(TAG.context0, ...(parts.certificates ?? [])),
    indefinite(TAG.set, ...parts.signerInfos),
  );
  return indefinite(
    TAG.sequence,
    encodeOid(SIGNED_OID.signedData),
    indefinite(TAG.context0, signedData),
  );
}

describe('BER input', () => {
  it('indefinite lengths and a segmented eContent verify, and the content is returned', () => {
    const ber = toOpaqueBer(sign(ec), CONTENT);
    const check = verifySignedData(ber);
    expect(check.reasons).toEqual([]);
    expect(check.encapsulatedContent?.equals(CONTENT)).toBe(true);
    // The same content given alongside is fine; different content is not.
    expect(verifySignedData(ber, CONTENT).signatureValid).toBe(true);
    const other = verifySignedData(ber, Buffer.from('other'));
    expect(other.signatureValid).toBe(false);
    expect(other.reasons.map((r) => r.code)).toContain('SIGNATURE_INVALID');
  });
});

// ── Hostile input (risk-16) ────────────────────────────────────────────────────────────────

function expectTyped(input: Uint8Array, content?: Uint8Array): string {
  try {
    verifySignedData(input, content);
    return 'returned';
  } catch (error) {
    if (!(error instanceof HispError)) throw error;
    expect(['CMS_MALFORMED', 'LIMIT_EXCEEDED']).toContain(error.code);
    return error.code;
  }
}

describe('risk-16: hostile SignedData input is a typed error, never a crash or a hang', () => {
  it('risk-16: truncated at every offset (DER and BER) → CMS_MALFORMED', () => {
    for (const whole of [sign(ec), toOpaqueBer(sign(rsa), CONTENT, 5)]) {
      for (let cut = 0; cut < whole.length; cut++) {
        expect(expectTyped(whole.subarray(0, cut), CONTENT)).toBe('CMS_MALFORMED');
      }
    }
  });

  it('risk-16: inner elements truncated with the outer lengths fixed up → typed errors', () => {
    const parts = splitSignedData(sign(rsa));
    const si = parts.signerInfos[0]!;
    for (let cut = 1; cut < si.length; cut += 3) {
      const code = expectTyped(
        joinSignedData({ ...parts, signerInfos: [si.subarray(0, cut)] }),
        CONTENT,
      );
      expect(code).not.toBe('returned');
    }
  });

  it('risk-16: every byte flipped in turn → a result or a typed error, nothing else', () => {
    const whole = toOpaqueBer(sign(ec), CONTENT, 16);
    for (let at = 0; at < whole.length; at++) {
      const mutated = Buffer.from(whole);
      mutated[at]! ^= 0xff;
      expectTyped(mutated);
      mutated[at] = 0x80;
      expectTyped(mutated);
    }
  });

  it('risk-16: garbage and empty input → CMS_MALFORMED', () => {
    expect(expectTyped(Buffer.alloc(0))).toBe('CMS_MALFORMED');
    expect(expectTyped(Buffer.from('-----BEGIN PKCS7-----'))).toBe('CMS_MALFORMED');
    for (let i = 0; i < 200; i++) {
      expect(expectTyped(randomBytes(1 + (i % 50) * 37), CONTENT)).not.toBe('returned');
    }
    // A well-formed ContentInfo of another type.
    const enveloped = sequence(encodeOid('1.2.840.113549.1.7.3'), der(TAG.context0, sequence()));
    expect(expectTyped(enveloped)).toBe('CMS_MALFORMED');
    // Trailing bytes after the structure.
    expect(expectTyped(Buffer.concat([sign(), Buffer.from([0])]), CONTENT)).toBe('CMS_MALFORMED');
  });

  it('risk-16: absurd lengths → LIMIT_EXCEEDED or CMS_MALFORMED, without allocating them', () => {
    const cases: Array<[number[], string]> = [
      [[0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x06], 'LIMIT_EXCEEDED'],
      [[0x30, 0x88, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 'LIMIT_EXCEEDED'],
      [[0x30, 0x89, 1, 0, 0, 0, 0, 0, 0, 0, 0], 'LIMIT_EXCEEDED'],
      [[0x30, 0x83, 0x00, 0x10, 0x00, 0x06], 'CMS_MALFORMED'],
      [[0x30, 0xff], 'CMS_MALFORMED'],
      [[0x30, 0x80, 0x06, 0x01, 0x2a], 'CMS_MALFORMED'], // indefinite, no end-of-contents
      [[0x04, 0x80, 0x00, 0x00], 'CMS_MALFORMED'], // indefinite primitive
      [[0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00], 'CMS_MALFORMED'], // endless tag number
    ];
    for (const [bytes, code] of cases) expect(expectTyped(Buffer.from(bytes))).toBe(code);
    // An inner element claiming more than its container, with the outer lengths honest.
    const parts = splitSignedData(sign());
    const lie = Buffer.concat([Buffer.from([0x30]), encodeLength(50_000), Buffer.alloc(10)]);
    expect(expectTyped(joinSignedData({ ...parts, signerInfos: [lie] }), CONTENT)).toBe(
      'CMS_MALFORMED',
    );
    // Input larger than AGENT_LIMITS.cmsBytes.
    expect(expectTyped(new Uint8Array(AGENT_LIMITS.cmsBytes + 1))).toBe('LIMIT_EXCEEDED');
  });

  it('risk-16: more certificates, SignerInfos or signed attributes than AGENT_LIMITS → LIMIT_EXCEEDED', () => {
    const base = sign();
    const parts = splitSignedData(base);
    const certs = Array.from({ length: AGENT_LIMITS.certificatesInMessage + 1 }, () => ca.certDer);
    expect(expectTyped(joinSignedData({ ...parts, certificates: certs }), CONTENT)).toBe(
      'LIMIT_EXCEEDED',
    );
    const atLimit = [...certs.slice(2), rsa.certDer];
    expect(atLimit).toHaveLength(AGENT_LIMITS.certificatesInMessage);
    const fits = verifySignedData(joinSignedData({ ...parts, certificates: atLimit }), CONTENT);
    expect(fits.signatureValid).toBe(true);

    const signerInfos = Array.from(
      { length: AGENT_LIMITS.signerInfos + 1 },
      () => parts.signerInfos[0]!,
    );
    expect(expectTyped(joinSignedData({ ...parts, signerInfos }), CONTENT)).toBe('LIMIT_EXCEEDED');

    const filler = Array.from({ length: AGENT_LIMITS.signedAttributes - 1 }, (_, i) =>
      attribute(`1.3.6.1.4.1.99999.${i}`, derNull()),
    );
    const fullSet = handSignerInfo(rsa, [...standardAttributes(CONTENT), ...filler.slice(1)]);
    expect(verifySignedData(withSignerInfos(base, [fullSet]), CONTENT).signatureValid).toBe(true);
    const tooMany = handSignerInfo(rsa, [...standardAttributes(CONTENT), ...filler]);
    expect(expectTyped(withSignerInfos(base, [tooMany]), CONTENT)).toBe('LIMIT_EXCEEDED');
  });

  it('risk-16: deeply nested input → LIMIT_EXCEEDED (indefinite) or CMS_MALFORMED (definite)', () => {
    const depth = 100_000;
    const open = Buffer.alloc(depth * 2);
    for (let i = 0; i < depth; i++) open.set([0x30, 0x80], i * 2);
    const nested = Buffer.concat([
      Buffer.from([0x30, 0x80]),
      encodeOid(SIGNED_OID.signedData),
      Buffer.from([0xa0, 0x80]),
      open,
      Buffer.alloc(depth * 2 + 4),
    ]);
    expect(expectTyped(nested)).toBe('LIMIT_EXCEEDED');

    let definite: Buffer = Buffer.from([0x05, 0x00]);
    for (let i = 0; i < 2000; i++) definite = sequence(definite);
    const wrapped = sequence(encodeOid(SIGNED_OID.signedData), der(TAG.context0, definite));
    expect(expectTyped(wrapped)).toBe('CMS_MALFORMED');
  });

  it('risk-16: an eContent in more segments than AGENT_LIMITS.asn1Segments → LIMIT_EXCEEDED', () => {
    const segments = Buffer.alloc((AGENT_LIMITS.asn1Segments + 1) * 2);
    for (let i = 0; i < AGENT_LIMITS.asn1Segments + 1; i++) segments.set([0x04, 0x00], i * 2);
    const parts = splitSignedData(sign());
    const encap = sequence(
      encodeOid(SIGNED_OID.data),
      der(TAG.context0, der(TAG.octetStringConstructed, segments)),
    );
    const started = Date.now();
    expect(expectTyped(joinSignedData({ ...parts, encap }))).toBe('LIMIT_EXCEEDED');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('risk-16: a flood of elements where no other bound applies (unsignedAttrs) → LIMIT_EXCEEDED', () => {
    const count = AGENT_LIMITS.asn1Elements + 1;
    const nulls = Buffer.alloc(count * 2);
    for (let i = 0; i < count; i++) nulls.set([0x05, 0x00], i * 2);
    const unsigned = Buffer.concat([Buffer.from([TAG.context1, 0x80]), nulls, Buffer.from([0, 0])]);
    const parts = splitSignerInfo(splitSignedData(sign()).signerInfos[0]!);
    const flooded = der(TAG.sequence, ...signerInfoFields(parts), unsigned);
    const started = Date.now();
    expect(expectTyped(withSignerInfos(sign(), [flooded]), CONTENT)).toBe('LIMIT_EXCEEDED');
    expect(Date.now() - started).toBeLessThan(5_000);
    // A handful of unsigned attributes is fine.
    const few = der(
      TAG.sequence,
      ...signerInfoFields(parts),
      der(TAG.context1, nulls.subarray(0, 20)),
    );
    expect(verifySignedData(withSignerInfos(sign(), [few]), CONTENT).signatureValid).toBe(true);
  });

  it('risk-16: a malformed signingTime or sid → CMS_MALFORMED', () => {
    const bad = attribute(SIGNED_OID.signingTime, der(TAG.utcTime, Buffer.from('99999999999Z')));
    const si = handSignerInfo(rsa, [...standardAttributes(CONTENT), bad]);
    expect(expectTyped(withSignerInfos(sign(), [si]), CONTENT)).toBe('CMS_MALFORMED');
    const parts = splitSignerInfo(splitSignedData(sign()).signerInfos[0]!);
    const weirdSid = joinSignerInfo({ ...parts, sid: der(0x02, Buffer.from([1])) });
    expect(expectTyped(withSignerInfos(sign(), [weirdSid]), CONTENT)).toBe('CMS_MALFORMED');
  });
});
