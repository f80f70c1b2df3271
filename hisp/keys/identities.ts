/**
 * Key custody for the practice's Direct identities (DESIGN.md §5): each identity is a
 * certificate (with the chain sent alongside it) and its private key.
 *
 * - A keychain profile keeps each private key (PKCS#8 DER) in the OS keychain, account
 *   `profile:<profileId>:key:<fingerprint>`; the database holds the certificate and that
 *   reference only — nothing of the key.
 * - A vault profile (no keychain on that machine) keeps it in `private_keys`: AES-256-GCM
 *   under the profile's 'key-wrap' subkey with AAD = the reference, inside the already
 *   encrypted database.
 *
 * Private keys are never written to disk in plaintext, never logged, and never named in an
 * error message. Decrypted key bytes are zeroed once they are inside a KeyObject.
 */
import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  randomBytes,
  type KeyObject,
} from 'node:crypto';

import { HispError } from '../api/errors.js';
import { parseCertificate, type ParsedCertificate } from '../certs/certificate.js';
import { validityReasons, weakKeyReason } from '../certs/policy.js';
import type { Sqlite } from '../store/database.js';
import type { Profile } from '../store/profile.js';
import { openKeychain, type Keychain } from './keychain.js';
import { keyMatchesCertificate } from './match.js';

export type KeyLocation = 'keychain' | 'database';

export interface IdentityAddress {
  /** An e-mail address (address-bound) or a domain (domain-bound), lower case. */
  readonly address: string;
  readonly bound: 'address' | 'domain';
}

export interface IdentityRecord {
  readonly fingerprintSha256: string;
  readonly subject: string;
  readonly addresses: readonly IdentityAddress[];
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly cert: ParsedCertificate;
  readonly chain: readonly ParsedCertificate[];
  readonly keyLocation: KeyLocation;
  readonly importedAt: string;
}

export interface IdentityImport {
  /** The private key (a KeyObject of type 'private'). */
  readonly key: KeyObject;
  readonly cert: ParsedCertificate;
  /** Certificates sent with it (intermediates), issuer first; the leaf itself is dropped. */
  readonly chain?: readonly ParsedCertificate[];
}

/** One identity's private key, for the encrypted profile export. */
export interface IdentitySecret {
  readonly fingerprint: string;
  /** PKCS#8 DER of the private key. The caller zeroes it when done. */
  readonly pkcs8: Buffer;
}

/** For restore: the key, and the certificate when the identity row is not in the database. */
export interface IdentitySecretImport extends IdentitySecret {
  readonly certDer?: Uint8Array;
  readonly chainDer?: readonly Uint8Array[];
}

export interface IdentityStoreOptions {
  /** The keychain for a keychain profile; `openKeychain()` by default (tests inject one). */
  readonly keychain?: Keychain;
  readonly now?: () => Date;
}

/** Most chain certificates kept with one identity (a PKCS#12 file holds up to 64). */
export const MAX_CHAIN_CERTIFICATES = 16;

const IV_BYTES = 12;
const TAG_BYTES = 16;

interface IdentityRow {
  id: number;
  fingerprint: string;
  subject: string;
  addresses: string;
  not_before: string;
  not_after: string;
  cert: Buffer;
  key_ref: string;
  key_location: KeyLocation;
  imported_at: string;
}

interface WrappedRow {
  iv: Buffer;
  data: Buffer;
  tag: Buffer;
}

/** A fingerprint as stored (lower-case hex, no colons or spaces), or undefined. */
function normaliseFingerprint(fingerprint: string): string | undefined {
  const value = fingerprint.replace(/[:\s]/g, '').toLowerCase();
  return /^[0-9a-f]{64}$/.test(value) ? value : undefined;
}

/** The SAN names the certificate binds: rfc822Names (address-bound), dNSNames (domain-bound). */
export function boundAddresses(cert: ParsedCertificate): IdentityAddress[] {
  const out: IdentityAddress[] = [];
  const seen = new Set<string>();
  const add = (address: string, bound: IdentityAddress['bound']): void => {
    const value = address.trim().toLowerCase().replace(/\.$/, '');
    const key = `${bound} ${value}`;
    if (value === '' || seen.has(key)) return;
    seen.add(key);
    out.push({ address: value, bound });
  };
  for (const name of cert.rfc822Names) add(name, 'address');
  for (const name of cert.dnsNames) add(name, 'domain');
  return out;
}

