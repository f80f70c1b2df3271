/**
 * The message list: a virtualized listbox (@tanstack/react-virtual) over a source of any
 * size. Only the rows on screen exist in the DOM, and only their pages are fetched, so
 * 100,000 messages scroll like 100. Unread rows are bold; attachments, flags and trust are
 * marked; Sent and Outbox show each message's delivery. Keyboard: arrows, Home/End,
 * PageUp/PageDown (Shift extends), Space toggles, Ctrl+A selects all, Enter opens.
 */
import { useVirtualizer } from '@tanstack/react-virtual';
import { memo, useCallback, useEffect, useMemo, useRef } from 'react';
import type { KeyboardEvent, MouseEvent, ReactElement } from 'react';

import type { MessageSummary } from '../../../hisp/api/index.js';
import { FlagIcon, PaperclipIcon, WarningIcon } from './icons.js';
import { deliveryColumn, formatListDate } from './model.js';
import { clampIndex, isSelected } from './selection.js';
import type { PickMode, Selection } from './selection.js';
import type { MessagePages } from './useMailbox.js';

/** Height of one row in pixels (two lines); the stylesheet's .message-row matches it. */
export const ROW_HEIGHT = 58;

export interface MessageListProps {
  readonly label: string;
  readonly pages: MessagePages;
  /** Show who it went to, and the delivery column (Sent, Outbox). */
  readonly outgoing: boolean;
  readonly selection: Selection;
  readonly onPick: (index: number, id: number | undefined, mode: PickMode) => void;
  readonly onSelectAll: () => void;
  /** Enter on a row: show it and move focus into the reading pane. */
  readonly onOpen: (index: number) => void;
  /** Changes whenever the list should scroll the focused row into view. */
  readonly scrollRequest: number;
  readonly emptyText: string;
}

export function MessageList(props: MessageListProps): ReactElement {
  const { label, pages, outgoing, selection, onPick, onSelectAll, onOpen, scrollRequest } = props;
  const scroller = useRef<HTMLDivElement>(null);
  // TanStack Virtual returns functions that React Compiler cannot memoize; this component is
  // not compiled, which is fine: it re-renders only on scroll and on new rows.
  // eslint-disable-next-line react-hooks/incompatible-library -- see above
  const virtualizer = useVirtualizer({
    count: pages.total,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
  });
  const items = virtualizer.getVirtualItems();
  const first = items[0]?.index ?? 0;
  const last = items[items.length - 1]?.index ?? 0;
  const { ensure } = pages;
  useEffect(() => {
    ensure(first, last);
  }, [ensure, first, last]);

  useEffect(() => {
    if (scrollRequest > 0 && pages.total > 0) {
      virtualizer.scrollToIndex(clampIndex(selection.focus, pages.total), { align: 'auto' });
    }
    // Only a new scroll request moves the list, not every render.
    // eslint-disable-next-line react-hooks/exhaustive-deps -- see above
  }, [scrollRequest]);

  // One "now" per set of rows (not per render): the rows on screen render again only when
  // they change, not on every scroll frame (see Row).
  // eslint-disable-next-line react-hooks/exhaustive-deps -- a new date when new rows arrive
  const now = useMemo(() => new Date(), [pages]);
  const pageRows = Math.max(
    1,
    Math.floor((scroller.current?.clientHeight ?? 580) / ROW_HEIGHT) - 1,
  );

  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>): void => {
    const total = pages.total;
    if (total === 0) return;
    const move = (to: number): void => {
      const index = clampIndex(to, total);
      onPick(index, pages.rowAt(index)?.id, { toggle: false, range: event.shiftKey });
      event.preventDefault();
    };
    const ctrl = event.ctrlKey || event.metaKey;
    switch (event.key) {
      case 'ArrowDown':
        move(selection.focus + 1);
        break;
      case 'ArrowUp':
        move(selection.focus - 1);
        break;
      case 'Home':
        move(0);
        break;
      case 'End':
        move(total - 1);
        break;
      case 'PageDown':
        move(selection.focus + pageRows);
        break;
      case 'PageUp':
        move(selection.focus - pageRows);
        break;
      case 'Enter':
        onOpen(clampIndex(selection.focus, total));
        event.preventDefault();
        break;
      case ' ':
        onPick(selection.focus, pages.rowAt(selection.focus)?.id, { toggle: true, range: false });
        event.preventDefault();
        break;
      case 'a':
      case 'A':
        if (ctrl && !event.shiftKey && !event.altKey) {
          onSelectAll();
          event.preventDefault();
        }
        break;
      default:
        break;
    }
  };

  // Stable for the rows' sake (they are memoized), always calling the latest onPick.
  const latestPick = useRef(onPick);
  useEffect(() => {
    latestPick.current = onPick;
  });
  const onRowClick = useCallback(
    (event: MouseEvent, index: number, id: number | undefined): void => {
      latestPick.current(index, id, {
        toggle: event.ctrlKey || event.metaKey,
        range: event.shiftKey,
      });
    },
    [],
  );

  if (pages.loaded && pages.total === 0) {
    return (
      <p className="list-empty" data-testid="message-list-empty">
        {props.emptyText}
      </p>
    );
  }

  const focusIndex = clampIndex(selection.focus, pages.total);
  const focusVisible = items.some((item) => item.index === focusIndex);
  return (
    <div
      ref={scroller}
      className="list-scroll"
      role="listbox"
      aria-label={label}
      aria-multiselectable="true"
      aria-busy={pages.loaded ? undefined : 'true'}
      aria-activedescendant={pages.total > 0 && focusVisible ? `row-${focusIndex}` : undefined}
      tabIndex={0}
      data-testid="message-list"
      data-total={pages.total}
      onKeyDown={onKeyDown}
    >
      <div
        className="list-canvas"
        role="presentation"
        style={{ height: virtualizer.getTotalSize() }}
      >
        {items.map((item) => {
          const row = pages.rowAt(item.index);
          return (
            <Row
              key={item.key}
              index={item.index}
              total={pages.total}
              top={item.start}
              row={row}
              outgoing={outgoing}
              focused={item.index === focusIndex}
              selected={row !== undefined && isSelected(selection, row.id)}
              now={now}
              onClick={onRowClick}
            />
          );
        })}
      </div>
    </div>
  );
}

