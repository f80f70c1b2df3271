/**
 * The settings view and the lock screen of the mail window, in Chromium against real HISPs.
 *
 * Settings run against `node bin/sealpost.js demo --browser --data-dir DIR` (practice B,
 * dr.baker@practice-b.test): a message from A is opened in B's window, then the audit log
 * shows the 'open' entry and exports CSV; a trust anchor made now with OpenSSL is imported
 * from a PEM file and removed; a PKCS#12 identity made with OpenSSL is imported with a wrong
 * and then the right password; Escape returns to the mail.
 *
 * The demo's profiles cannot be locked (throwaway vaults with random, unsaved passphrases),
 * so the lock screen runs against `node bin/sealpost.js serve` on a passphrase-vault profile
 * with a mailbox (as html-safety.spec.ts does): Ctrl+L drops an unsent compose, a wrong
 * passphrase is explained and the focus goes back to the field, the right one brings the
 * mail back; "Lock now" locks; a window opened on a locked profile notes that keychain
 * profiles leave the passphrase empty. Both screens get an axe-core scan (no serious or
 * critical violations, light and dark). The mail server section's forms are tested in
 * preferences.spec.ts; here only that the demo shows them.
 *
 * Needs the CLI and the UI built: `node scripts/build.mjs hisp renderer`.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { expect, test } from '@playwright/test';
import type { Page } from '@playwright/test';
import { z } from 'zod';

import { createSelfSignedServerCert, createTestCa, issueEndEntityCert } from '../services/certs.js';
import { opensslPkcs12 } from '../services/openssl-direct.js';
import { freePort } from '../services/ports.js';
import { makeTempDir } from '../services/tmp.js';
import {
  A_ADDRESS,
  B_ADDRESS,
  bridgeOf,
  callBridge,
  inboundConfig,
  makeVaultProfile,
  openMail,
  seriousViolations,
  startServe,
  unique,
  withDemo,
  waitForSubject,
} from './support.js';
import type { Running } from './support.js';

const PASSPHRASE = 'the settings e2e vault passphrase';
/** The registry's VAULT_BAD_PASSPHRASE description (hisp/api/errors.ts), what the screen says. */
const BAD_PASSPHRASE_TEXT = "The passphrase does not open this profile's vault.";
/** The mail window opens slowly on a busy machine: the Inbox may take this long. */
const OPEN_TIMEOUT = { timeoutMs: 20_000 };

