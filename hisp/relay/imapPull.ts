/**
 * Inbound pull from an upstream IMAP mailbox (DESIGN.md §2): a practice with no public server
 * lets its Direct domain deliver to an ordinary mail account, and the HISP pulls the Direct
 * messages from there into the profile's encrypted store.
 *
 * Per message, in this order: fetch the source by UID → `store.receive()` (decrypt + verify in
 * memory through the injected OpenFn; ciphertext, index and audit commit together; a message
 * that does not verify still lands, in 'untrusted', risk-8) → record the UID as 'stored' in
 * upstream_messages and raise the mailbox's high-water mark (one transaction) → the upstream
 * action (keep, flag, move or delete) → 'done'. Nothing is flagged, moved or expunged
 * upstream before its local commit. After a crash:
 *   - a UID recorded 'stored' gets its upstream action first;
 *   - a UID stored locally but not yet recorded (killed between the two commits) is fetched
 *     again and `receive()` finds the same bytes already stored (a duplicate, nothing written);
 *   - a UID fetched but not stored is fetched again.
 * A UIDVALIDITY change starts the mailbox over from UID 1 (receive's dedup prevents
 * duplicates). A message that cannot be stored (receive throws, or it is over the size
 * limit) is left upstream untouched, recorded 'failed' and retried a few times — at every
 * pass and without limit when the disk is full (STORE_FULL), which passes.
 *
 * TLS is required: implicit TLS, or STARTTLS that must succeed (imapflow `doSTARTTLS: true`,
 * which fails the connection when the server does not offer it, before any credential is
 * sent); the certificate is verified. Logs carry UIDs, ids, counts and codes, never content.
 */
import { ImapFlow, type ImapFlowOptions } from 'imapflow';
import type { ConnectionOptions } from 'node:tls';
import { HispError } from '../api/errors.js';
import { parseAddressList } from '../agent/mime/address.js';
import { readHeaderBlock } from '../agent/mime/headers.js';
import { withDefaults } from '../agent/mime/limits.js';
import type { Logger } from '../log/logger.js';
import type { Sqlite } from '../store/database.js';
import type { MailStore, OpenFn } from '../store/mail.js';
import type { Profile } from '../store/profile.js';

export type AfterStore = 'keep' | 'flag' | 'move' | 'delete';

export interface UpstreamAccount {
  readonly host: string;
  readonly port: number;
  /** 'implicit': TLS from the first byte (993); 'starttls': STARTTLS required (143). */
  readonly secure: 'starttls' | 'implicit';
  readonly user: string;
  readonly pass: string;
  /** Extra trust for the server certificate (a private CA); verification stays on. */
  readonly tls?: { readonly ca?: string | Buffer | readonly (string | Buffer)[] };
  /** Default 'INBOX'. */
  readonly mailbox?: string;
}

export interface BackoffOptions {
  /** First delay after a connection failure. Default 1 s. */
  readonly initialMs?: number;
  /** Largest delay. Default 5 min. */
  readonly maxMs?: number;
  /** Growth per failed attempt. Default 2. */
  readonly factor?: number;
}

export interface ImapPullOptions {
  readonly profile: Profile;
  readonly store: MailStore;
  /** Decrypts and verifies in memory (the security agent with the profile's identities). */
  readonly open: OpenFn;
  /**
   * Stores one pulled message; default `store.receive(…, open)`. The HISP passes its mail
   * agent's `deliver`, so pulled messages get delivery notifications like any other.
   */
  readonly receive?: (
    raw: Buffer,
    envelope: { from: string; to: string[] },
  ) => Promise<{ id: number; duplicate: boolean }>;
  readonly account: UpstreamAccount;
  /** What happens upstream once a message is committed locally. */
  readonly afterStore: AfterStore;
  /** Target folder of 'move' (created when missing). Default 'Sealpost'. */
  readonly moveTo?: string;
  /** Flags added by 'flag'. Default ['\\Seen']. */
  readonly flags?: readonly string[];
  /** Poll period, also with IDLE (a missed notification costs at most this). Default 60 s. */
  readonly pollMs?: number;
  /** Use IDLE when the server supports it. Default true. */
  readonly idle?: boolean;
  readonly logger: Logger;
  readonly now?: () => Date;
  readonly backoff?: BackoffOptions;
  /** Messages larger than this stay upstream ('failed', LIMIT_EXCEEDED). Default 128 MiB. */
  readonly maxMessageBytes?: number;
  /** Storing attempts of a message before it is given up (left upstream). Default 5. */
  readonly maxAttempts?: number;
  /** Connection and greeting timeout. Default 30 s. */
  readonly connectTimeoutMs?: number;
}

