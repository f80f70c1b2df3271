/**
 * Header fields (RFC 5322 §2.2, §3.6) and the MIME Content-Type / Content-Transfer-Encoding
 * fields (RFC 2045 §5-6, RFC 2231 parameter continuations and charsets), plus RFC 2047
 * encoded-word decoding for display text.
 *
 * Wire reading only: `readHeaderBlock` walks bytes and returns where each field is; nothing
 * here knows about multiparts.
 */
import { isUtf8 } from 'node:buffer';

import { malformed, tooBig } from './errors.js';
import type { MimeLimits } from './limits.js';

/** One header field: name as written, value unfolded and trimmed, exact bytes. */
export interface MimeHeader {
  /** The field name exactly as written (case kept). */
  readonly name: string;
  /** The value: folds removed (CRLF/LF before whitespace), leading and trailing whitespace
   * trimmed, decoded as UTF-8 (RFC 6532) when valid, else Latin-1. Encoded-words are left
   * as they are (see decodeEncodedWords). */
  readonly value: string;
  /** The field's exact bytes, from its name to the end of its last line's line ending. */
  readonly raw: Buffer;
}

/** Anything with headers: a MimeEntity, or just its header list. */
export interface HasHeaders {
  readonly headers: readonly MimeHeader[];
}

/** The first field named `name` (case-insensitive), or undefined. */
export function headerValue(entity: HasHeaders, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const header of entity.headers)
    if (header.name.toLowerCase() === wanted) return header.value;
  return undefined;
}

/** Every field named `name` (case-insensitive), in order. */
export function headerValues(entity: HasHeaders, name: string): string[] {
  const wanted = name.toLowerCase();
  return entity.headers.filter((h) => h.name.toLowerCase() === wanted).map((h) => h.value);
}

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const HT = 0x09;
const COLON = 0x3a;

export interface HeaderBlock {
  readonly headers: MimeHeader[];
  /** Offset where the header fields end (the blank line, or `end` when there is none). */
  readonly headerEnd: number;
  /** Offset where the body starts (after the blank line). */
  readonly bodyStart: number;
}

/**
 * Read the header block of the entity at buf[start, end): fields up to the first empty line
 * (CRLF or bare LF). With no empty line, every line must be a header field and the body is
 * empty (a message of headers only; a multipart part "--b\r\nContent-Type: x\r\n--b").
 *
 * @throws HispError LIMIT_EXCEEDED (a line, the block, or the field count over the bound);
 * MIME_MALFORMED (a line that is not a field, a continuation before any field, a NUL byte).
 */
