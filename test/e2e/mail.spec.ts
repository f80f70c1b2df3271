/**
 * The three-pane mail window against two real HISPs: `node bin/sealpost.js demo --browser
 * --data-dir DIR` runs practices A (dr.adams@practice-a.test) and B
 * (dr.baker@practice-b.test), each a full HISP with its own bridge serving the built UI and
 * a DNS responder publishing their certificates. Each practice's UI is opened in Chromium
 * from its bridge.json (`${url}#token=${token}`); nothing is mocked.
 *
 * Covers: A writes to B (live certificate check, send, B's Inbox count rising by the
 * `mailbox` event, the decrypted text and the trust banner, A's delivery timeline); an
 * address with no certificate refused while composing; the main flow keyboard-only; an
 * axe-core scan of the main screens; screenshots for the README (docs/screenshots).
 *
 * Needs the CLI and the UI built (`npm run build`, or `node scripts/build.mjs hisp renderer`).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { expect, test } from '@playwright/test';
import type { Page } from '@playwright/test';

import {
  A_ADDRESS,
  B_ADDRESS,
  callBridge,
  collectProblems,
  openMail,
  ROOT,
  rowWithSubject,
  seriousViolations,
  unique,
  withDemo,
} from './support.js';
import type { BridgeFile } from './support.js';

const SCREENSHOTS = join(ROOT, 'docs', 'screenshots');

/** A domain the demo's DNS responder publishes nothing for. */
const NOWHERE = 'someone@nowhere.test';
/** An address in B's domain that has no certificate. */
const NO_CERTIFICATE = 'nobody@practice-b.test';

async function unreadIn(page: Page, folder: string): Promise<number> {
  const value = await page.getByTestId(`folder-${folder}`).getAttribute('data-unread');
  return Number(value ?? '0');
}

/** Light and dark screenshots of the page as it is, for the README. */
async function screenshots(page: Page, name: string): Promise<void> {
  await page.emulateMedia({ colorScheme: 'light' });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}-light.png`) });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}-dark.png`) });
  await page.emulateMedia({ colorScheme: 'light' });
}

