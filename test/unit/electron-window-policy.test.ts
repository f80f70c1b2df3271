import { describe, expect, it } from 'vitest';

import {
  CONTENT_SECURITY_POLICY,
  MAX_EXTERNAL_URL_LENGTH,
  externalLinkDecision,
  isAppUrl,
  secureWebPreferences,
  urlSchemeForLog,
  withContentSecurityPolicy,
} from '../../electron/main/windowPolicy.js';

const PRELOAD = '/opt/Sealpost/resources/app/dist/electron/preload.cjs';
const APP_INDEX = 'file:///opt/Sealpost/resources/app/dist/renderer/index.html';

describe('secureWebPreferences', () => {
  const prefs = secureWebPreferences(PRELOAD);

  // One assertion per flag, each compared with toBe, so weakening any single one fails here.
  it.each([
    ['sandbox', true],
    ['contextIsolation', true],
    ['nodeIntegration', false],
    ['nodeIntegrationInWorker', false],
    ['nodeIntegrationInSubFrames', false],
    ['webSecurity', true],
    ['allowRunningInsecureContent', false],
    ['webviewTag', false],
    ['experimentalFeatures', false],
    ['enableWebSQL', false],
    ['navigateOnDragDrop', false],
    ['safeDialogs', true],
    ['disableBlinkFeatures', 'Auxclick'],
  ] as const)('sets %s to %s', (flag, value) => {
    expect(prefs[flag]).toBe(value);
  });

  it('uses the given preload and keeps spellcheck off unless asked (dictionaries come from Google)', () => {
    expect(prefs.preload).toBe(PRELOAD);
    expect(prefs.spellcheck).toBe(false);
    expect(secureWebPreferences(PRELOAD, { spellcheck: true }).spellcheck).toBe(true);
  });

  it('has exactly the known keys, so a new (possibly weakening) option is a deliberate change', () => {
    expect(Object.keys(prefs).sort()).toEqual(
      [
        'allowRunningInsecureContent',
        'contextIsolation',
        'disableBlinkFeatures',
        'enableWebSQL',
        'experimentalFeatures',
        'navigateOnDragDrop',
        'nodeIntegration',
        'nodeIntegrationInSubFrames',
        'nodeIntegrationInWorker',
        'preload',
        'safeDialogs',
        'sandbox',
        'spellcheck',
        'webSecurity',
        'webviewTag',
      ].sort(),
    );
  });

  it('spellcheck is the only option a caller can change: the security flags ignore other keys', () => {
    const sneaky = { spellcheck: true, sandbox: false, nodeIntegration: true } as unknown as {
      spellcheck: boolean;
    };
    const result = secureWebPreferences(PRELOAD, sneaky);
    expect(result.sandbox).toBe(true);
    expect(result.nodeIntegration).toBe(false);
  });

  it.each(['preload.cjs', './dist/electron/preload.cjs', '', 'C:preload.cjs'])(
    'refuses the relative preload path %j (Electron would silently load no preload)',
    (path) => {
      expect(() => secureWebPreferences(path)).toThrow(/absolute/);
    },
  );

  it('accepts Windows absolute preload paths', () => {
    expect(secureWebPreferences('C:\\Program Files\\Sealpost\\preload.cjs').preload).toBe(
      'C:\\Program Files\\Sealpost\\preload.cjs',
    );
  });
});

