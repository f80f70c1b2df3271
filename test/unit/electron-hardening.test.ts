/**
 * The main process's hardening decisions, each a pure module tested in plain Node: the app
 * protocol's file mapping (against real files in a temp dir), the request filter and frame
 * navigation rule, the HISP restart backoff, the window state check against displays, the
 * menu template and the notification wording. main.ts's use of them is in
 * electron-main-wiring.test.ts.
 */
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { buildMenuTemplate } from '../../electron/main/appMenu.js';
import type { MenuItemConstructorOptions } from 'electron';
import {
  APP_INDEX_URL,
  APP_SCHEME_PRIVILEGES,
  appResponse,
  lookupAppFile,
} from '../../electron/main/appProtocol.js';
import { parseHostMessage } from '../../electron/main/hispProtocol.js';
import {
  DEFAULT_RESTART_POLICY,
  INITIAL_RESTART_STATE,
  onCrash,
} from '../../electron/main/hispSupervisor.js';
import type { RestartState } from '../../electron/main/hispSupervisor.js';
import { notificationFor, notify, shouldNotify } from '../../electron/main/notifications.js';
import type { DesktopNotification, Notifier } from '../../electron/main/notifications.js';
import { frameNavigationAllowed, requestDecision } from '../../electron/main/requestFilter.js';
import { CONTENT_SECURITY_POLICY } from '../../electron/main/windowPolicy.js';
import {
  loadWindowState,
  parseWindowState,
  restoreWindowState,
  saveWindowState,
  WINDOW_STATE_FILE,
} from '../../electron/main/windowState.js';

let root: string;
let outside: string;
beforeAll(async () => {
  const base = await mkdtemp(join(tmpdir(), 'sealpost-app-protocol-'));
  root = join(base, 'renderer');
  outside = base;
  await mkdir(join(root, 'assets'), { recursive: true });
  await writeFile(join(root, 'index.html'), '<!doctype html><title>Sealpost</title>');
  await writeFile(join(root, 'assets', 'index-abc.js'), 'console.log(1)');
  await writeFile(join(root, 'assets', 'notes.md'), '# not served');
  await writeFile(join(base, 'secret.html'), 'outside the root');
  await mkdir(join(root, 'folder.js'));
});
afterAll(async () => {
  await rm(outside, { recursive: true, force: true });
});

