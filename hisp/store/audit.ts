/**
 * The audit log: an accounting of disclosures (DESIGN.md §5, seed risk 22). Every send,
 * receive, open, attachment save, export, print, delete, key import/removal, trust change,
 * profile export/restore, lock/unlock and audit export is one row: when, which local user,
 * what, with whom (counterpart address) and which message — never message content.
 *
 * Append-only twice over:
 *  - inside SQLite, triggers (migration 2) abort any UPDATE or DELETE on audit_log;
 *  - a MAC chain: entry n carries mac_n = HMAC-SHA256(auditKey, encode(n, at, user, action,
 *    counterpart, message_id, detail, prev)) with prev = mac_{n-1} (all zeros for n = 1), and
 *    the chain head (last seq and mac, tagged with the same key) is kept in `settings` under
 *    'audit.head', written in the same transaction as the entry. `verify()` walks the chain and
 *    names the first bad entry: changed, missing, inserted, reordered, or the tail removed.
 *
 * What this cannot detect: the database is encrypted with the profile's master key, and the
 * audit key is derived from that same key. So someone who holds the master key (who can
 * unlock the profile) can drop the triggers, rewrite every entry and the head with fresh MACs,
 * and the result verifies. Nor can it detect rolling the whole database (entries and head
 * together) back to an earlier copy. The chain detects edits made with the key but without
 * recomputing the MACs (a SQLCipher shell, a hand edit, a tool that deletes rows); detecting a
 * consistent rewrite needs the head kept somewhere the editor cannot reach (out of scope).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { userInfo } from 'node:os';
import { HispError } from '../api/errors.js';
import { AUDIT_ACTION_LIST } from '../api/lists.js';
import type { Sqlite } from './database.js';
import type { Profile } from './profile.js';

/** The actions an entry may record (one list with the contract's `auditLog` filter). */
export const AUDIT_ACTIONS = AUDIT_ACTION_LIST;

export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export function isAuditAction(value: string): value is AuditAction {
  return (AUDIT_ACTIONS as readonly string[]).includes(value);
}

/** A JSON object: what `detail` may hold (identifiers, counts, names — never content). */
export type AuditDetail = { readonly [key: string]: unknown };

export interface AuditEvent {
  readonly action: AuditAction;
  /** The other party's Direct address, if there is one. */
  readonly counterpart?: string | undefined;
  readonly messageId?: string | undefined;
  /** Small JSON object; never message content, never secrets. */
  readonly detail?: AuditDetail | undefined;
}

export interface AuditEntry {
  readonly seq: number;
  /** ISO 8601, UTC. */
  readonly at: string;
  readonly user: string;
  readonly action: AuditAction;
  readonly counterpart: string | null;
  readonly messageId: string | null;
  readonly detail: AuditDetail | null;
  /** The previous entry's mac, hex (64 zeros for the first entry). */
  readonly prev: string;
  readonly mac: string;
}

export interface AuditFilter {
  /** Entries at or after this time. */
  readonly since?: Date | undefined;
  /** Entries strictly before this time. */
  readonly until?: Date | undefined;
  readonly action?: AuditAction | undefined;
  /** A counterpart address, compared without regard to (ASCII) case. */
  readonly counterpart?: string | undefined;
  /** At most this many: the most recent ones (still listed oldest first). */
  readonly limit?: number | undefined;
}

/** What is wrong at the first bad entry. */
export type AuditProblem =
  'changed' | 'missing' | 'inserted' | 'reordered' | 'tail removed' | 'head changed';

/** AUDIT_CHAIN_BROKEN, with the first bad entry's seq and what is wrong there. */
export class AuditChainBrokenError extends HispError {
  readonly seq: number;
  readonly problem: AuditProblem;

  constructor(seq: number, problem: AuditProblem, what: string) {
    super(
      'AUDIT_CHAIN_BROKEN',
      `The audit log's chain is broken at entry ${seq} (${problem}): ${what}. It was changed outside Sealpost; keep a copy of the profile as evidence.`,
    );
    this.seq = seq;
    this.problem = problem;
  }
}

/** What the log needs from a profile: its database and its audit key. */
export type AuditProfile = Pick<Profile, 'db' | 'subkey'>;

export const AUDIT_HEAD_SETTING = 'audit.head';
const ZERO_MAC = '0'.repeat(64);
const ENTRY_LABEL = 'sealpost audit entry v1';
const HEAD_LABEL = 'sealpost audit head v1';
const MAX_DETAIL_BYTES = 4096;
const MAX_FIELD_CHARS = 1024;