export interface SyncResult {
  /** Message sources fetched from upstream. */
  readonly fetched: number;
  /** New messages committed to the local store. */
  readonly stored: number;
  /** Fetched messages the store already had (same bytes or Message-ID). */
  readonly duplicates: number;
}

/** Why the pull could not talk to its upstream mailbox. */
export type ImapPullFailure = 'tls' | 'connect' | 'auth' | 'protocol';

/** The registry code of each kind of connection-level failure. */
const FAILURE_CODES = {
  tls: 'UPSTREAM_TLS_REQUIRED',
  connect: 'UPSTREAM_UNAVAILABLE',
  auth: 'UPSTREAM_AUTH_FAILED',
  protocol: 'UPSTREAM_UNAVAILABLE',
} as const;

/** A typed upstream failure: a registry code (for the UI and logs) plus what kind it was. */
export class ImapPullError extends HispError {
  readonly kind: ImapPullFailure;
  constructor(kind: ImapPullFailure, message: string, options?: { cause?: unknown }) {
    super(FAILURE_CODES[kind], message, options);
    this.kind = kind;
  }
}

/** What `imapClientOptions` takes besides the account (ImapPull's own settings). */
export interface ImapClientSettings {
  /** Use IDLE when the server supports it. */
  readonly idle: boolean;
  /** Connection and greeting timeout. */
  readonly connectTimeoutMs: number;
  /** The largest message fetched (literal and response bounds are set a little above it). */
  readonly maxMessageBytes: number;
}

/**
 * The imapflow options for an upstream account: implicit TLS, or STARTTLS that must succeed;
 * the certificate verified (TLS 1.2 or later); imapflow's own logging off.
 */
export function imapClientOptions(
  a: UpstreamAccount,
  settings: ImapClientSettings,
): ImapFlowOptions {
  const ca = a.tls?.ca;
  const tls: ConnectionOptions = {
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
    ...(ca === undefined
      ? {}
      : { ca: typeof ca === 'string' || Buffer.isBuffer(ca) ? ca : [...ca] }),
  };
  return {
    host: a.host,
    port: a.port,
    secure: a.secure === 'implicit',
    // STARTTLS required: connecting fails when the server does not offer it, before LOGIN.
    ...(a.secure === 'starttls' ? { doSTARTTLS: true } : {}),
    auth: { user: a.user, pass: a.pass },
    tls,
    // imapflow's own log lines can carry protocol data: never written.
    logger: false,
    logRaw: false,
    disableAutoIdle: !settings.idle,
    // IDLE soon after the last command (imapflow's default waits 15 s).
    autoIdleDelay: 1000,
    connectionTimeout: settings.connectTimeoutMs,
    greetingTimeout: settings.connectTimeoutMs,
    // One message per FETCH; a little over the size limit (a bigger literal is refused).
    maxLiteralSize: settings.maxMessageBytes + 1024 * 1024,
    maxResponseSize: settings.maxMessageBytes + 2 * 1024 * 1024,
  };
}

/**
 * Connect and log in with `options` (from `imapClientOptions`): TCP, greeting, TLS, LOGIN.
 * `setup` attaches listeners before connecting. Resolves with a client on verified TLS;
 * otherwise closes it and throws an ImapPullError saying which part failed ('connect',
 * 'tls' or 'auth'), whose message holds no credential.
 */
export async function connectImap(
  options: ImapFlowOptions,
  setup?: (client: ImapFlow) => void,
): Promise<ImapFlow> {
  const client = new ImapFlow(options);
  setup?.(client);
  try {
    await client.connect();
  } catch (error) {
    client.close();
    const e = error as { tlsFailed?: unknown; authenticationFailed?: unknown; code?: unknown };
    if (typeof e.code === 'string' && /CERT|SELF_SIGNED|SIGNATURE|TLS|SSL/.test(e.code)) {
      throw new ImapPullError('tls', 'The upstream server certificate was not accepted.', {
        cause: error,
      });
    }
    if (e.tlsFailed === true) {
      throw new ImapPullError(
        'tls',
        'The upstream server does not offer STARTTLS; refusing to log in without TLS.',
        { cause: error },
      );
    }
    if (e.authenticationFailed === true) {
      throw new ImapPullError('auth', 'The upstream mailbox refused the login.', {
        cause: error,
      });
    }
    throw new ImapPullError('connect', 'Could not connect to the upstream mailbox.', {
      cause: error,
    });
  }
  if (!client.secureConnection || client.tls === false || client.tls?.authorized !== true) {
    client.close();
    throw new ImapPullError('tls', 'The upstream connection is not verified TLS.');
  }
  return client;
}