interface RowProps {
  readonly index: number;
  readonly total: number;
  readonly top: number;
  readonly row: MessageSummary | undefined;
  readonly outgoing: boolean;
  readonly focused: boolean;
  readonly selected: boolean;
  readonly now: Date;
  readonly onClick: (event: MouseEvent, index: number, id: number | undefined) => void;
}

/**
 * One row. Memoized: while the list scrolls, only the rows that come into view (or whose data,
 * focus or selection changed) render; the others keep their DOM untouched.
 */
const Row = memo(function Row({
  index,
  total,
  top,
  row,
  outgoing,
  focused,
  selected,
  now,
  onClick,
}: RowProps): ReactElement {
  const style = { transform: `translateY(${top}px)`, height: ROW_HEIGHT };
  if (row === undefined) {
    return (
      <div
        id={`row-${index}`}
        className="message-row message-row-loading"
        role="option"
        aria-selected="false"
        aria-setsize={total}
        aria-posinset={index + 1}
        style={style}
      >
        <span className="muted">Loading…</span>
      </div>
    );
  }
  const who = outgoing || row.direction === 'out' ? `To: ${row.recipients.join(', ')}` : row.sender;
  // What this profile sent is never "unread".
  const unread = !row.seen && row.direction === 'in';
  const delivery = row.delivery === undefined ? undefined : deliveryColumn(row.delivery);
  return (
    <div
      id={`row-${index}`}
      className="message-row"
      role="option"
      aria-selected={selected}
      aria-setsize={total}
      aria-posinset={index + 1}
      data-testid="message-row"
      data-id={row.id}
      data-unread={unread ? 'true' : undefined}
      data-focused={focused ? 'true' : undefined}
      style={style}
      onClick={(event) => onClick(event, index, row.id)}
    >
      <div className="row-line">
        <span className="row-who">
          {unread && <span className="visually-hidden">Unread. </span>}
          {who}
        </span>
        <span className="row-marks">
          {!row.trusted && (
            <span className="mark mark-untrusted" title="Not trusted">
              <WarningIcon />
              <span className="visually-hidden">Not trusted.</span>
            </span>
          )}
          {row.flagged && (
            <span className="mark mark-flag" title="Flagged">
              <FlagIcon />
              <span className="visually-hidden">Flagged.</span>
            </span>
          )}
          {row.hasAttachments && (
            <span className="mark mark-attachment" title="Has attachments">
              <PaperclipIcon />
              <span className="visually-hidden">Has attachments.</span>
            </span>
          )}
        </span>
        <time className="row-date" dateTime={row.receivedAt}>
          {formatListDate(row.receivedAt, now)}
        </time>
      </div>
      <div className="row-line">
        <span className="row-subject">{row.subject === '' ? '(no subject)' : row.subject}</span>
        {delivery !== undefined && (outgoing || row.direction === 'out') && (
          <span className="row-delivery" data-tone={delivery.tone} data-testid="row-delivery">
            {delivery.text}
          </span>
        )}
      </div>
    </div>
  );
});
