/**
 * Settings › Mail server and preferences as pure functions (no DOM; unit-tested in Node:
 * test/unit/renderer-preferences.test.ts): what the forms hold (every field as typed, a
 * string, so that a half-typed port is not lost), how a saved preference becomes a form, the
 * defaults when the kind of account changes, and how a form becomes the parameters of
 * `updatePreferences` or `testConnection` — or, before any call, which fields are wrong and
 * why, so the screen can tie each message to its field.
 *
 * Why the checks are repeated here when the HISP checks everything again: a message next to
 * the field ("Port: a whole number from 1 to 65535") is what people can act on; a zod error
 * from the far side of the bridge is not. The rules are the contract's (hisp/api/contract.ts
 * MailHostSchema, MailPortSchema, DeliverySettingSchema, AutoLockMinutesSchema), and a
 * produced value is parsed with the contract's own schema in the tests.
 *
 * Passwords: the HISP never returns one, only `passwordSet`. An empty password field means
 * "keep the saved one", which the HISP does while the server (host and port) and the user stay
 * the same; so a user with no saved password, or an account moved to another server or user,
 * needs one typed here.
 *
 * A relay or upstream account the organisation manages: its policy fixes the server (and the
 * account name, when it names one) but never the password, which the user types here; the
 * fields it leaves open (`editableFields`) are the user's. Only a password typed is saved as
 * `updatePreferences({ passwords })`; an open field changed too saves the account with the
 * policy's fields as they are (the HISP refuses any other change with SETTING_MANAGED).
 */
import type {
  CallParams,
  DeliverySetting,
  LockableSetting,
  Preferences,
  PreferenceSource,
  RelaySetting,
  RelayView,
  UpstreamSetting,
  UpstreamView,
} from '../../../hisp/api/index.js';

export type SecureMode = 'starttls' | 'implicit';
export type RelayKind = RelayView['kind'];
export type UpstreamKind = UpstreamView['kind'];
export type AfterStore = 'keep' | 'flag' | 'move' | 'delete';

export const RELAY_KINDS: readonly RelayKind[] = ['none', 'smarthost', 'mx'];
export const UPSTREAM_KINDS: readonly UpstreamKind[] = ['none', 'imap'];
export const SECURE_MODES: readonly SecureMode[] = ['starttls', 'implicit'];
export const AFTER_STORE_CHOICES: readonly AfterStore[] = ['keep', 'flag', 'move', 'delete'];

/** The usual port of each TLS mode: SMTP submission, and IMAP. */
export const SMTP_PORTS: Readonly<Record<SecureMode, number>> = { starttls: 587, implicit: 465 };
export const IMAP_PORTS: Readonly<Record<SecureMode, number>> = { starttls: 143, implicit: 993 };

/** The bounds of the contract (hisp/api/contract.ts). */
export const LIMITS = {
  timeoutHours: { min: 0.05, max: 720 },
  silenceAlertHours: { min: 0, max: 720 },
  autoLockMinutes: { min: 0, max: 1440 },
  hostLength: 253,
  userLength: 256,
  passwordLength: 1024,
  mailboxLength: 256,
  exceptions: 1000,
} as const;

const HOST = /^[A-Za-z0-9._:[\]-]+$/;
const DIGITS = /^[0-9]+$/;
const DECIMAL = /^[0-9]+(\.[0-9]+)?$/;

// ── The forms ─────────────────────────────────────────────────────────────────────────────

/** A mail server and the account on it: the relay's smarthost, or the upstream IMAP mailbox. */
export interface AccountForm {
  readonly host: string;
  readonly port: string;
  readonly secure: SecureMode;
  readonly user: string;
  /** What was typed; '' keeps the saved password. Never filled from the HISP. */
  readonly password: string;
}

export interface RelayForm extends AccountForm {
  readonly kind: RelayKind;
  /** Domains allowed without TLS (mx), one per line (commas and spaces also separate). */
  readonly exceptions: string;
}

