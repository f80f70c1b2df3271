import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HispError } from '../../hisp/api/errors.js';
import { vaultMasterKeySource } from '../../hisp/keys/masterKey.js';
import {
  AUDIT_ACTIONS,
  AUDIT_HEAD_SETTING,
  AuditChainBrokenError,
  auditCsv,
  AuditLog,
  type AuditEntry,
  type AuditEvent,
  type AuditProblem,
} from '../../hisp/store/audit.js';
import type { Sqlite } from '../../hisp/store/database.js';
import { initProfile, openProfile, VAULT_FILE, type Profile } from '../../hisp/store/profile.js';

let root: string;
const passphrase = Buffer.from('a profile passphrase for tests');
const sourceFor = (dir: string) =>
  vaultMasterKeySource({ file: join(dir, VAULT_FILE), passphrase });
const open = (dir: string) => openProfile(dir, { keySourceFor: (_kind, at) => sourceFor(at) });

/** A clock that moves one minute per entry from 2026-01-01T00:00Z. */
function clock(start = Date.UTC(2026, 0, 1)) {
  let minutes = 0;
  return () => new Date(start + 60_000 * minutes++);
}

let main: Profile;
let log: AuditLog;
let secondDir: string;
let second: Profile;

const EVENTS: AuditEvent[] = [
  { action: 'key-import', detail: { fingerprint: 'ab12' } },
  { action: 'send', counterpart: 'dr.who@direct.example.org', messageId: '<m1@sealpost>' },
  { action: 'receive', counterpart: 'Lab@Direct.Example.NET', messageId: '<m2@lab>' },
  { action: 'open', counterpart: 'lab@direct.example.net', messageId: '<m2@lab>' },
  {
    action: 'attachment-save',
    counterpart: 'lab@direct.example.net',
    messageId: '<m2@lab>',
    detail: { part: 2, bytes: 1234 },
  },
  { action: 'trust-change', detail: { anchor: 'cd34', change: 'added' } },
];
const N = EVENTS.length;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sealpost-audit-'));
  const mainDir = join(root, 'main');
  secondDir = join(root, 'second');
  main = await initProfile(mainDir, { keySource: sourceFor(mainDir) });
  second = await initProfile(secondDir, { keySource: sourceFor(secondDir) });
  log = new AuditLog(main, { now: clock(), user: 'clinician' });
  for (const event of EVENTS) log.append(event);
});

afterAll(async () => {
  main.close();
  second.close();
  await rm(root, { recursive: true, force: true });
});

const ROLLBACK = new Error('roll back the tampering');

/**
 * Tampers with the log by raw SQL as someone holding the database key would (triggers dropped
 * first), runs verify on the tampered state, then rolls everything back.
 */
function verifyTampered(tamper: (db: Sqlite) => void, work = () => log.verify()): unknown {
  let outcome: unknown;
  try {
    main.db.transaction((db) => {
      db.exec('DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;');
      tamper(db);
      try {
        outcome = work();
      } catch (error) {
        outcome = error;
      }
      throw ROLLBACK;
    });
  } catch (error) {
    if (error !== ROLLBACK) throw error;
  }
  return outcome;
}

function broken(outcome: unknown): { code: string; seq: number; problem: AuditProblem } {
  if (!(outcome instanceof AuditChainBrokenError)) {
    throw new Error(`expected AUDIT_CHAIN_BROKEN, got ${JSON.stringify(outcome)}`);
  }
  return { code: outcome.code, seq: outcome.seq, problem: outcome.problem };
}

function rowOf(db: Sqlite, seq: number): Record<string, unknown> {
  return db.prepare('SELECT * FROM audit_log WHERE seq = ?').get(seq) as Record<string, unknown>;
}

