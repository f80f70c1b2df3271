/**
 * The mail window's small decisions (renderer/src/mail/model.ts, selection.ts): addresses
 * typed into To/Cc, whether Send may go ahead, the attachment budget, the Sent list's
 * delivery column, reply text, base64, and the list selection.
 */
import { describe, expect, it } from 'vitest';

import { LIMITS } from '../../hisp/api/index.js';
import type { OpenedMessage, RecipientCheck } from '../../hisp/api/index.js';
import {
  attachmentBudget,
  base64ToBytes,
  bytesToBase64,
  decideSend,
  deliveryColumn,
  formatBytes,
  parseAddresses,
  seedFrom,
} from '../../renderer/src/mail/model.js';
import type { RecipientState } from '../../renderer/src/mail/model.js';
import {
  EMPTY_SELECTION,
  clampIndex,
  followSelected,
  isSelected,
  pick,
  resolvePending,
  selectAll,
  single,
} from '../../renderer/src/mail/selection.js';

function checked(address: string, state: RecipientCheck['state']): [string, RecipientState] {
  return [
    address.toLowerCase(),
    {
      kind: 'checked',
      check: {
        address,
        state,
        certificates: [],
        rejected: [],
        problems: [],
        checkedAt: '2026-03-01T10:00:00.000Z',
      },
    },
  ];
}

describe('parseAddresses', () => {
  it('splits on commas, semicolons and spaces, keeps the address of "Name <addr>" and drops duplicates', () => {
    expect(
      parseAddresses('a@x.test, B@Y.test;  <c@z.test>\n a@X.TEST e@v.test,, Dr Who <d@w.test>'),
    ).toEqual(['a@x.test', 'B@Y.test', 'c@z.test', 'e@v.test', 'd@w.test']);
  });

  it('drops empty parts and anything longer than an address can be', () => {
    expect(parseAddresses(' ,; ')).toEqual([]);
    expect(parseAddresses(`${'x'.repeat(400)}@y.test`)).toEqual([]);
  });
});

describe('decideSend', () => {
  it('refuses with no recipient', () => {
    expect(decideSend([], new Map())).toEqual({ ok: false, reason: 'Add at least one recipient.' });
  });

  it('waits for checks still running', () => {
    const decision = decideSend(['a@x.test'], new Map([['a@x.test', { kind: 'checking' }]]));
    expect(decision.ok).toBe(false);
  });

  it('refuses when no recipient has a usable certificate, and says so', () => {
    const decision = decideSend(
      ['nobody@x.test', 'bad@y.test'],
      new Map([checked('nobody@x.test', 'not-found'), checked('bad@y.test', 'untrusted')]),
    );
    expect(decision).toEqual({
      ok: false,
      reason: expect.stringContaining('None of the recipients can receive Direct mail') as string,
    });
  });

  it('goes ahead when some can receive it, naming those that cannot', () => {
    const decision = decideSend(
      ['Dr.Baker@B.test', 'nobody@x.test'],
      new Map([checked('dr.baker@b.test', 'found'), checked('nobody@x.test', 'not-found')]),
    );
    expect(decision).toEqual({ ok: true, blocked: ['nobody@x.test'] });
  });

  it('counts a check that could not run as blocked', () => {
    const decision = decideSend(
      ['a@x.test'],
      new Map<string, RecipientState>([['a@x.test', { kind: 'error', message: 'timeout' }]]),
    );
    expect(decision.ok).toBe(false);
  });
});

