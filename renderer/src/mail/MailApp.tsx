/**
 * The three-pane mail window: folders (nav), the message list and the reading pane (main),
 * a header with search, New message, Settings, Status and Lock now, the compose dialog, and
 * a polite live region that announces new mail and send progress. Settings (settings/) and
 * the status page take the place of the list and reading panes. It owns what is selected and
 * opened; data comes from the hooks in useMailbox.ts, all through the contract (the first
 * screen's Inbox page and folder counts may come already asked for, see App.tsx). Settings
 * is loaded as a chunk of its own, when the window is idle or when opened.
 *
 * Keyboard: Ctrl+N new, Ctrl+R reply, Ctrl+Shift+R reply all, Ctrl+Shift+F forward,
 * Delete, Ctrl+E or F3 search, Escape leaves search (and settings), Ctrl+L locks; the list
 * takes arrows, Home/End, Enter (see MessageList.tsx); the compose dialog takes Ctrl+Enter.
 */
import { Suspense, lazy, useCallback, useEffect, useRef, useState } from 'react';
import type { FormEvent, ReactElement, ReactNode } from 'react';

import { HispError } from '../../../hisp/api/index.js';
import type { Folder, HispClient, OpenedMessage, Status } from '../../../hisp/api/index.js';
import { ErrorNotice } from '../ErrorNotice.js';
import { canLock } from '../lock/profileLock.js';
import { Compose } from './Compose.js';
import type { SettingsView as SettingsViewType } from '../settings/SettingsView.js';
import type { ComposeStart } from './Compose.js';
import { DraftList } from './DraftList.js';
import { explainAlert, explainCertificateAlert } from './explain.js';
import { FolderPane } from './FolderPane.js';
import { MessageList } from './MessageList.js';
import { ReadingPane } from './ReadingPane.js';
import { SelectionToolbar } from './SelectionToolbar.js';
import { addressOf, folderLabel, seedFrom } from './model.js';
import type { ReplyKind } from './model.js';
import {
  EMPTY_SELECTION,
  followSelected,
  pick,
  resolvePending,
  selectAll,
  single,
} from './selection.js';
import type { PickMode, Selection } from './selection.js';
import {
  PAGE_SIZE,
  useDrafts,
  useFolderCounts,
  useHispEvent,
  useMessagePages,
} from './useMailbox.js';
import type { EarlyAlert, FirstScreen, ListSource } from './useMailbox.js';
import './mail.css';

export interface MailAppProps {
  readonly client: HispClient;
  /** The addresses this profile can send from. */
  readonly fromAddresses: readonly string[];
  /** The status page (the existing StatusPanel), shown by the Status button. */
  readonly statusView: ReactNode;
  /** A notice shown above everything (the connection was lost). */
  readonly banner?: ReactNode;
  readonly masthead: ReactNode;
  /** The HISP's latest status (settings shows its details; locking needs a profile). */
  readonly status?: Status | undefined;
  /** Told the status a lock returned (the app then shows the lock screen). */
  readonly onStatus?: (status: Status) => void;
  /** Told when settings imported an identity (the sending addresses are read again). */
  readonly onIdentitiesChanged?: () => void;
  /**
   * The Inbox's first page and the folder counts, already asked for (with `identities`);
   * used once, when the window mounts.
   */
  readonly firstScreen?: FirstScreen | undefined;
}

/**
 * Settings is a chunk of its own (with its styles), fetched from the app's own origin when
 * the window is idle after its first screen, or when opened: the first screen runs less script.
 */
const loadSettings = (): Promise<{ readonly SettingsView: typeof SettingsViewType }> =>
  import('../settings/SettingsView.js');
const SettingsView = lazy(() =>
  loadSettings().then((module) => ({ default: module.SettingsView })),
);

/** Fetch the settings chunk once the window has nothing else to do (opening it is then instant). */
function preloadSettingsWhenIdle(): () => void {
  const preload = (): void => {
    // A failed preload is retried when settings is opened (React.lazy reports it there).
    loadSettings().catch(() => undefined);
  };
  if (typeof window.requestIdleCallback === 'function') {
    const handle = window.requestIdleCallback(preload, { timeout: 5000 });
    return () => window.cancelIdleCallback(handle);
  }
  const timer = setTimeout(preload, 2000);
  return () => clearTimeout(timer);
}

