/**
 * The main process's wiring, run in Node against a stand-in for the Electron APIs it uses:
 * which handlers it installs, what it passes to the HISP utility process and to the page,
 * and the --smoke flow. The launch test (electron-launch.test.ts) runs the real thing where
 * an Electron binary exists; this one runs everywhere.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { CONTENT_SECURITY_POLICY, secureWebPreferences } from '../../electron/main/windowPolicy.js';
import { SMOKE_PROBE_ID, SMOKE_PROBE_SCRIPT } from '../../electron/main/smoke.js';
import { DESKTOP_PORT_CHANNEL } from '../../hisp/api/index.js';

type Listener = (...args: unknown[]) => unknown;

const fake = await vi.hoisted(async () => {
  const { PassThrough } = await import('node:stream');

  class Emitter {
    readonly listeners = new Map<string, Listener[]>();
    on(event: string, listener: Listener): this {
      this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
      return this;
    }
    once(event: string, listener: Listener): this {
      const wrapped: Listener = (...args) => {
        this.listeners.set(
          event,
          (this.listeners.get(event) ?? []).filter((l) => l !== wrapped),
        );
        return listener(...args);
      };
      return this.on(event, wrapped);
    }
    emit(event: string, ...args: unknown[]): void {
      for (const listener of this.listeners.get(event) ?? []) listener(...args);
    }
    count(event: string): number {
      return this.listeners.get(event)?.length ?? 0;
    }
  }

  class FakeWebContents extends Emitter {
    url = '';
    windowOpenHandler: ((details: { url: string }) => { action: string }) | undefined;
    readonly posted: { channel: string; message: unknown; ports: unknown[] }[] = [];
    probe: () => Promise<unknown> = () => new Promise(() => undefined);
    readonly scripts: string[] = [];
    setWindowOpenHandler(handler: (details: { url: string }) => { action: string }): void {
      this.windowOpenHandler = handler;
    }
    postMessage(channel: string, message: unknown, ports: unknown[] = []): void {
      this.posted.push({ channel, message, ports });
    }
    getURL(): string {
      return this.url;
    }
    executeJavaScript(script: string): Promise<unknown> {
      this.scripts.push(script);
      return this.probe();
    }
  }

  class FakeChild extends Emitter {
    pid: number | undefined = 4242;
    readonly stdout = new PassThrough();
    readonly stderr = new PassThrough();
    readonly messages: { message: unknown; ports: unknown[] }[] = [];
    kills = 0;
    postMessage(message: unknown, ports: unknown[] = []): void {
      this.messages.push({ message, ports });
    }
    kill(): boolean {
      this.kills++;
      return true;
    }
  }

  let portIds = 0;
  class FakePort {
    readonly id = ++portIds;
    closed = false;
    close(): void {
      this.closed = true;
    }
  }

  const state = {
    app: new (class extends Emitter {
      isPackaged = false;
      readonly paths = new Map<string, string>([['userData', '/home/dr/.config/sealpost']]);
      sandboxEnabled = false;
      lockRequested = false;
      exitCodes: number[] = [];
      quits = 0;
      setPath(name: string, path: string): void {
        this.paths.set(name, path);
      }
      getPath(name: string): string {
        return this.paths.get(name) ?? `/unknown/${name}`;
      }
      enableSandbox(): void {
        this.sandboxEnabled = true;
      }
      lockAvailable = true;
      requestSingleInstanceLock(): boolean {
        this.lockRequested = true;
        return this.lockAvailable;
      }
      whenReady(): Promise<void> {
        return Promise.resolve();
      }
      quit(): void {
        this.quits++;
      }
      exit(code: number): void {
        this.exitCodes.push(code);
      }
    })(),
    windows: [] as {
      options: Record<string, unknown>;
      loaded: string[];
      shown: number;
      webContents: FakeWebContents;
      emit: (event: string) => void;
    }[],
    children: [] as {
      path: string;
      args: string[];
      options: Record<string, unknown>;
      child: FakeChild;
    }[],
    opened: [] as string[],
    session: {
      permissionRequest: undefined as Listener | undefined,
      permissionCheck: undefined as Listener | undefined,
      devicePermission: undefined as Listener | undefined,
      headersReceived: undefined as Listener | undefined,
    },
    FakeWebContents,
  };

  class FakeBrowserWindow extends Emitter {
    readonly webContents = new FakeWebContents();
    readonly record: (typeof state.windows)[number];
    constructor(options: Record<string, unknown>) {
      super();
      this.record = {
        options,
        loaded: [],
        shown: 0,
        webContents: this.webContents,
        emit: (event) => this.emit(event),
      };
      state.windows.push(this.record);
      state.app.emit('web-contents-created', {}, this.webContents);
    }
    loadFile(path: string): Promise<void> {
      this.record.loaded.push(path);
      return Promise.resolve();
    }
    show(): void {
      this.record.shown++;
    }
    isDestroyed(): boolean {
      return false;
    }
    isMinimized(): boolean {
      return false;
    }
    restore(): void {}
    focus(): void {}
  }

  const electron = {
    app: state.app,
    BrowserWindow: FakeBrowserWindow,
    MessageChannelMain: class {
      readonly port1 = new FakePort();
      readonly port2 = new FakePort();
    },
    session: {
      defaultSession: {
        setPermissionRequestHandler: (handler: Listener) =>
          (state.session.permissionRequest = handler),
        setPermissionCheckHandler: (handler: Listener) => (state.session.permissionCheck = handler),
        setDevicePermissionHandler: (handler: Listener) =>
          (state.session.devicePermission = handler),
        webRequest: {
          onHeadersReceived: (handler: Listener) => (state.session.headersReceived = handler),
        },
      },
    },
    shell: {
      openExternal: (url: string) => {
        state.opened.push(url);
        return Promise.resolve();
      },
    },
    utilityProcess: {
      fork: (path: string, args: string[], options: Record<string, unknown>) => {
        const child = new FakeChild();
        state.children.push({ path, args, options, child });
        return child;
      },
    },
  };
  return { state, electron };
});

vi.mock('electron', () => fake.electron);

const mainDir = join(import.meta.dirname, '..', '..', 'electron', 'main');
const rendererIndex = join(mainDir, '..', 'renderer', 'index.html');
const appUrl = pathToFileURL(rendererIndex).href;

let stderr: string[] = [];
const realArgv = process.argv;

function resetFake(): void {
  const { state } = fake;
  state.app.listeners.clear();
  state.app.paths.set('userData', '/home/dr/.config/sealpost');
  state.app.exitCodes = [];
  state.app.quits = 0;
  state.app.lockAvailable = true;
  state.windows.length = 0;
  state.children.length = 0;
  state.opened.length = 0;
}

/** Runs a fresh copy of main.ts with these arguments (main's state is per process). */
async function startMain(...args: string[]): Promise<void> {
  process.argv = [realArgv[0] ?? 'electron', join(mainDir, 'main.js'), ...args];
  vi.resetModules();
  await import('../../electron/main/main.js');
  // Let whenReady().then(...) run.
  await new Promise((resolve) => setImmediate(resolve));
}

