/**
 * The composed inner message (hisp/relay/mailAgent.ts composeMessage): text alone or
 * multipart/mixed with base64 attachments, RFC 2231 file names, the attachment limits and
 * refused header injection — read back with the project's own MIME parser and mailbox reader,
 * and stored in a real (vault) profile, signed and encrypted, then listed and streamed back.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { headerValue, headerValues, parseMime } from '../../hisp/agent/mime/index.js';
import { LIMITS } from '../../hisp/api/limits.js';
import { vaultMasterKeySource } from '../../hisp/keys/masterKey.js';
import {
  attachmentFilename,
  attachmentType,
  composeMessage,
  mimeParameter,
  type ComposeAttachment,
  type ComposeInput,
} from '../../hisp/relay/mailAgent.js';
import { MailStore } from '../../hisp/store/mail.js';
import { attachmentBytes, readInner } from '../../hisp/store/mail-content.js';
import { initProfile, VAULT_FILE, type Profile } from '../../hisp/store/profile.js';
import { GREG, RI_AT, riDirect, riOpener, ryan, greg, RYAN } from './interop-identities.js';

const MESSAGE_ID = '<compose-test@securehealthemail.com>';
const base: ComposeInput = {
  from: GREG,
  to: [RYAN],
  cc: ['cc@example.test'],
  bcc: ['blind@example.test'],
  subject: 'Befund für Frau Müller',
  text: 'Hello,\nthe report is attached.\n',
};
const compose = (input: Partial<ComposeInput>) =>
  composeMessage({ ...base, ...input }, { messageId: MESSAGE_ID, date: RI_AT });

function errorOf(work: () => unknown): { code?: string; message?: string } {
  try {
    work();
  } catch (error) {
    return error as { code?: string; message?: string };
  }
  throw new Error('expected an error');
}

describe('composeMessage', () => {
  it('text only: one text/plain part, headers for a Direct message, never a Bcc header', () => {
    const raw = compose({
      inReplyTo: '<parent@example.test>',
      references: ['<root@example.test>', '<parent@example.test>'],
    });
    const parsed = parseMime(raw);
    expect(parsed.contentType.mediaType).toBe('text/plain');
    expect(parsed.contentType.params['charset']).toBe('utf-8');
    expect(raw.toString('latin1')).not.toMatch(/^bcc:/im);
    expect(raw.toString('latin1')).not.toContain('blind@example.test');
    expect(headerValue(parsed, 'message-id')).toBe(MESSAGE_ID);
    expect(headerValue(parsed, 'in-reply-to')).toBe('<parent@example.test>');
    expect(headerValue(parsed, 'references')?.replace(/\s+/g, ' ')).toBe(
      '<root@example.test> <parent@example.test>',
    );
    expect(headerValue(parsed, 'disposition-notification-to')).toBe(GREG);
    const content = readInner(raw);
    expect(content).toMatchObject({
      subject: 'Befund für Frau Müller',
      to: [RYAN],
      cc: ['cc@example.test'],
      text: base.text,
      attachments: [],
    });
  });

  it('only Bcc recipients: no To header at all (not an empty one)', () => {
    const raw = compose({ to: [], cc: [] });
    const parsed = parseMime(raw);
    expect(headerValues(parsed, 'to')).toEqual([]);
    expect(headerValues(parsed, 'cc')).toEqual([]);
    expect(raw.toString('latin1')).not.toContain('blind@example.test');
  });

  it('attachments: multipart/mixed, text first, each part base64 and read back byte for byte', () => {
    const pdf = randomBytes(100_003);
    const empty = Buffer.alloc(0);
    const attachments: ComposeAttachment[] = [
      { filename: 'report.pdf', contentType: 'application/pdf', content: pdf },
      { filename: 'Überweisung – Befund.pdf', contentType: 'Application/PDF', content: pdf },
      {
        filename: '患者の検査結果と画像診断の報告書_二〇二六年十一月_最終版.png',
        contentType: 'image/png',
        content: Buffer.from([1, 2, 3]),
      },
      { filename: 'say "hi".txt', contentType: 'text/plain', content: Buffer.from('hi\r\n') },
      { filename: 'empty.bin', contentType: 'nonsense', content: empty },
    ];
    const raw = compose({ attachments });
    const root = parseMime(raw);
    expect(root.contentType.mediaType).toBe('multipart/mixed');
    expect(root.children.map((c) => c.contentType.mediaType)).toEqual([
      'text/plain',
      'application/pdf',
      'application/pdf',
      'image/png',
      'text/plain',
      'application/octet-stream',
    ]);
    for (const child of root.children.slice(1)) {
      expect(headerValue(child, 'content-transfer-encoding')).toBe('base64');
      expect(headerValue(child, 'content-disposition')).toMatch(/^attachment;/);
    }
    const text = raw.toString('latin1');
    // RFC 2231: extended, percent-encoded UTF-8; a long name in several sections.
    expect(text).toContain("filename*0*=utf-8''%C3%9Cberweisung%20%E2%80%93%20Befund.pdf");
    expect(text).toMatch(/filename\*1\*=/);
    expect(text).toContain('filename="report.pdf"');
    // No header line longer than 78 characters; no 8-bit bytes anywhere.
    // (A longer line is one that has no place to fold: a single word after the field name.)
    const headerLines = text.split('\r\n').filter((line) => !/^[A-Za-z0-9+/=]+$/.test(line));
    expect(headerLines.filter((line) => line.length > 78 && /^\S+ \S+\s+\S/.test(line))).toEqual(
      [],
    );
    expect(headerLines.filter((line) => line.length > 998)).toEqual([]);
    expect(raw.every((byte) => byte < 0x80)).toBe(true);

    const content = readInner(raw);
    expect(content.text).toBe(base.text);
    expect(content.attachments.map((a) => a.filename)).toEqual(attachments.map((a) => a.filename));
    expect(content.attachments.map((a) => a.size)).toEqual(
      attachments.map((a) => a.content.length),
    );
    attachments.forEach((attachment, index) => {
      expect(attachmentBytes(raw, index)?.equals(attachment.content)).toBe(true);
    });
  });

  it('file names lose path components and control or bidi characters; nothing left → attachment-N', () => {
    expect(attachmentFilename('../../etc/passwd', 1)).toBe('passwd');
    expect(attachmentFilename('C:\\Users\\dr\\Befund.pdf', 1)).toBe('Befund.pdf');
    expect(attachmentFilename('invoice\u202Efdp.exe', 1)).toBe('invoicefdp.exe');
    expect(attachmentFilename('a\r\nb\0c.txt', 1)).toBe('abc.txt');
    expect(attachmentFilename('dir/', 3)).toBe('attachment-3');
    expect(attachmentFilename('..', 2)).toBe('attachment-2');
    const long = attachmentFilename(`${'x'.repeat(400)}.pdf`, 1);
    expect(long).toHaveLength(255);
    expect(long.endsWith('.pdf')).toBe(true);
    // What is written is what the reader gives back.
    const raw = compose({
      attachments: [
        {
          filename: '../secret/Ärztebrief\u0007.pdf',
          contentType: 'application/pdf',
          content: Buffer.from('x'),
        },
      ],
    });
    expect(readInner(raw).attachments.map((a) => a.filename)).toEqual(['Ärztebrief.pdf']);
  });

  it('content types: type/subtype lowercased; anything else, multipart and message become octet-stream', () => {
    expect(attachmentType('Image/PNG')).toBe('image/png');
    expect(
      attachmentType('application/vnd.openxmlformats-officedocument.wordprocessingml.document'),
    ).toBe('application/vnd.openxmlformats-officedocument.wordprocessingml.document');
    for (const bad of [
      '',
      'pdf',
      'text/html; charset=utf-8',
      'a/b/c',
      'text/plain\r\nX: y',
      'multipart/mixed',
      'message/rfc822',
    ]) {
      expect(attachmentType(bad)).toBe('application/octet-stream');
    }
  });

  it('RFC 2231 parameters never split a character and decode to the name', () => {
    const name = `${'é'.repeat(50)}🩺${'x'.repeat(30)}…`;
    const param = mimeParameter('filename', name);
    const sections = [...param.matchAll(/filename\*(\d+)\*=([^;\r\n]*)/g)].map((m) => m[2] ?? '');
    expect(sections.length).toBeGreaterThan(1);
    for (const section of sections) {
      const bytes = Buffer.from(
        section
          .replace(/^utf-8''/, '')
          .replace(/%([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))),
        'latin1',
      );
      // Each section alone is valid UTF-8.
      expect(Buffer.from(bytes.toString('utf8'), 'utf8').equals(bytes)).toBe(true);
    }
    const raw = compose({
      attachments: [{ filename: name, contentType: 'text/plain', content: Buffer.from('x') }],
    });
    expect(readInner(raw).attachments[0]?.filename).toBe(name);
  });

  it('limits: too many attachments, or too many bytes together, are LIMIT_EXCEEDED with the sizes', () => {
    const one = { filename: 'a', contentType: 'text/plain', content: Buffer.from('a') };
    const many = errorOf(() =>
      compose({ attachments: Array.from({ length: LIMITS.composeAttachments + 1 }, () => one) }),
    );
    expect(many.code).toBe('LIMIT_EXCEEDED');
    expect(many.message).toContain(String(LIMITS.composeAttachments + 1));
    const half = Buffer.alloc(LIMITS.composeAttachmentBytes / 2);
    const big = errorOf(() =>
      compose({
        attachments: [
          { filename: 'a', contentType: 'a/b', content: half },
          { filename: 'b', contentType: 'a/b', content: half },
          one,
        ],
      }),
    );
    expect(big.code).toBe('LIMIT_EXCEEDED');
    expect(big.message).toContain(String(LIMITS.composeAttachmentBytes + 1));
    expect(big.message).toContain(String(LIMITS.composeAttachmentBytes));
    // Exactly at the limit is fine.
    expect(() =>
      compose({
        attachments: [
          { filename: 'a', contentType: 'a/b', content: half },
          { filename: 'b', contentType: 'a/b', content: half },
        ],
      }),
    ).not.toThrow();
  });

  it('header injection is refused: CR/LF in a header value, or a malformed Message-ID', () => {
    const cases: Partial<ComposeInput>[] = [
      { subject: 'Hi\r\nBcc: spy@example.test' },
      { subject: 'Hi\nX-Evil: 1' },
      { to: ['a@example.test\r\nBcc: spy@example.test'] },
      { cc: ['a@example.test\nBcc: spy@example.test'] },
      { inReplyTo: '<a@example.test>\r\nBcc: spy@example.test' },
      { inReplyTo: 'not-a-message-id' },
      { inReplyTo: '<a@b> <c@d>' },
      { references: ['<a@example.test>', 'junk'] },
      { references: ['<a@example.test>\r\nX-Evil: 1'] },
    ];
    for (const input of cases) {
      const error = errorOf(() => compose(input));
      expect(error.code, JSON.stringify(input)).toBe('BAD_REQUEST');
    }
  });
});

describe('a composed message in the mailbox', () => {
  let root: string;
  let profile: Profile;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'sealpost-compose-'));
    const dir = join(root, 'p');
    profile = await initProfile(dir, {
      keySource: vaultMasterKeySource({
        file: join(dir, VAULT_FILE),
        passphrase: Buffer.from('compose tests'),
      }),
    });
  });

  afterAll(async () => {
    profile?.close();
    await rm(root, { recursive: true, force: true });
  });

  async function readAll(stream: Readable): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  it('signed and encrypted, stored as sent: the list names the attachments, and each streams back', async () => {
    const store = new MailStore(profile, { now: () => RI_AT });
    const xray = randomBytes(300_000);
    const attachments: ComposeAttachment[] = [
      { filename: 'Röntgen Thorax.jpg', contentType: 'image/jpeg', content: xray },
      {
        filename: 'notes.txt',
        contentType: 'text/plain',
        content: Buffer.from('line 1\r\nline 2'),
      },
    ];
    const inner = compose({ attachments });
    const { id } = store.storeSent({
      raw: riDirect(inner),
      inner,
      envelope: { from: GREG, to: [RYAN] },
    });
    const [row] = store.list('sent');
    expect(row).toMatchObject({
      id,
      hasAttachments: true,
      attachmentNames: ['Röntgen Thorax.jpg', 'notes.txt'],
      subject: base.subject,
    });
    for (const opens of [riOpener([greg]), riOpener([ryan])]) {
      expect((await readAll(store.attachment(id, 0, opens))).equals(xray)).toBe(true);
      expect((await readAll(store.attachment(id, 1, opens))).toString()).toBe('line 1\r\nline 2');
    }
    const opened = await store.open(id, riOpener([ryan]));
    expect(opened.text).toBe(base.text);
    expect(opened.attachments.map((a) => [a.filename, a.contentType, a.size])).toEqual([
      ['Röntgen Thorax.jpg', 'image/jpeg', xray.length],
      ['notes.txt', 'text/plain', 14],
    ]);
  });
});
