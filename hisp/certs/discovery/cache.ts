/**
 * Discovery results kept for a while, so a message to many recipients at one domain, or a
 * burst of messages, does not repeat the DNS, LDAP and path work. A usable result is kept for
 * the shortest TTL of the DNS records it came from (LDAP has none: the default), never longer
 * than `maxTtlMs`, because revocation may change; a result with nothing usable is kept for
 * `negativeTtlMs` (negative caching), so a sender retrying an unreachable recipient does not
 * flood its servers.
 */
import { ExpiringMap } from '../expiring.js';
import type { DiscoveryResult } from './discover.js';

export interface DiscoveryCacheOptions {
  /** Upper bound for a usable result, in milliseconds (default 1 hour). */
  readonly maxTtlMs?: number;
  /** For results from LDAP (no TTL), in milliseconds (default 1 hour, capped by maxTtlMs). */
  readonly defaultTtlMs?: number;
  /** For results with nothing usable, in milliseconds (default 5 minutes). */
  readonly negativeTtlMs?: number;
  /** Addresses kept at most (oldest dropped first; default 10,000). */
  readonly maxEntries?: number;
  readonly now?: () => number;
}

export class DiscoveryCache {
  readonly #entries: ExpiringMap<DiscoveryResult>;
  readonly #maxTtlMs: number;
  readonly #defaultTtlMs: number;
  readonly #negativeTtlMs: number;
  readonly #now: () => number;

  constructor(options: DiscoveryCacheOptions = {}) {
    this.#maxTtlMs = options.maxTtlMs ?? 60 * 60 * 1000;
    this.#defaultTtlMs = Math.min(options.defaultTtlMs ?? 60 * 60 * 1000, this.#maxTtlMs);
    this.#negativeTtlMs = options.negativeTtlMs ?? 5 * 60 * 1000;
    this.#now = options.now ?? (() => Date.now());
    this.#entries = new ExpiringMap(options.maxEntries ?? 10_000, this.#now);
  }

  get size(): number {
    return this.#entries.size;
  }

  get(address: string): DiscoveryResult | undefined {
    return this.#entries.get(address.toLowerCase());
  }

  /** Keeps `result`; `ttlSeconds` is the shortest TTL of the DNS records used (if any). */
  set(address: string, result: DiscoveryResult, ttlSeconds: number | undefined): void {
    const lifetime =
      result.selected.length === 0
        ? this.#negativeTtlMs
        : ttlSeconds === undefined
          ? this.#defaultTtlMs
          : Math.min(ttlSeconds * 1000, this.#maxTtlMs);
    if (lifetime <= 0) return;
    this.#entries.set(address.toLowerCase(), result, this.#now() + lifetime);
  }

  clear(): void {
    this.#entries.clear();
  }
}
