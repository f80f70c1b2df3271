/**
 * Settings › Identity: the profile's Direct identities (address, certificate subject, valid
 * until) and importing one from a PKCS#12 file (.p12/.pfx) with its password
 * (`importIdentity`). A wrong password or a legacy file is explained with the fix.
 */
import { useId, useRef, useState } from 'react';
import type { ReactElement } from 'react';

import { HispError } from '../../../hisp/api/index.js';
import type { CallResult, HispClient } from '../../../hisp/api/index.js';
import { formatDay } from '../mail/explain.js';
import { bytesToBase64 } from '../mail/model.js';
import {
  DoneNotice,
  FileField,
  LoadedTable,
  PasswordField,
  SettingsForm,
  SettingsSection,
  useFileChoice,
} from './parts.js';
import type { SectionProps } from './parts.js';
import { fileBytes, useAction, useSettingsCall } from './useSettingsCall.js';

/** The PKCS#12 import bound of the HISP (hisp/keys): 4 MiB. */
const PKCS12_MAX_BYTES = 4 * 1024 * 1024;

type Imported = CallResult<'importIdentity'>;

const loadIdentities = (
  client: HispClient,
  signal: AbortSignal,
): Promise<CallResult<'identities'>['identities']> =>
  client.call('identities', {}, { signal }).then((answer) => answer.identities);

export function IdentitySection({
  client,
  announce,
  onImported,
}: SectionProps & {
  /** Told after a successful import. */
  onImported?: (() => void) | undefined;
}): ReactElement {
  const [identities, reload] = useSettingsCall(client, loadIdentities);
  const pkcs12File = useFileChoice();
  const [password, setPassword] = useState('');
  const action = useAction();
  const [imported, setImported] = useState<Imported | undefined>(undefined);
  const passwordField = useRef<HTMLInputElement>(null);
  const ids = useId();

  const submit = async (): Promise<void> => {
    const file = pkcs12File.take(
      PKCS12_MAX_BYTES,
      'Choose a .p12 or .pfx file first.',
      'That file is larger than 4 MB: it is not a PKCS#12 identity.',
    );
    if (file instanceof HispError) {
      action.setError(file);
      return;
    }
    await action.run(
      'import',
      async () => {
        setImported(undefined);
        const bytes = await fileBytes(file);
        const answer = await client.call(
          'importIdentity',
          { pkcs12Base64: bytesToBase64(bytes), password },
          { timeoutMs: 120_000 },
        );
        bytes.fill(0);
        setImported(answer);
        setPassword('');
        pkcs12File.clear();
        reload();
        onImported?.();
        announce(
          answer.already
            ? 'This identity was already imported.'
            : `Identity imported for ${answer.identity.addresses.map((a) => a.address).join(', ')}.`,
        );
      },
      () => {
        passwordField.current?.focus();
        passwordField.current?.select();
      },
    );
  };

  return (
    <SettingsSection
      name="identity"
      title="Identity"
      intro="The Direct addresses this profile sends from, each with its certificate."
    >
      <LoadedTable
        loaded={identities}
        errorTestId="identities-error"
        empty="No identity yet: import one below."
        testId="identities"
        caption="Identities"
        columns={['Address', 'Certificate subject', 'Valid until']}
        row={(identity) => (
          <tr key={`${identity.fingerprintSha256}-${identity.address}`} data-testid="identity-row">
            <td>
              {identity.bound === 'domain'
                ? `Anyone at ${identity.address.slice(1)}`
                : identity.address}
            </td>
            <td className="settings-subject">{identity.subject}</td>
            <td>{formatDay(new Date(identity.notAfter))}</td>
          </tr>
        )}
      />

      <SettingsForm
        title="Import PKCS#12…"
        onSubmit={submit}
        fields={
          <>
            <FileField
              id={`${ids}-file`}
              label="Certificate file (.p12 or .pfx)"
              accept=".p12,.pfx,application/x-pkcs12"
              choice={pkcs12File}
              testId="identity-file"
            />
            <PasswordField
              id={`${ids}-password`}
              label="File password"
              inputRef={passwordField}
              autoComplete="off"
              value={password}
              onValue={setPassword}
              data-testid="identity-password"
            />
          </>
        }
        action={action}
        problemTestId="identity-error"
        submit={{
          what: 'import',
          label: 'Import',
          busyLabel: 'Importing…',
          testId: 'identity-import',
        }}
      >
        {imported !== undefined && (
          <DoneNotice testId="identity-imported">
            <p>
              {imported.already ? 'Already imported: ' : 'Imported: '}
              {imported.identity.addresses.map((a) => a.address).join(', ')} (key kept in the{' '}
              {imported.identity.keyLocation === 'keychain'
                ? 'system keychain'
                : 'encrypted profile'}
              ).
            </p>
          </DoneNotice>
        )}
      </SettingsForm>
    </SettingsSection>
  );
}
