/**
 * Trust and delivery failures in the mail window, end to end: one practice served by the
 * real CLI (`node bin/sealpost.js serve` on a vault profile, with inbound SMTP, a smarthost
 * relay and our DNS responder publishing the other practice's certificate), its built UI in
 * Chromium. Nothing is mocked.
 *
 * - An untrusted inbound message: signed by a lab whose certificate authority this practice
 *   does not trust, encrypted to the practice by the project's agent and delivered over SMTP
 *   with STARTTLS. Inbound SMTP refuses it with 550 but keeps it: it is listed in Untrusted
 *   (not the Inbox), and opened it shows no "trusted" banner but why, in plain language, and
 *   what to do.
 * - A delivery failure shown to the sender: the practice writes to dr.baker, whose certificate
 *   is found (the live check says so), but the mail server the message is handed to (a real
 *   SMTP server, smtp-server, standing in for the recipient's HISP) refuses the recipient
 *   with 550. A notification says the delivery failed; the message, no longer waiting to go,
 *   is in Sent, marked Failed, and its timeline shows the failed step with the reason and
 *   the fix; the Outbox is empty.
 *
 * The profile, serve, SMTP delivery and the window are support.ts's, as in the other specs.
 * Needs the CLI and the UI built (`node scripts/build.mjs hisp renderer`).
 */
