/**
 * The mail window's performance helpers in renderer/src/mail/model.ts: a long plain-text body
 * cut into blocks the reading pane lays out lazily (textBlocks), and the list's dates made
 * with formatters created once (formatListDate, formatFullDate), which must say exactly what
 * the browser's own toLocale…String calls say.
 */
import { describe, expect, it } from 'vitest';

import {
  TEXT_BLOCK_CHARS,
  formatFullDate,
  formatListDate,
  textBlocks,
} from '../../renderer/src/mail/model.js';

describe('textBlocks', () => {
  it('keeps a short text as one block', () => {
    expect(textBlocks('')).toEqual(['']);
    expect(textBlocks('one line\nanother\n')).toEqual(['one line\nanother\n']);
  });

  it('cuts a long text after line breaks, and the blocks join to the text exactly', () => {
    const line = 'Day 1: observations, vitals stable, medication continued as charted.\r\n';
    const text = `${line.repeat(20_000)}END`;
    const blocks = textBlocks(text);
    expect(blocks.length).toBeGreaterThan(text.length / TEXT_BLOCK_CHARS - 1);
    expect(blocks.join('')).toBe(text);
    for (const block of blocks.slice(0, -1)) {
      expect(block.endsWith('\n')).toBe(true);
      expect(block.length).toBeLessThanOrEqual(TEXT_BLOCK_CHARS);
      // Cut at the last line break that fits: no block is much shorter than the limit.
      expect(block.length).toBeGreaterThan(TEXT_BLOCK_CHARS - line.length);
    }
    expect(blocks.at(-1)?.endsWith('END')).toBe(true);
  });

  it('cuts a line longer than a block where it must, losing nothing', () => {
    const text = `short\n${'x'.repeat(TEXT_BLOCK_CHARS * 2 + 5)}\ntail`;
    const blocks = textBlocks(text);
    expect(blocks.join('')).toBe(text);
    expect(blocks[0]).toBe('short\n');
    expect(blocks.every((block) => block.length <= TEXT_BLOCK_CHARS)).toBe(true);
  });
});

describe('list and full dates', () => {
  const now = new Date(2026, 10, 27, 15, 30);

  it('say what toLocaleTimeString / toLocaleDateString / toLocaleString say', () => {
    const today = new Date(2026, 10, 27, 9, 5);
    const thisYear = new Date(2026, 2, 3, 12, 0);
    const earlier = new Date(2024, 0, 31, 23, 59);
    expect(formatListDate(today.toISOString(), now)).toBe(
      today.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' }),
    );
    expect(formatListDate(thisYear.toISOString(), now)).toBe(
      thisYear.toLocaleDateString(undefined, { day: 'numeric', month: 'short' }),
    );
    expect(formatListDate(earlier.toISOString(), now)).toBe(
      earlier.toLocaleDateString(undefined, { day: 'numeric', month: 'short', year: 'numeric' }),
    );
    expect(formatFullDate(earlier.toISOString())).toBe(
      earlier.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }),
    );
  });

  it('give nothing (list) or the input (full) for a date that does not parse', () => {
    expect(formatListDate('not a date', now)).toBe('');
    expect(formatFullDate('not a date')).toBe('not a date');
  });
});
