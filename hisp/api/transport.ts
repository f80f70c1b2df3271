/**
 * A transport moves wire messages (wire.ts) between the UI and the HISP. The channel
 * (client.ts in the UI, host/channelServer.ts in the HISP) does not know which one it runs
 * over. The adapters here are typed structurally so this module needs neither DOM nor Node
 * types: a DOM MessagePort, a Node worker MessagePort, a browser WebSocket and a `ws`
 * WebSocket all fit.
 */
import { HispError } from './errors.js';
import { LIMITS } from './limits.js';
import type { WireMessage } from './wire.js';

export interface Transport {
  /** Throws HispError CHANNEL_CLOSED once the transport is closed. */
  send(message: WireMessage): void;
  /** Messages are `unknown`: the channel validates them. */
  onMessage(listener: (message: unknown) => void): () => void;
  onClose(listener: () => void): () => void;
  close(): void;
  readonly closed: boolean;
}

/** Listener bookkeeping shared by the adapters. */
export abstract class BaseTransport implements Transport {
  readonly #messageListeners = new Set<(message: unknown) => void>();
  readonly #closeListeners = new Set<() => void>();
  #closed = false;

  get closed(): boolean {
    return this.#closed;
  }

  abstract send(message: WireMessage): void;
  protected abstract closeUnderlying(): void;

  onMessage(listener: (message: unknown) => void): () => void {
    this.#messageListeners.add(listener);
    return () => this.#messageListeners.delete(listener);
  }

  onClose(listener: () => void): () => void {
    if (this.#closed) {
      queueMicrotask(listener);
      return () => undefined;
    }
    this.#closeListeners.add(listener);
    return () => this.#closeListeners.delete(listener);
  }

  close(): void {
    if (this.#closed) return;
    this.closeUnderlying();
    this.markClosed();
  }

  protected assertOpen(): void {
    if (this.#closed) throw new HispError('CHANNEL_CLOSED');
  }

  protected deliver(message: unknown): void {
    if (this.#closed) return;
    for (const listener of this.#messageListeners) listener(message);
  }

  protected markClosed(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#messageListeners.clear();
    for (const listener of this.#closeListeners) listener();
    this.#closeListeners.clear();
  }
}

/** A MessagePort with the EventTarget interface (DOM, Node worker_threads). */
export interface EventPortLike {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: (event: { readonly data: unknown }) => void): void;
  start?(): void;
  close(): void;
}

export class EventPortTransport extends BaseTransport {
  readonly #port: EventPortLike;

  constructor(port: EventPortLike) {
    super();
    this.#port = port;
    port.addEventListener('message', (event) => this.deliver(event.data));
    port.start?.();
  }

  send(message: WireMessage): void {
    this.assertOpen();
    this.#port.postMessage(message);
  }

  protected closeUnderlying(): void {
    this.#port.close();
  }

  /** MessagePorts have no reliable close event everywhere: the owner reports it. */
  portClosed(): void {
    this.markClosed();
  }
}

/** The WebSocket interface shared by browsers and the `ws` package. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  addEventListener(type: 'message', listener: (event: { readonly data: unknown }) => void): void;
  addEventListener(type: 'close', listener: () => void): void;
  close(code?: number, reason?: string): void;
}

const WS_OPEN = 1;

export class WebSocketTransport extends BaseTransport {
  readonly #socket: WebSocketLike;
  readonly #onMalformed: ((error: HispError) => void) | undefined;

  constructor(socket: WebSocketLike, options: { onMalformed?: (error: HispError) => void } = {}) {
    super();
    this.#socket = socket;
    this.#onMalformed = options.onMalformed;
    socket.addEventListener('message', (event) => this.#receive(event.data));
    socket.addEventListener('close', () => this.markClosed());
  }

  send(message: WireMessage): void {
    this.assertOpen();
    if (this.#socket.readyState !== WS_OPEN) throw new HispError('CHANNEL_CLOSED');
    this.#socket.send(JSON.stringify(message));
  }

  protected closeUnderlying(): void {
    this.#socket.close(1000, 'closed');
  }

  #receive(data: unknown): void {
    // Text frames arrive as strings (browsers, and `ws` through addEventListener); a binary
    // frame is not part of the protocol.
    if (typeof data !== 'string' || data.length > LIMITS.wireMessageChars) {
      this.#onMalformed?.(new HispError('BAD_REQUEST', 'A message was not text or was too large.'));
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      this.#onMalformed?.(new HispError('BAD_REQUEST', 'A message was not valid JSON.'));
      return;
    }
    this.deliver(parsed);
  }
}

/** Two transports joined back to back in memory: for tests and in-process embedding. */
export function createMemoryTransportPair(): [Transport, Transport] {
  const a = new MemoryTransport();
  const b = new MemoryTransport();
  a.peer = b;
  b.peer = a;
  return [a, b];
}

class MemoryTransport extends BaseTransport {
  peer: MemoryTransport | undefined;

  send(message: WireMessage): void {
    this.assertOpen();
    const peer = this.peer;
    // Structured clone, as a MessagePort would, so no object is shared across the channel.
    const copy = structuredClone(message);
    queueMicrotask(() => peer?.deliverFromPeer(copy));
  }

  deliverFromPeer(message: unknown): void {
    this.deliver(message);
  }

  protected closeUnderlying(): void {
    const peer = this.peer;
    queueMicrotask(() => peer?.close());
  }
}

/**
 * What the desktop preload exposes to the page (as `window[PRELOAD_GLOBAL]`): the wire
 * messages of the contract and nothing else. The preload holds the MessagePort to the HISP;
 * the page never sees Electron or Node.
 */
export interface PreloadBridge {
  send(message: WireMessage): void;
  onMessage(listener: (message: unknown) => void): () => void;
  onClose(listener: () => void): () => void;
}

export const PRELOAD_GLOBAL = 'sealpost';

/** IPC channel on which the main process hands the preload its MessagePort to the HISP. */
export const DESKTOP_PORT_CHANNEL = 'sealpost:hisp-port';

export class PreloadBridgeTransport extends BaseTransport {
  readonly #bridge: PreloadBridge;
  readonly #unsubscribe: Array<() => void>;

  constructor(bridge: PreloadBridge) {
    super();
    this.#bridge = bridge;
    this.#unsubscribe = [
      bridge.onMessage((message) => this.deliver(message)),
      bridge.onClose(() => this.markClosed()),
    ];
  }

  send(message: WireMessage): void {
    this.assertOpen();
    this.#bridge.send(message);
  }

  protected closeUnderlying(): void {
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
  }
}
