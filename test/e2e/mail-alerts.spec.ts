/**
 * The mail window's alert banners raised by a real HISP, end to end: one practice served by
 * the real CLI (`node bin/sealpost.js serve --config` on a vault profile), its built UI in
 * Chromium. Nothing is mocked and no event is injected: the HISP raises each alert for the
 * reason it exists, and the banner's words are checked on screen.
 *
 * - Silence (`alert`, kind 'silence', risk-5): the config sets `silenceAlertHours` to 0.001
 *   (3.6 s, checked every 0.9 s; the smallest the config takes is any number above 0) and no
 *   Direct message arrives, so the HISP reports the silence. A window already open is told,
 *   and so is a window opened while the silence lasts.
 * - Many invalid certificates for one domain (`certificateAlert`, risks 10 and 11): our DNS
 *   responder publishes, for spoofed-lab.test, a domain-bound certificate under an authority
 *   the practice does not trust; the practice's recipient check (`checkRecipients`, what the
 *   compose window calls) looks up five addresses there, discovery rejects the certificate
 *   five times within the hour, and the HISP raises the alert to every open window.
 *
 * Not covered: `alert` kind 'relay'. The contract has it and the window explains it, but
 * nothing in the HISP raises it yet, so no real trigger exists.
 *
 * Needs the CLI and the UI built (`node scripts/build.mjs hisp renderer`).
 */
import { join } from 'node:path';

import { expect, test } from '@playwright/test';
import type { Page } from '@playwright/test';

import { parseCertificate } from '../../hisp/certs/certificate.js';
import { startDnsResponder } from '../../hisp/certs/hosting/dnsResponder.js';
import type { DnsResponder } from '../../hisp/certs/hosting/dnsResponder.js';
import { createSilentLogger } from '../../hisp/log/logger.js';
import { createTestCa, issueCert, issueEndEntityCert } from '../services/certs.js';
import { makeTempDir } from '../services/tmp.js';
import type { TempDir } from '../services/tmp.js';
import {
  A_ADDRESS,
  bridgeOf,
  callBridge,
  collectProblems,
  makeVaultProfile,
  openMail,
  seriousViolations,
  startServe,
} from './support.js';
import type { BridgeFile, Running } from './support.js';

const PASSPHRASE = 'an e2e alerts passphrase';
/** A domain whose published certificate the practice cannot trust. */
const SPOOFED = 'spoofed-lab.test';
/** Invalid certificates for one domain within the window that raise the alert (the HISP's default). */
const THRESHOLD = 5;

