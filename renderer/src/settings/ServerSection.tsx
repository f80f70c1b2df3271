/**
 * Settings › Mail server and preferences: the relay and upstream accounts, delivery
 * notification (MDN) and timeout preferences, auto-lock and where the data is kept, as
 * `getPreferences` reports them, each group a form of its own (PreferencesForms.tsx) that is
 * editable, managed by the organisation, or set in the configuration file; then what the
 * HISP's status says about each part now.
 *
 * Two kinds of "Test connection": in the relay and upstream forms, the account as typed,
 * before it is saved (`testConnection` with the account and any typed password); in the
 * status list, the account the HISP is using now (`testConnection` with the target only), for
 * every configured relay or upstream account whatever set it. Both show the steps and the
 * reason for a failure in plain language (explain.ts explainConnectionTest).
 *
 * The preferences are read once by SettingsView (the trust sections need `managed` too) and
 * handed down with a way to replace them with what a save answered.
 */
import { useState } from 'react';
import type { ReactElement } from 'react';

import type { ConnectionTest, HispClient, Preferences, Status } from '../../../hisp/api/index.js';
import { componentStateLabel } from '../format.js';
import { connectionTestTarget, explainConnectionTest } from '../mail/explain.js';
import type { Loadable } from '../mail/useMailbox.js';
import {
  AutoLockGroup,
  DataLocation,
  DeliveryGroup,
  RelayGroup,
  UpstreamGroup,
} from './PreferencesForms.js';
import { ConnectionTestResult, SettingsSection } from './parts.js';
import { SettingsProblem } from './SettingsProblem.js';
import { useAction } from './useSettingsCall.js';

export interface ServerSectionProps {
  readonly status: Status | undefined;
  /** Absent: no forms and no connection tests (the section is read-only). */
  readonly client?: HispClient | undefined;
  /** Say something to screen readers (the polite live region). */
  readonly announce?: ((text: string) => void) | undefined;
  /** The preferences as read (absent: not shown). */
  readonly preferences?: Loadable<Preferences> | undefined;
  /** Told the preferences as a save answered them. */
  readonly onPreferences?: ((preferences: Preferences) => void) | undefined;
}

export function ServerSection({
  status,
  client,
  announce,
  preferences,
  onPreferences,
}: ServerSectionProps): ReactElement {
  return (
    <SettingsSection name="server" title="Mail server and preferences">
      <p className="notice-inline" data-testid="server-settings-note">
        Each group is saved on its own. A group marked “Managed by your organisation” is set by your
        IT staff; one set in the configuration file is changed there.
      </p>
      {preferences !== undefined && client !== undefined && (
        <PreferencesGroups
          preferences={preferences}
          client={client}
          announce={announce ?? (() => undefined)}
          onSaved={onPreferences ?? (() => undefined)}
        />
      )}
      <section className="settings-form" aria-labelledby="server-status-title">
        <h3 id="server-status-title" className="settings-form-title">
          What the HISP reports now
        </h3>
        {status === undefined ? (
          <p className="muted">The HISP has not reported its status yet.</p>
        ) : (
          <dl className="settings-facts" data-testid="server-settings">
            <div>
              <dt>Profile</dt>
              <dd>
                {status.profile.name}
                {status.profile.throwaway ? ' (throwaway: deleted when Sealpost stops)' : ''}
              </dd>
            </div>
            {status.components.map((component) => {
              const target = connectionTestTarget(component);
              return (
                <div
                  key={component.name}
                  data-testid="server-component"
                  data-name={component.name}
                  data-state={component.state}
                >
                  <dt>{component.name}</dt>
                  <dd>
                    {componentStateLabel(component.state)}
                    {component.detail === undefined ? '' : ` · ${component.detail}`}
                    {target !== undefined && client !== undefined && (
                      <ConnectionTestControl client={client} target={target} announce={announce} />
                    )}
                  </dd>
                </div>
              );
            })}
          </dl>
        )}
      </section>
    </SettingsSection>
  );
}

/** The group forms, once the preferences are read (or why they could not be). */
function PreferencesGroups({
  preferences,
  client,
  announce,
  onSaved,
}: {
  preferences: Loadable<Preferences>;
  client: HispClient;
  announce: (text: string) => void;
  onSaved: (preferences: Preferences) => void;
}): ReactElement {
  switch (preferences.state) {
    case 'loading':
      return <p className="muted">Loading the preferences…</p>;
    case 'error':
      // A HISP without a saved profile (the demo's practices) has no preferences: not a failure.
      return preferences.error.code === 'PROFILE_NOT_FOUND' ? (
        <p className="notice-inline" data-testid="prefs-unavailable">
          Nothing here can be changed: {preferences.error.message}
        </p>
      ) : (
        <SettingsProblem error={preferences.error} testId="prefs-error" />
      );
    case 'ready': {
      const groupProps = { client, announce, preferences: preferences.value, onSaved };
      return (
        <div data-testid="prefs">
          {preferences.value.policyProblem !== undefined && (
            <div
              className="notice-inline notice-warn"
              role="note"
              data-testid="prefs-policy-problem"
            >
              <p>
                The organisation’s policy file could not be used, so every setting it can lock is
                locked: {preferences.value.policyProblem}
              </p>
            </div>
          )}
          <RelayGroup {...groupProps} />
          <UpstreamGroup {...groupProps} />
          <DeliveryGroup {...groupProps} />
          <AutoLockGroup {...groupProps} />
          <DataLocation preferences={preferences.value} />
        </div>
      );
    }
  }
}

/** The "Test connection" button of the account the HISP uses now, and what the last test found. */
function ConnectionTestControl({
  client,
  target,
  announce,
}: {
  client: HispClient;
  target: ConnectionTest['target'];
  announce: ((text: string) => void) | undefined;
}): ReactElement {
  const action = useAction();
  const [result, setResult] = useState<ConnectionTest | undefined>(undefined);
  const name = target === 'relay' ? 'relay' : 'upstream mailbox';
  return (
    <div className="connection-test" data-testid={`connection-test-${target}`}>
      <div className="settings-actions">
        <button
          type="button"
          className="button button-secondary"
          disabled={action.busy !== undefined}
          aria-label={`Test connection to the ${name}`}
          data-testid={`test-connection-${target}`}
          onClick={() => {
            setResult(undefined);
            // Deliberately not awaited: run() keeps its own failure.
            void action.run('test', async () => {
              const answer = await client.call('testConnection', { target });
              setResult(answer);
              announce?.(explainConnectionTest(answer).headline);
            });
          }}
        >
          {action.busy === undefined ? 'Test connection' : 'Testing…'}
        </button>
      </div>
      {action.error !== undefined && (
        <SettingsProblem error={action.error} testId={`connection-test-${target}-problem`} />
      )}
      {result !== undefined && (
        <ConnectionTestResult result={result} testId={`connection-test-${target}-result`} />
      )}
    </div>
  );
}
