/**
 * The mailbox (DESIGN.md §5, risk-13, risk-14, risk-19): every message is kept as the S/MIME
 * bytes that arrived or were sent, in the profile's encrypted database. What the list view
 * shows (subject, sender, snippet, attachment names) and the full-text index exist only in
 * that database too. Opening a message decrypts it in memory with the caller's OpenFn (the
 * security agent with the profile's identity); an attachment streams from memory. Nothing
 * here writes a file or logs content: log lines carry ids, sizes and codes only.
 *
 * The outbound queue (one row per message and recipient), MDN tracking (per recipient) and
 * drafts live in the same database, so a message and its queue rows commit together. A
 * blind-copy (Bcc) recipient's queue row carries its own encrypted copy (migration 7); the
 * message keeps one ciphertext, the one the sender's Sent folder opens.
 *
 * Every change of a recipient's delivery state appends a `delivery_events` row in the same
 * transaction: queued (enqueue), relayed (markRelayed), retrying / failed (markFailed with or
 * without a retry time), processed / dispatched / failed (recordMdn, from a notification;
 * one that came after the state was final is recorded with `late: true` and changed nothing)
 * and timed-out (timeOutMdns). `deliveryTimeline` reads them per recipient.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { FOLDER_LIST } from '../api/lists.js';
import { HispError } from '../api/errors.js';
import { headerValue, parseMime } from '../agent/mime/index.js';
import { createSilentLogger, type Logger } from '../log/logger.js';
import type { Sqlite } from './database.js';
import {
  attachmentBytes,
  bodyText,
  readInner,
  SEARCH_TEXT_CHARS,
  snippetOf,
  type InnerContent,
} from './mail-content.js';
import { AuditLog } from './audit.js';
import type { Profile } from './profile.js';

export type { AttachmentInfo } from './mail-content.js';

/** The mailbox folders (the contract's list: one definition for the UI and the store). */
export const FOLDERS = FOLDER_LIST;
export type Folder = (typeof FOLDERS)[number];
export type Direction = 'in' | 'out';

export interface VerificationReason {
  readonly code: string;
  readonly message: string;
}

export interface Verification {
  readonly trusted: boolean;
  readonly signer?: string | undefined;
  /** The signer certificate's subject DN. */
  readonly signerSubject?: string | undefined;
  /** The subject DN of the trust anchor the signer chained to. */
  readonly anchor?: string | undefined;
  readonly reasons: readonly VerificationReason[];
}

/**
 * Decrypts and verifies one stored Direct message in memory. `inner` is undefined when it did
 * not decrypt. Unless `hints.owned` is true it must not modify `raw` (receive checks: the
 * stored ciphertext must be exactly what arrived). When `owned` is true (open, attachment:
 * `raw` is the store's private copy read from the database), it may decrypt in place
 * (decryptAndVerify's `consumeInput`), which saves a copy of a large message.
 */
export type OpenFn = (
  raw: Buffer,
  hints?: { readonly owned: boolean },
) => Promise<{ inner: Buffer | undefined; verification: Verification }>;

export interface Flags {
  readonly seen: boolean;
  readonly flagged: boolean;
  readonly answered: boolean;
}

export interface IndexRow {
  readonly id: number;
  readonly direction: Direction;
  readonly folder: Folder;
  readonly flags: Flags;
  readonly receivedAt: string;
  readonly size: number;
  readonly trusted: boolean;
  readonly subject: string;
  readonly sender: string;
  readonly recipients: readonly string[];
  readonly sentAt: string | undefined;
  readonly snippet: string;
  readonly attachmentNames: readonly string[];
  readonly hasAttachments: boolean;
}

/**
 * A message decrypted for reading: its stored facts plus the inner message's parts (empty
 * when it did not decrypt). Text bodies are raw; HTML is NOT sanitised (the UI does that).
 */
export interface OpenedMessage extends InnerContent {
  readonly id: number;
  readonly direction: Direction;
  readonly folder: Folder;
  readonly flags: Flags;
  readonly receivedAt: string;
  readonly envelope: { readonly from: string; readonly to: readonly string[] };
  /** The outer (routing) headers as they arrived. */
  readonly routing: Readonly<Record<string, string>>;
  /** The result stored when the message arrived / was sent. */
  readonly storedVerification: Verification;
  /** The result of this open (revocation may have changed since). */
  readonly verification: Verification;
  readonly decrypted: boolean;
}

export interface ReceiveInput {
  /** The Direct message exactly as it arrived. */
  readonly raw: Buffer;
  readonly envelope: { readonly from: string; readonly to: readonly string[] };
}

export interface SentInput {
  /** The signed and encrypted Direct message exactly as it is sent. */
  readonly raw: Buffer;
  /** The plaintext message it was made from (indexed in memory, never stored as such). */
  readonly inner: Buffer;
  readonly envelope: { readonly from: string; readonly to: readonly string[] };
  /** Queue these recipients in the same transaction; the message then waits in 'outbox'. */
  readonly enqueue?: readonly string[];
  /** Default 'outbox' when enqueuing, else 'sent'. */
  readonly folder?: Folder;
  /**
   * Blind-copy recipients, each with its own copy (signed and encrypted to that recipient and
   * the sender only): queued alone with that copy, and listed in the index's recipients so
   * the sender sees them (the inner message never names them).
   */
  readonly bcc?: readonly { readonly recipient: string; readonly raw: Buffer }[];
}

export type QueueState = 'queued' | 'sending' | 'relayed' | 'failed';

export interface QueueRow {
  readonly id: number;
  readonly messageId: number;
  readonly recipient: string;
  readonly state: QueueState;
  readonly attempts: number;
  readonly nextAttemptAt: string | undefined;
  readonly lastError: VerificationReason | undefined;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** The row carries its own encrypted copy (a Bcc recipient): sent alone, with those bytes. */
  readonly ownCopy: boolean;
}

export type MdnState = 'pending' | 'processed' | 'dispatched' | 'failed' | 'timed-out';
export type MdnNotification = 'processed' | 'dispatched' | 'failed';

export interface MdnRow {
  readonly messageId: number;
  readonly recipient: string;
  readonly state: MdnState;
  readonly requestedDispatched: boolean;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** Notifications that came after the row reached a final state (kept, never applied). */
  readonly lateNotifications: readonly { readonly kind: MdnNotification; readonly at: string }[];
}

/** What a delivery event records (see the module comment for who appends which). */
export type DeliveryEventState =
  'queued' | 'relayed' | 'retrying' | 'failed' | 'processed' | 'dispatched' | 'timed-out';

export interface DeliveryEvent {
  readonly state: DeliveryEventState;
  /** ISO 8601. */
  readonly at: string;
  /** An error-registry code (relay failures, DELIVERY_FAILED, DELIVERY_TIMED_OUT). */
  readonly code?: string;
  /** The server's reply or our explanation; never message content. */
  readonly message?: string;
  /** A notification that came after the recipient's state was final: kept, not applied. */
  readonly late?: true;
}

