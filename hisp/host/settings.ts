/**
 * The settings calls of the contract (issue 7, Settings): trust anchors by hand, trust
 * bundles, importing a Direct identity from PKCS#12, and the audit log with its chain check
 * and export. The same library functions as the command line run them (hisp/certs/trust/
 * anchors.ts and refresh.ts, hisp/keys/importIdentity.ts, hisp/store/audit.ts), so a change
 * made from the mail window is checked, stored and audited exactly as `sealpost anchors`,
 * `bundles`, `profile import-key` and `profile audit` do it.
 *
 * Everything runs on the open profile and its trust store, which `parts()` gives
 * (PROFILE_LOCKED while locked). Text that came from outside (certificate subjects, bundle
 * errors, audit fields) is clamped to the contract's bounds, so one odd certificate cannot
 * make a whole list fail the contract check.
 */
import {
  HispError,
  type Anchor,
  type BundleRefresh,
  type CallResult,
  type Handlers,
  type TrustBundle,
} from '../api/index.js';
import { AUDIT_EXPORT_MAX_CHARS } from '../api/contract.js';
import { domainOf } from '../agent/mime/address.js';
import { readCertificates, type ParsedCertificate } from '../certs/certificate.js';
import type { Fetcher } from '../certs/fetch.js';
import { importAnchors } from '../certs/trust/anchors.js';
import { addBundleNow, refreshBundle, type RefreshOutcome } from '../certs/trust/refresh.js';
import {
  ALL_DOMAINS,
  type AnchorRecord,
  type BundleRecord,
  type TrustStore,
} from '../certs/trust/store.js';
import type { IdentityRecord } from '../keys/identities.js';
import { importIdentityFile } from '../keys/importIdentity.js';
import type { Logger } from '../log/logger.js';
import {
  auditChainState,
  AuditLog,
  exportAudit,
  type AuditEntry as StoredAuditEntry,
  type AuditFilter,
} from '../store/audit.js';
import type { Profile } from '../store/profile.js';
import type { MailService } from './mailService.js';

/** What the settings calls work on: the open profile and its trust store. */
export interface SettingsParts {
  readonly profile: Profile;
  readonly trust: TrustStore;
}

export interface SettingsOptions {
  readonly logger: Logger;
  /**
   * Fetches trust bundles (`addBundle`, `refreshBundle`): serve's fetcher, public addresses
   * only unless serve was told otherwise. Absent: offline, so URL bundles fail FETCH_FAILED.
   */
  readonly fetcher?: Fetcher | undefined;
  /**
   * Told after a new identity was kept, so the running mail service can take on new local
   * domains. A failure here is logged; the identity stays imported.
   */
  readonly identityImported?: ((record: IdentityRecord) => Promise<void>) | undefined;
  readonly now?: () => Date;
}

/** What a HISP runs the settings calls on (serve: its ProfileSession; the demo: its profiles). */
export interface SettingsHost {
  /** The open profile and its trust store; PROFILE_LOCKED while locked. */
  parts(): SettingsParts;
  readonly fetcher?: Fetcher | undefined;
  readonly identityImported?: ((record: IdentityRecord) => Promise<void>) | undefined;
}

export type SettingsMethod =
  | 'listAnchors'
  | 'importAnchors'
  | 'removeAnchor'
  | 'listBundles'
  | 'addBundle'
  | 'refreshBundle'
  | 'removeBundle'
  | 'importIdentity'
  | 'auditLog'
  | 'exportAudit';

/**
 * The `identityImported` hook of a HISP with a mail service. Sending needs nothing: the mail
 * agent looks identities up in the profile on every message. But the local domains (which
 * inbound SMTP accepts mail for) are fixed when the mail service starts, so an identity for a
 * new domain restarts it; and a mail service that could not start (inbound SMTP with no
 * identity yet) is started now.
 */
export function mailTakesOnIdentity(
  mail: MailService,
  open: () => SettingsParts | undefined,
): (record: IdentityRecord) => Promise<void> {
  return async (record) => {
    if (mail.running) {
      const known = new Set(mail.parts().localDomains);
      const domains = record.addresses.map((entry) =>
        entry.bound === 'domain' ? entry.address : domainOf(entry.address),
      );
      if (domains.every((domain) => known.has(domain))) return;
      await mail.stop();
    }
    const current = open();
    if (current !== undefined) await mail.start(current.profile, current.trust);
  };
}

/** Most anchors one `listAnchors` answer holds (its contract bound). */
const ANCHOR_LIST_MAX = 20_000;
/** Default page of `auditLog`. */
const AUDIT_PAGE_DEFAULT = 500;

const clamp = (value: string, max: number): string =>
  value.length <= max ? value : value.slice(0, max);

function anchorOf(record: AnchorRecord): Anchor {
  return {
    fingerprintSha256: record.fingerprintSha256,
    subject: clamp(record.subject, 2000),
    notAfter: record.notAfter,
    domain: record.domain,
    direction: record.direction,
    origin: record.origin.kind,
    ...(record.origin.kind === 'bundle' ? { bundle: record.origin.name } : {}),
    addedAt: record.addedAt,
  };
}

