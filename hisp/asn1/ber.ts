/**
 * The HISP's one bounded BER reader (ITU-T X.690): CMS in hisp/agent (EnvelopedData,
 * SignedData, the certificate fields CMS names), PKCS#8 and PKCS#12 in hisp/keys.
 *
 * It walks TLVs over one Uint8Array and hands back offsets and subarrays of that array
 * (zero-copy): nothing is decoded into a tree or re-encoded (unless asked: `toDefinite()`), so the original bytes
 * of every element stay available (`raw()`) for signatures and identifiers. It reads
 * definite AND indefinite lengths (end-of-contents octets), constructed strings whose
 * segments may themselves be constructed, and high tag numbers.
 *
 * Hostile input (risk-16) never crashes it and never makes it allocate by a length field:
 * - the input size is checked against `maxBytes` (AGENT_LIMITS.cmsBytes) up front;
 * - a truncated element, a length that runs past its parent, a length of more than 8 octets,
 *   an indefinite length on a primitive element, a missing end-of-contents → `malformedCode`
 *   (CMS_MALFORMED by default);
 * - nesting deeper than `maxDepth` (AGENT_LIMITS.asn1Depth), more than `maxSegments`
 *   (AGENT_LIMITS.asn1Segments) segments in one constructed string, and — when set — more than
 *   `maxElements` elements read (AGENT_LIMITS.asn1Elements for SignedData) or a declared length
 *   above `maxDeclaredLength` → LIMIT_EXCEEDED.
 * Every bound can be set per reader (hisp/keys passes KEY_LIMITS), and `error` lets a caller
 * that maps failures to its own codes (KEY_MALFORMED, PKCS12_MALFORMED) make its own errors.
 * Finding the end of an indefinite-length element walks its children; ends found are
 * memoised per offset, so a whole walk stays linear in the input size.
 *
 * Error messages carry offsets and tag names only, never content octets.
 *
 * ```ts
 * const reader = new BerReader(bytes);
 * const contentInfo = reader.root();
 * const fields = reader.fields(contentInfo, 'ContentInfo');
 * const contentType = reader.oid(fields.next(UNIVERSAL.OBJECT_IDENTIFIER));
 * const content = fields.next(contextTag(0, true));
 * fields.end();
 * ```
 */
import { AGENT_LIMITS } from '../agent/limits.js';
import { HispError } from '../api/errors.js';
import type { ErrorCode } from '../api/errors.js';
import { encodeIdentifier, tlv as derTlv } from './der.js';

/** X.690 tag classes (bits 8–7 of the identifier octet). */
export const TagClass = {
  universal: 0,
  application: 1,
  context: 2,
  private: 3,
} as const;
export type TagClass = (typeof TagClass)[keyof typeof TagClass];

/** Universal tag numbers the HISP reads. */
export const UniversalTag = {
  BOOLEAN: 1,
  INTEGER: 2,
  BIT_STRING: 3,
  OCTET_STRING: 4,
  NULL: 5,
  OBJECT_IDENTIFIER: 6,
  ENUMERATED: 10,
  UTF8String: 12,
  SEQUENCE: 16,
  SET: 17,
  PrintableString: 19,
  IA5String: 22,
  UTCTime: 23,
  GeneralizedTime: 24,
  BMPString: 30,
} as const;

/** What an element must be: class, number and optionally the constructed bit. */
export interface TagSpec {
  readonly tagClass: TagClass;
  readonly tagNumber: number;
  /** undefined: either form (BER strings may be primitive or constructed). */
  readonly constructed?: boolean;
}

/** Universal tag specs for the common types. SEQUENCE and SET are always constructed. */
export const UNIVERSAL = {
  BOOLEAN: { tagClass: 0, tagNumber: 1, constructed: false },
  INTEGER: { tagClass: 0, tagNumber: 2, constructed: false },
  BIT_STRING: { tagClass: 0, tagNumber: 3 },
  OCTET_STRING: { tagClass: 0, tagNumber: 4 },
  NULL: { tagClass: 0, tagNumber: 5, constructed: false },
  OBJECT_IDENTIFIER: { tagClass: 0, tagNumber: 6, constructed: false },
  SEQUENCE: { tagClass: 0, tagNumber: 16, constructed: true },
  SET: { tagClass: 0, tagNumber: 17, constructed: true },
  UTCTime: { tagClass: 0, tagNumber: 23, constructed: false },
  GeneralizedTime: { tagClass: 0, tagNumber: 24, constructed: false },
} as const satisfies Record<string, TagSpec>;