export interface UpstreamForm extends AccountForm {
  readonly kind: UpstreamKind;
  /** '' reads INBOX. */
  readonly mailbox: string;
  readonly afterStore: AfterStore;
  readonly moveTo: string;
}

/** The fields of an account, in the order the screen shows them. */
const ACCOUNT_FIELDS = ['host', 'port', 'secure', 'user', 'password'] as const;

/**
 * Each account form's fields in the order the screen shows them (the first wrong one is the
 * one focused), all of them the profile's own to change.
 */
export const RELAY_FIELDS: readonly (keyof RelayForm)[] = ['kind', ...ACCOUNT_FIELDS, 'exceptions'];
export const UPSTREAM_FIELDS: readonly (keyof UpstreamForm)[] = [
  'kind',
  ...ACCOUNT_FIELDS,
  'mailbox',
  'afterStore',
  'moveTo',
];

export interface DeliveryForm {
  readonly timeoutHours: string;
  readonly requestDispatched: boolean;
  readonly silenceAlertHours: string;
}

export interface AutoLockForm {
  readonly minutes: string;
}

/** The saved relay as a form (no password: an empty field keeps the saved one). */
export function relayForm(view: RelayView): RelayForm {
  const blank: RelayForm = {
    kind: view.kind,
    host: '',
    port: String(SMTP_PORTS.starttls),
    secure: 'starttls',
    user: '',
    password: '',
    exceptions: '',
  };
  switch (view.kind) {
    case 'none':
      return blank;
    case 'smarthost':
      return {
        ...blank,
        host: view.host,
        port: String(view.port),
        secure: view.secure,
        user: view.user ?? '',
      };
    case 'mx':
      return { ...blank, exceptions: view.exceptions.join('\n') };
  }
}

/** The saved upstream account as a form. */
export function upstreamForm(view: UpstreamView): UpstreamForm {
  const blank: UpstreamForm = {
    kind: view.kind,
    host: '',
    port: String(IMAP_PORTS.implicit),
    secure: 'implicit',
    user: '',
    password: '',
    mailbox: '',
    afterStore: 'keep',
    moveTo: '',
  };
  if (view.kind === 'none') return blank;
  return {
    ...blank,
    host: view.host,
    port: String(view.port),
    secure: view.secure,
    user: view.user,
    mailbox: view.mailbox ?? '',
    afterStore: view.afterStore,
    moveTo: view.moveTo ?? '',
  };
}

export function deliveryForm(setting: DeliverySetting): DeliveryForm {
  return {
    timeoutHours: String(setting.timeoutHours),
    requestDispatched: setting.requestDispatched,
    silenceAlertHours: String(setting.silenceAlertHours),
  };
}

export function autoLockForm(minutes: number): AutoLockForm {
  return { minutes: String(minutes) };
}

/**
 * The relay form with another kind chosen. A smarthost starts on 587 with STARTTLS (what mail
 * providers give for submission) unless a server was already typed; the fields of the other
 * kinds are kept, so switching back loses nothing.
 */
export function withRelayKind(form: RelayForm, kind: RelayKind): RelayForm {
  if (kind === form.kind) return form;
  if (kind === 'smarthost' && form.host.trim() === '') {
    return { ...form, kind, port: String(SMTP_PORTS.starttls), secure: 'starttls' };
  }
  return { ...form, kind };
}

/** The upstream form with another kind chosen: IMAP starts on 993 with implicit TLS. */
export function withUpstreamKind(form: UpstreamForm, kind: UpstreamKind): UpstreamForm {
  if (kind === form.kind) return form;
  if (kind === 'imap' && form.host.trim() === '') {
    return { ...form, kind, port: String(IMAP_PORTS.implicit), secure: 'implicit' };
  }
  return { ...form, kind };
}

/**
 * Another TLS mode chosen: the port follows when it was the usual port of the old mode (587 ↔
 * 465 for SMTP, 143 ↔ 993 for IMAP); a port of its own is kept.
 */
