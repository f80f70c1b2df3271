/**
 * The outbound relay worker (DESIGN.md §2 arc 5–7, risk-3, risk-13): drains the durable,
 * encrypted outbound queue of a profile (MailStore's outbound_queue rows) through
 * smtpClient.deliver, with bounded concurrency, exponential backoff on temporary failures and
 * a per-recipient 'failed' state (plus a notice to the user) on permanent ones.
 *
 * Queue states (MailStore): queued → sending → relayed | queued (retry at a later time) |
 * failed. Every transition is its own committed transaction in the encrypted database.
 *
 * Exactly-once, as far as Sealpost can make it:
 * - A row is handed to SMTP only after markSending committed (queued → sending) and the
 *   conditional UPDATE succeeded, so two passes (or two workers) never send the same row.
 * - A row that reached 'relayed' is never selected again (due() reads 'queued' rows only).
 * - On start, rows left 'sending' by a crash go back to 'queued' (requeueInterrupted) and are
 *   sent again. That is the one window in which a recipient can get the message twice: the
 *   server accepted the DATA (250) but the process died (or the reply was lost) before
 *   markRelayed committed. The message is resent byte for byte, so it carries the same
 *   Message-ID header (the idempotency key; it is part of the signed and encrypted content
 *   and copied to the outer headers). The receiving HISP drops the second copy: Sealpost's
 *   own MailStore.receive stores a message only once per bytes and per authenticated
 *   Message-ID, and Direct HISPs de-duplicate on Message-ID the same way.
 * - The rows of one message that go to the same target (the smarthost, or one recipient
 *   domain's MX) share one SMTP transaction; outcomes are still per recipient.
 * - A row with its own copy (a Bcc recipient: encrypted to that recipient and the sender
 *   only) is never grouped: its bytes go in an SMTP transaction of its own, with one RCPT,
 *   so neither the envelope nor the message tells anyone else about the blind copy.
 *
 * Logs carry queue and message ids, counts and reason codes; never addresses or content.
 */
import { HispError } from '../api/errors.js';
import { readHeaderBlock, headerValue } from '../agent/mime/headers.js';
import { MIME_LIMITS } from '../agent/mime/limits.js';
import { parseAddressList, domainOf } from '../agent/mime/address.js';
import { createSilentLogger, type Logger } from '../log/logger.js';
import type { MailStore, QueueRow, VerificationReason } from '../store/mail.js';
import {
  deliver as smtpDeliver,
  RELAY_REASONS,
  type DeliverOptions,
  type DeliveryOutcome,
  type RelayTarget,
} from './smtpClient.js';

export interface BackoffPolicy {
  /** Delay after the first failed attempt; doubles with each further attempt. */
  readonly baseMs: number;
  /** The delay never grows beyond this. */
  readonly maxMs: number;
  /** After this many attempts a temporary failure becomes permanent. */
  readonly maxAttempts: number;
  /** A row older than this (since it was queued) is not retried again. */
  readonly maxAgeMs: number;
}

/** 1 min doubling to 1 h; give up after 24 h or 30 attempts. */
export const DEFAULT_BACKOFF: BackoffPolicy = {
  baseMs: 60_000,
  maxMs: 60 * 60_000,
  maxAttempts: 30,
  maxAgeMs: 24 * 60 * 60_000,
};

export type DeliverFn = typeof smtpDeliver;

