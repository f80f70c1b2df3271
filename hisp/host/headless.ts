/**
 * A HISP with its loopback bridge: what `sealpost serve` runs for its profile and what
 * `sealpost demo` runs for each of its two practices. One way to put a practice's HISP
 * together, so the demo is the server, not a copy of it: the services built before the HISP
 * (recipient checks, the mail service) reach it through {@link HispEvents}; the mail
 * service's and discovery's health join the status; `bridge.json` tells local tools where
 * the bridge listens.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type {
  Alert,
  CertificateAlert,
  ComponentStatus,
  DeliveryEvent,
  MailboxEvent,
} from '../api/contract.js';
import type { RecipientService } from '../certs/discovery/service.js';
import type { Logger } from '../log/logger.js';
import { writePrivateFile } from '../store/profile.js';
import { Bridge } from './bridge.js';
import { Hisp, type HispMode, type RecipientChecker, type SessionControl } from './hisp.js';
import type { MailService } from './mailService.js';
import type { SettingsHost } from './settings.js';

export interface HeadlessOptions {
  readonly mode: HispMode;
  readonly profileName: string;
  readonly throwaway: boolean;
  readonly host: string;
  readonly port: number;
  readonly root: string;
  readonly logger: Logger;
  readonly recipients?: RecipientChecker;
  readonly session?: SessionControl;
  /** The practice's mail: `sendMessage` runs on it and its components join the status. */
  readonly mail?: MailService;
  /** The settings calls' profile and trust store (hisp/host/settings.ts). */
  readonly settings?: SettingsHost;
  /** Bound to the new HISP (the services made before it talk to it through this). */
  readonly events?: HispEvents;
  /** Recipient discovery and the DNS servers it asks: a `discovery` status component. */
  readonly discovery?: {
    readonly recipients: RecipientService;
    readonly dnsServers: readonly { readonly host: string; readonly port: number }[];
  };
}

export interface RunningHisp {
  readonly hisp: Hisp;
  readonly bridge: Bridge;
  stop(): Promise<void>;
}

export function uiDirOf(root: string): string {
  return join(root, 'dist', 'renderer');
}

/**
 * What the HISP's services need from it before it exists (they are made first, since the
 * HISP is given them): status changes, certificate alerts and delivery events. Nothing is
 * sent until {@link startHeadless} binds it.
 */
export class HispEvents {
  #hisp: Hisp | undefined;

  bind(hisp: Hisp): void {
    this.#hisp = hisp;
  }

  /** Re-send the status to every mail window. */
  readonly statusChanged = (): void => {
    this.#hisp?.statusChanged();
  };

  readonly certificateAlert = (alert: CertificateAlert): void => {
    this.#hisp?.channel.broadcast('certificateAlert', alert);
  };

  readonly delivery = (event: DeliveryEvent): void => {
    this.#hisp?.channel.broadcast('delivery', event);
  };

  readonly mailbox = (event: MailboxEvent): void => {
    this.#hisp?.channel.broadcast('mailbox', event);
  };

  readonly alert = (alert: Alert): void => {
    this.#hisp?.raiseAlert(alert);
  };

  readonly alertCleared = (kind: Alert['kind']): void => {
    this.#hisp?.clearAlert(kind);
  };
}

export async function startHeadless(options: HeadlessOptions): Promise<RunningHisp> {
  const hisp = new Hisp({
    mode: options.mode,
    profile: { name: options.profileName, throwaway: options.throwaway },
    logger: options.logger,
    ...(options.recipients === undefined ? {} : { recipients: options.recipients }),
    ...(options.session === undefined ? {} : { session: options.session }),
    ...(options.mail === undefined ? {} : { mail: options.mail }),
    ...(options.settings === undefined ? {} : { settings: options.settings }),
  });
  options.events?.bind(hisp);
  const bridge = await Bridge.start({
    channel: hisp.channel,
    logger: options.logger,
    host: options.host,
    port: options.port,
    uiDir: uiDirOf(options.root),
  });
  hisp.addComponent('bridge', () => ({
    name: 'bridge',
    state: 'ok',
    detail: `loopback port ${bridge.port}`,
  }));
  const { discovery, mail } = options;
  if (discovery !== undefined) {
    hisp.addComponent('discovery', () =>
      discoveryStatus(discovery.recipients, discovery.dnsServers),
    );
  }
  if (mail !== undefined) {
    // The mail service names its components by what is configured, running or not.
    for (const name of mail.components().map((component) => component.name)) {
      hisp.addComponent(
        name,
        () =>
          mail.components().find((component) => component.name === name) ?? {
            name,
            state: 'off',
          },
      );
    }
  }
  hisp.start();
  let stopped = false;
  return {
    hisp,
    bridge,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      hisp.stop();
      await bridge.close();
    },
  };
}

/**
 * Write `file` (mode 600, whole or not at all) with where the bridge listens and its token:
 * `{"url", "token", "pid"}`. Resolves to a function that removes it again.
 */
export async function writeBridgeFile(file: string, bridge: Bridge): Promise<() => Promise<void>> {
  await writePrivateFile(
    file,
    `${JSON.stringify({ url: bridge.url, token: bridge.token, pid: process.pid })}\n`,
  );
  return () => rm(file, { force: true });
}

function discoveryStatus(
  recipients: RecipientService,
  dnsServers: readonly { host: string; port: number }[],
): ComponentStatus {
  const { checks, alert } = recipients.summary();
  const servers = dnsServers.map((server) => `${server.host}:${server.port}`).join(', ');
  return {
    name: 'discovery',
    state: alert === undefined ? 'ok' : 'degraded',
    detail:
      alert === undefined
        ? `${checks} recipient lookup(s); DNS ${servers}`
        : `${alert.count} invalid certificates for ${alert.domain} within ${Math.round(alert.windowMs / 60_000)} min (${alert.reasons.map((entry) => entry.code).join(', ')}): a spoofed answer or a broken CA; DNS ${servers}`,
  };
}
