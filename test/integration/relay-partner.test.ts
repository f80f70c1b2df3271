/**
 * Delivery tracking against a scripted partner HISP, the way the ONC test tool's partner
 * answers by recipient: processed only; processed then dispatched; processed then failed; no
 * MDN at all; dispatched later than the timeout. Practice A is the real thing (mail agent,
 * relay worker over STARTTLS, inbound SMTP, DNS discovery); the partner decrypts what it gets
 * with its own key and answers with signed and encrypted MDNs built by buildMdn, sent to A's
 * inbound endpoint with nodemailer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import { decryptAndVerify } from '../../hisp/agent/inbound.js';
import { headerValue, parseMime } from '../../hisp/agent/mime/index.js';
import { signAndEncrypt } from '../../hisp/agent/outbound.js';
import { collect } from '../../hisp/agent/types.js';
import { parseCertificate, type ParsedCertificate } from '../../hisp/certs/certificate.js';
import type { DnsResponder } from '../../hisp/certs/hosting/dnsResponder.js';
import { generateKey, issueCertificate } from '../../hisp/certs/issue.js';
import { createSilentLogger } from '../../hisp/log/logger.js';
import type { MailAgent } from '../../hisp/relay/mailAgent.js';
import { buildMdn, type MdnDisposition } from '../../hisp/relay/mdn.js';
import { DeliveryMonitor, SilenceMonitor } from '../../hisp/relay/monitors.js';
import type { RelayWorker } from '../../hisp/relay/relayWorker.js';
import type { RunningSmtp } from '../../hisp/relay/smtpServer.js';
import type { MailStore } from '../../hisp/store/mail.js';
import type { Profile } from '../../hisp/store/profile.js';
import {
  createPracticeAgent,
  createPracticePki,
  smarthostRelay,
  startLoopbackDns,
  startLoopbackInbound,
} from '../services/practices.js';
import { makeTempDir, type TempDir } from '../services/tmp.js';
import type { KeyObject } from 'node:crypto';
import { join } from 'node:path';

const logger = createSilentLogger();
const A = 'dr.adams@practice-a.test';
const PARTNER = 'partner.test';
/** The partner's script, by recipient local part. */
const SCRIPT: Record<string, MdnDisposition[]> = {
  processed: ['processed'],
  dispatched: ['processed', 'dispatched'],
  failed: ['processed', 'failed'],
  silent: [],
  late: ['processed'], // and 'dispatched' after the timeout, below
};

let tmp: TempDir;
let anchor: ParsedCertificate;
let partnerCert: ParsedCertificate;
let partnerKey: KeyObject;
let otherCert: ParsedCertificate;
let otherKey: KeyObject;
let aCert: ParsedCertificate;
let dns: DnsResponder;
let profile: Profile;
let store: MailStore;
let agent: MailAgent;
let relay: RelayWorker;
let aSmtp: RunningSmtp;
let partnerSmtp: RunningSmtp;
let tlsPem: { key: string; cert: string };
let clock = new Date();
const partnerInbox: { raw: Buffer; to: readonly string[] }[] = [];

beforeAll(async () => {
  tmp = await makeTempDir('relay-partner');
  const [pki, pKey, oKey] = await Promise.all([
    createPracticePki(tmp.path, {
      anchorName: 'Partner Test Anchor',
      practices: [{ name: 'a', domain: 'practice-a.test', address: A, commonName: 'Dr Adams' }],
    }),
    generateKey(),
    generateKey(),
  ]);
  partnerKey = pKey;
  otherKey = oKey;
  anchor = pki.anchor;
  tlsPem = pki.tls.pem;
  const { issuer } = pki;
  const [a] = pki.practices;
  aCert = a.cert;
  // One domain-bound certificate for every partner address (a HISP-wide certificate).
  partnerCert = parseCertificate(
    issueCertificate({ subject: { commonName: PARTNER }, issuer, key: pKey, dnsNames: [PARTNER] }),
  );
  // Another trusted HISP (same anchor): it may sign its own mail, not speak for the partner.
  otherCert = parseCertificate(
    issueCertificate({
      subject: { commonName: 'other.test' },
      issuer,
      key: oKey,
      dnsNames: ['other.test'],
    }),
  );

  dns = await startLoopbackDns(
    [
      { domain: 'practice-a.test', certificates: [aCert] },
      { domain: PARTNER, certificates: [partnerCert] },
    ],
    logger,
  );

  const practice = await createPracticeAgent(join(tmp.path, 'a'), {
    passphrase: 'partner test passphrase',
    identity: a,
    anchor,
    domain: 'practice-a.test',
    dnsPort: dns.port,
    logger,
    now: () => clock,
  });
  ({ profile, store, agent } = practice);
  aSmtp = await startLoopbackInbound(
    'practice-a.test',
    tlsPem,
    (raw, envelope) => practice.agent.receive(raw, envelope),
    logger,
  );
  // The partner's inbound endpoint only collects; the test script answers.
  partnerSmtp = await startLoopbackInbound(
    PARTNER,
    tlsPem,
    (raw, envelope) => {
      partnerInbox.push({ raw, to: envelope.to });
      return Promise.resolve({ accepted: true });
    },
    logger,
  );
  relay = smarthostRelay(store, partnerSmtp.port, anchor, logger);
}, 60_000);

