/**
 * The forms of Settings › Mail server and preferences, one per group, each saved on its own
 * (`updatePreferences` with that group only, so a half-typed relay never blocks a change of
 * the auto-lock): the relay (none, a mail provider's server, or each recipient's server), the
 * upstream mailbox (none, or IMAP), delivery notifications, and auto-lock; then where the data
 * is kept (read-only).
 *
 * Each group says where it comes from (`getPreferences`' `source`): saved in this profile
 * (editable), managed by the organisation (its fields disabled under a "Managed by your
 * organisation" badge, except what the policy leaves to the user: an account's password,
 * which the policy file never holds, and the few fields preferencesModel.ts lists), or
 * set in the configuration file Sealpost was started with (disabled, naming the file). The
 * HISP refuses a locked group anyway (SETTING_MANAGED, SETTING_IN_CONFIG_FILE); disabling it
 * here only saves people from typing what cannot be kept.
 *
 * What the forms hold, how they are checked before any call and how they become contract
 * parameters is preferencesModel.ts (pure, unit-tested); here is only the rendering, the
 * focus on the first wrong field, and the calls. Passwords are never shown: a saved one is
 * "a password is saved", and an empty field keeps it.
 *
 * Every group keeps its state the same way (`useGroupForm`: the form, its problems, what the
 * last save did). The relay and the upstream mailbox are both an account on a mail server, so
 * one hook (`useAccountGroup`) adds what they share (the test of the account as typed, the
 * kind and TLS mode chosen), one component draws the server's fields (`ServerAccountFields`:
 * host, port, security, user, password) and one the form around them (`AccountGroupForm`);
 * each group only says its words, its ports and its own fields.
 */
import { useId, useState } from 'react';
import type { Dispatch, ReactElement, ReactNode, SetStateAction } from 'react';

import type {
  ConnectionTest,
  HispClient,
  Preferences,
  RelayView,
  UpstreamView,
} from '../../../hisp/api/index.js';
import { explainConnectionTest } from '../mail/explain.js';
import {
  CheckboxField,
  ConnectionTestResult,
  DoneNotice,
  Field,
  RadioChoice,
  SelectField,
  SourceBadge,
  TextAreaField,
} from './parts.js';
import {
  AFTER_STORE_CHOICES,
  afterStoreLabel,
  autoLockForm,
  autoLockUpdate,
  deliveryForm,
  deliveryUpdate,
  IMAP_PORTS,
  keepsSavedPassword,
  LIMITS,
  RELAY_FIELDS,
  RELAY_KINDS,
  relayForm,
  relayEditable,
  relayKindLabel,
  relaySummary,
  relayTest,
  relayUpdate,
  SECURE_MODES,
  secureLabel,
  SMTP_PORTS,
  sourceNote,
  UPSTREAM_FIELDS,
  UPSTREAM_KINDS,
  upstreamEditable,
  upstreamForm,
  upstreamKindLabel,
  upstreamTest,
  upstreamUpdate,
  withRelayKind,
  withSecure,
  withUpstreamKind,
} from './preferencesModel.js';
import type {
  AccountForm,
  AfterStore,
  Checked,
  FieldProblems,
  SecureMode,
  TestParams,
  UpdateParams,
} from './preferencesModel.js';
import { SettingsProblem } from './SettingsProblem.js';
import { useAction } from './useSettingsCall.js';
import type { Action } from './useSettingsCall.js';

/** What each group form is given. */
export interface GroupProps {
  readonly client: HispClient;
  readonly announce: (text: string) => void;
  readonly preferences: Preferences;
  /** Told the preferences as saved (the answer of `updatePreferences`). */
  readonly onSaved: (preferences: Preferences) => void;
}

/** Changing preferences restarts mail: give the HISP time. */
const SAVE_TIMEOUT_MS = 60_000;
/** A test connects, negotiates TLS and logs in, each with its own timeout in the HISP. */
const TEST_TIMEOUT_MS = 90_000;

/** Focus the first field (in `order`) that has a problem; `idOf` names its element. */
function focusFirst<F>(
  problems: FieldProblems<F>,
  order: readonly (keyof F & string)[],
  idOf: (key: keyof F & string) => string,
): void {
  const first = order.find((key) => problems[key] !== undefined);
  if (first !== undefined) document.getElementById(idOf(first))?.focus();
}