test.describe('alert banners raised by a real HISP (sealpost serve)', () => {
  test.describe.configure({ mode: 'serial', timeout: 60_000 });

  let tmp: TempDir | undefined;
  let dns: DnsResponder | undefined;
  let served: Running | undefined;

  test.beforeAll(async () => {
    test.setTimeout(90_000);
    tmp = await makeTempDir('e2e-alerts');
    const ca = await createTestCa(tmp.path, { commonName: 'Alerts E2E Anchor' });
    const a = await issueEndEntityCert(ca, tmp.path, { email: A_ADDRESS });
    const unknownCa = await createTestCa(tmp.path, {
      name: 'unknown-ca',
      commonName: 'Unknown Lab Authority',
    });
    // Domain-bound (a dNSName only): every address at the domain finds it.
    const spoofed = await issueCert(unknownCa, tmp.path, 'spoofed-lab', {
      subject: `/O=Sealpost Tests/CN=${SPOOFED}`,
      extensions: [
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        'extendedKeyUsage=emailProtection',
        `subjectAltName=DNS:${SPOOFED}`,
        'subjectKeyIdentifier=hash',
        'authorityKeyIdentifier=keyid',
      ],
    });
    dns = await startDnsResponder({
      host: '127.0.0.1',
      port: 0,
      logger: createSilentLogger(),
      zones: [{ domain: SPOOFED, certificates: [parseCertificate(spoofed.certDer)] }],
    });
    const profile = makeVaultProfile(join(tmp.path, 'practice-a'), PASSPHRASE, {
      identity: a,
      anchors: [ca.certPath],
    });
    served = await startServe(tmp, profile, {
      config: { silenceAlertHours: 0.001, dns: [`127.0.0.1:${dns.port}`] },
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

  const bridge = (): BridgeFile => bridgeOf(served, 'profile');
  const notices = (page: Page) => page.getByTestId('mail-notice');

  test('no inbound Direct mail for longer than silenceAlertHours: the window says so, and what to check', async ({
    browser,
  }) => {
    const page = await openMail(browser, bridge());
    const problems = collectProblems(page);
    const silence = notices(page).filter({
      hasText: 'No Direct mail has arrived for longer than usual.',
    });
    await expect(silence).toHaveCount(1, { timeout: 20_000 });
    await expect(silence).toHaveAttribute('role', 'alert');
    // The summary, the HISP's own sentence, and what to do.
    await expect(silence.locator('strong')).toHaveText(
      'No Direct mail has arrived for longer than usual.',
    );
    await expect(silence).toContainText(
      /No Direct message has arrived for \d+ (hours?|minutes?|seconds?) \(the alert is set at 4 seconds\)/,
    );
    await expect(silence).toContainText("Check the practice's MX record");
    await expect(silence).toContainText('ask your IT staff to check the mail server settings');
    expect(await seriousViolations(page)).toEqual([]);

    // The HISP's status agrees: traffic is degraded.
    const status = (await callBridge(bridge(), 'status', {})) as {
      components: { name: string; state: string }[];
    };
    expect(status.components.find((c) => c.name === 'traffic')?.state).toBe('degraded');

    // A window opened while the silence lasts is told at once.
    const later = await openMail(browser, bridge());
    await expect(
      notices(later).filter({ hasText: 'No Direct mail has arrived for longer than usual.' }),
    ).toHaveCount(1, { timeout: 10_000 });

    // Dismissed, it goes.
    await silence.getByRole('button', { name: 'Dismiss' }).click();
    await expect(silence).toHaveCount(0);
    expect(problems).toEqual([]);
    await later.context().close();
    await page.context().close();
  });

  test('many certificates of one domain fail their checks: the window warns not to send there, and why', async ({
    browser,
  }) => {
    const page = await openMail(browser, bridge());
    const problems = collectProblems(page);
    const alert = notices(page).filter({ hasText: SPOOFED });
    await expect(alert).toHaveCount(0);

    // The recipient check the compose window runs, for addresses at the spoofed domain: one
    // short of the threshold raises nothing…
    const addresses = Array.from({ length: THRESHOLD }, (_, i) => `ward${i + 1}@${SPOOFED}`);
    const check = async (list: readonly string[]): Promise<string[]> => {
      const answer = (await callBridge(bridge(), 'checkRecipients', {
        from: A_ADDRESS,
        addresses: list,
      })) as { recipients: { state: string }[] };
      return answer.recipients.map((r) => r.state);
    };
    expect(await check(addresses.slice(0, THRESHOLD - 1))).toEqual(
      new Array<string>(THRESHOLD - 1).fill('untrusted'),
    );
    await page.waitForTimeout(1000);
    await expect(alert).toHaveCount(0);

    // …the next one does.
    expect(await check(addresses.slice(THRESHOLD - 1))).toEqual(['untrusted']);
    await expect(alert).toHaveCount(1, { timeout: 10_000 });
    await expect(alert).toHaveAttribute('role', 'alert');
    await expect(alert.locator('strong')).toHaveText(
      `${THRESHOLD} certificates for ${SPOOFED} failed their checks in 60 min.`,
    );
    await expect(alert).toContainText('do not send to this domain');
    await expect(alert).toContainText('Most common reason:');
    expect(await seriousViolations(page)).toEqual([]);
    await alert.getByRole('button', { name: 'Dismiss' }).click();
    await expect(alert).toHaveCount(0);
    expect(problems).toEqual([]);
    await page.context().close();
  });
});
