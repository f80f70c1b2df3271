/**
 * Process helpers for the test-services harness: find a binary (or fail with the Debian
 * package to install), run a command to completion, spawn a daemon in its own process
 * group, wait for it to be ready with a deadline, and stop it by PID (SIGTERM, then SIGKILL
 * after a grace period). Every failure carries the tail of the daemon's output.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess, StdioOptions } from 'node:child_process';
import { accessSync, constants as fsConstants, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { connect } from 'node:net';

import { CommandError, ServiceStartError, ServiceUnavailableError } from './errors.js';

/** Directories searched after $PATH: daemons live in sbin, which a non-root PATH may lack. */
const EXTRA_BIN_DIRS = [
  '/usr/local/sbin',
  '/usr/local/bin',
  '/usr/sbin',
  '/usr/bin',
  '/sbin',
  '/bin',
];

/**
 * Absolute path of an executable, searched in $PATH then the sbin/bin directories.
 * @throws ServiceUnavailableError naming `debianPackage` when it is not installed.
 */
export function findBinary(name: string, debianPackage: string): string {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter).filter(Boolean), ...EXTRA_BIN_DIRS];
  const searched = [...new Set(dirs)];
  if (name.includes('/')) {
    if (isExecutable(name)) return name;
    throw new ServiceUnavailableError(name, debianPackage, [name]);
  }
  for (const dir of searched) {
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  throw new ServiceUnavailableError(name, debianPackage, searched);
}

/**
 * Check that a data file a service needs (schema, module) exists.
 * @throws ServiceUnavailableError naming `debianPackage` when it does not.
 */
export function requireFile(path: string, debianPackage: string): string {
  try {
    accessSync(path, fsConstants.R_OK);
    return path;
  } catch {
    throw new ServiceUnavailableError(path, debianPackage, [path]);
  }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export interface RunOptions {
  /** Written to stdin, then stdin is closed. Without it stdin is /dev/null. */
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Kill the command (SIGKILL) after this long. Default 20 s. */
  timeoutMs?: number;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

/**
 * Run a command to completion.
 * @throws CommandError on a non-zero exit, a signal, or a timeout (with stdout/stderr).
 */
export function run(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const display = [command, ...args].join(' ');
  return new Promise<RunResult>((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new CommandError(display, null, null, '', err.message));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const out = Buffer.concat(stdout).toString('utf8');
      const err = Buffer.concat(stderr).toString('utf8');
      if (timedOut) {
        reject(
          new CommandError(display, code, signal, out, `${err}\n(timed out after ${timeoutMs} ms)`),
        );
      } else if (code === 0) {
        resolve({ stdout: out, stderr: err });
      } else {
        reject(new CommandError(display, code, signal, out, err));
      }
    });
    if (options.input !== undefined && child.stdin) {
      child.stdin.on('error', () => {
        // EPIPE when the command exits without reading stdin; the exit status reports it.
      });
      child.stdin.end(options.input);
    }
  });
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: Error;
}

export interface DaemonOptions {
  /** Short service name used in errors ("dovecot"). */
  name: string;
  command: string;
  args: readonly string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Written to stdin, then stdin is closed. */
  input?: string;
  /** Log files whose tail is appended to output() (read on demand, missing files ignored). */
  logFiles?: readonly string[];
  /** Bytes of stdout+stderr kept for error messages. Default 16 KiB. */
  keepBytes?: number;
  /** Default grace between SIGTERM and SIGKILL in stop(). Default 3000 ms. */
  stopGraceMs?: number;
}

