/**
 * The built command, run as a user runs it: `node bin/sealpost.js …` against dist/ (npm test
 * builds first). Proves the bundle, the bin shim and the built UI work together.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTestCa, makeTempDir, runToEnd } from '../services/index.js';
import { pollUntil } from '../services/practices.js';
import { killServeProcesses, spawnServe } from '../services/serveProcess.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(root, 'bin', 'sealpost.js');

function sealpost(...args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 30_000,
  });
}

beforeAll(() => {
  if (
    !existsSync(join(root, 'dist', 'hisp', 'cli.js')) ||
    !existsSync(join(root, 'dist', 'renderer', 'index.html'))
  ) {
    throw new Error('dist/ is not built: run `npm run build` first (npm test does)');
  }
});

describe('the built sealpost command', () => {
  it('demo --smoke exits 0 after the UI is served and the HISP answers through the contract', () => {
    const r = sealpost('demo', '--smoke');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(
      /smoke: OK — UI served, and the UI's HISP answered through the contract: sealpost \S+, ready/,
    );
  });

  it('version and usage errors behave as documented', () => {
    expect(sealpost('version').stdout).toMatch(/^sealpost \d+\.\d+\.\d+ \(Node\.js v\d+/);
    const bad = sealpost('serve', '--nope');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain("unknown option '--nope'");
  });

  it('one HISP per profile: a second serve is refused and the first keeps its bridge.json; a stale one is replaced', async () => {
    const parent = await makeTempDir('cli-built-serve');
    try {
      const profile = join(parent.path, 'clinic');
      const env = { ...process.env, P: 'a long test passphrase' };
      const init = spawnSync(
        process.execPath,
        [bin, 'profile', 'init', '--profile', profile, '--vault', '--pass', 'env:P'],
        { env, encoding: 'utf8', timeout: 30_000 },
      );
      expect(init.status, init.stderr).toBe(0);
      const args = ['--pass', 'env:P', '--listen', '127.0.0.1:0'];
      const bridgeFile = join(profile, 'bridge.json');

      const first = await spawnServe(profile, args, { P: env.P });
      try {
        const before = await readFile(bridgeFile, 'utf8');
        const { pid } = JSON.parse(before) as { pid: number };
        // Not spawnSync: the first HISP is asked whether it is there, and must be able to answer.
        const second = await runToEnd(
          process.execPath,
          [bin, 'serve', '--profile', profile, ...args],
          {
            env,
            timeoutMs: 30_000,
          },
        );
        expect(second.code, second.stderr).toBe(1);
        expect(second.stderr).toContain(
          `sealpost serve: ${profile} is already being served by Sealpost (pid ${pid}, `,
        );
        expect(await readFile(bridgeFile, 'utf8')).toBe(before);
      } finally {
        expect(await first.stop()).toBe(0);
      }

      // A bridge.json left by a HISP that is gone (a kill -9) names a dead process: replaced.
      const gone = spawnSync('true').pid;
      await writeFile(
        bridgeFile,
        `${JSON.stringify({ url: 'http://127.0.0.1:9/', token: 'x', pid: gone })}\n`,
      );
      const child = spawn(process.execPath, [bin, 'serve', '--profile', profile, ...args], {
        env,
        stdio: 'ignore',
      });
      try {
        await pollUntil(
          'the new serve’s own bridge.json',
          async () => {
            const now = await readFile(bridgeFile, 'utf8').catch(() => '{}');
            return (JSON.parse(now) as { pid?: number }).pid === child.pid ? true : undefined;
          },
          () => '',
        );
      } finally {
        child.kill('SIGTERM');
        await new Promise((resolveExit) => child.once('exit', resolveExit));
      }
      expect(existsSync(bridgeFile)).toBe(false); // its own, removed at stop
    } finally {
      killServeProcesses();
      await parent.remove();
    }
  }, 90_000);

  it('Ctrl-C ends a one-shot command at once (certs discover waiting on a DNS server that never answers)', async () => {
    const silent = createSocket('udp4'); // takes queries, never answers
    await new Promise<void>((resolveBind) => silent.bind(0, '127.0.0.1', resolveBind));
    const tmp = await makeTempDir('cli-built-sigint');
    try {
      const ca = await createTestCa(tmp.path);
      const child = spawn(
        process.execPath,
        [
          bin,
          'certs',
          'discover',
          'someone@example.test',
          '--dns',
          `127.0.0.1:${silent.address().port}`,
          '--anchor',
          ca.certPath,
        ],
        { stdio: 'ignore' },
      );
      const exited = new Promise<{ code: number | null; signal: string | null }>((resolveExit) =>
        child.once('exit', (code, signal) => resolveExit({ code, signal })),
      );
      await new Promise((resolveWait) => setTimeout(resolveWait, 1500)); // asking by now
      const sent = Date.now();
      child.kill('SIGINT');
      const { signal } = await exited;
      expect(signal).toBe('SIGINT');
      expect(Date.now() - sent).toBeLessThan(1000); // the lookup alone waits seconds
    } finally {
      silent.close();
      await tmp.remove();
    }
  });

  it('the desktop HISP entry refuses to run outside Electron, with a clear message', () => {
    const r = spawnSync(process.execPath, [join(root, 'dist', 'hisp', 'utility.js')], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('use `sealpost serve` for a headless HISP');
  });
});
