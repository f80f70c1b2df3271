/**
 * The sandboxed preload, run in Node with a stand-in for the two Electron APIs it may use
 * (contextBridge, ipcRenderer) and a real MessageChannel for the port to the HISP. The stand-in
 * offers nothing else, so a preload that reached for more of Electron would fail here too.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { DESKTOP_PORT_CHANNEL, LIMITS, PRELOAD_GLOBAL } from '../../hisp/api/index.js';
import type { PreloadBridge, WireMessage } from '../../hisp/api/index.js';

type PortListener = (event: { ports: MessagePort[] }) => void;

const electron = vi.hoisted(() => ({
  exposed: new Map<string, unknown>(),
  ipcListeners: new Map<string, ((event: { ports: MessagePort[] }) => void)[]>(),
}));

vi.mock('electron', () => ({
  contextBridge: {
    exposeInMainWorld: (key: string, api: unknown) => {
      electron.exposed.set(key, api);
    },
  },
  ipcRenderer: {
    on: (channel: string, listener: PortListener) => {
      electron.ipcListeners.set(channel, [...(electron.ipcListeners.get(channel) ?? []), listener]);
    },
  },
}));

/**
 * A specifier in a variable: test/tsconfig.json does not reference the preload's project (its
 * own lib set), so the import is resolved by vitest at run time rather than by tsc.
 */
const PRELOAD_MODULE = '../../electron/preload/preload.js';

const openPorts: MessagePort[] = [];

/** Loads a fresh copy of the preload (its state is per page load) and returns its bridge. */
async function loadPreload(): Promise<PreloadBridge> {
  electron.exposed.clear();
  electron.ipcListeners.clear();
  vi.resetModules();
  await import(/* @vite-ignore */ PRELOAD_MODULE);
  return electron.exposed.get(PRELOAD_GLOBAL) as PreloadBridge;
}

