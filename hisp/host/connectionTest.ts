/**
 * "Test connection" for the practice's mail accounts (Settings › Mail server; the
 * `testConnection` call): the configured relay smarthost or upstream IMAP mailbox is tried
 * the way sending and pulling reach it — the same option builders and connect code
 * (hisp/relay/smtpClient.ts `probeSmarthost`, hisp/relay/imapPull.ts `imapClientOptions` and
 * `connectImap`), so a test that passes means the real thing connects — and nothing is sent,
 * fetched or changed: the relay gets EHLO, STARTTLS, AUTH and QUIT (never MAIL FROM), the
 * mailbox is opened read-only (EXAMINE) and logged out of.
 *
 * The account builders here are the ones the mail service runs its relay worker and its
 * upstream pull on, so the test and the real thing cannot drift apart.
 *
 * Every failure is an answer (`ok: false`, the steps, a registry code), never a throw; no
 * text of the answer or of the log lines holds a password.
 */
import type { ImapFlow } from 'imapflow';
import type { ConnectionTest } from '../api/contract.js';
import type { ErrorCode } from '../api/errors.js';
import type { ServeConfig } from '../cli/serveConfig.js';
import type { Logger } from '../log/logger.js';
import {
  connectImap,
  imapClientOptions,
  ImapPullError,
  type UpstreamAccount,
} from '../relay/imapPull.js';
import { probeSmarthost, type ProbeStep, type SmarthostTarget } from '../relay/smtpClient.js';

type RelayConfig = NonNullable<ServeConfig['relay']>;
type SmarthostConfig = Extract<RelayConfig, { kind: 'smarthost' }>;
type UpstreamConfig = NonNullable<ServeConfig['upstream']>;

/** The relay target of a configured smarthost (what the relay worker sends through). */
export function smarthostTarget(relay: SmarthostConfig): SmarthostTarget {
  return {
    kind: 'smarthost',
    host: relay.host,
    port: relay.port,
    secure: relay.secure,
    ...(relay.auth === undefined ? {} : { auth: relay.auth }),
    ...(relay.ca === undefined ? {} : { tls: { ca: [relay.ca] } }),
  };
}

/** The upstream account of the configuration (what the IMAP pull logs in to). */
export function upstreamAccount(up: UpstreamConfig): UpstreamAccount {
  return {
    host: up.host,
    port: up.port,
    secure: up.secure,
    user: up.user,
    pass: up.pass,
    ...(up.ca === undefined ? {} : { tls: { ca: up.ca } }),
    ...(up.mailbox === undefined ? {} : { mailbox: up.mailbox }),
  };
}

export interface ConnectionTestOptions {
  readonly logger: Logger;
  /** Connect and greeting bound of one test, in ms (default 10 s: the UI is waiting). */
  readonly timeoutMs?: number;
  /** The name sent with EHLO (default: this machine's host name, as the relay sends). */
  readonly clientName?: string;
}

const DEFAULT_TIMEOUT_MS = 10_000;
/** imapflow's fetch bounds are irrelevant here (nothing is fetched); the pull's default. */
const UPSTREAM_MAX_BYTES = 128 * 1024 * 1024;
const DETAIL_MAX = 2000;

function bounded(text: string): string {
  return text.length > DETAIL_MAX ? `${text.slice(0, DETAIL_MAX - 1)}…` : text;
}

