/**
 * `sealpost serve --config FILE` sending and receiving Direct mail, in process: two vault
 * profiles A and B with one identity each under one anchor (imported into both trust
 * stores), our DNS responder publishing both certificates, and two `serve` runs whose config
 * files point each one's relay (a smarthost over STARTTLS, the anchor as CA) at the other's
 * inbound SMTP. `sendMessage` on A's bridge → B holds the message decrypted and trusted → A's
 * delivery tracking shows B's processed notification. And the config file's usage errors.
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  Alert,
  DeliveryEvent,
  DeliveryRecipient,
  MailboxEvent,
  MessageSummary,
  OpenedMessage,
} from '../../hisp/api/index.js';
import type { ParsedCertificate } from '../../hisp/certs/certificate.js';
import type { DnsResponder } from '../../hisp/certs/hosting/dnsResponder.js';
import { MailStore } from '../../hisp/store/mail.js';
import { openProfile, type Profile } from '../../hisp/store/profile.js';
import { runCaptured, serveInProcess, type CliIoOptions, type Served } from '../services/cliIo.js';
import { startDovecot } from '../services/dovecot.js';
import { freePort } from '../services/ports.js';
import {
  bridgeCall,
  createPracticePki,
  initPracticeProfiles,
  openMailWindow,
  pollUntil,
  practiceKeySource,
  startLoopbackDns,
  TWO_PRACTICES,
  type PkiFiles,
} from '../services/practices.js';
import { makeTempDir, type TempDir } from '../services/tmp.js';

const PASS = 'serve mail test passphrase';
const SUBMIT_PASS = 'submission secret';
const PRACTICES = TWO_PRACTICES;

let tmp: TempDir;
let dns: DnsResponder;
let anchor: ParsedCertificate;
let files: PkiFiles;
const opened: Profile[] = [];

beforeAll(async () => {
  tmp = await makeTempDir('serve-mail');
  const pki = await createPracticePki(tmp.path, {
    anchorName: 'Serve Mail Test Anchor',
    practices: PRACTICES,
  });
  anchor = pki.anchor;
  files = pki.files;
  dns = await startLoopbackDns(
    pki.practices.map((practice) => ({ domain: practice.domain, certificates: [practice.cert] })),
  );
  await initPracticeProfiles(tmp.path, pki, PASS);
}, 60_000);

afterAll(async () => {
  for (const profile of opened) profile.close();
  await dns?.close();
  await tmp?.remove();
});

const cliOptions = (): CliIoOptions => ({ env: { PASS, SUBMIT_PASS }, root: tmp.path });

const profileDir = (index: 0 | 1) => join(tmp.path, PRACTICES[index].name);
const pass = (index: 0 | 1) => ['--profile', profileDir(index), '--pass', 'env:PASS'];

async function writeConfig(name: string, config: unknown): Promise<string> {
  const file = join(tmp.path, `${name}.json`);
  await writeFile(file, JSON.stringify(config, null, 2));
  return file;
}

/** `sealpost serve` for practice `index` with this config file, once its bridge is up. */
function serve(index: 0 | 1, config: string): Promise<Served> {
  return serveInProcess([...pass(index), '--listen', '127.0.0.1:0', '--config', config], {
    ...cliOptions(),
    profileDir: profileDir(index),
  });
}

/** A second connection to a profile that a running serve holds open (WAL allows it). */
async function peek(index: 0 | 1): Promise<MailStore> {
  const profile = await openProfile(profileDir(index), {
    keySourceFor: () => practiceKeySource(profileDir(index), PASS),
  });
  opened.push(profile);
  return new MailStore(profile);
}

