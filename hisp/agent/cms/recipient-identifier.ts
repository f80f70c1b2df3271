/**
 * How CMS names a recipient's certificate (RFC 5652 §6.2.1), read from a certificate's own
 * DER and matched against what a message carries.
 *
 * ```asn1
 * RecipientIdentifier ::= CHOICE {
 *   issuerAndSerialNumber IssuerAndSerialNumber,
 *   subjectKeyIdentifier [0] SubjectKeyIdentifier }
 *
 * IssuerAndSerialNumber ::= SEQUENCE {
 *   issuer Name,
 *   serialNumber CertificateSerialNumber }
 *
 * SubjectKeyIdentifier ::= OCTET STRING
 * ```
 *
 * The issuer Name and the serial are taken from the certificate's tbsCertificate as the
 * original octets (never re-encoded), so what we write names the certificate exactly as the
 * issuer signed it, and matching compares octets (a rid that a BER encoder wrote with
 * indefinite lengths is first brought to its definite-length form).
 */
import { createHash, X509Certificate } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

import { HispError } from '../../api/errors.js';
import {
  BerReader,
  contextTag,
  minimalIntegerOctets,
  UNIVERSAL,
  UniversalTag,
} from '../asn1/ber.js';
import type { Tlv } from '../asn1/ber.js';
import { AGENT_LIMITS } from '../limits.js';
import { ID_CE_SUBJECT_KEY_IDENTIFIER } from './oids.js';

/** A parsed view of one X.509 certificate, with the octets CMS needs to name it. */
export interface CertificateIdentifiers {
  /** The certificate's DER, as given. */
  readonly der: Uint8Array;
  /** tbsCertificate.issuer: the Name's complete original encoding (tag, length, content). */
  readonly issuerDer: Uint8Array;
  /** tbsCertificate.serialNumber: the INTEGER's complete original encoding. */
  readonly serialNumberDer: Uint8Array;
  /** The serial's content octets without redundant leading octets (for comparison). */
  readonly serialOctets: Uint8Array;
  /** The subjectKeyIdentifier extension's keyIdentifier, if the certificate has one. */
  readonly subjectKeyIdentifier: Uint8Array | undefined;
  /** SHA-1 of subjectPublicKey (RFC 5280 §4.2.1.2 method 1): matched when there is no extension. */
  readonly computedKeyIdentifier: Uint8Array;
  readonly publicKey: KeyObject;
}

/** RecipientIdentifier as read from a message (subarrays of the message bytes). */
export type RecipientIdentifier =
  | {
      readonly kind: 'issuerAndSerialNumber';
      /** The issuer Name's complete encoding, in definite-length (DER) form. */
      readonly issuer: Uint8Array;
      /** The serial's content octets, minimal. */
      readonly serialOctets: Uint8Array;
    }
  | { readonly kind: 'subjectKeyIdentifier'; readonly keyIdentifier: Uint8Array };

/** Largest SubjectKeyIdentifier accepted (usually 20 octets). */
const MAX_KEY_IDENTIFIER_BYTES = 1024;

/**
 * Reads the identifiers of a DER certificate. X509Certificate validates the structure and
 * yields the public key; the BER reader finds the original octets of issuer and serial.
 *
 * ```asn1
 * Certificate ::= SEQUENCE { tbsCertificate TBSCertificate, signatureAlgorithm
 *   AlgorithmIdentifier, signatureValue BIT STRING }
 * TBSCertificate ::= SEQUENCE {
 *   version [0] EXPLICIT Version DEFAULT v1, serialNumber CertificateSerialNumber,
 *   signature AlgorithmIdentifier, issuer Name, validity Validity, subject Name,
 *   subjectPublicKeyInfo SubjectPublicKeyInfo,
 *   issuerUniqueID [1] IMPLICIT UniqueIdentifier OPTIONAL,
 *   subjectUniqueID [2] IMPLICIT UniqueIdentifier OPTIONAL,
 *   extensions [3] EXPLICIT Extensions OPTIONAL }
 * Extension ::= SEQUENCE { extnID OBJECT IDENTIFIER, critical BOOLEAN DEFAULT FALSE,
 *   extnValue OCTET STRING }
 * ```
 * @throws HispError CERT_MALFORMED
 */
export function readCertificateIdentifiers(der: Uint8Array): CertificateIdentifiers {
  let publicKey: KeyObject;
  try {
    publicKey = new X509Certificate(der).publicKey;
  } catch (error) {
    throw new HispError('CERT_MALFORMED', 'certificate is not valid DER X.509', { cause: error });
  }
  const reader = new BerReader(der, {
    malformedCode: 'CERT_MALFORMED',
    what: 'certificate',
    maxBytes: AGENT_LIMITS.fetchedCertificateBytes,
  });
  const certificate = reader.expect(reader.root(), UNIVERSAL.SEQUENCE, 'Certificate');
  const certFields = reader.fields(certificate, 'Certificate');
  const tbs = certFields.next(UNIVERSAL.SEQUENCE, 'tbsCertificate');
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
    for (const extension of reader.children(list)) {
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

  return {
    der,
    issuerDer: reader.raw(issuer),
    serialNumberDer: reader.raw(serial),
    serialOctets: minimalIntegerOctets(reader.content(serial)),
    subjectKeyIdentifier,
    computedKeyIdentifier,
    publicKey,
  };
}

/**
 * Reads a RecipientIdentifier element (either CHOICE) from a message.
 * @throws HispError (the reader's malformed code)
 */
export function readRecipientIdentifier(reader: BerReader, tlv: Tlv): RecipientIdentifier {
  if (tlv.tagClass === UNIVERSAL.SEQUENCE.tagClass && tlv.tagNumber === UniversalTag.SEQUENCE) {
    const fields = reader.fields(
      reader.expect(tlv, UNIVERSAL.SEQUENCE, 'rid'),
      'IssuerAndSerialNumber',
    );
    const issuer = fields.next(UNIVERSAL.SEQUENCE, 'issuer');
    const serial = fields.next(UNIVERSAL.INTEGER, 'serialNumber');
    fields.end();
    return {
      kind: 'issuerAndSerialNumber',
      // A BER encoder may have written the Name with indefinite lengths: compare its DER form.
      issuer: reader.toDefinite(issuer),
      serialOctets: minimalIntegerOctets(reader.content(serial)),
    };
  }
  reader.expect(tlv, contextTag(0), 'rid');
  return {
    kind: 'subjectKeyIdentifier',
    keyIdentifier: reader.stringBytes(tlv, MAX_KEY_IDENTIFIER_BYTES),
  };
}

/** Whether a message's RecipientIdentifier names this certificate (octet comparison). */
export function identifiesCertificate(
  rid: RecipientIdentifier,
  certificate: CertificateIdentifiers,
): boolean {
  switch (rid.kind) {
    case 'issuerAndSerialNumber':
      return (
        bytesEqual(rid.serialOctets, certificate.serialOctets) &&
        bytesEqual(rid.issuer, certificate.issuerDer)
      );
    case 'subjectKeyIdentifier':
      return bytesEqual(
        rid.keyIdentifier,
        certificate.subjectKeyIdentifier ?? certificate.computedKeyIdentifier,
      );
  }
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
