/**
 * Relay kind "mx" end to end through the built command (`node bin/sealpost.js serve --config`):
 * our DNS responder publishes CERT, MX and A records for two practice domains (every mail host
 * on 127.0.0.1); practice B and practice A are two `serve` processes, each with inbound SMTP
 * and `"relay": {"mx": {"port": N}}` (the other's inbound port: MX records carry no port). A
 * sends through its bridge (`sendMessage`, as the mail window does); the MX lookup goes to
 * the configured DNS server (the .test names exist nowhere else, and the responder's log shows
 * the queries); B holds the message decrypted and trusted; A gets B's processed notification.
 *
 * risk-3: an MX host that offers no STARTTLS is not used — nothing of the message reaches it —
 * unless its domain is listed in "exceptions". The MX hosts' certificates come from the test
 * anchor, which the `serve` processes trust through NODE_EXTRA_CA_CERTS (as a lab would).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeliveryEvent } from '../../hisp/api/index.js';
import type { DnsResponder } from '../../hisp/certs/hosting/dnsResponder.js';
import { createLogger } from '../../hisp/log/logger.js';
import { looksLikeSmime } from '../../hisp/relay/smtpServer.js';
import { freePort, LOOPBACK } from '../services/ports.js';
import {
  bridgeResult,
  createPracticePki,
  initPracticeProfiles,
  openMailWindow,
  pollUntil,
  startLoopbackDns,
  TWO_PRACTICES,
  type PkiFiles,
} from '../services/practices.js';
import {
  killServeProcesses,
  requireBuiltCli,
  spawnServe,
  type ServeProcess,
} from '../services/serveProcess.js';
import { makeTempDir, type TempDir } from '../services/tmp.js';

const PASS = 'serve mx test passphrase';
const PRACTICES = TWO_PRACTICES;

let tmp: TempDir;
let dns: DnsResponder;
const dnsLog: string[] = [];
let files: PkiFiles;

beforeAll(async () => {
  requireBuiltCli();
  tmp = await makeTempDir('serve-mx');
  const pki = await createPracticePki(tmp.path, {
    anchorName: 'Serve MX Test Anchor',
    practices: PRACTICES,
    // Both practices' MX hosts: the relay checks the certificate against the MX host's name.
    tls: {
      commonName: 'mail.practice-b.test',
      dnsNames: PRACTICES.map((p) => `mail.${p.domain}`),
    },
  });
  files = pki.files;
  dns = await startLoopbackDns(
    pki.practices.map((practice) => ({
      domain: practice.domain,
      certificates: [practice.cert],
      mx: [{ preference: 10, exchange: `mail.${practice.domain}` }],
      hosts: { [`mail.${practice.domain}`]: { a: [LOOPBACK] } },
    })),
    createLogger({ level: 'debug', sink: (line) => dnsLog.push(line) }),
  );
  await initPracticeProfiles(tmp.path, pki, PASS);
}, 60_000);

afterAll(async () => {
  killServeProcesses();
  await dns?.close();
  await tmp?.remove();
});

type Served = ServeProcess;

/** `node bin/sealpost.js serve` for a practice with this config; resolves once bridge.json is there. */
async function serve(index: 0 | 1, config: unknown): Promise<Served> {
  const dir = join(tmp.path, PRACTICES[index].name);
  const configFile = join(tmp.path, `${PRACTICES[index].name}-${Date.now()}.json`);
  await writeFile(configFile, JSON.stringify(config, null, 2));
  return spawnServe(dir, ['--pass', 'env:PASS', '--config', configFile], {
    PASS,
    NODE_EXTRA_CA_CERTS: files.anchor,
  });
}

interface StatusResult {
  components: { name: string; state: string; detail?: string }[];
}

const relayOf = async (served: Served) =>
  (await bridgeResult<StatusResult>(served, 'status', {})).components.find(
    (c) => c.name === 'relay',
  );

const configOf = (inboundPort: number, relay: object) => ({
  inbound: {
    listen: `${LOOPBACK}:${inboundPort}`,
    tlsCert: files.tlsCert,
    tlsKey: files.tlsKey,
  },
  relay: { mx: relay },
  dns: [`${LOOPBACK}:${dns.port}`],
});