export function readHeaderBlock(
  buf: Buffer,
  start: number,
  end: number,
  limits: MimeLimits,
): HeaderBlock {
  const headers: MimeHeader[] = [];
  let pos = start;
  let fieldStart = -1;
  let fieldNameEnd = -1;
  let fieldColon = -1;
  let fieldContentEnd = -1;
  let lineNo = 0;

  const finishField = (rawEnd: number): void => {
    if (fieldStart < 0) return;
    headers.push({
      name: buf.toString('latin1', fieldStart, fieldNameEnd),
      value: unfoldValue(buf.subarray(fieldColon + 1, fieldContentEnd)),
      raw: buf.subarray(fieldStart, rawEnd),
    });
    fieldStart = -1;
  };

  while (pos < end) {
    lineNo += 1;
    // Find the line end without scanning further than a line may be long.
    const window = Math.min(end, pos + limits.headerLineBytes + 2);
    let lf = buf.indexOf(LF, pos);
    if (lf >= window) lf = -1;
    let contentEnd: number;
    let next: number;
    if (lf < 0) {
      if (window < end)
        throw tooBig(`Header line ${lineNo} is longer than ${limits.headerLineBytes} bytes.`);
      contentEnd = end;
      next = end;
    } else {
      contentEnd = lf > pos && buf[lf - 1] === CR ? lf - 1 : lf;
      next = lf + 1;
    }
    if (contentEnd - pos > limits.headerLineBytes)
      throw tooBig(`Header line ${lineNo} is longer than ${limits.headerLineBytes} bytes.`);
    if (contentEnd === pos) {
      // The empty line: end of the header block.
      finishField(pos);
      return { headers, headerEnd: pos, bodyStart: next };
    }
    if (next - start > limits.headerBytes)
      throw tooBig(`The header block is larger than ${limits.headerBytes} bytes.`);
    if (buf.subarray(pos, contentEnd).includes(0))
      throw malformed(`Header line ${lineNo} contains a NUL byte.`);
    let fieldPos = pos;
    if (lineNo === 1) {
      // Leading whitespace before the first field is skipped (java-ri EncryptedMessage.txt
      // starts with " Received:"); a first line of only whitespace is still malformed.
      while (fieldPos < contentEnd && (buf[fieldPos] === SP || buf[fieldPos] === HT)) fieldPos++;
      if (fieldPos === contentEnd)
        throw malformed('The header block starts with a line of only whitespace.');
    }
    const first = buf[fieldPos];
    if (first === SP || first === HT) {
      if (fieldStart < 0) throw malformed('The header block starts with a continuation line.');
      fieldContentEnd = contentEnd;
    } else {
      finishField(pos);
      const colon = buf.subarray(fieldPos, contentEnd).indexOf(COLON);
      if (colon <= 0) throw malformed(`Header line ${lineNo} is not a header field (no "name:").`);
      // obs-optional: whitespace between the name and the colon is tolerated and dropped.
      let nameEnd = fieldPos + colon;
      while (nameEnd > fieldPos && (buf[nameEnd - 1] === SP || buf[nameEnd - 1] === HT)) nameEnd--;
      for (let i = fieldPos; i < nameEnd; i++) {
        const c = buf[i] ?? 0;
        if (c < 0x21 || c > 0x7e)
          throw malformed(`Header line ${lineNo} has an invalid field name.`);
      }
      if (headers.length + 1 > limits.headerFields)
        throw tooBig(`The header block has more than ${limits.headerFields} fields.`);
      fieldStart = fieldPos;
      fieldNameEnd = nameEnd;
      fieldColon = fieldPos + colon;
      fieldContentEnd = contentEnd;
    }
    pos = next;
  }
  finishField(end);
  return { headers, headerEnd: end, bodyStart: end };
}

/** Remove folds (a line ending before whitespace), trim, decode. */
function unfoldValue(bytes: Buffer): string {
  let text = isUtf8(bytes) ? bytes.toString('utf8') : bytes.toString('latin1');
  if (text.includes('\n')) text = text.replace(/\r?\n(?=[ \t])/g, '');
  return text.replace(/^[ \t]+|[ \t]+$/g, '');
}

// ── Content-Type (RFC 2045 §5.1, RFC 2231) ──────────────────────────────────────────────────

export interface ContentType {
  /** Lowercased type ("multipart"). */
  readonly type: string;
  /** Lowercased subtype ("signed"). */
  readonly subtype: string;
  /** `type/subtype`, lowercased. */
  readonly mediaType: string;
  /** Parameters: names lowercased, values unquoted; RFC 2231 continuations joined and
   * charset-decoded. A null-prototype record. */
  readonly params: Readonly<Record<string, string>>;
  /** False when the field was absent or unparseable and the RFC 2045 default applies. */
  readonly explicit: boolean;
}

const TSPECIALS = new Set('()<>@,;:\\"/[]?='.split(''));

/** A small RFC 2045 tokenizer over a header value (comments skipped). */
class Scanner {
  pos = 0;
  constructor(readonly text: string) {}

