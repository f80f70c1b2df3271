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
 */
import { useId, useState } from 'react';
import type { ReactElement, ReactNode } from 'react';

import type {
  CallParams,
  ConnectionTest,
  HispClient,
  Preferences,
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
  AfterStore,
  Checked,
  FieldProblems,
  RelayForm,
  SecureMode,
  UpstreamForm,
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
 * save or test, what the last change did, and its buttons (none for a group that cannot be
 * changed here).
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
  children,
}: {
  group: string;
  title: string;
  preferences: Preferences;
  source: Preferences['relay']['source'];
  onSubmit: () => void | Promise<void>;
  action: Action;
  saveLabel?: string;
  canSave: boolean;
  extraActions?: ReactNode;
  after?: ReactNode;
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

/**
 * Save a group: check the form (problems shown on their fields, the first one focused), then
 * `updatePreferences` with its parameters; on success `done` says what was saved.
 */
async function saveGroup<F>({
  checked,
  setProblems,
  order,
  idOf,
  action,
  client,
  onSaved,
  done,
}: {
  checked: Checked<CallParams<'updatePreferences'>, F>;
  setProblems: (problems: FieldProblems<F>) => void;
  order: readonly (keyof F & string)[];
  idOf: (key: keyof F & string) => string;
  action: Action;
  client: HispClient;
  onSaved: (preferences: Preferences) => void;
  done: (answer: Preferences) => void;
}): Promise<void> {
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
    done(answer);
  });
}

const RELAY_ORDER = ['kind', 'host', 'port', 'secure', 'user', 'password', 'exceptions'] as const;

// ── Relay ──────────────────────────────────────────────────────────────────────────────────

