/**
 * Settings › Mail server and preferences: relay and upstream accounts, delivery-notification
 * (MDN) and timeout preferences, auto-lock and where the data is kept are set in the server
 * configuration file, not through the contract, so this shows what the HISP's status says
 * about each part, read-only, and says where to change it.
 */
import type { ReactElement } from 'react';

import type { Status } from '../../../hisp/api/index.js';
import { componentStateLabel } from '../format.js';
import { SettingsSection } from './parts.js';

export function ServerSection({ status }: { status: Status | undefined }): ReactElement {
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
          {status.components.map((component) => (
            <div key={component.name} data-testid="server-component">
              <dt>{component.name}</dt>
              <dd>
                {componentStateLabel(component.state)}
                {component.detail === undefined ? '' : ` · ${component.detail}`}
              </dd>
            </div>
          ))}
        </dl>
      )}
    </SettingsSection>
  );
}
