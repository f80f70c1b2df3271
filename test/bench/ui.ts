/**
 * `npm run bench` (or `npm run bench -- --only ui`): the mail window at 100,000 messages, in
 * Chromium, against a real HISP (issue 7). Not a test: nothing here runs in CI.
 *
 * Targets:
 *  (a) the first screen of the Inbox (rows on screen, painted) within 300 ms of the HISP being
 *      ready;
 *  (b) a 1 MB message opened within 150 ms (click -> its body rendered);
 *  (c) scrolling the list top to bottom with no long task over 50 ms.
 *
 * Setup. A test PKI made now (one anchor, a clinic and a lab with Direct certificates). The
 * clinic's vault profile holds its identity and trusts the anchor. It is seeded through
 * MailStore.receive() with the real opener (MailAgent.opener: decrypt, verify, Direct policy,
 * path validation), each message a real one signed by the lab and encrypted to the clinic by
 * the project's agent (signAndEncrypt), each with its own subject, body and Message-ID. The
 * store's clock (when each arrived) steps a minute per message up to now, so the list shows
 * dates over ~10 weeks; the signatures are made now (the test certificates are minutes old).
 * The newest message is the 1 MB one (a text body of 1 MiB). Nothing is bypassed: the seeding
 * is exactly what inbound SMTP does after the SMTP dialogue (minus the MDN it would send).
 *
 * Then `node bin/sealpost.js serve --profile DIR --config {}` (the built CLI; mail runs with no
 * relay or inbound, as nothing is sent) and Chromium (/usr/bin/chromium, as
 * playwright.config.ts) through Playwright, 1400x900 as the e2e tests.
 *
 * "Ready" is the moment serve writes bridge.json (mode 600, after the profile is unlocked, the
 * mail service started and the bridge listening: the earliest a window can connect); its
 * mtime is taken as that moment. Each run of (a) starts serve afresh (a cold HISP: its
 * database cache empty), waits for bridge.json (fs.watch, then stat), and navigates a fresh
 * browser context to the UI at once. In the page, performance marks: a MutationObserver
 * installed before the app's own script sees the rows, then the frame after is awaited
 * (requestAnimationFrame, then a task: the frame has been painted). Printed: navigation
 * start -> first screen (the target), and ready -> first screen (the wall time a user waits,
 * which adds the harness's latency in noticing bridge.json and starting the navigation).
 * The baseline, measured the same way: the same UI on an empty profile (Chromium loading the
 * app and the HISP answering an empty Inbox), so what 100,000 messages add is visible.
 *
 * (b) clicks the 1 MB row from page script (no driver latency), and waits until the text
 * body holds the message's last line, then for the frame after; between runs another message
 * is opened. The baseline: opening a 1 KB message the same way.
 *
 * (c) PerformanceObserver('longtask') in the page (installed before the app). Two passes:
 * dragging the scrollbar (scrollTop set from top to bottom in 400 steps, one per frame: every
 * frame lands on rows not loaded yet) and the mouse wheel (500 Playwright wheel events of
 * 1000 px, one a frame: about 8,600 rows from the top). Printed: long tasks, the longest,
 * the longest frame, and how long the last rows took to arrive after the drag ended. Each
 * pass also runs under Chrome tracing, which gives every task over 50 ms its CPU time as well
 * as its wall time: on a loaded machine a task can last 50 ms while working for 5.
 *
 * SEALPOST_BENCH_MESSAGES=N seeds N messages instead of 100,000 (for trying the bench out;
 * the targets are for 100,000). Seeding 100,000 takes a long time (the real receive path,
 * one message at a time, one core: 35 minutes on a busy two-core machine); SEALPOST_BENCH_UI_DIR=DIR keeps the seeded profiles in DIR and later
 * runs with the same count reuse them (the measurements always start a fresh serve).
 */
