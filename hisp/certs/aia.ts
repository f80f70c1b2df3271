/**
 * AIA caIssuers answers kept across validations (issue: "AIA caIssuers and CRL fetches
 * cached"): a busy HISP validates the same chains again and again, and an intermediate
 * fetched once is good for a while. A failed fetch is remembered for a shorter time, so an
 * unreachable issuer URL is not asked on every message.
 */
import type { ParsedCertificate } from './certificate.js';
import { ExpiringMap } from './expiring.js';

export type AiaAnswer =
  { readonly certificates: readonly ParsedCertificate[] } | { readonly error: string };

export interface AiaCacheOptions {
  /** How long fetched certificates are kept, in milliseconds (default 1 hour). */
  readonly ttlMs?: number;
  /** How long a failure is kept, in milliseconds (default 5 minutes). */
  readonly failureTtlMs?: number;
  /** URLs kept at most (oldest dropped first; default 1000). */
  readonly maxEntries?: number;
  readonly now?: () => number;
}

export class AiaCache {
  readonly #entries: ExpiringMap<AiaAnswer>;
  readonly #ttlMs: number;
  readonly #failureTtlMs: number;
  readonly #now: () => number;

  constructor(options: AiaCacheOptions = {}) {
    this.#ttlMs = options.ttlMs ?? 60 * 60 * 1000;
    this.#failureTtlMs = options.failureTtlMs ?? 5 * 60 * 1000;
    this.#now = options.now ?? (() => Date.now());
    this.#entries = new ExpiringMap(options.maxEntries ?? 1000, this.#now);
  }

  get(url: string): AiaAnswer | undefined {
    return this.#entries.get(url);
  }

  setCertificates(url: string, certificates: readonly ParsedCertificate[]): void {
    this.#entries.set(url, { certificates }, this.#now() + this.#ttlMs);
  }

  setFailure(url: string, error: string): void {
    this.#entries.set(url, { error }, this.#now() + this.#failureTtlMs);
  }
}