/** One recipient of a sent message: where its queue row and notification stand, and how. */
export interface DeliveryRecipient {
  readonly recipient: string;
  readonly queue: QueueState | undefined;
  readonly mdn: MdnState | undefined;
  /** Oldest first. */
  readonly events: readonly DeliveryEvent[];
}

/**
 * Per sent message, how many recipients are where, for the list view. A recipient counts
 * under every fact that holds: `relayed` (handed to the next hop) includes those whose
 * notification came since; `failed` is failed for good by the relay or by a notification;
 * `pending` has no outcome yet: not failed, and no notification yet (still queued, or
 * relayed and waiting for its `processed`).
 */
export interface DeliverySummary {
  readonly recipients: number;
  readonly relayed: number;
  readonly processed: number;
  readonly dispatched: number;
  readonly failed: number;
  readonly timedOut: number;
  readonly pending: number;
}

export interface DraftAttachment {
  readonly filename: string;
  readonly contentType: string;
  readonly content: Buffer;
}

export interface DraftInput {
  readonly to?: readonly string[];
  readonly cc?: readonly string[];
  readonly subject?: string;
  readonly body?: string;
  readonly inReplyTo?: string;
  readonly attachments?: readonly DraftAttachment[];
}

export interface Draft {
  readonly id: number;
  readonly updatedAt: string;
  readonly to: readonly string[];
  readonly cc: readonly string[];
  readonly subject: string;
  readonly body: string;
  readonly inReplyTo: string | undefined;
  readonly attachments: readonly DraftAttachment[];
}

export interface MailStoreOptions {
  readonly now?: () => Date;
  readonly logger?: Logger;
}

interface MessageRow {
  id: number;
  direction: Direction;
  folder: Folder;
  seen: number;
  flagged: number;
  answered: number;
  received_at: string;
  envelope_from: string;
  envelope_to: string;
  routing: string;
  verification: string;
  size: number;
  message_id: string | null;
}

interface IndexDbRow {
  id: number;
  direction: Direction;
  folder: Folder;
  seen: number;
  flagged: number;
  answered: number;
  received_at: string;
  size: number;
  verification: string;
  subject: string;
  sender: string;
  recipients: string;
  sent_at: string | null;
  snippet: string;
  attachment_names: string;
  has_attachments: number;
}

interface QueueDbRow {
  id: number;
  message_id: number;
  recipient: string;
  state: QueueState;
  attempts: number;
  next_attempt_at: string | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
  own_copy: number;
}

interface MdnDbRow {
  message_id: number;
  recipient: string;
  state: MdnState;
  requested_dispatched: number;
  created_at: string;
  updated_at: string;
  late_notifications: string;
}

interface DraftDbRow {
  id: number;
  updated_at: string;
  to_addrs: string;
  cc_addrs: string;
  subject: string;
  body: string;
  in_reply_to: string | null;
}

/** Outer headers kept for routing (never the Subject: outer Subjects are generic anyway). */
const ROUTING_HEADERS = ['message-id', 'from', 'sender', 'to', 'cc', 'date', 'in-reply-to'];
const LIST_LIMIT_MAX = 500;
/** Bytes per chunk of a streamed attachment. */
const STREAM_CHUNK = 64 * 1024;

/** Queue columns without the (possibly large) own copy: whether there is one is enough. */
const QUEUE_SELECT = `
  SELECT id, message_id, recipient, state, attempts, next_attempt_at, last_error, created_at,
         updated_at, ciphertext IS NOT NULL AS own_copy
    FROM outbound_queue`;

const INDEX_SELECT = `
  SELECT m.id, m.direction, m.folder, m.seen, m.flagged, m.answered, m.received_at, m.size,
         m.verification, i.subject, i.sender, i.recipients, i.sent_at, i.snippet,
         i.attachment_names, i.has_attachments
    FROM messages m JOIN message_index i ON i.message_id = m.id`;

function isFolder(value: unknown): value is Folder {
  return typeof value === 'string' && (FOLDERS as readonly string[]).includes(value);
}

function checkFolder(folder: unknown): Folder {
  if (!isFolder(folder)) {
    throw new HispError('BAD_REQUEST', `Unknown folder ${JSON.stringify(folder)}.`);
  }
  return folder;
}

function checkId(id: unknown): number {
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id <= 0) {
    throw new HispError('BAD_REQUEST', 'A message id is a positive integer.');
  }
  return id;
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function flagsOf(row: { seen: number; flagged: number; answered: number }): Flags {
  return { seen: row.seen === 1, flagged: row.flagged === 1, answered: row.answered === 1 };
}

function indexRow(row: IndexDbRow): IndexRow {
  const verification = JSON.parse(row.verification) as Verification;
  return {
    id: row.id,
    direction: row.direction,
    folder: row.folder,
    flags: flagsOf(row),
    receivedAt: row.received_at,
    size: row.size,
    trusted: verification.trusted,
    subject: row.subject,
    sender: row.sender,
    recipients: JSON.parse(row.recipients) as string[],
    sentAt: row.sent_at ?? undefined,
    snippet: row.snippet,
    attachmentNames: JSON.parse(row.attachment_names) as string[],
    hasAttachments: row.has_attachments === 1,
  };
}

function queueRow(row: QueueDbRow): QueueRow {
  return {
    id: row.id,
    messageId: row.message_id,
    recipient: row.recipient,
    state: row.state,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at ?? undefined,
    lastError:
      row.last_error === null ? undefined : (JSON.parse(row.last_error) as VerificationReason),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    ownCopy: row.own_copy === 1,
  };
}

function mdnRow(row: MdnDbRow): MdnRow {
  return {
    messageId: row.message_id,
    recipient: row.recipient,
    state: row.state,
    requestedDispatched: row.requested_dispatched === 1,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    lateNotifications: JSON.parse(row.late_notifications) as MdnRow['lateNotifications'],
  };
}

/** Outer routing headers of the message as it travelled; {} when they do not parse. */
function routingOf(raw: Buffer): Record<string, string> {
  try {
    const outer = parseMime(raw);
    const out: Record<string, string> = {};
    for (const name of ROUTING_HEADERS) {
      const value = headerValue(outer, name);
      if (value !== undefined) out[name] = value;
    }
    return out;
  } catch {
    return {};
  }
}

function verificationSummary(v: Verification): Verification {
  return {
    trusted: v.trusted === true,
    ...(v.signer === undefined ? {} : { signer: v.signer }),
    ...(v.signerSubject === undefined ? {} : { signerSubject: v.signerSubject }),
    ...(v.anchor === undefined ? {} : { anchor: v.anchor }),
    reasons: v.reasons.map(({ code, message }) => ({ code, message })),
  };
}

interface IndexFacts {
  readonly subject: string;
  readonly sender: string;
  readonly recipients: readonly string[];
  readonly sentAt: string | undefined;
  readonly snippet: string;
  readonly attachmentNames: readonly string[];
  readonly searchText: string;
  readonly messageId: string | undefined;
}

