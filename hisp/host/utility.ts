/**
 * Entry point of the HISP inside the desktop app (Electron `utilityProcess.fork`). The main
 * process hands over one MessagePort per window with `{ type: 'connect' }`; the contract runs
 * over it. This file must not import Electron: the parent port and the MessagePortMain are
 * typed structurally here.
 */
import { parseArgs } from 'node:util';
import { createLogger } from '../log/logger.js';
import { Hisp } from './hisp.js';
import { MainPortTransport, type MainPortLike } from './mainPortTransport.js';

interface ParentPortLike {
  on(
    event: 'message',
    listener: (event: { data: unknown; ports: MainPortLike[] }) => void,
  ): unknown;
  postMessage(message: unknown): void;
}

function main(): void {
  const parentPort = (process as unknown as { parentPort?: ParentPortLike }).parentPort;
  const logger = createLogger({ bindings: { process: 'hisp' } });
  if (!parentPort) {
    logger.error(
      'utility.js runs inside the desktop app only; use `sealpost serve` for a headless HISP',
    );
    process.exitCode = 1;
    return;
  }
  const { values } = parseArgs({ options: { 'data-dir': { type: 'string' } }, strict: true });
  const hisp = new Hisp({
    mode: 'desktop',
    profile: { name: values['data-dir'] ?? 'default', throwaway: false },
    logger,
  });
  let windows = 0;
  parentPort.on('message', (event) => {
    const message = event.data as { type?: unknown } | null;
    const port = event.ports[0];
    if (message?.type !== 'connect' || port === undefined) {
      logger.warn('ignored a message from the main process', { type: String(message?.type) });
      return;
    }
    hisp.channel.attach(new MainPortTransport(port), `window#${++windows}`);
  });
  hisp.start();
  parentPort.postMessage({ type: 'ready' });
}

main();
