/**
 * Refreshing trust bundles: read the bundle's source (an HTTPS URL, or a file an IT
 * department drops in place), and when its bytes changed, check it (bundle.ts: format,
 * signature, signer) and replace its anchors in one transaction. A failure never removes
 * trust that was there: the anchors stay, the failure is recorded on the bundle and
 * returned. `BundleRefresher` runs this on each bundle's interval inside `sealpost serve`.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { HispError, type Reason } from '../../api/errors.js';
import type { Logger } from '../../log/logger.js';
import type { Fetcher } from '../fetch.js';
import {
  fetchTrustBundle,
  readTrustBundle,
  TRUST_BUNDLE_LIMITS,
  type SkippedCertificate,
} from './bundle.js';
import type { BundleChange, NewBundle, TrustStore } from './store.js';

export interface RefreshOptions {
  readonly logger: Logger;
  /** For https sources; absent = offline, so URL bundles fail with FETCH_FAILED. */
  readonly fetcher?: Fetcher;
  readonly at?: Date;
}

export type RefreshOutcome =
  | {
      readonly name: string;
      readonly ok: true;
      readonly change: BundleChange;
      readonly skipped: readonly SkippedCertificate[];
    }
  | { readonly name: string; readonly ok: false; readonly reason: Reason };

/** A bundle whose last refresh failed is tried again after this long (or its interval, if shorter). */
export const FAILED_RETRY_SECONDS = 15 * 60;

export function isUrlSource(source: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(source);
}

