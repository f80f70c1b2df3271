/**
 * One practice's HISP on a profile, put together once for `sealpost serve` (hisp/cli/serve.ts)
 * and the desktop app (hisp/host/utility.ts): the profile session (keychain or vault, with
 * the idle lock), recipient discovery with its CRL and OCSP answers kept in the profile's
 * database, the mail service from a serve-format config, the settings calls (trust,
 * bundles, identity import, audit), the events the services send to the mail windows, and
 * the lock hooks that stop mail before the profile closes and start it again after an unlock.
 * What carries the calls (the loopback bridge, or the desktop's MessagePorts) is attached by
 * the caller.
 *
 * The two callers differ in what a failure at start means. `serve` is started by an admin
 * who reads its exit code: a profile that does not open or mail that does not start ends it
 * (`atStart: 'fail'`). The desktop HISP is the app: it must come up so the window can say
 * what is wrong, so it starts locked, or without mail, and the status names the problem
 * (`atStart: 'report'`). Neither ever falls back to a weaker key store.
 */
import { basename } from 'node:path';
import type { ComponentStatus } from '../api/contract.js';
import { HispError } from '../api/errors.js';
import { CrlCache } from '../certs/crl.js';
import { RecipientService } from '../certs/discovery/service.js';
import type { Fetcher } from '../certs/fetch.js';
import { OcspCache } from '../certs/ocsp.js';
import type { MasterKeySource } from '../keys/masterKey.js';
import type { IdentityRecord } from '../keys/identities.js';
import type { Logger } from '../log/logger.js';
import { certCacheBacking } from '../store/certCache.js';
import type { Profile } from '../store/profile.js';
import { initProfile, readProfileInfo, type KeySourceKind } from '../store/profile.js';
import { HispEvents, startHisp, type HispTransport } from './headless.js';
import type { Hisp, HispMode } from './hisp.js';
import { MailService, type MailConfig } from './mailService.js';
import { ProfileSession, type ProfileSessionOptions } from './session.js';
import type { LoadedPolicy } from './policy.js';
import { PracticePreferences } from './preferences.js';
import type { PreferencesHost } from './hisp.js';
import { mailTakesOnIdentity, settingsHandlers, type SettingsParts } from './settings.js';

/** How often trust bundles are looked at for a due refresh. */
export const BUNDLE_POLL_MS = 60_000;

/** Longest `detail` a status component may carry (the contract's bound). */
const DETAIL_MAX = 500;

/** `detail` cut to what a status component may carry, with an ellipsis when cut. */
export function statusDetail(detail: string): string {
  return detail.length <= DETAIL_MAX ? detail : `${detail.slice(0, DETAIL_MAX - 1)}…`;
}

export interface PracticeOptions<T extends HispTransport> {
  /** The profile's directory. */
  readonly dir: string;
  readonly mode: Exclude<HispMode, 'demo'>;
  /** Shown in the status (at most 200 characters); default: the directory's name. */
  readonly profileName?: string;
  /**
   * Mail as the configuration file says. Absent and no `preferences`: no mail service (the HISP
   * has no mailbox). With `preferences`, the file's groups are fixed and the rest is set in
   * Settings (hisp/host/preferences.ts).
   */
  readonly config?: MailConfig;
  /** Settings › Mail server and preferences, and the organisation's policy. */
  readonly preferences?: {
    /** The configuration file `config` was read from. */
    readonly configFile?: string | undefined;
    /** Auto-lock minutes given on the command line (they win over Settings). */
    readonly autoLockFromCommandLine?: number | undefined;
    readonly policy?: LoadedPolicy | undefined;
    /** Why the policy could not be read (every lockable setting is then locked). */
    readonly policyProblem?: HispError | undefined;
    /** Where the data is kept (shown in Settings). */
    readonly dataLocation: string;
  };
  /** For recipient discovery and MX lookups. */
  readonly dnsServers: readonly { readonly host: string; readonly port: number }[];
  /** Certificates, CRLs, OCSP, trust bundles and remote images are fetched with it. */
  readonly fetcher: Fetcher;
  readonly logger: Logger;
  /** The key source for the profile's kind; `passphrase` is what unlock was given. */
  readonly keySource: (kind: KeySourceKind, passphrase: Buffer | undefined) => MasterKeySource;
  /** Lock after this long without calls from a mail window; 0 = never. */
  readonly idleLockMs: number;
  readonly bundlePollMs?: number;
  /** A vault profile's passphrase for the open at start (the caller zeroes it afterwards). */
  readonly passphrase?: Buffer;
  /**
   * First run: when `dir` holds no profile yet, an unlock creates one with a new master key in
   * this key source (the desktop: the OS keychain). Absent: no profile is PROFILE_NOT_FOUND.
   */
  readonly createWith?: () => MasterKeySource;
  /**
   * `fail`: a profile that does not open at start, or mail that does not start, rejects
   * (serve). `report`: the HISP starts anyway, locked or without mail, and its status says why
   * (the desktop).
   */
  readonly atStart: 'fail' | 'report';
  /** Connect the mail windows' transport to the new HISP (before it starts). */
  readonly attach: (hisp: Hisp) => Promise<T>;
  /**
   * Something the desktop should tell the user outside the window (a system notification):
   * new mail arrived, or a sent message failed or timed out. Counts only, never content.
   */
  readonly notify?: (kind: 'new-mail' | 'delivery-failed', count: number) => void;
  /**
   * Told after Settings imported a new identity, once mail has taken it on (serve republishes
   * its DNS records). Must not throw: it reports its own failures.
   */
  readonly identityImported?: (record: IdentityRecord) => Promise<void>;
}

