/**
 * The session's request filter (session.webRequest.onBeforeRequest) and the navigation rule
 * for every frame (will-frame-navigate), as pure decisions: no `electron` import, unit-tested
 * in plain Node. main.ts applies them.
 *
 * The window talks to the HISP over a MessagePort, which is not a web request, so the only
 * requests a Sealpost window ever needs are its own files (`sealpost://app/…`), the `data:`
 * images the CSP allows, and `blob:` URLs the page itself made (saving an attachment).
 * Everything else is cancelled: http(s) and ws(s) to anywhere (remote images in a mail
 * included: the CSP blocks them too, and the two do not depend on each other), `file:`,
 * and any navigation of a frame to `data:` or `blob:`.
 */
import { APP_HOST, APP_ORIGIN, APP_SCHEME } from './appProtocol.js';
import { isAppUrl } from './windowPolicy.js';

/**
 * Electron's webRequest resource type (details.resourceType): 'mainFrame', 'subFrame',
 * 'script', 'image', 'xhr', 'webSocket', 'other', … Only the two frame types matter here.
 */
export type ResourceType = string;

export type RequestRefusal =
  | 'malformed'
  | 'not-the-app'
  | 'navigation-to-data'
  | 'navigation-to-blob'
  | 'foreign-blob'
  | 'scheme-not-allowed';

export type RequestDecision =
  { readonly cancel: false } | { readonly cancel: true; readonly reason: RequestRefusal };

export interface RequestFilterOptions {
  /** Allow `devtools:` (DevTools' own pages): only in an unpackaged development run. */
  readonly allowDevTools?: boolean;
}

const isNavigation = (type: ResourceType): boolean => type === 'mainFrame' || type === 'subFrame';

/**
 * Whether the request for `url` of `resourceType` may go ahead. Decided on the parsed URL;
 * anything that does not parse is cancelled.
 */
export function requestDecision(
  url: string,
  resourceType: ResourceType,
  options: RequestFilterOptions = {},
): RequestDecision {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { cancel: true, reason: 'malformed' };
  }
  switch (parsed.protocol) {
    case `${APP_SCHEME}:`:
      return parsed.host === APP_HOST && parsed.username === '' && parsed.password === ''
        ? { cancel: false }
        : { cancel: true, reason: 'not-the-app' };
    case 'data:':
      return isNavigation(resourceType)
        ? { cancel: true, reason: 'navigation-to-data' }
        : { cancel: false };
    case 'blob:': {
      if (isNavigation(resourceType)) return { cancel: true, reason: 'navigation-to-blob' };
      // blob:sealpost://app/<uuid>: made by the app page itself.
      return blobOrigin(parsed) === APP_ORIGIN
        ? { cancel: false }
        : { cancel: true, reason: 'foreign-blob' };
    }
    case 'devtools:':
      return options.allowDevTools === true
        ? { cancel: false }
        : { cancel: true, reason: 'scheme-not-allowed' };
    default:
      return { cancel: true, reason: 'scheme-not-allowed' };
  }
}

function blobOrigin(blob: URL): string | undefined {
  try {
    const inner = new URL(blob.pathname);
    return `${inner.protocol}//${inner.host}`;
  } catch {
    return undefined;
  }
}

/** A navigation of one frame, as will-frame-navigate describes it. */
export interface FrameNavigation {
  readonly url: string;
  readonly isMainFrame: boolean;
}

/**
 * Whether a frame may navigate to `url`. The main frame: only the app's own page (a fragment
 * is fine). A sub-frame: only `about:srcdoc` and `about:blank`, which is how the HTML mail
 * frame (`<iframe sandbox srcdoc>`) loads; a link or a meta refresh in a mail that tries to
 * take its frame elsewhere is refused.
 */
export function frameNavigationAllowed(navigation: FrameNavigation, appIndexUrl: string): boolean {
  if (navigation.isMainFrame) return isAppUrl(navigation.url, appIndexUrl);
  return navigation.url === 'about:srcdoc' || navigation.url === 'about:blank';
}
