/**
 * Direct delivery notifications (DESIGN.md §4): Message Disposition Notifications (RFC 8098,
 * formerly RFC 3798) and Delivery Status Notifications (RFC 3464), both carried in a
 * multipart/report (RFC 6522), with the Direct extension of the "Implementation Guide for
 * Delivery Notification in Direct": a sender asks for timely-and-reliable delivery with
 * `Disposition-Notification-Options: X-DIRECT-FINAL-DESTINATION-DELIVERY=optional,true`, and
 * the receiving HISP's `dispatched` MDN then carries an `X-DIRECT-FINAL-DESTINATION-DELIVERY`
 * extension field.
 *
 * Pure: no I/O, no clock (the caller passes `now`), no randomness (the boundary is derived
 * from the MDN's own Message-ID). The caller signs and encrypts what `buildMdn` returns, and
 * decrypts and verifies what it hands to `parseNotification`.
 *
 * Parsing is strict about the container and tolerant inside it:
 * - only a multipart/report is a notification (an MDN attached to a user's message, or a bare
 *   message/disposition-notification, is not: it must not move a delivery state);
 * - inside, field names in any case, extra whitespace, folded lines, CRLF or bare LF, fields in
 *   any order, lines that are not fields (skipped), a report-type that disagrees with the part
 *   found, and missing fields with a fallback are all accepted, each noted in `warnings`;
 * - what cannot be attributed (no disposition, no original message, no recipient) is a typed
 *   `malformed` result, never an exception.
 * Warnings and reasons name fields and never quote values from the message.
 */
import { isAscii } from 'node:buffer';
import { createHash } from 'node:crypto';
import { HispError } from '../api/errors.js';
import {
  decodeBody,
  encodeHeaderWord,
  foldHeader,
  headerValue,
  headerValues,
  normalizeAddress,
  parseAddressList,
  parseContentType,
  parseEmbeddedMessage,
  parseMime,
  type ContentType,
  type HasHeaders,
  type MimeEntity,
  type MimeHeader,
} from '../agent/mime/index.js';

// ── Vocabulary ──────────────────────────────────────────────────────────────────────────────

/** The Direct extension parameter and field (Implementation Guide for Delivery Notification). */
export const FINAL_DESTINATION_DELIVERY = 'X-DIRECT-FINAL-DESTINATION-DELIVERY';

/** What an MDN we send says: `failed` is the `failed` disposition type with a Failure field. */
export type MdnDisposition = 'processed' | 'dispatched' | 'failed';

/** What an MDN we receive says; `failed` also covers an `error` modifier and a `Failure:` field. */
export type ReceivedDisposition =
  'processed' | 'dispatched' | 'failed' | 'displayed' | 'deleted' | 'denied' | 'other';

export type DsnAction = 'failed' | 'delayed' | 'delivered' | 'relayed' | 'expanded';

export interface HeaderField {
  readonly name: string;
  readonly value: string;
}

export interface MdnResult {
  readonly kind: 'mdn';
  /** The msg-id the MDN is about, as written (angle brackets kept). */
  readonly originalMessageId: string;
  /** The recipient the MDN reports on: the address part, normalized (normalizeAddress). */
  readonly finalRecipient: string;
  readonly disposition: ReceivedDisposition;
  /** Disposition modifiers, lowercased ("error", "warning", ...). */
  readonly modifiers: readonly string[];
  /** The MDN carries the X-DIRECT-FINAL-DESTINATION-DELIVERY extension field. */
  readonly finalDestinationDelivery: boolean;
  /** The Failure (else Error) field's text, for a failed disposition; at most 500 characters. */
  readonly failure?: string;
  readonly warnings: readonly string[];
}

export interface DsnRecipient {
  /** The address part, normalized (normalizeAddress). */
  readonly finalRecipient: string;
  readonly action: DsnAction;
  /** The RFC 3463 status code ("5.1.1"). */
  readonly status: string;
  /** The Diagnostic-Code field, as written; at most 500 characters. */
  readonly diagnostic?: string;
}

export interface DsnResult {
  readonly kind: 'dsn';
  readonly originalMessageId?: string;
  readonly recipients: readonly DsnRecipient[];
  readonly warnings: readonly string[];
}