describe('sealpost://app/ (the app protocol)', () => {
  it('is a standard, secure scheme that does not bypass the CSP', () => {
    expect(APP_INDEX_URL).toBe('sealpost://app/index.html');
    expect(APP_SCHEME_PRIVILEGES.standard).toBe(true);
    expect(APP_SCHEME_PRIVILEGES.secure).toBe(true);
    expect(APP_SCHEME_PRIVILEGES.bypassCSP).toBe(false);
    expect(APP_SCHEME_PRIVILEGES.allowServiceWorkers).toBe(false);
  });

  it('maps the app URLs to files under the root, / to index.html', () => {
    expect(lookupAppFile('sealpost://app/', root)).toEqual({
      ok: true,
      path: join(root, 'index.html'),
      contentType: 'text/html; charset=utf-8',
    });
    expect(lookupAppFile('sealpost://app/assets/index-abc.js', root)).toEqual({
      ok: true,
      path: join(root, 'assets', 'index-abc.js'),
      contentType: 'text/javascript; charset=utf-8',
    });
    // A fragment is the page's own business.
    expect(lookupAppFile('sealpost://app/index.html#/inbox', root).ok).toBe(true);
  });

  it.each([
    ['sealpost://other/index.html', 'not-the-app'],
    ['sealpost://app:8080/index.html', 'not-the-app'],
    ['https://app/index.html', 'not-the-app'],
    ['file:///etc/passwd', 'not-the-app'],
    ['not a url', 'not-the-app'],
    ['sealpost://user:pw@app/index.html', 'query-or-credentials'],
    ['sealpost://app/index.html?x=1', 'query-or-credentials'],
    ['sealpost://app/..%2f..%2fetc%2fpasswd', 'bad-path'],
    ['sealpost://app/..%5c..%5csecret.html', 'bad-path'],
    ['sealpost://app/index.html%00.js', 'bad-path'],
    ['sealpost://app/assets//index-abc.js', 'bad-path'],
    ['sealpost://app/C:%2fWindows%2fwin.ini', 'bad-path'],
    ['sealpost://app/c:secret.html', 'bad-path'],
    ['sealpost://app/%E0%A4%A', 'bad-path'],
    ['sealpost://app/assets/notes.md', 'unknown-type'],
  ] as const)('refuses %s (%s)', (url, reason) => {
    expect(lookupAppFile(url, root)).toEqual({ ok: false, reason });
  });

  it('never reaches outside the root, even when the URL parser resolved the dots first', () => {
    // new URL() turns /../ and /%2e%2e/ into nothing: the lookup then names a file inside.
    for (const url of [
      'sealpost://app/../secret.html',
      'sealpost://app/%2e%2e/secret.html',
      'sealpost://app/assets/../../secret.html',
    ]) {
      const lookup = lookupAppFile(url, root);
      expect(!lookup.ok || lookup.path.startsWith(`${join(root, 'x').slice(0, -1)}`), url).toBe(
        true,
      );
    }
  });

  it('answers a file with its type, the CSP and nosniff', async () => {
    const answer = await appResponse('sealpost://app/index.html', 'GET', root);
    expect(answer.status).toBe(200);
    expect(answer.headers['Content-Type']).toBe('text/html; charset=utf-8');
    expect(answer.headers['Content-Security-Policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(answer.headers['X-Content-Type-Options']).toBe('nosniff');
    expect(Buffer.from(answer.body ?? new Uint8Array()).toString()).toBe(
      await readFile(join(root, 'index.html'), 'utf8'),
    );
    const head = await appResponse('sealpost://app/index.html', 'HEAD', root);
    expect(head.status).toBe(200);
    expect(head.body).toBeUndefined();
  });

  it('answers 404 (with the CSP) for a missing file, a directory or a refused URL, 405 for POST', async () => {
    for (const url of [
      'sealpost://app/missing.js',
      'sealpost://app/folder.js',
      'sealpost://app/..%2fsecret.html',
    ]) {
      const answer = await appResponse(url, 'GET', root);
      expect(answer.status, url).toBe(404);
      expect(answer.body).toBeUndefined();
      expect(answer.headers['Content-Security-Policy']).toBe(CONTENT_SECURITY_POLICY);
    }
    expect((await appResponse('sealpost://app/index.html', 'POST', root)).status).toBe(405);
  });

  it('refuses a relative root', () => {
    expect(() => lookupAppFile('sealpost://app/index.html', 'dist/renderer')).toThrow(/absolute/);
  });

  it.skipIf(process.platform === 'win32')(
    'refuses a symlink that leads out of the root, serves one that stays inside (skipped on Windows: links need privileges)',
    async () => {
      await symlink(join(outside, 'secret.html'), join(root, 'out.html'));
      await symlink(join(root, 'index.html'), join(root, 'in.html'));
      const out = await appResponse('sealpost://app/out.html', 'GET', root);
      expect(out.status).toBe(404);
      expect(out.refusal).toBe('bad-path');
      expect((await appResponse('sealpost://app/in.html', 'GET', root)).status).toBe(200);
    },
  );
});

describe('request filter (session.webRequest.onBeforeRequest)', () => {
  it.each([
    ['sealpost://app/index.html', 'mainFrame'],
    ['sealpost://app/assets/index-abc.js', 'script'],
    ['data:image/png;base64,iVBORw0KGgo=', 'image'],
    ['blob:sealpost://app/4a1e0c1e-7c2e-4a8e-9d7a-000000000000', 'other'],
  ])('allows %s (%s)', (url, type) => {
    expect(requestDecision(url, type)).toEqual({ cancel: false });
  });

  it.each([
    ['https://tracker.example/p.gif', 'image', 'scheme-not-allowed'],
    ['http://127.0.0.1:8080/api', 'xhr', 'scheme-not-allowed'],
    ['wss://evil.example/', 'webSocket', 'scheme-not-allowed'],
    ['ws://localhost:1234/', 'webSocket', 'scheme-not-allowed'],
    ['file:///etc/passwd', 'mainFrame', 'scheme-not-allowed'],
    ['file:///C:/Windows/win.ini', 'image', 'scheme-not-allowed'],
    ['ftp://example.org/x', 'other', 'scheme-not-allowed'],
    ['chrome://settings', 'mainFrame', 'scheme-not-allowed'],
    ['devtools://devtools/bundled/inspector.html', 'mainFrame', 'scheme-not-allowed'],
    ['sealpost://evil/index.html', 'script', 'not-the-app'],
    ['sealpost://user@app/index.html', 'script', 'not-the-app'],
    ['data:text/html,<script>alert(1)</script>', 'mainFrame', 'navigation-to-data'],
    ['data:text/html,hi', 'subFrame', 'navigation-to-data'],
    ['blob:sealpost://app/4a1e0c1e', 'subFrame', 'navigation-to-blob'],
    ['blob:https://evil.example/4a1e0c1e', 'other', 'foreign-blob'],
    ['blob:null/4a1e0c1e', 'other', 'foreign-blob'],
    ['::not a url', 'other', 'malformed'],
  ])('cancels %s (%s): %s', (url, type, reason) => {
    expect(requestDecision(url, type)).toEqual({ cancel: true, reason });
  });

  it('allows DevTools only when told to (an unpackaged development run)', () => {
    const url = 'devtools://devtools/bundled/inspector.html';
    expect(requestDecision(url, 'mainFrame', { allowDevTools: true })).toEqual({ cancel: false });
  });
});

describe('frame navigation (will-frame-navigate)', () => {
  it('keeps the main frame on the app page', () => {
    expect(frameNavigationAllowed({ url: APP_INDEX_URL, isMainFrame: true }, APP_INDEX_URL)).toBe(
      true,
    );
    expect(
      frameNavigationAllowed(
        { url: `${APP_INDEX_URL}#/compose`, isMainFrame: true },
        APP_INDEX_URL,
      ),
    ).toBe(true);
    for (const url of [
      'sealpost://app/other.html',
      'sealpost://app/index.html?x',
      'https://example.org/',
      'about:blank',
      'about:srcdoc',
      'javascript:alert(1)',
    ]) {
      expect(frameNavigationAllowed({ url, isMainFrame: true }, APP_INDEX_URL), url).toBe(false);
    }
  });

  it('lets a sub-frame be only srcdoc or blank', () => {
    expect(frameNavigationAllowed({ url: 'about:srcdoc', isMainFrame: false }, APP_INDEX_URL)).toBe(
      true,
    );
    expect(frameNavigationAllowed({ url: 'about:blank', isMainFrame: false }, APP_INDEX_URL)).toBe(
      true,
    );
    for (const url of [
      APP_INDEX_URL,
      'https://example.org/',
      'data:text/html,x',
      'about:srcdoc#x',
      'ABOUT:SRCDOC',
      'javascript:top.location="https://evil.example"',
    ]) {
      expect(frameNavigationAllowed({ url, isMainFrame: false }, APP_INDEX_URL), url).toBe(false);
    }
  });
});

describe('HISP restart backoff', () => {
  function crashes(times: readonly number[]): ReturnType<typeof onCrash>['decision'][] {
    let state: RestartState = INITIAL_RESTART_STATE;
    return times.map((at) => {
      const step = onCrash(state, at);
      state = step.state;
      return step.decision;
    });
  }

  it('waits 1, 2, 4, 8, 16 s and gives up at the sixth crash within five minutes', () => {
    expect(crashes([0, 1_000, 3_000, 7_000, 15_000, 31_000])).toEqual([
      { action: 'restart', delayMs: 1_000, crashesInWindow: 1 },
      { action: 'restart', delayMs: 2_000, crashesInWindow: 2 },
      { action: 'restart', delayMs: 4_000, crashesInWindow: 3 },
      { action: 'restart', delayMs: 8_000, crashesInWindow: 4 },
      { action: 'restart', delayMs: 16_000, crashesInWindow: 5 },
      { action: 'give-up', crashesInWindow: 6 },
    ]);
  });

  it('starts again at 1 s once the earlier crashes are older than the window', () => {
    const window = DEFAULT_RESTART_POLICY.windowMs;
    expect(crashes([0, 1_000, 1_000 + window]).at(-1)).toEqual({
      action: 'restart',
      delayMs: 1_000,
      crashesInWindow: 1,
    });
  });

  it('caps the wait at maxDelayMs', () => {
    let state: RestartState = INITIAL_RESTART_STATE;
    const options = { baseDelayMs: 1_000, maxDelayMs: 5_000, maxCrashes: 10, windowMs: 60_000 };
    const delays: number[] = [];
    for (let index = 0; index < 6; index++) {
      const step = onCrash(state, index, options);
      state = step.state;
      if (step.decision.action === 'restart') delays.push(step.decision.delayMs);
    }
    expect(delays).toEqual([1_000, 2_000, 4_000, 5_000, 5_000, 5_000]);
  });

  it('counts every crash as recent when the clock went backwards', () => {
    expect(crashes([10_000, 11_000, 5_000]).at(-1)).toEqual({
      action: 'restart',
      delayMs: 4_000,
      crashesInWindow: 3,
    });
  });

  it('refuses an impossible policy', () => {
    for (const bad of [
      { baseDelayMs: 0, maxDelayMs: 1, maxCrashes: 1, windowMs: 1 },
      { baseDelayMs: 10, maxDelayMs: 5, maxCrashes: 1, windowMs: 1 },
      { baseDelayMs: 1, maxDelayMs: 1, maxCrashes: 0, windowMs: 1 },
      { baseDelayMs: 1, maxDelayMs: 1, maxCrashes: 1, windowMs: Number.NaN },
    ]) {
      expect(() => onCrash(INITIAL_RESTART_STATE, 0, bad)).toThrow(RangeError);
    }
  });
});

describe('window state', () => {
  const screen = [{ x: 0, y: 0, width: 1920, height: 1040 }];
  const twoScreens = [...screen, { x: 1920, y: 0, width: 2560, height: 1400 }];

  it('restores bounds that are on a display', () => {
    const saved = { bounds: { x: 100, y: 80, width: 1000, height: 700 }, maximized: false };
    expect(restoreWindowState(saved, screen)).toEqual(saved);
    const right = { bounds: { x: 2000, y: 100, width: 1600, height: 1000 }, maximized: true };
    expect(restoreWindowState(right, twoScreens)).toEqual(right);
  });

  it('drops bounds on a monitor that is gone, keeping maximized', () => {
    const saved = { bounds: { x: 2000, y: 100, width: 1600, height: 1000 }, maximized: true };
    expect(restoreWindowState(saved, screen)).toEqual({ bounds: undefined, maximized: true });
  });

  it('drops bounds whose title bar is above or off the screen', () => {
    const above = { bounds: { x: 100, y: -400, width: 1000, height: 700 }, maximized: false };
    expect(restoreWindowState(above, screen).bounds).toBeUndefined();
    const sliver = { bounds: { x: 1880, y: 100, width: 1000, height: 700 }, maximized: false };
    expect(restoreWindowState(sliver, screen).bounds).toBeUndefined();
  });

  it('shrinks a window larger than its display and pulls it back on', () => {
    const huge = { bounds: { x: 10, y: 0, width: 4000, height: 3000 }, maximized: false };
    expect(restoreWindowState(huge, screen).bounds).toEqual({
      x: 0,
      y: 0,
      width: 1920,
      height: 1040,
    });
  });

  it('opens with the default size when nothing was saved', () => {
    expect(restoreWindowState(undefined, screen)).toEqual({ bounds: undefined, maximized: false });
  });

  it.each([
    '',
    'not json',
    '[]',
    '{"bounds":{"x":0,"y":0,"width":0,"height":10},"maximized":false}',
    '{"bounds":{"x":0.5,"y":0,"width":10,"height":10},"maximized":false}',
    '{"bounds":{"x":0,"y":0,"width":10,"height":10},"maximized":"yes"}',
    '{"bounds":{"x":0,"y":0,"width":10,"height":10},"maximized":false,"extra":1}',
    '{"bounds":{"x":1e9,"y":0,"width":10,"height":10},"maximized":false}',
  ])('ignores the damaged state %j', (text) => {
    expect(parseWindowState(text)).toBeUndefined();
  });

  it('saves to window-state.json in one step and loads it back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sealpost-window-state-'));
    try {
      expect(await loadWindowState(dir)).toBeUndefined();
      await saveWindowState(dir, {
        bounds: { x: 10.4, y: 20, width: 800.6, height: 600 },
        maximized: false,
      });
      expect(JSON.parse(await readFile(join(dir, WINDOW_STATE_FILE), 'utf8'))).toEqual({
        bounds: { x: 10, y: 20, width: 801, height: 600 },
        maximized: false,
      });
      expect(await loadWindowState(dir)).toEqual({
        bounds: { x: 10, y: 20, width: 801, height: 600 },
        maximized: false,
      });
      await writeFile(join(dir, WINDOW_STATE_FILE), '{"broken": true}');
      expect(await loadWindowState(dir)).toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('application menu', () => {
  function roles(items: readonly MenuItemConstructorOptions[]): string[] {
    return items.flatMap((item) => [
      ...(item.role === undefined ? [] : [item.role]),
      ...(Array.isArray(item.submenu) ? roles(item.submenu) : []),
    ]);
  }

  it('has the standard edit, view and window roles (their accelerators come with them)', () => {
    for (const platform of ['linux', 'win32', 'darwin'] as const) {
      const found = roles(buildMenuTemplate({ platform, appName: 'Sealpost', development: false }));
      for (const role of [
        'undo',
        'redo',
        'cut',
        'copy',
        'paste',
        'selectAll',
        'zoomIn',
        'zoomOut',
        'resetZoom',
        'togglefullscreen',
        'minimize',
        'close',
        'quit',
      ]) {
        expect(found, `${platform}: ${role}`).toContain(role);
      }
    }
  });

  it('puts the app menu first on macOS only', () => {
    const mac = buildMenuTemplate({ platform: 'darwin', appName: 'Sealpost', development: false });
    expect(mac[0]?.label).toBe('Sealpost');
    expect(roles(mac.slice(0, 1))).toEqual(
      expect.arrayContaining(['about', 'hide', 'quit']) as unknown,
    );
    const linux = buildMenuTemplate({ platform: 'linux', appName: 'Sealpost', development: false });
    expect(linux[0]?.label).toBe('&File');
  });

  it('offers Reload and DevTools only in a development run', () => {
    const shipped = roles(
      buildMenuTemplate({ platform: 'linux', appName: 'Sealpost', development: false }),
    );
    expect(shipped).not.toContain('reload');
    expect(shipped).not.toContain('toggleDevTools');
    expect(shipped).not.toContain('forceReload');
    const dev = roles(
      buildMenuTemplate({ platform: 'linux', appName: 'Sealpost', development: true }),
    );
    expect(dev).toContain('reload');
    expect(dev).toContain('toggleDevTools');
  });

  it('binds no mail shortcut of its own (the mail window handles Ctrl+N and the rest)', () => {
    const json = JSON.stringify(
      buildMenuTemplate({ platform: 'win32', appName: 'Sealpost', development: true }),
    );
    expect(json).not.toContain('accelerator');
    expect(json).not.toContain('click');
  });
});

describe('notifications', () => {
  it('say how many and never who or what', () => {
    expect(notificationFor('new-mail', 1)).toEqual({
      title: 'Sealpost',
      body: 'A new secure message',
    });
    expect(notificationFor('new-mail', 3).body).toBe('3 new secure messages');
    expect(notificationFor('delivery-failed', 2)).toEqual({
      title: 'Sealpost: delivery failed',
      body: '2 messages could not be delivered. Open Sealpost to see why.',
    });
  });

  it('skip new mail while the window is in front, never a failed delivery', () => {
    expect(shouldNotify('new-mail', true)).toBe(false);
    expect(shouldNotify('new-mail', false)).toBe(true);
    expect(shouldNotify('delivery-failed', true)).toBe(true);
  });

  it('go through the notifier, and not at all where notifications are unsupported', () => {
    const shown: DesktopNotification[] = [];
    let clicks = 0;
    let supported = true;
    const notifier: Notifier = {
      isSupported: () => supported,
      show: (notification, onClick) => {
        shown.push(notification);
        onClick();
      },
    };
    expect(notify(notifier, { kind: 'new-mail', count: 1 }, false, () => clicks++)).toBe(true);
    supported = false;
    expect(notify(notifier, { kind: 'new-mail', count: 1 }, false, () => clicks++)).toBe(false);
    expect(shown).toHaveLength(1);
    expect(clicks).toBe(1);
  });

  it('are asked for by a notify message that the protocol checks', () => {
    expect(parseHostMessage({ type: 'notify', kind: 'new-mail', count: 2 })).toEqual({
      type: 'notify',
      kind: 'new-mail',
      count: 2,
    });
    for (const bad of [
      { type: 'notify', kind: 'new-mail' },
      { type: 'notify', kind: 'new-mail', count: 0 },
      { type: 'notify', kind: 'new-mail', count: 1.5 },
      { type: 'notify', kind: 'new-mail', count: 10_000_000 },
      { type: 'notify', kind: 'subject: biopsy results', count: 1 },
      { type: 'notify', kind: 'new-mail', count: '1' },
    ]) {
      expect(parseHostMessage(bad)).toBeUndefined();
    }
  });
});
