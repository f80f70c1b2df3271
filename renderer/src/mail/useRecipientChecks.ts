/**
 * The compose window's live certificate check: each recipient is looked up through
 * `checkRecipients` about 400 ms after it was added (several at once in one call), the
 * answer kept per address for the current From domain (the HISP checks with the sending
 * domain's outbound anchors, so typing the name of a domain-bound From does not check again),
 * and `checkNow` runs any check still missing at once (before sending).
 */
import { useCallback, useEffect, useRef, useState } from 'react';

import { HispError } from '../../../hisp/api/index.js';
import type { HispClient, RecipientCheck } from '../../../hisp/api/index.js';
import type { RecipientState } from './model.js';

/** Delay between the last change and the lookup. */
export const CHECK_DEBOUNCE_MS = 400;
/** Most addresses in one `checkRecipients` call (the contract's bound). */
const BATCH = 100;

const key = (address: string): string => address.toLowerCase();
/** What the answers depend on: the From address's domain ('' for no From). */
const domainKey = (from: string): string => from.slice(from.lastIndexOf('@') + 1).toLowerCase();

/** An address the HISP would refuse as a parameter: answered here as `invalid`. */
function localInvalid(address: string): RecipientCheck | undefined {
  if (address.length >= 3 && address.length <= 320 && address.includes('@')) return undefined;
  return {
    address,
    state: 'invalid',
    certificates: [],
    rejected: [],
    problems: [],
    checkedAt: new Date().toISOString(),
  };
}

export function useRecipientChecks(
  client: HispClient,
  from: string,
  addresses: readonly string[],
): {
  readonly states: ReadonlyMap<string, RecipientState>;
  checkNow: (addresses: readonly string[]) => Promise<ReadonlyMap<string, RecipientState>>;
} {
  const [states, setStates] = useState<ReadonlyMap<string, RecipientState>>(new Map());
  const statesRef = useRef(states);
  const fromRef = useRef(from);

  const update = useCallback((entries: ReadonlyMap<string, RecipientState>) => {
    const next = new Map(statesRef.current);
    for (const [address, state] of entries) next.set(address, state);
    statesRef.current = next;
    setStates(next);
  }, []);

  const run = useCallback(
    async (list: readonly string[], signal?: AbortSignal): Promise<void> => {
      const sender = fromRef.current;
      const results = new Map<string, RecipientState>();
      const remote: string[] = [];
      for (const address of list) {
        const invalid = localInvalid(address);
        if (invalid === undefined) remote.push(address);
        else results.set(key(address), { kind: 'checked', check: invalid });
      }
      for (let i = 0; i < remote.length; i += BATCH) {
        const batch = remote.slice(i, i + BATCH);
        try {
          const answer = await client.call(
            'checkRecipients',
            { from: sender, addresses: batch },
            { timeoutMs: 60_000, ...(signal === undefined ? {} : { signal }) },
          );
          for (const check of answer.recipients) {
            results.set(key(check.address), { kind: 'checked', check });
          }
          for (const address of batch) {
            if (!results.has(key(address))) {
              results.set(key(address), {
                kind: 'error',
                message: 'The HISP gave no answer for this address.',
              });
            }
          }
        } catch (error) {
          const failure = HispError.from(error);
          if (failure.code === 'CANCELLED') return;
          for (const address of batch) {
            results.set(key(address), { kind: 'error', message: failure.message });
          }
        }
      }
      if (domainKey(sender) === domainKey(fromRef.current)) update(results);
    },
    [client, update],
  );

  // A new From domain: what was found for the old one no longer applies.
  useEffect(() => {
    if (fromRef.current === from) return;
    const sameDomain = from !== '' && domainKey(fromRef.current) === domainKey(from);
    fromRef.current = from;
    if (!sameDomain) {
      statesRef.current = new Map();
      setStates(statesRef.current);
    }
  }, [from]);

  const wanted = addresses.map(key).join('\n');
  const fromDomain = domainKey(from);
  useEffect(() => {
    const missing = addresses.filter((address) => !statesRef.current.has(key(address)));
    if (missing.length === 0 || fromDomain === '') return undefined;
    update(new Map(missing.map((address) => [key(address), { kind: 'checking' } as const])));
    const abort = new AbortController();
    const timer = setTimeout(() => {
      // Deliberately not awaited: run() records its own failures per address.
      void run(missing, abort.signal);
    }, CHECK_DEBOUNCE_MS);
    return () => {
      clearTimeout(timer);
      abort.abort();
      // Checks that did not run are forgotten, so the next change schedules them again.
      const next = new Map(statesRef.current);
      for (const address of missing) {
        if (next.get(key(address))?.kind === 'checking') next.delete(key(address));
      }
      statesRef.current = next;
    };
    // `addresses` is compared by value through `wanted`, `from` by its domain.
    // eslint-disable-next-line react-hooks/exhaustive-deps -- see above
  }, [wanted, fromDomain, run, update]);

  const checkNow = useCallback(
    async (list: readonly string[]): Promise<ReadonlyMap<string, RecipientState>> => {
      const missing = list.filter((address) => {
        const state = statesRef.current.get(key(address));
        return state === undefined || state.kind === 'checking';
      });
      if (missing.length > 0) await run(missing);
      return statesRef.current;
    },
    [run],
  );

  return { states, checkNow };
}
