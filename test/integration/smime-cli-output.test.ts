/**
 * The built `sealpost smime` command as a user runs it, on the paths issue 3's benchmark work
 * touched: a multi-megabyte message through the base64 line encoder into a file (owner-only,
 * byte for byte what OpenSSL verifies), output into a FIFO rather than a regular file, and
 * Node's compile cache that bin/sealpost.js turns on (an owner-only directory under the
 * user's cache directory; silently skipped when it cannot be created). An earlier output
 * file is replaced whole, and an --out that cannot be written is a usage error, not a crash.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, createReadStream, existsSync, openSync } from 'node:fs';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestCa,
  issueEndEntityCert,
  type TestCa,
  type TestEndEntity,
} from '../services/certs.js';
import { opensslReceive, WRAP_HEADER } from '../services/openssl-direct.js';
import { run } from '../services/proc.js';
import { makeTempDir, type TempDir } from '../services/tmp.js';

const root = resolve(import.meta.dirname, '..', '..');
const bin = join(root, 'bin', 'sealpost.js');

let dir: TempDir;
let ca: TestCa;
let alice: TestEndEntity;
let bob: TestEndEntity;

/** A CRLF message of about `bytes` bytes from Alice to Bob, every line different. */
function largeMessage(bytes: number): Buffer {
  const head =
    'From: alice@a.example.test\r\nTo: bob@b.example.test\r\nSubject: Imaging report\r\n' +
    'Message-ID: <out-1@a.example.test>\r\nDate: Thu, 26 Nov 2026 10:00:00 +0000\r\n' +
    'MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n';
  const lines: string[] = [head];
  let size = head.length;
  for (let n = 0; size < bytes; n++) {
    const line = `Finding ${n}: no acute abnormality; follow-up in ${n % 12} months.\r\n`;
    lines.push(line);
    size += line.length;
  }
  return Buffer.from(lines.join(''));
}

function encryptArgs(input: string, out: string): string[] {
  return [
    bin,
    'smime',
    'encrypt',
    '--cert',
    alice.certPath,
    '--key',
    alice.keyPath,
    '--to',
    bob.certPath,
    '--in',
    input,
    '--out',
    out,
  ];
}

beforeAll(async () => {
  if (!existsSync(join(root, 'dist', 'hisp', 'cli.js')))
    throw new Error('dist/ is not built: run `npm run build` first (npm test does)');
  dir = await makeTempDir('smime-cli-output');
  ca = await createTestCa(dir.path);
  [alice, bob] = await Promise.all([
    issueEndEntityCert(ca, dir.path, { email: 'alice@a.example.test' }),
    issueEndEntityCert(ca, dir.path, { email: 'bob@b.example.test' }),
  ]);
});

afterAll(async () => {
  await dir?.remove();
});

describe('sealpost smime encrypt output', () => {
  it('a 3 MB message into a file: owner-only, every byte in place (OpenSSL verifies)', async () => {
    const message = largeMessage(3 * 1024 * 1024);
    const input = join(dir.path, 'large.eml');
    const output = join(dir.path, 'large.p7m.eml');
    await writeFile(input, message);
    const r = spawnSync(process.execPath, encryptArgs(input, output), { timeout: 60_000 });
    expect(r.stderr.toString()).toBe('');
    expect(r.status).toBe(0);
    const info = await stat(output);
    expect(info.mode & 0o777).toBe(0o600);
    // base64 of ~3 MB: many of the encoder's ~60 KB pieces, carries between cipher chunks.
    expect(info.size).toBeGreaterThan(4 * 1024 * 1024);
    const verified = await opensslReceive(output, {
      dir: dir.path,
      recipient: bob,
      caPath: ca.certPath,
    });
    expect(verified.equals(Buffer.concat([Buffer.from(WRAP_HEADER), message]))).toBe(true);
  });

  it('--out a FIFO: what comes out of the pipe verifies', async () => {
    const message = largeMessage(1536 * 1024);
    const input = join(dir.path, 'fifo-in.eml');
    const fifo = join(dir.path, 'out.fifo');
    await writeFile(input, message);
    await run('mkfifo', [fifo]);
    const received: Buffer[] = [];
    const reading = new Promise<void>((resolveRead, reject) => {
      createReadStream(fifo)
        .on('data', (chunk) => received.push(Buffer.from(chunk)))
        .on('end', resolveRead)
        .on('error', reject);
    });
    const child = spawn(process.execPath, encryptArgs(input, fifo), {
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 60_000,
    });
    const stderr: Buffer[] = [];
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    const code = await new Promise<number | null>((resolveExit) => child.on('close', resolveExit));
    // A command that failed before opening the FIFO leaves the reader waiting for a writer.
    if (code !== 0) closeSync(openSync(fifo, 'w'));
    await reading;
    expect(Buffer.concat(stderr).toString()).toBe('');
    expect(code).toBe(0);
    const verified = await opensslReceive(Buffer.concat(received), {
      dir: dir.path,
      recipient: bob,
      caPath: ca.certPath,
    });
    expect(verified.equals(Buffer.concat([Buffer.from(WRAP_HEADER), message]))).toBe(true);
  });
});