export interface RelayWorkerOptions {
  readonly store: MailStore;
  /** Where mail for a recipient domain goes (a smarthost, or that domain's MX). */
  readonly target: (recipientDomain: string) => RelayTarget;
  /** Simultaneous SMTP sessions at most (default 4). */
  readonly concurrency?: number;
  readonly backoff?: Partial<BackoffPolicy>;
  readonly now?: () => Date;
  readonly logger?: Logger;
  /**
   * The user notice: a recipient failed for good (`messageId` is the store's message id).
   * Called after the 'failed' state committed; an exception from it is logged and ignored.
   */
  readonly onFailed?: (messageId: number, recipient: string, reason: VerificationReason) => void;
  /** A recipient's copy was handed to the next hop (the message may have left the Outbox). */
  readonly onRelayed?: (messageId: number, recipient: string) => void;
  /** A recipient's copy could not be handed over this time; it is tried again later. */
  readonly onRetrying?: (messageId: number, recipient: string, reason: VerificationReason) => void;
  /** Passed to deliver (resolver, EHLO name, timeouts). */
  readonly deliverOptions?: DeliverOptions;
  /** Injectable for tests; default smtpClient.deliver. */
  readonly deliver?: DeliverFn;
  /** Time between passes when the queue had nothing due (default 30 s). */
  readonly pollMs?: number;
  /** Rows read per pass (default 100). */
  readonly batchSize?: number;
}

interface Group {
  readonly messageId: number;
  readonly target: RelayTarget;
  readonly rows: QueueRow[];
  /** The row whose own copy this group sends (then `rows` is that row alone). */
  readonly ownCopy?: number;
}

function targetKey(t: RelayTarget): string {
  return t.kind === 'smarthost'
    ? `smarthost:${t.host}:${t.port}:${t.secure}:${t.auth?.user ?? ''}`
    : `mx:${t.domain.toLowerCase()}:${t.port ?? 25}:${t.tlsRequired !== false}`;
}

/** The envelope sender and Message-ID from the stored message's outer (routing) headers. */
function outerFacts(raw: Buffer): { from: string | undefined; messageId: string | undefined } {
  try {
    const block = readHeaderBlock(raw, 0, raw.length, MIME_LIMITS);
    const fromValue = headerValue(block, 'from');
    const from = fromValue === undefined ? [] : parseAddressList(fromValue);
    return {
      from: from.length === 1 ? from[0]?.address : undefined,
      messageId: headerValue(block, 'message-id')?.trim(),
    };
  } catch {
    return { from: undefined, messageId: undefined };
  }
}