import { createPrivateKey, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

import { expect, test } from '@playwright/test';
import { SMTPServer } from 'smtp-server';

import { signAndEncrypt } from '../../hisp/agent/outbound.js';
import { collect } from '../../hisp/agent/types.js';
import { parseCertificate } from '../../hisp/certs/certificate.js';
import { startDnsResponder } from '../../hisp/certs/hosting/dnsResponder.js';
import type { DnsResponder } from '../../hisp/certs/hosting/dnsResponder.js';
import { createSilentLogger } from '../../hisp/log/logger.js';
import { createSelfSignedServerCert, createTestCa, issueEndEntityCert } from '../services/certs.js';
import type { CertFiles, TestEndEntity } from '../services/certs.js';
import { freePort } from '../services/ports.js';
import { makeTempDir } from '../services/tmp.js';
import type { TempDir } from '../services/tmp.js';
import {
  A_ADDRESS,
  B_ADDRESS,
  bridgeOf,
  inboundConfig,
  makeVaultProfile,
  openMail,
  rowWithSubject,
  sendStartTls,
  startServe,
} from './support.js';
import type { BridgeFile, Running } from './support.js';

const PASSPHRASE = 'an e2e trust passphrase';

const A = { domain: 'practice-a.test', address: A_ADDRESS };
const B = { domain: 'practice-b.test', address: B_ADDRESS };
/** A lab under a certificate authority practice A has never been told to trust. */
const STRANGER = { domain: 'unknown-lab.test', address: 'results@unknown-lab.test' };

/** The certificates of the test, made now with OpenSSL. */
interface Pki {
  /** The anchor practice A trusts (A's and B's certificates are under it). */
  readonly ca: CertFiles;
  readonly a: TestEndEntity;
  readonly b: TestEndEntity;
  /** The unknown lab, under an authority of its own that nobody trusts. */
  readonly stranger: TestEndEntity;
  /** For A's inbound SMTP and the refusing server (self-signed, localhost). */
  readonly tls: CertFiles;
}

async function makePki(dir: string): Promise<Pki> {
  const ca = await createTestCa(dir, { commonName: 'Trust E2E Anchor' });
  const unknownCa = await createTestCa(dir, {
    name: 'unknown-ca',
    commonName: 'Unknown Lab Authority',
  });
  return {
    ca,
    a: await issueEndEntityCert(ca, dir, { email: A.address }),
    b: await issueEndEntityCert(ca, dir, { email: B.address }),
    stranger: await issueEndEntityCert(unknownCa, dir, { email: STRANGER.address }),
    tls: await createSelfSignedServerCert(dir, { name: 'smtp-tls' }),
  };
}

/** A real SMTP server (STARTTLS) refusing every recipient with 550: a HISP that will not take the mail. */
interface RefusingServer {
  readonly port: number;
  /** RCPT TO addresses it refused. */
  readonly refused: string[];
  close(): Promise<void>;
}

async function startRefusingServer(tls: CertFiles): Promise<RefusingServer> {
  const refused: string[] = [];
  const server = new SMTPServer({
    key: tls.keyPem,
    cert: tls.certPem,
    authOptional: true,
    disabledCommands: ['AUTH'],
    logger: false,
    onRcptTo(address, _session, callback) {
      refused.push(address.address);
      callback(
        Object.assign(new Error('5.1.1 No Direct mailbox by that name is hosted here'), {
          responseCode: 550,
        }),
      );
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.server.address() as AddressInfo;
  return {
    port,
    refused,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Practice A served: its bridge, and the loopback port of its inbound SMTP. */
interface Practice {
  readonly running: Running;
  readonly bridge: BridgeFile;
  readonly inboundPort: number;
}

/**
 * Practice A's vault profile (its identity, the anchor trusted for every domain, both ways),
 * made with the CLI, served with inbound SMTP, the refusing server as its smarthost and our
 * DNS responder for certificate discovery. `tmp` is removed when the serve stops.
 */
async function servePracticeA(
  tmp: TempDir,
  pki: Pki,
  relayPort: number,
  dns: DnsResponder,
): Promise<Practice> {
  const profile = makeVaultProfile(join(tmp.path, 'practice-a'), PASSPHRASE, {
    identity: pki.a,
    anchors: [pki.ca.certPath],
  });
  const inboundPort = await freePort();
  const running = await startServe(tmp, profile, {
    config: {
      inbound: inboundConfig(inboundPort, pki.tls),
      relay: {
        smarthost: { host: 'localhost', port: relayPort, secure: 'starttls', ca: pki.tls.certPath },
      },
      dns: [`127.0.0.1:${dns.port}`],
    },
    timeoutMs: 30_000,
    keepBytes: 1024 * 1024,
  });
  return { running, bridge: bridgeOf(running, 'profile'), inboundPort };
}

/** A Direct message from the unknown lab to A: signed and encrypted by the project's agent. */
function strangerMessage(pki: Pki, subject: string, text: string): Buffer {
  const inner = Buffer.from(
    [
      `From: Unknown Lab <${STRANGER.address}>`,
      `To: ${A.address}`,
      `Subject: ${subject}`,
      `Date: ${new Date().toUTCString()}`,
      `Message-ID: <${randomBytes(8).toString('hex')}@${STRANGER.domain}>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      text,
      '',
    ].join('\r\n'),
  );
  const sender = {
    certDer: pki.stranger.certDer,
    chainDer: [],
    key: createPrivateKey(pki.stranger.keyPem),
  };
  return collect(signAndEncrypt(inner, sender, [pki.a.certDer]).message);
}

/** Delivers `raw` over SMTP with STARTTLS to A's inbound port; the server's refusal, if any. */
async function deliver(
  practice: Practice,
  pki: Pki,
  raw: Buffer,
): Promise<{ responseCode?: number; response?: string } | undefined> {
  try {
    await sendStartTls(
      practice.inboundPort,
      pki.tls.certPem,
      { from: STRANGER.address, to: [A.address] },
      raw,
    );
    return undefined;
  } catch (error) {
    return error as { responseCode?: number; response?: string };
  }
}

test.describe('trust and delivery failures in the mail window (sealpost serve)', () => {
  test.describe.configure({ mode: 'serial', timeout: 90_000 });

  let tmp: TempDir | undefined;
  let dns: DnsResponder | undefined;
  let relay: RefusingServer | undefined;
  let practice: Practice | undefined;
  let pki: Pki | undefined;

  test.beforeAll(async () => {
    test.setTimeout(90_000);
    tmp = await makeTempDir('e2e-trust');
    pki = await makePki(tmp.path);
    // B's certificate is published (discovery finds it); B's server then refuses the mail.
    dns = await startDnsResponder({
      host: '127.0.0.1',
      port: 0,
      logger: createSilentLogger(),
      zones: [{ domain: B.domain, certificates: [parseCertificate(pki.b.certDer)] }],
    });
    relay = await startRefusingServer(pki.tls);
    practice = await servePracticeA(tmp, pki, relay.port, dns);
  });

  test.afterAll(async () => {
    try {
      // Stops serve, then removes tmp.
      await practice?.running.stop();
    } finally {
      await relay?.close();
      await dns?.close();
      await tmp?.remove();
    }
  });

  function running(): { practice: Practice; pki: Pki } {
    if (practice === undefined || pki === undefined) {
      throw new Error('setup failed (see beforeAll)');
    }
    return { practice, pki };
  }

  test('a message signed under an authority A does not trust is refused with 550, kept in Untrusted, and explained', async ({
    browser,
  }) => {
    const { practice, pki } = running();
    const subject = `Unsolicited results ${randomBytes(4).toString('hex')}`;
    const page = await openMail(browser, practice.bridge);
    const untrustedBefore = Number(
      (await page.getByTestId('folder-untrusted').getAttribute('data-unread')) ?? '0',
    );

    const refusal = await deliver(
      practice,
      pki,
      strangerMessage(pki, subject, 'Potassium 6.9 mmol/L, please call us.'),
    );
    expect(refusal?.responseCode).toBe(550);
    expect(refusal?.response).toMatch(/not trusted/i);

    // Kept: the Untrusted count rises by the mailbox event; the Inbox does not list it.
    await expect
      .poll(
        async () =>
          Number((await page.getByTestId('folder-untrusted').getAttribute('data-unread')) ?? '0'),
        { timeout: 20_000 },
      )
      .toBeGreaterThan(untrustedBefore);
    await expect(rowWithSubject(page, subject)).toHaveCount(0);

    await page.getByTestId('folder-untrusted').click();
    await expect(page.getByTestId('list-title')).toHaveText('Untrusted');
    const row = rowWithSubject(page, subject);
    await expect(row).toHaveCount(1);
    await expect(row).toContainText(STRANGER.address);
    await expect(row.locator('.mark-untrusted')).toHaveCount(1);
    await row.click();

    const reading = page.getByTestId('reading-pane');
    await expect(reading.getByTestId('message-subject')).toHaveText(subject);
    const banner = reading.getByTestId('trust-banner');
    await expect(banner).toHaveAttribute('data-trusted', 'false');
    await expect(banner).toHaveAttribute('aria-label', 'Not trusted');
    await expect(banner.getByTestId('trust-headline')).toHaveText(
      `Signed by ${STRANGER.address}, but the signature is not trusted.`,
    );
    await expect(banner.getByTestId('trust-headline')).not.toContainText('verified to');
    // The reason in plain language, with what to do about it.
    const reason = banner.getByTestId('explanation').filter({ hasText: 'trust bundles' });
    await expect(reason).toHaveCount(1);
    await expect(reason).toHaveAttribute('data-code', 'CERT_UNTRUSTED');
    await expect(reason).toContainText("This sender's organisation is not in your trust bundles.");
    await expect(reason).toContainText('ask your administrator to add their trust anchor');
    // No trusted banner anywhere on the page.
    await expect(page.locator('[data-testid="trust-banner"][data-trusted="true"]')).toHaveCount(0);
    await page.context().close();
  });

  test('a recipient whose certificate is found but whose server refuses with 550: a notification, and the failed step explained in its timeline', async ({
    browser,
  }) => {
    const { practice } = running();
    const subject = `Referral ${randomBytes(4).toString('hex')}`;
    const page = await openMail(browser, practice.bridge);

    await page.getByTestId('new-message').click();
    const compose = page.getByTestId('compose');
    await page.getByTestId('compose-to-input').fill(B.address);
    await page.getByTestId('compose-to-input').press('Enter');
    const chip = compose.getByTestId('recipient-chip').filter({ hasText: B.address });
    await expect(chip).toHaveAttribute('data-state', 'found', { timeout: 20_000 });
    await page.getByTestId('compose-subject').fill(subject);
    await page.getByTestId('compose-body').fill('Please see J. Smith next week.');
    await page.getByTestId('compose-send').click();
    await expect(compose).toHaveCount(0);

    // The relay hands it over; the server refuses dr.baker with 550: a notification says so.
    const notice = page.getByTestId('mail-notice').filter({ hasText: B.address });
    await expect(notice).toContainText(`Delivery to ${B.address} failed`, { timeout: 30_000 });
    await expect(notice).toContainText('No Direct mailbox by that name');
    expect(relay?.refused).toContain(B.address);

    // Nothing is waiting to go any more, so it is not in the Outbox but in Sent: the row says
    // Failed; its timeline shows the failed step, explained, with the fix.
    await page.getByTestId('folder-outbox').click();
    await expect(page.getByTestId('list-title')).toHaveText('Outbox');
    await expect(rowWithSubject(page, subject)).toHaveCount(0);
    await page.getByTestId('folder-sent').click();
    await expect(page.getByTestId('list-title')).toHaveText('Sent');
    const row = rowWithSubject(page, subject);
    await expect(row).toHaveCount(1);
    await expect(row.getByTestId('row-delivery')).toHaveText('Failed');
    await row.click();
    const forB = page
      .getByTestId('delivery-timeline')
      .getByTestId('delivery-recipient')
      .filter({ hasText: B.address });
    await expect(forB).toHaveAttribute('data-state', 'failed');
    const failed = forB.getByTestId('delivery-step').filter({ hasText: 'Failed' });
    await expect(failed).toHaveAttribute('data-state', 'failed');
    const why = failed.getByTestId('explanation');
    await expect(why).toHaveAttribute('data-code', 'RELAY_REJECTED');
    await expect(why).toContainText("The recipient's mail server refused this address.");
    await expect(why).toContainText('Check the address for typing mistakes');
    // Nothing is waiting any more: no "waiting for confirmation" step for B.
    await expect(forB.locator('[data-state="waiting"]')).toHaveCount(0);
    await page.context().close();
  });
});
