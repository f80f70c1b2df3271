/**
 * A map whose entries expire at a given time and whose size is bounded (the oldest entry is
 * dropped first). The certificate caches (OCSP answers, CRL and OCSP failures, discovery
 * results) all keep things this way.
 */
export class ExpiringMap<V> {
  readonly #entries = new Map<string, { readonly value: V; readonly expires: number }>();
  readonly #maxEntries: number;
  readonly #now: () => number;

  /** `now` gives the current time in milliseconds since the epoch. */
  constructor(maxEntries: number, now: () => number) {
    this.#maxEntries = maxEntries;
    this.#now = now;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The value, while it has not expired (an expired entry is dropped). */
  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expires <= this.#now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** Keeps `value` until `expires` (ms); an expiry already past only removes the key. */
  set(key: string, value: V, expires: number): void {
    this.#entries.delete(key);
    if (expires <= this.#now()) return;
    this.#entries.set(key, { value, expires });
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done === true) break;
      this.#entries.delete(oldest.value);
    }
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }
}

/**
 * A second level under an in-memory cache (the profile's database: hisp/store/certCache.ts):
 * bytes by key with an expiry in milliseconds since the epoch.
 */
export interface CacheBacking {
  get(key: string): { readonly value: Buffer; readonly expires: number } | undefined;
  set(key: string, value: Uint8Array, expires: number): void;
}