describe('sealpost smime output files', () => {
  it('an earlier --out file is replaced owner-only; an --out that cannot be written is exit 1 with the reason', async () => {
    const input = join(dir.path, 'small.eml');
    await writeFile(input, largeMessage(4096));
    const output = join(dir.path, 'replaced.eml');
    await writeFile(output, 'an earlier message', { mode: 0o644 });
    const replaced = spawnSync(process.execPath, encryptArgs(input, output), { timeout: 60_000 });
    expect(replaced.stderr.toString()).toBe('');
    expect(replaced.status).toBe(0);
    expect((await readFile(output, 'utf8')).startsWith('From: alice@a.example.test')).toBe(true);
    expect((await stat(output)).mode & 0o777).toBe(0o600);
    expect((await readdir(dir.path)).filter((name) => name.endsWith('.partial'))).toEqual([]);

    const missing = join(dir.path, 'no-such-dir', 'out.eml');
    const refused = spawnSync(process.execPath, encryptArgs(input, missing), { timeout: 60_000 });
    expect(refused.status).toBe(1);
    expect(refused.stderr.toString()).toContain(
      `sealpost smime encrypt: --out ${missing}: no such directory`,
    );
    expect(refused.stderr.toString()).not.toContain('INTERNAL');
  });
});

describe('bin/sealpost.js compile cache', () => {
  it('is kept in $XDG_CACHE_HOME/sealpost/compile-cache, created owner-only', async () => {
    const cacheHome = join(dir.path, 'xdg-cache');
    const r = spawnSync(process.execPath, [bin, 'smime', 'encrypt', '--help'], {
      env: {
        ...Object.fromEntries(
          Object.entries(process.env).filter(([name]) => name !== 'NODE_DISABLE_COMPILE_CACHE'),
        ),
        XDG_CACHE_HOME: cacheHome,
      },
      timeout: 60_000,
    });
    expect(r.status).toBe(0);
    const cache = join(cacheHome, 'sealpost', 'compile-cache');
    expect((await stat(cache)).mode & 0o777).toBe(0o700);
    // Node writes its cache entries under a per-version directory when the process exits.
    const versions = await readdir(cache);
    expect(versions.length).toBeGreaterThan(0);
    const entries = await readdir(join(cache, versions[0] ?? ''));
    expect(entries.length).toBeGreaterThan(0);
  });

  it('an unusable cache location changes nothing: same output, nothing on stderr', async () => {
    const notADirectory = join(dir.path, 'cache-is-a-file');
    await writeFile(notADirectory, 'not a directory\n');
    const r = spawnSync(process.execPath, [bin, 'version'], {
      env: { ...process.env, XDG_CACHE_HOME: notADirectory },
      timeout: 60_000,
    });
    expect(r.stderr.toString()).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.toString()).toMatch(/^sealpost \S+ \(Node\.js v22\./);
    expect(await readFile(notADirectory, 'utf8')).toBe('not a directory\n');
    // Under /proc mkdir answers ENOENT below a directory that exists: Node's recursive mkdir
    // spun there forever, on every command.
    const proc = spawnSync(process.execPath, [bin, 'version'], {
      env: { ...process.env, XDG_CACHE_HOME: '/proc/sealpost-cache' },
      timeout: 20_000,
    });
    expect(proc.error).toBeUndefined(); // not killed by the timeout
    expect(proc.status).toBe(0);
    expect(proc.stdout.toString()).toMatch(/^sealpost \S+ \(Node\.js v22\./);
  });
});
