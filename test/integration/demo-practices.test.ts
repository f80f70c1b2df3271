/**
 * The two-practice demo end to end, in process: each practice is a full HISP (profile, mail
 * service, bridge) and everything goes through the practices' bridges, as their mail windows
 * would: A's `sendMessage` → B's inbox holds the message, which opens decrypted and trusted →
 * A's delivery tracking and its `delivery` event show B's processed (and dispatched) MDN —
 * through the real DNS responder, discovery, the security agent, A's relay worker and B's
 * inbound SMTP, and back. And the built `sealpost demo` as a browser test starts it: both
 * practices' bridge.json files, both UIs served, both HISPs answering; and `--smoke`.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeliveryEvent, HispClient, MailboxEvent } from '../../hisp/api/index.js';
import { startDemoPractices, type RunningDemo } from '../../hisp/demo/practices.js';
import type { RunningPractice } from '../../hisp/demo/practices.js';
import { createLogger } from '../../hisp/log/logger.js';
import { looksLikeSmime } from '../../hisp/relay/smtpServer.js';
import {
  openMailWindow,
  pollUntil,
  readBridgeFile,
  type BridgeFile,
} from '../services/practices.js';
import { emptyStore, fillStore } from '../services/storeFull.js';
import { makeTempDir, type TempDir } from '../services/tmp.js';

let tmp: TempDir;
let demo: RunningDemo;
const clients: HispClient[] = [];
const logLines: string[] = [];

beforeAll(async () => {
  tmp = await makeTempDir('demo-practices');
  demo = await startDemoPractices({
    dir: tmp.path,
    // No built UI needed here: the bridges explain how to build it.
    root: tmp.path,
    logger: createLogger({ level: 'info', sink: (line) => logLines.push(line) }),
    throwaway: true,
  });
}, 60_000);

afterAll(async () => {
  for (const client of clients) client.close();
  await demo?.stop();
  await tmp?.remove();
});

/** A mail window's connection to a practice's bridge (closed after all tests). */
async function connect(practice: RunningPractice): Promise<HispClient> {
  const client = await openMailWindow(practice.running);
  clients.push(client);
  return client;
}

/** pollUntil with the demo's log lines on a timeout. */
const until = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs?: number) =>
  pollUntil(what, probe, () => logLines.slice(-30).join('\n'), timeoutMs);