describe('attachmentBudget', () => {
  it('shows the total against the limit and says when it no longer fits', () => {
    const fits = attachmentBudget([1024, 2048]);
    expect(fits).toMatchObject({ total: 3072, limit: LIMITS.composeAttachmentBytes, fits: true });
    expect(fits.text).toBe('3.0 KB of 20 MB');
    expect(attachmentBudget([LIMITS.composeAttachmentBytes, 1]).fits).toBe(false);
    expect(attachmentBudget(new Array<number>(LIMITS.composeAttachments + 1).fill(1)).fits).toBe(
      false,
    );
  });
});

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1536, '1.5 KB'],
    [20 * 1024 * 1024, '20 MB'],
    [-1, '0 B'],
  ])('%d bytes read as %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});

describe('deliveryColumn', () => {
  const base = {
    recipients: 1,
    pending: 0,
    relayed: 0,
    processed: 0,
    dispatched: 0,
    failed: 0,
    timedOut: 0,
  };
  it('puts failures first, then confirmation', () => {
    expect(deliveryColumn({ ...base, recipients: 2, failed: 1, dispatched: 1 })).toEqual({
      tone: 'bad',
      text: 'Failed 1/2',
    });
    expect(deliveryColumn({ ...base, timedOut: 1 })).toEqual({
      tone: 'bad',
      text: 'Not confirmed',
    });
    expect(deliveryColumn({ ...base, dispatched: 1 })).toEqual({ tone: 'ok', text: 'Delivered' });
    expect(deliveryColumn({ ...base, processed: 1 })).toEqual({ tone: 'ok', text: 'Processed' });
    expect(deliveryColumn({ ...base, relayed: 1, pending: 1 }).text).toBe(
      'Sent, awaiting confirmation',
    );
    expect(deliveryColumn({ ...base, pending: 1 }).text).toBe('Queued');
  });
});

describe('seedFrom', () => {
  const message: OpenedMessage = {
    summary: {
      id: 3,
      folder: 'inbox',
      direction: 'in',
      seen: true,
      flagged: false,
      answered: false,
      receivedAt: '2026-03-01T10:00:00.000Z',
      subject: 'Referral',
      sender: 'dr.adams@practice-a.test',
      recipients: ['dr.baker@practice-b.test'],
      snippet: '',
      hasAttachments: false,
      size: 10,
      trusted: true,
    },
    from: 'Dr. Adams <dr.adams@practice-a.test>',
    to: ['dr.baker@practice-b.test', 'nurse@practice-b.test'],
    cc: ['lab@practice-c.test'],
    messageId: '<m1@practice-a.test>',
    decrypted: true,
    text: 'line one\nline two',
    attachments: [],
    verification: { trusted: true, reasons: [] },
  };

  it('replies to the sender only, quoting the text and naming the message answered', () => {
    const seed = seedFrom(message, 'reply', ['dr.baker@practice-b.test']);
    expect(seed.to).toEqual(['dr.adams@practice-a.test']);
    expect(seed.cc).toEqual([]);
    expect(seed.subject).toBe('Re: Referral');
    expect(seed.text).toContain('> line one\n> line two');
    expect(seed.inReplyTo).toBe('<m1@practice-a.test>');
  });

  it('replies to all except this profile, and does not stack prefixes', () => {
    const seed = seedFrom(
      { ...message, summary: { ...message.summary, subject: 'RE: Referral' } },
      'reply-all',
      ['DR.BAKER@practice-b.test'],
    );
    expect(seed.cc).toEqual(['nurse@practice-b.test', 'lab@practice-c.test']);
    expect(seed.subject).toBe('RE: Referral');
  });

  it('forwards with no recipient and the original headers in the text', () => {
    const seed = seedFrom(message, 'forward', []);
    expect(seed.to).toEqual([]);
    expect(seed.subject).toBe('Fwd: Referral');
    expect(seed.text).toContain('From: Dr. Adams <dr.adams@practice-a.test>');
    expect(seed.inReplyTo).toBeUndefined();
  });
});

describe('base64', () => {
  it('round-trips every byte value and matches Node’s encoding, beyond one chunk', () => {
    const bytes = new Uint8Array(100_000).map((_, i) => (i * 7) % 256);
    const encoded = bytesToBase64(bytes);
    expect(encoded).toBe(Buffer.from(bytes).toString('base64'));
    expect(base64ToBytes(encoded)).toEqual(bytes);
  });
});

describe('selection', () => {
  const ids = [10, 11, 12, 13, 14];
  const idAt = (i: number): number | undefined => ids[i];
  const plain = { toggle: false, range: false };

  it('selects one row with a plain pick, and a range with Shift from the anchor', () => {
    const one = pick(EMPTY_SELECTION, 1, 11, plain, idAt);
    expect(single(one)).toBe(11);
    const range = pick(one, 3, 13, { toggle: false, range: true }, idAt);
    expect([...range.ids]).toEqual([11, 12, 13]);
    expect(range.anchor).toBe(1);
    expect(range.focus).toBe(3);
    expect(single(range)).toBeUndefined();
  });

  it('toggles with Ctrl, keeping the rest', () => {
    const one = pick(EMPTY_SELECTION, 0, 10, plain, idAt);
    const two = pick(one, 4, 14, { toggle: true, range: false }, idAt);
    expect([...two.ids].sort()).toEqual([10, 14]);
    const back = pick(two, 0, 10, { toggle: true, range: false }, idAt);
    expect([...back.ids]).toEqual([14]);
  });

  it('selects all rows, loaded or not, with Ctrl+A', () => {
    const all = selectAll(pick(EMPTY_SELECTION, 0, 10, plain, idAt));
    expect(isSelected(all, 99_999)).toBe(true);
    expect(single(all)).toBeUndefined();
  });

  it('selects a row picked before its page arrived as soon as its id is known', () => {
    const early = pick(EMPTY_SELECTION, 250, undefined, plain, () => undefined);
    expect(early.pending).toBe(true);
    expect(single(early)).toBeUndefined();
    expect(resolvePending(early, () => undefined)).toBe(early);
    const loaded = resolvePending(early, (i) => (i === 250 ? 777 : undefined));
    expect(single(loaded)).toBe(777);
    expect(loaded.pending).toBeUndefined();
  });

  it('keeps the focus on the selected message when new mail pushes it down', () => {
    const focused = pick(EMPTY_SELECTION, 2, 12, plain, idAt);
    const after = [99, 98, ...ids]; // two new messages on top
    const moved = followSelected(focused, (i) => after[i]);
    expect(moved.focus).toBe(4);
    expect(moved.anchor).toBe(4);
    expect(single(moved)).toBe(12);
    expect(followSelected(focused, idAt)).toBe(focused);
    // Gone from the list (deleted elsewhere): left as it was.
    expect(followSelected(focused, () => 1)).toBe(focused);
  });

  it('keeps indexes inside the list', () => {
    expect(clampIndex(-3, 5)).toBe(0);
    expect(clampIndex(9, 5)).toBe(4);
    expect(clampIndex(2, 0)).toBe(0);
  });
});
