/**
 * Reading a decrypted inner message for the mailbox: the facts the list view needs (subject,
 * sender, snippet, attachment names), the parts an opened message shows, and an attachment's
 * decoded bytes. Pure functions over bytes in memory; nothing here writes anywhere.
 *
 * Parts are found by walking the MIME tree (hisp/agent/mime): the first text/plain and the
 * first text/html that are not attachments are the bodies (multipart/alternative picks both);
 * every other leaf, and every part with a Content-Disposition of attachment or a file name,
 * is an attachment, numbered in walk order. A message/rfc822 part is an attachment
 * (a forwarded message), not descended into.
 */
import {
  decodeBody,
  decodeCharset,
  decodeEncodedWords,
  decodeQuotedPrintable,
  headerValue,
  parseAddressList,
  parseContentType,
  parseMime,
  type MimeEntity,
  type MimeHeader,
} from '../agent/mime/index.js';

/** Characters of body text kept as the list view's snippet. */
export const SNIPPET_CHARS = 200;
/** Characters of body text given to full-text search (bounds the index per message). */
export const SEARCH_TEXT_CHARS = 256 * 1024;

export interface AttachmentInfo {
  /** Position among the message's attachments (what `MailStore.attachment` takes). */
  readonly index: number;
  readonly filename: string;
  readonly contentType: string;
  /** Decoded size in bytes. */
  readonly size: number;
  readonly inline: boolean;
}

export interface InnerContent {
  readonly headers: readonly { readonly name: string; readonly value: string }[];
  readonly subject: string;
  /** The From header for display (encoded-words decoded). */
  readonly from: string;
  readonly to: readonly string[];
  readonly cc: readonly string[];
  /** Date as ISO 8601, when it parses. */
  readonly date: string | undefined;
  readonly messageId: string | undefined;
  readonly text: string | undefined;
  readonly html: string | undefined;
  readonly attachments: readonly AttachmentInfo[];
}

interface Walk {
  text?: MimeEntity;
  html?: MimeEntity;
  attachments: { entity: MimeEntity; filename: string; inline: boolean }[];
}

