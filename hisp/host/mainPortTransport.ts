/**
 * The HISP's end of a desktop window's MessagePort: Electron's MessagePortMain, typed
 * structurally so the HISP never imports Electron.
 */
import { BaseTransport, type WireMessage } from '../api/index.js';

/** Electron's MessagePortMain, as far as the HISP uses it. */
export interface MainPortLike {
  on(event: 'message', listener: (event: { data: unknown }) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  postMessage(message: unknown): void;
  start(): void;
  close(): void;
}

export class MainPortTransport extends BaseTransport {
  readonly #port: MainPortLike;

  constructor(port: MainPortLike) {
    super();
    this.#port = port;
    port.on('message', (event) => this.deliver(event.data));
    port.on('close', () => this.markClosed());
    port.start();
  }

  send(message: WireMessage): void {
    this.assertOpen();
    this.#port.postMessage(message);
  }

  protected closeUnderlying(): void {
    this.#port.close();
  }
}