/** A universal tag by number; `constructed` undefined accepts either form. */
export function universalTag(tagNumber: number, constructed?: boolean): TagSpec {
  return constructed === undefined
    ? { tagClass: TagClass.universal, tagNumber }
    : { tagClass: TagClass.universal, tagNumber, constructed };
}

/** A context-specific tag `[n]`; `constructed` undefined accepts either form. */
export function contextTag(tagNumber: number, constructed?: boolean): TagSpec {
  return constructed === undefined
    ? { tagClass: TagClass.context, tagNumber }
    : { tagClass: TagClass.context, tagNumber, constructed };
}

/** One element (tag, length, value) located in the reader's bytes. All offsets are absolute. */
export interface Tlv {
  readonly tagClass: TagClass;
  readonly constructed: boolean;
  readonly tagNumber: number;
  /** Offset of the first identifier octet. */
  readonly offset: number;
  /** Offset of the first content octet. */
  readonly contentOffset: number;
  /** Content length (for an indefinite length: up to, not including, the end-of-contents). */
  readonly contentLength: number;
  /** Offset just past the element (past its end-of-contents octets when indefinite). */
  readonly end: number;
  readonly indefinite: boolean;
  /** Nesting level: the root element is 1. */
  readonly depth: number;
}

export interface BerReaderOptions {
  /** Reject what DER forbids: indefinite lengths, non-minimal lengths, constructed strings. */
  readonly der?: boolean;
  /** Error code for malformed input. Default CMS_MALFORMED (CERT_MALFORMED for certificates…). */
  readonly malformedCode?: ErrorCode;
  /** What is being read, for error messages ("CMS", "certificate"). Default "ASN.1". */
  readonly what?: string;
  /** Largest input accepted. Default AGENT_LIMITS.cmsBytes. */
  readonly maxBytes?: number;
  /** Deepest nesting accepted (root = 1). Default AGENT_LIMITS.asn1Depth. */
  readonly maxDepth?: number;
  /** Most segments in one constructed string, all levels together. Default AGENT_LIMITS.asn1Segments. */
  readonly maxSegments?: number;
  /**
   * Most element headers read, re-reads included, by this reader and every reader `derive()`d
   * from it. Default: no count — every walk is already linear in the input, and EnvelopedData
   * reads a big segmented ciphertext three times (measure, length, stream). SignedData sets
   * AGENT_LIMITS.asn1Elements, key files KEY_LIMITS.asn1Nodes.
   */
  readonly maxElements?: number;
  /**
   * A declared length above this, or a length field of more than 8 octets, is LIMIT_EXCEEDED
   * rather than malformed: no input accepted could hold it. Default: unset (malformed, like any
   * length that runs past the input).
   */
  readonly maxDeclaredLength?: number;
  /**
   * Makes the reader's errors instead of HispError(malformedCode) and
   * HispError(LIMIT_EXCEEDED), for callers that turn them into codes of their own
   * (hisp/keys: KEY_MALFORMED, PKCS12_MALFORMED). `detail` never holds content octets.
   */
  readonly error?: (kind: 'malformed' | 'limit', detail: string) => Error;
}

/** String types whose constructed (segmented) BER form `toDefinite()` joins. BIT STRING is
 * left alone: each of its segments carries its own unused-bits octet. */
const JOINABLE_STRING_TAGS: ReadonlySet<number> = new Set([
  4, 12, 18, 19, 20, 21, 22, 25, 26, 27, 28, 30,
]);

/** Length octets beyond this many are refused: 8 octets already exceed any input we accept. */
const MAX_LENGTH_OCTETS = 8;
/** High tag numbers beyond 4 base-128 octets (2^28) are refused. */
const MAX_TAG_OCTETS = 4;

const UNIVERSAL_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(UniversalTag).map(([name, tag]) => [tag, name]),
);

