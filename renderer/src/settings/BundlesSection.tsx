/**
 * Settings › Trust bundles: each bundle (name, URL, last checked, last error, anchor count),
 * adding one (name, https URL, local domain, direction, refresh hours: `addBundle` fetches it
 * at once and registers nothing if that fails), refreshing one now and removing one (after a
 * second click; its anchors go with it). When the organisation manages the bundles
 * (`managed` includes 'trustBundles'), they are shown under the "Managed by your organisation"
 * badge, with no add and no remove (the HISP refuses them: SETTING_MANAGED); refreshing one
 * now changes nothing the organisation chose, so it stays.
 */
import { useId, useState } from 'react';
import type { ReactElement } from 'react';

import { HispError } from '../../../hisp/api/index.js';
import type { BundleRefresh, HispClient, TrustBundle } from '../../../hisp/api/index.js';
import { formatDay } from '../mail/explain.js';
import { directionLabel, domainLabel } from './model.js';
import {
  ConfirmRemove,
  DoneNotice,
  Field,
  LoadedTable,
  SettingsForm,
  SettingsSection,
  SourceBadge,
  TrustScopeFields,
  useTrustScope,
} from './parts.js';
import { isManaged, managedNote } from './preferencesModel.js';
import type { TrustSectionProps } from './parts.js';
import { SettingsProblem } from './SettingsProblem.js';
import { useAction, useSettingsCall } from './useSettingsCall.js';

const loadBundles = (client: HispClient, signal: AbortSignal): Promise<readonly TrustBundle[]> =>
  client.call('listBundles', {}, { signal }).then((answer) => answer.bundles);

/** A time for people, with the day and the local clock time. */
function when(iso: string | undefined): string {
  if (iso === undefined) return 'Never';
  const date = new Date(iso);
  return `${formatDay(date)} ${date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}`;
}

/** What a refresh did, in one sentence. */
function refreshText(name: string, refresh: BundleRefresh): string {
  if (!refresh.ok) {
    return `${name} could not be read: ${refresh.reason?.message ?? 'no reason given'} Its anchors were kept.`;
  }
  if (refresh.unchanged) return `${name} is unchanged.`;
  return `${name}: ${refresh.added.length} anchor(s) added, ${refresh.removed.length} removed, ${refresh.skipped.length} skipped.`;
}

