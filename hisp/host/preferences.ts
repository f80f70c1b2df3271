/**
 * Settings › Mail server and preferences (the `getPreferences` and `updatePreferences` calls):
 * the relay and upstream accounts, the delivery notification (MDN) preferences and auto-lock
 * of one practice, where each group comes from, and the mail configuration they make.
 *
 * Three sources, strongest first, decided per group:
 *
 * 1. `organisation`: the machine's policy file (hisp/host/policy.ts) locks the group. Its
 *    values are used and cannot be changed here. For the relay and upstream accounts the
 *    policy sets the server (and perhaps the account name); what it leaves out — the password
 *    always, since the policy file is readable by every user, and the account name when it
 *    names none — the user fills in. A policy file the HISP cannot read locks every group
 *    (fail closed: a half-applied policy could leave unlocked what IT locked).
 * 2. `config`: the configuration file Sealpost was started with (`sealpost serve --config`,
 *    the desktop's `<data-dir>/config.json`) sets the group; auto-lock is `config` when given
 *    on serve's command line. Changed in the file, not here.
 * 3. `profile`: saved by this screen in the profile's encrypted database (the `settings`
 *    table, key `preferences`); until something is saved, the policy's unlocked presets and
 *    then the defaults apply.
 *
 * Passwords are saved in the same encrypted database, each bound to the server and account it
 * was typed for: when the host, port or account name of an account changes, the old password
 * is dropped rather than sent to the new server, and the change is refused unless a new one is
 * given. Passwords are never returned (only `passwordSet`), never logged, never audited. Every
 * saved change is audited as 'settings-change' with the groups changed.
 */
import { z } from 'zod';
import {
  AutoLockMinutesSchema,
  DeliverySettingSchema,
  RelaySettingSchema,
  UpstreamSettingSchema,
  type CallParams,
  type DeliverySetting,
  type LockableSetting,
  type Preferences,
  type PreferenceSource,
  type RelaySetting,
  type RelayView,
  type UpstreamSetting,
  type UpstreamView,
} from '../api/contract.js';
import { HispError } from '../api/errors.js';
import { LOCKABLE_SETTING_LIST } from '../api/lists.js';
import { DOMAIN } from '../cli/serveConfig.js';
import type { Logger } from '../log/logger.js';
import { AuditLog } from '../store/audit.js';
import type { Sqlite } from '../store/database.js';
import type { Profile } from '../store/profile.js';
import type { MailConfig } from './mailService.js';
import type { LoadedPolicy, Policy } from './policy.js';

/** Delivery preferences when nothing sets them (Direct's usual one-hour wait for `processed`). */
export const DEFAULT_DELIVERY: DeliverySetting = {
  timeoutHours: 1,
  requestDispatched: true,
  silenceAlertHours: 0,
};

/** The `settings` row the saved preferences live in. */
export const PREFERENCES_SETTING = 'preferences';

const PASSWORD_MAX = 1024;
const PATH_MAX = 4096;

/** A saved password and the account it was typed for. */
const SecretSchema = z.strictObject({
  host: z.string().max(253),
  port: z.number().int(),
  user: z.string().max(256),
  password: z.string().min(1).max(PASSWORD_MAX),
});
type Secret = z.infer<typeof SecretSchema>;

/** The saved row, checked when read: a row that does not fit is ignored (and logged). */
const StoredSchema = z.strictObject({
  relay: RelaySettingSchema.optional(),
  upstream: UpstreamSettingSchema.optional(),
  delivery: DeliverySettingSchema.optional(),
  autoLockMinutes: AutoLockMinutesSchema.optional(),
  secrets: z
    .strictObject({ relay: SecretSchema.optional(), upstream: SecretSchema.optional() })
    .optional(),
});
type Stored = z.infer<typeof StoredSchema>;