import { watch } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { signAndEncrypt } from '../../hisp/agent/outbound.js';
import { collect } from '../../hisp/agent/types.js';
import { createSilentLogger } from '../../hisp/log/logger.js';
import {
  createPracticeAgent,
  createPracticePki,
  initPracticeProfile,
  type KeyAndCert,
} from '../services/practices.js';
import { spawnDaemon, type Daemon } from '../services/proc.js';
import { makeTempDir } from '../services/tmp.js';
import { CHROMIUM, CHROMIUM_ARGS } from '../../playwright.config.js';
import { CLI, ROOT, readBridge, type BridgeFile } from '../e2e/support.js';

const VIEWPORT = { width: 1400, height: 900 };
const PASSPHRASE = 'ui benchmark passphrase';
const PASS_ENV = 'SEALPOST_BENCH_PASS';

const COUNT = Number(process.env['SEALPOST_BENCH_MESSAGES'] ?? '100000');
const RUNS_FIRST_SCREEN = 7;
const RUNS_OPEN = 9;
const MiB = 1024 * 1024;

const CLINIC = { name: 'clinic', domain: 'clinic.test', address: 'dr.reader@clinic.test' };
const LAB = { name: 'lab', domain: 'lab.test', address: 'results@lab.test' };
const BIG_SUBJECT = 'Discharge summary with full history (1 MB)';
const BIG_END = 'END OF THE 1 MB DISCHARGE SUMMARY';
const SMALL_SUBJECT_PREFIX = 'Lab results';

const TARGETS = { firstScreenMs: 300, openMs: 150, longTaskMs: 50 };

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

const ms = (value: number): string => `${value.toFixed(0)} ms`;
const spread = (values: readonly number[]): string =>
  `median ${ms(median(values))} [${ms(Math.min(...values))}–${ms(Math.max(...values))}] (${values.length} runs)`;
const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

// ── Seeding ─────────────────────────────────────────────────────────────────────────────────

const PATIENTS = ['J. Smith', 'M. Garcia', 'A. Okafor', 'L. Chen', 'R. Novak', 'S. Haddad'];
const TESTS = ['CBC', 'lipid panel', 'HbA1c', 'metabolic panel', 'TSH', 'urinalysis'];

/** Message `i` of the seed: a short lab result, each with its own subject, text and Message-ID. */
function smallMessage(i: number, date: Date): Buffer {
  const patient = PATIENTS[i % PATIENTS.length] ?? '';
  const test = TESTS[Math.floor(i / PATIENTS.length) % TESTS.length] ?? '';
  const lines = [
    `From: Lab Results <${LAB.address}>`,
    `To: ${CLINIC.address}`,
    `Subject: ${SMALL_SUBJECT_PREFIX} ${i}: ${test} for ${patient}`,
    `Date: ${date.toUTCString()}`,
    `Message-ID: <seed-${i}-${date.getTime().toString(36)}@lab.test>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    `Dear Dr. Reader,`,
    '',
    `the ${test} for ${patient} (order ${100000 + i}) is complete.`,
    `Result ${(i * 7919) % 1000} units; reference range 120-480. Specimen taken ${date.toDateString()}.`,
    'Please review and acknowledge in your record system.',
    '',
    'Regional Lab Services',
    '',
  ];
  return Buffer.from(lines.join('\r\n'));
}

/** The 1 MB message: a long discharge summary, its last line a marker the page waits for. */
function bigMessage(date: Date): Buffer {
  const head = [
    `From: Lab Results <${LAB.address}>`,
    `To: ${CLINIC.address}`,
    `Subject: ${BIG_SUBJECT}`,
    `Date: ${date.toUTCString()}`,
    `Message-ID: <big-${date.getTime().toString(36)}@lab.test>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    '',
  ].join('\r\n');
  const lines: string[] = [];
  let size = head.length;
  for (let n = 1; size < MiB - 200; n += 1) {
    const line = `${String(n).padStart(5, '0')} Day ${Math.ceil(n / 40)}: observations, vitals stable, medication continued as charted; plan unchanged.`;
    lines.push(line);
    size += line.length + 2;
  }
  lines.push(BIG_END, '');
  return Buffer.from(head + lines.join('\r\n'));
}

interface Seeded {
  readonly seconds: number;
  readonly perSecond: number;
  readonly bytes: number;
}

