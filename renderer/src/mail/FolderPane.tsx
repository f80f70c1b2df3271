/**
 * The folder pane: the seven folders in a navigation landmark, each with its unread count
 * (or, for Drafts and Outbox, how many are waiting), kept live by the `mailbox` event.
 */
import type { ReactElement } from 'react';

import { FOLDER_LIST } from '../../../hisp/api/index.js';
import type { Folder, FolderCount } from '../../../hisp/api/index.js';
import { folderLabel } from './model.js';

export interface FolderPaneProps {
  readonly current: Folder | undefined;
  readonly counts: ReadonlyMap<Folder, FolderCount>;
  readonly onSelect: (folder: Folder) => void;
}

/**
 * The number a folder shows: unread for received mail, all for Drafts and Outbox (waiting),
 * none for Sent (what you sent is never "unread").
 */
function badgeOf(folder: Folder, count: FolderCount | undefined): number {
  if (count === undefined || folder === 'sent') return 0;
  return folder === 'drafts' || folder === 'outbox' ? count.total : count.unseen;
}

export function FolderPane({ current, counts, onSelect }: FolderPaneProps): ReactElement {
  return (
    <nav className="folder-pane" aria-label="Folders">
      <ul className="folder-list">
        {FOLDER_LIST.map((folder) => {
          const badge = badgeOf(folder, counts.get(folder));
          const unreadWord = folder === 'drafts' || folder === 'outbox' ? 'waiting' : 'unread';
          return (
            <li key={folder}>
              <button
                type="button"
                className="folder"
                data-testid={`folder-${folder}`}
                data-unread={badge}
                aria-current={current === folder ? 'page' : undefined}
                onClick={() => onSelect(folder)}
              >
                <span className="folder-name">{folderLabel(folder)}</span>
                {badge > 0 && (
                  <span className="folder-badge" data-testid={`folder-${folder}-count`}>
                    {badge}
                    <span className="visually-hidden"> {unreadWord}</span>
                  </span>
                )}
              </button>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}
