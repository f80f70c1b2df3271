/**
 * One relay attempt of a stored Direct message (DESIGN.md §2 arcs 6–7, risk-3): nodemailer's
 * SMTPConnection to a configured smarthost or to the recipient domain's MX hosts, with TLS
 * REQUIRED by default. The message goes out exactly as given (the S/MIME bytes as stored):
 * nothing is composed, re-encoded or added; the envelope is given separately.
 *
 * Every recipient gets an outcome: 'relayed' (the server took the message for it),
 * 'temporary' (try again later: 4xx, connection faults, timeouts, TLS unavailable, DNS
 * trouble) or 'permanent' (5xx, no route). A server that offers no STARTTLS, or whose
 * certificate does not verify, is never used in plaintext: the attempt fails before MAIL FROM,
 * so nothing of the message is transmitted. Only a per-domain exception (`tlsRequired: false`
 * on an MX target) allows plaintext, and even then STARTTLS is used when offered.
 *
 * `probeSmarthost` opens the same session to a smarthost for Settings' "Test connection"
 * (EHLO, TLS, AUTH, QUIT) and sends nothing.
 *
 * Nothing here logs content: log lines carry hosts, codes and counts only, never the message,
 * and nodemailer's own logger is off.
 */
import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import type { SMTPConnectionOptions, SMTPConnectionSendInfo } from 'nodemailer/lib/smtp-connection';
import { HispError, isErrorCode, type ErrorCode } from '../api/errors.js';
import { createSilentLogger, type Logger } from '../log/logger.js';

/** A configured outbound relay (a submission service of the practice's mail provider). */
export interface SmarthostTarget {
  readonly kind: 'smarthost';
  readonly host: string;
  readonly port: number;
  /** 'starttls': plain connect, STARTTLS required before anything else; 'implicit': TLS from the start. */
  readonly secure: 'starttls' | 'implicit';
  readonly auth?: { readonly user: string; readonly pass: string };
  /** Extra trust (a private CA) and the name the certificate must carry, if not `host`. */
  readonly tls?: { readonly ca?: readonly (string | Buffer)[]; readonly servername?: string };
}

/** Direct delivery to the recipient domain's MX hosts, in preference order. */
export interface MxTarget {
  readonly kind: 'mx';
  readonly domain: string;
  /**
   * TLS required (the default; risk-3). False only for a per-domain exception the user set:
   * then STARTTLS is still used when offered (without certificate checks) and plaintext is
   * allowed when it is not.
   */
  readonly tlsRequired?: boolean;
  /**
   * SMTP port of every MX host. MX records carry no port, so this is 25 in production; it is
   * injectable for tests (a server on a random loopback port).
   */
  readonly port?: number;
  /** Extra trust for the MX hosts' certificates (a private CA); system CAs otherwise. */
  readonly tls?: { readonly ca?: readonly (string | Buffer)[] };
}

export type RelayTarget = SmarthostTarget | MxTarget;

/** The part of node:dns/promises Resolver used here (inject one with custom servers). */
export interface MxResolver {
  resolveMx(hostname: string): Promise<{ exchange: string; priority: number }[]>;
  resolve4(hostname: string): Promise<string[]>;
  resolve6(hostname: string): Promise<string[]>;
}

export interface DeliveryOutcome {
  readonly recipient: string;
  readonly outcome: 'relayed' | 'temporary' | 'permanent';
  /** The SMTP reply code, when a server gave one. */
  readonly code?: number;
  /** The server's reply (or a description of the fault), bounded; never message content. */
  readonly response?: string;
  /** A stable reason code for the queue row: RELAY_* or DNS_FAILED. */
  readonly reason: string;
  /** The host that answered (the MX host name, or the smarthost). */
  readonly host?: string;
}

export interface DeliverOptions {
  /** MX lookups (default: a node:dns Resolver on `dnsServers`, else the system's servers). */
  readonly resolver?: MxResolver;
  /** DNS servers for the default resolver, e.g. ['127.0.0.1:5353']. */
  readonly dnsServers?: readonly string[];
  /** The name sent with EHLO (default: this machine's host name). */
  readonly clientName?: string;
  /** Bounds in ms (defaults: connect 30 s, greeting 30 s, socket inactivity 120 s, DNS 15 s). */
  readonly timeouts?: {
    readonly connectionMs?: number;
    readonly greetingMs?: number;
    readonly socketMs?: number;
    readonly dnsMs?: number;
  };
  /** At most this many MX addresses are tried in one attempt (default 6). */
  readonly maxMxAddresses?: number;
  readonly logger?: Logger;
}

