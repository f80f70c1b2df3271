/**
 * The small, bounded BER reader and DER writer that CMS SignedData needs (X.690).
 *
 * The reader never builds a tree: it reads one TLV header at a time and hands back offsets
 * into the input, so every parsed element keeps its original bytes (signatures are over
 * bytes as received, never over a re-encoding). It accepts BER (indefinite lengths,
 * constructed OCTET STRINGs) because Direct receivers must (DESIGN.md §4), and it is bounded
 * (risk-16): nesting depth, elements visited, declared lengths and constructed-string
 * segments are all capped, and every failure is a HispError CMS_MALFORMED (broken input)
 * or LIMIT_EXCEEDED (input beyond a bound) — never a RangeError, never an unbounded loop.
 *
 * The writer emits definite-length DER only, with SET OF sorted as X.690 §11.6 requires.
 */
import { HispError } from '../../api/errors.js';
import { AGENT_LIMITS } from '../limits.js';

/** Identifier octets this module matches on (universal class unless noted). */
export const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  octetStringConstructed: 0x24,
  null: 0x05,
  oid: 0x06,
  utf8String: 0x0c,
  printableString: 0x13,
  ia5String: 0x16,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
  /** [n] IMPLICIT, primitive (context-specific class). */
  context0Primitive: 0x80,
  /** [n] constructed (EXPLICIT, or IMPLICIT over a constructed type). */
  context0: 0xa0,
  context1: 0xa1,
  context2: 0xa2,
  context3: 0xa3,
} as const;

/**
 * Elements one parse may visit (headers read, indefinite-length contents walked). A
 * constructed OCTET STRING's segments dominate any real message, so this is the segment
 * bound plus room for the structure and the certificates around it.
 */
export const MAX_TLVS_VISITED = AGENT_LIMITS.asn1Elements;

/** One element: its identifier octet and where its parts lie in the input. */
export interface Tlv {
  /** The first identifier octet (class, constructed bit, tag number < 31). */
  readonly tag: number;
  readonly constructed: boolean;
  /** Offset of the identifier octet. */
  readonly start: number;
  /** Offset of the first content octet. */
  readonly contentStart: number;
  /** Offset just past the last content octet (before the end-of-contents for BER indefinite). */
  readonly contentEnd: number;
  /** Offset just past the whole encoding (after the end-of-contents when indefinite). */
  readonly end: number;
  readonly indefinite: boolean;
}

export function malformed(message: string): HispError {
  return new HispError('CMS_MALFORMED', message);
}

export function tooLarge(message: string): HispError {
  return new HispError('LIMIT_EXCEEDED', message);
}

/**
 * A bounded BER reader over one input. `visited` counts every header read; indefinite
 * lengths are resolved once and remembered, so re-reading an element is O(1).
 */
export class BerReader {
  private visited = 0;
  private readonly indefiniteEnds = new Map<number, number>();

  constructor(readonly bytes: Uint8Array) {}

  /** The element starting at `offset`, which must end at or before `limit`. */
  read(offset: number, limit: number, depth: number): Tlv {
    if (depth > AGENT_LIMITS.asn1Depth) {
      throw tooLarge(`ASN.1 nesting deeper than ${AGENT_LIMITS.asn1Depth} levels`);
    }
    if (++this.visited > MAX_TLVS_VISITED) {
      throw tooLarge(`more than ${MAX_TLVS_VISITED} ASN.1 elements`);
    }
    const bytes = this.bytes;
    if (offset >= limit) throw malformed('truncated: an element was expected');
    const tag = bytes[offset] ?? 0;
    let pos = offset + 1;
    if (tag === 0x00) throw malformed('unexpected end-of-contents octets');
    if ((tag & 0x1f) === 0x1f) {
      // High tag number form: skip the tag-number octets (none of CMS's tags use it).
      let count = 0;
      for (;;) {
        if (pos >= limit) throw malformed('truncated in a tag');
        const b = bytes[pos++] ?? 0;
        if (++count > 4) throw malformed('tag number too long');
        if ((b & 0x80) === 0) break;
      }
    }
    if (pos >= limit) throw malformed('truncated before a length');
    const constructed = (tag & 0x20) !== 0;
    const first = bytes[pos++] ?? 0;
    if (first === 0x80) {
      if (!constructed) throw malformed('indefinite length on a primitive element');
      const contentStart = pos;
      const known = this.indefiniteEnds.get(offset);
      if (known !== undefined) {
        return {
          tag,
          constructed,
          start: offset,
          contentStart,
          contentEnd: known - 2,
          end: known,
          indefinite: true,
        };
      }
      let p = contentStart;
      for (;;) {
        if (p + 2 > limit) throw malformed('truncated: missing end-of-contents');
        if (bytes[p] === 0x00) {
          if (bytes[p + 1] !== 0x00) throw malformed('malformed end-of-contents octets');
          break;
        }
        p = this.read(p, limit, depth + 1).end;
      }
      const end = p + 2;
      this.indefiniteEnds.set(offset, end);
      return {
        tag,
        constructed,
        start: offset,
        contentStart,
        contentEnd: p,
        end,
        indefinite: true,
      };
    }
    let length: number;
    if (first < 0x80) {
      length = first;
    } else {
      if (first === 0xff) throw malformed('reserved length octet 0xFF');
      const count = first & 0x7f;
      if (count > 8) throw tooLarge('length field longer than 8 octets');
      if (pos + count > limit) throw malformed('truncated in a length');
      length = 0;
      for (let i = 0; i < count; i++) {
        length = length * 256 + (bytes[pos++] ?? 0);
        if (length > AGENT_LIMITS.cmsBytes) {
          throw tooLarge(`an element declares more than ${AGENT_LIMITS.cmsBytes} bytes`);
        }
      }
    }
    const contentEnd = pos + length;
    if (contentEnd > limit) throw malformed('truncated: an element is longer than its container');
    return {
      tag,
      constructed,
      start: offset,
      contentStart: pos,
      contentEnd,
      end: contentEnd,
      indefinite: false,
    };
  }