/** Most ids per deleteMessages / updateMessages call (the contract's bound). */
const IDS_PER_CALL = 1000;

interface Notice {
  readonly id: number;
  readonly tone: 'bad' | 'warn';
  readonly text: string;
  /** What to do, and the HISP's own sentence. */
  readonly more?: string;
}

/** Which view takes the place of the list and reading panes. */
type Pane = 'mail' | 'status' | 'settings';

function isEditable(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return (
    target.isContentEditable ||
    target instanceof HTMLInputElement ||
    target instanceof HTMLTextAreaElement ||
    target instanceof HTMLSelectElement
  );
}

export function MailApp({
  client,
  fromAddresses,
  statusView,
  banner,
  masthead,
  status,
  onStatus,
  onIdentitiesChanged,
  firstScreen,
}: MailAppProps): ReactElement {
  const [folder, setFolder] = useState<Folder>('inbox');
  const [search, setSearch] = useState<string | undefined>(undefined);
  const [searchText, setSearchText] = useState('');
  const [pane, setPane] = useState<Pane>('mail');
  const showStatus = pane === 'status';
  /** Changes when the list must be read again (mailbox and delivery events, own actions). */
  const [version, setVersion] = useState(0);
  /** Changes after this window's own actions: counts and drafts are read again. */
  const [countsVersion, setCountsVersion] = useState(0);
  const [picked, setSelection] = useState<Selection>(EMPTY_SELECTION);
  const [scrollRequest, setScrollRequest] = useState(0);
  const [focusRequest, setFocusRequest] = useState<{ id: number; n: number } | undefined>(
    undefined,
  );
  const [compose, setCompose] = useState<ComposeStart | undefined>(undefined);
  const [announcement, setAnnouncement] = useState('');
  const [notices, setNotices] = useState<readonly Notice[]>([]);
  const [actionError, setActionError] = useState<HispError | undefined>(undefined);
  const opened = useRef<OpenedMessage | undefined>(undefined);
  const readingHeading = useRef<HTMLHeadingElement>(null);
  const searchInput = useRef<HTMLInputElement>(null);
  const returnFocus = useRef<HTMLElement | null>(null);
  const noticeId = useRef(0);

  const source: ListSource =
    search === undefined ? { kind: 'folder', folder } : { kind: 'search', text: search };
  const pages = useMessagePages(client, source, version, firstScreen);
  // A row picked before its page arrived is selected once it has.
  const idAt = useCallback((index: number) => pages.rowAt(index)?.id, [pages]);
  const selection = followSelected(resolvePending(picked, idAt), idAt);
  const { counts } = useFolderCounts(client, countsVersion, firstScreen);
  const drafts = useDrafts(client, countsVersion);

  const refreshList = useCallback(() => setVersion((v) => v + 1), []);
  const refresh = useCallback(() => {
    setVersion((v) => v + 1);
    setCountsVersion((v) => v + 1);
  }, []);
  const announce = useCallback((text: string) => {
    // A repeated sentence is still announced: the region's text must change.
    setAnnouncement((previous) => (previous === text ? `${text}\u00a0` : text));
  }, []);
  const addNotice = useCallback((tone: Notice['tone'], text: string, more?: string) => {
    noticeId.current += 1;
    const id = noticeId.current;
    setNotices((list) => [
      ...list.slice(-4),
      { id, tone, text, ...(more === undefined ? {} : { more }) },
    ]);
  }, []);

  // ── Events from the HISP ────────────────────────────────────────────────────────────────
  useHispEvent(client, 'mailbox', (event) => {
    // The event carries the counts (useFolderCounts applies them); the list is read again.
    refreshList();
    if (event.arrived.length === 1) {
      const [first] = event.arrived;
      if (first !== undefined) {
        announce(
          `New message${first.folder === 'untrusted' ? ' (not trusted)' : ''} from ${first.sender}: ${first.subject}`,
        );
      }
    } else if (event.arrived.length > 1) {
      announce(`${event.arrived.length} new messages.`);
    }
  });
  useHispEvent(client, 'delivery', (event) => {
    refreshList();
    if (event.state === 'failed' || event.state === 'timed-out') {
      const text =
        event.state === 'failed'
          ? `Delivery to ${event.recipient} failed${event.reason === undefined ? '' : `: ${event.reason.message}`}`
          : `Delivery to ${event.recipient} was not confirmed in time.`;
      addNotice('bad', text);
      announce(text);
    }
  });
  const showAlert = useCallback(
    (alert: EarlyAlert) => {
      if (alert.name === 'alert') {
        const words = explainAlert(alert.data);
        addNotice('warn', words.summary, [words.detail, words.fix].filter(Boolean).join(' '));
      } else {
        const words = explainCertificateAlert(alert.data);
        addNotice('warn', words.summary, [words.fix, words.detail].filter(Boolean).join(' '));
      }
    },
    [addNotice],
  );
  useHispEvent(client, 'alert', (data) => showAlert({ name: 'alert', data }));
  useHispEvent(client, 'certificateAlert', (data) => showAlert({ name: 'certificateAlert', data }));

  useEffect(() => preloadSettingsWhenIdle(), []);

  // Declared after the listeners above, so it runs once they listen: a mailbox change that
  // came before, while the first screen was being fetched, is read now, and the alerts the
  // HISP told of on connecting (one that holds, such as silence) are shown.
  const prefetched = useRef(firstScreen);
  useEffect(() => {
    if (prefetched.current?.changed() === true) refresh();
    for (const alert of prefetched.current?.takeAlerts() ?? []) showAlert(alert);
  }, [refresh, showAlert]);

  // ── Selection and opening ───────────────────────────────────────────────────────────────
  const onPick = useCallback(
    (index: number, id: number | undefined, mode: PickMode) => {
      setSelection((current) =>
        pick(followSelected(resolvePending(current, idAt), idAt), index, id, mode, idAt),
      );
      setScrollRequest((n) => n + 1);
    },
    [idAt],
  );

  const openedId = single(selection);
  const firstSelected =
    selection.all || selection.ids.size === 0
      ? pages.rowAt(selection.focus)
      : (() => {
          const row = pages.rowAt(selection.focus);
          return row !== undefined && selection.ids.has(row.id) ? row : undefined;
        })();
  const focusedRow = pages.rowAt(selection.focus);
  const focusedUnread = focusedRow !== undefined && !focusedRow.seen ? focusedRow.id : undefined;
  const onOpened = useCallback(
    (message: OpenedMessage | undefined) => {
      opened.current = message;
      // Opening marks it read: show that in the list and the folder counts.
      if (message !== undefined && message.summary.id === focusedUnread) refresh();
    },
    [refresh, focusedUnread],
  );

  const goToFolder = (next: Folder): void => {
    setPane('mail');
    setSearch(undefined);
    setSearchText('');
    setFolder(next);
    setSelection(EMPTY_SELECTION);
  };

  // ── Actions ─────────────────────────────────────────────────────────────────────────────
  const openCompose = useCallback((start: ComposeStart) => {
    returnFocus.current =
      document.activeElement instanceof HTMLElement ? document.activeElement : null;
    setCompose(start);
  }, []);

  const reply = useCallback(
    (kind: ReplyKind) => {
      const message = opened.current;
      if (message === undefined || !message.decrypted) return;
      openCompose({ kind: 'seed', seed: seedFrom(message, kind, fromAddresses) });
    },
    [fromAddresses, openCompose],
  );

  const openDraft = useCallback(
    (id: number) => {
      client
        .call('getDraft', { id })
        .then((draft) => openCompose({ kind: 'draft', draft }))
        .catch((error: unknown) => setActionError(HispError.from(error)));
    },
    [client, openCompose],
  );

  const deleteSelected = useCallback(async (): Promise<void> => {
    if (search === undefined && folder === 'drafts') return;
    const abort = new AbortController();
    let ids: number[];
    try {
      ids = selection.all ? await pages.allIds(abort.signal) : [...selection.ids];
    } catch (error) {
      setActionError(HispError.from(error));
      return;
    }
    if (ids.length === 0) return;
    // What to select afterwards: the first loaded row after the focus that stays.
    const gone = new Set(ids);
    let next: { id: number; index: number } | undefined;
    for (let i = selection.focus + 1; i < selection.focus + PAGE_SIZE; i += 1) {
      const row = pages.rowAt(i);
      if (row === undefined) break;
      if (gone.has(row.id)) continue;
      let above = 0;
      for (let j = 0; j < i; j += 1) {
        const before = pages.rowAt(j);
        if (before !== undefined && gone.has(before.id)) above += 1;
      }
      next = { id: row.id, index: i - above };
      break;
    }
    let trashed = 0;
    let deleted = 0;
    try {
      for (let i = 0; i < ids.length; i += IDS_PER_CALL) {
        const answer = await client.call('deleteMessages', { ids: ids.slice(i, i + IDS_PER_CALL) });
        trashed += answer.trashed;
        deleted += answer.deleted;
      }
      setActionError(undefined);
    } catch (error) {
      setActionError(HispError.from(error));
    }
    const words: string[] = [];
    if (trashed > 0)
      words.push(`${trashed === 1 ? 'One message' : `${trashed} messages`} moved to Trash`);
    if (deleted > 0)
      words.push(`${deleted === 1 ? 'one message' : `${deleted} messages`} deleted for good`);
    if (words.length > 0) announce(`${words.join('; ')}.`);
    setSelection(
      next === undefined
        ? EMPTY_SELECTION
        : { ids: new Set([next.id]), all: false, anchor: next.index, focus: next.index },
    );
    refresh();
  }, [announce, client, folder, pages, refresh, search, selection]);

  /** Mark, flag or move what is selected (in calls of at most IDS_PER_CALL ids). */
  const updateSelected = useCallback(
    async (change: { seen?: boolean; flagged?: boolean; folder?: 'archive' | 'inbox' }) => {
      const abort = new AbortController();
      try {
        const ids = selection.all ? await pages.allIds(abort.signal) : [...selection.ids];
        for (let i = 0; i < ids.length; i += IDS_PER_CALL) {
          await client.call('updateMessages', { ids: ids.slice(i, i + IDS_PER_CALL), ...change });
        }
        setActionError(undefined);
        if (change.folder !== undefined) {
          announce(
            `${ids.length === 1 ? 'One message' : `${ids.length} messages`} moved to ${folderLabel(change.folder)}.`,
          );
          setSelection(EMPTY_SELECTION);
        }
      } catch (error) {
        setActionError(HispError.from(error));
      }
      refresh();
    },
    [announce, client, pages, refresh, selection],
  );

  const deleteDraft = useCallback(
    (id: number) => {
      client
        .call('deleteDraft', { id })
        .then(() => {
          announce('Draft deleted.');
          refresh();
        })
        .catch((error: unknown) => setActionError(HispError.from(error)));
    },
    [announce, client, refresh],
  );

  const submitSearch = (event: FormEvent): void => {
    event.preventDefault();
    const text = searchText.trim();
    setPane('mail');
    setSelection(EMPTY_SELECTION);
    setSearch(text === '' ? undefined : text.slice(0, 500));
  };

  const lockable = canLock(status);
  const lockNow = useCallback(() => {
    client
      .call('lock', {})
      .then((locked) => onStatus?.(locked))
      .catch((error: unknown) => setActionError(HispError.from(error)));
  }, [client, onStatus]);
  const domains = [
    ...new Set(fromAddresses.map((address) => addressOf(address).split('@')[1] ?? '')),
  ]
    .filter((domain) => domain !== '')
    .sort();

  // ── Global keyboard shortcuts ───────────────────────────────────────────────────────────
  useEffect(() => {
    const onKeyDown = (event: KeyboardEvent): void => {
      const ctrl = event.ctrlKey || event.metaKey;
      const key = event.key.toLowerCase();
      // Locking works everywhere, the compose dialog too (its text is dropped with the view).
      if (ctrl && !event.altKey && !event.shiftKey && key === 'l') {
        event.preventDefault();
        if (lockable) lockNow();
        return;
      }
      if (compose !== undefined) return; // the dialog has its own keys
      if (ctrl && !event.altKey && key === 'n' && !event.shiftKey) {
        event.preventDefault();
        openCompose({ kind: 'new' });
      } else if (ctrl && !event.altKey && key === 'r') {
        event.preventDefault();
        reply(event.shiftKey ? 'reply-all' : 'reply');
      } else if (ctrl && event.shiftKey && key === 'f') {
        event.preventDefault();
        reply('forward');
      } else if ((ctrl && key === 'e' && !event.shiftKey) || event.key === 'F3') {
        event.preventDefault();
        searchInput.current?.focus();
        searchInput.current?.select();
      } else if (event.key === 'Delete' && pane === 'mail' && !isEditable(event.target)) {
        event.preventDefault();
        // Deliberately not awaited: deleteSelected() reports its own errors.
        void deleteSelected();
      }
    };
    window.addEventListener('keydown', onKeyDown);
    return () => window.removeEventListener('keydown', onKeyDown);
  }, [compose, deleteSelected, lockNow, lockable, openCompose, pane, reply]);

  const listTitle = search !== undefined ? `Search results for “${search}”` : folderLabel(folder);
  const outgoing = search === undefined && (folder === 'sent' || folder === 'outbox');

  return (
    <div className="app mail-app">
      <header className="masthead mail-masthead">
        {masthead}
        <form className="search" role="search" onSubmit={submitSearch} aria-label="Search mail">
          <input
            ref={searchInput}
            className="input search-input"
            type="search"
            placeholder="Search mail (Ctrl+E)"
            aria-label="Search subject, sender and text"
            value={searchText}
            maxLength={500}
            onChange={(event) => setSearchText(event.target.value)}
            onKeyDown={(event) => {
              if (event.key === 'Escape' && search !== undefined) {
                setSearch(undefined);
                setSearchText('');
              }
            }}
            data-testid="search-input"
          />
        </form>
        <div className="masthead-actions">
          <button
            type="button"
            className="button"
            onClick={() => openCompose({ kind: 'new' })}
            title="New message (Ctrl+N)"
            data-testid="new-message"
          >
            New message
          </button>
          <button
            type="button"
            className="button button-secondary"
            aria-pressed={pane === 'settings'}
            onClick={() => setPane((shown) => (shown === 'settings' ? 'mail' : 'settings'))}
            data-testid="show-settings"
          >
            Settings
          </button>
          <button
            type="button"
            className="button button-secondary"
            aria-pressed={showStatus}
            onClick={() => setPane((shown) => (shown === 'status' ? 'mail' : 'status'))}
            data-testid="show-status"
          >
            Status
          </button>
          {lockable && (
            <button
              type="button"
              className="button button-secondary"
              onClick={lockNow}
              title="Lock now (Ctrl+L)"
              data-testid="lock-now"
            >
              Lock now
            </button>
          )}
        </div>
      </header>

      {banner}
      {notices.length > 0 && (
        <div className="notices">
          {notices.map((notice) => (
            <p
              key={notice.id}
              className={`notice-inline notice-${notice.tone}`}
              role="alert"
              data-testid="mail-notice"
            >
              <strong>{notice.text}</strong>
              {notice.more === undefined || notice.more === '' ? '' : ` ${notice.more}`}{' '}
              <button
                type="button"
                className="link-button"
                onClick={() => setNotices((list) => list.filter((n) => n.id !== notice.id))}
              >
                Dismiss
              </button>
            </p>
          ))}
        </div>
      )}

      <div className="mail-layout">
        <FolderPane
          current={search === undefined && pane === 'mail' ? folder : undefined}
          counts={counts}
          onSelect={goToFolder}
        />
        {pane === 'settings' ? (
          <Suspense
            fallback={
              <main className="page" aria-labelledby="settings-loading" aria-busy="true">
                <h1 id="settings-loading">Settings</h1>
                <p className="muted" role="status">
                  Loading settings…
                </p>
              </main>
            }
          >
            <SettingsView
              client={client}
              status={status}
              domains={domains}
              announce={announce}
              onIdentitiesChanged={onIdentitiesChanged}
              onBack={() => setPane('mail')}
            />
          </Suspense>
        ) : showStatus ? (
          <main className="page status-page" aria-labelledby="page-title">
            <h1 id="page-title">HISP status</h1>
            {statusView}
          </main>
        ) : (
          <main className="mail-main" aria-labelledby="list-title">
            <section className="list-pane" aria-labelledby="list-title">
              <div className="list-head">
                <h1 id="list-title" className="list-title" data-testid="list-title">
                  {listTitle}
                </h1>
                {search !== undefined && (
                  <button
                    type="button"
                    className="link-button"
                    onClick={() => {
                      setSearch(undefined);
                      setSearchText('');
                    }}
                  >
                    Clear search
                  </button>
                )}
                {selection.all && (
                  <span className="muted" data-testid="select-all-note">
                    All {pages.total} selected
                  </span>
                )}
              </div>
              {!(search === undefined && folder === 'drafts') && (
                <SelectionToolbar
                  count={selection.all ? pages.total : selection.ids.size}
                  first={firstSelected}
                  canArchive={search !== undefined || (folder !== 'archive' && folder !== 'outbox')}
                  onUpdate={(change) => {
                    // Deliberately not awaited: updateSelected() reports its own errors.
                    void updateSelected(change);
                  }}
                  onDelete={() => {
                    void deleteSelected();
                  }}
                />
              )}
              {actionError !== undefined && (
                <ErrorNotice title="That did not work" error={actionError} testId="action-error" />
              )}
              {pages.error !== undefined && (
                <ErrorNotice
                  title="The list could not be read"
                  error={pages.error}
                  testId="list-error"
                />
              )}
              {search === undefined && folder === 'drafts' ? (
                drafts.state === 'ready' ? (
                  <DraftList drafts={drafts.value} onOpen={openDraft} onDelete={deleteDraft} />
                ) : drafts.state === 'error' ? (
                  <ErrorNotice title="The drafts could not be read" error={drafts.error} />
                ) : (
                  <p className="list-empty muted">Loading…</p>
                )
              ) : (
                <MessageList
                  label={listTitle}
                  pages={pages}
                  outgoing={outgoing}
                  selection={selection}
                  onPick={onPick}
                  onSelectAll={() =>
                    setSelection((current) => selectAll(resolvePending(current, idAt)))
                  }
                  onOpen={(index) => {
                    const id = pages.rowAt(index)?.id;
                    if (id === undefined) return;
                    if (single(selection) !== id) {
                      setSelection({ ids: new Set([id]), all: false, anchor: index, focus: index });
                    }
                    setFocusRequest((previous) => ({ id, n: (previous?.n ?? 0) + 1 }));
                  }}
                  scrollRequest={scrollRequest}
                  emptyText={
                    search !== undefined
                      ? 'No messages match.'
                      : `No messages in ${folderLabel(folder)}.`
                  }
                />
              )}
            </section>
            {search === undefined && folder === 'drafts' ? (
              <section className="reading-pane" aria-label="Message">
                <p className="reading-empty muted">Open a draft to go on writing it.</p>
              </section>
            ) : (
              <ReadingPane
                client={client}
                id={openedId}
                selectedCount={selection.all ? pages.total : selection.ids.size}
                headingRef={readingHeading}
                focusRequest={focusRequest}
                onOpened={onOpened}
                onReply={reply}
              />
            )}
          </main>
        )}
      </div>

      <div className="visually-hidden" role="status" aria-live="polite" data-testid="announcer">
        {announcement}
      </div>

      {compose !== undefined && (
        <Compose
          client={client}
          fromAddresses={fromAddresses}
          start={compose}
          announce={announce}
          onClose={() => {
            setCompose(undefined);
            refresh();
            returnFocus.current?.focus();
          }}
        />
      )}
    </div>
  );
}