type RowState = 'stored' | 'done' | 'failed';

interface MessageRow {
  uid: number;
  state: RowState;
  attempts: number;
}

const DEFAULT_POLL_MS = 60_000;
const DEFAULT_MAX_BYTES = 128 * 1024 * 1024;
const HEADER_LIMITS = withDefaults(undefined);
/** UIDs per upstream action command. */
const ACTION_BATCH = 200;

function uidSet(uids: readonly number[]): string {
  return uids.join(',');
}

function firstAddress(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    return parseAddressList(value)[0]?.address;
  } catch {
    return undefined;
  }
}

function allAddresses(values: readonly string[]): string[] {
  const out: string[] = [];
  for (const value of values) {
    try {
      for (const a of parseAddressList(value)) if (!out.includes(a.address)) out.push(a.address);
    } catch {
      // an unreadable header gives no address
    }
  }
  return out;
}

/**
 * The envelope of a message pulled from a mailbox (the SMTP envelope is gone by then): the
 * sender from Return-Path (a null `<>` or none: From), the recipients from Delivered-To (none:
 * To and Cc). Only the outer header block is read.
 */
export function envelopeOf(raw: Buffer): { from: string; to: string[] } {
  let headers: { name: string; value: string }[] = [];
  try {
    headers = readHeaderBlock(raw, 0, raw.length, HEADER_LIMITS).headers;
  } catch {
    headers = [];
  }
  const values = (name: string) =>
    headers.filter((h) => h.name.toLowerCase() === name).map((h) => h.value.trim());
  const returnPath = values('return-path')[0];
  const from =
    (returnPath !== undefined && returnPath.replace(/[<>\s]/g, '') !== ''
      ? firstAddress(returnPath)
      : undefined) ??
    firstAddress(values('from')[0]) ??
    '';
  const deliveredTo = allAddresses(values('delivered-to'));
  const to =
    deliveredTo.length > 0 ? deliveredTo : allAddresses([...values('to'), ...values('cc')]);
  return { from, to };
}

export class ImapPull {
  readonly #profile: Profile;
  readonly #store: MailStore;
  readonly #open: OpenFn;
  readonly #receive: ImapPullOptions['receive'];
  readonly #account: UpstreamAccount;
  readonly #mailbox: string;
  readonly #afterStore: AfterStore;
  readonly #moveTo: string;
  readonly #flags: readonly string[];
  readonly #pollMs: number;
  readonly #idle: boolean;
  readonly #log: Logger;
  readonly #now: () => Date;
  readonly #backoff: Required<BackoffOptions>;
  readonly #maxBytes: number;
  readonly #maxAttempts: number;
  readonly #connectTimeoutMs: number;
  /** The key of this mailbox's rows in upstream_mailboxes / upstream_messages. */
  readonly account: string;

  #client: ImapFlow | undefined;
  #moveTargetReady = false;
  /** Serialises syncs: the loop's and direct syncOnce() calls. */
  #chain: Promise<unknown> = Promise.resolve();
  #running = false;
  #stopping = false;
  #loop: Promise<void> | undefined;
  /** Something changed upstream (EXISTS) since the last sync started. */
  #dirty = false;
  #wake: (() => void) | undefined;