export type NotificationResult =
  | MdnResult
  | DsnResult
  | { readonly kind: 'not-a-notification'; readonly reason: string }
  | { readonly kind: 'malformed'; readonly reason: string };

const MDN_PART_TYPES = new Set([
  'message/disposition-notification',
  'message/global-disposition-notification',
]);
const DSN_PART_TYPES = new Set(['message/delivery-status', 'message/global-delivery-status']);
const MAX_TEXT = 500;
/** Recipient groups read from one DSN (a Direct message has at most 500 recipientInfos). */
const MAX_DSN_RECIPIENTS = 1000;

// ── Requesting notifications ────────────────────────────────────────────────────────────────

/**
 * The header fields an outbound message carries to request MDNs (DESIGN.md §4): a `processed`
 * MDN to `from`, and timely-and-reliable delivery (`dispatched` with the Direct extension)
 * unless `dispatched` is false (Settings › delivery notifications).
 * @throws HispError BAD_REQUEST when `from` is not exactly one address.
 */
export function requestHeaders(from: string, dispatched = true): HeaderField[] {
  const address = singleAddress(from, 'from');
  return [
    { name: 'Disposition-Notification-To', value: address },
    ...(dispatched
      ? [
          {
            name: 'Disposition-Notification-Options',
            value: `${FINAL_DESTINATION_DELIVERY}=optional,true`,
          },
        ]
      : []),
  ];
}

// ── Deciding whether to answer ──────────────────────────────────────────────────────────────

export interface MdnDecision {
  /** Send a `processed` MDN once trust passes. */
  readonly processed: boolean;
  /** Also send a `dispatched` MDN (with the extension field) on delivery to the mailbox. */
  readonly dispatched: boolean;
  readonly reason: string;
}

/**
 * Whether a trusted inbound message gets MDNs. Never for a notification (any multipart/report,
 * whatever the case of its report-type, or a bare notification part), never for a message
 * without a Message-ID. A `processed` MDN is otherwise always due (Direct requires it whether
 * or not Disposition-Notification-To is present); `dispatched` only when some
 * Disposition-Notification-Options field asks for X-DIRECT-FINAL-DESTINATION-DELIVERY with the
 * value true (importance optional or required, names and values in any case, any spacing).
 *
 * @param headers the (decrypted) message's header fields.
 * @param contentType its Content-Type, parsed or as written; read from `headers` when absent.
 */
export function shouldSendMdn(
  headers: readonly HeaderField[],
  contentType?: ContentType | string,
): MdnDecision {
  const entity = { headers: headers.map((h) => ({ ...h, raw: Buffer.alloc(0) })) };
  const ctValue = typeof contentType === 'string' ? contentType : undefined;
  const ct =
    typeof contentType === 'object'
      ? contentType
      : parseContentType(ctValue ?? headerValue(entity, 'content-type') ?? 'text/plain');
  const no = (reason: string): MdnDecision => ({ processed: false, dispatched: false, reason });
  if (ct !== undefined) {
    if (ct.mediaType === 'multipart/report') {
      const reportType = (ct.params['report-type'] ?? '').trim().toLowerCase();
      return no(
        reportType === 'disposition-notification'
          ? 'The message is an MDN: never answered with an MDN.'
          : reportType === 'delivery-status'
            ? 'The message is a DSN: never answered with an MDN.'
            : 'The message is a report (multipart/report): never answered with an MDN.',
      );
    }
    if (MDN_PART_TYPES.has(ct.mediaType) || DSN_PART_TYPES.has(ct.mediaType))
      return no('The message is a bare notification part: never answered with an MDN.');
  }
  const messageId = headerValue(entity, 'message-id')?.trim() ?? '';
  if (messageId === '') return no('The message has no Message-ID: an MDN could not refer to it.');
  const dispatched = headerValues(entity, 'disposition-notification-options').some(
    requestsFinalDelivery,
  );
  return {
    processed: true,
    dispatched,
    reason: dispatched
      ? 'processed MDN due; the sender asked for timely and reliable delivery (dispatched).'
      : 'processed MDN due; the sender did not ask for a dispatched MDN.',
  };
}