/** The clinic's profile in `dir` with `count` messages in its Inbox, the newest the 1 MB one. */
async function seedProfile(
  dir: string,
  anchorCert: KeyAndCert['cert'],
  clinic: KeyAndCert,
  lab: KeyAndCert,
  count: number,
): Promise<Seeded> {
  // The store's clock: message i is stored (count - i) minutes before now.
  const end = Date.now();
  let index = 0;
  const clock = (): Date => new Date(end - (count - index) * 60_000);
  const logger = createSilentLogger();
  const practice = await createPracticeAgent(dir, {
    passphrase: PASSPHRASE,
    identity: clinic,
    anchor: anchorCert,
    domain: CLINIC.domain,
    // Nothing is looked up while seeding (no message is sent): no DNS server is needed.
    dnsPort: 9,
    logger,
    now: clock,
  });
  const open = practice.agent.opener(CLINIC.domain);
  const sender = { certDer: lab.cert.der, chainDer: [], key: lab.key };
  const started = performance.now();
  let bytes = 0;
  try {
    for (index = 0; index < count; index += 1) {
      const when = clock();
      const inner = index === count - 1 ? bigMessage(when) : smallMessage(index, when);
      // Signed now: the test certificates were issued a moment ago.
      const raw = collect(signAndEncrypt(inner, sender, [clinic.cert.der]).message);
      bytes += raw.length;
      const stored = await practice.store.receive(
        { raw, envelope: { from: LAB.address, to: [CLINIC.address] } },
        open,
      );
      if (stored.duplicate) throw new Error(`seed message ${index} was taken for a duplicate`);
      if ((index + 1) % 10_000 === 0) {
        const seconds = (performance.now() - started) / 1000;
        console.log(
          `  seeded ${index + 1} of ${count} (${((index + 1) / seconds).toFixed(0)}/s; load ${load()})`,
        );
      }
    }
    const counts = practice.store.counts();
    if (counts.inbox.total !== count) {
      throw new Error(
        `the Inbox holds ${counts.inbox.total} messages, not ${count} (untrusted: ${counts.untrusted.total})`,
      );
    }
  } finally {
    practice.profile.close();
  }
  const seconds = (performance.now() - started) / 1000;
  return { seconds, perSecond: count / seconds, bytes };
}

// ── The HISP ────────────────────────────────────────────────────────────────────────────────

type Bridge = Pick<BridgeFile, 'url' | 'token'>;

interface Served {
  readonly bridge: Bridge;
  readonly daemon: Daemon;
  /** Epoch ms when bridge.json was written (its mtime): the HISP is ready. */
  readonly readyAt: number;
  /** Epoch ms when this process noticed it. */
  readonly noticedAt: number;
  /** Spawn to ready, ms. */
  readonly startMs: number;
}

/** `sealpost serve` on the profile in `dir`; resolves as soon as bridge.json is written. */
async function serve(dir: string, config: string): Promise<Served> {
  const bridgeFile = join(dir, 'bridge.json');
  // One left by a serve that did not stop cleanly names a dead bridge.
  await rm(bridgeFile, { force: true });
  const spawnedAt = Date.now();
  const daemon = spawnDaemon({
    name: 'sealpost serve',
    command: process.execPath,
    args: [
      CLI,
      'serve',
      '--profile',
      dir,
      '--pass',
      `env:${PASS_ENV}`,
      '--listen',
      '127.0.0.1:0',
      '--config',
      config,
    ],
    cwd: ROOT,
    env: { ...process.env, [PASS_ENV]: PASSPHRASE },
  });
  try {
    const bridge = await new Promise<Bridge>((done, fail) => {
      let settled = false;
      const watcher = watch(dir, () => void check());
      const timer = setTimeout(
        () => finish(new Error('serve did not write bridge.json in 60 s')),
        60_000,
      );
      const finish = (result: Bridge | Error): void => {
        if (settled) return;
        settled = true;
        watcher.close();
        clearTimeout(timer);
        if (result instanceof Error) fail(result);
        else done(result);
      };
      const check = async (): Promise<void> => {
        try {
          finish(await readBridge(bridgeFile));
        } catch {
          // Not there yet (or being written).
        }
      };
      void daemon.exited.then((exit) =>
        finish(new Error(`serve ended (${String(exit.code)}):\n${daemon.output()}`)),
      );
      void check();
    });
    const noticedAt = Date.now();
    const readyAt = (await stat(bridgeFile)).mtimeMs;
    return { bridge, daemon, readyAt, noticedAt, startMs: readyAt - spawnedAt };
  } catch (error) {
    await daemon.stop(5000);
    throw error;
  }
}