export interface PreferencesOptions {
  /** The mail settings of the configuration file ({} when there is none). */
  readonly file: MailConfig;
  /** That file's path, shown to the user ("set in the configuration file …"). */
  readonly configFile?: string | undefined;
  /** Auto-lock minutes given on the command line (serve --auto-lock-minutes): source `config`. */
  readonly autoLockFromCommandLine?: number | undefined;
  /** Auto-lock when nothing else sets it. */
  readonly autoLockDefault: number;
  /** The policy in force (absent or not found: none). */
  readonly policy?: LoadedPolicy | undefined;
  /** Why the policy file could not be used: every lockable setting is then locked. */
  readonly policyProblem?: HispError | undefined;
  /** Where the profile's data is kept. */
  readonly dataLocation: string;
  readonly logger: Logger;
  readonly now?: () => Date;
}

/** One group as resolved: its setting, where it comes from, and what the policy fixes. */
interface Resolved<T> {
  readonly value: T;
  readonly source: PreferenceSource;
  readonly managedFields?: readonly string[];
}

type UpdateParams = CallParams<'updatePreferences'>;
type TestParams = CallParams<'testConnection'>;

const NONE = { kind: 'none' } as const;

function clampText(text: string, max: number): string {
  return text.length <= max ? text : `…${text.slice(-(max - 1))}`;
}

/** The account a password belongs to, or undefined when the setting has none. */
function accountOf(setting: RelaySetting | UpstreamSetting): Omit<Secret, 'password'> | undefined {
  if (setting.kind === 'smarthost' || setting.kind === 'imap') {
    return setting.user === undefined
      ? undefined
      : { host: setting.host.toLowerCase(), port: setting.port, user: setting.user };
  }
  return undefined;
}

function sameAccount(a: Omit<Secret, 'password'> | undefined, b: Secret | undefined): boolean {
  return (
    a !== undefined &&
    b !== undefined &&
    a.host === b.host &&
    a.port === b.port &&
    a.user === b.user
  );
}

/** The password saved for `setting`'s account, if the saved one was typed for that account. */
function passwordFor(setting: RelaySetting | UpstreamSetting, secret: Secret | undefined) {
  return sameAccount(accountOf(setting), secret) ? secret?.password : undefined;
}

/** The relay of the policy, as a setting, and the fields it fixes. */
function policyRelay(policy: Policy): { value: RelaySetting; fields: string[] } | undefined {
  const relay = policy.relay;
  if (relay === undefined) return undefined;
  if ('smarthost' in relay) {
    const { host, port, secure, user } = relay.smarthost;
    return {
      value: { kind: 'smarthost', host, port, secure, ...(user === undefined ? {} : { user }) },
      fields: ['kind', 'host', 'port', 'secure', ...(user === undefined ? [] : ['user'])],
    };
  }
  return {
    value: { kind: 'mx', exceptions: [...relay.mx.exceptions] },
    fields: ['kind', 'exceptions'],
  };
}

/** The upstream account of the policy (it has no after-store action: 'keep' unless saved). */
function policyUpstream(policy: Policy): { value: UpstreamSetting; fields: string[] } | undefined {
  const up = policy.upstream;
  if (up === undefined) return undefined;
  const fields = ['kind', 'host', 'port', 'secure'];
  if (up.user !== undefined) fields.push('user');
  if (up.mailbox !== undefined) fields.push('mailbox');
  return {
    value: {
      kind: 'imap',
      host: up.host,
      port: up.port,
      secure: up.secure,
      // An empty account name is what is left for the user to fill in.
      user: up.user ?? '',
      ...(up.mailbox === undefined ? {} : { mailbox: up.mailbox }),
      afterStore: 'keep',
    },
    fields,
  };
}

/**
 * `policyValue` with the fields the policy leaves open taken from `saved` (when `saved` is the
 * same kind): the account name, the after-store action…
 */
function withOpenFields<T extends { kind: string }>(
  policyValue: T,
  fields: readonly string[],
  saved: T | undefined,
): T {
  if (saved === undefined || saved.kind !== policyValue.kind) return policyValue;
  const out: Record<string, unknown> = { ...saved };
  for (const field of fields) {
    const fixed = (policyValue as Record<string, unknown>)[field];
    if (fixed === undefined) delete out[field];
    else out[field] = fixed;
  }
  return out as T;
}

