/**
 * A To or Cc field: addresses as chips, each with what its certificate check found (found,
 * not found, untrusted, lookup failed, invalid), and under the field the reason and the fix
 * for every address that cannot receive the message. Typing a comma, semicolon or
 * Enter, or leaving the field, turns the typed text into chips; Backspace in an empty field
 * removes the last one.
 */
import { useId } from 'react';
import type { KeyboardEvent, ReactElement } from 'react';

import { ExplanationList } from './ExplanationList.js';
import { explainRecipientCheck } from './explain.js';
import { parseAddresses, recipientChipLabel } from './model.js';
import type { RecipientState } from './model.js';

export interface RecipientFieldProps {
  readonly label: string;
  readonly testId: string;
  readonly addresses: readonly string[];
  readonly text: string;
  readonly states: ReadonlyMap<string, RecipientState>;
  readonly onChange: (addresses: readonly string[], text: string) => void;
  /** Where the compose dialog puts the focus when it opens. */
  readonly initialFocus?: boolean;
}

function chipState(state: RecipientState | undefined): string {
  if (state === undefined || state.kind === 'checking') return 'checking';
  if (state.kind === 'error') return 'error';
  return state.check.state;
}

export function RecipientField(props: RecipientFieldProps): ReactElement {
  const { label, testId, addresses, text, states, onChange } = props;
  const inputId = useId();
  const problemsId = useId();

  const commit = (raw: string): void => {
    const added = parseAddresses(raw).filter(
      (address) => !addresses.some((a) => a.toLowerCase() === address.toLowerCase()),
    );
    onChange([...addresses, ...added], '');
  };

  const onKeyDown = (event: KeyboardEvent<HTMLInputElement>): void => {
    if (event.key === 'Enter' && !event.ctrlKey && !event.metaKey) {
      if (text.trim() !== '') commit(text);
      event.preventDefault();
    } else if ((event.key === ',' || event.key === ';') && text.trim() !== '') {
      commit(text);
      event.preventDefault();
    } else if (event.key === 'Backspace' && text === '' && addresses.length > 0) {
      onChange(addresses.slice(0, -1), '');
      event.preventDefault();
    }
  };

  const problems = addresses.flatMap((address) => {
    const state = states.get(address.toLowerCase());
    if (state === undefined || state.kind === 'checking') return [];
    if (state.kind === 'error') {
      return [
        {
          address,
          items: [
            {
              code: 'CHECK_FAILED',
              summary: `The check could not run: ${state.message}`,
              fix: 'Try again in a moment.',
            },
          ],
        },
      ];
    }
    if (state.check.state === 'found') return [];
    return [{ address, items: explainRecipientCheck(state.check) }];
  });

  return (
    <div className="recipient-field" data-testid={testId}>
      <label className="field-label" htmlFor={inputId}>
        {label}
      </label>
      <div className="chips-input">
        <ul className="chips" aria-label={`${label} recipients`}>
          {addresses.map((address) => {
            const state = states.get(address.toLowerCase());
            const kind = chipState(state);
            return (
              <li
                key={address}
                className="chip"
                data-state={kind}
                data-testid="recipient-chip"
                data-address={address}
              >
                <span className="chip-address">{address}</span>
                <span className="chip-state" data-testid="recipient-state">
                  {recipientChipLabel(state)}
                </span>
                <button
                  type="button"
                  className="chip-remove"
                  aria-label={`Remove ${address}`}
                  onClick={() =>
                    onChange(
                      addresses.filter((a) => a !== address),
                      text,
                    )
                  }
                >
                  ×
                </button>
              </li>
            );
          })}
        </ul>
        <input
          id={inputId}
          className="chips-text"
          type="text"
          inputMode="email"
          autoComplete="off"
          spellCheck={false}
          value={text}
          placeholder={addresses.length === 0 ? 'name@direct.example.org' : ''}
          aria-describedby={problems.length > 0 ? problemsId : undefined}
          data-initial-focus={props.initialFocus === true ? '' : undefined}
          onChange={(event) => {
            const value = event.target.value;
            if (/[,;]$/.test(value) && value.trim() !== '') commit(value);
            else onChange(addresses, value);
          }}
          onBlur={() => {
            if (text.trim() !== '') commit(text);
          }}
          onKeyDown={onKeyDown}
          data-testid={`${testId}-input`}
        />
      </div>
      {problems.length > 0 && (
        <div id={problemsId} className="recipient-problems" data-testid={`${testId}-problems`}>
          {problems.map((problem) => (
            <div key={problem.address} className="recipient-problem" data-address={problem.address}>
              <p className="recipient-problem-address">
                {problem.address} will not receive this message:
              </p>
              <ExplanationList items={problem.items} compact />
            </div>
          ))}
        </div>
      )}
    </div>
  );
}
