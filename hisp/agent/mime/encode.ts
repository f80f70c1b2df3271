/**
 * Encoders for building outbound MIME: canonical line endings, streaming base64 with line
 * breaks, folded header fields and RFC 2047 encoded-words.
 */
import type { ByteSource } from '../types.js';
import { malformed, tooBig } from './errors.js';

const LF = 0x0a;
const CR = 0x0d;

/**
 * Bare LF → CRLF; CRLF and bare CR untouched. Returns `data` itself (same object) when there
 * is no bare LF, so `toCrlf(x) === x` tells whether anything changed.
 */
export function toCrlf(data: Buffer): Buffer {
  let bare = 0;
  for (let lf = data.indexOf(LF); lf >= 0; lf = data.indexOf(LF, lf + 1)) {
    if (lf === 0 || data[lf - 1] !== CR) bare++;
  }
  if (bare === 0) return data;
  const out = Buffer.alloc(data.length + bare);
  let o = 0;
  let from = 0;
  for (let lf = data.indexOf(LF); lf >= 0; lf = data.indexOf(LF, lf + 1)) {
    if (lf > 0 && data[lf - 1] === CR) continue;
    o += data.copy(out, o, from, lf);
    out[o++] = CR;
    out[o++] = LF;
    from = lf + 1;
  }
  data.copy(out, o, from);
  return out;
}

/** Raw bytes encoded per step: a multiple of 3, so only the last step can need padding. */
const STEP = 3 * 16 * 1024;

/** Length of the base64Lines output for `n` input bytes. */
export function base64LinesLength(n: number, lineLength = 76): number {
  const chars = 4 * Math.ceil(n / 3);
  const lines = Math.ceil(chars / lineLength);
  return chars + 2 * Math.max(0, lines - 1);
}

/**
 * Base64 of `source` in lines of `lineLength` characters separated by CRLF. There is no CRLF
 * after the last line (the caller writes the line ending that follows, e.g. the one that
 * belongs to the next boundary), and empty input gives empty output. The length is known up
 * front; the input is read chunk by chunk and never concatenated: each chunk is encoded in
 * steps that are a multiple of 3 bytes, carrying at most 2 bytes to the next chunk.
 */
export function base64Lines(source: ByteSource, lineLength = 76): ByteSource {
  if (!Number.isInteger(lineLength) || lineLength < 1 || lineLength > 998)
    throw new RangeError('lineLength must be an integer from 1 to 998');
  return {
    length: base64LinesLength(source.length, lineLength),
    reiterable: source.reiterable,
    *chunks() {
      let column = 0;
      let consumed = 0;
      /** Lay base64 `text` out in lines, continuing the current line: byte copies, no strings. */
      const lay = (text: string): Buffer => {
        const b64 = Buffer.from(text, 'latin1');
        const n = b64.length;
        const room = lineLength - column;
        const breaks = n > room ? 1 + Math.floor((n - room - 1) / lineLength) : 0;
        const out = Buffer.allocUnsafe(n + 2 * breaks);
        let o = 0;
        let i = 0;
        while (i < n) {
          if (column === lineLength) {
            out[o++] = 0x0d;
            out[o++] = 0x0a;
            column = 0;
          }
          const take = Math.min(lineLength - column, n - i);
          o += b64.copy(out, o, i, i + take);
          column += take;
          i += take;
        }
        return out;
      };
      let carry = Buffer.alloc(0);
      for (const chunk of source.chunks()) {
        consumed += chunk.byteLength;
        let data = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        if (carry.length > 0) {
          const need = 3 - carry.length;
          if (data.length < need) {
            carry = Buffer.concat([carry, data]);
            continue;
          }
          yield lay(Buffer.concat([carry, data.subarray(0, need)]).toString('base64'));
          data = data.subarray(need);
        }
        const whole = data.length - (data.length % 3);
        for (let off = 0; off < whole; off += STEP)
          yield lay(data.subarray(off, Math.min(off + STEP, whole)).toString('base64'));
        // Copy the remainder: the source may reuse its chunk buffer.
        carry = Buffer.from(data.subarray(whole));
      }
      if (carry.length > 0) yield lay(carry.toString('base64'));
      if (consumed !== source.length)
        throw new Error(`byte source produced ${consumed} bytes, declared ${source.length}`);
    },
  };
}

