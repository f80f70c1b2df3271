/**
 * A practice's HISP and what carries its calls: the loopback bridge (what `sealpost serve`
 * runs for its profile and `sealpost demo` for each of its two practices) or the desktop
 * app's MessagePorts. One way to put a practice's HISP together ({@link startHisp}), so the
 * demo and the desktop are the server, not copies of it: the services built before the HISP
 * (recipient checks, the mail service) reach it through {@link HispEvents}; the mail
 * service's and discovery's health join the status; `bridge.json` tells local tools where
 * the bridge listens. hisp/host/practice.ts builds a whole practice on top of this.
 */
import { readFile, rm } from 'node:fs/promises';
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
import {
  Hisp,
  type HispMode,
  type PreferencesHost,
  type RecipientChecker,
  type SessionControl,
} from './hisp.js';
import type { MailService } from './mailService.js';
import type { SettingsHost } from './settings.js';

/** What a practice's HISP is made of, whatever carries its calls. */
export interface HispSetup {
  readonly mode: HispMode;
  readonly profileName: string;
  readonly throwaway: boolean;
  readonly logger: Logger;
  readonly recipients?: RecipientChecker;
  readonly session?: SessionControl;
  /** The practice's mail: `sendMessage` runs on it and its components join the status. */
  readonly mail?: MailService;
  /** The settings calls' profile and trust store (hisp/host/settings.ts). */
  readonly settings?: SettingsHost;
  /** The preference calls (hisp/host/preferences.ts through the practice). */
  readonly preferences?: PreferencesHost;
  /** Bound to the new HISP (the services made before it talk to it through this). */
  readonly events?: HispEvents;
  /** Recipient discovery and the DNS servers it asks: a `discovery` status component. */
  readonly discovery?: {
    readonly recipients: RecipientService;
    readonly dnsServers: readonly { readonly host: string; readonly port: number }[];
  };
}

export interface HeadlessOptions extends HispSetup {
  readonly host: string;
  readonly port: number;
  readonly root: string;
}

/**
 * What carries the mail windows' calls to a HISP: the loopback bridge ({@link attachBridge})
 * or the desktop app's MessagePorts (hisp/host/utility.ts). Stopped after the HISP.
 */
export interface HispTransport {
  stop(): Promise<void> | void;
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

/**
 * Make the HISP of `setup`, connect its transport with `attach` (whose status component comes
 * first), add the services' status components, and start it. Stopping stops the HISP, then
 * the transport.
 */
export async function startHisp<T extends HispTransport>(
  setup: HispSetup,
  attach: (hisp: Hisp) => Promise<T>,
): Promise<{ readonly hisp: Hisp; readonly transport: T; stop(): Promise<void> }> {
  const hisp = new Hisp({
    mode: setup.mode,
    profile: { name: setup.profileName, throwaway: setup.throwaway },
    logger: setup.logger,
    ...(setup.recipients === undefined ? {} : { recipients: setup.recipients }),
    ...(setup.session === undefined ? {} : { session: setup.session }),
    ...(setup.mail === undefined ? {} : { mail: setup.mail }),
    ...(setup.settings === undefined ? {} : { settings: setup.settings }),
    ...(setup.preferences === undefined ? {} : { preferences: setup.preferences }),
  });
  setup.events?.bind(hisp);
  const transport = await attach(hisp);
  const { discovery, mail } = setup;
  if (discovery !== undefined) {
    hisp.addComponent('discovery', () =>
      discoveryStatus(discovery.recipients, discovery.dnsServers),
    );
  }
  if (mail !== undefined) {
    // Which parts the mail service has follows its configuration, which Settings can change.
    hisp.addComponent('mail', () => mail.components());
  }
  hisp.start();
  let stopped = false;
  return {
    hisp,
    transport,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      hisp.stop();
      await transport.stop();
    },
  };
}

/** The loopback bridge serving `hisp` and the built UI, with its `bridge` status component. */
export async function attachBridge(
  hisp: Hisp,
  options: {
    readonly host: string;
    readonly port: number;
    readonly root: string;
    readonly logger: Logger;
  },
): Promise<{ readonly bridge: Bridge; stop(): Promise<void> }> {
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
  return { bridge, stop: () => bridge.close() };
}

/** A HISP served on the loopback bridge (what each practice of the demo runs). */
export async function startHeadless(options: HeadlessOptions): Promise<RunningHisp> {
  const started = await startHisp(options, (hisp) => attachBridge(hisp, options));
  return { hisp: started.hisp, bridge: started.transport.bridge, stop: () => started.stop() };
}

/**
 * Write `file` (mode 600, whole or not at all) with where the bridge listens and its token:
 * `{"url", "token", "pid"}`. Resolves to a function that removes it again.
 */
export async function writeBridgeFile(file: string, bridge: Bridge): Promise<() => Promise<void>> {
  const content = `${JSON.stringify({ url: bridge.url, token: bridge.token, pid: process.pid })}\n`;
  await writePrivateFile(file, content);
  // Removed only while it is still ours: never another HISP's that replaced it.
  return async () => {
    const now = await readFile(file, 'utf8').catch(() => undefined);
    if (now === content) await rm(file, { force: true });
  };
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