/**
 * One group's form: its heading, where it comes from, its fields, the failure of the last
 * save or test, `after` (a test's result), what the last change did (`done`), and its buttons
 * (none for a group that cannot be changed here).
 */
function GroupForm({
  group,
  title,
  preferences,
  source,
  onSubmit,
  action,
  saveLabel,
  canSave,
  extraActions,
  after,
  done,
  children,
}: {
  group: string;
  title: string;
  preferences: Preferences;
  source: Preferences['relay']['source'];
  onSubmit: () => void | Promise<void>;
  action: Action;
  saveLabel?: string | undefined;
  canSave: boolean;
  extraActions?: ReactNode;
  after?: ReactNode;
  done: string | undefined;
  children: ReactNode;
}): ReactElement {
  const ids = useId();
  const note = sourceNote(source, preferences);
  return (
    <form
      className="settings-form prefs-group"
      aria-labelledby={`${ids}-title`}
      aria-describedby={note === undefined ? undefined : `${ids}-source`}
      data-testid={`prefs-${group}`}
      data-source={source}
      noValidate
      onSubmit={(event) => {
        event.preventDefault();
        // Deliberately not awaited: onSubmit reports its own errors.
        void onSubmit();
      }}
    >
      <h3 id={`${ids}-title`} className="settings-form-title">
        {title}
      </h3>
      <SourceBadge note={note} id={`${ids}-source`} testId={`prefs-${group}-source`} />
      {children}
      {action.error !== undefined && (
        <SettingsProblem error={action.error} testId={`prefs-${group}-error`} />
      )}
      {after}
      {done !== undefined && (
        <DoneNotice testId={`prefs-${group}-saved`}>
          <p>{done}</p>
        </DoneNotice>
      )}
      {(canSave || extraActions !== undefined) && (
        <div className="settings-actions">
          {canSave && (
            <button
              type="submit"
              className="button"
              disabled={action.busy !== undefined}
              data-testid={`prefs-${group}-save`}
            >
              {action.busy === 'save' ? 'Saving…' : (saveLabel ?? 'Save')}
            </button>
          )}
          {extraActions}
        </div>
      )}
    </form>
  );
}

/** The "Test connection" button of an account as typed, before it is saved. */
function TestTypedButton({
  target,
  action,
  onTest,
}: {
  target: 'relay' | 'upstream';
  action: Action;
  onTest: () => void;
}): ReactElement {
  const name = target === 'relay' ? 'relay' : 'upstream mailbox';
  return (
    <button
      type="button"
      className="button button-secondary"
      disabled={action.busy !== undefined}
      aria-label={`Test connection to the ${name} as typed`}
      data-testid={`prefs-${target}-test`}
      onClick={onTest}
    >
      {action.busy === 'test' ? 'Testing…' : 'Test connection'}
    </button>
  );
}

/** The hint of a password field: whether one is saved for this server and user. */
function passwordHint(saved: boolean, testId: string): ReactNode {
  return saved ? (
    <span data-testid={testId}>A password is saved. Leave this empty to keep it.</span>
  ) : (
    'Not shown again once saved.'
  );
}

// ── A group's state ───────────────────────────────────────────────────────────────────────

/**
 * What a group form holds and does, the same for every group: the form as typed, what is
 * wrong with it, what the last change did, and the handlers that keep these together.
 */
interface GroupState<F> {
  readonly form: F;
  readonly problems: FieldProblems<F>;
  readonly done: string | undefined;
  readonly action: Action;
  /** The prefix of the group's element ids (`<ids>-<field>`, `<ids>-kind-<kind>`). */
  readonly ids: string;
  /** Fields typed: what was wrong with `fields` is forgotten (a password may now be needed). */
  readonly change: (next: Partial<F>, fields: readonly (keyof F & string)[]) => void;
  /**
   * Save the group: check the form (problems shown on their fields, the first one focused),
   * then `updatePreferences` with its parameters; `said` is what the answer means, in words.
   */
  readonly save: (
    checked: Checked<UpdateParams, F>,
    said: (answer: Preferences) => string,
  ) => Promise<void>;
}

