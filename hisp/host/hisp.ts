/**
 * The HISP service object: owns the channel server and the state every UI sees. Later
 * issues hang the security agent, stores, keys and transports off this; the UI reaches all
 * of them only through the contract.
 */
import {
  HispError,
  PRODUCT,
  type Alert,
  type ComponentStatus,
  type CallParams,
  type ConnectionTest,
  type Handlers,
  type LockableSetting,
  type Preferences,
  type RecipientCheck,
  type Status,
} from '../api/index.js';
import type { Logger } from '../log/logger.js';
import { ChannelServer } from './channelServer.js';
import { VERSION } from './version.js';
import { decodeAttachments, mailboxHandlers, type MailboxParts } from './mailbox.js';
import type { ComposeInput, SendResult } from '../relay/mailAgent.js';
import type { MailConfig } from './mailService.js';
import { settingsHandlers, type SettingsHost, type SettingsParts } from './settings.js';

export type HispMode = Status['mode'];

export interface HispOptions {
  readonly mode: HispMode;
  readonly profile: { readonly name: string; readonly throwaway: boolean };
  readonly logger: Logger;
  readonly now?: () => Date;
  /** Recipient certificate checks (needs a profile's trust store); absent in the demo. */
  readonly recipients?: RecipientChecker;
  /** The profile, when this HISP has one (absent in the demo). */
  readonly session?: SessionControl;
  /** Sending mail (hisp/host/mailService.ts MailService); absent when serve has no mail. */
  readonly mail?: MailHost;
  /** Trust anchors, bundles, identity import, the audit log (hisp/host/settings.ts). */
  readonly settings?: SettingsHost;
  /** Mail accounts, delivery preferences, auto-lock, what IT manages (hisp/host/preferences.ts). */
  readonly preferences?: PreferencesHost;
}

/** What the preference calls run on (hisp/host/practice.ts, over PracticePreferences). */
export interface PreferencesHost {
  /** What Settings shows; PROFILE_LOCKED when locked. */
  get(): Preferences;
  /** Save, apply (mail restarted, auto-lock re-armed) and return what Settings shows now. */
  update(params: CallParams<'updatePreferences'>): Promise<Preferences>;
  /** The accounts a connection test with typed values tries. */
  testAccounts(params: CallParams<'testConnection'>): Pick<MailConfig, 'relay' | 'upstream'>;
  /** SETTING_MANAGED when the organisation locked `setting` (`what` names it in the error). */
  refuseIfManaged(setting: LockableSetting, what: string): void;
}

/** What the mail calls run on: hisp/host/mailService.ts MailService. */
export interface MailHost {
  /** Compose, sign, encrypt and queue; PROFILE_LOCKED when locked. */
  send(input: ComposeInput): Promise<SendResult>;
  /** The running mailbox; PROFILE_LOCKED when locked. */
  parts(): MailboxParts;
  /** Folder counts changed by a call (every mail window gets the `mailbox` event). */
  mailboxChanged(): void;
  /**
   * Try the relay or upstream account (the configured one, or `accounts` typed in Settings),
   * sending nothing; PROFILE_LOCKED when locked.
   */
  testConnection(
    target: ConnectionTest['target'],
    accounts?: Pick<MailConfig, 'relay' | 'upstream'>,
  ): Promise<ConnectionTest>;
}

/** The profile behind the HISP, which can be locked: hisp/host/session.ts ProfileSession. */
export interface SessionControl {
  readonly locked: boolean;
  lock(): Promise<void>;
  unlock(passphrase?: Buffer): Promise<void>;
  /** A call from a mail window: postpones the idle lock. */
  touch(): void;
  components(): ComponentStatus[];
}

/** What `checkRecipients` runs on: hisp/certs/discovery/service.ts RecipientService. */
export interface RecipientChecker {
  check(
    from: string,
    addresses: readonly string[],
    signal?: AbortSignal,
  ): Promise<RecipientCheck[]>;
}

/**
 * Something that reports its own health into the status (the bridge, the discovery…), or
 * several parts at once (the mail service: which parts exist follows its configuration).
 */
export type ComponentProbe = () => ComponentStatus | readonly ComponentStatus[];

export class Hisp {
  readonly channel: ChannelServer;
  readonly logger: Logger;
  readonly #options: HispOptions;
  readonly #now: () => Date;
  readonly #startedAt: Date;
  readonly #probes = new Map<string, ComponentProbe>();
  #state: Status['state'] = 'starting';
  readonly #alerts = new Map<Alert['kind'], Alert>();

