/**
 * Starting the HISP in an Electron utility process, keeping it running, and brokering one
 * MessagePort per page load between it and the mail window. The messages and arguments are
 * in hispProtocol.ts; when to restart after a crash is decided in hispSupervisor.ts.
 *
 * After a crash the HISP is started again with backoff (1 s, 2 s, 4 s, …). The page's port
 * closed with the old process (the preload then reports CHANNEL_CLOSED, and a closed channel
 * stays closed), so once the new process is up every attached app page is reloaded: a fresh
 * page load gets a fresh port to the new HISP. Too many crashes in a row and it gives up,
 * and main tells the user (`onGiveUp`).
 *
 * The HISP's stdout and stderr are forwarded line by line, unchanged, to the main process's
 * stderr (the HISP's logger already redacts; main adds nothing that could hold content).
 */
import { MessageChannelMain, utilityProcess } from 'electron';
import type { UtilityProcess, WebContents } from 'electron';
import { createInterface } from 'node:readline';

import { DESKTOP_PORT_CHANNEL } from '../../hisp/api/index.js';
import {
  buildHispArgs,
  connectMessage,
  describeForLog,
  HISP_SERVICE_NAME,
  parseHostMessage,
} from './hispProtocol.js';
import type { HostMessage } from './hispProtocol.js';
import { DEFAULT_RESTART_POLICY, INITIAL_RESTART_STATE, onCrash } from './hispSupervisor.js';
import type { RestartPolicyOptions, RestartState } from './hispSupervisor.js';

/** The part of a WebContents the broker uses. */
export type PageContents = Pick<
  WebContents,
  'on' | 'getURL' | 'postMessage' | 'reload' | 'isDestroyed'
>;

export interface HispProcessOptions {
  /** Absolute path of the built utility entry (dist/hisp/utility.js). */
  readonly entryPath: string;
  /** Absolute path of the HISP's data directory. */
  readonly dataDir: string;
  readonly log: (line: string) => void;
  /** The HISP said it is ready ({ type: 'ready' }). */
  readonly onReady?: () => void;
  /** The HISP asked main to tell the user something ({ type: 'notify' }). */
  readonly onNotify?: (message: Extract<HostMessage, { type: 'notify' }>) => void;
  /** The utility process ended, expectedly (stop()) or not. Called before any restart. */
  readonly onExit?: (code: number, expected: boolean) => void;
  /** The HISP crashed too often; it is not started again. */
  readonly onGiveUp?: (crashesInWindow: number) => void;
  /** Restart backoff; DEFAULT_RESTART_POLICY when absent. */
  readonly restart?: RestartPolicyOptions;
  /** Clock and timer, for tests. */
  readonly now?: () => number;
  readonly setTimer?: (run: () => void, ms: number) => { cancel(): void };
}

export interface HispProcess {
  /**
   * Give `contents` a new port to the HISP each time it finishes loading a page that
   * `isAppPage` accepts (the preload of a fresh page waits for one). Never a foreign page.
   * After a restart of the HISP the page is reloaded, so it connects to the new one.
   */
  attach(contents: PageContents, isAppPage: (url: string) => boolean): void;
  /** Stop the utility process (SIGTERM on POSIX) and any restart. Idempotent. */
  stop(): void;
  readonly running: boolean;
}

function defaultTimer(run: () => void, ms: number): { cancel(): void } {
  const timer = setTimeout(run, ms);
  return { cancel: () => clearTimeout(timer) };
}

export function startHisp(options: HispProcessOptions): HispProcess {
  const { log } = options;
  const now = options.now ?? (() => performance.now());
  const setTimer = options.setTimer ?? defaultTimer;
  const restartPolicy = options.restart ?? DEFAULT_RESTART_POLICY;
  const args = buildHispArgs({ dataDir: options.dataDir });
  const pages = new Map<PageContents, (url: string) => boolean>();

  let child: UtilityProcess | undefined;
  let running = false;
  let stopping = false;
  let restartState: RestartState = INITIAL_RESTART_STATE;
  let pendingRestart: { cancel(): void } | undefined;

  const spawn = (isRestart: boolean): void => {
    const current = utilityProcess.fork(options.entryPath, args, {
      serviceName: HISP_SERVICE_NAME,
      stdio: 'pipe',
    });
    child = current;
    running = true;
    forwardLines(current.stdout);
    forwardLines(current.stderr);

    current.on('spawn', () => {
      log(`HISP started (pid ${String(current.pid)})`);
      if (isRestart) reloadPages();
    });
    current.on('message', (message: unknown) => {
      const parsed = parseHostMessage(message);
      if (parsed === undefined) {
        log(`ignored a message from the HISP (${describeForLog(message)})`);
        return;
      }
      if (parsed.type === 'ready') {
        log('HISP ready');
        options.onReady?.();
      } else {
        options.onNotify?.(parsed);
      }
    });
    current.on('error', (type) => log(`HISP process error: ${type}`));
    current.on('exit', (code) => {
      if (child !== current) return;
      running = false;
      if (stopping) {
        options.onExit?.(code, true);
        return;
      }
      log(`HISP exited unexpectedly with code ${code}`);
      options.onExit?.(code, false);
      // onExit may have stopped everything (the smoke run does).
      if (stopping) return;
      scheduleRestart();
    });
  };

  const scheduleRestart = (): void => {
    const step = onCrash(restartState, now(), restartPolicy);
    restartState = step.state;
    const { decision } = step;
    if (decision.action === 'give-up') {
      log(
        `HISP crashed ${decision.crashesInWindow} times within ${Math.round(restartPolicy.windowMs / 1000)} s; not restarting it`,
      );
      options.onGiveUp?.(decision.crashesInWindow);
      return;
    }
    log(`restarting the HISP in ${decision.delayMs} ms (crash ${decision.crashesInWindow})`);
    pendingRestart = setTimer(() => {
      pendingRestart = undefined;
      if (!stopping) spawn(true);
    }, decision.delayMs);
  };

  const reloadPages = (): void => {
    for (const [contents, isAppPage] of pages) {
      if (contents.isDestroyed()) {
        pages.delete(contents);
        continue;
      }
      if (isAppPage(contents.getURL())) contents.reload();
    }
  };

  const connect = (contents: PageContents): void => {
    const { port1, port2 } = new MessageChannelMain();
    if (running && child !== undefined) {
      child.postMessage(connectMessage(), [port1]);
    } else {
      // No HISP to talk to: close our end so the page sees its channel close at once
      // (CHANNEL_CLOSED in the UI) instead of waiting forever. A restart reloads the page.
      port1.close();
    }
    contents.postMessage(DESKTOP_PORT_CHANNEL, null, [port2]);
  };

  spawn(false);

  return {
    attach(contents, isAppPage) {
      pages.set(contents, isAppPage);
      contents.on('did-finish-load', () => {
        const url = contents.getURL();
        if (!isAppPage(url)) {
          log('did not connect a page that is not the app to the HISP');
          return;
        }
        connect(contents);
      });
      contents.on('destroyed', () => pages.delete(contents));
    },
    stop() {
      if (stopping) return;
      stopping = true;
      pendingRestart?.cancel();
      pendingRestart = undefined;
      if (running) child?.kill();
    },
    get running() {
      return running;
    },
  };
}

function forwardLines(stream: NodeJS.ReadableStream | null): void {
  if (stream === null) return;
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  lines.on('line', (line) => {
    process.stderr.write(`${line}\n`);
  });
}
