/**
 * The MIME entity parser (RFC 5322, RFC 2045, RFC 2046) for the security agent. Signatures
 * are over exact bytes, so every entity keeps views (`subarray`, never copies) of its exact
 * bytes in the input: `raw` = `headerBytes` + `separator` + `body`.
 *
 * Multipart (RFC 2046 §5.1.1): a delimiter is "--" boundary at the start of a line, then
 * optional "--" (the close delimiter), then transport padding (spaces, tabs), then the line
 * ending. The line ending *before* a delimiter belongs to the delimiter, so a child's `raw`
 * runs from just after the delimiter line to just before the CRLF (or LF) that precedes the
 * next delimiter. A line that starts with "--" boundary but goes on with other characters is
 * content, not a delimiter.
 *
 * Tolerated, because real senders do it (each documented on the field that shows it):
 * - bare LF line endings, or a mix, anywhere (bytes are never rewritten);
 * - no close delimiter: the last part runs to the end (`missingCloseDelimiter: true`);
 * - an empty multipart (only a close delimiter): no children;
 * - "--b" immediately followed by "--b" (no CRLF between): an empty part;
 * - whitespace between a field name and its colon; an unparseable Content-Type (the RFC 2045
 *   default text/plain applies, `contentType.explicit: false`);
 * - a header block with no blank line after it when every line is a field (empty body).
 * Refused (MIME_MALFORMED): a multipart whose boundary never appears, a multipart without a
 * boundary or with base64/quoted-printable encoding, a non-field line in a header block, NUL
 * in headers, two different Content-Type or Content-Transfer-Encoding fields, two different
 * boundary parameters. Bounds (LIMIT_EXCEEDED): MimeLimits.
 *
 * message/rfc822 bodies are not parsed automatically: the caller decides, with
 * parseEmbeddedMessage (which counts the level towards the depth bound).
 */
import { malformed, tooBig } from './errors.js';
import {
  defaultContentType,
  headerValues,
  parseContentType,
  parseTransferEncoding,
  readHeaderBlock,
  type ContentType,
  type MimeHeader,
} from './headers.js';
import { withDefaults, type MimeLimits } from './limits.js';

export interface MimeEntity {
  readonly headers: readonly MimeHeader[];
  /** The entity's exact bytes: header block, separator and body (a view of the input). */
  readonly raw: Buffer;
  /** The header fields' exact bytes, including the last field's line ending. */
  readonly headerBytes: Buffer;
  /** The blank line between header and body: "\r\n", "\n", or empty when there is none. */
  readonly separator: Buffer;
  /** The exact body bytes, still transfer-encoded (see decodeBody). */
  readonly body: Buffer;
  readonly contentType: ContentType;
  /** Content-Transfer-Encoding, lowercased; '7bit' when absent. */
  readonly transferEncoding: string;
  /** The body parts of a multipart; empty for anything else. */
  readonly children: readonly MimeEntity[];
  /** Multipart only: the bytes before the first delimiter (without the line ending that
   * belongs to the delimiter). */
  readonly preamble?: Buffer;
  /** Multipart only: the bytes after the close delimiter line (empty when there is none). */
  readonly epilogue?: Buffer;
  /** Multipart only: true when the close delimiter ("--boundary--") never came and the
   * last part was taken to run to the end of the body. */
  readonly missingCloseDelimiter: boolean;
  /** Nesting level: 0 for the message, +1 per multipart or parsed message/rfc822. */
  readonly depth: number;
}

interface Context {
  readonly limits: MimeLimits;
  parts: number;
}

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const HT = 0x09;
const DASH = 0x2d;

/**
 * Parse a message (or any MIME entity) from its exact bytes.
 * @param limits bounds, each defaulting to AGENT_LIMITS.
 * @param depth the nesting level of this entity (parseEmbeddedMessage passes parent + 1).
 * @throws HispError MIME_MALFORMED or LIMIT_EXCEEDED (see the module comment).
 */
export function parseMime(data: Buffer, limits?: Partial<MimeLimits>, depth = 0): MimeEntity {
  const bounds = withDefaults(limits);
  if (data.length > bounds.messageBytes)
    throw tooBig(`The message is larger than ${bounds.messageBytes} bytes.`);
  if (depth > bounds.mimeDepth)
    throw tooBig(`The message is nested more than ${bounds.mimeDepth} levels deep.`);
  return parseEntity(data, 0, data.length, depth, { limits: bounds, parts: 1 }, false);
}

/**
 * Parse the body of a message/rfc822 entity as a message, one level deeper.
 * @throws HispError MIME_MALFORMED if `entity` is not message/rfc822 or its body is encoded
 * with something other than 7bit/8bit/binary (RFC 2046 §5.2.1 forbids it).
 */
export function parseEmbeddedMessage(entity: MimeEntity, limits?: Partial<MimeLimits>): MimeEntity {
  if (entity.contentType.mediaType !== 'message/rfc822')
    throw malformed(`Expected message/rfc822, found ${entity.contentType.mediaType}.`);
  if (!IDENTITY_ENCODINGS.has(entity.transferEncoding))
    throw malformed(`A message/rfc822 part must not be ${entity.transferEncoding}-encoded.`);
  return parseMime(entity.body, limits, entity.depth + 1);
}

const IDENTITY_ENCODINGS = new Set(['7bit', '8bit', 'binary']);

function single(values: string[], what: string): string | undefined {
  const [first] = values;
  if (values.some((v) => v.toLowerCase() !== first?.toLowerCase()))
    throw malformed(`The entity has ${values.length} different ${what} fields.`);
  return first;
}