function indexFacts(content: InnerContent): IndexFacts {
  const text = bodyText(content);
  return {
    subject: content.subject,
    sender: content.from,
    recipients: [...content.to, ...content.cc],
    sentAt: content.date,
    snippet: snippetOf(text),
    attachmentNames: content.attachments.map((a) => a.filename),
    searchText: text.slice(0, SEARCH_TEXT_CHARS),
    messageId: content.messageId,
  };
}

/** For a message that did not decrypt (or whose inner message does not parse). */
function blankFacts(sender: string): IndexFacts {
  return {
    subject: '',
    sender,
    recipients: [],
    sentAt: undefined,
    snippet: '',
    attachmentNames: [],
    searchText: '',
    messageId: undefined,
  };
}

/** A user's search words as an FTS5 query: every word must match (as a prefix). */
function ftsQuery(text: string): string | undefined {
  const words = text
    .normalize('NFKC')
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w.length > 0)
    .slice(0, 16);
  if (words.length === 0) return undefined;
  return words.map((w) => `"${w.replace(/"/g, '""')}"*`).join(' AND ');
}

export class MailStore {
  readonly #profile: Profile;
  readonly #now: () => Date;
  readonly #log: Logger;
  /** Accounting of disclosures: receive, open, attachment save, send, delete. */
  readonly #audit: AuditLog;

  constructor(profile: Profile, options: MailStoreOptions = {}) {
    this.#profile = profile;
    this.#now = options.now ?? (() => new Date());
    this.#log = (options.logger ?? createSilentLogger()).child({ component: 'mail-store' });
    this.#audit = new AuditLog(profile, { now: this.#now });
  }