/** What an account group (the relay, the upstream mailbox) holds and does besides. */
interface AccountGroup<F> extends GroupState<F> {
  readonly test: ConnectionTest | undefined;
  /** Another kind of account chosen: nothing is wrong, and the last test is forgotten. */
  readonly choose: (next: (current: F) => F) => void;
  /** Another TLS mode chosen: the port follows if it was the old mode's usual one. */
  readonly chooseSecure: (secure: SecureMode, ports: Readonly<Record<SecureMode, number>>) => void;
  /** "Test connection" with the account as typed (`checked`: relayTest, upstreamTest). */
  readonly testTyped: (checked: Checked<TestParams, F>) => void;
}

/**
 * The state of a group, read from `preferences` by `formOf` (and again from each saved
 * answer); `order` is the order of its fields on the screen, for the focus. Its setters and
 * `idOf` are handed out too, for `useAccountGroup` to build on.
 */
function useGroupForm<F extends object>(
  { client, announce, preferences, onSaved }: GroupProps,
  formOf: (preferences: Preferences) => F,
  order: readonly (keyof F & string)[],
): GroupState<F> & {
  readonly setForm: Dispatch<SetStateAction<F>>;
  readonly setProblems: Dispatch<SetStateAction<FieldProblems<F>>>;
  readonly setDone: Dispatch<SetStateAction<string | undefined>>;
  readonly idOf: (key: keyof F & string) => string;
} {
  const [form, setForm] = useState<F>(() => formOf(preferences));
  const [problems, setProblems] = useState<FieldProblems<F>>({});
  const [done, setDone] = useState<string | undefined>(undefined);
  const action = useAction();
  const ids = useId();
  // A kind of account is a radio button each: its id names the one chosen.
  const idOf = (key: keyof F & string): string =>
    key === 'kind' && 'kind' in form ? `${ids}-kind-${String(form.kind)}` : `${ids}-${key}`;

  return {
    form,
    problems,
    done,
    action,
    ids,
    setForm,
    setProblems,
    setDone,
    idOf,
    change: (next, fields) => {
      setForm((current) => ({ ...current, ...next }));
      setProblems((current) => {
        const left = { ...current };
        for (const field of fields) delete left[field];
        return left;
      });
      setDone(undefined);
    },
    save: async (checked, said) => {
      if (!checked.ok) {
        action.setError(undefined);
        setProblems(checked.problems);
        focusFirst(checked.problems, order, idOf);
        return;
      }
      setProblems({});
      await action.run('save', async () => {
        const answer = await client.call('updatePreferences', checked.value, {
          timeoutMs: SAVE_TIMEOUT_MS,
        });
        onSaved(answer);
        setForm(formOf(answer));
        const text = said(answer);
        setDone(text);
        announce(text);
      });
    },
  };
}

/** The state of an account group: a group's, with the test of the account as typed. */
function useAccountGroup<F extends AccountForm & { readonly kind: string }>(
  props: GroupProps,
  formOf: (preferences: Preferences) => F,
  order: readonly (keyof F & string)[],
): AccountGroup<F> {
  const group = useGroupForm(props, formOf, order);
  const [test, setTest] = useState<ConnectionTest | undefined>(undefined);
  const { setForm, setProblems, setDone, idOf, action } = group;
  const { client, announce } = props;

  return {
    ...group,
    test,
    choose: (next) => {
      setForm(next);
      setProblems({});
      setTest(undefined);
      setDone(undefined);
    },
    chooseSecure: (secure, ports) => {
      setForm((current) => withSecure(current, secure, ports));
      setDone(undefined);
    },
    testTyped: (checked) => {
      setDone(undefined);
      if (!checked.ok) {
        setProblems(checked.problems);
        focusFirst(checked.problems, order, idOf);
        return;
      }
      setProblems({});
      setTest(undefined);
      // Deliberately not awaited: run() keeps its own failure.
      void action.run('test', async () => {
        const answer = await client.call('testConnection', checked.value, {
          timeoutMs: TEST_TIMEOUT_MS,
        });
        setTest(answer);
        announce(explainConnectionTest(answer).headline);
      });
    },
  };
}

// ── The account groups' pieces (relay, upstream mailbox) ─────────────────────────────────

/**
 * The server and account fields of an account group, in their fieldset: host, port, TLS mode,
 * user and (unless the configuration file has it) password, then `children`. Element ids are
 * `<ids>-<field>`, test ids `<testIdPrefix>-<field>`.
 */
