/**
 * "Test connection" in Settings › Mail server, in Chromium against `sealpost demo --browser`:
 * practice A relays through practice B's inbound SMTP (a smart host over STARTTLS, B's
 * certificate trusted through the relay's `ca`), so testing A's relay passes every step it
 * has (connect, TLS); the demo has no upstream mailbox, so that row has no button. The view
 * gets an axe-core scan with the result on screen.
 *
 * Needs the CLI and the UI built: `node scripts/build.mjs hisp renderer`.
 */
import { expect, test } from '@playwright/test';

import { openMail, seriousViolations, withDemo } from './support.js';

test.describe('test connection (sealpost demo, practice A)', () => {
  test.describe.configure({ mode: 'serial', timeout: 90_000 });

  const practice = withDemo('e2e-connection-test');

  test("the relay's test passes with its steps; an unconfigured upstream has no button", async ({
    browser,
  }) => {
    const page = await openMail(browser, practice('a'), { timeoutMs: 20_000 });
    await page.getByTestId('show-settings').click();
    await page.getByTestId('settings-nav-server').click();
    await expect(page.getByTestId('server-settings')).toBeVisible();

    await expect(page.getByTestId('test-connection-upstream')).toHaveCount(0);
    const button = page.getByTestId('test-connection-relay');
    await expect(button).toHaveAccessibleName('Test connection to the relay');
    await button.click();

    const result = page.getByTestId('connection-test-relay-result');
    await expect(result).toHaveAttribute('data-ok', 'true', { timeout: 20_000 });
    await expect(result).toContainText('Sealpost can reach the relay');
    await expect(result).toContainText('every step worked');
    const steps = result.getByTestId('connection-test-step');
    await expect(steps).toHaveCount(2);
    await expect(steps.nth(0)).toHaveAttribute('data-step', 'connect');
    await expect(steps.nth(1)).toHaveAttribute('data-step', 'tls');
    await expect(steps.nth(1)).toContainText('STARTTLS, certificate verified');
    for (const step of await steps.all()) await expect(step).toHaveAttribute('data-ok', 'true');
    await expect(button).toBeEnabled();

    expect(await seriousViolations(page)).toEqual([]);
    await page.context().close();
  });
});
