/**
 * Forwarding with attachments, between the demo's two practices in Chromium: A sends B a
 * message with two files; B forwards it (Ctrl+Shift+F) and the compose window holds both
 * originals, counted against the compose budget; B removes one and sends; A receives the
 * forward with the other, byte for byte. B's audit log says what happened: each original read
 * for the forward is 'attachment-forward' (never 'attachment-save': nothing was saved), and the
 * forward itself is a 'send' to A. And a forward closed before its attachments have arrived
 * (B's calls for them held back on the WebSocket) stays open until they are in, then closes
 * and keeps them, with what was typed, in the draft.
 */
import { readFile } from 'node:fs/promises';

import { expect, test, type Browser, type Page } from '@playwright/test';

import {
  A_ADDRESS,
  B_ADDRESS,
  callBridge,
  openMail,
  rowWithSubject,
  unique,
  withDemo,
  type BridgeFile,
} from './support.js';

interface DraftsAnswer {
  readonly drafts: readonly { readonly id: unknown; readonly subject: string }[];
}

interface DraftAnswer {
  readonly text: string;
  readonly attachments: readonly { readonly filename: string; readonly dataBase64: string }[];
}

interface AuditAnswer {
  readonly entries: readonly { readonly action: string; readonly counterpart?: string }[];
}

const NOTE = Buffer.from('first file bytes\n', 'utf8');
const SCAN = Buffer.alloc(300_000, 7);

/** A sends B a message carrying note.txt and scan.bin; B has it open when this returns. */
async function sendTwoFiles(pageA: Page, pageB: Page, subject: string): Promise<void> {
  await pageA.keyboard.press('Control+n');
  await pageA.keyboard.type(B_ADDRESS);
  await pageA.keyboard.press('Enter');
  await pageA.getByTestId('compose-subject').fill(subject);
  await pageA.getByTestId('compose-body').fill('Two files.');
  await pageA.getByTestId('compose-file-input').setInputFiles([
    { name: 'note.txt', mimeType: 'text/plain', buffer: NOTE },
    { name: 'scan.bin', mimeType: 'application/octet-stream', buffer: SCAN },
  ]);
  await expect(pageA.getByTestId('compose-attachment')).toHaveCount(2);
  await pageA.keyboard.press('Control+Enter');
  await expect(pageA.getByTestId('compose')).toHaveCount(0);

  await expect(rowWithSubject(pageB, subject)).toHaveCount(1, { timeout: 30_000 });
  await rowWithSubject(pageB, subject).click();
  await expect(pageB.getByTestId('reading-pane').getByTestId('attachment')).toHaveCount(2);
}

/**
 * B's mail window with its WebSocket to the HISP passing through the test: the window's
 * `getAttachment` calls are held back until `release()`, so the compose window can be closed
 * while a forward's attachments are still on their way (the HISP answers them in a few ms).
 */
async function openMailHoldingAttachments(
  browser: Browser,
  bridge: Pick<BridgeFile, 'url' | 'token'>,
): Promise<{ page: Page; held: () => number; release: () => void }> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  let holding = true;
  const held: Array<() => void> = [];
  await context.routeWebSocket(/.*/, (ws) => {
    const server = ws.connectToServer();
    ws.onMessage((message) => {
      if (holding && typeof message === 'string' && message.includes('"getAttachment"'))
        held.push(() => server.send(message));
      else server.send(message);
    });
    server.onMessage((message) => ws.send(message));
  });
  const page = await context.newPage();
  await page.goto(`${bridge.url}#token=${bridge.token}`);
  await expect(page.getByTestId('list-title')).toHaveText('Inbox');
  return {
    page,
    held: () => held.length,
    release: () => {
      holding = false;
      for (const send of held.splice(0)) send();
    },
  };
}

