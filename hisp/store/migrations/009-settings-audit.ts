/**
 * Migration 9: the audit log takes 'settings-change' (Settings › Mail server and
 * preferences: a relay, upstream, delivery or auto-lock change is recorded, never a
 * password) and 'attachment-forward' (an attachment read to go with a forwarded message,
 * rather than saved). SQLite cannot change a CHECK constraint in place, so the table is rebuilt the
 * documented way (new table, copy, drop, rename) inside this migration's transaction, with
 * its index and append-only triggers made again. Every entry keeps its seq, fields and MAC, so
 * the chain verifies exactly as before.
 */
import type { Migration } from '../migrations.js';

export const m009: Migration = {
  version: 9,
  name: 'audit settings-change and attachment-forward',
  up: (db) => {
    db.exec(`
      CREATE TABLE audit_log_v9 (
        seq         INTEGER PRIMARY KEY CHECK (seq >= 1),
        at          TEXT NOT NULL,
        user        TEXT NOT NULL,
        action      TEXT NOT NULL CHECK (action IN (
                      'send', 'receive', 'open', 'attachment-save', 'export', 'print',
                      'delete', 'key-import', 'key-remove', 'trust-change',
                      'profile-export', 'profile-restore', 'lock', 'unlock',
                      'audit-export', 'settings-change', 'attachment-forward')),
        counterpart TEXT,
        message_id  TEXT,
        detail      TEXT,
        prev        TEXT NOT NULL CHECK (length(prev) = 64),
        mac         TEXT NOT NULL CHECK (length(mac) = 64)
      ) STRICT;
      INSERT INTO audit_log_v9 (seq, at, user, action, counterpart, message_id, detail, prev, mac)
        SELECT seq, at, user, action, counterpart, message_id, detail, prev, mac FROM audit_log;
      DROP TRIGGER audit_log_no_update;
      DROP TRIGGER audit_log_no_delete;
      DROP TABLE audit_log;
      ALTER TABLE audit_log_v9 RENAME TO audit_log;
      CREATE INDEX audit_log_at ON audit_log (at);
      CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
      BEGIN
        SELECT RAISE(ABORT, 'audit_log is append-only');
      END;
      CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
      BEGIN
        SELECT RAISE(ABORT, 'audit_log is append-only');
      END;
    `);
  },
};