function ServerAccountFields({
  testIdPrefix,
  legend,
  group,
  saved,
  hostPlaceholder,
  userLabel,
  ports,
  can,
  children,
}: {
  testIdPrefix: string;
  legend: string;
  group: Pick<AccountGroup<AccountForm>, 'form' | 'problems' | 'ids' | 'change' | 'chooseSecure'>;
  /** The saved account, for whether its password is kept. */
  saved: RelayView | UpstreamView;
  hostPlaceholder: string;
  userLabel: string;
  /** The usual port of each TLS mode. */
  ports: Readonly<Record<SecureMode, number>>;
  /** Which fields can be changed here. */
  can: ReadonlySet<string>;
  children?: ReactNode;
}): ReactElement {
  const { form, problems, ids, change } = group;
  const passwordSaved = keepsSavedPassword(saved, {
    host: form.host.trim(),
    port: Number(form.port),
    user: form.user.trim(),
  });
  return (
    <fieldset className="prefs-fieldset">
      <legend className="field-label">{legend}</legend>
      <div className="settings-fields">
        <Field
          id={`${ids}-host`}
          label="Server"
          className="settings-field-wide"
          value={form.host}
          maxLength={LIMITS.hostLength}
          disabled={!can.has('host')}
          autoComplete="off"
          spellCheck={false}
          placeholder={hostPlaceholder}
          problem={problems.host}
          onChange={(event) => change({ host: event.target.value }, ['host', 'password'])}
          data-testid={`${testIdPrefix}-host`}
        />
        <Field
          id={`${ids}-port`}
          label="Port"
          type="number"
          min={1}
          max={65_535}
          value={form.port}
          disabled={!can.has('port')}
          problem={problems.port}
          onChange={(event) => change({ port: event.target.value }, ['port', 'password'])}
          data-testid={`${testIdPrefix}-port`}
        />
        <SelectField
          id={`${ids}-secure`}
          label="Security"
          value={form.secure}
          disabled={!can.has('secure')}
          problem={problems.secure}
          onChange={(event) => {
            const secure = SECURE_MODES.find((mode) => mode === event.target.value);
            if (secure !== undefined) group.chooseSecure(secure, ports);
          }}
          data-testid={`${testIdPrefix}-secure`}
        >
          {SECURE_MODES.map((mode) => (
            <option key={mode} value={mode}>
              {secureLabel(mode)}
            </option>
          ))}
        </SelectField>
        <Field
          id={`${ids}-user`}
          label={userLabel}
          value={form.user}
          maxLength={LIMITS.userLength}
          disabled={!can.has('user')}
          autoComplete="off"
          spellCheck={false}
          problem={problems.user}
          onChange={(event) => change({ user: event.target.value }, ['user', 'password'])}
          data-testid={`${testIdPrefix}-user`}
        />
        {/* An account's password is typed here unless the configuration file has it. */}
        {can.has('password') && (
          <Field
            id={`${ids}-password`}
            label="Password"
            type="password"
            value={form.password}
            maxLength={LIMITS.passwordLength}
            autoComplete="new-password"
            hint={passwordHint(passwordSaved, `${testIdPrefix}-password-saved`)}
            problem={problems.password}
            onChange={(event) => change({ password: event.target.value }, ['password'])}
            data-testid={`${testIdPrefix}-password`}
          />
        )}
        {children}
      </div>
    </fieldset>
  );
}

/**
 * An account group's form: `GroupForm` with the choice of the kind of account, "Test
 * connection" while the account kind (`accountKind`) is chosen and the group is not the
 * configuration file's, and under the fields what the last test and the last change did.
 */
