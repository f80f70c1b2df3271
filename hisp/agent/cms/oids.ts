/**
 * Object identifiers used by the CMS enveloping code, as dotted text, named as in the RFC
 * that defines them. Other CMS modules may add theirs here.
 */

// ── Content types (RFC 5652 §4–6, RFC 5083 §1) ──────────────────────────────────────────────
/** id-data ::= { iso(1) member-body(2) us(840) rsadsi(113549) pkcs(1) pkcs7(7) 1 } */
export const ID_DATA = '1.2.840.113549.1.7.1';
/** id-signedData ::= { ... pkcs7(7) 2 } */
export const ID_SIGNED_DATA = '1.2.840.113549.1.7.2';
/** id-envelopedData ::= { ... pkcs7(7) 3 } */
export const ID_ENVELOPED_DATA = '1.2.840.113549.1.7.3';
/** id-ct-authEnvelopedData ::= { ... pkcs-9(9) smime(16) ct(1) 23 } */
export const ID_CT_AUTH_ENVELOPED_DATA = '1.2.840.113549.1.9.16.1.23';

// ── Key transport (RFC 3370 §4.2, RFC 4055 §4) ──────────────────────────────────────────────
/** rsaEncryption ::= { pkcs-1 1 } — RSAES-PKCS1-v1_5; parameters NULL. */
export const RSA_ENCRYPTION = '1.2.840.113549.1.1.1';
/** id-RSAES-OAEP ::= { pkcs-1 7 } */
export const ID_RSAES_OAEP = '1.2.840.113549.1.1.7';
/** id-mgf1 ::= { pkcs-1 8 } */
export const ID_MGF1 = '1.2.840.113549.1.1.8';
/** id-pSpecified ::= { pkcs-1 9 } */
export const ID_P_SPECIFIED = '1.2.840.113549.1.1.9';
/** id-RSASSA-PSS ::= { pkcs-1 10 } — a signature-only key; never usable for key transport. */
export const ID_RSASSA_PSS = '1.2.840.113549.1.1.10';

// ── Hash functions (RFC 3370, RFC 5754) ─────────────────────────────────────────────────────
/** id-sha1 ::= { iso(1) identified-organization(3) oiw(14) secsig(3) algorithms(2) 26 } */
export const ID_SHA1 = '1.3.14.3.2.26';
/** id-sha256 ::= { joint-iso-itu-t(2) country(16) us(840) organization(1) gov(101) csor(3) nistAlgorithm(4) hashAlgs(2) 1 } */
export const ID_SHA256 = '2.16.840.1.101.3.4.2.1';
/** id-sha384 ::= { ... hashAlgs(2) 2 } */
export const ID_SHA384 = '2.16.840.1.101.3.4.2.2';
/** id-sha512 ::= { ... hashAlgs(2) 3 } */
export const ID_SHA512 = '2.16.840.1.101.3.4.2.3';
/** id-sha224 ::= { ... hashAlgs(2) 4 } — recognised only to be refused for OAEP. */
export const ID_SHA224 = '2.16.840.1.101.3.4.2.4';

// ── Content encryption (RFC 3565, RFC 5084) ─────────────────────────────────────────────────
/** aes ::= { joint-iso-itu-t(2) country(16) us(840) organization(1) gov(101) csor(3) nistAlgorithms(4) 1 } */
const AES = '2.16.840.1.101.3.4.1';
/** id-aes128-CBC ::= { aes 2 } — parameters AES-IV ::= OCTET STRING (SIZE(16)) */
export const ID_AES128_CBC = `${AES}.2`;
/** id-aes192-CBC ::= { aes 22 } */
export const ID_AES192_CBC = `${AES}.22`;
/** id-aes256-CBC ::= { aes 42 } */
export const ID_AES256_CBC = `${AES}.42`;
/** id-aes128-GCM ::= { aes 6 } — parameters GCMParameters */
export const ID_AES128_GCM = `${AES}.6`;
/** id-aes192-GCM ::= { aes 26 } */
export const ID_AES192_GCM = `${AES}.26`;
/** id-aes256-GCM ::= { aes 46 } */
export const ID_AES256_GCM = `${AES}.46`;
/** id-aes128-CCM ::= { aes 7 } — not supported (named in errors) */
export const ID_AES128_CCM = `${AES}.7`;
/** id-aes192-CCM ::= { aes 27 } */
export const ID_AES192_CCM = `${AES}.27`;
/** id-aes256-CCM ::= { aes 47 } */
export const ID_AES256_CCM = `${AES}.47`;
/** id-aes128-wrap ::= { aes 5 } — a key-wrap algorithm, not a content cipher */
export const ID_AES128_WRAP = `${AES}.5`;

// Legacy content ciphers Direct does not allow: recognised only to name them in the error.
/** des-ede3-cbc ::= { rsadsi(113549) encryptionAlgorithm(3) 7 } */
export const DES_EDE3_CBC = '1.2.840.113549.3.7';
/** rc2-cbc ::= { rsadsi(113549) encryptionAlgorithm(3) 2 } */
export const RC2_CBC = '1.2.840.113549.3.2';
/** desCBC ::= { oiw(14) secsig(3) algorithms(2) 7 } */
export const DES_CBC = '1.3.14.3.2.7';

// ── Certificates (RFC 5280) ──────────────────────────────────────────────────────────────────
/** id-ce-subjectKeyIdentifier ::= { id-ce 14 } */
export const ID_CE_SUBJECT_KEY_IDENTIFIER = '2.5.29.14';

/** Human names for OIDs that may appear in an error message. */
export const OID_NAMES: Readonly<Record<string, string>> = {
  [DES_EDE3_CBC]: 'des-ede3-cbc (3DES)',
  [RC2_CBC]: 'rc2-cbc',
  [DES_CBC]: 'des-cbc',
  [ID_AES128_CCM]: 'aes128-ccm',
  [ID_AES192_CCM]: 'aes192-ccm',
  [ID_AES256_CCM]: 'aes256-ccm',
  [ID_AES128_WRAP]: 'aes128-wrap',
  [ID_SHA224]: 'sha224',
  [ID_RSASSA_PSS]: 'RSASSA-PSS',
  [ID_SIGNED_DATA]: 'signedData',
  [ID_DATA]: 'data',
};

/** "name (oid)" when the OID is known, else the dotted OID. */
export function describeOid(oid: string): string {
  const name = OID_NAMES[oid];
  return name ? `${name} (${oid})` : oid;
}
