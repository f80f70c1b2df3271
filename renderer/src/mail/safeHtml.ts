/**
 * Turns the HTML body of a received message into a document that is safe to show in the
 * reading pane's sandboxed frame (MessageBody.tsx). A message is attacker-controlled input,
 * so the frame is only one of several layers:
 *
 * 1. DOMPurify with an allow-list: HTML elements only (no SVG, no MathML), no scripts, no
 *    event handlers, no forms or inputs, no frames/objects/embeds, no media, no
 *    `<meta>`/`<link>`/`<base>`/`<title>`; URL attributes restricted (below).
 * 2. Our hooks on top of it:
 *    - Images: only `data:image/...` sources survive. `http:`/`https:`/protocol-relative
 *      sources (src, srcset, the `background` attribute, CSS `url()`) are removed and
 *      COUNTED, so the reading pane can say how many remote images were blocked. Relative
 *      and `cid:` sources are removed too: in a srcdoc frame a relative URL would resolve
 *      against the UI's own origin (the HISP bridge), which a message must not reach.
 *    - Links: only absolute `https:` links keep their `href`, always with
 *      `target="_blank" rel="noopener noreferrer"`. The frame has no `allow-popups`, so a
 *      click inside it opens nothing; the links are returned to the parent instead, which
 *      offers to open them after the user confirms. Every other scheme (javascript:,
 *      vbscript:, data:, http:, mailto:, relative, fragment) loses its `href`.
 *    - CSS, parsed by the browser's own CSS parser (CSSOM), never by regular expressions:
 *      `@import`, `@font-face` and any other at-rule outside a small allow-list are dropped;
 *      any declaration whose value loads something (`url()`, `image-set()`, ...) is removed,
 *      both in `<style>` elements and in `style` attributes. `<` in the re-serialised CSS is
 *      written as the CSS escape `\3c ` so no style text can end its `<style>` element.
 * 3. The frame document built here starts with its own Content-Security-Policy `<meta>`
 *    (`default-src 'none'; img-src data:; style-src 'unsafe-inline'`, ...). A srcdoc frame
 *    inherits the page's policy, and a second policy can only tighten it, so inside the
 *    frame nothing at all can be fetched, not even from the UI's own origin.
 * 4. The `<iframe sandbox="">` (no scripts, no same-origin, no popups, no top navigation)
 *    and the page's CSP (hisp/api/ui.ts) block execution and remote loads even if 1-3
 *    missed something. The remote-image count is for the user; the blocking is done by
 *    the CSP and the sandbox, not by this module's pattern matching.
 *
 * Dark mode: a fixed stylesheet of ours (never attacker text) gives the body a paper
 * background and, when the reader prefers dark, inverts the page and re-inverts images, so
 * both plain and colourful messages stay readable.
 *
 * Needs a DOM (`window`, `DOMParser`, `CSSStyleSheet`): the renderer, or a DOM environment
 * in tests.
 */
import createDOMPurify from 'dompurify';
import type { DOMPurify } from 'dompurify';

/** A message's HTML body made safe to show, with what was taken out of it. */
export interface SafeHtmlBody {
  /** A complete HTML document for the frame's `srcdoc`. */
  readonly document: string;
  /** How many remote images (and other remote resources in CSS) were blocked. */
  readonly remoteImagesBlocked: number;
  /** How many remote images were shown from what the HISP fetched at the user's request. */
  readonly remoteImagesLoaded: number;
  /** The distinct `https:` links of the message, in order of appearance (serialised). */
  readonly links: readonly string[];
}

/**
 * The policy of the frame document, on top of the page's inherited one (policies only
 * intersect). Inline styles are the message's own, already sanitised; nothing is fetched.
 */
export const MAIL_FRAME_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  'img-src data:',
  "style-src 'unsafe-inline'",
  "font-src 'none'",
  "media-src 'none'",
  "connect-src 'none'",
  "frame-src 'none'",
  "form-action 'none'",
  "base-uri 'none'",
].join('; ');

/**
 * Our own stylesheet for the frame, before the message's styles: readable defaults, images
 * that fit, and a safe dark mode (invert the page, re-invert images and media).
 */
export const MAIL_FRAME_STYLESHEET = [
  ':root { color-scheme: light; }',
  'html { background: #fdfdfc; color: #1b2530; }',
  'body { margin: 12px 16px; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif;' +
    ' overflow-wrap: anywhere; }',
  'img { max-width: 100%; height: auto; }',
  'pre { white-space: pre-wrap; }',
  '@media (prefers-color-scheme: dark) {',
  '  html { background: #e4e7ea; filter: invert(1) hue-rotate(180deg); }',
  // Only real pictures are turned back; an image without a source shows its alt text.
  '  img[src], picture, video, canvas { filter: invert(1) hue-rotate(180deg); }',
  '}',
].join('\n');