describe('sealpost serve --config: Direct mail between two practices', () => {
  it('risk-15 sendMessage on A reaches B decrypted and trusted; A tracks B’s processed MDN', async () => {
    const [portA, portB, portSubmit] = [await freePort(), await freePort(), await freePort()];
    const configFor = (own: number, other: number, extra: object = {}) => ({
      ...extra,
      inbound: {
        listen: `127.0.0.1:${own}`,
        tlsCert: 'tls.pem', // relative to the config file
        tlsKey: files['tlsKey'],
      },
      relay: {
        smarthost: { host: 'localhost', port: other, secure: 'starttls', ca: files['anchor'] },
      },
      dns: [`127.0.0.1:${dns.port}`],
    });
    const b = await serve(1, await writeConfig('b', configFor(portB, portA)));
    let a: Served | undefined;
    try {
      a = await serve(
        0,
        await writeConfig(
          'a',
          configFor(portA, portB, {
            submission: {
              listen: `127.0.0.1:${portSubmit}`,
              tlsCert: files['tlsCert'],
              tlsKey: files['tlsKey'],
              user: 'mailclient',
              pass: 'env:SUBMIT_PASS',
            },
          }),
        ),
      );
      const status = await bridgeCall(a, 'status', {});
      const components = (status.result as { components: { name: string; state: string }[] })
        .components;
      expect(components.filter((c) => ['relay', 'inbound', 'upstream'].includes(c.name))).toEqual([
        expect.objectContaining({ name: 'relay', state: 'ok' }),
        expect.objectContaining({ name: 'inbound', state: 'ok' }),
        expect.objectContaining({ name: 'upstream', state: 'off' }),
      ]);

      // The mail window's view: delivery events over the bridge's WebSocket.
      const events = await openMailWindow(a);
      const deliveries: DeliveryEvent[] = [];
      events.on('delivery', (event) => deliveries.push(event));

      const sent = await bridgeCall(a, 'sendMessage', {
        from: PRACTICES[0].address,
        to: [PRACTICES[1].address, 'nobody@practice-b.test'],
        subject: 'Referral: J. Doe',
        text: 'Please see J. Doe next week.',
      });
      expect(sent.ok, JSON.stringify(sent.error)).toBe(true);
      const result = sent.result as {
        id: number;
        messageId: string;
        recipients: { address: string; state: string; check: { state: string } }[];
      };
      expect(result.recipients.map((r) => [r.address, r.state, r.check.state])).toEqual([
        [PRACTICES[1].address, 'queued', 'found'],
        ['nobody@practice-b.test', 'refused', 'not-found'],
      ]);
      expect(result.messageId).toMatch(/@practice-a\.test>$/);

      const storeB = await peek(1);
      const received = await pollUntil(
        'the message in B’s inbox',
        () => storeB.list('inbox').find((row) => row.subject === 'Referral: J. Doe'),
        () => b.err().slice(-4000) + (a?.err().slice(-4000) ?? ''),
      );
      expect(received.trusted).toBe(true);

      const storeA = await peek(0);
      const tracked = await pollUntil(
        'B’s processed MDN at A',
        () => {
          const rows = storeA.mdnFor(result.id);
          return rows.length > 0 && rows.every((row) => row.state !== 'pending') ? rows : undefined;
        },
        () => b.err().slice(-4000) + (a?.err().slice(-4000) ?? ''),
      );
      expect(tracked.map((row) => row.recipient)).toEqual([PRACTICES[1].address]);
      expect(['processed', 'dispatched']).toContain(tracked[0]?.state);
      const event = await pollUntil(
        'a delivery event for B at A’s mail window',
        () => deliveries.find((e) => e.id === result.id && e.recipient === PRACTICES[1].address),
        () => a?.err().slice(-4000) ?? '',
      );
      expect(['processed', 'dispatched']).toContain(event.state);
      events.close();

      // risk-15: what A keeps and what B received are S/MIME, never the text.
      for (const bytes of [storeA.ciphertext(result.id), storeB.ciphertext(received.id)]) {
        expect(bytes.includes('Please see J. Doe')).toBe(false);
        expect(bytes.includes('Referral: J. Doe')).toBe(false);
      }
      const inboundB = (
        (await bridgeCall(b, 'status', {})).result as {
          components: { name: string; detail?: string }[];
        }
      ).components.find((c) => c.name === 'inbound');
      expect(inboundB?.detail).toMatch(/practice-b\.test; [1-9]\d* received/);

      // A local mail client submits through A (STARTTLS + AUTH); the HISP parses it and sends
      // it the one way: signed and encrypted, never the submitted bytes (risk-15).
      const client = (pass: string) =>
        nodemailer.createTransport({
          host: '127.0.0.1',
          port: portSubmit,
          secure: false,
          requireTLS: true,
          auth: { user: 'mailclient', pass },
          tls: { ca: [anchor.x509.toString()], servername: 'localhost' },
          connectionTimeout: 5000,
          greetingTimeout: 5000,
          socketTimeout: 10_000,
        });
      const submitted = (to: string[]) => ({
        envelope: { from: PRACTICES[0].address, to },
        raw:
          `From: Dr. Adams <${PRACTICES[0].address}>\r\nTo: ${PRACTICES[1].address}\r\n` +
          'Subject: Submitted: lab results\r\nMIME-Version: 1.0\r\n' +
          'Content-Type: text/plain; charset=utf-8\r\n\r\nHbA1c 6.1%, see attached notes.\r\n',
      });
      await expect(
        client('wrong').sendMail(submitted([PRACTICES[1].address])),
      ).rejects.toMatchObject({ responseCode: 535 });
      await expect(
        client(SUBMIT_PASS).sendMail(submitted(['hidden@practice-b.test'])), // To not in envelope
      ).rejects.toMatchObject({ responseCode: 554 });
      await client(SUBMIT_PASS).sendMail(submitted([PRACTICES[1].address]));
      const viaSubmission = await pollUntil(
        'the submitted message in B’s inbox',
        () => storeB.list('inbox').find((row) => row.subject === 'Submitted: lab results'),
        () => b.err().slice(-4000) + (a?.err().slice(-4000) ?? ''),
      );
      expect(viaSubmission.trusted).toBe(true);
      const submittedBytes = storeB.ciphertext(viaSubmission.id);
      expect(submittedBytes.includes('HbA1c')).toBe(false);
      expect(submittedBytes.includes('Submitted: lab results')).toBe(false);
      // A records it as sent once B's server has answered (B may store it a moment before).
      await pollUntil(
        'the submitted message in A’s Sent',
        () => storeA.list('sent').find((row) => row.subject === 'Submitted: lab results'),
        () => a?.err().slice(-4000) ?? '',
      );
      expect(
        storeA.list('sent').filter((row) => row.subject === 'Submitted: lab results'),
      ).toHaveLength(1);

      // Locked: sendMessage is refused and mail stops (the inbound port is let go).
      expect((await bridgeCall(a, 'lock', {})).ok).toBe(true);
      const refused = await bridgeCall(a, 'sendMessage', {
        from: PRACTICES[0].address,
        to: [PRACTICES[1].address],
        subject: 'x',
        text: 'x',
      });
      expect(refused.error?.code).toBe('PROFILE_LOCKED');
      const lockedStatus = (
        (await bridgeCall(a, 'status', {})).result as {
          components: { name: string; state: string }[];
        }
      ).components;
      expect(lockedStatus.find((c) => c.name === 'inbound')?.state).toBe('off');
      // …and unlocking starts it again on the same port.
      expect((await bridgeCall(a, 'unlock', { passphrase: PASS })).ok).toBe(true);
      const unlocked = (
        (await bridgeCall(a, 'status', {})).result as {
          components: { name: string; state: string; detail?: string }[];
        }
      ).components.find((c) => c.name === 'inbound');
      expect(unlocked).toMatchObject({ state: 'ok' });
      expect(unlocked?.detail).toContain(`127.0.0.1:${portA}`);
    } finally {
      expect(await a?.stop()).toBe(0);
      expect(await b.stop()).toBe(0);
    }
  }, 60_000);
});

