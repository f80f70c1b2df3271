import { describe, expect, it } from 'vitest';

import { HispError } from '../../hisp/api/errors.js';
import {
  escapeFilterValue,
  ldapFilters,
  ldapMailValues,
  orderSrvTargets,
  splitAddress,
} from '../../hisp/certs/discovery/ldap.js';
import type { SrvTarget } from '../../hisp/certs/discovery/ldap.js';

const target = (host: string, priority: number, weight: number, port = 389): SrvTarget => ({
  host,
  port,
  priority,
  weight,
});

/** A random source that returns the given values in turn (then repeats the last). */
function sequence(...values: number[]): () => number {
  let i = 0;
  return () => values[Math.min(i++, values.length - 1)] ?? 0;
}

const hosts = (list: readonly SrvTarget[]): string[] => list.map((t) => t.host);

describe('orderSrvTargets (RFC 2782)', () => {
  it('orders by priority ascending whatever the record order', () => {
    const ordered = orderSrvTargets(
      [target('c', 20, 0), target('a', 0, 0), target('b', 10, 0)],
      () => 0.5,
    );
    expect(hosts(ordered)).toEqual(['a', 'b', 'c']);
  });

  it('weight 100 against weight 0 always picks the weighted one first', () => {
    for (const r of [0, 0.001, 0.5, 0.999, 0.999999999]) {
      const ordered = orderSrvTargets([target('zero', 0, 0), target('heavy', 0, 100)], () => r);
      expect(hosts(ordered)).toEqual(['heavy', 'zero']);
    }
  });

  it('equal weights: either server can come first, decided by the random source', () => {
    const records = [target('x', 1, 50), target('y', 1, 50)];
    expect(hosts(orderSrvTargets(records, sequence(0.1)))).toEqual(['x', 'y']);
    expect(hosts(orderSrvTargets(records, sequence(0.9)))).toEqual(['y', 'x']);
    const firsts = new Set<string>();
    for (let i = 0; i < 200; i++) firsts.add(orderSrvTargets(records)[0]?.host ?? '');
    expect(firsts).toEqual(new Set(['x', 'y']));
  });

  it('weights shape the draw: 1 vs 3 picks the heavier for draws above a quarter', () => {
    const records = [target('light', 0, 1), target('heavy', 0, 3)];
    expect(hosts(orderSrvTargets(records, () => 0.2))).toEqual(['light', 'heavy']);
    expect(hosts(orderSrvTargets(records, () => 0.3))).toEqual(['heavy', 'light']);
  });

  it('keeps every target and mixes priorities and weights', () => {
    const ordered = orderSrvTargets(
      [target('p1', 1, 0), target('p0a', 0, 10), target('p0b', 0, 10), target('p0z', 0, 0)],
      () => 0.99,
    );
    expect(hosts(ordered)).toEqual(['p0b', 'p0a', 'p0z', 'p1']);
  });

  it('drops "." targets (service decidedly not available)', () => {
    expect(orderSrvTargets([target('.', 0, 0)])).toEqual([]);
    expect(hosts(orderSrvTargets([target('.', 0, 0), target('ok', 1, 0)]))).toEqual(['ok']);
  });

  it('risk-16: hostile random sources and weights do not crash or lose targets', () => {
    const records = [target('a', 0, 5), target('b', 0, 65535), target('c', 0, 0)];
    for (const r of [NaN, -1, 1, 2, Infinity, -Infinity]) {
      const ordered = orderSrvTargets(records, () => r);
      expect(new Set(hosts(ordered))).toEqual(new Set(['a', 'b', 'c']));
    }
  });
});

describe('escapeFilterValue (RFC 4515)', () => {
  it('leaves ordinary addresses alone', () => {
    expect(escapeFilterValue('alice@example.test')).toBe('alice@example.test');
    expect(escapeFilterValue('o.brien+tag@example.test')).toBe('o.brien+tag@example.test');
  });

  it('escapes *, (, ), \\ and NUL as \\XX', () => {
    expect(escapeFilterValue('*')).toBe('\\2a');
    expect(escapeFilterValue('(')).toBe('\\28');
    expect(escapeFilterValue(')')).toBe('\\29');
    expect(escapeFilterValue('\\')).toBe('\\5c');
    expect(escapeFilterValue('\0')).toBe('\\00');
    expect(escapeFilterValue('a*b(c)d\\e\0f')).toBe('a\\2ab\\28c\\29d\\5ce\\00f');
  });

  it('keeps UTF-8 characters (RFC 4515 allows them unescaped)', () => {
    expect(escapeFilterValue('jörg@example.test')).toBe('jörg@example.test');
  });

  it('risk-16: a hostile address cannot widen or break out of the filter', () => {
    const hostile = '*)(objectClass=*))(|(mail=*';
    const { strict, plain } = ldapFilters(hostile);
    expect(plain).toBe('(mail=\\2a\\29\\28objectClass=\\2a\\29\\29\\28|\\28mail=\\2a)');
    for (const filter of [strict, plain]) {
      const value = filter.slice(filter.indexOf('(mail=') + 6);
      const end = value.indexOf(')');
      expect(value.slice(0, end)).not.toMatch(/[*()\0]/);
    }
  });

  it('builds the strict filter requiring a certificate attribute and the plain one', () => {
    expect(ldapFilters('alice@example.test')).toEqual({
      strict: '(&(mail=alice@example.test)(userCertificate=*))',
      plain: '(mail=alice@example.test)',
    });
  });
});

describe('ldapMailValues (DCDT D4: the domain after the address)', () => {
  it('searches the address, then the bare domain (lowercased IDNA)', () => {
    expect(ldapMailValues('Alice@Example.TEST')).toEqual([
      { mail: 'Alice@example.test', searched: 'address' },
      { mail: 'example.test', searched: 'domain' },
    ]);
    expect(ldapMailValues('bob@bücher.test')[1]).toEqual({
      mail: 'xn--bcher-kva.test',
      searched: 'domain',
    });
  });

  it('the domain value is only the domain part; a non-address is refused', () => {
    const [, domain] = ldapMailValues('a*b@example.test');
    expect(domain?.mail).toBe('example.test');
    expect(ldapFilters(domain?.mail ?? '').strict).toBe(
      '(&(mail=example.test)(userCertificate=*))',
    );
    expect(() => ldapMailValues('not-an-address')).toThrow(HispError);
  });
});

describe('splitAddress', () => {
  it('lowercases the domain and keeps the local part', () => {
    expect(splitAddress('Alice@Example.TEST.')).toEqual({
      address: 'Alice@example.test',
      domain: 'example.test',
    });
  });

  it('risk-16: refuses non-addresses, NUL and overlong input with BAD_REQUEST', () => {
    for (const bad of ['', 'alice', '@example.test', 'alice@', 'a\0@example.test', 'a b@x.test']) {
      expect(() => splitAddress(bad), JSON.stringify(bad)).toThrow(HispError);
    }
    const long = `${'a'.repeat(400)}@example.test`;
    try {
      splitAddress(long);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(HispError);
      expect((error as HispError).code).toBe('BAD_REQUEST');
    }
  });
});
