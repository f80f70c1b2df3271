/**
 * `node bin/sealpost.js serve …` as a child process: for tests that need what only a fresh
 * process has, such as NODE_EXTRA_CA_CERTS (read by Node at start) so a test mail server's
 * certificate from the test anchor is trusted the way a lab would trust it. The built CLI
 * (dist/) must exist: `npm test` builds it first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BRIDGE_FILE } from '../../hisp/store/profile.js';
import { waitForBridgeFile, type BridgeInfo } from './practices.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'sealpost.js');

/** Throws when dist/ is not built (the CLI and the UI it serves). */
export function requireBuiltCli(): void {
  if (
    !existsSync(join(ROOT, 'dist', 'hisp', 'cli.js')) ||
    !existsSync(join(ROOT, 'dist', 'renderer', 'index.html'))
  ) {
    throw new Error('dist/ is not built: run `npm run build` first (npm test does)');
  }
}

/** A running `serve` child whose bridge is up. */
export interface ServeProcess {
  readonly bridge: BridgeInfo;
  /** Everything it wrote to stderr so far (its log). */
  readonly err: () => string;
  /** SIGTERM, and its exit code. */
  stop(): Promise<number | null>;
}

const running = new Set<ChildProcess>();

/** Kill every serve child still running (afterAll). */
export function killServeProcesses(): void {
  for (const child of running) child.kill('SIGKILL');
}

/**
 * `sealpost serve --profile profileDir …args` with exactly `env` (plus PATH); resolves once
 * its bridge.json is written, rejects with its log when it exits first.
 */
export async function spawnServe(
  profileDir: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
): Promise<ServeProcess> {
  await rm(join(profileDir, BRIDGE_FILE), { force: true });
  const child = spawn(process.execPath, [BIN, 'serve', '--profile', profileDir, ...args], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const err: string[] = [];
  child.stdout?.on('data', () => undefined);
  child.stderr?.on('data', (chunk: Buffer) => err.push(chunk.toString('utf8')));
  let exited: number | null | undefined;
  const exit = new Promise<number | null>((resolveExit) =>
    child.once('exit', (code) => {
      exited = code;
      running.delete(child);
      resolveExit(code);
    }),
  );
  const bridge = await waitForBridgeFile(profileDir, () => exited !== undefined);
  if (bridge === undefined) {
    child.kill('SIGKILL');
    await exit;
    throw Object.assign(
      new Error(`serve did not start (exit ${String(exited)}):\n${err.join('').slice(-4000)}`),
      { exitCode: exited, log: err.join('') },
    );
  }
  return {
    bridge,
    err: () => err.join(''),
    stop: () => {
      child.kill('SIGTERM');
      return exit;
    },
  };
}