describe('sealpost serve --config: the mail window’s calls', () => {
  it('drafts, sending with an attachment, the inbox, reading, search, moves and deletes, delivery steps, and the mailbox event', async () => {
    const [portA, portB] = [await freePort(), await freePort()];
    const configFor = (own: number, other: number) => ({
      inbound: { listen: `127.0.0.1:${own}`, tlsCert: files['tlsCert'], tlsKey: files['tlsKey'] },
      relay: {
        smarthost: { host: 'localhost', port: other, secure: 'starttls', ca: files['anchor'] },
      },
      dns: [`127.0.0.1:${dns.port}`],
    });
    const b = await serve(1, await writeConfig('b-window', configFor(portB, portA)));
    const a = await serve(0, await writeConfig('a-window', configFor(portA, portB)));
    const windowB = await openMailWindow(b);
    try {
      const mailboxEvents: MailboxEvent[] = [];
      windowB.on('mailbox', (event) => mailboxEvents.push(event));
      const ok = async <T>(served: Served, method: string, params: unknown): Promise<T> => {
        const answer = await bridgeCall(served, method, params);
        expect(answer.ok, `${method}: ${JSON.stringify(answer.error)}`).toBe(true);
        return answer.result as T;
      };

      const { identities } = await ok<{ identities: { address: string; bound: string }[] }>(
        a,
        'identities',
        {},
      );
      expect(identities).toEqual([
        expect.objectContaining({ address: PRACTICES[0].address, bound: 'address' }),
      ]);

      // A draft with an attachment, kept encrypted, read back byte for byte.
      const labs = randomBytes(50_000);
      const attachment = {
        filename: 'labs 2026.pdf',
        contentType: 'application/pdf',
        dataBase64: labs.toString('base64'),
      };
      const draft = await ok<{ id: number }>(a, 'saveDraft', {
        to: [PRACTICES[1].address],
        cc: [],
        subject: 'Window: labs for J. Doe',
        text: 'Draft text',
        attachments: [attachment],
      });
      const readBack = await ok<{ attachments: { dataBase64: string }[]; text: string }>(
        a,
        'getDraft',
        { id: draft.id },
      );
      expect(readBack.text).toBe('Draft text');
      expect(Buffer.from(readBack.attachments[0]?.dataBase64 ?? '', 'base64').equals(labs)).toBe(
        true,
      );
      const folderOf = async (served: Served, name: string) =>
        (
          await ok<{ folders: { folder: string; total: number; unseen: number }[] }>(
            served,
            'folders',
            {},
          )
        ).folders.find((f) => f.folder === name);
      expect(await folderOf(a, 'drafts')).toEqual({ folder: 'drafts', total: 1, unseen: 0 });

      // Sent from the draft: the draft goes, the message is queued.
      const sent = await ok<{ id: number; recipients: { state: string }[] }>(a, 'sendMessage', {
        from: PRACTICES[0].address,
        to: [PRACTICES[1].address],
        subject: 'Window: labs for J. Doe',
        text: 'Results attached.',
        attachments: [attachment],
        draftId: draft.id,
      });
      expect(sent.recipients.map((r) => r.state)).toEqual(['queued']);
      expect((await ok<{ drafts: unknown[] }>(a, 'listDrafts', {})).drafts).toEqual([]);

      // B's window hears of it, lists it unread, and reads it: decrypted, trusted, signer and anchor named.
      const arrived = await pollUntil(
        'the mailbox event at B',
        () =>
          mailboxEvents
            .flatMap((event) => event.arrived)
            .find((m) => m.subject === 'Window: labs for J. Doe'),
        () => b.err().slice(-4000) + a.err().slice(-4000),
      );
      expect(arrived.folder).toBe('inbox');
      const listed = await ok<{ messages: MessageSummary[]; total: number }>(b, 'listMessages', {
        folder: 'inbox',
        limit: 50,
      });
      const row = listed.messages.find((m) => m.id === arrived.id);
      expect(row).toMatchObject({ seen: false, trusted: true, hasAttachments: true });
      expect(listed.total).toBeGreaterThanOrEqual(listed.messages.length);
      const unseenBefore = (await folderOf(b, 'inbox'))?.unseen ?? 0;
      const opened = await ok<OpenedMessage>(b, 'openMessage', { id: arrived.id });
      expect(opened.decrypted).toBe(true);
      expect(opened.text).toContain('Results attached.');
      expect(opened.verification).toMatchObject({ trusted: true, signer: PRACTICES[0].address });
      expect(opened.verification.anchor).toContain('Serve Mail Test Anchor');
      // The demo PKI publishes no CRL: soft-fail revocation is reported, trust stands.
      expect(opened.verification.reasons.map((r) => r.code)).toEqual(['REVOCATION_UNKNOWN']);
      expect(opened.attachments).toEqual([
        expect.objectContaining({ index: 0, filename: 'labs 2026.pdf', size: labs.length }),
      ]);
      expect(opened.summary.seen).toBe(true);
      expect((await folderOf(b, 'inbox'))?.unseen).toBe(unseenBefore - 1);
      const saved = await ok<{ dataBase64: string }>(b, 'getAttachment', {
        id: arrived.id,
        index: 0,
      });
      expect(Buffer.from(saved.dataBase64, 'base64').equals(labs)).toBe(true);
      const missing = await bridgeCall(b, 'getAttachment', { id: arrived.id, index: 5 });
      expect(missing.error?.code).toBe('NOT_FOUND');

      // Search through the encrypted index.
      const found = await ok<{ messages: MessageSummary[] }>(b, 'searchMessages', {
        text: 'labs',
      });
      expect(found.messages.map((m) => m.id)).toContain(arrived.id);

      // Flag, move, delete to Trash, then delete for good.
      await ok(b, 'updateMessages', { ids: [arrived.id], flagged: true, folder: 'archive' });
      const archived = await ok<{ messages: MessageSummary[] }>(b, 'listMessages', {
        folder: 'archive',
      });
      expect(archived.messages.find((m) => m.id === arrived.id)).toMatchObject({ flagged: true });
      const badMove = await bridgeCall(b, 'updateMessages', { ids: [arrived.id], folder: 'sent' });
      expect(badMove.error?.code).toBe('BAD_REQUEST');
      expect(await ok(b, 'deleteMessages', { ids: [arrived.id] })).toEqual({
        trashed: 1,
        deleted: 0,
      });
      expect(await ok(b, 'deleteMessages', { ids: [arrived.id] })).toEqual({
        trashed: 0,
        deleted: 1,
      });
      expect((await bridgeCall(b, 'openMessage', { id: arrived.id })).error?.code).toBe(
        'MESSAGE_NOT_FOUND',
      );

      // A's Sent: per-recipient steps up to B's notification.
      let delivery: DeliveryRecipient[] = [];
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        delivery = (
          await ok<{ recipients: DeliveryRecipient[] }>(a, 'messageDelivery', { id: sent.id })
        ).recipients;
        if (delivery[0]?.notification === 'processed' || delivery[0]?.notification === 'dispatched')
          break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(delivery.map((r) => r.recipient)).toEqual([PRACTICES[1].address]);
      const states = delivery[0]?.steps.map((step) => step.state) ?? [];
      expect(states.slice(0, 3)).toEqual(['queued', 'relayed', 'processed']);
      expect(delivery[0]?.queue).toBe('relayed');
      const sentList = await ok<{ messages: MessageSummary[] }>(a, 'listMessages', {
        folder: 'sent',
      });
      expect(sentList.messages.find((m) => m.id === sent.id)?.delivery).toMatchObject({
        recipients: 1,
        relayed: 1,
      });
      // A's own inbox holds no delivery notifications: they are filed.
      const inboxA = await ok<{ messages: MessageSummary[] }>(a, 'listMessages', {
        folder: 'inbox',
      });
      expect(inboxA.messages.filter((m) => /processed|dispatched/i.test(m.subject))).toEqual([]);
    } finally {
      windowB.close();
      expect(await a.stop()).toBe(0);
      expect(await b.stop()).toBe(0);
    }
  }, 60_000);
});