function parseEntity(
  buf: Buffer,
  start: number,
  end: number,
  depth: number,
  ctx: Context,
  digestParent: boolean,
): MimeEntity {
  const block = readHeaderBlock(buf, start, end, ctx.limits);
  const entityHeaders = { headers: block.headers };
  const ctValue = single(headerValues(entityHeaders, 'content-type'), 'Content-Type');
  const contentType =
    (ctValue === undefined ? undefined : parseContentType(ctValue)) ??
    defaultContentType(digestParent);
  const transferEncoding = parseTransferEncoding(
    single(headerValues(entityHeaders, 'content-transfer-encoding'), 'Content-Transfer-Encoding'),
  );
  const base = {
    headers: block.headers,
    raw: buf.subarray(start, end),
    headerBytes: buf.subarray(start, block.headerEnd),
    separator: buf.subarray(block.headerEnd, block.bodyStart),
    body: buf.subarray(block.bodyStart, end),
    contentType,
    transferEncoding,
    depth,
  };
  if (contentType.type !== 'multipart')
    return { ...base, children: [], missingCloseDelimiter: false };
  if (!IDENTITY_ENCODINGS.has(transferEncoding))
    throw malformed(`A multipart entity must not be ${transferEncoding}-encoded (RFC 2046 §5.1).`);
  if (depth + 1 > ctx.limits.mimeDepth)
    throw tooBig(`The message is nested more than ${ctx.limits.mimeDepth} levels deep.`);
  const boundary = contentType.params['boundary'];
  if (boundary === undefined)
    throw malformed(`A ${contentType.mediaType} entity has no boundary parameter.`);
  if (boundary.length > ctx.limits.boundaryLength)
    throw tooBig(`A multipart boundary is longer than ${ctx.limits.boundaryLength} characters.`);
  if (boundary.length === 0 || !/^[\x20-\x7e]+$/.test(boundary))
    throw malformed('A multipart boundary is empty or not printable ASCII.');
  const split = splitMultipart(buf, block.bodyStart, end, boundary, ctx);
  const isDigest = contentType.subtype === 'digest';
  const children = split.parts.map(([s, e]) => parseEntity(buf, s, e, depth + 1, ctx, isDigest));
  return {
    ...base,
    children,
    preamble: buf.subarray(block.bodyStart, split.preambleEnd),
    epilogue: buf.subarray(split.epilogueStart, end),
    missingCloseDelimiter: split.missingClose,
  };
}

interface Delimiter {
  /** Start of the line ending that precedes the delimiter (= `at` at the start of the body). */
  readonly lineBreak: number;
  /** The first "-" of "--boundary". */
  readonly at: number;
  /** Just after the delimiter line's own line ending (or the end of the body). */
  readonly next: number;
  readonly close: boolean;
}

interface Split {
  readonly parts: [number, number][];
  readonly preambleEnd: number;
  readonly epilogueStart: number;
  readonly missingClose: boolean;
}

function splitMultipart(
  buf: Buffer,
  bodyStart: number,
  end: number,
  boundary: string,
  ctx: Context,
): Split {
  const dashBoundary = Buffer.from(`--${boundary}`, 'latin1');
  const delimiters: Delimiter[] = [];
  let pos = bodyStart;
  for (;;) {
    const found = findDelimiter(buf, pos, bodyStart, end, dashBoundary);
    if (found === undefined) break;
    if (!found.close) {
      // Each opening delimiter starts a part: count before parsing any of them.
      ctx.parts += 1;
      if (ctx.parts > ctx.limits.mimeParts)
        throw tooBig(`The message has more than ${ctx.limits.mimeParts} parts.`);
    }
    delimiters.push(found);
    if (found.close) break;
    pos = found.next;
  }
  const [first] = delimiters;
  if (first === undefined) throw malformed('A multipart boundary never appears in its body.');
  const last = delimiters[delimiters.length - 1] ?? first;
  const parts: [number, number][] = [];
  for (let i = 0; i + 1 < delimiters.length; i++) {
    const open = delimiters[i];
    const following = delimiters[i + 1];
    if (open === undefined || following === undefined || open.close) break;
    parts.push([open.next, Math.max(open.next, following.lineBreak)]);
  }
  const missingClose = !last.close;
  if (missingClose) parts.push([last.next, end]);
  return {
    parts,
    preambleEnd: first.lineBreak,
    epilogueStart: missingClose ? end : last.next,
    missingClose,
  };
}

/** The next delimiter line at or after `from`, or undefined. */
function findDelimiter(
  buf: Buffer,
  from: number,
  bodyStart: number,
  end: number,
  dashBoundary: Buffer,
): Delimiter | undefined {
  let pos = from;
  for (;;) {
    const at = buf.indexOf(dashBoundary, pos);
    if (at < 0 || at + dashBoundary.length > end) return undefined;
    pos = at + 1;
    if (at !== bodyStart && buf[at - 1] !== LF) continue;
    let q = at + dashBoundary.length;
    const close = q + 1 < end && buf[q] === DASH && buf[q + 1] === DASH;
    if (close) q += 2;
    while (q < end && (buf[q] === SP || buf[q] === HT)) q++;
    let next: number;
    if (q >= end) next = end;
    else if (buf[q] === LF) next = q + 1;
    else if (buf[q] === CR && q + 1 < end && buf[q + 1] === LF) next = q + 2;
    else continue; // "--boundary" followed by other characters: content.
    let lineBreak = at;
    if (at !== bodyStart) {
      lineBreak = at - 1;
      if (lineBreak > bodyStart && buf[lineBreak - 1] === CR) lineBreak -= 1;
    }
    return { lineBreak, at, next, close };
  }
}
