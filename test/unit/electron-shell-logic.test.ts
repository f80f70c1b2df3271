import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';

import {
  buildHispArgs,
  connectMessage,
  describeForLog,
  HISP_SERVICE_NAME,
  parseHostMessage,
} from '../../electron/main/hispProtocol.js';
import { parseLaunchArgs } from '../../electron/main/launchOptions.js';
import { judgeSmokeProbe, SMOKE_PROBE_ID, SMOKE_PROBE_SCRIPT } from '../../electron/main/smoke.js';
import { ClientMessageSchema, PRELOAD_GLOBAL } from '../../hisp/api/index.js';
import type { Status } from '../../hisp/api/index.js';

describe('HISP utility-process protocol', () => {
  it('starts the HISP with --data-dir and an absolute directory', () => {
    expect(buildHispArgs({ dataDir: '/home/dr/.config/sealpost/hisp' })).toEqual([
      '--data-dir',
      '/home/dr/.config/sealpost/hisp',
    ]);
    expect(buildHispArgs({ dataDir: 'C:\\Users\\dr\\AppData\\Roaming\\sealpost\\hisp' })).toEqual([
      '--data-dir',
      'C:\\Users\\dr\\AppData\\Roaming\\sealpost\\hisp',
    ]);
  });

  it.each(['hisp', './hisp', '-rf', '--help', ''])(
    'refuses the relative data directory %j',
    (dataDir) => {
      expect(() => buildHispArgs({ dataDir })).toThrow(/absolute/);
    },
  );

  it('names the utility process and says connect with a plain message', () => {
    expect(HISP_SERVICE_NAME).toBe('Sealpost HISP');
    expect(connectMessage()).toEqual({ type: 'connect' });
    expect(structuredClone(connectMessage())).toEqual({ type: 'connect' });
  });

  it('understands { type: "ready" } from the HISP and nothing else', () => {
    expect(parseHostMessage({ type: 'ready' })).toEqual({ type: 'ready' });
    expect(parseHostMessage({ type: 'ready', extra: 1 })).toEqual({ type: 'ready' });
    for (const other of [
      null,
      undefined,
      'ready',
      1,
      [],
      { type: 'READY' },
      { type: 'connect' },
      {},
    ]) {
      expect(parseHostMessage(other)).toBeUndefined();
    }
  });

  it('describes unknown messages for the log without repeating their content', () => {
    expect(describeForLog({ type: 'progress' })).toBe('type progress');
    expect(describeForLog({ type: 'Patient: Jane Doe, DOB 1970-01-01' })).toBe('object');
    expect(describeForLog('secret text')).toBe('string');
    expect(describeForLog(null)).toBe('object');
  });
});

describe('desktop command line', () => {
  it('defaults to a normal start with Electron’s own data directory', () => {
    expect(parseLaunchArgs([])).toEqual({
      ok: true,
      options: { smoke: false, dataDir: undefined },
    });
  });

  it('reads --smoke and --data-dir in both spellings', () => {
    expect(parseLaunchArgs(['--smoke', '--data-dir', '/tmp/p'])).toEqual({
      ok: true,
      options: { smoke: true, dataDir: '/tmp/p' },
    });
    expect(parseLaunchArgs(['--data-dir=/tmp/p q'])).toEqual({
      ok: true,
      options: { smoke: false, dataDir: '/tmp/p q' },
    });
  });

  it('ignores Chromium switches and OS arguments', () => {
    expect(parseLaunchArgs(['--enable-logging', '-psn_0_12345', '.', '--smoke'])).toEqual({
      ok: true,
      options: { smoke: true, dataDir: undefined },
    });
  });

  it.each([
    [['--data-dir']],
    [['--data-dir', '--smoke']],
    [['--data-dir=']],
    [['--data-dir', ' ']],
  ])('refuses %j: the directory is missing', (args) => {
    expect(parseLaunchArgs(args)).toEqual({
      ok: false,
      problem: '--data-dir needs a directory after it.',
    });
  });

  it('refuses two data directories', () => {
    expect(parseLaunchArgs(['--data-dir', '/a', '--data-dir=/b'])).toEqual({
      ok: false,
      problem: '--data-dir was given more than once.',
    });
  });
});

/** Evaluates the probe as main does in the page: a script whose value is a promise. */
function runProbe(window: object): Promise<unknown> {
  return runInNewContext(SMOKE_PROBE_SCRIPT, { window }) as Promise<unknown>;
}

describe('smoke probe', () => {
  const status: Status = {
    product: 'sealpost',
    version: '0.1.0',
    state: 'ready',
    mode: 'desktop',
    profile: { name: 'Dr Example Practice', throwaway: false },
    startedAt: '2025-01-01T00:00:00.000Z',
    uptimeMs: 12,
    components: [],
  };

  it('sends a valid status request through the page bridge, with an id the UI client never reaches', () => {
    expect(SMOKE_PROBE_SCRIPT).toContain(`window[${JSON.stringify(PRELOAD_GLOBAL)}]`);
    expect(SMOKE_PROBE_SCRIPT).toContain(`const id = ${SMOKE_PROBE_ID};`);
    expect(
      ClientMessageSchema.safeParse({ t: 'req', id: SMOKE_PROBE_ID, method: 'status', params: {} })
        .success,
    ).toBe(true);
  });

  it('runs against a bridge and resolves with the answer to its own request', async () => {
    const sent: unknown[] = [];
    let deliver: (message: unknown) => void = () => undefined;
    const bridge = {
      send: (message: unknown) => {
        sent.push(message);
        queueMicrotask(() => {
          deliver({ t: 'evt', name: 'status', data: status });
          deliver({ t: 'res', id: 1, ok: true, result: status });
          deliver({ t: 'res', id: SMOKE_PROBE_ID, ok: true, result: status });
        });
      },
      onMessage: (listener: (message: unknown) => void) => {
        deliver = listener;
        return () => {
          deliver = () => undefined;
        };
      },
      onClose: () => () => undefined,
    };
    const result = await runProbe({ [PRELOAD_GLOBAL]: bridge });
    expect(sent).toEqual([{ t: 'req', id: SMOKE_PROBE_ID, method: 'status', params: {} }]);
    expect(judgeSmokeProbe(result)).toEqual({
      ok: true,
      summary: 'sealpost 0.1.0, state ready, mode desktop',
    });
  });

  it('rejects when the page has no bridge', async () => {
    await expect(runProbe({})).rejects.toThrow(/no Sealpost bridge/);
  });

  it('fails on anything but a valid status answer to the probe', () => {
    expect(judgeSmokeProbe(undefined).ok).toBe(false);
    expect(judgeSmokeProbe({ t: 'res', id: 1, ok: true, result: status })).toEqual({
      ok: false,
      reason: 'the response had id 1',
    });
    expect(
      judgeSmokeProbe({
        t: 'res',
        id: SMOKE_PROBE_ID,
        ok: false,
        error: { name: 'HispError', code: 'INTERNAL', message: 'boom', userFixable: false },
      }),
    ).toEqual({ ok: false, reason: 'the HISP answered INTERNAL' });
    expect(
      judgeSmokeProbe({
        t: 'res',
        id: SMOKE_PROBE_ID,
        ok: true,
        result: { ...status, product: 'other' },
      }),
    ).toEqual({
      ok: false,
      reason: 'the HISP status broke the contract',
    });
  });

  it('never puts the profile name in its summary', () => {
    const verdict = judgeSmokeProbe({ t: 'res', id: SMOKE_PROBE_ID, ok: true, result: status });
    expect(JSON.stringify(verdict)).not.toContain('Dr Example');
  });
});