  constructor(options: HispOptions) {
    this.#options = options;
    this.logger = options.logger;
    this.#now = options.now ?? (() => new Date());
    this.#startedAt = this.#now();
    const handlers: Handlers = {
      status: () => Promise.resolve(this.status()),
      lock: async () => {
        await this.#session().lock();
        return this.status();
      },
      unlock: async (params) => {
        const passphrase =
          params.passphrase === undefined ? undefined : Buffer.from(params.passphrase, 'utf8');
        try {
          await this.#session().unlock(passphrase);
        } finally {
          passphrase?.fill(0);
        }
        // The mail windows showed the lock screen meanwhile: tell them again what still holds.
        for (const alert of this.#alerts.values()) this.channel.broadcast('alert', alert);
        return this.status();
      },
      checkRecipients: async (params, context) => {
        if (options.session?.locked === true) {
          throw new HispError('PROFILE_LOCKED', 'The profile is locked. Unlock it to continue.');
        }
        const recipients = options.recipients;
        if (recipients === undefined) {
          throw new HispError(
            'PROFILE_NOT_FOUND',
            'This HISP runs without a profile, so it has no trust anchors to check recipients with.',
          );
        }
        return {
          recipients: await recipients.check(params.from, params.addresses, context.signal),
        };
      },
      sendMessage: async (params) => {
        const mail = this.#mail();
        const attachments = decodeAttachments(params.attachments);
        const sent = await mail.send({
          from: params.from,
          to: params.to,
          ...(params.cc === undefined ? {} : { cc: params.cc }),
          ...(params.bcc === undefined ? {} : { bcc: params.bcc }),
          subject: params.subject,
          text: params.text,
          ...(attachments.length === 0 ? {} : { attachments }),
          ...(params.inReplyTo === undefined ? {} : { inReplyTo: params.inReplyTo }),
          ...(params.references === undefined ? {} : { references: params.references }),
        });
        if (params.draftId !== undefined && sent.id !== undefined) {
          mail.parts().store.deleteDraft(params.draftId);
          mail.mailboxChanged();
        }
        return {
          ...(sent.id === undefined ? {} : { id: sent.id }),
          ...(sent.messageId === undefined ? {} : { messageId: sent.messageId }),
          recipients: sent.recipients.map((r) => ({
            address: r.address,
            state: r.state,
            check: r.check,
          })),
        };
      },
      testConnection: (params) => {
        const mail = this.#mail();
        const typed = params.relay !== undefined || params.upstream !== undefined;
        return typed
          ? mail.testConnection(params.target, this.#preferences().testAccounts(params))
          : mail.testConnection(params.target);
      },
      getPreferences: () => Promise.resolve(this.#preferences().get()),
      updatePreferences: (params) => this.#preferences().update(params),
      ...mailboxHandlers(
        () => this.#mail().parts(),
        () => this.#options.mail?.mailboxChanged(),
      ),
      ...managedTrust(
        settingsHandlers(() => this.#settingsParts(), {
          logger: options.logger,
          fetcher: options.settings?.fetcher,
          identityImported: options.settings?.identityImported,
        }),
        (setting, what) => options.preferences?.refuseIfManaged(setting, what),
      ),
    };
    this.channel = new ChannelServer({
      handlers: withActivity(handlers, options.session),
      logger: options.logger,
      onConnect: (connection) => {
        connection.emit('status', this.status());
        // A window opened after an alert still hears of it while it holds.
        for (const alert of this.#alerts.values()) connection.emit('alert', alert);
      },
    });
  }

  /** The mail service, unlocked. */
  #mail(): MailHost {
    if (this.#options.session?.locked === true) {
      throw new HispError('PROFILE_LOCKED', 'The profile is locked. Unlock it to continue.');
    }
    const mail = this.#options.mail;
    if (mail === undefined) {
      throw new HispError(
        'PROFILE_NOT_FOUND',
        'This HISP runs without a mailbox: start it with a profile and a mail configuration (sealpost serve --profile DIR --config FILE).',
      );
    }
    return mail;
  }

  /** The preferences, unlocked. */
  #preferences(): PreferencesHost {
    if (this.#options.session?.locked === true) {
      throw new HispError('PROFILE_LOCKED', 'The profile is locked. Unlock it to continue.');
    }
    const preferences = this.#options.preferences;
    if (preferences === undefined) {
      throw new HispError(
        'PROFILE_NOT_FOUND',
        'This HISP runs without a profile, so it has no preferences: start it with one (sealpost serve --profile DIR).',
      );
    }
    return preferences;
  }

  /** The profile and trust store the settings calls work on, unlocked. */
  #settingsParts(): SettingsParts {
    if (this.#options.session?.locked === true) {
      throw new HispError('PROFILE_LOCKED', 'The profile is locked. Unlock it to continue.');
    }
    const settings = this.#options.settings;
    if (settings === undefined) {
      throw new HispError(
        'PROFILE_NOT_FOUND',
        'This HISP runs without a profile: start it with one (sealpost serve --profile DIR).',
      );
    }
    return settings.parts();
  }

