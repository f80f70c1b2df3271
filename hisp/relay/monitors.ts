/**
 * Two watchers of a running HISP:
 *
 * - **Delivery timeouts** (DESIGN.md §4): a recipient that has not sent its `processed` MDN —
 *   or its `dispatched` one, when timely-and-reliable delivery was requested — within the
 *   timeout (default 1 hour) is marked `timed-out`. A notification that arrives later is kept
 *   on the row and does not flip the state back.
 * - **Silence** (risk-5): when no inbound message has arrived for the configured period, an
 *   alert is raised once (and again only after traffic resumed and stopped again) — a broken
 *   MX, an expired upstream password or a blocked port otherwise goes unnoticed for days.
 */
import type { Logger } from '../log/logger.js';
import type { MailStore } from '../store/mail.js';

interface Periodic {
  readonly pollMs?: number;
  readonly now?: () => Date;
  readonly logger: Logger;
}

abstract class PeriodicCheck {
  readonly #pollMs: number;
  #timer: NodeJS.Timeout | undefined;
  protected readonly now: () => Date;
  protected readonly logger: Logger;

  constructor(options: Periodic, defaultPollMs: number) {
    this.#pollMs = options.pollMs ?? defaultPollMs;
    this.now = options.now ?? (() => new Date());
    this.logger = options.logger;
  }

  abstract check(): unknown;

  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => {
      try {
        this.check();
      } catch (error) {
        this.logger.warn('monitor check failed', {
          reason: error instanceof Error ? error.message : String(error),
        });
      }
    }, this.#pollMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

/** A sent message's recipient whose delivery notification did not come in time. */
export interface TimedOut {
  readonly messageId: number;
  readonly recipient: string;
}

export class DeliveryMonitor extends PeriodicCheck {
  readonly #store: MailStore;
  readonly #timeoutMs: number;
  readonly #onTimedOut: ((rows: readonly TimedOut[]) => void) | undefined;

  constructor(
    options: Periodic & {
      readonly store: MailStore;
      /** Default one hour. */
      readonly timeoutMs?: number;
      /** The recipients that just timed out (their `delivery` events). */
      readonly onTimedOut?: (rows: readonly TimedOut[]) => void;
    },
  ) {
    super(options, 60_000);
    this.#store = options.store;
    this.#timeoutMs = options.timeoutMs ?? 60 * 60 * 1000;
    this.#onTimedOut = options.onTimedOut;
  }

  /** Marks overdue recipients `timed-out`; returns how many. */
  check(): number {
    const rows = this.#store.timeOutMdns(new Date(this.now().getTime() - this.#timeoutMs));
    if (rows.length > 0) {
      this.logger.warn('delivery notifications timed out', { recipients: rows.length });
      this.#onTimedOut?.(rows);
    }
    return rows.length;
  }
}

export interface SilenceState {
  readonly silent: boolean;
  /** Milliseconds since the last inbound message (or since watching began). */
  readonly sinceMs: number;
}

export class SilenceMonitor extends PeriodicCheck {
  readonly #lastInbound: () => Date | undefined;
  readonly #thresholdMs: number;
  readonly #onAlert: ((state: SilenceState) => void) | undefined;
  readonly #started: Date;
  #alerted = false;

  constructor(
    options: Periodic & {
      readonly lastInbound: () => Date | undefined;
      /** No inbound traffic for this long raises the alert. */
      readonly thresholdMs: number;
      readonly onAlert?: (state: SilenceState) => void;
    },
  ) {
    super(options, 60_000);
    this.#lastInbound = options.lastInbound;
    this.#thresholdMs = options.thresholdMs;
    this.#onAlert = options.onAlert;
    this.#started = this.now();
  }

  check(): SilenceState {
    const last = this.#lastInbound();
    // Before any message ever arrived, silence counts from when watching began.
    const since = last ?? this.#started;
    const sinceMs = Math.max(0, this.now().getTime() - since.getTime());
    const silent = sinceMs >= this.#thresholdMs;
    if (silent && !this.#alerted) {
      this.#alerted = true;
      this.logger.warn('no inbound Direct traffic', { minutes: Math.round(sinceMs / 60_000) });
      this.#onAlert?.({ silent, sinceMs });
    } else if (!silent) {
      this.#alerted = false;
    }
    return { silent, sinceMs };
  }
}