interface Row {
  seq: number;
  at: string;
  user: string;
  action: string;
  counterpart: string | null;
  message_id: string | null;
  detail: string | null;
  prev: string;
  mac: string;
}

interface Head {
  readonly seq: number;
  readonly mac: string;
  readonly tag: string;
}

/**
 * An unambiguous encoding: a label, then each field as a presence byte (0 = NULL) and, when
 * present, its UTF-8 length (4 bytes, big-endian) and bytes. No two field lists encode alike.
 */
function encode(label: string, fields: readonly (string | null)[]): Buffer {
  const parts: Buffer[] = [];
  for (const field of [label, ...fields]) {
    if (field === null) {
      parts.push(Buffer.from([0]));
      continue;
    }
    const bytes = Buffer.from(field, 'utf8');
    const header = Buffer.alloc(5);
    header[0] = 1;
    header.writeUInt32BE(bytes.byteLength, 1);
    parts.push(header, bytes);
  }
  return Buffer.concat(parts);
}

function entryMac(key: Buffer, seq: number, row: Omit<Row, 'seq' | 'mac'>): string {
  return createHmac('sha256', key)
    .update(
      encode(ENTRY_LABEL, [
        String(seq),
        row.at,
        row.user,
        row.action,
        row.counterpart,
        row.message_id,
        row.detail,
        row.prev,
      ]),
    )
    .digest('hex');
}

function headTag(key: Buffer, seq: number, mac: string): string {
  return createHmac('sha256', key)
    .update(encode(HEAD_LABEL, [String(seq), mac]))
    .digest('hex');
}

function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.byteLength === 32 && y.byteLength === 32 && timingSafeEqual(x, y);
}

function defaultUser(): string {
  try {
    return userInfo().username;
  } catch {
    // No passwd entry for this uid (some containers): the uid is still an answer.
    return process.env['USER'] ?? `uid:${process.getuid?.() ?? 'unknown'}`;
  }
}

/** 'audit.head' as stored, or undefined (absent); 'malformed' when it cannot be read. */
function readHead(db: Sqlite): Head | 'malformed' | undefined {
  const row = db.prepare('SELECT value FROM settings WHERE key = ?').get(AUDIT_HEAD_SETTING) as
    { value: string } | undefined;
  if (row === undefined) return undefined;
  try {
    const value = JSON.parse(row.value) as Partial<Record<keyof Head, unknown>> | null;
    if (
      typeof value === 'object' &&
      value !== null &&
      typeof value.seq === 'number' &&
      Number.isSafeInteger(value.seq) &&
      value.seq >= 0 &&
      typeof value.mac === 'string' &&
      /^[0-9a-f]{64}$/.test(value.mac) &&
      typeof value.tag === 'string' &&
      /^[0-9a-f]{64}$/.test(value.tag)
    ) {
      return { seq: value.seq, mac: value.mac, tag: value.tag };
    }
  } catch {
    // falls through
  }
  return 'malformed';
}

function checkText(name: string, value: string | undefined): string | null {
  if (value === undefined) return null;
  const control = [...value].some((char) => {
    const code = char.charCodeAt(0);
    return code < 0x20 || code === 0x7f;
  });
  if (value.length === 0 || value.length > MAX_FIELD_CHARS || control) {
    throw new HispError(
      'BAD_REQUEST',
      `An audit entry's ${name} must be 1 to ${MAX_FIELD_CHARS} characters without control characters.`,
    );
  }
  return value;
}

function detailText(detail: AuditDetail | undefined): string | null {
  if (detail === undefined) return null;
  if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) {
    throw new HispError('BAD_REQUEST', "An audit entry's detail must be a JSON object.");
  }
  let text: string;
  try {
    text = JSON.stringify(detail);
  } catch {
    throw new HispError('BAD_REQUEST', "An audit entry's detail must be plain JSON.");
  }
  if (Buffer.byteLength(text, 'utf8') > MAX_DETAIL_BYTES) {
    // A guard against content slipping in: detail is for identifiers and counts.
    throw new HispError(
      'BAD_REQUEST',
      `An audit entry's detail is limited to ${MAX_DETAIL_BYTES} bytes of JSON (identifiers and counts, never message content).`,
    );
  }
  return text;
}

function toEntry(row: Row): AuditEntry {
  return {
    seq: row.seq,
    at: row.at,
    user: row.user,
    action: row.action as AuditAction,
    counterpart: row.counterpart,
    messageId: row.message_id,
    detail: row.detail === null ? null : (JSON.parse(row.detail) as AuditDetail),
    prev: row.prev,
    mac: row.mac,
  };
}

