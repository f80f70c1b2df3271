/**
 * The mail window's first screen (renderer/src/mail/useMailbox.ts, prefetchFirstScreen):
 * the alerts the HISP tells of as soon as a window connects (one that holds, such as
 * silence) come before the mail window listens, so they are kept and handed over once, in
 * order; after that the window's own listeners hear them and nothing more is kept.
 */
import { describe, expect, it } from 'vitest';

import type { EventData, EventName, HispClient } from '../../hisp/api/index.js';
import { prefetchFirstScreen } from '../../renderer/src/mail/useMailbox.js';

/** Just enough of a client: calls that never answer, and events the test emits. */
function fakeClient(): {
  client: HispClient;
  emit: <E extends EventName>(name: E, data: EventData<E>) => void;
  listening: () => number;
} {
  const listeners = new Map<string, Set<(data: unknown) => void>>();
  const client = {
    call: () => new Promise<never>(() => undefined),
    on: (name: string, listener: (data: unknown) => void) => {
      const set = listeners.get(name) ?? new Set();
      set.add(listener);
      listeners.set(name, set);
      return () => set.delete(listener);
    },
  } as unknown as HispClient;
  return {
    client,
    emit: (name, data) => {
      for (const listener of listeners.get(name) ?? []) listener(data);
    },
    listening: () => [...listeners.values()].reduce((n, set) => n + set.size, 0),
  };
}

const silence = {
  kind: 'silence' as const,
  message: 'No Direct message has arrived for 30 hours.',
  at: '2026-03-01T10:00:00.000Z',
};
const certificates = {
  domain: 'spoofed.test',
  count: 5,
  windowMs: 3_600_000,
  reasons: [{ code: 'CERT_UNTRUSTED' as const, count: 5 }],
  at: '2026-03-01T10:00:01.000Z',
};

describe('prefetchFirstScreen: alerts before the window listens', () => {
  it('keeps them in order and hands them over once; later ones are not kept', () => {
    const { client, emit } = fakeClient();
    const first = prefetchFirstScreen(client);
    emit('alert', silence);
    emit('certificateAlert', certificates);
    expect(first.takeAlerts()).toEqual([
      { name: 'alert', data: silence },
      { name: 'certificateAlert', data: certificates },
    ]);
    emit('alert', silence);
    expect(first.takeAlerts()).toEqual([]);
    first.dispose();
  });

  it('dispose() forgets them and stops listening', () => {
    const { client, emit, listening } = fakeClient();
    const first = prefetchFirstScreen(client);
    expect(listening()).toBe(4);
    emit('alert', silence);
    first.dispose();
    expect(listening()).toBe(0);
    expect(first.takeAlerts()).toEqual([]);
  });
});
