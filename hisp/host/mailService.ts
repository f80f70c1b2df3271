/**
 * The mail side of one practice's HISP (`sealpost serve`, and each practice of the demo):
 * MailStore, IdentityStore, trust store, MailAgent, RelayWorker, inbound SMTP, the upstream
 * IMAP pull and the local submission endpoint, as the practice's config file asks; and the
 * events the mail windows hear (mailbox, delivery, alert).
 *
 * It runs only while the profile is unlocked: `start` on unlock, `stop` before the profile
 * closes on lock (everything that holds the profile — listeners, workers, the store — is
 * let go). Start and stop are serialised; the status components `relay`, `inbound`,
 * `upstream` (and `submission` when configured) say how it goes.
 *
 * Nothing leaves unencrypted (risk-15): the submission endpoint parses what a mail client
 * submits (hisp/relay/submission.ts: From, To, Cc, Bcc from the envelope, Subject, the text
 * and the attachments) and hands that to MailAgent.send, which signs and encrypts; the
 * submitted bytes themselves are never relayed.
 */
import { domainOf } from '../agent/mime/address.js';
import { createHash, timingSafeEqual } from 'node:crypto';
import type {
  Alert,
  ComponentStatus,
  ConnectionTest,
  DeliveryEvent,
  MailboxEvent,
} from '../api/contract.js';
import { HispError } from '../api/errors.js';
import type { RecipientService } from '../certs/discovery/service.js';
import type { Fetcher } from '../certs/fetch.js';
import type { TrustStore } from '../certs/trust/store.js';
import type { ServeConfig } from '../cli/serveConfig.js';
import { IdentityStore } from '../keys/identities.js';
import type { Fields, Logger } from '../log/logger.js';
import { ImapPull } from '../relay/imapPull.js';
import { MailAgent, type ComposeInput, type SendResult } from '../relay/mailAgent.js';
import { DeliveryMonitor, SilenceMonitor } from '../relay/monitors.js';
import { RelayWorker } from '../relay/relayWorker.js';
import { composeFromSubmission } from '../relay/submission.js';
import type { RelayTarget } from '../relay/smtpClient.js';
import {
  startInboundSmtp,
  startSubmission,
  type RunningSmtp,
  type SmtpDecision,
  type SmtpEnvelope,
} from '../relay/smtpServer.js';
import { MailStore } from '../store/mail.js';
import { smarthostTarget, testConnection, upstreamAccount } from './connectionTest.js';
import { clamp, folderCounts, type MailboxParts } from './mailbox.js';
import type { Profile } from '../store/profile.js';

export type MailConfig = Omit<ServeConfig, 'dns'>;

export interface MailServiceOptions {
  /** The configuration mail starts on; {@link MailService.reconfigure} replaces it. */
  readonly config: MailConfig;
  /** Shared with checkRecipients: the same lookups, caches and alerts. */
  readonly recipients: RecipientService;
  /** Fetches remote images a user asks for (`loadRemoteImages`); absent: none are fetched. */
  readonly fetcher?: Fetcher;
  /** DNS servers for MX lookups (relay "mx"). */
  readonly dnsServers: readonly { readonly host: string; readonly port: number }[];
  readonly logger: Logger;
  /**
   * Revocation checking of inbound senders (default soft: a status that cannot be found is
   * reported, not fatal). The demo turns it off: its PKI publishes no CRL or OCSP service.
   */
  readonly revocation?: 'soft' | 'hard' | 'off';
  /** Relay worker poll when nothing was due (default 30 s; it is woken on every send). */
  readonly relayPollMs?: number;
  /** Upstream IMAP poll (default 60 s). */
  readonly upstreamPollMs?: number;
  /** Told when a component's state changes (the HISP re-sends its status). */
  readonly onChange?: () => void;
  /** A sent message's delivery changed for a recipient (the `delivery` event). */
  readonly onDelivery?: (event: DeliveryEvent) => void;
  /** Mail arrived, was sent or changed folder (the `mailbox` event). */
  readonly onMailbox?: (event: MailboxEvent) => void;
  /** Something the user must know about, not tied to a message (the `alert` event). */
  readonly onAlert?: (alert: Alert) => void;
  /** The condition behind an alert is over (inbound traffic again after silence). */
  readonly onAlertCleared?: (kind: Alert['kind']) => void;
}

