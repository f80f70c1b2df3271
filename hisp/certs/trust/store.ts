/**
 * The trust store (DESIGN.md §4 "Trust"): anchors per local domain, separately for inbound
 * (whose signatures we accept on mail arriving at that domain) and outbound (whose
 * certificates we encrypt to when sending from it). An anchor is added by hand or comes from
 * a trust bundle; every anchor says which. Kept in the profile's encrypted database.
 *
 * Domain '*' means every local domain. Bundle anchors are changed only by refreshing or
 * removing their bundle, so a refresh can never drop an anchor someone added by hand.
 */
import { HispError, type Reason } from '../../api/errors.js';
import { AuditLog } from '../../store/audit.js';
import type { EncryptedDatabase, Sqlite } from '../../store/database.js';
import type { Profile } from '../../store/profile.js';
import { parseCertificate, type ParsedCertificate } from '../certificate.js';

export type TrustDirection = 'inbound' | 'outbound';
export type TrustDirections = TrustDirection | 'both';
export const ALL_DOMAINS = '*';

export interface AnchorRecord {
  readonly id: number;
  readonly fingerprintSha256: string;
  readonly subject: string;
  readonly notAfter: string;
  readonly domain: string;
  readonly direction: TrustDirection;
  /** Where it came from: added by hand, or the bundle's name. */
  readonly origin: { readonly kind: 'manual' } | { readonly kind: 'bundle'; readonly name: string };
  readonly addedAt: string;
}

export interface BundleRecord {
  readonly id: number;
  readonly name: string;
  readonly source: string;
  readonly domain: string;
  readonly direction: TrustDirections;
  readonly refreshSeconds: number;
  readonly requireSigned: boolean;
  readonly signers: readonly ParsedCertificate[];
  readonly digestSha256: string | undefined;
  readonly signed: boolean | undefined;
  readonly signer: string | undefined;
  readonly anchorCount: number;
  readonly addedAt: string;
  readonly checkedAt: string | undefined;
  readonly changedAt: string | undefined;
  readonly lastError: string | undefined;
}

export interface NewBundle {
  readonly name: string;
  readonly source: string;
  readonly domain: string;
  readonly direction: TrustDirections;
  readonly refreshSeconds: number;
  readonly requireSigned: boolean;
  readonly signers: readonly ParsedCertificate[];
}

/** What a bundle's content gave, ready to be stored (see bundle.ts). */
export interface BundleContent {
  readonly digestSha256: string;
  readonly signed: boolean;
  readonly signer?: { readonly subject: string } | undefined;
  readonly anchors: readonly ParsedCertificate[];
}

export interface BundleChange {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  /** The bytes were the same as last time: nothing was re-imported. */
  readonly unchanged: boolean;
}

function directionsOf(direction: TrustDirections): TrustDirection[] {
  return direction === 'both' ? ['inbound', 'outbound'] : [direction];
}

const DOMAIN = /^(?:\*|(?=.{1,253}$)(?:(?!-)[a-z0-9-]{1,63}(?<!-)\.)*(?!-)[a-z0-9-]{1,63}(?<!-))$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** A local domain as stored: lower case, no trailing dot; '*' for every domain. */
export function normaliseDomain(domain: string): string {
  const value = domain.trim().toLowerCase().replace(/\.$/, '');
  if (!DOMAIN.test(value)) {
    throw new HispError('BAD_REQUEST', `${JSON.stringify(domain)} is not a domain name.`);
  }
  return value;
}

interface AnchorRow {
  id: number;
  fingerprint: string;
  subject: string;
  not_after: string;
  domain: string;
  direction: TrustDirection;
  bundle_name: string | null;
  added_at: string;
}

interface BundleRow {
  id: number;
  name: string;
  source: string;
  domain: string;
  direction: TrustDirections;
  refresh_seconds: number;
  require_signed: number;
  digest: string | null;
  signed: number | null;
  signer: string | null;
  added_at: string;
  checked_at: string | null;
  changed_at: string | null;
  last_error: string | null;
  anchor_count: number;
}

/** Where trust changes are recorded, in the same transaction (hisp/store/audit.ts AuditLog). */
export interface TrustAudit {
  appendIn(
    db: Sqlite,
    event: { readonly action: 'trust-change'; readonly detail: Record<string, unknown> },
  ): unknown;
}

export class TrustStore {
  readonly #db: EncryptedDatabase;
  readonly #now: () => Date;
  readonly #audit: TrustAudit | undefined;

