/**
 * The Electron main process: one hardened window, the HISP in a utility process (restarted
 * after a crash), and a MessagePort between them. Thin on purpose: every decision is in a
 * module with no `electron` import, unit-tested in plain Node:
 *
 *   windowPolicy.ts    webPreferences, CSP, which links open outside, what the app page is
 *   appProtocol.ts     sealpost://app/… serves dist/renderer (instead of file://)
 *   requestFilter.ts   which web requests and frame navigations may happen
 *   hispProcess.ts     the utility process and the port broker; hispSupervisor.ts the backoff
 *   (hisp/host/policy.ts, shared with the HISP: the machine-wide policy IT controls)
 *   windowState.ts     the window's place between runs; appMenu.ts the menu;
 *   notifications.ts   new-mail and failed-delivery notifications
 *
 * Built to dist/electron/main.js (ESM); next to it dist/electron/preload.cjs, and
 * dist/hisp/utility.js and dist/renderer/ one level up.
 */
import {
  app,
  BrowserWindow,
  dialog,
  Menu,
  Notification,
  protocol,
  screen,
  session,
  shell,
} from 'electron';
import type { Session, WebContents } from 'electron';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { buildMenuTemplate } from './appMenu.js';
import { APP_INDEX_URL, APP_SCHEME, APP_SCHEME_PRIVILEGES, appResponse } from './appProtocol.js';
import { startHisp } from './hispProcess.js';
import type { HispProcess } from './hispProcess.js';
import { parseLaunchArgs } from './launchOptions.js';
import type { LaunchOptions } from './launchOptions.js';
import { notify } from './notifications.js';
import type { Notifier } from './notifications.js';
import { describePolicyForLog, loadMachinePolicy } from '../../hisp/host/policy.js';
import type { LoadedPolicy } from '../../hisp/host/policy.js';
import { frameNavigationAllowed, requestDecision } from './requestFilter.js';
import { judgeSmokeProbe, SMOKE_PROBE_SCRIPT, SMOKE_TIMEOUT_MS } from './smoke.js';
import {
  externalLinkDecision,
  isAppUrl,
  secureWebPreferences,
  urlSchemeForLog,
  withContentSecurityPolicy,
} from './windowPolicy.js';
import type { SecureWebPreferences } from './windowPolicy.js';
import {
  loadWindowState,
  restoreWindowState,
  saveWindowState,
  WINDOW_SIZE,
} from './windowState.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const PATHS = {
  preload: join(here, 'preload.cjs'),
  hispEntry: join(here, '..', 'hisp', 'utility.js'),
  rendererRoot: join(here, '..', 'renderer'),
} as const;

const isAppPage = (url: string): boolean => isAppUrl(url, APP_INDEX_URL);

function log(line: string): void {
  process.stderr.write(`[sealpost main] ${line}\n`);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// The scheme must be registered before 'ready'.
protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: APP_SCHEME_PRIVILEGES }]);

// A packaged app's argv is [exe, ...args]; in development it is [electron, main.js, ...args].
const launch = parseLaunchArgs(process.argv.slice(app.isPackaged ? 1 : 2));
if (launch.ok) {
  run(launch.options);
} else {
  log(`${launch.problem} Usage: sealpost [--data-dir DIR] [--smoke]`);
  app.exit(2);
}

/** Brings the window forward (second instance started, notification clicked). */
function focusWindow(win: BrowserWindow | undefined): void {
  if (win === undefined || win.isDestroyed()) return;
  if (win.isMinimized()) win.restore();
  win.show();
  win.focus();
}

const notifier: Notifier = {
  isSupported: () => Notification.isSupported(),
  show(notification, onClick) {
    const shown = new Notification({ title: notification.title, body: notification.body });
    shown.on('click', onClick);
    shown.show();
  },
};