export function withSecure<F extends { readonly port: string; readonly secure: SecureMode }>(
  form: F,
  secure: SecureMode,
  ports: Readonly<Record<SecureMode, number>>,
): F {
  const port = form.port.trim() === String(ports[form.secure]) ? String(ports[secure]) : form.port;
  return { ...form, secure, port };
}

// ── Checking a form ───────────────────────────────────────────────────────────────────────

/** What is wrong, per field (the keys are the form's field names). */
export type FieldProblems<F> = { [K in keyof F & string]?: string | undefined };

/** A form as contract values, or what is wrong with it. */
export type Checked<T, F> =
  | { readonly ok: true; readonly value: T; readonly password?: string }
  | { readonly ok: false; readonly problems: FieldProblems<F> };

function hostProblem(value: string): string | undefined {
  if (value === '') return 'Type the server’s host name or IP address.';
  if (value.length > LIMITS.hostLength) return 'A host name is at most 253 characters.';
  if (!HOST.test(value)) {
    return 'A host name or IP address only: letters, digits, dots and dashes (no “smtp://”, no port, no spaces).';
  }
  return undefined;
}

function portOf(value: string): number | string {
  const text = value.trim();
  const port = Number(text);
  if (!DIGITS.test(text) || port < 1 || port > 65_535) return 'A whole number from 1 to 65535.';
  return port;
}

/** A number typed in a field, within bounds; `whole`: no fraction. */
export function numberInRange(
  value: string,
  bounds: { readonly min: number; readonly max: number },
  whole = false,
): number | string {
  const text = value.trim();
  const number = Number(text);
  const shape = whole ? DIGITS : DECIMAL;
  if (!shape.test(text) || number < bounds.min || number > bounds.max) {
    return `${whole ? 'A whole number' : 'A number'} from ${bounds.min} to ${bounds.max}.`;
  }
  return number;
}

/** The server and user a saved password belongs to. */
interface SavedAccount {
  readonly host: string;
  readonly port: number;
  readonly user?: string | undefined;
  readonly passwordSet: boolean;
}

function savedAccount(view: RelayView | UpstreamView | undefined): SavedAccount | undefined {
  if (view === undefined || (view.kind !== 'smarthost' && view.kind !== 'imap')) return undefined;
  return view;
}

/**
 * Whether the HISP still has a password for this server and user: one is saved and the host
 * (any case), port and user are the ones it was saved for.
 */
export function keepsSavedPassword(
  saved: RelayView | UpstreamView | undefined,
  account: { readonly host: string; readonly port: number; readonly user: string },
): boolean {
  const was = savedAccount(saved);
  return (
    was !== undefined &&
    was.passwordSet &&
    was.host.toLowerCase() === account.host.toLowerCase() &&
    was.port === account.port &&
    (was.user ?? '') === account.user
  );
}

function passwordProblem(password: string): string | undefined {
  return password.length > LIMITS.passwordLength
    ? 'A password is at most 1024 characters.'
    : undefined;
}

const NEEDS_PASSWORD = 'Type the password for this user (none is saved for this server and user).';

/** An account's server and user as typed and checked (`port`: a number, or what is wrong). */
interface CheckedAccount {
  readonly host: string;
  readonly port: number | string;
  readonly user: string;
  readonly problems: FieldProblems<AccountForm>;
}

/**
 * The server and account fields of a form, checked: `userRequired` for an IMAP account (a
 * relay may need none). With a user named and no password typed, the HISP must still have one
 * for this server and user.
 */