/** "SEQUENCE", "[0]", "[APPLICATION 3]" — for error messages. */
export function tagName(tag: { tagClass: TagClass; tagNumber: number }): string {
  switch (tag.tagClass) {
    case TagClass.universal:
      return UNIVERSAL_NAMES[tag.tagNumber] ?? `UNIVERSAL ${tag.tagNumber}`;
    case TagClass.application:
      return `[APPLICATION ${tag.tagNumber}]`;
    case TagClass.context:
      return `[${tag.tagNumber}]`;
    case TagClass.private:
      return `[PRIVATE ${tag.tagNumber}]`;
  }
}

export function tagMatches(tlv: Tlv, spec: TagSpec): boolean {
  return (
    tlv.tagClass === spec.tagClass &&
    tlv.tagNumber === spec.tagNumber &&
    (spec.constructed === undefined || spec.constructed === tlv.constructed)
  );
}

export class BerReader {
  readonly bytes: Uint8Array;
  private readonly der: boolean;
  private readonly malformedCode: ErrorCode;
  private readonly what: string;
  private readonly maxDepth: number;
  private readonly maxSegments: number;
  private readonly maxElements: number;
  private readonly maxDeclaredLength: number | undefined;
  /** Ends of indefinite-length elements already measured, by offset. */
  private readonly indefiniteEnds = new Map<number, number>();
  /** Element headers read, shared with the readers `derive()`d from this one. */
  private elements = { read: 0 };

  constructor(
    bytes: Uint8Array,
    private readonly options: BerReaderOptions = {},
  ) {
    this.der = options.der ?? false;
    this.malformedCode = options.malformedCode ?? 'CMS_MALFORMED';
    this.what = options.what ?? 'ASN.1';
    this.maxDepth = options.maxDepth ?? AGENT_LIMITS.asn1Depth;
    this.maxSegments = options.maxSegments ?? AGENT_LIMITS.asn1Segments;
    this.maxElements = options.maxElements ?? Number.POSITIVE_INFINITY;
    this.maxDeclaredLength = options.maxDeclaredLength;
    const maxBytes = options.maxBytes ?? AGENT_LIMITS.cmsBytes;
    if (bytes.byteLength > maxBytes) {
      throw this.limit(`${bytes.byteLength} bytes, more than the ${maxBytes} accepted`);
    }
    this.bytes = bytes;
  }

  /**
   * A reader over other bytes (an OCTET STRING's value, a decrypted blob) with the same
   * options, counting its elements against this reader's `maxElements`.
   */
  derive(bytes: Uint8Array): BerReader {
    const reader = new BerReader(bytes, this.options);
    reader.elements = this.elements;
    return reader;
  }

  /** The reader's malformed error (HispError with its malformed code); never holds content. */
  malformed(message: string): Error {
    return this.options.error
      ? this.options.error('malformed', message)
      : new HispError(this.malformedCode, `${this.what} malformed: ${message}`);
  }

  /** The reader's limit error (HispError LIMIT_EXCEEDED); never holds content. */
  limit(message: string): Error {
    return this.options.error
      ? this.options.error('limit', message)
      : new HispError('LIMIT_EXCEEDED', `${this.what}: ${message}`);
  }

  /** The one top-level element; bytes after it are malformed unless `allowTrailing`. */
  root(allowTrailing = false): Tlv {
    const tlv = this.readAt(0, this.bytes.byteLength, 1);
    if (!allowTrailing && tlv.end !== this.bytes.byteLength) {
      throw this.malformed(`${this.bytes.byteLength - tlv.end} bytes after the outer element`);
    }
    return tlv;
  }

  /** The direct children of a constructed element, in order. */
  *children(parent: Tlv): Generator<Tlv, void, undefined> {
    if (!parent.constructed) throw this.malformed(`${tagName(parent)} is not constructed`);
    const end = parent.contentOffset + parent.contentLength;
    let position = parent.contentOffset;
    while (position < end) {
      const child = this.readAt(position, end, parent.depth + 1);
      yield child;
      position = child.end;
    }
  }

  /**
   * The direct children as an array. More than `max` is a limit error naming `what` ("more
   * than 50 certificates"): for SET OF and SEQUENCE OF that policy bounds.
   */
  childList(parent: Tlv, what: string, max = Number.POSITIVE_INFINITY): Tlv[] {
    const out: Tlv[] = [];
    for (const child of this.children(parent)) {
      if (out.length >= max) throw this.limit(`more than ${max} ${what}`);
      out.push(child);
    }
    return out;
  }

