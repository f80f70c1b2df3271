/**
 * The `--smoke` check: the app starts, the mail window loads, and the page receives the
 * HISP's status over the MessagePort, through the preload's bridge. Pure: the probe is a
 * script string that main runs in the page, and the verdict is judged here.
 *
 * The probe uses only what the page itself can use (the PreloadBridge global): it sends a
 * `status` request with an id the UI's own client never reaches and waits for the answer.
 * Nothing is relaxed for the smoke run: same window, same preload, same sandbox.
 */
import { PRELOAD_GLOBAL, ResponseMessageSchema, StatusSchema } from '../../hisp/api/index.js';

/** How long the whole smoke run may take before it fails. */
export const SMOKE_TIMEOUT_MS = 30_000;

/** The probe's request id: the largest the wire allows, far above any id the UI's client uses. */
export const SMOKE_PROBE_ID = Number.MAX_SAFE_INTEGER;

/** Runs in the page's main world; resolves with the HISP's answer to the probe's request. */
export const SMOKE_PROBE_SCRIPT = `new Promise((resolve, reject) => {
  const bridge = window[${JSON.stringify(PRELOAD_GLOBAL)}];
  if (typeof bridge !== 'object' || bridge === null) {
    reject(new Error('the page has no Sealpost bridge'));
    return;
  }
  const id = ${String(SMOKE_PROBE_ID)};
  const stop = bridge.onMessage((message) => {
    if (typeof message === 'object' && message !== null && message.t === 'res' && message.id === id) {
      stop();
      resolve(message);
    }
  });
  bridge.onClose(() => reject(new Error('the channel to the HISP closed')));
  bridge.send({ t: 'req', id, method: 'status', params: {} });
})`;

export type SmokeVerdict =
  { readonly ok: true; readonly summary: string } | { readonly ok: false; readonly reason: string };

/** Whether the probe's result is a valid answer to its status request. */
export function judgeSmokeProbe(result: unknown): SmokeVerdict {
  const response = ResponseMessageSchema.safeParse(result);
  if (!response.success)
    return { ok: false, reason: 'the page got something that is not a response message' };
  const message = response.data;
  if (message.id !== SMOKE_PROBE_ID)
    return { ok: false, reason: `the response had id ${message.id}` };
  if (!message.ok) return { ok: false, reason: `the HISP answered ${message.error.code}` };
  const status = StatusSchema.safeParse(message.result);
  if (!status.success) return { ok: false, reason: 'the HISP status broke the contract' };
  // Product, version, state and mode only: no profile name in logs.
  const { product, version, state, mode } = status.data;
  return { ok: true, summary: `${product} ${version}, state ${state}, mode ${mode}` };
}
