/**
 * The HISP's mail agent: what happens to a message between the mail window and the wire.
 *
 * Send: the message is composed (text/plain, or multipart/mixed with base64 attachments),
 * the sender's identity signs, each recipient's certificate is found by discovery with the
 * sending domain's outbound anchors (a recipient without a usable certificate is refused on
 * its own and nothing is sent to it), the message is signed and encrypted once for all usable
 * To and Cc recipients and the sender, stored as those bytes, queued per recipient and
 * tracked for delivery notifications. Each Bcc recipient gets a copy of its own, encrypted
 * to it and the sender only, queued with its row and sent in an SMTP transaction of its own:
 * no copy, header or CMS RecipientInfo tells anyone else about a blind copy (RFC 5751
 * §3.1.2). Nothing leaves unencrypted (risk-15): this is the only way in.
 *
 * Receive: decrypted and verified with the profile's identities and the local domain's
 * inbound anchors, stored as it arrived (untrusted ones in 'untrusted'), a delivery
 * notification recorded if it is one, and a `processed` MDN sent back once trust passes
 * (never for an MDN or DSN) — `dispatched` too when the sender asked for it, since storing
 * in the mailbox is the final delivery here.
 */
import { domainOf } from '../agent/mime/address.js';
import { randomBytes } from 'node:crypto';
import type { RecipientCheck } from '../api/contract.js';
import { HispError } from '../api/errors.js';
import { decryptAndVerify } from '../agent/inbound.js';
import {
  base64Lines,
  encodeHeaderWord,
  foldHeader,
  headerValue,
  parseMime,
} from '../agent/mime/index.js';
import { signAndEncrypt } from '../agent/outbound.js';
import { bytesOf, collect } from '../agent/types.js';
import { LIMITS } from '../api/limits.js';
import type { RecipientService } from '../certs/discovery/service.js';
import type { TrustStore } from '../certs/trust/store.js';
import type { IdentityStore } from '../keys/identities.js';
import type { Logger } from '../log/logger.js';
import type { MailStore, OpenFn, VerificationReason } from '../store/mail.js';
import { buildMdn, parseNotification, requestHeaders, shouldSendMdn } from './mdn.js';
import type { SmtpDecision, SmtpEnvelope } from './smtpServer.js';

export interface MailAgentOptions {
  readonly store: MailStore;
  readonly identities: IdentityStore;
  /** The profile's trust store: the inbound anchors of the local domain verify senders. */
  readonly trust: Pick<TrustStore, 'anchorsFor'>;
  /** Recipient checks (discovery with the sending domain's outbound anchors) and the DER of
   * the certificates they found usable. */
  readonly recipients: Pick<RecipientService, 'check' | 'certificateDer'>;
  readonly logger: Logger;
  readonly now?: () => Date;
  /** Legacy trust domains (the reference implementation's SHA-1 test CA). */
  readonly allowSha1CertificateSignatures?: boolean;
  /** Revocation checking of senders (default soft: unknown status is reported, not fatal). */
  readonly revocation?: 'soft' | 'hard' | 'off';
  /** Ask recipients' HISPs for `dispatched` notifications too (default true). */
  readonly requestDispatched?: boolean;
  /** A new message was stored (not a duplicate): the mail window's new-mail notice. */
  readonly onArrived?: (id: number) => void;
  /** A delivery notification changed a recipient's state (applied, not merely recorded late). */
  readonly onDelivery?: (
    id: number,
    recipient: string,
    state: 'processed' | 'dispatched' | 'failed',
  ) => void;
}

/** A file attached to a composed message. */
export interface ComposeAttachment {
  /** Shown to the recipient; path components and control characters are dropped. */
  readonly filename: string;
  /** `type/subtype`; anything else is sent as application/octet-stream. */
  readonly contentType: string;
  readonly content: Buffer;
}

