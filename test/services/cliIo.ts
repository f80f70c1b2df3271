/**
 * The command line run in process, as the CLI tests drive it: a CliIo that keeps what a
 * command prints (text and binary stdout alike) with the environment and install root the
 * test gives, a command run to its exit code, and `sealpost serve` kept running until the
 * test stops it (its stop signal resolved by the test, as SIGTERM would) with the bridge.json
 * it writes. One place instead of a copy in every CLI test file. Loads hisp code, so it is not
 * re-exported from index.ts.
 */
import type { CliIo } from '../../hisp/cli/io.js';
import { runCli } from '../../hisp/cli/main.js';
import { waitForBridgeFile, type BridgeFile } from './practices.js';

export interface CliIoOptions {
  /** The command's environment; PATH is taken from this process unless given. */
  readonly env?: NodeJS.ProcessEnv;
  /** The repository or install root (where dist/ is). */
  readonly root: string;
  /** Resolves when the command is to stop (default: never). */
  readonly stop?: Promise<string>;
}

/** A CliIo and what went through it so far. */
export interface CapturedCli {
  readonly io: CliIo;
  /** Standard output: the text and the binary writes, in order. */
  readonly out: () => string;
  readonly err: () => string;
}

/** A CliIo that keeps stdout and stderr, reads an empty stdin. */
export function captureCli(options: CliIoOptions): CapturedCli {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    stdout: (text) => out.push(text),
    stderr: (text) => err.push(text),
    readStdin: () => Promise.resolve(Buffer.alloc(0)),
    writeStdout: (chunk) => {
      out.push(Buffer.from(chunk).toString('utf8'));
      return Promise.resolve();
    },
    env: { PATH: process.env['PATH'] ?? '', ...options.env },
    stopSignal: options.stop ?? new Promise(() => undefined),
    root: options.root,
  };
  return { io, out: () => out.join(''), err: () => err.join('') };
}

/** What a command run to its end gave. */
export interface CliResult {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** Runs `sealpost argv…` in process to its exit. */
export async function runCaptured(
  argv: readonly string[],
  options: CliIoOptions,
): Promise<CliResult> {
  const captured = captureCli(options);
  const code = await runCli([...argv], captured.io);
  return { code, out: captured.out(), err: captured.err() };
}

/** A `sealpost serve` running in process. */
export interface ServeRun extends Omit<CapturedCli, 'io'> {
  /** Its exit code, once it ends. */
  readonly exit: Promise<number>;
  /** Its exit code if it has ended. */
  readonly exitCode: () => number | undefined;
  /** Its bridge.json; undefined if serve ended (or took over 20 s) before writing it. */
  readonly bridge: BridgeFile | undefined;
  /** Resolves the stop signal (SIGTERM) once, and waits for the exit code. */
  stop(): Promise<number>;
}

/**
 * Starts `sealpost serve argv…` in process (argv includes `--profile profileDir`) and waits
 * for the bridge.json it writes in `profileDir`, or for it to end.
 */
export async function startServe(
  argv: readonly string[],
  options: Omit<CliIoOptions, 'stop'> & { readonly profileDir: string },
): Promise<ServeRun> {
  let signal = (_signal: string): void => undefined;
  const captured = captureCli({
    ...options,
    stop: new Promise((resolve) => (signal = resolve)),
  });
  const exit = runCli(['serve', ...argv], captured.io);
  let settled: number | undefined;
  void exit.then((code) => (settled = code));
  const bridge = await waitForBridgeFile(options.profileDir, () => settled !== undefined);
  let stopped: Promise<number> | undefined;
  return {
    exit,
    exitCode: () => settled,
    bridge,
    out: captured.out,
    err: captured.err,
    stop: () => {
      stopped ??= (() => {
        signal('SIGTERM');
        return exit;
      })();
      return stopped;
    },
  };
}

/** A `sealpost serve` whose bridge is up. */
export interface Served extends ServeRun {
  readonly bridge: BridgeFile;
}

/** startServe, and an error with serve's output if it did not come up (it is stopped then). */
export async function serveInProcess(
  argv: readonly string[],
  options: Omit<CliIoOptions, 'stop'> & { readonly profileDir: string },
): Promise<Served> {
  const run = await startServe(argv, options);
  const { bridge } = run;
  if (bridge === undefined) {
    const code = run.exitCode();
    void run.stop();
    throw new Error(`serve did not start (exit ${String(code)}):\n${run.err()}`);
  }
  return { ...run, bridge };
}
