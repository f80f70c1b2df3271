/**
 * Direct delivery notifications (hisp/relay/mdn.ts): the MDN corpus in test/fixtures/mdn
 * (well-formed processed / dispatched / failed MDNs and a DSN, then malformed variants), the
 * decision to answer with an MDN, the request headers, and buildMdn → parseNotification round
 * trips. Hostile inputs carry risk-16 (parsers bounded): every byte prefix and seeded
 * corruption of the corpus gives a typed result, never an exception.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

import { headerValue, parseMime } from '../../hisp/agent/mime/index.js';
import {
  FINAL_DESTINATION_DELIVERY,
  buildMdn,
  parseNotification,
  requestHeaders,
  shouldSendMdn,
  type MdnDisposition,
  type MdnInput,
  type NotificationResult,
} from '../../hisp/relay/mdn.js';
import { thrownCode as codeOf } from '../services/hispErrors.js';

const corpusDir = resolve(import.meta.dirname, '..', 'fixtures', 'mdn');
const corpus = (name: string): Buffer => readFileSync(join(corpusDir, name));

const ORIG = '<orig-1@direct.sender.example>';
const BOB = 'bob@direct.receiver.example';

/** What each corpus file must parse to (partial match) and what its warnings must say. */
interface Expectation {
  readonly result: Record<string, unknown>;
  /** Each pattern matches some warning; `[]` means no warnings at all. */
  readonly warnings?: readonly RegExp[];
}

