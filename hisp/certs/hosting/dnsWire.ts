/**
 * DNS wire format for the authoritative responder: reading one query (RFC 1035 §4.1, the EDNS0
 * OPT record of RFC 6891 §6) and writing a response with name compression (RFC 1035 §4.1.4).
 *
 * The query comes from the network, so reading is strict and bounded by the packet: one
 * question, no answer or authority records, at most one OPT (root owner, well-formed
 * options), no compression pointer inside the question, no bytes after the last record.
 * Anything else is a FORMERR when the header could be read, or a silent drop when it could
 * not (or when the packet is a response: answering responses invites loops). Nothing here
 * throws on hostile input.
 */

export const TYPE = {
  A: 1,
  NS: 2,
  SOA: 6,
  HINFO: 13,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  CERT: 37,
  OPT: 41,
  TKEY: 249,
  TSIG: 250,
  IXFR: 251,
  AXFR: 252,
  MAILB: 253,
  MAILA: 254,
  ANY: 255,
} as const;

const TYPE_NAMES = new Map<number, string>(
  Object.entries(TYPE).map(([name, code]) => [code, name]),
);

/** A record type as text: its mnemonic, or TYPEnnn (RFC 3597). */
export function typeName(type: number): string {
  return TYPE_NAMES.get(type) ?? `TYPE${type}`;
}

export const CLASS_IN = 1;

export const RCODE = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  /** Extended (RFC 6891 §9): upper 8 bits in the OPT record, lower 4 in the header. */
  BADVERS: 16,
} as const;
export type RcodeName = keyof typeof RCODE;

export const FLAG = {
  QR: 0x8000,
  AA: 0x0400,
  TC: 0x0200,
  RD: 0x0100,
  RA: 0x0080,
  AD: 0x0020,
  CD: 0x0010,
} as const;

export const HEADER_BYTES = 12;
/** RFC 1035 §2.3.4. */
export const MAX_LABEL_BYTES = 63;
/** Wire length of a name, length octets and the root label included. */
export const MAX_NAME_BYTES = 255;
/** RFC 1035 §4.2.1: UDP without EDNS. */
export const PLAIN_UDP_BYTES = 512;
/** The largest DNS message (the TCP length prefix is 16 bits). */
export const MAX_MESSAGE_BYTES = 0xffff;

/** A domain name as wire labels (no root label); case as written. */
export type Name = readonly Buffer[];

export interface Question {
  readonly name: Name;
  readonly type: number;
  readonly qclass: number;
  /** The question section exactly as received (name, type, class): echoed byte for byte. */
  readonly raw: Buffer;
}

export interface Edns {
  /** The requester's UDP payload size (RFC 6891 §6.2.3), as sent. */
  readonly udpSize: number;
  readonly version: number;
}

export interface QueryHeader {
  readonly id: number;
  readonly flags: number;
  readonly opcode: number;
}

export type ParsedQuery =
  | {
      readonly kind: 'query';
      readonly header: QueryHeader;
      readonly question: Question;
      readonly edns: Edns | undefined;
    }
  /** Opcode other than QUERY. */
  | { readonly kind: 'notimp'; readonly header: QueryHeader }
  | { readonly kind: 'formerr'; readonly header: QueryHeader; readonly reason: string }
  | { readonly kind: 'drop'; readonly reason: string };

class Malformed extends Error {}