/** The relay setting as the file configures it. */
function fileRelayView(relay: NonNullable<MailConfig['relay']>): RelayView {
  if (relay.kind === 'mx') return { kind: 'mx', exceptions: [...relay.exceptions] };
  return {
    kind: 'smarthost',
    host: relay.host,
    port: relay.port,
    secure: relay.secure,
    ...(relay.auth === undefined ? {} : { user: relay.auth.user }),
    passwordSet: relay.auth !== undefined,
  };
}

function fileUpstreamView(up: NonNullable<MailConfig['upstream']>): UpstreamView {
  return {
    kind: 'imap',
    host: up.host,
    port: up.port,
    secure: up.secure,
    user: up.user,
    ...(up.mailbox === undefined ? {} : { mailbox: up.mailbox }),
    afterStore: up.afterStore,
    ...(up.moveTo === undefined ? {} : { moveTo: up.moveTo }),
    passwordSet: true,
  };
}

/** A view as a setting (what the screen and the policy compare), for each kind. */
function withoutPasswordSet(view: RelayView): RelaySetting;
function withoutPasswordSet(view: UpstreamView): UpstreamSetting;
function withoutPasswordSet(view: RelayView | UpstreamView): RelaySetting | UpstreamSetting {
  if (view.kind !== 'smarthost' && view.kind !== 'imap') return view;
  const setting: Partial<typeof view> = { ...view };
  delete setting.passwordSet;
  return setting as RelaySetting | UpstreamSetting;
}

function fileDelivery(file: MailConfig): DeliverySetting | undefined {
  if (
    file.silenceAlertHours === undefined &&
    file.deliveryTimeoutHours === undefined &&
    file.requestDispatched === undefined
  ) {
    return undefined;
  }
  return {
    timeoutHours: file.deliveryTimeoutHours ?? DEFAULT_DELIVERY.timeoutHours,
    requestDispatched: file.requestDispatched ?? DEFAULT_DELIVERY.requestDispatched,
    silenceAlertHours: file.silenceAlertHours ?? DEFAULT_DELIVERY.silenceAlertHours,
  };
}

/** The relay of the mail configuration for a setting and its password. */
function relayConfig(setting: RelaySetting, password: string | undefined): MailConfig['relay'] {
  if (setting.kind === 'none') return undefined;
  if (setting.kind === 'mx') return { kind: 'mx', exceptions: [...setting.exceptions] };
  return {
    kind: 'smarthost',
    host: setting.host,
    port: setting.port,
    secure: setting.secure,
    ...(setting.user === undefined || password === undefined
      ? {}
      : { auth: { user: setting.user, pass: password } }),
  };
}

/** The upstream of the mail configuration; none until its password is known. */
function upstreamConfig(
  setting: UpstreamSetting,
  password: string | undefined,
): MailConfig['upstream'] {
  if (setting.kind === 'none' || password === undefined || setting.user === '') return undefined;
  return {
    host: setting.host,
    port: setting.port,
    secure: setting.secure,
    user: setting.user,
    pass: password,
    ...(setting.mailbox === undefined ? {} : { mailbox: setting.mailbox }),
    afterStore: setting.afterStore,
    ...(setting.moveTo === undefined ? {} : { moveTo: setting.moveTo }),
  };
}

function invalid(message: string): HispError {
  return new HispError('SETTING_INVALID', message);
}

/** Checks what the schema cannot: domain names, the move-to mailbox. */
function checkRelay(setting: RelaySetting): void {
  if (setting.kind === 'mx') {
    if (setting.exceptions.length > 100) {
      throw invalid('At most 100 domains may receive without TLS.');
    }
    const bad = setting.exceptions.find((domain) => !DOMAIN.test(domain));
    if (bad !== undefined) {
      throw invalid(`"${clampText(bad, 100)}" is not a domain name (domains allowed without TLS).`);
    }
  }
}

function checkUpstream(setting: UpstreamSetting): void {
  if (setting.kind !== 'imap') return;
  if (setting.moveTo !== undefined && setting.afterStore !== 'move') {
    throw invalid('A mailbox to move to is only for "move after storing".');
  }
  if (setting.afterStore === 'move' && setting.moveTo === undefined) {
    throw invalid('Name the mailbox messages are moved to after they are stored.');
  }
}