const EXPECTED: Record<string, Expectation> = {
  // ── well-formed ──
  'processed.eml': {
    result: {
      kind: 'mdn',
      originalMessageId: ORIG,
      finalRecipient: BOB,
      disposition: 'processed',
      modifiers: [],
      finalDestinationDelivery: false,
    },
    warnings: [],
  },
  'dispatched.eml': {
    result: {
      kind: 'mdn',
      originalMessageId: ORIG,
      finalRecipient: BOB,
      disposition: 'dispatched',
      finalDestinationDelivery: true,
    },
    warnings: [],
  },
  'failed.eml': {
    result: { kind: 'mdn', disposition: 'failed', failure: 'mailbox unavailable' },
    warnings: [],
  },
  'processed-error.eml': {
    result: {
      kind: 'mdn',
      disposition: 'failed',
      modifiers: ['error'],
      failure: 'content could not be stored',
    },
    warnings: [],
  },
  'dsn-failed-delayed.eml': {
    result: {
      kind: 'dsn',
      originalMessageId: '<orig-2@direct.sender.example>',
      recipients: [
        {
          finalRecipient: 'nobody@direct.receiver.example',
          action: 'failed',
          status: '5.1.1',
          diagnostic: 'smtp; 550 5.1.1 user unknown',
        },
        { finalRecipient: 'slow@direct.other.example', action: 'delayed', status: '4.4.1' },
      ],
    },
    warnings: [],
  },
  'base64-notification.eml': {
    result: { kind: 'mdn', disposition: 'displayed', originalMessageId: ORIG },
    warnings: [],
  },
  // ── malformed but readable ──
  'odd-case-headers.eml': {
    result: { kind: 'mdn', disposition: 'processed', finalRecipient: BOB, originalMessageId: ORIG },
    warnings: [],
  },
  'folded-disposition.eml': {
    result: {
      kind: 'mdn',
      disposition: 'dispatched',
      finalRecipient: BOB,
      originalMessageId: ORIG,
      finalDestinationDelivery: true,
    },
    warnings: [],
  },
  'extra-whitespace.eml': {
    result: { kind: 'mdn', disposition: 'processed', finalRecipient: BOB, originalMessageId: ORIG },
    warnings: [],
  },
  'lf-only.eml': {
    result: { kind: 'mdn', disposition: 'dispatched', finalDestinationDelivery: true },
    warnings: [],
  },
  'missing-original-message-id.eml': {
    result: { kind: 'mdn', originalMessageId: ORIG, disposition: 'processed' },
    warnings: [/Original-Message-ID.*In-Reply-To/],
  },
  'missing-original-message-id-references.eml': {
    result: { kind: 'mdn', originalMessageId: ORIG },
    warnings: [/Original-Message-ID.*References/],
  },
  'missing-final-recipient.eml': {
    result: { kind: 'mdn', finalRecipient: BOB, disposition: 'processed' },
    warnings: [/Final-Recipient.*From/],
  },
  'original-recipient-only.eml': {
    result: { kind: 'mdn', finalRecipient: BOB },
    warnings: [/Final-Recipient.*Original-Recipient/],
  },
  'garbage-disposition.eml': {
    result: { kind: 'mdn', disposition: 'other', modifiers: [] },
    warnings: [/disposition type/],
  },
  'no-report-type.eml': {
    result: { kind: 'mdn', disposition: 'processed' },
    warnings: [/report-type/],
  },
  'truncated-after-disposition.eml': {
    result: { kind: 'mdn', disposition: 'processed', originalMessageId: ORIG },
    warnings: [/closing boundary/],
  },
  'junk-lines.eml': {
    result: { kind: 'mdn', disposition: 'processed', finalRecipient: BOB, originalMessageId: ORIG },
    warnings: [/2 line\(s\)/],
  },
  'dsn-tolerant.eml': {
    result: {
      kind: 'dsn',
      originalMessageId: '<orig-3@direct.sender.example>',
      recipients: [
        { finalRecipient: 'gone@direct.receiver.example', action: 'failed', status: '5.2.1' },
        { finalRecipient: 'later@direct.receiver.example', action: 'delayed', status: '4.0.0' },
      ],
    },
    warnings: [
      /no per-message fields/,
      /recipient 1 .*Action/,
      /recipient 2 .*Status/,
      /recipient 3 .*skipped/,
      /In-Reply-To/,
    ],
  },
  // ── not attributable: typed results ──
  'no-original-anywhere.eml': { result: { kind: 'malformed', reason: /original message/ } },
  'no-disposition.eml': { result: { kind: 'malformed', reason: /no Disposition/ } },
  'truncated-before-disposition.eml': {
    result: { kind: 'malformed', reason: /no Disposition/ },
  },
  'truncated-in-headers.eml': { result: { kind: 'malformed', reason: /boundary/ } },
  'wrong-part-type.eml': {
    result: { kind: 'malformed', reason: /no message\/disposition-notification part/ },
  },
  'dsn-no-recipient.eml': { result: { kind: 'malformed', reason: /no recipient/ } },
  'not-a-message.eml': { result: { kind: 'malformed', reason: /not a header field/ } },
  'wrong-content-type.eml': {
    result: { kind: 'not-a-notification', reason: /multipart\/mixed/ },
  },
  'bare-notification-part.eml': {
    result: { kind: 'not-a-notification', reason: /bare message\/disposition-notification/ },
  },
  'other-report-type.eml': {
    result: { kind: 'not-a-notification', reason: /another report-type/ },
  },
  'not-a-report.eml': { result: { kind: 'not-a-notification', reason: /text\/plain/ } },
};

function matchesResult(result: NotificationResult, expected: Expectation): void {
  const { reason, ...rest } = expected.result;
  expect(result).toMatchObject(rest);
  if (reason instanceof RegExp) {
    expect(result.kind === 'malformed' || result.kind === 'not-a-notification').toBe(true);
    if (result.kind === 'malformed' || result.kind === 'not-a-notification')
      expect(result.reason).toMatch(reason);
  }
  if (expected.warnings !== undefined) {
    expect(result.kind === 'mdn' || result.kind === 'dsn').toBe(true);
    if (result.kind !== 'mdn' && result.kind !== 'dsn') return;
    if (expected.warnings.length === 0) expect(result.warnings).toEqual([]);
    for (const pattern of expected.warnings)
      expect(
        result.warnings.some((w) => pattern.test(w)),
        `a warning matching ${pattern}`,
      ).toBe(true);
    expect(result.warnings).toHaveLength(expected.warnings.length);
  }
}