  #session(): SessionControl {
    const session = this.#options.session;
    if (session === undefined) {
      throw new HispError(
        'PROFILE_NOT_FOUND',
        'This HISP runs with a throwaway demo profile, which cannot be locked.',
      );
    }
    return session;
  }

  /** Tell every mail window, now and on connecting, until {@link clearAlert}. */
  raiseAlert(alert: Alert): void {
    this.#alerts.set(alert.kind, alert);
    this.channel.broadcast('alert', alert);
  }

  /** The condition behind an alert of this kind is over (new windows are no longer told). */
  clearAlert(kind: Alert['kind']): void {
    this.#alerts.delete(kind);
  }

  /** Re-send the status to every mail window (after a lock, an unlock…). */
  statusChanged(): void {
    this.#statusChanged();
  }

  addComponent(name: string, probe: ComponentProbe): void {
    this.#probes.set(name, probe);
    this.#statusChanged();
  }

  removeComponent(name: string): void {
    if (this.#probes.delete(name)) this.#statusChanged();
  }

  start(): void {
    this.#state = 'ready';
    this.logger.info('HISP ready', { mode: this.#options.mode, version: VERSION });
    this.#statusChanged();
  }

  stop(): void {
    if (this.#state === 'stopping') return;
    this.#state = 'stopping';
    this.#statusChanged();
    this.channel.closeAll();
    this.logger.info('HISP stopped');
  }

  status(): Status {
    const now = this.#now();
    return {
      product: PRODUCT,
      version: VERSION,
      state:
        this.#state === 'ready' && this.#options.session?.locked === true ? 'locked' : this.#state,
      mode: this.#options.mode,
      profile: { name: this.#options.profile.name, throwaway: this.#options.profile.throwaway },
      startedAt: this.#startedAt.toISOString(),
      uptimeMs: Math.max(0, now.getTime() - this.#startedAt.getTime()),
      components: [
        { name: 'api', state: 'ok' },
        ...(this.#options.session?.components() ?? []),
        ...[...this.#probes.values()].flatMap((probe) => probe()),
      ],
    };
  }

  #statusChanged(): void {
    this.channel.broadcast('status', this.status());
  }
}

/**
 * Every call but `status` (which the UI polls on its own) counts as use of the profile and
 * postpones the idle lock.
 */
/**
 * The trust calls that change anchors or bundles, refused (SETTING_MANAGED) when the
 * organisation locked them; reading and refreshing stay open.
 */
function managedTrust<
  T extends Pick<Handlers, 'importAnchors' | 'removeAnchor' | 'addBundle' | 'removeBundle'>,
>(handlers: T, refuse: (setting: LockableSetting, what: string) => void): T {
  return {
    ...handlers,
    importAnchors: (params, context) => {
      refuse('trustAnchors', 'The trust anchors list');
      return handlers.importAnchors(params, context);
    },
    removeAnchor: (params, context) => {
      refuse('trustAnchors', 'The trust anchors list');
      return handlers.removeAnchor(params, context);
    },
    addBundle: (params, context) => {
      refuse('trustBundles', 'The trust bundles list');
      return handlers.addBundle(params, context);
    },
    removeBundle: (params, context) => {
      refuse('trustBundles', 'The trust bundles list');
      return handlers.removeBundle(params, context);
    },
  };
}

function withActivity(handlers: Handlers, session: SessionControl | undefined): Handlers {
  if (session === undefined) return handlers;
  const wrapped: Record<string, unknown> = {};
  for (const [method, handler] of Object.entries(handlers) as [
    string,
    (p: never, c: never) => Promise<unknown>,
  ][]) {
    wrapped[method] =
      method === 'status'
        ? handler
        : (params: never, context: never) => {
            session.touch();
            return handler(params, context);
          };
  }
  return wrapped as Handlers;
}