test.describe('settings in the mail window (sealpost demo, practice B)', () => {
  test.describe.configure({ mode: 'serial', timeout: 120_000 });

  const practice = withDemo('e2e-settings');

  async function openSettings(page: Page, section: string): Promise<void> {
    await page.getByTestId('show-settings').click();
    await expect(page.getByRole('heading', { level: 1, name: 'Settings' })).toBeVisible();
    await page.getByTestId(`settings-nav-${section}`).click();
  }

  test("the audit log shows the 'open' of a message, its chain is intact, and it exports CSV", async ({
    browser,
  }) => {
    const a = practice('a');
    const b = practice('b');
    const subject = unique('Audit me');
    await callBridge(a, 'sendMessage', {
      from: A_ADDRESS,
      to: [B_ADDRESS],
      subject,
      text: 'Opened for the audit log.',
    });
    await waitForSubject(b, subject, { what: `"${subject}" in B's Inbox` });

    const page = await openMail(browser, b, OPEN_TIMEOUT);
    await page.getByTestId('message-row').filter({ hasText: subject }).first().click();
    await expect(page.getByTestId('message-subject')).toHaveText(subject);

    await openSettings(page, 'audit');
    await page.getByTestId('audit-action').selectOption('open');
    await page.getByTestId('audit-counterpart').fill(A_ADDRESS);
    await page.getByTestId('audit-apply').click();
    const rows = page.getByTestId('audit-row');
    await expect(rows.first()).toBeVisible();
    // Only 'open' entries, each naming A.
    const actions = await rows.evaluateAll((list) =>
      list.map((row) => row.getAttribute('data-action')),
    );
    expect(actions.length).toBeGreaterThan(0);
    expect(new Set(actions)).toEqual(new Set(['open']));
    await expect(rows.first()).toContainText(A_ADDRESS);
    await expect(page.getByTestId('audit-chain')).toHaveAttribute('data-intact', 'true');
    await expect(page.getByTestId('audit-chain')).toContainText('Intact');

    const downloading = page.waitForEvent('download');
    await page.getByTestId('audit-export-csv').click();
    const download = await downloading;
    expect(download.suggestedFilename()).toMatch(/\.csv$/);
    const path = await download.path();
    const csv = await readFile(path, 'utf8');
    const lines = csv.trim().split(/\r?\n/);
    expect(lines.length).toBe(actions.length + 1); // a header, then the filtered entries
    expect(
      lines.slice(1).every((line) => line.includes(',open,') && line.includes(A_ADDRESS)),
    ).toBe(true);

    // The export is itself audited.
    await page.getByTestId('audit-action').selectOption('audit-export');
    await page.getByTestId('audit-counterpart').fill('');
    await page.getByTestId('audit-apply').click();
    await expect(
      page.locator('[data-testid="audit-row"][data-action="audit-export"]'),
    ).not.toHaveCount(0);

    expect(await seriousViolations(page)).toEqual([]);
    await page.context().close();
  });

  test('a trust anchor made with OpenSSL is imported from a PEM file and removed again', async ({
    browser,
  }) => {
    const b = practice('b');
    const tmp = await makeTempDir('e2e-settings-anchor');
    try {
      const ca = await createTestCa(tmp.path, { commonName: `Settings Anchor ${Date.now()}` });
      const fingerprint = createHash('sha256').update(ca.certDer).digest('hex');
      const page = await openMail(browser, b, OPEN_TIMEOUT);
      await openSettings(page, 'anchors');
      // The demo's own anchor is listed, added by hand.
      await expect(page.getByTestId('anchor-row').first()).toBeVisible();

      await page.getByTestId('anchor-file').setInputFiles(ca.certPath);
      await page.getByTestId('anchor-domain').selectOption('practice-b.test');
      await page.getByTestId('anchor-direction').selectOption('inbound');
      await page.getByTestId('anchor-import').click();
      await expect(page.getByTestId('anchors-imported')).toContainText(
        'Added 1, already there 0, refused 0.',
      );
      const row = page.locator(`[data-testid="anchor-row"][data-fingerprint="${fingerprint}"]`);
      await expect(row).toHaveCount(1);
      await expect(row).toContainText(ca.commonName);
      await expect(row).toContainText('practice-b.test');
      await expect(row).toContainText('Receiving');
      await expect(row).toContainText('Added by hand');
      await expect(row).toContainText(`${fingerprint.slice(0, 4)} ${fingerprint.slice(4, 8)}`);

      expect(await seriousViolations(page)).toEqual([]);

      await row.getByTestId('anchor-remove').click();
      await row.getByTestId('anchor-remove-confirm').click();
      await expect(row).toHaveCount(0);
      const left = z
        .object({ anchors: z.array(z.object({ fingerprintSha256: z.string() })) })
        .parse(await callBridge(b, 'listAnchors', {}));
      expect(left.anchors.some((anchor) => anchor.fingerprintSha256 === fingerprint)).toBe(false);

      // Escape returns to the mail.
      await page.getByRole('heading', { level: 1, name: 'Settings' }).press('Escape');
      await expect(page.getByTestId('list-title')).toHaveText('Inbox');
      await page.context().close();
    } finally {
      await tmp.remove();
    }
  });

  test('a PKCS#12 identity: a wrong password is explained, the right one imports it', async ({
    browser,
  }) => {
    const b = practice('b');
    const tmp = await makeTempDir('e2e-settings-p12');
    try {
      const address = `dr.cole.${Date.now().toString(36)}@practice-b.test`;
      const ca = await createTestCa(tmp.path, { commonName: 'Settings Identity CA' });
      const identity = await issueEndEntityCert(ca, tmp.path, { email: address });
      const p12 = await opensslPkcs12(identity, join(tmp.path, 'cole.p12'), 'the right password');

      const page = await openMail(browser, b, OPEN_TIMEOUT);
      await openSettings(page, 'identity');
      await expect(page.getByTestId('identity-row').filter({ hasText: B_ADDRESS })).toHaveCount(1);
      expect(await seriousViolations(page)).toEqual([]);

      await page.getByTestId('identity-file').setInputFiles(p12);
      await page.getByTestId('identity-password').fill('a wrong password');
      await page.getByTestId('identity-import').click();
      const problem = page.getByTestId('identity-error');
      await expect(problem).toHaveAttribute('data-code', 'PKCS12_BAD_PASSWORD');
      await expect(problem).toContainText('That password does not open this certificate file.');
      await expect(page.getByTestId('identity-password')).toBeFocused();
      await expect(page.getByTestId('identity-row').filter({ hasText: address })).toHaveCount(0);

      await page.getByTestId('identity-password').fill('the right password');
      await page.getByTestId('identity-import').click();
      await expect(page.getByTestId('identity-imported')).toContainText(address);
      await expect(problem).toHaveCount(0);
      await expect(page.getByTestId('identity-row').filter({ hasText: address })).toHaveCount(1);

      // Mail can be sent from it at once.
      await page.getByTestId('settings-back').click();
      await page.getByTestId('new-message').click();
      await expect(
        page.getByTestId('compose-from').locator('option', { hasText: address }),
      ).toHaveCount(1);
      await page.context().close();
    } finally {
      await tmp.remove();
    }
  });

  test('bundles and the server section show what there is, read-only where it must be', async ({
    browser,
  }) => {
    const page = await openMail(browser, practice('b'), OPEN_TIMEOUT);
    await openSettings(page, 'bundles');
    await expect(page.getByTestId('bundles-empty')).toBeVisible();
    // A plain-http address is refused before any call.
    await page.getByTestId('bundle-name').fill('community');
    await page.getByTestId('bundle-url').fill('http://bundles.example.test/b.p7b');
    await page.getByTestId('bundle-add').click();
    await expect(page.getByTestId('bundles-action-error')).toContainText('https://');
    expect(await seriousViolations(page)).toEqual([]);

    await page.getByTestId('settings-nav-server').click();
    // The demo's practices run without a saved profile: no preferences to change, said
    // plainly (not as a failure); the forms are tested in preferences.spec.ts.
    await expect(page.getByTestId('prefs-unavailable')).toContainText(
      'Nothing here can be changed',
    );
    await expect(page.getByTestId('prefs-error')).toHaveCount(0);
    await expect(page.getByTestId('prefs-relay')).toHaveCount(0);
    // What the HISP reports now.
    await expect(page.getByTestId('server-component').first()).toBeVisible();
    expect(await seriousViolations(page)).toEqual([]);
    await page.getByTestId('settings-back').click();
    await expect(page.getByTestId('list-title')).toHaveText('Inbox');
    await page.context().close();
  });
});

