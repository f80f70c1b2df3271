/**
 * The sandboxed preload of the mail window (built as CommonJS: sandboxed preloads cannot be
 * modules). It holds the MessagePort to the HISP that main hands over on
 * DESKTOP_PORT_CHANNEL, and exposes to the page exactly a PreloadBridge: send, onMessage,
 * onClose. Never ipcRenderer, never another channel.
 *
 * - Outgoing messages are checked against the contract (requests and cancels only), bounded
 *   in size, and sent as plain JSON data, the same as over the WebSocket transport.
 * - Messages sent before the port arrives are queued, up to the number of calls the HISP
 *   accepts in flight; beyond that send() throws CHANNEL_CLOSED.
 * - Incoming messages are handed on as they are: the page's client validates them.
 * - One port per page load: a second one is closed unused, and a closed channel stays
 *   closed (the page reloads to reconnect).
 *
 * Errors thrown here reach the page through contextBridge as plain Errors: the message
 * survives, the HispError code does not.
 */
import { contextBridge, ipcRenderer } from 'electron';
import {
  ClientMessageSchema,
  DESKTOP_PORT_CHANNEL,
  HispError,
  LIMITS,
  PRELOAD_GLOBAL,
} from '../../hisp/api/index.js';
import type { ClientMessage, PreloadBridge, WireMessage } from '../../hisp/api/index.js';

/** Messages held while the port has not arrived: as many as the HISP accepts in flight. */
const MAX_QUEUED_MESSAGES = LIMITS.pendingCallsPerConnection;

type State =
  | { readonly kind: 'waiting'; readonly queue: ClientMessage[] }
  | { readonly kind: 'open'; readonly port: MessagePort }
  | { readonly kind: 'closed' };

let state: State = { kind: 'waiting', queue: [] };
const messageListeners = new Set<(message: unknown) => void>();
const closeListeners = new Set<() => void>();

/** Run each listener on its own: one that throws does not keep the others from the message. */
function notify<A extends unknown[]>(listeners: Iterable<(...args: A) => void>, ...args: A): void {
  for (const listener of [...listeners]) {
    try {
      listener(...args);
    } catch (error) {
      // Rethrown outside this loop, so it is reported like any uncaught error in the page.
      queueMicrotask(() => {
        throw error;
      });
    }
  }
}

function markClosed(): void {
  if (state.kind === 'closed') return;
  state = { kind: 'closed' };
  messageListeners.clear();
  notify(closeListeners);
  closeListeners.clear();
}

function attach(port: MessagePort): void {
  if (state.kind !== 'waiting') {
    port.close();
    return;
  }
  const { queue } = state;
  port.addEventListener('message', (event: MessageEvent<unknown>) => {
    if (state.kind === 'open') notify(messageListeners, event.data);
  });
  // Electron's MessagePorts report the other end closing (the HISP stopped or crashed).
  port.addEventListener('close', () => markClosed());
  port.start();
  state = { kind: 'open', port };
  for (const message of queue.splice(0)) port.postMessage(message);
}

/** The message as plain JSON data, or a HispError saying why it cannot be sent. */
function checkOutgoing(message: unknown): ClientMessage {
  const parsed = ClientMessageSchema.safeParse(message);
  if (!parsed.success) {
    throw new HispError(
      'BAD_REQUEST',
      'The mail window tried to send a message that is not a request or a cancel.',
    );
  }
  let json: string | undefined;
  try {
    json = JSON.stringify(parsed.data);
  } catch {
    json = undefined;
  }
  if (json === undefined) {
    throw new HispError(
      'BAD_REQUEST',
      'The mail window tried to send a message that is not JSON data.',
    );
  }
  if (json.length > LIMITS.wireMessageChars) throw new HispError('PAYLOAD_TOO_LARGE');
  return JSON.parse(json) as ClientMessage;
}

const bridge: PreloadBridge = {
  send(message: WireMessage): void {
    const outgoing = checkOutgoing(message);
    switch (state.kind) {
      case 'open':
        state.port.postMessage(outgoing);
        return;
      case 'waiting':
        if (state.queue.length >= MAX_QUEUED_MESSAGES) {
          throw new HispError(
            'CHANNEL_CLOSED',
            'The mail window is not connected to the HISP yet and too many messages are waiting.',
          );
        }
        state.queue.push(outgoing);
        return;
      case 'closed':
        throw new HispError('CHANNEL_CLOSED');
    }
  },
  onMessage(listener: (message: unknown) => void): () => void {
    if (typeof listener !== 'function') throw new TypeError('onMessage needs a function.');
    if (state.kind === 'closed') return () => undefined;
    messageListeners.add(listener);
    return () => {
      messageListeners.delete(listener);
    };
  },
  onClose(listener: () => void): () => void {
    if (typeof listener !== 'function') throw new TypeError('onClose needs a function.');
    if (state.kind === 'closed') {
      queueMicrotask(listener);
      return () => undefined;
    }
    closeListeners.add(listener);
    return () => {
      closeListeners.delete(listener);
    };
  },
};

ipcRenderer.on(DESKTOP_PORT_CHANNEL, (event) => {
  const [port, ...extra] = event.ports;
  for (const unexpected of extra) unexpected.close();
  if (port !== undefined) attach(port);
});

contextBridge.exposeInMainWorld(PRELOAD_GLOBAL, bridge);
