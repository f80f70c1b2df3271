import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import WebSocket from 'ws';
import {
  BEARER_PROTOCOL_PREFIX,
  HispClient,
  HispError,
  WIRE_PROTOCOL,
  WebSocketTransport,
} from '../api/index.js';
import { findElectronBinary } from '../host/electronBinary.js';
import { startHeadless, type RunningHisp } from '../host/headless.js';
import type { RunningDemo } from '../demo/practices.js';
import { createLogger } from '../log/logger.js';
import { parseCommandArgs } from './args.js';
import type { CliIo } from './io.js';

export const DEMO_HELP = `Usage: sealpost demo [--smoke] [--browser] [--data-dir DIR] [--subject TEXT] [--body TEXT]

Run two Direct practices on this computer — A (dr.adams@practice-a.test) and B
(dr.baker@practice-b.test), each with its own profile, Direct certificate under one demo
trust anchor and inbound SMTP endpoint, and a DNS responder publishing their certificates
and mail hosts — and have A write to B. Then open the UI: the desktop app where an Electron
binary is installed, otherwise the browser-mode address to open.

Options:
  --smoke          headless: A sends one message to B; exit 0 only when B holds it
                   decrypted and trusted and A has B's processed MDN (and the UI is served
                   and its HISP answers through the API contract)
  --subject TEXT   the message's subject (default "Sealpost demo")
  --body TEXT      the message's body
  --browser        use browser mode even where Electron is installed
  --data-dir DIR   keep both profiles in DIR instead of a throwaway directory
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
  const profileDir = keep
    ? resolve(values['data-dir'] ?? '')
    : await mkdtemp(join(tmpdir(), 'sealpost-demo-'));
  await mkdir(profileDir, { recursive: true, mode: 0o700 });
  const logger = createLogger({
    level: values.smoke ? 'error' : 'info',
    sink: (line) => io.stderr(`${line}\n`),
    bindings: { process: 'sealpost-demo' },
  });

  io.stdout(`Profile: ${profileDir} (${keep ? 'kept' : 'throwaway, removed on exit'})\n`);
  try {
    const electron = findElectronBinary(io.root, io.env);
    if (!values.smoke && !values.browser && electron.found) {
      io.stdout('Starting the Sealpost desktop app…\n');
      return await runElectron(electron.path, io, profileDir);
    }
    const { startDemoPractices } = await import('../demo/practices.js');
    const demo = await startDemoPractices(join(profileDir, 'practices'), logger);
    try {
      const exchanged = await exchange(demo, values.subject, values.body, io);
      if (values.smoke && exchanged !== 0) return exchanged;
    } catch (error) {
      await demo.stop();
      throw error;
    }
    const running = await startHeadless({
      mode: 'demo',
      profileName: keep ? profileDir : 'demo (throwaway)',
      throwaway: !keep,
      host: '127.0.0.1',
      port: 0,
      root: io.root,
      logger,
    });
    try {
      if (values.smoke) return await smoke(running, io);
      io.stdout(
        `Practices: ${demo.practices.map((p) => `${p.spec.address} (SMTP 127.0.0.1:${p.smtp.port})`).join(', ')}; DNS 127.0.0.1:${demo.dns.port}.\n`,
      );
      if (!values.browser && !electron.found) io.stdout(`Browser mode: ${electron.reason}.\n`);
      io.stdout(
        `Sealpost demo is running. Open this address in Chromium, Chrome, Edge or Firefox:\n\n  ${running.bridge.uiAddress}\n\n` +
          'The part after # is the access token: browsers never send it to any server. Press Ctrl+C to stop.\n',
      );
      await io.stopSignal;
      return 0;
    } finally {
      await running.stop();
      await demo.stop();
    }
  } finally {
    if (!keep) await rm(profileDir, { recursive: true, force: true });
  }
}

/**
 * A writes to B; waits until B holds the message decrypted and trusted and A has B's
 * processed MDN. Returns 0, or 3 with what did not happen.
 */
async function exchange(
  demo: RunningDemo,
  subject: string | undefined,
  body: string | undefined,
  io: CliIo,
): Promise<number> {
  const [a, b] = demo.practices;
  const title = subject ?? 'Sealpost demo';
  const sent = await a.agent.send({
    from: a.spec.address,
    to: [b.spec.address],
    subject: title,
    text: body ?? 'Hello from Practice A. This message was signed and encrypted for Direct.',
  });
  if (sent.id === undefined) {
    const why = sent.recipients.map((r) => `${r.address}: ${r.check.state}`).join('; ');
    io.stderr(`smoke: A could not send to B (${why})\n`);
    return 3;
  }
  io.stdout(`A (${a.spec.address}) sent "${title}" to ${b.spec.address}, signed and encrypted.\n`);
  const deadline = Date.now() + DEMO_TIMEOUT_MS;
  let received: { id: number; trusted: boolean } | undefined;
  let processed = false;
  while (Date.now() < deadline && (received === undefined || !processed)) {
    received ??= b.store.list('inbox').find((row) => row.subject === title);
    processed = a.store
      .mdnFor(sent.id)
      .some((row) => row.state === 'processed' || row.state === 'dispatched');
    if (received === undefined || !processed) await new Promise((r) => setTimeout(r, 100));
  }
  if (received === undefined) {
    io.stderr(`smoke: B did not receive the message within ${DEMO_TIMEOUT_MS / 1000} s\n`);
    return 3;
  }
  const opened = await b.store.open(received.id, b.agent.opener(b.spec.domain));
  if (!opened.decrypted || !opened.verification.trusted) {
    io.stderr(
      `smoke: B holds the message but it is not ${opened.decrypted ? 'trusted' : 'decrypted'}: ${opened.verification.reasons.map((r) => r.code).join(', ')}\n`,
    );
    return 3;
  }
  io.stdout(
    `B (${b.spec.address}) holds it decrypted and trusted (signer ${opened.verification.signer ?? '?'}).\n`,
  );
  if (!processed) {
    io.stderr(`smoke: A has no processed MDN from B within ${DEMO_TIMEOUT_MS / 1000} s\n`);
    return 3;
  }
  const states = a.store.mdnFor(sent.id).map((row) => `${row.recipient} ${row.state}`);
  io.stdout(`A has B's delivery notification: ${states.join(', ')}.\n`);
  return 0;
}

