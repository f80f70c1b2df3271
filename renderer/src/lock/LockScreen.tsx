/**
 * The lock screen: while the profile is locked it replaces the whole mail window (App.tsx
 * unmounts the mail view, so nothing decrypted stays in the window's state). A keychain
 * profile unlocks with one button; a passphrase-vault profile asks for its passphrase. When
 * the window cannot tell which (it opened on a locked profile), it shows the passphrase field
 * with a note that keychain profiles leave it empty. A wrong passphrase is explained in plain
 * language and the focus goes back into the field.
 */
import { useEffect, useRef, useState } from 'react';
import type { FormEvent, ReactElement, ReactNode } from 'react';

import { HispError } from '../../../hisp/api/index.js';
import type { HispClient, Status } from '../../../hisp/api/index.js';
import { ProblemNotice } from '../ErrorNotice.js';
import { explainSettingsError } from '../mail/explain.js';
import type { Explanation } from '../mail/explain.js';
import { PasswordField } from '../settings/parts.js';
import { unlockParams } from './profileLock.js';
import type { KeySourceKind } from './profileLock.js';
import './lock.css';

export interface LockScreenProps {
  readonly client: HispClient;
  readonly keySource: KeySourceKind;
  readonly masthead: ReactNode;
  /** The HISP's status after a successful unlock. */
  readonly onUnlocked: (status: Status) => void;
  /** A notice shown above the lock screen (the connection was lost). */
  readonly banner?: ReactNode;
}

export function LockScreen({
  client,
  keySource,
  masthead,
  onUnlocked,
  banner,
}: LockScreenProps): ReactElement {
  const [passphrase, setPassphrase] = useState('');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Explanation | undefined>(undefined);
  const field = useRef<HTMLInputElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const askPassphrase = keySource !== 'keychain';

  useEffect(() => {
    if (askPassphrase) field.current?.focus();
    else button.current?.focus();
  }, [askPassphrase]);

  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    if (busy) return;
    if (keySource === 'vault' && passphrase === '') {
      setProblem({
        code: 'VAULT_BAD_PASSPHRASE',
        summary: 'Type the passphrase of this profile to unlock it.',
      });
      field.current?.focus();
      return;
    }
    setBusy(true);
    setProblem(undefined);
    try {
      const status = await client.call('unlock', unlockParams(keySource, passphrase), {
        timeoutMs: 60_000,
      });
      setPassphrase('');
      onUnlocked(status);
    } catch (error) {
      const failure = HispError.from(error);
      setProblem(explainSettingsError({ code: failure.code, message: failure.message }));
      setBusy(false);
      // Back into the field, its text selected, to type it again.
      if (askPassphrase) {
        field.current?.focus();
        field.current?.select();
      } else {
        button.current?.focus();
      }
    }
  };

  return (
    <div className="app lock-app" data-testid="lock-screen">
      <header className="masthead">{masthead}</header>
      {banner}
      <main className="lock-main" aria-labelledby="lock-title">
        <form
          className="lock-card"
          onSubmit={(event) => {
            // Deliberately not awaited: submit() reports its own errors.
            void submit(event);
          }}
          aria-describedby="lock-explanation"
          noValidate
        >
          <h1 id="lock-title">Sealpost is locked</h1>
          <p id="lock-explanation" className="muted">
            Your mail is encrypted and closed. Nothing can be read until you unlock it.
          </p>
          {askPassphrase && (
            <PasswordField
              id="lock-passphrase"
              label="Passphrase"
              className="lock-field"
              inputRef={field}
              autoComplete="current-password"
              value={passphrase}
              onValue={setPassphrase}
              aria-invalid={problem !== undefined}
              aria-describedby={[
                keySource === 'unknown' ? 'lock-note' : '',
                problem === undefined ? '' : 'lock-problem',
              ]
                .filter((id) => id !== '')
                .join(' ')}
              data-testid="lock-passphrase"
            >
              {keySource === 'unknown' && (
                <p id="lock-note" className="lock-note muted">
                  If this profile keeps its key in the system keychain, leave the passphrase empty.
                </p>
              )}
            </PasswordField>
          )}
          {problem !== undefined && (
            <ProblemNotice id="lock-problem" problem={problem} testId="lock-problem" />
          )}
          <div className="lock-actions">
            <button
              ref={button}
              type="submit"
              className="button"
              disabled={busy}
              data-testid="unlock"
            >
              {busy ? 'Unlocking…' : 'Unlock'}
            </button>
          </div>
        </form>
      </main>
    </div>
  );
}
