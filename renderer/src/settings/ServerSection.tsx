/**
 * Settings › Mail server and preferences: relay and upstream accounts, delivery-notification
 * (MDN) and timeout preferences, auto-lock and where the data is kept are set in the server
 * configuration file, not through the contract, so this shows what the HISP's status says
 * about each part, read-only, and says where to change it.
 *
 * A configured relay or upstream account has a "Test connection" button (the
 * `testConnection` call): the HISP tries the account the way sending or pulling would,
 * sending nothing, and the steps and the reason for a failure are shown in plain language
 * (explain.ts explainConnectionTest).
 */
import { useState } from 'react';
import type { ReactElement } from 'react';

import type { ConnectionTest, HispClient, Status } from '../../../hisp/api/index.js';
import { componentStateLabel } from '../format.js';
import { connectionTestTarget, explainConnectionTest } from '../mail/explain.js';
import { ExplanationList } from '../mail/ExplanationList.js';
import { SettingsSection } from './parts.js';
import { SettingsProblem } from './SettingsProblem.js';
import { useAction } from './useSettingsCall.js';

export interface ServerSectionProps {
  readonly status: Status | undefined;
  /** Absent: no connection tests (the section is read-only). */
  readonly client?: HispClient | undefined;
  /** Say something to screen readers (the polite live region). */
  readonly announce?: ((text: string) => void) | undefined;
}

export function ServerSection({ status, client, announce }: ServerSectionProps): ReactElement {
  return (
    <SettingsSection name="server" title="Mail server and preferences">
      <p className="notice-inline" data-testid="server-settings-note">
        Relay and upstream accounts, delivery notification (MDN) and timeout preferences, auto-lock
        and the data location are set in the server configuration file. Here is what the HISP
        reports about them now.
      </p>
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
              <div key={component.name} data-testid="server-component">
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
    </SettingsSection>
  );
}

/** The "Test connection" button of one account, and what the last test found. */
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
  const statement = result === undefined ? undefined : explainConnectionTest(result);
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
      {statement !== undefined && (
        <div
          className={statement.ok ? 'settings-done' : 'settings-problem'}
          data-testid={`connection-test-${target}-result`}
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
      )}
    </div>
  );
}