  /** The single element that must fill `bytes` exactly. */
  readWhole(depth = 0): Tlv {
    const tlv = this.read(0, this.bytes.byteLength, depth);
    if (tlv.end !== this.bytes.byteLength) throw malformed('trailing bytes after the structure');
    return tlv;
  }

  /**
   * The children of a constructed element, at most `max` of them (more is LIMIT_EXCEEDED
   * naming `what`).
   */
  children(parent: Tlv, depth: number, max: number, what: string): Tlv[] {
    if (!parent.constructed) throw malformed(`${what}: expected a constructed element`);
    const out: Tlv[] = [];
    let p = parent.contentStart;
    while (p < parent.contentEnd) {
      if (out.length >= max) throw tooLarge(`more than ${max} ${what}`);
      const child = this.read(p, parent.contentEnd, depth + 1);
      out.push(child);
      p = child.end;
    }
    return out;
  }

  /**
   * The fields of a SEQUENCE with a fixed shape: at most `max` of them (more is
   * CMS_MALFORMED, not a limit, because the ASN.1 type allows no more).
   */
  fields(parent: Tlv, depth: number, max: number, what: string): Tlv[] {
    if (!parent.constructed) throw malformed(`${what}: expected a constructed element`);
    const out: Tlv[] = [];
    let p = parent.contentStart;
    while (p < parent.contentEnd) {
      if (out.length >= max) throw malformed(`${what}: unexpected extra fields`);
      const child = this.read(p, parent.contentEnd, depth + 1);
      out.push(child);
      p = child.end;
    }
    return out;
  }

  /** The whole encoding of an element, as received. */
  raw(tlv: Tlv): Uint8Array {
    return this.bytes.subarray(tlv.start, tlv.end);
  }

  /** The content octets of a primitive element. */
  content(tlv: Tlv): Uint8Array {
    if (tlv.constructed) throw malformed('expected a primitive element');
    return this.bytes.subarray(tlv.contentStart, tlv.contentEnd);
  }

  /**
   * The value of an OCTET STRING (or an IMPLICIT-tagged one: `tlv` may carry any tag),
   * primitive or BER constructed (segments concatenated; nested segments allowed).
   */
  octets(tlv: Tlv, depth: number): Uint8Array {
    if (!tlv.constructed) return this.content(tlv);
    const segments: Uint8Array[] = [];
    this.collectSegments(tlv, depth, segments);
    return segments.length === 1 && segments[0] !== undefined
      ? segments[0]
      : Buffer.concat(segments);
  }

  private collectSegments(tlv: Tlv, depth: number, out: Uint8Array[]): void {
    for (const segment of this.children(
      tlv,
      depth,
      AGENT_LIMITS.asn1Segments,
      'OCTET STRING segments',
    )) {
      if (segment.tag === TAG.octetString) out.push(this.content(segment));
      else if (segment.tag === TAG.octetStringConstructed)
        this.collectSegments(segment, depth + 1, out);
      else throw malformed('a constructed OCTET STRING holds something else');
      if (out.length > AGENT_LIMITS.asn1Segments) {
        throw tooLarge(`more than ${AGENT_LIMITS.asn1Segments} OCTET STRING segments`);
      }
    }
  }

  /** An OBJECT IDENTIFIER as dotted decimal. */
  oid(tlv: Tlv): string {
    if (tlv.tag !== TAG.oid) throw malformed('expected an OBJECT IDENTIFIER');
    return decodeOid(this.content(tlv));
  }