afterAll(async () => {
  await relay?.stop();
  await Promise.all([aSmtp?.close(), partnerSmtp?.close(), dns?.close()]);
  profile?.close();
  await tmp?.remove();
});

/** The partner answers recipient `to` about `original` with one MDN, sent to A's endpoint. */
/** `forge`: another HISP signs an MDN that names `to` as its final recipient. */
async function answer(
  original: Buffer,
  to: string,
  disposition: MdnDisposition,
  forge = false,
): Promise<void> {
  const opened = await decryptAndVerify(original, {
    keys: [{ certDer: partnerCert.der, key: partnerKey }],
    anchors: [anchor],
    revocation: 'off',
    logger,
  });
  expect(opened.trusted).toBe(true);
  const parsed = parseMime(opened.inner ?? Buffer.alloc(0));
  const messageId = `<${disposition}-${Math.random().toString(16).slice(2)}@${PARTNER}>`;
  const author = forge ? 'postmaster@other.test' : to;
  let mdn = buildMdn({
    original: {
      messageId: headerValue(parsed, 'message-id') ?? '',
      from: A,
      to: author,
      headers: parsed.headers,
    },
    disposition,
    now: new Date(),
    messageId,
  });
  if (forge)
    mdn = Buffer.from(mdn.toString('utf8').replaceAll(`rfc822; ${author}`, `rfc822; ${to}`));
  const signer = forge
    ? { certDer: otherCert.der, chainDer: [], key: otherKey }
    : { certDer: partnerCert.der, chainDer: [], key: partnerKey };
  await sendToA(collect(signAndEncrypt(mdn, signer, [aCert.der]).message), to);
}

/** Another HISP delivers `raw` to A's inbound endpoint over STARTTLS. */
async function sendToA(raw: Buffer, from: string): Promise<void> {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: aSmtp.port,
    secure: false,
    requireTLS: true,
    tls: { ca: [anchor.x509.toString()], servername: 'localhost' },
  });
  try {
    await transport.sendMail({ envelope: { from, to: [A] }, raw });
  } finally {
    transport.close();
  }
}

describe('delivery tracking against a scripted partner', () => {
  it('each recipient ends in the state its notifications (or their absence) call for', async () => {
    const recipients = Object.keys(SCRIPT).map((local) => `${local}@${PARTNER}`);
    const sent = await agent.send({
      from: A,
      to: recipients,
      subject: 'Tracked',
      text: 'Please confirm.',
    });
    expect(sent.recipients.every((r) => r.state === 'queued')).toBe(true);
    const id = sent.id ?? -1;
    await relay.runOnce();
    expect(partnerInbox).toHaveLength(1);
    const delivered = partnerInbox[0]!;
    expect(new Set(delivered.to)).toEqual(new Set(recipients));

    for (const [local, dispositions] of Object.entries(SCRIPT)) {
      for (const disposition of dispositions)
        await answer(delivered.raw, `${local}@${PARTNER}`, disposition);
    }
    const stateOf = (): Record<string, string> =>
      Object.fromEntries(
        store
          .mdnFor(id)
          .map((row): [string, string] => [row.recipient.split('@')[0] ?? '', row.state]),
      );
    expect(stateOf()).toEqual({
      processed: 'processed',
      dispatched: 'dispatched',
      failed: 'failed',
      silent: 'pending',
      late: 'processed',
    });
    // The notifications are evidence of delivery, not mail for the clinician: filed, read.
    expect(store.list('inbox')).toEqual([]);
    const filed = store.list('archive');
    expect(filed).toHaveLength(6);
    expect(filed.every((row) => row.trusted && row.flags.seen)).toBe(true);

    // An hour passes: whoever owes a notification (dispatched was requested) timed out.
    clock = new Date(clock.getTime() + 60 * 60 * 1000 + 1000);
    const timedOut: string[] = [];
    const monitor = new DeliveryMonitor({
      store,
      logger,
      now: () => clock,
      onTimedOut: (rows) =>
        timedOut.push(...rows.map((row) => `${row.messageId} ${row.recipient}`)),
    });
    expect(monitor.check()).toBe(3);
    // The mail window hears of each one (MailService turns these into `delivery` events).
    expect(timedOut.sort()).toEqual(
      ['processed', 'silent', 'late'].map((local) => `${id} ${local}@${PARTNER}`).sort(),
    );
    expect(
      store
        .deliveryTimeline(id)
        .find((r) => r.recipient === `silent@${PARTNER}`)
        ?.events.map((e) => [e.state, e.code]),
    ).toEqual([
      ['queued', undefined],
      ['relayed', undefined],
      ['timed-out', 'DELIVERY_TIMED_OUT'],
    ]);
    expect(stateOf()).toEqual({
      processed: 'timed-out',
      dispatched: 'dispatched',
      failed: 'failed',
      silent: 'timed-out',
      late: 'timed-out',
    });

    // The late dispatched MDN is kept, but does not flip the final state.
    await answer(delivered.raw, `late@${PARTNER}`, 'dispatched');
    const late = store.mdnFor(id).find((row) => row.recipient.startsWith('late@'));
    expect(late?.state).toBe('timed-out');
    expect(late?.lateNotifications.map((entry) => entry.kind)).toEqual(['dispatched']);
  });

  it('a notification about a recipient the message did not go to, or from another HISP, changes nothing', async () => {
    const sent = await agent.send({
      from: A,
      to: [`dispatched@${PARTNER}`],
      subject: 'Second',
      text: 'x',
    });
    await relay.runOnce();
    const original = partnerInbox.at(-1)!.raw;
    await answer(original, `dispatched@${PARTNER}`, 'processed');
    await answer(original, `silent@${PARTNER}`, 'failed');
    // Another trusted HISP's MDN naming the partner's recipient: not theirs to speak for.
    await answer(original, `dispatched@${PARTNER}`, 'failed', true);
    expect(store.mdnFor(sent.id ?? -1).map((row) => [row.recipient, row.state])).toEqual([
      [`dispatched@${PARTNER}`, 'processed'],
    ]);
  });
});

