/**
 * Migration 3: the practice's Direct identities (certificate + where its private key is) and,
 * for vault profiles only, the wrapped private keys.
 *
 * A keychain profile keeps each private key in the OS keychain (key_location 'keychain',
 * key_ref = the keychain account); nothing of the key is in this database. A vault profile
 * (no keychain on that machine) keeps it in `private_keys`: PKCS#8 DER sealed with
 * AES-256-GCM under the profile's 'key-wrap' subkey, AAD = the ref — inside the already
 * encrypted database (DESIGN.md §5).
 */
import type { Migration } from '../migrations.js';

export const m003: Migration = {
  version: 3,
  name: 'identities and private keys',
  up: (db) => {
    db.exec(`
        CREATE TABLE identities (
          id            INTEGER PRIMARY KEY,
          fingerprint   TEXT NOT NULL UNIQUE
                        CHECK (length(fingerprint) = 64 AND fingerprint NOT GLOB '*[^0-9a-f]*'),
          subject       TEXT NOT NULL,
          addresses     TEXT NOT NULL,       -- JSON [{address, bound: 'address' | 'domain'}]
          not_before    TEXT NOT NULL,       -- ISO 8601
          not_after     TEXT NOT NULL,       -- ISO 8601
          cert          BLOB NOT NULL,       -- the certificate's DER
          key_ref       TEXT NOT NULL UNIQUE,
          key_location  TEXT NOT NULL CHECK (key_location IN ('keychain', 'database')),
          imported_at   TEXT NOT NULL
        ) STRICT;

        -- The chain sent with the identity's certificate, in order (issuer first).
        CREATE TABLE identity_chain (
          identity_id  INTEGER NOT NULL REFERENCES identities(id) ON DELETE CASCADE,
          position     INTEGER NOT NULL CHECK (position >= 0),
          der          BLOB NOT NULL,
          PRIMARY KEY (identity_id, position)
        ) STRICT;

        -- Vault profiles only: private keys sealed under the 'key-wrap' subkey.
        CREATE TABLE private_keys (
          ref   TEXT PRIMARY KEY,
          iv    BLOB NOT NULL CHECK (length(iv) = 12),
          data  BLOB NOT NULL CHECK (length(data) > 0),
          tag   BLOB NOT NULL CHECK (length(tag) = 16)
        ) STRICT;
      `);
  },
};
