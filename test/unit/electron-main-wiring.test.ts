/**
 * The main process's wiring, run in Node against a stand-in for the Electron APIs it uses:
 * which handlers it installs, what it passes to the HISP utility process and to the page,
 * and the --smoke flow. The launch test (electron-launch.test.ts) runs the real thing where
 * an Electron binary exists; this one runs everywhere.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { APP_INDEX_URL } from '../../electron/main/appProtocol.js';
import { DEFAULT_POLICY, PolicySchema } from '../../hisp/host/policy.js';
import type * as PolicyModule from '../../hisp/host/policy.js';
import type { LoadedPolicy } from '../../hisp/host/policy.js';
import { CONTENT_SECURITY_POLICY, secureWebPreferences } from '../../electron/main/windowPolicy.js';
import { SMOKE_PROBE_ID, SMOKE_PROBE_SCRIPT } from '../../electron/main/smoke.js';
import { DESKTOP_PORT_CHANNEL, HispError } from '../../hisp/api/index.js';

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
    reloads = 0;
    reload(): void {
      this.reloads++;
    }
    isDestroyed(): boolean {
      return false;
    }
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

  interface FakeBrowserWindowShape {
    maximized: boolean;
    focused: boolean;
    bounds: { x: number; y: number; width: number; height: number };
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
      getName(): string {
        return 'Sealpost';
      }
      exit(code: number): void {
        this.exitCodes.push(code);
      }
    })(),
    windows: [] as {
      options: Record<string, unknown>;
      loaded: string[];
      shown: number;
      focused: number;
      webContents: FakeWebContents;
      emit: (event: string) => void;
      window: FakeBrowserWindowShape;
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
      beforeRequest: undefined as Listener | undefined,
    },
    schemes: [] as unknown[],
    protocolHandlers: new Map<
      string,
      (request: { url: string; method: string }) => Promise<Response>
    >(),
    menus: [] as unknown[],
    errorBoxes: [] as { title: string; content: string }[],
    notifications: [] as { title: string; body: string }[],
    notificationsSupported: true,
    workAreas: [{ x: 0, y: 0, width: 1920, height: 1040 }],
    policy: {
      load: (path: string): Promise<unknown> =>
        Promise.resolve({ policy: undefined, path, found: false }),
      paths: [] as string[],
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
        focused: 0,
        webContents: this.webContents,
        emit: (event) => this.emit(event),
        window: this,
      };
      state.windows.push(this.record);
      state.app.emit('web-contents-created', {}, this.webContents);
    }
    loadURL(url: string): Promise<void> {
      this.record.loaded.push(url);
      return Promise.resolve();
    }
    maximized = false;
    focused = false;
    bounds = { x: 0, y: 0, width: 0, height: 0 };
    maximize(): void {
      this.maximized = true;
    }
    isMaximized(): boolean {
      return this.maximized;
    }
    isFocused(): boolean {
      return this.focused;
    }
    getNormalBounds(): { x: number; y: number; width: number; height: number } {
      return this.bounds;
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
    focus(): void {
      this.record.focused++;
    }
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
          onBeforeRequest: (handler: Listener) => (state.session.beforeRequest = handler),
        },
      },
    },
    protocol: {
      registerSchemesAsPrivileged: (schemes: unknown[]) => state.schemes.push(...schemes),
      handle: (
        scheme: string,
        handler: (request: { url: string; method: string }) => Promise<Response>,
      ) => state.protocolHandlers.set(scheme, handler),
    },
    Menu: {
      buildFromTemplate: (template: unknown) => ({ template }),
      setApplicationMenu: (menu: unknown) => state.menus.push(menu),
    },
    screen: {
      getAllDisplays: () => state.workAreas.map((workArea) => ({ workArea })),
    },
    dialog: {
      showErrorBox: (title: string, content: string) => state.errorBoxes.push({ title, content }),
    },
    Notification: class {
      static isSupported(): boolean {
        return state.notificationsSupported;
      }
      readonly options: { title: string; body: string };
      constructor(options: { title: string; body: string }) {
        this.options = options;
      }
      on(): this {
        return this;
      }
      show(): void {
        state.notifications.push(this.options);
      }
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
// The machine's real policy (file, or registry on Windows) is not read: each test says what
// it holds. `paths` records the policy file path main's options lead to.
vi.mock('../../hisp/host/policy.js', async (importOriginal) => {
  const original = await importOriginal<typeof PolicyModule>();
  return {
    ...original,
    loadMachinePolicy: (options: PolicyModule.MachinePolicyOptions = {}) => {
      const path =
        options.file ??
        original.policyPath(options.platform ?? process.platform, options.env ?? process.env);
      fake.state.policy.paths.push(path);
      return fake.state.policy.load(path);
    },
  };
});

const mainDir = join(import.meta.dirname, '..', '..', 'electron', 'main');
const appUrl = APP_INDEX_URL;

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
  state.schemes.length = 0;
  state.protocolHandlers.clear();
  state.menus.length = 0;
  state.errorBoxes.length = 0;
  state.notifications.length = 0;
  state.notificationsSupported = true;
  state.workAreas = [{ x: 0, y: 0, width: 1920, height: 1040 }];
  state.policy.paths.length = 0;
  state.policy.load = (path) =>
    Promise.resolve({ policy: DEFAULT_POLICY, path, found: false } satisfies LoadedPolicy);
}

/** Runs a fresh copy of main.ts with these arguments (main's state is per process). */
async function startMain(...args: string[]): Promise<void> {
  process.argv = [realArgv[0] ?? 'electron', join(mainDir, 'main.js'), ...args];
  vi.resetModules();
  await import('../../electron/main/main.js');
  // Let whenReady().then(...) run: it reads the policy and the window state first.
  for (let turn = 0; turn < 50; turn++) {
    if (fake.state.windows.length > 0 || fake.state.app.exitCodes.length > 0) break;
    if (fake.state.app.quits > 0) break;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
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
  // Stops the HISP of the run and any restart it has scheduled.
  fake.state.app.emit('before-quit', {});
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
    expect(window0().loaded).toEqual(['sealpost://app/index.html']);
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

describe('main process hardening and desktop pieces', () => {
  it('registers sealpost: as a standard, secure scheme before ready, and serves only files under dist/renderer', async () => {
    await startMain();
    expect(fake.state.schemes).toEqual([
      {
        scheme: 'sealpost',
        privileges: expect.objectContaining({
          standard: true,
          secure: true,
          bypassCSP: false,
        }) as unknown,
      },
    ]);
    const handler = fake.state.protocolHandlers.get('sealpost');
    expect(handler).toBeDefined();
    const outside = await handler?.({
      url: 'sealpost://app/%2e%2e/%2e%2e/etc/passwd',
      method: 'GET',
    });
    expect(outside?.status).toBe(404);
    expect(outside?.headers.get('Content-Security-Policy')).toBe(CONTENT_SECURITY_POLICY);
    const post = await handler?.({ url: 'sealpost://app/index.html', method: 'POST' });
    expect(post?.status).toBe(405);
  });

  it('cancels every web request that is not the app: remote hosts, file:, data: and blob: navigations', async () => {
    await startMain();
    const filter = fake.state.session.beforeRequest;
    expect(filter).toBeDefined();
    const decide = (url: string, resourceType: string): unknown => {
      const callback = vi.fn();
      filter?.({ url, resourceType }, callback);
      return callback.mock.calls[0]?.[0];
    };
    expect(decide('sealpost://app/assets/index.js', 'script')).toEqual({ cancel: false });
    expect(decide('data:image/png;base64,AAAA', 'image')).toEqual({ cancel: false });
    expect(decide('https://tracker.example/pixel.gif?mrn=42', 'image')).toEqual({ cancel: true });
    expect(decide('ws://127.0.0.1:9000/', 'webSocket')).toEqual({ cancel: true });
    expect(decide('file:///etc/passwd', 'mainFrame')).toEqual({ cancel: true });
    expect(decide('data:text/html,<script>1</script>', 'subFrame')).toEqual({ cancel: true });
    expect(stderr.join('')).toContain('blocked a image request to a https: URL');
    expect(stderr.join('')).not.toContain('mrn=42');
  });

  it('lets the mail frame load its srcdoc and nothing else, and the main frame only the app', async () => {
    await startMain();
    const contents = window0().webContents;
    const navigate = (url: string, isMainFrame: boolean): boolean => {
      const event = { url, isMainFrame, preventDefault: vi.fn() };
      contents.emit('will-frame-navigate', event);
      return event.preventDefault.mock.calls.length === 0;
    };
    expect(navigate('about:srcdoc', false)).toBe(true);
    expect(navigate('https://evil.example/', false)).toBe(false);
    expect(navigate('data:text/html,hi', false)).toBe(false);
    expect(navigate(`${appUrl}#/inbox`, true)).toBe(true);
    expect(navigate('about:srcdoc', true)).toBe(false);
    expect(navigate('file:///etc/passwd', true)).toBe(false);
  });

  it('sets the standard application menu', async () => {
    await startMain();
    expect(fake.state.menus).toHaveLength(1);
    const { template } = fake.state.menus[0] as { template: { label?: string }[] };
    expect(template.map((menu) => menu.label)).toEqual(
      expect.arrayContaining(['&Edit', '&View', '&Window']) as unknown,
    );
  });

  it('reads the policy file at the documented path for this OS', async () => {
    await startMain();
    const { policyPath } = await import('../../hisp/host/policy.js');
    expect(fake.state.policy.paths).toEqual([policyPath(process.platform, process.env)]);
    expect(stderr.join('')).toContain('defaults apply');
  });

  it('does not start with a policy file that is wrong: it says why and exits 1', async () => {
    fake.state.policy.load = () =>
      Promise.reject(
        new HispError(
          'USAGE',
          'The policy file /etc/sealpost/policy.json was refused: unknown key "relayy" in the top level.',
        ),
      );
    await startMain();
    expect(fake.state.app.exitCodes).toEqual([1]);
    expect(fake.state.windows).toHaveLength(0);
    expect(fake.state.children).toHaveLength(0);
    expect(fake.state.errorBoxes).toEqual([
      { title: 'Sealpost cannot start', content: expect.stringContaining('"relayy"') as unknown },
    ]);
  });

  it('starts with a valid policy and logs what it sets, without host names', async () => {
    fake.state.policy.load = (path) =>
      Promise.resolve({
        policy: PolicySchema.parse({
          relay: { smarthost: { host: 'smtp.clinic.example', port: 587, secure: 'starttls' } },
          autoUpdate: false,
          lockedSettings: ['relay'],
        }),
        path,
        found: true,
      } satisfies LoadedPolicy);
    await startMain();
    expect(fake.state.windows).toHaveLength(1);
    const output = stderr.join('');
    expect(output).toContain('relay preset');
    expect(output).toContain('automatic updates off');
    expect(output).toContain('locked: relay');
    expect(output).not.toContain('smtp.clinic.example');
  });

  it('restarts a crashed HISP after 1 s and reloads the app page so it gets a port to the new one', async () => {
    await startMain();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const contents = window0().webContents;
      contents.url = appUrl;
      child0().child.emit('exit', 139);
      expect(fake.state.children).toHaveLength(1);
      vi.advanceTimersByTime(999);
      expect(fake.state.children).toHaveLength(1);
      vi.advanceTimersByTime(1);
      expect(fake.state.children).toHaveLength(2);
      const second = fake.state.children[1]?.child;
      expect(contents.reloads).toBe(0);
      second?.emit('spawn');
      expect(contents.reloads).toBe(1);
      contents.emit('did-finish-load');
      expect(second?.messages.map((m) => m.message)).toEqual([{ type: 'connect' }]);
      expect(child0().child.messages).toEqual([]);
      expect(stderr.join('')).toContain('restarting the HISP in 1000 ms (crash 1)');
    } finally {
      vi.useRealTimers();
    }
  });

  it('backs off 1, 2, 4, 8, 16 s and then gives up, telling the user', async () => {
    await startMain();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      for (const delay of [1000, 2000, 4000, 8000, 16000]) {
        fake.state.children.at(-1)?.child.emit('exit', 1);
        vi.advanceTimersByTime(delay - 1);
        const before = fake.state.children.length;
        vi.advanceTimersByTime(1);
        expect(fake.state.children.length).toBe(before + 1);
      }
      expect(fake.state.children).toHaveLength(6);
      fake.state.children.at(-1)?.child.emit('exit', 1);
      vi.advanceTimersByTime(120_000);
      expect(fake.state.children).toHaveLength(6);
      expect(fake.state.errorBoxes).toEqual([
        {
          title: 'Sealpost stopped working',
          content: expect.stringContaining('6 times') as unknown,
        },
      ]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('does not restart the HISP once the app is quitting', async () => {
    await startMain();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      child0().child.emit('exit', 1);
      fake.state.app.emit('before-quit', {});
      vi.advanceTimersByTime(60_000);
      expect(fake.state.children).toHaveLength(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('shows a notification for new mail only when the window is not in front, and for failed deliveries always', async () => {
    await startMain();
    const { child } = child0();
    const win = window0().window;
    win.focused = true;
    child.emit('message', { type: 'notify', kind: 'new-mail', count: 2 });
    expect(fake.state.notifications).toEqual([]);
    child.emit('message', { type: 'notify', kind: 'delivery-failed', count: 1 });
    win.focused = false;
    child.emit('message', { type: 'notify', kind: 'new-mail', count: 2 });
    child.emit('message', { type: 'notify', kind: 'new-mail', count: 'Jane Doe' });
    expect(fake.state.notifications).toEqual([
      {
        title: 'Sealpost: delivery failed',
        body: 'A message could not be delivered. Open Sealpost to see why.',
      },
      { title: 'Sealpost', body: '2 new secure messages' },
    ]);
  });

  it('saves the window place on close and restores it on the next start', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sealpost-window-'));
    try {
      await startMain(`--data-dir=${dir}`);
      const first = window0();
      first.window.bounds = { x: 100, y: 50, width: 1000, height: 700 };
      first.window.maximized = true;
      first.emit('close');
      let saved = '';
      for (let turn = 0; turn < 100 && saved === ''; turn++) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        saved = await readFile(join(dir, 'window-state.json'), 'utf8').catch(() => '');
      }
      expect(JSON.parse(saved)).toEqual({
        bounds: { x: 100, y: 50, width: 1000, height: 700 },
        maximized: true,
      });
      fake.state.app.emit('before-quit', {});
      resetFake();
      await startMain(`--data-dir=${dir}`);
      expect(window0().options).toEqual(
        expect.objectContaining({ x: 100, y: 50, width: 1000, height: 700 }) as unknown,
      );
      expect(window0().window.maximized).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
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