describe('the MDN corpus', () => {
  const files = readdirSync(corpusDir)
    .filter((f) => f.endsWith('.eml'))
    .sort();

  it('has an expectation for every file and a file for every expectation', () => {
    expect(files).toEqual(Object.keys(EXPECTED).sort());
  });

  it('keeps the line endings each variant is about (CRLF, or LF only)', () => {
    for (const name of [
      'processed.eml',
      'dispatched.eml',
      'failed.eml',
      'dsn-failed-delayed.eml',
    ]) {
      const text = corpus(name).toString('latin1');
      expect(text.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
    }
    for (const name of ['lf-only.eml', 'dsn-tolerant.eml'])
      expect(corpus(name).includes('\r')).toBe(false);
  });

  for (const [name, expected] of Object.entries(EXPECTED)) {
    it(`${name} → ${String(expected.result['kind'])}`, () => {
      matchesResult(parseNotification(corpus(name)), expected);
    });
  }

  it('warnings and reasons name fields, never quote addresses or ids from the message', () => {
    for (const name of files) {
      const result = parseNotification(corpus(name));
      const texts =
        result.kind === 'mdn' || result.kind === 'dsn' ? result.warnings : [result.reason];
      for (const text of texts) expect(text, name).not.toMatch(/@|<[^>]*>/);
    }
  });

  it('shouldSendMdn is never true for an MDN or DSN in the corpus (nor for any report)', () => {
    let reports = 0;
    for (const name of files) {
      let root;
      try {
        root = parseMime(corpus(name));
      } catch {
        continue; // not a message at all
      }
      const result = parseNotification(corpus(name));
      const isReport =
        result.kind === 'mdn' ||
        result.kind === 'dsn' ||
        root.contentType.mediaType === 'multipart/report' ||
        root.contentType.mediaType.startsWith('message/');
      if (!isReport) continue;
      reports++;
      // Both ways: with the content type as parsed, and read from the headers.
      for (const decision of [
        shouldSendMdn(root.headers, root.contentType),
        shouldSendMdn(root.headers),
        shouldSendMdn(root.headers, headerValue(root, 'content-type')),
      ]) {
        expect(decision, name).toMatchObject({ processed: false, dispatched: false });
        expect(decision.reason).toMatch(/never answered/);
      }
    }
    expect(reports).toBeGreaterThanOrEqual(20);
  });

  it('shouldSendMdn answers the original message of the corpus: processed and dispatched', () => {
    const root = parseMime(corpus('not-a-report.eml'));
    expect(shouldSendMdn(root.headers, root.contentType)).toMatchObject({
      processed: true,
      dispatched: true,
    });
  });

  it('risk-16: every byte prefix of the well-formed corpus is a typed result, never a throw', () => {
    const kinds = new Set(['mdn', 'dsn', 'malformed', 'not-a-notification']);
    let parsed = 0;
    for (const name of [
      'processed.eml',
      'dispatched.eml',
      'failed.eml',
      'dsn-failed-delayed.eml',
      'folded-disposition.eml',
    ]) {
      const bytes = corpus(name);
      for (let n = 0; n <= bytes.length; n++) {
        const result = parseNotification(bytes.subarray(0, n));
        expect(kinds.has(result.kind), `${name} cut at ${n}`).toBe(true);
        parsed++;
      }
    }
    expect(parsed).toBeGreaterThan(3000);
  });

  it('risk-16: seeded byte corruption of the corpus is a typed result, never a throw', () => {
    let seed = 0x5ea1;
    const next = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed;
    };
    const alphabet = Buffer.from('\r\n\t :;/,=<>()"-\\\0\xff@aZ', 'latin1');
    for (const name of files) {
      const original = corpus(name);
      for (let round = 0; round < 60; round++) {
        const bytes = Buffer.from(original);
        for (let k = 0; k < 4; k++)
          bytes[next() % Math.max(1, bytes.length)] = alphabet[next() % alphabet.length] ?? 0;
        expect(() => parseNotification(bytes), `${name} round ${round}`).not.toThrow();
      }
    }
  });
});

