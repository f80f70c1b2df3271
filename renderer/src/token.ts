/**
 * The bridge access token in browser mode, as pure functions (no DOM globals, so the unit
 * tests run them in Node).
 *
 * `sealpost serve` / `sealpost demo` print an address like
 * `http://127.0.0.1:PORT/#token=<64 hex>`. The token rides in the fragment because a
 * fragment is never sent to the server: it cannot end up in a request line, a server log or
 * a Referer. The page takes it out of the fragment at once (connection.ts removes it from
 * the address bar and history) and keeps it in sessionStorage so a reload still works.
 */

/** The fragment parameter that carries the token. */
export const TOKEN_PARAM = 'token';

/** sessionStorage key that keeps the token across reloads of the same tab. */
export const TOKEN_STORAGE_KEY = 'sealpost.bridgeToken';

/**
 * Token shape: hex. The bridge issues 64 hex digits (32 random bytes); 32..128 digits are
 * accepted so a change of token length on the HISP side does not lock the UI out. Anything
 * else is refused before it is sent anywhere.
 */
const TOKEN_PATTERN = /^[0-9a-fA-F]{32,128}$/;

/**
 * Longest fragment that is parsed at all (characters, including the leading '#'). A real
 * fragment is `#token=` plus 64 digits and perhaps a short view name; a longer one is not
 * something Sealpost printed.
 */
export const MAX_FRAGMENT_CHARS = 1024;

export type TokenProblem =
  /** `token=` was present but its value is not a well-formed token. */
  | 'malformed'
  /** `token=` appeared more than once: ambiguous, so none is used. */
  | 'duplicate'
  /** The whole fragment was longer than MAX_FRAGMENT_CHARS. */
  | 'too-long';

export interface FragmentToken {
  /** The well-formed token, or undefined when there was none (or it was refused). */
  readonly token: string | undefined;
  /**
   * The fragment to leave in the address bar: every `token` parameter removed, other
   * parameters kept in their original order and encoding. Either '' or starts with '#'.
   */
  readonly cleanedHash: string;
  /** Why a token that was present was not used. Absent when there was no token or it was good. */
  readonly problem?: TokenProblem;
}

export function isWellFormedToken(value: unknown): value is string {
  return typeof value === 'string' && TOKEN_PATTERN.test(value);
}

/**
 * Split `location.hash` into the token and what remains. Parameters are `&`-separated
 * `name=value` pairs; only the name is compared (exactly `token`, case-sensitive), values of
 * other parameters are left untouched. A token is never percent-decoded: a hex token never
 * needs encoding, so an encoded one is malformed.
 */
export function takeTokenFromFragment(hash: string): FragmentToken {
  if (hash.length > MAX_FRAGMENT_CHARS) {
    // Not something Sealpost printed. Drop all of it: it may hold a token we did not parse.
    return { token: undefined, cleanedHash: '', problem: 'too-long' };
  }
  const body = hash.startsWith('#') ? hash.slice(1) : hash;
  if (body === '') return { token: undefined, cleanedHash: '' };

  const kept: string[] = [];
  const values: string[] = [];
  for (const part of body.split('&')) {
    const eq = part.indexOf('=');
    const name = eq === -1 ? part : part.slice(0, eq);
    if (name === TOKEN_PARAM) {
      values.push(eq === -1 ? '' : part.slice(eq + 1));
    } else if (part !== '') {
      kept.push(part);
    }
  }
  const cleanedHash = kept.length > 0 ? `#${kept.join('&')}` : '';

  if (values.length === 0) {
    // No token parameter: the fragment is someone else's business; leave it exactly as it was.
    return { token: undefined, cleanedHash: hash.startsWith('#') ? hash : `#${hash}` };
  }
  if (values.length > 1) return { token: undefined, cleanedHash, problem: 'duplicate' };
  const [value] = values;
  if (!isWellFormedToken(value)) return { token: undefined, cleanedHash, problem: 'malformed' };
  return { token: value, cleanedHash };
}
