/**
 * The parts of an X.509 certificate that CMS needs to name and find one, for signing
 * (SignerIdentifier, the signer's public key) and enveloping (RecipientIdentifier): issuer
 * Name and serialNumber (IssuerAndSerialNumber), the subjectKeyIdentifier extension, and the
 * SubjectPublicKeyInfo. Read with the bounded BER reader; every part is the certificate's own
 * octets (never re-encoded), so what we write names the certificate exactly as its issuer
 * signed it, and matching compares octets. The full certificate model is hisp/certs.
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
 * SubjectPublicKeyInfo ::= SEQUENCE {
 *   algorithm            AlgorithmIdentifier,
 *   subjectPublicKey     BIT STRING }
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
import { createHash, X509Certificate } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

import { BerReader, contextTag, minimalIntegerOctets, UNIVERSAL } from '../../asn1/ber.js';
import { HispError } from '../../api/errors.js';
import { AGENT_LIMITS } from '../limits.js';
import { ID_CE_SUBJECT_KEY_IDENTIFIER } from './oids.js';

/** Extensions read from one certificate; a real certificate has a dozen or so. */
const MAX_EXTENSIONS = 100;

/** Largest SubjectKeyIdentifier accepted (usually 20 octets). */
export const MAX_KEY_IDENTIFIER_BYTES = 1024;

/** The octets CMS names a certificate by, read from the certificate's DER. */
export interface CertificateFields {
  /** The certificate's DER, as given. */
  readonly der: Uint8Array;
  /** tbsCertificate.issuer: the Name's complete original encoding (tag, length, content). */
  readonly issuerDer: Uint8Array;
  /** tbsCertificate.serialNumber: the INTEGER's complete original encoding. */
  readonly serialNumberDer: Uint8Array;
  /** The serial's content octets as encoded (two's complement). */
  readonly serialContent: Uint8Array;
  /** The serial's content octets without redundant leading octets (for comparison). */
  readonly serialOctets: Uint8Array;
  /** The subjectKeyIdentifier extension's keyIdentifier, if the certificate has one. */
  readonly subjectKeyIdentifier: Uint8Array | undefined;
  /** SHA-1 of subjectPublicKey (RFC 5280 §4.2.1.2 method 1): matched when there is no extension. */
  readonly computedKeyIdentifier: Uint8Array;
  /** SubjectPublicKeyInfo, as encoded. */
  readonly spkiDer: Uint8Array;
}

/** The fields plus the public key, from a certificate node:crypto can read. */
export interface CertificateIdentifiers extends CertificateFields {
  readonly publicKey: KeyObject;
}

/**
 * Reads the fields of a certificate's DER (at most AGENT_LIMITS.fetchedCertificateBytes, the
 * bound of one certificate), without judging the rest of it.
 * @throws HispError CERT_MALFORMED, LIMIT_EXCEEDED
 */
export function readCertificateFields(der: Uint8Array): CertificateFields {
  const reader = new BerReader(der, {
    malformedCode: 'CERT_MALFORMED',
    what: 'certificate',
    maxBytes: AGENT_LIMITS.fetchedCertificateBytes,
  });
  const certificate = reader.expect(reader.root(), UNIVERSAL.SEQUENCE, 'Certificate');
  const tbs = reader.fields(certificate, 'Certificate').next(UNIVERSAL.SEQUENCE, 'tbsCertificate');
  const fields = reader.fields(tbs, 'TBSCertificate');
  fields.optional(contextTag(0, true)); // version
  const serial = fields.next(UNIVERSAL.INTEGER, 'serialNumber');
  fields.next(UNIVERSAL.SEQUENCE, 'signature');
  const issuer = fields.next(UNIVERSAL.SEQUENCE, 'issuer');
  fields.next(UNIVERSAL.SEQUENCE, 'validity');
  fields.next(UNIVERSAL.SEQUENCE, 'subject');
  const spki = fields.next(UNIVERSAL.SEQUENCE, 'subjectPublicKeyInfo');
  fields.optional(contextTag(1, false));
  fields.optional(contextTag(2, false));
  const extensions = fields.optional(contextTag(3, true));

  const spkiFields = reader.fields(spki, 'SubjectPublicKeyInfo');
  spkiFields.next(UNIVERSAL.SEQUENCE, 'algorithm');
  const subjectPublicKey = reader.content(
    spkiFields.next({ ...UNIVERSAL.BIT_STRING, constructed: false }, 'subjectPublicKey'),
  );
  // Method 1 hashes the BIT STRING's value without the unused-bits octet.
  const computedKeyIdentifier = createHash('sha1').update(subjectPublicKey.subarray(1)).digest();

  let subjectKeyIdentifier: Uint8Array | undefined;
  if (extensions) {
    const list = reader.fields(extensions, 'extensions').next(UNIVERSAL.SEQUENCE, 'Extensions');
    for (const extension of reader.childList(list, 'extensions', MAX_EXTENSIONS)) {
      const ext = reader.fields(
        reader.expect(extension, UNIVERSAL.SEQUENCE, 'Extension'),
        'Extension',
      );
      const extnId = reader.oid(ext.next(UNIVERSAL.OBJECT_IDENTIFIER, 'extnID'));
      ext.optional(UNIVERSAL.BOOLEAN);
      const value = ext.next({ ...UNIVERSAL.OCTET_STRING, constructed: false }, 'extnValue');
      if (extnId !== ID_CE_SUBJECT_KEY_IDENTIFIER) continue;
      const inner = new BerReader(reader.content(value), {
        der: true,
        malformedCode: 'CERT_MALFORMED',
        what: 'subjectKeyIdentifier',
      });
      subjectKeyIdentifier = inner.stringBytes(
        inner.expect(inner.root(), UNIVERSAL.OCTET_STRING, 'SubjectKeyIdentifier'),
        MAX_KEY_IDENTIFIER_BYTES,
      );
    }
  }

  const serialContent = reader.content(serial);
  return {
    der,
    issuerDer: reader.raw(issuer),
    serialNumberDer: reader.raw(serial),
    serialContent,
    serialOctets: minimalIntegerOctets(serialContent),
    subjectKeyIdentifier,
    computedKeyIdentifier,
    spkiDer: reader.raw(spki),
  };
}

/**
 * The fields of a certificate that node:crypto's X509Certificate also reads, with its public
 * key (the recipients of an EnvelopedData).
 * @throws HispError CERT_MALFORMED, LIMIT_EXCEEDED
 */
export function readCertificateIdentifiers(der: Uint8Array): CertificateIdentifiers {
  let publicKey: KeyObject;
  try {
    publicKey = new X509Certificate(der).publicKey;
  } catch (error) {
    throw new HispError('CERT_MALFORMED', 'certificate is not valid DER X.509', { cause: error });
  }
  return { ...readCertificateFields(der), publicKey };
}
