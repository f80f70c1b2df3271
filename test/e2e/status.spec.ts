/**
 * The mail window in browser mode against a real HISP: `node bin/sealpost.js serve` started
 * as a child process, the built UI opened in Chromium from the address that `serve` makes
 * (bridge URL + `#token=`), and the bridge's token, Origin and Host checks exercised from
 * the page and from Node.
 *
 * Needs `npm run build` first (the bridge serves dist/renderer, the CLI is dist/hisp/cli.js).
 */
import { stat } from 'node:fs/promises';
import { basename, join } from 'node:path';

import { expect, test } from '@playwright/test';

import { StatusSchema } from '../../hisp/api/index.js';
import type { Status } from '../../hisp/api/index.js';
import { waitUntil } from '../services/proc.js';
import type { Daemon } from '../services/proc.js';
import { makeTempDir } from '../services/tmp.js';
import {
  bridgeOf,
  CallAnswerSchema,
  collectProblems,
  collectRequestUrls,
  makeVaultProfile,
  postBridge,
  ROOT,
  startServe as serveProfile,
} from './support.js';

/** Where the lead looks at the working status page. */
const STATUS_SCREENSHOT = join(ROOT, 'test-results', 'status.png');
const STATUS_SCREENSHOT_DARK = join(ROOT, 'test-results', 'status-dark.png');

interface Serve {
  readonly url: string;
  readonly token: string;
  readonly profileDir: string;
  readonly daemon: Daemon;
  readonly bridgeFile: string;
  /** SIGTERM by PID, SIGKILL after a grace period, then remove the temp dir. Idempotent. */
  stop(): Promise<void>;
}

/** Start the real CLI on a free loopback port with a fresh profile; resolve when bridge.json is there. */
async function startServe(): Promise<Serve> {
  const tmp = await makeTempDir('e2e');
  // A passphrase-vault profile: no keychain is needed in the browser tests.
  const profile = makeVaultProfile(join(tmp.path, 'e2e-clinic'), 'an e2e profile passphrase');
  const running = await serveProfile(tmp, profile, {
    timeoutMs: 15_000,
    stopGraceMs: 5000,
    // Keep all output: the tests check that the token never appears in it.
    keepBytes: 4 * 1024 * 1024,
  });
  try {
    const { url, token } = bridgeOf(running, 'profile');
    const { daemon } = running;
    // The printed line names the address (without the token) once the bridge listens.
    await waitUntil(() => daemon.stdoutText().includes(url), {
      daemon,
      timeoutMs: 5000,
      what: 'the address on stdout',
    });
    const bridgeFile = join(profile.dir, 'bridge.json');
    return { url, token, profileDir: profile.dir, daemon, bridgeFile, stop: () => running.stop() };
  } catch (error) {
    await running.stop();
    throw error;
  }
}

function expectTokenNotInOutput(serve: Serve): void {
  const output = serve.daemon.output();
  expect(output.length, 'the CLI printed something').toBeGreaterThan(0);
  expect(output.includes(serve.token), 'the token appears in the CLI output').toBe(false);
}

/** `status` over the bridge's HTTP API from Node, with the token and no Origin (like curl). */
async function statusFromNode(serve: Serve): Promise<Status> {
  const { status, answer } = await postBridge(serve, 'status', {});
  expect(status).toBe(200);
  if (!answer.ok) throw new Error(`status failed: ${answer.error.code}`);
  return StatusSchema.parse(answer.result);
}