const window0 = () => {
  const window = fake.state.windows[0];
  if (window === undefined) throw new Error('no window was created');
  return window;
};
const child0 = () => {
  const child = fake.state.children[0];
  if (child === undefined) throw new Error('no HISP process was started');
  return child;
};

beforeEach(() => {
  resetFake();
  stderr = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr.push(String(chunk));
    return true;
  });
});

afterEach(() => {
  process.argv = realArgv;
  vi.restoreAllMocks();
});

describe('main process wiring', () => {
  it('sandboxes every renderer, takes the single-instance lock and opens one hardened window', async () => {
    await startMain();
    expect(fake.state.app.sandboxEnabled).toBe(true);
    expect(fake.state.app.lockRequested).toBe(true);
    expect(fake.state.windows).toHaveLength(1);
    expect(window0().options['webPreferences']).toEqual(
      secureWebPreferences(join(mainDir, 'preload.cjs')),
    );
    expect(window0().loaded).toEqual([rendererIndex]);
  });

  it('starts the HISP utility process with --data-dir <userData>/hisp, a service name and piped output', async () => {
    await startMain();
    const { path, args, options } = child0();
    expect(path).toBe(join(mainDir, '..', 'hisp', 'utility.js'));
    expect(args).toEqual(['--data-dir', '/home/dr/.config/sealpost/hisp']);
    expect(options).toEqual({ serviceName: 'Sealpost HISP', stdio: 'pipe' });
  });

  it('puts Chromium and the HISP under --data-dir when given', async () => {
    await startMain('--data-dir=/tmp/sealpost-profile');
    expect(fake.state.app.getPath('userData')).toBe('/tmp/sealpost-profile');
    expect(child0().args).toEqual(['--data-dir', '/tmp/sealpost-profile/hisp']);
  });

  it('quits (leaving the running instance to focus itself) when another instance holds the lock', async () => {
    fake.state.app.lockAvailable = false;
    await startMain();
    expect(fake.state.app.quits).toBe(1);
    expect(fake.state.app.exitCodes).toEqual([]);
    expect(fake.state.windows).toHaveLength(0);
  });

  it('exits 2 with a usage line on a bad command line, starting nothing', async () => {
    await startMain('--data-dir');
    expect(fake.state.app.exitCodes).toEqual([2]);
    expect(fake.state.windows).toHaveLength(0);
    expect(stderr.join('')).toContain('--data-dir needs a directory');
  });

  it('hands each loaded app page a new port, and the HISP the other end with { type: "connect" }', async () => {
    await startMain();
    const contents = window0().webContents;
    contents.url = appUrl;
    contents.emit('did-finish-load');
    contents.emit('did-finish-load'); // a reload: a fresh page, a fresh connection
    const { child } = child0();
    expect(child.messages.map((m) => m.message)).toEqual([
      { type: 'connect' },
      { type: 'connect' },
    ]);
    expect(contents.posted.map((p) => [p.channel, p.message])).toEqual([
      [DESKTOP_PORT_CHANNEL, null],
      [DESKTOP_PORT_CHANNEL, null],
    ]);
    for (let index = 0; index < 2; index++) {
      const [hispPort] = child.messages[index]?.ports ?? [];
      const [pagePort] = contents.posted[index]?.ports ?? [];
      expect(child.messages[index]?.ports).toHaveLength(1);
      expect(contents.posted[index]?.ports).toHaveLength(1);
      // The two ends of one channel: different ports, consecutive ids from one MessageChannelMain.
      expect((pagePort as { id: number }).id).toBe((hispPort as { id: number }).id + 1);
    }
  });

  it('never hands a port to a page that is not the app', async () => {
    await startMain();
    const contents = window0().webContents;
    contents.url = 'https://evil.example/';
    contents.emit('did-finish-load');
    expect(contents.posted).toEqual([]);
    expect(child0().child.messages).toEqual([]);
  });

  it('closes the HISP end at once when the HISP has exited, so the page sees its channel close', async () => {
    await startMain();
    const { child } = child0();
    child.emit('exit', 3);
    const contents = window0().webContents;
    contents.url = appUrl;
    contents.emit('did-finish-load');
    expect(child.messages).toEqual([]);
    expect(contents.posted).toHaveLength(1);
    expect(stderr.join('')).toContain('HISP exited unexpectedly with code 3');
  });

  it("forwards the HISP's output lines to stderr unchanged and stops it on before-quit", async () => {
    await startMain();
    const { child } = child0();
    child.stdout.write('{"level":30,"msg":"listening"}\n');
    child.stderr.write('warning line\n');
    await new Promise((resolve) => setImmediate(resolve));
    expect(stderr).toContain('{"level":30,"msg":"listening"}\n');
    expect(stderr).toContain('warning line\n');
    fake.state.app.emit('before-quit', {});
    fake.state.app.emit('before-quit', {});
    expect(child.kills).toBe(1);
  });

  it('denies navigation away from the app page, and redirects', async () => {
    await startMain();
    const contents = window0().webContents;
    for (const event of ['will-navigate', 'will-redirect']) {
      const away = { url: 'https://evil.example/?mrn=123', preventDefault: vi.fn() };
      contents.emit(event, away);
      expect(away.preventDefault).toHaveBeenCalledOnce();
      const home = { url: `${appUrl}#/inbox`, preventDefault: vi.fn() };
      contents.emit(event, home);
      expect(home.preventDefault).not.toHaveBeenCalled();
    }
    expect(stderr.join('')).toContain('blocked navigation to a https: URL');
    expect(stderr.join('')).not.toContain('mrn=123');
  });

  it('denies every new window, sending only https links to the system browser', async () => {
    await startMain();
    const handler = window0().webContents.windowOpenHandler;
    expect(handler).toBeDefined();
    for (const url of [
      'https://example.org',
      'http://example.org/',
      'javascript:alert(1)',
      'file:///etc/passwd',
    ]) {
      expect(handler?.({ url })).toEqual({ action: 'deny' });
    }
    expect(fake.state.opened).toEqual(['https://example.org/']);
  });

  it('refuses webviews', async () => {
    await startMain();
    const event = { preventDefault: vi.fn() };
    window0().webContents.emit('will-attach-webview', event, {}, {});
    expect(event.preventDefault).toHaveBeenCalledOnce();
  });

  it('denies every permission request and check, and device access', async () => {
    await startMain();
    const { session } = fake.state;
    const callback = vi.fn();
    session.permissionRequest?.({}, 'media', callback, {});
    session.permissionRequest?.({}, 'notifications', callback, {});
    expect(callback.mock.calls).toEqual([[false], [false]]);
    expect(session.permissionCheck?.({}, 'clipboard-read', 'file://', {})).toBe(false);
    expect(session.devicePermission?.({})).toBe(false);
  });

  it('adds the CSP header to the app page only', async () => {
    await startMain();
    const handler = fake.state.session.headersReceived;
    const callback = vi.fn();
    handler?.({ url: appUrl, responseHeaders: { 'Content-Type': ['text/html'] } }, callback);
    handler?.({ url: 'devtools://devtools/bundled/inspector.html', responseHeaders: {} }, callback);
    expect(callback.mock.calls).toEqual([
      [
        {
          responseHeaders: {
            'Content-Type': ['text/html'],
            'Content-Security-Policy': [CONTENT_SECURITY_POLICY],
          },
        },
      ],
      [{}],
    ]);
  });

  it('shows the window once it is ready, and runs no probe (normal start)', async () => {
    await startMain();
    expect(window0().shown).toBe(0);
    window0().emit('ready-to-show');
    expect(window0().shown).toBe(1);
    window0().webContents.url = appUrl;
    window0().webContents.emit('did-finish-load');
    expect(window0().webContents.scripts).toEqual([]);
    expect(fake.state.app.exitCodes).toEqual([]);
  });
});