function AccountGroupForm<K extends string>({
  target,
  title,
  kindLegend,
  kinds,
  kindLabel,
  accountKind,
  preferences,
  source,
  group,
  can,
  saveLabel,
  onSubmit,
  onTest,
  onChoose,
  children,
}: {
  target: 'relay' | 'upstream';
  title: string;
  kindLegend: string;
  kinds: readonly K[];
  kindLabel: (kind: K) => string;
  /** The kind that is an account on a server (what "Test connection" tries). */
  accountKind: K;
  preferences: Preferences;
  source: Preferences['relay']['source'];
  group: Pick<
    AccountGroup<{ readonly kind: K }>,
    'form' | 'problems' | 'test' | 'done' | 'action' | 'ids'
  >;
  /** Which fields can be changed here (none: no Save button). */
  can: ReadonlySet<string>;
  saveLabel?: string | undefined;
  onSubmit: () => Promise<void>;
  onTest: () => void;
  onChoose: (kind: K) => void;
  children: ReactNode;
}): ReactElement {
  const { form, problems, test, done, action, ids } = group;
  return (
    <GroupForm
      group={target}
      title={title}
      preferences={preferences}
      source={source}
      onSubmit={onSubmit}
      action={action}
      canSave={can.size > 0}
      saveLabel={saveLabel}
      extraActions={
        form.kind === accountKind && source !== 'config' ? (
          <TestTypedButton target={target} action={action} onTest={onTest} />
        ) : undefined
      }
      after={
        test !== undefined && (
          <ConnectionTestResult result={test} testId={`prefs-${target}-test-result`} />
        )
      }
      done={done}
    >
      <RadioChoice
        id={`${ids}-kind`}
        legend={kindLegend}
        name={`${ids}-kind`}
        value={form.kind}
        choices={kinds}
        label={kindLabel}
        disabled={!can.has('kind')}
        problem={problems.kind}
        onChoose={onChoose}
        testId={`prefs-${target}-kind`}
      />
      {children}
    </GroupForm>
  );
}

// ── Relay ──────────────────────────────────────────────────────────────────────────────────

export function RelayGroup(props: GroupProps): ReactElement {
  const { preferences } = props;
  const saved = preferences.relay;
  const group = useAccountGroup(props, (answer) => relayForm(answer.relay.value), RELAY_FIELDS);
  const { form, problems, ids, change } = group;
  const can = relayEditable(saved.value, saved.source, saved.managedFields);
  const managed = saved.source === 'organisation';

  const submit = (): Promise<void> => {
    const checked = relayUpdate(form, saved.value, saved.source);
    const passwordOnly = checked.ok && checked.value.relay === undefined;
    return group.save(checked, (answer) =>
      passwordOnly
        ? 'The relay password is saved.'
        : `Relay saved: ${relaySummary(answer.relay.value)}. Mail uses it now.`,
    );
  };

  return (
    <AccountGroupForm
      target="relay"
      title="Relay: how outbound mail leaves"
      kindLegend="Send Direct mail"
      kinds={RELAY_KINDS}
      kindLabel={relayKindLabel}
      accountKind="smarthost"
      preferences={preferences}
      source={saved.source}
      group={group}
      can={can}
      saveLabel={managed && !can.has('user') ? 'Save password' : 'Save'}
      onSubmit={submit}
      onTest={() => group.testTyped(relayTest(form, saved.value))}
      onChoose={(kind) => group.choose((current) => withRelayKind(current, kind))}
    >
      {form.kind === 'smarthost' && (
        <ServerAccountFields
          testIdPrefix="prefs-relay"
          legend="Your mail provider’s server (smarthost)"
          group={group}
          saved={saved.value}
          hostPlaceholder="smtp.example.org"
          userLabel="User name (if the server asks for one)"
          ports={SMTP_PORTS}
          can={can}
        />
      )}
      {form.kind === 'mx' && (
        <TextAreaField
          id={`${ids}-exceptions`}
          label="Domains whose servers may be used without TLS (one per line)"
          className="prefs-exceptions"
          value={form.exceptions}
          rows={3}
          disabled={!can.has('exceptions')}
          spellCheck={false}
          hint="Every other domain’s server must offer TLS with a valid certificate, or the message waits."
          problem={problems.exceptions}
          onChange={(event) => change({ exceptions: event.target.value }, ['exceptions'])}
          data-testid="prefs-relay-exceptions"
        />
      )}
    </AccountGroupForm>
  );
}

// ── Upstream mailbox ──────────────────────────────────────────────────────────────────────

