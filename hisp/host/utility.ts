/**
 * The HISP inside the desktop app (Electron `utilityProcess.fork`): the same practice as
 * `sealpost serve` (hisp/host/practice.ts), on the profile in `<data-dir>/profile`, with its
 * calls carried over MessagePorts instead of the loopback bridge. The main process hands over
 * one port per window with `{ type: 'connect' }` (electron/main/hispProtocol.ts).
 *
 * - First run: the profile is created with its master key in the OS keychain. With no
 *   keychain (no Secret Service, a locked one…) the HISP starts locked and its status says
 *   why; an unlock from the lock screen tries again. Never a silent plaintext or vault
 *   fallback.
 * - Mail as Settings › Mail server and preferences says (saved, encrypted, in the profile:
 *   hisp/host/preferences.ts), except what `<data-dir>/config.json` sets, in the serve config
 *   format (docs/relay.md), for IT or advanced set-ups. Until a relay is set, messages wait
 *   in the Outbox. A file that cannot be used is reported in the status and none of it is
 *   used.
 * - The machine's policy (hisp/host/policy.ts: the file at its documented path, or the
 *   Windows registry; `--policy-file PATH` reads that file instead): presets, locked
 *   settings, trust anchors and bundles. A policy that cannot be read locks every lockable
 *   setting and the status says why (main refuses to start on one first; this is the
 *   belt-and-braces for a policy changed while Sealpost runs).
 * - DNS: the system's resolvers (or the file's `dns`); fetching from public addresses only;
 *   auto-lock after 15 minutes (or `--auto-lock-minutes`) without calls from a window, until
 *   Settings or the policy say otherwise.
 *
 * This file must not import Electron: the parent port and MessagePortMain are typed
 * structurally, so {@link startDesktopHisp} runs in plain Node with fake ports (tests).
 */
import { stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ComponentStatus } from '../api/contract.js';
import { HispError } from '../api/errors.js';
import { createHttpFetcher } from '../certs/fetch.js';
import { parseListen } from '../cli/args.js';
import { systemResolvers } from '../cli/certs.js';
import { UsageError } from '../cli/io.js';
import { masterKeySourceOf } from '../cli/profileAccess.js';
import { loadServeConfig, type ServeConfig } from '../cli/serveConfig.js';
import { keychainMasterKeySource } from '../keys/masterKey.js';
import { createLogger, type Logger } from '../log/logger.js';
import type { Hisp } from './hisp.js';
import { MainPortTransport, type MainPortLike } from './mainPortTransport.js';
import {
  describePolicyForLog,
  loadMachinePolicy,
  type LoadedPolicy,
  type MachinePolicyOptions,
} from './policy.js';
import { startPractice, statusDetail, type Practice } from './practice.js';

/** Electron's `process.parentPort`, as far as the HISP uses it. */
export interface ParentPortLike {
  on(
    event: 'message',
    listener: (event: { data: unknown; ports: MainPortLike[] }) => void,
  ): unknown;
  postMessage(message: unknown): void;
}

/** Minutes without a call from a window before the desktop profile locks (0 = never). */
export const DESKTOP_AUTO_LOCK_MINUTES = 15;
/** The profile's directory under the data directory. */
export const DESKTOP_PROFILE_DIR = 'profile';
/** The mail configuration under the data directory (the serve config format). */
export const DESKTOP_CONFIG_FILE = 'config.json';

export interface DesktopArgs {
  /** Absolute. */
  readonly dataDir: string;
  /** The default until Settings or the policy set it. */
  readonly autoLockMinutes: number;
  /** Absolute: read this policy file instead of the machine's (tests, labs). */
  readonly policyFile?: string;
}

/** `--data-dir DIR [--auto-lock-minutes N] [--policy-file PATH]`; USAGE for anything else. */
export function parseDesktopArgs(argv: readonly string[]): DesktopArgs {
  let values: {
    'data-dir'?: string | undefined;
    'auto-lock-minutes'?: string | undefined;
    'policy-file'?: string | undefined;
  };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        'data-dir': { type: 'string' },
        'auto-lock-minutes': { type: 'string' },
        'policy-file': { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new HispError(
      'USAGE',
      `The desktop HISP takes --data-dir DIR [--auto-lock-minutes N] [--policy-file PATH]: ${(error as Error).message}`,
    );
  }
  const dataDir = values['data-dir'];
  if (dataDir === undefined || !isAbsolute(dataDir)) {
    throw new HispError('USAGE', 'The desktop HISP needs --data-dir with an absolute path.');
  }
  const policyFile = values['policy-file'];
  if (policyFile !== undefined && !isAbsolute(policyFile)) {
    throw new HispError('USAGE', '--policy-file needs an absolute path.');
  }
  const minutesText = values['auto-lock-minutes'] ?? String(DESKTOP_AUTO_LOCK_MINUTES);
  const autoLockMinutes = /^\d{1,4}$/.test(minutesText) ? Number(minutesText) : Number.NaN;
  if (!(autoLockMinutes >= 0 && autoLockMinutes <= 24 * 60)) {
    throw new HispError(
      'USAGE',
      `--auto-lock-minutes wants whole minutes from 0 (never) to 1440, not ${JSON.stringify(minutesText)}.`,
    );
  }
  return { dataDir, autoLockMinutes, ...(policyFile === undefined ? {} : { policyFile }) };
}

