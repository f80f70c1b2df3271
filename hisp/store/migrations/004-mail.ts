/**
 * Migration 4: the mailbox (ciphertext as it arrived or was sent, plus an index that exists
 * only inside the encrypted database), full-text search, the outbound queue, MDN tracking
 * and drafts (DESIGN.md §5, risk-13, risk-14, risk-19).
 */
import type { Migration } from '../migrations.js';

export const m004: Migration = {
  version: 4,
  name: 'mailbox, outbound queue, delivery tracking, drafts',
  up: (db) => {
    db.exec(`
        -- One message, stored as the bytes that arrived (inbound) or were sent (outbound):
        -- the S/MIME message, never its plaintext. Decrypted in memory when opened.
        CREATE TABLE messages (
          id             INTEGER PRIMARY KEY,
          direction      TEXT NOT NULL CHECK (direction IN ('in', 'out')),
          folder         TEXT NOT NULL CHECK (folder IN
                           ('inbox', 'sent', 'drafts', 'outbox', 'untrusted', 'archive', 'trash')),
          seen           INTEGER NOT NULL DEFAULT 0 CHECK (seen IN (0, 1)),
          flagged        INTEGER NOT NULL DEFAULT 0 CHECK (flagged IN (0, 1)),
          answered       INTEGER NOT NULL DEFAULT 0 CHECK (answered IN (0, 1)),
          received_at    TEXT NOT NULL,       -- ISO 8601: when it arrived / was stored as sent
          envelope_from  TEXT NOT NULL,       -- SMTP MAIL FROM
          envelope_to    TEXT NOT NULL,       -- JSON array of RCPT TO
          routing        TEXT NOT NULL,       -- JSON: the OUTER message's routing headers
          ciphertext     BLOB NOT NULL,       -- exactly the bytes that arrived / were sent
          size           INTEGER NOT NULL CHECK (size = length(ciphertext)),
          digest         TEXT NOT NULL,       -- SHA-256 of ciphertext, lower-case hex
          verification   TEXT NOT NULL,       -- JSON: {trusted, signer?, reasons[{code,message}]}
          -- The authenticated (inner, signed) Message-ID: set only for a trusted inbound message
          -- and for outbound, so an untrusted message cannot squat a real one's Message-ID.
          message_id     TEXT,
          UNIQUE (direction, message_id),
          UNIQUE (direction, digest)          -- the same bytes delivered twice
        ) STRICT;
        CREATE INDEX messages_folder ON messages (folder, id);

        -- What the list view shows, read without decrypting anything.
        CREATE TABLE message_index (
          message_id       INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
          subject          TEXT NOT NULL,
          sender           TEXT NOT NULL,     -- inner From (display name and address)
          recipients       TEXT NOT NULL,     -- JSON array: inner To and Cc
          sent_at          TEXT,              -- inner Date, ISO 8601 when it parses
          snippet          TEXT NOT NULL,     -- first ~200 characters of the text, whitespace collapsed
          attachment_names TEXT NOT NULL,     -- JSON array of file names
          has_attachments  INTEGER NOT NULL CHECK (has_attachments IN (0, 1))
        ) STRICT;

        -- Full-text search over subject, sender and body text. Contentless: the table keeps
        -- only the token index (rowid = messages.id), not a second copy of the text; with
        -- secure-delete, deleting a row removes its tokens from the index pages.
        CREATE VIRTUAL TABLE message_search USING fts5 (
          subject, sender, body,
          content = '', contentless_delete = 1,
          tokenize = 'unicode61 remove_diacritics 2'
        );
        INSERT INTO message_search (message_search, rank) VALUES ('secure-delete', 1);

        -- The outbound queue: one row per message and recipient (risk-13: encrypted at rest).
        CREATE TABLE outbound_queue (
          id               INTEGER PRIMARY KEY,
          message_id       INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
          recipient        TEXT NOT NULL,
          state            TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'relayed', 'failed')),
          attempts         INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
          next_attempt_at  TEXT,              -- NULL once relayed or failed for good
          last_error       TEXT,              -- JSON {code, message}
          created_at       TEXT NOT NULL,
          updated_at       TEXT NOT NULL,
          UNIQUE (message_id, recipient)
        ) STRICT;
        CREATE INDEX outbound_queue_due ON outbound_queue (state, next_attempt_at);

        -- Delivery notifications expected for a sent message, per recipient.
        CREATE TABLE mdn_tracking (
          message_id            INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
          recipient             TEXT NOT NULL,
          state                 TEXT NOT NULL CHECK (state IN
                                  ('pending', 'processed', 'dispatched', 'failed', 'timed-out')),
          requested_dispatched  INTEGER NOT NULL CHECK (requested_dispatched IN (0, 1)),
          created_at            TEXT NOT NULL,
          updated_at            TEXT NOT NULL,
          late_notifications    TEXT NOT NULL DEFAULT '[]',  -- JSON: arrived after a final state
          PRIMARY KEY (message_id, recipient)
        ) STRICT;

        -- Drafts: plain columns, as the whole database is encrypted.
        CREATE TABLE drafts (
          id           INTEGER PRIMARY KEY,
          updated_at   TEXT NOT NULL,
          to_addrs     TEXT NOT NULL DEFAULT '[]',   -- JSON array
          cc_addrs     TEXT NOT NULL DEFAULT '[]',   -- JSON array
          subject      TEXT NOT NULL DEFAULT '',
          body         TEXT NOT NULL DEFAULT '',
          in_reply_to  TEXT
        ) STRICT;
        CREATE TABLE draft_attachments (
          draft_id     INTEGER NOT NULL REFERENCES drafts(id) ON DELETE CASCADE,
          position     INTEGER NOT NULL CHECK (position >= 0),
          filename     TEXT NOT NULL,
          content_type TEXT NOT NULL,
          content      BLOB NOT NULL,
          PRIMARY KEY (draft_id, position)
        ) STRICT;
      `);
  },
};