function subjectOf(cert: ParsedCertificate): string {
  return cert.subject.replace(/\n/g, ', ');
}

export class IdentityStore {
  readonly #profile: Profile;
  readonly #now: () => Date;
  readonly #injectedKeychain: Keychain | undefined;
  #keychain: Keychain | undefined;

  constructor(profile: Profile, options: IdentityStoreOptions = {}) {
    this.#profile = profile;
    this.#now = options.now ?? (() => new Date());
    this.#injectedKeychain = options.keychain;
  }

  /** Where this profile keeps private keys. */
  get keyLocation(): KeyLocation {
    return this.#profile.info.keySource === 'keychain' ? 'keychain' : 'database';
  }

  /** The keychain account (and, in the database, the row name) of an identity's key. */
  keyRef(fingerprint: string): string {
    return `profile:${this.#profile.id}:key:${fingerprint}`;
  }

  /**
   * Keep `cert` and its private key. The same certificate again returns the identity already
   * kept (and puts its key back in the keychain if the entry had gone).
   * @throws HispError KEY_MALFORMED (not a private key), KEY_CERT_MISMATCH, CERT_EXPIRED,
   * WEAK_KEY, LIMIT_EXCEEDED (chain), KEYCHAIN_*, PROFILE_LOCKED.
   */
  async import(input: IdentityImport): Promise<IdentityRecord> {
    this.#assertOpen();
    const { key, cert } = input;
    if (key.type !== 'private') {
      throw new HispError('KEY_MALFORMED', 'The key given is not a private key.');
    }
    if (!keyMatchesCertificate(key, cert.x509)) {
      throw new HispError(
        'KEY_CERT_MISMATCH',
        `The private key does not belong to the certificate "${subjectOf(cert)}".`,
      );
    }
    const now = this.#now();
    const problems = [
      ...validityReasons(cert, now, 'The certificate').filter((r) => r.code === 'CERT_EXPIRED'),
      ...[weakKeyReason(cert, 'The certificate')].filter((r) => r !== undefined),
    ];
    const [first] = problems;
    if (first !== undefined) {
      throw new HispError(
        first.code,
        `${problems.map((p) => p.message).join(' ')} It was not imported.`,
      );
    }
    const chain = this.#chainOf(cert, input.chain ?? []);
    const pkcs8 = key.export({ format: 'der', type: 'pkcs8' });
    try {
      return await this.#store(cert, chain, pkcs8, now, false);
    } finally {
      pkcs8.fill(0);
    }
  }

  /** Every identity, oldest import first. */
  list(): IdentityRecord[] {
    this.#assertOpen();
    const rows = this.#profile.db.read(
      (db) => db.prepare('SELECT * FROM identities ORDER BY id').all() as IdentityRow[],
    );
    return rows.map((row) => this.#record(row));
  }

  /**
   * The identities that may sign or decrypt for `address` now: address-bound ones (SAN
   * rfc822Name equal to the address, compared without case) first, then domain-bound ones
   * (SAN dNSName equal to its domain); within each, the one valid longest first.
   */
  forAddress(address: string): IdentityRecord[] {
    const wanted = address.trim().toLowerCase();
    const at = wanted.lastIndexOf('@');
    const domain = at > 0 ? wanted.slice(at + 1).replace(/\.$/, '') : undefined;
    const now = this.#now().getTime();
    const valid = this.list().filter(
      (r) => r.notBefore.getTime() <= now && now <= r.notAfter.getTime(),
    );
    const byLongest = (a: IdentityRecord, b: IdentityRecord): number =>
      b.notAfter.getTime() - a.notAfter.getTime();
    const addressBound = valid.filter((r) =>
      r.addresses.some((a) => a.bound === 'address' && a.address === wanted),
    );
    const domainBound =
      domain === undefined
        ? []
        : valid.filter(
            (r) =>
              !addressBound.includes(r) &&
              r.addresses.some((a) => a.bound === 'domain' && a.address === domain),
          );
    return [...addressBound.sort(byLongest), ...domainBound.sort(byLongest)];
  }