/** `X-DIRECT-FINAL-DESTINATION-DELIVERY = optional , true` in one options value. */
function requestsFinalDelivery(value: string): boolean {
  for (const param of stripComments(value).split(';')) {
    const eq = param.indexOf('=');
    if (eq < 0) continue;
    if (param.slice(0, eq).trim().toLowerCase() !== FINAL_DESTINATION_DELIVERY.toLowerCase())
      continue;
    const words = param
      .slice(eq + 1)
      .split(',')
      .map((w) =>
        w
          .trim()
          .replace(/^"(.*)"$/, '$1')
          .trim()
          .toLowerCase(),
      );
    const [first, ...rest] = words;
    const values = first === 'optional' || first === 'required' ? rest : words;
    if (values.includes('true')) return true;
  }
  return false;
}

// ── Building an MDN ─────────────────────────────────────────────────────────────────────────

export interface MdnInput {
  readonly original: {
    /** The original message's Message-ID. */
    readonly messageId: string;
    /** The original sender: the MDN goes to them. */
    readonly from: string;
    /** The final recipient (us): the MDN comes from them. */
    readonly to: string;
    readonly subject?: string;
    /** The original's header fields (Disposition-Notification-Options is read from them). */
    readonly headers: readonly HeaderField[];
  };
  readonly disposition: MdnDisposition;
  /** Reporting-UA; default "<domain of `to`>; Sealpost". */
  readonly reportingUa?: string;
  /** MDN-Gateway (a DNS name), when we report for a gateway. */
  readonly gateway?: string;
  /**
   * Add the X-DIRECT-FINAL-DESTINATION-DELIVERY field to a `dispatched` MDN. Default: when the
   * original's Disposition-Notification-Options asked for it.
   */
  readonly finalDestinationDelivery?: boolean;
  /** For `failed`: what went wrong (the Failure field). Never message content. */
  readonly error?: string;
  readonly now: Date;
  /** The MDN's own Message-ID ("<id@domain>"). */
  readonly messageId: string;
}

const LABEL: Record<MdnDisposition, string> = {
  processed: 'Processed',
  dispatched: 'Dispatched',
  failed: 'Failed',
};

const HUMAN: Record<MdnDisposition, string> = {
  processed: "was received and processed by the recipient's HISP",
  dispatched: "was delivered to the recipient's mailbox",
  failed: 'could not be processed for the recipient',
};

/**
 * An MDN as an RFC 5322 message with CRLF line endings: multipart/report;
 * report-type=disposition-notification with a human-readable text/plain part and the
 * message/disposition-notification part. It requests no notification itself.
 * @throws HispError BAD_REQUEST for an input that cannot be written safely (not one address,
 * a Message-ID that is not "<x@y>", CR/LF in any field).
 */