function checkAccount(
  form: AccountForm,
  saved: RelayView | UpstreamView | undefined,
  userRequired: boolean,
): CheckedAccount {
  const problems: FieldProblems<AccountForm> = {};
  const host = form.host.trim();
  const user = form.user.trim();
  const hostWrong = hostProblem(host);
  if (hostWrong !== undefined) problems.host = hostWrong;
  const port = portOf(form.port);
  if (typeof port === 'string') problems.port = port;
  if (userRequired && user === '') problems.user = 'Type the account’s user name.';
  else if (user.length > LIMITS.userLength)
    problems.user = 'A user name is at most 256 characters.';
  const passwordWrong = passwordProblem(form.password);
  if (passwordWrong !== undefined) problems.password = passwordWrong;
  else if (
    user !== '' &&
    form.password === '' &&
    typeof port === 'number' &&
    !keepsSavedPassword(saved, { host, port, user })
  ) {
    problems.password = NEEDS_PASSWORD;
  }
  return { host, port, user, problems };
}

/** The domains of the MX exceptions field, split on lines, commas and spaces. */
export function exceptionDomains(text: string): string[] {
  return text
    .split(/[\s,;]+/)
    .map((domain) => domain.trim())
    .filter((domain) => domain !== '');
}

/**
 * The relay form as a contract value, with the typed password if any. `saved` is the relay as
 * the HISP shows it now (for whether a password is kept).
 */
export function checkRelay(form: RelayForm, saved?: RelayView): Checked<RelaySetting, RelayForm> {
  switch (form.kind) {
    case 'none':
      return { ok: true, value: { kind: 'none' } };
    case 'mx': {
      const domains = exceptionDomains(form.exceptions);
      const bad = domains.find((domain) => hostProblem(domain) !== undefined);
      if (bad !== undefined) {
        return {
          ok: false,
          problems: { exceptions: `“${bad}” is not a domain name.` },
        };
      }
      if (domains.length > LIMITS.exceptions) {
        return { ok: false, problems: { exceptions: 'At most 1000 domains.' } };
      }
      return { ok: true, value: { kind: 'mx', exceptions: [...new Set(domains)] } };
    }
    case 'smarthost': {
      const { host, port, user, problems } = checkAccount(form, saved, false);
      if (Object.keys(problems).length > 0 || typeof port === 'string') {
        return { ok: false, problems };
      }
      return {
        ok: true,
        value: {
          kind: 'smarthost',
          host,
          port,
          secure: form.secure,
          ...(user === '' ? {} : { user }),
        },
        ...(form.password === '' || user === '' ? {} : { password: form.password }),
      };
    }
  }
}

/** The upstream form as a contract value, with the typed password if any. */
export function checkUpstream(
  form: UpstreamForm,
  saved?: UpstreamView,
): Checked<UpstreamSetting, UpstreamForm> {
  if (form.kind === 'none') return { ok: true, value: { kind: 'none' } };
  const account = checkAccount(form, saved, true);
  const { host, port, user } = account;
  const problems: FieldProblems<UpstreamForm> = { ...account.problems };
  const mailbox = form.mailbox.trim();
  const moveTo = form.moveTo.trim();
  if (mailbox.length > LIMITS.mailboxLength) problems.mailbox = 'At most 256 characters.';
  if (form.afterStore === 'move') {
    if (moveTo === '') problems.moveTo = 'Name the mailbox to move stored messages to.';
    else if (moveTo.length > LIMITS.mailboxLength) problems.moveTo = 'At most 256 characters.';
    else if (moveTo === (mailbox === '' ? 'INBOX' : mailbox)) {
      problems.moveTo = 'Moving to the mailbox that is read would read them again: name another.';
    }
  }
  if (Object.keys(problems).length > 0 || typeof port === 'string') {
    return { ok: false, problems };
  }
  return {
    ok: true,
    value: {
      kind: 'imap',
      host,
      port,
      secure: form.secure,
      user,
      ...(mailbox === '' ? {} : { mailbox }),
      afterStore: form.afterStore,
      ...(form.afterStore === 'move' ? { moveTo } : {}),
    },
    ...(form.password === '' ? {} : { password: form.password }),
  };
}