test.describe('the lock screen (sealpost serve, passphrase-vault profile)', () => {
  test.describe.configure({ mode: 'serial', timeout: 90_000 });

  let hisp: Running | undefined;

  test.beforeAll(async () => {
    test.setTimeout(90_000);
    const tmp = await makeTempDir('e2e-lock');
    try {
      const ca = await createTestCa(tmp.path, { commonName: 'Lock Test Anchor' });
      const reader = await issueEndEntityCert(ca, tmp.path, { email: 'dr.reader@clinic.test' });
      const tlsCert = await createSelfSignedServerCert(tmp.path, { name: 'inbound-tls' });
      const profile = makeVaultProfile(join(tmp.path, 'clinic'), PASSPHRASE, { identity: reader });
      hisp = await startServe(tmp, profile, {
        config: { inbound: inboundConfig(await freePort(), tlsCert) },
      });
    } catch (error) {
      await tmp.remove();
      throw error;
    }
  });

  test.afterAll(async () => {
    await hisp?.stop();
  });

  test('Ctrl+L drops what is open; a wrong passphrase is explained; the right one unlocks', async ({
    browser,
  }) => {
    const page = await openMail(browser, bridgeOf(hisp, 'profile'), OPEN_TIMEOUT);
    // Something only the unlocked window holds: an unsent message being written.
    const secret = unique('Unsent words');
    await page.getByTestId('new-message').click();
    await page.getByTestId('compose-body').fill(secret);
    await expect(page.getByTestId('compose-body')).toHaveValue(secret);
    await page.getByTestId('compose-body').press('Control+l');

    const lock = page.getByTestId('lock-screen');
    await expect(lock).toBeVisible();
    await expect(page.getByTestId('compose')).toHaveCount(0);
    await expect(page.getByTestId('list-title')).toHaveCount(0);
    expect(await page.content()).not.toContain(secret);
    const held = await page.evaluate(
      (text) =>
        Array.from(document.querySelectorAll('input, textarea')).some(
          (field) =>
            (field instanceof HTMLInputElement || field instanceof HTMLTextAreaElement) &&
            field.value.includes(text),
        ),
      secret,
    );
    expect(held).toBe(false);
    // The window saw the vault profile before the lock: no keychain note.
    await expect(page.locator('#lock-note')).toHaveCount(0);
    const field = page.getByTestId('lock-passphrase');
    await expect(field).toBeFocused();
    expect(await seriousViolations(page)).toEqual([]);

    await field.fill('not the passphrase');
    await page.getByTestId('unlock').click();
    const problem = page.getByTestId('lock-problem');
    await expect(problem).toHaveAttribute('data-code', 'VAULT_BAD_PASSPHRASE');
    await expect(problem).toContainText(BAD_PASSPHRASE_TEXT);
    await expect(field).toBeFocused();
    expect(await seriousViolations(page)).toEqual([]);

    await field.fill(PASSPHRASE);
    await field.press('Enter');
    await expect(page.getByTestId('list-title')).toHaveText('Inbox');
    await expect(lock).toHaveCount(0);
    await expect(page.getByTestId('compose')).toHaveCount(0);
    await page.context().close();
  });

  test('"Lock now" locks; a window opened while locked asks and notes the keychain case', async ({
    browser,
  }) => {
    const bridge = bridgeOf(hisp, 'profile');
    const page = await openMail(browser, bridge, OPEN_TIMEOUT);
    await page.getByTestId('lock-now').click();
    await expect(page.getByTestId('lock-screen')).toBeVisible();

    // Calls are refused while locked: the HISP, not only the window, is locked.
    await expect(callBridge(bridge, 'folders', {})).rejects.toThrow(/PROFILE_LOCKED/);

    // A new window knows only that the profile is locked, not where its key is.
    await page.reload();
    await expect(page.getByTestId('lock-screen')).toBeVisible();
    await expect(page.locator('#lock-note')).toContainText('leave the passphrase empty');
    // Empty, as for a keychain profile: this vault profile says it needs its passphrase.
    await page.getByTestId('unlock').click();
    await expect(page.getByTestId('lock-problem')).toHaveAttribute(
      'data-code',
      'VAULT_BAD_PASSPHRASE',
    );
    await page.getByTestId('lock-passphrase').fill(PASSPHRASE);
    await page.getByTestId('unlock').click();
    await expect(page.getByTestId('list-title')).toHaveText('Inbox');
    expect(await callBridge(bridge, 'folders', {})).toBeDefined();
    await page.context().close();
  });
});
