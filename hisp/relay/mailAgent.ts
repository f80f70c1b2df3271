/**
 * The HISP's mail agent: what happens to a message between the mail window and the wire.
 *
 * Send: the sender's identity signs, each recipient's certificate is found by discovery with
 * the sending domain's outbound anchors (a recipient without a usable certificate is refused
 * on its own and nothing is sent to it), the message is signed and encrypted once for all
 * usable recipients and the sender, stored as those bytes, queued per recipient and tracked
 * for delivery notifications. Nothing leaves unencrypted (risk-15): this is the only way in.
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
import { headerValue, parseMime } from '../agent/mime/index.js';
import { signAndEncrypt } from '../agent/outbound.js';
import { collect } from '../agent/types.js';
import type { RecipientService } from '../certs/discovery/service.js';
import type { TrustStore } from '../certs/trust/store.js';
import type { IdentityStore } from '../keys/identities.js';
import type { Logger } from '../log/logger.js';
import type { MailStore, OpenFn } from '../store/mail.js';
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
  /** A delivery notification changed a recipient's state (applied, not merely recorded late). */
  readonly onDelivery?: (
    id: number,
    recipient: string,
    state: 'processed' | 'dispatched' | 'failed',
  ) => void;
}

export interface ComposeInput {
  readonly from: string;
  readonly to: readonly string[];
  readonly cc?: readonly string[];
  readonly subject: string;
  readonly text: string;
}

export interface SendResult {
  readonly id: number | undefined;
  readonly messageId: string | undefined;
  readonly recipients: readonly {
    readonly address: string;
    readonly state: 'queued' | 'refused';
    readonly check: RecipientCheck;
  }[];
}

function headerLine(name: string, value: string): string {
  if (/[\r\n]/.test(value)) throw new HispError('BAD_REQUEST', `The ${name} must be one line.`);
  return `${name}: ${value}\r\n`;
}

function encodeSubject(subject: string): string {
  return /^[\x20-\x7e]*$/.test(subject)
    ? subject
    : `=?UTF-8?B?${Buffer.from(subject, 'utf8').toString('base64')}?=`;
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

  /** Compose, sign, encrypt, store and queue a message (see the module comment). */
  async send(input: ComposeInput): Promise<SendResult> {
    const recipients = [...new Set([...input.to, ...(input.cc ?? [])].map((a) => a.trim()))];
    if (recipients.length === 0)
      throw new HispError('BAD_REQUEST', 'The message has no recipient.');
    const messageId = `<${randomBytes(12).toString('hex')}@${domainOf(input.from)}>`;
    const inner = Buffer.from(
      headerLine('From', input.from) +
        headerLine('To', input.to.join(', ')) +
        (input.cc !== undefined && input.cc.length > 0
          ? headerLine('Cc', input.cc.join(', '))
          : '') +
        headerLine('Subject', encodeSubject(input.subject)) +
        headerLine('Date', this.#now().toUTCString().replace('GMT', '+0000')) +
        headerLine('Message-ID', messageId) +
        requestHeaders(input.from)
          .map((header) => headerLine(header.name, header.value))
          .join('') +
        'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n' +
        'Content-Transfer-Encoding: base64\r\n\r\n' +
        (
          Buffer.from(input.text, 'utf8')
            .toString('base64')
            .match(/.{1,76}/g) ?? []
        ).join('\r\n') +
        '\r\n',
      'utf8',
    );
    return this.#sendInner(input.from, recipients, inner, messageId, true);
  }

  async #sendInner(
    from: string,
    recipients: readonly string[],
    inner: Buffer,
    messageId: string,
    trackMdn: boolean,
  ): Promise<SendResult> {
    const [identity] = this.#options.identities.forAddress(from);
    if (identity === undefined) {
      throw new HispError('IDENTITY_NOT_FOUND', `This profile has no identity for ${from}.`);
    }
    const checks = await this.#options.recipients.check(from, recipients);
    const usable: string[] = [];
    const certs: Buffer[] = [];
    for (const check of checks) {
      const der =
        check.state === 'found'
          ? check.certificates
              .map((cert) => this.#options.recipients.certificateDer(cert.fingerprintSha256))
              .find((value) => value !== undefined)
          : undefined;
      if (der === undefined) continue;
      usable.push(check.address);
      certs.push(der);
    }
    const result = (id: number | undefined): SendResult => ({
      id,
      messageId: id === undefined ? undefined : messageId,
      recipients: checks.map((check) => ({
        address: check.address,
        state: usable.includes(check.address) ? 'queued' : 'refused',
        check,
      })),
    });
    if (usable.length === 0) {
      this.#logger.warn('nothing sent: no recipient has a usable certificate', {
        recipients: recipients.length,
      });
      return result(undefined);
    }
    const key = await this.#options.identities.privateKey(identity.fingerprintSha256);
    const raw = collect(
      signAndEncrypt(
        inner,
        {
          certDer: identity.cert.der,
          chainDer: identity.chain.map((cert) => cert.der),
          key,
        },
        certs,
        {
          now: this.#now(),
          ...(this.#options.allowSha1CertificateSignatures === true
            ? { allowSha1CertificateSignatures: true }
            : {}),
        },
      ).message,
    );
    const { id } = this.#options.store.storeSent({
      raw,
      inner,
      envelope: { from, to: usable },
      enqueue: usable,
    });
    if (trackMdn) this.#options.store.trackMdn(id, usable, true);
    this.#logger.info('message queued', {
      id,
      recipients: usable.length,
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
    await this.deliver(raw, envelope);
    return { accepted: true };
  }

  /**
   * The work behind `receive`, also used for messages pulled from an upstream mailbox: store
   * (untrusted ones in 'untrusted'), then for a trusted one apply it if it is a notification
   * or answer it with MDNs. A notification that cannot be sent is logged, not thrown: the
   * message itself is safely stored, and failing here would only make the sender resend it.
   */
  async deliver(raw: Buffer, envelope: SmtpEnvelope): Promise<{ id: number; duplicate: boolean }> {
    const localDomain = domainOf(envelope.to[0] ?? '');
    const store = this.#options.store;
    let inner: Buffer | undefined;
    let signer: string | undefined;
    const open = this.opener(localDomain);
    const stored = await store.receive(
      { raw, envelope: { from: envelope.from, to: [...envelope.to] } },
      async (bytes, hints) => {
        const opened = await open(bytes, hints);
        if (opened.verification.trusted && opened.inner !== undefined) {
          inner = Buffer.from(opened.inner);
          signer = opened.verification.signer;
        }
        return opened;
      },
    );
    if (stored.duplicate) {
      inner?.fill(0);
      return stored;
    }
    if (inner === undefined) {
      // Stored in 'untrusted' (nothing is lost); no notification goes back for it.
      this.#logger.info('untrusted message kept, no MDN', { id: stored.id });
      return stored;
    }
    try {
      await this.#afterTrusted(inner, envelope, signer);
    } catch (error) {
      this.#logger.warn('delivery notification not sent', {
        id: stored.id,
        code: HispError.from(error).code,
      });
    } finally {
      inner.fill(0);
    }
    return stored;
  }

  async #afterTrusted(
    inner: Buffer,
    envelope: SmtpEnvelope,
    signer: string | undefined,
  ): Promise<void> {
    const notification = parseNotification(inner);
    if (notification.kind === 'mdn' || notification.kind === 'dsn') {
      this.#recordNotification(notification, signer);
      return;
    }
    const parsed = parseMime(inner);
    const headers = parsed.headers;
    const wants = shouldSendMdn(headers, headerValue(parsed, 'content-type') ?? '');
    if (!wants.processed) return;
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
