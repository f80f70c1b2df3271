/**
 * Invalid-certificate events for monitoring (seed risks 10 and 11): a spoofed DNS answer or a
 * broken intermediate CA shows up as certificates rejected during discovery. They should be
 * rare, so counts per recipient domain and reason — and an alert once a domain passes a
 * threshold within a window — tell an operator when to look.
 */
import type { ErrorCode } from '../../api/errors.js';

export interface CertificateEvent {
  readonly domain: string;
  readonly code: ErrorCode;
  readonly fingerprintSha256: string;
  readonly source: 'dns' | 'ldap';
  readonly at: Date;
}

export interface MonitorOptions {
  /** Events for one domain within `windowMs` that raise an alert (default 5). */
  readonly threshold?: number;
  /** The sliding window, in milliseconds (default one hour). */
  readonly windowMs?: number;
  readonly now?: () => Date;
  /** Called once each time a domain crosses the threshold within the window. */
  readonly onAlert?: (domain: string, events: readonly CertificateEvent[]) => void;
}

/** Bounded memory: at most this many events are kept per domain, and this many domains. */
const MAX_EVENTS_PER_DOMAIN = 1000;
const MAX_DOMAINS = 10_000;

export class CertificateEventMonitor {
  readonly #threshold: number;
  readonly #windowMs: number;
  readonly #now: () => Date;
  readonly #onAlert: MonitorOptions['onAlert'];
  readonly #events = new Map<string, CertificateEvent[]>();
  readonly #totals = new Map<string, number>();
  readonly #alerted = new Set<string>();

  constructor(options: MonitorOptions = {}) {
    this.#threshold = options.threshold ?? 5;
    this.#windowMs = options.windowMs ?? 60 * 60 * 1000;
    this.#now = options.now ?? (() => new Date());
    this.#onAlert = options.onAlert;
  }

  record(event: Omit<CertificateEvent, 'at'>): void {
    const at = this.#now();
    const domain = event.domain.toLowerCase();
    const key = `${domain} ${event.code}`;
    this.#totals.set(key, (this.#totals.get(key) ?? 0) + 1);
    if (!this.#events.has(domain) && this.#events.size >= MAX_DOMAINS) {
      const oldest = this.#events.keys().next().value;
      if (oldest !== undefined) this.#events.delete(oldest);
    }
    const recent = (this.#events.get(domain) ?? []).filter(
      (e) => at.getTime() - e.at.getTime() < this.#windowMs,
    );
    recent.push({ ...event, domain, at });
    if (recent.length > MAX_EVENTS_PER_DOMAIN)
      recent.splice(0, recent.length - MAX_EVENTS_PER_DOMAIN);
    this.#events.set(domain, recent);
    if (recent.length >= this.#threshold) {
      if (!this.#alerted.has(domain)) {
        this.#alerted.add(domain);
        this.#onAlert?.(domain, recent);
      }
    } else {
      this.#alerted.delete(domain);
    }
  }

  /** Events per domain and reason code since start: `{ "example.org": { CERT_UNTRUSTED: 3 } }`. */
  counts(): Record<string, Partial<Record<ErrorCode, number>>> {
    const out: Record<string, Partial<Record<ErrorCode, number>>> = {};
    for (const [key, count] of this.#totals) {
      const [domain = '', code] = key.split(' ');
      (out[domain] ??= {})[code as ErrorCode] = count;
    }
    return out;
  }

  /** Events for a domain within the current window. */
  recent(domain: string): readonly CertificateEvent[] {
    const now = this.#now().getTime();
    return (this.#events.get(domain.toLowerCase()) ?? []).filter(
      (e) => now - e.at.getTime() < this.#windowMs,
    );
  }
}
