/**
 * The pieces every settings section is built of, so that each section only says what is its
 * own: the section with its heading, a list read from the HISP as a table (loading, failure,
 * empty), a form (fields, its action's failure, the submit button), labelled fields (text,
 * password, file, select, text area, checkbox, a radio choice in a fieldset; each with its
 * hint and what is wrong with it tied to it by `aria-describedby`), the domain and direction
 * of anchors and bundles, the two-click Remove, the "done" notice, the badge that says why a
 * setting cannot be changed here (`SourceBadge`: "Managed by your organisation", or "Set in
 * the configuration file …") and a connection test's result; with the state of a picked file
 * (`useFileChoice`) and of a trust scope (`useTrustScope`). The lock screen's passphrase is a
 * `PasswordField` too. The class names, roles and labels are the ones settings.css and the
 * e2e tests know.
 */
import { useId, useRef, useState } from 'react';
import type {
  ChangeEvent,
  InputHTMLAttributes,
  ReactElement,
  ReactNode,
  Ref,
  SelectHTMLAttributes,
  TextareaHTMLAttributes,
} from 'react';

import { HispError } from '../../../hisp/api/index.js';
import type { ConnectionTest, HispClient, Preferences } from '../../../hisp/api/index.js';
import { explainConnectionTest } from '../mail/explain.js';
import { ExplanationList } from '../mail/ExplanationList.js';
import type { Loadable } from '../mail/useMailbox.js';
import { directionLabel, domainLabel, TRUST_DIRECTIONS, trustDirection } from './model.js';
import type { TrustDirection } from './model.js';
import type { SourceNote } from './preferencesModel.js';
import { SettingsProblem } from './SettingsProblem.js';
import type { Action } from './useSettingsCall.js';

/** What every settings section that talks to the HISP is given. */
export interface SectionProps {
  readonly client: HispClient;
  /** Say something to screen readers (the polite live region). */
  readonly announce: (text: string) => void;
}

/** What the anchor and bundle sections are given besides. */
export interface TrustSectionProps extends SectionProps {
  /** The profile's local domains, offered for an import. */
  readonly domains: readonly string[];
  /** The preferences, for what the organisation manages (undefined: not read, nothing managed). */
  readonly preferences?: Pick<Preferences, 'managed' | 'policyFile' | 'policyProblem'> | undefined;
}

/** A settings section: its heading (h2, `settings-<name>-title`), an intro, its content. */
export function SettingsSection({
  name,
  title,
  intro,
  children,
}: {
  name: string;
  title: string;
  intro?: ReactNode;
  children: ReactNode;
}): ReactElement {
  const titleId = `settings-${name}-title`;
  return (
    <section className="settings-section" aria-labelledby={titleId}>
      <h2 id={titleId} className="settings-section-title">
        {title}
      </h2>
      {intro !== undefined && <p className="muted">{intro}</p>}
      {children}
    </section>
  );
}

/** A settings table: a hidden caption, column headings (and an unnamed actions column), rows. */
export interface SettingsTableProps {
  readonly testId: string;
  readonly caption: string;
  readonly columns: readonly string[];
  /** A last column for the rows' buttons, named for screen readers only. */
  readonly actions?: boolean;
  /** Shown under the table (a note on what is not shown). */
  readonly footer?: ReactNode;
  /** The rows. */
  readonly children: ReactNode;
}