export interface Daemon {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Resolves (never rejects) when the process has exited. */
  readonly exited: Promise<ExitInfo>;
  /** Exit status once exited, else undefined. */
  exitInfo(): ExitInfo | undefined;
  /** Tail of stdout+stderr, then the tail of each log file. */
  output(): string;
  /** Everything seen on stdout so far (bounded by keepBytes). */
  stdoutText(): string;
  /** SIGTERM, SIGKILL after graceMs (default options.stopGraceMs), then sweep the process group. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<number>();
let exitHookInstalled = false;

/** Last resort if a suite crashes before afterAll: kill our daemons' process groups. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pid of live) killGroup(pid, 'SIGKILL');
  });
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is gone.
  }
}

class Tail {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly keep: number) {}
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > this.keep && this.chunks.length > 1) {
      const first = this.chunks.shift();
      if (first) this.size -= first.length;
    }
  }
  text(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.keep)).toString('utf8');
  }
}

function fileTail(path: string, bytes: number): string {
  try {
    const data = readFileSync(path);
    return data.subarray(Math.max(0, data.length - bytes)).toString('utf8');
  } catch {
    return '';
  }
}

/**
 * Spawn a long-running daemon in its own process group (so stop() can sweep any children
 * it forked) with stdout/stderr captured. The caller then waits for readiness with
 * waitForPort / waitForOutput / waitUntil, passing the daemon so a crash is reported at once.
 */
export function spawnDaemon(options: DaemonOptions): Daemon {
  installExitHook();
  const keep = options.keepBytes ?? 16 * 1024;
  const combined = new Tail(keep);
  const stdoutTail = new Tail(keep);
  const stdio: StdioOptions = [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'];
  const child = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio,
    detached: true,
  });
  let info: ExitInfo | undefined;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.on('error', (error) => {
      info ??= { code: null, signal: null, error };
      resolve(info);
    });
    child.on('exit', (code, signal) => {
      info ??= { code, signal };
      resolve(info);
    });
  });
  child.stdout?.on('data', (chunk: Buffer) => {
    combined.push(chunk);
    stdoutTail.push(chunk);
  });
  child.stderr?.on('data', (chunk: Buffer) => combined.push(chunk));
  if (options.input !== undefined && child.stdin) {
    child.stdin.on('error', () => {
      // EPIPE if the daemon exits before reading; the exit is reported by `exited`.
    });
    child.stdin.end(options.input);
  }
  const pid = child.pid;
  if (pid === undefined) {
    // spawn failed synchronously (e.g. ENOENT); 'error' is emitted on next tick.
    throw new ServiceStartError(options.name, `could not spawn ${options.command}`, '');
  }
  // Stays in `live` until stop() has swept the process group.
  live.add(pid);

  const output = (): string => {
    let text = combined.text();
    for (const file of options.logFiles ?? []) {
      const tail = fileTail(file, 8 * 1024);
      if (tail.trim()) text += `\n--- ${file} ---\n${tail}`;
    }
    return text;
  };

  let stopping: Promise<void> | undefined;
  const stop = (graceMs = options.stopGraceMs ?? 3000): Promise<void> => {
    stopping ??= (async () => {
      if (!info) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // already gone
        }
        const timedOut = await Promise.race([
          exited.then(() => false),
          sleep(graceMs).then(() => true),
        ]);
        if (timedOut) {
          killGroup(pid, 'SIGKILL');
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
          const gone = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
          if (!gone)
            throw new ServiceStartError(options.name, `pid ${pid} survived SIGKILL`, output());
        }
      }
      // Sweep anything the daemon forked that outlived it (same process group).
      killGroup(pid, 'SIGKILL');
      live.delete(pid);
      child.stdout?.destroy();
      child.stderr?.destroy();
    })();
    return stopping;
  };

  return {
    name: options.name,
    pid,
    child,
    exited,
    exitInfo: () => info,
    output,
    stdoutText: () => stdoutTail.text(),
    stop,
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function describeExit(info: ExitInfo): string {
  if (info.error) return `failed to start: ${info.error.message}`;
  return info.signal ? `exited on signal ${info.signal}` : `exited with code ${String(info.code)}`;
}

export interface WaitOptions {
  /** Overall deadline. Default 10 s. */
  timeoutMs?: number;
  /** Delay between attempts. Default 20 ms. */
  intervalMs?: number;
  /** If given, fail as soon as it exits and include its output in the error. */
  daemon?: Daemon;
  /** What is being waited for, for the error message. */
  what?: string;
}

/**
 * Poll `check` until it returns true (a thrown error counts as "not yet"), with a deadline.
 * @throws ServiceStartError with the daemon's output tail and the last check error.
 */
export async function waitUntil(
  check: () => Promise<boolean> | boolean,
  options: WaitOptions = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 20;
  const name = options.daemon?.name ?? 'service';
  const what = options.what ?? 'readiness';
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    const info = options.daemon?.exitInfo();
    if (info) {
      throw new ServiceStartError(
        name,
        `${describeExit(info)} while waiting for ${what}`,
        options.daemon?.output() ?? '',
      );
    }
    try {
      if (await check()) return;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const last = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new ServiceStartError(
        name,
        `not ready after ${timeoutMs} ms waiting for ${what}${last}`,
        options.daemon?.output() ?? '',
        { cause: lastError },
      );
    }
    await sleep(intervalMs);
  }
}