export function buildMdn(input: MdnInput): Buffer {
  const { original, disposition } = input;
  const recipient = singleAddress(original.from, 'original.from');
  const reporter = singleAddress(original.to, 'original.to');
  const messageId = msgId(input.messageId, 'messageId');
  const originalId = original.messageId.trim();
  if (originalId === '' || /[\r\n\0]/.test(originalId))
    throw new HispError('BAD_REQUEST', 'The original Message-ID is empty or has CR, LF or NUL.');
  if (Number.isNaN(input.now.getTime()))
    throw new HispError('BAD_REQUEST', 'The MDN date is invalid.');
  const domain = reporter.slice(reporter.lastIndexOf('@') + 1);
  const reportingUa = oneLine(input.reportingUa ?? `${domain}; Sealpost`, 'reportingUa');
  const extension =
    disposition === 'dispatched' &&
    (input.finalDestinationDelivery ??
      original.headers.some(
        (h) =>
          h.name.toLowerCase() === 'disposition-notification-options' &&
          requestsFinalDelivery(h.value),
      ));

  const fields: string[] = [
    field('Reporting-UA', reportingUa),
    ...(input.gateway === undefined
      ? []
      : [field('MDN-Gateway', `dns; ${oneLine(input.gateway, 'gateway')}`)]),
    field('Original-Recipient', `rfc822; ${reporter}`),
    field('Final-Recipient', `rfc822; ${reporter}`),
    field('Original-Message-ID', originalId),
    field('Disposition', `automatic-action/MDN-sent-automatically; ${disposition}`),
  ];
  if (extension) fields.push(`${FINAL_DESTINATION_DELIVERY}:\r\n`);
  if (disposition === 'failed')
    fields.push(
      field(
        'Failure',
        oneLine(input.error ?? 'The message could not be processed.', 'error').slice(0, MAX_TEXT),
      ),
    );

  const text =
    `Your message ${originalId} to ${reporter} ${HUMAN[disposition]}.\r\n` +
    (disposition === 'failed' && input.error !== undefined
      ? `Reason: ${oneLine(input.error, 'error').slice(0, MAX_TEXT)}\r\n`
      : '') +
    '\r\nThis is an automatic delivery notification; please do not reply.\r\n';
  const notification = fields.join('');
  const eightBit = !isAscii(Buffer.from(text + notification, 'utf8'));

  const boundary = `=_SealpostMDN_${createHash('sha256')
    .update(`${messageId}\0${input.now.toISOString()}`)
    .digest('hex')
    .slice(0, 32)}`;
  if (text.includes(boundary) || notification.includes(boundary))
    throw new HispError('BAD_REQUEST', 'The MDN content contains its own boundary.');

  const subject = original.subject?.trim();
  const headers = [
    field('Date', rfc5322Date(input.now)),
    field('From', reporter),
    field('To', recipient),
    field(
      'Subject',
      encodeHeaderWord(
        `${LABEL[disposition]}: ${subject === undefined || subject === '' ? '(no subject)' : subject.replace(/[\r\n\0]+/g, ' ')}`,
      ),
    ),
    field('Message-ID', messageId),
    ...(isMsgId(originalId)
      ? [field('In-Reply-To', originalId), field('References', originalId)]
      : []),
    field('Auto-Submitted', 'auto-replied'),
    field('MIME-Version', '1.0'),
    `Content-Type: multipart/report; report-type=disposition-notification;\r\n boundary="${boundary}"\r\n`,
  ];
  const cte = eightBit ? 'Content-Transfer-Encoding: 8bit\r\n' : '';
  const body =
    `\r\nThis is a MIME-encapsulated message delivery notification.\r\n\r\n` +
    `--${boundary}\r\n` +
    `Content-Type: text/plain; charset=utf-8\r\n${cte}\r\n` +
    text +
    `\r\n--${boundary}\r\n` +
    `Content-Type: message/disposition-notification\r\n${cte}\r\n` +
    notification +
    `\r\n--${boundary}--\r\n`;
  return Buffer.from(headers.join('') + body, 'utf8');
}

function field(name: string, value: string): string {
  try {
    return foldHeader(name, value);
  } catch (err) {
    if (err instanceof TypeError)
      throw new HispError('BAD_REQUEST', `The MDN field ${name} has CR, LF or NUL.`);
    throw err;
  }
}

function oneLine(value: string, what: string): string {
  if (/[\r\n\0]/.test(value))
    throw new HispError('BAD_REQUEST', `The MDN input ${what} has CR, LF or NUL.`);
  return value.trim();
}

function singleAddress(value: string, what: string): string {
  let list;
  try {
    list = parseAddressList(value);
  } catch (err) {
    if (err instanceof HispError)
      throw new HispError('BAD_REQUEST', `${what} is not an address: ${err.message}`);
    throw err;
  }
  const [first] = list;
  if (first === undefined || list.length !== 1)
    throw new HispError('BAD_REQUEST', `${what} must be exactly one address.`);
  return first.address;
}

function isMsgId(value: string): boolean {
  return /^<[^<>\s@]+@[^<>\s@]+>$/.test(value);
}

function msgId(value: string, what: string): string {
  const id = value.trim();
  if (!isMsgId(id)) throw new HispError('BAD_REQUEST', `${what} must look like <id@domain>.`);
  return id;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** RFC 5322 §3.3 date-time in UTC ("Thu, 26 Nov 2026 23:05:00 +0000"). */
function rfc5322Date(d: Date): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  return (
    `${DAYS[d.getUTCDay()] ?? 'Sun'}, ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()] ?? 'Jan'} ` +
    `${d.getUTCFullYear()} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:` +
    `${two(d.getUTCSeconds())} +0000`
  );
}