test.describe('forwarding a message with its attachments (sealpost demo)', () => {
  const practice = withDemo('e2e-forward');

  test('the forward carries the originals; one removed stays behind; the audit says forward, not save', async ({
    browser,
  }) => {
    const a = practice('a');
    const b = practice('b');
    const pageA = await openMail(browser, a);
    const pageB = await openMail(browser, b);
    const subject = unique('Lab results with scans');
    await sendTwoFiles(pageA, pageB, subject);
    const before = (await callBridge(b, 'auditLog', { limit: 500 })) as AuditAnswer;

    await pageB.locator('body').press('Control+Shift+F');
    const compose = pageB.getByTestId('compose');
    await expect(compose).toBeVisible();
    await expect(pageB.getByTestId('compose-forwarding')).toHaveCount(0, { timeout: 20_000 });
    const attached = compose.getByTestId('compose-attachment');
    await expect(attached).toHaveCount(2);
    await expect(attached.nth(0)).toContainText('note.txt');
    await expect(attached.nth(1)).toContainText('scan.bin');
    await expect(pageB.getByTestId('attachment-budget')).toContainText('of 20 MB');

    await pageB.getByRole('button', { name: 'Remove note.txt' }).click();
    await expect(attached).toHaveCount(1);
    await pageB.getByTestId('compose-to-input').focus();
    await pageB.keyboard.type(A_ADDRESS);
    await pageB.keyboard.press('Enter');
    await expect(
      compose.getByTestId('recipient-chip').filter({ hasText: A_ADDRESS }),
    ).toHaveAttribute('data-state', 'found');
    await pageB.keyboard.press('Control+Enter');
    await expect(compose).toHaveCount(0);

    const forwarded = rowWithSubject(pageA, `Fwd: ${subject}`);
    await expect(forwarded).toHaveCount(1, { timeout: 30_000 });
    await forwarded.click();
    const received = pageA.getByTestId('reading-pane').getByTestId('attachment');
    await expect(received).toHaveCount(1);
    const [download] = await Promise.all([
      pageA.waitForEvent('download'),
      received.getByRole('button', { name: 'Save scan.bin' }).click(),
    ]);
    expect(await readFile(await download.path())).toEqual(SCAN);

    const after = (await callBridge(b, 'auditLog', { limit: 500 })) as AuditAnswer;
    const added = after.entries.slice(before.entries.length).map((entry) => entry.action);
    expect(added.filter((action) => action === 'attachment-forward').length).toBeGreaterThanOrEqual(
      2,
    );
    expect(added).not.toContain('attachment-save');
    expect(
      after.entries
        .slice(before.entries.length)
        .some((entry) => entry.action === 'send' && entry.counterpart === A_ADDRESS),
    ).toBe(true);
  });

  test('closing a forward before its attachments are in waits for them, so the draft keeps them', async ({
    browser,
  }) => {
    const a = practice('a');
    const b = practice('b');
    const pageA = await openMail(browser, a);
    const holdingB = await openMailHoldingAttachments(browser, b);
    const pageB = holdingB.page;
    const subject = unique('Scans to pass on');
    await sendTwoFiles(pageA, pageB, subject);

    await pageB.locator('body').press('Control+Shift+F');
    const compose = pageB.getByTestId('compose');
    await expect(compose).toBeVisible();
    await expect(pageB.getByTestId('compose-forwarding')).toContainText('note.txt');
    await expect.poll(holdingB.held).toBe(1); // the first original asked for, not answered
    const typed = unique('Please review before Monday');
    await pageB.getByTestId('compose-body').press('Control+Home');
    await pageB.keyboard.type(`${typed}\n`);
    await pageB.getByRole('button', { name: 'Close (the draft is kept)' }).click();

    // Still open, saying why; nothing is saved without the originals.
    await expect(pageB.getByTestId('compose-forwarding')).toContainText(
      'The window closes once they are in the draft.',
    );
    await expect(compose).toBeVisible();
    const titles = async (): Promise<string[]> =>
      ((await callBridge(b, 'listDrafts', {})) as DraftsAnswer).drafts.map((d) => d.subject);
    expect(await titles()).not.toContain(`Fwd: ${subject}`);

    holdingB.release();
    await expect(compose).toHaveCount(0, { timeout: 20_000 });
    const { drafts } = (await callBridge(b, 'listDrafts', {})) as DraftsAnswer;
    const summary = drafts.find((d) => d.subject === `Fwd: ${subject}`);
    expect(summary, 'the forward was kept as a draft').toBeDefined();
    const draft = (await callBridge(b, 'getDraft', { id: summary?.id })) as DraftAnswer;
    expect(draft.text).toContain(typed);
    expect(draft.attachments.map((f) => f.filename)).toEqual(['note.txt', 'scan.bin']);
    expect(Buffer.from(draft.attachments[1]?.dataBase64 ?? '', 'base64')).toEqual(SCAN);
  });
});