  /** The other party of a stored message: its sender, or (sent) its first recipient. */
  #counterpart(
    row: Pick<MessageRow, 'direction' | 'envelope_from' | 'envelope_to'>,
  ): string | undefined {
    if (row.direction === 'in') return row.envelope_from;
    return (JSON.parse(row.envelope_to) as string[])[0];
  }

  #iso(): string {
    return this.#now().toISOString();
  }

  #write<T>(work: (db: Sqlite) => T): T {
    return this.#profile.db.transaction(work);
  }

  #read<T>(work: (db: Sqlite) => T): T {
    return this.#profile.db.read(work);
  }

  // ── Messages ──────────────────────────────────────────────────────────────────────────────

  /**
   * Store a message that arrived. A message whose bytes, or whose authenticated Message-ID,
   * is already stored is a duplicate (nothing is written). It is decrypted in memory through
   * `open` only to build the index; ciphertext, index and verification commit together.
   * Untrusted (or undecryptable) messages go to 'untrusted'.
   */
  async receive(input: ReceiveInput, open: OpenFn): Promise<{ id: number; duplicate: boolean }> {
    const raw = input.raw;
    const digest = sha256(raw);
    const existing = this.#read((db) => this.#byDigest(db, 'in', digest));
    if (existing !== undefined) {
      this.#log.info('duplicate message not stored', { id: existing, reason: 'same bytes' });
      return { id: existing, duplicate: true };
    }
    const routing = routingOf(raw);
    const opened = await open(raw, { owned: false });
    if (sha256(raw) !== digest) {
      throw new HispError('INTERNAL', 'The message was changed while it was being opened.');
    }
    const verification = verificationSummary(opened.verification);
    let facts = blankFacts(input.envelope.from);
    let content: InnerContent | undefined;
    if (opened.inner !== undefined) {
      try {
        content = readInner(opened.inner);
        facts = indexFacts(content);
      } catch (error) {
        this.#log.warn('inner message does not parse', { code: HispError.from(error).code });
      } finally {
        // Zero the plaintext, unless the OpenFn handed back a view of the bytes to be stored.
        if (opened.inner.buffer !== raw.buffer) opened.inner.fill(0);
      }
    }
    const trusted = verification.trusted && content !== undefined;
    const messageId = trusted ? facts.messageId : undefined;
    return this.#write((db) => {
      const again =
        this.#byDigest(db, 'in', digest) ??
        (messageId === undefined ? undefined : this.#byMessageId(db, 'in', messageId));
      if (again !== undefined) return { id: again, duplicate: true };
      const id = this.#insert(db, {
        direction: 'in',
        folder: trusted ? 'inbox' : 'untrusted',
        raw,
        digest,
        envelope: input.envelope,
        routing,
        verification: trusted ? verification : { ...verification, trusted: false },
        messageId,
        facts,
      });
      this.#audit.appendIn(db, {
        action: 'receive',
        counterpart: input.envelope.from,
        messageId,
        detail: { id, trusted },
      });
      this.#log.info('message received', {
        id,
        size: raw.length,
        trusted,
        codes: verification.reasons.map((r) => r.code),
      });
      return { id, duplicate: false };
    });
  }

  /**
   * Store a message this profile sent (the signed and encrypted bytes), indexed from the
   * plaintext it was made from; with `enqueue`, its queue rows commit in the same transaction.
   * The same Message-ID stored twice is a duplicate (nothing is written).
   */
  storeSent(input: SentInput): { id: number; duplicate: boolean } {
    const content = readInner(input.inner);
    const bcc = input.bcc ?? [];
    const read = indexFacts(content);
    const facts: IndexFacts =
      bcc.length === 0
        ? read
        : { ...read, recipients: [...read.recipients, ...bcc.map((copy) => copy.recipient)] };
    const digest = sha256(input.raw);
    const routing = routingOf(input.raw);
    const queues = (input.enqueue?.length ?? 0) + bcc.length > 0;
    const folder = checkFolder(input.folder ?? (queues ? 'outbox' : 'sent'));
    return this.#write((db) => {
      const again =
        (facts.messageId === undefined
          ? undefined
          : this.#byMessageId(db, 'out', facts.messageId)) ?? this.#byDigest(db, 'out', digest);
      if (again !== undefined) return { id: again, duplicate: true };
      const id = this.#insert(db, {
        direction: 'out',
        folder,
        raw: input.raw,
        digest,
        envelope: input.envelope,
        routing,
        verification: { trusted: true, signer: input.envelope.from, reasons: [] },
        messageId: facts.messageId,
        facts,
      });
      if (input.enqueue !== undefined && input.enqueue.length > 0) {
        this.#enqueue(db, id, input.enqueue);
      }
      for (const copy of bcc) this.#enqueue(db, id, [copy.recipient], copy.raw);
      this.#log.info('sent message stored', {
        id,
        size: input.raw.length,
        ...(bcc.length > 0 ? { separateCopies: bcc.length } : {}),
      });
      return { id, duplicate: false };
    });
  }

  #byDigest(db: Sqlite, direction: Direction, digest: string): number | undefined {
    const row = db
      .prepare('SELECT id FROM messages WHERE direction = ? AND digest = ?')
      .get(direction, digest) as { id: number } | undefined;
    return row?.id;
  }

  #byMessageId(db: Sqlite, direction: Direction, messageId: string): number | undefined {
    const row = db
      .prepare('SELECT id FROM messages WHERE direction = ? AND message_id = ?')
      .get(direction, messageId) as { id: number } | undefined;
    return row?.id;
  }

  #insert(
    db: Sqlite,
    m: {
      direction: Direction;
      folder: Folder;
      raw: Buffer;
      digest: string;
      envelope: ReceiveInput['envelope'];
      routing: Record<string, string>;
      verification: Verification;
      messageId: string | undefined;
      facts: IndexFacts;
    },
  ): number {
    const result = db
      .prepare(
        `INSERT INTO messages (direction, folder, seen, received_at, envelope_from, envelope_to,
                               routing, ciphertext, size, digest, verification, message_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        m.direction,
        m.folder,
        // What we sent is read already; what arrives is new.
        m.direction === 'out' ? 1 : 0,
        this.#iso(),
        m.envelope.from,
        JSON.stringify(m.envelope.to),
        JSON.stringify(m.routing),
        m.raw,
        m.raw.length,
        m.digest,
        JSON.stringify(m.verification),
        m.messageId ?? null,
      );
    const id = Number(result.lastInsertRowid);
    const f = m.facts;
    db.prepare(
      `INSERT INTO message_index (message_id, subject, sender, recipients, sent_at, snippet,
                                  attachment_names, has_attachments)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      id,
      f.subject,
      f.sender,
      JSON.stringify(f.recipients),
      f.sentAt ?? null,
      f.snippet,
      JSON.stringify(f.attachmentNames),
      f.attachmentNames.length > 0 ? 1 : 0,
    );
    db.prepare('INSERT INTO message_search (rowid, subject, sender, body) VALUES (?, ?, ?, ?)').run(
      id,
      f.subject,
      f.sender,
      `${f.searchText} ${f.attachmentNames.join(' ')}`,
    );
    return id;
  }

  /**
   * The list view of a folder, newest first; reads only the index, never decrypts. `before`
   * pages by id; `offset` skips that many rows (a virtualized list jumping to a position).
   */
  list(
    folder: Folder,
    options: { limit?: number; before?: number; offset?: number } = {},
  ): IndexRow[] {
    checkFolder(folder);
    const limit = Math.min(Math.max(1, Math.floor(options.limit ?? 100)), LIST_LIMIT_MAX);
    const before = options.before === undefined ? Number.MAX_SAFE_INTEGER : checkId(options.before);
    const offset = Math.max(0, Math.floor(options.offset ?? 0));
    return this.#read((db) =>
      (
        db
          .prepare(
            // The page's ids come from the (folder, id) index alone: skipping `offset` rows
            // there is cheap, where skipping whole encrypted rows is not.
            `${INDEX_SELECT} WHERE m.id IN (
               SELECT id FROM messages WHERE folder = ? AND id < ?
                ORDER BY id DESC LIMIT ? OFFSET ?)
             ORDER BY m.id DESC`,
          )
          .all(folder, before, limit, offset) as IndexDbRow[]
      ).map(indexRow),
    );
  }

  /** One message's index row. @throws MESSAGE_NOT_FOUND */
  get(id: number): IndexRow {
    checkId(id);
    const row = this.#read(
      (db) => db.prepare(`${INDEX_SELECT} WHERE m.id = ?`).get(id) as IndexDbRow | undefined,
    );
    if (row === undefined) throw notFound(id);
    return indexRow(row);
  }

  /**
   * Full-text search over subject, sender, body text and attachment names (FTS5, every word
   * as a prefix), best matches first. Never decrypts.
   */
  search(text: string, options: { folder?: Folder; limit?: number } = {}): IndexRow[] {
    const query = ftsQuery(text);
    if (query === undefined) return [];
    const folder = options.folder === undefined ? undefined : checkFolder(options.folder);
    const limit = Math.min(Math.max(1, Math.floor(options.limit ?? 100)), LIST_LIMIT_MAX);
    return this.#read((db) =>
      (
        db
          .prepare(
            `${INDEX_SELECT}
               JOIN (SELECT rowid, rank FROM message_search WHERE message_search MATCH ?) s
                 ON s.rowid = m.id
              WHERE (? IS NULL OR m.folder = ?)
              ORDER BY s.rank, m.id DESC LIMIT ?`,
          )
          .all(query, folder ?? null, folder ?? null, limit) as IndexDbRow[]
      ).map(indexRow),
    );
  }

  #row(id: number): { row: MessageRow; ciphertext: Buffer } {
    checkId(id);
    const found = this.#read(
      (db) =>
        db
          .prepare(
            `SELECT id, direction, folder, seen, flagged, answered, received_at, envelope_from,
                    envelope_to, routing, verification, size, message_id, ciphertext
               FROM messages WHERE id = ?`,
          )
          .get(id) as (MessageRow & { ciphertext: Buffer }) | undefined,
    );
    if (found === undefined) throw notFound(id);
    const { ciphertext, ...row } = found;
    return { row, ciphertext };
  }

  /**
   * Records that the user had the message's remote images fetched (the sender can tell it
   * was opened): an 'open' entry naming the hosts asked. @throws MESSAGE_NOT_FOUND
   */
  recordRemoteContent(id: number, hosts: readonly string[]): void {
    const { row, ciphertext } = this.#row(id);
    ciphertext.fill(0);
    this.#audit.append({
      action: 'open',
      counterpart: this.#counterpart(row),
      messageId: row.message_id ?? undefined,
      detail: { id: row.id, remoteContent: true, hosts: hosts.slice(0, 50) },
    });
  }

  /** When the newest inbound message was stored (the silence monitor's signal), if any. */
  lastInboundAt(): Date | undefined {
    const row = this.#read(
      (db) =>
        db.prepare("SELECT max(received_at) AS at FROM messages WHERE direction = 'in'").get() as {
          at: string | null;
        },
    );
    return row.at === null ? undefined : new Date(row.at);
  }

  /** The sent message with this Message-ID (what a delivery notification refers to). */
  findSentByMessageId(messageId: string): number | undefined {
    const id = messageId.trim();
    if (id === '') return undefined;
    return this.#read((db) => this.#byMessageId(db, 'out', id.startsWith('<') ? id : `<${id}>`));
  }

  /** The stored bytes, exactly as they arrived or were sent. @throws MESSAGE_NOT_FOUND */
  ciphertext(id: number): Buffer {
    return this.#row(id).ciphertext;
  }

  /** Decrypt in memory and return the message's parts. @throws MESSAGE_NOT_FOUND */
  async open(id: number, openFn: OpenFn): Promise<OpenedMessage> {
    const { row, ciphertext } = this.#row(id);
    const opened = await openFn(ciphertext, { owned: true });
    let content: InnerContent | undefined;
    if (opened.inner !== undefined) {
      try {
        content = readInner(opened.inner);
      } catch (error) {
        this.#log.warn('inner message does not parse', { id, code: HispError.from(error).code });
      } finally {
        opened.inner.fill(0);
      }
    }
    ciphertext.fill(0);
    this.#audit.append({
      action: 'open',
      counterpart: this.#counterpart(row),
      messageId: row.message_id ?? undefined,
      detail: { id: row.id, decrypted: content !== undefined },
    });
    return {
      id: row.id,
      direction: row.direction,
      folder: row.folder,
      flags: flagsOf(row),
      receivedAt: row.received_at,
      envelope: { from: row.envelope_from, to: JSON.parse(row.envelope_to) as string[] },
      routing: JSON.parse(row.routing) as Record<string, string>,
      storedVerification: JSON.parse(row.verification) as Verification,
      verification: verificationSummary(opened.verification),
      decrypted: content !== undefined,
      headers: content?.headers ?? [],
      subject: content?.subject ?? '',
      from: content?.from ?? '',
      to: content?.to ?? [],
      cc: content?.cc ?? [],
      date: content?.date,
      messageId: content?.messageId,
      text: content?.text,
      html: content?.html,
      attachments: content?.attachments ?? [],
    };
  }

  /**
   * Attachment `index` of message `id`, decoded, as a byte stream from memory (no temp file).
   * The decrypted message is zeroed when the stream ends or is destroyed. Errors
   * (MESSAGE_NOT_FOUND, or NOT_FOUND for a bad index) come as the stream's 'error'. Audited
   * as 'attachment-save', or 'attachment-forward' when it is read to go with a forward.
   */
  attachment(
    id: number,
    index: number,
    openFn: OpenFn,
    purpose: 'save' | 'forward' = 'save',
  ): Readable {
    return Readable.from(this.#attachmentChunks(id, index, openFn, purpose), {
      objectMode: false,
      highWaterMark: STREAM_CHUNK,
    });
  }

  async *#attachmentChunks(
    id: number,
    index: number,
    openFn: OpenFn,
    purpose: 'save' | 'forward',
  ): AsyncGenerator<Buffer> {
    const { row, ciphertext } = this.#row(id);
    try {
      // The inner message may be a view into `ciphertext` (decrypted in place): zero both last.
      const opened = await openFn(ciphertext, { owned: true });
      const inner = opened.inner;
      if (inner === undefined) {
        throw new HispError('DECRYPT_FAILED', `Message ${id} does not decrypt.`);
      }
      try {
        const bytes = attachmentBytes(inner, index);
        if (bytes === undefined) {
          throw new HispError('NOT_FOUND', `Message ${id} has no attachment ${index}.`);
        }
        // Recorded before the first byte leaves the store.
        this.#audit.append({
          action: purpose === 'forward' ? 'attachment-forward' : 'attachment-save',
          counterpart: this.#counterpart(row),
          messageId: row.message_id ?? undefined,
          detail: { id, attachment: index },
        });
        try {
          for (let start = 0; start < bytes.length; start += STREAM_CHUNK) {
            // A copy per chunk: the source is zeroed afterwards, consumers may keep chunks.
            yield Buffer.from(bytes.subarray(start, start + STREAM_CHUNK));
          }
        } finally {
          bytes.fill(0);
        }
      } finally {
        inner.fill(0);
      }
    } finally {
      ciphertext.fill(0);
    }
  }

  setFlags(id: number, flags: Partial<Flags>): void {
    checkId(id);
    this.#write((db) => {
      const current = db
        .prepare('SELECT seen, flagged, answered FROM messages WHERE id = ?')
        .get(id) as { seen: number; flagged: number; answered: number } | undefined;
      if (current === undefined) throw notFound(id);
      const next = { ...flagsOf(current), ...flags };
      db.prepare('UPDATE messages SET seen = ?, flagged = ?, answered = ? WHERE id = ?').run(
        next.seen ? 1 : 0,
        next.flagged ? 1 : 0,
        next.answered ? 1 : 0,
        id,
      );
    });
  }

  move(id: number, folder: Folder): void {
    checkId(id);
    checkFolder(folder);
    this.#write((db) => {
      const result = db.prepare('UPDATE messages SET folder = ? WHERE id = ?').run(folder, id);
      if (result.changes === 0) throw notFound(id);
    });
  }

  /**
   * Delete for good: the message, its index, search tokens, queue and MDN rows. With
   * secure_delete on (database.ts) and FTS5 secure-delete, the freed bytes are overwritten.
   */
  delete(id: number): void {
    checkId(id);
    this.#write((db) => {
      const row = db
        .prepare(
          'SELECT direction, envelope_from, envelope_to, message_id FROM messages WHERE id = ?',
        )
        .get(id) as
        Pick<MessageRow, 'direction' | 'envelope_from' | 'envelope_to' | 'message_id'> | undefined;
      if (row === undefined) throw notFound(id);
      db.prepare('DELETE FROM message_search WHERE rowid = ?').run(id);
      db.prepare('DELETE FROM messages WHERE id = ?').run(id);
      this.#audit.appendIn(db, {
        action: 'delete',
        counterpart: this.#counterpart(row),
        messageId: row.message_id ?? undefined,
        detail: { id },
      });
    });
    this.#log.info('message deleted', { id });
  }

  /** One folder's total and unread (the (folder, seen) index answers it without rows). */
  count(folder: Folder): { total: number; unseen: number } {
    checkFolder(folder);
    const row = this.#read(
      (db) =>
        db
          .prepare(
            'SELECT count(*) AS total, coalesce(sum(seen = 0), 0) AS unseen FROM messages WHERE folder = ?',
          )
          .get(folder) as { total: number; unseen: number },
    );
    return { total: row.total, unseen: row.unseen };
  }

  counts(): Record<Folder, { total: number; unseen: number }> {
    const out = Object.fromEntries(FOLDERS.map((f) => [f, { total: 0, unseen: 0 }])) as Record<
      Folder,
      { total: number; unseen: number }
    >;
    const rows = this.#read(
      (db) =>
        db
          .prepare(
            'SELECT folder, count(*) AS total, sum(seen = 0) AS unseen FROM messages GROUP BY folder',
          )
          .all() as { folder: Folder; total: number; unseen: number }[],
    );
    for (const row of rows) out[row.folder] = { total: row.total, unseen: row.unseen };
    return out;
  }

  // ── Outbound queue ────────────────────────────────────────────────────────────────────────

  /** Queue a stored outbound message for each recipient (idempotent per recipient). */
  enqueue(messageId: number, recipients: readonly string[]): QueueRow[] {
    checkId(messageId);
    return this.#write((db) => this.#enqueue(db, messageId, recipients));
  }

  /** With `ownCopy`, the rows carry those bytes instead of sharing the message's. */
  #enqueue(
    db: Sqlite,
    messageId: number,
    recipients: readonly string[],
    ownCopy?: Buffer,
  ): QueueRow[] {
    const message = db.prepare('SELECT direction FROM messages WHERE id = ?').get(messageId) as
      { direction: Direction } | undefined;
    if (message === undefined) throw notFound(messageId);
    if (message.direction !== 'out') {
      throw new HispError('BAD_REQUEST', `Message ${messageId} was received, not sent.`);
    }
    if (recipients.length === 0) throw new HispError('BAD_REQUEST', 'There is no recipient.');
    const at = this.#iso();
    const insert = db.prepare(
      `INSERT INTO outbound_queue (message_id, recipient, state, attempts, next_attempt_at,
                                   created_at, updated_at, ciphertext)
       VALUES (?, ?, 'queued', 0, ?, ?, ?, ?)
       ON CONFLICT (message_id, recipient) DO NOTHING`,
    );
    for (const recipient of recipients) {
      if (insert.run(messageId, recipient, at, at, at, ownCopy ?? null).changes === 1) {
        this.#event(db, messageId, recipient, { state: 'queued' });
      }
    }
    return (
      db.prepare(`${QUEUE_SELECT} WHERE message_id = ? ORDER BY id`).all(messageId) as QueueDbRow[]
    ).map(queueRow);
  }

  /** Append one delivery event (in the caller's transaction). */
  #event(db: Sqlite, messageId: number, recipient: string, event: Omit<DeliveryEvent, 'at'>): void {
    db.prepare(
      `INSERT INTO delivery_events (message_id, recipient, state, late, at, code, message)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      messageId,
      recipient,
      event.state,
      event.late === true ? 1 : 0,
      this.#iso(),
      event.code ?? null,
      event.message ?? null,
    );
  }

  /**
   * The bytes to send for one queue row: its own copy (a Bcc recipient) or else the
   * message's ciphertext. @throws MESSAGE_NOT_FOUND when the row (or its message) is gone.
   */
  queueCiphertext(queueId: number): Buffer {
    checkId(queueId);
    const row = this.#read(
      (db) =>
        db
          .prepare(
            `SELECT coalesce(q.ciphertext, m.ciphertext) AS bytes
               FROM outbound_queue q JOIN messages m ON m.id = q.message_id WHERE q.id = ?`,
          )
          .get(queueId) as { bytes: Buffer } | undefined,
    );
    if (row === undefined) {
      throw new HispError('MESSAGE_NOT_FOUND', `The queued message ${queueId} is gone.`);
    }
    return row.bytes;
  }

  /** Queue rows of one message. */
  queueFor(messageId: number): QueueRow[] {
    checkId(messageId);
    return this.#read((db) =>
      (
        db
          .prepare(`${QUEUE_SELECT} WHERE message_id = ? ORDER BY id`)
          .all(messageId) as QueueDbRow[]
      ).map(queueRow),
    );
  }

  /** Queued rows whose next attempt is due, oldest first. */
  due(options: { limit?: number } = {}): QueueRow[] {
    const limit = Math.min(Math.max(1, Math.floor(options.limit ?? 50)), LIST_LIMIT_MAX);
    return this.#read((db) =>
      (
        db
          .prepare(
            `${QUEUE_SELECT} WHERE state = 'queued' AND next_attempt_at <= ?
              ORDER BY next_attempt_at, id LIMIT ?`,
          )
          .all(this.#iso(), limit) as QueueDbRow[]
      ).map(queueRow),
    );
  }

  /** queued → sending (one attempt starts). False when the row was not queued. */
  markSending(queueId: number): boolean {
    checkId(queueId);
    return this.#write(
      (db) =>
        db
          .prepare(
            `UPDATE outbound_queue SET state = 'sending', attempts = attempts + 1, updated_at = ?
              WHERE id = ? AND state = 'queued'`,
          )
          .run(this.#iso(), queueId).changes === 1,
    );
  }

  /**
   * sending → relayed. When no row of the message is left queued or sending, the message
   * moves from 'outbox' to 'sent'.
   */
  markRelayed(queueId: number): void {
    checkId(queueId);
    this.#write((db) => {
      const row = db
        .prepare(
          `SELECT q.message_id, q.recipient, m.message_id AS rfc_message_id
             FROM outbound_queue q JOIN messages m ON m.id = q.message_id WHERE q.id = ?`,
        )
        .get(queueId) as
        { message_id: number; recipient: string; rfc_message_id: string | null } | undefined;
      if (row === undefined) throw new HispError('NOT_FOUND', `No queue entry ${queueId}.`);
      // The message left for this recipient: the disclosure is recorded with the hand-over.
      this.#audit.appendIn(db, {
        action: 'send',
        counterpart: row.recipient,
        messageId: row.rfc_message_id ?? undefined,
        detail: { id: row.message_id },
      });
      db.prepare(
        `UPDATE outbound_queue SET state = 'relayed', next_attempt_at = NULL, last_error = NULL,
                updated_at = ? WHERE id = ?`,
      ).run(this.#iso(), queueId);
      this.#event(db, row.message_id, row.recipient, { state: 'relayed' });
      this.#leaveOutboxWhenDone(db, row.message_id);
    });
  }

  /**
   * A message stays in the Outbox while any recipient's copy is still waiting to go; once
   * every one is relayed or failed for good it is in Sent (a failure shows in its delivery).
   */
  #leaveOutboxWhenDone(db: Sqlite, messageId: number): void {
    const open = db
      .prepare(
        `SELECT count(*) AS n FROM outbound_queue
          WHERE message_id = ? AND state IN ('queued', 'sending')`,
      )
      .get(messageId) as { n: number };
    if (open.n === 0) {
      db.prepare(`UPDATE messages SET folder = 'sent' WHERE id = ? AND folder = 'outbox'`).run(
        messageId,
      );
    }
  }

  /** An attempt failed: back to 'queued' for `retryAt`, or 'failed' for good without it. */
  markFailed(queueId: number, error: VerificationReason, retryAt?: Date): void {
    checkId(queueId);
    this.#write((db) => {
      const result = db
        .prepare(
          `UPDATE outbound_queue SET state = ?, next_attempt_at = ?, last_error = ?, updated_at = ?
            WHERE id = ? AND state IN ('queued', 'sending')`,
        )
        .run(
          retryAt === undefined ? 'failed' : 'queued',
          retryAt?.toISOString() ?? null,
          JSON.stringify({ code: error.code, message: error.message }),
          this.#iso(),
          queueId,
        );
      if (result.changes === 0) {
        throw new HispError('NOT_FOUND', `No queue entry ${queueId} waiting to be sent.`);
      }
      const row = db
        .prepare('SELECT message_id, recipient FROM outbound_queue WHERE id = ?')
        .get(queueId) as { message_id: number; recipient: string };
      this.#event(db, row.message_id, row.recipient, {
        state: retryAt === undefined ? 'failed' : 'retrying',
        code: error.code,
        message: error.message,
      });
      if (retryAt === undefined) this.#leaveOutboxWhenDone(db, row.message_id);
    });
  }

  /**
   * After a crash or restart: rows left 'sending' (their attempt's outcome is unknown) go
   * back to 'queued', due now. Returns how many.
   */
  requeueInterrupted(): number {
    return this.#write((db) => {
      const at = this.#iso();
      return db
        .prepare(
          `UPDATE outbound_queue SET state = 'queued', next_attempt_at = ?, updated_at = ?
            WHERE state = 'sending'`,
        )
        .run(at, at).changes;
    });
  }

  /**
   * The relay settings changed (Settings saved): every recipient waiting for its next attempt
   * is due now, so what the old settings held back goes as soon as the new ones work, not
   * after the backoff. Returns how many.
   */
  retryWaitingNow(): number {
    return this.#write((db) => {
      const at = this.#iso();
      return db
        .prepare(
          `UPDATE outbound_queue SET next_attempt_at = ?, updated_at = ?
            WHERE state = 'queued' AND next_attempt_at > ?`,
        )
        .run(at, at, at).changes;
    });
  }

  // ── MDN tracking ──────────────────────────────────────────────────────────────────────────

  /** Expect notifications for a sent message from each recipient. */
  trackMdn(messageId: number, recipients: readonly string[], requestedDispatched: boolean): void {
    checkId(messageId);
    this.#write((db) => {
      if (db.prepare('SELECT 1 FROM messages WHERE id = ?').get(messageId) === undefined) {
        throw notFound(messageId);
      }
      const at = this.#iso();
      const insert = db.prepare(
        `INSERT INTO mdn_tracking (message_id, recipient, state, requested_dispatched, created_at,
                                   updated_at)
         VALUES (?, ?, 'pending', ?, ?, ?) ON CONFLICT (message_id, recipient) DO NOTHING`,
      );
      for (const r of recipients) insert.run(messageId, r, requestedDispatched ? 1 : 0, at, at);
    });
  }

  /**
   * A notification arrived. pending → processed/dispatched/failed; processed →
   * dispatched/failed. Once final (dispatched, failed, timed-out, or processed when
   * dispatched was not asked for), a notification is recorded as late and changes nothing.
   */
  recordMdn(messageId: number, recipient: string, kind: MdnNotification): MdnRow {
    checkId(messageId);
    return this.#write((db) => {
      const row = db
        .prepare('SELECT * FROM mdn_tracking WHERE message_id = ? AND recipient = ?')
        .get(messageId, recipient) as MdnDbRow | undefined;
      if (row === undefined) {
        throw new HispError('NOT_FOUND', `No notification is expected from that recipient.`);
      }
      const at = this.#iso();
      const final =
        row.state === 'dispatched' ||
        row.state === 'failed' ||
        row.state === 'timed-out' ||
        (row.state === 'processed' && row.requested_dispatched === 0);
      const applies = !final && !(row.state === 'processed' && kind === 'processed');
      const failure =
        kind === 'failed'
          ? {
              code: 'DELIVERY_FAILED',
              message: "The recipient's HISP reported that it could not deliver the message.",
            }
          : {};
      this.#event(db, messageId, recipient, {
        state: kind,
        ...failure,
        ...(applies ? {} : { late: true }),
      });
      if (applies) {
        db.prepare(
          'UPDATE mdn_tracking SET state = ?, updated_at = ? WHERE message_id = ? AND recipient = ?',
        ).run(kind, at, messageId, recipient);
      } else {
        const late = JSON.parse(row.late_notifications) as MdnRow['lateNotifications'];
        db.prepare(
          `UPDATE mdn_tracking SET late_notifications = ?, updated_at = ?
            WHERE message_id = ? AND recipient = ?`,
        ).run(JSON.stringify([...late, { kind, at }]), at, messageId, recipient);
      }
      return mdnRow(
        db
          .prepare('SELECT * FROM mdn_tracking WHERE message_id = ? AND recipient = ?')
          .get(messageId, recipient) as MdnDbRow,
      );
    });
  }

  /**
   * Rows still waiting (pending, or processed awaiting dispatched) since before `cutoff`
   * become 'timed-out'. Returns them (message id and recipient), oldest first.
   */
  timeOutMdns(cutoff: Date): { messageId: number; recipient: string }[] {
    return this.#write((db) => {
      const rows = db
        .prepare(
          `SELECT message_id, recipient FROM mdn_tracking
            WHERE created_at < ?
              AND (state = 'pending' OR (state = 'processed' AND requested_dispatched = 1))
            ORDER BY created_at, message_id, recipient`,
        )
        .all(cutoff.toISOString()) as { message_id: number; recipient: string }[];
      const update = db.prepare(
        `UPDATE mdn_tracking SET state = 'timed-out', updated_at = ?
          WHERE message_id = ? AND recipient = ?`,
      );
      const minutes = Math.round((this.#now().getTime() - cutoff.getTime()) / 60_000);
      for (const row of rows) {
        update.run(this.#iso(), row.message_id, row.recipient);
        this.#event(db, row.message_id, row.recipient, {
          state: 'timed-out',
          code: 'DELIVERY_TIMED_OUT',
          message: `No delivery notification came within ${minutes} minutes.`,
        });
      }
      return rows.map((row) => ({ messageId: row.message_id, recipient: row.recipient }));
    });
  }

  /**
   * The per-recipient delivery timeline of a sent message: each recipient's queue and
   * notification state and its events, oldest first. Recipients in the order they were
   * first recorded. @throws MESSAGE_NOT_FOUND
   */
  deliveryTimeline(messageId: number): DeliveryRecipient[] {
    checkId(messageId);
    return this.#read((db) => {
      if (db.prepare('SELECT 1 FROM messages WHERE id = ?').get(messageId) === undefined) {
        throw notFound(messageId);
      }
      const queue = new Map(
        (
          db
            .prepare('SELECT recipient, state FROM outbound_queue WHERE message_id = ? ORDER BY id')
            .all(messageId) as { recipient: string; state: QueueState }[]
        ).map((row) => [row.recipient, row.state]),
      );
      const mdn = new Map(
        (
          db
            .prepare('SELECT recipient, state FROM mdn_tracking WHERE message_id = ?')
            .all(messageId) as { recipient: string; state: MdnState }[]
        ).map((row) => [row.recipient, row.state]),
      );
      const events = db
        .prepare(
          `SELECT recipient, state, late, at, code, message FROM delivery_events
            WHERE message_id = ? ORDER BY at, id`,
        )
        .all(messageId) as {
        recipient: string;
        state: DeliveryEventState;
        late: number;
        at: string;
        code: string | null;
        message: string | null;
      }[];
      const byRecipient = new Map<string, DeliveryEvent[]>();
      for (const recipient of [...queue.keys(), ...mdn.keys()]) byRecipient.set(recipient, []);
      for (const e of events) {
        const list = byRecipient.get(e.recipient) ?? [];
        list.push({
          state: e.state,
          at: e.at,
          ...(e.code === null ? {} : { code: e.code }),
          ...(e.message === null ? {} : { message: e.message }),
          ...(e.late === 1 ? { late: true as const } : {}),
        });
        byRecipient.set(e.recipient, list);
      }
      const first = (list: readonly DeliveryEvent[]) => list[0]?.at ?? '\uffff';
      return [...byRecipient.entries()]
        .map(([recipient, list]) => ({
          recipient,
          queue: queue.get(recipient),
          mdn: mdn.get(recipient),
          events: list,
        }))
        .sort((a, b) =>
          first(a.events) < first(b.events) ? -1 : first(a.events) > first(b.events) ? 1 : 0,
        );
    });
  }

  /**
   * Delivery counts for many messages in one query (the list view). Every id asked for is
   * in the result; a message without recipients (a received one) has all zeros.
   */
  deliverySummary(ids: readonly number[]): Map<number, DeliverySummary> {
    if (ids.length > LIST_LIMIT_MAX) {
      throw new HispError('BAD_REQUEST', `At most ${LIST_LIMIT_MAX} messages at a time.`);
    }
    const wanted = [...new Set(ids.map(checkId))];
    const out = new Map<number, DeliverySummary>(
      wanted.map((id) => [
        id,
        {
          recipients: 0,
          relayed: 0,
          processed: 0,
          dispatched: 0,
          failed: 0,
          timedOut: 0,
          pending: 0,
        },
      ]),
    );
    if (wanted.length === 0) return out;
    const rows = this.#read(
      (db) =>
        db
          .prepare(
            `WITH wanted(id) AS (SELECT value FROM json_each(?)),
                  r(message_id, recipient) AS (
                    SELECT message_id, recipient FROM outbound_queue
                     WHERE message_id IN (SELECT id FROM wanted)
                    UNION
                    SELECT message_id, recipient FROM mdn_tracking
                     WHERE message_id IN (SELECT id FROM wanted))
             SELECT r.message_id AS id,
                    count(*) AS recipients,
                    count(CASE WHEN q.state = 'relayed' THEN 1 END) AS relayed,
                    count(CASE WHEN t.state = 'processed' THEN 1 END) AS processed,
                    count(CASE WHEN t.state = 'dispatched' THEN 1 END) AS dispatched,
                    count(CASE WHEN q.state = 'failed' OR t.state = 'failed' THEN 1 END) AS failed,
                    count(CASE WHEN t.state = 'timed-out' THEN 1 END) AS timedOut,
                    count(
                      CASE WHEN coalesce(q.state, '') <> 'failed'
                            AND (t.state = 'pending'
                                 OR (t.state IS NULL AND q.state IN ('queued', 'sending')))
                      THEN 1 END) AS pending
               FROM r
               LEFT JOIN outbound_queue q
                 ON q.message_id = r.message_id AND q.recipient = r.recipient
               LEFT JOIN mdn_tracking t
                 ON t.message_id = r.message_id AND t.recipient = r.recipient
              GROUP BY r.message_id`,
          )
          .all(JSON.stringify(wanted)) as ({ id: number } & DeliverySummary)[],
    );
    for (const { id, ...counts } of rows) out.set(id, counts);
    return out;
  }

  mdnFor(messageId: number): MdnRow[] {
    checkId(messageId);
    return this.#read((db) =>
      (
        db
          .prepare('SELECT * FROM mdn_tracking WHERE message_id = ? ORDER BY recipient')
          .all(messageId) as MdnDbRow[]
      ).map(mdnRow),
    );
  }

  // ── Drafts ────────────────────────────────────────────────────────────────────────────────

  /** Create (no id) or replace a draft; its attachments are replaced as a whole. */
  saveDraft(draft: DraftInput, id?: number): number {
    return this.#write((db) => {
      const at = this.#iso();
      const values = [
        at,
        JSON.stringify(draft.to ?? []),
        JSON.stringify(draft.cc ?? []),
        draft.subject ?? '',
        draft.body ?? '',
        draft.inReplyTo ?? null,
      ];
      let draftId: number;
      if (id === undefined) {
        draftId = Number(
          db
            .prepare(
              `INSERT INTO drafts (updated_at, to_addrs, cc_addrs, subject, body, in_reply_to)
               VALUES (?, ?, ?, ?, ?, ?)`,
            )
            .run(...values).lastInsertRowid,
        );
      } else {
        checkId(id);
        const result = db
          .prepare(
            `UPDATE drafts SET updated_at = ?, to_addrs = ?, cc_addrs = ?, subject = ?, body = ?,
                    in_reply_to = ? WHERE id = ?`,
          )
          .run(...values, id);
        if (result.changes === 0) throw new HispError('NOT_FOUND', `No draft ${id}.`);
        draftId = id;
        db.prepare('DELETE FROM draft_attachments WHERE draft_id = ?').run(id);
      }
      const insert = db.prepare(
        `INSERT INTO draft_attachments (draft_id, position, filename, content_type, content)
         VALUES (?, ?, ?, ?, ?)`,
      );
      (draft.attachments ?? []).forEach((a, position) =>
        insert.run(draftId, position, a.filename, a.contentType, a.content),
      );
      return draftId;
    });
  }

  getDraft(id: number): Draft {
    checkId(id);
    return this.#read((db) => {
      const row = db.prepare('SELECT * FROM drafts WHERE id = ?').get(id) as DraftDbRow | undefined;
      if (row === undefined) throw new HispError('NOT_FOUND', `No draft ${id}.`);
      const attachments = db
        .prepare(
          `SELECT filename, content_type, content FROM draft_attachments
            WHERE draft_id = ? ORDER BY position`,
        )
        .all(id) as { filename: string; content_type: string; content: Buffer }[];
      return {
        id: row.id,
        updatedAt: row.updated_at,
        to: JSON.parse(row.to_addrs) as string[],
        cc: JSON.parse(row.cc_addrs) as string[],
        subject: row.subject,
        body: row.body,
        inReplyTo: row.in_reply_to ?? undefined,
        attachments: attachments.map((a) => ({
          filename: a.filename,
          contentType: a.content_type,
          content: a.content,
        })),
      };
    });
  }

  listDrafts(): Omit<Draft, 'attachments' | 'body'>[] {
    return this.#read((db) =>
      (
        db.prepare('SELECT * FROM drafts ORDER BY updated_at DESC, id DESC').all() as DraftDbRow[]
      ).map((row) => ({
        id: row.id,
        updatedAt: row.updated_at,
        to: JSON.parse(row.to_addrs) as string[],
        cc: JSON.parse(row.cc_addrs) as string[],
        subject: row.subject,
        inReplyTo: row.in_reply_to ?? undefined,
      })),
    );
  }

  deleteDraft(id: number): void {
    checkId(id);
    this.#write((db) => {
      if (db.prepare('DELETE FROM drafts WHERE id = ?').run(id).changes === 0) {
        throw new HispError('NOT_FOUND', `No draft ${id}.`);
      }
    });
  }
}

function notFound(id: number): HispError {
  return new HispError('MESSAGE_NOT_FOUND', `There is no message ${id} in the mailbox.`);
}