function run(options: LaunchOptions): void {
  if (options.dataDir !== undefined) app.setPath('userData', resolve(options.dataDir));
  // Every renderer sandboxed, whatever a window asks for.
  app.enableSandbox();

  if (!app.requestSingleInstanceLock()) {
    if (options.smoke) {
      // A smoke run that tested nothing must not pass.
      log('smoke: FAILED: another Sealpost is running with this data directory');
      app.exit(1);
    } else {
      log('Sealpost is already running with this data directory; focusing it instead.');
      app.quit();
    }
    return;
  }

  let mainWindow: BrowserWindow | undefined;

  app.on('second-instance', () => focusWindow(mainWindow));
  app.on('web-contents-created', (_event, contents) => hardenWebContents(contents));

  // Not awaited: everything before this line must run before 'ready' (ESM entry, no top-level
  // await), and failures end in the catch below.
  void app
    .whenReady()
    .then(async () => {
      const policy = await readPolicyOrExplain(options);
      if (policy === undefined) return;
      hardenSession(session.defaultSession);
      protocol.handle(APP_SCHEME, async (request) => {
        const answer = await appResponse(request.url, request.method, PATHS.rendererRoot);
        if (answer.refusal !== undefined) log(`app protocol: ${answer.status} (${answer.refusal})`);
        return new Response(answer.body === undefined ? null : Buffer.from(answer.body), {
          status: answer.status,
          headers: answer.headers,
        });
      });
      Menu.setApplicationMenu(
        Menu.buildFromTemplate(
          buildMenuTemplate({
            platform: process.platform,
            appName: app.getName(),
            development: !app.isPackaged,
          }),
        ),
      );
      const hisp = startHisp({
        entryPath: PATHS.hispEntry,
        dataDir: join(app.getPath('userData'), 'hisp'),
        log,
        onExit: (_code, expected) => {
          if (!expected && options.smoke)
            finishSmoke(hisp, 1, 'the HISP exited during the smoke run');
        },
        onGiveUp: (crashes) => {
          dialog.showErrorBox(
            'Sealpost stopped working',
            `The part of Sealpost that sends and receives mail stopped ${crashes} times in a row, so it was not started again. Quit and reopen Sealpost; if it happens again, contact your IT staff.`,
          );
        },
        onNotify: (message) => {
          const focused =
            mainWindow !== undefined && !mainWindow.isDestroyed() && mainWindow.isFocused();
          notify(notifier, message, focused, () => focusWindow(mainWindow));
        },
      });
      app.on('before-quit', () => hisp.stop());
      app.on('window-all-closed', () => {
        // macOS apps stay open with no window; 'activate' opens a new one.
        if (process.platform !== 'darwin') app.quit();
      });
      const open = async (): Promise<BrowserWindow> => {
        const win = await createMainWindow(hisp, options);
        win.on('closed', () => {
          if (mainWindow === win) mainWindow = undefined;
        });
        return win;
      };
      app.on('activate', () => {
        if (mainWindow !== undefined) return;
        open()
          .then((win) => {
            mainWindow = win;
          })
          .catch((error: unknown) => log(`could not open the mail window: ${messageOf(error)}`));
      });
      mainWindow = await open();
    })
    .catch((error: unknown) => {
      log(`could not start: ${messageOf(error)}`);
      app.exit(1);
    });
}

/**
 * The machine's policy (on Windows the HKLM policy key when it has values, else the policy
 * file), or undefined after telling the user why Sealpost does not start: a policy that is
 * there but wrong or unreadable is not ignored (it could leave unlocked what IT locked).
 */
async function readPolicyOrExplain(options: LaunchOptions): Promise<LoadedPolicy | undefined> {
  try {
    const loaded = await loadMachinePolicy({ platform: process.platform, env: process.env });
    log(describePolicyForLog(loaded));
    return loaded;
  } catch (error) {
    const message = messageOf(error);
    log(`${options.smoke ? 'smoke: FAILED: ' : ''}${message}`);
    if (!options.smoke) dialog.showErrorBox('Sealpost cannot start', message);
    app.exit(1);
    return undefined;
  }
}

async function createMainWindow(hisp: HispProcess, options: LaunchOptions): Promise<BrowserWindow> {
  const stateDir = app.getPath('userData');
  const saved = options.smoke ? undefined : await loadWindowState(stateDir);
  const restored = restoreWindowState(
    saved,
    screen.getAllDisplays().map((display) => display.workArea),
  );
  const win = new BrowserWindow({
    width: WINDOW_SIZE.width,
    height: WINDOW_SIZE.height,
    ...restored.bounds,
    minWidth: WINDOW_SIZE.minWidth,
    minHeight: WINDOW_SIZE.minHeight,
    title: 'Sealpost',
    show: false,
    webPreferences: {
      ...secureWebPreferences(PATHS.preload),
      // The same values again as literals, for the static scan (npm run scan:electron),
      // which cannot see through a function call; `satisfies` makes any difference an error.
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      disableBlinkFeatures: 'Auxclick',
    } satisfies SecureWebPreferences,
  });
  if (restored.maximized) win.maximize();
  if (!options.smoke) {
    win.on('close', () => {
      const state = { bounds: win.getNormalBounds(), maximized: win.isMaximized() };
      saveWindowState(stateDir, state).catch((error: unknown) => {
        log(`the window's place was not saved: ${error instanceof Error ? error.name : 'error'}`);
      });
    });
  }
  // Registered before the smoke probe's listener, so the page has its port first.
  hisp.attach(win.webContents, isAppPage);
  if (options.smoke) {
    runSmoke(win.webContents, hisp);
  } else {
    win.once('ready-to-show', () => win.show());
  }
  win.loadURL(APP_INDEX_URL).catch((error: unknown) => {
    log(`the mail window did not load: ${messageOf(error)}`);
  });
  return win;
}

