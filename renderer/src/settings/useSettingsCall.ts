/**
 * The settings screens' data: one contract call, read on mount and again on `reload()`
 * (after the screen changed something), cancelled on unmount; and the changes a
 * screen makes (`useAction`: which one is running, its failure as a HispError). Files the
 * user picks are read here too, so the sections only render.
 */
import { useCallback, useEffect, useState } from 'react';

import { HispError } from '../../../hisp/api/index.js';
import type { HispClient } from '../../../hisp/api/index.js';
import { reportUnlessCancelled } from '../mail/useMailbox.js';
import type { Loadable } from '../mail/useMailbox.js';

/**
 * Read `load` now and again after each `reload()` (the screen changed something); `set`
 * replaces what was read with a newer value the screen already has (a change's answer).
 * `load` must not change between renders.
 */
export function useSettingsCall<T>(
  client: HispClient,
  load: (client: HispClient, signal: AbortSignal) => Promise<T>,
): readonly [Loadable<T>, () => void, (value: T) => void] {
  const [version, setVersion] = useState(0);
  const [result, setResult] = useState<Loadable<T>>({ state: 'loading' });
  useEffect(() => {
    const abort = new AbortController();
    load(client, abort.signal)
      .then((value) => setResult({ state: 'ready', value }))
      .catch((error: unknown) =>
        reportUnlessCancelled(error, (failure) => setResult({ state: 'error', error: failure })),
      );
    return () => abort.abort();
  }, [client, load, version]);
  const reload = useCallback(() => setVersion((v) => v + 1), []);
  const set = useCallback((value: T) => setResult({ state: 'ready', value }), []);
  return [result, reload, set];
}

/** The bytes of a picked file. */
export async function fileBytes(file: File): Promise<Uint8Array> {
  return new Uint8Array(await file.arrayBuffer());
}

/** A change a screen makes through the contract, and how it went. */
export interface Action {
  /** What is running (the `what` given to `run`), or undefined when nothing is. */
  readonly busy: string | undefined;
  /** The last failure (of a call, or of the form before any call). */
  readonly error: HispError | undefined;
  /** Show a failure found before any call (a bad form), or clear it. */
  readonly setError: (error: HispError | undefined) => void;
  /**
   * Run `work` as `what`: busy meanwhile, the last error cleared first, a throw kept as a
   * HispError (then `onFailure` is told). Never rejects.
   */
  readonly run: (what: string, work: () => Promise<void>, onFailure?: () => void) => Promise<void>;
}

/** One change at a time, with its busy state and error (see `Action`). */
export function useAction(): Action {
  const [busy, setBusy] = useState<string | undefined>(undefined);
  const [error, setError] = useState<HispError | undefined>(undefined);
  const run = useCallback(
    async (what: string, work: () => Promise<void>, onFailure?: () => void): Promise<void> => {
      setBusy(what);
      setError(undefined);
      try {
        await work();
      } catch (failure) {
        setError(HispError.from(failure));
        onFailure?.();
      } finally {
        setBusy(undefined);
      }
    },
    [],
  );
  return { busy, error, setError, run };
}