export function checkDelivery(form: DeliveryForm): Checked<DeliverySetting, DeliveryForm> {
  const problems: FieldProblems<DeliveryForm> = {};
  const timeoutHours = numberInRange(form.timeoutHours, LIMITS.timeoutHours);
  if (typeof timeoutHours === 'string') problems.timeoutHours = timeoutHours;
  const silenceAlertHours = numberInRange(form.silenceAlertHours, LIMITS.silenceAlertHours);
  if (typeof silenceAlertHours === 'string') problems.silenceAlertHours = silenceAlertHours;
  if (typeof timeoutHours === 'string' || typeof silenceAlertHours === 'string') {
    return { ok: false, problems };
  }
  return {
    ok: true,
    value: { timeoutHours, requestDispatched: form.requestDispatched, silenceAlertHours },
  };
}

export function checkAutoLock(form: AutoLockForm): Checked<number, AutoLockForm> {
  const minutes = numberInRange(form.minutes, LIMITS.autoLockMinutes, true);
  return typeof minutes === 'string'
    ? { ok: false, problems: { minutes } }
    : { ok: true, value: minutes };
}

// ── Contract parameters ───────────────────────────────────────────────────────────────────

export type UpdateParams = CallParams<'updatePreferences'>;
export type TestParams = CallParams<'testConnection'>;

/**
 * The fields of an account form that can be changed here: `all` for the profile's own, none
 * for the configuration file's or for an organisation's group that is no account (`isAccount`
 * false); for the organisation's account, those of `open` its policy did not fix
 * (`managedFields`), or `older` when the HISP does not say (an older HISP).
 */
function editableFields<K extends string>(
  source: PreferenceSource,
  isAccount: boolean,
  managedFields: readonly string[] | undefined,
  fields: { readonly all: readonly K[]; readonly open: readonly K[]; readonly older: readonly K[] },
): ReadonlySet<K> {
  if (source === 'profile') return new Set(fields.all);
  if (source === 'config' || !isAccount) return new Set();
  if (managedFields === undefined) return new Set(fields.older);
  return new Set(fields.open.filter((field) => !managedFields.includes(field)));
}

/**
 * The fields of the relay form that can be changed here: all for the profile's own, none for
 * the configuration file's; for the organisation's, those its policy leaves open
 * (`managedFields` lists the ones it fixed) and the password. Without `managedFields` (an
 * older HISP) an account name is taken as fixed once there is one.
 */
export function relayEditable(
  view: RelayView,
  source: PreferenceSource,
  managedFields?: readonly string[],
): ReadonlySet<keyof RelayForm> {
  return editableFields<keyof RelayForm>(source, view.kind === 'smarthost', managedFields, {
    all: RELAY_FIELDS,
    open: ACCOUNT_FIELDS,
    older:
      view.kind === 'smarthost' && view.user === undefined ? ['user', 'password'] : ['password'],
  });
}

/**
 * The fields of the upstream form that can be changed here: for the organisation's account,
 * the password, what happens after storing (the policy has no say in it), and the account name
 * when its policy names none.
 */
export function upstreamEditable(
  view: UpstreamView,
  source: PreferenceSource,
  managedFields?: readonly string[],
): ReadonlySet<keyof UpstreamForm> {
  return editableFields<keyof UpstreamForm>(source, view.kind === 'imap', managedFields, {
    all: UPSTREAM_FIELDS,
    open: UPSTREAM_FIELDS.filter((field) => field !== 'kind'),
    older: [
      ...(view.kind === 'imap' && view.user === '' ? (['user'] as const) : []),
      'password',
      'afterStore',
      'moveTo',
    ],
  });
}

/** Whether `form` differs from `base` in anything but the password. */
function changedBesidesPassword<F extends { readonly password: string }>(
  form: F,
  base: F,
): boolean {
  return Object.keys(form).some(
    (key) => key !== 'password' && form[key as keyof F] !== base[key as keyof F],
  );
}

