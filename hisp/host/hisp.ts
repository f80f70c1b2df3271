/**
 * The HISP service object: owns the channel server and the state every UI sees. Later
 * issues hang the security agent, stores, keys and transports off this; the UI reaches all
 * of them only through the contract.
 */
import {
  HispError,
  PRODUCT,
  type ComponentStatus,
  type Handlers,
  type RecipientCheck,
  type Status,
} from '../api/index.js';
import type { Logger } from '../log/logger.js';
import { ChannelServer } from './channelServer.js';
import { VERSION } from './version.js';

export type HispMode = Status['mode'];

export interface HispOptions {
  readonly mode: HispMode;
  readonly profile: { readonly name: string; readonly throwaway: boolean };
  readonly logger: Logger;
  readonly now?: () => Date;
  /** Recipient certificate checks (needs a profile's trust store); absent in the demo. */
  readonly recipients?: RecipientChecker;
}

/** What `checkRecipients` runs on: hisp/certs/discovery/service.ts RecipientService. */
export interface RecipientChecker {
  check(
    from: string,
    addresses: readonly string[],
    signal?: AbortSignal,
  ): Promise<RecipientCheck[]>;
}

/** Something that reports its own health into the status (the bridge, later the relay…). */
export type ComponentProbe = () => ComponentStatus;

export class Hisp {
  readonly channel: ChannelServer;
  readonly logger: Logger;
  readonly #options: HispOptions;
  readonly #now: () => Date;
  readonly #startedAt: Date;
  readonly #probes = new Map<string, ComponentProbe>();
  #state: Status['state'] = 'starting';

  constructor(options: HispOptions) {
    this.#options = options;
    this.logger = options.logger;
    this.#now = options.now ?? (() => new Date());
    this.#startedAt = this.#now();
    const handlers: Handlers = {
      status: () => Promise.resolve(this.status()),
      checkRecipients: async (params, context) => {
        const recipients = options.recipients;
        if (recipients === undefined) {
          throw new HispError(
            'PROFILE_NOT_FOUND',
            'This HISP runs without a profile, so it has no trust anchors to check recipients with.',
          );
        }
        return {
          recipients: await recipients.check(params.from, params.addresses, context.signal),
        };
      },
    };
    this.channel = new ChannelServer({
      handlers,
      logger: options.logger,
      onConnect: (connection) => connection.emit('status', this.status()),
    });
  }

  addComponent(name: string, probe: ComponentProbe): void {
    this.#probes.set(name, probe);
    this.#statusChanged();
  }

  removeComponent(name: string): void {
    if (this.#probes.delete(name)) this.#statusChanged();
  }

  start(): void {
    this.#state = 'ready';
    this.logger.info('HISP ready', { mode: this.#options.mode, version: VERSION });
    this.#statusChanged();
  }

  stop(): void {
    if (this.#state === 'stopping') return;
    this.#state = 'stopping';
    this.#statusChanged();
    this.channel.closeAll();
    this.logger.info('HISP stopped');
  }

  status(): Status {
    const now = this.#now();
    return {
      product: PRODUCT,
      version: VERSION,
      state: this.#state,
      mode: this.#options.mode,
      profile: { name: this.#options.profile.name, throwaway: this.#options.profile.throwaway },
      startedAt: this.#startedAt.toISOString(),
      uptimeMs: Math.max(0, now.getTime() - this.#startedAt.getTime()),
      components: [
        { name: 'api', state: 'ok' },
        ...[...this.#probes.values()].map((probe) => probe()),
      ],
    };
  }

  #statusChanged(): void {
    this.channel.broadcast('status', this.status());
  }
}
