/**
 * Starting the HISP in an Electron utility process and brokering one MessagePort per page
 * load between it and the mail window. The messages and arguments are in hispProtocol.ts.
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

export interface HispProcessOptions {
  /** Absolute path of the built utility entry (dist/hisp/utility.js). */
  readonly entryPath: string;
  /** Absolute path of the HISP's data directory. */
  readonly dataDir: string;
  readonly log: (line: string) => void;
  /** The HISP said it is ready ({ type: 'ready' }). */
  readonly onReady?: () => void;
  /** The utility process ended, expectedly (stop()) or not. */
  readonly onExit?: (code: number, expected: boolean) => void;
}

export interface HispProcess {
  /**
   * Give `contents` a new port to the HISP each time it finishes loading a page that
   * `isAppPage` accepts (the preload of a fresh page waits for one). Never a foreign page.
   */
  attach(contents: WebContents, isAppPage: (url: string) => boolean): void;
  /** Stop the utility process (SIGTERM on POSIX). Idempotent. */
  stop(): void;
  readonly running: boolean;
}

export function startHisp(options: HispProcessOptions): HispProcess {
  const { log } = options;
  const child: UtilityProcess = utilityProcess.fork(
    options.entryPath,
    buildHispArgs({ dataDir: options.dataDir }),
    {
      serviceName: HISP_SERVICE_NAME,
      stdio: 'pipe',
    },
  );
  forwardLines(child.stdout);
  forwardLines(child.stderr);

  let running = true;
  let stopping = false;

  child.on('spawn', () => log(`HISP started (pid ${String(child.pid)})`));
  child.on('message', (message: unknown) => {
    const parsed = parseHostMessage(message);
    if (parsed === undefined) {
      log(`ignored a message from the HISP (${describeForLog(message)})`);
      return;
    }
    log('HISP ready');
    options.onReady?.();
  });
  child.on('error', (type) => log(`HISP process error: ${type}`));
  child.on('exit', (code) => {
    running = false;
    if (!stopping) log(`HISP exited unexpectedly with code ${code}`);
    options.onExit?.(code, stopping);
  });

  const connect = (contents: WebContents): void => {
    const { port1, port2 } = new MessageChannelMain();
    if (running) {
      child.postMessage(connectMessage(), [port1]);
    } else {
      // No HISP to talk to: close our end so the page sees its channel close at once
      // (CHANNEL_CLOSED in the UI) instead of waiting forever.
      port1.close();
    }
    contents.postMessage(DESKTOP_PORT_CHANNEL, null, [port2]);
  };

  return {
    attach(contents, isAppPage) {
      contents.on('did-finish-load', () => {
        const url = contents.getURL();
        if (!isAppPage(url)) {
          log('did not connect a page that is not the app to the HISP');
          return;
        }
        connect(contents);
      });
    },
    stop() {
      if (!running || stopping) return;
      stopping = true;
      child.kill();
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
