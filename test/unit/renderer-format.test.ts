/** Words the status screen uses for what the HISP reports. */
import { describe, expect, it } from 'vitest';

import {
  componentStateLabel,
  formatUptime,
  modeLabel,
  productLabel,
  stateLabel,
} from '../../renderer/src/format.js';

describe('formatUptime', () => {
  it.each([
    [0, '0 s'],
    [999, '0 s'],
    [45_000, '45 s'],
    [60_000, '1 min'],
    [200_000, '3 min 20 s'],
    [3_600_000, '1 h'],
    [7_500_000, '2 h 5 min'],
    [86_400_000, '1 d'],
    [90_000_000, '1 d 1 h'],
  ])('%d ms reads as %s', (ms, text) => {
    expect(formatUptime(ms)).toBe(text);
  });

  it('reads negative or non-finite input as 0 s', () => {
    expect(formatUptime(-5000)).toBe('0 s');
    expect(formatUptime(Number.NaN)).toBe('0 s');
    expect(formatUptime(Number.POSITIVE_INFINITY)).toBe('0 s');
  });
});

describe('labels', () => {
  it('names every HISP state, mode and component state', () => {
    expect(stateLabel('ready')).toBe('Ready');
    expect(stateLabel('starting')).toBe('Starting');
    expect(stateLabel('locked')).toBe('Locked');
    expect(stateLabel('stopping')).toBe('Stopping');
    expect(modeLabel('server')).toBe('Server');
    expect(modeLabel('demo')).toBe('Demo');
    expect(modeLabel('desktop')).toBe('Desktop');
    expect(componentStateLabel('ok')).toBe('OK');
    expect(componentStateLabel('down')).toBe('Down');
    expect(productLabel('sealpost')).toBe('Sealpost');
  });

  it('throws on a state the contract does not know (exhaustive switch)', () => {
    expect(() => stateLabel('exploded' as never)).toThrow(/Unhandled case: exploded/);
  });
});