// ── Header fields ───────────────────────────────────────────────────────────────────────────

const FIELD_NAME = /^[\x21-\x39\x3b-\x7e]+$/;
/** RFC 5322 §2.1.1: lines SHOULD be at most 78 characters and MUST be at most 998. */
const SOFT_LINE = 78;
const HARD_LINE = 998;

/**
 * `Name: value` folded for the wire, ending with CRLF: folds go before whitespace so lines
 * stay within 78 characters where a fold point exists (a single longer word stays whole).
 * The value is used as given (UTF-8 allowed, RFC 6532; use encodeHeaderWord for RFC 2047).
 * @throws TypeError for an invalid field name or a value with CR, LF or NUL (header
 * injection); HispError LIMIT_EXCEEDED when a word makes a line longer than 998 characters.
 */
export function foldHeader(name: string, value: string): string {
  if (!FIELD_NAME.test(name))
    throw new TypeError(`invalid header field name ${JSON.stringify(name.slice(0, 40))}`);
  if (/[\r\n\0]/.test(value)) throw new TypeError(`header ${name} value contains CR, LF or NUL`);
  const text = value.replace(/[ \t]+$/, '');
  const single = `${name}: ${text}`;
  if (single.length <= SOFT_LINE) return `${single}\r\n`;
  // Pieces: each starts with its whitespace (a fold point), the first with ": ".
  const words = text.split(/(?<=[^ \t])(?=[ \t])/);
  const lines: string[] = [];
  let line = `${name}:`;
  words.forEach((word, index) => {
    const piece = index === 0 ? ` ${word.replace(/^[ \t]+/, '')}` : word;
    if (
      line.length + piece.length > SOFT_LINE &&
      line.trim() !== `${name}:` &&
      line.trim() !== ''
    ) {
      lines.push(line);
      line = piece;
    } else {
      line += piece;
    }
  });
  lines.push(line);
  if (lines.some((l) => l.length > HARD_LINE))
    throw tooBig(`Header ${name} has a word too long for one line (over ${HARD_LINE} characters).`);
  return `${lines.join('\r\n')}\r\n`;
}

/**
 * Text for an unstructured header (Subject) or a display name: returned unchanged when it is
 * printable ASCII, else as RFC 2047 B-encoded UTF-8 encoded-words ("=?UTF-8?B?…?="), each at
 * most 75 characters and never splitting a character, separated by spaces (which decoders
 * drop between encoded-words).
 * @throws HispError MIME_MALFORMED for CR, LF or NUL in the text.
 */
export function encodeHeaderWord(text: string): string {
  if (/[\r\n\0]/.test(text)) throw malformed('Header text contains CR, LF or NUL.');
  if (/^[\x20-\x7e]*$/.test(text) && !/=\?.*\?=/.test(text)) return text;
  // 75 - "=?UTF-8?B?".length - "?=".length = 63 base64 characters → at most 45 bytes.
  const MAX_BYTES = 45;
  const words: string[] = [];
  let current = '';
  let bytes = 0;
  for (const char of text) {
    const size = Buffer.byteLength(char, 'utf8');
    if (bytes + size > MAX_BYTES && current !== '') {
      words.push(current);
      current = '';
      bytes = 0;
    }
    current += char;
    bytes += size;
  }
  if (current !== '') words.push(current);
  return words.map((w) => `=?UTF-8?B?${Buffer.from(w, 'utf8').toString('base64')}?=`).join(' ');
}
