/**
 * The Drafts folder: the saved drafts (from `listDrafts`), most recent first, as a listbox.
 * Enter or a click opens one in the compose window; Delete removes it for good.
 */
import { useState } from 'react';
import type { KeyboardEvent, ReactElement } from 'react';

import type { CallResult } from '../../../hisp/api/index.js';
import { formatListDate } from './model.js';
import { clampIndex } from './selection.js';

type DraftSummary = CallResult<'listDrafts'>['drafts'][number];

export interface DraftListProps {
  readonly drafts: readonly DraftSummary[];
  readonly onOpen: (id: number) => void;
  readonly onDelete: (id: number) => void;
}

export function DraftList({ drafts, onOpen, onDelete }: DraftListProps): ReactElement {
  const [focus, setFocus] = useState(0);
  if (drafts.length === 0) {
    return (
      <p className="list-empty" data-testid="message-list-empty">
        No drafts. Messages you start and do not send are kept here.
      </p>
    );
  }
  const index = clampIndex(focus, drafts.length);
  const now = new Date();
  const onKeyDown = (event: KeyboardEvent<HTMLUListElement>): void => {
    const current = drafts[index];
    switch (event.key) {
      case 'ArrowDown':
        setFocus(clampIndex(index + 1, drafts.length));
        break;
      case 'ArrowUp':
        setFocus(clampIndex(index - 1, drafts.length));
        break;
      case 'Home':
        setFocus(0);
        break;
      case 'End':
        setFocus(drafts.length - 1);
        break;
      case 'Enter':
        if (current !== undefined) onOpen(current.id);
        break;
      case 'Delete':
        if (current !== undefined) onDelete(current.id);
        break;
      default:
        return;
    }
    event.preventDefault();
    event.stopPropagation();
  };
  return (
    <ul
      className="list-scroll draft-list"
      role="listbox"
      aria-label="Drafts"
      tabIndex={0}
      aria-activedescendant={`draft-${index}`}
      onKeyDown={onKeyDown}
      data-testid="draft-list"
    >
      {drafts.map((draft, i) => (
        <li
          key={draft.id}
          id={`draft-${i}`}
          role="option"
          aria-selected={i === index}
          className="message-row message-row-static"
          data-testid="draft-row"
          data-id={draft.id}
          onClick={() => {
            setFocus(i);
            onOpen(draft.id);
          }}
        >
          <div className="row-line">
            <span className="row-who">
              {draft.to.length === 0 ? '(no recipient)' : `To: ${draft.to.join(', ')}`}
            </span>
            <time className="row-date" dateTime={draft.updatedAt}>
              {formatListDate(draft.updatedAt, now)}
            </time>
          </div>
          <div className="row-line">
            <span className="row-subject">
              {draft.subject === '' ? '(no subject)' : draft.subject}
            </span>
          </div>
        </li>
      ))}
    </ul>
  );
}
