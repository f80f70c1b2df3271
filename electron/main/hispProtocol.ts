/**
 * What the main process and the HISP utility process (hisp/host/utility.ts) say to each
 * other, and the arguments the HISP starts with. Pure: unit-tested in plain Node.
 *
 *   main -> HISP   { type: 'connect' }   with one MessagePortMain transferred: a new UI
 *                                        connection (one per page load). The wire messages
 *                                        of the API contract then flow over that port.
 *   HISP -> main   { type: 'ready' }     optional: the HISP has started. Main only logs it.
 *   HISP -> main   { type: 'notify', kind: 'new-mail' | 'delivery-failed', count }
 *                                        optional: ask main for a desktop notification
 *                                        (notifications.ts words it; no content crosses).
 *
 * Anything else from the HISP is ignored (and logged by type only).
 */

/** Shown by the OS task manager and in app.getAppMetrics(). */
export const HISP_SERVICE_NAME = 'Sealpost HISP';

export interface HispLaunch {
  /** Absolute path of the HISP's data directory (created by the HISP if missing). */
  readonly dataDir: string;
}

/** The utility process's argv after its entry path: `--data-dir <absolute dir>`. */
export function buildHispArgs(launch: HispLaunch): string[] {
  const { dataDir } = launch;
  // Absolute, so it can never be mistaken for a flag (`-x`) or resolved against a cwd.
  if (!(dataDir.startsWith('/') || /^[A-Za-z]:[\\/]/.test(dataDir) || dataDir.startsWith('\\\\'))) {
    throw new Error(
      `The HISP data directory must be an absolute path, got ${JSON.stringify(dataDir)}.`,
    );
  }
  return ['--data-dir', dataDir];
}

export interface ConnectMessage {
  readonly type: 'connect';
}

/** Sent with exactly one port in the transfer list. */
export function connectMessage(): ConnectMessage {
  return { type: 'connect' };
}

/** What a notification is about. */
export type NotifyKind = 'new-mail' | 'delivery-failed';

export type HostMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'notify'; readonly kind: NotifyKind; readonly count: number };

/** Largest count a notify message may carry (a bigger one is not a count we made). */
const MAX_NOTIFY_COUNT = 1_000_000;

/** A message from the HISP to main, or undefined if it is not one main understands. */
export function parseHostMessage(message: unknown): HostMessage | undefined {
  if (typeof message !== 'object' || message === null) return undefined;
  const record = message as Record<string, unknown>;
  const type: unknown = record['type'];
  if (type === 'ready') return { type: 'ready' };
  if (type === 'notify') {
    const kind: unknown = record['kind'];
    const count: unknown = record['count'];
    if (kind !== 'new-mail' && kind !== 'delivery-failed') return undefined;
    if (typeof count !== 'number' || !Number.isInteger(count)) return undefined;
    if (count < 1 || count > MAX_NOTIFY_COUNT) return undefined;
    return { type: 'notify', kind, count };
  }
  return undefined;
}

/** What kind of thing arrived, for a log line that never repeats its content. */
export function describeForLog(message: unknown): string {
  if (typeof message !== 'object' || message === null) return typeof message;
  const type: unknown = (message as Record<string, unknown>)['type'];
  return typeof type === 'string' && /^[a-z][a-z0-9-]{0,31}$/.test(type)
    ? `type ${type}`
    : 'object';
}
