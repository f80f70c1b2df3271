/**
 * `sealpost demo`: two Direct practices on this computer, each a full HISP built the way
 * `sealpost serve` builds one (hisp/demo/practices.ts), with its own loopback bridge and mail
 * UI. A writes to B through A's API contract, as A's mail window would; then the two UI
 * addresses are printed and each practice's bridge.json written, or (--smoke) the scenario of
 * DESIGN.md §8 is checked and the command exits.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import WebSocket from 'ws';
import {
  BEARER_PROTOCOL_PREFIX,
  HispClient,
  HispError,
  WIRE_PROTOCOL,
  WebSocketTransport,
  type Status,
} from '../api/index.js';
import { findElectronBinary } from '../host/electronBinary.js';
import { writeBridgeFile } from '../host/headless.js';
import type { RunningDemo, RunningPractice } from '../demo/practices.js';
import { createLogger } from '../log/logger.js';
import { BRIDGE_FILE } from '../store/profile.js';
import { parseCommandArgs } from './args.js';
import { makeDirectoryFor } from './files.js';
import type { CliIo } from './io.js';

export const DEMO_HELP = `Usage: sealpost demo [--smoke] [--browser] [--data-dir DIR] [--subject TEXT] [--body TEXT]

Run two Direct practices on this computer — A (dr.adams@practice-a.test) and B
(dr.baker@practice-b.test), each a HISP like 'sealpost serve' runs: its own profile, Direct
certificate under one demo trust anchor, inbound SMTP endpoint and loopback bridge with
the mail UI — and a DNS responder publishing their certificates and mail hosts. A writes
to B; then the mail UI of both practices is ready.

Browser mode prints both UI addresses (Practice A and Practice B) and writes
DIR/practice-a/bridge.json and DIR/practice-b/bridge.json (mode 600, {"url", "token",
"pid"}, as 'sealpost serve' does). Where an Electron binary is installed (and without
--browser), the desktop app opens instead: one window, with a profile of its own, not the
practices' mail; use --browser to see both practices.

Options:
  --smoke          headless: A sends one message to B through A's API contract; exit 0
                   only when B holds it decrypted and trusted, A has B's processed MDN,
                   and both practices' UIs are served and their HISPs answer through the
                   contract
  --subject TEXT   the message's subject (default "Sealpost demo")
  --body TEXT      the message's body
  --browser        use browser mode even where Electron is installed
  --data-dir DIR   keep both profiles in DIR (DIR/practice-a, DIR/practice-b, which must
                   not exist yet) instead of a throwaway directory
  -h, --help       show this help
`;

export async function demoCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs('demo', args, {
    smoke: { type: 'boolean' },
    browser: { type: 'boolean' },
    'data-dir': { type: 'string' },
    subject: { type: 'string' },
    body: { type: 'string' },
  });
  const keep = values['data-dir'] !== undefined;
  const dataDir = keep
    ? resolve(values['data-dir'] ?? '')
    : await mkdtemp(join(tmpdir(), 'sealpost-demo-'));
  await makeDirectoryFor('demo', '--data-dir', dataDir);
  const logger = createLogger({
    level: values.smoke ? 'error' : 'info',
    sink: (line) => io.stderr(`${line}\n`),
    bindings: { process: 'sealpost-demo' },
  });

  io.stdout(`Profile: ${dataDir} (${keep ? 'kept' : 'throwaway, removed on exit'})\n`);
  try {
    const electron = findElectronBinary(io.root, io.env);
    if (!values.smoke && !values.browser && electron.found) {
      io.stdout('Starting the Sealpost desktop app…\n');
      return await runElectron(electron.path, io, dataDir);
    }
    const { startDemoPractices } = await import('../demo/practices.js');
    const demo = await startDemoPractices({
      dir: dataDir,
      root: io.root,
      logger,
      throwaway: !keep,
    });
    const clients: HispClient[] = [];
    const removals: (() => Promise<void>)[] = [];
    try {
      // Each practice's UI and HISP, checked the way the UI uses them.
      const statuses: Status[] = [];
      for (const practice of demo.practices) {
        const checked = await connect(practice, io);
        if (typeof checked === 'number') return checked;
        clients.push(checked.client);
        statuses.push(checked.status);
      }
      const exchanged = await exchange(
        demo,
        clients as [HispClient, HispClient],
        values.subject,
        values.body,
        io,
      );
      if (values.smoke) {
        if (exchanged !== 0) return exchanged;
        const [status] = statuses as [Status];
        io.stdout(
          `smoke: OK — UI served, and the UI's HISP answered through the contract: ${status.product} ${status.version}, ${statuses.map((s) => s.state).join(' and ')} (${demo.practices.map((p) => p.spec.label).join(' and ')}); ` +
            'B holds the message decrypted and trusted and A has B’s processed notification\n',
        );
        return 0;
      }
      for (const practice of demo.practices) {
        removals.push(
          await writeBridgeFile(join(practice.dir, BRIDGE_FILE), practice.running.bridge),
        );
      }
      io.stdout(
        `DNS 127.0.0.1:${demo.dns.port}; SMTP ${demo.practices.map((p) => `${p.spec.label} 127.0.0.1:${p.smtpPort}`).join(', ')}.\n`,
      );
      if (!values.browser && !electron.found) io.stdout(`Browser mode: ${electron.reason}.\n`);
      io.stdout(
        'Sealpost demo is running. Open these addresses in Chromium, Chrome, Edge or Firefox:\n\n' +
          demo.practices
            .map(
              (p) => `  ${p.spec.label} (${p.spec.address}):\n  ${p.running.bridge.uiAddress}\n\n`,
            )
            .join('') +
          'The part after # is the access token: browsers never send it to any server. Press Ctrl+C to stop.\n',
      );
      await io.stopSignal;
      return 0;
    } finally {
      for (const client of clients) client.close();
      for (const remove of removals) await remove();
      await demo.stop();
    }
  } finally {
    if (!keep) await rm(dataDir, { recursive: true, force: true });
  }
}

const DEMO_TIMEOUT_MS = 30_000;

/**
 * Checks what the UI relies on, the way the UI does it: the page, the WebSocket with the
 * token, the status greeting and a `status` call. The connected client, or 3 with why not.
 */