/** The preferences of one practice: what the screen shows, what mail runs on, what is saved. */
export class PracticePreferences {
  readonly #options: PreferencesOptions;
  readonly #log: Logger;

  constructor(options: PreferencesOptions) {
    this.#options = options;
    this.#log = options.logger.child({ component: 'preferences' });
  }

  /** The policy in force (defaults when there is no policy file). */
  get #policy(): Policy | undefined {
    const loaded = this.#options.policy;
    return loaded?.found === true ? loaded.policy : undefined;
  }

  /** Every setting the organisation locked (all of them when its policy could not be read). */
  managed(): LockableSetting[] {
    if (this.#options.policyProblem !== undefined) return [...LOCKABLE_SETTING_LIST];
    return [...(this.#policy?.lockedSettings ?? [])];
  }

  /** SETTING_MANAGED when the organisation locked `setting`. */
  refuseIfManaged(setting: LockableSetting, what: string): void {
    if (!this.managed().includes(setting)) return;
    const problem = this.#options.policyProblem;
    const where =
      problem !== undefined
        ? `, whose policy could not be read (${problem.message})`
        : this.#options.policy?.found === true
          ? ` (policy ${this.#options.policy.path})`
          : '';
    throw new HispError(
      'SETTING_MANAGED',
      `${what} is managed by your organisation${where}, so it cannot be changed here. Ask your IT staff.`,
    );
  }

  /** The saved row (empty when nothing is saved, or the row does not fit: logged). */
  #stored(profile: Profile): Stored {
    const row = profile.db.read(
      (db) =>
        db.prepare('SELECT value FROM settings WHERE key = ?').get(PREFERENCES_SETTING) as
          { value: string } | undefined,
    );
    if (row === undefined) return {};
    try {
      const parsed = StoredSchema.safeParse(JSON.parse(row.value));
      if (parsed.success) return parsed.data;
    } catch {
      // Falls through to the warning.
    }
    this.#log.warn('the saved preferences do not fit the schema and are not used');
    return {};
  }

  /**
   * One mail account group: the organisation's (with the fields it leaves open from what was
   * saved), the file's (shown only: the file's own account, with its TLS CA and password, is
   * what mail runs on), what was saved, or the unlocked preset.
   */
  #account<S extends { kind: string }>(
    group: 'relay' | 'upstream',
    preset: { value: S; fields: string[] } | undefined,
    fromFile: S | undefined,
    saved: S | undefined,
  ): Resolved<S | typeof NONE> {
    if (this.managed().includes(group)) {
      if (preset === undefined)
        return { value: NONE, source: 'organisation', managedFields: ['kind'] };
      return {
        value: withOpenFields(preset.value, preset.fields, saved),
        source: 'organisation',
        managedFields: preset.fields,
      };
    }
    if (fromFile !== undefined) return { value: fromFile, source: 'config' };
    return { value: saved ?? preset?.value ?? NONE, source: 'profile' };
  }

  #relay(stored: Stored): Resolved<RelaySetting> {
    const policy = this.#policy;
    const file = this.#options.file.relay;
    return this.#account(
      'relay',
      policy === undefined ? undefined : policyRelay(policy),
      file === undefined ? undefined : withoutPasswordSet(fileRelayView(file)),
      stored.relay,
    );
  }

  #upstream(stored: Stored): Resolved<UpstreamSetting> {
    const policy = this.#policy;
    const file = this.#options.file.upstream;
    return this.#account(
      'upstream',
      policy === undefined ? undefined : policyUpstream(policy),
      file === undefined ? undefined : withoutPasswordSet(fileUpstreamView(file)),
      stored.upstream,
    );
  }

  #delivery(stored: Stored): Resolved<DeliverySetting> {
    const fromPolicy = this.#policy?.delivery;
    const preset: DeliverySetting = {
      timeoutHours: fromPolicy?.timeoutHours ?? DEFAULT_DELIVERY.timeoutHours,
      requestDispatched: fromPolicy?.requestDispatched ?? DEFAULT_DELIVERY.requestDispatched,
      silenceAlertHours: fromPolicy?.silenceAlertHours ?? DEFAULT_DELIVERY.silenceAlertHours,
    };
    if (this.managed().includes('delivery')) return { value: preset, source: 'organisation' };
    const fromFile = fileDelivery(this.#options.file);
    if (fromFile !== undefined) return { value: fromFile, source: 'config' };
    return { value: stored.delivery ?? preset, source: 'profile' };
  }

  #autoLock(stored: Stored): Resolved<number> {
    const preset = this.#policy?.autoLockMinutes ?? this.#options.autoLockDefault;
    if (this.managed().includes('autoLock')) return { value: preset, source: 'organisation' };
    const commandLine = this.#options.autoLockFromCommandLine;
    if (commandLine !== undefined) return { value: commandLine, source: 'config' };
    return { value: stored.autoLockMinutes ?? preset, source: 'profile' };
  }

  /** What Settings shows. */
  view(profile: Profile): Preferences {
    const stored = this.#stored(profile);
    const relay = this.#relay(stored);
    const upstream = this.#upstream(stored);
    const delivery = this.#delivery(stored);
    const autoLock = this.#autoLock(stored);
    const relayView: RelayView =
      relay.source === 'config' && this.#options.file.relay !== undefined
        ? fileRelayView(this.#options.file.relay)
        : relay.value.kind === 'smarthost'
          ? {
              ...relay.value,
              passwordSet: passwordFor(relay.value, stored.secrets?.relay) !== undefined,
            }
          : relay.value;
    const upstreamView: UpstreamView =
      upstream.source === 'config' && this.#options.file.upstream !== undefined
        ? fileUpstreamView(this.#options.file.upstream)
        : upstream.value.kind === 'imap'
          ? {
              ...upstream.value,
              passwordSet: passwordFor(upstream.value, stored.secrets?.upstream) !== undefined,
            }
          : upstream.value;
    const sourced = <T>(resolved: Omit<Resolved<unknown>, 'value'>, value: T) => ({
      value,
      source: resolved.source,
      ...(resolved.managedFields === undefined
        ? {}
        : { managedFields: [...resolved.managedFields] }),
    });
    const policy = this.#options.policy;
    const problem = this.#options.policyProblem;
    return {
      relay: sourced(relay, relayView),
      upstream: sourced(upstream, upstreamView),
      delivery: sourced(delivery, delivery.value),
      autoLock: sourced(autoLock, autoLock.value),
      ...(this.#options.configFile === undefined
        ? {}
        : { configFile: clampText(this.#options.configFile, PATH_MAX) }),
      ...(policy?.found === true ? { policyFile: clampText(policy.path, PATH_MAX) } : {}),
      ...(problem === undefined ? {} : { policyProblem: clampText(problem.message, 2000) }),
      managed: this.managed(),
      autoUpdate: problem === undefined ? (this.#policy?.autoUpdate ?? true) : false,
      dataLocation: clampText(this.#options.dataLocation, PATH_MAX),
    };
  }

  /**
   * The mail configuration the practice runs on: the file's inbound, submission and DNS
   * settings with the relay, upstream and delivery preferences as resolved. Without an open
   * profile (nothing saved can be read) the file and the policy alone.
   */
  mailConfig(profile: Profile | undefined): MailConfig {
    const stored = profile === undefined ? {} : this.#stored(profile);
    const file = this.#options.file;
    const relay = this.#relay(stored);
    const upstream = this.#upstream(stored);
    const delivery = this.#delivery(stored).value;
    // The file's inbound, submission and DNS settings, whatever the groups below say.
    const rest: { -readonly [K in keyof MailConfig]: MailConfig[K] } = { ...file };
    delete rest.relay;
    delete rest.upstream;
    const relayRun =
      relay.source === 'config'
        ? file.relay
        : relayConfig(relay.value, passwordFor(relay.value, stored.secrets?.relay));
    const upstreamRun =
      upstream.source === 'config'
        ? file.upstream
        : upstreamConfig(upstream.value, passwordFor(upstream.value, stored.secrets?.upstream));
    return {
      ...rest,
      ...(relayRun === undefined ? {} : { relay: relayRun }),
      ...(upstreamRun === undefined ? {} : { upstream: upstreamRun }),
      deliveryTimeoutHours: delivery.timeoutHours,
      requestDispatched: delivery.requestDispatched,
      ...(delivery.silenceAlertHours > 0 ? { silenceAlertHours: delivery.silenceAlertHours } : {}),
    };
  }

  /** Minutes without use before the profile locks (0 = never). */
  autoLockMinutes(profile: Profile | undefined): number {
    return this.#autoLock(profile === undefined ? {} : this.#stored(profile)).value;
  }

  /**
   * The accounts a connection test tries: with `relay` or `upstream` in the params, the one
   * typed in Settings (the saved password when `password` is absent and the account is the
   * same); otherwise the ones mail runs on.
   */
  testAccounts(profile: Profile, params: TestParams): Pick<MailConfig, 'relay' | 'upstream'> {
    const stored = this.#stored(profile);
    if (params.target === 'relay' && params.relay !== undefined) {
      checkRelay(params.relay);
      const password = params.password ?? passwordFor(params.relay, stored.secrets?.relay);
      const relay = relayConfig(params.relay, password);
      return relay === undefined ? {} : { relay };
    }
    if (params.target === 'upstream' && params.upstream !== undefined) {
      checkUpstream(params.upstream);
      const password = params.password ?? passwordFor(params.upstream, stored.secrets?.upstream);
      if (params.upstream.kind === 'imap' && password === undefined) {
        throw invalid('Type the password of the upstream account to test it.');
      }
      const upstream = upstreamConfig(params.upstream, password);
      return upstream === undefined ? {} : { upstream };
    }
    return this.mailConfig(profile);
  }

  /**
   * Check and save the groups in `params` (and passwords), audited. Nothing is saved when one
   * group is refused. Returns the names of the groups changed.
   */
  update(profile: Profile, params: UpdateParams): string[] {
    const stored = this.#stored(profile);
    const next: { -readonly [K in keyof Stored]: Stored[K] } = { ...stored };
    const secrets: { relay?: Secret | undefined; upstream?: Secret | undefined } = {
      ...stored.secrets,
    };
    const changed: string[] = [];

    const relay = this.#relay(stored);
    const upstream = this.#upstream(stored);

    if (params.relay !== undefined) {
      this.#checkWritable('relay', relay, 'The relay', params.relay);
      checkRelay(params.relay);
      next.relay = params.relay;
      changed.push('relay');
    }
    if (params.upstream !== undefined) {
      this.#checkWritable('upstream', upstream, 'The upstream mailbox', params.upstream);
      checkUpstream(params.upstream);
      next.upstream = params.upstream;
      changed.push('upstream');
    }
    if (params.delivery !== undefined) {
      this.#checkGroup('delivery', this.#delivery(stored).source, 'Delivery notifications');
      next.delivery = params.delivery;
      changed.push('delivery');
    }
    if (params.autoLockMinutes !== undefined) {
      this.#checkGroup('autoLock', this.#autoLock(stored).source, 'Auto-lock');
      next.autoLockMinutes = params.autoLockMinutes;
      changed.push('autoLock');
    }

    // The accounts as they will be, and their passwords (a changed account drops the old one).
    const newRelay = this.#relay(next).value;
    const newUpstream = this.#upstream(next).value;
    const passwords: string[] = [];
    for (const [target, setting, given, source] of [
      ['relay', newRelay, params.passwords?.relay, relay.source],
      ['upstream', newUpstream, params.passwords?.upstream, upstream.source],
    ] as const) {
      const account = accountOf(setting);
      if (given !== undefined) {
        if (source === 'config') {
          throw new HispError(
            'SETTING_IN_CONFIG_FILE',
            `The ${target} account is set in the configuration file${this.#whereFile()}, with its password; change it there.`,
          );
        }
        if (account === undefined || account.user === '') {
          throw invalid(`The ${target} has no account name to go with the password.`);
        }
        secrets[target] = { ...account, password: given };
        passwords.push(target);
        continue;
      }
      if (source === 'config') continue;
      const kept = secrets[target];
      // Never sent to a server or account it was not typed for.
      const dropped = kept !== undefined && !sameAccount(account, kept);
      if (dropped) delete secrets[target];
      if (changed.includes(target) && account !== undefined && account.user !== '') {
        if (secrets[target] === undefined) {
          throw invalid(
            dropped
              ? `The ${target} server or account name changed: type its password (the saved one is never sent to a different server or account).`
              : `The ${target} account ${account.user} needs its password.`,
          );
        }
      }
    }
    if (changed.length === 0 && passwords.length === 0) return [];

    next.secrets = {
      ...(secrets.relay === undefined ? {} : { relay: secrets.relay }),
      ...(secrets.upstream === undefined ? {} : { upstream: secrets.upstream }),
    };
    const row = StoredSchema.parse(next);
    profile.db.transaction((db: Sqlite) => {
      db.prepare(
        `INSERT INTO settings (key, value) VALUES (?, ?)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
      ).run(PREFERENCES_SETTING, JSON.stringify(row));
      new AuditLog(
        profile,
        this.#options.now === undefined ? {} : { now: this.#options.now },
      ).appendIn(db, {
        action: 'settings-change',
        detail: {
          changed,
          ...(passwords.length === 0 ? {} : { passwordsChanged: passwords }),
          ...(params.relay === undefined ? {} : { relay: describeRelay(params.relay) }),
          ...(params.upstream === undefined ? {} : { upstream: describeUpstream(params.upstream) }),
          ...(params.delivery === undefined ? {} : { delivery: params.delivery }),
          ...(params.autoLockMinutes === undefined
            ? {}
            : { autoLockMinutes: params.autoLockMinutes }),
        },
      });
    });
    this.#log.info('preferences saved', {
      changed: changed.join(','),
      passwords: passwords.join(','),
    });
    return [...changed, ...passwords.filter((target) => !changed.includes(target))];
  }

  #whereFile(): string {
    return this.#options.configFile === undefined ? '' : ` ${this.#options.configFile}`;
  }

  #checkGroup(setting: LockableSetting, source: PreferenceSource, what: string): void {
    if (source === 'organisation') this.refuseIfManaged(setting, what);
    if (source === 'config') {
      throw new HispError(
        'SETTING_IN_CONFIG_FILE',
        `${what} is set in the configuration file${this.#whereFile()}; change it there.`,
      );
    }
  }

  /**
   * A relay or upstream change: refused when the file sets the group; when the organisation
   * manages it, allowed only for the fields its policy leaves open.
   */
  #checkWritable<T extends { kind: string }>(
    setting: 'relay' | 'upstream',
    current: Resolved<T>,
    what: string,
    wanted: T,
  ): void {
    if (current.source === 'config') this.#checkGroup(setting, 'config', what);
    if (current.source !== 'organisation') return;
    if (this.#options.policyProblem !== undefined) this.#checkGroup(setting, 'organisation', what);
    const fixed = current.managedFields ?? [];
    const differs = fixed.filter(
      (field) =>
        JSON.stringify((wanted as Record<string, unknown>)[field]) !==
        JSON.stringify((current.value as Record<string, unknown>)[field]),
    );
    if (differs.length > 0) {
      throw new HispError(
        'SETTING_MANAGED',
        `${what}'s ${differs.join(', ')} ${differs.length === 1 ? 'is' : 'are'} managed by your organisation, so ${differs.length === 1 ? 'it' : 'they'} cannot be changed here. Ask your IT staff.`,
      );
    }
  }
}

function describeRelay(relay: RelaySetting): string {
  if (relay.kind === 'none') return 'none';
  if (relay.kind === 'mx') return `mx (${relay.exceptions.length} domain(s) without TLS)`;
  return `smarthost ${relay.host}:${relay.port} ${relay.secure}${relay.user === undefined ? '' : ` as ${relay.user}`}`;
}

function describeUpstream(up: UpstreamSetting): string {
  if (up.kind === 'none') return 'none';
  return `imap ${up.host}:${up.port} ${up.secure} as ${up.user}, ${up.mailbox ?? 'INBOX'}, ${up.afterStore}`;
}
