/**
 * What the Playwright specs share: starting the real CLI (`sealpost demo --browser`, or
 * `sealpost serve` on a passphrase-vault profile made with the CLI) and waiting for its
 * bridge.json; contract calls over a bridge's HTTP API from Node (test setup only);
 * delivering over SMTP with STARTTLS; opening a practice's mail window; the axe-core scan
 * (serious and critical violations, light and dark); listeners that collect what a page did
 * (console problems, requests).
 *
 * One copy, so that every spec starts, waits, calls and scans the same way. Nothing here
 * asserts on its own except `openMail` (the Inbox must be shown) and `postBridge`'s caller.
 */
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import AxeBuilder from '@axe-core/playwright';
import { expect, test } from '@playwright/test';
import type { Browser, Page } from '@playwright/test';
import nodemailer from 'nodemailer';
import { z } from 'zod';

import type { CertFiles } from '../services/certs.js';
import { spawnDaemon, waitUntil } from '../services/proc.js';
import type { Daemon } from '../services/proc.js';
import { makeTempDir } from '../services/tmp.js';
import type { TempDir } from '../services/tmp.js';

/** The repository root, where the CLI runs. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The built CLI's entry point. */
export const CLI = join(ROOT, 'bin', 'sealpost.js');
/** The environment variable the specs hand a vault passphrase in (`--pass env:…`). */
export const PASS_ENV = 'SEALPOST_E2E_PASS';

/** The demo's two practices. */
export const A_ADDRESS = 'dr.adams@practice-a.test';
export const B_ADDRESS = 'dr.baker@practice-b.test';

/** `bridge.json`, as the CLI writes it once a bridge listens. */
export const BridgeFileSchema = z.strictObject({
  url: z.string().regex(/^http:\/\/127\.0\.0\.1:[1-9][0-9]{0,4}\/$/),
  token: z.string().regex(/^[0-9a-f]{64}$/),
  pid: z.number().int().positive(),
});
export type BridgeFile = z.infer<typeof BridgeFileSchema>;

/** Read and check one bridge.json. */
export async function readBridge(path: string): Promise<BridgeFile> {
  return BridgeFileSchema.parse(JSON.parse(await readFile(path, 'utf8')));
}

/** The body of a bridge HTTP call (`POST /api/call/<method>`). */
export const CallAnswerSchema = z.union([
  z.strictObject({ ok: z.literal(true), result: z.unknown() }),
  z.strictObject({
    ok: z.literal(false),
    error: z.object({ name: z.literal('HispError'), code: z.string(), message: z.string() }),
  }),
]);
export type CallAnswer = z.infer<typeof CallAnswerSchema>;