  /**
   * The identity's private key, read from the keychain or unwrapped from the database.
   * @throws HispError IDENTITY_NOT_FOUND, KEYCHAIN_ENTRY_MISSING (the entry was deleted) and
   * the other KEYCHAIN_* codes, STORE_CORRUPT (a wrapped key that does not open),
   * KEY_CERT_MISMATCH (the stored key is not the certificate's: replaced outside Sealpost).
   */
  async privateKey(fingerprint: string): Promise<KeyObject> {
    const row = this.#row(fingerprint);
    const pkcs8 = await this.#loadKey(row);
    let key: KeyObject;
    try {
      key = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
    } catch (cause) {
      throw new HispError(
        'STORE_CORRUPT',
        `The stored private key of identity ${row.fingerprint} cannot be read; it was changed outside Sealpost. Import the identity again.`,
        { cause },
      );
    } finally {
      pkcs8.fill(0);
    }
    const cert = parseCertificate(row.cert);
    if (!keyMatchesCertificate(key, cert.x509)) {
      throw new HispError(
        'KEY_CERT_MISMATCH',
        `The private key stored for identity ${row.fingerprint} ("${subjectOf(cert)}") is not that certificate's key: it was replaced outside Sealpost. Import the identity again.`,
      );
    }
    return key;
  }

