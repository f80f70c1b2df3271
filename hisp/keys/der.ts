/**
 * A small bounded BER/DER reader for the key-material structures (PKCS#8, PKCS#12, X.509
 * framing). It reads tag-length-value elements in place — every element is a view of the
 * input, never a copy — and accepts the BER that PKCS#12 writers produce (indefinite lengths,
 * constructed OCTET STRINGs) while bounding depth and element count.
 *
 * Errors are `Asn1Error`; callers turn them into the HispError code of their domain
 * (KEY_MALFORMED, PKCS12_MALFORMED, CERT_MALFORMED).
 */
import { KEY_LIMITS } from './limits.js';

export class Asn1Error extends Error {
  override readonly name = 'Asn1Error';
}

export const TagClass = { universal: 0, application: 1, context: 2, private: 3 } as const;

export const Tag = {
  boolean: 1,
  integer: 2,
  bitString: 3,
  octetString: 4,
  null: 5,
  oid: 6,
  utf8String: 12,
  sequence: 16,
  set: 17,
  bmpString: 30,
} as const;

/** One element, located in `buf`. */
export interface Asn1Node {
  readonly buf: Buffer;
  readonly tagClass: number;
  readonly constructed: boolean;
  readonly tagNumber: number;
  /** Offset of the identifier octet. */
  readonly start: number;
  /** Offset of the first content octet. */
  readonly contentStart: number;
  /** Offset just after the last content octet (before the end-of-contents octets, if any). */
  readonly contentEnd: number;
  /** Offset just after the element (after the end-of-contents octets, if any). */
  readonly end: number;
  readonly indefinite: boolean;
}

export interface Asn1Limits {
  readonly maxDepth: number;
  readonly maxNodes: number;
}

const DEFAULT_LIMITS: Asn1Limits = {
  maxDepth: KEY_LIMITS.asn1Depth,
  maxNodes: KEY_LIMITS.asn1Nodes,
};

/** Shared budget for one structure: every element read (at any depth) counts once per read. */
export class Asn1Budget {
  private nodes = 0;
  constructor(readonly limits: Asn1Limits = DEFAULT_LIMITS) {}
  spend(depth: number): void {
    if (depth > this.limits.maxDepth)
      throw new Asn1Error(`ASN.1 nesting deeper than ${this.limits.maxDepth}`);
    this.nodes += 1;
    if (this.nodes > this.limits.maxNodes)
      throw new Asn1Error(`more than ${this.limits.maxNodes} ASN.1 elements`);
  }
}

/**
 * Read one element starting at `offset`, which must end at or before `limit`.
 * Indefinite-length elements are walked to find their end (bounded by the budget).
 */
