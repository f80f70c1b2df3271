/**
 * The UI's side of the channel: typed calls with timeouts and cancellation, typed events.
 * Every answer and event is validated against the contract before the UI sees it.
 */
import { calls, events, isEventName } from './contract.js';
import type { CallParams, CallResult, EventData, EventName, Method } from './contract.js';
import { HispError } from './errors.js';
import { LIMITS } from './limits.js';
import type { Transport } from './transport.js';
import { ServerMessageSchema } from './wire.js';
import type { ResponseMessage } from './wire.js';

export interface CallOptions {
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
}

export interface ClientOptions {
  readonly timeoutMs?: number;
  /** Told about anything the HISP sent that broke the contract (it is dropped). */
  readonly onProtocolError?: (error: HispError) => void;
}

interface Pending {
  readonly method: Method;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: HispError) => void;
  readonly cleanup: () => void;
}

type AnyListener = (data: unknown) => void;

export class HispClient {
  readonly #transport: Transport;
  readonly #timeoutMs: number;
  readonly #onProtocolError: ((error: HispError) => void) | undefined;
  readonly #pending = new Map<number, Pending>();
  readonly #listeners = new Map<EventName, Set<AnyListener>>();
  #nextId = 1;

  constructor(transport: Transport, options: ClientOptions = {}) {
    this.#transport = transport;
    this.#timeoutMs = options.timeoutMs ?? LIMITS.callTimeoutMs;
    this.#onProtocolError = options.onProtocolError;
    transport.onMessage((message) => this.#receive(message));
    transport.onClose(() => this.#failAll(new HispError('CHANNEL_CLOSED')));
  }

  get closed(): boolean {
    return this.#transport.closed;
  }

  call<M extends Method>(
    method: M,
    params: CallParams<M>,
    options: CallOptions = {},
  ): Promise<CallResult<M>> {
    const spec = calls[method];
    const checked = spec.params.safeParse(params);
    if (!checked.success) {
      return Promise.reject(new HispError('BAD_REQUEST', `Invalid parameters for ${method}.`));
    }
    if (this.#transport.closed) return Promise.reject(new HispError('CHANNEL_CLOSED'));
    if (options.signal?.aborted) return Promise.reject(new HispError('CANCELLED'));

    const id = this.#nextId++;
    return new Promise<CallResult<M>>((resolve, reject) => {
      const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
      const timer = setTimeout(() => {
        this.#settle(id, () =>
          reject(new HispError('TIMEOUT', `${method} did not answer in ${timeoutMs} ms.`)),
        );
        this.#sendCancel(id);
      }, timeoutMs);
      const onAbort = (): void => {
        this.#settle(id, () => reject(new HispError('CANCELLED')));
        this.#sendCancel(id);
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.#pending.set(id, {
        method,
        resolve: resolve as (value: unknown) => void,
        reject,
        cleanup: () => {
          clearTimeout(timer);
          options.signal?.removeEventListener('abort', onAbort);
        },
      });
      try {
        this.#transport.send({ t: 'req', id, method, params: checked.data });
      } catch (error) {
        this.#settle(id, () => reject(HispError.from(error)));
      }
    });
  }

  on<E extends EventName>(name: E, listener: (data: EventData<E>) => void): () => void {
    let set = this.#listeners.get(name);
    if (!set) {
      set = new Set();
      this.#listeners.set(name, set);
    }
    const anyListener = listener as AnyListener;
    set.add(anyListener);
    return () => set.delete(anyListener);
  }

  onClose(listener: () => void): () => void {
    return this.#transport.onClose(listener);
  }

  close(): void {
    this.#transport.close();
  }

  #receive(raw: unknown): void {
    const parsed = ServerMessageSchema.safeParse(raw);
    if (!parsed.success) {
      this.#onProtocolError?.(new HispError('BAD_RESPONSE', 'The HISP sent a malformed message.'));
      return;
    }
    const message = parsed.data;
    if (message.t === 'evt') {
      this.#receiveEvent(message.name, message.data);
    } else {
      this.#receiveResponse(message);
    }
  }

  #receiveEvent(name: string, data: unknown): void {
    if (!isEventName(name)) {
      // A newer HISP may emit events this UI does not know yet: not an error.
      return;
    }
    const checked = events[name].data.safeParse(data);
    if (!checked.success) {
      this.#onProtocolError?.(
        new HispError('BAD_RESPONSE', `The ${name} event broke the contract.`),
      );
      return;
    }
    for (const listener of this.#listeners.get(name) ?? []) listener(checked.data);
  }

  #receiveResponse(message: ResponseMessage): void {
    const pending = this.#pending.get(message.id);
    if (!pending) return; // answered after a timeout or cancel: nobody waits any more
    if (!message.ok) {
      this.#settle(message.id, () => pending.reject(HispError.fromSerialized(message.error)));
      return;
    }
    const checked = calls[pending.method].result.safeParse(message.result);
    if (!checked.success) {
      this.#settle(message.id, () =>
        pending.reject(
          new HispError('BAD_RESPONSE', `The answer to ${pending.method} broke the contract.`),
        ),
      );
      return;
    }
    this.#settle(message.id, () => pending.resolve(checked.data));
  }

  #settle(id: number, action: () => void): void {
    const pending = this.#pending.get(id);
    if (!pending) return;
    this.#pending.delete(id);
    pending.cleanup();
    action();
  }

  #sendCancel(id: number): void {
    if (this.#transport.closed) return;
    try {
      this.#transport.send({ t: 'cancel', id });
    } catch {
      // The channel closed meanwhile: the HISP drops the call with the connection.
    }
  }

  #failAll(error: HispError): void {
    for (const id of [...this.#pending.keys()]) {
      const pending = this.#pending.get(id);
      this.#settle(id, () => pending?.reject(error));
    }
  }
}