/** The mail configuration file of the desktop, and what the status says when it is unusable. */
interface DesktopMail {
  readonly config: ServeConfig;
  /** The file, when it is there. */
  readonly file: string | undefined;
  readonly status: ComponentStatus | undefined;
}

/**
 * `file` in the serve config format. Absent: no relay, inbound or upstream (messages queue).
 * Unusable: the same, and the reason in the status — the HISP still opens the profile.
 */
async function desktopMail(
  file: string,
  env: NodeJS.ProcessEnv,
  logger: Logger,
): Promise<DesktopMail> {
  const unusable = (code: string, why: string): DesktopMail => {
    logger.error('the mail configuration cannot be used', { code });
    const detail = `${file} cannot be used (${why}): none of it is used; what it would set is not sent or received, and messages wait in the Outbox`;
    return {
      config: {},
      file,
      status: {
        name: 'config',
        state: 'down',
        detail: statusDetail(detail),
      },
    };
  };
  try {
    await stat(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') return unusable('USAGE', `it cannot be read: ${code ?? 'error'}`);
    // The usual case: mail is set up in Settings.
    return { config: {}, file: undefined, status: undefined };
  }
  try {
    return { config: await loadServeConfig(file, env), file, status: undefined };
  } catch (error) {
    if (!(error instanceof UsageError || error instanceof HispError)) throw error;
    // The serve command's wording names its flag; here the file is named already.
    const why = error.message.replace(`--config ${file}: `, '').replace(/^--config: /, '');
    return unusable(error instanceof HispError ? error.code : 'USAGE', why);
  }
}

/** What the desktop's windows are connected through: the ports main hands over. */
export interface WindowPorts {
  /** Windows connected so far. */
  readonly windows: number;
  stop(): void;
}

export interface DesktopHisp {
  readonly args: DesktopArgs;
  readonly profileDir: string;
  readonly practice: Practice<WindowPorts>;
  stop(): Promise<void>;
}

export interface DesktopOptions {
  readonly logger?: Logger;
  /** For the config file's `env:NAME` secrets; default process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /** How the machine's policy is found (tests: another platform, a fake reg.exe). */
  readonly policy?: Omit<MachinePolicyOptions, 'file'>;
}

/** The machine's policy, or why it could not be read (then every lockable setting is locked). */
async function desktopPolicy(
  args: DesktopArgs,
  options: DesktopOptions,
  logger: Logger,
): Promise<{ policy?: LoadedPolicy; problem?: HispError }> {
  try {
    const policy = await loadMachinePolicy({
      ...options.policy,
      ...(args.policyFile === undefined ? {} : { file: args.policyFile }),
    });
    logger.info(describePolicyForLog(policy));
    return { policy };
  } catch (error) {
    const problem = HispError.from(error);
    logger.error('the policy cannot be used: every setting it could lock is locked', {
      code: problem.code,
    });
    return { problem };
  }
}

/**
 * Start the desktop HISP on `argv` (`--data-dir DIR [--auto-lock-minutes N]`) and connect
 * each port `parentPort` hands over with `{ type: 'connect' }` as a mail window. Windows that
 * connect while the profile is being opened are connected once the HISP runs. Posts
 * `{ type: 'ready' }` to the parent when it does.
 */
export async function startDesktopHisp(
  parentPort: ParentPortLike,
  argv: readonly string[],
  options: DesktopOptions = {},
): Promise<DesktopHisp> {
  const args = parseDesktopArgs(argv);
  const logger = options.logger ?? createLogger({ bindings: { process: 'hisp' } });
  const profileDir = join(args.dataDir, DESKTOP_PROFILE_DIR);

  // Listen at once: main may hand over a window's port before the profile is open.
  let hisp: Hisp | undefined = undefined;
  let stopped = false;
  let windows = 0;
  const waiting: MainPortLike[] = [];
  const connect = (port: MainPortLike): void => {
    if (stopped) {
      port.close();
    } else if (hisp === undefined) {
      waiting.push(port);
    } else {
      hisp.channel.attach(new MainPortTransport(port), `window#${++windows}`);
    }
  };
  parentPort.on('message', (event) => {
    const message = event.data as { type?: unknown } | null;
    const port = event.ports[0];
    if (message?.type !== 'connect' || port === undefined || event.ports.length !== 1) {
      logger.warn('ignored a message from the main process', { type: String(message?.type) });
      for (const extra of event.ports) extra.close();
      return;
    }
    connect(port);
  });

  const mail = await desktopMail(
    join(args.dataDir, DESKTOP_CONFIG_FILE),
    options.env ?? process.env,
    logger,
  );
  const policy = await desktopPolicy(args, options, logger);
  const dnsServers =
    mail.config.dns !== undefined
      ? [...mail.config.dns]
      : systemResolvers().map((server) => parseListen('desktop', server));
  if (dnsServers.length === 0) {
    logger.warn('this computer has no DNS resolver configured: recipients cannot be found');
  }
  // URLs in certificates, bundles and mail come from outside: nothing on the local network.
  const fetcher = createHttpFetcher({ logger, publicOnly: true });
  const practice = await startPractice<WindowPorts>({
    dir: profileDir,
    mode: 'desktop',
    // The status carries at most 200 characters of it.
    profileName: profileDir.length <= 200 ? profileDir : `…${profileDir.slice(-199)}`,
    config: mail.config,
    preferences: {
      configFile: mail.file,
      policy: policy.policy,
      policyProblem: policy.problem,
      dataLocation: args.dataDir,
    },
    dnsServers,
    fetcher,
    logger,
    keySource: (kind, passphrase) => masterKeySourceOf(kind, profileDir, passphrase),
    // First run: a new profile, its master key in the OS keychain (and nowhere else).
    createWith: () => keychainMasterKeySource(),
    idleLockMs: args.autoLockMinutes * 60_000,
    atStart: 'report',
    // main shows a system notification (counts only: hispProtocol.ts checks the shape).
    notify: (kind, count) => parentPort.postMessage({ type: 'notify', kind, count }),
    attach: (created) => {
      const status = mail.status;
      if (status !== undefined) created.addComponent('config', () => status);
      const problem = policy.problem;
      if (problem !== undefined) {
        const detail = `the policy cannot be used, so every setting it could lock is locked: ${problem.message}`;
        created.addComponent('policy', () => ({
          name: 'policy',
          state: 'down',
          detail: statusDetail(detail),
        }));
      }
      return Promise.resolve({
        get windows() {
          return windows;
        },
        stop: () => {
          stopped = true;
          for (const port of waiting.splice(0)) port.close();
        },
      });
    },
  });
  hisp = practice.hisp;
  for (const port of waiting.splice(0)) connect(port);
  parentPort.postMessage({ type: 'ready' });
  logger.info('desktop HISP ready', {
    locked: practice.session.locked,
    autoLockMinutes: args.autoLockMinutes,
  });
  return { args, profileDir, practice, stop: () => practice.stop() };
}

/** `process.argv` from our first flag on (Electron and Node put different things before). */
function ownArgs(argv: readonly string[]): string[] {
  const first = argv.findIndex((arg) => arg.startsWith('--'));
  return first < 0 ? [] : argv.slice(first);
}

async function main(parentPort: ParentPortLike): Promise<void> {
  const logger = createLogger({ bindings: { process: 'hisp' } });
  let desktop: DesktopHisp;
  try {
    desktop = await startDesktopHisp(parentPort, ownArgs(process.argv), { logger });
  } catch (error) {
    const problem = HispError.from(error);
    logger.error('the desktop HISP could not start', { code: problem.code });
    // The parent port would keep the process alive; main restarts it with backoff.
    process.exit(1);
  }
  // Electron's kill() is SIGTERM: close the profile (and stop mail) before going.
  const stop = (signal: NodeJS.Signals): void => {
    logger.info('stopping', { signal });
    void desktop.stop().finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

const electronParent = (process as unknown as { parentPort?: ParentPortLike }).parentPort;
if (electronParent !== undefined) {
  void main(electronParent);
} else if (process.argv[1] !== undefined && /utility\.[cm]?js$/.test(process.argv[1])) {
  // Run by hand with node: say where the headless HISP is.
  createLogger({ bindings: { process: 'hisp' } }).error(
    'utility.js runs inside the desktop app only; use `sealpost serve` for a headless HISP',
  );
  process.exitCode = 1;
}