// ── Parsing notifications ───────────────────────────────────────────────────────────────────

/**
 * What a received (already decrypted and verified) message says as a notification. Never
 * throws for any input bytes: an unreadable message is `malformed`, a message that is not a
 * multipart/report is `not-a-notification`.
 */
export function parseNotification(message: Buffer): NotificationResult {
  try {
    return parseUnsafe(message);
  } catch (err) {
    if (err instanceof HispError) return { kind: 'malformed', reason: err.message };
    throw err;
  }
}

function parseUnsafe(message: Buffer): NotificationResult {
  const root = parseMime(message);
  const ct = root.contentType;
  if (MDN_PART_TYPES.has(ct.mediaType) || DSN_PART_TYPES.has(ct.mediaType))
    return {
      kind: 'not-a-notification',
      reason: `A bare ${ct.mediaType} is not a notification: it must be inside a multipart/report.`,
    };
  if (ct.mediaType !== 'multipart/report')
    return {
      kind: 'not-a-notification',
      reason: `The message is ${ct.mediaType}, not multipart/report.`,
    };
  const warnings: string[] = [];
  if (root.missingCloseDelimiter)
    warnings.push('The report has no closing boundary (it may be truncated).');
  const reportType = (ct.params['report-type'] ?? '').trim().toLowerCase();
  const mdnPart = root.children.find((c) => MDN_PART_TYPES.has(c.contentType.mediaType));
  const dsnPart = root.children.find((c) => DSN_PART_TYPES.has(c.contentType.mediaType));
  if (reportType === 'disposition-notification') {
    if (mdnPart !== undefined) return parseMdn(root, mdnPart, warnings);
    if (dsnPart !== undefined) {
      warnings.push('report-type is disposition-notification but the part is a delivery status.');
      return parseDsn(root, dsnPart, warnings);
    }
    return {
      kind: 'malformed',
      reason: 'A disposition-notification report has no message/disposition-notification part.',
    };
  }
  if (reportType === 'delivery-status') {
    if (dsnPart !== undefined) return parseDsn(root, dsnPart, warnings);
    if (mdnPart !== undefined) {
      warnings.push('report-type is delivery-status but the part is a disposition notification.');
      return parseMdn(root, mdnPart, warnings);
    }
    return {
      kind: 'malformed',
      reason: 'A delivery-status report has no message/delivery-status part.',
    };
  }
  const part = mdnPart ?? dsnPart;
  if (part === undefined)
    return {
      kind: 'not-a-notification',
      reason:
        reportType === ''
          ? 'A multipart/report with no report-type and no notification part.'
          : 'A multipart/report of another report-type (not an MDN or a DSN).',
    };
  warnings.push(
    reportType === ''
      ? 'The multipart/report has no report-type parameter.'
      : 'The multipart/report names another report-type.',
  );
  return part === mdnPart ? parseMdn(root, part, warnings) : parseDsn(root, part, warnings);
}

/** The part after the notification part: the returned message or its headers, if any. */
function returnedHeaders(
  root: MimeEntity,
  after: MimeEntity,
  warnings: string[],
): MimeEntity | undefined {
  const index = root.children.indexOf(after);
  const part = root.children[index + 1];
  if (part === undefined) return undefined;
  try {
    switch (part.contentType.mediaType) {
      case 'message/rfc822':
      case 'message/global':
        return parseEmbeddedMessage(part);
      case 'text/rfc822-headers':
      case 'message/global-headers':
        return parseMime(decodeBody(part));
      default:
        return undefined;
    }
  } catch (err) {
    if (!(err instanceof HispError)) throw err;
    warnings.push('The returned message part could not be read.');
    return undefined;
  }
}