  skipCfws(): void {
    for (;;) {
      const c = this.text[this.pos];
      if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
        this.pos++;
      } else if (c === '(') {
        this.skipComment();
      } else {
        return;
      }
    }
  }

  private skipComment(): void {
    let depth = 0;
    while (this.pos < this.text.length) {
      const c = this.text[this.pos++];
      if (c === '\\') this.pos++;
      else if (c === '(') depth++;
      else if (c === ')' && --depth === 0) return;
    }
  }

  token(): string {
    const start = this.pos;
    while (this.pos < this.text.length) {
      const c = this.text[this.pos] ?? '';
      const code = c.charCodeAt(0);
      if (code <= 0x20 || code === 0x7f || TSPECIALS.has(c)) break;
      this.pos++;
    }
    return this.text.slice(start, this.pos);
  }

  /** A quoted-string (the opening quote is at pos); an unterminated one runs to the end. */
  quoted(): string {
    this.pos++;
    let out = '';
    while (this.pos < this.text.length) {
      const c = this.text[this.pos++] ?? '';
      if (c === '"') return out;
      if (c === '\\' && this.pos < this.text.length) out += this.text[this.pos++] ?? '';
      else out += c;
    }
    return out;
  }

  peek(): string | undefined {
    return this.text[this.pos];
  }
}

/** The RFC 2045 default, or multipart/digest's message/rfc822. */
export function defaultContentType(digestParent: boolean): ContentType {
  return digestParent
    ? {
        type: 'message',
        subtype: 'rfc822',
        mediaType: 'message/rfc822',
        params: Object.create(null) as Record<string, string>,
        explicit: false,
      }
    : {
        type: 'text',
        subtype: 'plain',
        mediaType: 'text/plain',
        params: Object.assign(Object.create(null) as Record<string, string>, {
          charset: 'us-ascii',
        }),
        explicit: false,
      };
}

/**
 * Parse a Content-Type value. A syntactically invalid type/subtype gives undefined (the
 * caller applies the RFC 2045 §5.2 default); a broken parameter is skipped.
 * @throws HispError MIME_MALFORMED when `boundary` is given twice with different values (two
 * parsers could then split the message differently).
 */
export function parseContentType(value: string): ContentType | undefined {
  const s = new Scanner(value);
  s.skipCfws();
  const type = s.token().toLowerCase();
  s.skipCfws();
  if (type === '' || s.peek() !== '/') return undefined;
  s.pos++;
  s.skipCfws();
  const subtype = s.token().toLowerCase();
  if (subtype === '') return undefined;
  const raw: [string, string][] = [];
  for (;;) {
    s.skipCfws();
    if (s.pos >= value.length) break;
    if (s.peek() !== ';') {
      // Junk between parameters: skip to the next ';'.
      const next = value.indexOf(';', s.pos);
      if (next < 0) break;
      s.pos = next;
    }
    s.pos++;
    s.skipCfws();
    const name = s.token().toLowerCase();
    s.skipCfws();
    if (name === '' || s.peek() !== '=') continue;
    s.pos++;
    s.skipCfws();
    const paramValue = s.peek() === '"' ? s.quoted() : s.token();
    raw.push([name, paramValue]);
  }
  return {
    type,
    subtype,
    mediaType: `${type}/${subtype}`,
    params: assembleParams(raw),
    explicit: true,
  };
}

