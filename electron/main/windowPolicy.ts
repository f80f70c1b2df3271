/**
 * The security policy of every Sealpost window, as pure data and decisions: no `electron`
 * import, so it is unit-tested in plain Node. main.ts applies it.
 *
 * Rules (CONVENTIONS.md, "Security defaults"): every window is sandboxed and context-isolated
 * with no Node integration, also under test; navigation away from the app's own page and
 * `window.open` are denied; only `https:` links open, in the system browser, after parsing.
 */
import { UI_CONTENT_SECURITY_POLICY } from '../../hisp/api/index.js';

/**
 * The webPreferences of every window. The security flags are literal `true`/`false` types,
 * so weakening one is a type error here and a failing assertion in the unit tests.
 */
export interface SecureWebPreferences {
  readonly sandbox: true;
  readonly contextIsolation: true;
  readonly nodeIntegration: false;
  readonly nodeIntegrationInWorker: false;
  readonly nodeIntegrationInSubFrames: false;
  readonly webSecurity: true;
  readonly allowRunningInsecureContent: false;
  readonly webviewTag: false;
  readonly experimentalFeatures: false;
  readonly enableWebSQL: false;
  readonly navigateOnDragDrop: false;
  readonly safeDialogs: true;
  /** Middle-click (auxclick) opens no window: window.open is denied anyway, this is belt and braces. */
  readonly disableBlinkFeatures: 'Auxclick';
  readonly spellcheck: boolean;
  readonly preload: string;
}

export interface WebPreferencesOptions {
  /**
   * Off by default: on Windows and Linux Chromium downloads Hunspell dictionaries from
   * Google's servers, a network call outside the HISP's control. It can be turned on once
   * the dictionaries ship with the app (session.setSpellCheckerDictionaryDownloadURL).
   */
  readonly spellcheck?: boolean;
}

/** Electron requires an absolute preload path; a relative one would silently not load. */
function isAbsolutePath(path: string): boolean {
  return path.startsWith('/') || /^[A-Za-z]:[\\/]/.test(path) || path.startsWith('\\\\');
}

export function secureWebPreferences(
  preloadPath: string,
  options: WebPreferencesOptions = {},
): SecureWebPreferences {
  if (!isAbsolutePath(preloadPath)) {
    throw new Error(`The preload path must be absolute, got ${JSON.stringify(preloadPath)}.`);
  }
  return {
    sandbox: true,
    contextIsolation: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
    experimentalFeatures: false,
    enableWebSQL: false,
    navigateOnDragDrop: false,
    safeDialogs: true,
    disableBlinkFeatures: 'Auxclick',
    spellcheck: options.spellcheck ?? false,
    preload: preloadPath,
  };
}

/**
 * The Content-Security-Policy of the app's pages, sent as a response header (the page also
 * carries it in a <meta> tag; `frame-ancestors` only works as a header). Policies combine
 * by intersection, so the two can only tighten each other.
 */
export const CONTENT_SECURITY_POLICY = UI_CONTENT_SECURITY_POLICY;

/** Response headers as Electron's webRequest passes them. */
export type ResponseHeaders = Readonly<Record<string, string | readonly string[]>>;

/** The headers with our Content-Security-Policy added (any other CSP stays: they intersect). */
export function withContentSecurityPolicy(
  headers: ResponseHeaders | undefined,
): Record<string, string[]> {
  const result: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    result[name] = typeof value === 'string' ? [value] : [...value];
  }
  const existing = result['Content-Security-Policy'] ?? [];
  result['Content-Security-Policy'] = [...existing, CONTENT_SECURITY_POLICY];
  return result;
}

/**
 * Longest URL we hand to the operating system. Windows refuses to open longer ones
 * (about 2081 characters), and a longer link in a mail is more likely a trick than a need.
 */
export const MAX_EXTERNAL_URL_LENGTH = 2048;

/**
 * Whether text holds whitespace, control characters, or invisible formatting characters
 * (zero-width, bidirectional overrides). A serialised URL holds none of them: the parser
 * percent-encodes them or strips them, so their presence means the input was not one.
 */
function hasWhitespaceOrControl(text: string): boolean {
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    if (code <= 0x20 || (code >= 0x7f && code <= 0x9f)) return true;
    if ((code >= 0x200b && code <= 0x200f) || (code >= 0x202a && code <= 0x202e)) return true;
    if ((code >= 0x2066 && code <= 0x2069) || /\s/u.test(char)) return true;
  }
  return false;
}

export type ExternalLinkRefusal =
  | 'not-a-string'
  | 'too-long'
  | 'whitespace-or-control'
  | 'backslash'
  | 'malformed'
  | 'not-https'
  | 'credentials'
  | 'no-host';

export type ExternalLinkDecision =
  | { readonly open: true; readonly url: string }
  | { readonly open: false; readonly reason: ExternalLinkRefusal };

/**
 * Whether a link the page asked to open (window.open, target=_blank) may go to the system
 * browser, and the exact URL to hand over (the parser's serialisation, not the input).
 *
 * The URL parser silently repairs input (strips surrounding spaces, turns `\` into `/` in
 * `https:\\host`); Chromium hands us serialised URLs, so input that still needs repair did
 * not come from a real link and is refused rather than guessed at.
 */
export function externalLinkDecision(url: unknown): ExternalLinkDecision {
  if (typeof url !== 'string') return { open: false, reason: 'not-a-string' };
  if (url.length > MAX_EXTERNAL_URL_LENGTH) return { open: false, reason: 'too-long' };
  if (hasWhitespaceOrControl(url)) return { open: false, reason: 'whitespace-or-control' };
  if (url.includes('\\')) return { open: false, reason: 'backslash' };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { open: false, reason: 'malformed' };
  }
  if (parsed.protocol !== 'https:') return { open: false, reason: 'not-https' };
  if (parsed.username !== '' || parsed.password !== '')
    return { open: false, reason: 'credentials' };
  if (parsed.hostname === '') return { open: false, reason: 'no-host' };
  if (parsed.href.length > MAX_EXTERNAL_URL_LENGTH) return { open: false, reason: 'too-long' };
  return { open: true, url: parsed.href };
}

/** Longer than any address of the app's own page (its path plus a short fragment). */
const MAX_APP_URL_LENGTH = 8192;

/**
 * Whether `url` is the app's own page: the same scheme, host and path as the page Sealpost
 * loads (`appIndexUrl`), with no query and no credentials. A fragment is allowed (in-page
 * state). Anything that fails to parse is not the app.
 */
export function isAppUrl(url: unknown, appIndexUrl: string): boolean {
  if (typeof url !== 'string' || url.length > MAX_APP_URL_LENGTH) return false;
  if (hasWhitespaceOrControl(url) || url.includes('\\')) return false;
  let candidate: URL;
  let app: URL;
  try {
    candidate = new URL(url);
    app = new URL(appIndexUrl);
  } catch {
    return false;
  }
  return (
    candidate.protocol === app.protocol &&
    candidate.host === app.host &&
    candidate.pathname === app.pathname &&
    candidate.search === '' &&
    candidate.username === '' &&
    candidate.password === ''
  );
}

/** Only the scheme of a URL, for logs: a full link from a mail may carry patient data. */
export function urlSchemeForLog(url: unknown): string {
  if (typeof url !== 'string') return '(not a string)';
  const match = /^([A-Za-z][A-Za-z0-9+.-]{0,31}):/.exec(url);
  return match?.[1] !== undefined ? `${match[1].toLowerCase()}:` : '(no scheme)';
}
