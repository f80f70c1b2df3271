/**
 * The HISP's one DER writer (ITU-T X.690 §10), for the CMS structures the agent builds
 * (EnvelopedData, SignedData, signed attributes).
 *
 * Small structures (algorithm identifiers, RecipientInfos) are built as Uint8Arrays with
 * `tlv()` and friends. Big content is never copied into the structure: `tlvSource()` takes
 * pieces that are either bytes or a `ByteSource` of known length, writes the header for the
 * total length up front, and streams the pieces through as the result is iterated.
 *
 * ```ts
 * const contentInfo = tlvSource(DerTag.SEQUENCE, oid(ID_DATA), tlvSource(0xa0, body));
 * for (const chunk of contentInfo.chunks()) out.write(chunk);
 * ```
 */
import type { ByteSource } from '../agent/types.js';

/** Identifier octets of the universal types the agent writes (tag numbers below 31). */
export const DerTag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OBJECT_IDENTIFIER: 0x06,
  UTF8String: 0x0c,
  PrintableString: 0x13,
  UTCTime: 0x17,
  GeneralizedTime: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** An identifier: one octet (tag numbers below 31) or the full identifier octets. */
export type DerIdentifier = number | Uint8Array;

/** Identifier octets of a context-specific tag `[n]`, primitive or constructed. */
export function contextIdentifier(tagNumber: number, constructed: boolean): Uint8Array {
  return encodeIdentifier(2, constructed, tagNumber);
}

/** Identifier octets for any class and tag number (high tag numbers in base 128). */
export function encodeIdentifier(
  tagClass: 0 | 1 | 2 | 3,
  constructed: boolean,
  tagNumber: number,
): Uint8Array {
  if (!Number.isSafeInteger(tagNumber) || tagNumber < 0) throw new RangeError('bad tag number');
  const lead = (tagClass << 6) | (constructed ? 0x20 : 0);
  if (tagNumber < 0x1f) return Uint8Array.of(lead | tagNumber);
  const digits: number[] = [];
  for (let n = tagNumber; n > 0; n = Math.floor(n / 128)) digits.unshift(n % 128);
  return Uint8Array.from([
    lead | 0x1f,
    ...digits.map((d, i) => (i < digits.length - 1 ? d | 0x80 : d)),
  ]);
}

/** DER length octets: short form below 128, else the minimal long form. */
export function encodeLength(length: number): Uint8Array {
  if (!Number.isSafeInteger(length) || length < 0) throw new RangeError('bad DER length');
  if (length < 0x80) return Uint8Array.of(length);
  const octets: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) octets.unshift(n % 256);
  return Uint8Array.from([0x80 | octets.length, ...octets]);
}

/** Identifier and length octets for content of `contentLength` bytes. */
export function header(identifier: DerIdentifier, contentLength: number): Uint8Array {
  const id = typeof identifier === 'number' ? Uint8Array.of(identifier) : identifier;
  return concat(id, encodeLength(contentLength));
}

/** A complete element from its content parts (copied: for small structures). */
export function tlv(identifier: DerIdentifier, ...contents: readonly Uint8Array[]): Uint8Array {
  const length = contents.reduce((sum, part) => sum + part.byteLength, 0);
  return concat(header(identifier, length), ...contents);
}

export function sequence(...fields: readonly Uint8Array[]): Uint8Array {
  return tlv(DerTag.SEQUENCE, ...fields);
}

/** SET OF: DER orders the elements by their encodings (X.690 §11.6). */
export function setOf(...elements: readonly Uint8Array[]): Uint8Array {
  return tlv(DerTag.SET, ...derOrder(elements));
}

/** Elements in DER SET OF order (X.690 §11.6), for a SET OF under another tag. */
export function derOrder(elements: readonly Uint8Array[]): Uint8Array[] {
  return [...elements].sort(compareDer);
}

export function octetString(value: Uint8Array): Uint8Array {
  return tlv(DerTag.OCTET_STRING, value);
}

export function nullValue(): Uint8Array {
  return Uint8Array.of(DerTag.NULL, 0);
}

