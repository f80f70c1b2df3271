/**
 * Recipient certificate checks inside the running HISP: what the compose window asks before
 * send ("is there a certificate for this address, and do we trust it?") and what sending will
 * ask per recipient. It takes the sending domain's outbound anchors (from the trust store),
 * keeps discovery results in a cache per sending domain and anchor set (a change of anchors
 * is a new cache), and counts rejected certificates in one monitor for the whole HISP, which
 * raises the certificate alert (risks 10 and 11).
 */
import { domainOf } from '../../agent/mime/address.js';
import { createHash } from 'node:crypto';
import type { CertificateAlert, RecipientCheck } from '../../api/contract.js';
import { HispError, type ErrorCode, type Reason } from '../../api/errors.js';
import type { Logger } from '../../log/logger.js';
import { AiaCache } from '../aia.js';
import { CrlCache } from '../crl.js';
import { ExpiringMap } from '../expiring.js';
import type { Fetcher } from '../fetch.js';
import { OcspCache } from '../ocsp.js';
import type { ParsedCertificate } from '../certificate.js';
import { DiscoveryCache, type DiscoveryCacheOptions } from './cache.js';
import { discoverCertificates, type DiscoveryResult } from './discover.js';
import { CertificateEventMonitor, type MonitorOptions } from './monitor.js';

export interface RecipientServiceOptions {
  /** The outbound trust anchors of a local (sending) domain: from the trust store. */
  readonly anchors: (fromDomain: string) => readonly ParsedCertificate[];
  readonly dnsServers: readonly { readonly host: string; readonly port: number }[];
  readonly logger: Logger;
  /** For IPKIX, AIA and revocation; absent = offline. */
  readonly fetcher?: Fetcher;
  readonly revocation?: 'soft' | 'hard' | 'off';
  readonly dnsTimeoutMs?: number;
  readonly cache?: DiscoveryCacheOptions;
  /** Revocation caches (e.g. backed by the profile's database); new in-memory ones if absent. */
  readonly crlCache?: CrlCache;
  readonly ocspCache?: OcspCache;
  readonly monitor?: Omit<MonitorOptions, 'onAlert'>;
  /** Called once each time a recipient domain crosses the alert threshold. */
  readonly onAlert?: (alert: CertificateAlert) => void;
  readonly now?: () => Date;
}

/** Recipients looked up at the same time, per check. */
const CONCURRENCY = 4;
/** Sending domains with a cache of their own, at most (oldest dropped). */
const MAX_CACHES = 64;

