/**
 * The mail window's calls (hisp/host/mailbox.ts) at their edges: what came from outside is
 * clamped to the contract's bounds, so one hostile message cannot make a whole list fail the
 * contract check; attachments over the limit are refused with a typed error. The calls
 * themselves run end to end in test/integration/serve-mail.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { LIMITS, MessageSummarySchema } from '../../hisp/api/index.js';
import { decodeAttachments, summaryOf } from '../../hisp/host/mailbox.js';
import type { IndexRow } from '../../hisp/store/mail.js';

const row = (over: Partial<IndexRow> = {}): IndexRow => ({
  id: 7,
  direction: 'in',
  folder: 'inbox',
  flags: { seen: false, flagged: false, answered: false },
  receivedAt: '2026-11-27T00:00:00.000Z',
  size: 1234,
  trusted: true,
  subject: 'Hello',
  sender: 'Dr. Adams <dr.adams@practice-a.test>',
  recipients: ['dr.baker@practice-b.test'],
  sentAt: 'Fri, 27 Nov 2026 00:00:00 +0000',
  snippet: 'Hi',
  attachmentNames: [],
  hasAttachments: false,
  ...over,
});

describe('mailbox calls: list rows', () => {
  it('clamps a hostile subject, sender, snippet and recipient list to the contract', () => {
    const summary = summaryOf(
      row({
        subject: 'S'.repeat(100_000),
        sender: 'x'.repeat(50_000),
        snippet: 'y'.repeat(10_000),
        recipients: Array.from({ length: 5000 }, (_, i) => `r${i}@example.test`),
      }),
    );
    expect(() => MessageSummarySchema.parse(summary)).not.toThrow();
    expect(summary.subject).toHaveLength(4000);
    expect(summary.recipients).toHaveLength(1000);
  });

  it('gives the Date header as ISO 8601 when it parses, and leaves it out when it does not', () => {
    expect(summaryOf(row()).sentAt).toBe('2026-11-27T00:00:00.000Z');
    expect(summaryOf(row({ sentAt: 'not a date' }))).not.toHaveProperty('sentAt');
    expect(() => MessageSummarySchema.parse(summaryOf(row({ sentAt: 'garbage' })))).not.toThrow();
  });
});

describe('mailbox calls: attachments from compose', () => {
  it('decodes base64 and refuses more than the compose limit in total, with LIMIT_EXCEEDED', () => {
    const half = Buffer.alloc(LIMITS.composeAttachmentBytes / 2 + 1, 1).toString('base64');
    const one = { filename: 'a.bin', contentType: 'application/octet-stream', dataBase64: half };
    expect(decodeAttachments([one])[0]?.content.length).toBe(LIMITS.composeAttachmentBytes / 2 + 1);
    expect(() => decodeAttachments([one, one])).toThrow(
      expect.objectContaining({ code: 'LIMIT_EXCEEDED' }),
    );
    expect(decodeAttachments(undefined)).toEqual([]);
  });
});