/** What `deliver` did with an arriving message. */
export interface Delivered {
  readonly id: number;
  /** The same bytes (or the same authenticated Message-ID) were already stored. */
  readonly duplicate: boolean;
  readonly trusted: boolean;
  /** Why it is not trusted (empty when trusted or a duplicate). */
  readonly reasons: readonly VerificationReason[];
}

export interface ComposeInput {
  readonly from: string;
  readonly to: readonly string[];
  readonly cc?: readonly string[];
  /**
   * Blind copies (RFC 5751 §3.1.2 privacy): each gets its own copy, encrypted to that
   * recipient and the sender only; no header of any copy names a Bcc recipient.
   */
  readonly bcc?: readonly string[];
  readonly subject: string;
  readonly text: string;
  readonly attachments?: readonly ComposeAttachment[];
  /** The Message-ID this message answers (`<left@right>`). */
  readonly inReplyTo?: string;
  /** The thread's Message-IDs, oldest first (`<left@right>` each). */
  readonly references?: readonly string[];
}

export interface SendResult {
  readonly id: number | undefined;
  readonly messageId: string | undefined;
  /** To and Cc recipients first, then Bcc ones, each with its discovery result. */
  readonly recipients: readonly {
    readonly address: string;
    readonly state: 'queued' | 'refused';
    readonly check: RecipientCheck;
  }[];
}

/** `Name: value` folded for the wire; a value with CR, LF or NUL is refused (header injection). */
function headerLine(name: string, value: string): string {
  if (/[\r\n\0]/.test(value)) throw new HispError('BAD_REQUEST', `The ${name} must be one line.`);
  return foldHeader(name, value);
}

/** RFC 5322 msg-id as Sealpost writes and accepts it in In-Reply-To and References. */
const MSG_ID = /^<[^<>@\s"\\]+@[^<>@\s"\\]+>$/;

function checkMessageId(value: string, what: string): string {
  const id = value.trim();
  if (/[\r\n\0]/.test(id) || !MSG_ID.test(id)) {
    throw new HispError(
      'BAD_REQUEST',
      `The ${what} must be one Message-ID like <id@example.org>, on one line.`,
    );
  }
  return id;
}

/**
 * Checks the attachments against LIMITS.composeAttachments and LIMITS.composeAttachmentBytes
 * (decoded bytes, all together). @throws HispError LIMIT_EXCEEDED, BAD_REQUEST
 */
export function checkAttachments(attachments: readonly ComposeAttachment[]): void {
  if (attachments.length > LIMITS.composeAttachments) {
    throw new HispError(
      'LIMIT_EXCEEDED',
      `The message has ${attachments.length} attachments; at most ${LIMITS.composeAttachments} can be sent in one message.`,
    );
  }
  let total = 0;
  for (const attachment of attachments) {
    if (!Buffer.isBuffer(attachment.content)) {
      throw new HispError('BAD_REQUEST', 'An attachment has no content.');
    }
    total += attachment.content.length;
  }
  if (total > LIMITS.composeAttachmentBytes) {
    throw new HispError(
      'LIMIT_EXCEEDED',
      `The attachments come to ${total} bytes; at most ${LIMITS.composeAttachmentBytes} bytes (${LIMITS.composeAttachmentBytes / (1024 * 1024)} MiB) can be sent in one message.`,
    );
  }
}

/** At most this many characters of a file name are kept (most file systems allow 255). */
const FILENAME_CHARS = 255;

/**
 * The name an attachment is sent under: the last path component (either slash), without
 * control characters, trimmed, at most 255 characters (the extension kept); `attachment-N`
 * when nothing is left.
 */
