/**
 * The compose window's forward and From decisions (renderer/src/mail/model.ts): which of a
 * forwarded message's attachments fit the compose limits and why the others do not, base64
 * sizes, the forward seed naming the original's attachments, and the From choices with the
 * address a domain-bound identity makes of the name the user types.
 */
import { describe, expect, it } from 'vitest';

import { LIMITS } from '../../hisp/api/index.js';
import type { OpenedMessage } from '../../hisp/api/index.js';
import {
  base64Size,
  domainFromAddress,
  fitAttachments,
  forwardedName,
  fromChoices,
  fromChoiceValue,
  seedFrom,
} from '../../renderer/src/mail/model.js';

const MB = 1024 * 1024;

describe('fitAttachments', () => {
  it('keeps what fits in order, skips a file too big and still takes smaller ones after it', () => {
    const { accepted, refused } = fitAttachments(
      [5 * MB],
      [
        { filename: 'a.pdf', size: 10 * MB },
        { filename: 'scan.tiff', size: 6 * MB },
        { filename: 'b.txt', size: 5 * MB },
      ],
    );
    expect(accepted.map((f) => f.filename)).toEqual(['a.pdf', 'b.txt']);
    expect(refused.map((r) => r.file.filename)).toEqual(['scan.tiff']);
    expect(refused[0]?.reason).toBe(
      'scan.tiff (6.0 MB): the attachments would add up to 21 MB, more than the 20 MB one message can carry.',
    );
  });

  it('accepts exactly the byte limit and refuses one byte more', () => {
    const limit = LIMITS.composeAttachmentBytes;
    expect(fitAttachments([], [{ filename: 'x', size: limit }]).accepted).toHaveLength(1);
    expect(fitAttachments([1], [{ filename: 'x', size: limit }]).refused).toHaveLength(1);
  });

  it('counts attachments against the most one message can carry', () => {
    const existing = new Array<number>(LIMITS.composeAttachments - 1).fill(1);
    const { accepted, refused } = fitAttachments(existing, [
      { filename: 'last.txt', size: 1 },
      { filename: 'one-too-many.txt', size: 1 },
    ]);
    expect(accepted.map((f) => f.filename)).toEqual(['last.txt']);
    expect(refused[0]?.reason).toBe(
      `one-too-many.txt: a message can carry at most ${LIMITS.composeAttachments} attachments.`,
    );
  });
});

describe('base64Size', () => {
  it.each([0, 1, 2, 3, 4, 5, 1000, 1001, 1002])('%d bytes', (n) => {
    const encoded = Buffer.alloc(n, 0xab).toString('base64');
    expect(base64Size(encoded)).toBe(n);
  });
});

describe('seedFrom forward', () => {
  const message: OpenedMessage = {
    summary: {
      id: 42,
      folder: 'inbox',
      direction: 'in',
      seen: true,
      flagged: false,
      answered: false,
      receivedAt: '2026-03-01T10:00:00.000Z',
      subject: 'Lab results',
      sender: 'lab@lab.test',
      recipients: ['dr.baker@practice-b.test'],
      snippet: '',
      hasAttachments: true,
      size: 10,
      trusted: true,
    },
    from: 'Lab <lab@lab.test>',
    to: ['dr.baker@practice-b.test'],
    cc: [],
    decrypted: true,
    text: 'See attached.',
    attachments: [
      { index: 0, filename: 'results.pdf', contentType: 'application/pdf', size: 1234 },
      { index: 1, filename: '  ', contentType: 'text/plain', size: 2 },
    ],
    verification: { trusted: true, reasons: [] },
  };

  it('names the original message and its attachments; a reply carries none', () => {
    const seed = seedFrom(message, 'forward', []);
    expect(seed.forward).toEqual({ id: 42, attachments: message.attachments });
    expect(seedFrom(message, 'reply', []).forward).toBeUndefined();
    expect(seedFrom({ ...message, attachments: [] }, 'forward', []).forward).toBeUndefined();
  });

  it('sends an attachment without a name as attachment-N, and cuts long names to 255', () => {
    expect(message.attachments.map(forwardedName)).toEqual(['results.pdf', 'attachment-2']);
    expect(
      forwardedName({ index: 0, filename: 'x'.repeat(300), contentType: '', size: 0 }),
    ).toHaveLength(255);
  });
});

describe('From choices', () => {
  it('lists the given addresses, then other address-bound identities, then domain-bound ones, once each', () => {
    const choices = fromChoices(
      ['dr.adams@practice-a.test'],
      [
        { address: '@clinic.test', bound: 'domain' },
        { address: 'DR.ADAMS@practice-a.test', bound: 'address' },
        { address: 'nurse@practice-a.test', bound: 'address' },
        { address: '@clinic.test', bound: 'domain' },
      ],
    );
    expect(choices.map(fromChoiceValue)).toEqual([
      'dr.adams@practice-a.test',
      'nurse@practice-a.test',
      '@clinic.test',
    ]);
    expect(choices[2]).toEqual({ kind: 'domain', domain: 'clinic.test' });
  });

  it('takes a domain-bound identity as "@domain" or as the bare domain, given or listed', () => {
    expect(
      fromChoices(['practice-a.test'], [{ address: 'practice-a.test', bound: 'domain' }]),
    ).toEqual([{ kind: 'domain', domain: 'practice-a.test' }]);
    expect(fromChoices([], [{ address: '@clinic.test', bound: 'domain' }])).toEqual([
      { kind: 'domain', domain: 'clinic.test' },
    ]);
  });

  it('offers the given addresses while the identities are still being read', () => {
    expect(fromChoices(['a@x.test'], undefined)).toEqual([
      { kind: 'address', address: 'a@x.test' },
    ]);
  });
});

describe('domainFromAddress', () => {
  it('makes the address of the name typed, or of the whole address pasted at the same domain', () => {
    expect(domainFromAddress(' frontdesk ', 'clinic.test')).toEqual({
      ok: true,
      address: 'frontdesk@clinic.test',
    });
    expect(domainFromAddress('dr.o-neil+ref@Clinic.Test', 'clinic.test')).toEqual({
      ok: true,
      address: 'dr.o-neil+ref@clinic.test',
    });
  });

  it.each([
    ['', /Type the part of the address before @clinic\.test/],
    ['front desk', /no spaces/],
    ['.frontdesk', /no dot at either end/],
    ['front..desk', /two in a row/],
    ['a"b', /letters, digits/],
    ['x'.repeat(65), /at most 64 characters/],
    ['frontdesk@other.test', /Type only the part before @clinic\.test/],
  ])('refuses %j, saying why', (typed, reason) => {
    const made = domainFromAddress(typed, 'clinic.test');
    expect(made.ok).toBe(false);
    if (!made.ok) expect(made.reason).toMatch(reason);
  });
});