// ── In the page ─────────────────────────────────────────────────────────────────────────────

/**
 * Installed before the app's script: long tasks from the start, and a mark once the Inbox's
 * first screen (at least `rows` rows with content, or the empty-list notice) is painted.
 */
function instrument(rows: number): void {
  const bench = {
    longTasks: [] as { start: number; duration: number }[],
    firstScreen: undefined as number | undefined,
    inDom: undefined as number | undefined,
  };
  Object.assign(window, { __bench: bench });
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      bench.longTasks.push({ start: entry.startTime, duration: entry.duration });
    }
  }).observe({ type: 'longtask', buffered: true });
  const shown = (): boolean =>
    document.querySelectorAll('[data-testid="message-row"]').length >= rows ||
    document.querySelector('[data-testid="message-list-empty"]') !== null;
  const observer = new MutationObserver(() => {
    if (bench.inDom !== undefined || !shown()) return;
    bench.inDom = performance.now();
    observer.disconnect();
    performance.mark('bench-rows-in-dom');
    // rAF runs before the frame is painted; a task queued from it runs after.
    requestAnimationFrame(() => {
      const channel = new MessageChannel();
      channel.port1.onmessage = () => {
        bench.firstScreen = performance.now();
        performance.mark('bench-first-screen');
      };
      channel.port2.postMessage(null);
    });
  });
  observer.observe(document, { childList: true, subtree: true });
}

interface FirstScreen {
  /** Navigation start -> first screen painted. */
  readonly fromNavigation: number;
  /** Ready (bridge.json) -> first screen painted. */
  readonly fromReady: number;
  /** Ready -> navigation start (harness latency). */
  readonly readyToNavigation: number;
  /** Navigation start -> rows in the DOM. */
  readonly inDom: number;
  readonly responseEnd: number;
  readonly domContentLoaded: number;
}

/** One run of (a): a fresh serve and a fresh browser context. */
async function firstScreenRun(
  browser: Browser,
  dir: string,
  config: string,
  rows: number,
): Promise<FirstScreen> {
  const context = await browser.newContext({ viewport: VIEWPORT });
  await context.addInitScript(instrument, rows);
  const page = await context.newPage();
  const served = await serve(dir, config);
  try {
    await page.goto(`${served.bridge.url}#token=${served.bridge.token}`, { waitUntil: 'commit' });
    await page.waitForFunction(
      () =>
        (window as unknown as { __bench?: { firstScreen?: number } }).__bench?.firstScreen !==
        undefined,
      undefined,
      { timeout: 60_000, polling: 50 },
    );
    const result = await page.evaluate(() => {
      const bench = (window as unknown as { __bench: { firstScreen: number; inDom: number } })
        .__bench;
      const nav = performance.getEntriesByType('navigation')[0] as
        PerformanceNavigationTiming | undefined;
      return {
        origin: performance.timeOrigin,
        firstScreen: bench.firstScreen,
        inDom: bench.inDom,
        responseEnd: nav?.responseEnd ?? Number.NaN,
        domContentLoaded: nav?.domContentLoadedEventEnd ?? Number.NaN,
      };
    });
    return {
      fromNavigation: result.firstScreen,
      fromReady: result.origin + result.firstScreen - served.readyAt,
      readyToNavigation: result.origin - served.readyAt,
      inDom: result.inDom,
      responseEnd: result.responseEnd,
      domContentLoaded: result.domContentLoaded,
    };
  } finally {
    await context.close();
    await served.daemon.stop(10_000);
  }
}

