/**
 * The mail window's data layer: small React hooks over the contract (HispClient), so the
 * components only render. Folder counts follow the `mailbox` event; the message list is
 * fetched a page at a time as the virtualized list scrolls (cached by page, so 100,000 rows
 * cost only the pages on screen); identities and drafts are read once and on change.
 * The first screen (the Inbox's first page and the folder counts) can be asked for by the
 * app before the mail window mounts, together with `identities` (prefetchFirstScreen), so
 * the rows do not wait for a second round trip.
 */
import {
  useCallback,
  useEffect,
  useLayoutEffect,
  useMemo,
  useRef,
  useState,
  useSyncExternalStore,
} from 'react';

import { HispError } from '../../../hisp/api/index.js';
import type {
  CallResult,
  EventData,
  EventName,
  Folder,
  FolderCount,
  HispClient,
  MessageSummary,
} from '../../../hisp/api/index.js';

/** Rows fetched per `listMessages` call. */
export const PAGE_SIZE = 100;

/** Subscribe to one contract event for the component's lifetime (latest listener wins). */
export function useHispEvent<E extends EventName>(
  client: HispClient,
  name: E,
  listener: (data: EventData<E>) => void,
): void {
  const latest = useRef(listener);
  useEffect(() => {
    latest.current = listener;
  });
  useEffect(() => client.on(name, (data) => latest.current(data)), [client, name]);
}

/** Run an async call; report failures other than cancellation (unmount) to `onError`. */
export function reportUnlessCancelled(error: unknown, onError: (error: HispError) => void): void {
  const failure = HispError.from(error);
  if (failure.code !== 'CANCELLED') onError(failure);
}

export type Loadable<T> =
  | { readonly state: 'loading' }
  | { readonly state: 'ready'; readonly value: T }
  | { readonly state: 'error'; readonly error: HispError };

/** The profile's sending addresses (address-bound identities first). */
export function useIdentities(
  client: HispClient,
): Loadable<CallResult<'identities'>['identities']> {
  const [result, setResult] = useState<Loadable<CallResult<'identities'>['identities']>>({
    state: 'loading',
  });
  useEffect(() => {
    const abort = new AbortController();
    client
      .call('identities', {}, { signal: abort.signal })
      .then(({ identities }) => {
        const sorted = [...identities].sort(
          (a, b) => Number(a.bound === 'domain') - Number(b.bound === 'domain'),
        );
        setResult({ state: 'ready', value: sorted });
      })
      .catch((error: unknown) =>
        reportUnlessCancelled(error, (failure) => setResult({ state: 'error', error: failure })),
      );
    return () => abort.abort();
  }, [client]);
  return result;
}

/**
 * The first screen's data, asked for as soon as the window knows it is connected and
 * unlocked, at the same time as `identities`: the Inbox's first page and the folder counts.
 * Each answer is handed out once (the first Inbox list and the first count read); after
 * that, or after dispose(), the hooks ask the HISP themselves.
 */
export interface FirstScreen {
  /** The Inbox's first page (PAGE_SIZE rows), once; undefined if taken or disposed. */
  takeInbox(): Promise<CallResult<'listMessages'>> | undefined;
  /** The folder counts, once; undefined if taken or disposed. */
  takeFolders(): Promise<CallResult<'folders'>> | undefined;
  /**
   * Whether a `mailbox` or `delivery` event arrived since the calls went out: the answers
   * may be older than the mailbox, and the window, not yet listening then, must read again.
   */
  changed(): boolean;
  /**
   * The `alert` and `certificateAlert` events that came before the window listened, in
   * order, once (later ones reach the window's own listeners). The HISP tells a window of an
   * alert that holds as soon as it connects, before the mail window is on screen: without
   * this the banner would never show.
   */
  takeAlerts(): readonly EarlyAlert[];
  /** Cancel what is still in flight and stop listening (nothing more is handed out). */
  dispose(): void;
}

/** An alert event that came before the mail window listened (see FirstScreen.takeAlerts). */
export type EarlyAlert =
  | { readonly name: 'alert'; readonly data: EventData<'alert'> }
  | { readonly name: 'certificateAlert'; readonly data: EventData<'certificateAlert'> };