  /**
   * The fields of a constructed element as an array, for reading by position: fewer than
   * `min` or more than `max` is malformed (the type has no more).
   */
  fieldList(parent: Tlv, what: string, min = 0, max = Number.POSITIVE_INFINITY): Tlv[] {
    if (!parent.constructed) throw this.malformed(`${what}: ${tagName(parent)} is not constructed`);
    const out: Tlv[] = [];
    for (const child of this.children(parent)) {
      if (out.length >= max) throw this.malformed(`${what}: more than ${max} fields`);
      out.push(child);
    }
    if (out.length < min) throw this.malformed(`${what}: ${out.length} fields, ${min} expected`);
    return out;
  }

  /** A cursor over a SEQUENCE's fields, for OPTIONAL elements and "nothing after". */
  fields(parent: Tlv, typeName: string): FieldCursor {
    return new FieldCursor(this, parent, typeName);
  }

  /** The one element inside an EXPLICIT tag (`spec`, e.g. `contextTag(0, true)`). */
  explicit(tlv: Tlv | undefined, spec: TagSpec, what: string): Tlv {
    const [inner] = this.fieldList(this.expect(tlv, spec, what), what, 0, 1);
    if (!inner) throw this.malformed(`${what}: nothing inside ${tagName(spec)}`);
    return inner;
  }

  /** Checks the tag of an element (present: not undefined); `what` names the field in the error. */
  expect(tlv: Tlv | undefined, spec: TagSpec, what: string): Tlv {
    if (tlv === undefined) throw this.malformed(`${what} missing`);
    if (!tagMatches(tlv, spec)) {
      const form =
        spec.constructed === undefined ? '' : spec.constructed ? ' (constructed)' : ' (primitive)';
      throw this.malformed(`${what}: expected ${tagName(spec)}${form}, found ${tagName(tlv)}`);
    }
    return tlv;
  }

  /** The whole element's original bytes (identifier, length, content, end-of-contents). */
  raw(tlv: Tlv): Uint8Array {
    return this.bytes.subarray(tlv.offset, tlv.end);
  }

  /** The content octets of a primitive element (a subarray, no copy). */
  content(tlv: Tlv): Uint8Array {
    if (tlv.constructed) throw this.malformed(`${tagName(tlv)} must be primitive`);
    return this.bytes.subarray(tlv.contentOffset, tlv.contentOffset + tlv.contentLength);
  }