/**
 * Click the row whose subject starts with `subject` from page script and wait until the
 * reading pane's text body contains `last`, then for the frame after: ms from the click.
 */
async function openInPage(page: Page, subject: string, last: string): Promise<number> {
  return page.evaluate(
    async ({ subject, last }) => {
      const row = Array.from(document.querySelectorAll('[data-testid="message-row"]')).find((r) =>
        r.querySelector('.row-subject')?.textContent?.startsWith(subject),
      );
      if (!(row instanceof HTMLElement)) throw new Error(`no row "${subject}" on screen`);
      const started = performance.now();
      await new Promise<void>((done, fail) => {
        const timer = setTimeout(
          () => fail(new Error(`"${subject}" did not open in 30 s`)),
          30_000,
        );
        const check = (): void => {
          const heading = document.querySelector('[data-testid="message-subject"]');
          if (heading?.textContent !== subject && !heading?.textContent?.startsWith(subject))
            return;
          const body = document.querySelector('[data-testid="message-body-text"]');
          if (body?.textContent?.includes(last) !== true) return;
          observer.disconnect();
          clearTimeout(timer);
          done();
        };
        const observer = new MutationObserver(check);
        observer.observe(document.body, { childList: true, subtree: true, characterData: true });
        row.click();
        check();
      });
      await new Promise<void>((painted) =>
        requestAnimationFrame(() => {
          const channel = new MessageChannel();
          channel.port1.onmessage = () => painted();
          channel.port2.postMessage(null);
        }),
      );
      return performance.now() - started;
    },
    { subject, last },
  );
}

interface ScrollResult {
  readonly longTasks: number;
  readonly longest: number;
  readonly longestFrame: number;
  readonly frames: number;
  readonly seconds: number;
}

/** Long tasks recorded since `since` (page time), and the longest. */
async function longTasksSince(
  page: Page,
  since: number,
): Promise<{ count: number; longest: number }> {
  return page.evaluate((from) => {
    const tasks = (
      window as unknown as { __bench: { longTasks: { start: number; duration: number }[] } }
    ).__bench.longTasks.filter((task) => task.start >= from);
    return { count: tasks.length, longest: Math.max(0, ...tasks.map((t) => t.duration)) };
  }, since);
}

/**
 * Runs `work` under Chrome tracing and gives the renderer main thread's tasks over 50 ms:
 * their wall time and their own CPU time. A task whose CPU time is far below its wall time
 * was waiting for a core (a loaded machine), not working.
 */
async function tracedLongTasks<T>(
  browser: Browser,
  page: Page,
  work: () => Promise<T>,
): Promise<{ result: T; tasks: { wall: number; cpu: number }[] }> {
  await browser.startTracing(page, { categories: ['devtools.timeline'] });
  let result: T;
  let raw: Buffer;
  try {
    result = await work();
  } finally {
    raw = await browser.stopTracing();
  }
  const events = (JSON.parse(raw.toString('utf8')) as { traceEvents: TraceEvent[] }).traceEvents;
  const mainThreads = new Set(
    events
      .filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain')
      .map((e) => `${e.pid}:${e.tid}`),
  );
  const tasks = events
    .filter(
      (e) =>
        e.ph === 'X' &&
        e.name === 'RunTask' &&
        (e.dur ?? 0) > TARGETS.longTaskMs * 1000 &&
        mainThreads.has(`${e.pid}:${e.tid}`),
    )
    .map((e) => ({ wall: (e.dur ?? 0) / 1000, cpu: (e.tdur ?? 0) / 1000 }));
  return { result, tasks };
}

interface TraceEvent {
  readonly ph: string;
  readonly name: string;
  readonly pid: number;
  readonly tid: number;
  readonly dur?: number;
  readonly tdur?: number;
  readonly args?: { readonly name?: string };
}