export class AuditLog {
  readonly #profile: AuditProfile;
  readonly #now: () => Date;
  readonly #user: string;

  constructor(
    profile: AuditProfile,
    options: { readonly now?: () => Date; readonly user?: string } = {},
  ) {
    this.#profile = profile;
    this.#now = options.now ?? (() => new Date());
    this.#user = options.user ?? defaultUser();
  }

  /** Appends one entry in its own transaction. */
  append(event: AuditEvent): AuditEntry {
    this.#profile.subkey('audit'); // PROFILE_LOCKED when closed, before touching the database
    return this.#profile.db.transaction((db) => this.appendIn(db, event));
  }

  /**
   * Appends one entry on `db`, which must be inside a transaction the caller opened (so the
   * entry commits or rolls back with the caller's work). The head moves in the same
   * transaction. The next entry follows the recorded head, not the last row: if the newest
   * rows were deleted, the gap stays visible instead of being papered over.
   */
  appendIn(db: Sqlite, event: AuditEvent): AuditEntry {
    if (!db.inTransaction) {
      throw new HispError('INTERNAL', 'AuditLog.appendIn needs an open transaction.');
    }
    if (!isAuditAction(event.action)) {
      throw new HispError(
        'BAD_REQUEST',
        `${JSON.stringify(event.action)} is not an audit action (${AUDIT_ACTIONS.join(', ')}).`,
      );
    }
    const key = this.#profile.subkey('audit');
    const last = db.prepare('SELECT seq, mac FROM audit_log ORDER BY seq DESC LIMIT 1').get() as
      { seq: number; mac: string } | undefined;
    const head = readHead(db);
    let base = last ?? { seq: 0, mac: ZERO_MAC };
    if (typeof head === 'object' && head.seq > base.seq) base = head;
    const seq = base.seq + 1;
    const row: Omit<Row, 'seq' | 'mac'> = {
      at: this.#now().toISOString(),
      user: this.#user,
      action: event.action,
      counterpart: checkText('counterpart', event.counterpart),
      message_id: checkText('message id', event.messageId),
      detail: detailText(event.detail),
      prev: base.mac,
    };
    const mac = entryMac(key, seq, row);
    db.prepare(
      `INSERT INTO audit_log (seq, at, user, action, counterpart, message_id, detail, prev, mac)
       VALUES (@seq, @at, @user, @action, @counterpart, @message_id, @detail, @prev, @mac)`,
    ).run({ seq, mac, ...row });
    db.prepare(
      `INSERT INTO settings (key, value) VALUES (?, ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
    ).run(AUDIT_HEAD_SETTING, JSON.stringify({ seq, mac, tag: headTag(key, seq, mac) }));
    return toEntry({ seq, mac, ...row });
  }

  /** Entries in seq order (oldest first), filtered. */
  list(filter: AuditFilter = {}): AuditEntry[] {
    this.#profile.subkey('audit'); // PROFILE_LOCKED when closed, before touching the database
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (filter.since !== undefined) {
      where.push('at >= ?');
      params.push(filter.since.toISOString());
    }
    if (filter.until !== undefined) {
      where.push('at < ?');
      params.push(filter.until.toISOString());
    }
    if (filter.action !== undefined) {
      where.push('action = ?');
      params.push(filter.action);
    }
    if (filter.counterpart !== undefined) {
      where.push('lower(counterpart) = lower(?)');
      params.push(filter.counterpart);
    }
    let sql = `SELECT * FROM audit_log${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''}`;
    if (filter.limit !== undefined) {
      if (!Number.isSafeInteger(filter.limit) || filter.limit < 0) {
        throw new HispError('BAD_REQUEST', 'An audit list limit must be a whole number ≥ 0.');
      }
      sql = `SELECT * FROM (${sql} ORDER BY seq DESC LIMIT ${filter.limit})`;
    }
    sql += ' ORDER BY seq';
    const rows = this.#profile.db.read((db) => db.prepare(sql).all(...params) as Row[]);
    return rows.map(toEntry);
  }

  /** How many entries the log holds. */
  count(): number {
    this.#profile.subkey('audit'); // PROFILE_LOCKED when closed, before touching the database
    return this.#profile.db.read(
      (db) => (db.prepare('SELECT count(*) AS n FROM audit_log').get() as { n: number }).n,
    );
  }

  /**
   * Walks the whole chain. Returns the number of entries and the head mac; throws
   * AuditChainBrokenError (AUDIT_CHAIN_BROKEN) naming the first bad entry.
   */
  verify(): { entries: number; head: string } {
    const key = this.#profile.subkey('audit');
    const { rows, head } = this.#profile.db.read((db) => ({
      rows: db.prepare('SELECT * FROM audit_log ORDER BY seq').all() as Row[],
      head: readHead(db),
    }));
    const headValid =
      typeof head === 'object' && sameHex(headTag(key, head.seq, head.mac), head.tag);
    const macOf = (row: Row, seq = row.seq, prev = row.prev) =>
      entryMac(key, seq, { ...row, prev });

    let prev = ZERO_MAC;
    rows.forEach((row, index) => {
      const expected = index + 1;
      if (row.seq !== expected) {
        throw new AuditChainBrokenError(
          expected,
          'missing',
          row.seq === expected + 1
            ? `entry ${expected} is missing (entry ${expected - 1} is followed by ${row.seq})`
            : `entries ${expected} to ${row.seq - 1} are missing (entry ${expected - 1} is followed by ${row.seq})`,
        );
      }
      if (headValid && row.seq > head.seq) {
        throw new AuditChainBrokenError(
          row.seq,
          'inserted',
          `it lies after the chain head, which records ${head.seq} entries`,
        );
      }
      if (!sameHex(macOf(row), row.mac)) {
        throw this.#diagnose(rows, index, prev, headValid ? head.seq : 0, macOf);
      }
      if (!sameHex(row.prev, prev)) {
        // The entry is authentic but does not link to the one before: the entry it followed
        // was removed and the rest renumbered, or entries were spliced in from elsewhere.
        throw new AuditChainBrokenError(
          row.seq,
          'missing',
          `it does not follow entry ${row.seq - 1}: the entry written before it was removed (and later entries renumbered) or replaced`,
        );
      }
      prev = row.mac;
    });

    const count = rows.length;
    if (head === undefined) {
      if (count > 0) {
        throw new AuditChainBrokenError(
          count,
          'head changed',
          `the chain head (setting '${AUDIT_HEAD_SETTING}') is missing while the log holds ${count} entries`,
        );
      }
      return { entries: 0, head: ZERO_MAC };
    }
    if (head === 'malformed' || !headValid) {
      throw new AuditChainBrokenError(
        count,
        'head changed',
        `the chain head (setting '${AUDIT_HEAD_SETTING}') was changed: its tag does not verify`,
      );
    }
    if (head.seq > count) {
      throw new AuditChainBrokenError(
        count + 1,
        'tail removed',
        head.seq === count + 1
          ? `the chain head records ${head.seq} entries; the newest, entry ${head.seq}, is missing`
          : `the chain head records ${head.seq} entries; entries ${count + 1} to ${head.seq} are missing`,
      );
    }
    if (!sameHex(head.mac, prev)) {
      throw new AuditChainBrokenError(
        count,
        'changed',
        'the newest entry is not the one the chain head records (it was replaced)',
      );
    }
    return { entries: count, head: prev };
  }

  /** Why the entry at `index` fails its MAC: moved from elsewhere, an insertion, or changed. */
  #diagnose(
    rows: readonly Row[],
    index: number,
    prev: string,
    headSeq: number,
    macOf: (row: Row, seq?: number, prev?: string) => string,
  ): AuditChainBrokenError {
    const row = rows[index] as Row;
    // Moved whole (content, prev and mac): its MAC verifies under another seq.
    // Up to the highest seq ever written (the head's, unless it too was cut back) and one more.
    const last = Math.max(rows[rows.length - 1]?.seq ?? 0, headSeq);
    for (let seq = 1; seq <= last + 1; seq += 1) {
      if (seq === row.seq || !sameHex(macOf(row, seq), row.mac)) continue;
      if (seq > row.seq && !rows.some((other) => sameHex(other.mac, row.prev))) {
        // Written further on, and the entry it followed is nowhere: entries were removed
        // and the later ones renumbered to close the gap.
        return new AuditChainBrokenError(
          row.seq,
          'missing',
          seq === row.seq + 1
            ? `it was written as entry ${seq}: entry ${row.seq} was removed and the later ones renumbered`
            : `it was written as entry ${seq}: entries ${row.seq} to ${seq - 1} were removed and the later ones renumbered`,
        );
      }
      return new AuditChainBrokenError(
        row.seq,
        'reordered',
        `it holds the entry written as entry ${seq}`,
      );
    }
    // Content moved without its chain fields: it verifies with another entry's seq and macs.
    for (const other of rows) {
      if (other !== row && sameHex(macOf(row, other.seq, other.prev), other.mac)) {
        return new AuditChainBrokenError(
          row.seq,
          'reordered',
          `it holds the content written as entry ${other.seq}`,
        );
      }
    }
    // The next entry was written at this seq, after this one's predecessor: this one was put
    // in between (and the rest renumbered).
    const next = rows[index + 1];
    if (next !== undefined && sameHex(macOf(next, row.seq), next.mac) && sameHex(next.prev, prev)) {
      return new AuditChainBrokenError(
        row.seq,
        'inserted',
        'it was not written by Sealpost: it was put in before the entry written under this number, and later entries renumbered',
      );
    }
    return new AuditChainBrokenError(
      row.seq,
      'changed',
      "its content does not match its MAC (edited, forged, or the audit key is not this profile's)",
    );
  }

  /**
   * RFC 4180 CSV (CRLF line ends, a header row). A cell that a spreadsheet would run as a
   * formula (starting with = + - @, tab or CR) gets a leading apostrophe.
   */
  toCsv(entries: readonly AuditEntry[]): string {
    return auditCsv(entries);
  }

  /** JSON: an array of entries as listed; JSON.parse gives them back. */
  toJson(entries: readonly AuditEntry[]): string {
    return auditJson(entries);
  }
}

const CSV_COLUMNS = [
  'seq',
  'at',
  'user',
  'action',
  'counterpart',
  'message_id',
  'detail',
  'prev',
  'mac',
] as const;

export function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

export function auditCsv(entries: readonly AuditEntry[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const entry of entries) {
    const cells = [
      String(entry.seq),
      entry.at,
      entry.user,
      entry.action,
      entry.counterpart ?? '',
      entry.messageId ?? '',
      entry.detail === null ? '' : JSON.stringify(entry.detail),
      entry.prev,
      entry.mac,
    ];
    lines.push(cells.map(csvCell).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}

export function auditJson(entries: readonly AuditEntry[]): string {
  return `${JSON.stringify(entries, null, 2)}\n`;
}

export type AuditExportFormat = 'csv' | 'json';

/**
 * An export of the filtered entries, recorded as 'audit-export' — after the entries are
 * read, so it is not part of its own output, and before the caller hands the text on, so a
 * disclosure is never left unlogged. `to` says where the text goes (e.g. 'stdout', 'file',
 * 'mail window'). Longer than `maxChars`: LIMIT_EXCEEDED, and nothing is recorded.
 */
export function exportAudit(
  log: AuditLog,
  filter: AuditFilter,
  format: AuditExportFormat,
  to: string,
  maxChars = Number.POSITIVE_INFINITY,
): { text: string; entries: number } {
  const entries = log.list(filter);
  const text = format === 'json' ? auditJson(entries) : auditCsv(entries);
  if (text.length > maxChars) {
    throw new HispError(
      'LIMIT_EXCEEDED',
      `The audit export of ${entries.length} entries would be ${text.length} characters, more than ${maxChars}: narrow it by time, action or counterpart, or use \`sealpost profile audit --out FILE\`.`,
    );
  }
  log.append({
    action: 'audit-export',
    detail: {
      format,
      entries: entries.length,
      to,
      ...(filter.since === undefined ? {} : { since: filter.since.toISOString() }),
      ...(filter.until === undefined ? {} : { until: filter.until.toISOString() }),
      ...(filter.action === undefined ? {} : { action: filter.action }),
      ...(filter.counterpart === undefined ? {} : { counterpart: filter.counterpart }),
    },
  });
  return { text, entries: entries.length };
}

/** The chain's state as data: what `verify()` says, without throwing for a broken chain. */
export type AuditChainState =
  | { readonly intact: true; readonly entries: number }
  | {
      readonly intact: false;
      readonly entries: number;
      readonly seq: number;
      readonly problem: AuditProblem;
      readonly message: string;
    };

/** Verify the chain; a broken chain is reported (first bad entry, what is wrong), not thrown. */
export function auditChainState(log: AuditLog): AuditChainState {
  try {
    return { intact: true, entries: log.verify().entries };
  } catch (error) {
    if (!(error instanceof AuditChainBrokenError)) throw error;
    return {
      intact: false,
      entries: log.count(),
      seq: error.seq,
      problem: error.problem,
      message: error.message,
    };
  }
}