describe('migration 2: the audit_log table', () => {
  it('is STRICT, checks the action list, and its triggers refuse UPDATE and DELETE', () => {
    main.db.read((db) => {
      const sql = (
        db.prepare("SELECT sql FROM sqlite_master WHERE name = 'audit_log'").get() as {
          sql: string;
        }
      ).sql;
      expect(sql).toMatch(/\)\s*STRICT$/);
      for (const action of AUDIT_ACTIONS) expect(sql).toContain(`'${action}'`);
    });
    const insert = (action: string, seq: unknown) => () =>
      main.db.transaction((db) =>
        db
          .prepare(
            'INSERT INTO audit_log (seq, at, user, action, prev, mac) VALUES (?, ?, ?, ?, ?, ?)',
          )
          .run(seq, 'x', 'u', action, '0'.repeat(64), '0'.repeat(64)),
      );
    expect(insert('read-everything', 100)).toThrow(/CHECK constraint/);
    expect(insert('send', 'one hundred')).toThrow(/datatype mismatch/);
    expect(() =>
      main.db.transaction((db) =>
        db.prepare("UPDATE audit_log SET user = 'someone else' WHERE seq = 2").run(),
      ),
    ).toThrow(/audit_log is append-only/);
    expect(() =>
      main.db.transaction((db) => db.prepare('DELETE FROM audit_log WHERE seq = 2').run()),
    ).toThrow(/audit_log is append-only/);
    expect(() => main.db.transaction((db) => db.prepare('DELETE FROM audit_log').run())).toThrow(
      /audit_log is append-only/,
    );
    expect(log.verify().entries).toBe(N);
  });
});

