/**
 * A private Secret Service: a D-Bus session bus (`dbus-daemon --nofork` with a generated
 * config listening on a socket in the temp dir, no service activation so nothing else gets
 * started behind our back) and `gnome-keyring-daemon --foreground --unlock
 * --components=secrets` on it, its login keyring created/unlocked with a password on stdin.
 * HOME and the XDG dirs point into the temp dir.
 *
 * Code under test must run INSIDE this session: spawn a child with `handle.env` (the native
 * keychain module reads DBUS_SESSION_BUS_ADDRESS when it connects). `runNode()` does that.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { findBinary, run, spawnDaemon, waitForOutput, waitUntil, stopOnce } from './proc.js';
import type { Daemon, RunOptions, RunResult } from './proc.js';
import { makeTempDir } from './tmp.js';

export interface KeyringOptions {
  /** Password of the login keyring. Default: random. */
  password?: string;
}

export interface KeyringHandle {
  readonly dir: string;
  /** unix:path=<dir>/run/bus */
  readonly busAddress: string;
  /**
   * Environment for children that must talk to this Secret Service: process.env without
   * DISPLAY/WAYLAND_DISPLAY, plus DBUS_SESSION_BUS_ADDRESS, HOME, XDG_RUNTIME_DIR (0700),
   * XDG_DATA_HOME, XDG_CONFIG_HOME, XDG_CACHE_HOME.
   */
  readonly env: NodeJS.ProcessEnv;
  readonly password: string;
  readonly dbusPid: number;
  /** PID of gnome-keyring-daemon. */
  readonly pid: number;
  /** Where gnome-keyring stores the login keyring (XDG_DATA_HOME/keyrings). */
  readonly keyringsDir: string;
  /** Run `node <args>` (this Node: process.execPath) inside the session. */
  runNode(args: readonly string[], options?: Omit<RunOptions, 'env'>): Promise<RunResult>;
  /** Run `secret-tool <args>` (Debian libsecret-tools) inside the session. */
  secretTool(args: readonly string[], options?: Omit<RunOptions, 'env'>): Promise<RunResult>;
  output(): string;
  /** Stop gnome-keyring-daemon, then dbus-daemon, by PID; remove the temp dir. Idempotent. */
  stop(): Promise<void>;
}

function busConfig(socketPath: string): string {
  return `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=${socketPath}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`;
}

/** Start a private D-Bus session with an unlocked gnome-keyring Secret Service (~0.1 s). */
export async function startKeyring(options: KeyringOptions = {}): Promise<KeyringHandle> {
  const dbusDaemon = findBinary('dbus-daemon', 'dbus-x11');
  const dbusSend = findBinary('dbus-send', 'dbus-x11');
  const gnomeKeyring = findBinary('gnome-keyring-daemon', 'gnome-keyring');
  const password = options.password ?? randomBytes(12).toString('hex');

  const tmp = await makeTempDir('keyring');
  const dir = tmp.path;
  const daemons: Daemon[] = [];
  const stopAll = async (): Promise<void> => {
    // Keyring first (it is a client of the bus), then the bus.
    for (const d of [...daemons].reverse()) await d.stop();
  };
  try {
    const home = join(dir, 'home');
    const runtime = join(dir, 'run');
    const data = join(dir, 'data');
    const config = join(dir, 'config');
    const cache = join(dir, 'cache');
    await Promise.all([home, data, config, cache].map((d) => mkdir(d, { mode: 0o700 })));
    await mkdir(runtime);
    await chmod(runtime, 0o700); // mkdir's mode is masked by umask; the XDG spec wants exactly 0700
    const socketPath = join(runtime, 'bus');
    const busAddress = `unix:path=${socketPath}`;
    const confPath = join(dir, 'bus.conf');
    await writeFile(confPath, busConfig(socketPath));

    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const key of [
      'DISPLAY',
      'WAYLAND_DISPLAY',
      'DBUS_SESSION_BUS_ADDRESS',
      'DBUS_SESSION_BUS_PID',
      'GNOME_KEYRING_CONTROL',
      'SSH_AUTH_SOCK',
    ]) {
      delete env[key];
    }
    Object.assign(env, {
      DBUS_SESSION_BUS_ADDRESS: busAddress,
      HOME: home,
      XDG_RUNTIME_DIR: runtime,
      XDG_DATA_HOME: data,
      XDG_CONFIG_HOME: config,
      XDG_CACHE_HOME: cache,
    });

    const dbus = spawnDaemon({
      name: 'dbus-daemon',
      command: dbusDaemon,
      args: [`--config-file=${confPath}`, '--nofork', '--print-address=1'],
      env,
    });
    daemons.push(dbus);
    await waitForOutput(dbus, /unix:path=/, { what: 'the bus address on stdout' });

    const keyring = spawnDaemon({
      name: 'gnome-keyring-daemon',
      command: gnomeKeyring,
      args: ['--foreground', '--unlock', '--components=secrets'],
      env,
      input: password,
    });
    daemons.push(keyring);
    // Ready when the default collection (the login keyring) exists and is unlocked.
    await waitUntil(
      async () => {
        const { stdout } = await run(
          dbusSend,
          [
            '--session',
            '--print-reply',
            '--dest=org.freedesktop.secrets',
            '/org/freedesktop/secrets/aliases/default',
            'org.freedesktop.DBus.Properties.Get',
            'string:org.freedesktop.Secret.Collection',
            'string:Locked',
          ],
          { env, timeoutMs: 2000 },
        );
        return /boolean false/.test(stdout);
      },
      {
        daemon: keyring,
        what: 'an unlocked default collection on org.freedesktop.secrets',
        intervalMs: 25,
      },
    );

    const output = (): string =>
      daemons.map((d) => `[${d.name} pid ${d.pid}]\n${d.output()}`).join('\n');
    return {
      dir,
      busAddress,
      env,
      password,
      dbusPid: dbus.pid,
      pid: keyring.pid,
      keyringsDir: join(data, 'keyrings'),
      runNode: (args, runOptions = {}) => run(process.execPath, args, { ...runOptions, env }),
      secretTool: (args, runOptions = {}) =>
        run(findBinary('secret-tool', 'libsecret-tools'), args, { ...runOptions, env }),
      output,
      stop: stopOnce(stopAll, tmp),
    };
  } catch (err) {
    try {
      await stopAll();
    } finally {
      await tmp.remove();
    }
    throw err;
  }
}