function parseMdn(root: MimeEntity, part: MimeEntity, warnings: string[]): NotificationResult {
  const fields = readFields(decodeBody(part), warnings, 'notification');
  if (fields.length > 1)
    warnings.push('The disposition notification has a blank line inside; fields after it read.');
  const all = { headers: fields.flat() };

  const dispositionValue = headerValue(all, 'disposition');
  if (dispositionValue === undefined || dispositionValue.trim() === '')
    return { kind: 'malformed', reason: 'The MDN has no Disposition field.' };
  const parsed = parseDisposition(dispositionValue, warnings);

  const originalMessageId = originalId(root, part, all, warnings, 'Original-Message-ID');
  if (originalMessageId === undefined)
    return {
      kind: 'malformed',
      reason:
        'The MDN names no original message (no Original-Message-ID, In-Reply-To, References or returned message).',
    };

  let finalRecipient = recipientAddress(headerValue(all, 'final-recipient'), warnings);
  if (finalRecipient === undefined) {
    finalRecipient = recipientAddress(headerValue(all, 'original-recipient'), warnings);
    if (finalRecipient !== undefined)
      warnings.push('No usable Final-Recipient field: the Original-Recipient field was used.');
  }
  if (finalRecipient === undefined) {
    finalRecipient = fromAddress(root);
    if (finalRecipient !== undefined)
      warnings.push("No usable Final-Recipient field: the MDN's From address was used.");
  }
  if (finalRecipient === undefined)
    return { kind: 'malformed', reason: 'The MDN names no recipient it reports on.' };

  const failureText = headerValue(all, 'failure') ?? headerValue(all, 'error');
  const failed =
    parsed.type === 'failed' ||
    parsed.modifiers.includes('error') ||
    parsed.modifiers.includes('failure') ||
    headerValue(all, 'failure') !== undefined;
  if (!failed && headerValue(all, 'error') !== undefined && !parsed.modifiers.includes('error'))
    warnings.push('An Error field without the error modifier: the disposition is kept.');
  const disposition: ReceivedDisposition = failed ? 'failed' : parsed.type;
  return {
    kind: 'mdn',
    originalMessageId,
    finalRecipient,
    disposition,
    modifiers: parsed.modifiers,
    finalDestinationDelivery: headerValue(all, FINAL_DESTINATION_DELIVERY) !== undefined,
    ...(failed && failureText !== undefined && failureText !== ''
      ? { failure: failureText.slice(0, MAX_TEXT) }
      : {}),
    warnings,
  };
}

const KNOWN_TYPES = new Set<ReceivedDisposition>([
  'processed',
  'dispatched',
  'failed',
  'displayed',
  'deleted',
  'denied',
]);

/**
 * `action-mode "/" sending-mode ";" disposition-type ["/" modifier *("," modifier)]`, with
 * comments, any case and any spacing. Without ";" the value is read as the type part.
 */
function parseDisposition(
  value: string,
  warnings: string[],
): { type: ReceivedDisposition; modifiers: string[] } {
  const text = stripComments(value).toLowerCase();
  const semi = text.indexOf(';');
  if (semi < 0) warnings.push('The Disposition field has no action mode ("x/y;" is missing).');
  const typePart = semi < 0 ? text : text.slice(semi + 1);
  const slash = typePart.indexOf('/');
  const typeWords = (slash < 0 ? typePart : typePart.slice(0, slash)).trim().split(/\s+/);
  const typeWord = typeWords[0] ?? '';
  const modifiers =
    slash < 0
      ? []
      : typePart
          .slice(slash + 1)
          .split(',')
          .map((m) => m.trim())
          .filter((m) => m !== '');
  if (KNOWN_TYPES.has(typeWord as ReceivedDisposition)) {
    if (typeWords.length > 1) warnings.push('The disposition type is followed by other words.');
    return { type: typeWord as ReceivedDisposition, modifiers };
  }
  warnings.push('The disposition type is not one we know: read as other.');
  return { type: 'other', modifiers };
}