function certificateRef(cert: ParsedCertificate): {
  fingerprintSha256: string;
  subject: string;
  notAfter: string;
} {
  return {
    fingerprintSha256: cert.fingerprintSha256,
    subject: clamp(cert.subject, 2000),
    notAfter: cert.notAfter.toISOString(),
  };
}

function bundleOf(record: BundleRecord): TrustBundle {
  return {
    name: record.name,
    source: clamp(record.source, 2048),
    domain: record.domain,
    direction: record.direction,
    refreshHours: record.refreshSeconds / 3600,
    requireSigned: record.requireSigned,
    signers: record.signers.slice(0, 64).map((signer) => ({
      fingerprintSha256: signer.fingerprintSha256,
      subject: clamp(signer.subject, 2000),
    })),
    ...(record.signed === undefined ? {} : { signed: record.signed }),
    ...(record.signer === undefined ? {} : { signer: clamp(record.signer, 2000) }),
    anchorCount: record.anchorCount,
    addedAt: record.addedAt,
    ...(record.checkedAt === undefined ? {} : { checkedAt: record.checkedAt }),
    ...(record.changedAt === undefined ? {} : { changedAt: record.changedAt }),
    ...(record.lastError === undefined ? {} : { lastError: clamp(record.lastError, 2000) }),
  };
}

function refreshOf(outcome: RefreshOutcome): BundleRefresh {
  if (!outcome.ok) {
    return {
      ok: false,
      unchanged: false,
      added: [],
      removed: [],
      skipped: [],
      reason: { code: outcome.reason.code, message: clamp(outcome.reason.message, 2000) },
    };
  }
  return {
    ok: true,
    unchanged: outcome.change.unchanged,
    added: [...outcome.change.added],
    removed: [...outcome.change.removed],
    skipped: outcome.skipped.slice(0, 10_000).map((skipped) => ({
      ...(skipped.fingerprintSha256 === undefined
        ? {}
        : { fingerprintSha256: skipped.fingerprintSha256 }),
      ...(skipped.subject === undefined ? {} : { subject: clamp(skipped.subject, 2000) }),
      reason: { code: skipped.reason.code, message: clamp(skipped.reason.message, 2000) },
    })),
  };
}

/**
 * Certificates as the `importAnchors` call carries them: PEM text as it is, anything else
 * base64 of DER or .p7b bytes.
 */
export function certificateBytes(text: string): Buffer {
  if (text.includes('-----BEGIN ')) return Buffer.from(text, 'utf8');
  const compact = text.replace(/\s+/g, '');
  if (compact === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact) || compact.length % 4 === 1) {
    throw new HispError(
      'CERT_MALFORMED',
      'The certificates are neither PEM text (-----BEGIN CERTIFICATE-----) nor base64 of a DER certificate or .p7b bundle.',
    );
  }
  return Buffer.from(compact, 'base64');
}

function auditFilterOf(params: {
  readonly since?: string | undefined;
  readonly until?: string | undefined;
  readonly action?: AuditFilter['action'];
  readonly counterpart?: string | undefined;
}): AuditFilter {
  return {
    since: params.since === undefined ? undefined : new Date(params.since),
    until: params.until === undefined ? undefined : new Date(params.until),
    action: params.action,
    counterpart: params.counterpart,
  };
}

function auditEntryOf(entry: StoredAuditEntry): CallResult<'auditLog'>['entries'][number] {
  return {
    seq: entry.seq,
    at: clamp(entry.at, 64),
    user: clamp(entry.user, 1024),
    action: clamp(entry.action, 64),
    ...(entry.counterpart === null ? {} : { counterpart: clamp(entry.counterpart, 1024) }),
    ...(entry.messageId === null ? {} : { messageId: clamp(entry.messageId, 1024) }),
    ...(entry.detail === null ? {} : { detail: clamp(JSON.stringify(entry.detail), 4096) }),
  };
}

/** `sealpost-audit-20260131T080000Z.csv` */
function exportFilename(at: Date, format: 'csv' | 'json'): string {
  const stamp = at
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/[-:]/g, '');
  return `sealpost-audit-${stamp}.${format}`;
}

