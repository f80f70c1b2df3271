/**
 * Settings › Audit log: the accounting of disclosures as a table, filtered by action,
 * counterpart and time (`auditLog`, the newest 500 matching entries), the MAC chain's state
 * ("intact" or "tampered at entry N"), and export of the filtered log as CSV or JSON
 * (`exportAudit`, handed to the browser as a download; the export is itself audited).
 */
import { useEffect, useId, useState } from 'react';
import type { ReactElement } from 'react';

import { AUDIT_ACTION_LIST } from '../../../hisp/api/index.js';
import type { CallResult } from '../../../hisp/api/index.js';
import { reportUnlessCancelled } from '../mail/useMailbox.js';
import { saveDownload } from './download.js';
import { auditFilterParams, chainState, EMPTY_AUDIT_FILTER, safeDownloadName } from './model.js';
import type { AuditFilterForm } from './model.js';
import { Field, SelectField, SettingsForm, SettingsSection, SettingsTable } from './parts.js';
import type { SectionProps } from './parts.js';
import { SettingsProblem } from './SettingsProblem.js';
import { useAction } from './useSettingsCall.js';

/** Entries shown at once (the newest matching ones). */
const AUDIT_PAGE = 500;

/** The time filter's two ends. */
const DATE_FIELDS = [
  { key: 'since', label: 'From' },
  { key: 'until', label: 'Until' },
] as const;

/** The export formats, with their MIME types. */
const EXPORT_FORMATS = [
  { format: 'csv', type: 'text/csv;charset=utf-8' },
  { format: 'json', type: 'application/json' },
] as const;

type AuditAnswer = CallResult<'auditLog'>;
type Filter = Extract<ReturnType<typeof auditFilterParams>, { ok: true }>['filter'];

export function AuditSection({ client, announce }: SectionProps): ReactElement {
  const [form, setForm] = useState<AuditFilterForm>(EMPTY_AUDIT_FILTER);
  const [filter, setFilter] = useState<Filter>({});
  const [version, setVersion] = useState(0);
  /** The last answer, with the request it answers (stale rows are never shown as current). */
  const [answer, setAnswer] = useState<{ key: string; result: AuditAnswer } | undefined>(undefined);
  /** Exports; its error is also the log's when reading it failed. */
  const action = useAction();
  const { setError } = action;
  const [formProblem, setFormProblem] = useState<string | undefined>(undefined);
  const ids = useId();

  const requestKey = `${version}:${JSON.stringify(filter)}`;
  useEffect(() => {
    const abort = new AbortController();
    client
      .call('auditLog', { ...filter, limit: AUDIT_PAGE }, { signal: abort.signal })
      .then((result) => {
        setAnswer({ key: requestKey, result });
        setError(undefined);
      })
      .catch((failure: unknown) => reportUnlessCancelled(failure, setError));
    return () => abort.abort();
  }, [client, filter, requestKey, setError]);

  const apply = (): void => {
    const parsed = auditFilterParams(form);
    if (!parsed.ok) {
      setFormProblem(parsed.problem);
      return;
    }
    setFormProblem(undefined);
    setFilter(parsed.filter);
    setVersion((v) => v + 1);
  };

  const exportAs = (format: 'csv' | 'json', type: string): Promise<void> =>
    action.run(format, async () => {
      const result = await client.call(
        'exportAudit',
        { ...filter, format },
        { timeoutMs: 120_000 },
      );
      saveDownload(
        new Blob([result.data], { type }),
        safeDownloadName(result.filename, `sealpost-audit.${format}`),
      );
      announce(`Exported ${result.entries} audit entries as ${format.toUpperCase()}.`);
      // The export is itself an entry.
      setVersion((v) => v + 1);
    });

  // The chain is the whole log's, so the last answer's holds while a new one is on its way.
  const chain = answer === undefined ? undefined : chainState(answer.result.chain);
  const current = answer?.key === requestKey ? answer.result : undefined;
  const entries = current === undefined ? [] : [...current.entries].reverse();
  const error = action.error;

  return (
    <SettingsSection
      name="audit"
      title="Audit log"
      intro="Every time mail or keys were opened, sent, saved, exported or changed, newest first."
    >
      {chain !== undefined && (
        <p
          className={`notice-inline ${chain.intact ? 'settings-done' : 'notice-bad'}`}
          data-testid="audit-chain"
          data-intact={chain.intact ? 'true' : 'false'}
        >
          <strong>Log integrity:</strong> {chain.text}
        </p>
      )}
      <SettingsForm
        title="Filter"
        onSubmit={apply}
        fields={
          <>
            <SelectField
              id={`${ids}-action`}
              label="Action"
              value={form.action}
              onChange={(event) => setForm({ ...form, action: event.target.value })}
              data-testid="audit-action"
            >
              <option value="">Any</option>
              {AUDIT_ACTION_LIST.map((name) => (
                <option key={name} value={name}>
                  {name}
                </option>
              ))}
            </SelectField>
            <Field
              id={`${ids}-counterpart`}
              label="Counterpart address"
              value={form.counterpart}
              maxLength={320}
              onChange={(event) => setForm({ ...form, counterpart: event.target.value })}
              data-testid="audit-counterpart"
            />
            {DATE_FIELDS.map(({ key, label }) => (
              <Field
                key={key}
                id={`${ids}-${key}`}
                label={label}
                type="datetime-local"
                value={form[key]}
                onChange={(event) => setForm({ ...form, [key]: event.target.value })}
              />
            ))}
          </>
        }
        submit={{ what: 'apply', label: 'Show', testId: 'audit-apply' }}
        actions={
          <>
            {EXPORT_FORMATS.map(({ format, type }) => (
              <button
                key={format}
                type="button"
                className="button button-secondary"
                disabled={action.busy !== undefined}
                onClick={() => {
                  // Deliberately not awaited: exportAs() reports its own errors.
                  void exportAs(format, type);
                }}
                data-testid={`audit-export-${format}`}
              >
                {action.busy === format ? 'Exporting…' : `Export ${format.toUpperCase()}`}
              </button>
            ))}
          </>
        }
      >
        {formProblem !== undefined && (
          <p className="field-error" role="alert">
            {formProblem}
          </p>
        )}
      </SettingsForm>
      {error !== undefined && <SettingsProblem error={error} testId="audit-error" />}
      {current === undefined && error === undefined && (
        <p className="muted" aria-busy="true">
          Loading…
        </p>
      )}
      {current !== undefined &&
        (entries.length === 0 ? (
          <p className="muted" data-testid="audit-empty">
            No entries match.
          </p>
        ) : (
          <SettingsTable
            testId="audit-entries"
            caption="Audit entries, newest first"
            columns={['#', 'When', 'Action', 'Counterpart', 'User', 'Details']}
            footer={
              current.entries.length >= AUDIT_PAGE && (
                <p className="muted">
                  Only the newest {AUDIT_PAGE} matching entries are shown: narrow the filter, or
                  export.
                </p>
              )
            }
          >
            {entries.map((entry) => (
              <tr key={entry.seq} data-testid="audit-row" data-action={entry.action}>
                <td>{entry.seq}</td>
                <td>
                  <time dateTime={entry.at}>{entry.at}</time>
                </td>
                <td>{entry.action}</td>
                <td>{entry.counterpart ?? ''}</td>
                <td>{entry.user}</td>
                <td className="settings-subject">
                  {[entry.messageId, entry.detail].filter((part) => part !== undefined).join(' ')}
                </td>
              </tr>
            ))}
          </SettingsTable>
        ))}
    </SettingsSection>
  );
}