/** Reason codes written to the queue row (lastError.code). */
export const RELAY_REASONS = {
  /** The server answered 5xx. */
  rejected: 'RELAY_REJECTED',
  /** The server answered 4xx. */
  deferred: 'RELAY_DEFERRED',
  /** TLS required but not offered, or it failed (certificate, handshake). */
  tls: 'RELAY_TLS_REQUIRED',
  /** The relay refused our credentials. */
  auth: 'RELAY_AUTH_FAILED',
  /** Connection refused, dropped, timed out. */
  connection: 'RELAY_CONNECTION',
  /** The domain does not exist, or says it takes no mail (null MX). */
  noRoute: 'RELAY_NO_ROUTE',
  /** The message cannot be sent as it is (too big, bad address). */
  message: 'RELAY_MESSAGE_REFUSED',
  /** A DNS lookup failed (temporary). */
  dns: 'DNS_FAILED',
} as const satisfies Record<string, ErrorCode>;

const RESPONSE_MAX = 500;
const CLOSE_WAIT_MS = 10_000;

interface NodemailerError extends Error {
  code?: string;
  originalCode?: string;
  response?: string;
  responseCode?: number;
  command?: string;
  recipient?: string;
  rejectedErrors?: NodemailerError[];
}

type Outcome = DeliveryOutcome['outcome'];

interface Failure {
  readonly outcome: Exclude<Outcome, 'relayed'>;
  readonly reason: string;
  readonly code?: number;
  readonly response: string;
}

function bounded(text: string): string {
  const line = text.replace(/[\r\n]+/g, ' ').trim();
  return line.length > RESPONSE_MAX ? `${line.slice(0, RESPONSE_MAX)}…` : line;
}

/** What a nodemailer error means for the recipients it applies to. */
function classify(error: NodemailerError, host: string, tlsRequired: boolean): Failure {
  const code = typeof error.responseCode === 'number' ? error.responseCode : undefined;
  const withCode = code === undefined ? {} : { code };
  const detail = bounded(error.response ?? error.message);
  if (error.code === 'ETLS' || (error.code === 'ESOCKET' && isTlsFailure(error))) {
    const why =
      error.command === 'STARTTLS' && code !== undefined
        ? `${host} does not offer STARTTLS (${detail})`
        : `TLS with ${host} failed (${bounded(error.message)})`;
    return {
      outcome: 'temporary',
      reason: RELAY_REASONS.tls,
      ...withCode,
      response: tlsRequired
        ? `${why}; TLS is required, the message is not sent in plaintext.`
        : `${why}.`,
    };
  }
  if (error.code === 'EAUTH') {
    // Our configuration, not the message: retried (and reported) until it is fixed.
    return { outcome: 'temporary', reason: RELAY_REASONS.auth, ...withCode, response: detail };
  }
  if (code !== undefined && code >= 500) {
    return { outcome: 'permanent', reason: RELAY_REASONS.rejected, code, response: detail };
  }
  if (code !== undefined && code >= 400) {
    return { outcome: 'temporary', reason: RELAY_REASONS.deferred, code, response: detail };
  }
  if (error.code === 'EMESSAGE' || error.code === 'EENVELOPE') {
    return { outcome: 'permanent', reason: RELAY_REASONS.message, response: detail };
  }
  return {
    outcome: 'temporary',
    reason: RELAY_REASONS.connection,
    response: `${host}: ${bounded(error.message)}`,
  };
}

function isTlsFailure(error: NodemailerError): boolean {
  const original = error.originalCode ?? '';
  return (
    /CERT|SELF_SIGNED|ERR_TLS|ERR_SSL|UNABLE_TO_(GET|VERIFY)/.test(original) ||
    /certificate|SSL routines|TLS/i.test(error.message)
  );
}