describe('sealpost serve --config: the upstream mailbox', () => {
  it('B pulls A’s Direct message from an upstream IMAP mailbox; A without a relay keeps it queued', async () => {
    const dovecot = await startDovecot({ user: 'direct@practice-b.test' });
    try {
      // A with no relay: sendMessage stores and queues, the status says nothing leaves.
      const a = await serve(0, await writeConfig('a-norelay', { dns: [`127.0.0.1:${dns.port}`] }));
      let id: number;
      try {
        const sent = await bridgeCall(a, 'sendMessage', {
          from: PRACTICES[0].address,
          to: [PRACTICES[1].address],
          subject: 'Via the upstream mailbox',
          text: 'Pulled, not pushed.',
        });
        expect(sent.ok, JSON.stringify(sent.error)).toBe(true);
        id = (sent.result as { id: number }).id;
        const relay = (
          (await bridgeCall(a, 'status', {})).result as {
            components: { name: string; state: string; detail?: string }[];
          }
        ).components.find((c) => c.name === 'relay');
        expect(relay).toMatchObject({ state: 'off' });
        expect(relay?.detail).toMatch(/no relay configured.*[1-9]\d* queued/);
      } finally {
        expect(await a.stop()).toBe(0);
      }
      // The practice's Direct domain delivers to an ordinary mailbox: put A's bytes there.
      const bytes = (await peek(0)).ciphertext(id);
      const imap = new ImapFlow({
        host: dovecot.host,
        port: dovecot.imapsPort,
        secure: true,
        auth: { user: dovecot.user, pass: dovecot.password },
        tls: { ca: [dovecot.caPem] },
        logger: false,
        disableAutoIdle: true,
      });
      imap.on('error', () => undefined);
      await imap.connect();
      try {
        expect(await imap.append('INBOX', bytes)).not.toBe(false);
      } finally {
        await imap.logout();
      }

      const caFile = join(tmp.path, 'dovecot-ca.pem');
      const passFile = join(tmp.path, 'imap.pass');
      await writeFile(caFile, dovecot.caPem);
      await writeFile(passFile, `${dovecot.password}\n`, { mode: 0o600 });
      const b = await serve(
        1,
        await writeConfig('b-upstream', {
          upstream: {
            host: '127.0.0.1',
            port: dovecot.imapsPort,
            secure: 'implicit',
            user: dovecot.user,
            pass: `file:${passFile}`,
            ca: caFile,
            afterStore: 'flag',
          },
          dns: [`127.0.0.1:${dns.port}`],
        }),
      );
      try {
        const storeB = await peek(1);
        const pulled = await pollUntil(
          'the pulled message in B’s inbox',
          () => storeB.list('inbox').find((row) => row.subject === 'Via the upstream mailbox'),
          () => b.err().slice(-4000) + dovecot.output(),
        );
        expect(pulled.trusted).toBe(true);
        // Pulled mail goes through the mail agent like SMTP mail: B answers A with its
        // notifications (queued here: B has no relay configured).
        const notified = await pollUntil(
          'B’s delivery notifications to A, queued',
          () => {
            // Filed in Archive (records, not mail the clinician wrote), still queued.
            const rows = storeB
              .list('archive')
              .filter((row) => storeB.queueFor(row.id).some((q) => q.state === 'queued'))
              .filter(
                (row) =>
                  row.recipients.some((r) => r.includes('dr.adams@practice-a.test')) &&
                  row.subject.includes('Via the upstream mailbox'),
              );
            return rows.length >= 2 ? rows : undefined;
          },
          () => b.err().slice(-4000),
        );
        expect(notified.length).toBe(2); // processed and dispatched
        const upstream = (
          (await bridgeCall(b, 'status', {})).result as {
            components: { name: string; state: string; detail?: string }[];
          }
        ).components.find((c) => c.name === 'upstream');
        expect(upstream).toMatchObject({ state: 'ok' });
        expect(upstream?.detail).toContain(`IMAP 127.0.0.1:${dovecot.imapsPort} (INBOX)`);
        expect(b.err()).not.toContain(dovecot.password);
      } finally {
        expect(await b.stop()).toBe(0);
      }
    } finally {
      await dovecot.stop();
    }
  }, 60_000);
});