/**
 * The relay form as `updatePreferences` parameters: the relay, with the password if one was
 * typed. An account the organisation manages with only a password typed is saved as that
 * password alone.
 */
export function relayUpdate(
  form: RelayForm,
  saved: RelayView,
  source: PreferenceSource,
): Checked<UpdateParams, RelayForm> {
  return accountUpdate(
    'relay',
    form,
    relayForm(saved),
    source,
    () => checkRelay(form, saved),
    (relay) => ({ relay }),
  );
}

export function upstreamUpdate(
  form: UpstreamForm,
  saved: UpstreamView,
  source: PreferenceSource,
): Checked<UpdateParams, UpstreamForm> {
  return accountUpdate(
    'upstream',
    form,
    upstreamForm(saved),
    source,
    () => checkUpstream(form, saved),
    (upstream) => ({ upstream }),
  );
}

/**
 * An account form as `updatePreferences` parameters (see `relayUpdate`): `savedForm` is the
 * saved account as a form, `check` the form's own check, `params` its value as parameters
 * (the typed password is added).
 */
function accountUpdate<F extends AccountForm, V>(
  target: AccountTarget,
  form: F,
  savedForm: F,
  source: PreferenceSource,
  check: () => Checked<V, F>,
  params: (value: V) => UpdateParams,
): Checked<UpdateParams, F> {
  if (source === 'organisation' && !changedBesidesPassword(form, savedForm)) {
    return managedPasswordUpdate(target, form.password);
  }
  return withPassword(check(), (value, password) => ({
    ...params(value),
    ...(password === undefined ? {} : { passwords: passwordsOf(target, password) }),
  }));
}

/** Which account a password is for. */
type AccountTarget = 'relay' | 'upstream';

/** A typed password as `updatePreferences`' `passwords`. */
function passwordsOf(
  target: AccountTarget,
  password: string,
): NonNullable<UpdateParams['passwords']> {
  return target === 'relay' ? { relay: password } : { upstream: password };
}

/** A checked account as call parameters (`params`), given its value and its typed password. */
function withPassword<V, T, F>(
  checked: Checked<V, F>,
  params: (value: V, password: string | undefined) => T,
): Checked<T, F> {
  return checked.ok ? { ok: true, value: params(checked.value, checked.password) } : checked;
}

function managedPasswordUpdate(
  target: AccountTarget,
  password: string,
): Checked<UpdateParams, { password: string }> {
  if (password === '') {
    return {
      ok: false,
      problems: {
        password: 'Your organisation sets this account: type its password to save it.',
      },
    };
  }
  const wrong = passwordProblem(password);
  if (wrong !== undefined) return { ok: false, problems: { password: wrong } };
  return {
    ok: true,
    value: { passwords: passwordsOf(target, password) },
  };
}

export function deliveryUpdate(form: DeliveryForm): Checked<UpdateParams, DeliveryForm> {
  const checked = checkDelivery(form);
  return checked.ok ? { ok: true, value: { delivery: checked.value } } : checked;
}

export function autoLockUpdate(form: AutoLockForm): Checked<UpdateParams, AutoLockForm> {
  const checked = checkAutoLock(form);
  return checked.ok ? { ok: true, value: { autoLockMinutes: checked.value } } : checked;
}

/**
 * "Test connection" of the account as typed (before it is saved): the relay or upstream
 * value and the typed password, if any (none: the HISP uses the saved one for the same server
 * and user). A relay or upstream of kind 'none' or 'mx' has nothing to try.
 */
export function relayTest(form: RelayForm, saved: RelayView): Checked<TestParams, RelayForm> {
  if (form.kind !== 'smarthost') {
    return {
      ok: false,
      problems: {
        kind:
          form.kind === 'mx'
            ? 'Delivery straight to each recipient’s server has no single server to test.'
            : 'Choose a mail provider’s server first: there is nothing to test.',
      },
    };
  }
  return withPassword(checkRelay(form, saved), (relay, password) => ({
    target: 'relay',
    relay,
    ...(password === undefined ? {} : { password }),
  }));
}