export class RelayWorker {
  readonly #store: MailStore;
  readonly #target: (recipientDomain: string) => RelayTarget;
  readonly #concurrency: number;
  readonly #backoff: BackoffPolicy;
  readonly #now: () => Date;
  readonly #log: Logger;
  readonly #onFailed: RelayWorkerOptions['onFailed'];
  readonly #onRelayed: RelayWorkerOptions['onRelayed'];
  readonly #onRetrying: RelayWorkerOptions['onRetrying'];
  readonly #deliverOptions: DeliverOptions;
  readonly #deliver: DeliverFn;
  readonly #pollMs: number;
  readonly #batchSize: number;
  /** The pass in progress (passes never overlap). */
  #current: Promise<number> = Promise.resolve(0);
  #running = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: RelayWorkerOptions) {
    this.#store = options.store;
    this.#target = options.target;
    this.#concurrency = Math.max(1, Math.floor(options.concurrency ?? 4));
    this.#backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.#now = options.now ?? (() => new Date());
    this.#log = (options.logger ?? createSilentLogger()).child({ component: 'relay-worker' });
    this.#onFailed = options.onFailed;
    this.#onRelayed = options.onRelayed;
    this.#onRetrying = options.onRetrying;
    this.#deliverOptions = {
      ...options.deliverOptions,
      ...(options.logger === undefined ? {} : { logger: options.logger }),
    };
    this.#deliver = options.deliver ?? smtpDeliver;
    this.#pollMs = Math.max(10, options.pollMs ?? 30_000);
    this.#batchSize = Math.max(1, Math.floor(options.batchSize ?? 100));
  }

  /**
   * Rows a crash left 'sending' go back to 'queued' (see the header: the one resend window),
   * then passes run until stop(): again at once while rows were due, else every pollMs.
   */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    const requeued = this.#store.requeueInterrupted();
    if (requeued > 0) this.#log.warn('interrupted attempts requeued', { rows: requeued });
    this.#cycle();
  }

  /** Run a pass now (e.g. after a message was queued) instead of at the next poll. */
  wake(): void {
    if (!this.#running) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#cycle();
  }

  /** No new pass starts; resolves when the pass in progress (if any) has settled its rows. */
  async stop(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#current.catch(() => 0);
  }

  #cycle(): void {
    const pass = this.runOnce();
    pass.then(
      (n) => this.#schedule(n > 0 ? 0 : this.#pollMs),
      (error: unknown) => {
        this.#log.error('relay pass failed', { code: HispError.from(error).code });
        this.#schedule(this.#pollMs);
      },
    );
  }

  #schedule(ms: number): void {
    if (!this.#running) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#cycle();
    }, ms);
    this.#timer.unref();
  }

  /**
   * One pass over the rows due now: markSending → deliver → markRelayed | markFailed (with a
   * retry time, or for good). Returns how many rows were attempted. Passes never overlap: a
   * call while one runs waits for it first.
   */
  runOnce(): Promise<number> {
    const next = this.#current.catch(() => 0).then(() => this.#pass());
    this.#current = next;
    return next;
  }

  async #pass(): Promise<number> {
    const due = this.#store.due({ limit: this.#batchSize });
    if (due.length === 0) return 0;
    const groups = new Map<string, Group>();
    for (const row of due) {
      let target: RelayTarget;
      try {
        target = this.#target(domainOf(row.recipient));
      } catch (error) {
        this.#log.error('no relay target', { queueId: row.id, code: HispError.from(error).code });
        continue;
      }
      const key = row.ownCopy ? `copy|${row.id}` : `${row.messageId}|${targetKey(target)}`;
      const group = groups.get(key) ?? {
        messageId: row.messageId,
        target,
        rows: [],
        ...(row.ownCopy ? { ownCopy: row.id } : {}),
      };
      group.rows.push(row);
      groups.set(key, group);
    }
    const work = [...groups.values()];
    let attempted = 0;
    const lane = async (): Promise<void> => {
      for (let group = work.shift(); group !== undefined; group = work.shift()) {
        // (Not `attempted += await …`: that reads `attempted` before the other lane adds.)
        const n = await this.#attempt(group);
        attempted += n;
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#concurrency, work.length) }, lane));
    return attempted;
  }

  /** One SMTP transaction for the rows of one message going to one target (or one own copy). */
  async #attempt(group: Group): Promise<number> {
    const rows = group.rows.filter((row) => this.#claim(row));
    if (rows.length === 0) return 0;
    let raw: Buffer;
    try {
      raw =
        group.ownCopy === undefined
          ? this.#store.ciphertext(group.messageId)
          : this.#store.queueCiphertext(group.ownCopy);
    } catch (error) {
      const code = HispError.from(error).code;
      this.#log.warn('queued message unreadable', { id: group.messageId, code });
      // Deleted meanwhile: its queue rows went with it. Anything else: retry later.
      if (code !== 'MESSAGE_NOT_FOUND') {
        for (const row of rows) {
          this.#settle(row, {
            recipient: row.recipient,
            outcome: 'temporary',
            reason: code,
            response: 'The stored message could not be read.',
          });
        }
      }
      return rows.length;
    }
    const { from } = outerFacts(raw);
    let outcomes: DeliveryOutcome[];
    if (from === undefined) {
      outcomes = rows.map((row) => ({
        recipient: row.recipient,
        outcome: 'permanent',
        reason: RELAY_REASONS.message,
        response: 'The stored message has no single From address to send from.',
      }));
    } else {
      try {
        outcomes = await this.#deliver(
          raw,
          { from, to: rows.map((r) => r.recipient) },
          group.target,
          this.#deliverOptions,
        );
      } catch (error) {
        const e = HispError.from(error);
        outcomes = rows.map((row) => ({
          recipient: row.recipient,
          outcome: e.code === 'BAD_REQUEST' ? 'permanent' : 'temporary',
          reason: e.code,
          response: e.message,
        }));
      }
    }
    const settled = rows.map((row, i) => ({
      row,
      outcome: outcomes[i] ?? {
        recipient: row.recipient,
        outcome: 'temporary' as const,
        reason: 'INTERNAL',
        response: 'No outcome for this recipient.',
      },
    }));
    // Failures first: the last markRelayed then sees no open row and moves the message from
    // 'outbox' to 'sent' (it left for at least one recipient; the others show 'failed').
    settled.sort(
      (a, b) => Number(a.outcome.outcome === 'relayed') - Number(b.outcome.outcome === 'relayed'),
    );
    for (const { row, outcome } of settled) this.#settle(row, outcome);
    this.#log.info('relay transaction', {
      id: group.messageId,
      queueIds: rows.map((r) => r.id),
      size: raw.length,
      outcomes: outcomes.map((o) => o.outcome),
      reasons: outcomes.map((o) => o.reason),
    });
    return rows.length;
  }

  #claim(row: QueueRow): boolean {
    try {
      return this.#store.markSending(row.id);
    } catch (error) {
      this.#log.error('could not claim a queue row', {
        queueId: row.id,
        code: HispError.from(error).code,
      });
      return false;
    }
  }

  /** Commit one recipient's outcome. `row.attempts` is the count before this attempt. */
  #settle(row: QueueRow, outcome: DeliveryOutcome): void {
    const attempts = row.attempts + 1;
    const response = outcome.response ?? outcome.outcome;
    const reason: VerificationReason = {
      code: outcome.reason,
      // The server's reply usually starts with its code already ("550 5.1.1 …").
      message:
        outcome.code === undefined || response.startsWith(String(outcome.code))
          ? response
          : `${outcome.code} ${response}`,
    };
    try {
      if (outcome.outcome === 'relayed') {
        this.#store.markRelayed(row.id);
        try {
          this.#onRelayed?.(row.messageId, row.recipient);
        } catch (error) {
          this.#log.error('relayed notice threw', { code: HispError.from(error).code });
        }
        return;
      }
      const now = this.#now();
      const age = now.getTime() - Date.parse(row.createdAt);
      const giveUp =
        outcome.outcome === 'permanent' ||
        attempts >= this.#backoff.maxAttempts ||
        age >= this.#backoff.maxAgeMs;
      if (!giveUp) {
        this.#store.markFailed(row.id, reason, this.retryAt(attempts, now));
        try {
          this.#onRetrying?.(row.messageId, row.recipient, reason);
        } catch (error) {
          this.#log.error('retry notice threw', { code: HispError.from(error).code });
        }
        return;
      }
      const final: VerificationReason =
        outcome.outcome === 'permanent'
          ? reason
          : {
              code: reason.code,
              message: `Gave up after ${attempts} attempt(s): ${reason.message}`,
            };
      this.#store.markFailed(row.id, final);
      this.#log.warn('recipient failed', { id: row.messageId, queueId: row.id, code: final.code });
      try {
        this.#onFailed?.(row.messageId, row.recipient, final);
      } catch (error) {
        this.#log.error('failure notice threw', { code: HispError.from(error).code });
      }
    } catch (error) {
      this.#log.error('could not record a relay outcome', {
        queueId: row.id,
        code: HispError.from(error).code,
      });
    }
  }

  /** When attempt number `attempts` (1-based) failed temporarily, the next one is due then. */
  retryAt(attempts: number, now: Date = this.#now()): Date {
    const { baseMs, maxMs } = this.#backoff;
    const delay = Math.min(maxMs, baseMs * 2 ** Math.max(0, Math.min(attempts - 1, 40)));
    return new Date(now.getTime() + delay);
  }
}