/**
 * The largest HTML body we format (in UTF-16 code units). Sanitising runs on the UI thread;
 * a larger body is shown as plain text instead, so a hostile message cannot freeze the
 * window. Real clinical HTML mail is far smaller.
 */
export const MAX_FORMATTED_HTML_LENGTH = 4 * 1024 * 1024;

/** Elements that never survive, whatever DOMPurify's defaults say. */
const FORBIDDEN_TAGS = [
  'script',
  'noscript',
  'template',
  'meta',
  'link',
  'base',
  'title',
  'form',
  'input',
  'button',
  'textarea',
  'select',
  'option',
  'optgroup',
  'datalist',
  'output',
  'fieldset',
  'iframe',
  'frame',
  'frameset',
  'object',
  'embed',
  'applet',
  'portal',
  'video',
  'audio',
  'source',
  'track',
  'picture',
  'canvas',
  'dialog',
  'svg',
  'math',
];

/** Attributes that never survive: URL-bearing ones we do not need, and form plumbing. */
const FORBIDDEN_ATTRIBUTES = [
  'action',
  'formaction',
  'ping',
  'cite',
  'longdesc',
  'poster',
  'lowsrc',
  'dynsrc',
  'usemap',
  'xmlns',
  'autofocus',
  'popover',
  'popovertarget',
];

/** Functions in a CSS value that load a resource, or that old engines executed. */
const LOADING_CSS_FUNCTIONS = [
  'url(',
  'image(',
  'image-set(',
  '-webkit-image-set(',
  'cross-fade(',
  '-webkit-cross-fade(',
  'element(',
  'src(',
  'expression(',
];

/** Properties that never survive (legacy script bindings). */
const FORBIDDEN_CSS_PROPERTIES = new Set(['behavior', '-moz-binding']);

interface Tally {
  remote: number;
  /** Remote `<img src>` values the user chose to load, as data: URIs the HISP fetched. */
  loaded: ReadonlyMap<string, string>;
  /** How many of those were put in. */
  substituted: number;
  /** Insertion-ordered, so distinct links keep their order of appearance. */
  links: Set<string>;
}

/** Whether a URL points off this machine: `http:`, `https:` or protocol-relative. */
function isRemoteUrl(value: string): boolean {
  const trimmed = value.trim().toLowerCase();
  return (
    trimmed.startsWith('http:') ||
    trimmed.startsWith('https:') ||
    trimmed.startsWith('//') ||
    trimmed.startsWith('\\\\')
  );
}

/** Whether an image source is an inline `data:image/...` URI (the only kind we keep). */
function isDataImage(value: string): boolean {
  return /^data:image\/[a-z0-9.+-]+[;,]/i.test(value.trim());
}

/**
 * The serialised URL of an absolute `https:` link without credentials, or undefined for
 * anything else (other schemes, relative or fragment-only links, malformed input).
 */
export function externalHttpsLink(value: string): string | undefined {
  let parsed: URL;
  try {
    // No base: relative and fragment-only links are not followed from a message.
    parsed = new URL(value.trim());
  } catch {
    return undefined;
  }
  if (parsed.protocol !== 'https:' || parsed.hostname === '') return undefined;
  if (parsed.username !== '' || parsed.password !== '') return undefined;
  return parsed.href;
}

/** How many `url(` and other loading functions a CSS value holds (at least 1 if any). */
function countLoads(value: string): number {
  const lower = value.toLowerCase();
  let count = 0;
  let index = lower.indexOf('url(');
  while (index !== -1) {
    count += 1;
    index = lower.indexOf('url(', index + 4);
  }
  return Math.max(count, 1);
}

/** Whether a declaration's value may load something or is too odd to judge safely. */
function isLoadingCssValue(value: string): boolean {
  const lower = value.toLowerCase();
  // A backslash means an escape the CSSOM kept; we do not try to decode it: drop it.
  if (lower.includes('\\')) return true;
  return LOADING_CSS_FUNCTIONS.some((name) => lower.includes(name));
}