/** Relay failures that are the smarthost's, not one recipient's: each raises the `relay` alert. */
const RELAY_ALERT_CODES = new Set(['RELAY_AUTH_FAILED', 'RELAY_TLS_REQUIRED', 'RELAY_CONNECTION']);

/** Largest message taken from a local mail client. */
const SUBMISSION_MAX_BYTES = 32 * 1024 * 1024;

interface Running {
  readonly profile: Profile;
  readonly trust: TrustStore;
  readonly store: MailStore;
  readonly identities: IdentityStore;
  readonly agent: MailAgent;
  readonly relay: RelayWorker | undefined;
  readonly inbound: RunningSmtp | undefined;
  readonly submission: RunningSmtp | undefined;
  readonly upstream: ImapPull | undefined;
  readonly deliveries: DeliveryMonitor;
  readonly silence: SilenceMonitor | undefined;
  readonly localDomains: readonly string[];
}

/** "3 hours", "1 hour", "12 minutes" (under an hour), "4 seconds" (under a minute). */
export function spokenDuration(ms: number): string {
  const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`;
  if (ms >= 3_600_000) return plural(Math.floor(ms / 3_600_000), 'hour');
  if (ms >= 60_000) return plural(Math.floor(ms / 60_000), 'minute');
  return plural(Math.max(1, Math.round(ms / 1000)), 'second');
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** A logger that also tells `hook` about each line (for the last error in the status). */
function observed(logger: Logger, hook: (msg: string, fields: Fields | undefined) => void): Logger {
  return {
    debug: (msg, fields) => logger.debug(msg, fields),
    info: (msg, fields) => {
      hook(msg, fields);
      logger.info(msg, fields);
    },
    warn: (msg, fields) => {
      hook(msg, fields);
      logger.warn(msg, fields);
    },
    error: (msg, fields) => {
      hook(msg, fields);
      logger.error(msg, fields);
    },
    child: (bindings) => observed(logger.child(bindings), hook),
    addSecret: (secret) => logger.addSecret(secret),
  };
}

export class MailService {
  readonly #options: MailServiceOptions;
  readonly #log: Logger;
  #config: MailConfig;
  #running: Running | undefined;
  #busy: Promise<unknown> = Promise.resolve();
  #received = 0;
  #submitted = 0;
  #upstreamError: string | undefined;
  #upstreamSyncs = 0;
  #startError: string | undefined;
  /** The code behind the `relay` alert raised, while it holds. */
  #relayAlert: string | undefined;

  constructor(options: MailServiceOptions) {
    this.#options = options;
    this.#log = options.logger.child({ component: 'mail-service' });
    this.#config = options.config;
    this.#keepSecretsOutOfLogs(options.config);
  }

  /** The configuration mail runs (or will run) on. */
  get config(): MailConfig {
    return this.#config;
  }

  #keepSecretsOutOfLogs(config: MailConfig): void {
    for (const secret of [
      config.relay?.kind === 'smarthost' ? config.relay.auth?.pass : undefined,
      config.upstream?.pass,
      config.submission?.pass,
    ]) {
      if (secret !== undefined) this.#options.logger.addSecret(secret);
    }
  }

  /**
   * Run on `config` from now on (Settings › Mail server and preferences saved): when mail is
   * running it is stopped and started again on the same profile, so the relay, the upstream
   * pull and the monitors pick the change up at once; the queue and the mailbox are kept (they
   * live in the profile). A start that fails leaves mail stopped with the reason in the status,
   * as at unlock, and rejects.
   */
  reconfigure(config: MailConfig): Promise<void> {
    this.#keepSecretsOutOfLogs(config);
    return this.#serial(async () => {
      this.#config = config;
      // A relay alert was about the old settings; the new ones raise their own.
      this.#relayWorks();
      const running = this.#running;
      if (running === undefined) {
        this.#options.onChange?.();
        return;
      }
      this.#running = undefined;
      await this.#teardown(running);
      // What waited on the old relay settings is tried on the new ones at once.
      if (config.relay !== undefined) running.store.retryWaitingNow();
      await this.#startOn(running.profile, running.trust);
      this.#log.info('mail restarted on new settings');
    });
  }

  get running(): boolean {
    return this.#running !== undefined;
  }

  /** Start on an unlocked profile (again after each unlock). A second start is a no-op. */
  start(profile: Profile, trust: TrustStore): Promise<void> {
    return this.#serial(async () => {
      if (this.#running !== undefined) return;
      await this.#startOn(profile, trust);
    });
  }

  /** Start on `profile` (inside #serial); a failure's code is kept for the status. */
  async #startOn(profile: Profile, trust: TrustStore): Promise<void> {
    try {
      this.#running = await this.#start(profile, trust);
      this.#startError = undefined;
    } catch (error) {
      this.#startError = error instanceof HispError ? error.code : 'INTERNAL';
      throw error;
    } finally {
      this.#options.onChange?.();
    }
  }

  /** Let go of the profile: listeners closed, workers stopped (the pass in hand settles). */
  stop(): Promise<void> {
    return this.#serial(async () => {
      const running = this.#running;
      if (running === undefined) return;
      this.#running = undefined;
      await this.#teardown(running);
      this.#log.info('mail stopped');
      this.#options.onChange?.();
    });
  }

  /** Compose, sign, encrypt and queue (the `sendMessage` call); PROFILE_LOCKED when locked. */
  async send(input: ComposeInput): Promise<SendResult> {
    const running = this.#running;
    if (running === undefined) {
      throw new HispError('PROFILE_LOCKED', 'The profile is locked. Unlock it to continue.');
    }
    const result = await running.agent.send(input);
    running.relay?.wake();
    this.#options.onChange?.();
    this.#mailboxChanged(running.store, []);
    return result;
  }

  /**
   * Try the configured relay smarthost or upstream mailbox as sending or pulling would,
   * sending nothing (the `testConnection` call); PROFILE_LOCKED when locked.
   */
  async testConnection(
    target: ConnectionTest['target'],
    accounts: Pick<MailConfig, 'relay' | 'upstream'> = this.#config,
  ): Promise<ConnectionTest> {
    if (this.#running === undefined) {
      throw new HispError('PROFILE_LOCKED', 'The profile is locked. Unlock it to continue.');
    }
    this.#keepSecretsOutOfLogs(accounts);
    return testConnection(accounts, target, { logger: this.#options.logger });
  }

  /** Tell the mail windows the folder counts changed (and what arrived, if anything). */
  mailboxChanged(): void {
    const running = this.#running;
    if (running !== undefined) this.#mailboxChanged(running.store, []);
  }

  #mailboxChanged(store: MailStore, arrivedIds: readonly number[]): void {
    const onMailbox = this.#options.onMailbox;
    if (onMailbox === undefined) return;
    try {
      const arrived = arrivedIds
        .map((id) => store.get(id))
        .filter((row) => row.folder === 'inbox' || row.folder === 'untrusted')
        .map((row) => ({
          id: row.id,
          folder: row.folder,
          subject: clamp(row.subject, 4000),
          sender: clamp(row.sender, 4000),
        }));
      onMailbox({ folders: folderCounts(store), arrived });
    } catch (error) {
      // A closed store (locked meanwhile) has nothing to report.
      this.#log.debug('mailbox event not sent', { code: HispError.from(error).code });
    }
  }

  /** The running mailbox, for the mail window's calls; PROFILE_LOCKED when locked. */
  parts(): MailboxParts {
    const running = this.#running;
    if (running === undefined) {
      throw new HispError('PROFILE_LOCKED', 'The profile is locked. Unlock it to continue.');
    }
    return {
      store: running.store,
      identities: running.identities,
      agent: running.agent,
      localDomains: running.localDomains,
      fetcher: this.#options.fetcher,
    };
  }

  components(): ComponentStatus[] {
    const config = this.#config;
    const running = this.#running;
    const locked = (name: string): ComponentStatus => ({
      name,
      state: this.#startError === undefined ? 'off' : 'down',
      detail:
        this.#startError === undefined
          ? 'profile locked'
          : `not running (${this.#startError}); unlock the profile again to retry`,
    });
    const out: ComponentStatus[] = [];
    // relay
    if (running === undefined) {
      out.push(locked('relay'));
    } else {
      const queue = queueSummary(running.profile);
      const where =
        config.relay === undefined
          ? 'no relay configured: messages stay queued'
          : config.relay.kind === 'smarthost'
            ? `smarthost ${config.relay.host}:${config.relay.port}`
            : 'direct to MX';
      out.push({
        name: 'relay',
        state:
          config.relay === undefined ? 'off' : queue.lastError === undefined ? 'ok' : 'degraded',
        detail:
          `${where}; ${queue.queued} queued, ${queue.failed} failed` +
          (queue.lastError === undefined ? '' : `; last error ${queue.lastError}`),
      });
    }
    // inbound
    if (config.inbound === undefined) {
      out.push({ name: 'inbound', state: 'off', detail: 'no inbound SMTP configured' });
    } else if (running?.inbound === undefined) {
      out.push(locked('inbound'));
    } else {
      out.push({
        name: 'inbound',
        state: 'ok',
        detail: `SMTP on ${running.inbound.host}:${running.inbound.port} for ${running.localDomains.join(', ')}; ${this.#received} received`,
      });
    }
    // upstream
    if (config.upstream === undefined) {
      out.push({ name: 'upstream', state: 'off', detail: 'no upstream mailbox configured' });
    } else if (running?.upstream === undefined) {
      out.push(locked('upstream'));
    } else {
      out.push({
        name: 'upstream',
        state: this.#upstreamError === undefined ? 'ok' : 'degraded',
        detail:
          `IMAP ${config.upstream.host}:${config.upstream.port} (${config.upstream.mailbox ?? 'INBOX'}); ${this.#upstreamSyncs} sync(s) with news` +
          (this.#upstreamError === undefined ? '' : `; last error ${this.#upstreamError}`),
      });
    }
    if (config.submission !== undefined) {
      out.push(
        running?.submission === undefined
          ? locked('submission')
          : {
              name: 'submission',
              state: 'ok',
              detail: `SMTP submission on ${running.submission.host}:${running.submission.port}; ${this.#submitted} submitted`,
            },
      );
    }
    if (config.silenceAlertHours !== undefined) {
      const silence = running?.silence?.check();
      out.push(
        silence === undefined
          ? locked('traffic')
          : {
              name: 'traffic',
              state: silence.silent ? 'degraded' : 'ok',
              detail: silence.silent
                ? `no inbound Direct message for ${Math.floor(silence.sinceMs / 3_600_000)} h ${Math.floor((silence.sinceMs % 3_600_000) / 60_000)} min (alert after ${config.silenceAlertHours} h): check the MX, the upstream account and the firewall`
                : `inbound Direct traffic within the last ${config.silenceAlertHours} h`,
            },
      );
    }
    return out;
  }

  async #start(profile: Profile, trust: TrustStore): Promise<Running> {
    const { recipients, logger } = this.#options;
    const config = this.#config;
    const store = new MailStore(profile, { logger });
    const identities = new IdentityStore(profile);
    const localDomains = [
      ...new Set(
        identities
          .list()
          .flatMap((identity) => identity.addresses)
          .map((entry) => (entry.bound === 'domain' ? entry.address : domainOf(entry.address))),
      ),
    ];
    const agent = new MailAgent({
      store,
      identities,
      trust,
      recipients,
      logger,
      requestDispatched: config.requestDispatched !== false,
      ...(this.#options.revocation === undefined ? {} : { revocation: this.#options.revocation }),
      onArrived: (id) => {
        this.#options.onAlertCleared?.('silence');
        this.#mailboxChanged(store, [id]);
      },
      onDelivery: (id, recipient, state) =>
        this.#options.onDelivery?.({ id, recipient, state, at: new Date().toISOString() }),
    });
    // Recipients that owe a delivery notification past the timeout (1 h unless set otherwise)
    // become timed-out.
    const deliveries = new DeliveryMonitor({
      store,
      logger,
      ...(config.deliveryTimeoutHours === undefined
        ? {}
        : { timeoutMs: Math.round(config.deliveryTimeoutHours * 3_600_000) }),
      onTimedOut: (rows) => {
        this.#options.onChange?.();
        const at = new Date().toISOString();
        for (const row of rows) {
          this.#options.onDelivery?.({
            id: row.messageId,
            recipient: row.recipient,
            state: 'timed-out',
            reason: {
              code: 'DELIVERY_TIMED_OUT',
              message:
                "No delivery notification came back from the recipient's HISP in time, so delivery cannot be confirmed.",
            },
            at,
          });
        }
      },
    });
    deliveries.start();
    // risk-5: no inbound Direct traffic for the configured period is worth an alert.
    const silenceMs = (config.silenceAlertHours ?? 0) * 60 * 60 * 1000;
    const silence =
      silenceMs > 0
        ? new SilenceMonitor({
            lastInbound: () => store.lastInboundAt(),
            thresholdMs: silenceMs,
            pollMs: Math.max(50, Math.min(60_000, Math.floor(silenceMs / 4))),
            logger,
            onAlert: (state) => {
              this.#options.onChange?.();
              this.#options.onAlert?.({
                kind: 'silence',
                message: `No Direct message has arrived for ${spokenDuration(state.sinceMs)} (the alert is set at ${spokenDuration((config.silenceAlertHours ?? 0) * 3_600_000)}). Check the practice's MX record, the upstream mail account and the firewall: mail may be going astray.`,
                at: new Date().toISOString(),
              });
            },
          })
        : undefined;
    silence?.start();
    const parts: {
      relay?: RelayWorker;
      inbound?: RunningSmtp;
      submission?: RunningSmtp;
      upstream?: ImapPull;
    } = {};
    const partial = (): Running => ({
      profile,
      trust,
      store,
      identities,
      agent,
      relay: parts.relay,
      inbound: parts.inbound,
      submission: parts.submission,
      upstream: parts.upstream,
      deliveries,
      silence,
      localDomains,
    });
    try {
      if (config.inbound !== undefined) {
        if (localDomains.length === 0) {
          throw new HispError(
            'IDENTITY_NOT_FOUND',
            'Inbound SMTP needs the practice’s Direct domains: import an identity with `sealpost profile import-key` first.',
          );
        }
        parts.inbound = await startInboundSmtp({
          host: config.inbound.listen.host,
          port: config.inbound.listen.port,
          tls: config.inbound.tls,
          maxBytes: config.inbound.maxBytes,
          localDomains,
          logger,
          accept: async (raw, envelope) => {
            const decision = await agent.receive(raw, envelope);
            if (decision.accepted) {
              this.#received += 1;
              this.#options.onChange?.();
              // A trusted message may have queued delivery notifications.
              parts.relay?.wake();
            }
            return decision;
          },
        });
      }
      if (config.relay !== undefined) {
        const relay = config.relay;
        const dnsServers = this.#options.dnsServers.map((s) =>
          s.host.includes(':') ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`,
        );
        parts.relay = new RelayWorker({
          store,
          target: (domain): RelayTarget =>
            relay.kind === 'smarthost'
              ? smarthostTarget(relay)
              : {
                  kind: 'mx',
                  domain,
                  tlsRequired: !relay.exceptions.includes(domain.toLowerCase()),
                  ...(relay.port === undefined ? {} : { port: relay.port }),
                },
          deliverOptions: { dnsServers },
          ...(this.#options.relayPollMs === undefined ? {} : { pollMs: this.#options.relayPollMs }),
          logger,
          onRelayed: () => {
            this.#relayWorks();
            this.#mailboxChanged(store, []);
          },
          onRetrying: (_id, _recipient, reason) => this.#relayTrouble(relay, reason),
          onFailed: (id, recipient, reason) => {
            this.#relayTrouble(relay, reason);
            this.#options.onChange?.();
            this.#mailboxChanged(store, []);
            this.#options.onDelivery?.({
              id,
              recipient,
              state: 'failed',
              reason: { code: reason.code.slice(0, 64), message: reason.message.slice(0, 2000) },
              at: new Date().toISOString(),
            });
          },
        });
        parts.relay.start();
      }
      if (config.upstream !== undefined) {
        const up = config.upstream;
        const fallbackDomain = localDomains[0] ?? '';
        parts.upstream = new ImapPull({
          profile,
          store,
          // The local domain is not known per message here; the first identity domain's
          // inbound anchors verify (one practice, one domain is the common case).
          open: agent.opener(fallbackDomain),
          // Through the mail agent: pulled messages are answered with MDNs and notifications
          // pulled this way are applied, as for inbound SMTP.
          receive: async (raw, envelope) => {
            const stored = await agent.deliver(raw, envelope);
            if (!stored.duplicate) parts.relay?.wake();
            return stored;
          },
          account: upstreamAccount(up),
          afterStore: up.afterStore,
          ...(up.moveTo === undefined ? {} : { moveTo: up.moveTo }),
          ...(this.#options.upstreamPollMs === undefined
            ? {}
            : { pollMs: this.#options.upstreamPollMs }),
          logger: observed(logger, (msg, fields) => {
            if (msg === 'upstream sync failed; retrying') {
              const kind = fields?.['kind'];
              const code = fields?.['code'];
              this.#upstreamError =
                typeof code === 'string'
                  ? code
                  : kind === 'tls'
                    ? 'UPSTREAM_TLS_REQUIRED'
                    : kind === 'auth'
                      ? 'UPSTREAM_AUTH_FAILED'
                      : 'UPSTREAM_UNAVAILABLE';
              this.#options.onChange?.();
            } else if (msg === 'upstream sync' || msg === 'upstream reconnected') {
              if (msg === 'upstream sync') this.#upstreamSyncs += 1;
              this.#upstreamError = undefined;
              this.#options.onChange?.();
            }
          }),
        });
        parts.upstream.start();
      }
      if (config.submission !== undefined) {
        const sub = config.submission;
        const user = digest(sub.user);
        const pass = digest(sub.pass);
        parts.submission = await startSubmission({
          host: sub.listen.host,
          port: sub.listen.port,
          tls: sub.tls,
          maxBytes: SUBMISSION_MAX_BYTES,
          logger,
          authenticate: (u, p) =>
            // Both compared, always, in constant time.
            Promise.resolve(
              [timingSafeEqual(digest(u), user), timingSafeEqual(digest(p), pass)].every(Boolean),
            ),
          submit: async (raw, envelope) => {
            const decision = await this.#submit(agent, raw, envelope);
            if (decision.accepted) {
              this.#submitted += 1;
              parts.relay?.wake();
              this.#options.onChange?.();
            }
            return decision;
          },
        });
      }
    } catch (error) {
      await this.#teardown(partial());
      throw error;
    }
    this.#log.info('mail started', {
      inbound: parts.inbound !== undefined,
      relay: config.relay?.kind ?? 'none',
      upstream: parts.upstream !== undefined,
      submission: parts.submission !== undefined,
    });
    return partial();
  }

  async #teardown(running: Running): Promise<void> {
    const steps: [string, () => Promise<void> | undefined][] = [
      ['submission', () => running.submission?.close()],
      ['inbound', () => running.inbound?.close()],
      ['upstream', () => running.upstream?.stop()],
      ['relay', () => running.relay?.stop()],
      [
        'deliveries',
        () => {
          running.deliveries.stop();
          running.silence?.stop();
          return undefined;
        },
      ],
    ];
    for (const [name, step] of steps) {
      try {
        await step();
      } catch (error) {
        this.#log.warn('stopping a mail component failed', {
          part: name,
          ...(error instanceof HispError ? { code: error.code } : {}),
        });
      }
    }
  }

  /** A message from a local mail client: parsed, then sent the one way (risk-15). */
  async #submit(agent: MailAgent, raw: Buffer, envelope: SmtpEnvelope): Promise<SmtpDecision> {
    let input: ComposeInput;
    try {
      input = composeFromSubmission(raw, envelope);
    } catch (error) {
      return {
        accepted: false,
        code: 554,
        message: `5.6.0 ${error instanceof HispError ? error.message : 'The message cannot be read.'}`,
      };
    }
    try {
      const sent = await agent.send(input);
      const queued = sent.recipients.filter((r) => r.state === 'queued').length;
      this.#log.info('submission sent', { queued, refused: sent.recipients.length - queued });
      if (queued === 0) {
        return {
          accepted: false,
          code: 550,
          message: '5.7.1 No recipient has a usable Direct certificate; nothing was sent.',
        };
      }
      return { accepted: true };
    } catch (error) {
      if (error instanceof HispError && error.code === 'IDENTITY_NOT_FOUND') {
        return { accepted: false, code: 550, message: `5.7.1 ${error.message}` };
      }
      if (error instanceof HispError && error.code === 'BAD_REQUEST') {
        return { accepted: false, code: 554, message: `5.6.0 ${error.message}` };
      }
      if (error instanceof HispError && error.code === 'LIMIT_EXCEEDED') {
        return { accepted: false, code: 552, message: `5.3.4 ${error.message}` };
      }
      throw error;
    }
  }

  /**
   * The smarthost itself is the problem (it refuses the login, offers no TLS, or cannot be
   * reached): every message waits, whoever it is for, so the mail windows get the `relay`
   * alert until a copy is handed over again. A problem with one recipient's domain (MX) is
   * that recipient's delivery state, not an alert.
   */
  #relayTrouble(relay: NonNullable<MailConfig['relay']>, reason: { code: string }): void {
    if (relay.kind !== 'smarthost' || !RELAY_ALERT_CODES.has(reason.code)) return;
    if (this.#relayAlert === reason.code) return;
    this.#relayAlert = reason.code;
    const where = `${relay.host}:${relay.port}`;
    const why =
      reason.code === 'RELAY_AUTH_FAILED'
        ? `refuses Sealpost's login: check the relay account and password in Settings › Mail server and preferences`
        : reason.code === 'RELAY_TLS_REQUIRED'
          ? 'does not offer a secure (TLS) connection, so nothing is sent to it'
          : 'cannot be reached: check the server name and port, and that it is running';
    this.#options.onAlert?.({
      kind: 'relay',
      message: `The outgoing mail server ${where} ${why}. Messages wait in the Outbox.`,
      at: new Date().toISOString(),
    });
  }

  #relayWorks(): void {
    if (this.#relayAlert === undefined) return;
    this.#relayAlert = undefined;
    this.#options.onAlertCleared?.('relay');
  }

  async #serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#busy.then(work, work);
    this.#busy = next.catch(() => undefined);
    return next;
  }
}

function queueSummary(profile: Profile): {
  queued: number;
  failed: number;
  lastError: string | undefined;
} {
  return profile.db.read((db) => {
    const counts = db
      .prepare(
        `SELECT
           COALESCE(SUM(state IN ('queued', 'sending')), 0) AS queued,
           COALESCE(SUM(state = 'failed'), 0) AS failed
         FROM outbound_queue`,
      )
      .get() as { queued: number; failed: number };
    // The newest error of a row still waiting (a retry) or failed for good.
    const last = db
      .prepare(
        `SELECT last_error FROM outbound_queue
         WHERE last_error IS NOT NULL AND state IN ('queued', 'failed')
         ORDER BY updated_at DESC, id DESC LIMIT 1`,
      )
      .get() as { last_error: string } | undefined;
    let lastError: string | undefined;
    if (last !== undefined) {
      try {
        const parsed = JSON.parse(last.last_error) as { code?: unknown };
        lastError = typeof parsed.code === 'string' ? parsed.code.slice(0, 64) : 'UNKNOWN';
      } catch {
        lastError = 'UNKNOWN';
      }
    }
    return { queued: counts.queued, failed: counts.failed, lastError };
  });
}
