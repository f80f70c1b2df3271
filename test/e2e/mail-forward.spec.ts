/**
 * Forwarding with attachments, between the demo's two practices in Chromium: A sends B a
 * message with two files; B forwards it (Ctrl+Shift+F) and the compose window holds both
 * originals, counted against the compose budget; B removes one and sends; A receives the
 * forward with the other, byte for byte. B's audit log says what happened: each original read
 * for the forward is 'attachment-forward' (never 'attachment-save': nothing was saved), and the
 * forward itself is a 'send' to A.
 */
import { readFile } from 'node:fs/promises';

import { expect, test } from '@playwright/test';

import {
  A_ADDRESS,
  B_ADDRESS,
  callBridge,
  openMail,
  rowWithSubject,
  unique,
  withDemo,
} from './support.js';

interface AuditAnswer {
  readonly entries: readonly { readonly action: string; readonly counterpart?: string }[];
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
    const note = Buffer.from('first file bytes\n', 'utf8');
    const scan = Buffer.alloc(300_000, 7);

    await pageA.keyboard.press('Control+n');
    await pageA.keyboard.type(B_ADDRESS);
    await pageA.keyboard.press('Enter');
    await pageA.getByTestId('compose-subject').fill(subject);
    await pageA.getByTestId('compose-body').fill('Two files.');
    await pageA.getByTestId('compose-file-input').setInputFiles([
      { name: 'note.txt', mimeType: 'text/plain', buffer: note },
      { name: 'scan.bin', mimeType: 'application/octet-stream', buffer: scan },
    ]);
    await expect(pageA.getByTestId('compose-attachment')).toHaveCount(2);
    await pageA.keyboard.press('Control+Enter');
    await expect(pageA.getByTestId('compose')).toHaveCount(0);

    await expect(rowWithSubject(pageB, subject)).toHaveCount(1, { timeout: 30_000 });
    await rowWithSubject(pageB, subject).click();
    await expect(pageB.getByTestId('reading-pane').getByTestId('attachment')).toHaveCount(2);
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
    expect(await readFile(await download.path())).toEqual(scan);

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
});
