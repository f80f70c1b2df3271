/**
 * Migration 7: per-recipient delivery.
 *
 * - `outbound_queue.ciphertext`: a queue row's own encrypted copy. A blind-copy (Bcc)
 *   recipient gets a message encrypted to that recipient and the sender only, so nobody else
 *   learns of the blind copy, not even from the CMS RecipientInfos; the relay worker sends
 *   that row's bytes instead of the message's, in an SMTP transaction of its own. NULL for
 *   every other row (they share the message's ciphertext).
 * - `delivery_events`: the per-recipient timeline of a sent message, appended by MailStore
 *   in the same transaction as the state change it records (queued, relayed, retrying,
 *   failed, processed, dispatched, timed-out). A notification that arrived after the
 *   recipient's state was final is kept with `late = 1` and changed nothing. Codes are
 *   error-registry codes; messages are server replies or our own words, never content.
 */
import type { Migration } from '../migrations.js';

export const m007: Migration = {
  version: 7,
  name: 'per-recipient copies and delivery timeline',
  up: (db) => {
    db.exec(`
      ALTER TABLE outbound_queue ADD COLUMN ciphertext BLOB;

      CREATE TABLE delivery_events (
        id          INTEGER PRIMARY KEY,
        message_id  INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
        recipient   TEXT NOT NULL,
        state       TEXT NOT NULL CHECK (state IN ('queued', 'relayed', 'retrying', 'failed',
                      'processed', 'dispatched', 'timed-out')),
        late        INTEGER NOT NULL DEFAULT 0 CHECK (late IN (0, 1)),
        at          TEXT NOT NULL,           -- ISO 8601
        code        TEXT,                    -- an error-registry code, when there is one
        message     TEXT                     -- the server's reply or our explanation
      ) STRICT;
      CREATE INDEX delivery_events_message ON delivery_events (message_id, at, id);
    `);
  },
};