  /**
   * The segments of a string type (OCTET STRING, or an IMPLICIT tag on one) as subarrays:
   * the content itself when primitive; when constructed, every primitive segment in order,
   * descending into constructed segments. Segments must carry the universal tag of
   * `segmentTag` (OCTET STRING by default). Counted against maxSegments.
   */
  *stringSegments(
    tlv: Tlv,
    segmentTag: number = UniversalTag.OCTET_STRING,
  ): Generator<Uint8Array, void, undefined> {
    if (!tlv.constructed) {
      yield this.content(tlv);
      return;
    }
    if (this.der) throw this.malformed(`constructed ${tagName(tlv)} is not DER`);
    let segments = 0;
    const stack: Array<Generator<Tlv, void, undefined>> = [this.children(tlv)];
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const step = top?.next();
      if (!step || step.done) {
        stack.pop();
        continue;
      }
      const segment = step.value;
      if (segment.tagClass !== TagClass.universal || segment.tagNumber !== segmentTag) {
        throw this.malformed(
          `segment of a constructed string is ${tagName(segment)}, expected ${tagName({ tagClass: 0, tagNumber: segmentTag })}`,
        );
      }
      segments += 1;
      if (segments > this.maxSegments) {
        throw this.limit(`constructed string has more than ${this.maxSegments} segments`);
      }
      if (segment.constructed) stack.push(this.children(segment));
      else yield this.content(segment);
    }
  }

  /** Total length of a string's segments (walks them; no copy). */
  stringLength(tlv: Tlv, segmentTag: number = UniversalTag.OCTET_STRING): number {
    let total = 0;
    for (const segment of this.stringSegments(tlv, segmentTag)) total += segment.byteLength;
    return total;
  }

  /**
   * A string's value as one Uint8Array: the content subarray when primitive (no copy), else
   * the segments concatenated (one walk, one copy) — at most `maxLength` bytes.
   */
  stringBytes(
    tlv: Tlv,
    maxLength = Number.POSITIVE_INFINITY,
    segmentTag: number = UniversalTag.OCTET_STRING,
  ): Uint8Array {
    const segments = tlv.constructed ? [...this.stringSegments(tlv, segmentTag)] : [];
    const length = tlv.constructed
      ? segments.reduce((sum, segment) => sum + segment.byteLength, 0)
      : tlv.contentLength;
    if (length > maxLength)
      throw this.malformed(`${tagName(tlv)} of ${length} bytes, at most ${maxLength} expected`);
    if (!tlv.constructed) return this.content(tlv);
    if (segments.length === 1 && segments[0]) return segments[0];
    const out = new Uint8Array(length);
    let offset = 0;
    for (const segment of segments) {
      out.set(segment, offset);
      offset += segment.byteLength;
    }
    return out;
  }

  /**
   * The element with definite minimal lengths and constructed character/octet strings joined:
   * the DER form of a BER element, except that SET OF members are not re-sorted. For comparing
   * small elements (a Name in a RecipientIdentifier) that a BER encoder may have written with
   * indefinite lengths; the original bytes stay available through `raw()`. DER input comes
   * back byte-identical. Copies: use on small elements only.
   */
  toDefinite(tlv: Tlv): Uint8Array {
    const identifier = encodeIdentifier(tlv.tagClass, tlv.constructed, tlv.tagNumber);
    if (!tlv.constructed) return derTlv(identifier, this.content(tlv));
    if (tlv.tagClass === TagClass.universal && JOINABLE_STRING_TAGS.has(tlv.tagNumber)) {
      const joined = this.stringBytes(tlv, tlv.end - tlv.offset, tlv.tagNumber);
      return derTlv(encodeIdentifier(tlv.tagClass, false, tlv.tagNumber), joined);
    }
    const children: Uint8Array[] = [];
    for (const child of this.children(tlv)) children.push(this.toDefinite(child));
    return derTlv(identifier, ...children);
  }

  /** An OBJECT IDENTIFIER element as dotted text; `what` names it in errors. */
  oid(tlv: Tlv | undefined, what = 'OBJECT IDENTIFIER'): string {
    const text = decodeOid(this.content(this.expect(tlv, UNIVERSAL.OBJECT_IDENTIFIER, what)));
    if (text === undefined) throw this.malformed(`${what}: invalid encoding`);
    return text;
  }

  /** An INTEGER element that must fit in a JavaScript safe integer (versions, lengths). */
  smallInteger(tlv: Tlv): number {
    this.expect(tlv, UNIVERSAL.INTEGER, 'INTEGER');
    const value = decodeSmallInteger(this.content(tlv));
    if (value === undefined) throw this.malformed('INTEGER is empty or too large');
    return value;
  }

  /**
   * A non-negative INTEGER of at most `maxOctets` octets, leading zero octets not counted
   * (versions, iteration counts, salt lengths). `what` names it in errors.
   */
  unsignedInteger(tlv: Tlv | undefined, what: string, maxOctets = 6): number {
    const content = this.content(this.expect(tlv, UNIVERSAL.INTEGER, what));
    if (content.byteLength === 0) throw this.malformed(`${what}: empty INTEGER`);
    if (((content[0] ?? 0) & 0x80) !== 0) throw this.malformed(`${what}: negative INTEGER`);
    let start = 0;
    while (start < content.byteLength - 1 && content[start] === 0) start++;
    if (content.byteLength - start > maxOctets) throw this.malformed(`${what}: INTEGER too large`);
    let value = 0;
    for (let i = start; i < content.byteLength; i++) value = value * 256 + (content[i] ?? 0);
    return value;
  }

  /** Reads one element at `offset` that must end by `limit`. */
  private readAt(offset: number, limit: number, depth: number): Tlv {
    const bytes = this.bytes;
    if (depth > this.maxDepth) throw this.limit(`nesting deeper than ${this.maxDepth} levels`);
    if (++this.elements.read > this.maxElements) {
      throw this.limit(`more than ${this.maxElements} elements`);
    }
    if (offset >= limit) throw this.malformed(`element expected at offset ${offset}, none left`);
    let position = offset;
    const first = bytes[position++] ?? 0;
    const tagClass = (first >> 6) as TagClass;
    const constructed = (first & 0x20) !== 0;
    let tagNumber = first & 0x1f;
    if (tagNumber === 0x1f) {
      tagNumber = 0;
      let octets = 0;
      for (;;) {
        if (position >= limit) throw this.malformed(`truncated tag at offset ${offset}`);
        const b = bytes[position++] ?? 0;
        if (octets === 0 && b === 0x80) throw this.malformed(`non-minimal tag at offset ${offset}`);
        tagNumber = tagNumber * 128 + (b & 0x7f);
        octets += 1;
        if (octets > MAX_TAG_OCTETS) throw this.malformed(`tag number too large at ${offset}`);
        if ((b & 0x80) === 0) break;
      }
      if (tagNumber < 0x1f && this.der) throw this.malformed(`non-minimal tag at ${offset}`);
    }
    if (position >= limit) throw this.malformed(`truncated length at offset ${offset}`);
    const lengthOctet = bytes[position++] ?? 0;
    if (tagClass === TagClass.universal && tagNumber === 0) {
      throw this.malformed(`unexpected end-of-contents or tag 0 at offset ${offset}`);
    }

    if (lengthOctet === 0x80) {
      if (this.der) throw this.malformed(`indefinite length at offset ${offset} is not DER`);
      if (!constructed)
        throw this.malformed(`indefinite length on a primitive element at offset ${offset}`);
      const contentOffset = position;
      const end = this.indefiniteEnd(contentOffset, limit, depth, offset);
      return {
        tagClass,
        constructed,
        tagNumber,
        offset,
        contentOffset,
        contentLength: end - 2 - contentOffset,
        end,
        indefinite: true,
        depth,
      };
    }

    let length: number;
    if (lengthOctet < 0x80) {
      length = lengthOctet;
    } else {
      const count = lengthOctet & 0x7f;
      if (count === 0x7f) throw this.malformed(`reserved length octet at offset ${offset}`);
      if (count > MAX_LENGTH_OCTETS) {
        const message = `length of ${count} octets at offset ${offset}`;
        throw this.maxDeclaredLength === undefined ? this.malformed(message) : this.limit(message);
      }
      if (position + count > limit) throw this.malformed(`truncated length at offset ${offset}`);
      length = 0;
      // At most 8 octets: inexact above 2^53, but then far above any bound compared with.
      for (let i = 0; i < count; i++) length = length * 256 + (bytes[position++] ?? 0);
      if (this.maxDeclaredLength !== undefined && length > this.maxDeclaredLength) {
        throw this.limit(
          `length at offset ${offset} is more than the ${this.maxDeclaredLength} bytes accepted`,
        );
      }
      if (length > bytes.byteLength)
        throw this.malformed(`length at offset ${offset} exceeds the input`);
      if (this.der && (length < 0x80 || (bytes[position - count] ?? 0) === 0)) {
        throw this.malformed(`non-minimal length at offset ${offset} is not DER`);
      }
    }
    const contentOffset = position;
    if (length > limit - contentOffset) {
      throw this.malformed(
        `${tagName({ tagClass, tagNumber })} at offset ${offset} declares ${length} bytes, ${limit - contentOffset} remain`,
      );
    }
    return {
      tagClass,
      constructed,
      tagNumber,
      offset,
      contentOffset,
      contentLength: length,
      end: contentOffset + length,
      indefinite: false,
      depth,
    };
  }

  /** Walks the children of an indefinite-length element to its end-of-contents. */
  private indefiniteEnd(contentOffset: number, limit: number, depth: number, at: number): number {
    const known = this.indefiniteEnds.get(contentOffset);
    if (known !== undefined) {
      if (known > limit) throw this.malformed(`element at offset ${at} runs past its parent`);
      return known;
    }
    const bytes = this.bytes;
    let position = contentOffset;
    for (;;) {
      if (position + 2 > limit) {
        throw this.malformed(`missing end-of-contents for the element at offset ${at}`);
      }
      if (bytes[position] === 0 && bytes[position + 1] === 0) {
        const end = position + 2;
        this.indefiniteEnds.set(contentOffset, end);
        return end;
      }
      position = this.readAt(position, limit, depth + 1).end;
    }
  }
}

