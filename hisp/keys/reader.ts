/**
 * How hisp/keys reads its BER/DER (PKCS#8, PKCS#12, X.509 framing): the HISP's one bounded
 * reader (hisp/asn1/ber.ts) with KEY_LIMITS, its failures raised as `Asn1Error` so that
 * callers turn them into the HispError code of their domain (KEY_MALFORMED, PKCS12_MALFORMED,
 * CERT_MALFORMED) with the detail in the message. Every element is a view of the input, never
 * a copy; the BER that PKCS#12 writers produce (indefinite lengths, constructed OCTET
 * STRINGs) is read.
 */
import {
  BerReader,
  type BerReaderOptions,
  type Tlv,
  tagMatches,
  UNIVERSAL,
  universalTag,
} from '../asn1/ber.js';
import { KEY_LIMITS } from './limits.js';

/** A key-material structure is broken or beyond a KEY_LIMITS bound. */
export class Asn1Error extends Error {
  override readonly name = 'Asn1Error';
}

const KEY_READER: BerReaderOptions = {
  // The largest file read here; each caller checks its own file bound first.
  maxBytes: KEY_LIMITS.certFileBytes,
  maxDepth: KEY_LIMITS.asn1Depth,
  maxElements: KEY_LIMITS.asn1Nodes,
  // Segments are elements too: the element count bounds them.
  maxSegments: KEY_LIMITS.asn1Nodes,
  error: (_kind, detail) => new Asn1Error(detail),
};

/**
 * A reader for one structure, with its own KEY_LIMITS.asn1Nodes budget; `derive()` it for
 * the structures found inside (an OCTET STRING's value) to share that budget.
 */
export function keyReader(bytes: Uint8Array): BerReader {
  return new BerReader(bytes, KEY_READER);
}

/** The fields of a SEQUENCE, at least `minItems` of them; later fields are the caller's. */
export function sequenceItems(
  reader: BerReader,
  node: Tlv | undefined,
  what: string,
  minItems = 0,
): Tlv[] {
  return reader.fieldList(reader.expect(node, UNIVERSAL.SEQUENCE, what), what, minItems);
}

/** A universal tag, primitive or constructed. */
export function isUniversal(node: Tlv, tagNumber: number): boolean {
  return tagMatches(node, universalTag(tagNumber));
}

/** The value of an OCTET STRING, primitive or BER-segmented (joined: one copy). */
export function octetStringValue(reader: BerReader, node: Tlv | undefined, what: string): Buffer {
  return asBuffer(reader.stringBytes(reader.expect(node, UNIVERSAL.OCTET_STRING, what)));
}

/** A Buffer over the same memory (no copy). */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