/** The settings calls, on the profile and trust store `parts()` gives. */
export function settingsHandlers(
  parts: () => SettingsParts,
  options: SettingsOptions,
): Pick<Handlers, SettingsMethod> {
  const now = options.now ?? (() => new Date());
  const logger = options.logger.child({ component: 'settings' });
  const refreshOptions = () => ({
    logger,
    at: now(),
    ...(options.fetcher === undefined ? {} : { fetcher: options.fetcher }),
  });

  return {
    listAnchors: (params) => {
      const anchors = parts().trust.listAnchors({
        ...(params.domain === undefined ? {} : { domain: params.domain }),
        ...(params.direction === undefined ? {} : { direction: params.direction }),
      });
      if (anchors.length > ANCHOR_LIST_MAX) {
        throw new HispError(
          'LIMIT_EXCEEDED',
          `The profile has ${anchors.length} trust anchors, more than one answer holds (${ANCHOR_LIST_MAX}): list them per domain and direction, or with \`sealpost anchors list\`.`,
        );
      }
      return Promise.resolve({ anchors: anchors.map(anchorOf) });
    },

    importAnchors: async (params) => {
      const { trust } = parts();
      const imported = await importAnchors(trust, certificateBytes(params.certificates), {
        ...(params.domain === undefined ? {} : { domain: params.domain }),
        ...(params.direction === undefined ? {} : { direction: params.direction }),
        at: now(),
      });
      return {
        added: imported.added.map(certificateRef),
        already: imported.already.map(certificateRef),
        refused: imported.refused.map(({ cert, reasons }) => ({
          ...certificateRef(cert),
          reasons: reasons.slice(0, 16).map((reason) => ({
            code: reason.code,
            message: clamp(reason.message, 2000),
          })),
        })),
      };
    },

    removeAnchor: (params) => {
      const removed = parts().trust.removeAnchor(params.fingerprintSha256, {
        ...(params.domain === undefined ? {} : { domain: params.domain }),
        ...(params.direction === undefined ? {} : { direction: params.direction }),
      });
      return Promise.resolve({ removed: removed.map(anchorOf) });
    },

    listBundles: () => Promise.resolve({ bundles: parts().trust.listBundles().map(bundleOf) }),

    addBundle: async (params) => {
      const { trust } = parts();
      let url: URL;
      try {
        url = new URL(params.url);
      } catch {
        throw new HispError('BAD_REQUEST', 'The trust bundle URL is not a valid URL.');
      }
      if (url.protocol !== 'https:') {
        throw new HispError(
          'BAD_REQUEST',
          'A trust bundle URL must be https://: bundles are not fetched over plain http.',
        );
      }
      const signers =
        params.signerPem === undefined
          ? []
          : readCertificates(Buffer.from(params.signerPem, 'utf8'));
      const outcome = await addBundleNow(
        trust,
        {
          name: params.name,
          source: url.href,
          domain: params.domain ?? ALL_DOMAINS,
          direction: params.direction ?? 'both',
          refreshSeconds: Math.round((params.refreshHours ?? 24) * 3600),
          requireSigned: params.requireSigned === true,
          signers,
        },
        refreshOptions(),
      );
      return { bundle: bundleOf(trust.getBundle(params.name)), refresh: refreshOf(outcome) };
    },

    refreshBundle: async (params) => {
      const { trust } = parts();
      trust.getBundle(params.name); // an unknown name fails before any fetch
      const outcome = await refreshBundle(trust, params.name, refreshOptions());
      return { bundle: bundleOf(trust.getBundle(params.name)), refresh: refreshOf(outcome) };
    },

    removeBundle: (params) =>
      Promise.resolve({ removed: bundleOf(parts().trust.removeBundle(params.name)) }),

    importIdentity: async (params) => {
      const { profile } = parts();
      // Zeroed after use (the string the call arrived in is beyond our reach).
      const password = Buffer.from(params.password, 'utf8');
      const bytes = Buffer.from(params.pkcs12Base64, 'base64');
      let imported: Awaited<ReturnType<typeof importIdentityFile>>;
      try {
        imported = await importIdentityFile(profile, bytes, {
          password: password.toString('utf8'),
        });
      } finally {
        password.fill(0);
        bytes.fill(0);
      }
      const { record, already } = imported;
      if (!already && options.identityImported !== undefined) {
        try {
          await options.identityImported(record);
        } catch (error) {
          logger.error('the mail service did not take on the new identity', {
            code: HispError.from(error).code,
          });
        }
      }
      return {
        identity: {
          fingerprintSha256: record.fingerprintSha256,
          subject: clamp(record.subject, 2000),
          notAfter: record.notAfter.toISOString(),
          addresses: record.addresses.slice(0, 1000).map((entry) => ({
            address: clamp(entry.address, 320),
            bound: entry.bound,
          })),
          keyLocation: record.keyLocation,
        },
        already,
      };
    },

    auditLog: (params) => {
      const log = new AuditLog(parts().profile);
      const entries = log.list({
        ...auditFilterOf(params),
        limit: params.limit ?? AUDIT_PAGE_DEFAULT,
      });
      const chain = auditChainState(log);
      return Promise.resolve({
        entries: entries.map(auditEntryOf),
        chain: chain.intact
          ? { intact: true, entries: chain.entries }
          : {
              intact: false,
              entries: chain.entries,
              problem: chain.problem,
              seq: chain.seq,
              message: clamp(chain.message, 2000),
            },
      });
    },

    exportAudit: (params) => {
      const { text, entries } = exportAudit(
        new AuditLog(parts().profile),
        auditFilterOf(params),
        params.format,
        'mail window',
        AUDIT_EXPORT_MAX_CHARS,
      );
      return Promise.resolve({
        filename: exportFilename(now(), params.format),
        data: text,
        entries,
      });
    },
  };
}