describe('risk-5 sealpost serve --config: the silence alert', () => {
  it('the traffic component turns degraded when no inbound message arrived for the period', async () => {
    // 0.001 h = 3.6 s, checked every 0.9 s: B's last inbound message (earlier tests) or its
    // start is older.
    const b = await serve(1, await writeConfig('b-silence', { silenceAlertHours: 0.001 }));
    const alerts: Alert[] = [];
    const window = await openMailWindow(b, (client) =>
      client.on('alert', (alert) => alerts.push(alert)),
    );
    try {
      let traffic: { state: string; detail?: string } | undefined;
      const deadline = Date.now() + 20_000;
      while (traffic?.state !== 'degraded' && Date.now() < deadline) {
        const status = (await bridgeCall(b, 'status', {})).result as {
          components: { name: string; state: string; detail?: string }[];
        };
        traffic = status.components.find((c) => c.name === 'traffic');
        if (traffic?.state !== 'degraded') await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(traffic).toMatchObject({ state: 'degraded' });
      expect(traffic?.detail).toMatch(/no inbound Direct message for .* check the MX/);
      // …and the mail window is told, in words…
      const alert = await pollUntil('the silence alert event', () => alerts[0], b.err);
      expect(alert.kind).toBe('silence');
      expect(alert.message).toMatch(/No Direct message has arrived .* MX record/);
      // …and so is a window opened after it, while the silence lasts.
      const later: Alert[] = [];
      const second = await openMailWindow(b, (client) =>
        client.on('alert', (event) => later.push(event)),
      );
      expect((await pollUntil('the alert for a later window', () => later[0], b.err)).kind).toBe(
        'silence',
      );
      second.close();
      window.close();
    } finally {
      expect(await b.stop()).toBe(0);
    }
  });
});

describe('sealpost serve --config: usage errors', () => {
  const rejects = async (config: unknown, pattern: RegExp) => {
    const file = await writeConfig(`bad-${randomBytes(4).toString('hex')}`, config);
    const run = await runCaptured(['serve', ...pass(0), '--config', file], cliOptions());
    expect(run.code, run.err).toBe(1);
    expect(run.err).toMatch(pattern);
    return run.err;
  };

  it('an inline password is refused, naming the key and never echoing the value', async () => {
    const err = await rejects(
      {
        relay: {
          smarthost: {
            host: 'smtp.example',
            port: 587,
            secure: 'starttls',
            user: 'clinic',
            pass: 'hunter2-inline',
          },
        },
      },
      /"relay\.smarthost\.pass" must be "env:NAME" or "file:PATH"/,
    );
    expect(err).not.toContain('hunter2-inline');
  });

  it('an unknown key is refused, naming it', async () => {
    await rejects(
      { inbound: { listen: '127.0.0.1:2525', tlsCert: 'a', tlsKey: 'b', tls: 1 } },
      /"inbound\.tls" is not a known key/,
    );
    await rejects({ relays: {} }, /"relays" is not a known key/);
  });

  it('an unset environment variable for a secret is a usage error naming the key', async () => {
    await rejects(
      {
        relay: {
          smarthost: {
            host: 'smtp.example',
            port: 587,
            secure: 'starttls',
            user: 'clinic',
            pass: 'env:NOT_SET_ANYWHERE',
          },
        },
      },
      /"relay\.smarthost\.pass" names the environment variable NOT_SET_ANYWHERE, which is not set/,
    );
  });
});