async function readSource(source: string, options: RefreshOptions): Promise<Buffer> {
  if (isUrlSource(source)) {
    if (options.fetcher === undefined) {
      throw new HispError(
        'FETCH_FAILED',
        'The trust bundle is fetched over HTTPS, and this run is offline.',
      );
    }
    return fetchTrustBundle(source, options.fetcher);
  }
  try {
    const info = await stat(source);
    if (!info.isFile()) throw new HispError('FETCH_FAILED', `${source} is not a file.`);
    if (info.size > TRUST_BUNDLE_LIMITS.bytes) {
      throw new HispError(
        'LIMIT_EXCEEDED',
        `${source} is larger than ${TRUST_BUNDLE_LIMITS.bytes} bytes, too large for a trust bundle.`,
      );
    }
    return await readFile(source);
  } catch (error) {
    if (error instanceof HispError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new HispError(
      'FETCH_FAILED',
      `The trust bundle file ${source} cannot be read (${code === 'ENOENT' ? 'no such file' : (code ?? 'error')}).`,
      { cause: error },
    );
  }
}

/** Refresh one bundle now. Never throws for a bad or unreachable bundle: see `ok`. */
export async function refreshBundle(
  store: TrustStore,
  name: string,
  options: RefreshOptions,
): Promise<RefreshOutcome> {
  const bundle = store.getBundle(name);
  const logger = options.logger.child({ component: 'trust.bundles', bundle: name });
  try {
    const bytes = await readSource(bundle.source, options);
    const digest = createHash('sha256').update(bytes).digest('hex');
    if (digest === bundle.digestSha256) {
      // The same bytes as last time: not read, checked or imported again.
      store.recordBundleChecked(name);
      logger.debug('trust bundle unchanged');
      return { name, ok: true, change: { added: [], removed: [], unchanged: true }, skipped: [] };
    }
    const content = await readTrustBundle(bytes, {
      signers: bundle.signers,
      requireSigned: bundle.requireSigned,
      logger,
      ...(options.at === undefined ? {} : { at: options.at }),
    });
    if (content.anchors.length === 0 && bundle.anchorCount > 0) {
      // An empty answer would silently drop every anchor the bundle gave: refuse it.
      throw new HispError(
        'BUNDLE_MALFORMED',
        `The trust bundle now holds no usable anchor (it had ${bundle.anchorCount}); the previous anchors are kept. Remove the bundle to drop them.`,
      );
    }
    const change = store.applyBundle(name, content);
    logger.info('trust bundle imported', {
      signed: content.signed,
      anchors: content.anchors.length,
      added: change.added.length,
      removed: change.removed.length,
      skipped: content.skipped.length,
    });
    return { name, ok: true, change, skipped: content.skipped };
  } catch (error) {
    const failure = HispError.from(error);
    const reason: Reason = { code: failure.code, message: failure.message };
    store.recordBundleFailure(name, reason);
    logger.warn('trust bundle refresh failed; its anchors are kept', {
      code: failure.code,
      reason: failure.message,
    });
    return { name, ok: false, reason };
  }
}

/**
 * Register a bundle and import it at once (`sealpost bundles add`, the `addBundle` call).
 * Nothing stays registered if that first import fails: the error says why, with the code of
 * the failure (FETCH_FAILED, BUNDLE_SIGNER_UNTRUSTED…).
 */
export async function addBundleNow(
  store: TrustStore,
  bundle: NewBundle,
  options: RefreshOptions,
): Promise<RefreshOutcome & { readonly ok: true }> {
  store.addBundle(bundle);
  const outcome = await refreshBundle(store, bundle.name, options);
  if (!outcome.ok) {
    store.removeBundle(bundle.name);
    throw new HispError(outcome.reason.code, `${outcome.reason.message} The bundle was not added.`);
  }
  return outcome;
}

/** The bundles whose interval has passed (never-checked ones first), refreshed in turn. */
export async function refreshDueBundles(
  store: TrustStore,
  options: RefreshOptions & { readonly now?: Date },
): Promise<RefreshOutcome[]> {
  const now = (options.now ?? new Date()).getTime();
  const due = store.listBundles().filter((bundle) => {
    if (bundle.refreshSeconds === 0) return false;
    if (bundle.checkedAt === undefined) return true;
    // After a failure, try again sooner than the full interval (at most every 15 minutes).
    const interval =
      bundle.lastError === undefined
        ? bundle.refreshSeconds
        : Math.min(bundle.refreshSeconds, FAILED_RETRY_SECONDS);
    return now - Date.parse(bundle.checkedAt) >= interval * 1000;
  });
  const outcomes: RefreshOutcome[] = [];
  for (const bundle of due) outcomes.push(await refreshBundle(store, bundle.name, options));
  return outcomes;
}

/**
 * Checks every `pollMs` which bundles are due and refreshes them, one pass at a time. A
 * failed bundle is retried after FAILED_RETRY_SECONDS, not in a tight loop: failures also
 * set the check time.
 */
export class BundleRefresher {
  readonly #store: TrustStore;
  readonly #options: RefreshOptions;
  readonly #pollMs: number;
  readonly #onOutcome: ((outcome: RefreshOutcome) => void) | undefined;
  readonly #now: () => Date;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(
    store: TrustStore,
    options: RefreshOptions & {
      readonly pollMs?: number;
      readonly onOutcome?: (outcome: RefreshOutcome) => void;
      readonly now?: () => Date;
    },
  ) {
    this.#now = options.now ?? (() => new Date());
    this.#store = store;
    this.#options = options;
    this.#pollMs = options.pollMs ?? 60_000;
    this.#onOutcome = options.onOutcome;
  }

  start(): void {
    if (this.#timer !== undefined) return;
    void this.poll();
    this.#timer = setInterval(() => void this.poll(), this.#pollMs);
    this.#timer.unref();
  }

  /** One pass now (also what the timer runs); passes never overlap. */
  poll(): Promise<void> {
    this.#running ??= (async () => {
      try {
        const outcomes = await refreshDueBundles(this.#store, {
          ...this.#options,
          now: this.#now(),
        });
        for (const outcome of outcomes) this.#onOutcome?.(outcome);
      } catch (error) {
        this.#options.logger.error('trust bundle refresh pass failed', {
          reason: HispError.from(error).message,
        });
      } finally {
        this.#running = undefined;
      }
    })();
    return this.#running;
  }

  async stop(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }
}