/** Removes loading declarations from one declaration block, counting remote ones. */
function cleanDeclarations(style: CSSStyleDeclaration, tally: Tally): void {
  const names: string[] = [];
  for (let i = 0; i < style.length; i += 1) names.push(style.item(i));
  for (const name of names) {
    const value = style.getPropertyValue(name);
    if (FORBIDDEN_CSS_PROPERTIES.has(name.toLowerCase())) {
      style.removeProperty(name);
    } else if (isLoadingCssValue(value)) {
      if (!value.toLowerCase().includes('data:')) tally.remote += countLoads(value);
      style.removeProperty(name);
    }
  }
}

/** Cleans a list of rules in place: drops disallowed at-rules, cleans declarations. */
function cleanRules(rules: CSSRuleList, remove: (index: number) => void, tally: Tally): void {
  // The kinds of rule we keep: style, @media, @supports, @keyframes and their frames. Any
  // other at-rule (@font-face, @layer, @container, @page, ...) goes: fail closed.
  const { CSSStyleRule, CSSMediaRule, CSSSupportsRule, CSSKeyframesRule, CSSKeyframeRule } = window;
  for (let i = rules.length - 1; i >= 0; i -= 1) {
    const rule = rules.item(i);
    if (rule === null) continue;
    if (rule instanceof CSSStyleRule) {
      cleanDeclarations(rule.style, tally);
      // CSS nesting: a style rule may hold rules of its own (engines without nesting: none).
      const nested: CSSRuleList | undefined = 'cssRules' in rule ? rule.cssRules : undefined;
      if (nested !== undefined) cleanRules(nested, (index) => rule.deleteRule(index), tally);
    } else if (rule instanceof CSSMediaRule || rule instanceof CSSSupportsRule) {
      cleanRules(rule.cssRules, (index) => rule.deleteRule(index), tally);
    } else if (rule instanceof CSSKeyframesRule) {
      const frames = Array.from(rule.cssRules);
      if (frames.every((frame) => frame instanceof CSSKeyframeRule)) {
        for (const frame of frames) cleanDeclarations(frame.style, tally);
      } else {
        remove(i);
      }
    } else {
      if (rule instanceof window.CSSFontFaceRule) tally.remote += 1;
      remove(i);
    }
  }
}

/**
 * A style sheet's text with everything that could load or execute removed, re-serialised
 * by the CSSOM. Unparseable or unsupported input becomes an empty sheet (fail closed).
 */
function cleanStyleSheetText(text: string, tally: Tally): string {
  // @import rules are not even parsed by constructed sheets; count them for the banner.
  // (Counting only: the removal is the parser's and the policy's, not this scan's.)
  const imports = text.toLowerCase().split('@import').length - 1;
  tally.remote += imports;
  let sheet: CSSStyleSheet;
  try {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(text);
  } catch {
    return '';
  }
  cleanRules(sheet.cssRules, (index) => sheet.deleteRule(index), tally);
  const out: string[] = [];
  for (let i = 0; i < sheet.cssRules.length; i += 1) {
    const rule = sheet.cssRules.item(i);
    if (rule !== null) out.push(rule.cssText);
  }
  return escapeForStyleElement(out.join('\n'));
}

/** Writes `<` as a CSS escape, so the text cannot close its `<style>` element. */
function escapeForStyleElement(css: string): string {
  return css.replaceAll('<', '\\3c ');
}

/**
 * Image sources and CSS on one element, before DOMPurify checks its attributes (so remote
 * sources DOMPurify would drop silently, such as `http:`, are still counted).
 */
function cleanElementResources(element: Element, tally: Tally): void {
  const tag = element.tagName.toLowerCase();

  let remote = false;
  const src = element.getAttribute('src');
  const loaded = tag === 'img' && src !== null ? tally.loaded.get(src.trim()) : undefined;
  if (loaded !== undefined && isDataImage(loaded)) {
    // The user chose to load this message's images: the HISP fetched it as a data: URI.
    element.setAttribute('src', loaded);
    tally.substituted += 1;
  } else if (src !== null && !(tag === 'img' && isDataImage(src))) {
    remote ||= isRemoteUrl(src);
    element.removeAttribute('src');
  }
  const srcset = element.getAttribute('srcset');
  if (srcset !== null) {
    remote ||= srcset.split(',').some((candidate) => isRemoteUrl(candidate));
    element.removeAttribute('srcset');
  }
  const background = element.getAttribute('background');
  if (background !== null) {
    remote ||= isRemoteUrl(background);
    element.removeAttribute('background');
  }
  if (remote) tally.remote += 1;

  // Fast path: a declaration can load something only through a function, and a CSS
  // function token needs a literal "(" (escapes cannot make one), so without any "(" there is
  // nothing to remove.
  const inline = element.getAttribute('style');
  if (inline !== null && inline.includes('(') && 'style' in element) {
    const styled = element as HTMLElement;
    cleanDeclarations(styled.style, tally);
    if (styled.style.length === 0) element.removeAttribute('style');
  }
}

