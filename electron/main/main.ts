/**
 * The Electron main process: one hardened window, the HISP in a utility process, and a
 * MessagePort between them. Thin on purpose: the policy is in windowPolicy.ts, the HISP
 * handshake in hispProcess.ts / hispProtocol.ts, the command line in launchOptions.ts.
 *
 * Built to dist/electron/main.js (ESM); next to it dist/electron/preload.cjs, and
 * dist/hisp/utility.js and dist/renderer/index.html one level up.
 */
import { app, BrowserWindow, session, shell } from 'electron';
import type { Session, WebContents } from 'electron';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { startHisp } from './hispProcess.js';
import type { HispProcess } from './hispProcess.js';
import { parseLaunchArgs } from './launchOptions.js';
import type { LaunchOptions } from './launchOptions.js';
import { judgeSmokeProbe, SMOKE_PROBE_SCRIPT, SMOKE_TIMEOUT_MS } from './smoke.js';
import {
  externalLinkDecision,
  isAppUrl,
  secureWebPreferences,
  urlSchemeForLog,
  withContentSecurityPolicy,
} from './windowPolicy.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const PATHS = {
  preload: join(here, 'preload.cjs'),
  hispEntry: join(here, '..', 'hisp', 'utility.js'),
  // Loaded from disk for now; a custom app protocol replaces file:// in a later issue.
  rendererIndex: join(here, '..', 'renderer', 'index.html'),
} as const;
const APP_INDEX_URL = pathToFileURL(PATHS.rendererIndex).href;

const isAppPage = (url: string): boolean => isAppUrl(url, APP_INDEX_URL);

function log(line: string): void {
  process.stderr.write(`[sealpost main] ${line}\n`);
}

// A packaged app's argv is [exe, ...args]; in development it is [electron, main.js, ...args].
const launch = parseLaunchArgs(process.argv.slice(app.isPackaged ? 1 : 2));
if (launch.ok) {
  run(launch.options);
} else {
  log(`${launch.problem} Usage: sealpost [--data-dir DIR] [--smoke]`);
  app.exit(2);
}

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

  app.on('second-instance', () => {
    if (mainWindow === undefined || mainWindow.isDestroyed()) return;
    if (mainWindow.isMinimized()) mainWindow.restore();
    mainWindow.focus();
  });
  app.on('web-contents-created', (_event, contents) => hardenWebContents(contents));

  // Not awaited: everything before this line must run before 'ready' (ESM entry, no top-level
  // await), and failures end in the catch below.
  void app
    .whenReady()
    .then(() => {
      hardenSession(session.defaultSession);
      const hisp = startHisp({
        entryPath: PATHS.hispEntry,
        dataDir: join(app.getPath('userData'), 'hisp'),
        log,
        onExit: (_code, expected) => {
          if (!expected && options.smoke)
            finishSmoke(hisp, 1, 'the HISP exited during the smoke run');
        },
      });
      app.on('before-quit', () => hisp.stop());
      app.on('window-all-closed', () => {
        // macOS apps stay open with no window; 'activate' opens a new one.
        if (process.platform !== 'darwin') app.quit();
      });
      const open = (): BrowserWindow => {
        const win = createMainWindow(hisp, options);
        win.on('closed', () => {
          if (mainWindow === win) mainWindow = undefined;
        });
        return win;
      };
      app.on('activate', () => {
        if (mainWindow === undefined) mainWindow = open();
      });
      mainWindow = open();
    })
    .catch((error: unknown) => {
      log(`could not start: ${error instanceof Error ? error.message : String(error)}`);
      app.exit(1);
    });
}

function createMainWindow(hisp: HispProcess, options: LaunchOptions): BrowserWindow {
  const win = new BrowserWindow({
    width: 1200,
    height: 800,
    minWidth: 640,
    minHeight: 480,
    title: 'Sealpost',
    show: false,
    webPreferences: secureWebPreferences(PATHS.preload),
  });
  // Registered before the smoke probe's listener, so the page has its port first.
  hisp.attach(win.webContents, isAppPage);
  if (options.smoke) {
    runSmoke(win.webContents, hisp);
  } else {
    win.once('ready-to-show', () => win.show());
  }
  win.loadFile(PATHS.rendererIndex).catch((error: unknown) => {
    log(`the mail window did not load: ${error instanceof Error ? error.message : String(error)}`);
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

/** Permissions and the CSP header for the session all windows use. */
function hardenSession(target: Session): void {
  target.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  target.setPermissionCheckHandler(() => false);
  target.setDevicePermissionHandler(() => false);
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
      .catch((error: unknown) =>
        finish(1, `the probe failed: ${error instanceof Error ? error.message : String(error)}`),
      );
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