describe('inbound SMTP: a message that fails trust', () => {
  it('is refused with 550 and its reason codes, and kept in Untrusted with its reasons', async () => {
    const [strangerRootKey, strangerKey] = await Promise.all([generateKey(), generateKey()]);
    const strangerRoot = parseCertificate(
      issueCertificate({ subject: { commonName: 'Stranger CA' }, key: strangerRootKey, ca: true }),
    );
    const stranger = parseCertificate(
      issueCertificate({
        subject: { commonName: 'Mallory' },
        issuer: { cert: strangerRoot, key: strangerRootKey },
        key: strangerKey,
        email: ['mallory@stranger.test'],
      }),
    );
    const inner = Buffer.from(
      `From: mallory@stranger.test\r\nTo: ${A}\r\nSubject: Untrusted hello\r\n` +
        'Message-ID: <untrusted-1@stranger.test>\r\nMIME-Version: 1.0\r\n' +
        'Content-Type: text/plain\r\n\r\nTrust me.\r\n',
    );
    const raw = collect(
      signAndEncrypt(
        inner,
        { certDer: stranger.der, chainDer: [strangerRoot.der], key: strangerKey },
        [aCert.der],
      ).message,
    );
    const refused = await sendToA(raw, 'mallory@stranger.test').then(
      () => undefined,
      (e: unknown) => e as { responseCode?: number; response?: string },
    );
    expect(refused?.responseCode).toBe(550);
    expect(refused?.response).toMatch(/5\.7\.1 Message not trusted \(.*CERT_UNTRUSTED.*\)/);
    const kept = store.list('untrusted').find((row) => row.subject === 'Untrusted hello');
    expect(kept?.trusted).toBe(false);
    const opened = await store.open(kept?.id ?? -1, agent.opener('practice-a.test'));
    expect(opened.verification.trusted).toBe(false);
    expect(opened.storedVerification.reasons.map((r) => r.code)).toContain('CERT_UNTRUSTED');
  });
});

describe('risk-5 silence monitor', () => {
  it('alerts once when no inbound traffic arrives for the period, and re-arms after traffic', () => {
    let now = new Date('2026-11-26T00:00:00Z');
    let last: Date | undefined = undefined;
    const alerts: number[] = [];
    const monitor = new SilenceMonitor({
      lastInbound: () => last,
      thresholdMs: 4 * 60 * 60 * 1000,
      logger,
      now: () => now,
      onAlert: (state) => alerts.push(state.sinceMs),
    });
    now = new Date(now.getTime() + 3 * 60 * 60 * 1000);
    expect(monitor.check().silent).toBe(false);
    now = new Date(now.getTime() + 60 * 60 * 1000);
    expect(monitor.check()).toEqual({ silent: true, sinceMs: 4 * 60 * 60 * 1000 });
    monitor.check();
    expect(alerts).toEqual([4 * 60 * 60 * 1000]);
    last = new Date(now.getTime() - 1000); // a message arrived
    expect(monitor.check().silent).toBe(false);
    now = new Date(now.getTime() + 5 * 60 * 60 * 1000);
    monitor.check();
    expect(alerts).toHaveLength(2);
  });

  it('reads the newest inbound message from the mailbox', () => {
    expect(store.lastInboundAt()).toBeInstanceOf(Date); // the MDNs above were inbound messages
  });
});
