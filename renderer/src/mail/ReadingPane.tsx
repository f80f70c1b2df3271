/**
 * The reading pane: the opened message's headers, its trust banner, the body (rendered by
 * MessageBody, which owns HTML safety), attachments, and for a sent message the
 * per-recipient delivery timeline, kept live by the `delivery` event.
 */
import { useEffect, useRef, useState } from 'react';
import type { ReactElement, RefObject } from 'react';

import type { HispClient, OpenedMessage } from '../../../hisp/api/index.js';
import { ErrorNotice } from '../ErrorNotice.js';
import { Attachments } from './Attachments.js';
import { DeliveryTimeline } from './DeliveryTimeline.js';
import { MessageBody } from './MessageBody.js';
import { TrustBanner } from './TrustBanner.js';
import { formatFullDate } from './model.js';
import type { ReplyKind } from './model.js';
import { reportUnlessCancelled, useHispEvent } from './useMailbox.js';
import type { Loadable } from './useMailbox.js';

export interface ReadingPaneProps {
  readonly client: HispClient;
  /** The message to show; undefined shows a hint (none or several selected). */
  readonly id: number | undefined;
  readonly selectedCount: number;
  readonly headingRef: RefObject<HTMLHeadingElement | null>;
  /** Move the focus to this message's heading once it is shown (Enter in the list). */
  readonly focusRequest: { readonly id: number; readonly n: number } | undefined;
  readonly onOpened: (message: OpenedMessage | undefined) => void;
  readonly onReply: (kind: ReplyKind) => void;
}

export function ReadingPane(props: ReadingPaneProps): ReactElement {
  const { client, id, onOpened } = props;
  // What was opened, by id: a new id shows "Opening…" until its answer arrives.
  const [answer, setAnswer] = useState<{ id: number; loaded: Loadable<OpenedMessage> } | undefined>(
    undefined,
  );
  const opened: Loadable<OpenedMessage> | undefined =
    id === undefined ? undefined : answer?.id === id ? answer.loaded : { state: 'loading' };
  // The latest callback, without reopening the message when it changes.
  const onOpenedRef = useRef(onOpened);
  useEffect(() => {
    onOpenedRef.current = onOpened;
  });

  useEffect(() => {
    if (id === undefined) {
      onOpenedRef.current(undefined);
      return undefined;
    }
    const abort = new AbortController();
    client
      .call('openMessage', { id }, { signal: abort.signal, timeoutMs: 60_000 })
      .then((message) => {
        setAnswer({ id, loaded: { state: 'ready', value: message } });
        onOpenedRef.current(message);
      })
      .catch((error: unknown) =>
        reportUnlessCancelled(error, (failure) =>
          setAnswer({ id, loaded: { state: 'error', error: failure } }),
        ),
      );
    return () => abort.abort();
  }, [client, id]);

  // A sent message's delivery changed: read its timeline again.
  useHispEvent(client, 'delivery', (event) => {
    if (opened?.state !== 'ready' || event.id !== opened.value.summary.id) return;
    const messageId = event.id;
    client
      .call('messageDelivery', { id: messageId })
      .then(({ recipients }) =>
        setAnswer((previous) =>
          previous?.id === messageId && previous.loaded.state === 'ready'
            ? {
                id: messageId,
                loaded: {
                  state: 'ready',
                  value: { ...previous.loaded.value, delivery: recipients },
                },
              }
            : previous,
        ),
      )
      .catch((error: unknown) => reportUnlessCancelled(error, () => undefined));
  });

  return (
    <section className="reading-pane" aria-label="Message" data-testid="reading-pane">
      {opened === undefined && (
        <p className="reading-empty muted">
          {props.selectedCount > 1
            ? `${props.selectedCount} messages selected.`
            : 'Select a message to read it.'}
        </p>
      )}
      {opened?.state === 'loading' && (
        <p className="reading-empty muted" role="status">
          Opening…
        </p>
      )}
      {opened?.state === 'error' && (
        <ErrorNotice
          title="This message could not be opened"
          error={opened.error}
          testId="open-error"
        />
      )}
      {opened?.state === 'ready' && <OpenedView message={opened.value} {...props} />}
    </section>
  );
}

function OpenedView({
  message,
  client,
  headingRef,
  focusRequest,
  onReply,
}: ReadingPaneProps & { message: OpenedMessage }): ReactElement {
  const subject = message.summary.subject === '' ? '(no subject)' : message.summary.subject;
  const shownId = message.summary.id;
  useEffect(() => {
    if (focusRequest?.id === shownId) headingRef.current?.focus();
  }, [focusRequest, shownId, headingRef]);
  const date = message.date ?? message.summary.receivedAt;
  return (
    <article className="message" aria-labelledby="message-subject">
      <header className="message-head">
        <h2
          id="message-subject"
          className="message-subject"
          ref={headingRef}
          tabIndex={-1}
          data-testid="message-subject"
        >
          {subject}
        </h2>
        <div className="message-actions" role="toolbar" aria-label="Message actions">
          <button
            type="button"
            className="button button-small button-secondary"
            onClick={() => onReply('reply')}
            title="Reply (Ctrl+R)"
          >
            Reply
          </button>
          <button
            type="button"
            className="button button-small button-secondary"
            onClick={() => onReply('reply-all')}
            title="Reply all (Ctrl+Shift+R)"
          >
            Reply all
          </button>
          <button
            type="button"
            className="button button-small button-secondary"
            onClick={() => onReply('forward')}
            title="Forward (Ctrl+Shift+F)"
          >
            Forward
          </button>
        </div>
        <dl className="message-headers">
          <div>
            <dt>From</dt>
            <dd data-testid="message-from">{message.from}</dd>
          </div>
          <div>
            <dt>To</dt>
            <dd data-testid="message-to">{message.to.join(', ')}</dd>
          </div>
          {message.cc.length > 0 && (
            <div>
              <dt>Cc</dt>
              <dd>{message.cc.join(', ')}</dd>
            </div>
          )}
          <div>
            <dt>Date</dt>
            <dd>
              <time dateTime={date}>{formatFullDate(date)}</time>
            </dd>
          </div>
        </dl>
      </header>
      <TrustBanner message={message} />
      {message.decrypted && (
        <MessageBody
          messageId={message.summary.id}
          loadRemoteImages={() =>
            client.call('loadRemoteImages', { id: message.summary.id }).then((result) => ({
              images: new Map(result.images.map((i) => [i.source, i.dataUri])),
              failed: result.failed,
            }))
          }
          {...(message.html === undefined ? {} : { html: message.html })}
          {...(message.text === undefined ? {} : { text: message.text })}
        />
      )}
      <Attachments client={client} message={message} />
      {message.summary.direction === 'out' && (
        <DeliveryTimeline recipients={message.delivery ?? []} />
      )}
    </article>
  );
}
