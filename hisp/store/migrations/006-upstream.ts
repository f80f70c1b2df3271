/**
 * Migration 6: upstream mailbox state for the IMAP pull (hisp/relay/imapPull.ts).
 *
 * `upstream_mailboxes` holds, per upstream account and mailbox, the UIDVALIDITY last seen and
 * the high-water mark: every UID at or below it has been committed to the local store (or
 * found to be a duplicate of something already there). `upstream_messages` holds one row per
 * fetched UID: 'stored' once the message is committed locally, 'done' once the configured
 * upstream action (keep, flag, move, delete) has been carried out, 'failed' while it could
 * not be stored (it is then left upstream untouched). A row left at 'stored' after a crash
 * gets its upstream action first on the next run.
 */
import type { Migration } from '../migrations.js';

export const m006: Migration = {
  version: 6,
  name: 'upstream mailbox state',
  up: (db) => {
    db.exec(`
      CREATE TABLE upstream_mailboxes (
        account     TEXT NOT NULL,                 -- imap://user@host (ImapPull.account)
        mailbox     TEXT NOT NULL,
        uidvalidity INTEGER NOT NULL CHECK (uidvalidity > 0),
        high_uid    INTEGER NOT NULL DEFAULT 0 CHECK (high_uid >= 0),
        updated_at  TEXT NOT NULL,
        PRIMARY KEY (account, mailbox)
      ) STRICT;

      CREATE TABLE upstream_messages (
        account     TEXT NOT NULL,
        mailbox     TEXT NOT NULL,
        uidvalidity INTEGER NOT NULL CHECK (uidvalidity > 0),
        uid         INTEGER NOT NULL CHECK (uid > 0),
        -- stored: committed locally, upstream action not yet done; done: action done;
        -- failed: not stored locally (so never touched upstream), retried up to a limit.
        state       TEXT NOT NULL CHECK (state IN ('stored', 'done', 'failed')),
        action      TEXT NOT NULL CHECK (action IN ('keep', 'flag', 'move', 'delete')),
        message_id  INTEGER,                       -- local messages.id once stored
        attempts    INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
        last_error  TEXT,                          -- an error code, never content
        updated_at  TEXT NOT NULL,
        PRIMARY KEY (account, mailbox, uidvalidity, uid),
        FOREIGN KEY (account, mailbox) REFERENCES upstream_mailboxes (account, mailbox)
          ON DELETE CASCADE,
        CHECK ((state = 'failed') = (message_id IS NULL))
      ) STRICT;
      CREATE INDEX upstream_messages_pending
        ON upstream_messages (account, mailbox, state);
    `);
  },
};
