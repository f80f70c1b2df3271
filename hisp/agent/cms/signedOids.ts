/**
 * Object identifiers used by CMS SignedData (RFC 5652, RFC 8551) and the maps between them
 * and Sealpost's algorithm names. Kept apart from the EnvelopedData OIDs, which live with
 * their own module.
 */
import type { ContentCipher, DigestName } from '../types.js';

export const SIGNED_OID = {
  // ── Content types (RFC 5652 §4, §5) ────────────────────────────────────────────────────
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',

  // ── Attributes (RFC 5652 §11, RFC 8551 §2.5.2) ─────────────────────────────────────────
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  smimeCapabilities: '1.2.840.113549.1.9.15',

  // ── Digests (RFC 5754, RFC 3370) ───────────────────────────────────────────────────────
  md5: '1.2.840.113549.2.5',
  sha1: '1.3.14.3.2.26',
  sha224: '2.16.840.1.101.3.4.2.4',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',

  // ── RSA (RFC 8017, RFC 4055, RFC 3370) ─────────────────────────────────────────────────
  rsaEncryption: '1.2.840.113549.1.1.1',
  md5WithRSAEncryption: '1.2.840.113549.1.1.4',
  sha1WithRSAEncryption: '1.2.840.113549.1.1.5',
  mgf1: '1.2.840.113549.1.1.8',
  rsassaPss: '1.2.840.113549.1.1.10',
  sha256WithRSAEncryption: '1.2.840.113549.1.1.11',
  sha384WithRSAEncryption: '1.2.840.113549.1.1.12',
  sha512WithRSAEncryption: '1.2.840.113549.1.1.13',
  sha224WithRSAEncryption: '1.2.840.113549.1.1.14',

  // ── ECDSA (RFC 5758, RFC 5753) ──────────────────────────────────────────────────────────
  ecPublicKey: '1.2.840.10045.2.1',
  ecdsaWithSha1: '1.2.840.10045.4.1',
  ecdsaWithSha224: '1.2.840.10045.4.3.1',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ecdsaWithSha384: '1.2.840.10045.4.3.3',
  ecdsaWithSha512: '1.2.840.10045.4.3.4',

  // ── Content ciphers, for smimeCapabilities (RFC 3565, RFC 5084) ────────────────────────
  aes128Cbc: '2.16.840.1.101.3.4.1.2',
  aes192Cbc: '2.16.840.1.101.3.4.1.22',
  aes256Cbc: '2.16.840.1.101.3.4.1.42',
  aes128Gcm: '2.16.840.1.101.3.4.1.6',
  aes192Gcm: '2.16.840.1.101.3.4.1.26',
  aes256Gcm: '2.16.840.1.101.3.4.1.46',

  // ── Certificate extensions (RFC 5280) ──────────────────────────────────────────────────
  subjectKeyIdentifier: '2.5.29.14',
} as const;

export const DIGEST_OID: Readonly<Record<DigestName, string>> = {
  md5: SIGNED_OID.md5,
  sha1: SIGNED_OID.sha1,
  sha224: SIGNED_OID.sha224,
  sha256: SIGNED_OID.sha256,
  sha384: SIGNED_OID.sha384,
  sha512: SIGNED_OID.sha512,
};

const DIGEST_BY_OID = new Map<string, DigestName>(
  Object.entries(DIGEST_OID).map(([name, oid]) => [oid, name as DigestName]),
);

/** The digest an OID names, or undefined when Sealpost does not know it. */
export function digestByOid(oid: string): DigestName | undefined {
  return DIGEST_BY_OID.get(oid);
}

/** Byte length of each digest's output (RSASSA-PSS salt length defaults to it). */
export const DIGEST_LENGTH: Readonly<Record<DigestName, number>> = {
  md5: 16,
  sha1: 20,
  sha224: 28,
  sha256: 32,
  sha384: 48,
  sha512: 64,
};

/** sha*WithRSAEncryption: PKCS#1 v1.5 signature OIDs that name their digest. */
const RSA_PKCS1_WITH_DIGEST = new Map<string, DigestName>([
  [SIGNED_OID.md5WithRSAEncryption, 'md5'],
  [SIGNED_OID.sha1WithRSAEncryption, 'sha1'],
  [SIGNED_OID.sha224WithRSAEncryption, 'sha224'],
  [SIGNED_OID.sha256WithRSAEncryption, 'sha256'],
  [SIGNED_OID.sha384WithRSAEncryption, 'sha384'],
  [SIGNED_OID.sha512WithRSAEncryption, 'sha512'],
]);

const ECDSA_WITH_DIGEST = new Map<string, DigestName>([
  [SIGNED_OID.ecdsaWithSha1, 'sha1'],
  [SIGNED_OID.ecdsaWithSha224, 'sha224'],
  [SIGNED_OID.ecdsaWithSha256, 'sha256'],
  [SIGNED_OID.ecdsaWithSha384, 'sha384'],
  [SIGNED_OID.ecdsaWithSha512, 'sha512'],
]);

export function rsaPkcs1DigestByOid(oid: string): DigestName | undefined {
  return RSA_PKCS1_WITH_DIGEST.get(oid);
}

export function ecdsaDigestByOid(oid: string): DigestName | undefined {
  return ECDSA_WITH_DIGEST.get(oid);
}

export const ECDSA_OID_BY_DIGEST: Readonly<Record<DigestName, string | undefined>> = {
  md5: undefined,
  sha1: SIGNED_OID.ecdsaWithSha1,
  sha224: SIGNED_OID.ecdsaWithSha224,
  sha256: SIGNED_OID.ecdsaWithSha256,
  sha384: SIGNED_OID.ecdsaWithSha384,
  sha512: SIGNED_OID.ecdsaWithSha512,
};

export const CIPHER_OID: Readonly<Record<ContentCipher, string>> = {
  'aes128-cbc': SIGNED_OID.aes128Cbc,
  'aes192-cbc': SIGNED_OID.aes192Cbc,
  'aes256-cbc': SIGNED_OID.aes256Cbc,
  'aes128-gcm': SIGNED_OID.aes128Gcm,
  'aes192-gcm': SIGNED_OID.aes192Gcm,
  'aes256-gcm': SIGNED_OID.aes256Gcm,
};

/** Well-known signature OIDs we refuse, named so that a report says what was seen. */
export const OTHER_SIGNATURE_NAMES: ReadonlyMap<string, string> = new Map([
  ['1.3.101.112', 'ed25519'],
  ['1.3.101.113', 'ed448'],
  ['1.2.840.10040.4.1', 'dsa'],
  ['1.2.840.10040.4.3', 'dsa-sha1'],
  ['2.16.840.1.101.3.4.3.2', 'dsa-sha256'],
]);
