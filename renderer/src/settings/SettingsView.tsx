/**
 * The settings view of the mail window (reached from the header's Settings button): a list
 * of sections on the left, one section at a time on the right. Back, or Escape anywhere in
 * the view, returns to the mail. Every change goes through the contract's settings calls.
 *
 * The preferences (`getPreferences`) are read here, once per visit to Settings: the mail
 * server section shows and changes them, and the trust sections need to know whether the
 * organisation manages anchors or bundles (then they show the badge and offer no add or
 * remove). Unreadable preferences leave the trust sections as they are: the HISP refuses a
 * managed change anyway (SETTING_MANAGED).
 */
import { useEffect, useRef, useState } from 'react';
import type { ReactElement } from 'react';

import type { HispClient, Preferences, Status } from '../../../hisp/api/index.js';
import { AnchorsSection } from './AnchorsSection.js';
import { AuditSection } from './AuditSection.js';
import { BundlesSection } from './BundlesSection.js';
import { IdentitySection } from './IdentitySection.js';
import { ServerSection } from './ServerSection.js';
import { useSettingsCall } from './useSettingsCall.js';
import './settings.css';

export type SettingsSectionName = 'identity' | 'anchors' | 'bundles' | 'audit' | 'server';

const SECTIONS: readonly { readonly name: SettingsSectionName; readonly label: string }[] = [
  { name: 'identity', label: 'Identity' },
  { name: 'anchors', label: 'Trust anchors' },
  { name: 'bundles', label: 'Trust bundles' },
  { name: 'audit', label: 'Audit log' },
  { name: 'server', label: 'Mail server and preferences' },
];

const loadPreferences = (client: HispClient, signal: AbortSignal): Promise<Preferences> =>
  client.call('getPreferences', {}, { signal });

export interface SettingsViewProps {
  readonly client: HispClient;
  readonly status: Status | undefined;
  /** The profile's local domains (from its identities), offered for anchors and bundles. */
  readonly domains: readonly string[];
  readonly announce: (text: string) => void;
  /** Told after an identity import (new sending addresses). */
  readonly onIdentitiesChanged?: (() => void) | undefined;
  readonly onBack: () => void;
}

export function SettingsView({
  client,
  status,
  domains,
  announce,
  onIdentitiesChanged,
  onBack,
}: SettingsViewProps): ReactElement {
  const [section, setSection] = useState<SettingsSectionName>('identity');
  const heading = useRef<HTMLHeadingElement>(null);
  const [preferences, , setPreferences] = useSettingsCall(client, loadPreferences);
  const ready = preferences.state === 'ready' ? preferences.value : undefined;

  useEffect(() => heading.current?.focus(), []);

  return (
    <main
      className="settings-page"
      aria-labelledby="settings-title"
      data-testid="settings"
      onKeyDown={(event) => {
        if (event.key === 'Escape' && !event.defaultPrevented) {
          event.preventDefault();
          onBack();
        }
      }}
    >
      <div className="settings-head">
        <h1 id="settings-title" ref={heading} tabIndex={-1}>
          Settings
        </h1>
        <button
          type="button"
          className="button button-secondary"
          onClick={onBack}
          title="Back to mail (Escape)"
          data-testid="settings-back"
        >
          Back to mail
        </button>
      </div>
      <div className="settings-layout">
        <nav className="settings-nav" aria-label="Settings sections">
          <ul>
            {SECTIONS.map((entry) => (
              <li key={entry.name}>
                <button
                  type="button"
                  className="settings-nav-item"
                  aria-current={section === entry.name ? 'page' : undefined}
                  onClick={() => setSection(entry.name)}
                  data-testid={`settings-nav-${entry.name}`}
                >
                  {entry.label}
                </button>
              </li>
            ))}
          </ul>
        </nav>
        <div className="settings-content">
          {section === 'identity' && (
            <IdentitySection client={client} announce={announce} onImported={onIdentitiesChanged} />
          )}
          {section === 'anchors' && (
            <AnchorsSection
              client={client}
              domains={domains}
              announce={announce}
              preferences={ready}
            />
          )}
          {section === 'bundles' && (
            <BundlesSection
              client={client}
              domains={domains}
              announce={announce}
              preferences={ready}
            />
          )}
          {section === 'audit' && <AuditSection client={client} announce={announce} />}
          {section === 'server' && (
            <ServerSection
              status={status}
              client={client}
              announce={announce}
              preferences={preferences}
              onPreferences={setPreferences}
            />
          )}
        </div>
      </div>
    </main>
  );
}