  /**
   * Forget an identity: its key out of the keychain (or the database), then its row. A keychain
   * entry already gone is not an error; a keychain that cannot be reached is, and the
   * identity is then kept, so no key is left behind without a record of it.
   * @throws HispError IDENTITY_NOT_FOUND, KEYCHAIN_*.
   */
  async remove(fingerprint: string): Promise<void> {
    const row = this.#row(fingerprint);
    if (row.key_location === 'keychain') await this.#keychainFor().delete(row.key_ref);
    this.#profile.db.transaction((db) => {
      db.prepare('DELETE FROM private_keys WHERE ref = ?').run(row.key_ref);
      db.prepare('DELETE FROM identities WHERE id = ?').run(row.id);
    });
  }

  /** Every identity's private key as PKCS#8 DER, for the encrypted profile export. */
  async exportSecrets(): Promise<IdentitySecret[]> {
    this.#assertOpen();
    const rows = this.#profile.db.read(
      (db) => db.prepare('SELECT * FROM identities ORDER BY id').all() as IdentityRow[],
    );
    const out: IdentitySecret[] = [];
    try {
      for (const row of rows) {
        out.push({ fingerprint: row.fingerprint, pkcs8: await this.#loadKey(row) });
      }
    } catch (error) {
      for (const secret of out) secret.pkcs8.fill(0);
      throw error;
    }
    return out;
  }

  /**
   * Restore private keys into this profile's custody (restore of an export): for each, the
   * identity row (restored with the database, or made from `certDer` when absent) gets the
   * key in this profile's keychain or database and this profile's reference. No validity or
   * key-strength check: an expired identity's key still decrypts old mail.
   * @throws HispError IDENTITY_NOT_FOUND (no row and no certDer), KEY_MALFORMED,
   * KEY_CERT_MISMATCH, KEYCHAIN_*.
   */
  async importSecrets(secrets: readonly IdentitySecretImport[]): Promise<number> {
    this.#assertOpen();
    const now = this.#now();
    let count = 0;
    for (const secret of secrets) {
      const fingerprint = normaliseFingerprint(secret.fingerprint);
      if (fingerprint === undefined) {
        throw new HispError(
          'IDENTITY_NOT_FOUND',
          'A restored private key names no valid SHA-256 fingerprint.',
        );
      }
      const existing = this.#findRow(fingerprint);
      let cert: ParsedCertificate;
      let chain: ParsedCertificate[] = [];
      if (existing !== undefined) {
        cert = parseCertificate(existing.cert);
      } else if (secret.certDer !== undefined) {
        cert = parseCertificate(secret.certDer);
        chain = this.#chainOf(
          cert,
          (secret.chainDer ?? []).map((d) => parseCertificate(d)),
        );
      } else {
        throw new HispError(
          'IDENTITY_NOT_FOUND',
          `The restored private key of identity ${fingerprint} has no certificate in this profile.`,
        );
      }
      if (cert.fingerprintSha256 !== fingerprint) {
        throw new HispError(
          'KEY_CERT_MISMATCH',
          `The certificate given for identity ${fingerprint} has another fingerprint.`,
        );
      }
      let key: KeyObject;
      try {
        key = createPrivateKey({ key: secret.pkcs8, format: 'der', type: 'pkcs8' });
      } catch (cause) {
        throw new HispError(
          'KEY_MALFORMED',
          `The restored private key of identity ${fingerprint} is not a PKCS#8 private key.`,
          { cause },
        );
      }
      if (!keyMatchesCertificate(key, cert.x509)) {
        throw new HispError(
          'KEY_CERT_MISMATCH',
          `The restored private key does not belong to identity ${fingerprint} ("${subjectOf(cert)}").`,
        );
      }
      await this.#store(cert, chain, secret.pkcs8, now, true);
      count += 1;
    }
    return count;
  }

  // ── internals ────────────────────────────────────────────────────────────────────────────

  #assertOpen(): void {
    if (!this.#profile.db.isOpen) {
      throw new HispError(
        'PROFILE_LOCKED',
        'The profile is locked (closed). Unlock it to continue.',
      );
    }
  }

  #keychainFor(): Keychain {
    this.#keychain ??= this.#injectedKeychain ?? openKeychain();
    return this.#keychain;
  }

  #chainOf(cert: ParsedCertificate, chain: readonly ParsedCertificate[]): ParsedCertificate[] {
    const seen = new Set([cert.fingerprintSha256]);
    const out: ParsedCertificate[] = [];
    for (const c of chain) {
      if (seen.has(c.fingerprintSha256)) continue;
      seen.add(c.fingerprintSha256);
      out.push(c);
    }
    if (out.length > MAX_CHAIN_CERTIFICATES) {
      throw new HispError(
        'LIMIT_EXCEEDED',
        `An identity may carry at most ${MAX_CHAIN_CERTIFICATES} chain certificates; ${out.length} were given.`,
      );
    }
    return out;
  }

  /**
   * Put the key in custody and the identity row in place. A row already there is kept (the
   * import is idempotent) and its key put back if missing; a row made for another profile
   * (restored), or any row with `rebindAlways`, is moved to this profile's reference and
   * location, and its key (re)written.
   */
  async #store(
    cert: ParsedCertificate,
    chain: readonly ParsedCertificate[],
    pkcs8: Buffer,
    now: Date,
    rebindAlways: boolean,
  ): Promise<IdentityRecord> {
    const fingerprint = cert.fingerprintSha256;
    const ref = this.keyRef(fingerprint);
    const location = this.keyLocation;
    const existing = this.#findRow(fingerprint);
    const rebind =
      rebindAlways ||
      (existing !== undefined && (existing.key_ref !== ref || existing.key_location !== location));

    let wroteKeychain = false;
    if (location === 'keychain') {
      const keychain = this.#keychainFor();
      const stored = await keychain.get(ref);
      const same = stored !== undefined && stored.equals(pkcs8);
      stored?.fill(0);
      if (!same) {
        await keychain.set(ref, pkcs8);
        const back = await keychain.get(ref);
        const kept = back !== undefined && back.equals(pkcs8);
        back?.fill(0);
        if (!kept) {
          throw new HispError(
            'KEYCHAIN_UNAVAILABLE',
            `The system keychain did not keep the private key of identity ${fingerprint} (entry "${ref}" of service "${keychain.service}"); it was not imported.`,
          );
        }
        wroteKeychain = existing === undefined;
      }
    }

    try {
      this.#profile.db.transaction((db) => {
        if (existing === undefined) {
          insertIdentity(db, cert, chain, ref, location, now);
        } else if (rebind) {
          db.prepare('UPDATE identities SET key_ref = ?, key_location = ? WHERE id = ?').run(
            ref,
            location,
            existing.id,
          );
          if (existing.key_ref !== ref) {
            db.prepare('DELETE FROM private_keys WHERE ref = ?').run(existing.key_ref);
          }
        }
        if (location === 'database') {
          const has = db.prepare('SELECT 1 FROM private_keys WHERE ref = ?').get(ref);
          if (has === undefined || rebind) {
            const wrapped = this.#wrap(ref, pkcs8);
            db.prepare(
              'INSERT INTO private_keys (ref, iv, data, tag) VALUES (?, ?, ?, ?) ' +
                'ON CONFLICT (ref) DO UPDATE SET iv = excluded.iv, data = excluded.data, tag = excluded.tag',
            ).run(ref, wrapped.iv, wrapped.data, wrapped.tag);
          }
        } else {
          db.prepare('DELETE FROM private_keys WHERE ref = ?').run(ref);
        }
      });
    } catch (error) {
      // No key left in the keychain without its identity row.
      if (wroteKeychain)
        await this.#keychainFor()
          .delete(ref)
          .catch(() => false);
      throw error;
    }
    return this.#record(this.#row(fingerprint));
  }

  #wrap(ref: string, pkcs8: Buffer): WrappedRow {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#profile.subkey('key-wrap'), iv, {
      authTagLength: TAG_BYTES,
    });
    cipher.setAAD(Buffer.from(ref, 'utf8'));
    const data = Buffer.concat([cipher.update(pkcs8), cipher.final()]);
    return { iv, data, tag: cipher.getAuthTag() };
  }

  #unwrap(ref: string, wrapped: WrappedRow): Buffer {
    try {
      const decipher = createDecipheriv(
        'aes-256-gcm',
        this.#profile.subkey('key-wrap'),
        wrapped.iv,
        {
          authTagLength: TAG_BYTES,
        },
      );
      decipher.setAAD(Buffer.from(ref, 'utf8'));
      decipher.setAuthTag(wrapped.tag);
      return Buffer.concat([decipher.update(wrapped.data), decipher.final()]);
    } catch (cause) {
      if (cause instanceof HispError) throw cause;
      throw new HispError(
        'STORE_CORRUPT',
        `The private key "${ref}" in the profile database does not open with this profile's key: it was changed or copied from another profile. Import the identity again.`,
        { cause },
      );
    }
  }

  async #loadKey(row: IdentityRow): Promise<Buffer> {
    if (row.key_location === 'keychain') {
      const keychain = this.#keychainFor();
      const secret = await keychain.get(row.key_ref);
      if (secret === undefined) {
        throw new HispError(
          'KEYCHAIN_ENTRY_MISSING',
          `The system keychain has no private key for identity ${row.fingerprint} (entry "${row.key_ref}" of service "${keychain.service}"). It was deleted, or the profile was made by another user or on another machine. Import the identity again, or restore the profile from an export.`,
        );
      }
      return secret;
    }
    const wrapped = this.#profile.db.read(
      (db) =>
        db.prepare('SELECT iv, data, tag FROM private_keys WHERE ref = ?').get(row.key_ref) as
          WrappedRow | undefined,
    );
    if (wrapped === undefined) {
      throw new HispError(
        'STORE_CORRUPT',
        `The profile database has no private key for identity ${row.fingerprint}. Import the identity again, or restore the profile from an export.`,
      );
    }
    return this.#unwrap(row.key_ref, wrapped);
  }

  #findRow(fingerprint: string): IdentityRow | undefined {
    this.#assertOpen();
    return this.#profile.db.read(
      (db) =>
        db.prepare('SELECT * FROM identities WHERE fingerprint = ?').get(fingerprint) as
          IdentityRow | undefined,
    );
  }

  #row(fingerprint: string): IdentityRow {
    const normalised = normaliseFingerprint(fingerprint);
    const row = normalised === undefined ? undefined : this.#findRow(normalised);
    if (row === undefined) {
      throw new HispError(
        'IDENTITY_NOT_FOUND',
        `This profile has no identity with the SHA-256 fingerprint ${JSON.stringify(fingerprint)}. Import one with \`sealpost profile import-key\`.`,
      );
    }
    return row;
  }

  #record(row: IdentityRow): IdentityRecord {
    const chain = this.#profile.db.read(
      (db) =>
        db
          .prepare('SELECT der FROM identity_chain WHERE identity_id = ? ORDER BY position')
          .all(row.id) as { der: Buffer }[],
    );
    return {
      fingerprintSha256: row.fingerprint,
      subject: row.subject,
      addresses: JSON.parse(row.addresses) as IdentityAddress[],
      notBefore: new Date(row.not_before),
      notAfter: new Date(row.not_after),
      cert: parseCertificate(row.cert),
      chain: chain.map((c) => parseCertificate(c.der)),
      keyLocation: row.key_location,
      importedAt: row.imported_at,
    };
  }
}

function insertIdentity(
  db: Sqlite,
  cert: ParsedCertificate,
  chain: readonly ParsedCertificate[],
  ref: string,
  location: KeyLocation,
  now: Date,
): void {
  const result = db
    .prepare(
      `INSERT INTO identities
         (fingerprint, subject, addresses, not_before, not_after, cert, key_ref, key_location, imported_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      cert.fingerprintSha256,
      subjectOf(cert),
      JSON.stringify(boundAddresses(cert)),
      cert.notBefore.toISOString(),
      cert.notAfter.toISOString(),
      cert.der,
      ref,
      location,
      now.toISOString(),
    );
  const id = Number(result.lastInsertRowid);
  const insert = db.prepare(
    'INSERT INTO identity_chain (identity_id, position, der) VALUES (?, ?, ?)',
  );
  chain.forEach((c, position) => insert.run(id, position, c.der));
}