/** One contract call over a bridge's HTTP API from Node, with the token and no Origin. */
export async function postBridge(
  bridge: Pick<BridgeFile, 'url' | 'token'>,
  method: string,
  params: unknown,
): Promise<{ status: number; answer: CallAnswer }> {
  const response = await fetch(new URL(`api/call/${method}`, bridge.url), {
    method: 'POST',
    headers: { authorization: `Bearer ${bridge.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(params),
  });
  return { status: response.status, answer: CallAnswerSchema.parse(await response.json()) };
}

/** One contract call over a bridge (test setup only): its result, or an Error naming the code. */
export async function callBridge(
  bridge: Pick<BridgeFile, 'url' | 'token'>,
  method: string,
  params: unknown,
): Promise<unknown> {
  const { answer } = await postBridge(bridge, method, params);
  if (!answer.ok) throw new Error(`${method} failed: ${JSON.stringify(answer.error)}`);
  return answer.result;
}

const ListAnswerSchema = z.object({
  messages: z.array(z.object({ id: z.number(), subject: z.string() })),
});

/** Wait until a message with exactly this subject is listed in a folder (by `listMessages`). */
export async function waitForSubject(
  bridge: Pick<BridgeFile, 'url' | 'token'>,
  subject: string,
  options: { folder?: string; daemon?: Daemon; timeoutMs?: number; what?: string } = {},
): Promise<void> {
  const folder = options.folder ?? 'inbox';
  await waitUntil(
    async () => {
      const list = ListAnswerSchema.parse(
        await callBridge(bridge, 'listMessages', { folder, limit: 100 }),
      );
      return list.messages.some((message) => message.subject === subject);
    },
    {
      ...(options.daemon === undefined ? {} : { daemon: options.daemon }),
      timeoutMs: options.timeoutMs ?? 30_000,
      what: options.what ?? `"${subject}" in ${folder}`,
    },
  );
}

/** The CLI running (a HISP or the demo), with the bridge files it wrote. */
export interface Running {
  readonly bridges: Readonly<Record<string, BridgeFile>>;
  readonly daemon: Daemon;
  readonly tmp: TempDir;
  /** Stop the CLI (SIGTERM, SIGKILL after a grace period), then remove `tmp`. Idempotent. */
  stop(): Promise<void>;
}

/** How to run the CLI for `runCli`. */
export interface CliRun {
  /** Removed when the run stops (or fails to start). */
  readonly tmp: TempDir;
  readonly name: string;
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  /** Key → path of each bridge.json to wait for. */
  readonly bridgeFiles: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
  readonly keepBytes?: number;
  readonly stopGraceMs?: number;
}

/** Spawn the CLI and wait until every bridge.json in `bridgeFiles` is written. */
export async function runCli(run: CliRun): Promise<Running> {
  const { tmp, name } = run;
  const daemon = spawnDaemon({
    name,
    command: process.execPath,
    args: [CLI, ...run.args],
    cwd: ROOT,
    env: run.env ?? { ...process.env },
    keepBytes: run.keepBytes ?? 4 * 1024 * 1024,
  });
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      try {
        await daemon.stop(run.stopGraceMs ?? 8000);
      } finally {
        await tmp.remove();
      }
    })());
  try {
    const bridges: Record<string, BridgeFile> = {};
    await waitUntil(
      async () => {
        for (const [key, file] of Object.entries(run.bridgeFiles)) {
          bridges[key] = await readBridge(file);
        }
        return true;
      },
      {
        daemon,
        timeoutMs: run.timeoutMs ?? 60_000,
        intervalMs: 200,
        what: `${name}'s bridge.json (is the CLI built? node scripts/build.mjs hisp)`,
      },
    );
    return { bridges, daemon, tmp, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The bridge `key` of a run, or an Error saying setup failed. */
export function bridgeOf(running: Running | undefined, key: string): BridgeFile {
  const bridge = running?.bridges[key];
  if (bridge === undefined) throw new Error(`no bridge "${key}": setup failed (see beforeAll)`);
  return bridge;
}

/** `sealpost demo --browser` in a fresh temp dir: bridges `a` and `b` (practices A and B). */
export async function startDemo(label: string): Promise<Running> {
  const tmp = await makeTempDir(label);
  const dataDir = join(tmp.path, 'demo');
  return runCli({
    tmp,
    name: 'sealpost demo',
    args: ['demo', '--browser', '--data-dir', dataDir],
    bridgeFiles: {
      a: join(dataDir, 'practice-a', 'bridge.json'),
      b: join(dataDir, 'practice-b', 'bridge.json'),
    },
  });
}

/**
 * The demo for a `test.describe` block: started in its `beforeAll` (90 s allowed), stopped
 * in its `afterAll`. Returns the bridge of practice `a` or `b` (an Error if the start failed).
 */
export function withDemo(label: string): (practice: 'a' | 'b') => BridgeFile {
  let demo: Running | undefined;
  test.beforeAll(async () => {
    test.setTimeout(90_000);
    demo = await startDemo(label);
  });
  test.afterAll(async () => {
    await demo?.stop();
  });
  return (practice) => bridgeOf(demo, practice);
}

/** A passphrase-vault profile made with the CLI, and how to run the CLI on it. */
export interface VaultProfile {
  readonly dir: string;
  /** The environment holding the passphrase in `PASS_ENV`. */
  readonly env: NodeJS.ProcessEnv;
  /** `--pass env:PASS_ENV`. */
  readonly pass: readonly string[];
  /** Run a CLI command to its end (throws with its output if it fails). */
  sealpost(args: readonly string[]): void;
}

/**
 * `sealpost profile init --vault` at `dir`, then (if given) the identity's key and
 * certificate and the anchors imported with the CLI.
 */
export function makeVaultProfile(
  dir: string,
  passphrase: string,
  options: { identity?: Pick<CertFiles, 'keyPath' | 'certPath'>; anchors?: readonly string[] } = {},
): VaultProfile {
  const env = { ...process.env, [PASS_ENV]: passphrase };
  const pass = ['--pass', `env:${PASS_ENV}`];
  const sealpost = (args: readonly string[]): void => {
    execFileSync(process.execPath, [CLI, ...args], { cwd: ROOT, env, stdio: 'pipe' });
  };
  sealpost(['profile', 'init', '--profile', dir, '--vault', ...pass]);
  if (options.identity !== undefined) {
    sealpost([
      'profile',
      'import-key',
      '--profile',
      dir,
      ...pass,
      '--key',
      options.identity.keyPath,
      '--cert',
      options.identity.certPath,
    ]);
  }
  for (const anchor of options.anchors ?? []) {
    sealpost(['anchors', 'import', '--profile', dir, ...pass, anchor]);
  }
  return { dir, env, pass, sealpost };
}

/** The `inbound` part of a serve config: SMTP with STARTTLS on a loopback port. */
export function inboundConfig(
  port: number,
  tls: Pick<CertFiles, 'certPath' | 'keyPath'>,
): { listen: string; tlsCert: string; tlsKey: string } {
  return { listen: `127.0.0.1:${port}`, tlsCert: tls.certPath, tlsKey: tls.keyPath };
}

/**
 * `sealpost serve` on a vault profile, its bridge on a free loopback port (bridge key
 * `profile`), with `config` (if given) written to `<tmp>/<profile name>.serve.json`, then
 * `args` (more serve options) and `env` (added to the profile's environment).
 */
export async function startServe(
  tmp: TempDir,
  profile: VaultProfile,
  options: {
    config?: unknown;
    args?: readonly string[];
    env?: NodeJS.ProcessEnv;
    timeoutMs?: number;
    keepBytes?: number;
    stopGraceMs?: number;
  } = {},
): Promise<Running> {
  const configArgs: string[] = [];
  if (options.config !== undefined) {
    const config = join(tmp.path, `${basename(profile.dir)}.serve.json`);
    await writeFile(config, JSON.stringify(options.config));
    configArgs.push('--config', config);
  }
  return runCli({
    tmp,
    name: 'sealpost serve',
    args: [
      'serve',
      '--profile',
      profile.dir,
      ...profile.pass,
      '--listen',
      '127.0.0.1:0',
      ...configArgs,
      ...(options.args ?? []),
    ],
    env: { ...profile.env, ...options.env },
    bridgeFiles: { profile: join(profile.dir, 'bridge.json') },
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.keepBytes === undefined ? {} : { keepBytes: options.keepBytes }),
    ...(options.stopGraceMs === undefined ? {} : { stopGraceMs: options.stopGraceMs }),
  });
}

/**
 * Deliver a raw message over SMTP with STARTTLS required to a loopback inbound port whose
 * certificate (for "localhost") is `caPem`. Rejects with nodemailer's error (its
 * `responseCode` and `response` say what the server refused).
 */
export async function sendStartTls(
  port: number,
  caPem: string,
  envelope: { from: string; to: readonly string[] },
  raw: Buffer,
): Promise<void> {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port,
    secure: false,
    requireTLS: true,
    tls: { ca: [caPem], servername: 'localhost' },
    connectionTimeout: 5000,
    greetingTimeout: 5000,
    socketTimeout: 15_000,
  });
  try {
    await transport.sendMail({ envelope: { from: envelope.from, to: [...envelope.to] }, raw });
  } finally {
    transport.close();
  }
}