export function UpstreamGroup(props: GroupProps): ReactElement {
  const { preferences } = props;
  const saved = preferences.upstream;
  const group = useAccountGroup(
    props,
    (answer) => upstreamForm(answer.upstream.value),
    UPSTREAM_FIELDS,
  );
  const { form, problems, ids, change } = group;
  const can = upstreamEditable(saved.value, saved.source, saved.managedFields);

  const submit = (): Promise<void> => {
    const checked = upstreamUpdate(form, saved.value, saved.source);
    const passwordOnly = checked.ok && checked.value.upstream === undefined;
    return group.save(checked, (answer) => {
      const value = answer.upstream.value;
      return passwordOnly
        ? 'The upstream mailbox password is saved.'
        : value.kind === 'none'
          ? 'Upstream mailbox saved: none.'
          : `Upstream mailbox saved: ${value.user} at ${value.host}:${value.port}. Mail uses it now.`;
    });
  };

  return (
    <AccountGroupForm
      target="upstream"
      title="Upstream mailbox: where Direct mail is collected"
      kindLegend="Collect Direct mail from"
      kinds={UPSTREAM_KINDS}
      kindLabel={upstreamKindLabel}
      accountKind="imap"
      preferences={preferences}
      source={saved.source}
      group={group}
      can={can}
      onSubmit={submit}
      onTest={() => group.testTyped(upstreamTest(form, saved.value))}
      onChoose={(kind) => group.choose((current) => withUpstreamKind(current, kind))}
    >
      {form.kind === 'imap' && (
        <>
          <ServerAccountFields
            testIdPrefix="prefs-upstream"
            legend="IMAP account"
            group={group}
            saved={saved.value}
            hostPlaceholder="imap.example.org"
            userLabel="User name"
            ports={IMAP_PORTS}
            can={can}
          >
            <Field
              id={`${ids}-mailbox`}
              label="Mailbox"
              value={form.mailbox}
              maxLength={LIMITS.mailboxLength}
              disabled={!can.has('mailbox')}
              placeholder="INBOX"
              spellCheck={false}
              problem={problems.mailbox}
              onChange={(event) => change({ mailbox: event.target.value }, ['mailbox', 'moveTo'])}
              data-testid="prefs-upstream-mailbox"
            />
          </ServerAccountFields>
          <fieldset className="prefs-fieldset">
            <legend className="field-label">Once a message is stored in Sealpost</legend>
            <div className="settings-fields">
              <SelectField
                id={`${ids}-afterStore`}
                label="On the server"
                value={form.afterStore}
                disabled={!can.has('afterStore')}
                onChange={(event) => {
                  const choice = AFTER_STORE_CHOICES.find(
                    (c: AfterStore) => c === event.target.value,
                  );
                  if (choice !== undefined)
                    change({ afterStore: choice }, ['afterStore', 'moveTo']);
                }}
                data-testid="prefs-upstream-after-store"
              >
                {AFTER_STORE_CHOICES.map((choice) => (
                  <option key={choice} value={choice}>
                    {afterStoreLabel(choice)}
                  </option>
                ))}
              </SelectField>
              {form.afterStore === 'move' && (
                <Field
                  id={`${ids}-moveTo`}
                  label="Move to mailbox"
                  value={form.moveTo}
                  maxLength={LIMITS.mailboxLength}
                  disabled={!can.has('moveTo')}
                  spellCheck={false}
                  problem={problems.moveTo}
                  onChange={(event) => change({ moveTo: event.target.value }, ['moveTo'])}
                  data-testid="prefs-upstream-move-to"
                />
              )}
            </div>
          </fieldset>
        </>
      )}
    </AccountGroupForm>
  );
}

// ── Delivery notifications ────────────────────────────────────────────────────────────────

const DELIVERY_ORDER = ['timeoutHours', 'requestDispatched', 'silenceAlertHours'] as const;