test.describe('the mail window between two practices (sealpost demo)', () => {
  test.describe.configure({ mode: 'serial', timeout: 120_000 });

  const practice = withDemo('e2e-mail');

  function running(): { a: BridgeFile; b: BridgeFile } {
    return { a: practice('a'), b: practice('b') };
  }

  test('A writes to B: found while composing, decrypted and trusted in B’s Inbox, processed then dispatched in A’s Sent', async ({
    browser,
  }) => {
    const { a, b } = running();
    const pageA = await openMail(browser, a);
    const pageB = await openMail(browser, b);
    const problemsA = collectProblems(pageA);
    const problemsB = collectProblems(pageB);
    const subject = unique('Referral for J. Smith');
    const body = `Dear Dr. Baker,\nplease see J. Smith next week.\n${subject}`;

    const unreadBefore = await unreadIn(pageB, 'inbox');

    // A composes: the live check says B has a usable certificate.
    await pageA.getByTestId('new-message').click();
    const compose = pageA.getByTestId('compose');
    await expect(compose).toBeVisible();
    await expect(pageA.getByTestId('compose-from')).toHaveValue(A_ADDRESS);
    await pageA.getByTestId('compose-to-input').fill(B_ADDRESS);
    await pageA.getByTestId('compose-to-input').press('Enter');
    const chip = compose.getByTestId('recipient-chip').filter({ hasText: B_ADDRESS });
    await expect(chip).toHaveAttribute('data-state', 'found');
    await expect(chip.getByTestId('recipient-state')).toHaveText('found');
    await pageA.getByTestId('compose-subject').fill(subject);
    await pageA.getByTestId('compose-body').fill(body);
    expect(await seriousViolations(pageA)).toEqual([]);
    await screenshots(pageA, 'compose');
    await pageA.getByTestId('compose-send').click();
    await expect(compose).toHaveCount(0);
    await expect(pageA.getByTestId('announcer')).toContainText(`Message sent to ${B_ADDRESS}`);

    // B: the Inbox count rises by the mailbox event (no reload) and the message is listed.
    await expect
      .poll(() => unreadIn(pageB, 'inbox'), { timeout: 30_000 })
      .toBeGreaterThan(unreadBefore);
    // The polite live region tells a screen reader user that mail arrived.
    await expect(pageB.getByTestId('announcer')).toContainText(`New message from ${A_ADDRESS}`);
    const row = rowWithSubject(pageB, subject);
    await expect(row).toHaveCount(1);
    await expect(row).toHaveAttribute('data-unread', 'true');
    await expect(row).toContainText(A_ADDRESS);
    await row.click();
    const reading = pageB.getByTestId('reading-pane');
    await expect(reading.getByTestId('message-subject')).toHaveText(subject);
    await expect(reading.getByTestId('message-from')).toContainText(A_ADDRESS);
    await expect(reading.locator('.message-body')).toContainText('please see J. Smith next week.');
    const banner = reading.getByTestId('trust-banner');
    await expect(banner).toHaveAttribute('data-trusted', 'true');
    await expect(banner.getByTestId('trust-headline')).toContainText(`Signed by ${A_ADDRESS}`);
    await expect(banner.getByTestId('trust-headline')).toContainText('verified to');
    // Opening marked it read.
    await expect(row).not.toHaveAttribute('data-unread', 'true');
    await expect.poll(() => unreadIn(pageB, 'inbox')).toBe(unreadBefore);

    // B's screen for the README and the accessibility scan.
    expect(await seriousViolations(pageB)).toEqual([]);
    await screenshots(pageB, 'inbox');

    // A's Sent: the timeline for B reaches processed, then dispatched (live, by the event).
    await pageA.getByTestId('folder-sent').click();
    await expect(pageA.getByTestId('list-title')).toHaveText('Sent');
    const sentRow = rowWithSubject(pageA, subject);
    await expect(sentRow).toHaveCount(1);
    await sentRow.click();
    const timeline = pageA.getByTestId('delivery-timeline');
    const forB = timeline.getByTestId('delivery-recipient').filter({ hasText: B_ADDRESS });
    await expect(forB).toHaveAttribute('data-state', 'dispatched', { timeout: 30_000 });
    const states = await forB
      .getByTestId('delivery-step')
      .evaluateAll((steps) => steps.map((s) => s.getAttribute('data-state')));
    expect(states).toContain('processed');
    expect(states).toContain('dispatched');
    expect(states.indexOf('processed')).toBeLessThan(states.indexOf('dispatched'));
    await expect(sentRow.getByTestId('row-delivery')).toHaveText('Delivered');

    expect(await seriousViolations(pageA)).toEqual([]);
    await screenshots(pageA, 'sent');

    expect(problemsA).toEqual([]);
    expect(problemsB).toEqual([]);
    await pageA.context().close();
    await pageB.context().close();
  });

  test('A writes to an address with no certificate: not found while composing, and Send is refused with the reason', async ({
    browser,
  }) => {
    const { a } = running();
    const pageA = await openMail(browser, a);
    const subject = unique('No certificate');

    await pageA.getByTestId('new-message').click();
    const compose = pageA.getByTestId('compose');
    // In B's domain, but B's HISP publishes no certificate for this address.
    await pageA.getByTestId('compose-to-input').fill(NO_CERTIFICATE);
    await pageA.getByTestId('compose-to-input').press('Enter');
    const chip = compose.getByTestId('recipient-chip').filter({ hasText: NO_CERTIFICATE });
    await expect(chip).toHaveAttribute('data-state', 'not-found', { timeout: 20_000 });
    await expect(chip.getByTestId('recipient-state')).toHaveText('not found');
    const problems = pageA.getByTestId('compose-to-problems');
    await expect(problems).toContainText(`${NO_CERTIFICATE} will not receive this message`);
    await expect(problems).toContainText('No certificate is published for this address');
    await expect(problems).toContainText('Ask the recipient for their Direct address');
    await expect(pageA.getByTestId('compose-blocked')).toContainText('No recipient can receive');

    await pageA.getByTestId('compose-subject').fill(subject);
    await pageA.getByTestId('compose-body').fill('This must not leave.');
    expect(await seriousViolations(pageA)).toEqual([]);
    await screenshots(pageA, 'compose-not-found');

    await pageA.getByTestId('compose-send').click();
    await expect(pageA.getByTestId('compose-problem')).toContainText(
      'This recipient cannot receive Direct mail from you',
    );
    await expect(compose).toBeVisible();

    // A domain nobody serves: the lookup cannot succeed, which is explained, and Send refused.
    await pageA.getByRole('button', { name: `Remove ${NO_CERTIFICATE}` }).click();
    await pageA.getByTestId('compose-to-input').fill(NOWHERE);
    await pageA.getByTestId('compose-to-input').press('Enter');
    const nowhere = compose.getByTestId('recipient-chip').filter({ hasText: NOWHERE });
    await expect(nowhere).not.toHaveAttribute('data-state', 'checking', { timeout: 20_000 });
    const state = await nowhere.getAttribute('data-state');
    // The demo's DNS responder refuses zones it does not serve (the lookup fails); a resolver
    // answering NXDOMAIN makes it "not found". Either way the reason is shown and nothing sent.
    expect(['not-found', 'failed']).toContain(state);
    await expect(problems).toContainText(
      state === 'failed'
        ? 'The certificate lookup failed'
        : 'No certificate is published for this address',
    );
    await pageA.getByTestId('compose-send').click();
    await expect(pageA.getByTestId('compose-problem')).toContainText(
      'This recipient cannot receive Direct mail from you',
    );

    // Nothing was sent: no such message in Sent or the Outbox.
    await pageA.getByRole('button', { name: 'Discard' }).click();
    await expect(compose).toHaveCount(0);
    for (const folder of ['sent', 'outbox']) {
      await pageA.getByTestId(`folder-${folder}`).click();
      await expect(pageA.getByTestId('list-title')).not.toHaveText('Inbox');
      await expect(rowWithSubject(pageA, subject)).toHaveCount(0);
    }
    await pageA.context().close();
  });

  test('the main flow keyboard-only: Ctrl+N, typing, Tab, Ctrl+Enter; arrows, Enter and Delete in B’s Inbox', async ({
    browser,
  }) => {
    const { a, b } = running();
    const pageA = await openMail(browser, a);
    const pageB = await openMail(browser, b);
    const subject = unique('Keyboard');

    // A: write and send without the mouse.
    await pageA.locator('body').press('Control+n');
    const compose = pageA.getByTestId('compose');
    await expect(compose).toBeVisible();
    await expect(pageA.getByTestId('compose-to-input')).toBeFocused();
    await pageA.keyboard.type(B_ADDRESS);
    await pageA.keyboard.press('Tab'); // the address becomes a chip; focus moves on
    await expect(
      compose.getByTestId('recipient-chip').filter({ hasText: B_ADDRESS }),
    ).toHaveAttribute('data-state', 'found');
    // Tab to the Subject field: past the chip's remove button and the Cc field.
    for (let i = 0; i < 8; i += 1) {
      if (
        await pageA.getByTestId('compose-subject').evaluate((el) => el === document.activeElement)
      )
        break;
      await pageA.keyboard.press('Tab');
    }
    await expect(pageA.getByTestId('compose-subject')).toBeFocused();
    await pageA.keyboard.type(subject);
    await pageA.keyboard.press('Tab');
    await expect(pageA.getByTestId('compose-body')).toBeFocused();
    await pageA.keyboard.type('Typed without a mouse.');
    await pageA.keyboard.press('Control+Enter');
    await expect(compose).toHaveCount(0);
    await expect(pageA.getByTestId('announcer')).toContainText('Message sent');

    // B: Tab to the message list, Home to the newest, Enter opens, Delete trashes.
    await expect(rowWithSubject(pageB, subject)).toHaveCount(1, { timeout: 30_000 });
    const list = pageB.getByTestId('message-list');
    for (let i = 0; i < 20; i += 1) {
      if (await list.evaluate((el) => el === document.activeElement)) break;
      await pageB.keyboard.press('Tab');
    }
    await expect(list).toBeFocused();
    await pageB.keyboard.press('End');
    await pageB.keyboard.press('Home');
    const row = rowWithSubject(pageB, subject);
    await expect(row).toHaveAttribute('aria-selected', 'true');
    await pageB.keyboard.press('ArrowDown');
    await pageB.keyboard.press('ArrowUp');
    await expect(row).toHaveAttribute('aria-selected', 'true');
    await pageB.keyboard.press('Enter');
    const heading = pageB.getByTestId('reading-pane').getByTestId('message-subject');
    await expect(heading).toHaveText(subject);
    await expect(heading).toBeFocused();
    await expect(pageB.getByTestId('reading-pane').locator('.message-body')).toContainText(
      'Typed without a mouse.',
    );
    await pageB.keyboard.press('Delete');
    await expect(pageB.getByTestId('announcer')).toContainText('moved to Trash');
    await expect(rowWithSubject(pageB, subject)).toHaveCount(0);

    // It is in Trash now (reached with the keyboard: Tab to the folder, Enter).
    const trash = pageB.getByTestId('folder-trash');
    await trash.focus();
    await pageB.keyboard.press('Enter');
    await expect(pageB.getByTestId('list-title')).toHaveText('Trash');
    await expect(rowWithSubject(pageB, subject)).toHaveCount(1);

    await pageA.context().close();
    await pageB.context().close();
  });
  test('attachments by picker and drop, a draft kept and reopened, search, reply (Ctrl+R) and forward (Ctrl+Shift+F)', async ({
    browser,
  }) => {
    const { a, b } = running();
    const pageA = await openMail(browser, a);
    const pageB = await openMail(browser, b);
    const token = unique('Labs');
    const subject = `Lab results ${token}`;
    const fileBytes = Buffer.from(`Potassium 4.1 mmol/L\n${token}\n`, 'utf8');

    // A starts a message with an attachment, closes it: it is kept in Drafts.
    await pageA.keyboard.press('Control+n');
    const compose = pageA.getByTestId('compose');
    await pageA.keyboard.type(B_ADDRESS);
    await pageA.keyboard.press('Enter');
    await pageA.getByTestId('compose-subject').fill(subject);
    await pageA.getByTestId('compose-body').fill(`Results attached. ${token}`);
    await pageA.getByTestId('compose-file-input').setInputFiles({
      name: 'results.txt',
      mimeType: 'text/plain',
      buffer: fileBytes,
    });
    await expect(compose.getByTestId('compose-attachment')).toContainText('results.txt');
    await expect(pageA.getByTestId('attachment-budget')).toContainText(`of 20 MB`);
    // A file dropped on the window is attached too.
    const dropped = await pageA.evaluateHandle(() => {
      const transfer = new DataTransfer();
      transfer.items.add(new File(['dropped note'], 'dropped.txt', { type: 'text/plain' }));
      return transfer;
    });
    await compose.dispatchEvent('drop', { dataTransfer: dropped });
    await expect(compose.getByTestId('compose-attachment')).toHaveCount(2);
    await expect(compose.getByTestId('compose-attachment').nth(1)).toContainText('dropped.txt');
    await pageA.getByRole('button', { name: 'Remove dropped.txt' }).click();
    // More than one message can carry is refused with the reason, and nothing is added.
    await pageA.getByTestId('compose-file-input').setInputFiles({
      name: 'scan.bin',
      mimeType: 'application/octet-stream',
      buffer: Buffer.alloc(21 * 1024 * 1024, 1),
    });
    await expect(pageA.getByTestId('compose-problem')).toContainText('scan.bin');
    await expect(pageA.getByTestId('compose-problem')).toContainText('was not added');
    await expect(compose.getByTestId('compose-attachment')).toHaveCount(1);
    await expect(pageA.getByTestId('draft-status')).toContainText('Draft saved', {
      timeout: 10_000,
    });
    await pageA.getByRole('button', { name: 'Close (the draft is kept)' }).click();
    await expect(compose).toHaveCount(0);

    await pageA.getByTestId('folder-drafts').click();
    const draft = pageA.getByTestId('draft-row').filter({ hasText: subject });
    await expect(draft).toHaveCount(1);
    expect(await seriousViolations(pageA)).toEqual([]);
    await draft.click();
    await expect(compose).toBeVisible();
    await expect(pageA.getByTestId('compose-subject')).toHaveValue(subject);
    await expect(compose.getByTestId('compose-attachment')).toContainText('results.txt');
    await expect(
      compose.getByTestId('recipient-chip').filter({ hasText: B_ADDRESS }),
    ).toHaveAttribute('data-state', 'found');
    await pageA.keyboard.press('Control+Enter');
    await expect(compose).toHaveCount(0);
    // Sending removed the draft.
    await expect(pageA.getByTestId('draft-row').filter({ hasText: subject })).toHaveCount(0);

    // B finds it by searching the encrypted index, opens it and saves the attachment.
    await expect(rowWithSubject(pageB, subject)).toHaveCount(1, { timeout: 30_000 });
    await pageB.keyboard.press('Control+e');
    await expect(pageB.getByTestId('search-input')).toBeFocused();
    await pageB.keyboard.type(token);
    await pageB.keyboard.press('Enter');
    await expect(pageB.getByTestId('list-title')).toContainText('Search results');
    const found = rowWithSubject(pageB, subject);
    await expect(found).toHaveCount(1);
    await found.click();
    const attachment = pageB.getByTestId('reading-pane').getByTestId('attachment');
    await expect(attachment).toContainText('results.txt');
    const [download] = await Promise.all([
      pageB.waitForEvent('download'),
      attachment.getByRole('button', { name: 'Save results.txt' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('results.txt');
    const saved = await download.path();
    expect(await readFile(saved)).toEqual(fileBytes);

    // Ctrl+R answers it: To is A, the subject says Re:, the text is ready to type in.
    await pageB.locator('body').press('Control+r');
    const reply = pageB.getByTestId('compose');
    await expect(reply).toBeVisible();
    await expect(
      reply.getByTestId('recipient-chip').filter({ hasText: A_ADDRESS }),
    ).toHaveAttribute('data-state', 'found');
    await expect(pageB.getByTestId('compose-subject')).toHaveValue(`Re: ${subject}`);
    await expect(pageB.getByTestId('compose-body')).toBeFocused();
    await pageB.keyboard.type('Thank you.');
    await pageB.keyboard.press('Control+Enter');
    await expect(reply).toHaveCount(0);
    await expect(rowWithSubject(pageA, `Re: ${subject}`)).toHaveCount(0); // A is in Drafts
    await pageA.getByTestId('folder-inbox').click();
    await expect(rowWithSubject(pageA, `Re: ${subject}`)).toHaveCount(1, { timeout: 30_000 });

    // Ctrl+Shift+F forwards: no recipient yet, the subject says Fwd:, the text is quoted.
    await pageB.locator('body').press('Control+Shift+F');
    const forward = pageB.getByTestId('compose');
    await expect(forward).toBeVisible();
    await expect(pageB.getByTestId('compose-subject')).toHaveValue(`Fwd: ${subject}`);
    await expect(pageB.getByTestId('compose-body')).toHaveValue(/Forwarded message/);
    await expect(pageB.getByTestId('compose-to-input')).toBeFocused();
    await pageB.getByRole('button', { name: 'Discard' }).click();
    await expect(forward).toHaveCount(0);

    // F3 also goes to search.
    await pageA.locator('body').press('F3');
    await expect(pageA.getByTestId('search-input')).toBeFocused();

    await pageA.context().close();
    await pageB.context().close();
  });
  test('the status page stays one click away in the mail window, and a folder leads back', async ({
    browser,
  }) => {
    const { a } = running();
    const pageA = await openMail(browser, a);
    await pageA.getByTestId('show-status').click();
    await expect(pageA.getByRole('heading', { level: 1 })).toHaveText('HISP status');
    await expect(pageA.getByTestId('hisp-state')).toHaveText('Ready');
    await expect(pageA.getByTestId('hisp-mode')).toHaveText('Demo');
    await expect(pageA.getByTestId('show-status')).toHaveAttribute('aria-pressed', 'true');
    expect(await seriousViolations(pageA)).toEqual([]);
    await pageA.getByTestId('folder-inbox').click();
    await expect(pageA.getByTestId('list-title')).toHaveText('Inbox');
    await pageA.context().close();
  });
  test('multi-select with Ctrl and Shift, then mark unread, flag and archive from the toolbar', async ({
    browser,
  }) => {
    const { a, b } = running();
    const batch = unique('Toolbar');
    const subjects = [`${batch} one`, `${batch} two`, `${batch} three`];
    for (const subject of subjects) {
      await callBridge(a, 'sendMessage', {
        from: A_ADDRESS,
        to: [B_ADDRESS],
        subject,
        text: subject,
      });
    }
    const pageB = await openMail(browser, b);
    const rows = subjects.map((subject) => rowWithSubject(pageB, subject));
    for (const row of rows) await expect(row).toHaveCount(1, { timeout: 30_000 });
    const [one, two, three] = rows as [(typeof rows)[0], (typeof rows)[0], (typeof rows)[0]];

    // Shift-click selects the range, Ctrl-click takes one out again.
    await three.click();
    await one.click({ modifiers: ['Shift'] });
    const toolbar = pageB.getByTestId('selection-toolbar');
    await expect(toolbar).toContainText('3 selected');
    await two.click({ modifiers: ['Control'] });
    await expect(toolbar).toContainText('2 selected');
    await expect(two).toHaveAttribute('aria-selected', 'false');
    await expect(one).toHaveAttribute('aria-selected', 'true');
    await expect(three).toHaveAttribute('aria-selected', 'true');
    await expect(pageB.getByTestId('reading-pane')).toContainText('2 messages selected');

    // One message: read on opening, then unread and flagged again from the toolbar.
    await two.click();
    await expect(two).not.toHaveAttribute('data-unread', 'true');
    const unread = await unreadIn(pageB, 'inbox');
    await toolbar.getByRole('button', { name: 'Mark unread' }).click();
    await expect(two).toHaveAttribute('data-unread', 'true');
    await expect.poll(() => unreadIn(pageB, 'inbox')).toBe(unread + 1);
    await toolbar.getByRole('button', { name: 'Flag' }).click();
    await expect(two.locator('.mark-flag')).toHaveCount(1);
    await expect(toolbar.getByRole('button', { name: 'Unflag' })).toBeVisible();

    // Archive moves it out of the Inbox.
    await toolbar.getByRole('button', { name: 'Archive' }).click();
    await expect(pageB.getByTestId('announcer')).toContainText('moved to Archive');
    await expect(rowWithSubject(pageB, subjects[1] ?? '')).toHaveCount(0);
    await pageB.getByTestId('folder-archive').click();
    await expect(rowWithSubject(pageB, subjects[1] ?? '')).toHaveCount(1);
    await pageB.context().close();
  });

  test('a long Inbox is fetched a page at a time: only the rows on screen exist, End reaches the oldest', async ({
    browser,
  }) => {
    const { a, b } = running();
    const batch = unique('Bulk');
    const count = 230; // more than two pages of the list (100 rows each)
    const inboxTotal = async (): Promise<number> => {
      const answer = (await callBridge(b, 'folders', {})) as {
        folders: { folder: string; total: number }[];
      };
      return answer.folders.find((f) => f.folder === 'inbox')?.total ?? 0;
    };
    const before = await inboxTotal();
    // Setup through A's contract, the way A's mail window sends: four at a time.
    await Promise.all(
      Array.from({ length: 4 }, async (_, worker) => {
        for (let i = worker; i < count; i += 4) {
          await callBridge(a, 'sendMessage', {
            from: A_ADDRESS,
            to: [B_ADDRESS],
            subject: `${batch} #${String(i).padStart(3, '0')}`,
            text: `Message ${i} of ${count}.`,
          });
        }
      }),
    );
    await expect.poll(inboxTotal, { timeout: 60_000 }).toBe(before + count);
    const pageB = await openMail(browser, b);
    const list = pageB.getByTestId('message-list');
    const total = before + count;
    await expect(list).toHaveAttribute('data-total', String(total));

    // Virtualized: a screenful of rows in the DOM, not the whole folder.
    const rendered = await pageB.getByRole('option').count();
    expect(rendered).toBeGreaterThan(5);
    expect(rendered).toBeLessThan(60);

    // Keyboard to the end: the oldest message (page 3) is fetched, shown and selected.
    await list.focus();
    await pageB.keyboard.press('Home');
    await pageB.keyboard.press('End');
    const last = pageB.locator(`#row-${total - 1}`);
    await expect(last).toHaveAttribute('aria-selected', 'true');
    await expect(last).toHaveAttribute('aria-posinset', String(total));
    await expect(last).toHaveAttribute('data-testid', 'message-row');
    await expect(pageB.getByTestId('reading-pane').getByTestId('message-subject')).toHaveText(
      (await last.locator('.row-subject').textContent()) ?? '',
    );
    // The newest of the batch is back at the top with Home.
    await pageB.keyboard.press('Home');
    await expect(pageB.locator('#row-0')).toHaveAttribute('aria-selected', 'true');
    await expect(pageB.locator('#row-0 .row-subject')).toContainText(batch);
    await pageB.context().close();
  });
});
