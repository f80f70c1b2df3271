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
 * The certificate's side (issuer Name and serial as its original octets, its key identifier)
 * is read by certificateFields.ts; matching compares octets (a rid that a BER encoder wrote
 * with indefinite lengths is first brought to its definite-length form).
 */
import { contextTag, minimalIntegerOctets, UNIVERSAL, UniversalTag } from '../../asn1/ber.js';
import type { BerReader, Tlv } from '../../asn1/ber.js';
import { MAX_KEY_IDENTIFIER_BYTES } from './certificateFields.js';
import type { CertificateFields } from './certificateFields.js';

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
  certificate: CertificateFields,
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