describe('two practices on loopback, each a HISP with its own bridge', () => {
  it('each practice’s HISP answers on its own bridge, in demo mode, with its mail running', async () => {
    const [a, b] = demo.practices;
    expect(a.running.bridge.port).not.toBe(b.running.bridge.port);
    expect(a.smtpPort).not.toBe(b.smtpPort);
    for (const practice of demo.practices) {
      const status = await (await connect(practice)).call('status', {});
      expect(status).toMatchObject({
        state: 'ready',
        mode: 'demo',
        profile: { name: `${practice.spec.label} (${practice.spec.address})`, throwaway: true },
      });
      const byName = new Map(status.components.map((c) => [c.name, c]));
      expect(byName.get('relay')).toMatchObject({ state: 'ok' });
      expect(byName.get('relay')?.detail).toContain(
        `smarthost localhost:${practice === a ? b.smtpPort : a.smtpPort}`,
      );
      expect(byName.get('inbound')).toMatchObject({ state: 'ok' });
      expect(byName.get('inbound')?.detail).toContain(
        `SMTP on 127.0.0.1:${practice.smtpPort} for ${practice.spec.domain}`,
      );
      expect(byName.get('discovery')?.detail).toContain(`DNS 127.0.0.1:${demo.dns.port}`);
      const { identities } = await (await connect(practice)).call('identities', {});
      expect(identities.map((identity) => identity.address)).toContain(practice.spec.address);
    }
  });

  it('risk-15 A writes to B through A’s contract: B holds it decrypted and trusted, A has B’s processed and dispatched MDNs; only ciphertext travels', async () => {
    const [a, b] = demo.practices;
    const [clientA, clientB] = [await connect(a), await connect(b)];
    const deliveries: DeliveryEvent[] = [];
    clientA.on('delivery', (event) => deliveries.push(event));
    const arrivals: MailboxEvent[] = [];
    clientB.on('mailbox', (event) => arrivals.push(event));

    const sent = await clientA.call('sendMessage', {
      from: a.spec.address,
      to: [b.spec.address],
      subject: 'Referral: J. Doe',
      text: 'Please see J. Doe next week.',
    });
    expect(sent.recipients.map((r) => [r.address, r.state])).toEqual([[b.spec.address, 'queued']]);
    const id = sent.id ?? -1;

    const received = await until('the message in B’s inbox', async () =>
      (await clientB.call('listMessages', { folder: 'inbox' })).messages.find(
        (m) => m.subject === 'Referral: J. Doe',
      ),
    );
    expect(received.trusted).toBe(true);
    // B's mail window was told (the `mailbox` event), with the Inbox count.
    const told = await until('the mailbox event at B’s mail window', () =>
      Promise.resolve(arrivals.find((e) => e.arrived.some((m) => m.id === received.id))),
    );
    expect(told.arrived).toContainEqual(
      expect.objectContaining({ folder: 'inbox', subject: 'Referral: J. Doe' }),
    );
    expect(told.folders.find((f) => f.folder === 'inbox')?.total).toBeGreaterThan(0);
    const opened = await clientB.call('openMessage', { id: received.id });
    expect(opened.decrypted).toBe(true);
    expect(opened.verification).toMatchObject({ trusted: true, signer: a.spec.address });
    // The demo PKI has no CRL or OCSP: revocation is off there, not "could not be checked".
    expect(opened.verification.reasons.map((reason) => reason.code)).toEqual([]);
    expect(opened.text).toContain('Please see J. Doe next week.');

    const tracked = await until('B’s dispatched MDN at A', async () => {
      const { recipients } = await clientA.call('messageDelivery', { id });
      return recipients.length > 0 && recipients.every((r) => r.notification === 'dispatched')
        ? recipients
        : undefined;
    });
    expect(tracked.map((r) => [r.recipient, r.queue, r.notification])).toEqual([
      [b.spec.address, 'relayed', 'dispatched'],
    ]);
    const events = await until('the delivery events at A’s mail window', () =>
      Promise.resolve(deliveries.some((e) => e.state === 'dispatched') ? deliveries : undefined),
    );
    expect(events.map((e) => [e.id, e.recipient, e.state])).toEqual([
      [id, b.spec.address, 'processed'],
      [id, b.spec.address, 'dispatched'],
    ]);
    const sentFolder = await clientA.call('listMessages', { folder: 'sent' });
    expect(sentFolder.messages.map((m) => m.id)).toContain(id);

    // risk-15: what left A and what B keeps are S/MIME enveloped data, never the text.
    const stores = [a.mail.parts().store, b.mail.parts().store] as const;
    for (const bytes of [stores[0].ciphertext(id), stores[1].ciphertext(received.id)]) {
      expect(looksLikeSmime(bytes)).toBe(true);
      expect(bytes.includes('Please see J. Doe')).toBe(false);
      expect(bytes.includes('Referral: J. Doe')).toBe(false);
    }
  });

  it('a recipient with no published certificate is refused on its own, and nothing is sent to it', async () => {
    const [a, b] = demo.practices;
    const sent = await (
      await connect(a)
    ).call('sendMessage', {
      from: a.spec.address,
      to: [b.spec.address, 'nobody@practice-b.test'],
      subject: 'Two recipients',
      text: 'x',
    });
    expect(sent.recipients.map((r) => [r.address, r.state, r.check.state])).toEqual([
      [b.spec.address, 'queued', 'found'],
      ['nobody@practice-b.test', 'refused', 'not-found'],
    ]);
    expect(
      a.mail
        .parts()
        .store.queueFor(sent.id ?? -1)
        .map((row) => row.recipient),
    ).toEqual([b.spec.address]);
  });

  it('a full disk loses nothing: B answers 452 and A keeps the message waiting until there is room; A sending with its own disk full is STORE_FULL and stores nothing', async () => {
    const [a, b] = demo.practices;
    const [clientA, clientB] = [await connect(a), await connect(b)];
    // The fault made by SQLite itself (storeFull.ts); a message of ~300 KB needs new pages.
    const text = `Imaging report follows.\n${'Finding: no acute abnormality. '.repeat(10_000)}`;

    fillStore(b.profile);
    let id: number;
    try {
      const sent = await clientA.call('sendMessage', {
        from: a.spec.address,
        to: [b.spec.address],
        subject: 'Sent while B is full',
        text,
      });
      id = sent.id ?? -1;
      const waiting = await until('A’s retrying step after B’s 452', async () => {
        const [recipient] = (await clientA.call('messageDelivery', { id })).recipients;
        return recipient?.steps.find((step) => step.state === 'retrying');
      });
      expect(waiting.reason?.message).toContain('452');
      const inbox = await clientB.call('listMessages', { folder: 'inbox' });
      expect(inbox.messages.map((m) => m.subject)).not.toContain('Sent while B is full');
    } finally {
      emptyStore(b.profile);
    }
    // Room again. The waiting row is made due now (as saving relay settings does) and A's next
    // send wakes its relay, which takes both.
    a.mail.parts().store.retryWaitingNow();
    await clientA.call('sendMessage', {
      from: a.spec.address,
      to: [b.spec.address],
      subject: 'After B has room',
      text: 'x',
    });
    const arrived = await until('the waiting message in B’s inbox', async () =>
      (await clientB.call('listMessages', { folder: 'inbox' })).messages.find(
        (m) => m.subject === 'Sent while B is full',
      ),
    );
    expect((await clientB.call('openMessage', { id: arrived.id })).text).toBe(text);

    // A's own disk full: the send is refused with STORE_FULL, and nothing was stored or queued.
    const sentBefore = (await clientA.call('listMessages', { folder: 'sent' })).messages.length;
    fillStore(a.profile);
    try {
      const refused = await clientA
        .call('sendMessage', {
          from: a.spec.address,
          to: [b.spec.address],
          subject: 'No room',
          text,
        })
        .then(
          () => 'sent',
          (error: unknown) => (error as { code?: string }).code,
        );
      expect(refused).toBe('STORE_FULL');
    } finally {
      emptyStore(a.profile);
    }
    const sentAfter = await clientA.call('listMessages', { folder: 'sent' });
    expect(sentAfter.messages.length).toBe(sentBefore);
    expect(sentAfter.messages.map((m) => m.subject)).not.toContain('No room');
  });

  it('a second demo in the same directory is refused: the profiles exist', async () => {
    await expect(
      startDemoPractices({
        dir: tmp.path,
        root: tmp.path,
        logger: createLogger({ level: 'error', sink: () => undefined }),
        throwaway: true,
      }),
    ).rejects.toMatchObject({ code: 'PROFILE_EXISTS' });
    // The running demo is untouched.
    const status = await (await connect(demo.practices[0])).call('status', {});
    expect(status.state).toBe('ready');
  });
});

