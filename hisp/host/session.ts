/**
 * The open profile of a running HISP, and locking it: lock stops what runs on the profile
 * (bundle refresh), closes the encrypted database — SQLCipher forgets its key — and zeroes
 * the keys derived from the master key; nothing of the profile stays readable in memory that
 * we hold. Unlock opens it again with the keychain, or with the vault passphrase. The idle
 * timer locks after a period without calls from a mail window (DESIGN.md §5, issue: profile
 * lock and idle auto-lock).
 */
import { HispError } from '../api/errors.js';
import type { ComponentStatus } from '../api/contract.js';
import type { ParsedCertificate } from '../certs/certificate.js';
import type { Fetcher } from '../certs/fetch.js';
import { BundleRefresher } from '../certs/trust/refresh.js';
import { TrustStore } from '../certs/trust/store.js';
import type { MasterKeySource } from '../keys/masterKey.js';
import type { Logger } from '../log/logger.js';
import {
  openProfile,
  readProfileInfo,
  type KeySourceKind,
  type Profile,
} from '../store/profile.js';

export interface ProfileSessionOptions {
  readonly dir: string;
  /** The key source for the profile; `passphrase` is what unlock was given (vault profiles). */
  readonly keySource: (kind: KeySourceKind, passphrase: Buffer | undefined) => MasterKeySource;
  readonly logger: Logger;
  /** For trust-bundle refresh; absent = offline. */
  readonly fetcher?: Fetcher;
  readonly bundlePollMs?: number;
  /** Lock after this long without activity; 0 or absent = never. */
  readonly idleLockMs?: number;
  /** Told after every lock and unlock (the HISP re-sends its status). */
  readonly onChange?: () => void;
  readonly now?: () => number;
}

export class ProfileSession {
  readonly #options: ProfileSessionOptions;
  readonly #now: () => number;
  #profile: Profile | undefined;
  #trust: TrustStore | undefined;
  #refresher: BundleRefresher | undefined;
  #kind: KeySourceKind | undefined;
  #lastActivity: number;
  #idleTimer: NodeJS.Timeout | undefined;
  #idleLockMs: number;
  /** One lock or unlock at a time. */
  #busy: Promise<unknown> = Promise.resolve();

  constructor(options: ProfileSessionOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => Date.now());
    this.#lastActivity = this.#now();
    this.#idleLockMs = options.idleLockMs ?? 0;
  }

  /** Lock after this long without activity from now on (0 = never): the auto-lock setting. */
  get idleLockMs(): number {
    return this.#idleLockMs;
  }

  set idleLockMs(ms: number) {
    this.#idleLockMs = ms;
    if (this.#idleTimer !== undefined) clearInterval(this.#idleTimer);
    this.#idleTimer = undefined;
    if (!this.locked) this.#armIdleTimer();
    this.#options.onChange?.();
  }

  get locked(): boolean {
    return this.#profile === undefined;
  }

  get keySourceKind(): KeySourceKind | undefined {
    return this.#kind;
  }

  /** The open profile; PROFILE_LOCKED when locked. */
  get profile(): Profile {
    if (this.#profile === undefined) throw locked();
    return this.#profile;
  }

  get trust(): TrustStore {
    if (this.#trust === undefined) throw locked();
    return this.#trust;
  }

  /** The outbound anchors of a local domain (what recipient checks use). */
  outboundAnchors(domain: string): ParsedCertificate[] {
    return this.trust.anchorsFor(domain, 'outbound');
  }

  /** Something happened that counts as use (a call from a mail window). */
  touch(): void {
    this.#lastActivity = this.#now();
  }

  unlock(passphrase?: Buffer): Promise<void> {
    return this.#serial(async () => {
      if (this.#profile !== undefined) return;
      const info = await readProfileInfo(this.#options.dir);
      if (info.keySource === 'vault' && (passphrase === undefined || passphrase.length === 0)) {
        throw new HispError(
          'VAULT_BAD_PASSPHRASE',
          'This profile keeps its key in a passphrase vault: unlocking needs the passphrase.',
        );
      }
      if (info.keySource === 'keychain' && passphrase !== undefined) {
        throw new HispError(
          'BAD_REQUEST',
          'This profile keeps its key in the system keychain: unlock takes no passphrase.',
        );
      }
      const source = this.#options.keySource(info.keySource, passphrase);
      const profile = await openProfile(this.#options.dir, { keySourceFor: () => source });
      this.#profile = profile;
      this.#kind = info.keySource;
      this.#trust = TrustStore.forProfile(profile);
      this.#refresher = new BundleRefresher(this.#trust, {
        logger: this.#options.logger,
        ...(this.#options.fetcher === undefined ? {} : { fetcher: this.#options.fetcher }),
        ...(this.#options.bundlePollMs === undefined ? {} : { pollMs: this.#options.bundlePollMs }),
      });
      this.#refresher.start();
      this.#lastActivity = this.#now();
      this.#armIdleTimer();
      this.#options.logger.info('profile unlocked', { keySource: info.keySource });
      this.#options.onChange?.();
    });
  }

  lock(reason: 'request' | 'idle' | 'stop' = 'request'): Promise<void> {
    return this.#serial(async () => {
      if (this.#idleTimer !== undefined) clearInterval(this.#idleTimer);
      this.#idleTimer = undefined;
      const profile = this.#profile;
      if (profile === undefined) return;
      const refresher = this.#refresher;
      this.#profile = undefined;
      this.#trust = undefined;
      this.#refresher = undefined;
      await refresher?.stop();
      profile.close();
      this.#options.logger.info('profile locked', { reason });
      this.#options.onChange?.();
    });
  }

  /** The status line for the profile and the trust store. */
  components(): ComponentStatus[] {
    if (this.#trust === undefined) {
      return [{ name: 'profile', state: 'off', detail: 'locked' }];
    }
    const bundles = this.#trust.listBundles();
    const failing = bundles.filter((bundle) => bundle.lastError !== undefined);
    const anchors = new Set(this.#trust.listAnchors().map((anchor) => anchor.fingerprintSha256))
      .size;
    const idle = this.#idleLockMs;
    return [
      {
        name: 'profile',
        state: 'ok',
        detail: `unlocked (key in the ${this.#kind === 'vault' ? 'passphrase vault' : 'system keychain'})${
          idle > 0 ? `; locks after ${Math.round(idle / 60_000)} min idle` : ''
        }`,
      },
      {
        name: 'trust',
        state: failing.length > 0 || anchors === 0 ? 'degraded' : 'ok',
        detail:
          `${anchors} anchor(s), ${bundles.length} bundle(s)` +
          (failing.length > 0
            ? `; refresh failing: ${failing.map((bundle) => bundle.name).join(', ')}`
            : '') +
          (anchors === 0 ? '; no anchors: nothing can be trusted yet' : ''),
      },
    ];
  }

  #armIdleTimer(): void {
    const idle = this.#idleLockMs;
    if (idle <= 0) return;
    if (this.#idleTimer !== undefined) clearInterval(this.#idleTimer);
    this.#idleTimer = setInterval(
      () => {
        if (this.#now() - this.#lastActivity >= idle) void this.lock('idle');
      },
      Math.min(30_000, Math.max(50, Math.floor(idle / 4))),
    );
    this.#idleTimer.unref();
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#busy.then(work, work);
    this.#busy = next.catch(() => undefined);
    return next;
  }
}

function locked(): HispError {
  return new HispError('PROFILE_LOCKED', 'The profile is locked. Unlock it to continue.');
}