/** Ask for the first screen now (see FirstScreen). */
export function prefetchFirstScreen(client: HispClient): FirstScreen {
  const abort = new AbortController();
  const { signal } = abort;
  let inbox: Promise<CallResult<'listMessages'>> | undefined = client.call(
    'listMessages',
    { folder: 'inbox', offset: 0, limit: PAGE_SIZE },
    { signal },
  );
  let folders: Promise<CallResult<'folders'>> | undefined = client.call('folders', {}, { signal });
  // Whoever takes an answer handles its failure; one nobody takes must not be "unhandled".
  inbox.catch(() => undefined);
  folders.catch(() => undefined);
  let changed = false;
  const alerts: EarlyAlert[] = [];
  const stop = [
    client.on('mailbox', () => {
      changed = true;
    }),
    client.on('delivery', () => {
      changed = true;
    }),
  ];
  // Kept apart: stopped when taken, while the others go on until dispose().
  const stopAlerts = [
    client.on('alert', (data) => alerts.push({ name: 'alert', data })),
    client.on('certificateAlert', (data) => alerts.push({ name: 'certificateAlert', data })),
  ];
  return {
    takeInbox() {
      const taken = inbox;
      inbox = undefined;
      return taken;
    },
    takeFolders() {
      const taken = folders;
      folders = undefined;
      return taken;
    },
    changed: () => changed,
    takeAlerts() {
      for (const unsubscribe of stopAlerts.splice(0)) unsubscribe();
      return alerts.splice(0);
    },
    dispose() {
      inbox = undefined;
      folders = undefined;
      abort.abort();
      for (const unsubscribe of [...stop.splice(0), ...stopAlerts.splice(0)]) unsubscribe();
      alerts.length = 0;
    },
  };
}

/** Folder counts: read once, then kept current by the `mailbox` event. */
export function useFolderCounts(
  client: HispClient,
  version: number,
  firstScreen?: FirstScreen,
): {
  readonly counts: ReadonlyMap<Folder, FolderCount>;
  readonly error: HispError | undefined;
} {
  const [counts, setCounts] = useState<ReadonlyMap<Folder, FolderCount>>(new Map());
  const [error, setError] = useState<HispError | undefined>(undefined);
  const apply = useCallback((list: readonly FolderCount[]) => {
    setCounts(new Map(list.map((entry) => [entry.folder, entry])));
  }, []);
  // Only the first screen handed over when the window mounted is used (once).
  const prefetched = useRef(firstScreen);
  // Read again whenever `version` changes (after this window changed the mailbox itself).
  useEffect(() => {
    const abort = new AbortController();
    const ask = (): Promise<CallResult<'folders'>> =>
      client.call('folders', {}, { signal: abort.signal });
    // A prefetched answer that failed (cancelled, say) is no answer: ask again.
    (prefetched.current?.takeFolders()?.catch(ask) ?? ask())
      .then(({ folders }) => {
        apply(folders);
        setError(undefined);
      })
      .catch((failure: unknown) => reportUnlessCancelled(failure, setError));
    return () => abort.abort();
  }, [client, apply, version]);
  useHispEvent(client, 'mailbox', (event) => apply(event.folders));
  return { counts, error };
}

/** What the message list shows: a folder, or search results (in one folder or all). */
export type ListSource =
  | { readonly kind: 'folder'; readonly folder: Folder }
  | { readonly kind: 'search'; readonly text: string; readonly folder?: Folder };

export function sameSource(a: ListSource, b: ListSource): boolean {
  if (a.kind === 'folder' && b.kind === 'folder') return a.folder === b.folder;
  if (a.kind === 'search' && b.kind === 'search') return a.text === b.text && a.folder === b.folder;
  return false;
}

export interface MessagePages {
  /** Rows in the source (search: the results found, at most 500). */
  readonly total: number;
  /** Whether the first answer has arrived. */
  readonly loaded: boolean;
  readonly error: HispError | undefined;
  /** The row at `index`, if its page is loaded (or a stale copy while it reloads). */
  readonly rowAt: (index: number) => MessageSummary | undefined;
  /** Fetch the pages that hold rows `start`..`end` (inclusive) unless they are loaded. */
  readonly ensure: (start: number, end: number) => void;
  /** Ids of every row in the source, fetched page by page (for "select all" actions). */
  readonly allIds: (signal: AbortSignal) => Promise<number[]>;
}

/** Largest page `listMessages` gives (the contract's bound). */
const MAX_PAGE = 500;
/** Pages kept in memory per list; the ones farthest from the screen are dropped first. */
const MAX_CACHED_PAGES = 40;
/** How long the list must stay put after a jump before its rows are asked for (see ensure). */
const SETTLE_MS = 50;

/**
 * The pages of one source, outside React: fetched on demand, cached by page, and marked
 * stale (still shown, fetched again) when the mailbox changes. Components follow it with
 * useSyncExternalStore.
 */
