/** A HISP with its loopback bridge: what `sealpost serve` and `sealpost demo` run. */
import { join } from 'node:path';
import type { Logger } from '../log/logger.js';
import { Bridge } from './bridge.js';
import {
  Hisp,
  type HispMode,
  type MailSender,
  type RecipientChecker,
  type SessionControl,
} from './hisp.js';

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
  readonly mail?: MailSender;
}

export interface RunningHisp {
  readonly hisp: Hisp;
  readonly bridge: Bridge;
  stop(): Promise<void>;
}

export function uiDirOf(root: string): string {
  return join(root, 'dist', 'renderer');
}

export async function startHeadless(options: HeadlessOptions): Promise<RunningHisp> {
  const hisp = new Hisp({
    mode: options.mode,
    profile: { name: options.profileName, throwaway: options.throwaway },
    logger: options.logger,
    ...(options.recipients === undefined ? {} : { recipients: options.recipients }),
    ...(options.session === undefined ? {} : { session: options.session }),
    ...(options.mail === undefined ? {} : { mail: options.mail }),
  });
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