/** Link rules for one element, after DOMPurify's own attribute checks. */
function cleanElementLinks(element: Element, tally: Tally): void {
  const tag = element.tagName.toLowerCase();
  if (tag === 'a' || tag === 'area') {
    const href = element.getAttribute('href');
    const link = href === null ? undefined : externalHttpsLink(href);
    if (link === undefined) {
      element.removeAttribute('href');
    } else {
      element.setAttribute('href', link);
      tally.links.add(link);
    }
    element.setAttribute('target', '_blank');
    element.setAttribute('rel', 'noopener noreferrer');
  } else {
    element.removeAttribute('href');
  }
  // Only <img> may keep a (data:) source; nothing may gain one after the first pass.
  if (tag !== 'img') element.removeAttribute('src');
}

let purifier: DOMPurify | undefined;
/** The tally of the sanitise call in progress (DOMPurify hooks are per instance). */
let current: Tally | undefined;

/** Our own DOMPurify instance (so our hooks never affect anyone else's). */
function getPurifier(): DOMPurify {
  if (purifier !== undefined) return purifier;
  const instance = createDOMPurify(window);
  instance.addHook('uponSanitizeElement', (node, data) => {
    if (data.tagName === 'style' && current !== undefined) {
      node.textContent = cleanStyleSheetText(node.textContent ?? '', current);
    }
  });
  instance.addHook('beforeSanitizeAttributes', (node) => {
    if (current !== undefined && node instanceof window.Element) {
      cleanElementResources(node, current);
    }
  });
  instance.addHook('afterSanitizeAttributes', (node) => {
    if (current !== undefined && node instanceof window.Element) cleanElementLinks(node, current);
  });
  purifier = instance;
  return instance;
}

/** The DOMPurify settings: the allow-list described in the module comment. */
const PURIFY_CONFIG = {
  USE_PROFILES: { html: true },
  WHOLE_DOCUMENT: true,
  RETURN_DOM: true,
  FORBID_TAGS: FORBIDDEN_TAGS,
  FORBID_ATTR: FORBIDDEN_ATTRIBUTES,
  ALLOW_DATA_ATTR: false,
  ALLOW_ARIA_ATTR: true,
  ALLOW_UNKNOWN_PROTOCOLS: false,
  SAFE_FOR_TEMPLATES: false,
  // DOMPurify's own URI rule stays (it also vets plain attributes); our hooks then keep only
  // https links and data: images.
  KEEP_CONTENT: true,
} as const;

/**
 * Sanitises a message's HTML and wraps it in the frame document (our policy and stylesheet
 * first, then the message's cleaned styles and body).
 */
export function prepareHtmlBody(
  html: string,
  loadedImages: ReadonlyMap<string, string> = new Map(),
): SafeHtmlBody {
  const purify = getPurifier();
  const tally: Tally = { remote: 0, links: new Set(), loaded: loadedImages, substituted: 0 };
  current = tally;
  let root: Node;
  try {
    root = purify.sanitize(html, PURIFY_CONFIG);
  } finally {
    current = undefined;
  }

  const styles: string[] = [];
  let bodyHtml = '';
  if (root instanceof Element) {
    for (const style of Array.from(root.querySelectorAll('style'))) {
      const text = style.textContent;
      if (text.trim() !== '') styles.push(text);
      style.remove();
    }
    const body = root.tagName.toLowerCase() === 'body' ? root : root.querySelector('body');
    bodyHtml = body === null ? '' : body.innerHTML;
  }

  return {
    document: frameDocument(bodyHtml, styles),
    remoteImagesBlocked: tally.remote,
    remoteImagesLoaded: tally.substituted,
    links: [...tally.links],
  };
}

/** The frame document. The policy text is a constant with no `"`, `<` or `&`. */
function frameDocument(bodyHtml: string, styles: readonly string[]): string {
  const messageStyles = styles.map((css) => `<style>${css}</style>`).join('');
  return (
    '<!doctype html><html><head><meta charset="utf-8">' +
    `<meta http-equiv="Content-Security-Policy" content="${MAIL_FRAME_CONTENT_SECURITY_POLICY}">` +
    '<meta name="referrer" content="no-referrer">' +
    `<style>${MAIL_FRAME_STYLESHEET}</style>${messageStyles}</head>` +
    `<body>${bodyHtml}</body></html>`
  );
}