  /** A small non-negative INTEGER (versions), as a number. */
  smallInteger(tlv: Tlv): number {
    if (tlv.tag !== TAG.integer) throw malformed('expected an INTEGER');
    const content = this.content(tlv);
    if (content.byteLength === 0 || content.byteLength > 4) throw malformed('INTEGER out of range');
    let value = 0;
    for (const b of content) value = value * 256 + b;
    if ((content[0] ?? 0) & 0x80) throw malformed('negative INTEGER');
    return value;
  }
}

/** Require a tag, naming what was expected. */
export function expectTag(tlv: Tlv | undefined, tag: number, what: string): Tlv {
  if (tlv === undefined) throw malformed(`${what} is missing`);
  if (tlv.tag !== tag) {
    throw malformed(`${what}: expected tag 0x${tag.toString(16)}, found 0x${tlv.tag.toString(16)}`);
  }
  return tlv;
}

// ── OBJECT IDENTIFIER ──────────────────────────────────────────────────────────────────────

/** Longest OID content accepted: real OIDs are well under 64 octets. */
const MAX_OID_BYTES = 64;

export function decodeOid(content: Uint8Array): string {
  if (content.byteLength === 0 || content.byteLength > MAX_OID_BYTES) {
    throw malformed('OBJECT IDENTIFIER of bad length');
  }
  const arcs: number[] = [];
  let value = 0;
  let started = false;
  for (const b of content) {
    if (!started && b === 0x80) throw malformed('OBJECT IDENTIFIER with a padded arc');
    started = true;
    value = value * 128 + (b & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER / 128) throw malformed('OBJECT IDENTIFIER arc too large');
    if ((b & 0x80) === 0) {
      arcs.push(value);
      value = 0;
      started = false;
    }
  }
  if (started) throw malformed('truncated OBJECT IDENTIFIER');
  const [first = 0, ...rest] = arcs;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...rest].join('.');
}

export function encodeOid(dotted: string): Buffer {
  const arcs = dotted.split('.').map((arc) => Number(arc));
  const [a = 0, b = 0, ...rest] = arcs;
  const out: number[] = [];
  for (const arc of [a * 40 + b, ...rest]) {
    const septets: number[] = [arc & 0x7f];
    let v = Math.floor(arc / 128);
    while (v > 0) {
      septets.unshift((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    out.push(...septets);
  }
  return der(TAG.oid, Buffer.from(out));
}

// ── DER writer ─────────────────────────────────────────────────────────────────────────────

export function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const octets: number[] = [];
  for (let v = length; v > 0; v = Math.floor(v / 256)) octets.unshift(v & 0xff);
  return Buffer.from([0x80 | octets.length, ...octets]);
}

/** One definite-length element: identifier, length, then the concatenated contents. */
export function der(tag: number, ...contents: readonly Uint8Array[]): Buffer {
  const length = contents.reduce((sum, part) => sum + part.byteLength, 0);
  return Buffer.concat([Buffer.from([tag]), encodeLength(length), ...contents]);
}

export const sequence = (...contents: readonly Uint8Array[]): Buffer =>
  der(TAG.sequence, ...contents);

/** SET OF in DER: the elements sorted by their encodings (X.690 §11.6). */
export function setOf(elements: readonly Uint8Array[], tag: number = TAG.set): Buffer {
  return der(tag, ...sortDer(elements));
}

export function sortDer(elements: readonly Uint8Array[]): Uint8Array[] {
  return [...elements].sort(compareDer);
}

/**
 * X.690 §11.6 order: compare encodings as octet strings, the shorter padded at its end
 * with zero octets.
 */
export function compareDer(a: Uint8Array, b: Uint8Array): number {
  const n = Math.max(a.byteLength, b.byteLength);
  for (let i = 0; i < n; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x - y;
  }
  return 0;
}

export const octetString = (value: Uint8Array): Buffer => der(TAG.octetString, value);
export const derNull = (): Buffer => Buffer.from([TAG.null, 0x00]);

export function smallIntegerDer(value: number): Buffer {
  const octets: number[] = [];
  let v = value;
  do {
    octets.unshift(v & 0xff);
    v = Math.floor(v / 256);
  } while (v > 0);
  if ((octets[0] ?? 0) & 0x80) octets.unshift(0);
  return der(TAG.integer, Buffer.from(octets));
}

/** AlgorithmIdentifier ::= SEQUENCE { algorithm OID, parameters ANY OPTIONAL } */
export function algorithmIdentifier(oid: string, parameters?: Uint8Array): Buffer {
  return parameters === undefined ? sequence(encodeOid(oid)) : sequence(encodeOid(oid), parameters);
}