  constructor(
    db: EncryptedDatabase,
    options: { readonly now?: () => Date; readonly audit?: TrustAudit } = {},
  ) {
    this.#db = db;
    this.#now = options.now ?? (() => new Date());
    this.#audit = options.audit;
  }

  /** The trust store of an open profile, with every change written to its audit log. */
  static forProfile(profile: Profile): TrustStore {
    return new TrustStore(profile.db, { audit: new AuditLog(profile) });
  }

  #record(db: Sqlite, detail: Record<string, unknown>): void {
    this.#audit?.appendIn(db, { action: 'trust-change', detail });
  }

  /** Add anchors by hand. Returns the fingerprints newly added and those already there. */
  addAnchors(
    certs: readonly ParsedCertificate[],
    options: { readonly domain: string; readonly direction: TrustDirections },
  ): { added: string[]; already: string[] } {
    const domain = normaliseDomain(options.domain);
    const now = this.#now().toISOString();
    return this.#db.transaction((db) => {
      const added: string[] = [];
      const already: string[] = [];
      for (const cert of certs) {
        let any = false;
        for (const direction of directionsOf(options.direction)) {
          if (insertAnchor(db, cert, domain, direction, null, now)) any = true;
        }
        (any ? added : already).push(cert.fingerprintSha256);
      }
      if (added.length > 0) {
        this.#record(db, {
          change: 'anchors-added',
          domain,
          direction: options.direction,
          anchors: added,
        });
      }
      return { added, already };
    });
  }

  /**
   * Remove anchors added by hand, named by fingerprint (a unique prefix of at least 8 hex
   * digits will do). Bundle anchors are refused with a message naming the bundle.
   */
  removeAnchor(
    fingerprint: string,
    options: { readonly domain?: string; readonly direction?: TrustDirections } = {},
  ): AnchorRecord[] {
    const prefix = fingerprint.toLowerCase().replace(/:/g, '');
    if (!/^[0-9a-f]{8,64}$/.test(prefix)) {
      throw new HispError(
        'BAD_REQUEST',
        'Name an anchor by its SHA-256 fingerprint (at least 8 hex digits).',
      );
    }
    const domain = options.domain === undefined ? undefined : normaliseDomain(options.domain);
    const directions = directionsOf(options.direction ?? 'both');
    return this.#db.transaction((db) => {
      const matches = this.#select(db).filter(
        (anchor) =>
          anchor.fingerprintSha256.startsWith(prefix) &&
          (domain === undefined || anchor.domain === domain) &&
          directions.includes(anchor.direction),
      );
      const fingerprints = new Set(matches.map((anchor) => anchor.fingerprintSha256));
      if (fingerprints.size > 1) {
        throw new HispError(
          'BAD_REQUEST',
          `${prefix} matches ${fingerprints.size} different anchors; give more of the fingerprint.`,
        );
      }
      const manual = matches.filter((anchor) => anchor.origin.kind === 'manual');
      if (manual.length === 0) {
        const bundles = [
          ...new Set(
            matches.flatMap((anchor) =>
              anchor.origin.kind === 'bundle' ? [anchor.origin.name] : [],
            ),
          ),
        ];
        throw new HispError(
          'ANCHOR_NOT_FOUND',
          bundles.length > 0
            ? `That anchor comes from the trust bundle ${bundles.join(', ')}; remove the bundle, or ask its publisher, to drop it.`
            : `No anchor added by hand matches ${prefix}${domain === undefined ? '' : ` for ${domain}`}.`,
        );
      }
      const remove = db.prepare('DELETE FROM trust_anchors WHERE id = ?');
      for (const anchor of manual) remove.run(anchor.id);
      this.#record(db, {
        change: 'anchor-removed',
        anchor: manual[0]?.fingerprintSha256,
        from: manual.map((anchor) => `${anchor.domain} ${anchor.direction}`),
      });
      return manual;
    });
  }

  listAnchors(
    filter: { readonly domain?: string; readonly direction?: TrustDirection } = {},
  ): AnchorRecord[] {
    const domain = filter.domain === undefined ? undefined : normaliseDomain(filter.domain);
    return this.#db
      .read((db) => this.#select(db))
      .filter(
        (anchor) =>
          (domain === undefined || anchor.domain === domain || anchor.domain === ALL_DOMAINS) &&
          (filter.direction === undefined || anchor.direction === filter.direction),
      );
  }

  /**
   * The anchors that apply to a local domain in one direction: its own and the '*' ones, by
   * hand and from bundles, each certificate once. Expired anchors are left to path
   * validation, which reports them.
   */
  anchorsFor(domain: string, direction: TrustDirection): ParsedCertificate[] {
    const local = normaliseDomain(domain);
    const rows = this.#db.read(
      (db) =>
        db
          .prepare(
            `SELECT fingerprint, der FROM trust_anchors
             WHERE direction = ? AND (domain = ? OR domain = '*') ORDER BY id`,
          )
          .all(direction, local) as { fingerprint: string; der: Uint8Array }[],
    );
    const seen = new Set<string>();
    const certs: ParsedCertificate[] = [];
    for (const row of rows) {
      if (seen.has(row.fingerprint)) continue;
      seen.add(row.fingerprint);
      certs.push(parseCertificate(Buffer.from(row.der)));
    }
    return certs;
  }

  addBundle(bundle: NewBundle): BundleRecord {
    if (!NAME.test(bundle.name)) {
      throw new HispError(
        'BAD_REQUEST',
        `A bundle name is 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit; not ${JSON.stringify(bundle.name)}.`,
      );
    }
    if (!Number.isSafeInteger(bundle.refreshSeconds) || bundle.refreshSeconds < 0) {
      throw new HispError('BAD_REQUEST', 'The refresh interval must be a whole number of seconds.');
    }
    const domain = normaliseDomain(bundle.domain);
    const now = this.#now().toISOString();
    return this.#db.transaction((db) => {
      const exists = db.prepare('SELECT 1 FROM trust_bundles WHERE name = ?').get(bundle.name);
      if (exists !== undefined) {
        throw new HispError('BAD_REQUEST', `A trust bundle named ${bundle.name} exists already.`);
      }
      const { lastInsertRowid } = db
        .prepare(
          `INSERT INTO trust_bundles (name, source, domain, direction, refresh_seconds, require_signed, added_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          bundle.name,
          bundle.source,
          domain,
          bundle.direction,
          bundle.refreshSeconds,
          bundle.requireSigned ? 1 : 0,
          now,
        );
      const addSigner = db.prepare(
        'INSERT OR IGNORE INTO trust_bundle_signers (bundle_id, fingerprint, der) VALUES (?, ?, ?)',
      );
      for (const signer of bundle.signers) {
        addSigner.run(lastInsertRowid, signer.fingerprintSha256, signer.der);
      }
      this.#record(db, {
        change: 'bundle-added',
        bundle: bundle.name,
        source: bundle.source,
        domain,
        direction: bundle.direction,
      });
      return this.#bundle(db, bundle.name);
    });
  }

  /** Remove a bundle and every anchor that came from it. */
  removeBundle(name: string): BundleRecord {
    return this.#db.transaction((db) => {
      const bundle = this.#bundle(db, name);
      db.prepare('DELETE FROM trust_bundles WHERE id = ?').run(bundle.id);
      this.#record(db, { change: 'bundle-removed', bundle: name, anchors: bundle.anchorCount });
      return bundle;
    });
  }

  getBundle(name: string): BundleRecord {
    return this.#db.read((db) => this.#bundle(db, name));
  }

  listBundles(): BundleRecord[] {
    return this.#db.read((db) =>
      (db.prepare('SELECT name FROM trust_bundles ORDER BY name').all() as { name: string }[]).map(
        (row) => this.#bundle(db, row.name),
      ),
    );
  }

  /**
   * Replace a bundle's anchors with what its content now holds, in one transaction. The same
   * bytes as last time change nothing (only the check time).
   */
  applyBundle(name: string, content: BundleContent): BundleChange {
    const now = this.#now().toISOString();
    return this.#db.transaction((db) => {
      const bundle = this.#bundle(db, name);
      if (bundle.digestSha256 === content.digestSha256) {
        db.prepare('UPDATE trust_bundles SET checked_at = ?, last_error = NULL WHERE id = ?').run(
          now,
          bundle.id,
        );
        return { added: [], removed: [], unchanged: true };
      }
      const before = new Set(
        (
          db
            .prepare(
              'SELECT fingerprint FROM trust_anchors WHERE bundle_id = ? GROUP BY fingerprint ORDER BY min(id)',
            )
            .all(bundle.id) as { fingerprint: string }[]
        ).map((row) => row.fingerprint),
      );
      const after = new Set(content.anchors.map((cert) => cert.fingerprintSha256));
      db.prepare('DELETE FROM trust_anchors WHERE bundle_id = ?').run(bundle.id);
      for (const cert of content.anchors) {
        for (const direction of directionsOf(bundle.direction)) {
          insertAnchor(db, cert, bundle.domain, direction, bundle.id, now);
        }
      }
      const added = [...after].filter((fingerprint) => !before.has(fingerprint));
      const removed = [...before].filter((fingerprint) => !after.has(fingerprint));
      if (added.length > 0 || removed.length > 0) {
        this.#record(db, { change: 'bundle-refreshed', bundle: name, added, removed });
      }
      db.prepare(
        `UPDATE trust_bundles SET digest = ?, signed = ?, signer = ?, checked_at = ?,
           changed_at = CASE WHEN ? THEN ? ELSE changed_at END, last_error = NULL
         WHERE id = ?`,
      ).run(
        content.digestSha256,
        content.signed ? 1 : 0,
        content.signer?.subject ?? null,
        now,
        added.length > 0 || removed.length > 0 ? 1 : 0,
        now,
        bundle.id,
      );
      return { added, removed, unchanged: false };
    });
  }

  /** A refresh found the same bytes as last time. */
  recordBundleChecked(name: string): void {
    const now = this.#now().toISOString();
    this.#db.transaction((db) => {
      const bundle = this.#bundle(db, name);
      db.prepare('UPDATE trust_bundles SET checked_at = ?, last_error = NULL WHERE id = ?').run(
        now,
        bundle.id,
      );
    });
  }

  /** A refresh failed: keep the anchors we have, remember when and why. */
  recordBundleFailure(name: string, reason: Reason): void {
    const now = this.#now().toISOString();
    this.#db.transaction((db) => {
      const bundle = this.#bundle(db, name);
      db.prepare('UPDATE trust_bundles SET checked_at = ?, last_error = ? WHERE id = ?').run(
        now,
        `${reason.code}: ${reason.message}`,
        bundle.id,
      );
    });
  }

  #select(db: Sqlite): AnchorRecord[] {
    const rows = db
      .prepare(
        `SELECT a.id, a.fingerprint, a.subject, a.not_after, a.domain, a.direction, a.added_at,
                b.name AS bundle_name
         FROM trust_anchors a LEFT JOIN trust_bundles b ON b.id = a.bundle_id
         ORDER BY a.domain, a.direction, a.id`,
      )
      .all() as AnchorRow[];
    return rows.map((row) => ({
      id: row.id,
      fingerprintSha256: row.fingerprint,
      subject: row.subject,
      notAfter: row.not_after,
      domain: row.domain,
      direction: row.direction,
      origin:
        row.bundle_name === null
          ? { kind: 'manual' as const }
          : { kind: 'bundle' as const, name: row.bundle_name },
      addedAt: row.added_at,
    }));
  }

  #bundle(db: Sqlite, name: string): BundleRecord {
    const row = db
      .prepare(
        `SELECT b.*, (SELECT count(DISTINCT fingerprint) FROM trust_anchors a WHERE a.bundle_id = b.id)
           AS anchor_count
         FROM trust_bundles b WHERE name = ?`,
      )
      .get(name) as BundleRow | undefined;
    if (row === undefined) {
      throw new HispError('ANCHOR_NOT_FOUND', `There is no trust bundle named ${name}.`);
    }
    const signers = (
      db
        .prepare('SELECT der FROM trust_bundle_signers WHERE bundle_id = ? ORDER BY fingerprint')
        .all(row.id) as { der: Uint8Array }[]
    ).map((signer) => parseCertificate(Buffer.from(signer.der)));
    return {
      id: row.id,
      name: row.name,
      source: row.source,
      domain: row.domain,
      direction: row.direction,
      refreshSeconds: row.refresh_seconds,
      requireSigned: row.require_signed === 1,
      signers,
      digestSha256: row.digest ?? undefined,
      signed: row.signed === null ? undefined : row.signed === 1,
      signer: row.signer ?? undefined,
      anchorCount: row.anchor_count,
      addedAt: row.added_at,
      checkedAt: row.checked_at ?? undefined,
      changedAt: row.changed_at ?? undefined,
      lastError: row.last_error ?? undefined,
    };
  }
}

function insertAnchor(
  db: Sqlite,
  cert: ParsedCertificate,
  domain: string,
  direction: TrustDirection,
  bundleId: number | null,
  now: string,
): boolean {
  const { changes } = db
    .prepare(
      `INSERT OR IGNORE INTO trust_anchors
         (fingerprint, der, subject, not_after, domain, direction, bundle_id, added_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      cert.fingerprintSha256,
      cert.der,
      cert.subject,
      cert.notAfter.toISOString(),
      domain,
      direction,
      bundleId,
      now,
    );
  return changes > 0;
}
