/**
 * Migration 5: the certificate cache — CRLs until their nextUpdate, OCSP answers until theirs,
 * kept across restarts (a 200,000-entry CRL need not be fetched again after a restart, and a
 * revocation answer survives it). Public data, but kept in the encrypted database with the
 * rest: which CRLs and responders a profile asks reveals whom it corresponds with.
 */
import type { Migration } from '../migrations.js';

export const m005: Migration = {
  version: 5,
  name: 'certificate cache',
  up: (db) => {
    db.exec(`
      CREATE TABLE cert_cache (
        kind       TEXT NOT NULL CHECK (kind IN ('crl', 'ocsp')),
        key        TEXT NOT NULL,
        value      BLOB NOT NULL,
        expires_at INTEGER NOT NULL,          -- milliseconds since the epoch
        stored_at  INTEGER NOT NULL,
        PRIMARY KEY (kind, key)
      ) STRICT;
      CREATE INDEX cert_cache_expiry ON cert_cache (expires_at);
    `);
  },
};
