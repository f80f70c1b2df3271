/**
 * The browser-mode access token: taken from the address fragment (never sent to the server),
 * every trace of it removed from what stays in the address bar, refused unless well-formed.
 */
import { describe, expect, it } from 'vitest';

import {
  MAX_FRAGMENT_CHARS,
  TOKEN_STORAGE_KEY,
  isWellFormedToken,
  takeTokenFromFragment,
} from '../../renderer/src/token.js';

const TOKEN = 'a3f1'.repeat(16); // 64 hex digits, as the bridge issues
const UPPER = 'A3F1'.repeat(16);

describe('takeTokenFromFragment', () => {
  it('takes a 64-hex-digit token and leaves an empty fragment', () => {
    expect(takeTokenFromFragment(`#token=${TOKEN}`)).toEqual({ token: TOKEN, cleanedHash: '' });
  });

  it('accepts the fragment without its leading #', () => {
    expect(takeTokenFromFragment(`token=${TOKEN}`)).toEqual({ token: TOKEN, cleanedHash: '' });
  });

  it('keeps upper-case hex exactly as given (the bridge compares the token byte for byte)', () => {
    expect(takeTokenFromFragment(`#token=${UPPER}`).token).toBe(UPPER);
  });

  it('reports no token and no problem for an empty fragment', () => {
    expect(takeTokenFromFragment('')).toEqual({ token: undefined, cleanedHash: '' });
    expect(takeTokenFromFragment('#')).toEqual({ token: undefined, cleanedHash: '' });
  });

  it('leaves a fragment without a token parameter exactly as it was', () => {
    expect(takeTokenFromFragment('#view=inbox&x=%20y')).toEqual({
      token: undefined,
      cleanedHash: '#view=inbox&x=%20y',
    });
    expect(takeTokenFromFragment('#/settings')).toEqual({
      token: undefined,
      cleanedHash: '#/settings',
    });
  });

  it('removes the token but keeps other parameters in order and unchanged', () => {
    expect(takeTokenFromFragment(`#view=inbox&token=${TOKEN}&q=a%26b`)).toEqual({
      token: TOKEN,
      cleanedHash: '#view=inbox&q=a%26b',
    });
    expect(takeTokenFromFragment(`#token=${TOKEN}&view=inbox`)).toEqual({
      token: TOKEN,
      cleanedHash: '#view=inbox',
    });
  });

  it('drops empty parameters left around the removed token', () => {
    expect(takeTokenFromFragment(`#&token=${TOKEN}&&`)).toEqual({ token: TOKEN, cleanedHash: '' });
  });

  it('matches the parameter name exactly, not a prefix or another case', () => {
    const near = `#tokens=${TOKEN}&Token=${TOKEN}&xtoken=${TOKEN}`;
    expect(takeTokenFromFragment(near)).toEqual({ token: undefined, cleanedHash: near });
  });

  it.each([
    ['empty value', '#token='],
    ['no value at all', '#token'],
    ['non-hex characters', `#token=${'g'.repeat(64)}`],
    ['percent-encoded digits', `#token=%61${TOKEN.slice(1)}`],
    ['too short (31 digits)', `#token=${TOKEN.slice(0, 31)}`],
    ['too long (129 digits)', `#token=${TOKEN}${TOKEN}a`],
    ['trailing space', `#token=${TOKEN}%20`],
    ['a second equals sign', `#token=${TOKEN}=`],
  ])('refuses a malformed token (%s) and still removes it from the fragment', (_name, hash) => {
    const result = takeTokenFromFragment(`${hash}&view=inbox`);
    expect(result).toEqual({ token: undefined, cleanedHash: '#view=inbox', problem: 'malformed' });
  });

  it('refuses a token given twice, even if both are well formed, and removes both', () => {
    const other = 'b'.repeat(64);
    expect(takeTokenFromFragment(`#token=${TOKEN}&view=1&token=${other}`)).toEqual({
      token: undefined,
      cleanedHash: '#view=1',
      problem: 'duplicate',
    });
  });

  it('refuses a fragment longer than MAX_FRAGMENT_CHARS and keeps none of it', () => {
    const hash = `#token=${TOKEN}&pad=${'x'.repeat(MAX_FRAGMENT_CHARS)}`;
    expect(hash.length).toBeGreaterThan(MAX_FRAGMENT_CHARS);
    expect(takeTokenFromFragment(hash)).toEqual({
      token: undefined,
      cleanedHash: '',
      problem: 'too-long',
    });
  });

  it('accepts a fragment of exactly MAX_FRAGMENT_CHARS', () => {
    const prefix = `#token=${TOKEN}&pad=`;
    const hash = prefix + 'x'.repeat(MAX_FRAGMENT_CHARS - prefix.length);
    expect(hash.length).toBe(MAX_FRAGMENT_CHARS);
    expect(takeTokenFromFragment(hash).token).toBe(TOKEN);
  });

  it('never leaves the token anywhere in the cleaned fragment', () => {
    for (const hash of [
      `#token=${TOKEN}`,
      `#a=1&token=${TOKEN}&b=2`,
      `#token=${TOKEN}&token=${TOKEN}`,
      `#token=${TOKEN}z`,
      `#token=${TOKEN}&pad=${'x'.repeat(MAX_FRAGMENT_CHARS)}`,
    ]) {
      expect(takeTokenFromFragment(hash).cleanedHash).not.toContain(TOKEN);
    }
  });
});

describe('isWellFormedToken', () => {
  it('accepts 32 to 128 hex digits', () => {
    expect(isWellFormedToken(TOKEN)).toBe(true);
    expect(isWellFormedToken('0'.repeat(32))).toBe(true);
    expect(isWellFormedToken('f'.repeat(128))).toBe(true);
  });

  it('refuses anything else, including what sessionStorage hands back for a missing key', () => {
    expect(isWellFormedToken(null)).toBe(false);
    expect(isWellFormedToken(undefined)).toBe(false);
    expect(isWellFormedToken('')).toBe(false);
    expect(isWellFormedToken('0'.repeat(31))).toBe(false);
    expect(isWellFormedToken('f'.repeat(129))).toBe(false);
    expect(isWellFormedToken(`${TOKEN}\n`)).toBe(false);
    expect(isWellFormedToken(42)).toBe(false);
  });
});

describe('token storage key', () => {
  it('is the documented sessionStorage key', () => {
    expect(TOKEN_STORAGE_KEY).toBe('sealpost.bridgeToken');
  });
});
