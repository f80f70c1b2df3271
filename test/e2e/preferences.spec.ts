/**
 * Settings › Mail server and preferences, in Chromium against a real `sealpost serve` on a
 * passphrase-vault profile, with a real smart host: smtp-server on 127.0.0.1 (a port chosen at
 * run time) with STARTTLS and AUTH, its certificate issued by a test CA that the HISP trusts
 * through NODE_EXTRA_CA_CERTS (a relay saved in Settings has no `ca` of its own: it trusts
 * what the system trusts).
 *
 * (a) No --config, no policy: every group is the profile's. The form checks a port out of
 *     range before any call (message on the field, aria-invalid, focus); "Test connection"
 *     tries the relay as typed — a wrong password fails at "Log in" with the explanation and
 *     the right one passes (the smart host sees AUTH, never MAIL FROM) —; Save; the relay is
 *     used at once (the status lists it); after a reload the values are kept and "a password
 *     is saved" is said, the password itself nowhere (not in the page, not in getPreferences).
 *     Auto-lock and delivery save on their own. axe on the screen.
 *     An IMAP upstream account (a real Dovecot, its certificate trusted the same way) is
 *     tested as typed with a wrong and then the right password, and saved.
 * (b) --policy locking the relay (preset server and user), auto-lock, trust anchors and bundles:
 *     the badges, the fields disabled, the password still typed and saved, and then the
 *     saved-account test in the status list logs in with it; the anchors section has the
 *     badge and no import or remove (an anchor import over the bridge is SETTING_MANAGED), the
 *     bundles section the badge and no add.
 * (c) --config setting the relay: "Set in the configuration file <path>", nothing to type,
 *     no Save.
 *
 * Needs the CLI and the UI built: `node scripts/build.mjs hisp renderer`.
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { expect, test } from '@playwright/test';
import type { Page } from '@playwright/test';
import { SMTPServer } from 'smtp-server';
import { z } from 'zod';

import { createTestCa, issueEndEntityCert, issueServerCert } from '../services/certs.js';
import type { CertFiles, TestCa } from '../services/certs.js';
import { startDovecot } from '../services/dovecot.js';
import type { DovecotHandle } from '../services/dovecot.js';
import { makeTempDir } from '../services/tmp.js';
import type { TempDir } from '../services/tmp.js';
import {
  bridgeOf,
  callBridge,
  makeVaultProfile,
  openMail,
  postBridge,
  ROOT,
  seriousViolations,
  startServe,
} from './support.js';
import type { Running } from './support.js';

const SCREENSHOTS = join(ROOT, 'docs', 'screenshots');
const PASSPHRASE = 'the preferences e2e vault passphrase';
const USER = 'relay-user';
const PASS = `relay-pass-${randomBytes(6).toString('hex')}`;
const WRONG = `wrong-pass-${randomBytes(6).toString('hex')}`;
const IMAP_USER = 'clinic@example.test';
const IMAP_PASS = `imap-pass-${randomBytes(6).toString('hex')}`;
const OPEN_TIMEOUT = { timeoutMs: 20_000 };

/** A smart host: STARTTLS with a certificate from the test CA, AUTH for USER/PASS only. */
interface SmartHost {
  readonly port: number;
  readonly counts: { auth: number; authOk: number; mailFrom: number };
  stop(): Promise<void>;
}