/** A running practice; {@link Practice.stop} stops mail, the HISP, its transport, the profile. */
export interface Practice<T extends HispTransport> {
  readonly hisp: Hisp;
  readonly session: PracticeSession;
  readonly recipients: RecipientService;
  /** Absent when started without a mail config. */
  readonly mail: MailService | undefined;
  readonly transport: T;
  stop(): Promise<void>;
}

/** What the session runs around a lock and an unlock (mail stops first, starts after). */
export interface SessionHooks {
  readonly beforeLock: () => Promise<void>;
  readonly afterUnlock: () => Promise<void>;
}

export interface PracticeSessionOptions extends ProfileSessionOptions {
  /** See {@link PracticeOptions.createWith}. */
  readonly createWith?: () => MasterKeySource;
  /** Keep why the profile did not open, for the status (until an unlock succeeds). */
  readonly reportOpenFailures?: boolean;
}

/**
 * The profile session of a practice: lets the mail service go before the profile closes and
 * start after it opens; on the desktop's first run creates the profile; remembers why the
 * profile did not open, so the status can say it.
 */
export class PracticeSession extends ProfileSession {
  hooks: SessionHooks | undefined;
  readonly #dir: string;
  readonly #createWith: (() => MasterKeySource) | undefined;
  readonly #report: boolean;
  readonly #onChange: (() => void) | undefined;
  readonly #logger: Logger;
  #problem: HispError | undefined;
  /** One creation at a time: two would each make a master key for one database. */
  #creating: Promise<unknown> = Promise.resolve();

  constructor(options: PracticeSessionOptions) {
    super(options);
    this.#dir = options.dir;
    this.#createWith = options.createWith;
    this.#report = options.reportOpenFailures === true;
    this.#onChange = options.onChange;
    this.#logger = options.logger;
  }

  /** Why the profile did not open at the last try (reported sessions only), if it did not. */
  get problem(): HispError | undefined {
    return this.#problem;
  }

  override async unlock(passphrase?: Buffer): Promise<void> {
    try {
      await this.#createIfMissing();
      await super.unlock(passphrase);
    } catch (error) {
      const problem = HispError.from(error);
      // A wrong or missing passphrase, a passphrase given to a keychain profile: answered to
      // the caller, not a state of the profile.
      if (this.#report && !['VAULT_BAD_PASSPHRASE', 'BAD_REQUEST'].includes(problem.code)) {
        this.#problem = problem;
        this.#onChange?.();
      }
      throw error;
    }
    if (this.#problem !== undefined) {
      this.#problem = undefined;
      this.#onChange?.();
    }
    await this.hooks?.afterUnlock();
  }

  override async lock(reason: 'request' | 'idle' | 'stop' = 'request'): Promise<void> {
    await this.hooks?.beforeLock();
    await super.lock(reason);
  }

  override components(): ComponentStatus[] {
    const problem = this.#problem;
    if (!this.locked || problem === undefined) return super.components();
    const detail = `locked: the profile could not be opened (${problem.code}): ${problem.message}`;
    return [
      {
        name: 'profile',
        state: 'down',
        detail: statusDetail(detail),
      },
    ];
  }