test.describe('the mail window against `sealpost serve`', () => {
  let serve: Serve | undefined;

  test.beforeAll(async () => {
    serve = await startServe();
  });

  test.afterAll(async () => {
    await serve?.stop();
  });

  function running(): Serve {
    if (serve === undefined) throw new Error('sealpost serve did not start (see beforeAll)');
    return serve;
  }

  test('bridge.json is private to its owner and names a loopback address', async () => {
    const hisp = running();
    const info = await stat(hisp.bridgeFile);
    expect((info.mode & 0o777).toString(8)).toBe('600');
    expect(new URL(hisp.url).hostname).toBe('127.0.0.1');
  });

  test('opened from the printed address, it shows the live HISP status and drops the token from the URL', async ({
    page,
  }) => {
    const hisp = running();
    const problems = collectProblems(page, { warnings: true });
    const requested = collectRequestUrls(page);

    await page.goto(`${hisp.url}#token=${hisp.token}`);

    const state = page.getByTestId('hisp-state');
    await expect(state).toHaveText('Ready');
    await expect(state).toHaveAttribute('role', 'status');
    await expect(state).toHaveAttribute('aria-live', 'polite');
    await expect(page.getByRole('main')).toBeVisible();
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('HISP status');

    const status = await statusFromNode(hisp);
    expect(status.state).toBe('ready');
    await expect(page.getByTestId('hisp-product')).toHaveText('Sealpost');
    await expect(page.getByTestId('hisp-version')).toHaveText(status.version);
    await expect(page.getByTestId('hisp-mode')).toHaveText('Server');
    await expect(page.getByTestId('hisp-profile')).toHaveText(status.profile.name);
    expect(status.profile.name).toBe(basename(hisp.profileDir));
    await expect(page.getByTestId('hisp-uptime')).toHaveText(/^\d+ (s|min|h|d)\b/);
    expect(status.components.length).toBeGreaterThan(0);
    for (const component of status.components) {
      await expect(page.getByTestId(`component-${component.name}`)).toContainText(component.name);
      await expect(page.getByTestId(`component-${component.name}`)).toHaveAttribute(
        'data-state',
        component.state,
      );
    }

    // The token left the address bar and this history entry; the tab keeps it for reloads.
    expect(page.url()).toBe(hisp.url);
    expect(page.url()).not.toContain(hisp.token);
    expect(await page.evaluate(() => window.location.hash)).toBe('');
    expect(await page.evaluate(() => window.sessionStorage.getItem('sealpost.bridgeToken'))).toBe(
      hisp.token,
    );
    // It never travelled in a URL (the WebSocket carries it in a subprotocol header instead).
    expect(requested.length).toBeGreaterThan(0);
    for (const url of requested) expect(url).not.toContain(hisp.token);
    expect(requested).toContain(`${hisp.url.replace(/^http:/, 'ws:')}api/ws`);
    // No CSP violations or script errors (the page's CSP allows 'self' only, ws included).
    expect(problems).toEqual([]);

    await page.screenshot({ path: STATUS_SCREENSHOT, fullPage: true });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: STATUS_SCREENSHOT_DARK, fullPage: true });

    expectTokenNotInOutput(hisp);
  });

  test('a reload reconnects with the token the tab kept, still without it in the URL', async ({
    page,
  }) => {
    const hisp = running();
    await page.goto(`${hisp.url}#token=${hisp.token}`);
    await expect(page.getByTestId('hisp-state')).toHaveText('Ready');
    await page.reload();
    await expect(page.getByTestId('hisp-state')).toHaveText('Ready');
    expect(page.url()).toBe(hisp.url);
  });

  test('opened without the token, it says to use the printed address and shows no status', async ({
    page,
  }) => {
    const hisp = running();
    const sockets: string[] = [];
    page.on('websocket', (socket) => sockets.push(socket.url()));

    await page.goto(hisp.url);

    await expect(page.getByTestId('no-token')).toBeVisible();
    await expect(
      page.getByRole('heading', { name: 'Open Sealpost from the address it printed' }),
    ).toBeVisible();
    await expect(page.getByTestId('no-token')).toContainText('sealpost serve');
    await expect(page.getByTestId('hisp-state')).toHaveCount(0);
    await expect(page.getByTestId('hisp-status')).toHaveCount(0);
    expect(sockets).toEqual([]);
  });

  test('pasting the printed address into a tab that says it is missing connects without a reload', async ({
    page,
  }) => {
    const hisp = running();
    await page.goto(hisp.url);
    await expect(page.getByTestId('no-token')).toBeVisible();
    // Same document, new fragment: the browser fires hashchange instead of loading the page.
    await page.goto(`${hisp.url}#token=${hisp.token}`);
    await expect(page.getByTestId('hisp-state')).toHaveText('Ready');
    await expect(page.getByTestId('no-token')).toHaveCount(0);
    expect(page.url()).toBe(hisp.url);
  });

  test('a malformed token is refused before use and removed from the URL', async ({ page }) => {
    const hisp = running();
    await page.goto(`${hisp.url}#token=${hisp.token.slice(0, 20)}`);
    await expect(page.getByTestId('no-token')).toHaveAttribute('data-problem', 'malformed');
    await expect(page.getByTestId('hisp-state')).toHaveCount(0);
    expect(page.url()).toBe(hisp.url);
  });

  test('a well-formed but wrong token is refused by the bridge and explained', async ({ page }) => {
    const hisp = running();
    const wrong = hisp.token.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    await page.goto(`${hisp.url}#token=${wrong}`);
    const error = page.getByTestId('connection-error');
    await expect(error).toBeVisible();
    await expect(page.getByTestId('connection-error-code')).toHaveText('CHANNEL_CLOSED');
    await expect(page.getByTestId('connection-error-message')).toContainText(
      'Could not connect to the Sealpost HISP',
    );
    await expect(page.getByTestId('hisp-state')).toHaveCount(0);
    expect(page.url()).toBe(hisp.url);
  });

  test('the HTTP API wants the token and the page’s own origin', async ({ page }) => {
    const hisp = running();
    // The real origin, without the token: the no-token page is enough to run fetch from.
    await page.goto(hisp.url);
    await expect(page.getByTestId('no-token')).toBeVisible();

    const call = (token: string | null): Promise<{ status: number; body: unknown }> =>
      page.evaluate(async (bearer) => {
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (bearer !== null) headers['authorization'] = `Bearer ${bearer}`;
        const response = await fetch('/api/call/status', { method: 'POST', headers, body: '{}' });
        return { status: response.status, body: (await response.json()) as unknown };
      }, token);

    const withoutToken = await call(null);
    expect(withoutToken.status).toBe(401);
    expect(CallAnswerSchema.parse(withoutToken.body)).toMatchObject({
      ok: false,
      error: { code: 'UNAUTHORIZED' },
    });

    const fromPage = await call(hisp.token);
    expect(fromPage.status).toBe(200);
    const answer = CallAnswerSchema.parse(fromPage.body);
    if (!answer.ok) throw new Error(`status failed: ${answer.error.code}`);
    expect(StatusSchema.parse(answer.result).state).toBe('ready');

    // Another web page in the same browser: the bridge must refuse it even with the token.
    const foreign = await fetch(new URL('api/call/status', hisp.url), {
      method: 'POST',
      headers: {
        authorization: `Bearer ${hisp.token}`,
        'content-type': 'application/json',
        origin: 'http://evil.example',
      },
      body: '{}',
    });
    expect(foreign.status).toBe(403);
    expect(CallAnswerSchema.parse(await foreign.json())).toMatchObject({
      ok: false,
      error: { code: 'FORBIDDEN_ORIGIN' },
    });

    expectTokenNotInOutput(hisp);
  });
});

test.describe('when the HISP stops', () => {
  let serve: Serve | undefined;

  test.afterAll(async () => {
    await serve?.stop();
  });

  test('the page says the connection was lost, in plain language with its code', async ({
    page,
  }) => {
    serve = await startServe();
    const hisp = serve;
    await page.goto(`${hisp.url}#token=${hisp.token}`);
    await expect(page.getByTestId('hisp-state')).toHaveText('Ready');

    await hisp.daemon.stop(5000); // SIGTERM: serve stops the HISP and closes the bridge
    expect(hisp.daemon.exitInfo()).toEqual({ code: 0, signal: null });
    await expect(stat(hisp.bridgeFile), 'serve removes bridge.json when it stops').rejects.toThrow(
      /ENOENT/,
    );

    await expect(page.getByTestId('connection-lost')).toBeVisible();
    await expect(page.getByTestId('connection-lost-code')).toHaveText('CHANNEL_CLOSED');
    await expect(page.getByTestId('hisp-state')).toHaveText('Disconnected');
    await expect(page.getByRole('button', { name: 'Reload' })).toBeVisible();
    await page.screenshot({ path: join(ROOT, 'test-results', 'status-lost.png'), fullPage: true });

    expectTokenNotInOutput(hisp);
  });
});