function parseDsn(root: MimeEntity, part: MimeEntity, warnings: string[]): NotificationResult {
  const blocks = readFields(decodeBody(part), warnings, 'delivery status');
  if (blocks.length === 0) return { kind: 'malformed', reason: 'The DSN has no fields.' };
  const isRecipientBlock = (b: readonly { name: string }[]): boolean =>
    b.some((h) => /^(final-recipient|original-recipient|action|status)$/i.test(h.name));
  let recipientBlocks = blocks.slice(1);
  const first = blocks[0] ?? [];
  if (isRecipientBlock(first)) {
    warnings.push('The DSN has no per-message fields before its recipients.');
    recipientBlocks = blocks;
  }
  const recipients: DsnRecipient[] = [];
  if (recipientBlocks.length > MAX_DSN_RECIPIENTS) {
    warnings.push(
      `The DSN has more than ${MAX_DSN_RECIPIENTS} recipient groups: the rest are ignored.`,
    );
    recipientBlocks = recipientBlocks.slice(0, MAX_DSN_RECIPIENTS);
  }
  recipientBlocks.forEach((headers, i) => {
    const entity = { headers };
    const n = i + 1;
    let address = recipientAddress(headerValue(entity, 'final-recipient'), warnings);
    if (address === undefined) {
      address = recipientAddress(headerValue(entity, 'original-recipient'), warnings);
      if (address === undefined) {
        warnings.push(`DSN recipient ${n} names no recipient: skipped.`);
        return;
      }
      warnings.push(`DSN recipient ${n} has no usable Final-Recipient: Original-Recipient used.`);
    }
    const statusMatch = /\b([245])\.(\d{1,3})\.(\d{1,3})\b/.exec(
      headerValue(entity, 'status') ?? '',
    );
    let status = statusMatch?.[0];
    let action = dsnAction(headerValue(entity, 'action'));
    if (action === undefined) {
      const cls = statusMatch?.[1];
      action = cls === '5' ? 'failed' : cls === '4' ? 'delayed' : undefined;
      if (action === undefined) {
        warnings.push(`DSN recipient ${n} has no usable Action or Status: skipped.`);
        return;
      }
      warnings.push(`DSN recipient ${n} has no usable Action: taken from its Status class.`);
    }
    if (status === undefined) {
      status = action === 'failed' ? '5.0.0' : action === 'delayed' ? '4.0.0' : '2.0.0';
      warnings.push(`DSN recipient ${n} has no usable Status: the action's generic code used.`);
    }
    const diagnostic = headerValue(entity, 'diagnostic-code');
    recipients.push({
      finalRecipient: address,
      action,
      status,
      ...(diagnostic === undefined || diagnostic === ''
        ? {}
        : { diagnostic: diagnostic.slice(0, MAX_TEXT) }),
    });
  });
  if (recipients.length === 0)
    return { kind: 'malformed', reason: 'The DSN reports on no recipient it can name.' };
  const originalMessageId = originalId(root, part, { headers: [] }, warnings, undefined);
  if (originalMessageId === undefined)
    warnings.push(
      'The DSN names no original message (no returned headers, In-Reply-To or References).',
    );
  return {
    kind: 'dsn',
    ...(originalMessageId === undefined ? {} : { originalMessageId }),
    recipients,
    warnings,
  };
}

const DSN_ACTIONS = new Set<DsnAction>(['failed', 'delayed', 'delivered', 'relayed', 'expanded']);

function dsnAction(value: string | undefined): DsnAction | undefined {
  const word = stripComments(value ?? '')
    .trim()
    .toLowerCase();
  return DSN_ACTIONS.has(word as DsnAction) ? (word as DsnAction) : undefined;
}

/**
 * The original message's id: the notification's own field (MDN), else the returned message's
 * Message-ID, else the report's In-Reply-To, else the last id in its References (the parent
 * comes last, RFC 5322 §3.6.4).
 */
function originalId(
  root: MimeEntity,
  part: MimeEntity,
  fields: HasHeaders,
  warnings: string[],
  fieldName: string | undefined,
): string | undefined {
  if (fieldName !== undefined) {
    const own = firstMsgId(headerValue(fields, fieldName));
    if (own !== undefined) return own;
  }
  const missing = fieldName === undefined ? '' : `No usable ${fieldName} field: `;
  const returned = firstMsgId(
    headerValue(returnedHeaders(root, part, warnings) ?? { headers: [] }, 'message-id'),
  );
  if (returned !== undefined) {
    // A DSN names its message only this way; for an MDN it is a fallback.
    if (fieldName !== undefined)
      warnings.push(`${missing}the returned message's Message-ID was used.`);
    return returned;
  }
  const inReplyTo = firstMsgId(headerValue(root, 'in-reply-to'));
  if (inReplyTo !== undefined) {
    warnings.push(`${missing}the report's In-Reply-To was used.`);
    return inReplyTo;
  }
  const references = msgIds(headerValue(root, 'references'));
  const last = references[references.length - 1];
  if (last !== undefined) {
    warnings.push(`${missing}the last id of the report's References was used.`);
    return last;
  }
  return undefined;
}