describe('shouldSendMdn', () => {
  const base = [
    { name: 'From', value: 'dr.alice@direct.sender.example' },
    { name: 'Message-ID', value: ORIG },
  ];
  const withOptions = (...values: string[]) => [
    ...base,
    ...values.map((value) => ({ name: 'Disposition-Notification-Options', value })),
  ];

  it('never answers a report, whatever the case or quoting of its type', () => {
    for (const ct of [
      'multipart/report; report-type=disposition-notification; boundary=x',
      'Multipart/Report; Report-Type="DISPOSITION-NOTIFICATION"; boundary=x',
      'MULTIPART/REPORT; REPORT-TYPE=Delivery-Status; boundary=x',
      'multipart/report; boundary=x',
      'multipart/report; report-type=feedback-report; boundary=x',
      'message/disposition-notification',
      'message/delivery-status',
    ]) {
      expect(
        shouldSendMdn(withOptions(`${FINAL_DESTINATION_DELIVERY}=optional,true`), ct),
        ct,
      ).toMatchObject({ processed: false, dispatched: false });
    }
    expect(
      shouldSendMdn([...base, { name: 'CONTENT-TYPE', value: 'Multipart/Report; boundary=x' }])
        .processed,
    ).toBe(false);
  });

  it('never answers a message without a Message-ID (absent or blank)', () => {
    const from = { name: 'From', value: 'dr.alice@direct.sender.example' };
    expect(shouldSendMdn([from], 'text/plain')).toMatchObject({
      processed: false,
      reason: expect.stringMatching(/Message-ID/) as unknown,
    });
    expect(shouldSendMdn([{ name: 'message-id', value: '   ' }], 'text/plain').processed).toBe(
      false,
    );
  });

  it('sends processed always, dispatched only when the Direct option asks for it', () => {
    const cases: [string[], boolean][] = [
      [[], false],
      [['X-DIRECT-FINAL-DESTINATION-DELIVERY=optional,true'], true],
      [['x-direct-final-destination-delivery=OPTIONAL,TRUE'], true],
      [['  X-Direct-Final-Destination-Delivery  =  optional ,  true  '], true],
      [['X-DIRECT-FINAL-DESTINATION-DELIVERY=required,true'], true],
      [['foo=optional,bar; X-DIRECT-FINAL-DESTINATION-DELIVERY=optional,true'], true],
      [['X-DIRECT-FINAL-DESTINATION-DELIVERY (asked) =optional,"true"'], true],
      [['other=optional,x', 'X-DIRECT-FINAL-DESTINATION-DELIVERY=optional,true'], true],
      [['X-DIRECT-FINAL-DESTINATION-DELIVERY=optional,false'], false],
      [['X-DIRECT-FINAL-DESTINATION-DELIVERY'], false],
      [['X-DIRECT-FINAL-DESTINATION-DELIVERY-NOT=optional,true'], false],
      [['signed-receipt-protocol=optional,pkcs7-signature'], false],
    ];
    for (const [options, dispatched] of cases) {
      const decision = shouldSendMdn(withOptions(...options), 'text/plain; charset=us-ascii');
      expect(decision, options.join(' | ')).toMatchObject({ processed: true, dispatched });
    }
  });

  it('reads a folded options value (unfolded by the MIME parser)', () => {
    const root = parseMime(
      Buffer.from(
        'Message-ID: <a@b.example>\r\nDisposition-Notification-Options:\r\n X-DIRECT-FINAL-DESTINATION-DELIVERY=\r\n\toptional,true\r\n\r\nhi\r\n',
      ),
    );
    expect(shouldSendMdn(root.headers, root.contentType)).toMatchObject({
      processed: true,
      dispatched: true,
    });
  });
});

