/**
 * How the mail window reaches the HISP. Two ways, one contract:
 *
 * - Desktop: the Electron preload exposes a PreloadBridge as `window[PRELOAD_GLOBAL]`; it
 *   holds the MessagePort to the HISP. Wrapped in a PreloadBridgeTransport.
 * - Browser (`sealpost serve` / `sealpost demo`): a WebSocket to the loopback bridge on the
 *   page's own origin, authenticated by the bearer token that the printed address carried
 *   in its fragment (see token.ts). Browsers cannot set headers on a WebSocket, so the token
 *   rides in a second subprotocol next to the wire protocol.
 *
 * The token is never logged, never put in a URL the server sees, and removed from the
 * address bar and history before anything else happens.
 */
import {
  BEARER_PROTOCOL_PREFIX,
  HispClient,
  HispError,
  PRELOAD_GLOBAL,
  PreloadBridgeTransport,
  WIRE_PROTOCOL,
  WebSocketTransport,
} from '../../hisp/api/index.js';
import type { PreloadBridge, Transport } from '../../hisp/api/index.js';
import { TOKEN_STORAGE_KEY, isWellFormedToken, takeTokenFromFragment } from './token.js';
import type { TokenProblem } from './token.js';

/** How long to wait for the bridge's WebSocket to open before giving up. */
export const CONNECT_TIMEOUT_MS = 10_000;

/** Where the bridge serves the WebSocket, on the page's own origin. */
const WEBSOCKET_PATH = '/api/ws';

export type ConnectionPlan =
  | { readonly kind: 'desktop'; readonly bridge: PreloadBridge }
  | { readonly kind: 'browser'; readonly url: string; readonly token: string }
  /** Browser mode without a usable token: the UI explains where the address comes from. */
  | { readonly kind: 'no-token'; readonly problem: TokenProblem | 'missing' }
  /** Something is wrong with this window itself (e.g. a broken preload). */
  | { readonly kind: 'unusable'; readonly error: HispError };

export type ConnectablePlan = Extract<ConnectionPlan, { kind: 'desktop' | 'browser' }>;

function isPreloadBridge(value: unknown): value is PreloadBridge {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return (
    typeof candidate['send'] === 'function' &&
    typeof candidate['onMessage'] === 'function' &&
    typeof candidate['onClose'] === 'function'
  );
}

function readStoredToken(): string | undefined {
  try {
    const stored = window.sessionStorage.getItem(TOKEN_STORAGE_KEY);
    return isWellFormedToken(stored) ? stored : undefined;
  } catch {
    // Storage disabled by the browser: the fragment is the only source.
    return undefined;
  }
}

function storeToken(token: string | undefined): void {
  try {
    if (token === undefined) window.sessionStorage.removeItem(TOKEN_STORAGE_KEY);
    else window.sessionStorage.setItem(TOKEN_STORAGE_KEY, token);
  } catch {
    // Storage disabled: a reload will then need the printed address again. Nothing to do.
  }
}

/**
 * Decide how to connect, synchronously, once, before the UI renders: in browser mode this
 * takes the token out of the address bar and history straight away.
 */
export function planConnection(): ConnectionPlan {
  const preload: unknown = (window as unknown as Record<string, unknown>)[PRELOAD_GLOBAL];
  if (preload !== undefined) {
    if (isPreloadBridge(preload)) return { kind: 'desktop', bridge: preload };
    return {
      kind: 'unusable',
      error: new HispError('INTERNAL', 'The desktop bridge to the HISP is incomplete.'),
    };
  }

  const { hash, pathname, search, host } = window.location;
  const taken = takeTokenFromFragment(hash);
  if (taken.cleanedHash !== hash) {
    // Drop the token from the address bar and from this history entry (no new entry, so
    // Back does not bring it back either).
    window.history.replaceState(null, '', pathname + search + taken.cleanedHash);
  }
  if (taken.problem !== undefined) {
    // A broken address was used on purpose: explain it rather than fall back silently to a
    // token from earlier in this tab.
    storeToken(undefined);
    return { kind: 'no-token', problem: taken.problem };
  }
  if (taken.token !== undefined) storeToken(taken.token);
  const token = taken.token ?? readStoredToken();
  if (token === undefined) return { kind: 'no-token', problem: 'missing' };
  return { kind: 'browser', url: `ws://${host}${WEBSOCKET_PATH}`, token };
}

