/**
 * What a local mail client submits (the optional submission endpoint of `sealpost serve`),
 * turned into what MailAgent.send takes. The submitted bytes are never relayed (risk-15):
 * only From, To, Cc, Subject, In-Reply-To, References, the text and the attachments are
 * taken, and the mail agent composes, signs and encrypts a message of its own.
 *
 * - Recipients: exactly the SMTP envelope's. An envelope recipient that To and Cc do not
 *   name is a blind copy (Bcc). A To or Cc address that is not in the envelope is refused:
 *   the client did not ask for it to be delivered, and delivering it anyway could disclose
 *   the message to someone the client meant to leave out (clients that send each blind copy
 *   in a transaction of its own do exactly that).
 * - Body: the first text/plain part that is not an attachment. When the message has only
 *   HTML, the HTML is turned into plain text crudely (block tags become line breaks, other
 *   tags are dropped, entities decoded): Sealpost sends plain text only, and losing the
 *   formatting is better than refusing the message.
 * - Attachments: every other leaf, and anything with Content-Disposition attachment or a
 *   file name, found the way the mailbox finds them (hisp/store/mail-content.ts); the
 *   text/html alternative of a text/plain body is not an attachment.
 * - Refused with a clear message: no single From, no recipient, a message the client
 *   already signed or encrypted (S/MIME or PGP: Sealpost does that itself, and a signature
 *   over other bytes would only confuse the recipient), attachments over LIMITS.
 */
import {
  decodeEncodedWords,
  headerValue,
  parseAddressList,
  parseMime,
} from '../agent/mime/index.js';
import { HispError } from '../api/errors.js';
import { attachmentBytes, htmlToText, readInner } from '../store/mail-content.js';
import { checkAttachments, type ComposeAttachment, type ComposeInput } from './mailAgent.js';
import type { SmtpEnvelope } from './smtpServer.js';

/** Content types of a message that is already signed or encrypted end to end. */
const SECURED_TYPES = new Set([
  'multipart/signed',
  'multipart/encrypted',
  'application/pkcs7-mime',
  'application/x-pkcs7-mime',
  'application/pkcs7-signature',
  'application/x-pkcs7-signature',
  'application/pgp-encrypted',
  'application/pgp-signature',
]);

function addresses(value: string | undefined, what: string): string[] {
  if (value === undefined || value.trim() === '') return [];
  try {
    return parseAddressList(value).map((entry) => entry.address);
  } catch {
    throw new HispError('BAD_REQUEST', `The ${what} header cannot be read.`);
  }
}

/** The msg-ids (`<left@right>`) in an In-Reply-To or References value, in order. */
function messageIds(value: string | undefined): string[] {
  if (value === undefined) return [];
  return [...value.matchAll(/<[^<>@\s"\\]+@[^<>@\s"\\]+>/g)].map((match) => match[0]);
}

/**
 * HTML to plain text, crudely: script and style dropped, line breaks for block ends, other
 * tags removed, entities decoded (named ones by htmlToText, numeric ones here), runs of
 * blank lines and spaces squeezed. Only for a submitted message that has no text part.
 */
export function htmlToPlainText(html: string): string {
  const blocks = html.replace(
    /<\s*(br|\/p|\/div|\/li|\/tr|\/h[1-6]|\/blockquote|\/pre|\/table|hr)\b[^>]*>/gi,
    '\n',
  );
  return htmlToText(blocks)
    .replace(/&#(\d{1,7});/g, (whole, digits: string) => codePoint(Number(digits)) ?? whole)
    .replace(/&#x([0-9a-f]{1,6});/gi, (whole, hex: string) => codePoint(parseInt(hex, 16)) ?? whole)
    .split('\n')
    .map((line) => line.replace(/[ \t\u00a0]+/g, ' ').trim())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

function codePoint(value: number): string | undefined {
  if (value === 0 || value > 0x10ffff || (value >= 0xd800 && value <= 0xdfff)) return undefined;
  return String.fromCodePoint(value);
}

/**
 * From, To, Cc, Bcc (envelope recipients not in To or Cc), Subject, In-Reply-To,
 * References, the text and the attachments of a submitted RFC 5322 message (see the module
 * comment). @throws HispError BAD_REQUEST, LIMIT_EXCEEDED, MIME_MALFORMED
 */
export function composeFromSubmission(raw: Buffer, envelope: SmtpEnvelope): ComposeInput {
  const message = parseMime(raw);
  const from = addresses(headerValue(message, 'from'), 'From');
  if (from.length !== 1 || from[0] === undefined) {
    throw new HispError('BAD_REQUEST', 'The message must have exactly one From address.');
  }
  const to = addresses(headerValue(message, 'to'), 'To');
  const cc = addresses(headerValue(message, 'cc'), 'Cc');
  const envelopeTo = new Set(envelope.to.map((rcpt) => rcpt.toLowerCase()));
  if (envelopeTo.size === 0) {
    throw new HispError('BAD_REQUEST', 'The message has no recipient.');
  }
  const outside = [...to, ...cc].find((address) => !envelopeTo.has(address.toLowerCase()));
  if (outside !== undefined) {
    throw new HispError(
      'BAD_REQUEST',
      `To or Cc names ${outside}, which is not a recipient of this submission; Sealpost delivers to exactly the recipients the mail client gives (send blind copies in the same submission as the message).`,
    );
  }
  const listed = new Set([...to, ...cc].map((a) => a.toLowerCase()));
  const bcc = [
    ...new Map(
      envelope.to
        .filter((rcpt) => !listed.has(rcpt.toLowerCase()))
        .map((rcpt) => [rcpt.toLowerCase(), rcpt] as const),
    ).values(),
  ];
  if (SECURED_TYPES.has(message.contentType.mediaType)) {
    throw new HispError(
      'BAD_REQUEST',
      'The message is already signed or encrypted by the mail client; turn that off: Sealpost signs and encrypts every message itself.',
    );
  }
  const content = readInner(raw);
  if (content.attachments.some((a) => SECURED_TYPES.has(a.contentType))) {
    throw new HispError(
      'BAD_REQUEST',
      'The message carries a signature or encrypted part from the mail client; turn that off: Sealpost signs and encrypts every message itself.',
    );
  }
  const attachments: ComposeAttachment[] = content.attachments.map((info) => {
    const bytes = attachmentBytes(raw, info.index);
    if (bytes === undefined) {
      throw new HispError('MIME_MALFORMED', `Attachment ${info.filename} cannot be read.`);
    }
    return { filename: info.filename, contentType: info.contentType, content: bytes };
  });
  checkAttachments(attachments);
  const text = content.text ?? (content.html === undefined ? '' : htmlToPlainText(content.html));
  const subject = decodeEncodedWords(headerValue(message, 'subject') ?? '')
    .replace(/\s*\r?\n\s*/g, ' ')
    .trim()
    .slice(0, 998);
  const [inReplyTo] = messageIds(headerValue(message, 'in-reply-to'));
  const references = messageIds(headerValue(message, 'references'));
  return {
    from: from[0],
    to,
    ...(cc.length > 0 ? { cc } : {}),
    ...(bcc.length > 0 ? { bcc } : {}),
    subject,
    text: text.replace(/\r\n/g, '\n'),
    ...(attachments.length > 0 ? { attachments } : {}),
    ...(inReplyTo === undefined ? {} : { inReplyTo }),
    ...(references.length > 0 ? { references } : {}),
  };
}