interface SessionTarget {
  /** Where to connect (an IP or a host name). */
  readonly host: string;
  /** The name the certificate must carry, and the one reported. */
  readonly name: string;
  readonly port: number;
  readonly implicitTls: boolean;
  readonly tlsRequired: boolean;
  readonly ca?: readonly (string | Buffer)[] | undefined;
  readonly auth?: { readonly user: string; readonly pass: string } | undefined;
}

type SessionResult =
  | { readonly ok: true; readonly info: SMTPConnectionSendInfo }
  | {
      readonly ok: false;
      readonly error: NodemailerError;
      /** Failed before MAIL FROM: nothing of this message reached the server. */
      readonly beforeTransaction: boolean;
    };

function connectionOptions(t: SessionTarget, options: DeliverOptions): SMTPConnectionOptions {
  const timeouts = options.timeouts ?? {};
  const tls: NonNullable<SMTPConnectionOptions['tls']> = {
    minVersion: 'TLSv1.2',
    // The certificate is checked whenever TLS is required; only a plaintext exception
    // relaxes it (an unverified STARTTLS is still better than none).
    rejectUnauthorized: t.tlsRequired,
    ...(t.ca === undefined ? {} : { ca: [...t.ca] }),
  };
  return {
    host: t.host,
    port: t.port,
    secure: t.implicitTls,
    requireTLS: t.tlsRequired && !t.implicitTls,
    ignoreTLS: false,
    opportunisticTLS: !t.tlsRequired,
    ...(isIP(t.name) === 0 ? { servername: t.name } : {}),
    name: options.clientName ?? hostname(),
    connectionTimeout: timeouts.connectionMs ?? 30_000,
    greetingTimeout: timeouts.greetingMs ?? 30_000,
    socketTimeout: timeouts.socketMs ?? 120_000,
    dnsTimeout: timeouts.dnsMs ?? 15_000,
    logger: false,
    debug: false,
    transactionLog: false,
    tls,
  };
}

/**
 * A connection's end, and a step runner: each step (connect, login, send) fails on its own
 * callback's error or on any fault of the connection meanwhile (an error, an early close).
 */
function watched(conn: SMTPConnection): {
  readonly ended: Promise<void>;
  readonly step: <T>(
    run: (done: (error: Error | null | undefined, value?: T) => void) => void,
  ) => Promise<T>;
} {
  let firstError: NodemailerError | undefined;
  const ended = new Promise<void>((resolve) => conn.once('end', () => resolve()));
  const broken = new Promise<never>((_resolve, reject) => {
    conn.on('error', (error: NodemailerError) => {
      firstError ??= error;
      reject(error);
    });
    void ended.then(() => {
      const error: NodemailerError = firstError ?? new Error('Connection closed unexpectedly');
      error.code ??= 'ECONNECTION';
      reject(error);
    });
  });
  broken.catch(() => undefined);
  const step = <T>(
    run: (done: (error: Error | null | undefined, value?: T) => void) => void,
  ): Promise<T> =>
    Promise.race([
      new Promise<T>((resolve, reject) =>
        run((error, value) => (error ? reject(error) : resolve(value as T))),
      ),
      broken,
    ]);
  return { ended, step };
}

/** How a smarthost is reached: TLS always required (risk-3), its certificate checked. */
function smarthostSession(target: SmarthostTarget): SessionTarget {
  return {
    host: target.host,
    name: target.tls?.servername ?? target.host,
    port: target.port,
    implicitTls: target.secure === 'implicit',
    tlsRequired: true,
    ca: target.tls?.ca,
    auth: target.auth,
  };
}

/** One step of a connection check, in the order they happen. */
export interface ProbeStep {
  readonly step: 'connect' | 'tls' | 'auth' | 'mailbox';
  readonly ok: boolean;
  readonly detail?: string;
}

/** What a connection check found: every step tried, and why the first failing one failed. */
export interface ProbeResult {
  readonly ok: boolean;
  readonly steps: readonly ProbeStep[];
  /** A registry code (RELAY_* for the relay) and a sentence without secrets; ok false only. */
  readonly reason?: { readonly code: ErrorCode; readonly message: string };
}