describe('CONTENT_SECURITY_POLICY', () => {
  const directives = new Map(
    CONTENT_SECURITY_POLICY.split(';').map((part) => {
      const [name = '', ...values] = part.trim().split(/\s+/);
      return [name, values.join(' ')] as const;
    }),
  );

  it('is exactly the agreed policy', () => {
    expect(CONTENT_SECURITY_POLICY).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    );
  });

  it('denies by default and allows scripts only from the app itself (inline styles: see ui.ts)', () => {
    expect(directives.get('default-src')).toBe("'none'");
    expect(directives.get('script-src')).toBe("'self'");
    // Inline styles are for the sandboxed srcdoc mail frame, which inherits this policy.
    expect(directives.get('style-src')).toBe("'self' 'unsafe-inline'");
    expect(directives.get('base-uri')).toBe("'none'");
    expect(directives.get('form-action')).toBe("'none'");
    expect(directives.get('frame-ancestors')).toBe("'none'");
  });

  it('never allows inline code, eval, remote hosts or wildcards', () => {
    const withoutInlineStyles = CONTENT_SECURITY_POLICY.replace(
      "style-src 'self' 'unsafe-inline'",
      "style-src 'self'",
    );
    expect(withoutInlineStyles).not.toMatch(/unsafe-|\*|https?:|wss?:|blob:/);
  });

  it('is added to response headers, keeping the other headers and any CSP already there', () => {
    const headers = withContentSecurityPolicy({
      'Content-Type': 'text/html',
      'Content-Security-Policy': ["img-src 'none'"],
    });
    expect(headers['Content-Type']).toEqual(['text/html']);
    expect(headers['Content-Security-Policy']).toEqual(["img-src 'none'", CONTENT_SECURITY_POLICY]);
    expect(withContentSecurityPolicy(undefined)).toEqual({
      'Content-Security-Policy': [CONTENT_SECURITY_POLICY],
    });
  });
});

describe('externalLinkDecision', () => {
  it('opens an https link, handing over the parser serialisation', () => {
    expect(externalLinkDecision('https://example.org')).toEqual({
      open: true,
      url: 'https://example.org/',
    });
    expect(externalLinkDecision('https://www.hhs.gov/hipaa/index.html?x=1#y')).toEqual({
      open: true,
      url: 'https://www.hhs.gov/hipaa/index.html?x=1#y',
    });
  });

  it('hands over the punycode form of an internationalised host', () => {
    expect(externalLinkDecision('https://bücher.example/')).toEqual({
      open: true,
      url: 'https://xn--bcher-kva.example/',
    });
  });

  it.each([
    ['http://example.org/', 'not-https'],
    ['HTTP://example.org/', 'not-https'],
    ['javascript:alert(1)', 'not-https'],
    ['JaVaScRiPt:alert(1)', 'not-https'],
    ['file:///etc/passwd', 'not-https'],
    ['data:text/html,<script>alert(1)</script>', 'not-https'],
    ['about:blank', 'not-https'],
    ['mailto:someone@direct.example.org', 'not-https'],
    ['ftp://example.org/', 'not-https'],
    ['smb://evil/share', 'not-https'],
    ['ms-msdt:/id PCWDiagnostic', 'whitespace-or-control'],
    ['vbscript:msgbox(1)', 'not-https'],
    ['https://user:pass@example.org/', 'credentials'],
    ['https://user@example.org/', 'credentials'],
    ['https://:pw@example.org/', 'credentials'],
    ['  https://example.org/', 'whitespace-or-control'],
    ['https://example.org/ ', 'whitespace-or-control'],
    ['\thttps://example.org/', 'whitespace-or-control'],
    ['https://exa\nmple.org/', 'whitespace-or-control'],
    ['\u0000https://example.org/', 'whitespace-or-control'],
    ['https://example.org/\u202egpj.exe', 'whitespace-or-control'],
    ['https://example.org/\u200b', 'whitespace-or-control'],
    ['\u00a0https://example.org/', 'whitespace-or-control'],
    ['https:\\\\evil.example', 'backslash'],
    ['https:/\\evil.example', 'backslash'],
    ['https://example.org\\@evil.example', 'backslash'],
    ['https:', 'malformed'],
    ['https://', 'malformed'],
    ['https://[::1', 'malformed'],
    ['https://exa mple.org', 'whitespace-or-control'],
    ['not a url', 'whitespace-or-control'],
    ['example.org', 'malformed'],
    ['//example.org/', 'malformed'],
    ['', 'malformed'],
    ['https://999.999.999.999/', 'malformed'],
  ] as const)('refuses %j (%s)', (url, reason) => {
    expect(externalLinkDecision(url)).toEqual({ open: false, reason });
  });

  it.each([undefined, null, 42, {}, ['https://example.org/'], new URL('https://example.org/')])(
    'refuses a value that is not a string: %j',
    (value) => {
      expect(externalLinkDecision(value)).toEqual({ open: false, reason: 'not-a-string' });
    },
  );

  it('refuses very long URLs, before parsing them', () => {
    const atLimit = `https://example.org/${'a'.repeat(MAX_EXTERNAL_URL_LENGTH - 'https://example.org/'.length)}`;
    expect(atLimit).toHaveLength(MAX_EXTERNAL_URL_LENGTH);
    expect(externalLinkDecision(atLimit)).toEqual({ open: true, url: atLimit });
    expect(externalLinkDecision(`${atLimit}a`)).toEqual({ open: false, reason: 'too-long' });
    expect(externalLinkDecision(`https://example.org/${'%'.repeat(10_000_000)}`)).toEqual({
      open: false,
      reason: 'too-long',
    });
  });

  it('refuses a URL that only grows past the limit when serialised', () => {
    // Each "é" (1 char) serialises as "%C3%A9" (6 chars).
    const growing = `https://example.org/${'é'.repeat(1000)}`;
    expect(growing.length).toBeLessThanOrEqual(MAX_EXTERNAL_URL_LENGTH);
    expect(externalLinkDecision(growing)).toEqual({ open: false, reason: 'too-long' });
  });
});

