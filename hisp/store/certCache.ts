/**
 * The certificate cache in the profile's database (migration 5): a second level under the
 * in-memory CRL and OCSP caches, so what was fetched survives a restart. A locked profile is
 * simply a cache miss — revocation checking never fails because the cache is unavailable.
 */
import type { CacheBacking } from '../certs/expiring.js';
import type { EncryptedDatabase } from './database.js';

export type CertCacheKind = 'crl' | 'ocsp';

/** Entries kept at most per kind; the ones closest to expiry go first. */
const MAX_ENTRIES = 4096;

export function certCacheBacking(
  database: () => EncryptedDatabase | undefined,
  kind: CertCacheKind,
  now: () => number = () => Date.now(),
): CacheBacking {
  const usable = (): EncryptedDatabase | undefined => {
    const db = database();
    return db?.isOpen === true ? db : undefined;
  };
  return {
    get(key) {
      const db = usable();
      if (db === undefined) return undefined;
      try {
        const row = db.read(
          (sql) =>
            sql
              .prepare('SELECT value, expires_at FROM cert_cache WHERE kind = ? AND key = ?')
              .get(kind, key) as { value: Uint8Array; expires_at: number } | undefined,
        );
        if (row === undefined || row.expires_at <= now()) return undefined;
        return { value: Buffer.from(row.value), expires: row.expires_at };
      } catch {
        return undefined;
      }
    },
    set(key, value, expires) {
      const db = usable();
      if (db === undefined || expires <= now()) return;
      try {
        db.transaction((sql) => {
          sql.prepare('DELETE FROM cert_cache WHERE expires_at <= ?').run(now());
          sql
            .prepare(
              `INSERT INTO cert_cache (kind, key, value, expires_at, stored_at) VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value,
                 expires_at = excluded.expires_at, stored_at = excluded.stored_at`,
            )
            .run(kind, key, value, expires, now());
          sql
            .prepare(
              `DELETE FROM cert_cache WHERE kind = ? AND key NOT IN
                 (SELECT key FROM cert_cache WHERE kind = ? ORDER BY expires_at DESC LIMIT ?)`,
            )
            .run(kind, kind, MAX_ENTRIES);
        });
      } catch {
        // A cache that cannot be written is only a cache.
      }
    },
  };
}