/**
 * Check a smarthost the way `deliver` reaches it, sending nothing: connect, EHLO, STARTTLS
 * (or implicit TLS) under the same TLS rules and options, AUTH when configured, then QUIT.
 * No MAIL FROM is ever given. Resolves (never throws) with the steps. The texts are the
 * server's replies and fault descriptions (as in `deliver`'s outcomes), which carry no
 * credential; hisp/host/connectionTest.ts scrubs the password from them all the same.
 */
export async function probeSmarthost(
  target: SmarthostTarget,
  options: DeliverOptions = {},
): Promise<ProbeResult> {
  const t = smarthostSession(target);
  const conn = new SMTPConnection(connectionOptions(t, options));
  const steps: ProbeStep[] = [];
  let phase: 'connect' | 'auth' = 'connect';
  const { ended, step } = watched(conn);
  try {
    // connect(): TCP (TLS from the start when implicit), greeting, EHLO, STARTTLS, EHLO.
    await step<void>((done) => conn.connect((error) => done(error)));
    steps.push({ step: 'connect', ok: true, detail: `${target.host}:${target.port} answered` });
    if (!conn.secure) {
      // requireTLS makes this unreachable; checked anyway, as deliver never goes on in plaintext.
      throw Object.assign(new Error(`${target.host} did not switch to TLS`), { code: 'ETLS' });
    }
    steps.push({
      step: 'tls',
      ok: true,
      detail:
        target.secure === 'implicit'
          ? 'implicit TLS, certificate verified'
          : 'STARTTLS, certificate verified',
    });
    if (t.auth !== undefined) {
      phase = 'auth';
      const auth = t.auth;
      await step<boolean>((done) =>
        conn.login({ user: auth.user, pass: auth.pass }, (error, ok) => done(error, ok)),
      );
      steps.push({ step: 'auth', ok: true, detail: `logged in as ${auth.user}` });
    }
    conn.quit();
    await closed(ended);
    return { ok: true, steps };
  } catch (caught) {
    conn.close();
    await closed(ended);
    const error: NodemailerError = caught instanceof Error ? caught : new Error(String(caught));
    const failure = classify(error, target.host, true);
    const reason: ErrorCode = isErrorCode(failure.reason) ? failure.reason : 'RELAY_CONNECTION';
    const message =
      failure.reason === RELAY_REASONS.connection || failure.reason === RELAY_REASONS.tls
        ? failure.response
        : `${target.host}: ${failure.response}`;
    if (phase === 'auth' || reason === RELAY_REASONS.auth) {
      steps.push({ step: 'auth', ok: false, detail: message });
    } else if (reason === RELAY_REASONS.tls) {
      // TLS comes after the TCP connection (and, with STARTTLS, the greeting and EHLO).
      if (steps.length === 0) {
        steps.push({ step: 'connect', ok: true, detail: `${target.host}:${target.port} answered` });
      }
      steps.push({ step: 'tls', ok: false, detail: message });
    } else if (steps.length === 0) {
      steps.push({ step: 'connect', ok: false, detail: message });
    } else {
      steps.push({ step: phase === 'connect' ? 'tls' : 'auth', ok: false, detail: message });
    }
    return { ok: false, steps, reason: { code: reason, message } };
  }
}

/** One SMTP session: connect (TLS), AUTH, one transaction, QUIT; resolves after the close. */
async function session(
  t: SessionTarget,
  envelope: { from: string; to: string[] },
  raw: Buffer,
  options: DeliverOptions,
): Promise<SessionResult> {
  const conn = new SMTPConnection(connectionOptions(t, options));
  let phase: 'connect' | 'auth' | 'send' = 'connect';
  const { ended, step } = watched(conn);
  try {
    await step<void>((done) => conn.connect((error) => done(error)));
    if (t.auth !== undefined) {
      phase = 'auth';
      const auth = t.auth;
      await step<boolean>((done) =>
        conn.login({ user: auth.user, pass: auth.pass }, (error, ok) => done(error, ok)),
      );
    }
    phase = 'send';
    const info = await step<SMTPConnectionSendInfo>((done) =>
      conn.send({ from: envelope.from, to: envelope.to, size: raw.length }, raw, done),
    );
    conn.quit();
    await closed(ended);
    return { ok: true, info };
  } catch (error) {
    conn.close();
    await closed(ended);
    return {
      ok: false,
      error: error instanceof Error ? error : new Error(String(error)),
      beforeTransaction: phase !== 'send',
    };
  }
}