/** A fresh tab (its own context) on a bridge's mail window, the Inbox shown. */
export async function openMail(
  browser: Browser,
  bridge: Pick<BridgeFile, 'url' | 'token'>,
  options: { timeoutMs?: number } = {},
): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${bridge.url}#token=${bridge.token}`);
  await expect(page.getByTestId('list-title')).toHaveText(
    'Inbox',
    options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs },
  );
  return page;
}

/** Serious and critical axe violations of what is on screen, light and dark, as readable lines. */
export async function seriousViolations(page: Page): Promise<string[]> {
  const found: string[] = [];
  for (const colorScheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme });
    const results = await new AxeBuilder({ page }).analyze();
    for (const v of results.violations) {
      if (v.impact !== 'serious' && v.impact !== 'critical') continue;
      const where = v.nodes
        .slice(0, 3)
        .map((n) => n.target.join(' '))
        .join('; ');
      found.push(`${colorScheme}: ${v.id} (${v.impact}): ${v.help} — ${where}`);
    }
  }
  await page.emulateMedia({ colorScheme: 'light' });
  return found;
}

/** Something unique to find this run's message by. */
export function unique(label: string): string {
  return `${label} ${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * Console problems and page errors, collected as they happen (a CSP violation is logged as a
 * console error). `warnings` counts console warnings as problems too.
 */
export function collectProblems(page: Page, options: { warnings?: boolean } = {}): string[] {
  const problems: string[] = [];
  page.on('console', (message) => {
    const type = message.type();
    if (type === 'error' || (options.warnings === true && type === 'warning')) {
      problems.push(message.text());
    }
  });
  page.on('pageerror', (error) => problems.push(error.message));
  return problems;
}

/** Every URL the page asks for, WebSockets included, collected as it happens. */
export function collectRequestUrls(page: Page): string[] {
  const urls: string[] = [];
  page.on('request', (request) => urls.push(request.url()));
  page.on('websocket', (socket) => urls.push(socket.url()));
  return urls;
}

/** The list row whose subject is exactly `subject` (not "Re: …" or a notification's "Processed: …"). */
export function rowWithSubject(page: Page, subject: string): ReturnType<Page['locator']> {
  const exact = new RegExp(`^${subject.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
  return page
    .getByTestId('message-row')
    .filter({ has: page.locator('.row-subject', { hasText: exact }) });
}