describe('sealpost serve --config with relay "mx"', () => {
  it('A sends through its bridge; the MX found through the configured DNS takes it over STARTTLS; B holds it trusted; A gets B’s processed MDN', async () => {
    const [portA, portB] = [await freePort(), await freePort()];
    const b = await serve(1, configOf(portB, { port: portA }));
    let a: Served | undefined;
    try {
      a = await serve(0, configOf(portA, { port: portB }));
      const both = () => `${a?.err().slice(-3000) ?? ''}\n${b.err().slice(-3000)}`;
      expect(await relayOf(a)).toMatchObject({ state: 'ok' });
      expect((await relayOf(a))?.detail).toContain('direct to MX');

      // The mail window's view: delivery events on A's WebSocket.
      const events = await openMailWindow(a);
      const deliveries: DeliveryEvent[] = [];
      events.on('delivery', (event) => deliveries.push(event));

      const queriesBefore = dnsLog.length;
      const sent = await bridgeResult<{
        id: number;
        recipients: { address: string; state: string }[];
      }>(a, 'sendMessage', {
        from: PRACTICES[0].address,
        to: [PRACTICES[1].address],
        subject: 'Over MX: J. Doe',
        text: 'Found through DNS, carried over STARTTLS.',
      });
      expect(sent.recipients).toEqual([
        expect.objectContaining({ address: PRACTICES[1].address, state: 'queued' }),
      ]);

      const received = await pollUntil(
        'the message in B’s inbox',
        async () =>
          (
            await bridgeResult<{ messages: { id: number; subject: string; trusted: boolean }[] }>(
              b,
              'listMessages',
              { folder: 'inbox' },
            )
          ).messages.find((m) => m.subject === 'Over MX: J. Doe'),
        both,
      );
      expect(received.trusted).toBe(true);
      const opened = await bridgeResult<{
        decrypted: boolean;
        text?: string;
        verification: { trusted: boolean; signer?: string };
      }>(b, 'openMessage', { id: received.id });
      expect(opened).toMatchObject({
        decrypted: true,
        verification: { trusted: true, signer: PRACTICES[0].address },
      });
      expect(opened.text).toContain('carried over STARTTLS');

      const event = await pollUntil(
        'B’s processed notification at A’s mail window',
        () =>
          Promise.resolve(
            deliveries.find((e) => e.id === sent.id && e.recipient === PRACTICES[1].address),
          ),
        both,
      );
      expect(['processed', 'dispatched']).toContain(event.state);
      const delivery = await bridgeResult<{
        recipients: { recipient: string; queue?: string; notification?: string }[];
      }>(a, 'messageDelivery', { id: sent.id });
      expect(delivery.recipients).toEqual([
        expect.objectContaining({ recipient: PRACTICES[1].address, queue: 'relayed' }),
      ]);
      expect(['processed', 'dispatched']).toContain(delivery.recipients[0]?.notification);
      events.close();

      // The MX lookups went to the configured server: it answered A's MX query for B's domain
      // and the address of B's mail host (and B's for A, for the notification).
      const queries = dnsLog
        .slice(queriesBefore)
        .map((line) => JSON.parse(line) as { msg: string; name?: string; type?: string });
      const asked = (name: string, type: string) =>
        queries.some((q) => q.msg === 'dns query' && q.name === name && q.type === type);
      expect(asked('practice-b.test', 'MX')).toBe(true);
      expect(asked('mail.practice-b.test', 'A')).toBe(true);
      expect(asked('practice-a.test', 'MX')).toBe(true);
    } finally {
      expect(await a?.stop()).toBe(0);
      expect(await b.stop()).toBe(0);
    }
  }, 90_000);

  it('risk-3 an MX host without STARTTLS is not used, unless its domain is an exception', async () => {
    // A plaintext-only mail host: it records what reaches it.
    const seen = { sessions: 0, mailFrom: 0, messages: [] as Buffer[] };
    const plain = new SMTPServer({
      secure: false,
      hideSTARTTLS: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      authOptional: true,
      logger: false,
      onConnect(_session, callback) {
        seen.sessions += 1;
        callback();
      },
      onMailFrom(_address, _session, callback) {
        seen.mailFrom += 1;
        callback();
      },
      onData(stream, _session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          seen.messages.push(Buffer.concat(chunks));
          callback();
        });
      },
    });
    const plainPort = await freePort();
    await new Promise<void>((resolveListen, reject) => {
      plain.once('error', reject);
      plain.listen(plainPort, LOOPBACK, () => resolveListen());
    });
    try {
      const portA = await freePort();
      const send = (served: Served, subject: string) =>
        bridgeResult<{ id: number }>(served, 'sendMessage', {
          from: PRACTICES[0].address,
          to: [PRACTICES[1].address],
          subject,
          text: 'Plaintext transport test.',
        });

      // TLS required (the default): the host is contacted, found without STARTTLS, and left
      // before MAIL FROM; the message stays queued with the reason.
      const strict = await serve(0, configOf(portA, { port: plainPort }));
      try {
        await send(strict, 'Needs TLS');
        const relay = await pollUntil(
          'the relay to report the missing STARTTLS',
          async () => {
            const status = await relayOf(strict);
            return status?.detail?.includes('RELAY_TLS_REQUIRED') === true ? status : undefined;
          },
          () => strict.err().slice(-3000),
        );
        expect(relay.state).toBe('degraded');
        expect(relay.detail).toMatch(/[1-9]\d* queued/);
        expect(seen.sessions).toBeGreaterThan(0);
        expect(seen.mailFrom).toBe(0);
        expect(seen.messages).toHaveLength(0);
      } finally {
        expect(await strict.stop()).toBe(0);
      }

      // practice-b.test listed in "exceptions": the plaintext host is used — and what it gets
      // is still the S/MIME message, never the text (risk-15).
      const relaxed = await serve(
        0,
        configOf(portA, { port: plainPort, exceptions: ['practice-b.test'] }),
      );
      try {
        await send(relaxed, 'Exception: plaintext allowed');
        const [bytes] = await pollUntil(
          'the message at the plaintext host',
          () => Promise.resolve(seen.messages.length > 0 ? seen.messages : undefined),
          () => relaxed.err().slice(-3000),
        );
        expect(looksLikeSmime(bytes ?? Buffer.alloc(0))).toBe(true);
        expect(bytes?.includes('Plaintext transport test.')).toBe(false);
        expect(bytes?.includes('Exception: plaintext allowed')).toBe(false);
      } finally {
        expect(await relaxed.stop()).toBe(0);
      }
    } finally {
      await new Promise<void>((resolveClose) => plain.close(() => resolveClose()));
    }
  }, 90_000);
});