/** Wait for the socket to close (bounded: nodemailer's own close grace is 5 s). */
async function closed(ended: Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    ended,
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, CLOSE_WAIT_MS);
      timer.unref();
    }),
  ]);
  clearTimeout(timer);
}

function outcomesOf(
  result: SessionResult,
  recipients: readonly string[],
  host: string,
  tlsRequired: boolean,
): DeliveryOutcome[] {
  if (result.ok) {
    const accepted = new Set(result.info.accepted.map((a) => a.toLowerCase()));
    const rejected = new Map(
      ((result.info.rejectedErrors ?? []) as NodemailerError[]).map((e) => [
        (e.recipient ?? '').toLowerCase(),
        e,
      ]),
    );
    const code = Number(/^\d{3}/.exec(result.info.response)?.[0]) || undefined;
    return recipients.map((recipient) => {
      const key = recipient.toLowerCase();
      if (accepted.has(key)) {
        return {
          recipient,
          outcome: 'relayed',
          reason: 'RELAYED',
          ...(code === undefined ? {} : { code }),
          response: bounded(result.info.response),
          host,
        };
      }
      const error = rejected.get(key) ?? new Error('The server did not accept the recipient.');
      return { recipient, ...classify(error, host, tlsRequired), host };
    });
  }
  const perRecipient = new Map(
    (result.error.rejectedErrors ?? []).map((e) => [(e.recipient ?? '').toLowerCase(), e]),
  );
  return recipients.map((recipient) => {
    const error = perRecipient.get(recipient.toLowerCase()) ?? result.error;
    return { recipient, ...classify(error, host, tlsRequired), host };
  });
}

function all(recipients: readonly string[], failure: Failure, host?: string): DeliveryOutcome[] {
  return recipients.map((recipient) => ({
    recipient,
    ...failure,
    ...(host === undefined ? {} : { host }),
  }));
}

function defaultResolver(options: DeliverOptions): MxResolver {
  const resolver = new Resolver({ timeout: options.timeouts?.dnsMs ?? 5_000, tries: 2 });
  if (options.dnsServers !== undefined) resolver.setServers([...options.dnsServers]);
  return resolver;
}

function dnsCode(error: unknown): string {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
}

type Hosts =
  | { readonly ok: true; readonly hosts: readonly string[] }
  | { readonly ok: false; readonly failure: Failure };

/** The domain's MX hosts by preference (RFC 5321 §5.1: no MX → the domain itself). */
async function mxHosts(domain: string, resolver: MxResolver): Promise<Hosts> {
  let records: { exchange: string; priority: number }[];
  try {
    records = await resolver.resolveMx(domain);
  } catch (error) {
    const code = dnsCode(error);
    if (code === 'ENODATA') return { ok: true, hosts: [domain] };
    if (code === 'ENOTFOUND') {
      return {
        ok: false,
        failure: {
          outcome: 'permanent',
          reason: RELAY_REASONS.noRoute,
          response: `The domain ${domain} does not exist (DNS NXDOMAIN).`,
        },
      };
    }
    return {
      ok: false,
      failure: {
        outcome: 'temporary',
        reason: RELAY_REASONS.dns,
        response: `The MX lookup for ${domain} failed (${code || 'error'}).`,
      },
    };
  }
  const usable = records.filter((r) => r.exchange !== '' && r.exchange !== '.');
  if (records.length > 0 && usable.length === 0) {
    return {
      ok: false,
      failure: {
        outcome: 'permanent',
        reason: RELAY_REASONS.noRoute,
        response: `The domain ${domain} accepts no mail (null MX, RFC 7505).`,
      },
    };
  }
  if (usable.length === 0) return { ok: true, hosts: [domain] };
  // Stable order within one preference (RFC 5321 allows, but does not require, shuffling).
  const sorted = [...usable].sort((a, b) => a.priority - b.priority);
  return { ok: true, hosts: sorted.map((r) => r.exchange.replace(/\.$/, '')) };
}

