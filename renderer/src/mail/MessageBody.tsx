/**
 * The body of one message in the reading pane, shown safely (CONVENTIONS.md, "Security
 * defaults"; the layers are described in safeHtml.ts):
 *
 * - Plain text is rendered as React text (the DOM's textContent, never innerHTML), keeping
 *   its line breaks.
 * - HTML is sanitised (safeHtml.ts) and shown in `<iframe sandbox="" srcdoc>`: no scripts,
 *   no same-origin, no popups, no top navigation, no referrer. The frame has a fixed,
 *   comfortable height and scrolls: measuring its content would need scripts in the frame
 *   or same-origin access to it, and we give it neither.
 * - Remote images stay blocked; a notice says how many were, with a per-message choice to
 *   load them: the HISP fetches them (public addresses only, audited — the sender can tell the
 *   message was opened) and hands them back as data: URIs, the only images the frame allows.
 * - Links inside the frame open nothing (no `allow-popups`). The parent cannot see clicks in
 *   an opaque-origin frame, so the message's https links are listed under it instead; one
 *   opens only after the user confirms, in a new browser context with no opener and no
 *   referrer (in Electron, main's window-open handler hands https links to the system
 *   browser).
 * - When a message has both, HTML is shown with a button to switch to the plain text.
 *
 * Styles: a srcdoc frame inherits the page's Content-Security-Policy, which therefore
 * allows inline styles (hisp/api/ui.ts explains why that is sound). The frame document adds
 * its own stricter policy: nothing can be fetched from inside it at all.
 *
 * Dark mode: text bodies follow the app's theme (CSS variables); HTML bodies get a fixed
 * stylesheet of ours that darkens them without trusting the message (safeHtml.ts).
 */
import { useMemo, useState } from 'react';
import type { ReactElement } from 'react';

import { MAX_FORMATTED_HTML_LENGTH, externalHttpsLink, prepareHtmlBody } from './safeHtml.js';
import type { SafeHtmlBody } from './safeHtml.js';
import { textBlocks } from './model.js';
import './messageBody.css';

/** What the HISP fetched: `<img src>` value -> data: URI, and what it could not fetch. */
export interface LoadedImages {
  readonly images: ReadonlyMap<string, string>;
  readonly failed: readonly { readonly source: string; readonly reason: string }[];
}

/** Props of MessageBody: the message's id (keys per-message state) and its body parts. */
export interface MessageBodyProps {
  messageId: number;
  html?: string;
  text?: string;
  /** Fetches this message's remote images through the HISP. */
  loadRemoteImages?: () => Promise<LoadedImages>;
}

/** Shows one message's body safely; state (plain-text choice, pending link) is per message. */
export function MessageBody(props: MessageBodyProps): ReactElement {
  return <MessageBodyView key={props.messageId} {...props} />;
}

function MessageBodyView({ html, text, loadRemoteImages }: MessageBodyProps): ReactElement {
  const hasHtml = html !== undefined && html.trim() !== '';
  const hasText = text !== undefined && text !== '';
  const [showText, setShowText] = useState(false);

  if (hasHtml && !(showText && hasText)) {
    return (
      <div className="message-body" data-testid="message-body" data-kind="html">
        {hasText && (
          <div className="message-body-tools">
            <button type="button" className="message-body-switch" onClick={() => setShowText(true)}>
              Show plain text
            </button>
          </div>
        )}
        <HtmlBody
          html={html}
          fallbackText={hasText ? text : undefined}
          loadRemoteImages={loadRemoteImages}
        />
      </div>
    );
  }
  if (hasText) {
    return (
      <div className="message-body" data-testid="message-body" data-kind="text">
        {hasHtml && (
          <div className="message-body-tools">
            <button
              type="button"
              className="message-body-switch"
              onClick={() => setShowText(false)}
            >
              Show formatted
            </button>
          </div>
        )}
        <TextBody text={text} />
      </div>
    );
  }
  return (
    <div className="message-body" data-testid="message-body" data-kind="empty">
      <p className="message-body-empty">This message has no text.</p>
    </div>
  );
}

/**
 * A plain-text body. A long one is cut into blocks (textBlocks) that the browser lays out only
 * when they come near the screen (`content-visibility: auto`, each block's size estimated by
 * its lines until it has been laid out once): a 1 MB text opens as fast as a short one. The
 * text stays whole for selection, copying and find-in-page.
 */
function TextBody({ text }: { text: string }): ReactElement {
  const blocks = useMemo(() => textBlocks(text), [text]);
  return (
    <div className="message-body-text" data-testid="message-body-text">
      {blocks.length === 1
        ? text
        : blocks.map((block, index) => (
            <div
              // The blocks of one text never move: the index is their identity.
              key={index}
              style={{
                contentVisibility: 'auto',
                containIntrinsicBlockSize: `auto ${Math.max(1, block.split('\n').length - 1) * 1.5}em`,
              }}
            >
              {block}
            </div>
          ))}
    </div>
  );
}

type Prepared =
  | { readonly ok: true; readonly body: SafeHtmlBody }
  | { readonly ok: false; readonly reason: 'too-large' | 'failed' };

type RemoteState =
  | { readonly kind: 'blocked' }
  | { readonly kind: 'loading' }
  | { readonly kind: 'loaded'; readonly loaded: LoadedImages }
  | { readonly kind: 'failed'; readonly message: string };

const NO_IMAGES: ReadonlyMap<string, string> = new Map();