async function startSmartHost(tls: CertFiles): Promise<SmartHost> {
  const counts = { auth: 0, authOk: 0, mailFrom: 0 };
  const server = new SMTPServer({
    secure: false,
    key: tls.keyPem,
    cert: tls.certPem,
    logger: false,
    authMethods: ['PLAIN', 'LOGIN'],
    onAuth(auth, _session, callback) {
      counts.auth += 1;
      if (auth.username === USER && auth.password === PASS) {
        counts.authOk += 1;
        callback(null, { user: USER });
      } else {
        callback(Object.assign(new Error('Authentication failed'), { responseCode: 535 }));
      }
    },
    onMailFrom(_address, _session, callback) {
      counts.mailFrom += 1;
      callback();
    },
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.server.address();
  if (address === null || typeof address === 'string') throw new Error('no smart host port');
  return {
    port: address.port,
    counts,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** What every scenario starts from: a CA, the smart host, a vault profile with an identity. */
interface Setup {
  readonly tmp: TempDir;
  readonly ca: TestCa;
  readonly smarthost: SmartHost;
  readonly hisp: Running;
}

/**
 * `sealpost serve` on a new vault profile (bridge key `profile`) with `extra` arguments,
 * trusting the test CA through NODE_EXTRA_CA_CERTS; the files `write` names are written first.
 */
async function setUp(
  label: string,
  extra: (paths: { tmp: string; ca: TestCa; smarthostPort: number }) => Promise<string[]>,
  options: { alsoTrust?: string } = {},
): Promise<Setup> {
  const tmp = await makeTempDir(label);
  let smarthost: SmartHost | undefined;
  try {
    const ca = await createTestCa(tmp.path, { commonName: 'Preferences Test CA' });
    const tls = await issueServerCert(ca, tmp.path, { name: 'smarthost' });
    const identity = await issueEndEntityCert(ca, tmp.path, { email: 'dr.prefs@clinic.test' });
    smarthost = await startSmartHost(tls);
    const profile = makeVaultProfile(join(tmp.path, 'clinic'), PASSPHRASE, {
      identity,
      anchors: [ca.certPath],
    });
    const args = await extra({ tmp: tmp.path, ca, smarthostPort: smarthost.port });
    // NODE_EXTRA_CA_CERTS names one file: the test CA, and whatever else is to be trusted.
    const trusted = join(tmp.path, 'trusted.pem');
    await writeFile(trusted, `${ca.certPem.trim()}\n${options.alsoTrust?.trim() ?? ''}\n`);
    const hisp = await startServe(tmp, profile, { args, env: { NODE_EXTRA_CA_CERTS: trusted } });
    return { tmp, ca, smarthost, hisp };
  } catch (error) {
    await smarthost?.stop();
    await tmp.remove();
    throw error;
  }
}

async function tearDown(setup: Setup | undefined): Promise<void> {
  await setup?.hisp.stop();
  await setup?.smarthost.stop();
}

/** Light and dark screenshots of the settings as they are, for the README. */
async function screenshots(page: Page, name: string): Promise<void> {
  await page.getByRole('heading', { level: 1, name: 'Settings' }).scrollIntoViewIfNeeded();
  for (const colorScheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme });
    await page.screenshot({ path: join(SCREENSHOTS, `${name}-${colorScheme}.png`) });
  }
  await page.emulateMedia({ colorScheme: 'light' });
}

async function openPreferences(page: Page): Promise<void> {
  await page.getByTestId('show-settings').click();
  await expect(page.getByRole('heading', { level: 1, name: 'Settings' })).toBeVisible();
  await page.getByTestId('settings-nav-server').click();
  await expect(page.getByTestId('prefs')).toBeVisible();
}

const PreferencesAnswer = z.object({
  relay: z.object({
    source: z.string(),
    value: z.object({ kind: z.string(), passwordSet: z.boolean().optional() }).passthrough(),
  }),
  autoLock: z.object({ source: z.string(), value: z.number() }),
  managed: z.array(z.string()),
});

test.describe('preferences saved in the profile (no --config, no policy)', () => {
  test.describe.configure({ mode: 'serial', timeout: 120_000 });

  let setup: Setup | undefined;
  let dovecot: DovecotHandle | undefined;
  test.beforeAll(async () => {
    test.setTimeout(90_000);
    dovecot = await startDovecot({ user: IMAP_USER, password: IMAP_PASS });
    setup = await setUp('e2e-prefs-profile', () => Promise.resolve([]), {
      alsoTrust: dovecot.caPem,
    });
  });
  test.afterAll(async () => {
    await tearDown(setup);
    await dovecot?.stop();
  });

  test('a smarthost is checked, tested as typed, saved, used at once and kept', async ({
    browser,
  }) => {
    if (setup === undefined) throw new Error('setup failed (see beforeAll)');
    const { smarthost } = setup;
    const bridge = bridgeOf(setup.hisp, 'profile');
    const page = await openMail(browser, bridge, OPEN_TIMEOUT);
    await openPreferences(page);

    const relay = page.getByTestId('prefs-relay');
    await expect(relay).toHaveAttribute('data-source', 'profile');
    await expect(page.getByTestId('prefs-relay-source')).toHaveCount(0);
    await expect(page.getByTestId('prefs-relay-kind-none')).toBeChecked();

    // Choosing a mail provider's server: 587 and STARTTLS to start with.
    await page.getByTestId('prefs-relay-kind-smarthost').check();
    await expect(page.getByTestId('prefs-relay-port')).toHaveValue('587');
    await expect(page.getByTestId('prefs-relay-secure')).toHaveValue('starttls');
    await page.getByTestId('prefs-relay-host').fill('127.0.0.1');
    await page.getByTestId('prefs-relay-port').fill('70000');
    await page.getByTestId('prefs-relay-user').fill(USER);

    // Checked before any call: the port, and a user with no password saved.
    await page.getByTestId('prefs-relay-save').click();
    const port = page.getByTestId('prefs-relay-port');
    await expect(port).toHaveAttribute('aria-invalid', 'true');
    await expect(port).toBeFocused();
    const portProblemId = (await port.getAttribute('aria-describedby')) ?? '';
    expect(portProblemId).toMatch(/-problem/);
    await expect(page.locator(`[id="${portProblemId.split(' ').pop() ?? ''}"]`)).toHaveText(
      'A whole number from 1 to 65535.',
    );
    // Then a user with no password saved.
    await port.fill(String(smarthost.port));
    await expect(port).not.toHaveAttribute('aria-invalid', 'true');
    await page.getByTestId('prefs-relay-save').click();
    const password = page.getByTestId('prefs-relay-password');
    await expect(password).toHaveAttribute('aria-invalid', 'true');
    await expect(password).toBeFocused();
    await expect(relay).toContainText('Type the password for this user');
    expect(smarthost.counts.auth).toBe(0);
    await expect(page.getByTestId('prefs-relay-saved')).toHaveCount(0);

    // A wrong password, as typed: the test fails at "Log in", explained.
    await password.fill(WRONG);
    await page.getByTestId('prefs-relay-test').click();
    const result = page.getByTestId('prefs-relay-test-result');
    await expect(result).toHaveAttribute('data-ok', 'false', { timeout: 30_000 });
    await expect(result).toContainText('failed at “Log in”');
    await expect(result).toContainText('The relay refused the account name or password.');
    await expect(
      result.locator('[data-testid="connection-test-step"][data-step="auth"]'),
    ).toHaveAttribute('data-ok', 'false');
    expect(smarthost.counts.auth).toBeGreaterThan(0);
    expect(smarthost.counts.authOk).toBe(0);

    // The right one passes every step.
    await page.getByTestId('prefs-relay-password').fill(PASS);
    await page.getByTestId('prefs-relay-test').click();
    await expect(result).toHaveAttribute('data-ok', 'true', { timeout: 30_000 });
    await expect(result).toContainText(
      `Sealpost can reach the relay (127.0.0.1:${smarthost.port})`,
    );
    expect(smarthost.counts.authOk).toBe(1);
    expect(smarthost.counts.mailFrom).toBe(0);

    // Saved, announced, and used at once: the status lists the smart host.
    await page.getByTestId('prefs-relay-save').click();
    await expect(page.getByTestId('prefs-relay-saved')).toContainText(
      `Relay saved: 127.0.0.1:${smarthost.port}.`,
    );
    await expect(page.getByTestId('prefs-relay-error')).toHaveCount(0);
    await expect(page.getByTestId('prefs-relay-password')).toHaveValue('');
    await expect(page.getByTestId('prefs-relay-password-saved')).toBeVisible();
    const relayStatus = page.locator('[data-testid="server-component"][data-name="relay"]');
    await expect(relayStatus).toContainText(`smarthost 127.0.0.1:${smarthost.port}`, {
      timeout: 20_000,
    });
    expect(await seriousViolations(page)).toEqual([]);

    // After a reload: the values kept, a password saved, never shown.
    await page.reload();
    await expect(page.getByTestId('list-title')).toHaveText('Inbox', { timeout: 20_000 });
    await openPreferences(page);
    await expect(page.getByTestId('prefs-relay-kind-smarthost')).toBeChecked();
    await expect(page.getByTestId('prefs-relay-host')).toHaveValue('127.0.0.1');
    await expect(page.getByTestId('prefs-relay-port')).toHaveValue(String(smarthost.port));
    await expect(page.getByTestId('prefs-relay-user')).toHaveValue(USER);
    await expect(page.getByTestId('prefs-relay-password')).toHaveValue('');
    await expect(page.getByTestId('prefs-relay-password-saved')).toContainText(
      'A password is saved',
    );
    expect(await page.content()).not.toContain(PASS);
    await screenshots(page, 'settings-preferences');
    const saved = PreferencesAnswer.parse(await callBridge(bridge, 'getPreferences', {}));
    expect(saved.relay).toMatchObject({
      source: 'profile',
      value: { kind: 'smarthost', host: '127.0.0.1', port: smarthost.port, passwordSet: true },
    });
    expect(JSON.stringify(saved)).not.toContain(PASS);

    // The saved account, tested from the status list: logs in with the saved password.
    await page.getByTestId('test-connection-relay').click();
    await expect(page.getByTestId('connection-test-relay-result')).toHaveAttribute(
      'data-ok',
      'true',
      { timeout: 30_000 },
    );
    expect(smarthost.counts.authOk).toBe(2);
    expect(smarthost.counts.mailFrom).toBe(0);
    await page.context().close();
  });

  test('auto-lock and delivery notifications are checked and saved on their own', async ({
    browser,
  }) => {
    const bridge = bridgeOf(setup?.hisp, 'profile');
    const page = await openMail(browser, bridge, OPEN_TIMEOUT);
    await openPreferences(page);

    const minutes = page.getByTestId('prefs-autolock-minutes');
    await minutes.fill('2000');
    await page.getByTestId('prefs-autolock-save').click();
    await expect(minutes).toHaveAttribute('aria-invalid', 'true');
    await expect(page.getByTestId('prefs-autolock')).toContainText(
      'A whole number from 0 to 1440.',
    );
    await minutes.fill('30');
    await page.getByTestId('prefs-autolock-save').click();
    await expect(page.getByTestId('prefs-autolock-saved')).toContainText('locks after 30 minutes');

    await page.getByTestId('prefs-delivery-timeout').fill('2.5');
    await page.getByTestId('prefs-delivery-dispatched').check();
    await page.getByTestId('prefs-delivery-silence').fill('0');
    await page.getByTestId('prefs-delivery-save').click();
    await expect(page.getByTestId('prefs-delivery-saved')).toBeVisible();

    const saved = z
      .object({
        autoLock: z.object({ value: z.number() }),
        delivery: z.object({ value: z.object({}).passthrough() }),
      })
      .parse(await callBridge(bridge, 'getPreferences', {}));
    expect(saved.autoLock.value).toBe(30);
    expect(saved.delivery.value).toEqual({
      timeoutHours: 2.5,
      requestDispatched: true,
      silenceAlertHours: 0,
    });
    // The relay saved before was left as it was.
    const relay = PreferencesAnswer.parse(await callBridge(bridge, 'getPreferences', {})).relay;
    expect(relay.value.kind).toBe('smarthost');
    await page.context().close();
  });

  test('an IMAP upstream account is tested as typed and saved', async ({ browser }) => {
    if (dovecot === undefined) throw new Error('setup failed (see beforeAll)');
    const bridge = bridgeOf(setup?.hisp, 'profile');
    const page = await openMail(browser, bridge, OPEN_TIMEOUT);
    await openPreferences(page);

    const upstream = page.getByTestId('prefs-upstream');
    await expect(upstream).toHaveAttribute('data-source', 'profile');
    await page.getByTestId('prefs-upstream-kind-imap').check();
    // IMAP starts on 993 with implicit TLS; STARTTLS moves the usual port along.
    await expect(page.getByTestId('prefs-upstream-port')).toHaveValue('993');
    await expect(page.getByTestId('prefs-upstream-secure')).toHaveValue('implicit');
    await page.getByTestId('prefs-upstream-secure').selectOption('starttls');
    await expect(page.getByTestId('prefs-upstream-port')).toHaveValue('143');

    await page.getByTestId('prefs-upstream-host').fill('127.0.0.1');
    await page.getByTestId('prefs-upstream-port').fill(String(dovecot.imapPort));
    await page.getByTestId('prefs-upstream-user').fill(IMAP_USER);
    await page.getByTestId('prefs-upstream-after-store').selectOption('move');
    // Move needs a mailbox to move to, checked before any call.
    await page.getByTestId('prefs-upstream-password').fill('not the password');
    await page.getByTestId('prefs-upstream-save').click();
    const moveTo = page.getByTestId('prefs-upstream-move-to');
    await expect(moveTo).toHaveAttribute('aria-invalid', 'true');
    await expect(moveTo).toBeFocused();
    await moveTo.fill('Stored');

    const result = page.getByTestId('prefs-upstream-test-result');
    await page.getByTestId('prefs-upstream-test').click();
    await expect(result).toHaveAttribute('data-ok', 'false', { timeout: 30_000 });
    await expect(result).toContainText('failed at “Log in”');
    await expect(result).toContainText('refused the account name or password');

    await page.getByTestId('prefs-upstream-password').fill(IMAP_PASS);
    await page.getByTestId('prefs-upstream-test').click();
    await expect(result).toHaveAttribute('data-ok', 'true', { timeout: 30_000 });
    await expect(result.locator('[data-step="mailbox"]')).toHaveAttribute('data-ok', 'true');

    await page.getByTestId('prefs-upstream-save').click();
    await expect(page.getByTestId('prefs-upstream-saved')).toContainText(
      `Upstream mailbox saved: ${IMAP_USER} at 127.0.0.1:${dovecot.imapPort}.`,
    );
    await expect(page.getByTestId('prefs-upstream-password-saved')).toBeVisible();
    const saved = z
      .object({ upstream: z.object({ source: z.string(), value: z.object({}).passthrough() }) })
      .parse(await callBridge(bridge, 'getPreferences', {}));
    expect(saved.upstream).toEqual({
      source: 'profile',
      value: {
        kind: 'imap',
        host: '127.0.0.1',
        port: dovecot.imapPort,
        secure: 'starttls',
        user: IMAP_USER,
        afterStore: 'move',
        moveTo: 'Stored',
        passwordSet: true,
      },
    });
    expect(JSON.stringify(saved)).not.toContain(IMAP_PASS);
    expect(await seriousViolations(page)).toEqual([]);
    await page.context().close();
  });
});

test.describe('preferences managed by the organisation (--policy)', () => {
  test.describe.configure({ mode: 'serial', timeout: 120_000 });

  let setup: Setup | undefined;
  let policyPath = '';
  test.beforeAll(async () => {
    test.setTimeout(90_000);
    setup = await setUp('e2e-prefs-policy', async ({ tmp, smarthostPort }) => {
      policyPath = join(tmp, 'policy.json');
      await writeFile(
        policyPath,
        JSON.stringify({
          version: 1,
          relay: {
            smarthost: { host: '127.0.0.1', port: smarthostPort, secure: 'starttls', user: USER },
          },
          autoLockMinutes: 10,
          lockedSettings: ['relay', 'autoLock', 'trustAnchors', 'trustBundles'],
        }),
      );
      return ['--policy', policyPath];
    });
  });
  test.afterAll(async () => {
    await tearDown(setup);
  });

  test('badges, disabled fields, the password still saved; anchors managed', async ({
    browser,
  }) => {
    if (setup === undefined) throw new Error('setup failed (see beforeAll)');
    const { smarthost, ca } = setup;
    const bridge = bridgeOf(setup.hisp, 'profile');
    const page = await openMail(browser, bridge, OPEN_TIMEOUT);
    await openPreferences(page);

    const relay = page.getByTestId('prefs-relay');
    await expect(relay).toHaveAttribute('data-source', 'organisation');
    const badge = page.getByTestId('prefs-relay-source-badge');
    await expect(badge).toHaveText(/Managed by your organisation/);
    await expect(badge).toHaveAttribute('title', new RegExp(policyPath.replace(/[.\\/]/g, '\\$&')));
    await expect(page.getByTestId('prefs-relay-source')).toContainText(policyPath);
    await expect(relay).toHaveAccessibleDescription(/Managed by your organisation/);
    await expect(page.getByTestId('prefs-relay-kind-smarthost')).toBeChecked();
    await expect(page.getByTestId('prefs-relay-kind-none')).toBeDisabled();
    await expect(page.getByTestId('prefs-relay-host')).toBeDisabled();
    await expect(page.getByTestId('prefs-relay-host')).toHaveValue('127.0.0.1');
    await expect(page.getByTestId('prefs-relay-port')).toBeDisabled();
    await expect(page.getByTestId('prefs-relay-user')).toBeDisabled();
    await expect(page.getByTestId('prefs-relay-user')).toHaveValue(USER);
    const password = page.getByTestId('prefs-relay-password');
    await expect(password).toBeEnabled();

    await expect(page.getByTestId('prefs-autolock')).toHaveAttribute('data-source', 'organisation');
    await expect(page.getByTestId('prefs-autolock-source-badge')).toHaveText(
      /Managed by your organisation/,
    );
    await expect(page.getByTestId('prefs-autolock-minutes')).toBeDisabled();
    await expect(page.getByTestId('prefs-autolock-minutes')).toHaveValue('10');
    await expect(page.getByTestId('prefs-autolock-save')).toHaveCount(0);
    // Not locked: the profile's.
    await expect(page.getByTestId('prefs-delivery')).toHaveAttribute('data-source', 'profile');
    await expect(page.getByTestId('prefs-delivery-timeout')).toBeEnabled();
    expect(await seriousViolations(page)).toEqual([]);

    // Saving with no password typed is refused in the form; then the password is saved.
    await page.getByTestId('prefs-relay-save').click();
    await expect(password).toHaveAttribute('aria-invalid', 'true');
    await password.fill(PASS);
    await page.getByTestId('prefs-relay-save').click();
    await expect(page.getByTestId('prefs-relay-saved')).toContainText(
      'The relay password is saved.',
    );
    await expect(page.getByTestId('prefs-relay-password-saved')).toBeVisible();
    await screenshots(page, 'settings-preferences-managed');

    // The account the HISP uses now logs in with it.
    await page.getByTestId('test-connection-relay').click();
    await expect(page.getByTestId('connection-test-relay-result')).toHaveAttribute(
      'data-ok',
      'true',
      { timeout: 30_000 },
    );
    expect(smarthost.counts.authOk).toBeGreaterThan(0);

    // The HISP refuses a change of the managed relay itself.
    const refused = await postBridge(bridge, 'updatePreferences', { relay: { kind: 'none' } });
    expect(refused.answer.ok ? 'ok' : refused.answer.error.code).toBe('SETTING_MANAGED');

    // Trust anchors: managed, listed, no import and no remove.
    await page.getByTestId('settings-nav-anchors').click();
    await expect(page.getByTestId('anchors-managed-badge')).toHaveText(
      /Managed by your organisation/,
    );
    await expect(page.getByTestId('anchor-row').first()).toBeVisible();
    await expect(page.getByTestId('anchor-import')).toHaveCount(0);
    await expect(page.getByTestId('anchor-file')).toHaveCount(0);
    await expect(page.getByTestId('anchor-remove')).toHaveCount(0);
    const anchorImport = await postBridge(bridge, 'importAnchors', {
      certificates: ca.certPem,
      domain: '*',
      direction: 'both',
    });
    expect(anchorImport.answer.ok ? 'ok' : anchorImport.answer.error.code).toBe('SETTING_MANAGED');
    expect(await seriousViolations(page)).toEqual([]);

    // Trust bundles: the same, no add form.
    await page.getByTestId('settings-nav-bundles').click();
    await expect(page.getByTestId('bundles-managed-badge')).toHaveText(
      /Managed by your organisation/,
    );
    await expect(page.getByTestId('bundle-add')).toHaveCount(0);
    await expect(page.getByTestId('bundle-name')).toHaveCount(0);
    await page.context().close();
  });
});

test.describe('preferences set in the configuration file (--config)', () => {
  test.describe.configure({ mode: 'serial', timeout: 120_000 });

  let setup: Setup | undefined;
  let configPath = '';
  test.beforeAll(async () => {
    test.setTimeout(90_000);
    setup = await setUp('e2e-prefs-config', async ({ tmp, smarthostPort, ca }) => {
      configPath = join(tmp, 'clinic.serve.json');
      await writeFile(
        configPath,
        JSON.stringify({
          relay: {
            smarthost: {
              host: '127.0.0.1',
              port: smarthostPort,
              secure: 'starttls',
              ca: ca.certPath,
            },
          },
        }),
      );
      return ['--config', configPath];
    });
  });
  test.afterAll(async () => {
    await tearDown(setup);
  });

  test('the relay says where it is set, and nothing can be typed or saved', async ({ browser }) => {
    if (setup === undefined) throw new Error('setup failed (see beforeAll)');
    const bridge = bridgeOf(setup.hisp, 'profile');
    const page = await openMail(browser, bridge, OPEN_TIMEOUT);
    await openPreferences(page);

    const relay = page.getByTestId('prefs-relay');
    await expect(relay).toHaveAttribute('data-source', 'config');
    await expect(page.getByTestId('prefs-relay-source')).toContainText(
      `Set in the configuration file ${configPath}`,
    );
    await expect(page.getByTestId('prefs-relay-source-badge')).not.toContainText(
      'Managed by your organisation',
    );
    await expect(page.getByTestId('prefs-relay-host')).toBeDisabled();
    await expect(page.getByTestId('prefs-relay-host')).toHaveValue('127.0.0.1');
    await expect(page.getByTestId('prefs-relay-port')).toHaveValue(String(setup.smarthost.port));
    await expect(page.getByTestId('prefs-relay-password')).toHaveCount(0);
    await expect(page.getByTestId('prefs-relay-save')).toHaveCount(0);
    await expect(page.getByTestId('prefs-relay-test')).toHaveCount(0);
    // The other groups are the profile's.
    await expect(page.getByTestId('prefs-autolock')).toHaveAttribute('data-source', 'profile');
    await expect(page.getByTestId('prefs-data-location')).not.toBeEmpty();

    const refused = await postBridge(bridge, 'updatePreferences', { relay: { kind: 'none' } });
    expect(refused.answer.ok ? 'ok' : refused.answer.error.code).toBe('SETTING_IN_CONFIG_FILE');
    expect(await seriousViolations(page)).toEqual([]);
    await page.context().close();
  });
});
