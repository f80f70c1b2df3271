import { describe, expect, it } from 'vitest';
import { DiscoveryCache } from '../../hisp/certs/discovery/cache.js';
import type { DiscoveryResult, SelectedCertificate } from '../../hisp/certs/discovery/discover.js';

const usable = (address: string): DiscoveryResult => ({
  address,
  selected: [{ source: 'dns', bound: 'address' } as unknown as SelectedCertificate],
  rejected: [],
  problems: [],
});
const nothing = (address: string): DiscoveryResult => ({
  address,
  selected: [],
  rejected: [],
  problems: [],
});

function clock() {
  let now = 1_000_000;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('DiscoveryCache', () => {
  it('keeps a usable result for the record TTL, case-insensitively', () => {
    const time = clock();
    const cache = new DiscoveryCache({ now: time.now });
    const result = usable('alice@example.org');
    cache.set('Alice@Example.ORG', result, 300);
    expect(cache.get('alice@example.org')).toBe(result);
    time.advance(299_000);
    expect(cache.get('alice@example.org')).toBe(result);
    time.advance(2_000);
    expect(cache.get('alice@example.org')).toBeUndefined();
  });

  it('never longer than maxTtlMs, whatever the record says; LDAP results get the default', () => {
    const time = clock();
    const cache = new DiscoveryCache({ now: time.now, maxTtlMs: 60_000, defaultTtlMs: 30_000 });
    cache.set('a@x.test', usable('a@x.test'), 86_400);
    cache.set('b@x.test', usable('b@x.test'), undefined);
    time.advance(31_000);
    expect(cache.get('a@x.test')).toBeDefined();
    expect(cache.get('b@x.test')).toBeUndefined();
    time.advance(30_000);
    expect(cache.get('a@x.test')).toBeUndefined();
  });

  it('negative caching: nothing usable is kept for negativeTtlMs', () => {
    const time = clock();
    const cache = new DiscoveryCache({ now: time.now, negativeTtlMs: 10_000 });
    cache.set('nobody@x.test', nothing('nobody@x.test'), 3600);
    time.advance(9_000);
    expect(cache.get('nobody@x.test')?.selected).toEqual([]);
    time.advance(2_000);
    expect(cache.get('nobody@x.test')).toBeUndefined();
  });

  it('a zero TTL is not cached, and the entry count is bounded', () => {
    const cache = new DiscoveryCache({ maxEntries: 3 });
    cache.set('zero@x.test', usable('zero@x.test'), 0);
    expect(cache.get('zero@x.test')).toBeUndefined();
    for (const name of ['a', 'b', 'c', 'd'])
      cache.set(`${name}@x.test`, usable(`${name}@x.test`), 60);
    expect(cache.size).toBe(3);
    expect(cache.get('a@x.test')).toBeUndefined();
    expect(cache.get('d@x.test')).toBeDefined();
  });
});