class PageCache {
  readonly #client: HispClient;
  readonly #source: ListSource;
  #pages = new Map<number, readonly MessageSummary[]>();
  #stale = new Map<number, readonly MessageSummary[]>();
  readonly #inflight = new Set<number>();
  #generation = 0;
  #abort = new AbortController();
  #wanted = { start: 0, end: PAGE_SIZE - 1 };
  /** A jump's fetch, waiting for the list to settle. */
  #settling: ReturnType<typeof setTimeout> | undefined;
  #listeners = new Set<() => void>();
  #snapshot: { total: number; loaded: boolean; error: HispError | undefined; tick: number } = {
    total: 0,
    loaded: false,
    error: undefined,
    tick: 0,
  };

  /** The Inbox's first page, asked for before the window mounted (see adopt). */
  #firstPage: Promise<CallResult<'listMessages'>> | undefined;

  constructor(client: HispClient, source: ListSource) {
    this.#client = client;
    this.#source = source;
  }

  /** Take the first screen's Inbox page (if this is the Inbox and it is still there). */
  adopt(firstScreen: FirstScreen | undefined): void {
    if (this.#source.kind === 'folder' && this.#source.folder === 'inbox') {
      this.#firstPage = firstScreen?.takeInbox();
    }
  }

  readonly subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  readonly snapshot = (): {
    total: number;
    loaded: boolean;
    error: HispError | undefined;
    tick: number;
  } => this.#snapshot;

  #emit(change: Partial<{ total: number; loaded: boolean; error: HispError | undefined }>): void {
    this.#snapshot = { ...this.#snapshot, ...change, tick: this.#snapshot.tick + 1 };
    for (const listener of this.#listeners) listener();
  }

  /** The mailbox changed: fetch the wanted pages again, showing the old rows meanwhile. */
  invalidate(): void {
    this.#generation += 1;
    this.#abort.abort();
    this.#abort = new AbortController();
    this.#inflight.clear();
    this.#stale = new Map([...this.#stale, ...this.#pages]);
    this.#pages = new Map();
    this.ensure(this.#wanted.start, this.#wanted.end);
  }

  dispose(): void {
    if (this.#settling !== undefined) clearTimeout(this.#settling);
    this.#settling = undefined;
    this.#generation += 1;
    this.#abort.abort();
    this.#listeners.clear();
  }

  readonly rowAt = (index: number): MessageSummary | undefined => {
    const page = Math.floor(index / PAGE_SIZE);
    const rows = this.#pages.get(page) ?? this.#stale.get(page);
    return rows?.[index - page * PAGE_SIZE];
  };

  readonly ensure = (start: number, end: number): void => {
    const before = this.#wanted;
    this.#wanted = { start, end };
    if (this.#source.kind === 'search') {
      this.#fetch(0);
      return;
    }
    if (this.#settling !== undefined) clearTimeout(this.#settling);
    this.#settling = undefined;
    // A jump (no row in common with what was wanted before: the scrollbar dragged, End) is
    // fetched once the list stays put for SETTLE_MS. Dragging through 100,000 rows would
    // otherwise ask for every page it passes, and the HISP would answer them all, one after
    // the other, before the page the user stopped at.
    const jumped = start > before.end || end < before.start;
    if (jumped) {
      this.#settling = setTimeout(() => {
        this.#settling = undefined;
        this.#fetchWanted();
      }, SETTLE_MS);
      return;
    }
    this.#fetchWanted();
  };

  #fetchWanted(): void {
    const { start, end } = this.#wanted;
    const first = Math.max(0, Math.floor(start / PAGE_SIZE));
    const last = Math.max(first, Math.floor(Math.max(start, end) / PAGE_SIZE));
    for (let page = first; page <= last; page += 1) this.#fetch(page);
  }

  #fetch(page: number): void {
    if (this.#pages.has(page) || this.#inflight.has(page)) return;
    const mine = this.#generation;
    const source = this.#source;
    const signal = this.#abort.signal;
    this.#inflight.add(page);
    const request: Promise<{ messages: MessageSummary[]; total: number }> =
      source.kind === 'folder'
        ? this.#listFolder(source.folder, page, signal)
        : this.#client
            .call(
              'searchMessages',
              {
                text: source.text,
                limit: MAX_PAGE,
                ...(source.folder === undefined ? {} : { folder: source.folder }),
              },
              { signal },
            )
            .then(({ messages }) => ({ messages, total: messages.length }));
    request
      .then((answer) => {
        if (mine !== this.#generation) return;
        this.#inflight.delete(page);
        if (source.kind === 'search') {
          // All results in one answer: split them into pages like the folder list.
          this.#stale = new Map();
          for (let p = 0; p * PAGE_SIZE < answer.messages.length; p += 1) {
            this.#pages.set(p, answer.messages.slice(p * PAGE_SIZE, (p + 1) * PAGE_SIZE));
          }
          if (!this.#pages.has(page)) this.#pages.set(page, []);
        } else {
          this.#pages.set(page, answer.messages);
          this.#stale.delete(page);
          this.#trim();
        }
        this.#emit({ total: answer.total, loaded: true, error: undefined });
      })
      .catch((failure: unknown) => {
        if (mine !== this.#generation) return;
        this.#inflight.delete(page);
        reportUnlessCancelled(failure, (error) => this.#emit({ error }));
      });
  }

  /** One page of a folder: the prefetched first Inbox page if there is one, else a call. */
  #listFolder(
    folder: Folder,
    page: number,
    signal: AbortSignal,
  ): Promise<CallResult<'listMessages'>> {
    const list = (): Promise<CallResult<'listMessages'>> =>
      this.#client.call(
        'listMessages',
        { folder, offset: page * PAGE_SIZE, limit: PAGE_SIZE },
        { signal },
      );
    const prefetched = page === 0 ? this.#firstPage : undefined;
    this.#firstPage = undefined;
    // A prefetched answer that failed (cancelled, say) is no answer: ask again.
    return prefetched?.catch(list) ?? list();
  }

  /** Forget the pages farthest from what is on screen once there are too many. */
  #trim(): void {
    const excess = this.#pages.size + this.#stale.size - MAX_CACHED_PAGES;
    if (excess <= 0) return;
    const centre = Math.floor((this.#wanted.start + this.#wanted.end) / 2 / PAGE_SIZE);
    const far = [...new Set([...this.#stale.keys(), ...this.#pages.keys()])]
      .sort((x, y) => Math.abs(y - centre) - Math.abs(x - centre))
      .slice(0, excess);
    for (const page of far) {
      this.#stale.delete(page);
      this.#pages.delete(page);
    }
  }

  readonly allIds = async (signal: AbortSignal): Promise<number[]> => {
    const source = this.#source;
    const ids: number[] = [];
    if (source.kind === 'search') {
      for (const rows of this.#pages.values()) for (const row of rows) ids.push(row.id);
      return ids;
    }
    for (let offset = 0; ; offset += MAX_PAGE) {
      const answer = await this.#client.call(
        'listMessages',
        { folder: source.folder, offset, limit: MAX_PAGE },
        { signal },
      );
      for (const row of answer.messages) ids.push(row.id);
      if (answer.messages.length < MAX_PAGE || ids.length >= answer.total) return ids;
    }
  };
}

/**
 * The message list of one source, a page at a time. `version` changes when the mailbox
 * changes: the pages on screen are fetched again and old rows stay visible until then.
 */
export function useMessagePages(
  client: HispClient,
  source: ListSource,
  version: number,
  firstScreen?: FirstScreen,
): MessagePages {
  const sourceKey = JSON.stringify(source);
  // Only the first screen handed over when the window mounted is used (once, by the Inbox).
  const prefetched = useRef(firstScreen);
  const cache = useMemo(
    () => new PageCache(client, JSON.parse(sourceKey) as ListSource),
    [client, sourceKey],
  );
  useEffect(() => () => cache.dispose(), [cache]);
  const firstVersion = useRef(new WeakMap<PageCache, number>());
  // A layout effect: the first page is asked for before the browser paints the empty frame,
  // not a frame later (a passive effect waits for the paint), which the first screen feels.
  useLayoutEffect(() => {
    const seen = firstVersion.current.get(cache);
    firstVersion.current.set(cache, version);
    if (seen === undefined) {
      cache.adopt(prefetched.current);
      cache.ensure(0, PAGE_SIZE - 1);
    } else if (seen !== version) cache.invalidate();
  }, [cache, version]);
  const snapshot = useSyncExternalStore(cache.subscribe, cache.snapshot);
  return useMemo(
    () => ({
      total: snapshot.total,
      loaded: snapshot.loaded,
      error: snapshot.error,
      rowAt: cache.rowAt,
      ensure: cache.ensure,
      allIds: cache.allIds,
    }),
    // A new snapshot whenever rows arrive, so rowAt's answers change with it.
    [cache, snapshot],
  );
}

/** The saved drafts, most recent first; read again whenever `version` changes. */
export function useDrafts(
  client: HispClient,
  version: number,
): Loadable<CallResult<'listDrafts'>['drafts']> {
  const [drafts, setDrafts] = useState<Loadable<CallResult<'listDrafts'>['drafts']>>({
    state: 'loading',
  });
  useEffect(() => {
    const abort = new AbortController();
    client
      .call('listDrafts', {}, { signal: abort.signal })
      .then((answer) => setDrafts({ state: 'ready', value: answer.drafts }))
      .catch((error: unknown) =>
        reportUnlessCancelled(error, (failure) => setDrafts({ state: 'error', error: failure })),
      );
    return () => abort.abort();
  }, [client, version]);
  return drafts;
}
