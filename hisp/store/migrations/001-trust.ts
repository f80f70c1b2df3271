/** Migration 1: settings and the trust store (anchors, bundles, bundle signers). */
import type { Migration } from '../migrations.js';

export const m001: Migration = {
  version: 1,
  name: 'settings and trust store',
  up: (db) => {
    db.exec(`
        CREATE TABLE settings (
          key   TEXT PRIMARY KEY,
          value TEXT NOT NULL            -- JSON
        ) STRICT;

        -- A trust bundle: where it comes from, who must have signed it, what was last read.
        CREATE TABLE trust_bundles (
          id               INTEGER PRIMARY KEY,
          name             TEXT NOT NULL UNIQUE,
          source           TEXT NOT NULL,       -- https URL or file path
          domain           TEXT NOT NULL,       -- local domain it serves, '*' = every one
          direction        TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound', 'both')),
          refresh_seconds  INTEGER NOT NULL CHECK (refresh_seconds >= 0),  -- 0 = by hand only
          require_signed   INTEGER NOT NULL DEFAULT 0,
          digest           TEXT,                -- SHA-256 of the bytes last imported
          signed           INTEGER,
          signer           TEXT,                -- subject of the bundle's signer, if signed
          added_at         TEXT NOT NULL,
          checked_at       TEXT,                -- last refresh attempt, good or not
          changed_at       TEXT,                -- last time its anchors changed
          last_error       TEXT                 -- the last refresh failure, cleared on success
        ) STRICT;

        -- Certificates that must have signed a bundle (the signer itself or its CA).
        CREATE TABLE trust_bundle_signers (
          bundle_id   INTEGER NOT NULL REFERENCES trust_bundles(id) ON DELETE CASCADE,
          fingerprint TEXT NOT NULL,
          der         BLOB NOT NULL,
          PRIMARY KEY (bundle_id, fingerprint)
        ) STRICT;

        -- One row per anchor, local domain, direction and origin (by hand, or a bundle).
        CREATE TABLE trust_anchors (
          id          INTEGER PRIMARY KEY,
          fingerprint TEXT NOT NULL,          -- SHA-256 of the DER, lower-case hex
          der         BLOB NOT NULL,
          subject     TEXT NOT NULL,
          not_after   TEXT NOT NULL,
          domain      TEXT NOT NULL,          -- local domain, '*' = every one
          direction   TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
          bundle_id   INTEGER REFERENCES trust_bundles(id) ON DELETE CASCADE,  -- NULL = by hand
          added_at    TEXT NOT NULL
        ) STRICT;
        CREATE UNIQUE INDEX trust_anchors_unique
          ON trust_anchors (fingerprint, domain, direction, ifnull(bundle_id, 0));
        CREATE INDEX trust_anchors_lookup ON trust_anchors (domain, direction);
      `);
  },
};