const DEMO_TIMEOUT_MS = 30_000;

/** Checks what the UI relies on, the way the UI does it: page, WebSocket, contract. */
async function smoke(running: RunningHisp, io: CliIo): Promise<number> {
  const { bridge } = running;
  const origin = bridge.url.replace(/\/$/, '');
  const page = await fetch(bridge.url);
  const html = await page.text();
  if (page.status !== 200 || !(page.headers.get('content-type') ?? '').startsWith('text/html')) {
    io.stderr(`smoke: the UI is not served (HTTP ${page.status}): ${html.trim()}\n`);
    return 3;
  }
  const socket = new WebSocket(
    `ws://127.0.0.1:${bridge.port}/api/ws`,
    [WIRE_PROTOCOL, BEARER_PROTOCOL_PREFIX + bridge.token],
    {
      headers: { origin },
    },
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
            `The bridge refused the WebSocket (HTTP ${res.statusCode}).`,
          ),
        ),
      );
    });
    if ((await greeting) !== 'ready') {
      io.stderr('smoke: the HISP did not greet the connection with a ready status event\n');
      return 3;
    }
    const status = await client.call('status', {});
    if (status.state !== 'ready') {
      io.stderr(`smoke: the HISP answered but is ${status.state}, not ready\n`);
      return 3;
    }
    io.stdout(
      `smoke: OK — UI served, and the UI's HISP answered through the contract: ${status.product} ${status.version}, ${status.state}, ` +
        `components ${status.components.map((c) => `${c.name}=${c.state}`).join(', ')}\n`,
    );
    return 0;
  } finally {
    client.close();
  }
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
