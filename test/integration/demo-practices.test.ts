/**
 * The two-practice demo end to end, in process: A writes to B; B holds it decrypted and
 * trusted; A gets B's processed (and dispatched) MDN back — through the real DNS responder,
 * discovery, the security agent, each practice's relay worker and the other's inbound SMTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoPractices, type RunningDemo } from '../../hisp/demo/practices.js';
import { createLogger } from '../../hisp/log/logger.js';
import { looksLikeSmime } from '../../hisp/relay/smtpServer.js';
import { makeTempDir, type TempDir } from '../services/tmp.js';

let tmp: TempDir;
let demo: RunningDemo;
const logLines: string[] = [];

beforeAll(async () => {
  tmp = await makeTempDir('demo-practices');
  demo = await startDemoPractices(
    tmp.path,
    createLogger({ level: 'info', sink: (line) => logLines.push(line) }),
  );
}, 60_000);

afterAll(async () => {
  await demo?.stop();
  await tmp?.remove();
});

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}\n${logLines.slice(-30).join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('two practices on loopback', () => {
  it('risk-15 A writes to B: B holds it decrypted and trusted, A has B’s processed and dispatched MDNs; only ciphertext travels', async () => {
    const [a, b] = demo.practices;
    const sent = await a.agent.send({
      from: a.spec.address,
      to: [b.spec.address],
      subject: 'Referral: J. Doe',
      text: 'Please see J. Doe next week.',
    });
    expect(sent.recipients.map((r) => [r.address, r.state])).toEqual([[b.spec.address, 'queued']]);
    const id = sent.id ?? -1;

    const received = await until('the message in B’s inbox', () =>
      b.store.list('inbox').find((row) => row.subject === 'Referral: J. Doe'),
    );
    expect(received.trusted).toBe(true);
    const opened = await b.store.open(received.id, b.agent.opener(b.spec.domain));
    expect(opened.verification.trusted).toBe(true);
    expect(opened.text).toContain('Please see J. Doe next week.');

    const tracked = await until('B’s dispatched MDN at A', () => {
      const rows = a.store.mdnFor(id);
      return rows.every((row) => row.state === 'dispatched') && rows.length > 0 ? rows : undefined;
    });
    expect(tracked.map((row) => [row.recipient, row.state])).toEqual([
      [b.spec.address, 'dispatched'],
    ]);
    expect(a.store.list('sent').map((row) => row.id)).toContain(id);

    // risk-15: what left A and what B keeps are S/MIME enveloped data, never the text.
    for (const bytes of [a.store.ciphertext(id), b.store.ciphertext(received.id)]) {
      expect(looksLikeSmime(bytes)).toBe(true);
      expect(bytes.includes('Please see J. Doe')).toBe(false);
      expect(bytes.includes('Referral: J. Doe')).toBe(false);
    }
  });

  it('a recipient with no published certificate is refused on its own, and nothing is sent to it', async () => {
    const [a, b] = demo.practices;
    const sent = await a.agent.send({
      from: a.spec.address,
      to: [b.spec.address, 'nobody@practice-b.test'],
      subject: 'Two recipients',
      text: 'x',
    });
    expect(sent.recipients.map((r) => [r.address, r.state, r.check.state])).toEqual([
      [b.spec.address, 'queued', 'found'],
      ['nobody@practice-b.test', 'refused', 'not-found'],
    ]);
    expect(a.store.queueFor(sent.id ?? -1).map((row) => row.recipient)).toEqual([b.spec.address]);
  });
});