/** The "<...>" ids in a value; a value with no brackets is taken whole if it is one word. */
function msgIds(value: string | undefined): string[] {
  if (value === undefined) return [];
  const text = stripComments(value);
  const ids = text.match(/<[^<>\s]+>/g);
  if (ids !== null) return ids;
  const word = text.trim();
  return word !== '' && !/\s/.test(word) ? [word] : [];
}

function firstMsgId(value: string | undefined): string | undefined {
  return msgIds(value)[0];
}

/** `addr-type ";" address` → the address, normalized; a value without a type is read whole. */
function recipientAddress(value: string | undefined, warnings: string[]): string | undefined {
  if (value === undefined) return undefined;
  const semi = value.indexOf(';');
  const raw = (semi < 0 ? value : value.slice(semi + 1)).trim();
  if (semi < 0 && raw !== '') warnings.push('A recipient field has no address type ("rfc822;").');
  const address = normalizeAddress(raw);
  if (/^[^@\s]+@[^@\s]+$/.test(address)) return address;
  // "rfc822; Bob <bob@x>": a display name where only the address belongs.
  try {
    const list = parseAddressList(raw);
    const [first] = list;
    if (first === undefined || list.length !== 1) return undefined;
    warnings.push('A recipient field has more than an address in it.');
    return normalizeAddress(first.address);
  } catch (err) {
    if (err instanceof HispError) return undefined;
    throw err;
  }
}

function fromAddress(root: MimeEntity): string | undefined {
  const from = headerValue(root, 'from');
  if (from === undefined) return undefined;
  try {
    const [first] = parseAddressList(from);
    return first === undefined ? undefined : normalizeAddress(first.address);
  } catch (err) {
    if (err instanceof HispError) return undefined;
    throw err;
  }
}

/** RFC 5322 comments removed (nested, with quoted pairs); quoted strings kept. */
function stripComments(value: string): string {
  let out = '';
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i] ?? '';
    if (c === '\\' && (depth > 0 || quoted)) {
      if (depth === 0) out += c + (value[i + 1] ?? '');
      i++;
    } else if (depth === 0 && c === '"') {
      quoted = !quoted;
      out += c;
    } else if (!quoted && c === '(') depth++;
    else if (!quoted && c === ')' && depth > 0) depth--;
    else if (depth === 0) out += c;
  }
  return out;
}

/**
 * Groups of fields separated by blank lines (a DSN has one per-message group, then one per
 * recipient; an MDN has one). Each group is read with the MIME header parser after lines that
 * are neither fields nor continuations are dropped (with a warning).
 */
function readFields(body: Buffer, warnings: string[], what: string): MimeHeader[][] {
  const lines = body.toString('latin1').split(/\r?\n/);
  const groups: string[][] = [];
  let current: string[] = [];
  let dropped = 0;
  let inField = false;
  for (const line of lines) {
    if (line.trim() === '') {
      if (current.length > 0) groups.push(current);
      current = [];
      inField = false;
    } else if (/^[ \t]/.test(line)) {
      if (inField) current.push(line);
      else dropped++;
    } else if (/^[\x21-\x39\x3b-\x7e]+[ \t]*:/.test(line)) {
      current.push(line);
      inField = true;
    } else {
      dropped++;
      inField = false;
    }
  }
  if (current.length > 0) groups.push(current);
  if (dropped > 0) warnings.push(`${dropped} line(s) of the ${what} that are not fields skipped.`);
  return groups.map((group) => {
    const block = Buffer.from(`${group.join('\r\n')}\r\n`, 'latin1');
    return [...parseMime(block).headers];
  });
}