export function readNode(
  buf: Buffer,
  offset: number,
  limit: number,
  budget: Asn1Budget = new Asn1Budget(),
  depth = 0,
): Asn1Node {
  budget.spend(depth);
  let pos = offset;
  if (pos >= limit) throw new Asn1Error('truncated: expected an ASN.1 element');
  const first = buf[pos++] ?? 0;
  const tagClass = first >> 6;
  const constructed = (first & 0x20) !== 0;
  let tagNumber = first & 0x1f;
  if (tagNumber === 0x1f) {
    tagNumber = 0;
    for (let i = 0; ; i++) {
      if (pos >= limit) throw new Asn1Error('truncated tag');
      if (i >= 4) throw new Asn1Error('tag number too large');
      const b = buf[pos++] ?? 0;
      tagNumber = tagNumber * 128 + (b & 0x7f);
      if ((b & 0x80) === 0) break;
    }
  }
  if (pos >= limit) throw new Asn1Error('truncated length');
  const lenByte = buf[pos++] ?? 0;
  if (lenByte === 0x80) {
    if (!constructed) throw new Asn1Error('indefinite length on a primitive element');
    const contentStart = pos;
    for (;;) {
      if (pos + 2 <= limit && buf[pos] === 0 && buf[pos + 1] === 0) {
        return {
          buf,
          tagClass,
          constructed,
          tagNumber,
          start: offset,
          contentStart,
          contentEnd: pos,
          end: pos + 2,
          indefinite: true,
        };
      }
      const child = readNode(buf, pos, limit, budget, depth + 1);
      pos = child.end;
    }
  }
  let length: number;
  if (lenByte < 0x80) {
    length = lenByte;
  } else {
    const count = lenByte & 0x7f;
    if (count > 4) throw new Asn1Error('length too large');
    if (pos + count > limit) throw new Asn1Error('truncated length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (buf[pos++] ?? 0);
  }
  const contentEnd = pos + length;
  if (contentEnd > limit)
    throw new Asn1Error('truncated: element runs past the end of its container');
  return {
    buf,
    tagClass,
    constructed,
    tagNumber,
    start: offset,
    contentStart: pos,
    contentEnd,
    end: contentEnd,
    indefinite: false,
  };
}

/** Parse a whole buffer as exactly one element (trailing bytes are an error). */
export function readRoot(buf: Buffer, budget: Asn1Budget = new Asn1Budget()): Asn1Node {
  const node = readNode(buf, 0, buf.length, budget, 0);
  if (node.end !== buf.length) throw new Asn1Error('trailing data after the ASN.1 structure');
  return node;
}

/** The elements inside a constructed element. */
export function childrenOf(node: Asn1Node, budget: Asn1Budget = new Asn1Budget()): Asn1Node[] {
  if (!node.constructed) throw new Asn1Error('expected a constructed element');
  const out: Asn1Node[] = [];
  let pos = node.contentStart;
  while (pos < node.contentEnd) {
    const child = readNode(node.buf, pos, node.contentEnd, budget, 1);
    out.push(child);
    pos = child.end;
  }
  return out;
}

export function isUniversal(node: Asn1Node, tagNumber: number): boolean {
  return node.tagClass === TagClass.universal && node.tagNumber === tagNumber;
}

export function isContext(node: Asn1Node, tagNumber: number): boolean {
  return node.tagClass === TagClass.context && node.tagNumber === tagNumber;
}

/** The exact encoded bytes of the element (a view). */
export function encodedBytes(node: Asn1Node): Buffer {
  return node.buf.subarray(node.start, node.end);
}

/** The content octets of a primitive element (a view). */
export function contentBytes(node: Asn1Node): Buffer {
  return node.buf.subarray(node.contentStart, node.contentEnd);
}

export function expectSequence(node: Asn1Node, what: string): Asn1Node {
  if (!isUniversal(node, Tag.sequence) || !node.constructed)
    throw new Asn1Error(`${what}: expected a SEQUENCE`);
  return node;
}

/** Children of a SEQUENCE, with a count check. */
export function sequenceItems(
  node: Asn1Node | undefined,
  what: string,
  budget: Asn1Budget,
  minItems = 0,
): Asn1Node[] {
  if (node === undefined) throw new Asn1Error(`${what}: missing`);
  const items = childrenOf(expectSequence(node, what), budget);
  if (items.length < minItems) throw new Asn1Error(`${what}: too few elements`);
  return items;
}

/** An OBJECT IDENTIFIER as dotted text. */
export function readOid(node: Asn1Node | undefined, what: string): string {
  if (node === undefined || !isUniversal(node, Tag.oid) || node.constructed)
    throw new Asn1Error(`${what}: expected an OBJECT IDENTIFIER`);
  const bytes = contentBytes(node);
  if (bytes.length === 0 || bytes.length > 64)
    throw new Asn1Error(`${what}: bad OBJECT IDENTIFIER`);
  const arcs: number[] = [];
  let value = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] ?? 0;
    if (value === 0 && b === 0x80) throw new Asn1Error(`${what}: bad OBJECT IDENTIFIER`);
    value = value * 128 + (b & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER / 128) throw new Asn1Error(`${what}: OID arc too large`);
    if ((b & 0x80) === 0) {
      if (arcs.length === 0) {
        const top = value < 40 ? 0 : value < 80 ? 1 : 2;
        arcs.push(top, value - top * 40);
      } else {
        arcs.push(value);
      }
      value = 0;
    } else if (i === bytes.length - 1) {
      throw new Asn1Error(`${what}: truncated OBJECT IDENTIFIER`);
    }
  }
  return arcs.join('.');
}

/** A non-negative INTEGER that fits in a JavaScript number (versions, counts, lengths). */
export function readSmallInteger(node: Asn1Node | undefined, what: string): number {
  if (node === undefined || !isUniversal(node, Tag.integer) || node.constructed)
    throw new Asn1Error(`${what}: expected an INTEGER`);
  const bytes = contentBytes(node);
  if (bytes.length === 0) throw new Asn1Error(`${what}: empty INTEGER`);
  if (((bytes[0] ?? 0) & 0x80) !== 0) throw new Asn1Error(`${what}: negative INTEGER`);
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  if (bytes.length - start > 6) throw new Asn1Error(`${what}: INTEGER too large`);
  let value = 0;
  for (let i = start; i < bytes.length; i++) value = value * 256 + (bytes[i] ?? 0);
  return value;
}

/**
 * The value of an OCTET STRING, primitive or constructed (BER segments are concatenated:
 * one copy, only when segmented). Pass `implicit` for an [n] IMPLICIT OCTET STRING.
 */
export function readOctetString(
  node: Asn1Node | undefined,
  what: string,
  budget: Asn1Budget,
  implicit = false,
): Buffer {
  if (node === undefined) throw new Asn1Error(`${what}: missing`);
  if (!implicit && !isUniversal(node, Tag.octetString))
    throw new Asn1Error(`${what}: expected an OCTET STRING`);
  if (!node.constructed) return contentBytes(node);
  const segments: Buffer[] = [];
  const collectSegments = (parent: Asn1Node, depth: number): void => {
    if (depth > 8) throw new Asn1Error(`${what}: OCTET STRING segments nested too deeply`);
    for (const child of childrenOf(parent, budget)) {
      if (!isUniversal(child, Tag.octetString))
        throw new Asn1Error(`${what}: bad OCTET STRING segment`);
      if (child.constructed) collectSegments(child, depth + 1);
      else segments.push(contentBytes(child));
    }
  };
  collectSegments(node, 0);
  return segments.length === 1 && segments[0] ? segments[0] : Buffer.concat(segments);
}

/** The single element inside an EXPLICIT [n] wrapper. */
export function explicitInner(
  node: Asn1Node,
  tagNumber: number,
  what: string,
  budget: Asn1Budget,
): Asn1Node {
  if (!isContext(node, tagNumber) || !node.constructed)
    throw new Asn1Error(`${what}: expected [${tagNumber}]`);
  const inner = childrenOf(node, budget);
  const only = inner[0];
  if (inner.length !== 1 || only === undefined)
    throw new Asn1Error(`${what}: expected one element in [${tagNumber}]`);
  return only;
}