  #createIfMissing(): Promise<void> {
    const createWith = this.#createWith;
    if (createWith === undefined) return Promise.resolve();
    const work = async (): Promise<void> => {
      try {
        await readProfileInfo(this.#dir);
        return;
      } catch (error) {
        if (!(error instanceof HispError) || error.code !== 'PROFILE_NOT_FOUND') throw error;
      }
      const source = createWith();
      const profile = await initProfile(this.#dir, { keySource: source });
      profile.close();
      this.#logger.info('profile created', { keySource: source.kind });
    };
    const next = this.#creating.then(work, work);
    this.#creating = next.catch(() => undefined);
    return next;
  }
}

/** A call context for calls the HISP makes to itself (the policy's trust presets). */
function internalContext(): { signal: AbortSignal; connectionId: string } {
  return { signal: new AbortController().signal, connectionId: 'policy' };
}

/**
 * The organisation's trust presets on the open profile: its anchors imported (nothing changes
 * for those already there), and its bundles registered and fetched when not there yet (in the
 * background: a bundle server that does not answer must not hold up an unlock; a failure is
 * logged and tried again at the next unlock).
 */
async function applyTrustPolicy(
  policy: LoadedPolicy | undefined,
  parts: () => SettingsParts,
  options: { readonly logger: Logger; readonly fetcher: Fetcher },
): Promise<void> {
  if (policy?.found !== true) return;
  const { anchors, bundles } = policy.policy.trust;
  if (anchors.length === 0 && bundles.length === 0) return;
  const calls = settingsHandlers(parts, { logger: options.logger, fetcher: options.fetcher });
  for (const [index, preset] of anchors.entries()) {
    try {
      const result = await calls.importAnchors(preset, internalContext());
      if (result.added.length > 0 || result.refused.length > 0) {
        options.logger.info('policy trust anchors applied', {
          set: index,
          added: result.added.length,
          refused: result.refused.length,
        });
      }
    } catch (error) {
      options.logger.error('a policy trust anchor set could not be applied', {
        set: index,
        code: HispError.from(error).code,
      });
    }
  }
  const known = new Set(
    parts()
      .trust.listBundles()
      .map((bundle) => bundle.name),
  );
  for (const preset of bundles.filter((bundle) => !known.has(bundle.name))) {
    calls.addBundle(preset, internalContext()).then(
      () => options.logger.info('policy trust bundle added', { bundle: preset.name }),
      (error: unknown) =>
        options.logger.error('a policy trust bundle could not be added (tried again at unlock)', {
          bundle: preset.name,
          code: HispError.from(error).code,
        }),
    );
  }
}

/**
 * The preference calls of a practice: saved in the open profile, then applied at once (mail
 * restarted on the new configuration, the idle lock re-armed).
 */
export function practicePreferences(
  preferences: PracticePreferences,
  options: {
    readonly profile: () => Profile;
    readonly mail: MailService | undefined;
    readonly session: { idleLockMs: number } | undefined;
    readonly logger: Logger;
  },
): PreferencesHost {
  return {
    get: () => preferences.view(options.profile()),
    update: async (params) => {
      const profile = options.profile();
      const changed = preferences.update(profile, params);
      if (changed.includes('autoLock') && options.session !== undefined) {
        options.session.idleLockMs = preferences.autoLockMinutes(profile) * 60_000;
      }
      if (options.mail !== undefined && changed.some((group) => group !== 'autoLock')) {
        try {
          await options.mail.reconfigure(preferences.mailConfig(profile));
        } catch (error) {
          // Saved; the status says why mail is not running on it.
          options.logger.error('mail did not start on the new settings', {
            code: HispError.from(error).code,
          });
        }
      }
      return preferences.view(profile);
    },
    testAccounts: (params) => preferences.testAccounts(options.profile(), params),
    refuseIfManaged: (setting, what) => preferences.refuseIfManaged(setting, what),
  };
}

/**
 * Open the profile in `options.dir` and start its practice: recipients, mail, settings,
 * events, lock hooks, and the HISP on the transport `options.attach` connects.
 */
export async function startPractice<T extends HispTransport>(
  options: PracticeOptions<T>,
): Promise<Practice<T>> {
  const { dir, logger, fetcher, dnsServers } = options;
  const lenient = options.atStart === 'report';
  // The services below are made before the HISP they report to.
  const events = new HispEvents();
  const session = new PracticeSession({
    dir,
    logger,
    fetcher,
    bundlePollMs: options.bundlePollMs ?? BUNDLE_POLL_MS,
    idleLockMs: options.idleLockMs,
    onChange: events.statusChanged,
    keySource: options.keySource,
    ...(options.createWith === undefined ? {} : { createWith: options.createWith }),
    reportOpenFailures: lenient,
  });
  const preferences =
    options.preferences === undefined
      ? undefined
      : new PracticePreferences({
          file: options.config ?? {},
          configFile: options.preferences.configFile,
          autoLockFromCommandLine: options.preferences.autoLockFromCommandLine,
          autoLockDefault: Math.round(options.idleLockMs / 60_000),
          policy: options.preferences.policy,
          policyProblem: options.preferences.policyProblem,
          dataLocation: options.preferences.dataLocation,
          logger,
        });
  const openParts = (): SettingsParts => ({ profile: session.profile, trust: session.trust });
  /** What follows every opening of the profile: its own auto-lock, the policy's trust. */
  const opened = async (): Promise<void> => {
    if (preferences === undefined) return;
    session.idleLockMs = preferences.autoLockMinutes(session.profile) * 60_000;
    await applyTrustPolicy(options.preferences?.policy, openParts, { logger, fetcher });
  };
  try {
    await session.unlock(options.passphrase);
    await opened();
  } catch (error) {
    if (!lenient) throw error;
    logger.warn('the profile stays locked', { code: HispError.from(error).code });
  }
  const stack: (() => Promise<void> | void)[] = [() => session.lock('stop')];
  const unwind = async (): Promise<void> => {
    for (const undo of stack.splice(0).reverse()) await undo();
  };
  try {
    // Revocation answers also kept in the profile's database, so they survive a restart.
    const profileDb = () => (session.locked ? undefined : session.profile.db);
    const recipients = new RecipientService({
      crlCache: new CrlCache({ backing: certCacheBacking(profileDb, 'crl') }),
      ocspCache: new OcspCache({ backing: certCacheBacking(profileDb, 'ocsp') }),
      anchors: (domain) => session.outboundAnchors(domain),
      dnsServers,
      logger,
      fetcher,
      onAlert: events.certificateAlert,
    });
    const config =
      preferences === undefined
        ? options.config
        : preferences.mailConfig(session.locked ? undefined : session.profile);
    const mail =
      config === undefined
        ? undefined
        : new MailService({
            config,
            recipients,
            dnsServers,
            fetcher,
            logger,
            onChange: events.statusChanged,
            onDelivery: (event) => {
              events.delivery(event);
              if (event.state === 'failed' || event.state === 'timed-out')
                options.notify?.('delivery-failed', 1);
            },
            onMailbox: (event) => {
              events.mailbox(event);
              if (event.arrived.length > 0) options.notify?.('new-mail', event.arrived.length);
            },
            onAlert: events.alert,
            onAlertCleared: events.alertCleared,
          });
    // Mail runs while the profile is open: stopped before every lock (the idle lock too)
    // and started again after an unlock. Set before the HISP takes calls, so an unlock
    // from a mail window starts it too.
    session.hooks = {
      beforeLock: async () => {
        await mail?.stop();
      },
      afterUnlock: async () => {
        try {
          await opened();
          if (mail === undefined) return;
          // The saved settings are readable again: run on them.
          if (preferences !== undefined)
            await mail.reconfigure(preferences.mailConfig(session.profile));
          await mail.start(session.profile, session.trust);
        } catch (error) {
          // The profile is open; mail says in the status why it is not running.
          logger.error('mail could not start after unlock', {
            ...(error instanceof HispError ? { code: error.code } : {}),
          });
        }
      },
    };
    const mailTakesOn =
      mail === undefined
        ? undefined
        : mailTakesOnIdentity(mail, () => (session.locked ? undefined : openParts()));
    const takeOnIdentity = async (record: IdentityRecord): Promise<void> => {
      try {
        await mailTakesOn?.(record);
      } finally {
        await options.identityImported?.(record);
      }
    };
    const started = await startHisp(
      {
        mode: options.mode,
        throwaway: false,
        recipients,
        session,
        events,
        discovery: { recipients, dnsServers },
        ...(mail === undefined ? {} : { mail }),
        settings: {
          parts: openParts,
          fetcher,
          ...(mail === undefined && options.identityImported === undefined
            ? {}
            : { identityImported: takeOnIdentity }),
        },
        ...(preferences === undefined
          ? {}
          : {
              preferences: practicePreferences(preferences, {
                profile: () => session.profile,
                mail,
                session,
                logger,
              }),
            }),
        profileName: options.profileName ?? basename(dir),
        logger,
      },
      options.attach,
    );
    stack.push(() => started.stop());
    if (mail !== undefined) {
      if (!session.locked) {
        try {
          await mail.start(session.profile, session.trust);
        } catch (error) {
          if (!lenient) throw error;
          // The status says it (`down`, with the code); an unlock or an import retries.
          logger.error('mail could not start', { code: HispError.from(error).code });
        }
      }
      stack.push(() => mail.stop());
    }
    return {
      hisp: started.hisp,
      session,
      recipients,
      mail,
      transport: started.transport,
      stop: unwind,
    };
  } catch (error) {
    await unwind();
    throw error;
  }
}