/** Navigation, new windows and webviews, for every WebContents the app ever creates. */
function hardenWebContents(contents: WebContents): void {
  const denyUnlessApp = (event: { readonly url: string; preventDefault(): void }): void => {
    if (isAppPage(event.url)) return;
    event.preventDefault();
    log(`blocked navigation to a ${urlSchemeForLog(event.url)} URL`);
  };
  contents.on('will-navigate', denyUnlessApp);
  contents.on('will-redirect', denyUnlessApp);
  // Every frame, sub-frames included (the HTML mail frame is srcdoc and must stay so).
  contents.on('will-frame-navigate', (event) => {
    if (frameNavigationAllowed({ url: event.url, isMainFrame: event.isMainFrame }, APP_INDEX_URL))
      return;
    event.preventDefault();
    log(
      `blocked ${event.isMainFrame ? 'navigation' : 'a frame navigation'} to a ${urlSchemeForLog(event.url)} URL`,
    );
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    const decision = externalLinkDecision(url);
    if (decision.open) {
      // Fire and forget: the window-open handler must answer synchronously.
      void shell.openExternal(decision.url).catch((error: unknown) => {
        log(
          `the system browser did not open a link: ${error instanceof Error ? error.name : 'error'}`,
        );
      });
    } else {
      log(`did not open a ${urlSchemeForLog(url)} link (${decision.reason})`);
    }
    return { action: 'deny' };
  });
}

/** Permissions, the request filter and the CSP header for the session all windows use. */
function hardenSession(target: Session): void {
  target.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  target.setPermissionCheckHandler(() => false);
  target.setDevicePermissionHandler(() => false);
  const allowDevTools = !app.isPackaged;
  target.webRequest.onBeforeRequest((details, callback) => {
    const decision = requestDecision(details.url, details.resourceType, { allowDevTools });
    if (decision.cancel) {
      log(
        `blocked a ${details.resourceType} request to a ${urlSchemeForLog(details.url)} URL (${decision.reason})`,
      );
    }
    callback({ cancel: decision.cancel });
  });
  // The app protocol sets the CSP itself; this covers any response webRequest does see.
  target.webRequest.onHeadersReceived((details, callback) => {
    if (!isAppPage(details.url)) {
      callback({});
      return;
    }
    callback({ responseHeaders: withContentSecurityPolicy(details.responseHeaders) });
  });
}

let smokeFinished = false;

function finishSmoke(hisp: HispProcess, code: number, message: string): void {
  if (smokeFinished) return;
  smokeFinished = true;
  log(`smoke: ${code === 0 ? 'passed' : 'FAILED'}: ${message}`);
  hisp.stop();
  app.exit(code);
}

/** --smoke: exit 0 once the page has the HISP's status over the port, non-zero otherwise. */
function runSmoke(contents: WebContents, hisp: HispProcess): void {
  const timer = setTimeout(
    () => finishSmoke(hisp, 1, `no status from the HISP in the page within ${SMOKE_TIMEOUT_MS} ms`),
    SMOKE_TIMEOUT_MS,
  );
  const finish = (code: number, message: string): void => {
    clearTimeout(timer);
    finishSmoke(hisp, code, message);
  };
  contents.once('did-finish-load', () => {
    contents
      .executeJavaScript(SMOKE_PROBE_SCRIPT)
      .then((result: unknown) => {
        const verdict = judgeSmokeProbe(result);
        if (verdict.ok) finish(0, `the page received the HISP status (${verdict.summary})`);
        else finish(1, verdict.reason);
      })
      .catch((error: unknown) => finish(1, `the probe failed: ${messageOf(error)}`));
  });
  contents.on('did-fail-load', (_event, errorCode, errorDescription, _url, isMainFrame) => {
    if (isMainFrame) finish(1, `the mail window did not load (${errorCode} ${errorDescription})`);
  });
  contents.on('render-process-gone', (_event, details) =>
    finish(1, `the renderer went away (${details.reason})`),
  );
  contents.on('preload-error', (_event, _path, error) =>
    finish(1, `the preload failed: ${error.message}`),
  );
}
