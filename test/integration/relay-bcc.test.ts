/**
 * Blind copies and attachments end to end: practice A's real mail agent (DNS discovery,
 * signing, encryption, the mailbox) and relay worker send through a real smtp-server
 * smarthost on loopback (STARTTLS) that records each SMTP transaction. OpenSSL is the
 * independent peer that opens what arrived: a Bcc recipient's copy travels in its own
 * transaction, is encrypted only to it and the sender (no RecipientInfo for anyone else), and
 * names nobody as a blind copy; the To recipient's copy has no RecipientInfo for, and cannot be
 * decrypted by, the Bcc recipient. Attachments decrypt byte for byte. Then the same through
 * the local submission endpoint, with nodemailer as the mail client.
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decryptAndVerify } from '../../hisp/agent/inbound.js';
import { headerValue, headerValues, parseMime } from '../../hisp/agent/mime/index.js';
import { HispError } from '../../hisp/api/errors.js';
import type { ParsedCertificate } from '../../hisp/certs/certificate.js';
import type { DnsResponder } from '../../hisp/certs/hosting/dnsResponder.js';
import { createSilentLogger } from '../../hisp/log/logger.js';
import type { ComposeAttachment, MailAgent } from '../../hisp/relay/mailAgent.js';
import type { RelayWorker } from '../../hisp/relay/relayWorker.js';
import { startSubmission, type RunningSmtp } from '../../hisp/relay/smtpServer.js';
import { composeFromSubmission } from '../../hisp/relay/submission.js';
import type { MailStore } from '../../hisp/store/mail.js';
import { attachmentBytes, readInner } from '../../hisp/store/mail-content.js';
import type { Profile } from '../../hisp/store/profile.js';
import type { CertFiles } from '../services/certs.js';
import { opensslReceive, WRAP_HEADER } from '../services/openssl-direct.js';
import {
  createPracticeAgent,
  createPracticePki,
  issueDirectCert,
  smarthostRelay,
  startLoopbackDns,
} from '../services/practices.js';
import { run } from '../services/proc.js';
import { makeTempDir, type TempDir } from '../services/tmp.js';

const logger = createSilentLogger();
const A = 'dr.adams@practice-a.test';
const PARTNER = 'partner.test';
const ALICE = `alice@${PARTNER}`;
const BOB = `bob@${PARTNER}`;
const CAROL = `carol@${PARTNER}`;

interface Peer {
  readonly address: string;
  readonly cert: ParsedCertificate;
  readonly key: KeyObject;
  readonly files: CertFiles;
}

interface Transaction {
  readonly from: string;
  readonly to: string[];
  readonly raw: Buffer;
}

let tmp: TempDir;
let anchor: ParsedCertificate;
let anchorPath: string;
let sender: Peer;
const peers: Record<string, Peer> = {};
let dns: DnsResponder;
let profile: Profile;
let store: MailStore;
let agent: MailAgent;
let relay: RelayWorker;
let smarthost: SMTPServer;
let smarthostPort: number;
let submission: RunningSmtp;
let tlsPem: { key: string; cert: string };
const transactions: Transaction[] = [];

/** Key and certificate as PEM files, for OpenSSL. */
async function peerFiles(
  name: string,
  cert: ParsedCertificate,
  key: KeyObject,
): Promise<CertFiles> {
  const certPath = join(tmp.path, `${name}.pem`);
  const keyPath = join(tmp.path, `${name}-key.pem`);
  const derPath = join(tmp.path, `${name}.der`);
  const certPem = cert.x509.toString();
  const keyPem = key.export({ type: 'pkcs8', format: 'pem' }) as string;
  await writeFile(certPath, certPem);
  await writeFile(derPath, cert.der);
  await writeFile(keyPath, keyPem, { mode: 0o600 });
  return { certPath, keyPath, derPath, keyPem, certPem, certDer: Buffer.from(cert.der) };
}

