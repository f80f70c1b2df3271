/**
 * From with a domain-bound identity in the compose window, end to end: one practice served
 * by the real CLI (`node bin/sealpost.js serve` on a vault profile) holding two identities,
 * dr.adams@practice-a.test (address-bound) and a certificate for practice-a.test itself
 * (SAN dNSName only: it signs for any address there); our DNS responder publishes
 * dr.baker@practice-b.test's certificate. No relay is configured: a sent message waits in
 * the Outbox, which is all this needs (delivery from such an address to another HISP and
 * back is test/integration/domain-bound-from.test.ts).
 *
 * In Chromium: From offers "Any address @practice-a.test"; choosing it asks for the part
 * before the @, refuses a name that is no address with the reason, and sends the message
 * as frontdesk@practice-a.test, signed by the domain's certificate, which the HISP confirms.
 *
 * Needs the CLI and the UI built (`node scripts/build.mjs hisp renderer`).
 */
import { join } from 'node:path';

import { expect, test } from '@playwright/test';

import { parseCertificate } from '../../hisp/certs/certificate.js';
import { startDnsResponder } from '../../hisp/certs/hosting/dnsResponder.js';
import type { DnsResponder } from '../../hisp/certs/hosting/dnsResponder.js';
import { createSilentLogger } from '../../hisp/log/logger.js';
import { createTestCa, issueCert, issueEndEntityCert } from '../services/certs.js';
import { makeTempDir } from '../services/tmp.js';
import type { TempDir } from '../services/tmp.js';
import {
  A_ADDRESS,
  B_ADDRESS,
  bridgeOf,
  callBridge,
  collectProblems,
  makeVaultProfile,
  openMail,
  seriousViolations,
  unique,
  waitForSubject,
} from './support.js';
import { startServe } from './support.js';
import type { Running } from './support.js';

const PASSPHRASE = 'an e2e domain-bound passphrase';
const A_DOMAIN = 'practice-a.test';
const FRONT_DESK = `frontdesk@${A_DOMAIN}`;

test.describe('From with a domain-bound identity (sealpost serve)', () => {
  test.describe.configure({ timeout: 60_000 });

  let tmp: TempDir | undefined;
  let dns: DnsResponder | undefined;
  let served: Running | undefined;
  let domainSubject = '';

  test.beforeAll(async () => {
    test.setTimeout(90_000);
    tmp = await makeTempDir('e2e-domain-from');
    const ca = await createTestCa(tmp.path, { commonName: 'Domain From E2E Anchor' });
    const a = await issueEndEntityCert(ca, tmp.path, { email: A_ADDRESS });
    const b = await issueEndEntityCert(ca, tmp.path, { email: B_ADDRESS });
    const domain = await issueCert(ca, tmp.path, 'practice-a-domain', {
      subject: `/O=Sealpost Tests/CN=${A_DOMAIN}`,
      extensions: [
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        'extendedKeyUsage=emailProtection',
        `subjectAltName=DNS:${A_DOMAIN}`,
        'subjectKeyIdentifier=hash',
        'authorityKeyIdentifier=keyid',
      ],
    });
    domainSubject = parseCertificate(domain.certDer).subject;
    dns = await startDnsResponder({
      host: '127.0.0.1',
      port: 0,
      logger: createSilentLogger(),
      zones: [{ domain: 'practice-b.test', certificates: [parseCertificate(b.certDer)] }],
    });
    const profile = makeVaultProfile(join(tmp.path, 'practice-a'), PASSPHRASE, {
      identity: a,
      anchors: [ca.certPath],
    });
    profile.sealpost([
      'profile',
      'import-key',
      '--profile',
      profile.dir,
      ...profile.pass,
      '--key',
      domain.keyPath,
      '--cert',
      domain.certPath,
    ]);
    served = await startServe(tmp, profile, {
      config: { dns: [`127.0.0.1:${dns.port}`] },
      timeoutMs: 30_000,
      keepBytes: 1024 * 1024,
    });
  });

  test.afterAll(async () => {
    try {
      // Stops serve, then removes tmp.
      await served?.stop();
    } finally {
      await dns?.close();
      await tmp?.remove();
    }
  });

  test('choosing "Any address @practice-a.test" and typing frontdesk sends as frontdesk@practice-a.test', async ({
    browser,
  }) => {
    const running = served;
    if (running === undefined) throw new Error('setup failed (see beforeAll)');
    const bridge = bridgeOf(running, 'profile');
    const page = await openMail(browser, bridge);
    const problems = collectProblems(page);
    const subject = unique('Front desk');

    await page.keyboard.press('Control+n');
    const compose = page.getByTestId('compose');
    await expect(compose).toBeVisible();
    const from = page.getByTestId('compose-from');
    await expect(from).toHaveValue(A_ADDRESS);
    await expect(from.locator('option')).toHaveText([A_ADDRESS, `Any address @${A_DOMAIN}`]);
    await page.keyboard.type(B_ADDRESS);
    await page.keyboard.press('Enter');
    await page.getByTestId('compose-subject').fill(subject);
    await page.getByTestId('compose-body').fill('Mrs Doe’s appointment is moved to Thursday.');

    await from.selectOption(`@${A_DOMAIN}`);
    const local = page.getByTestId('compose-from-local');
    await expect(local).toBeVisible();
    await expect(local).toHaveAccessibleName(`From: the part before @${A_DOMAIN}`);
    // Not an address: said under the field, and Send refuses with the same reason.
    await local.fill('front desk');
    await local.blur();
    await expect(page.getByTestId('compose-from-error')).toContainText('no spaces');
    await expect(local).toHaveAttribute('aria-invalid', 'true');
    await page.getByTestId('compose-send').click();
    await expect(page.getByTestId('compose-problem')).toContainText('Complete the From address');
    await expect(compose).toBeVisible();
    expect(await seriousViolations(page)).toEqual([]);

    await local.fill('frontdesk');
    await expect(page.getByTestId('compose-from-error')).toHaveCount(0);
    // The recipient is checked for the sending domain: found.
    await expect(
      compose.getByTestId('recipient-chip').filter({ hasText: B_ADDRESS }),
    ).toHaveAttribute('data-state', 'found');
    await page.keyboard.press('Control+Enter');
    await expect(compose).toHaveCount(0);

    // The HISP stored it (in the Outbox: no relay) as sent from frontdesk@, signed by the
    // domain's certificate.
    await waitForSubject(bridge, subject, { folder: 'outbox', daemon: running.daemon });
    const list = (await callBridge(bridge, 'listMessages', { folder: 'outbox', limit: 100 })) as {
      messages: { id: number; subject: string; sender: string }[];
    };
    const row = list.messages.find((message) => message.subject === subject);
    expect(row?.sender).toContain(FRONT_DESK);
    const opened = (await callBridge(bridge, 'openMessage', { id: row?.id })) as {
      from: string;
      verification: { trusted: boolean; signerSubject?: string };
    };
    expect(opened.from).toContain(FRONT_DESK);
    expect(opened.verification.signerSubject).toBe(domainSubject);

    // And the window shows it so.
    await page.getByTestId('folder-outbox').click();
    await page.getByTestId('message-row').filter({ hasText: subject }).click();
    await expect(page.getByTestId('message-from')).toContainText(FRONT_DESK);
    expect(problems).toEqual([]);
    await page.context().close();
  });
});