/** `text` with every occurrence of `secret` replaced (belt and braces: no password in text). */
function scrubbed(text: string, secret: string | undefined): string {
  return secret === undefined || secret === '' ? text : text.split(secret).join('[redacted]');
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Nothing to try: `ok: false`, no steps, and why. */
function untested(
  target: ConnectionTest['target'],
  code: ErrorCode,
  message: string,
): ConnectionTest {
  return { ok: false, target, steps: [], reason: { code, message } };
}

/**
 * Try `target` of `config` as sending or pulling would, sending nothing. Never throws for a
 * connection fault: the answer says which step failed and why.
 */
export async function testConnection(
  config: Pick<ServeConfig, 'relay' | 'upstream'>,
  target: ConnectionTest['target'],
  options: ConnectionTestOptions,
): Promise<ConnectionTest> {
  const log = options.logger.child({ component: 'connection-test', target });
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (target === 'relay') {
    const relay = config.relay;
    if (relay === undefined) {
      return untested(
        target,
        'MAIL_NOT_CONFIGURED',
        'No relay is configured, so there is nothing to test: messages stay queued. Set one up in Settings › Mail server and preferences (or "relay" in the configuration file).',
      );
    }
    if (relay.kind === 'mx') {
      return untested(
        target,
        'MAIL_NOT_CONFIGURED',
        "The relay delivers straight to each recipient domain's own mail servers (MX), so there is no single server to test. Each message's delivery shows how its domain's servers answered.",
      );
    }
    const server = hostPort(relay.host, relay.port);
    const probe = await probeSmarthost(smarthostTarget(relay), {
      logger: options.logger,
      ...(options.clientName === undefined ? {} : { clientName: options.clientName }),
      timeouts: { connectionMs: timeoutMs, greetingMs: timeoutMs, socketMs: 2 * timeoutMs },
    });
    const pass = relay.auth?.pass;
    const steps = probe.steps.map((s) => cleanStep(s, pass));
    const result: ConnectionTest = {
      ok: probe.ok,
      target,
      server,
      steps,
      ...(probe.reason === undefined
        ? {}
        : {
            reason: {
              code: probe.reason.code,
              message: bounded(scrubbed(probe.reason.message, pass)),
            },
          }),
    };
    log.info('connection test', {
      server,
      ok: result.ok,
      ...(result.reason === undefined ? {} : { code: result.reason.code }),
    });
    return result;
  }

  const up = config.upstream;
  if (up === undefined) {
    return untested(
      target,
      'MAIL_NOT_CONFIGURED',
      'No upstream mailbox is configured, so there is nothing to test. Set one up in Settings › Mail server and preferences (or "upstream" in the configuration file).',
    );
  }
  const server = hostPort(up.host, up.port);
  const result = await testUpstream(upstreamAccount(up), server, timeoutMs);
  log.info('connection test', {
    server,
    ok: result.ok,
    ...(result.reason === undefined ? {} : { code: result.reason.code }),
  });
  return result;
}

function cleanStep(step: ProbeStep, secret: string | undefined): ConnectionTest['steps'][number] {
  return {
    step: step.step,
    ok: step.ok,
    ...(step.detail === undefined ? {} : { detail: bounded(scrubbed(step.detail, secret)) }),
  };
}

/** IMAP: connect (TLS, LOGIN) exactly as the pull does, then EXAMINE the mailbox, LOGOUT. */
async function testUpstream(
  account: UpstreamAccount,
  server: string,
  timeoutMs: number,
): Promise<ConnectionTest> {
  const steps: ConnectionTest['steps'][number][] = [];
  const mailbox = account.mailbox ?? 'INBOX';
  const fail = (code: ErrorCode, message: string): ConnectionTest => ({
    ok: false,
    target: 'upstream',
    server,
    steps,
    reason: { code, message: bounded(scrubbed(message, account.pass)) },
  });
  let client: ImapFlow;
  try {
    client = await connectImap(
      imapClientOptions(account, {
        idle: false,
        connectTimeoutMs: timeoutMs,
        maxMessageBytes: UPSTREAM_MAX_BYTES,
      }),
      // A fault after connecting shows as a failed step; no listener, no crash.
      (fresh) => fresh.on('error', () => undefined),
    );
  } catch (error) {
    if (!(error instanceof ImapPullError)) throw error;
    const message = `${server}: ${error.message}${causeCode(error.cause)}`;
    const tlsLabel = account.secure === 'implicit' ? 'implicit TLS' : 'STARTTLS';
    switch (error.kind) {
      case 'connect':
      case 'protocol':
        steps.push({ step: 'connect', ok: false, detail: message });
        break;
      case 'tls':
        steps.push({ step: 'connect', ok: true, detail: `${server} answered` });
        steps.push({ step: 'tls', ok: false, detail: `${tlsLabel}: ${error.message}` });
        break;
      case 'auth':
        steps.push({ step: 'connect', ok: true, detail: `${server} answered` });
        steps.push({ step: 'tls', ok: true, detail: `${tlsLabel}, certificate verified` });
        steps.push({ step: 'auth', ok: false, detail: `${account.user}: ${error.message}` });
        break;
    }
    return fail(error.code, message);
  }
  steps.push({ step: 'connect', ok: true, detail: `${server} answered` });
  steps.push({
    step: 'tls',
    ok: true,
    detail: `${account.secure === 'implicit' ? 'implicit TLS' : 'STARTTLS'}, certificate verified`,
  });
  steps.push({ step: 'auth', ok: true, detail: `logged in as ${account.user}` });
  try {
    const opened = await client.mailboxOpen(mailbox, { readOnly: true });
    steps.push({
      step: 'mailbox',
      ok: true,
      detail: `${mailbox} opened read-only: ${opened.exists} message(s)`,
    });
  } catch (error) {
    const status = (error as { responseText?: unknown }).responseText;
    const why =
      typeof status === 'string' && status !== '' ? ` (${status.replace(/\.+$/, '')})` : '';
    const message = `The mailbox ${mailbox} could not be opened on ${server}${why}. Check the mailbox name in Settings › Mail server and preferences (or "upstream.mailbox" in the configuration file).`;
    steps.push({ step: 'mailbox', ok: false, detail: bounded(scrubbed(message, account.pass)) });
    await logout(client);
    return fail('UPSTREAM_UNAVAILABLE', message);
  }
  await logout(client);
  return { ok: true, target: 'upstream', server, steps };
}

/** The system error code behind a connection failure (ECONNREFUSED, ETIMEDOUT…), if any. */
function causeCode(cause: unknown): string {
  const code = (cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && /^[A-Z][A-Z0-9_]{1,40}$/.test(code) ? ` (${code})` : '';
}

async function logout(client: ImapFlow): Promise<void> {
  try {
    await Promise.race([
      client.logout(),
      new Promise((resolve) => setTimeout(resolve, 2000).unref()),
    ]);
  } catch {
    // closing anyway
  } finally {
    client.close();
  }
}