describe('isAppUrl', () => {
  it('accepts the app page itself, with or without a fragment', () => {
    expect(isAppUrl(APP_INDEX, APP_INDEX)).toBe(true);
    expect(isAppUrl(`${APP_INDEX}#/inbox`, APP_INDEX)).toBe(true);
    expect(isAppUrl('FILE:///opt/Sealpost/resources/app/dist/renderer/index.html', APP_INDEX)).toBe(
      true,
    );
  });

  it.each([
    ['another file', 'file:///etc/passwd'],
    ['a sibling file', 'file:///opt/Sealpost/resources/app/dist/renderer/other.html'],
    [
      'a path escaping upwards',
      'file:///opt/Sealpost/resources/app/dist/renderer/../../../../../etc/passwd',
    ],
    ['a query string', `${APP_INDEX}?x=1`],
    [
      'a file URL on a remote host',
      'file://evil.example/opt/Sealpost/resources/app/dist/renderer/index.html',
    ],
    [
      'https with the same path',
      'https://evil.example/opt/Sealpost/resources/app/dist/renderer/index.html',
    ],
    ['http', 'http://localhost/index.html'],
    ['javascript:', 'javascript:alert(1)'],
    ['JaVaScRiPt:', 'JaVaScRiPt:alert(1)'],
    ['data:', 'data:text/html,<h1>x</h1>'],
    ['about:blank', 'about:blank'],
    ['leading spaces', `  ${APP_INDEX}`],
    ['a backslash', 'file:\\\\\\opt\\Sealpost\\resources\\app\\dist\\renderer\\index.html'],
    ['a malformed string', 'file://['],
    ['the empty string', ''],
    ['a very long string', `${APP_INDEX}#${'x'.repeat(100_000)}`],
    [
      'a path with an encoded slash',
      'file:///opt/Sealpost/resources/app/dist/renderer%2Findex.html',
    ],
  ])('refuses %s', (_what, url) => {
    expect(isAppUrl(url, APP_INDEX)).toBe(false);
  });

  it('accepts a path that normalises to the app page (the navigation goes there)', () => {
    expect(
      isAppUrl('file:///opt/Sealpost/resources/app/dist/x/../renderer/index.html', APP_INDEX),
    ).toBe(true);
  });

  it.each([undefined, null, 1, {}])('refuses a value that is not a string: %j', (value) => {
    expect(isAppUrl(value, APP_INDEX)).toBe(false);
  });

  it('refuses everything when the app URL itself is malformed', () => {
    expect(isAppUrl(APP_INDEX, 'not a url')).toBe(false);
  });
});

describe('urlSchemeForLog', () => {
  it('keeps only the scheme, so logs never hold the rest of a link from a mail', () => {
    expect(urlSchemeForLog('https://portal.example/patient?mrn=12345')).toBe('https:');
    expect(urlSchemeForLog('JaVaScRiPt:alert(1)')).toBe('javascript:');
    expect(urlSchemeForLog('no scheme here')).toBe('(no scheme)');
    expect(urlSchemeForLog(42)).toBe('(not a string)');
  });
});
