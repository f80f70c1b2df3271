/**
 * What a call under test failed with, for assertions on typed errors: the HispError itself,
 * or its code — for asynchronous work (a promise or a function whose result is awaited) and
 * for a synchronous call. One helper each instead of a copy per test file. Loads hisp code,
 * so it is not re-exported from index.ts.
 */
import { HispError, type ErrorCode } from '../../hisp/api/errors.js';

/** A promise, or a function run now (its result awaited). */
export type Work = Promise<unknown> | (() => unknown);

function settle(work: Work): Promise<unknown> {
  return Promise.resolve(typeof work === 'function' ? work() : work);
}

/** The HispError `work` fails with; another error, or success, throws (failing the test). */
export async function hispErrorOf(work: Work): Promise<HispError> {
  try {
    await settle(work);
  } catch (error) {
    return asHispError(error);
  }
  throw new Error('expected a HispError, nothing was thrown');
}

/**
 * The code of the HispError `work` fails with; `not a HispError: …` for another error, and
 * undefined when it succeeds.
 */
export async function hispErrorCode(work: Work): Promise<string | undefined> {
  try {
    await settle(work);
  } catch (error) {
    return error instanceof HispError ? error.code : `not a HispError: ${String(error)}`;
  }
  return undefined;
}

/** The code of the HispError `fn` throws now; 'no error' if it returns, 'not a HispError' for another error. */
export function thrownCode(fn: () => unknown): ErrorCode | 'no error' | 'not a HispError' {
  try {
    fn();
    return 'no error';
  } catch (error) {
    return error instanceof HispError ? error.code : 'not a HispError';
  }
}

/** The HispError `fn` throws now; another error, or a return, throws (failing the test). */
export function thrownHispError(fn: () => unknown): HispError {
  try {
    fn();
  } catch (error) {
    return asHispError(error);
  }
  throw new Error('expected a HispError, nothing was thrown');
}

function asHispError(error: unknown): HispError {
  if (error instanceof HispError) return error;
  throw new Error(`expected a HispError, got ${String(error)}`, { cause: error });
}