describe('requestHeaders', () => {
  it('asks for a processed MDN to the sender and for timely and reliable delivery', () => {
    expect(requestHeaders('Dr Alice <dr.alice@Direct.Sender.Example>')).toEqual([
      { name: 'Disposition-Notification-To', value: 'dr.alice@direct.sender.example' },
      {
        name: 'Disposition-Notification-Options',
        value: 'X-DIRECT-FINAL-DESTINATION-DELIVERY=optional,true',
      },
    ]);
  });

  it('what it requests, shouldSendMdn grants (processed and dispatched)', () => {
    const headers = [...requestHeaders('a@x.example'), { name: 'Message-ID', value: '<m@x>' }];
    expect(shouldSendMdn(headers, 'text/plain')).toMatchObject({
      processed: true,
      dispatched: true,
    });
  });

  it('without dispatched (Settings › delivery notifications), only the processed MDN is asked for and granted', () => {
    const headers = requestHeaders('a@x.example', false);
    expect(headers).toEqual([{ name: 'Disposition-Notification-To', value: 'a@x.example' }]);
    expect(
      shouldSendMdn([...headers, { name: 'Message-ID', value: '<m@x>' }], 'text/plain'),
    ).toMatchObject({ processed: true, dispatched: false });
  });

  it('refuses anything but one address (no header injection)', () => {
    expect(codeOf(() => requestHeaders('a@x.example\r\nBcc: evil@y.example'))).toBe('BAD_REQUEST');
    expect(codeOf(() => requestHeaders('a@x.example, b@x.example'))).toBe('BAD_REQUEST');
    expect(codeOf(() => requestHeaders('not an address'))).toBe('BAD_REQUEST');
    expect(codeOf(() => requestHeaders(''))).toBe('BAD_REQUEST');
  });
});