export function RelayGroup({ client, announce, preferences, onSaved }: GroupProps): ReactElement {
  const saved = preferences.relay;
  const [form, setForm] = useState<RelayForm>(() => relayForm(saved.value));
  const [problems, setProblems] = useState<FieldProblems<RelayForm>>({});
  const [done, setDone] = useState<string | undefined>(undefined);
  const [test, setTest] = useState<ConnectionTest | undefined>(undefined);
  const action = useAction();
  const ids = useId();
  const idOf = (key: keyof RelayForm): string =>
    key === 'kind' ? `${ids}-kind-${form.kind}` : `${ids}-${key}`;

  const can = relayEditable(saved.value, saved.source, saved.managedFields);
  const managed = saved.source === 'organisation';
  const change = (next: Partial<RelayForm>, fields: readonly (keyof RelayForm)[]): void => {
    setForm((current) => ({ ...current, ...next }));
    setProblems((current) => {
      const left = { ...current };
      for (const field of fields) delete left[field];
      return left;
    });
    setDone(undefined);
  };
  const port = Number(form.port);
  const passwordSaved = keepsSavedPassword(saved.value, {
    host: form.host.trim(),
    port,
    user: form.user.trim(),
  });
  // An account's password is typed here unless the configuration file has it.
  const showPassword = form.kind === 'smarthost' && can.has('password');

  const submit = (): Promise<void> => {
    const checked = relayUpdate(form, saved.value, saved.source);
    const passwordOnly = checked.ok && checked.value.relay === undefined;
    return saveGroup({
      checked,
      setProblems,
      order: RELAY_ORDER,
      idOf,
      action,
      client,
      onSaved,
      done: (answer) => {
        setForm(relayForm(answer.relay.value));
        const text = passwordOnly
          ? 'The relay password is saved.'
          : `Relay saved: ${relaySummary(answer.relay.value)}. Mail uses it now.`;
        setDone(text);
        announce(text);
      },
    });
  };

  const testTyped = (): void => {
    setDone(undefined);
    const checked = relayTest(form, saved.value);
    if (!checked.ok) {
      setProblems(checked.problems);
      focusFirst(checked.problems, RELAY_ORDER, idOf);
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
  };

  return (
    <GroupForm
      group="relay"
      title="Relay: how outbound mail leaves"
      preferences={preferences}
      source={saved.source}
      onSubmit={submit}
      action={action}
      canSave={can.size > 0}
      saveLabel={managed && !can.has('user') ? 'Save password' : 'Save'}
      extraActions={
        form.kind === 'smarthost' && saved.source !== 'config' ? (
          <TestTypedButton target="relay" action={action} onTest={testTyped} />
        ) : undefined
      }
      after={
        <>
          {test !== undefined && (
            <ConnectionTestResult result={test} testId="prefs-relay-test-result" />
          )}
          {done !== undefined && (
            <DoneNotice testId="prefs-relay-saved">
              <p>{done}</p>
            </DoneNotice>
          )}
        </>
      }
    >
      <RadioChoice
        id={`${ids}-kind`}
        legend="Send Direct mail"
        name={`${ids}-kind`}
        value={form.kind}
        choices={RELAY_KINDS}
        label={relayKindLabel}
        disabled={!can.has('kind')}
        problem={problems.kind}
        onChoose={(kind) => {
          setForm((current) => withRelayKind(current, kind));
          setProblems({});
          setTest(undefined);
          setDone(undefined);
        }}
        testId="prefs-relay-kind"
      />
      {form.kind === 'smarthost' && (
        <fieldset className="prefs-fieldset">
          <legend className="field-label">Your mail provider’s server (smarthost)</legend>
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
              placeholder="smtp.example.org"
              problem={problems.host}
              onChange={(event) => change({ host: event.target.value }, ['host', 'password'])}
              data-testid="prefs-relay-host"
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
              data-testid="prefs-relay-port"
            />
            <SelectField
              id={`${ids}-secure`}
              label="Security"
              value={form.secure}
              disabled={!can.has('secure')}
              problem={problems.secure}
              onChange={(event) => {
                const secure = SECURE_MODES.find((mode) => mode === event.target.value);
                if (secure !== undefined) {
                  setForm((current) => withSecure(current, secure, SMTP_PORTS));
                  setDone(undefined);
                }
              }}
              data-testid="prefs-relay-secure"
            >
              {SECURE_MODES.map((mode: SecureMode) => (
                <option key={mode} value={mode}>
                  {secureLabel(mode)}
                </option>
              ))}
            </SelectField>
            <Field
              id={`${ids}-user`}
              label="User name (if the server asks for one)"
              value={form.user}
              maxLength={LIMITS.userLength}
              disabled={!can.has('user')}
              autoComplete="off"
              spellCheck={false}
              problem={problems.user}
              onChange={(event) => change({ user: event.target.value }, ['user', 'password'])}
              data-testid="prefs-relay-user"
            />
            {showPassword && (
              <Field
                id={`${ids}-password`}
                label="Password"
                type="password"
                value={form.password}
                maxLength={LIMITS.passwordLength}
                autoComplete="new-password"
                hint={passwordHint(passwordSaved, 'prefs-relay-password-saved')}
                problem={problems.password}
                onChange={(event) => change({ password: event.target.value }, ['password'])}
                data-testid="prefs-relay-password"
              />
            )}
          </div>
        </fieldset>
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
    </GroupForm>
  );
}

// ── Upstream mailbox ──────────────────────────────────────────────────────────────────────

const UPSTREAM_ORDER = [
  'kind',
  'host',
  'port',
  'secure',
  'user',
  'password',
  'mailbox',
  'afterStore',
  'moveTo',
] as const;

export function UpstreamGroup({
  client,
  announce,
  preferences,
  onSaved,
}: GroupProps): ReactElement {
  const saved = preferences.upstream;
  const [form, setForm] = useState<UpstreamForm>(() => upstreamForm(saved.value));
  const [problems, setProblems] = useState<FieldProblems<UpstreamForm>>({});
  const [done, setDone] = useState<string | undefined>(undefined);
  const [test, setTest] = useState<ConnectionTest | undefined>(undefined);
  const action = useAction();
  const ids = useId();
  const idOf = (key: keyof UpstreamForm): string =>
    key === 'kind' ? `${ids}-kind-${form.kind}` : `${ids}-${key}`;

  const can = upstreamEditable(saved.value, saved.source, saved.managedFields);
  const change = (next: Partial<UpstreamForm>, fields: readonly (keyof UpstreamForm)[]): void => {
    setForm((current) => ({ ...current, ...next }));
    setProblems((current) => {
      const left = { ...current };
      for (const field of fields) delete left[field];
      return left;
    });
    setDone(undefined);
  };
  const passwordSaved = keepsSavedPassword(saved.value, {
    host: form.host.trim(),
    port: Number(form.port),
    user: form.user.trim(),
  });
  const showPassword = form.kind === 'imap' && can.has('password');

  const submit = (): Promise<void> => {
    const checked = upstreamUpdate(form, saved.value, saved.source);
    const passwordOnly = checked.ok && checked.value.upstream === undefined;
    return saveGroup({
      checked,
      setProblems,
      order: UPSTREAM_ORDER,
      idOf,
      action,
      client,
      onSaved,
      done: (answer) => {
        setForm(upstreamForm(answer.upstream.value));
        const value = answer.upstream.value;
        const text = passwordOnly
          ? 'The upstream mailbox password is saved.'
          : value.kind === 'none'
            ? 'Upstream mailbox saved: none.'
            : `Upstream mailbox saved: ${value.user} at ${value.host}:${value.port}. Mail uses it now.`;
        setDone(text);
        announce(text);
      },
    });
  };

  const testTyped = (): void => {
    setDone(undefined);
    const checked = upstreamTest(form, saved.value);
    if (!checked.ok) {
      setProblems(checked.problems);
      focusFirst(checked.problems, UPSTREAM_ORDER, idOf);
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
  };

  return (
    <GroupForm
      group="upstream"
      title="Upstream mailbox: where Direct mail is collected"
      preferences={preferences}
      source={saved.source}
      onSubmit={submit}
      action={action}
      canSave={can.size > 0}
      extraActions={
        form.kind === 'imap' && saved.source !== 'config' ? (
          <TestTypedButton target="upstream" action={action} onTest={testTyped} />
        ) : undefined
      }
      after={
        <>
          {test !== undefined && (
            <ConnectionTestResult result={test} testId="prefs-upstream-test-result" />
          )}
          {done !== undefined && (
            <DoneNotice testId="prefs-upstream-saved">
              <p>{done}</p>
            </DoneNotice>
          )}
        </>
      }
    >
      <RadioChoice
        id={`${ids}-kind`}
        legend="Collect Direct mail from"
        name={`${ids}-kind`}
        value={form.kind}
        choices={UPSTREAM_KINDS}
        label={upstreamKindLabel}
        disabled={!can.has('kind')}
        problem={problems.kind}
        onChoose={(kind) => {
          setForm((current) => withUpstreamKind(current, kind));
          setProblems({});
          setTest(undefined);
          setDone(undefined);
        }}
        testId="prefs-upstream-kind"
      />
      {form.kind === 'imap' && (
        <>
          <fieldset className="prefs-fieldset">
            <legend className="field-label">IMAP account</legend>
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
                placeholder="imap.example.org"
                problem={problems.host}
                onChange={(event) => change({ host: event.target.value }, ['host', 'password'])}
                data-testid="prefs-upstream-host"
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
                data-testid="prefs-upstream-port"
              />
              <SelectField
                id={`${ids}-secure`}
                label="Security"
                value={form.secure}
                disabled={!can.has('secure')}
                onChange={(event) => {
                  const secure = SECURE_MODES.find((mode) => mode === event.target.value);
                  if (secure !== undefined) {
                    setForm((current) => withSecure(current, secure, IMAP_PORTS));
                    setDone(undefined);
                  }
                }}
                data-testid="prefs-upstream-secure"
              >
                {SECURE_MODES.map((mode) => (
                  <option key={mode} value={mode}>
                    {secureLabel(mode)}
                  </option>
                ))}
              </SelectField>
              <Field
                id={`${ids}-user`}
                label="User name"
                value={form.user}
                maxLength={LIMITS.userLength}
                disabled={!can.has('user')}
                autoComplete="off"
                spellCheck={false}
                problem={problems.user}
                onChange={(event) => change({ user: event.target.value }, ['user', 'password'])}
                data-testid="prefs-upstream-user"
              />
              {showPassword && (
                <Field
                  id={`${ids}-password`}
                  label="Password"
                  type="password"
                  value={form.password}
                  maxLength={LIMITS.passwordLength}
                  autoComplete="new-password"
                  hint={passwordHint(passwordSaved, 'prefs-upstream-password-saved')}
                  problem={problems.password}
                  onChange={(event) => change({ password: event.target.value }, ['password'])}
                  data-testid="prefs-upstream-password"
                />
              )}
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
            </div>
          </fieldset>
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
    </GroupForm>
  );
}

// ── Delivery notifications ────────────────────────────────────────────────────────────────

export function DeliveryGroup({
  client,
  announce,
  preferences,
  onSaved,
}: GroupProps): ReactElement {
  const saved = preferences.delivery;
  const [form, setForm] = useState(() => deliveryForm(saved.value));
  const [problems, setProblems] = useState<FieldProblems<typeof form>>({});
  const [done, setDone] = useState<string | undefined>(undefined);
  const action = useAction();
  const ids = useId();
  const editable = saved.source === 'profile';

  return (
    <GroupForm
      group="delivery"
      title="Delivery notifications"
      preferences={preferences}
      source={saved.source}
      action={action}
      canSave={editable}
      onSubmit={() =>
        saveGroup({
          checked: deliveryUpdate(form),
          setProblems,
          order: ['timeoutHours', 'requestDispatched', 'silenceAlertHours'],
          idOf: (key) => `${ids}-${key}`,
          action,
          client,
          onSaved,
          done: (answer) => {
            setForm(deliveryForm(answer.delivery.value));
            const text = 'Delivery notification preferences saved.';
            setDone(text);
            announce(text);
          },
        })
      }
      after={
        done !== undefined && (
          <DoneNotice testId="prefs-delivery-saved">
            <p>{done}</p>
          </DoneNotice>
        )
      }
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
            onChange={(event) => {
              setForm({ ...form, timeoutHours: event.target.value });
              setProblems({ ...problems, timeoutHours: undefined });
              setDone(undefined);
            }}
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
            onChange={(event) => {
              setForm({ ...form, silenceAlertHours: event.target.value });
              setProblems({ ...problems, silenceAlertHours: undefined });
              setDone(undefined);
            }}
            data-testid="prefs-delivery-silence"
          />
          <CheckboxField
            id={`${ids}-requestDispatched`}
            className="settings-field-wide"
            label="Ask for a “dispatched” notification too"
            hint="The recipient’s system then also confirms that the message reached the recipient."
            checked={form.requestDispatched}
            disabled={!editable}
            onChange={(event) => {
              setForm({ ...form, requestDispatched: event.target.checked });
              setDone(undefined);
            }}
            data-testid="prefs-delivery-dispatched"
          />
        </div>
      </fieldset>
    </GroupForm>
  );
}

// ── Security ──────────────────────────────────────────────────────────────────────────────

export function AutoLockGroup({
  client,
  announce,
  preferences,
  onSaved,
}: GroupProps): ReactElement {
  const saved = preferences.autoLock;
  const [form, setForm] = useState(() => autoLockForm(saved.value));
  const [problems, setProblems] = useState<FieldProblems<typeof form>>({});
  const [done, setDone] = useState<string | undefined>(undefined);
  const action = useAction();
  const ids = useId();
  const editable = saved.source === 'profile';

  return (
    <GroupForm
      group="autolock"
      title="Security"
      preferences={preferences}
      source={saved.source}
      action={action}
      canSave={editable}
      onSubmit={() =>
        saveGroup({
          checked: autoLockUpdate(form),
          setProblems,
          order: ['minutes'],
          idOf: (key) => `${ids}-${key}`,
          action,
          client,
          onSaved,
          done: (answer) => {
            setForm(autoLockForm(answer.autoLock.value));
            const minutes = answer.autoLock.value;
            const text =
              minutes === 0
                ? 'Auto-lock saved: Sealpost does not lock on its own.'
                : `Auto-lock saved: Sealpost locks after ${minutes} minute${minutes === 1 ? '' : 's'} without use.`;
            setDone(text);
            announce(text);
          },
        })
      }
      after={
        done !== undefined && (
          <DoneNotice testId="prefs-autolock-saved">
            <p>{done}</p>
          </DoneNotice>
        )
      }
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
            onChange={(event) => {
              setForm({ minutes: event.target.value });
              setProblems({});
              setDone(undefined);
            }}
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