/** Content-Disposition, read with the Content-Type parameter parser (RFC 2231 included). */
function disposition(entity: MimeEntity): { type: string; filename?: string } | undefined {
  const value = headerValue(entity, 'content-disposition');
  if (value === undefined) return undefined;
  const match = /^\s*([A-Za-z0-9!#$&^_.+-]+)\s*(;[\s\S]*)?$/.exec(value);
  if (match === null) return undefined;
  const type = (match[1] ?? '').toLowerCase();
  const parsed = parseContentType(`disposition/${type}${match[2] ?? ''}`);
  const filename = parsed?.params['filename'];
  return filename === undefined ? { type } : { type, filename };
}

function cleanName(name: string): string {
  // Encoded-words inside quoted parameters are not standard but common; path parts and
  // control characters never belong in a name shown to the user.
  const decoded = [...decodeEncodedWords(name)]
    .filter((c) => c.charCodeAt(0) >= 0x20 && c !== '\u007f')
    .join('')
    .trim();
  const base = decoded.split(/[\\/]/).pop() ?? '';
  return base;
}

function walk(entity: MimeEntity, out: Walk): void {
  const type = entity.contentType;
  const disp = disposition(entity);
  const rawName = disp?.filename ?? type.params['name'];
  const named = rawName !== undefined && cleanName(rawName) !== '';
  if (type.type === 'multipart') {
    for (const child of entity.children) walk(child, out);
    return;
  }
  const isAttachment = disp?.type === 'attachment' || named;
  if (!isAttachment && type.mediaType === 'text/plain' && out.text === undefined) {
    out.text = entity;
    return;
  }
  if (!isAttachment && type.mediaType === 'text/html' && out.html === undefined) {
    out.html = entity;
    return;
  }
  const n = out.attachments.length + 1;
  const fallback = type.mediaType === 'message/rfc822' ? `message-${n}.eml` : `part-${n}`;
  out.attachments.push({
    entity,
    filename: named && rawName !== undefined ? cleanName(rawName) : fallback,
    inline: disp?.type === 'inline',
  });
}

function textOf(entity: MimeEntity | undefined): string | undefined {
  if (entity === undefined) return undefined;
  return decodeCharset(decodeBody(entity), entity.contentType.params['charset'] ?? 'utf-8');
}

const BASE64_ALPHABET = (() => {
  const table = new Uint8Array(256);
  for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/') {
    table[c.charCodeAt(0)] = 1;
  }
  return table;
})();

/** Decoded size without decoding a large base64 body into memory. */
function decodedSize(entity: MimeEntity): number {
  switch (entity.transferEncoding) {
    case 'base64': {
      let chars = 0;
      const body = entity.body;
      for (let i = 0; i < body.length; i++) chars += BASE64_ALPHABET[body[i] ?? 0] ?? 0;
      return Math.floor((chars * 3) / 4);
    }
    case 'quoted-printable':
      return decodeQuotedPrintable(entity.body).length;
    default:
      return entity.body.length;
  }
}

function addresses(value: string | undefined): string[] {
  if (value === undefined) return [];
  try {
    return parseAddressList(value).map((a) => (a.name ? `${a.name} <${a.address}>` : a.address));
  } catch {
    return [decodeEncodedWords(value)];
  }
}

function isoDate(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const time = Date.parse(value);
  return Number.isNaN(time) ? undefined : new Date(time).toISOString();
}

function walkMessage(inner: Buffer): { root: MimeEntity; found: Walk } {
  const root = parseMime(inner);
  const found: Walk = { attachments: [] };
  walk(root, found);
  return { root, found };
}

/**
 * The parts of a decrypted inner message. Text and HTML are returned raw (the UI sanitises
 * HTML); attachments are described, not decoded.
 * @throws HispError MIME_MALFORMED / LIMIT_EXCEEDED from the parser.
 */
export function readInner(inner: Buffer): InnerContent {
  const { root, found } = walkMessage(inner);
  const headers: MimeHeader[] = [...root.headers];
  return {
    headers: headers.map(({ name, value }) => ({ name, value })),
    subject: decodeEncodedWords(headerValue(root, 'subject') ?? ''),
    from: decodeEncodedWords(headerValue(root, 'from') ?? ''),
    to: addresses(headerValue(root, 'to')),
    cc: addresses(headerValue(root, 'cc')),
    date: isoDate(headerValue(root, 'date')),
    messageId: headerValue(root, 'message-id')?.trim() || undefined,
    text: textOf(found.text),
    html: textOf(found.html),
    attachments: found.attachments.map((a, index) => ({
      index,
      filename: a.filename,
      contentType: a.entity.contentType.mediaType,
      size: decodedSize(a.entity),
      inline: a.inline,
    })),
  };
}

/** The decoded bytes of attachment `index`, or undefined when there is no such attachment. */
export function attachmentBytes(inner: Buffer, index: number): Buffer | undefined {
  const { found } = walkMessage(inner);
  const part = found.attachments[index];
  return part === undefined ? undefined : decodeBody(part.entity);
}

/** HTML to plain words, for the snippet and search only (never shown as HTML). */
export function htmlToText(html: string): string {
  return html
    .replace(/<(script|style|head)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&nbsp;/gi, ' ')
    .replace(/&lt;/gi, '<')
    .replace(/&gt;/gi, '>')
    .replace(/&quot;/gi, '"')
    .replace(/&#39;|&apos;/gi, "'")
    .replace(/&amp;/gi, '&');
}

export function collapseWhitespace(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** The body text of a message for the snippet and for search. */
export function bodyText(content: InnerContent): string {
  if (content.text !== undefined) return content.text;
  if (content.html !== undefined) return htmlToText(content.html);
  return '';
}

export function snippetOf(text: string): string {
  const collapsed = collapseWhitespace(text.slice(0, SNIPPET_CHARS * 8));
  return [...collapsed].slice(0, SNIPPET_CHARS).join('');
}