const ADDRESS =
  /^[^@\s<>()[\]\\,;:"]{1,64}@(?=.{1,253}$)[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})+$/;

export function isDirectAddress(value: string): boolean {
  return ADDRESS.test(value);
}

function stateOf(result: DiscoveryResult): RecipientCheck['state'] {
  if (result.selected.length > 0) return 'found';
  if (result.rejected.length > 0) return 'untrusted';
  if (result.problems.length > 0) return 'failed';
  return 'not-found';
}

function reason(value: Reason): { code: ErrorCode; message: string } {
  return { code: value.code, message: value.message.slice(0, 2000) };
}

export class RecipientService {
  readonly #options: RecipientServiceOptions;
  readonly #now: () => Date;
  readonly #monitor: CertificateEventMonitor;
  readonly #caches = new Map<string, DiscoveryCache>();
  readonly #crlCache: CrlCache;
  readonly #ocspCache: OcspCache;
  readonly #aiaCache = new AiaCache();
  readonly #windowMs: number;
  /** The certificates last found usable, by fingerprint: what sending encrypts to. */
  readonly #found = new ExpiringMap<Buffer>(4096, () => this.#now().getTime());
  #checks = 0;
  #lastAlert: CertificateAlert | undefined;

  constructor(options: RecipientServiceOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => new Date());
    this.#crlCache = options.crlCache ?? new CrlCache();
    this.#ocspCache = options.ocspCache ?? new OcspCache();
    this.#windowMs = options.monitor?.windowMs ?? 60 * 60 * 1000;
    this.#monitor = new CertificateEventMonitor({
      ...options.monitor,
      now: this.#now,
      onAlert: (domain, events) => {
        const byCode = new Map<ErrorCode, number>();
        for (const event of events) byCode.set(event.code, (byCode.get(event.code) ?? 0) + 1);
        const alert: CertificateAlert = {
          domain,
          count: events.length,
          windowMs: this.#windowMs,
          reasons: [...byCode].map(([code, count]) => ({ code, count })),
          at: this.#now().toISOString(),
        };
        this.#lastAlert = alert;
        options.logger.warn('certificate alert: many invalid certificates for one domain', {
          domain,
          count: alert.count,
          reasons: alert.reasons,
        });
        options.onAlert?.(alert);
      },
    });
  }

  /** Checks the recipients of a message from `from`, in the order given. */
  async check(
    from: string,
    addresses: readonly string[],
    signal?: AbortSignal,
  ): Promise<RecipientCheck[]> {
    if (!isDirectAddress(from)) {
      throw new HispError(
        'BAD_REQUEST',
        `${JSON.stringify(from)} is not a Direct address to send from.`,
      );
    }
    const fromDomain = domainOf(from);
    const anchors = this.#options.anchors(fromDomain);
    const anchorKey = createHash('sha256')
      .update(anchors.map((anchor) => anchor.fingerprintSha256).join(','))
      .digest('hex');
    const cache = this.#cacheFor(`${fromDomain} ${anchorKey}`);
    const results: RecipientCheck[] = new Array<RecipientCheck>(addresses.length);
    let next = 0;
    const worker = async () => {
      while (next < addresses.length) {
        signal?.throwIfAborted();
        const index = next++;
        const address = (addresses[index] ?? '').trim();
        results[index] = await this.#checkOne(address, anchors, cache);
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, addresses.length) }, worker));
    this.#checks += addresses.length;
    return results;
  }

  /** A certificate found usable by a recent check (kept for an hour), as DER. */
  certificateDer(fingerprintSha256: string): Buffer | undefined {
    return this.#found.get(fingerprintSha256);
  }

  /** Counts for the status: lookups so far and the last alert within the window. */
  summary(): { checks: number; alert: CertificateAlert | undefined } {
    const alert = this.#lastAlert;
    const current =
      alert !== undefined && this.#now().getTime() - Date.parse(alert.at) < this.#windowMs
        ? alert
        : undefined;
    return { checks: this.#checks, alert: current };
  }

  async #checkOne(
    address: string,
    anchors: readonly ParsedCertificate[],
    cache: DiscoveryCache,
  ): Promise<RecipientCheck> {
    const checkedAt = this.#now().toISOString();
    if (!isDirectAddress(address)) {
      return {
        address: address.slice(0, 320) || '(empty)',
        state: 'invalid',
        certificates: [],
        rejected: [],
        problems: [
          {
            code: 'BAD_REQUEST',
            message: `${JSON.stringify(address.slice(0, 80))} is not an e-mail address.`,
          },
        ],
        checkedAt,
      };
    }
    const options = this.#options;
    const result = await discoverCertificates(address, {
      dnsServers: options.dnsServers,
      anchors,
      revocation: options.revocation ?? 'soft',
      logger: options.logger,
      monitor: this.#monitor,
      cache,
      ...(options.dnsTimeoutMs === undefined ? {} : { dnsTimeoutMs: options.dnsTimeoutMs }),
      ...(options.fetcher === undefined
        ? {}
        : {
            fetcher: options.fetcher,
            crlCache: this.#crlCache,
            ocspCache: this.#ocspCache,
            aiaCache: this.#aiaCache,
          }),
    });
    for (const selected of result.selected) {
      this.#found.set(
        selected.cert.fingerprintSha256,
        selected.cert.der,
        this.#now().getTime() + 60 * 60 * 1000,
      );
    }
    return {
      address,
      state: stateOf(result),
      certificates: result.selected.slice(0, 32).map((selected) => ({
        fingerprintSha256: selected.cert.fingerprintSha256,
        subject: selected.cert.subject.slice(0, 2000),
        notAfter: selected.cert.notAfter.toISOString(),
        source: selected.source,
        bound: selected.bound,
        ...(selected.anchor === undefined
          ? {}
          : { anchor: selected.anchor.subject.slice(0, 2000) }),
      })),
      rejected: result.rejected.slice(0, 64).map((rejected) => ({
        fingerprintSha256: rejected.fingerprintSha256,
        source: rejected.source,
        reason: reason(rejected.reason),
      })),
      problems: [
        ...(anchors.length === 0
          ? [
              {
                code: 'CERT_UNTRUSTED' as const,
                message:
                  'No outbound trust anchor is configured for the sending domain, so no certificate can be trusted. Add one under trust anchors or bundles.',
              },
            ]
          : []),
        ...result.problems.map(reason),
      ].slice(0, 32),
      checkedAt,
    };
  }

  #cacheFor(key: string): DiscoveryCache {
    let cache = this.#caches.get(key);
    if (cache === undefined) {
      if (this.#caches.size >= MAX_CACHES) {
        const oldest = this.#caches.keys().next().value;
        if (oldest !== undefined) this.#caches.delete(oldest);
      }
      cache = new DiscoveryCache({
        ...this.#options.cache,
        now: () => this.#now().getTime(),
      });
      this.#caches.set(key, cache);
    }
    return cache;
  }
}