describe('the built `sealpost demo`', () => {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const bin = join(root, 'bin', 'sealpost.js');

  beforeAll(() => {
    if (
      !existsSync(join(root, 'dist', 'hisp', 'cli.js')) ||
      !existsSync(join(root, 'dist', 'renderer', 'index.html'))
    ) {
      throw new Error('dist/ is not built: run `npm run build` first (npm test does)');
    }
  });

  function run(args: readonly string[]) {
    const child = spawn(process.execPath, [bin, 'demo', ...args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: string[] = [];
    const err: string[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk.toString('utf8')));
    const exit = new Promise<number | null>((resolveExit) => child.once('exit', resolveExit));
    return { child, exit, out: () => out.join(''), err: () => err.join('') };
  }

  it('--browser --data-dir DIR writes each practice’s bridge.json; both UIs and HISPs answer; stopping removes them', async () => {
    const dir = join(tmp.path, 'browser-demo');
    const demoRun = run(['--browser', '--data-dir', dir]);
    try {
      const practices = ['practice-a', 'practice-b'].map((name) => join(dir, name));
      const files = practices.map((practice) => join(practice, 'bridge.json'));
      const bridges = await pollUntil(
        'both bridge.json files',
        async () => {
          const read = await Promise.all(practices.map(readBridgeFile));
          return read.every((entry): entry is BridgeFile => entry !== undefined) ? read : undefined;
        },
        () => `${demoRun.out()}\n${demoRun.err().slice(-3000)}`,
        20_000,
      );
      expect(new Set(bridges.map((b) => b.url)).size).toBe(2);
      for (const [index, bridge] of bridges.entries()) {
        expect(Object.keys(bridge).sort()).toEqual(['pid', 'token', 'url']);
        expect(bridge.pid).toBe(demoRun.child.pid);
        expect(bridge.token).toMatch(/^[0-9a-f]{64}$/);
        expect((await stat(files[index] ?? '')).mode & 0o777).toBe(0o600);
        const page = await fetch(bridge.url);
        expect(page.status).toBe(200);
        expect(await page.text()).toContain('<div id="root">');
        const response = await fetch(new URL('/api/call/status', bridge.url), {
          method: 'POST',
          headers: { authorization: `Bearer ${bridge.token}`, 'content-type': 'application/json' },
          body: '{}',
        });
        const status = (await response.json()) as {
          ok: boolean;
          result?: { state: string; mode: string; profile: { name: string } };
        };
        expect(status.result).toMatchObject({ state: 'ready', mode: 'demo' });
        expect(status.result?.profile.name).toContain(index === 0 ? 'Practice A' : 'Practice B');
      }
      // Both UI addresses, labelled, with their tokens.
      const out = demoRun.out();
      expect(out).toMatch(
        new RegExp(
          `Practice A \\(dr\\.adams@practice-a\\.test\\):\\n\\s+${bridges[0]?.url ?? 'x'}#token=${bridges[0]?.token ?? 'x'}`,
        ),
      );
      expect(out).toMatch(
        new RegExp(
          `Practice B \\(dr\\.baker@practice-b\\.test\\):\\n\\s+${bridges[1]?.url ?? 'x'}#token=${bridges[1]?.token ?? 'x'}`,
        ),
      );
      demoRun.child.kill('SIGTERM');
      expect(await demoRun.exit).toBe(0);
      for (const file of files) expect(existsSync(file)).toBe(false);
      expect(existsSync(join(dir, 'practice-a', 'profile.json'))).toBe(true);
    } finally {
      demoRun.child.kill('SIGKILL');
    }
  }, 60_000);

  it('--smoke checks both practices and the exchange, and exits 0 within seconds', async () => {
    const started = Date.now();
    const smoke = run(['--smoke']);
    expect(await smoke.exit, smoke.err()).toBe(0);
    expect(Date.now() - started).toBeLessThan(15_000);
    const out = smoke.out();
    for (const label of ['Practice A', 'Practice B']) {
      expect(out).toMatch(
        new RegExp(`${label}: UI served, and its HISP answered through the contract: .*ready`),
      );
    }
    expect(out).toContain('holds it decrypted and trusted (signer dr.adams@practice-a.test)');
    expect(out).toMatch(
      /A has B's delivery notification: dr\.baker@practice-b\.test (processed|dispatched)/,
    );
    expect(out).toMatch(/^smoke: OK/m);
  }, 30_000);
});