function HtmlBody({
  html,
  fallbackText,
  loadRemoteImages,
}: {
  html: string;
  fallbackText: string | undefined;
  loadRemoteImages: MessageBodyProps['loadRemoteImages'];
}): ReactElement {
  const [remote, setRemote] = useState<RemoteState>({ kind: 'blocked' });
  const images = remote.kind === 'loaded' ? remote.loaded.images : NO_IMAGES;
  const prepared = useMemo((): Prepared => {
    if (html.length > MAX_FORMATTED_HTML_LENGTH) return { ok: false, reason: 'too-large' };
    try {
      return { ok: true, body: prepareHtmlBody(html, images) };
    } catch {
      // Fail closed: never show HTML we could not sanitise.
      return { ok: false, reason: 'failed' };
    }
  }, [html, images]);
  const load = (): void => {
    if (loadRemoteImages === undefined) return;
    setRemote({ kind: 'loading' });
    loadRemoteImages().then(
      (loaded) => setRemote({ kind: 'loaded', loaded }),
      (error: unknown) =>
        setRemote({
          kind: 'failed',
          message: error instanceof Error ? error.message : 'The images could not be loaded.',
        }),
    );
  };

  if (!prepared.ok) {
    return (
      <>
        <p
          className="message-body-notice"
          role="note"
          data-testid="message-body-unsafe"
          data-reason={prepared.reason}
        >
          {prepared.reason === 'too-large'
            ? 'This message’s formatting is too large to show safely.'
            : 'This message’s formatting could not be shown safely.'}
          {fallbackText !== undefined ? ' Its plain text is shown instead.' : ''}
        </p>
        {fallbackText !== undefined && <TextBody text={fallbackText} />}
      </>
    );
  }

  const { document, remoteImagesBlocked, remoteImagesLoaded, links } = prepared.body;
  return (
    <>
      {remoteImagesBlocked > 0 && (
        <div className="message-body-notice" role="note">
          <span data-testid="remote-images-blocked">
            Remote images were blocked to protect your privacy ({remoteImagesBlocked}).
          </span>
          {loadRemoteImages !== undefined && remote.kind === 'blocked' && (
            <>
              {' '}
              <button
                type="button"
                className="message-body-switch"
                data-testid="load-remote-images"
                onClick={load}
              >
                Load remote images
              </button>{' '}
              <span className="message-body-hint">
                (the sender will be able to tell that you opened this message)
              </span>
            </>
          )}
          {remote.kind === 'loading' && <span role="status"> Loading…</span>}
          {remote.kind === 'failed' && (
            <span data-testid="remote-images-failed"> {remote.message}</span>
          )}
          {remote.kind === 'loaded' && remote.loaded.failed.length > 0 && (
            <span data-testid="remote-images-failed">
              {' '}
              {remote.loaded.failed.length === 1
                ? '1 image could not be loaded'
                : `${remote.loaded.failed.length} images could not be loaded`}
              : {remote.loaded.failed[0]?.reason}
            </span>
          )}
        </div>
      )}
      {remoteImagesLoaded > 0 && (
        <p className="message-body-notice" role="note" data-testid="remote-images-loaded">
          {remoteImagesLoaded === 1
            ? '1 remote image was loaded through Sealpost for this message.'
            : `${remoteImagesLoaded} remote images were loaded through Sealpost for this message.`}
        </p>
      )}
      <iframe
        className="message-body-frame"
        data-testid="message-body-frame"
        title="Message content"
        sandbox=""
        referrerPolicy="no-referrer"
        srcDoc={document}
      />
      {links.length > 0 && <MessageLinks links={links} />}
    </>
  );
}

/** How many of a message's links are listed (a hostile message may hold thousands). */
const MAX_LISTED_LINKS = 100;

/** The message's https links, each opened only after the user confirms it. */
function MessageLinks({ links }: { links: readonly string[] }): ReactElement {
  const [pending, setPending] = useState<string | undefined>(undefined);

  const open = (url: string): void => {
    setPending(undefined);
    // Checked again here: only a well-formed https URL leaves the app.
    const safe = externalHttpsLink(url);
    if (safe !== undefined) window.open(safe, '_blank', 'noopener,noreferrer');
  };

  return (
    <section className="message-links" aria-label="Links in this message">
      <h3 className="message-links-title">Links in this message</h3>
      <ul className="message-links-list">
        {links.slice(0, MAX_LISTED_LINKS).map((url) => (
          <li key={url}>
            <button
              type="button"
              className="message-link"
              data-testid="message-link"
              onClick={() => setPending(url)}
            >
              <span className="message-link-host">{new URL(url).host}</span>
              <span className="message-link-url">{url}</span>
            </button>
          </li>
        ))}
      </ul>
      {links.length > MAX_LISTED_LINKS && (
        <p className="message-links-more">
          {links.length - MAX_LISTED_LINKS} more links are not listed.
        </p>
      )}
      {pending !== undefined && (
        <div
          className="message-link-confirm"
          role="alertdialog"
          aria-modal="false"
          aria-labelledby="message-link-confirm-title"
          data-testid="message-link-confirm"
        >
          <p id="message-link-confirm-title">
            Open this link in your web browser? It leaves Sealpost and goes to{' '}
            <strong>{new URL(pending).host}</strong>.
          </p>
          <p className="message-link-url">{pending}</p>
          <div className="message-link-actions">
            <button type="button" onClick={() => open(pending)}>
              Open link
            </button>
            <button type="button" onClick={() => setPending(undefined)}>
              Cancel
            </button>
          </div>
        </div>
      )}
    </section>
  );
}