/** "N over 50 ms in the trace, longest W ms wall / C ms CPU" */
function describeTraced(tasks: readonly { wall: number; cpu: number }[]): string {
  if (tasks.length === 0) return 'none over 50 ms in the trace';
  const longest = tasks.reduce((a, b) => (b.wall > a.wall ? b : a));
  const maxCpu = Math.max(...tasks.map((t) => t.cpu));
  return `${tasks.length} over 50 ms in the trace: longest ${ms(longest.wall)} wall / ${ms(longest.cpu)} CPU; most CPU in one ${ms(maxCpu)}`;
}

/** Drag the scrollbar top to bottom: scrollTop in `steps` steps, one per frame. */
async function dragScroll(page: Page, steps: number): Promise<ScrollResult & { since: number }> {
  const measured = await page.evaluate(async (count) => {
    const list = document.querySelector('[data-testid="message-list"]');
    if (!(list instanceof HTMLElement)) throw new Error('no message list');
    const since = performance.now();
    let last = since;
    let longestFrame = 0;
    const frame = (): Promise<number> => new Promise((next) => requestAnimationFrame(next));
    for (let step = 1; step <= count; step += 1) {
      list.scrollTop = ((list.scrollHeight - list.clientHeight) * step) / count;
      const now = await frame();
      longestFrame = Math.max(longestFrame, now - last);
      last = now;
    }
    return { since, longestFrame, frames: count, seconds: (last - since) / 1000 };
  }, steps);
  const tasks = await longTasksSince(page, measured.since);
  return { ...measured, longTasks: tasks.count, longest: tasks.longest };
}