describe('--smoke', () => {
  const status = {
    product: 'sealpost',
    version: '0.1.0',
    state: 'ready',
    mode: 'desktop',
    profile: { name: 'p', throwaway: true },
    startedAt: '2025-01-01T00:00:00.000Z',
    uptimeMs: 1,
    components: [],
  };

  /** `probe` makes the page's answer when main runs the probe (not before: no stray rejections). */
  async function smokeWith(probe: () => Promise<unknown>): Promise<void> {
    await startMain('--smoke', '--data-dir=/tmp/sealpost-smoke');
    const contents = window0().webContents;
    contents.url = appUrl;
    contents.probe = probe;
    contents.emit('did-finish-load');
    await new Promise((resolve) => setImmediate(resolve));
  }

  it('exits 0 once the page received the HISP status over the port, after giving it the port', async () => {
    await smokeWith(() =>
      Promise.resolve({ t: 'res', id: SMOKE_PROBE_ID, ok: true, result: status }),
    );
    const contents = window0().webContents;
    expect(contents.posted).toHaveLength(1);
    expect(contents.scripts).toEqual([SMOKE_PROBE_SCRIPT]);
    expect(fake.state.app.exitCodes).toEqual([0]);
    expect(child0().child.kills).toBe(1);
    expect(stderr.join('')).toContain('smoke: passed: the page received the HISP status');
  });

  it('exits 1 when the answer is not a valid status', async () => {
    await smokeWith(() =>
      Promise.resolve({ t: 'res', id: SMOKE_PROBE_ID, ok: true, result: { product: 'x' } }),
    );
    expect(fake.state.app.exitCodes).toEqual([1]);
    expect(stderr.join('')).toContain('smoke: FAILED: the HISP status broke the contract');
  });

  it('exits 1 when the probe fails in the page', async () => {
    await smokeWith(() => Promise.reject(new Error('the page has no Sealpost bridge')));
    expect(fake.state.app.exitCodes).toEqual([1]);
  });

  it('exits 1 when the HISP dies during the run, once only', async () => {
    await startMain('--smoke');
    child0().child.emit('exit', 9);
    child0().child.emit('exit', 9);
    expect(fake.state.app.exitCodes).toEqual([1]);
  });

  it('exits 1 when the main frame fails to load, not when a subframe does', async () => {
    await startMain('--smoke');
    const contents = window0().webContents;
    contents.emit('did-fail-load', {}, -6, 'ERR_FILE_NOT_FOUND', 'file:///x', false);
    expect(fake.state.app.exitCodes).toEqual([]);
    contents.emit('did-fail-load', {}, -6, 'ERR_FILE_NOT_FOUND', appUrl, true);
    expect(fake.state.app.exitCodes).toEqual([1]);
  });

  it('fails when another instance holds the lock, rather than passing without testing anything', async () => {
    fake.state.app.lockAvailable = false;
    await startMain('--smoke');
    expect(fake.state.app.exitCodes).toEqual([1]);
    expect(fake.state.windows).toHaveLength(0);
  });

  it('never shows the window', async () => {
    await startMain('--smoke');
    window0().emit('ready-to-show');
    expect(window0().shown).toBe(0);
  });
});