async function addresses(host: string, resolver: MxResolver): Promise<string[]> {
  if (isIP(host) !== 0) return [host];
  const [v4, v6] = await Promise.allSettled([resolver.resolve4(host), resolver.resolve6(host)]);
  return [
    ...(v4.status === 'fulfilled' ? v4.value : []),
    ...(v6.status === 'fulfilled' ? v6.value : []),
  ];
}

function checkInput(raw: Buffer, envelope: { from: string; to: readonly string[] }): void {
  if (!Buffer.isBuffer(raw) || raw.length === 0) {
    throw new HispError('BAD_REQUEST', 'There is no message to relay.');
  }
  if (envelope.to.length === 0) throw new HispError('BAD_REQUEST', 'There is no recipient.');
  for (const address of [envelope.from, ...envelope.to]) {
    if (typeof address !== 'string' || /[\r\n<>\s]/.test(address) || !address.includes('@')) {
      throw new HispError('BAD_REQUEST', 'An envelope address is not a plain mailbox address.');
    }
  }
}

/**
 * One delivery attempt of `raw` (sent byte for byte) to every recipient in `envelope.to`
 * through `target`; one SMTP transaction for all of them. Resolves with one outcome per
 * recipient, in order; it does not throw for delivery faults (only BAD_REQUEST for bad input).
 */
export async function deliver(
  raw: Buffer,
  envelope: { readonly from: string; readonly to: readonly string[] },
  target: RelayTarget,
  options: DeliverOptions = {},
): Promise<DeliveryOutcome[]> {
  checkInput(raw, envelope);
  const log = (options.logger ?? createSilentLogger()).child({ component: 'relay-smtp' });
  const to = [...envelope.to];
  if (target.kind === 'smarthost') {
    const result = await session(
      smarthostSession(target),
      { from: envelope.from, to },
      raw,
      options,
    );
    const outcomes = outcomesOf(result, to, target.host, true);
    log.info('relay attempt', summary(target.host, outcomes));
    return outcomes;
  }

  const tlsRequired = target.tlsRequired !== false;
  const resolver = options.resolver ?? defaultResolver(options);
  const found = await mxHosts(target.domain, resolver);
  if (!found.ok) {
    log.warn('no route', { domain: target.domain, reason: found.failure.reason });
    return all(to, found.failure);
  }
  let budget = Math.max(1, options.maxMxAddresses ?? 6);
  let last: DeliveryOutcome[] | undefined;
  for (const host of found.hosts) {
    let ips: string[];
    try {
      ips = await addresses(host, resolver);
    } catch {
      ips = [];
    }
    if (ips.length === 0) {
      last = all(
        to,
        {
          outcome: 'temporary',
          reason: RELAY_REASONS.dns,
          response: `The MX host ${host} has no address.`,
        },
        host,
      );
      continue;
    }
    for (const ip of ips) {
      if (budget === 0) break;
      budget -= 1;
      const result = await session(
        {
          host: ip,
          name: host,
          port: target.port ?? 25,
          implicitTls: false,
          tlsRequired,
          ca: target.tls?.ca,
        },
        { from: envelope.from, to },
        raw,
        options,
      );
      const outcomes = outcomesOf(result, to, host, tlsRequired);
      log.info('relay attempt', summary(host, outcomes));
      // The next MX only while nothing of the message reached a server (RFC 5321 §5.1).
      if (result.ok || !result.beforeTransaction) return outcomes;
      last = outcomes;
    }
    if (budget === 0) break;
  }
  return (
    last ?? all(to, { outcome: 'temporary', reason: RELAY_REASONS.dns, response: 'No MX host.' })
  );
}

function summary(host: string, outcomes: readonly DeliveryOutcome[]): Record<string, unknown> {
  return {
    host,
    relayed: outcomes.filter((o) => o.outcome === 'relayed').length,
    temporary: outcomes.filter((o) => o.outcome === 'temporary').length,
    permanent: outcomes.filter((o) => o.outcome === 'permanent').length,
    codes: [...new Set(outcomes.map((o) => o.code).filter((c) => c !== undefined))],
    reasons: [...new Set(outcomes.map((o) => o.reason))],
  };
}