describe('the audit log', () => {
  it('appends entries numbered 1, 2, 3 … chained by prev = previous mac', () => {
    const entries = log.list();
    expect(entries.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(entries[0]).toMatchObject({
      at: '2026-01-01T00:00:00.000Z',
      user: 'clinician',
      action: 'key-import',
      counterpart: null,
      messageId: null,
      detail: { fingerprint: 'ab12' },
      prev: '0'.repeat(64),
    });
    entries.forEach((entry, index) => {
      expect(entry.mac).toMatch(/^[0-9a-f]{64}$/);
      if (index > 0) expect(entry.prev).toBe(entries[index - 1]?.mac);
    });
    const head = main.db.read(
      (db) =>
        db.prepare('SELECT value FROM settings WHERE key = ?').get(AUDIT_HEAD_SETTING) as {
          value: string;
        },
    );
    expect(JSON.parse(head.value)).toMatchObject({ seq: N, mac: entries[N - 1]?.mac });
  });

  it('filters by time, action and counterpart (case-insensitive), and limits to the newest', () => {
    const seqs = (entries: AuditEntry[]) => entries.map((e) => e.seq);
    expect(seqs(log.list({ since: new Date('2026-01-01T00:02:00Z') }))).toEqual([3, 4, 5, 6]);
    expect(seqs(log.list({ until: new Date('2026-01-01T00:02:00Z') }))).toEqual([1, 2]);
    expect(
      seqs(
        log.list({
          since: new Date('2026-01-01T00:01:00Z'),
          until: new Date('2026-01-01T00:04:00Z'),
        }),
      ),
    ).toEqual([2, 3, 4]);
    expect(seqs(log.list({ action: 'open' }))).toEqual([4]);
    expect(seqs(log.list({ counterpart: 'LAB@direct.example.net' }))).toEqual([3, 4, 5]);
    expect(seqs(log.list({ counterpart: 'lab@direct.example.net', action: 'receive' }))).toEqual([
      3,
    ]);
    expect(seqs(log.list({ limit: 2 }))).toEqual([5, 6]);
    expect(seqs(log.list({ limit: 0 }))).toEqual([]);
  });

  it('refuses an unknown action, a non-object or oversized detail (BAD_REQUEST), and writes nothing', () => {
    const codeOf = (event: unknown) => {
      try {
        log.append(event as AuditEvent);
      } catch (error) {
        return error instanceof HispError ? error.code : String(error);
      }
      return undefined;
    };
    expect(codeOf({ action: 'peek' })).toBe('BAD_REQUEST');
    expect(codeOf({ action: 'open', detail: ['a'] })).toBe('BAD_REQUEST');
    expect(codeOf({ action: 'open', detail: { body: 'x'.repeat(5000) } })).toBe('BAD_REQUEST');
    expect(codeOf({ action: 'open', counterpart: 'a@b\nforged line' })).toBe('BAD_REQUEST');
    expect(log.verify().entries).toBe(N);
  });

  it('appendIn logs inside the caller’s transaction: rolled back with it; outside one it refuses', () => {
    expect(() =>
      main.db.transaction((db) => {
        log.appendIn(db, { action: 'delete', messageId: '<gone@x>' });
        expect(log.list({ action: 'delete' })).toHaveLength(1);
        throw ROLLBACK;
      }),
    ).toThrow(ROLLBACK);
    expect(log.list({ action: 'delete' })).toEqual([]);
    expect(log.verify().entries).toBe(N);
    const outside = main.db.read((db) => () => log.appendIn(db, { action: 'print' }));
    expect(outside).toThrow(/needs an open transaction/);
  });

  it('verify passes on the intact chain and returns the head', () => {
    const entries = log.list();
    expect(log.verify()).toEqual({ entries: N, head: entries[N - 1]?.mac });
  });
});

describe('risk-22 the audit chain, edited by hand, is AUDIT_CHAIN_BROKEN naming the first bad entry', () => {
  it('a changed field (counterpart, detail, time, user or action) is "changed" at that seq', () => {
    const edits = [
      "UPDATE audit_log SET counterpart = 'mallory@evil.example' WHERE seq = 3",
      'UPDATE audit_log SET detail = \'{"fingerprint":"ab13"}\' WHERE seq = 1',
      "UPDATE audit_log SET at = '2025-12-31T00:00:00.000Z' WHERE seq = 2",
      "UPDATE audit_log SET user = 'someone' WHERE seq = 6",
      "UPDATE audit_log SET action = 'print' WHERE seq = 4",
      'UPDATE audit_log SET message_id = NULL WHERE seq = 5',
    ];
    const results = edits.map((edit) => broken(verifyTampered((db) => db.exec(edit))));
    expect(results.map((r) => [r.code, r.seq, r.problem])).toEqual([
      ['AUDIT_CHAIN_BROKEN', 3, 'changed'],
      ['AUDIT_CHAIN_BROKEN', 1, 'changed'],
      ['AUDIT_CHAIN_BROKEN', 2, 'changed'],
      ['AUDIT_CHAIN_BROKEN', 6, 'changed'],
      ['AUDIT_CHAIN_BROKEN', 4, 'changed'],
      ['AUDIT_CHAIN_BROKEN', 5, 'changed'],
    ]);
    const error = verifyTampered((db) => db.exec(edits[0] ?? '')) as Error;
    expect(error.message).toContain('broken at entry 3 (changed)');
    expect(log.verify().entries).toBe(N);
  });

  it('a deleted middle entry is "missing", also when the later ones are renumbered', () => {
    expect(broken(verifyTampered((db) => db.exec('DELETE FROM audit_log WHERE seq = 3')))).toEqual({
      code: 'AUDIT_CHAIN_BROKEN',
      seq: 3,
      problem: 'missing',
    });
    expect(
      broken(
        verifyTampered((db) => {
          db.exec('DELETE FROM audit_log WHERE seq = 3');
          db.exec('UPDATE audit_log SET seq = seq + 1000 WHERE seq > 3');
          db.exec('UPDATE audit_log SET seq = seq - 1001 WHERE seq > 1000');
        }),
      ),
    ).toEqual({ code: 'AUDIT_CHAIN_BROKEN', seq: 3, problem: 'missing' });
  });

  it('deleted newest entries are "tail removed" (the head remembers them); a head removed or rewritten too is caught', () => {
    const cut = (db: Sqlite) => db.exec('DELETE FROM audit_log WHERE seq >= 5');
    const tail = verifyTampered(cut);
    expect(broken(tail)).toEqual({ code: 'AUDIT_CHAIN_BROKEN', seq: 5, problem: 'tail removed' });
    expect((tail as Error).message).toContain('entries 5 to 6 are missing');

    const withHead = verifyTampered((db) => {
      cut(db);
      db.prepare('DELETE FROM settings WHERE key = ?').run(AUDIT_HEAD_SETTING);
    });
    expect(broken(withHead).problem).toBe('head changed');

    // A head moved back by hand: its tag needs the audit key.
    const mac4 = log.list()[3]?.mac;
    const rewritten = verifyTampered((db) => {
      cut(db);
      db.prepare('UPDATE settings SET value = ? WHERE key = ?').run(
        JSON.stringify({ seq: 4, mac: mac4, tag: 'f'.repeat(64) }),
        AUDIT_HEAD_SETTING,
      );
    });
    expect(broken(rewritten).problem).toBe('head changed');
    expect(log.verify().entries).toBe(N);
  });

  it('an entry appended after the tail was cut continues from the head, so the gap stays visible', () => {
    const outcome = verifyTampered(
      (db) => {
        db.exec('DELETE FROM audit_log WHERE seq >= 5');
        const entry = log.appendIn(db, { action: 'lock' });
        expect(entry.seq).toBe(N + 1);
      },
      () => log.verify(),
    );
    expect(broken(outcome)).toEqual({ code: 'AUDIT_CHAIN_BROKEN', seq: 5, problem: 'missing' });
  });

  it('a forged entry is "inserted": after the head, or in the middle with the rest renumbered', () => {
    const forged = (db: Sqlite, seq: number, prev: unknown) =>
      db
        .prepare(
          `INSERT INTO audit_log (seq, at, user, action, counterpart, prev, mac)
           VALUES (?, '2026-01-01T00:02:30.000Z', 'clinician', 'open', 'x@y.example', ?, ?)`,
        )
        .run(seq, prev, 'e'.repeat(64));
    const mac6 = log.list()[5]?.mac;
    expect(broken(verifyTampered((db) => forged(db, 7, mac6)))).toEqual({
      code: 'AUDIT_CHAIN_BROKEN',
      seq: 7,
      problem: 'inserted',
    });
    const mac2 = log.list()[1]?.mac;
    expect(
      broken(
        verifyTampered((db) => {
          db.exec('UPDATE audit_log SET seq = seq + 1000 WHERE seq >= 3');
          db.exec('UPDATE audit_log SET seq = seq - 999 WHERE seq > 1000');
          forged(db, 3, mac2);
        }),
      ),
    ).toEqual({ code: 'AUDIT_CHAIN_BROKEN', seq: 3, problem: 'inserted' });
  });

  it('two entries swapped (whole, or only their content) are "reordered" at the first', () => {
    const all = 'at, user, action, counterpart, message_id, detail, prev, mac';
    const contentOnly = 'at, user, action, counterpart, message_id, detail';
    const swap = (columns: string) => (db: Sqlite) => {
      const names = columns.split(', ');
      const two = rowOf(db, 2);
      const three = rowOf(db, 3);
      const set = names.map((name) => `${name} = @${name}`).join(', ');
      db.prepare(`UPDATE audit_log SET ${set} WHERE seq = 2`).run(
        Object.fromEntries(names.map((name) => [name, three[name]])),
      );
      db.prepare(`UPDATE audit_log SET ${set} WHERE seq = 3`).run(
        Object.fromEntries(names.map((name) => [name, two[name]])),
      );
    };
    const whole = verifyTampered(swap(all));
    expect(broken(whole)).toEqual({ code: 'AUDIT_CHAIN_BROKEN', seq: 2, problem: 'reordered' });
    expect((whole as Error).message).toContain('written as entry 3');
    expect(broken(verifyTampered(swap(contentOnly)))).toEqual({
      code: 'AUDIT_CHAIN_BROKEN',
      seq: 2,
      problem: 'reordered',
    });
    expect(log.verify().entries).toBe(N);
  });

  it("another profile's audit key does not verify this chain", () => {
    const wrong = new AuditLog({ db: main.db, subkey: () => second.subkey('audit') });
    expect(
      broken(
        verifyTampered(
          () => undefined,
          () => wrong.verify(),
        ),
      ),
    ).toMatchObject({
      seq: 1,
      problem: 'changed',
    });
    expect(() => wrong.verify()).toThrow(AuditChainBrokenError);
  });
});

describe('the chain across closing and reopening', () => {
  it('an empty log verifies; entries survive reopening and the chain continues', async () => {
    const first = new AuditLog(second, { user: 'clinician' });
    expect(first.verify()).toEqual({ entries: 0, head: '0'.repeat(64) });
    first.append({ action: 'unlock' });
    first.append({ action: 'send', counterpart: 'a@direct.example', messageId: '<1@x>' });
    const before = first.verify();
    second.close();
    expect(() => first.append({ action: 'lock' })).toThrow(
      expect.objectContaining({ code: 'PROFILE_LOCKED' }) as Error,
    );

    second = await open(secondDir);
    const again = new AuditLog(second, { user: 'clinician' });
    expect(again.verify()).toEqual(before);
    expect(again.append({ action: 'lock' }).seq).toBe(3);
    expect(again.verify().entries).toBe(3);
    expect(again.list().map((e) => e.action)).toEqual(['unlock', 'send', 'lock']);
  });
});

describe('exports', () => {
  const entry = (over: Partial<AuditEntry>): AuditEntry => ({
    seq: 1,
    at: '2026-01-01T00:00:00.000Z',
    user: 'clinician',
    action: 'send',
    counterpart: null,
    messageId: null,
    detail: null,
    prev: '0'.repeat(64),
    mac: 'a'.repeat(64),
    ...over,
  });

  it('CSV is RFC 4180 (header, CRLF, quoted commas/quotes/newlines) and formula-safe', () => {
    const csv = auditCsv([
      entry({ counterpart: 'a,b@x.example', messageId: '<"q"@x>' }),
      entry({ seq: 2, user: 'line\nbreak', detail: { note: 'say "hi", bye' } }),
      entry({ seq: 3, counterpart: '=HYPERLINK("http://evil")', messageId: '+1', user: '-x' }),
      entry({ seq: 4, counterpart: '@SUM(A1)', messageId: '\tcmd' }),
    ]);
    const lines = csv.split('\r\n');
    expect(lines[0]).toBe('seq,at,user,action,counterpart,message_id,detail,prev,mac');
    expect(lines[1]).toBe(
      `1,2026-01-01T00:00:00.000Z,clinician,send,"a,b@x.example","<""q""@x>",,${'0'.repeat(64)},${'a'.repeat(64)}`,
    );
    expect(csv).toContain(
      `2,2026-01-01T00:00:00.000Z,"line\nbreak",send,,,"{""note"":""say \\""hi\\"", bye""}",`,
    );
    expect(csv).toContain(
      `3,2026-01-01T00:00:00.000Z,'-x,send,"'=HYPERLINK(""http://evil"")",'+1,,`,
    );
    expect(csv).toContain(`4,2026-01-01T00:00:00.000Z,clinician,send,'@SUM(A1),'\tcmd,,`);
    expect(csv.endsWith('\r\n')).toBe(true);
    expect(csv.split('\r\n')).toHaveLength(6);
  });

  it('JSON round-trips the entries exactly', () => {
    const entries = log.list();
    const parsed = JSON.parse(log.toJson(entries)) as unknown;
    expect(parsed).toEqual(entries);
    expect(log.toCsv(entries)).toBe(auditCsv(entries));
  });
});
