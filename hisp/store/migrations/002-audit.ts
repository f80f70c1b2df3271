/**
 * Migration 2: the audit log (accounting of disclosures). Append-only: triggers abort any
 * UPDATE or DELETE. Someone holding the database key could drop the triggers; the HMAC chain
 * (hisp/store/audit.ts) is what detects that kind of tampering.
 */
import type { Migration } from '../migrations.js';

export const m002: Migration = {
  version: 2,
  name: 'audit log',
  up: (db) => {
    db.exec(`
        CREATE TABLE audit_log (
          seq         INTEGER PRIMARY KEY CHECK (seq >= 1),   -- 1, 2, 3 ... no gaps
          at          TEXT NOT NULL,                          -- ISO 8601 UTC
          user        TEXT NOT NULL,                          -- local OS user
          action      TEXT NOT NULL CHECK (action IN (
                        'send', 'receive', 'open', 'attachment-save', 'export', 'print',
                        'delete', 'key-import', 'key-remove', 'trust-change',
                        'profile-export', 'profile-restore', 'lock', 'unlock',
                        'audit-export')),
          counterpart TEXT,                                   -- address, or NULL
          message_id  TEXT,
          detail      TEXT,                                   -- JSON, never message content
          prev        TEXT NOT NULL CHECK (length(prev) = 64),  -- previous entry's mac, hex
          mac         TEXT NOT NULL CHECK (length(mac) = 64)    -- HMAC-SHA256, hex
        ) STRICT;
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