/** Walks a constructed element's children in order (SEQUENCE fields). */
export class FieldCursor {
  private readonly iterator: Generator<Tlv, void, undefined>;
  private pending: Tlv | undefined;
  private done = false;

  constructor(
    private readonly reader: BerReader,
    parent: Tlv,
    private readonly typeName: string,
  ) {
    this.iterator = reader.children(parent);
    this.advance();
  }

  private advance(): void {
    if (this.done) return;
    const step = this.iterator.next();
    if (step.done) {
      this.done = true;
      this.pending = undefined;
    } else {
      this.pending = step.value;
    }
  }

  /** The next field, which must match `spec`. */
  next(spec: TagSpec, field = tagName(spec)): Tlv {
    const tlv = this.pending;
    if (!tlv) throw this.reader.malformed(`${this.typeName}: ${field} missing`);
    this.reader.expect(tlv, spec, `${this.typeName}.${field}`);
    this.advance();
    return tlv;
  }

  /** The next field whatever its tag (ANY, CHOICE); throws when none is left. */
  any(field: string): Tlv {
    const tlv = this.pending;
    if (!tlv) throw this.reader.malformed(`${this.typeName}: ${field} missing`);
    this.advance();
    return tlv;
  }

  /** The next field if it matches `spec` (an OPTIONAL or DEFAULT field), else undefined. */
  optional(spec: TagSpec): Tlv | undefined {
    const tlv = this.pending;
    if (!tlv || !tagMatches(tlv, spec)) return undefined;
    this.advance();
    return tlv;
  }

