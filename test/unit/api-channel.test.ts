import { MessageChannel } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import {
  EventPortTransport,
  HispClient,
  type EventPortLike,
  HispError,
  METHODS,
  createMemoryTransportPair,
  type Handlers,
  type Status,
  type Transport,
} from '../../hisp/api/index.js';
import { ChannelServer } from '../../hisp/host/channelServer.js';
import { MainPortTransport, type MainPortLike } from '../../hisp/host/mainPortTransport.js';
import { createLogger } from '../../hisp/log/logger.js';

const STATUS: Status = {
  product: 'sealpost',
  version: '0.0.0-test',
  state: 'ready',
  mode: 'demo',
  profile: { name: 'test', throwaway: true },
  startedAt: '2026-01-01T00:00:00.000Z',
  uptimeMs: 5,
  components: [{ name: 'api', state: 'ok' }],
};

function setup(
  handlers: Partial<Handlers> = {},
  transports: [Transport, Transport] = createMemoryTransportPair(),
) {
  const logLines: string[] = [];
  // Calls these tests do not exercise answer INTERNAL if ever reached.
  const unused = Object.fromEntries(
    METHODS.map((method) => [
      method,
      () => Promise.reject(new HispError('INTERNAL', `${method} is not used in this test`)),
    ]),
  ) as unknown as Handlers;
  const server = new ChannelServer({
    handlers: {
      ...unused,
      status: () => Promise.resolve(STATUS),
      lock: () => Promise.resolve(STATUS),
      unlock: () => Promise.resolve(STATUS),
      checkRecipients: () => Promise.resolve({ recipients: [] }),
      sendMessage: () => Promise.resolve({ recipients: [] }),
      ...handlers,
    },
    logger: createLogger({ level: 'debug', sink: (line) => logLines.push(line) }),
  });
  const [serverSide, clientSide] = transports;
  const connection = server.attach(serverSide, 'test');
  const protocolErrors: HispError[] = [];
  const client = new HispClient(clientSide, {
    timeoutMs: 2000,
    onProtocolError: (e) => protocolErrors.push(e),
  });
  return { server, connection, client, serverSide, clientSide, protocolErrors, logLines };
}