  constructor(options: ImapPullOptions) {
    const { account } = options;
    if (account.secure !== 'starttls' && account.secure !== 'implicit') {
      // Never a plaintext login: there is no third mode.
      throw new HispError('BAD_REQUEST', 'The upstream mailbox needs TLS: starttls or implicit.');
    }
    if (!['keep', 'flag', 'move', 'delete'].includes(options.afterStore)) {
      throw new HispError('BAD_REQUEST', `Unknown afterStore ${String(options.afterStore)}.`);
    }
    this.#profile = options.profile;
    this.#store = options.store;
    this.#receive = options.receive;
    this.#open = options.open;
    this.#account = account;
    this.#mailbox = account.mailbox ?? 'INBOX';
    this.#afterStore = options.afterStore;
    this.#moveTo = options.moveTo ?? 'Sealpost';
    this.#flags = options.flags ?? ['\\Seen'];
    this.#pollMs = Math.max(50, options.pollMs ?? DEFAULT_POLL_MS);
    this.#idle = options.idle ?? true;
    this.#now = options.now ?? (() => new Date());
    this.#backoff = {
      initialMs: options.backoff?.initialMs ?? 1000,
      maxMs: options.backoff?.maxMs ?? 5 * 60_000,
      factor: options.backoff?.factor ?? 2,
    };
    this.#maxBytes = options.maxMessageBytes ?? DEFAULT_MAX_BYTES;
    this.#maxAttempts = Math.max(1, options.maxAttempts ?? 5);
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 30_000;
    this.account = `imap://${account.user}@${account.host}`;
    this.#log = options.logger.child({
      component: 'imap-pull',
      host: account.host,
      mailbox: this.#mailbox,
    });
    if (this.#afterStore === 'move' && this.#moveTo === this.#mailbox) {
      throw new HispError('BAD_REQUEST', 'The move target is the mailbox pulled from.');
    }
  }

  /** The options handed to imapflow (exposed for tests: TLS can never be turned off). */
  clientOptions(): ImapFlowOptions {
    return imapClientOptions(this.#account, {
      idle: this.#idle,
      connectTimeoutMs: this.#connectTimeoutMs,
      maxMessageBytes: this.#maxBytes,
    });
  }

  /** Pull continuously: sync, then wait for IDLE news or the poll; reconnect with backoff. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#stopping = false;
    this.#loop = this.#run();
  }

  /** Stop the loop (the message in hand is finished first) and log out. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#running = false;
    this.#wake?.();
    await this.#loop;
    this.#loop = undefined;
    await this.#chain.catch(() => undefined);
    await this.#disconnect();
    this.#stopping = false;
  }

  /** One pass: finish pending upstream actions, then pull every new message. */
  syncOnce(): Promise<SyncResult> {
    const next = this.#chain.then(() => this.#sync());
    this.#chain = next.catch(() => undefined);
    return next;
  }

  // ── The loop ──────────────────────────────────────────────────────────────────────────────

  async #run(): Promise<void> {
    let failures = 0;
    while (!this.#stopping) {
      try {
        this.#dirty = false;
        const result = await this.syncOnce();
        if (failures > 0) this.#log.info('upstream reconnected', { after: failures });
        failures = 0;
        if (result.fetched > 0) this.#log.info('upstream sync', { ...result });
        await this.#waitForWork(this.#pollMs);
      } catch (error) {
        failures += 1;
        const delay = Math.min(
          this.#backoff.maxMs,
          this.#backoff.initialMs * this.#backoff.factor ** (failures - 1),
        );
        this.#log.warn('upstream sync failed; retrying', {
          ...this.#errorFields(error),
          attempt: failures,
          retryInMs: delay,
        });
        await this.#disconnect();
        await this.#waitForWork(delay, true);
      }
    }
  }

  /** Resolves after `ms`, on stop, or (unless `sleepOnly`) when upstream announced news. */
  #waitForWork(ms: number, sleepOnly = false): Promise<void> {
    if (this.#stopping || (!sleepOnly && this.#dirty)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wake = () => {
        if (this.#stopping || !sleepOnly) done();
      };
    });
  }

  #errorFields(error: unknown): Record<string, unknown> {
    if (error instanceof ImapPullError) return { kind: error.kind, error: error.message };
    if (error instanceof HispError) return { code: error.code };
    const e = error as { code?: unknown; responseStatus?: unknown; message?: unknown };
    return {
      kind: 'upstream',
      ...(typeof e.code === 'string' ? { imapCode: e.code } : {}),
      ...(typeof e.responseStatus === 'string' ? { status: e.responseStatus } : {}),
    };
  }

  // ── Connection ────────────────────────────────────────────────────────────────────────────

  async #connect(): Promise<ImapFlow> {
    const existing = this.#client;
    if (existing !== undefined && existing.usable) return existing;
    if (existing !== undefined) await this.#disconnect();
    const client = await connectImap(this.clientOptions(), (fresh) => {
      fresh.on('error', (error: Error) => {
        this.#log.warn('upstream connection error', this.#errorFields(error));
      });
      fresh.on('close', () => {
        if (this.#client === fresh) {
          this.#client = undefined;
          this.#dirty = true;
          this.#wake?.();
        }
      });
      fresh.on('exists', () => {
        this.#dirty = true;
        this.#wake?.();
      });
      fresh.on('mailboxOpen', (mailbox) => {
        this.#log.debug('upstream mailbox open', { uidValidity: String(mailbox.uidValidity) });
      });
    });
    this.#client = client;
    this.#moveTargetReady = false;
    return client;
  }

  async #disconnect(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    if (client === undefined) return;
    try {
      if (client.usable) {
        await Promise.race([
          client.logout(),
          new Promise((resolve) => setTimeout(resolve, 2000).unref()),
        ]);
      }
    } catch {
      // closing anyway
    } finally {
      client.close();
    }
  }

  // ── One sync ──────────────────────────────────────────────────────────────────────────────

  async #sync(): Promise<SyncResult> {
    const counts = { fetched: 0, stored: 0, duplicates: 0 };
    const client = await this.#connect();
    const lock = await client.getMailboxLock(this.#mailbox);
    try {
      // SELECT again: a fresh UIDVALIDITY and message count, whatever the session saw before
      // (a mailbox deleted and made again under a selected session is not always announced).
      const mailbox = await client.mailboxOpen(this.#mailbox);
      const uidValidity = Number(mailbox.uidValidity);
      if (!Number.isSafeInteger(uidValidity) || uidValidity <= 0) {
        throw new ImapPullError('protocol', 'The server sent no usable UIDVALIDITY.');
      }
      const high = this.#beginMailbox(uidValidity);

      // 1. Messages committed locally whose upstream action did not happen (a crash, a
      //    failed command): do it now.
      const pending = this.#rows(uidValidity, 'stored');
      if (pending.length > 0) {
        this.#log.info('upstream actions resumed', { count: pending.length });
        await this.#act(client, uidValidity, pending, true);
      }

      // 2. Messages that could not be stored before: try again, a bounded number of times.
      const retry = this.#rows(uidValidity, 'failed').filter((r) => r.attempts < this.#maxAttempts);

      // 3. New messages above the high-water mark, in UID order.
      const fresh = await this.#newUids(client, high);
      const work = [
        ...retry.map((r) => ({ uid: r.uid, size: undefined as number | undefined })),
        ...fresh,
      ].sort((a, b) => a.uid - b.uid);
      for (const { uid, size } of work) {
        if (this.#stopping) break;
        await this.#pullOne(client, uidValidity, uid, size, counts);
      }
    } finally {
      lock.release();
    }
    return counts;
  }

  /** The mailbox row for this UIDVALIDITY (created, or reset on a change); its high UID. */
  #beginMailbox(uidValidity: number): number {
    const at = this.#now().toISOString();
    return this.#profile.db.transaction((db) => {
      const row = db
        .prepare(
          'SELECT uidvalidity, high_uid FROM upstream_mailboxes WHERE account = ? AND mailbox = ?',
        )
        .get(this.account, this.#mailbox) as { uidvalidity: number; high_uid: number } | undefined;
      if (row === undefined) {
        db.prepare(
          `INSERT INTO upstream_mailboxes (account, mailbox, uidvalidity, high_uid, updated_at)
           VALUES (?, ?, ?, 0, ?)`,
        ).run(this.account, this.#mailbox, uidValidity, at);
        return 0;
      }
      if (row.uidvalidity === uidValidity) return row.high_uid;
      // Every UID we know of is void: start over from UID 1; receive() dedups what we have.
      const dropped = db
        .prepare(
          'DELETE FROM upstream_messages WHERE account = ? AND mailbox = ? AND uidvalidity <> ?',
        )
        .run(this.account, this.#mailbox, uidValidity).changes;
      db.prepare(
        `UPDATE upstream_mailboxes SET uidvalidity = ?, high_uid = 0, updated_at = ?
          WHERE account = ? AND mailbox = ?`,
      ).run(uidValidity, at, this.account, this.#mailbox);
      this.#log.warn('upstream UIDVALIDITY changed; pulling the mailbox again from UID 1', {
        previous: row.uidvalidity,
        uidValidity,
        droppedRows: dropped,
      });
      return 0;
    });
  }

  #rows(uidValidity: number, state: RowState): MessageRow[] {
    return this.#profile.db.read(
      (db) =>
        db
          .prepare(
            `SELECT uid, state, attempts FROM upstream_messages
              WHERE account = ? AND mailbox = ? AND uidvalidity = ? AND state = ? ORDER BY uid`,
          )
          .all(this.account, this.#mailbox, uidValidity, state) as MessageRow[],
    );
  }

  async #newUids(client: ImapFlow, high: number): Promise<{ uid: number; size?: number }[]> {
    const mailbox = client.mailbox;
    if (mailbox !== false && mailbox.exists === 0) return [];
    // "high+1:*" also matches the highest UID when it is below high+1: filter.
    const found = await client.fetchAll(`${high + 1}:*`, { uid: true, size: true }, { uid: true });
    return found
      .filter((m) => m.uid > high)
      .map((m) => ({ uid: m.uid, ...(m.size === undefined ? {} : { size: m.size }) }))
      .sort((a, b) => a.uid - b.uid);
  }

  async #pullOne(
    client: ImapFlow,
    uidValidity: number,
    uid: number,
    size: number | undefined,
    counts: { fetched: number; stored: number; duplicates: number },
  ): Promise<void> {
    if (size !== undefined && size > this.#maxBytes) {
      this.#recordFailure(uidValidity, uid, 'LIMIT_EXCEEDED', true);
      this.#log.error('upstream message too large; left upstream', { uid, size });
      return;
    }
    const message = await client.fetchOne(String(uid), { uid: true, source: true }, { uid: true });
    if (message === false || message.source === undefined) {
      // Gone upstream meanwhile (another client expunged it): nothing to store or lose.
      this.#forget(uidValidity, uid);
      this.#log.info('upstream message gone before it was fetched', { uid });
      return;
    }
    const raw = message.source;
    counts.fetched += 1;
    if (raw.length > this.#maxBytes) {
      this.#recordFailure(uidValidity, uid, 'LIMIT_EXCEEDED', true);
      this.#log.error('upstream message too large; left upstream', { uid, size: raw.length });
      return;
    }
    let result: { id: number; duplicate: boolean };
    try {
      const envelope = envelopeOf(raw);
      result =
        this.#receive === undefined
          ? await this.#store.receive({ raw, envelope }, this.#open)
          : await this.#receive(raw, envelope);
    } catch (error) {
      const code = HispError.from(error).code;
      if (code === 'STORE_FULL') {
        // Not the message's fault, and it passes: tried again at every pass without counting
        // towards giving up, so the message is not left upstream for good.
        const attempts = this.#recordFailure(uidValidity, uid, code, false, false);
        this.#log.warn('upstream message could not be stored: the disk is full; will retry', {
          uid,
          code,
          attempts,
        });
        return;
      }
      const attempts = this.#recordFailure(uidValidity, uid, code, false);
      const final = attempts >= this.#maxAttempts;
      this.#log[final ? 'error' : 'warn'](
        final
          ? 'upstream message could not be stored; given up, left upstream'
          : 'upstream message could not be stored; will retry',
        { uid, code, attempts },
      );
      return;
    }
    this.#recordStored(uidValidity, uid, result.id);
    if (result.duplicate) counts.duplicates += 1;
    else counts.stored += 1;
    this.#log.info('upstream message stored', { uid, id: result.id, duplicate: result.duplicate });
    await this.#act(client, uidValidity, [{ uid, state: 'stored', attempts: 0 }]);
  }

  /** 'stored' and the high-water mark, in one transaction. */
  #recordStored(uidValidity: number, uid: number, id: number): void {
    const at = this.#now().toISOString();
    this.#profile.db.transaction((db) => {
      db.prepare(
        `INSERT INTO upstream_messages
           (account, mailbox, uidvalidity, uid, state, action, message_id, attempts, updated_at)
         VALUES (?, ?, ?, ?, 'stored', ?, ?, 1, ?)
         ON CONFLICT (account, mailbox, uidvalidity, uid) DO UPDATE SET
           state = 'stored', action = excluded.action, message_id = excluded.message_id,
           attempts = attempts + 1, last_error = NULL, updated_at = excluded.updated_at`,
      ).run(this.account, this.#mailbox, uidValidity, uid, this.#afterStore, id, at);
      this.#raiseHigh(db, uid, at);
    });
  }

  /**
   * 'failed' (the message stays upstream untouched); returns the attempts so far. `counted`
   * false: recorded for the retry without adding an attempt.
   */
  #recordFailure(
    uidValidity: number,
    uid: number,
    code: string,
    permanent: boolean,
    counted = true,
  ): number {
    const at = this.#now().toISOString();
    return this.#profile.db.transaction((db) => {
      db.prepare(
        `INSERT INTO upstream_messages
           (account, mailbox, uidvalidity, uid, state, action, message_id, attempts, last_error,
            updated_at)
         VALUES (?, ?, ?, ?, 'failed', ?, NULL, ?, ?, ?)
         ON CONFLICT (account, mailbox, uidvalidity, uid) DO UPDATE SET
           attempts = max(attempts + ?, excluded.attempts), last_error = excluded.last_error,
           updated_at = excluded.updated_at`,
      ).run(
        this.account,
        this.#mailbox,
        uidValidity,
        uid,
        this.#afterStore,
        permanent ? this.#maxAttempts : counted ? 1 : 0,
        code,
        at,
        counted ? 1 : 0,
      );
      this.#raiseHigh(db, uid, at);
      const row = db
        .prepare(
          `SELECT attempts FROM upstream_messages
            WHERE account = ? AND mailbox = ? AND uidvalidity = ? AND uid = ?`,
        )
        .get(this.account, this.#mailbox, uidValidity, uid) as { attempts: number };
      return row.attempts;
    });
  }

  #forget(uidValidity: number, uid: number): void {
    const at = this.#now().toISOString();
    this.#profile.db.transaction((db) => {
      db.prepare(
        `DELETE FROM upstream_messages
          WHERE account = ? AND mailbox = ? AND uidvalidity = ? AND uid = ? AND state = 'failed'`,
      ).run(this.account, this.#mailbox, uidValidity, uid);
      this.#raiseHigh(db, uid, at);
    });
  }

  #raiseHigh(db: Sqlite, uid: number, at: string): void {
    db.prepare(
      `UPDATE upstream_mailboxes SET high_uid = max(high_uid, ?), updated_at = ?
        WHERE account = ? AND mailbox = ?`,
    ).run(uid, at, this.account, this.#mailbox);
  }

  /**
   * The upstream action for UIDs committed locally, then 'done'. When resuming, a UID no
   * longer in the mailbox had its move or expunge done before the crash (or another client
   * removed it): it is done, with nothing left to do.
   */
  async #act(
    client: ImapFlow,
    uidValidity: number,
    rows: readonly MessageRow[],
    resume = false,
  ): Promise<void> {
    for (let i = 0; i < rows.length; i += ACTION_BATCH) {
      const uids = rows.slice(i, i + ACTION_BATCH).map((r) => r.uid);
      let present = uids;
      if (resume) {
        const found = await client.search({ uid: uidSet(uids) }, { uid: true });
        if (found === false || found === undefined) continue;
        present = uids.filter((uid) => found.includes(uid));
      }
      const ok = present.length === 0 || (await this.#action(client, present));
      if (!ok) {
        // Left 'stored': tried again on the next sync.
        this.#log.warn('upstream action failed; will retry', {
          action: this.#afterStore,
          uids: uids.length,
        });
        continue;
      }
      const at = this.#now().toISOString();
      this.#profile.db.transaction((db) => {
        const done = db.prepare(
          `UPDATE upstream_messages SET state = 'done', updated_at = ?
            WHERE account = ? AND mailbox = ? AND uidvalidity = ? AND uid = ? AND state = 'stored'`,
        );
        for (const uid of uids) done.run(at, this.account, this.#mailbox, uidValidity, uid);
      });
    }
  }

  async #action(client: ImapFlow, uids: readonly number[]): Promise<boolean> {
    const range = uidSet(uids);
    switch (this.#afterStore) {
      case 'keep':
        return true;
      case 'flag':
        return client.messageFlagsAdd(range, [...this.#flags], { uid: true });
      case 'delete':
        return client.messageDelete(range, { uid: true });
      case 'move': {
        if (!this.#moveTargetReady) {
          const created = await client.mailboxCreate(this.#moveTo);
          if (created.created) this.#log.info('upstream move target created', {});
          this.#moveTargetReady = true;
        }
        // A UID already moved (before a crash) is simply not there any more: OK, no change.
        const moved = await client.messageMove(range, this.#moveTo, { uid: true });
        return moved !== false;
      }
    }
  }
}
