import { describe, expect, it } from 'vitest';
import {
  CertificateEventMonitor,
  type CertificateEvent,
} from '../../hisp/certs/discovery/monitor.js';

function clock(start = Date.parse('2026-11-26T10:00:00Z')) {
  let now = start;
  return { now: () => new Date(now), advance: (ms: number) => (now += ms) };
}

const event = (domain: string, n: number) =>
  ({
    domain,
    code: 'CERT_UNTRUSTED',
    fingerprintSha256: n.toString(16).padStart(64, '0'),
    source: 'dns',
  }) as const;

describe('invalid-certificate events (risks 10 and 11)', () => {
  it('counts events per domain and reason code', () => {
    const monitor = new CertificateEventMonitor();
    monitor.record(event('Example.ORG', 1));
    monitor.record(event('example.org', 2));
    monitor.record({ ...event('other.test', 3), code: 'CERT_EXPIRED' });
    expect(monitor.counts()).toEqual({
      'example.org': { CERT_UNTRUSTED: 2 },
      'other.test': { CERT_EXPIRED: 1 },
    });
  });

  it('alerts once when a domain crosses the threshold within the window, and re-arms after it falls back', () => {
    const time = clock();
    const alerts: Array<[string, number]> = [];
    const monitor = new CertificateEventMonitor({
      threshold: 3,
      windowMs: 60_000,
      now: time.now,
      onAlert: (domain, events: readonly CertificateEvent[]) =>
        alerts.push([domain, events.length]),
    });
    monitor.record(event('example.org', 1));
    monitor.record(event('example.org', 2));
    expect(alerts).toEqual([]);
    monitor.record(event('example.org', 3));
    monitor.record(event('example.org', 4));
    expect(alerts).toEqual([['example.org', 3]]); // once, not per event
    time.advance(61_000); // the window passes: old events no longer count
    monitor.record(event('example.org', 5));
    expect(monitor.recent('example.org')).toHaveLength(1);
    monitor.record(event('example.org', 6));
    monitor.record(event('example.org', 7));
    expect(alerts).toEqual([
      ['example.org', 3],
      ['example.org', 3],
    ]);
  });

  it('events spread over time below the threshold never alert', () => {
    const time = clock();
    const alerts: string[] = [];
    const monitor = new CertificateEventMonitor({
      threshold: 3,
      windowMs: 60_000,
      now: time.now,
      onAlert: (d) => alerts.push(d),
    });
    for (let i = 0; i < 10; i++) {
      monitor.record(event('example.org', i));
      time.advance(40_000);
    }
    expect(alerts).toEqual([]);
    expect(monitor.counts()['example.org']?.CERT_UNTRUSTED).toBe(10);
  });

  it('risk-16: memory stays bounded under a flood of events', () => {
    const monitor = new CertificateEventMonitor({ threshold: 1_000_000 });
    for (let i = 0; i < 5000; i++) monitor.record(event('flood.test', i));
    expect(monitor.recent('flood.test').length).toBeLessThanOrEqual(1000);
    expect(monitor.counts()['flood.test']?.CERT_UNTRUSTED).toBe(5000);
  });
});