async function expectHispError(promise: Promise<unknown>, code: string): Promise<HispError> {
  const error = await promise.then(
    () => {
      throw new Error(`expected ${code}, but the call succeeded`);
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(HispError);
  expect((error as HispError).code).toBe(code);
  return error as HispError;
}

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

describe('channel over the in-memory transport', () => {
  it('answers a call with a contract-valid result', async () => {
    const { client } = setup();
    await expect(client.call('status', {})).resolves.toEqual(STATUS);
  });

  it('refuses parameters that break the contract before sending anything', async () => {
    const { client, logLines } = setup();
    await expectHispError(client.call('status', { extra: 1 } as never), 'BAD_REQUEST');
    expect(logLines.join('')).not.toContain('"method":"status"'); // nothing reached the server
  });

  it('reports a handler whose answer breaks the contract as BAD_RESPONSE', async () => {
    const { client } = setup({
      status: () => Promise.resolve({ ...STATUS, state: 'confused' } as unknown as Status),
    });
    await expectHispError(client.call('status', {}), 'BAD_RESPONSE');
  });

  it('turns an unexpected handler exception into INTERNAL without leaking its message', async () => {
    const { client, logLines } = setup({
      status: () => Promise.reject(new Error('db path /home/dr/x.db')),
    });
    const error = await expectHispError(client.call('status', {}), 'INTERNAL');
    expect(error.message).not.toContain('/home/dr');
    expect(logLines.join('\n')).toContain('db path'); // the HISP's own log keeps the detail
  });

  it('passes a typed HispError from a handler through unchanged', async () => {
    const { client } = setup({
      status: () => Promise.reject(new HispError('TIMEOUT', 'relay slow')),
    });
    const error = await expectHispError(client.call('status', {}), 'TIMEOUT');
    expect(error.message).toBe('relay slow');
  });

  it('cancels: the handler sees its signal abort and the caller gets CANCELLED', async () => {
    let handlerSignal: AbortSignal | undefined;
    const { client } = setup({
      status: (_params, context) => {
        handlerSignal = context.signal;
        return new Promise((_resolve, reject) => {
          context.signal.addEventListener('abort', () => reject(new HispError('CANCELLED')));
        });
      },
    });
    const controller = new AbortController();
    const call = client.call('status', {}, { signal: controller.signal });
    await new Promise((r) => setTimeout(r, 10));
    controller.abort();
    await expectHispError(call, 'CANCELLED');
    await new Promise((r) => setTimeout(r, 10));
    expect(handlerSignal?.aborted).toBe(true);
  });

  it('times out a call that never answers, and tells the HISP to stop', async () => {
    let handlerSignal: AbortSignal | undefined;
    const { client } = setup({
      status: (_params, context) => {
        handlerSignal = context.signal;
        return new Promise(() => undefined);
      },
    });
    await expectHispError(client.call('status', {}, { timeoutMs: 50 }), 'TIMEOUT');
    await new Promise((r) => setTimeout(r, 10));
    expect(handlerSignal?.aborted).toBe(true);
  });

  it('fails calls in flight with CHANNEL_CLOSED when the connection closes, and aborts their handlers', async () => {
    let handlerSignal: AbortSignal | undefined;
    const { client, server, serverSide } = setup({
      status: (_params, context) => {
        handlerSignal = context.signal;
        return new Promise(() => undefined);
      },
    });
    const call = client.call('status', {});
    await new Promise((r) => setTimeout(r, 10));
    serverSide.close();
    await expectHispError(call, 'CHANNEL_CLOSED');
    expect(handlerSignal?.aborted).toBe(true);
    expect(server.connectionCount).toBe(0);
    await expectHispError(client.call('status', {}), 'CHANNEL_CLOSED');
  });

  it('delivers contract-valid events and drops ones that break it', async () => {
    const { client, connection, server, protocolErrors } = setup();
    const seen: Status[] = [];
    client.on('status', (status) => seen.push(status));
    connection.emit('status', STATUS);
    server.broadcast('status', { ...STATUS, state: 'locked' });
    connection.emit('status', { ...STATUS, uptimeMs: -1 }); // the server refuses to send it
    await new Promise((r) => setTimeout(r, 10));
    expect(seen.map((s) => s.state)).toEqual(['ready', 'locked']);
    expect(protocolErrors).toEqual([]);
  });

  it('drops malformed server messages and answers to unknown calls, reporting them', async () => {
    const { client, serverSide, protocolErrors } = setup();
    serverSide.send({ t: 'evt', name: 'status', data: { nonsense: true } });
    serverSide.send({ t: 'res', id: 999, ok: true, result: 1 }); // nobody waits for 999
    (serverSide as unknown as { send(m: unknown): void }).send({ hello: 'world' });
    await new Promise((r) => setTimeout(r, 10));
    expect(protocolErrors.map((e) => e.code)).toEqual(['BAD_RESPONSE', 'BAD_RESPONSE']);
    await expect(client.call('status', {})).resolves.toEqual(STATUS);
  });

  it('answers an unknown method with UNKNOWN_METHOD and ignores garbage from clients', async () => {
    const { clientSide } = setup();
    const answers: unknown[] = [];
    clientSide.onMessage((m) => answers.push(m));
    (clientSide as unknown as { send(m: unknown): void }).send({
      t: 'req',
      id: 7,
      method: 'deleteEverything',
      params: {},
    });
    (clientSide as unknown as { send(m: unknown): void }).send('garbage');
    (clientSide as unknown as { send(m: unknown): void }).send({
      t: 'req',
      id: -1,
      method: 'status',
    });
    await new Promise((r) => setTimeout(r, 10));
    expect(answers).toHaveLength(1);
    expect(answers[0]).toMatchObject({
      t: 'res',
      id: 7,
      ok: false,
      error: { code: 'UNKNOWN_METHOD' },
    });
  });
});

describe('channel over a real MessagePort, as in the desktop app', () => {
  it('carries calls and events between the HISP end (MessagePortMain shape) and the window end (DOM shape)', async () => {
    const { port1, port2 } = new MessageChannel();
    cleanups.push(() => {
      port1.close();
      port2.close();
    });
    // The HISP's end: Electron hands the utility process a MessagePortMain, whose events are
    // `{ data }` objects on an EventEmitter. A Node worker port wrapped to that shape.
    const hispEnd: MainPortLike = {
      on: (event: 'message' | 'close', listener: (e: { data: unknown }) => void) =>
        event === 'message'
          ? port1.on('message', (data: unknown) => listener({ data }))
          : port1.on('close', listener),
      postMessage: (message) => port1.postMessage(message),
      start: () => port1.start(),
      close: () => port1.close(),
    };
    // The window's end: an EventTarget-style port, as the DOM MessagePort in the preload.
    // (Node's typings describe its listener as taking a plain Event, hence the cast.)
    const windowEnd = port2 as unknown as EventPortLike;
    const { client, connection } = setup({}, [
      new MainPortTransport(hispEnd),
      new EventPortTransport(windowEnd),
    ]);
    const events: Status[] = [];
    client.on('status', (s) => events.push(s));
    await expect(client.call('status', {})).resolves.toEqual(STATUS);
    connection.emit('status', { ...STATUS, uptimeMs: 99 });
    await new Promise((r) => setTimeout(r, 20));
    expect(events.map((e) => e.uptimeMs)).toEqual([99]);
  });
});