export function attachmentFilename(name: string, position: number): string {
  // Control and format characters (bidi overrides that disguise an extension) go first.
  const visible = [...name].filter((c) => !/[\p{Cc}\p{Cf}\u2028\u2029]/u.test(c)).join('');
  const clean = (visible.split(/[\\/]/).pop() ?? '').trim();
  if (clean === '' || /^\.+$/.test(clean)) return `attachment-${position}`;
  const chars = [...clean];
  if (chars.length <= FILENAME_CHARS) return clean;
  const dot = clean.lastIndexOf('.');
  const ext = dot > 0 && clean.length - dot <= 16 ? [...clean.slice(dot)] : [];
  return [...chars.slice(0, FILENAME_CHARS - ext.length), ...ext].join('');
}

/**
 * The Content-Type an attachment is sent with: a lowercased `type/subtype` of RFC 2045
 * tokens, else application/octet-stream. multipart/* and message/* are sent as
 * application/octet-stream too: they may not be base64-encoded (RFC 2045 §6.4, RFC 2046
 * §5.2.1), and a leaf that claims to be multipart would not parse.
 */
export function attachmentType(contentType: string): string {
  const match = /^\s*([A-Za-z0-9!#$%&'*+.^_`|~-]+)\/([A-Za-z0-9!#$%&'*+.^_`|~-]+)\s*$/.exec(
    contentType,
  );
  const type = match?.[1]?.toLowerCase();
  const subtype = match?.[2]?.toLowerCase();
  if (type === undefined || subtype === undefined || type === 'multipart' || type === 'message')
    return 'application/octet-stream';
  return `${type}/${subtype}`;
}

/** Characters of one RFC 2231 parameter section (keeps header lines short). */
const PARAM_SECTION = 60;

/**
 * `; name="value"` for a short printable-ASCII value; otherwise RFC 2231 (§3, §4) sections
 * `; name*0*=utf-8''%E2%80%A6; name*1*=…`. Sections are split between characters, never
 * inside one: decoders that decode each section on its own (ours among them) still see
 * whole UTF-8 sequences. Each parameter goes on its own folded line.
 */
export function mimeParameter(name: string, value: string): string {
  if (/^[\x20-\x7e]*$/.test(value) && !/["\\]/.test(value) && value.length <= PARAM_SECTION) {
    return `;\r\n ${name}="${value}"`;
  }
  const encoded = [...value].map((char) =>
    /^[A-Za-z0-9!#$&+\-.^_`|~]$/.test(char)
      ? char
      : [...Buffer.from(char, 'utf8')]
          .map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`)
          .join(''),
  );
  const sections: string[] = [];
  let current = "utf-8''";
  for (const piece of encoded) {
    if (current.length + piece.length > PARAM_SECTION && current !== "utf-8''") {
      sections.push(current);
      current = '';
    }
    current += piece;
  }
  sections.push(current);
  return sections.map((section, index) => `;\r\n ${name}*${index}*=${section}`).join('');
}

function base64Text(content: Buffer): string {
  return collect(base64Lines(bytesOf(content))).toString('latin1');
}

/**
 * The plaintext inner message (RFC 5322) for `input`: text/plain alone, or multipart/mixed
 * with the text first and one base64 part per attachment (Content-Disposition: attachment,
 * the name as RFC 2231 when it is not plain ASCII). It never has a Bcc header. Carries the
 * Direct MDN request headers, and In-Reply-To and References when given.
 * @throws HispError BAD_REQUEST (a header value with CR/LF, a malformed Message-ID),
 *   LIMIT_EXCEEDED (attachments over LIMITS)
 */
export function composeMessage(
  input: ComposeInput,
  options: {
    readonly messageId: string;
    readonly date: Date;
    /** Ask for `dispatched` notifications too (default true). */
    readonly requestDispatched?: boolean;
  },
): Buffer {
  const attachments = input.attachments ?? [];
  checkAttachments(attachments);
  const to = input.to.map((a) => a.trim());
  const cc = (input.cc ?? []).map((a) => a.trim());
  const references = (input.references ?? []).map((id) => checkMessageId(id, 'References'));
  const head =
    headerLine('From', input.from.trim()) +
    (to.length > 0 ? headerLine('To', to.join(', ')) : '') +
    (cc.length > 0 ? headerLine('Cc', cc.join(', ')) : '') +
    headerLine(
      'Subject',
      /[\r\n\0]/.test(input.subject) ? input.subject : encodeHeaderWord(input.subject),
    ) +
    headerLine('Date', options.date.toUTCString().replace('GMT', '+0000')) +
    headerLine('Message-ID', checkMessageId(options.messageId, 'Message-ID')) +
    (input.inReplyTo === undefined
      ? ''
      : headerLine('In-Reply-To', checkMessageId(input.inReplyTo, 'In-Reply-To'))) +
    (references.length > 0 ? headerLine('References', references.join(' ')) : '') +
    requestHeaders(input.from.trim(), options.requestDispatched !== false)
      .map((header) => headerLine(header.name, header.value))
      .join('') +
    'MIME-Version: 1.0\r\n';
  const textPart =
    'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n' +
    base64Text(Buffer.from(input.text, 'utf8')) +
    '\r\n';
  if (attachments.length === 0) return Buffer.from(head + textPart, 'utf8');
  // Base64 lines and our own header lines never contain "=_", so the boundary cannot occur.
  const boundary = `=_sealpost_${randomBytes(15).toString('base64url')}`;
  const pieces: Buffer[] = [
    Buffer.from(
      `${head}Content-Type: multipart/mixed;\r\n boundary="${boundary}"\r\n\r\n` +
        `This is a multi-part message in MIME format.\r\n--${boundary}\r\n${textPart}`,
      'utf8',
    ),
  ];
  attachments.forEach((attachment, index) => {
    const filename = attachmentFilename(attachment.filename, index + 1);
    pieces.push(
      Buffer.from(
        `--${boundary}\r\n` +
          `Content-Type: ${attachmentType(attachment.contentType)}${mimeParameter('name', filename)}\r\n` +
          `Content-Disposition: attachment${mimeParameter('filename', filename)}\r\n` +
          'Content-Transfer-Encoding: base64\r\n\r\n',
        'utf8',
      ),
      collect(base64Lines(bytesOf(attachment.content))),
      Buffer.from('\r\n', 'latin1'),
    );
  });
  pieces.push(Buffer.from(`--${boundary}--\r\n`, 'latin1'));
  return Buffer.concat(pieces);
}

/** Addresses trimmed, without repeats (compared case-insensitively), first spelling kept. */
function distinct(addresses: readonly string[], except: ReadonlySet<string> = new Set()) {
  const seen = new Set(except);
  const out: string[] = [];
  for (const address of addresses.map((a) => a.trim())) {
    const key = address.toLowerCase();
    if (address === '' || seen.has(key)) continue;
    seen.add(key);
    out.push(address);
  }
  return out;
}

export class MailAgent {
  readonly #options: MailAgentOptions;
  readonly #now: () => Date;
  readonly #logger: Logger;

  constructor(options: MailAgentOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => new Date());
    this.#logger = options.logger.child({ component: 'mail-agent' });
  }

  /**
   * Compose, sign, encrypt, store and queue a message (see the module comment). To and Cc
   * recipients share one copy; each Bcc recipient gets its own (same Message-ID), queued and
   * sent alone. @throws HispError BAD_REQUEST, LIMIT_EXCEEDED, IDENTITY_NOT_FOUND
   */
  async send(input: ComposeInput): Promise<SendResult> {
    const recipients = distinct([...input.to, ...(input.cc ?? [])]);
    const bcc = distinct(input.bcc ?? [], new Set(recipients.map((a) => a.toLowerCase())));
    for (const address of [...recipients, ...bcc]) {
      if (/[\r\n\0]/.test(address)) {
        throw new HispError('BAD_REQUEST', 'A recipient address must be one line.');
      }
    }
    if (recipients.length + bcc.length === 0)
      throw new HispError('BAD_REQUEST', 'The message has no recipient.');
    const messageId = `<${randomBytes(12).toString('hex')}@${domainOf(input.from)}>`;
    const inner = composeMessage(input, {
      messageId,
      date: this.#now(),
      requestDispatched: this.#options.requestDispatched !== false,
    });
    return this.#sendInner(input.from, recipients, inner, messageId, true, bcc);
  }

  async #sendInner(
    from: string,
    recipients: readonly string[],
    inner: Buffer,
    messageId: string,
    trackMdn: boolean,
    bcc: readonly string[] = [],
  ): Promise<SendResult> {
    const [identity] = this.#options.identities.forAddress(from);
    if (identity === undefined) {
      throw new HispError('IDENTITY_NOT_FOUND', `This profile has no identity for ${from}.`);
    }
    // One discovery pass for everyone; results come back in the order asked.
    const checks = await this.#options.recipients.check(from, [...recipients, ...bcc]);
    const usable: { address: string; der: Buffer; blind: boolean }[] = [];
    checks.forEach((check, index) => {
      const der =
        check.state === 'found'
          ? check.certificates
              .map((cert) => this.#options.recipients.certificateDer(cert.fingerprintSha256))
              .find((value) => value !== undefined)
          : undefined;
      if (der !== undefined)
        usable.push({ address: check.address, der, blind: index >= recipients.length });
    });
    const result = (id: number | undefined): SendResult => ({
      id,
      messageId: id === undefined ? undefined : messageId,
      recipients: checks.map((check, index) => ({
        address: check.address,
        state: usable.some(
          (u) => u.address === check.address && u.blind === index >= recipients.length,
        )
          ? 'queued'
          : 'refused',
        check,
      })),
    });
    if (usable.length === 0) {
      this.#logger.warn('nothing sent: no recipient has a usable certificate', {
        recipients: checks.length,
      });
      return result(undefined);
    }
    const key = await this.#options.identities.privateKey(identity.fingerprintSha256);
    const sender = {
      certDer: identity.cert.der,
      chainDer: identity.chain.map((cert) => cert.der),
      key,
    };
    const encrypt = (certs: readonly Buffer[]): Buffer =>
      collect(
        signAndEncrypt(inner, sender, certs, {
          now: this.#now(),
          ...(this.#options.allowSha1CertificateSignatures === true
            ? { allowSha1CertificateSignatures: true }
            : {}),
        }).message,
      );
    const open = usable.filter((u) => !u.blind);
    const blind = usable
      .filter((u) => u.blind)
      .map((u) => ({ recipient: u.address, raw: encrypt([u.der]) }));
    // The Sent copy: the To/Cc one, or (only blind copies) the first blind copy's bytes.
    const raw = open.length > 0 ? encrypt(open.map((u) => u.der)) : blind[0]?.raw;
    if (raw === undefined) throw new HispError('INTERNAL', 'No encrypted copy to store.');
    const { id } = this.#options.store.storeSent({
      raw,
      inner,
      envelope: { from, to: usable.map((u) => u.address) },
      enqueue: open.map((u) => u.address),
      ...(blind.length > 0 ? { bcc: blind } : {}),
      // Our delivery notifications are records, not mail the clinician wrote: filed.
      ...(trackMdn ? {} : { folder: 'archive' as const }),
    });
    if (trackMdn)
      this.#options.store.trackMdn(
        id,
        usable.map((u) => u.address),
        true,
      );
    this.#logger.info('message queued', {
      id,
      recipients: open.length,
      blindCopies: blind.length,
      refused: checks.length - usable.length,
    });
    return result(id);
  }

  /** Decrypt and verify with this profile's identities and the recipient domain's anchors. */
  opener(localDomain: string): OpenFn {
    return async (raw, hints) => {
      const keys = await Promise.all(
        this.#options.identities.list().map(async (identity) => ({
          certDer: identity.cert.der,
          key: await this.#options.identities.privateKey(identity.fingerprintSha256),
        })),
      );
      const result = await decryptAndVerify(raw, {
        keys,
        anchors: this.#options.trust.anchorsFor(localDomain, 'inbound'),
        revocation: this.#options.revocation ?? 'soft',
        logger: this.#logger,
        consumeInput: hints?.owned === true,
        at: this.#now(),
        ...(this.#options.allowSha1CertificateSignatures === true
          ? { allowSha1CertificateSignatures: true }
          : {}),
      });
      return {
        inner: result.inner,
        verification: {
          trusted: result.trusted,
          ...(result.signer?.address === undefined ? {} : { signer: result.signer.address }),
          ...(result.signer === undefined ? {} : { signerSubject: result.signer.subject }),
          ...(result.anchor === undefined ? {} : { anchor: result.anchor.subject }),
          reasons: result.reasons,
        },
      };
    };
  }

  /**
   * A message arrived (inbound SMTP or the upstream mailbox): store it; record it if it is a
   * delivery notification; answer with MDNs once trust passes.
   */
  async receive(raw: Buffer, envelope: SmtpEnvelope): Promise<SmtpDecision> {
    const stored = await this.deliver(raw, envelope);
    if (stored.duplicate || stored.trusted) return { accepted: true };
    // Kept in 'untrusted' with its reasons (nothing is lost), and refused, so the sending
    // HISP learns that it was not delivered (the issue: "one that fails trust is refused
    // with the reason"). Codes only: the reply goes to whoever connected.
    const codes = [...new Set(stored.reasons.map((r) => r.code))].slice(0, 4).join(', ');
    return {
      accepted: false,
      code: 550,
      message: `5.7.1 Message not trusted (${codes === '' ? 'UNTRUSTED' : codes}); not delivered`,
    };
  }

  /**
   * The work behind `receive`, also used for messages pulled from an upstream mailbox: store
   * (untrusted ones in 'untrusted'), then for a trusted one apply it if it is a notification
   * (then filed in Archive, read: it is evidence of delivery, not mail for the clinician) or
   * answer it with MDNs. A notification that cannot be sent is logged, not thrown: the
   * message itself is safely stored, and failing here would only make the sender resend it.
   */
  async deliver(raw: Buffer, envelope: SmtpEnvelope): Promise<Delivered> {
    const localDomain = domainOf(envelope.to[0] ?? '');
    const store = this.#options.store;
    let inner: Buffer | undefined;
    let signer: string | undefined;
    let reasons: readonly VerificationReason[] = [];
    const open = this.opener(localDomain);
    const stored = await store.receive(
      { raw, envelope: { from: envelope.from, to: [...envelope.to] } },
      async (bytes, hints) => {
        const opened = await open(bytes, hints);
        reasons = opened.verification.reasons;
        if (opened.verification.trusted && opened.inner !== undefined) {
          inner = Buffer.from(opened.inner);
          signer = opened.verification.signer;
        }
        return opened;
      },
    );
    if (stored.duplicate) {
      inner?.fill(0);
      return { ...stored, trusted: store.get(stored.id).trusted, reasons: [] };
    }
    if (inner === undefined) {
      // Stored in 'untrusted' (nothing is lost); no notification goes back for it.
      this.#logger.info('untrusted message kept, no MDN', { id: stored.id });
      this.#options.onArrived?.(stored.id);
      return { ...stored, trusted: false, reasons };
    }
    try {
      const kind = await this.#afterTrusted(inner, envelope, signer);
      if (kind === 'notification') {
        store.setFlags(stored.id, { seen: true });
        store.move(stored.id, 'archive');
      }
    } catch (error) {
      this.#logger.warn('delivery notification not sent', {
        id: stored.id,
        code: HispError.from(error).code,
      });
    } finally {
      inner.fill(0);
    }
    this.#options.onArrived?.(stored.id);
    return { ...stored, trusted: true, reasons: [] };
  }

  async #afterTrusted(
    inner: Buffer,
    envelope: SmtpEnvelope,
    signer: string | undefined,
  ): Promise<'notification' | 'message'> {
    const notification = parseNotification(inner);
    if (notification.kind === 'mdn' || notification.kind === 'dsn') {
      this.#recordNotification(notification, signer);
      return 'notification';
    }
    const parsed = parseMime(inner);
    const headers = parsed.headers;
    const wants = shouldSendMdn(headers, headerValue(parsed, 'content-type') ?? '');
    if (!wants.processed) return 'message';
    const originalId = headerValue(parsed, 'message-id')?.trim() ?? '';
    const subject = headerValue(parsed, 'subject');
    const sender = envelope.from;
    // One notification per recipient of ours (a message may name several).
    const ours = envelope.to.filter(
      (address) => this.#options.identities.forAddress(address).length > 0,
    );
    for (const recipient of ours) {
      for (const disposition of wants.dispatched
        ? (['processed', 'dispatched'] as const)
        : (['processed'] as const)) {
        const mdnId = `<${randomBytes(12).toString('hex')}@${domainOf(recipient)}>`;
        const mdn = buildMdn({
          original: {
            messageId: originalId,
            from: sender,
            to: recipient,
            headers,
            ...(subject === undefined ? {} : { subject }),
          },
          disposition,
          finalDestinationDelivery: disposition === 'dispatched',
          now: this.#now(),
          messageId: mdnId,
        });
        const sent = await this.#sendInner(recipient, [sender], mdn, mdnId, false);
        this.#logger.info('delivery notification queued', {
          disposition,
          queued: sent.recipients.filter((r) => r.state === 'queued').length,
        });
      }
    }
    return 'message';
  }

  /**
   * Apply a notification to the tracking of the message it names — only when it comes from
   * the recipient it speaks for (the verified signer is that address, or a domain-bound
   * certificate of its domain): nobody else can change a delivery state.
   */
  #recordNotification(
    notification: ReturnType<typeof parseNotification>,
    signer: string | undefined,
  ): void {
    const store = this.#options.store;
    const apply = (
      originalMessageId: string,
      recipient: string,
      kind: 'processed' | 'dispatched' | 'failed',
    ) => {
      const original = store.findSentByMessageId(originalMessageId);
      if (original === undefined) {
        this.#logger.info('notification for a message we did not send: ignored', { kind });
        return;
      }
      const row = store
        .mdnFor(original)
        .find((entry) => entry.recipient.toLowerCase() === recipient.toLowerCase());
      const from = signer?.toLowerCase();
      const speaksFor =
        from !== undefined &&
        (from === recipient.toLowerCase() || domainOf(from) === domainOf(recipient));
      if (row === undefined || !speaksFor) {
        this.#logger.warn('notification not applied: not from a tracked recipient', {
          kind,
          tracked: row !== undefined,
        });
        return;
      }
      const after = store.recordMdn(original, row.recipient, kind);
      if (after.state === kind && row.state !== kind) {
        this.#options.onDelivery?.(original, row.recipient, kind);
      }
    };
    if (notification.kind === 'mdn') {
      const kind =
        notification.disposition === 'processed' || notification.disposition === 'dispatched'
          ? notification.disposition
          : notification.disposition === 'failed'
            ? 'failed'
            : undefined;
      if (kind !== undefined)
        apply(notification.originalMessageId, notification.finalRecipient, kind);
      return;
    }
    if (notification.kind === 'dsn' && notification.originalMessageId !== undefined) {
      for (const recipient of notification.recipients) {
        if (recipient.action === 'failed') {
          apply(notification.originalMessageId, recipient.finalRecipient, 'failed');
        }
      }
    }
  }
}