/**
 * Someone pasted the printed address into a tab that already shows Sealpost: only the
 * fragment changes, so the page does not reload. Plan again (which takes the new token out
 * of the address bar at once) when the new fragment carries a token; other fragment changes
 * are not about the connection.
 */
export function watchForNewAddress(listener: (plan: ConnectionPlan) => void): () => void {
  const onHashChange = (): void => {
    const taken = takeTokenFromFragment(window.location.hash);
    if (taken.token === undefined && taken.problem === undefined) return;
    listener(planConnection());
  };
  window.addEventListener('hashchange', onHashChange);
  return () => window.removeEventListener('hashchange', onHashChange);
}

function unreachable(host: string): HispError {
  return new HispError(
    'CHANNEL_CLOSED',
    `Could not connect to the Sealpost HISP at ${host}. Check that the sealpost serve (or ` +
      'sealpost demo) command is still running, then open the address it printed. A HISP ' +
      'that was restarted prints a new address.',
  );
}

/** Open the bridge's WebSocket and resolve once it is open (or reject with a HispError). */
function openWebSocket(
  plan: Extract<ConnectionPlan, { kind: 'browser' }>,
  signal: AbortSignal,
): Promise<WebSocket> {
  const host = new URL(plan.url).host;
  return new Promise<WebSocket>((resolve, reject) => {
    if (signal.aborted) {
      reject(new HispError('CANCELLED'));
      return;
    }
    const socket = new WebSocket(plan.url, [WIRE_PROTOCOL, BEARER_PROTOCOL_PREFIX + plan.token]);
    const settle = (error: HispError | undefined): void => {
      clearTimeout(timer);
      socket.removeEventListener('open', onOpen);
      socket.removeEventListener('error', onFailure);
      socket.removeEventListener('close', onFailure);
      signal.removeEventListener('abort', onAbort);
      if (error === undefined) {
        resolve(socket);
      } else {
        socket.close();
        reject(error);
      }
    };
    const onOpen = (): void => {
      if (socket.protocol !== WIRE_PROTOCOL) {
        settle(
          new HispError('BAD_RESPONSE', 'The HISP bridge did not agree on the Sealpost protocol.'),
        );
      } else {
        settle(undefined);
      }
    };
    // Browsers do not say why a WebSocket handshake failed (a refused token and a stopped
    // HISP look the same), so one message covers both.
    const onFailure = (): void => settle(unreachable(host));
    const onAbort = (): void => settle(new HispError('CANCELLED'));
    const timer = setTimeout(
      () =>
        settle(new HispError('TIMEOUT', `The Sealpost HISP at ${host} did not answer in time.`)),
      CONNECT_TIMEOUT_MS,
    );
    socket.addEventListener('open', onOpen);
    socket.addEventListener('error', onFailure);
    socket.addEventListener('close', onFailure);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Connect to the HISP as planned. Resolves with a client whose channel is open.
 * @throws HispError: CHANNEL_CLOSED (unreachable or refused), TIMEOUT, CANCELLED, BAD_RESPONSE.
 */
export async function openConnection(
  plan: ConnectablePlan,
  signal: AbortSignal,
): Promise<HispClient> {
  let transport: Transport;
  if (plan.kind === 'desktop') {
    transport = new PreloadBridgeTransport(plan.bridge);
  } else {
    const socket = await openWebSocket(plan, signal);
    transport = new WebSocketTransport(socket, { onMalformed: reportProtocolError });
  }
  return new HispClient(transport, { onProtocolError: reportProtocolError });
}

function reportProtocolError(error: HispError): void {
  // Protocol errors carry a code and a fixed message, never message content or the token.
  console.warn(`Sealpost: dropped a message from the HISP (${error.code}): ${error.message}`);
}
