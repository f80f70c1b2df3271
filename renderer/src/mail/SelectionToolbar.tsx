/**
 * What can be done with the selected messages: mark read or unread, flag or unflag, archive
 * (or move back to the Inbox from the Archive) and delete. The words follow the focused
 * selected message (unread → "Mark read"), as mail clients do.
 */
import type { ReactElement } from 'react';

import type { MessageSummary } from '../../../hisp/api/index.js';

export interface SelectionToolbarProps {
  /** How many messages are selected. */
  readonly count: number;
  /** The focused selected message, when loaded: decides the toggles' words. */
  readonly first: MessageSummary | undefined;
  readonly canArchive: boolean;
  readonly onUpdate: (change: {
    seen?: boolean;
    flagged?: boolean;
    folder?: 'archive' | 'inbox';
  }) => void;
  readonly onDelete: () => void;
}

export function SelectionToolbar({
  count,
  first,
  canArchive,
  onUpdate,
  onDelete,
}: SelectionToolbarProps): ReactElement | null {
  if (count === 0) return null;
  const seen = first?.seen ?? false;
  const flagged = first?.flagged ?? false;
  const inArchive = first?.folder === 'archive';
  const received = first?.direction !== 'out';
  return (
    <div
      className="selection-toolbar"
      role="toolbar"
      aria-label="Selected messages"
      data-testid="selection-toolbar"
    >
      <span className="muted selection-count">
        {count === 1 ? '1 selected' : `${count} selected`}
      </span>
      {received && (
        <button
          type="button"
          className="button button-small button-secondary"
          onClick={() => onUpdate({ seen: !seen })}
        >
          {seen ? 'Mark unread' : 'Mark read'}
        </button>
      )}
      <button
        type="button"
        className="button button-small button-secondary"
        aria-pressed={flagged}
        onClick={() => onUpdate({ flagged: !flagged })}
      >
        {flagged ? 'Unflag' : 'Flag'}
      </button>
      {inArchive && received ? (
        <button
          type="button"
          className="button button-small button-secondary"
          onClick={() => onUpdate({ folder: 'inbox' })}
        >
          Move to Inbox
        </button>
      ) : (
        canArchive && (
          <button
            type="button"
            className="button button-small button-secondary"
            onClick={() => onUpdate({ folder: 'archive' })}
          >
            Archive
          </button>
        )
      )}
      <button
        type="button"
        className="button button-small button-secondary"
        onClick={onDelete}
        title="Delete (Delete key)"
      >
        Delete
      </button>
    </div>
  );
}
