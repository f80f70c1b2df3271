/**
 * hisp/store/mail.ts and migration 4 on a real (vault) profile database: Direct messages made
 * by the outbound agent from the java-ri interop identities, opened with the inbound agent.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HispError } from '../../hisp/api/errors.js';
import { type InboundKey } from '../../hisp/agent/inbound.js';
import { signAndEncrypt } from '../../hisp/agent/outbound.js';
import { collect } from '../../hisp/agent/types.js';
import { type ParsedCertificate } from '../../hisp/certs/certificate.js';
import { vaultMasterKeySource } from '../../hisp/keys/masterKey.js';
import { AuditLog } from '../../hisp/store/audit.js';
import { GREG, greg, RI_AT, riAnchor, riOpener, RYAN, ryan } from './interop-identities.js';
import {
  MailStore,
  type DeliveryRecipient,
  type OpenFn,
  type QueueRow,
} from '../../hisp/store/mail.js';
import { EncryptedDatabase } from '../../hisp/store/database.js';
import { m004 } from '../../hisp/store/migrations/004-mail.js';
import { m007 } from '../../hisp/store/migrations/007-delivery.js';
import { MIGRATIONS } from '../../hisp/store/migrations.js';
import { initProfile, VAULT_FILE, type Profile } from '../../hisp/store/profile.js';

const at = RI_AT;
const anchor = riAnchor;

function opener(keys: readonly InboundKey[], anchors: readonly ParsedCertificate[]): OpenFn {
  return riOpener(keys, { anchors, at });
}
const ryanOpens = opener([ryan], [anchor]);
const gregOpens = opener([greg], [anchor]);
const noAnchor = opener([ryan], []);

interface Attachment {
  name: string;
  type?: string;
  content: Buffer;
}

function plainMessage(m: {
  subject: string;
  body: string;
  html?: string;
  attachments?: Attachment[];
  messageId?: string;
}): Buffer {
  const boundary = `b-${randomBytes(8).toString('hex')}`;
  const head =
    `From: Greg <${GREG}>\r\nTo: ${RYAN}\r\nSubject: ${m.subject}\r\n` +
    `Date: Sun, 01 Nov 2026 00:00:00 +0000\r\n` +
    `Message-ID: ${m.messageId ?? `<${randomBytes(8).toString('hex')}@securehealthemail.com>`}\r\n` +
    'MIME-Version: 1.0\r\n';
  const parts: string[] = [];
  if (m.html === undefined) {
    parts.push(`Content-Type: text/plain; charset=utf-8\r\n\r\n${m.body}`);
  } else {
    const alt = `a-${randomBytes(8).toString('hex')}`;
    parts.push(
      `Content-Type: multipart/alternative; boundary="${alt}"\r\n\r\n` +
        `--${alt}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${m.body}\r\n` +
        `--${alt}\r\nContent-Type: text/html; charset=utf-8\r\n\r\n${m.html}\r\n--${alt}--`,
    );
  }
  for (const a of m.attachments ?? []) {
    const b64 = (a.content.toString('base64').match(/.{1,76}/g) ?? []).join('\r\n');
    parts.push(
      `Content-Type: ${a.type ?? 'application/octet-stream'}\r\n` +
        `Content-Disposition: attachment; filename="${a.name}"\r\n` +
        `Content-Transfer-Encoding: base64\r\n\r\n${b64}`,
    );
  }
  const body = parts.map((p) => `--${boundary}\r\n${p}\r\n`).join('') + `--${boundary}--\r\n`;
  return Buffer.from(
    `${head}Content-Type: multipart/mixed; boundary="${boundary}"\r\n\r\n${body}`,
    'utf8',
  );
}

function direct(inner: Buffer): Buffer {
  return collect(
    signAndEncrypt(inner, greg, [ryan.certDer], { now: at, allowSha1CertificateSignatures: true })
      .message,
  );
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

let root: string;
let profile: Profile;
let store: MailStore;
const envelope = { from: GREG, to: [RYAN] };

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sealpost-mail-'));
  const dir = join(root, 'p');
  profile = await initProfile(dir, {
    keySource: vaultMasterKeySource({
      file: join(dir, VAULT_FILE),
      passphrase: Buffer.from('mail store tests'),
    }),
  });
  store = new MailStore(profile, { now: () => new Date('2026-11-02T10:00:00Z') });
});

afterAll(async () => {
  profile.close();
  await rm(root, { recursive: true, force: true });
});

describe('migration 4', () => {
  it('creates STRICT tables whose CHECKs refuse bad states and folders', () => {
    const db = EncryptedDatabase.open({
      file: join(root, 'm4.db'),
      key: randomBytes(32),
      migrations: MIGRATIONS,
    });
    try {
      expect(db.version).toBeGreaterThanOrEqual(m004.version);
      db.read((sql) => {
        const strict = sql
          .prepare(`SELECT name, strict FROM pragma_table_list WHERE schema = 'main'`)
          .all() as { name: string; strict: number }[];
        for (const table of [
          'messages',
          'message_index',
          'outbound_queue',
          'mdn_tracking',
          'drafts',
        ]) {
          expect(strict.find((t) => t.name === table)?.strict).toBe(1);
        }
      });
      const insertMessage = (folder: string, direction = 'in') =>
        db.transaction((sql) =>
          sql
            .prepare(
              `INSERT INTO messages (direction, folder, received_at, envelope_from, envelope_to,
                 routing, ciphertext, size, digest, verification)
               VALUES (?, ?, 'now', 'a', '[]', '{}', x'00', 1, hex(randomblob(8)), '{}')`,
            )
            .run(direction, folder),
        );
      expect(() => insertMessage('spam')).toThrow(/CHECK/);
      expect(() => insertMessage('inbox', 'sideways')).toThrow(/CHECK/);
      const id = Number(insertMessage('sent', 'out').lastInsertRowid);
      expect(() =>
        db.transaction((sql) =>
          sql
            .prepare(
              `INSERT INTO outbound_queue (message_id, recipient, state, created_at, updated_at)
               VALUES (?, 'r', 'lost', 'now', 'now')`,
            )
            .run(id),
        ),
      ).toThrow(/CHECK/);
      expect(() =>
        db.transaction((sql) =>
          sql
            .prepare(
              `INSERT INTO mdn_tracking (message_id, recipient, state, requested_dispatched,
                 created_at, updated_at) VALUES (?, 'r', 'read', 0, 'now', 'now')`,
            )
            .run(id),
        ),
      ).toThrow(/CHECK/);
      expect(() =>
        db.transaction((sql) =>
          sql
            .prepare(
              `INSERT INTO outbound_queue (message_id, recipient, state, created_at, updated_at)
               VALUES (999, 'r', 'queued', 'now', 'now')`,
            )
            .run(),
        ),
      ).toThrow(/FOREIGN KEY/);
    } finally {
      db.close();
    }
  });
});

describe('MailStore', () => {
  it('receive → the list shows subject, sender, snippet and attachment names; open returns the parts', async () => {
    const pdf = randomBytes(30_000);
    const inner = plainMessage({
      subject: 'Lab results for J. Doe',
      body: 'Dear Ryan,\r\n\r\n   the   results are\tattached.\r\n' + 'More text. '.repeat(50),
      html: '<p>Dear Ryan, <b>the results</b> are attached.</p>',
      attachments: [
        { name: 'results.pdf', type: 'application/pdf', content: pdf },
        { name: 'notes.txt', type: 'text/plain', content: Buffer.from('plain notes') },
      ],
    });
    const raw = direct(inner);
    const { id, duplicate } = await store.receive({ raw, envelope }, ryanOpens);
    expect(duplicate).toBe(false);
    const [row] = store.list('inbox');
    expect(row).toMatchObject({
      id,
      folder: 'inbox',
      direction: 'in',
      trusted: true,
      subject: 'Lab results for J. Doe',
      sender: `Greg <${GREG}>`,
      recipients: [RYAN],
      attachmentNames: ['results.pdf', 'notes.txt'],
      hasAttachments: true,
      flags: { seen: false, flagged: false, answered: false },
      size: raw.length,
    });
    expect(row?.snippet.startsWith('Dear Ryan, the results are attached. More text.')).toBe(true);
    expect(row?.snippet.length).toBe(200);

    // The stored bytes are exactly what arrived.
    expect(store.ciphertext(id).equals(raw)).toBe(true);

    const opened = await store.open(id, ryanOpens);
    expect(opened.decrypted).toBe(true);
    expect(opened.verification.trusted).toBe(true);
    expect(opened.storedVerification).toMatchObject({ trusted: true, signer: GREG });
    expect(opened.subject).toBe('Lab results for J. Doe');
    expect(opened.text).toContain('the   results are\tattached.');
    expect(opened.html).toBe('<p>Dear Ryan, <b>the results</b> are attached.</p>');
    expect(opened.attachments).toEqual([
      {
        index: 0,
        filename: 'results.pdf',
        contentType: 'application/pdf',
        size: 30_000,
        inline: false,
      },
      { index: 1, filename: 'notes.txt', contentType: 'text/plain', size: 11, inline: false },
    ]);
    expect(opened.routing['from']).toBe(`Greg <${GREG}>`);
    expect(opened.routing['subject']).toBeUndefined();

    expect((await readAll(store.attachment(id, 0, ryanOpens))).equals(pdf)).toBe(true);
    expect((await readAll(store.attachment(id, 1, ryanOpens))).toString()).toBe('plain notes');
    await expect(readAll(store.attachment(id, 7, ryanOpens))).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  it('a re-delivered message (same bytes, or same signed Message-ID) is not stored twice', async () => {
    const messageId = `<dup-${randomBytes(4).toString('hex')}@securehealthemail.com>`;
    const inner = plainMessage({ subject: 'Twice', body: 'once', messageId });
    const raw = direct(inner);
    const first = await store.receive({ raw, envelope }, ryanOpens);
    let opens = 0;
    const counting: OpenFn = (bytes) => {
      opens += 1;
      return ryanOpens(bytes);
    };
    expect(await store.receive({ raw: Buffer.from(raw), envelope }, counting)).toEqual({
      id: first.id,
      duplicate: true,
    });
    expect(opens).toBe(0); // same bytes: known without decrypting
    // Encrypted again (new content key, new bytes), same signed Message-ID.
    const again = await store.receive({ raw: direct(inner), envelope }, counting);
    expect(again).toEqual({ id: first.id, duplicate: true });
    expect(store.list('inbox').filter((r) => r.subject === 'Twice')).toHaveLength(1);
  });

  it("untrusted and undecryptable messages go to 'untrusted' and cannot claim a Message-ID", async () => {
    const messageId = `<squat-${randomBytes(4).toString('hex')}@securehealthemail.com>`;
    const inner = plainMessage({ subject: 'No anchor for this', body: 'x', messageId });
    const untrusted = await store.receive({ raw: direct(inner), envelope }, noAnchor);
    const row = store.get(untrusted.id);
    expect(row).toMatchObject({
      folder: 'untrusted',
      trusted: false,
      subject: 'No anchor for this',
    });
    const opened = await store.open(untrusted.id, noAnchor);
    expect(opened.storedVerification.reasons.map((r) => r.code)).toContain('CERT_UNTRUSTED');
    // The real message with that Message-ID still arrives.
    const real = await store.receive({ raw: direct(inner), envelope }, ryanOpens);
    expect(real.duplicate).toBe(false);
    expect(store.get(real.id).folder).toBe('inbox');

    const plain = Buffer.from(
      `From: ${GREG}\r\nTo: ${RYAN}\r\nSubject: not encrypted\r\n\r\nhello\r\n`,
    );
    const notSmime = await store.receive({ raw: plain, envelope }, ryanOpens);
    expect(store.get(notSmime.id)).toMatchObject({
      folder: 'untrusted',
      subject: '',
      sender: GREG,
      snippet: '',
    });
    const openedPlain = await store.open(notSmime.id, ryanOpens);
    expect(openedPlain.decrypted).toBe(false);
    expect(openedPlain.verification.reasons.map((r) => r.code)).toEqual(['NOT_SMIME']);
  });

  it('refuses an OpenFn that changes the bytes it was given', async () => {
    const raw = direct(plainMessage({ subject: 'mutate', body: 'x' }));
    const mutating: OpenFn = async (bytes) => {
      const result = await ryanOpens(Buffer.from(bytes));
      bytes.writeUInt8((bytes[bytes.length - 3] ?? 0) ^ 1, bytes.length - 3);
      return result;
    };
    await expect(store.receive({ raw, envelope }, mutating)).rejects.toMatchObject({
      code: 'INTERNAL',
    });
    expect(store.search('mutate')).toEqual([]);
  });

  it('an OpenFn whose inner message is a view of the stored bytes does not get them zeroed', async () => {
    const raw = plainMessage({ subject: 'Aliased inner', body: 'kept as is' });
    const copy = Buffer.from(raw);
    const aliasing: OpenFn = (bytes) =>
      Promise.resolve({ inner: bytes.subarray(0), verification: { trusted: false, reasons: [] } });
    const { id } = await store.receive({ raw, envelope }, aliasing);
    expect(store.ciphertext(id).equals(copy)).toBe(true);
    expect(store.get(id)).toMatchObject({ folder: 'untrusted', subject: 'Aliased inner' });
  });

  it('search finds words in subject, sender, body and attachment names, by prefix', async () => {
    const { id } = await store.receive(
      {
        raw: direct(
          plainMessage({
            subject: 'Echocardiogram scheduling',
            body: 'Please bring the referral from Dr. Müller.',
            attachments: [{ name: 'referral-form.pdf', content: Buffer.from('%PDF') }],
          }),
        ),
        envelope,
      },
      ryanOpens,
    );
    expect(store.search('echocardio').map((r) => r.id)).toEqual([id]);
    expect(store.search('muller referral').map((r) => r.id)).toEqual([id]);
    expect(store.search('referral-form').map((r) => r.id)).toEqual([id]);
    expect(store.search('echocardiogram', { folder: 'trash' })).toEqual([]);
    expect(store.search('"; DROP TABLE messages; --')).toEqual([]);
    expect(store.search('')).toEqual([]);
  });

  it('deletes overwrite freed bytes: secure_delete is on, and FTS5 secure-delete too', () => {
    profile.db.read((db) => {
      expect(db.pragma('secure_delete', { simple: true })).toBe(1);
      expect(
        db.prepare(`SELECT v FROM message_search_config WHERE k = 'secure-delete'`).get(),
      ).toEqual({ v: 1 });
    });
  });

  it('flags, move, list paging and delete (which also removes it from search)', async () => {
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) {
      const { id } = await store.receive(
        { raw: direct(plainMessage({ subject: `Paging zebra ${i}`, body: 'b' })), envelope },
        ryanOpens,
      );
      ids.push(id);
    }
    const [a, b, c] = ids as [number, number, number];
    store.setFlags(a, { seen: true, flagged: true });
    expect(store.get(a).flags).toEqual({ seen: true, flagged: true, answered: false });
    store.setFlags(a, { flagged: false });
    expect(store.get(a).flags).toEqual({ seen: true, flagged: false, answered: false });
    store.move(b, 'archive');
    expect(store.list('archive').map((r) => r.id)).toEqual([b]);
    expect(store.counts().archive).toEqual({ total: 1, unseen: 1 });
    const page1 = store.list('inbox', { limit: 1 });
    expect(page1.map((r) => r.id)).toEqual([c]);
    expect(store.list('inbox', { limit: 1, before: c }).map((r) => r.id)).toEqual([a]);
    // Offset paging (a virtualized list jumping to a position) gives the same order.
    const all = store.list('inbox', { limit: 500 }).map((r) => r.id);
    expect(all.slice(0, 2)).toEqual([c, a]);
    for (const offset of [0, 1, 2, all.length - 1, all.length]) {
      expect(store.list('inbox', { limit: 2, offset }).map((r) => r.id)).toEqual(
        all.slice(offset, offset + 2),
      );
    }
    expect(store.count('archive')).toEqual({ total: 1, unseen: 1 });
    expect(store.count('trash')).toEqual({ total: 0, unseen: 0 });
    expect(store.search('zebra')).toHaveLength(3);
    store.delete(c);
    expect(() => store.get(c)).toThrow(
      expect.objectContaining({ code: 'MESSAGE_NOT_FOUND' }) as Error,
    );
    expect(
      store
        .search('zebra')
        .map((r) => r.id)
        .sort(),
    ).toEqual([a, b].sort());
    await expect(store.open(c, ryanOpens)).rejects.toMatchObject({ code: 'MESSAGE_NOT_FOUND' });
    expect(() => store.move(a, 'spam' as 'inbox')).toThrow(HispError);
    expect(() => store.delete(c)).toThrow(
      expect.objectContaining({ code: 'MESSAGE_NOT_FOUND' }) as Error,
    );
  });

  it('storeSent with enqueue: outbox, queue rows, relayed → sent; failures and retries', () => {
    const inner = plainMessage({ subject: 'Referral out', body: 'sent body' });
    const raw = direct(inner);
    const { id, duplicate } = store.storeSent({
      raw,
      inner,
      envelope: { from: GREG, to: [RYAN, 'other@example.test'] },
      enqueue: [RYAN, 'other@example.test'],
    });
    expect(duplicate).toBe(false);
    expect(store.get(id)).toMatchObject({
      folder: 'outbox',
      direction: 'out',
      subject: 'Referral out',
    });
    expect(store.storeSent({ raw, inner, envelope, enqueue: [RYAN] })).toEqual({
      id,
      duplicate: true,
    });
    const rows = store.queueFor(id);
    expect(rows.map((r) => [r.recipient, r.state, r.attempts])).toEqual([
      [RYAN, 'queued', 0],
      ['other@example.test', 'queued', 0],
    ]);
    expect(store.due().map((r) => r.id)).toEqual(rows.map((r) => r.id));
    const [first, second] = rows as [(typeof rows)[0], (typeof rows)[0]];
    expect(store.markSending(first.id)).toBe(true);
    expect(store.markSending(first.id)).toBe(false);
    store.markRelayed(first.id);
    expect(store.get(id).folder).toBe('outbox'); // one recipient still waits
    store.markSending(second.id);
    store.markFailed(
      second.id,
      { code: 'FETCH_FAILED', message: 'no route' },
      new Date('2026-11-02T11:00:00Z'),
    );
    expect(store.queueFor(id)[1]).toMatchObject({
      state: 'queued',
      attempts: 1,
      nextAttemptAt: '2026-11-02T11:00:00.000Z',
      lastError: { code: 'FETCH_FAILED', message: 'no route' },
    });
    expect(store.due()).toEqual([]); // not due yet
    // New relay settings saved: what waits is due now.
    expect(store.retryWaitingNow()).toBe(1);
    expect(store.due().map((r) => r.id)).toEqual([second.id]);
    expect(store.retryWaitingNow()).toBe(0);
    store.markSending(second.id); // (a caller would only do this when due)
    expect(store.requeueInterrupted()).toBe(1);
    store.markSending(second.id);
    store.markRelayed(second.id);
    expect(store.get(id).folder).toBe('sent');
    expect(() => store.enqueue(store.list('inbox')[0]?.id ?? 0, [RYAN])).toThrow(HispError);

    // A recipient that fails for good does not keep the message in the Outbox.
    const failing = plainMessage({ subject: 'Refused out', body: 'x' });
    const refused = store.storeSent({
      raw: direct(failing),
      inner: failing,
      envelope: { from: GREG, to: [RYAN] },
      enqueue: [RYAN],
    });
    const [only] = store.queueFor(refused.id);
    store.markSending(only?.id ?? 0);
    store.markFailed(only?.id ?? 0, { code: 'RELAY_REJECTED', message: '550 no such user' });
    expect(store.get(refused.id).folder).toBe('sent');
    expect(store.get(refused.id).flags.seen).toBe(true); // what we sent is read already
  });

  it('a sent copy opens with the sender’s own key', async () => {
    const inner = plainMessage({ subject: 'Own copy', body: 'readable later' });
    const { id } = store.storeSent({ raw: direct(inner), inner, envelope });
    const opened = await store.open(id, gregOpens);
    expect(opened).toMatchObject({ decrypted: true, subject: 'Own copy', folder: 'sent' });
    expect(opened.text).toBe('readable later');
  });

  it('MDN tracking: processed then dispatched; late notifications are kept but change nothing; time-outs', () => {
    const inner = plainMessage({ subject: 'Tracked', body: 'x' });
    const { id } = store.storeSent({ raw: direct(inner), inner, envelope });
    store.trackMdn(id, [RYAN, 'b@example.test', 'c@example.test'], true);
    expect(store.mdnFor(id).map((r) => r.state)).toEqual(['pending', 'pending', 'pending']);
    expect(store.recordMdn(id, RYAN, 'processed').state).toBe('processed');
    expect(store.recordMdn(id, RYAN, 'dispatched').state).toBe('dispatched');
    const late = store.recordMdn(id, RYAN, 'failed');
    expect(late.state).toBe('dispatched');
    expect(late.lateNotifications.map((n) => n.kind)).toEqual(['failed']);
    expect(store.recordMdn(id, 'b@example.test', 'processed').state).toBe('processed');
    expect(store.timeOutMdns(new Date('2026-11-03T00:00:00Z'))).toEqual([
      { messageId: id, recipient: 'b@example.test' },
      { messageId: id, recipient: 'c@example.test' },
    ]);
    expect(store.timeOutMdns(new Date('2026-11-03T00:00:00Z'))).toEqual([]);
    const rows = store.mdnFor(id);
    expect(rows.map((r) => [r.recipient, r.state])).toEqual([
      ['b@example.test', 'timed-out'],
      ['c@example.test', 'timed-out'],
      [RYAN, 'dispatched'],
    ]);
    const afterTimeout = store.recordMdn(id, 'c@example.test', 'processed');
    expect(afterTimeout.state).toBe('timed-out');
    expect(afterTimeout.lateNotifications).toHaveLength(1);
    expect(() => store.recordMdn(id, 'nobody@example.test', 'processed')).toThrow(HispError);
  });

  it('every disclosure is in the audit log: receive, open, attachment save, send, delete', async () => {
    const audit = new AuditLog(profile);
    const before = audit.list().length;
    const inner = plainMessage({
      subject: 'Audited',
      body: 'audited body',
      messageId: '<audited@securehealthemail.com>',
      attachments: [{ name: 'a.txt', content: Buffer.from('attachment') }],
    });
    const { id } = await store.receive({ raw: direct(inner), envelope }, ryanOpens);
    await store.open(id, ryanOpens);
    await readAll(store.attachment(id, 0, ryanOpens));
    await readAll(store.attachment(id, 0, ryanOpens, 'forward'));
    store.delete(id);
    const sent = store.storeSent({
      raw: direct(
        plainMessage({
          subject: 'Audited out',
          body: 'x',
          messageId: '<out-audited@securehealthemail.com>',
        }),
      ),
      inner: plainMessage({
        subject: 'Audited out',
        body: 'x',
        messageId: '<out-audited@securehealthemail.com>',
      }),
      envelope: { from: GREG, to: ['carol@example.test'] },
      enqueue: ['carol@example.test'],
    });
    const [queued] = store.queueFor(sent.id);
    expect(store.markSending(queued?.id ?? -1)).toBe(true);
    store.markRelayed(queued?.id ?? -1);
    const entries = audit.list().slice(before);
    expect(entries.map((entry) => [entry.action, entry.counterpart, entry.messageId])).toEqual([
      ['receive', GREG, '<audited@securehealthemail.com>'],
      ['open', GREG, '<audited@securehealthemail.com>'],
      ['attachment-save', GREG, '<audited@securehealthemail.com>'],
      ['attachment-forward', GREG, '<audited@securehealthemail.com>'],
      ['delete', GREG, '<audited@securehealthemail.com>'],
      ['send', 'carol@example.test', '<out-audited@securehealthemail.com>'],
    ]);
    expect(audit.verify().entries).toBeGreaterThanOrEqual(6);
    // Never content: no entry carries the subject or the body.
    expect(JSON.stringify(entries)).not.toMatch(/Audited|audited body|a\.txt/);
  });

  it('drafts: save, replace, attachments, list, delete', () => {
    const id = store.saveDraft({
      to: [RYAN],
      subject: 'Draft one',
      body: 'unfinished',
      attachments: [
        {
          filename: 'a.bin',
          contentType: 'application/octet-stream',
          content: Buffer.from([1, 2, 3]),
        },
      ],
    });
    expect(store.getDraft(id)).toMatchObject({
      to: [RYAN],
      cc: [],
      subject: 'Draft one',
      body: 'unfinished',
      attachments: [{ filename: 'a.bin', contentType: 'application/octet-stream' }],
    });
    expect(store.getDraft(id).attachments[0]?.content.equals(Buffer.from([1, 2, 3]))).toBe(true);
    store.saveDraft(
      { to: [RYAN], cc: ['x@example.test'], subject: 'Draft one, edited', body: 'done' },
      id,
    );
    expect(store.getDraft(id)).toMatchObject({ subject: 'Draft one, edited', attachments: [] });
    expect(store.listDrafts().map((d) => d.id)).toContain(id);
    store.deleteDraft(id);
    expect(() => store.getDraft(id)).toThrow(
      expect.objectContaining({ code: 'NOT_FOUND' }) as Error,
    );
  });
});

describe('migration 7: per-recipient copies and the delivery timeline', () => {
  it('adds a nullable own copy to queue rows and a STRICT delivery_events table with CHECKs', () => {
    const db = EncryptedDatabase.open({
      file: join(root, 'm7.db'),
      key: randomBytes(32),
      migrations: MIGRATIONS,
    });
    try {
      expect(db.version).toBeGreaterThanOrEqual(m007.version);
      db.read((sql) => {
        const table = sql
          .prepare(`SELECT strict FROM pragma_table_list WHERE name = 'delivery_events'`)
          .get() as { strict: number } | undefined;
        expect(table?.strict).toBe(1);
        const column = (
          sql
            .prepare(`SELECT name, type, "notnull" FROM pragma_table_info('outbound_queue')`)
            .all() as {
            name: string;
            type: string;
            notnull: number;
          }[]
        ).find((c) => c.name === 'ciphertext');
        expect(column).toEqual({ name: 'ciphertext', type: 'BLOB', notnull: 0 });
      });
      const id = Number(
        db.transaction(
          (sql) =>
            sql
              .prepare(
                `INSERT INTO messages (direction, folder, received_at, envelope_from, envelope_to,
                 routing, ciphertext, size, digest, verification)
               VALUES ('out', 'sent', 'now', 'a', '[]', '{}', x'00', 1, 'd', '{}')`,
              )
              .run().lastInsertRowid,
        ),
      );
      const event = (state: string, late = 0) =>
        db.transaction((sql) =>
          sql
            .prepare(
              `INSERT INTO delivery_events (message_id, recipient, state, late, at)
               VALUES (?, 'r', ?, ?, 'now')`,
            )
            .run(id, state, late),
        );
      expect(() => event('read')).toThrow(/CHECK/);
      expect(() => event('relayed', 2)).toThrow(/CHECK/);
      expect(() => event('timed-out')).not.toThrow();
      db.transaction((sql) => sql.prepare('DELETE FROM messages WHERE id = ?').run(id));
      db.read((sql) =>
        expect(sql.prepare('SELECT count(*) AS n FROM delivery_events').get()).toEqual({ n: 0 }),
      );
    } finally {
      db.close();
    }
  });
});

describe('MailStore delivery: own copies, timeline, summary', () => {
  let clock = new Date('2026-11-05T08:00:00Z');
  let timed: MailStore;
  const tick = (minutes: number) => {
    clock = new Date(clock.getTime() + minutes * 60_000);
  };
  beforeAll(() => {
    timed = new MailStore(profile, { now: () => clock });
  });

  it('a Bcc recipient’s row carries its own copy, sent instead of the message’s; the index lists it', () => {
    const inner = plainMessage({ subject: 'With a blind copy', body: 'b' });
    const shared = direct(inner);
    const blindCopy = direct(inner);
    expect(blindCopy.equals(shared)).toBe(false);
    const { id } = timed.storeSent({
      raw: shared,
      inner,
      envelope: { from: GREG, to: [RYAN, 'blind@example.test'] },
      enqueue: [RYAN],
      bcc: [{ recipient: 'blind@example.test', raw: blindCopy }],
    });
    expect(timed.get(id)).toMatchObject({
      folder: 'outbox',
      recipients: [RYAN, 'blind@example.test'],
    });
    const rows = timed.queueFor(id);
    expect(rows.map((r) => [r.recipient, r.ownCopy])).toEqual([
      [RYAN, false],
      ['blind@example.test', true],
    ]);
    const [open, blind] = rows as [(typeof rows)[0], (typeof rows)[0]];
    expect(timed.queueCiphertext(open.id).equals(shared)).toBe(true);
    expect(timed.queueCiphertext(blind.id).equals(blindCopy)).toBe(true);
    expect(timed.ciphertext(id).equals(shared)).toBe(true); // the Sent copy is the To/Cc one
    timed.delete(id);
    expect(() => timed.queueCiphertext(blind.id)).toThrow(
      expect.objectContaining({ code: 'MESSAGE_NOT_FOUND' }) as Error,
    );
  });

  it('only blind copies: stored once as the first copy, every row sends its own', () => {
    const inner = plainMessage({ subject: 'Only blind', body: 'b' });
    const first = direct(inner);
    const second = direct(inner);
    const { id } = timed.storeSent({
      raw: first,
      inner,
      envelope: { from: GREG, to: ['x@example.test', 'y@example.test'] },
      enqueue: [],
      bcc: [
        { recipient: 'x@example.test', raw: first },
        { recipient: 'y@example.test', raw: second },
      ],
    });
    expect(timed.get(id).folder).toBe('outbox');
    expect(timed.queueFor(id).map((r) => r.ownCopy)).toEqual([true, true]);
    const ys = timed.queueFor(id)[1];
    expect(ys && timed.queueCiphertext(ys.id).equals(second)).toBe(true);
  });

  it('the timeline: queued, retrying, relayed, failed, processed, dispatched, late, timed-out — in order', () => {
    const inner = plainMessage({ subject: 'Timeline', body: 't' });
    const { id } = timed.storeSent({
      raw: direct(inner),
      inner,
      envelope: { from: GREG, to: [RYAN, 'b@example.test', 'c@example.test'] },
      enqueue: [RYAN, 'b@example.test', 'c@example.test'],
    });
    timed.trackMdn(id, [RYAN, 'b@example.test', 'c@example.test'], true);
    const [r, b, c] = timed.queueFor(id) as [QueueRow, QueueRow, QueueRow];
    tick(1);
    timed.markSending(r.id);
    timed.markFailed(r.id, { code: 'RELAY_DEFERRED', message: '451 try later' }, clock);
    timed.markSending(b.id);
    timed.markFailed(b.id, { code: 'RELAY_REJECTED', message: '550 no such user' });
    tick(1);
    timed.markSending(r.id);
    timed.markRelayed(r.id);
    timed.markSending(c.id);
    timed.markRelayed(c.id);
    tick(1);
    timed.recordMdn(id, RYAN, 'processed');
    tick(1);
    timed.recordMdn(id, RYAN, 'dispatched');
    tick(1);
    timed.recordMdn(id, RYAN, 'failed'); // late: dispatched is final
    tick(120);
    const timedOut = timed.timeOutMdns(new Date(clock.getTime() - 60 * 60_000));
    expect(timedOut).toEqual(
      expect.arrayContaining([
        { messageId: id, recipient: 'b@example.test' },
        { messageId: id, recipient: 'c@example.test' },
      ]),
    );
    expect(timedOut.every((row) => row.messageId !== id || row.recipient !== RYAN)).toBe(true);

    const timeline = timed.deliveryTimeline(id);
    expect(timeline.map((t) => [t.recipient, t.queue, t.mdn])).toEqual([
      [RYAN, 'relayed', 'dispatched'],
      ['b@example.test', 'failed', 'timed-out'],
      ['c@example.test', 'relayed', 'timed-out'],
    ]);
    const [ryanLine, bLine, cLine] = timeline as [
      DeliveryRecipient,
      DeliveryRecipient,
      DeliveryRecipient,
    ];
    expect(ryanLine.events.map((e) => [e.state, e.late ?? false, e.code])).toEqual([
      ['queued', false, undefined],
      ['retrying', false, 'RELAY_DEFERRED'],
      ['relayed', false, undefined],
      ['processed', false, undefined],
      ['dispatched', false, undefined],
      ['failed', true, 'DELIVERY_FAILED'],
    ]);
    expect(ryanLine.events[1]).toMatchObject({ message: '451 try later' });
    const times = ryanLine.events.map((e) => e.at);
    expect([...times].sort()).toEqual(times);
    expect(times[0]).toBe('2026-11-05T08:00:00.000Z');
    expect(bLine.events.map((e) => [e.state, e.code])).toEqual([
      ['queued', undefined],
      ['failed', 'RELAY_REJECTED'],
      ['timed-out', 'DELIVERY_TIMED_OUT'],
    ]);
    expect(cLine.events.map((e) => e.state)).toEqual(['queued', 'relayed', 'timed-out']);
    expect(() => timed.deliveryTimeline(999_999)).toThrow(
      expect.objectContaining({ code: 'MESSAGE_NOT_FOUND' }) as Error,
    );
  });

  it('the summary counts each message’s recipients in one call; others get zeros', () => {
    const inner = plainMessage({ subject: 'Summary', body: 's' });
    const { id } = timed.storeSent({
      raw: direct(inner),
      inner,
      envelope: { from: GREG, to: [RYAN, 'b@example.test', 'c@example.test', 'd@example.test'] },
      enqueue: [RYAN, 'b@example.test', 'c@example.test', 'd@example.test'],
    });
    timed.trackMdn(id, [RYAN, 'b@example.test', 'c@example.test', 'd@example.test'], true);
    const [r, b, c] = timed.queueFor(id) as [QueueRow, QueueRow, QueueRow];
    for (const row of [r, b, c]) timed.markSending(row.id);
    timed.markRelayed(r.id);
    timed.markRelayed(c.id);
    timed.markFailed(b.id, { code: 'RELAY_REJECTED', message: '550' });
    timed.recordMdn(id, RYAN, 'processed');
    timed.recordMdn(id, RYAN, 'dispatched');
    timed.recordMdn(id, 'c@example.test', 'processed');
    const other = plainMessage({ subject: 'Summary 2', body: 's' });
    const second = timed.storeSent({
      raw: direct(other),
      inner: other,
      envelope: { from: GREG, to: [RYAN] },
      enqueue: [RYAN],
    }).id;
    const received = store.list('inbox')[0]?.id ?? -1;
    const summary = timed.deliverySummary([id, second, received, id]);
    expect([...summary.keys()]).toEqual([id, second, received]);
    expect(summary.get(id)).toEqual({
      recipients: 4,
      relayed: 2,
      processed: 1,
      dispatched: 1,
      failed: 1,
      timedOut: 0,
      pending: 1, // d: still queued (b failed; c has its processed)
    });
    expect(summary.get(second)).toEqual({
      recipients: 1,
      relayed: 0,
      processed: 0,
      dispatched: 0,
      failed: 0,
      timedOut: 0,
      pending: 1,
    });
    expect(summary.get(received)).toMatchObject({ recipients: 0, pending: 0 });
    expect(timed.deliverySummary([])).toEqual(new Map());
    expect(() => timed.deliverySummary(Array.from({ length: 501 }, (_, i) => i + 1))).toThrow(
      expect.objectContaining({ code: 'BAD_REQUEST' }) as Error,
    );
    expect(() => timed.deliverySummary([0])).toThrow(HispError);
  });
});