  /** True if another field follows. */
  hasMore(): boolean {
    return this.pending !== undefined;
  }

  /** Asserts that no field is left. */
  end(): void {
    if (this.pending) {
      throw this.reader.malformed(`${this.typeName}: unexpected ${tagName(this.pending)}`);
    }
  }
}

/** Dotted text of OBJECT IDENTIFIER content octets; undefined if the encoding is invalid. */
export function decodeOid(content: Uint8Array): string | undefined {
  if (content.byteLength === 0 || content.byteLength > 256) return undefined;
  const arcs: string[] = [];
  let value = 0n;
  let started = false;
  for (const b of content) {
    if (!started && b === 0x80) return undefined; // non-minimal sub-identifier
    started = true;
    value = (value << 7n) | BigInt(b & 0x7f);
    if ((b & 0x80) !== 0) continue;
    if (arcs.length === 0) {
      const first = value < 40n ? 0n : value < 80n ? 1n : 2n;
      arcs.push(first.toString(), (value - first * 40n).toString());
    } else {
      arcs.push(value.toString());
    }
    value = 0n;
    started = false;
  }
  if (started) return undefined; // last sub-identifier unterminated
  return arcs.join('.');
}

/** An INTEGER's content octets as a number, if non-empty and within the safe range. */
export function decodeSmallInteger(content: Uint8Array): number | undefined {
  if (content.byteLength === 0 || content.byteLength > 6) return undefined;
  let unsigned = 0;
  for (const b of content) unsigned = unsigned * 256 + b;
  // Two's complement: a set high bit means negative.
  return ((content[0] ?? 0) & 0x80) !== 0 ? unsigned - 2 ** (8 * content.byteLength) : unsigned;
}

/**
 * An INTEGER's content octets without redundant leading octets (0x00 before a clear high
 * bit, 0xFF before a set one), so BER and DER encodings of one value compare equal.
 */
export function minimalIntegerOctets(content: Uint8Array): Uint8Array {
  let start = 0;
  while (start + 1 < content.byteLength) {
    const b = content[start] ?? 0;
    const next = content[start + 1] ?? 0;
    if ((b === 0x00 && (next & 0x80) === 0) || (b === 0xff && (next & 0x80) !== 0)) start += 1;
    else break;
  }
  return content.subarray(start);
}