export function upstreamTest(
  form: UpstreamForm,
  saved: UpstreamView,
): Checked<TestParams, UpstreamForm> {
  if (form.kind !== 'imap') {
    return {
      ok: false,
      problems: { kind: 'Choose an IMAP mailbox first: there is nothing to test.' },
    };
  }
  return withPassword(checkUpstream(form, saved), (upstream, password) => ({
    target: 'upstream',
    upstream,
    ...(password === undefined ? {} : { password }),
  }));
}

// ── Where a group comes from, in words ────────────────────────────────────────────────────

/** What the screen says about a group that cannot be changed here (undefined: it can). */
export interface SourceNote {
  readonly source: Exclude<PreferenceSource, 'profile'>;
  /** The badge or sentence. */
  readonly text: string;
  /** More, for the tooltip and the accessible description. */
  readonly detail?: string;
}

export const MANAGED_TEXT = 'Managed by your organisation';

/** Why a group is read-only: the organisation's policy, or the configuration file. */
export function sourceNote(
  source: PreferenceSource,
  files: Pick<Preferences, 'configFile' | 'policyFile' | 'policyProblem'>,
): SourceNote | undefined {
  switch (source) {
    case 'profile':
      return undefined;
    case 'organisation':
      return managedNote(files);
    case 'config':
      return {
        source,
        text:
          files.configFile === undefined
            ? 'Set in the configuration file Sealpost was started with (or on its command line)'
            : `Set in the configuration file ${files.configFile}`,
        detail: 'Change it there and start Sealpost again.',
      };
  }
}

/** The "Managed by your organisation" note, naming the policy file (and its problem) if known. */
export function managedNote(files: Pick<Preferences, 'policyFile' | 'policyProblem'>): SourceNote {
  const parts: string[] = [];
  if (files.policyFile !== undefined) parts.push(`Set by the policy file ${files.policyFile}.`);
  if (files.policyProblem !== undefined) {
    parts.push(
      `The policy file could not be used, so everything it could lock is locked: ${files.policyProblem}`,
    );
  }
  parts.push('Ask your IT staff to change it.');
  return { source: 'organisation', text: MANAGED_TEXT, detail: parts.join(' ') };
}

/** Whether the organisation manages this setting (trust anchors, trust bundles, …). */
export function isManaged(
  preferences: Pick<Preferences, 'managed'> | undefined,
  setting: LockableSetting,
): boolean {
  return preferences?.managed.includes(setting) ?? false;
}

// ── Words ─────────────────────────────────────────────────────────────────────────────────

export function relayKindLabel(kind: RelayKind): string {
  switch (kind) {
    case 'none':
      return 'None (messages wait in the Outbox)';
    case 'smarthost':
      return 'Through your mail provider’s server';
    case 'mx':
      return 'Directly to each recipient’s server';
  }
}

export function upstreamKindLabel(kind: UpstreamKind): string {
  return kind === 'none' ? 'None (Direct mail arrives on this computer’s own server)' : 'IMAP';
}

export function secureLabel(secure: SecureMode): string {
  return secure === 'starttls' ? 'STARTTLS (required)' : 'Implicit TLS';
}

export function afterStoreLabel(choice: AfterStore): string {
  switch (choice) {
    case 'keep':
      return 'Leave it unchanged';
    case 'flag':
      return 'Mark it as read';
    case 'move':
      return 'Move it to another mailbox';
    case 'delete':
      return 'Delete it';
  }
}

/** The relay as a short sentence (for the "saved" announcement and the status). */
export function relaySummary(relay: RelaySetting | RelayView): string {
  switch (relay.kind) {
    case 'none':
      return 'no relay';
    case 'smarthost':
      return `${relay.host}:${relay.port}`;
    case 'mx':
      return 'each recipient’s server';
  }
}