describe('buildMdn', () => {
  const now = new Date('2026-11-26T23:00:00Z');
  const input = (over: Partial<MdnInput> = {}, original: Partial<MdnInput['original']> = {}) =>
    ({
      original: {
        messageId: ORIG,
        from: 'Dr Alice <dr.alice@direct.sender.example>',
        to: BOB,
        subject: 'Referral',
        headers: [],
        ...original,
      },
      disposition: 'processed',
      now,
      messageId: '<mdn-1@direct.receiver.example>',
      ...over,
    }) satisfies MdnInput;

  const dispositions: MdnDisposition[] = ['processed', 'dispatched', 'failed'];

  for (const disposition of dispositions) {
    for (const fdd of [false, true]) {
      it(`round trip: ${disposition}${fdd ? ' with the extension' : ''} → the same facts`, () => {
        const mdn = buildMdn(
          input({
            disposition,
            finalDestinationDelivery: fdd,
            ...(disposition === 'failed' ? { error: 'The mailbox is full.' } : {}),
          }),
        );
        const result = parseNotification(mdn);
        expect(result).toEqual({
          kind: 'mdn',
          originalMessageId: ORIG,
          finalRecipient: BOB,
          disposition,
          modifiers: [],
          // The extension belongs to dispatched MDNs only.
          finalDestinationDelivery: fdd && disposition === 'dispatched',
          ...(disposition === 'failed' ? { failure: 'The mailbox is full.' } : {}),
          warnings: [],
        });
      });
    }
  }

  it('writes CRLF only, lines within 998 characters, headers to and from the right parties', () => {
    const mdn = buildMdn(input({ disposition: 'dispatched', finalDestinationDelivery: true }));
    const text = mdn.toString('utf8');
    expect(text.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
    for (const line of text.split('\r\n')) expect(line.length).toBeLessThanOrEqual(998);
    const root = parseMime(mdn);
    expect(headerValue(root, 'from')).toBe(BOB);
    expect(headerValue(root, 'to')).toBe('dr.alice@direct.sender.example');
    expect(headerValue(root, 'message-id')).toBe('<mdn-1@direct.receiver.example>');
    expect(headerValue(root, 'in-reply-to')).toBe(ORIG);
    expect(headerValue(root, 'date')).toBe('Thu, 26 Nov 2026 23:00:00 +0000');
    expect(headerValue(root, 'subject')).toBe('Dispatched: Referral');
    expect(root.contentType.mediaType).toBe('multipart/report');
    expect(root.contentType.params['report-type']).toBe('disposition-notification');
    expect(root.children.map((c) => c.contentType.mediaType)).toEqual([
      'text/plain',
      'message/disposition-notification',
    ]);
    const fields = parseMime(root.children[1]?.body ?? Buffer.alloc(0));
    expect(headerValue(fields, 'disposition')).toBe(
      'automatic-action/MDN-sent-automatically; dispatched',
    );
    expect(headerValue(fields, 'final-recipient')).toBe(`rfc822; ${BOB}`);
    expect(headerValue(fields, 'original-recipient')).toBe(`rfc822; ${BOB}`);
    expect(headerValue(fields, 'original-message-id')).toBe(ORIG);
    expect(headerValue(fields, 'reporting-ua')).toBe('direct.receiver.example; Sealpost');
    expect(headerValue(fields, FINAL_DESTINATION_DELIVERY)).toBe('');
  });

  it('never requests a notification itself, and is never answered with one', () => {
    for (const disposition of dispositions) {
      const mdn = buildMdn(input({ disposition }));
      const root = parseMime(mdn);
      expect(headerValue(root, 'disposition-notification-to')).toBeUndefined();
      expect(headerValue(root, 'disposition-notification-options')).toBeUndefined();
      expect(headerValue(root, 'auto-submitted')).toBe('auto-replied');
      expect(shouldSendMdn(root.headers, root.contentType).processed).toBe(false);
    }
  });

  it('adds the extension to dispatched when the original asked for it, unless told not to', () => {
    const asked = {
      headers: [
        {
          name: 'disposition-notification-options',
          value: 'x-direct-final-destination-delivery = optional , true',
        },
      ],
    };
    const fdd = (over: Partial<MdnInput>, original: Partial<MdnInput['original']>): unknown => {
      const result = parseNotification(buildMdn(input(over, original)));
      return result.kind === 'mdn' ? result.finalDestinationDelivery : result.kind;
    };
    expect(fdd({ disposition: 'dispatched' }, asked)).toBe(true);
    expect(fdd({ disposition: 'dispatched' }, {})).toBe(false);
    expect(fdd({ disposition: 'dispatched', finalDestinationDelivery: false }, asked)).toBe(false);
    expect(fdd({ disposition: 'processed' }, asked)).toBe(false);
  });

  it('writes a non-ASCII subject as encoded-words, MDN-Gateway and Reporting-UA as given', () => {
    const mdn = buildMdn(
      input(
        { reportingUa: 'hisp.receiver.example; Sealpost 1.0', gateway: 'gw.receiver.example' },
        { subject: 'Résumé de soins — 患者' },
      ),
    );
    const root = parseMime(mdn);
    expect(headerValue(root, 'subject')).toMatch(/^=\?UTF-8\?B\?/);
    const fields = parseMime(root.children[1]?.body ?? Buffer.alloc(0));
    expect(headerValue(fields, 'reporting-ua')).toBe('hisp.receiver.example; Sealpost 1.0');
    expect(headerValue(fields, 'mdn-gateway')).toBe('dns; gw.receiver.example');
    expect(parseNotification(mdn)).toMatchObject({ kind: 'mdn', disposition: 'processed' });
  });

  it('is deterministic for the same input (boundary from the MDN Message-ID and date)', () => {
    expect(buildMdn(input()).equals(buildMdn(input()))).toBe(true);
    expect(buildMdn(input()).equals(buildMdn(input({ messageId: '<mdn-2@x.example>' })))).toBe(
      false,
    );
  });

  it('refuses inputs it cannot write safely (BAD_REQUEST)', () => {
    const bad: [string, Partial<MdnInput>, Partial<MdnInput['original']>][] = [
      ['MDN id without brackets', { messageId: 'mdn-1@x.example' }, {}],
      ['MDN id with CRLF', { messageId: '<a@b>\r\nBcc: c@d' }, {}],
      ['original id with CRLF', {}, { messageId: '<a@b>\r\nBcc: c@d' }],
      ['empty original id', {}, { messageId: '  ' }],
      ['two senders', {}, { from: 'a@x.example, b@x.example' }],
      ['sender with CRLF', {}, { from: 'a@x.example\r\nBcc: c@d.example' }],
      ['no recipient', {}, { to: '' }],
      ['error with CRLF', { disposition: 'failed', error: 'x\r\nBcc: c@d' }, {}],
      ['reporting UA with LF', { reportingUa: 'a\nb' }, {}],
      ['invalid date', { now: new Date(Number.NaN) }, {}],
    ];
    for (const [what, over, original] of bad)
      expect(
        codeOf(() => buildMdn(input(over, original))),
        what,
      ).toBe('BAD_REQUEST');
  });

  it('keeps a subject with line breaks on one line', () => {
    const mdn = buildMdn(input({}, { subject: 'a\r\nBcc: evil@x.example' }));
    const root = parseMime(mdn);
    expect(headerValue(root, 'bcc')).toBeUndefined();
    expect(headerValue(root, 'subject')).toBe('Processed: a Bcc: evil@x.example');
  });
});

describe('parseNotification tolerance details', () => {
  /** A minimal MDN (CRLF) whose notification part holds `fields`. */
  const mdnWith = (fields: string): Buffer =>
    Buffer.from(
      [
        'From: bob@direct.receiver.example',
        'Message-ID: <m@direct.receiver.example>',
        'Content-Type: multipart/report; report-type=disposition-notification; boundary=z',
        '',
        '--z',
        'Content-Type: message/disposition-notification',
        '',
        fields,
        '--z--',
        '',
      ].join('\r\n'),
    );
  const ok = (disposition: string) =>
    `Original-Message-ID: ${ORIG}\r\nFinal-Recipient: rfc822; ${BOB}\r\nDisposition: ${disposition}\r\n`;

  it('reads dispositions in every spelling we have seen', () => {
    const cases: [string, string, string[]][] = [
      ['automatic-action/MDN-sent-automatically;processed', 'processed', []],
      ['manual-action/MDN-sent-manually; displayed', 'displayed', []],
      ['automatic-action/MDN-sent-automatically; deleted', 'deleted', []],
      ['automatic-action/MDN-sent-automatically; denied', 'denied', []],
      ['automatic-action/MDN-sent-automatically; dispatched/error', 'failed', ['error']],
      ['automatic-action/MDN-sent-automatically; processed/failure', 'failed', ['failure']],
      ['automatic-action/MDN-sent-automatically; processed/warning', 'processed', ['warning']],
      [
        'automatic-action/MDN-sent-automatically; processed / Error , Warning',
        'failed',
        ['error', 'warning'],
      ],
      ['automatic-action (auto) / MDN-sent-automatically; (why) processed', 'processed', []],
      ['automatic-action/MDN-sent-automatically; quarantined', 'other', []],
      ['processed', 'processed', []],
    ];
    for (const [value, disposition, modifiers] of cases) {
      const result = parseNotification(mdnWith(ok(value)));
      expect(result, value).toMatchObject({ kind: 'mdn', disposition, modifiers });
    }
  });

  it('a Failure field makes any disposition failed; an Error field alone does not', () => {
    expect(
      parseNotification(mdnWith(`${ok('a/b; processed')}Failure: disk full\r\n`)),
    ).toMatchObject({ disposition: 'failed', failure: 'disk full' });
    const errorOnly = parseNotification(mdnWith(`${ok('a/b; processed')}Error: odd\r\n`));
    expect(errorOnly).toMatchObject({ disposition: 'processed' });
    expect(errorOnly.kind === 'mdn' && errorOnly.warnings.some((w) => /Error field/.test(w))).toBe(
      true,
    );
  });

  it('warns about trailing words after the disposition type but keeps the type', () => {
    const result = parseNotification(mdnWith(ok('a/b; processed extra words')));
    expect(result).toMatchObject({ kind: 'mdn', disposition: 'processed' });
    expect(result.kind === 'mdn' && result.warnings.some((w) => /other words/.test(w))).toBe(true);
  });

  it('reads a recipient written with a display name, brackets or no address type', () => {
    for (const value of [
      `rfc822; Bob Smith <${BOB}>`,
      `rfc822; <${BOB.toUpperCase()}>`,
      BOB,
      `RFC822;${BOB}`,
    ]) {
      const result = parseNotification(
        mdnWith(
          `Original-Message-ID: ${ORIG}\r\nFinal-Recipient: ${value}\r\nDisposition: a/b; processed\r\n`,
        ),
      );
      expect(result, value).toMatchObject({ kind: 'mdn', finalRecipient: BOB });
    }
  });

  it('takes an Original-Message-ID without angle brackets as written', () => {
    const result = parseNotification(
      mdnWith(
        `Original-Message-ID: orig-9@x.example\r\nFinal-Recipient: rfc822; ${BOB}\r\nDisposition: a/b; processed\r\n`,
      ),
    );
    expect(result).toMatchObject({ kind: 'mdn', originalMessageId: 'orig-9@x.example' });
  });

  it('goes by the notification part found when report-type names the other kind', () => {
    const report = (type: string, part: string, fields: string): Buffer =>
      Buffer.from(
        `Content-Type: multipart/report; report-type=${type}; boundary=r\r\n\r\n--r\r\n` +
          `Content-Type: ${part}\r\n\r\n${fields}--r--\r\n`,
      );
    const mdn = parseNotification(
      report('delivery-status', 'message/disposition-notification', ok('a/b; processed')),
    );
    expect(mdn).toMatchObject({ kind: 'mdn', disposition: 'processed' });
    expect(mdn.kind === 'mdn' && mdn.warnings.some((w) => /report-type/.test(w))).toBe(true);
    const dsn = parseNotification(
      report(
        'disposition-notification',
        'message/delivery-status',
        `Reporting-MTA: dns; x\r\n\r\nFinal-Recipient: rfc822; ${BOB}\r\nAction: failed\r\nStatus: 5.0.0\r\n`,
      ),
    );
    expect(dsn).toMatchObject({ kind: 'dsn', recipients: [{ finalRecipient: BOB }] });
    expect(dsn.kind === 'dsn' && dsn.warnings.some((w) => /report-type/.test(w))).toBe(true);
  });

  it('falls back to the returned message/rfc822 for the original id', () => {
    const message = Buffer.from(
      'Content-Type: multipart/report; report-type=disposition-notification; boundary=r\r\n\r\n' +
        `--r\r\nContent-Type: message/disposition-notification\r\n\r\nFinal-Recipient: rfc822; ${BOB}\r\n` +
        'Disposition: a/b; processed\r\n' +
        `--r\r\nContent-Type: message/rfc822\r\n\r\nMessage-ID: ${ORIG}\r\nSubject: x\r\n\r\nbody\r\n--r--\r\n`,
    );
    const result = parseNotification(message);
    expect(result).toMatchObject({ kind: 'mdn', originalMessageId: ORIG });
    expect(result.kind === 'mdn' && result.warnings.some((w) => /returned message/.test(w))).toBe(
      true,
    );
  });

  it('risk-16: a DSN with more recipient groups than the bound keeps the bound, with a warning', () => {
    const groups = Array.from(
      { length: 1005 },
      (_, i) => `Final-Recipient: rfc822; r${i}@x.example\r\nAction: failed\r\nStatus: 5.1.1\r\n`,
    );
    const dsn = Buffer.from(
      'Content-Type: multipart/report; report-type=delivery-status; boundary=q\r\n\r\n--q\r\n' +
        'Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; x.example\r\n\r\n' +
        groups.join('\r\n') +
        '\r\n--q--\r\n',
    );
    const result = parseNotification(dsn);
    expect(result.kind).toBe('dsn');
    if (result.kind !== 'dsn') return;
    expect(result.recipients).toHaveLength(1000);
    expect(result.warnings.some((w) => /more than 1000 recipient groups/.test(w))).toBe(true);
  });
});