/** True if a TCP connection to host:port succeeds within timeoutMs. */
export function canConnect(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean): void => {
      socket.removeAllListeners();
      socket.on('error', () => {
        // ignore errors after settle
      });
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Wait until host:port accepts TCP connections. */
export function waitForPort(host: string, port: number, options: WaitOptions = {}): Promise<void> {
  return waitUntil(() => canConnect(host, port), { what: `TCP ${host}:${port}`, ...options });
}

/** Wait until the daemon's stdout+stderr (or log files) match `pattern`. */
export function waitForOutput(
  daemon: Daemon,
  pattern: RegExp,
  options: Omit<WaitOptions, 'daemon'> = {},
): Promise<void> {
  return waitUntil(() => pattern.test(daemon.output()), {
    what: `output matching ${String(pattern)}`,
    ...options,
    daemon,
  });
}

/**
 * Start a daemon with up to `attempts` tries: a port picked at run time can be taken by
 * another suite between picking and binding, so retry with fresh ports when start fails.
 */
export async function withStartRetries<T>(
  attempts: number,
  start: (attempt: number) => Promise<T>,
): Promise<T> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      return await start(attempt);
    } catch (err) {
      lastError = err;
      if (err instanceof ServiceUnavailableError) throw err;
      if (!(err instanceof ServiceStartError) || !/in use|EADDRINUSE|bind/i.test(err.message))
        throw err;
    }
  }
  throw lastError;
}

/** What every service start function returns (service handles extend it). */
/**
 * A service handle's idempotent `stop()`: `stopProcesses` (the daemons, by PID), then the
 * service's temp dir removed even if that failed; later calls get the same promise.
 */
export function stopOnce(
  stopProcesses: () => Promise<void>,
  tmp: { remove(): Promise<void> },
): () => Promise<void> {
  let stopped: Promise<void> | undefined;
  return () =>
    (stopped ??= (async () => {
      try {
        await stopProcesses();
      } finally {
        await tmp.remove();
      }
    })());
}

export interface ServiceHandle {
  /** Always 127.0.0.1. */
  readonly host: string;
  /** The main listening port (chosen at run time). */
  readonly port: number;
  /** The service's temp dir (config, data, logs); removed by stop(). */
  readonly dir: string;
  /** PID of the daemon's main process. */
  readonly pid: number;
  /** Tail of the daemon's output and log file, for debugging a failing test. */
  output(): string;
  /** Stop by PID (SIGTERM, SIGKILL after a grace period) and remove the temp dir. Idempotent. */
  stop(): Promise<void>;
}

export interface RunToEndResult {
  readonly code: number | null;
  readonly stdout: string;
  /** stdout as bytes (binary secrets from secret-tool, say). */
  readonly bytes: Buffer;
  readonly stderr: string;
}

/**
 * Run a command to its end whatever its exit code (for checking exit codes and messages);
 * killed (SIGKILL) after `timeoutMs`.
 */
export function runToEnd(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<RunToEndResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, [...args], {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const bytes = Buffer.concat(out);
      resolvePromise({
        code,
        stdout: bytes.toString('utf8'),
        bytes,
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
  });
}