export function DeliveryGroup(props: GroupProps): ReactElement {
  const { preferences } = props;
  const saved = preferences.delivery;
  const group = useGroupForm(
    props,
    (answer) => deliveryForm(answer.delivery.value),
    DELIVERY_ORDER,
  );
  const { form, problems, ids, change } = group;
  const editable = saved.source === 'profile';

  return (
    <GroupForm
      group="delivery"
      title="Delivery notifications"
      preferences={preferences}
      source={saved.source}
      action={group.action}
      canSave={editable}
      onSubmit={() =>
        group.save(deliveryUpdate(form), () => 'Delivery notification preferences saved.')
      }
      done={group.done}
    >
      <fieldset className="prefs-fieldset">
        <legend className="visually-hidden">Delivery notifications</legend>
        <div className="settings-fields">
          <Field
            id={`${ids}-timeoutHours`}
            label="Hours to wait for “processed”"
            type="number"
            min={LIMITS.timeoutHours.min}
            max={LIMITS.timeoutHours.max}
            step="any"
            value={form.timeoutHours}
            disabled={!editable}
            hint="After this, a message without the recipient’s “processed” notification is marked “timed out”."
            problem={problems.timeoutHours}
            onChange={(event) => change({ timeoutHours: event.target.value }, ['timeoutHours'])}
            data-testid="prefs-delivery-timeout"
          />
          <Field
            id={`${ids}-silenceAlertHours`}
            label="Alert after hours without Direct mail"
            type="number"
            min={LIMITS.silenceAlertHours.min}
            max={LIMITS.silenceAlertHours.max}
            step="any"
            value={form.silenceAlertHours}
            disabled={!editable}
            hint="0: never. An alert when no Direct message has arrived for this long."
            problem={problems.silenceAlertHours}
            onChange={(event) =>
              change({ silenceAlertHours: event.target.value }, ['silenceAlertHours'])
            }
            data-testid="prefs-delivery-silence"
          />
          <CheckboxField
            id={`${ids}-requestDispatched`}
            className="settings-field-wide"
            label="Ask for a “dispatched” notification too"
            hint="The recipient’s system then also confirms that the message reached the recipient."
            checked={form.requestDispatched}
            disabled={!editable}
            onChange={(event) => change({ requestDispatched: event.target.checked }, [])}
            data-testid="prefs-delivery-dispatched"
          />
        </div>
      </fieldset>
    </GroupForm>
  );
}

// ── Security ──────────────────────────────────────────────────────────────────────────────

export function AutoLockGroup(props: GroupProps): ReactElement {
  const { preferences } = props;
  const saved = preferences.autoLock;
  const group = useGroupForm(props, (answer) => autoLockForm(answer.autoLock.value), ['minutes']);
  const { form, problems, ids, change } = group;
  const editable = saved.source === 'profile';

  return (
    <GroupForm
      group="autolock"
      title="Security"
      preferences={preferences}
      source={saved.source}
      action={group.action}
      canSave={editable}
      onSubmit={() =>
        group.save(autoLockUpdate(form), (answer) => {
          const minutes = answer.autoLock.value;
          return minutes === 0
            ? 'Auto-lock saved: Sealpost does not lock on its own.'
            : `Auto-lock saved: Sealpost locks after ${minutes} minute${minutes === 1 ? '' : 's'} without use.`;
        })
      }
      done={group.done}
    >
      <fieldset className="prefs-fieldset">
        <legend className="visually-hidden">Auto-lock</legend>
        <div className="settings-fields">
          <Field
            id={`${ids}-minutes`}
            label="Lock after minutes without use"
            type="number"
            min={LIMITS.autoLockMinutes.min}
            max={LIMITS.autoLockMinutes.max}
            step={1}
            value={form.minutes}
            disabled={!editable}
            hint="0: never. Locked, Sealpost closes the mail and asks for the passphrase again."
            problem={problems.minutes}
            onChange={(event) => change({ minutes: event.target.value }, ['minutes'])}
            data-testid="prefs-autolock-minutes"
          />
        </div>
      </fieldset>
    </GroupForm>
  );
}

// ── Data location ─────────────────────────────────────────────────────────────────────────

/** Where the profile's data is kept, and what else the organisation decided (read-only). */
export function DataLocation({ preferences }: { preferences: Preferences }): ReactElement {
  const ids = useId();
  return (
    <section className="settings-form prefs-group" aria-labelledby={`${ids}-title`}>
      <h3 id={`${ids}-title`} className="settings-form-title">
        Data location
      </h3>
      <dl className="settings-facts" data-testid="prefs-data">
        <div>
          <dt>This profile’s data</dt>
          <dd>
            <code data-testid="prefs-data-location">{preferences.dataLocation}</code>
          </dd>
        </div>
        {preferences.configFile !== undefined && (
          <div>
            <dt>Configuration file</dt>
            <dd>
              <code>{preferences.configFile}</code>
            </dd>
          </div>
        )}
        {preferences.policyFile !== undefined && (
          <div>
            <dt>Organisation policy</dt>
            <dd>
              <code>{preferences.policyFile}</code>
            </dd>
          </div>
        )}
        {!preferences.autoUpdate && (
          <div>
            <dt>Automatic updates</dt>
            <dd data-testid="prefs-auto-update">Turned off by your organisation</dd>
          </div>
        )}
      </dl>
      <p className="muted">
        The data is encrypted. To move it, ask your IT staff: it is chosen when Sealpost is
        installed or started.
      </p>
    </section>
  );
}