async function connect(
  practice: RunningPractice,
  io: CliIo,
): Promise<{ client: HispClient; status: Status } | number> {
  const { bridge } = practice.running;
  const { label } = practice.spec;
  const origin = bridge.url.replace(/\/$/, '');
  const page = await fetch(bridge.url);
  const html = await page.text();
  if (page.status !== 200 || !(page.headers.get('content-type') ?? '').startsWith('text/html')) {
    io.stderr(`demo: ${label}'s UI is not served (HTTP ${page.status}): ${html.trim()}\n`);
    return 3;
  }
  const socket = new WebSocket(
    `ws://127.0.0.1:${bridge.port}/api/ws`,
    [WIRE_PROTOCOL, BEARER_PROTOCOL_PREFIX + bridge.token],
    { headers: { origin } },
  );
  // As the UI does: listen before the socket opens (the HISP greets with a status event).
  const client = new HispClient(new WebSocketTransport(socket), { timeoutMs: 10_000 });
  const greeting = new Promise<string>((resolveGreeting) =>
    client.on('status', (s) => resolveGreeting(s.state)),
  );
  try {
    await new Promise<void>((resolveOpen, reject) => {
      socket.once('open', () => resolveOpen());
      socket.once('error', reject);
      socket.once('unexpected-response', (_req, res) =>
        reject(
          new HispError(
            'CHANNEL_CLOSED',
            `${label}'s bridge refused the WebSocket (HTTP ${res.statusCode}).`,
          ),
        ),
      );
    });
    if ((await greeting) !== 'ready') {
      io.stderr(`demo: ${label}'s HISP did not greet the connection with a ready status event\n`);
      client.close();
      return 3;
    }
    const status = await client.call('status', {});
    if (status.state !== 'ready') {
      io.stderr(`demo: ${label}'s HISP answered but is ${status.state}, not ready\n`);
      client.close();
      return 3;
    }
    io.stdout(
      `${label}: UI served, and its HISP answered through the contract: ${status.product} ${status.version}, ${status.state}, ` +
        `components ${status.components.map((c) => `${c.name}=${c.state}`).join(', ')}\n`,
    );
    return { client, status };
  } catch (error) {
    client.close();
    throw error;
  }
}