beforeAll(async () => {
  tmp = await makeTempDir('relay-bcc');
  const pki = await createPracticePki(tmp.path, {
    anchorName: 'Bcc Test Anchor',
    practices: [{ name: 'a', domain: 'practice-a.test', address: A, commonName: 'Dr Adams' }],
  });
  anchor = pki.anchor;
  anchorPath = pki.files.anchor;
  tlsPem = pki.tls.pem;
  const [a] = pki.practices;
  sender = { address: A, cert: a.cert, key: a.key, files: await peerFiles('a', a.cert, a.key) };
  // One address-bound certificate per partner recipient: each copy's RecipientInfos say
  // exactly who can read it.
  const partners = await Promise.all(
    [ALICE, BOB, CAROL].map(async (address) => ({
      address,
      ...(await issueDirectCert(pki.issuer, address)),
    })),
  );
  for (const [index, { address, cert, key }] of partners.entries()) {
    peers[address] = { address, cert, key, files: await peerFiles(`peer-${index}`, cert, key) };
  }

  dns = await startLoopbackDns(
    [
      { domain: 'practice-a.test', certificates: [a.cert] },
      { domain: PARTNER, certificates: Object.values(peers).map((p) => p.cert) },
    ],
    logger,
  );
  ({ profile, store, agent } = await createPracticeAgent(join(tmp.path, 'a'), {
    passphrase: 'bcc test passphrase',
    identity: a,
    anchor,
    domain: 'practice-a.test',
    dnsPort: dns.port,
    logger,
  }));

  // The smarthost: a real smtp-server (STARTTLS, no AUTH) that records every transaction.
  smarthost = new SMTPServer({
    secure: false,
    key: tlsPem.key,
    cert: tlsPem.cert,
    authOptional: true,
    disabledCommands: ['AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        transactions.push({
          from: session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address,
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    smarthost.once('error', reject);
    smarthost.listen(0, '127.0.0.1', () => resolve());
  });
  smarthostPort = (smarthost.server.address() as { port: number }).port;
  relay = smarthostRelay(store, smarthostPort, anchor, logger);

  // The local submission endpoint, handing what it takes to the send path as `serve` does.
  submission = await startSubmission({
    host: '127.0.0.1',
    port: 0,
    tls: tlsPem,
    maxBytes: 32 * 1024 * 1024,
    logger,
    authenticate: (user, password) => Promise.resolve(user === 'clinic' && password === 'pw'),
    submit: async (raw, envelope) => {
      try {
        const sent = await agent.send(composeFromSubmission(raw, envelope));
        return sent.recipients.some((r) => r.state === 'queued')
          ? { accepted: true }
          : { accepted: false, code: 550, message: '5.7.1 nothing was sent' };
      } catch (error) {
        return { accepted: false, code: 554, message: `5.6.0 ${HispError.from(error).message}` };
      }
    },
  });
}, 60_000);

afterAll(async () => {
  await relay?.stop();
  await submission?.close();
  await new Promise<void>((resolve) => (smarthost ? smarthost.close(() => resolve()) : resolve()));
  await dns?.close();
  profile?.close();
  await tmp?.remove();
});

function peer(address: string): Peer {
  const found = peers[address];
  if (found === undefined) throw new Error(`no peer ${address}`);
  return found;
}

/** The serial numbers of the certificates a message's CMS RecipientInfos name (OpenSSL). */
async function recipientSerials(raw: Buffer): Promise<string[]> {
  const path = join(tmp.path, `cms-${Math.random().toString(16).slice(2)}.eml`);
  await writeFile(path, raw);
  const printed = await run('openssl', [
    'cms',
    '-cmsout',
    '-print',
    '-inform',
    'SMIME',
    '-in',
    path,
  ]);
  const text = printed.stdout;
  expect(text).toContain('d.ktri');
  // OpenSSL prints a serial number in decimal, or in hex with 0x (newer versions, large ones).
  return [...text.matchAll(/serialNumber:\s*(0x[0-9A-Fa-f]+|\d+)\b/g)].map((m) =>
    BigInt(m[1] ?? '0').toString(16),
  );
}

const serialOf = (p: { cert: ParsedCertificate }) =>
  BigInt(`0x${new X509Certificate(p.cert.der).serialNumber}`).toString(16);

/** Decrypt (with the peer's key) and verify with OpenSSL; the inner message, unwrapped. */
async function opensslOpen(raw: Buffer, who: Peer): Promise<Buffer> {
  const content = await opensslReceive(raw, {
    dir: tmp.path,
    recipient: who.files,
    caPath: anchorPath,
  });
  const text = content.toString('latin1');
  const wrap = text.indexOf('\r\n\r\n');
  expect(text.slice(0, wrap + 4).toLowerCase()).toContain(WRAP_HEADER.trim().toLowerCase());
  return content.subarray(wrap + 4);
}

async function opensslCannotOpen(raw: Buffer, who: Peer): Promise<void> {
  await expect(
    opensslReceive(raw, { dir: tmp.path, recipient: who.files, caPath: anchorPath }),
  ).rejects.toThrow();
}

/** Our own inbound agent with the peer's key: undecryptable → no inner message. */
async function ourOpen(raw: Buffer, who: Peer): Promise<Buffer | undefined> {
  const result = await decryptAndVerify(raw, {
    keys: [{ certDer: who.cert.der, key: who.key }],
    anchors: [anchor],
    revocation: 'off',
    logger,
  });
  return result.inner;
}

const noBccHeader = (inner: Buffer) => {
  const parsed = parseMime(inner);
  expect(headerValues(parsed, 'bcc')).toEqual([]);
  expect(inner.toString('latin1')).not.toMatch(/^bcc:/im);
};

describe('blind copies and attachments through a real smarthost', () => {
  it('To Alice + Bcc Bob: two transactions; Alice’s copy is not Bob’s to read; Bob’s names no Bcc; attachments intact', async () => {
    transactions.length = 0;
    const scan = Buffer.alloc(700_001);
    for (let i = 0; i < scan.length; i++) scan[i] = (i * 7919) & 0xff;
    const attachments: ComposeAttachment[] = [
      { filename: 'Befund Müller.pdf', contentType: 'application/pdf', content: scan },
      { filename: 'summary.txt', contentType: 'text/plain', content: Buffer.from('Summary\r\n') },
    ];
    const sent = await agent.send({
      from: A,
      to: [ALICE],
      bcc: [BOB],
      subject: 'Referral with attachments',
      text: 'Please see the attached report.',
      attachments,
    });
    expect(sent.recipients.map((r) => [r.address, r.state])).toEqual([
      [ALICE, 'queued'],
      [BOB, 'queued'],
    ]);
    const id = sent.id ?? -1;
    expect(await relay.runOnce()).toBe(2);

    // Two SMTP transactions, one RCPT each.
    expect(transactions.map((t) => [t.from, t.to])).toEqual(
      expect.arrayContaining([
        [A, [ALICE]],
        [A, [BOB]],
      ]),
    );
    expect(transactions).toHaveLength(2);
    const aliceCopy = transactions.find((t) => t.to[0] === ALICE)?.raw ?? Buffer.alloc(0);
    const bobCopy = transactions.find((t) => t.to[0] === BOB)?.raw ?? Buffer.alloc(0);
    expect(aliceCopy.equals(bobCopy)).toBe(false);

    // Who each copy is encrypted to (OpenSSL reads the RecipientInfos).
    const aliceSerials = await recipientSerials(aliceCopy);
    expect(new Set(aliceSerials)).toEqual(new Set([serialOf(peer(ALICE)), serialOf(sender)]));
    expect(aliceSerials).not.toContain(serialOf(peer(BOB)));
    const bobSerials = await recipientSerials(bobCopy);
    expect(new Set(bobSerials)).toEqual(new Set([serialOf(peer(BOB)), serialOf(sender)]));

    // Bob cannot open Alice's copy (neither with OpenSSL nor with our agent).
    await opensslCannotOpen(aliceCopy, peer(BOB));
    expect(await ourOpen(aliceCopy, peer(BOB))).toBeUndefined();
    await opensslCannotOpen(bobCopy, peer(ALICE));

    // Bob's copy: decrypted and verified by OpenSSL; no Bcc header; the attachments intact.
    const bobInner = await opensslOpen(bobCopy, peer(BOB));
    noBccHeader(bobInner);
    const bobContent = readInner(bobInner);
    expect(bobContent.to).toEqual([ALICE]);
    expect(bobContent.cc).toEqual([]);
    expect(bobContent.attachments.map((a) => a.filename)).toEqual([
      'Befund Müller.pdf',
      'summary.txt',
    ]);
    expect(attachmentBytes(bobInner, 0)?.equals(scan)).toBe(true);
    expect(attachmentBytes(bobInner, 1)?.toString()).toBe('Summary\r\n');
    expect(bobInner.toString('latin1')).not.toContain(BOB);

    // Alice's copy: the same message (Message-ID too), also without a trace of Bob.
    const aliceInner = await opensslOpen(aliceCopy, peer(ALICE));
    noBccHeader(aliceInner);
    expect(aliceInner.toString('latin1')).not.toContain(BOB);
    expect(attachmentBytes(aliceInner, 0)?.equals(scan)).toBe(true);
    const messageIds = [aliceCopy, bobCopy, aliceInner, bobInner].map((raw) =>
      headerValue(parseMime(raw), 'message-id'),
    );
    expect(new Set(messageIds)).toEqual(new Set([sent.messageId]));

    // The sender's mailbox: one Sent message (Alice's copy), listing Bob; both relayed.
    expect(store.get(id)).toMatchObject({
      folder: 'sent',
      recipients: [ALICE, BOB],
      attachmentNames: ['Befund Müller.pdf', 'summary.txt'],
    });
    expect(store.ciphertext(id).equals(aliceCopy)).toBe(true);
    expect(store.findSentByMessageId(sent.messageId ?? '')).toBe(id);
    expect(
      store
        .deliveryTimeline(id)
        .map((r) => [r.recipient, r.queue, r.mdn, r.events.map((e) => e.state)]),
    ).toEqual([
      [ALICE, 'relayed', 'pending', ['queued', 'relayed']],
      [BOB, 'relayed', 'pending', ['queued', 'relayed']],
    ]);
    const opened = await store.open(id, agent.opener('practice-a.test'));
    expect(opened.decrypted).toBe(true);
    expect(opened.attachments.map((a) => a.size)).toEqual([scan.length, 9]);
  });

  it('only Bcc recipients: each copy alone, readable only by its recipient; the Sent copy is the first', async () => {
    transactions.length = 0;
    const sent = await agent.send({
      from: A,
      to: [],
      bcc: [BOB, CAROL, 'nobody@unknown-domain.test'],
      subject: 'Undisclosed recipients',
      text: 'Blind copies only.',
    });
    expect(sent.recipients.map((r) => [r.address, r.state])).toEqual([
      [BOB, 'queued'],
      [CAROL, 'queued'],
      ['nobody@unknown-domain.test', 'refused'],
    ]);
    expect(await relay.runOnce()).toBe(2);
    expect(transactions.map((t) => t.to)).toEqual(expect.arrayContaining([[BOB], [CAROL]]));
    expect(transactions).toHaveLength(2);
    const bobCopy = transactions.find((t) => t.to[0] === BOB)?.raw ?? Buffer.alloc(0);
    const carolCopy = transactions.find((t) => t.to[0] === CAROL)?.raw ?? Buffer.alloc(0);
    expect(new Set(await recipientSerials(carolCopy))).toEqual(
      new Set([serialOf(peer(CAROL)), serialOf(sender)]),
    );
    expect(await ourOpen(bobCopy, peer(CAROL))).toBeUndefined();
    expect(await ourOpen(carolCopy, peer(BOB))).toBeUndefined();
    const carolInner = await opensslOpen(carolCopy, peer(CAROL));
    noBccHeader(carolInner);
    expect(headerValues(parseMime(carolInner), 'to')).toEqual([]);
    expect(carolInner.toString('latin1')).not.toContain(BOB);
    const id = sent.id ?? -1;
    expect(store.ciphertext(id).equals(bobCopy)).toBe(true);
    expect(store.get(id).recipients).toEqual([BOB, CAROL]);
  });
});

describe('the local submission endpoint (nodemailer as the mail client)', () => {
  function client() {
    return nodemailer.createTransport({
      host: '127.0.0.1',
      port: submission.port,
      secure: false,
      requireTLS: true,
      tls: { ca: [anchor.x509.toString()], servername: 'localhost' },
      auth: { user: 'clinic', pass: 'pw' },
    });
  }

  it('takes attachments and Bcc: each Bcc in its own transaction; the HTML alternative is not an attachment', async () => {
    transactions.length = 0;
    const report = Buffer.from(Array.from({ length: 50_000 }, (_, i) => (i * 31) & 0xff));
    const transport = client();
    try {
      await transport.sendMail({
        from: A,
        to: ALICE,
        bcc: [BOB],
        subject: 'Über den Patienten',
        text: 'Plain body.',
        html: '<p>HTML body.</p>',
        inReplyTo: '<earlier@partner.test>',
        references: ['<root@partner.test>', '<earlier@partner.test>'],
        attachments: [
          { filename: 'Röntgen.png', content: report, contentType: 'image/png' },
          { filename: 'note.txt', content: 'a note', contentType: 'text/plain' },
        ],
      });
    } finally {
      transport.close();
    }
    expect(await relay.runOnce()).toBe(2);
    expect(transactions.map((t) => t.to)).toEqual(expect.arrayContaining([[ALICE], [BOB]]));
    expect(transactions).toHaveLength(2);
    const bobCopy = transactions.find((t) => t.to[0] === BOB)?.raw ?? Buffer.alloc(0);
    expect(new Set(await recipientSerials(bobCopy))).toEqual(
      new Set([serialOf(peer(BOB)), serialOf(sender)]),
    );
    const inner = await opensslOpen(bobCopy, peer(BOB));
    noBccHeader(inner);
    const content = readInner(inner);
    expect(content.subject).toBe('Über den Patienten');
    expect(content.text).toBe('Plain body.');
    expect(content.html).toBeUndefined();
    expect(content.attachments.map((a) => [a.filename, a.contentType])).toEqual([
      ['Röntgen.png', 'image/png'],
      ['note.txt', 'text/plain'],
    ]);
    expect(attachmentBytes(inner, 0)?.equals(report)).toBe(true);
    expect(attachmentBytes(inner, 1)?.toString()).toBe('a note');
    const parsed = parseMime(inner);
    expect(headerValue(parsed, 'in-reply-to')).toBe('<earlier@partner.test>');
    expect(headerValue(parsed, 'references')?.replace(/\s+/g, ' ')).toBe(
      '<root@partner.test> <earlier@partner.test>',
    );
  });

  it('an HTML-only message is sent as plain text', async () => {
    transactions.length = 0;
    const transport = client();
    try {
      await transport.sendMail({
        from: A,
        to: ALICE,
        subject: 'HTML only',
        html: '<div>Line one<br>Line &amp; two</div><p>Para &#8211; three</p>',
      });
    } finally {
      transport.close();
    }
    await relay.runOnce();
    const inner = await opensslOpen(transactions[0]?.raw ?? Buffer.alloc(0), peer(ALICE));
    const content = readInner(inner);
    expect(content.html).toBeUndefined();
    expect(content.text).toBe('Line one\nLine & two\nPara – three');
  });

  it('refuses, with a clear 554, what it cannot send: a To not among the recipients, an S/MIME message', async () => {
    transactions.length = 0;
    const transport = client();
    try {
      const outside = transport.sendMail({
        envelope: { from: A, to: [BOB] },
        raw: `From: ${A}\r\nTo: ${ALICE}\r\nSubject: x\r\n\r\nbody\r\n`,
      });
      await expect(outside).rejects.toMatchObject({ responseCode: 554 });
      await expect(outside).rejects.toThrow(/not a recipient of this submission/);
      const signed = transport.sendMail({
        envelope: { from: A, to: [ALICE] },
        raw:
          `From: ${A}\r\nTo: ${ALICE}\r\nSubject: x\r\nMIME-Version: 1.0\r\n` +
          'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; boundary="b"\r\n\r\n' +
          '--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\n' +
          'Content-Type: application/pkcs7-signature; name=smime.p7s\r\n\r\nMIIB\r\n--b--\r\n',
      });
      await expect(signed).rejects.toMatchObject({ responseCode: 554 });
      await expect(signed).rejects.toThrow(/already signed or encrypted/);
    } finally {
      transport.close();
    }
    expect(await relay.runOnce()).toBe(0);
    expect(transactions).toEqual([]);
  });
});
