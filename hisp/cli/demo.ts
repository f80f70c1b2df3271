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
import { createLogger } from '../log/logger.js';
import { parseCommandArgs } from './args.js';
import type { CliIo } from './io.js';

export const DEMO_HELP = `Usage: sealpost demo [--smoke] [--browser] [--data-dir DIR]

Start a HISP with a throwaway profile and open the mail UI: the desktop app where an
Electron binary is installed, otherwise the browser-mode address to open.

Options:
  --smoke          start, check through the API contract that the UI's HISP answers
                   and that the UI is served, then exit (0 when all is well)
  --browser        use browser mode even where Electron is installed
  --data-dir DIR   keep the profile in DIR instead of a throwaway directory
  -h, --help       show this help
`;

export async function demoCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs('demo', args, {
    smoke: { type: 'boolean' },
    browser: { type: 'boolean' },
    'data-dir': { type: 'string' },
  });
  const keep = values['data-dir'] !== undefined;
  const profileDir = keep
    ? resolve(values['data-dir'] ?? '')
    : await mkdtemp(join(tmpdir(), 'sealpost-demo-'));
  await mkdir(profileDir, { recursive: true, mode: 0o700 });
  const logger = createLogger({
    level: values.smoke ? 'warn' : 'info',
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
      if (!values.browser && !electron.found) io.stdout(`Browser mode: ${electron.reason}.\n`);
      io.stdout(
        `Sealpost demo is running. Open this address in Chromium, Chrome, Edge or Firefox:\n\n  ${running.bridge.uiAddress}\n\n` +
          'The part after # is the access token: browsers never send it to any server. Press Ctrl+C to stop.\n',
      );
      await io.stopSignal;
      return 0;
    } finally {
      await running.stop();
    }
  } finally {
    if (!keep) await rm(profileDir, { recursive: true, force: true });
  }
}

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