/** Fold ASCII letters only (RFC 4343); other bytes compare as they are. */
export function foldLabel(label: Buffer): string {
  return label.toString('latin1').replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/**
 * A name in master-file presentation form (RFC 1035 §5.1): printable ASCII as it is, '.' and
 * '\' escaped, other bytes as \DDD; no trailing dot. Every byte has exactly one form, so the
 * folded presentation is also a lookup key.
 */
export function presentName(name: Name, fold = false): string {
  if (name.length === 0) return '.';
  return name
    .map((label) => {
      let out = '';
      for (const byte of label) {
        let b = byte;
        if (fold && b >= 0x41 && b <= 0x5a) b += 0x20;
        if (b === 0x2e || b === 0x5c) out += `\\${String.fromCharCode(b)}`;
        else if (b > 0x20 && b < 0x7f) out += String.fromCharCode(b);
        else out += `\\${b.toString().padStart(3, '0')}`;
      }
      return out;
    })
    .join('.');
}

/** The lookup key of a name: folded presentation form. */
export function nameKey(name: Name): string {
  return presentName(name, true);
}

/** `name` is `ancestor` or below it (labels compared case-insensitively). */
export function isAtOrBelow(name: Name, ancestor: Name): boolean {
  if (ancestor.length > name.length) return false;
  const offset = name.length - ancestor.length;
  return ancestor.every((label, i) => {
    const other = name[offset + i];
    return other !== undefined && foldLabel(other) === foldLabel(label);
  });
}

/** Wire length of a name without compression. */
export function nameWireBytes(name: Name): number {
  return name.reduce((sum, label) => sum + label.length + 1, 1);
}

/**
 * A name from text ("mail.example.org", trailing dot optional; "." or "" is the root).
 * Labels are UTF-8; the caller has normalised IDNs. Returns a reason string when the text is
 * not a usable DNS name.
 */
export function nameFromText(text: string): Name | string {
  const trimmed = text.endsWith('.') ? text.slice(0, -1) : text;
  if (trimmed === '') return [];
  const labels = trimmed.split('.').map((label) => Buffer.from(label, 'utf8'));
  for (const label of labels) {
    if (label.length === 0) return 'it has an empty label';
    if (label.length > MAX_LABEL_BYTES) return `a label is longer than ${MAX_LABEL_BYTES} bytes`;
  }
  if (nameWireBytes(labels) > MAX_NAME_BYTES) {
    return `it is longer than ${MAX_NAME_BYTES} bytes`;
  }
  return labels;
}

// ── Reading a query ──────────────────────────────────────────────────────────────────────

/** Read an uncompressed name at `offset` (a question name): labels and the next offset. */
function readPlainName(buf: Buffer, offset: number): { name: Buffer[]; next: number } {
  const labels: Buffer[] = [];
  let at = offset;
  let wire = 1;
  for (;;) {
    const length = buf[at];
    if (length === undefined) throw new Malformed('the question name runs past the end');
    if (length === 0) return { name: labels, next: at + 1 };
    if ((length & 0xc0) !== 0) {
      throw new Malformed('the question name is compressed or uses an unknown label type');
    }
    wire += length + 1;
    if (wire > MAX_NAME_BYTES) throw new Malformed('the question name is too long');
    if (at + 1 + length > buf.length) throw new Malformed('the question name runs past the end');
    labels.push(buf.subarray(at + 1, at + 1 + length));
    at += 1 + length;
  }
}

/** Skip a possibly compressed name in a record: the next offset, and whether it was the root. */
function skipName(buf: Buffer, offset: number): { next: number; root: boolean } {
  let at = offset;
  let wire = 1;
  for (;;) {
    const length = buf[at];
    if (length === undefined) throw new Malformed('a record name runs past the end');
    if (length === 0) return { next: at + 1, root: at === offset };
    if ((length & 0xc0) === 0xc0) {
      const low = buf[at + 1];
      if (low === undefined) throw new Malformed('a compression pointer runs past the end');
      // A pointer may only refer to an earlier name (RFC 1035 §4.1.4).
      if ((((length & 0x3f) << 8) | low) >= offset) {
        throw new Malformed('a compression pointer points forward');
      }
      return { next: at + 2, root: false };
    }
    if ((length & 0xc0) !== 0) throw new Malformed('a record name uses an unknown label type');
    wire += length + 1;
    if (wire > MAX_NAME_BYTES) throw new Malformed('a record name is too long');
    at += 1 + length;
  }
}

function checkOptions(rdata: Buffer): void {
  let at = 0;
  while (at < rdata.length) {
    if (at + 4 > rdata.length) throw new Malformed('an EDNS option header runs past the OPT');
    const length = rdata.readUInt16BE(at + 2);
    at += 4 + length;
    if (at > rdata.length) throw new Malformed('an EDNS option runs past the OPT');
  }
}

/** Parse one query. Never throws. */
export function parseQuery(buf: Buffer): ParsedQuery {
  if (buf.length < HEADER_BYTES) return { kind: 'drop', reason: 'shorter than a DNS header' };
  const id = buf.readUInt16BE(0);
  const flags = buf.readUInt16BE(2);
  const opcode = (flags >> 11) & 0x0f;
  const header: QueryHeader = { id, flags, opcode };
  if ((flags & FLAG.QR) !== 0) return { kind: 'drop', reason: 'a response, not a query' };
  if (opcode !== 0) return { kind: 'notimp', header };
  const qdcount = buf.readUInt16BE(4);
  const ancount = buf.readUInt16BE(6);
  const nscount = buf.readUInt16BE(8);
  const arcount = buf.readUInt16BE(10);
  try {
    if (qdcount !== 1) throw new Malformed(`${qdcount} questions (one is answered)`);
    if (ancount !== 0 || nscount !== 0) {
      throw new Malformed('a query with answer or authority records');
    }
    const { name, next } = readPlainName(buf, HEADER_BYTES);
    if (next + 4 > buf.length) throw new Malformed('the question runs past the end');
    const question: Question = {
      name,
      type: buf.readUInt16BE(next),
      qclass: buf.readUInt16BE(next + 2),
      raw: buf.subarray(HEADER_BYTES, next + 4),
    };
    let at = next + 4;
    let edns: Edns | undefined;
    for (let i = 0; i < arcount; i++) {
      const owner = skipName(buf, at);
      at = owner.next;
      if (at + 10 > buf.length) throw new Malformed('an additional record runs past the end');
      const type = buf.readUInt16BE(at);
      const rclass = buf.readUInt16BE(at + 2);
      const ttl = buf.readUInt32BE(at + 4);
      const rdlength = buf.readUInt16BE(at + 8);
      at += 10;
      if (at + rdlength > buf.length) throw new Malformed('an additional record runs past the end');
      if (type === TYPE.OPT) {
        if (edns !== undefined) throw new Malformed('more than one OPT record');
        if (!owner.root) throw new Malformed('an OPT record not owned by the root');
        checkOptions(buf.subarray(at, at + rdlength));
        edns = { udpSize: rclass, version: (ttl >>> 16) & 0xff };
      }
      // Other additional records (TSIG, SIG(0)) are not used.
      at += rdlength;
    }
    if (at !== buf.length) throw new Malformed('bytes after the last record');
    return { kind: 'query', header, question, edns };
  } catch (error) {
    if (error instanceof Malformed) return { kind: 'formerr', header, reason: error.message };
    throw error;
  }
}

// ── Writing a response ───────────────────────────────────────────────────────────────────

/** A piece of rdata: raw bytes, or a name (compressed only where RFC 3597 §4 allows it). */
export type RdataPart = Buffer | { readonly name: Name; readonly compress: boolean };

export interface ResourceRecord {
  readonly owner: Name;
  readonly type: number;
  /** CLASS_IN, or the UDP size for OPT. */
  readonly rclass: number;
  readonly ttl: number;
  readonly rdata: readonly RdataPart[];
}

export interface ResponseParts {
  readonly id: number;
  /** Header flags including the low 4 rcode bits (count fields are computed). */
  readonly flags: number;
  readonly question: Question | undefined;
  readonly answers: readonly ResourceRecord[];
  readonly authority: readonly ResourceRecord[];
  readonly additional: readonly ResourceRecord[];
}

class TooBig extends Error {}

class Writer {
  #buf: Buffer;
  #length = 0;
  readonly #max: number;
  /** Folded suffix key -> offset of a name already written (compression targets). */
  readonly #names = new Map<string, number>();

  constructor(max: number) {
    this.#max = max;
    this.#buf = Buffer.alloc(Math.min(max, PLAIN_UDP_BYTES));
  }

  get length(): number {
    return this.#length;
  }

  #reserve(bytes: number): number {
    const at = this.#length;
    const end = at + bytes;
    if (end > this.#max) throw new TooBig();
    if (end > this.#buf.length) {
      const bigger = Buffer.alloc(Math.min(this.#max, Math.max(end, this.#buf.length * 2)));
      this.#buf.copy(bigger, 0, 0, this.#length);
      this.#buf = bigger;
    }
    this.#length = end;
    return at;
  }

  // #reserve may replace #buf: take the offset before touching the buffer.
  u8(value: number): void {
    const at = this.#reserve(1);
    this.#buf.writeUInt8(value, at);
  }
  u16(value: number): void {
    const at = this.#reserve(2);
    this.#buf.writeUInt16BE(value, at);
  }
  u32(value: number): void {
    const at = this.#reserve(4);
    this.#buf.writeUInt32BE(value >>> 0, at);
  }
  bytes(data: Buffer): void {
    const at = this.#reserve(data.length);
    data.copy(this.#buf, at);
  }
  patchU16(at: number, value: number): void {
    this.#buf.writeUInt16BE(value, at);
  }

  /** Remember where the suffixes of a name written at `offset` start (the first `count`
   * labels were written in full; the rest, if any, is a pointer). */
  remember(name: Name, offset: number, count = name.length): void {
    let at = offset;
    for (let i = 0; i < count; i++) {
      const key = nameKey(name.slice(i));
      if (at > 0x3fff) return;
      if (!this.#names.has(key)) this.#names.set(key, at);
      at += (name[i]?.length ?? 0) + 1;
    }
  }

  name(name: Name, compress: boolean): void {
    const start = this.#length;
    for (let i = 0; i < name.length; i++) {
      if (compress) {
        const target = this.#names.get(nameKey(name.slice(i)));
        if (target !== undefined) {
          this.u16(0xc000 | target);
          this.remember(name, start, i);
          return;
        }
      }
      const label = name[i] ?? Buffer.alloc(0);
      this.u8(label.length);
      this.bytes(label);
    }
    this.u8(0);
    this.remember(name, start);
  }

  record(rr: ResourceRecord): void {
    this.name(rr.owner, true);
    this.u16(rr.type);
    this.u16(rr.rclass);
    this.u32(rr.ttl);
    const lengthAt = this.#length;
    this.u16(0);
    for (const part of rr.rdata) {
      if (Buffer.isBuffer(part)) this.bytes(part);
      else this.name(part.name, part.compress);
    }
    this.patchU16(lengthAt, this.#length - lengthAt - 2);
  }

  done(): Buffer {
    return Buffer.from(this.#buf.subarray(0, this.#length));
  }
}

/**
 * The response as bytes, or undefined when it does not fit in `maxBytes`. The question is
 * written exactly as it was received; later names that repeat its suffixes point to it.
 */
export function encodeResponse(parts: ResponseParts, maxBytes: number): Buffer | undefined {
  const writer = new Writer(Math.min(maxBytes, MAX_MESSAGE_BYTES));
  try {
    writer.u16(parts.id);
    writer.u16(parts.flags);
    writer.u16(parts.question === undefined ? 0 : 1);
    writer.u16(parts.answers.length);
    writer.u16(parts.authority.length);
    writer.u16(parts.additional.length);
    if (parts.question !== undefined) {
      writer.remember(parts.question.name, writer.length);
      writer.bytes(parts.question.raw);
    }
    for (const rr of parts.answers) writer.record(rr);
    for (const rr of parts.authority) writer.record(rr);
    for (const rr of parts.additional) writer.record(rr);
    return writer.done();
  } catch (error) {
    if (error instanceof TooBig) return undefined;
    throw error;
  }
}