export function BundlesSection({
  client,
  domains,
  announce,
  preferences,
}: TrustSectionProps): ReactElement {
  const managed = isManaged(preferences, 'trustBundles');
  const [bundles, reload] = useSettingsCall(client, loadBundles);
  const [name, setName] = useState('');
  const [url, setUrl] = useState('https://');
  const scope = useTrustScope();
  const [hours, setHours] = useState('24');
  const action = useAction();
  const [done, setDone] = useState<string | undefined>(undefined);
  const [confirming, setConfirming] = useState<string | undefined>(undefined);
  const ids = useId();

  /** Run a change; what it did is shown, announced, and the list read again. */
  const change = (what: string, work: () => Promise<string>): Promise<void> => {
    setDone(undefined);
    return action.run(what, async () => {
      const text = await work();
      setDone(text);
      announce(text);
      reload();
    });
  };

  const add = async (): Promise<void> => {
    const refreshHours = Number(hours);
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name.trim())) {
      action.setError(
        new HispError(
          'BAD_REQUEST',
          'Give the bundle a short name: letters, digits, dots, dashes and underscores.',
        ),
      );
      return;
    }
    if (!url.trim().startsWith('https://') || url.trim().length < 9) {
      action.setError(new HispError('BAD_REQUEST', 'The bundle address must start with https://.'));
      return;
    }
    if (
      hours.trim() === '' ||
      !Number.isFinite(refreshHours) ||
      refreshHours < 0 ||
      refreshHours > 8760
    ) {
      action.setError(
        new HispError('BAD_REQUEST', 'Refresh every 0 to 8760 hours (0: only by hand).'),
      );
      return;
    }
    await change('add', async () => {
      const answer = await client.call(
        'addBundle',
        {
          name: name.trim(),
          url: url.trim(),
          domain: scope.domain,
          direction: scope.direction,
          refreshHours,
        },
        { timeoutMs: 120_000 },
      );
      setName('');
      setUrl('https://');
      return `Added ${answer.bundle.name}. ${refreshText(answer.bundle.name, answer.refresh)}`;
    });
  };

  return (
    <SettingsSection
      name="bundles"
      title="Trust bundles"
      intro={
        <>
          Published lists of trust anchors (such as a trust community&apos;s bundle), read again on
          a schedule.
        </>
      }
    >
      {managed && preferences !== undefined && (
        <SourceBadge note={managedNote(preferences)} testId="bundles-managed" />
      )}
      <LoadedTable
        loaded={bundles}
        errorTestId="bundles-error"
        empty="No trust bundles."
        emptyTestId="bundles-empty"
        testId="bundles"
        caption="Trust bundles"
        columns={['Name', 'Address', 'Last checked', 'Last error', 'Anchors']}
        actions
        row={(bundle) => (
          <tr key={bundle.name} data-testid="bundle-row">
            <td>
              {bundle.name}
              <div className="muted">
                {domainLabel(bundle.domain)} · {directionLabel(bundle.direction)} ·{' '}
                {bundle.refreshHours === 0 ? 'by hand only' : `every ${bundle.refreshHours} h`}
              </div>
            </td>
            <td className="settings-subject">{bundle.source}</td>
            <td>{when(bundle.checkedAt)}</td>
            <td className={bundle.lastError === undefined ? 'muted' : 'field-error'}>
              {bundle.lastError ?? 'None'}
            </td>
            <td>{bundle.anchorCount}</td>
            <td className="settings-row-actions">
              <button
                type="button"
                className="button button-small button-secondary"
                disabled={action.busy !== undefined}
                aria-label={`Refresh ${bundle.name} now`}
                onClick={() => {
                  // Deliberately not awaited: change() reports its own errors.
                  void change(`refresh-${bundle.name}`, async () => {
                    const answer = await client.call(
                      'refreshBundle',
                      { name: bundle.name },
                      { timeoutMs: 120_000 },
                    );
                    return refreshText(bundle.name, answer.refresh);
                  });
                }}
              >
                {action.busy === `refresh-${bundle.name}` ? 'Refreshing…' : 'Refresh now'}
              </button>
              {!managed && (
                <ConfirmRemove
                  label={`Remove ${bundle.name}`}
                  confirmText="Remove with its anchors"
                  confirming={confirming === bundle.name}
                  onConfirming={(on) => setConfirming(on ? bundle.name : undefined)}
                  disabled={action.busy !== undefined}
                  onConfirm={() => {
                    setConfirming(undefined);
                    void change(`remove-${bundle.name}`, async () => {
                      const answer = await client.call('removeBundle', { name: bundle.name });
                      return `Removed ${answer.removed.name} and its ${answer.removed.anchorCount} anchor(s).`;
                    });
                  }}
                />
              )}
            </td>
          </tr>
        )}
      />

      {managed && done !== undefined && (
        <DoneNotice testId="bundles-done">
          <p>{done}</p>
        </DoneNotice>
      )}
      {managed && action.error !== undefined && (
        <SettingsProblem error={action.error} testId="bundles-action-error" />
      )}
      {!managed && (
        <SettingsForm
          title="Add a trust bundle"
          onSubmit={add}
          fields={
            <>
              <Field
                id={`${ids}-name`}
                label="Name"
                value={name}
                maxLength={64}
                onChange={(event) => setName(event.target.value)}
                data-testid="bundle-name"
              />
              <Field
                id={`${ids}-url`}
                label="Address (https://)"
                className="settings-field-wide"
                type="url"
                value={url}
                maxLength={2048}
                onChange={(event) => setUrl(event.target.value)}
                data-testid="bundle-url"
              />
              <TrustScopeFields domains={domains} scope={scope} />
              <Field
                id={`${ids}-hours`}
                label="Refresh every (hours, 0: by hand)"
                type="number"
                min={0}
                max={8760}
                value={hours}
                onChange={(event) => setHours(event.target.value)}
              />
            </>
          }
          action={action}
          problemTestId="bundles-action-error"
          submit={{ what: 'add', label: 'Add bundle', busyLabel: 'Adding…', testId: 'bundle-add' }}
        >
          {done !== undefined && (
            <DoneNotice testId="bundles-done">
              <p>{done}</p>
            </DoneNotice>
          )}
        </SettingsForm>
      )}
    </SettingsSection>
  );
}