/** RFC 2231: name*=charset'lang'%XX, name*0=..., name*1*=...; plain names first-wins. */
function assembleParams(raw: readonly [string, string][]): Record<string, string> {
  const params = Object.create(null) as Record<string, string>;
  const plainBoundaries = new Set<string>();
  const sections = new Map<string, Map<number, { value: string; extended: boolean }>>();
  const extendedSingle = new Map<string, string>();
  for (const [name, value] of raw) {
    const match = /^([^*]+)\*(?:(\d{1,3})(\*)?)?$/.exec(name);
    if (match === null) {
      if (name === 'boundary') plainBoundaries.add(value);
      if (!(name in params)) params[name] = value;
      continue;
    }
    const base = match[1] ?? name;
    if (match[2] === undefined) {
      if (!extendedSingle.has(base)) extendedSingle.set(base, value);
      continue;
    }
    const index = Number(match[2]);
    let parts = sections.get(base);
    if (parts === undefined) {
      parts = new Map();
      sections.set(base, parts);
    }
    if (!parts.has(index)) parts.set(index, { value, extended: match[3] === '*' });
  }
  if (plainBoundaries.size > 1) throw malformed('The Content-Type names two different boundaries.');
  for (const [base, parts] of sections) {
    let charset = 'us-ascii';
    let joined = '';
    for (let i = 0; parts.has(i); i++) {
      const part = parts.get(i);
      if (part === undefined) break;
      if (!part.extended) {
        joined += part.value;
        continue;
      }
      let text = part.value;
      if (i === 0) {
        const split = splitCharset(text);
        charset = split.charset;
        text = split.text;
      }
      joined += percentDecode(text, charset);
    }
    params[base] = joined;
  }
  for (const [base, value] of extendedSingle) {
    const { charset, text } = splitCharset(value);
    params[base] = percentDecode(text, charset);
  }
  return params;
}

function splitCharset(value: string): { charset: string; text: string } {
  const first = value.indexOf("'");
  const second = first < 0 ? -1 : value.indexOf("'", first + 1);
  if (second < 0) return { charset: 'us-ascii', text: value };
  return { charset: value.slice(0, first) || 'us-ascii', text: value.slice(second + 1) };
}

function percentDecode(text: string, charset: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '%' && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(text.charCodeAt(i) & 0xff);
    }
  }
  return decodeCharset(Buffer.from(bytes), charset);
}

/** Bytes in a named charset; unknown charsets fall back to UTF-8 (with replacement). */
export function decodeCharset(bytes: Buffer, charset: string): string {
  const name = charset.toLowerCase();
  if (name === 'us-ascii' || name === 'ascii' || name === 'utf-8' || name === 'utf8')
    return bytes.toString('utf8');
  try {
    return new TextDecoder(name).decode(bytes);
  } catch {
    return bytes.toString('utf8');
  }
}

/** Content-Transfer-Encoding, lowercased, comments and whitespace removed; '7bit' if absent. */
export function parseTransferEncoding(value: string | undefined): string {
  if (value === undefined) return '7bit';
  const s = new Scanner(value);
  s.skipCfws();
  const token = s.token().toLowerCase();
  return token === '' ? '7bit' : token;
}

// ── RFC 2047 encoded-words ──────────────────────────────────────────────────────────────────

const ENCODED_WORD = /=\?([^?\s*]+)(?:\*[^?\s]*)?\?([bBqQ])\?([^?\s]*)\?=/g;

/**
 * Decode RFC 2047 encoded-words in display text (Subject, display names). Whitespace between
 * two adjacent encoded-words is dropped (§6.2); malformed words are left as written.
 */
export function decodeEncodedWords(text: string): string {
  if (!text.includes('=?')) return text;
  const joined = text.replace(/(\?=)[ \t\r\n]+(?==\?[^?\s]+\?[bBqQ]\?)/g, '$1');
  return joined.replace(ENCODED_WORD, (word, charset: string, encoding: string, data: string) => {
    let bytes: Buffer;
    if (encoding.toLowerCase() === 'b') {
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(data)) return word;
      bytes = Buffer.from(data, 'base64');
    } else {
      const out: number[] = [];
      for (let i = 0; i < data.length; i++) {
        const c = data[i];
        if (c === '_') out.push(0x20);
        else if (c === '=' && /^[0-9a-fA-F]{2}$/.test(data.slice(i + 1, i + 3))) {
          out.push(parseInt(data.slice(i + 1, i + 3), 16));
          i += 2;
        } else out.push(data.charCodeAt(i) & 0xff);
      }
      bytes = Buffer.from(out);
    }
    return decodeCharset(bytes, charset);
  });
}
