/**
 * The HISP's side of the channel: one server, any number of connections over any transport.
 * Every request is checked against the contract before a handler sees it, and every answer
 * before it leaves (a handler that breaks the contract is a bug, reported as BAD_RESPONSE).
 */
import { randomUUID } from 'node:crypto';
import {
  ClientMessageSchema,
  HispError,
  LIMITS,
  calls,
  events,
  isMethod,
  type EventData,
  type EventName,
  type Handlers,
  type Method,
  type Transport,
} from '../api/index.js';
import type { Logger } from '../log/logger.js';

export interface Connection {
  readonly id: string;
  emit<E extends EventName>(name: E, data: EventData<E>): void;
  close(): void;
}

export interface ChannelServerOptions {
  readonly handlers: Handlers;
  readonly logger: Logger;
  /** Called for each new connection, e.g. to send it the current status. */
  readonly onConnect?: (connection: Connection) => void;
}

export class ChannelServer {
  readonly #handlers: Handlers;
  readonly #logger: Logger;
  readonly #onConnect: ((connection: Connection) => void) | undefined;
  readonly #connections = new Set<ServerConnection>();

  constructor(options: ChannelServerOptions) {
    this.#handlers = options.handlers;
    this.#logger = options.logger.child({ component: 'channel' });
    this.#onConnect = options.onConnect;
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Serve the contract over a transport until it closes. */
  attach(transport: Transport, label: string): Connection {
    const connection = new ServerConnection(
      transport,
      this.#handlers,
      this.#logger.child({ conn: label }),
      () => this.#connections.delete(connection),
    );
    this.#connections.add(connection);
    this.#logger.debug('connection opened', { conn: connection.id, transport: label });
    this.#onConnect?.(connection);
    return connection;
  }

  /** Send an event to every connection. */
  broadcast<E extends EventName>(name: E, data: EventData<E>): void {
    for (const connection of this.#connections) connection.emit(name, data);
  }

  closeAll(): void {
    for (const connection of [...this.#connections]) connection.close();
  }
}

class ServerConnection implements Connection {
  readonly id = randomUUID();
  readonly #transport: Transport;
  readonly #handlers: Handlers;
  readonly #logger: Logger;
  readonly #inFlight = new Map<number, AbortController>();

  constructor(transport: Transport, handlers: Handlers, logger: Logger, onClosed: () => void) {
    this.#transport = transport;
    this.#handlers = handlers;
    this.#logger = logger;
    transport.onMessage((message) => this.#receive(message));
    transport.onClose(() => {
      for (const controller of this.#inFlight.values()) controller.abort();
      this.#inFlight.clear();
      onClosed();
      logger.debug('connection closed', { conn: this.id });
    });
  }

  emit<E extends EventName>(name: E, data: EventData<E>): void {
    const checked = events[name].data.safeParse(data);
    if (!checked.success) {
      this.#logger.error('refusing to emit an event that breaks the contract', { event: name });
      return;
    }
    this.#send({ t: 'evt', name, data: checked.data });
  }

  close(): void {
    this.#transport.close();
  }

  #receive(raw: unknown): void {
    const parsed = ClientMessageSchema.safeParse(raw);
    if (!parsed.success) {
      this.#logger.warn('dropped a malformed message');
      return;
    }
    const message = parsed.data;
    if (message.t === 'cancel') {
      this.#inFlight.get(message.id)?.abort();
      return;
    }
    if (this.#inFlight.has(message.id)) {
      this.#sendError(
        message.id,
        new HispError('BAD_REQUEST', 'A call with this id is already running.'),
      );
      return;
    }
    if (this.#inFlight.size >= LIMITS.pendingCallsPerConnection) {
      this.#sendError(message.id, new HispError('BAD_REQUEST', 'Too many calls in flight.'));
      return;
    }
    if (!isMethod(message.method)) {
      this.#sendError(
        message.id,
        new HispError('UNKNOWN_METHOD', `No call named ${JSON.stringify(message.method)}.`),
      );
      return;
    }
    void this.#run(message.id, message.method, message.params); // settles by sending; never rejects
  }

  async #run(id: number, method: Method, rawParams: unknown): Promise<void> {
    const started = performance.now();
    const controller = new AbortController();
    this.#inFlight.set(id, controller);
    try {
      const spec = calls[method];
      const params = spec.params.safeParse(rawParams);
      if (!params.success) {
        // Field paths only: values may be patient data.
        const where = params.error.issues
          .map((issue) => issue.path.join('.') || '(root)')
          .join(', ');
        throw new HispError('BAD_REQUEST', `Invalid parameters for ${method} at ${where}.`);
      }
      const handler = this.#handlers[method] as (
        p: unknown,
        c: Parameters<Handlers[Method]>[1],
      ) => Promise<unknown>;
      const result = await handler(params.data, {
        signal: controller.signal,
        connectionId: this.id,
      });
      if (controller.signal.aborted) throw new HispError('CANCELLED');
      const checked = spec.result.safeParse(result);
      if (!checked.success) {
        throw new HispError('BAD_RESPONSE', `The HISP's answer to ${method} broke the contract.`);
      }
      this.#send({ t: 'res', id, ok: true, result: checked.data });
      this.#logger.debug('call', { method, ms: Math.round(performance.now() - started) });
    } catch (error) {
      const hispError = HispError.from(error);
      const log =
        hispError.code === 'INTERNAL' || hispError.code === 'BAD_RESPONSE' ? 'error' : 'info';
      this.#logger[log]('call failed', { method, code: hispError.code, error });
      this.#sendError(id, hispError);
    } finally {
      this.#inFlight.delete(id);
    }
  }

  #sendError(id: number, error: HispError): void {
    this.#send({ t: 'res', id, ok: false, error: error.toJSON() });
  }

  #send(message: Parameters<Transport['send']>[0]): void {
    if (this.#transport.closed) return;
    try {
      this.#transport.send(message);
    } catch (error) {
      this.#logger.warn('could not send on a closing connection', { error });
    }
  }
}