/** The mouse wheel over the list: `events` wheel events of `delta` px, one per frame. */
async function wheelScroll(page: Page, events: number, delta: number): Promise<ScrollResult> {
  const list = page.getByTestId('message-list');
  const box = await list.boundingBox();
  if (box === null) throw new Error('the message list is not on screen');
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  const since = await page.evaluate(() => {
    const w = window as unknown as { __frames?: { last: number; longest: number; n: number } };
    const state = { last: performance.now(), longest: 0, n: 0 };
    w.__frames = state;
    const tick = (now: number): void => {
      state.longest = Math.max(state.longest, now - state.last);
      state.last = now;
      state.n += 1;
      if (w.__frames === state) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
    return performance.now();
  });
  const started = Date.now();
  for (let i = 0; i < events; i += 1) {
    await page.mouse.wheel(0, delta);
    await page.evaluate(() => new Promise((next) => requestAnimationFrame(next)));
  }
  const seconds = (Date.now() - started) / 1000;
  const frames = await page.evaluate(() => {
    const w = window as unknown as { __frames?: { longest: number; n: number } };
    const state = w.__frames;
    delete w.__frames;
    return { longest: state?.longest ?? 0, n: state?.n ?? 0 };
  });
  const tasks = await longTasksSince(page, since);
  return {
    longTasks: tasks.count,
    longest: tasks.longest,
    longestFrame: frames.longest,
    frames: frames.n,
    seconds,
  };
}

/** ms until the list's last row has its content (after a scroll to the bottom). */
async function lastRowLoaded(page: Page, total: number): Promise<number> {
  return page.evaluate(async (count) => {
    const started = performance.now();
    for (;;) {
      const row = document.getElementById(`row-${count - 1}`);
      if (row?.getAttribute('data-testid') === 'message-row') return performance.now() - started;
      if (performance.now() - started > 30_000) throw new Error('the last row never loaded');
      await new Promise((next) => setTimeout(next, 5));
    }
  }, total);
}

// ── Main ────────────────────────────────────────────────────────────────────────────────────

/**
 * The seeded profile and the empty one in `dir`: made now, or (SEALPOST_BENCH_UI_DIR) the ones
 * an earlier run left there for the same message count.
 */
async function profiles(
  dir: string,
): Promise<{ full: string; empty: string; seeded: Seeded & { at: string } }> {
  const full = join(dir, 'clinic');
  const empty = join(dir, 'empty');
  const record = join(dir, 'seeded.json');
  try {
    const kept = JSON.parse(await readFile(record, 'utf8')) as Seeded & {
      at: string;
      count: number;
    };
    if (kept.count === COUNT) {
      console.log(`Reusing the profiles seeded in ${dir}`);
      return { full, empty, seeded: kept };
    }
    throw new Error(`${dir} holds ${kept.count} messages, not ${COUNT}: give another directory`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const pki = await createPracticePki(dir, {
    anchorName: 'UI Benchmark Anchor',
    practices: [CLINIC, LAB],
  });
  const [clinic, lab] = pki.practices;
  console.log(
    `Seeding ${COUNT} messages (signAndEncrypt, then MailStore.receive with the real opener)…`,
  );
  const seeded = {
    ...(await seedProfile(full, pki.anchor, clinic, lab, COUNT)),
    at: new Date().toISOString(),
  };
  const baseline = await initPracticeProfile(empty, {
    passphrase: PASSPHRASE,
    identity: clinic,
    anchor: pki.anchor,
    domain: CLINIC.domain,
  });
  baseline.profile.close();
  await writeFile(record, JSON.stringify({ ...seeded, count: COUNT }));
  return { full, empty, seeded };
}

async function main(): Promise<void> {
  const keep = process.env['SEALPOST_BENCH_UI_DIR'];
  const tmp = keep === undefined ? await makeTempDir('bench-ui') : undefined;
  const workDir = tmp?.path ?? resolve(keep ?? '');
  if (tmp === undefined) await mkdir(workDir, { recursive: true, mode: 0o700 });
  let browser: Browser | undefined;
  try {
    console.log(`Sealpost mail window benchmark — ${new Date().toISOString()}`);
    console.log(
      `Node ${process.version}; ${cpus()[0]?.model ?? 'cpu'} x${cpus().length}; ${(totalmem() / 1024 ** 3).toFixed(0)} GiB; load average ${load()}`,
    );
    const { full, empty, seeded } = await profiles(workDir);
    console.log(
      `  ${COUNT} messages, stored in ${seeded.seconds.toFixed(1)} s (${seeded.perSecond.toFixed(0)}/s) at ${seeded.at}; ciphertext ${(seeded.bytes / MiB).toFixed(0)} MiB; database ${((await stat(join(full, 'sealpost.db'))).size / MiB).toFixed(0)} MiB`,
    );
    // Mail on, nothing configured: no relay, no inbound (nothing is sent or received).
    const config = join(workDir, 'serve.json');
    await writeFile(config, '{}');

    browser = await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS] });
    // Rows that fit the list at 900 px (58 px each): at least this many make the first screen.
    const rows = 10;

    console.log(
      `\n(a) First screen of the Inbox after the HISP is ready (serve started afresh each run)`,
    );
    const emptyRuns: FirstScreen[] = [];
    const fullRuns: FirstScreen[] = [];
    for (let run = 0; run < RUNS_FIRST_SCREEN; run += 1) {
      emptyRuns.push(await firstScreenRun(browser, empty, config, rows));
      fullRuns.push(await firstScreenRun(browser, full, config, rows));
    }
    const show = (label: string, runs: FirstScreen[]): void => {
      console.log(`  ${label}`);
      console.log(`    navigation -> first screen  ${spread(runs.map((r) => r.fromNavigation))}`);
      console.log(`    ready -> first screen       ${spread(runs.map((r) => r.fromReady))}`);
      console.log(
        `    (ready -> navigation ${ms(median(runs.map((r) => r.readyToNavigation)))}, document ${ms(median(runs.map((r) => r.responseEnd)))}, DOMContentLoaded ${ms(median(runs.map((r) => r.domContentLoaded)))}, rows in DOM ${ms(median(runs.map((r) => r.inDom)))})`,
      );
    };
    show('empty profile (baseline: Chromium loading the app, an empty Inbox)', emptyRuns);
    show(`${COUNT} messages`, fullRuns);

    console.log(`\n(b) Opening a message (click -> body rendered)`);
    const context = await browser.newContext({ viewport: VIEWPORT });
    await context.addInitScript(instrument, rows);
    const page = await context.newPage();
    const served = await serve(full, config);
    const openBig: number[] = [];
    const openSmall: number[] = [];
    let drag: ScrollResult & { since: number };
    let wheel: ScrollResult;
    let tail: number;
    try {
      await page.goto(`${served.bridge.url}#token=${served.bridge.token}`);
      await page.getByTestId('message-row').first().waitFor();
      const total = Number(await page.getByTestId('message-list').getAttribute('data-total'));
      if (total !== COUNT) throw new Error(`the list says ${total} messages, not ${COUNT}`);
      const smallSubject = `${SMALL_SUBJECT_PREFIX} ${COUNT - 2}:`;
      // One open first so both are measured warm (the page's code for the pane is loaded).
      await openInPage(page, smallSubject, 'Regional Lab Services');
      for (let run = 0; run < RUNS_OPEN; run += 1) {
        openBig.push(await openInPage(page, BIG_SUBJECT, BIG_END));
        openSmall.push(await openInPage(page, smallSubject, 'Regional Lab Services'));
      }
      console.log(`  1 KB message (baseline)  ${spread(openSmall)}`);
      console.log(`  1 MB message             ${spread(openBig)}`);

      console.log(`\n(c) Scrolling the list top to bottom (long tasks over 50 ms)`);
      const dragged = await tracedLongTasks(browser, page, () => dragScroll(page, 400));
      drag = dragged.result;
      tail = await lastRowLoaded(page, COUNT);
      console.log(
        `  scrollbar drag, 400 frames: ${drag.longTasks} long tasks (longest ${ms(drag.longest)}), longest frame ${ms(drag.longestFrame)}, ${drag.seconds.toFixed(1)} s; last rows loaded ${ms(tail)} after`,
      );
      console.log(`    tasks: ${describeTraced(dragged.tasks)}`);
      await page.evaluate(() => {
        const list = document.querySelector('[data-testid="message-list"]');
        if (list instanceof HTMLElement) list.scrollTop = 0;
      });
      await page.getByTestId('message-row').first().waitFor();
      const wheeled = await tracedLongTasks(browser, page, () => wheelScroll(page, 500, 1000));
      wheel = wheeled.result;
      console.log(
        `  mouse wheel, 500 x 1000 px: ${wheel.longTasks} long tasks (longest ${ms(wheel.longest)}), longest frame ${ms(wheel.longestFrame)} over ${wheel.frames} frames, ${wheel.seconds.toFixed(1)} s`,
      );
      console.log(`    tasks: ${describeTraced(wheeled.tasks)}`);
    } finally {
      await context.close();
      await served.daemon.stop(10_000);
    }

    const firstScreen = median(fullRuns.map((r) => r.fromNavigation));
    const open = median(openBig);
    const longest = Math.max(drag.longest, wheel.longest);
    const verdicts = [
      {
        what: `(a) first screen within ${TARGETS.firstScreenMs} ms`,
        met: firstScreen <= TARGETS.firstScreenMs,
        result: `${ms(firstScreen)} from navigation (${ms(median(fullRuns.map((r) => r.fromReady)))} from ready; empty-profile baseline ${ms(median(emptyRuns.map((r) => r.fromNavigation)))})`,
      },
      {
        what: `(b) 1 MB message opened within ${TARGETS.openMs} ms`,
        met: open <= TARGETS.openMs,
        result: `${ms(open)} (1 KB baseline ${ms(median(openSmall))})`,
      },
      {
        what: `(c) no long task over ${TARGETS.longTaskMs} ms while scrolling`,
        met: drag.longTasks + wheel.longTasks === 0,
        result: `${drag.longTasks + wheel.longTasks} long tasks, longest ${ms(longest)}`,
      },
    ];
    console.log(`\nLoad average at the end: ${load()}`);
    for (const v of verdicts)
      console.log(`  ${v.met ? 'met   ' : 'MISSED'} ${v.what}: ${v.result}`);
    const missed = verdicts.filter((v) => !v.met);
    console.log(missed.length === 0 ? 'All targets met.' : `${missed.length} target(s) missed.`);
    process.exitCode = missed.length === 0 ? 0 : 1;
  } finally {
    await browser?.close();
    await tmp?.remove();
  }
}

await main();