export function SettingsTable({
  testId,
  caption,
  columns,
  actions = false,
  footer,
  children,
}: SettingsTableProps): ReactElement {
  return (
    <div className="settings-table-wrap">
      <table className="settings-table" data-testid={testId}>
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            {columns.map((column) => (
              <th key={column} scope="col">
                {column}
              </th>
            ))}
            {actions && (
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
      {footer}
    </div>
  );
}

/**
 * A list read from the HISP as a settings table: "Loading…", its failure, the `empty`
 * sentence, or a row per item.
 */
export function LoadedTable<T>({
  loaded,
  errorTestId,
  empty,
  emptyTestId,
  row,
  ...table
}: {
  loaded: Loadable<readonly T[]>;
  errorTestId: string;
  empty: string;
  emptyTestId?: string;
  row: (item: T) => ReactNode;
} & Omit<SettingsTableProps, 'children'>): ReactElement {
  switch (loaded.state) {
    case 'error':
      return <SettingsProblem error={loaded.error} testId={errorTestId} />;
    case 'loading':
      return <p className="muted">Loading…</p>;
    case 'ready':
      return loaded.value.length === 0 ? (
        <p className="muted" data-testid={emptyTestId}>
          {empty}
        </p>
      ) : (
        <SettingsTable {...table}>{loaded.value.map(row)}</SettingsTable>
      );
  }
}

/** The submit button of a form bound to an action: its labels, and which run is its own. */
export interface SubmitSpec {
  /** The `what` of the action's run that this button starts. */
  readonly what: string;
  readonly label: string;
  /** The label while that run is busy (default: `label`). */
  readonly busyLabel?: string;
  readonly testId: string;
}

/**
 * A settings form: its title (h3, naming the form), the fields, the failure of its `action`
 * (if `problemTestId` is given), `children` (what the last change did), then the actions
 * row: the submit button (disabled while the action runs) and any other `actions`.
 * Submitting never reloads the page; `onSubmit` reports its own errors.
 */
export function SettingsForm({
  title,
  onSubmit,
  fields,
  action,
  problemTestId,
  submit,
  actions,
  children,
}: {
  title: string;
  onSubmit: () => void | Promise<void>;
  fields: ReactNode;
  action?: Action;
  problemTestId?: string;
  submit?: SubmitSpec;
  actions?: ReactNode;
  children?: ReactNode;
}): ReactElement {
  const titleId = `${useId()}-title`;
  return (
    <form
      className="settings-form"
      onSubmit={(event) => {
        event.preventDefault();
        // Deliberately not awaited: onSubmit reports its own errors.
        void onSubmit();
      }}
      aria-labelledby={titleId}
      noValidate
    >
      <h3 id={titleId} className="settings-form-title">
        {title}
      </h3>
      <div className="settings-fields">{fields}</div>
      {problemTestId !== undefined && action?.error !== undefined && (
        <SettingsProblem error={action.error} testId={problemTestId} />
      )}
      {children}
      <div className="settings-actions">
        {submit !== undefined && (
          <button
            type="submit"
            className="button"
            disabled={action?.busy !== undefined}
            data-testid={submit.testId}
          >
            {action?.busy === submit.what ? (submit.busyLabel ?? submit.label) : submit.label}
          </button>
        )}
        {actions}
      </div>
    </form>
  );
}

/** A file the user picks in a form (see `FileField`). */
export interface FileChoice {
  readonly file: File | undefined;
  readonly inputRef: Ref<HTMLInputElement>;
  readonly onChange: (event: ChangeEvent<HTMLInputElement>) => void;
  /** Forget the file and empty the field (after it was used). */
  clear(): void;
  /**
   * The picked file if it is at most `maxBytes`; otherwise the problem to show (BAD_REQUEST
   * `missing`, the field focused; LIMIT_EXCEEDED `tooLarge`).
   */
  take(maxBytes: number, missing: string, tooLarge: string): File | HispError;
}

/** The state of one file field. */
export function useFileChoice(): FileChoice {
  const [file, setFile] = useState<File | undefined>(undefined);
  const inputRef = useRef<HTMLInputElement>(null);
  return {
    file,
    inputRef,
    onChange: (event) => setFile(event.target.files?.[0]),
    clear: () => {
      setFile(undefined);
      if (inputRef.current !== null) inputRef.current.value = '';
    },
    take: (maxBytes, missing, tooLarge) => {
      if (file === undefined) {
        inputRef.current?.focus();
        return new HispError('BAD_REQUEST', missing);
      }
      return file.size > maxBytes ? new HispError('LIMIT_EXCEEDED', tooLarge) : file;
    },
  };
}

/** A labelled file field, bound to a `useFileChoice`. */
export function FileField({
  id,
  label,
  accept,
  choice,
  testId,
}: {
  id: string;
  label: string;
  accept: string;
  choice: FileChoice;
  testId: string;
}): ReactElement {
  return (
    <Field
      id={id}
      label={label}
      inputRef={choice.inputRef}
      type="file"
      accept={accept}
      onChange={choice.onChange}
      data-testid={testId}
    />
  );
}

/** A labelled password field (up to 1024 characters), with what was typed as a string. */
export function PasswordField({
  value,
  onValue,
  ...field
}: {
  value: string;
  onValue: (value: string) => void;
} & Omit<FieldProps, 'type' | 'value' | 'onChange' | 'maxLength'>): ReactElement {
  return (
    <Field
      type="password"
      value={value}
      maxLength={1024}
      onChange={(event) => onValue(event.target.value)}
      {...field}
    />
  );
}

/**
 * What is said under a field, tied to it: a hint (`<id>-hint`) and what is wrong with it
 * (`<id>-problem`, with `aria-invalid`). Both are the field's accessible description.
 */
export interface FieldNotes {
  /** A short note under the field. */
  hint?: ReactNode;
  /** What is wrong with the value (undefined: nothing). */
  problem?: string | undefined;
}

/** The `aria-*` attributes of a field with `FieldNotes`, and the notes themselves. */
function fieldNotes(
  id: string,
  { hint, problem }: FieldNotes,
  describedBy: string | undefined,
): { aria: { 'aria-invalid'?: true; 'aria-describedby'?: string }; notes: ReactNode } {
  const ids = [
    ...(describedBy === undefined ? [] : [describedBy]),
    ...(hint === undefined ? [] : [`${id}-hint`]),
    ...(problem === undefined ? [] : [`${id}-problem`]),
  ];
  return {
    aria: {
      ...(problem === undefined ? {} : { 'aria-invalid': true as const }),
      ...(ids.length === 0 ? {} : { 'aria-describedby': ids.join(' ') }),
    },
    notes: (
      <>
        {hint !== undefined && (
          <p id={`${id}-hint`} className="field-hint">
            {hint}
          </p>
        )}
        {problem !== undefined && (
          <p id={`${id}-problem`} className="field-error field-problem" data-testid="field-problem">
            {problem}
          </p>
        )}
      </>
    ),
  };
}

/** What `Field` takes: an input's attributes, its label, and what goes under it. */
export type FieldProps = {
  id: string;
  label: string;
  /** The wrapper's class. */
  className?: string;
  inputRef?: Ref<HTMLInputElement> | undefined;
  /** Under the input (a note). */
  children?: ReactNode;
} & FieldNotes &
  Omit<InputHTMLAttributes<HTMLInputElement>, 'id' | 'className' | 'children'>;

/** A labelled input (with its hint and problem, if any, as its description). */
export function Field({
  id,
  label,
  className,
  inputRef,
  children,
  hint,
  problem,
  ...input
}: FieldProps): ReactElement {
  const { aria, notes } = fieldNotes(id, { hint, problem }, input['aria-describedby']);
  return (
    <div className={className}>
      <label className="field-label" htmlFor={id}>
        {label}
      </label>
      <input ref={inputRef} id={id} className="input" {...input} {...aria} />
      {notes}
      {children}
    </div>
  );
}

/** A labelled select; `children` are its options. */
export function SelectField({
  id,
  label,
  children,
  className,
  hint,
  problem,
  ...select
}: {
  id: string;
  label: string;
  children: ReactNode;
  className?: string;
} & FieldNotes &
  Omit<SelectHTMLAttributes<HTMLSelectElement>, 'id' | 'className' | 'children'>): ReactElement {
  const { aria, notes } = fieldNotes(id, { hint, problem }, select['aria-describedby']);
  return (
    <div className={className}>
      <label className="field-label" htmlFor={id}>
        {label}
      </label>
      <select id={id} className="input" {...select} {...aria}>
        {children}
      </select>
      {notes}
    </div>
  );
}

/** A labelled multi-line text field. */
export function TextAreaField({
  id,
  label,
  className,
  hint,
  problem,
  ...area
}: {
  id: string;
  label: string;
  className?: string;
} & FieldNotes &
  Omit<
    TextareaHTMLAttributes<HTMLTextAreaElement>,
    'id' | 'className' | 'children'
  >): ReactElement {
  const { aria, notes } = fieldNotes(id, { hint, problem }, area['aria-describedby']);
  return (
    <div className={className}>
      <label className="field-label" htmlFor={id}>
        {label}
      </label>
      <textarea id={id} className="input" {...area} {...aria} />
      {notes}
    </div>
  );
}

/** A checkbox with its label after it. */
export function CheckboxField({
  id,
  label,
  className,
  hint,
  problem,
  ...input
}: {
  id: string;
  label: ReactNode;
  className?: string;
} & FieldNotes &
  Omit<
    InputHTMLAttributes<HTMLInputElement>,
    'id' | 'className' | 'children' | 'type'
  >): ReactElement {
  const { aria, notes } = fieldNotes(id, { hint, problem }, input['aria-describedby']);
  return (
    <div className={`settings-check${className === undefined ? '' : ` ${className}`}`}>
      <input id={id} type="checkbox" {...input} {...aria} />
      <label htmlFor={id}>{label}</label>
      {notes}
    </div>
  );
}

/**
 * A choice of one among a few, as radio buttons in a fieldset whose legend names the choice
 * (arrow keys move between them, as in any radio group). Each choice's test id is
 * `<testId>-<value>`.
 */
export function RadioChoice<V extends string>({
  id,
  legend,
  name,
  value,
  choices,
  label,
  onChoose,
  disabled = false,
  problem,
  testId,
}: {
  id: string;
  legend: string;
  name: string;
  value: V;
  choices: readonly V[];
  label: (choice: V) => string;
  onChoose: (choice: V) => void;
  disabled?: boolean;
  problem?: string | undefined;
  testId?: string;
}): ReactElement {
  return (
    <fieldset
      className="settings-radios"
      aria-invalid={problem === undefined ? undefined : true}
      aria-describedby={problem === undefined ? undefined : `${id}-problem`}
    >
      <legend className="field-label">{legend}</legend>
      {choices.map((choice) => (
        <div key={choice} className="settings-radio">
          <input
            type="radio"
            id={`${id}-${choice}`}
            name={name}
            value={choice}
            checked={value === choice}
            disabled={disabled}
            onChange={() => onChoose(choice)}
            data-testid={testId === undefined ? undefined : `${testId}-${choice}`}
          />
          <label htmlFor={`${id}-${choice}`}>{label(choice)}</label>
        </div>
      ))}
      {problem !== undefined && (
        <p id={`${id}-problem`} className="field-error field-problem" data-testid="field-problem">
          {problem}
        </p>
      )}
    </fieldset>
  );
}

/**
 * Why a setting cannot be changed here: the "Managed by your organisation" badge (the policy
 * file named in its tooltip and, for everyone, in the text after it), or "Set in the
 * configuration file …". `id` is for the `aria-describedby` of what it locks. Nothing for a
 * setting that can be changed.
 */
export function SourceBadge({
  note,
  id,
  testId,
}: {
  note: SourceNote | undefined;
  id?: string;
  testId?: string;
}): ReactElement | null {
  if (note === undefined) return null;
  return (
    <p className="source-note" id={id} data-testid={testId} data-source={note.source}>
      <span
        className="badge source-badge"
        data-source={note.source}
        title={note.detail}
        data-testid={testId === undefined ? undefined : `${testId}-badge`}
      >
        {note.source === 'organisation' && (
          <svg
            className="source-badge-icon"
            aria-hidden="true"
            focusable="false"
            viewBox="0 0 16 16"
            width="12"
            height="12"
          >
            <path
              fill="currentColor"
              d="M4 7V5a4 4 0 1 1 8 0v2h.5A1.5 1.5 0 0 1 14 8.5v5a1.5 1.5 0 0 1-1.5 1.5h-9A1.5 1.5 0 0 1 2 13.5v-5A1.5 1.5 0 0 1 3.5 7H4Zm2 0h4V5a2 2 0 1 0-4 0v2Z"
            />
          </svg>
        )}
        {note.text}
      </span>
      {note.detail !== undefined && <span className="muted"> {note.detail}</span>}
    </p>
  );
}

/** The result of a "Test connection": the headline, each step, and why it failed. */
export function ConnectionTestResult({
  result,
  testId,
}: {
  result: ConnectionTest;
  testId: string;
}): ReactElement {
  const statement = explainConnectionTest(result);
  return (
    <div
      className={
        statement.ok
          ? 'notice-inline settings-done connection-test-result'
          : 'notice-inline notice-bad settings-problem connection-test-result'
      }
      data-testid={testId}
      data-ok={statement.ok ? 'true' : 'false'}
    >
      <p>{statement.headline}</p>
      {statement.steps.length > 0 && (
        <ol className="connection-test-steps">
          {statement.steps.map((step) => (
            <li
              key={step.step}
              data-testid="connection-test-step"
              data-step={step.step}
              data-ok={step.ok ? 'true' : 'false'}
            >
              <span aria-hidden="true">{step.ok ? '✓ ' : '✗ '}</span>
              <span className="visually-hidden">{step.ok ? 'Worked: ' : 'Failed: '}</span>
              {step.label}
              {step.detail === undefined ? '' : ` · ${step.detail}`}
            </li>
          ))}
        </ol>
      )}
      {statement.reason !== undefined && <ExplanationList items={[statement.reason]} />}
    </div>
  );
}

/** The local domain ('*': every one) and direction an anchor or bundle is trusted for. */
export interface TrustScope {
  readonly domain: string;
  readonly direction: TrustDirection;
  setDomain(domain: string): void;
  setDirection(direction: TrustDirection): void;
}

/** A trust scope being chosen in a form: every local domain, both ways, at first. */
export function useTrustScope(): TrustScope {
  const [domain, setDomain] = useState('*');
  const [direction, setDirection] = useState<TrustDirection>('both');
  return { domain, direction, setDomain, setDirection };
}

/** The choices of a trust scope: the local domain, then the direction. */
export function TrustScopeFields({
  domains,
  scope,
  testIds,
}: {
  /** The profile's local domains. */
  domains: readonly string[];
  scope: TrustScope;
  testIds?: { readonly domain: string; readonly direction: string };
}): ReactElement {
  const ids = useId();
  return (
    <>
      <SelectField
        id={`${ids}-domain`}
        label="For local domain"
        value={scope.domain}
        onChange={(event) => scope.setDomain(event.target.value)}
        data-testid={testIds?.domain}
      >
        <option value="*">{domainLabel('*')}</option>
        {domains.map((name) => (
          <option key={name} value={name}>
            {name}
          </option>
        ))}
      </SelectField>
      <SelectField
        id={`${ids}-direction`}
        label="Trusted for"
        value={scope.direction}
        onChange={(event) => {
          const chosen = trustDirection(event.target.value);
          if (chosen !== undefined) scope.setDirection(chosen);
        }}
        data-testid={testIds?.direction}
      >
        {TRUST_DIRECTIONS.map((choice) => (
          <option key={choice} value={choice}>
            {directionLabel(choice)}
          </option>
        ))}
      </SelectField>
    </>
  );
}

/**
 * Remove, in two clicks: "Remove" (named for the row by `label`) asks, then `confirmText`
 * does it or Cancel does not. Which row is asking is the section's (one at a time).
 */
export function ConfirmRemove({
  label,
  confirmText,
  confirming,
  onConfirming,
  onConfirm,
  disabled = false,
  testIds,
}: {
  /** The accessible name of the first button: "Remove <what>". */
  label: string;
  confirmText: string;
  confirming: boolean;
  onConfirming: (confirming: boolean) => void;
  onConfirm: () => void;
  disabled?: boolean;
  testIds?: { readonly remove: string; readonly confirm: string };
}): ReactElement {
  if (!confirming) {
    return (
      <button
        type="button"
        className="button button-small button-secondary"
        aria-label={label}
        disabled={disabled}
        onClick={() => onConfirming(true)}
        data-testid={testIds?.remove}
      >
        Remove
      </button>
    );
  }
  return (
    <>
      <button
        type="button"
        className="button button-small"
        onClick={onConfirm}
        data-testid={testIds?.confirm}
      >
        {confirmText}
      </button>
      <button type="button" className="link-button" onClick={() => onConfirming(false)}>
        Cancel
      </button>
    </>
  );
}

/** What a change did, announced politely. */
export function DoneNotice({
  testId,
  children,
}: {
  testId: string;
  children: ReactNode;
}): ReactElement {
  return (
    <div className="notice-inline settings-done" role="status" data-testid={testId}>
      {children}
    </div>
  );
}