/**
 * A writes to B through A's contract (`sendMessage`, as A's mail window does), then waits,
 * through the contract too, until B's inbox holds the message and it opens decrypted and
 * trusted (`listMessages`, `openMessage`), and A's delivery tracking has B's processed
 * notification (`messageDelivery`). Returns 0, or 3 with what did not happen.
 */
async function exchange(
  demo: RunningDemo,
  [clientA, clientB]: readonly [HispClient, HispClient],
  subject: string | undefined,
  body: string | undefined,
  io: CliIo,
): Promise<number> {
  const [a, b] = demo.practices;
  const title = subject ?? 'Sealpost demo';
  const sent = await clientA.call('sendMessage', {
    from: a.spec.address,
    to: [b.spec.address],
    subject: title,
    text: body ?? 'Hello from Practice A. This message was signed and encrypted for Direct.',
  });
  if (sent.id === undefined) {
    const why = sent.recipients.map((r) => `${r.address}: ${r.check.state}`).join('; ');
    io.stderr(`demo: A could not send to B (${why})\n`);
    return 3;
  }
  const id = sent.id;
  io.stdout(`A (${a.spec.address}) sent "${title}" to ${b.spec.address}, signed and encrypted.\n`);
  const deadline = Date.now() + DEMO_TIMEOUT_MS;
  let received: number | undefined;
  let notified: string[] = [];
  while (Date.now() < deadline && (received === undefined || notified.length === 0)) {
    received ??= (await clientB.call('listMessages', { folder: 'inbox' })).messages.find(
      (m) => m.subject === title,
    )?.id;
    notified = (await clientA.call('messageDelivery', { id })).recipients
      .filter((r) => r.notification === 'processed' || r.notification === 'dispatched')
      .map((r) => `${r.recipient} ${r.notification ?? ''}`);
    if (received === undefined || notified.length === 0) {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  if (received === undefined) {
    io.stderr(`demo: B did not receive the message within ${DEMO_TIMEOUT_MS / 1000} s\n`);
    return 3;
  }
  const opened = await clientB.call('openMessage', { id: received });
  if (!opened.decrypted || !opened.verification.trusted) {
    io.stderr(
      `demo: B holds the message but it is not ${opened.decrypted ? 'trusted' : 'decrypted'}: ${opened.verification.reasons.map((r) => r.code).join(', ')}\n`,
    );
    return 3;
  }
  io.stdout(
    `B (${b.spec.address}) holds it decrypted and trusted (signer ${opened.verification.signer ?? '?'}).\n`,
  );
  if (notified.length === 0) {
    io.stderr(`demo: A has no processed MDN from B within ${DEMO_TIMEOUT_MS / 1000} s\n`);
    return 3;
  }
  io.stdout(`A has B's delivery notification: ${notified.join(', ')}.\n`);
  return 0;
}

async function runElectron(binary: string, io: CliIo, profileDir: string): Promise<number> {
  const child = spawn(
    binary,
    [join(io.root, 'dist', 'electron', 'main.js'), '--data-dir', profileDir],
    {
      stdio: 'inherit',
      env: io.env,
    },
  );
  const stop = (): void => {
    child.kill('SIGTERM');
  };
  void io.stopSignal.then(stop); // deliberate: forwards Ctrl+C to the app, nothing to await
  return await new Promise<number>((resolveExit, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => resolveExit(code ?? 1));
  });
}