/** Main hands the page its port: a new channel whose far end plays the HISP. */
function deliverPort(): { hisp: MessagePort; received: unknown[] } {
  const { port1, port2 } = new MessageChannel();
  openPorts.push(port1, port2);
  const received: unknown[] = [];
  port2.addEventListener('message', (event: MessageEvent<unknown>) => received.push(event.data));
  port2.start();
  for (const listener of electron.ipcListeners.get(DESKTOP_PORT_CHANNEL) ?? [])
    listener({ ports: [port1] });
  return { hisp: port2, received };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The error send() throws, as a plain record (the preload has its own copy of HispError). */
function sendError(bridge: PreloadBridge, message: unknown): Record<string, unknown> {
  try {
    bridge.send(message as WireMessage);
  } catch (error) {
    return { ...(error as object), name: (error as Error).name, message: (error as Error).message };
  }
  throw new Error('send() did not throw');
}

const request = (id: number): WireMessage => ({ t: 'req', id, method: 'status', params: {} });

beforeEach(() => {
  vi.unstubAllGlobals();
});

afterEach(() => {
  for (const port of openPorts.splice(0)) port.close();
  vi.unstubAllGlobals();
});

describe('preload bridge', () => {
  it('exposes exactly send, onMessage and onClose under the agreed global, and listens on one channel', async () => {
    const bridge = await loadPreload();
    expect([...electron.exposed.keys()]).toEqual([PRELOAD_GLOBAL]);
    expect(Object.keys(bridge).sort()).toEqual(['onClose', 'onMessage', 'send']);
    expect([...electron.ipcListeners.keys()]).toEqual([DESKTOP_PORT_CHANNEL]);
  });

  it('queues messages sent before the port arrives and delivers them in order once it does', async () => {
    const bridge = await loadPreload();
    bridge.send(request(1));
    bridge.send({ t: 'cancel', id: 1 });
    const { received } = deliverPort();
    bridge.send(request(2));
    await until(() => received.length === 3, 'three messages at the HISP end');
    expect(received).toEqual([request(1), { t: 'cancel', id: 1 }, request(2)]);
  });

  it('hands messages from the HISP to every listener until it unsubscribes', async () => {
    const bridge = await loadPreload();
    const { hisp } = deliverPort();
    const first: unknown[] = [];
    const second: unknown[] = [];
    const stopFirst = bridge.onMessage((message) => first.push(message));
    bridge.onMessage((message) => second.push(message));
    const event = { t: 'evt', name: 'status', data: { anything: true } };
    hisp.postMessage(event);
    await until(() => second.length === 1, 'the first event');
    stopFirst();
    hisp.postMessage({ t: 'evt', name: 'status', data: 2 });
    await until(() => second.length === 2, 'the second event');
    expect(first).toEqual([event]);
    expect(second[0]).toEqual(event);
  });

  it('keeps delivering to the other listeners when one throws, and reports the error', async () => {
    const reported: (() => void)[] = [];
    vi.stubGlobal('queueMicrotask', (callback: () => void) => reported.push(callback));
    const bridge = await loadPreload();
    const { hisp } = deliverPort();
    const seen: unknown[] = [];
    bridge.onMessage(() => {
      throw new Error('a UI bug');
    });
    bridge.onMessage((message) => seen.push(message));
    hisp.postMessage({ t: 'evt', name: 'status', data: 1 });
    await until(() => seen.length === 1, 'the event at the second listener');
    expect(reported).toHaveLength(1);
    expect(() => reported[0]?.()).toThrow('a UI bug');
  });

  it.each([
    ['a response (the UI never sends one)', { t: 'res', id: 1, ok: true, result: null }],
    ['an event', { t: 'evt', name: 'status', data: null }],
    ['an unknown kind', { t: 'ipc', channel: 'anything' }],
    ['an extra key', { t: 'req', id: 1, method: 'status', params: {}, channel: 'x' }],
    ['a negative id', { t: 'req', id: -1, method: 'status', params: {} }],
    ['a fractional id', { t: 'req', id: 1.5, method: 'status', params: {} }],
    ['an empty method', { t: 'req', id: 1, method: '', params: {} }],
    ['an over-long method', { t: 'req', id: 1, method: 'm'.repeat(65), params: {} }],
    ['a string', 'status'],
    ['null', null],
    ['undefined', undefined],
  ])('refuses %s with BAD_REQUEST and posts nothing', async (_what, message) => {
    const bridge = await loadPreload();
    const { received } = deliverPort();
    expect(sendError(bridge, message)).toMatchObject({ name: 'HispError', code: 'BAD_REQUEST' });
    bridge.send(request(7));
    await until(() => received.length === 1, 'the valid message');
    expect(received).toEqual([request(7)]);
  });

  it('refuses parameters that are not JSON data', async () => {
    const bridge = await loadPreload();
    expect(
      sendError(bridge, { t: 'req', id: 1, method: 'status', params: { n: 1n } }),
    ).toMatchObject({
      code: 'BAD_REQUEST',
    });
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(sendError(bridge, { t: 'req', id: 1, method: 'status', params: cyclic })).toMatchObject({
      code: 'BAD_REQUEST',
    });
  });

  it('sends plain JSON data, as the WebSocket transport would', async () => {
    const bridge = await loadPreload();
    const { received } = deliverPort();
    bridge.send({
      t: 'req',
      id: 3,
      method: 'status',
      params: { when: new Date('2025-01-02T03:04:05.000Z'), missing: undefined, list: [1, 'a'] },
    });
    await until(() => received.length === 1, 'the message');
    expect(received[0]).toEqual({
      t: 'req',
      id: 3,
      method: 'status',
      params: { when: '2025-01-02T03:04:05.000Z', list: [1, 'a'] },
    });
  });

  it('refuses a message larger than the wire limit with PAYLOAD_TOO_LARGE', async () => {
    const bridge = await loadPreload();
    const big = {
      t: 'req',
      id: 1,
      method: 'status',
      params: { blob: 'x'.repeat(LIMITS.wireMessageChars) },
    };
    expect(sendError(bridge, big)).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
  });

  it(`queues at most ${LIMITS.pendingCallsPerConnection} messages before the port arrives, then throws CHANNEL_CLOSED`, async () => {
    const bridge = await loadPreload();
    for (let id = 0; id < LIMITS.pendingCallsPerConnection; id++) bridge.send(request(id));
    expect(sendError(bridge, request(9999))).toMatchObject({
      name: 'HispError',
      code: 'CHANNEL_CLOSED',
    });
    const { received } = deliverPort();
    await until(() => received.length === LIMITS.pendingCallsPerConnection, 'the queued messages');
    expect(received.at(-1)).toEqual(request(LIMITS.pendingCallsPerConnection - 1));
  });

  it('reports the HISP end closing, then refuses to send', async () => {
    const bridge = await loadPreload();
    const { hisp } = deliverPort();
    let closed = 0;
    bridge.onClose(() => closed++);
    hisp.close();
    await until(() => closed === 1, 'the close event');
    expect(sendError(bridge, request(1))).toMatchObject({ code: 'CHANNEL_CLOSED' });
    let lateClose = false;
    bridge.onClose(() => {
      lateClose = true;
    });
    await until(() => lateClose, 'a close listener added after the close');
  });

  it('uses only the first port of a page load and closes any other', async () => {
    const bridge = await loadPreload();
    const first = deliverPort();
    const second = deliverPort();
    let secondClosed = false;
    second.hisp.addEventListener('close', () => {
      secondClosed = true;
    });
    bridge.send(request(5));
    await until(
      () => first.received.length === 1 && secondClosed,
      'the first port used, the second closed',
    );
    expect(second.received).toEqual([]);
  });

  it('rejects listeners that are not functions', async () => {
    const bridge = await loadPreload();
    expect(() => bridge.onMessage('alert(1)' as unknown as () => void)).toThrow(TypeError);
    expect(() => bridge.onClose(42 as unknown as () => void)).toThrow(TypeError);
  });
});