/** An INTEGER from a number or bigint (two's complement, minimal). */
export function integer(value: number | bigint): Uint8Array {
  let n = BigInt(value);
  const octets: number[] = [];
  for (;;) {
    const octet = Number(n & 0xffn);
    octets.unshift(octet);
    n >>= 8n; // arithmetic: a negative value ends at -1
    if ((n === 0n && octet < 0x80) || (n === -1n && octet >= 0x80)) break;
  }
  return tlv(DerTag.INTEGER, Uint8Array.from(octets));
}

/** An INTEGER whose content octets are already known (e.g. a certificate serial, copied as read). */
export function integerFromOctets(content: Uint8Array): Uint8Array {
  return tlv(DerTag.INTEGER, content);
}

/** AlgorithmIdentifier ::= SEQUENCE { algorithm OBJECT IDENTIFIER, parameters ANY OPTIONAL } */
export function algorithmIdentifier(algorithm: string, parameters?: Uint8Array): Uint8Array {
  return parameters === undefined ? sequence(oid(algorithm)) : sequence(oid(algorithm), parameters);
}

/** An OBJECT IDENTIFIER from dotted text. */
export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map((arc) => {
    if (!/^\d+$/.test(arc)) throw new RangeError(`bad OID ${dotted}`);
    return BigInt(arc);
  });
  const [first, second, ...rest] = arcs;
  if (first === undefined || second === undefined || first > 2n || (first < 2n && second >= 40n)) {
    throw new RangeError(`bad OID ${dotted}`);
  }
  const octets: number[] = [];
  for (const arc of [first * 40n + second, ...rest]) {
    const digits: number[] = [];
    let n = arc;
    do {
      digits.unshift(Number(n & 0x7fn));
      n >>= 7n;
    } while (n > 0n);
    octets.push(...digits.map((d, i) => (i < digits.length - 1 ? d | 0x80 : d)));
  }
  return tlv(DerTag.OBJECT_IDENTIFIER, Uint8Array.from(octets));
}

/** A piece of a streamed structure: bytes, or a source whose length is known up front. */
export type DerPiece = Uint8Array | ByteSource;

function pieceLength(piece: DerPiece): number {
  return piece instanceof Uint8Array ? piece.byteLength : piece.length;
}

/**
 * Pieces in order as one source. Reiterable only when every piece is. Each source piece is
 * checked to produce exactly its declared length (else the DER would be corrupt).
 */
export function piecesSource(...pieces: readonly DerPiece[]): ByteSource {
  return {
    length: pieces.reduce((sum, piece) => sum + pieceLength(piece), 0),
    reiterable: pieces.every((piece) => piece instanceof Uint8Array || piece.reiterable),
    *chunks() {
      for (const piece of pieces) {
        if (piece instanceof Uint8Array) {
          if (piece.byteLength > 0) yield piece;
          continue;
        }
        let produced = 0;
        for (const chunk of piece.chunks()) {
          produced += chunk.byteLength;
          if (chunk.byteLength > 0) yield chunk;
        }
        if (produced !== piece.length) {
          throw new Error(`DER piece produced ${produced} bytes, declared ${piece.length}`);
        }
      }
    },
  };
}

/** An element whose content is streamed: the header is computed from the declared lengths. */
export function tlvSource(identifier: DerIdentifier, ...contents: readonly DerPiece[]): ByteSource {
  const length = contents.reduce((sum, piece) => sum + pieceLength(piece), 0);
  return piecesSource(header(identifier, length), ...contents);
}

/**
 * X.690 §11.6 order: encodings compared as octet strings, the shorter padded at its end with
 * zero octets (so `30 03 02` and `30 03 02 00` are equal). For whole encodings it agrees with
 * `compareBytes`: no element's encoding is a prefix of another's.
 */
export function compareDer(a: Uint8Array, b: Uint8Array): number {
  const n = Math.max(a.byteLength, b.byteLength);
  for (let i = 0; i < n; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Unsigned lexicographic order, shorter first on a common prefix. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return compareDer(a, b) || a.byteLength - b.byteLength;
}

/** Concatenates small byte arrays (one copy). */
export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}
