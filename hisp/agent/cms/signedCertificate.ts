/**
 * The few parts of an X.509 certificate that SignedData needs to name and find a signer:
 * issuer Name and serialNumber (IssuerAndSerialNumber), the subjectKeyIdentifier extension
 * and the SubjectPublicKeyInfo. Read with the bounded BER reader; every part is the
 * certificate's own bytes, so the issuer Name is compared by its DER as carried.
 *
 * ```asn1
 * Certificate ::= SEQUENCE {
 *   tbsCertificate       TBSCertificate,
 *   signatureAlgorithm   AlgorithmIdentifier,
 *   signatureValue       BIT STRING }
 *
 * TBSCertificate ::= SEQUENCE {
 *   version         [0]  EXPLICIT Version DEFAULT v1,
 *   serialNumber         CertificateSerialNumber,
 *   signature            AlgorithmIdentifier,
 *   issuer               Name,
 *   validity             Validity,
 *   subject              Name,
 *   subjectPublicKeyInfo SubjectPublicKeyInfo,
 *   issuerUniqueID  [1]  IMPLICIT UniqueIdentifier OPTIONAL,
 *   subjectUniqueID [2]  IMPLICIT UniqueIdentifier OPTIONAL,
 *   extensions      [3]  EXPLICIT Extensions OPTIONAL }
 *
 * Extension ::= SEQUENCE {
 *   extnID      OBJECT IDENTIFIER,
 *   critical    BOOLEAN DEFAULT FALSE,
 *   extnValue   OCTET STRING }
 *
 * SubjectKeyIdentifier ::= KeyIdentifier ::= OCTET STRING
 * ```
 * (RFC 5280 §4.1, §4.2.1.2)
 */
import { BerReader, TAG, expectTag, malformed } from './signedDer.js';
import { SIGNED_OID } from './signedOids.js';

/** Extensions read from one certificate; a real certificate has a dozen or so. */
const MAX_EXTENSIONS = 100;

export interface CertificateIds {
  /** The certificate as carried. */
  readonly der: Uint8Array;
  /** The issuer Name, as encoded in the certificate. */
  readonly issuerDer: Uint8Array;
  /** The serialNumber INTEGER's content octets (two's complement, as encoded). */
  readonly serial: Uint8Array;
  readonly subjectKeyIdentifier: Uint8Array | undefined;
  /** SubjectPublicKeyInfo, as encoded. */
  readonly spkiDer: Uint8Array;
}

/** @throws HispError CMS_MALFORMED / LIMIT_EXCEEDED when the bytes are not a certificate. */
export function readCertificateIds(der: Uint8Array): CertificateIds {
  const reader = new BerReader(der);
  const certificate = expectTag(reader.readWhole(), TAG.sequence, 'Certificate');
  const [tbs] = reader.fields(certificate, 0, 3, 'Certificate');
  expectTag(tbs, TAG.sequence, 'TBSCertificate');
  if (tbs === undefined) throw malformed('TBSCertificate is missing');
  const fields = reader.fields(tbs, 1, 10, 'TBSCertificate');
  let i = fields[0]?.tag === TAG.context0 ? 1 : 0;
  const serial = expectTag(fields[i++], TAG.integer, 'serialNumber');
  expectTag(fields[i++], TAG.sequence, 'signature');
  const issuer = expectTag(fields[i++], TAG.sequence, 'issuer');
  expectTag(fields[i++], TAG.sequence, 'validity');
  expectTag(fields[i++], TAG.sequence, 'subject');
  const spki = expectTag(fields[i++], TAG.sequence, 'subjectPublicKeyInfo');
  let subjectKeyIdentifier: Uint8Array | undefined;
  for (const field of fields.slice(i)) {
    if (field.tag !== TAG.context3) continue;
    const [extensions] = reader.fields(field, 2, 1, 'extensions');
    expectTag(extensions, TAG.sequence, 'Extensions');
    if (extensions === undefined) break;
    for (const extension of reader.children(extensions, 3, MAX_EXTENSIONS, 'extensions')) {
      const parts = reader.fields(extension, 4, 3, 'Extension');
      const id = reader.oid(expectTag(parts[0], TAG.oid, 'extnID'));
      if (id !== SIGNED_OID.subjectKeyIdentifier) continue;
      const value = expectTag(parts[parts.length - 1], TAG.octetString, 'extnValue');
      const inner = new BerReader(reader.content(value));
      const keyId = expectTag(inner.readWhole(5), TAG.octetString, 'SubjectKeyIdentifier');
      subjectKeyIdentifier = inner.content(keyId);
    }
  }
  return {
    der,
    issuerDer: reader.raw(issuer),
    serial: reader.content(serial),
    subjectKeyIdentifier,
    spkiDer: reader.raw(spki),
  };
}
