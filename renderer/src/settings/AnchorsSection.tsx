/**
 * Settings › Trust anchors: every anchor (subject, short fingerprint, local domain,
 * direction, origin), importing anchors from a PEM, DER or .p7b file for a domain and
 * direction (`importAnchors`: refused certificates are listed with their reasons), and
 * removing an anchor added by hand (after a second click). Anchors from a trust bundle say
 * which bundle they come from: they go with it. When the organisation manages the anchors
 * (`managed` includes 'trustAnchors'), the list is shown under the "Managed by your
 * organisation" badge, with no import and no remove (the HISP refuses them: SETTING_MANAGED).
 */
import { useId, useState } from 'react';
import type { ReactElement } from 'react';

import { HispError } from '../../../hisp/api/index.js';
import type { Anchor, CallResult, HispClient } from '../../../hisp/api/index.js';
import {
  anchorOrigin,
  certificatesText,
  directionLabel,
  domainLabel,
  shortFingerprint,
} from './model.js';
import {
  ConfirmRemove,
  DoneNotice,
  FileField,
  LoadedTable,
  SettingsForm,
  SettingsSection,
  SourceBadge,
  TrustScopeFields,
  useTrustScope,
  useFileChoice,
} from './parts.js';
import { isManaged, managedNote } from './preferencesModel.js';
import type { TrustSectionProps } from './parts.js';
import { fileBytes, useAction, useSettingsCall } from './useSettingsCall.js';

/** The anchor file bound of the HISP: 1 MiB of certificate bytes. */
const ANCHOR_FILE_MAX_BYTES = 1024 * 1024;

const loadAnchors = (client: HispClient, signal: AbortSignal): Promise<readonly Anchor[]> =>
  client.call('listAnchors', {}, { signal }).then((answer) => answer.anchors);

function anchorKey(anchor: Anchor): string {
  return `${anchor.fingerprintSha256}|${anchor.domain}|${anchor.direction}|${anchor.bundle ?? ''}`;
}

export function AnchorsSection({
  client,
  domains,
  announce,
  preferences,
}: TrustSectionProps): ReactElement {
  const managed = isManaged(preferences, 'trustAnchors');
  const [anchors, reload] = useSettingsCall(client, loadAnchors);
  const certificateFile = useFileChoice();
  const scope = useTrustScope();
  const action = useAction();
  const [result, setResult] = useState<CallResult<'importAnchors'> | undefined>(undefined);
  const [confirming, setConfirming] = useState<string | undefined>(undefined);
  const ids = useId();

  const submit = async (): Promise<void> => {
    const file = certificateFile.take(
      ANCHOR_FILE_MAX_BYTES,
      'Choose a certificate file first.',
      'That file is larger than 1 MB.',
    );
    if (file instanceof HispError) {
      action.setError(file);
      return;
    }
    await action.run('import', async () => {
      setResult(undefined);
      const certificates = certificatesText(await fileBytes(file));
      const answer = await client.call('importAnchors', {
        certificates,
        domain: scope.domain,
        direction: scope.direction,
      });
      setResult(answer);
      certificateFile.clear();
      reload();
      announce(
        `${answer.added.length} anchor(s) added, ${answer.already.length} already there, ${answer.refused.length} refused.`,
      );
    });
  };

  const remove = async (anchor: Anchor): Promise<void> => {
    setConfirming(undefined);
    await action.run(`remove-${anchorKey(anchor)}`, async () => {
      const answer = await client.call('removeAnchor', {
        fingerprintSha256: anchor.fingerprintSha256,
        domain: anchor.domain,
        direction: anchor.direction,
      });
      reload();
      announce(`Removed ${answer.removed.length} anchor(s): ${anchor.subject}.`);
    });
  };

  return (
    <SettingsSection
      name="anchors"
      title="Trust anchors"
      intro="Mail is trusted only when its certificate leads to one of these anchors."
    >
      {managed && preferences !== undefined && (
        <SourceBadge note={managedNote(preferences)} testId="anchors-managed" />
      )}
      <LoadedTable
        loaded={anchors}
        errorTestId="anchors-error"
        empty="No trust anchors: no mail can be trusted yet."
        emptyTestId="anchors-empty"
        testId="anchors"
        caption="Trust anchors"
        columns={['Subject', 'Fingerprint', 'Domain', 'Direction', 'Origin']}
        actions
        row={(anchor) => {
          const key = anchorKey(anchor);
          return (
            <tr key={key} data-testid="anchor-row" data-fingerprint={anchor.fingerprintSha256}>
              <td className="settings-subject">{anchor.subject}</td>
              <td>
                <code title={anchor.fingerprintSha256}>
                  {shortFingerprint(anchor.fingerprintSha256)}
                </code>
              </td>
              <td>{domainLabel(anchor.domain)}</td>
              <td>{directionLabel(anchor.direction)}</td>
              <td>{anchorOrigin(anchor)}</td>
              <td className="settings-row-actions">
                {managed ? (
                  <span className="muted">Managed</span>
                ) : anchor.origin === 'bundle' ? (
                  <span className="muted">Removed with its bundle</span>
                ) : (
                  <ConfirmRemove
                    label={`Remove ${anchor.subject} (${domainLabel(anchor.domain)}, ${directionLabel(anchor.direction)})`}
                    confirmText="Remove for good"
                    confirming={confirming === key}
                    onConfirming={(on) => setConfirming(on ? key : undefined)}
                    onConfirm={() => {
                      // Deliberately not awaited: remove() reports its own errors.
                      void remove(anchor);
                    }}
                    testIds={{ remove: 'anchor-remove', confirm: 'anchor-remove-confirm' }}
                  />
                )}
              </td>
            </tr>
          );
        }}
      />

      {!managed && (
        <SettingsForm
          title="Import anchors"
          onSubmit={submit}
          fields={
            <>
              <FileField
                id={`${ids}-file`}
                label="Certificate file (PEM, DER or .p7b)"
                accept=".pem,.crt,.cer,.der,.p7b,.p7c"
                choice={certificateFile}
                testId="anchor-file"
              />
              <TrustScopeFields
                domains={domains}
                scope={scope}
                testIds={{ domain: 'anchor-domain', direction: 'anchor-direction' }}
              />
            </>
          }
          action={action}
          problemTestId="anchors-action-error"
          submit={{
            what: 'import',
            label: 'Import',
            busyLabel: 'Importing…',
            testId: 'anchor-import',
          }}
        >
          {result !== undefined && (
            <DoneNotice testId="anchors-imported">
              <p>
                Added {result.added.length}, already there {result.already.length}, refused{' '}
                {result.refused.length}.
              </p>
              {result.refused.length > 0 && (
                <ul className="settings-refused">
                  {result.refused.map((refused) => (
                    <li key={refused.fingerprintSha256}>
                      <strong>{refused.subject}</strong>:{' '}
                      {refused.reasons.map((reason) => reason.message).join(' ')}
                    </li>
                  ))}
                </ul>
              )}
            </DoneNotice>
          )}
        </SettingsForm>
      )}
    </SettingsSection>
  );
}
