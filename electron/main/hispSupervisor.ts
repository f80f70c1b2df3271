/**
 * When to restart the HISP after its utility process crashed: a pure state machine (no
 * timers, no `electron`), unit-tested in plain Node; hispProcess.ts runs it.
 *
 * Each crash waits twice as long as the one before (1 s, 2 s, 4 s, … up to `maxDelayMs`),
 * counting only the crashes within the last `windowMs`: a HISP that ran for longer than that
 * starts again at 1 s. More than `maxCrashes` crashes within the window and it gives up: the
 * main process then tells the user, instead of restarting forever.
 */

export interface RestartPolicyOptions {
  /** The first wait. */
  readonly baseDelayMs: number;
  /** The longest wait. */
  readonly maxDelayMs: number;
  /** Crashes within `windowMs` after which there is no restart. */
  readonly maxCrashes: number;
  /** How far back crashes count. */
  readonly windowMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicyOptions = {
  baseDelayMs: 1_000,
  maxDelayMs: 30_000,
  maxCrashes: 5,
  windowMs: 5 * 60_000,
};

export type RestartDecision =
  | { readonly action: 'restart'; readonly delayMs: number; readonly crashesInWindow: number }
  | { readonly action: 'give-up'; readonly crashesInWindow: number };

/** The restart state: the times of the recent crashes. Immutable; each step returns a new one. */
export interface RestartState {
  readonly crashes: readonly number[];
}

export const INITIAL_RESTART_STATE: RestartState = { crashes: [] };

function checkOptions(options: RestartPolicyOptions): void {
  const { baseDelayMs, maxDelayMs, maxCrashes, windowMs } = options;
  const ok =
    Number.isFinite(baseDelayMs) &&
    baseDelayMs > 0 &&
    Number.isFinite(maxDelayMs) &&
    maxDelayMs >= baseDelayMs &&
    Number.isInteger(maxCrashes) &&
    maxCrashes >= 1 &&
    Number.isFinite(windowMs) &&
    windowMs > 0;
  if (!ok) throw new RangeError('The HISP restart policy has an impossible setting.');
}

/**
 * The decision after a crash at `now` (milliseconds, any monotonic clock), and the state to
 * keep. A clock that went backwards counts every earlier crash as recent (the safe side).
 */
export function onCrash(
  state: RestartState,
  now: number,
  options: RestartPolicyOptions = DEFAULT_RESTART_POLICY,
): { readonly decision: RestartDecision; readonly state: RestartState } {
  checkOptions(options);
  const recent = state.crashes.filter((at) => now - at < options.windowMs);
  const crashes = [...recent, now];
  const count = crashes.length;
  if (count > options.maxCrashes) {
    return { decision: { action: 'give-up', crashesInWindow: count }, state: { crashes } };
  }
  const delayMs = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (count - 1));
  return {
    decision: { action: 'restart', delayMs, crashesInWindow: count },
    state: { crashes },
  };
}
