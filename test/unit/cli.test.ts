import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDnsServer, parseListen } from '../../hisp/cli/args.js';
import { runCli } from '../../hisp/cli/main.js';
import { VERSION } from '../../hisp/host/version.js';
import { captureCli, runCaptured, startServe } from '../services/cliIo.js';

let root: string;

beforeAll(async () => {
  // A stand-in install root with a built UI, so these tests do not depend on `npm run build`.
  root = await mkdtemp(join(tmpdir(), 'sealpost-cli-root-'));
  await mkdir(join(root, 'dist', 'renderer'), { recursive: true });
  await writeFile(
    join(root, 'dist', 'renderer', 'index.html'),
    '<!doctype html><div id="root"></div>',
  );
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
  await Promise.all(cleanups.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** Temp directories made by single tests, removed at the end. */
const cleanups: string[] = [];

const ENV = { PROFILE_PASS: 'a long test passphrase' };

const run = (...argv: string[]) => runCaptured(argv, { env: ENV, root });

describe('sealpost command line: usage', () => {
  it('prints the command list and exits 1 with no command', async () => {
    const r = await run();
    expect(r.code).toBe(1);
    expect(r.err).toContain('Usage: sealpost <command>');
  });

  it('exits 0 for --help and for each command --help', async () => {
    expect((await run('--help')).code).toBe(0);
    for (const command of [
      'anchors',
      'bundles',
      'certs',
      'demo',
      'profile',
      'serve',
      'smime',
      'version',
    ]) {
      const r = await run(command, '--help');
      expect(r.code, command).toBe(0);
      expect(r.out, command).toContain(`Usage: sealpost ${command}`);
    }
  });

  it('prints the version', async () => {
    for (const argv of [['version'], ['--version']]) {
      const r = await run(...argv);
      expect(r.code).toBe(0);
      expect(r.out).toBe(`sealpost ${VERSION} (Node.js ${process.version})\n`);
    }
  });

  it.each([
    [['frobnicate'], /unknown command "frobnicate"/],
    [['version', '--bogus'], /sealpost version: unknown option '--bogus'/],
    [['demo', '--smoke=yes'], /sealpost demo: .*--smoke/],
    [['demo', 'extra'], /sealpost demo: .*positional/i],
    [['serve'], /--profile DIR is required/],
    [['serve', '--profile'], /sealpost serve: .*--profile/],
    [['serve', '--profile', '/tmp/x', '--listen', 'nope'], /--listen wants HOST:PORT/],
    [['serve', '--profile', '/tmp/x', '--listen', '127.0.0.1:70000'], /--listen wants HOST:PORT/],
  ])('a usage error exits 1 and says what is wrong: %j', async (argv, message) => {
    const r = await run(...argv);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(message);
    expect(r.out).toBe('');
  });
});

/** A passphrase-vault profile (no keychain needed here): --profile DIR --pass env:… */
function vaultProfile(dir: string): string[] {
  return ['--profile', dir, '--pass', 'env:PROFILE_PASS'];
}

describe('sealpost serve', () => {
  it('profile lock with no HISP running on the profile says so', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'sealpost-serve-'));
    cleanups.push(parent);
    const r = await run('profile', 'lock', '--profile', parent);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/No Sealpost is running on .*\[NOT_FOUND\]/);
  });

  it('needs a profile made with profile init, and says so', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'sealpost-serve-'));
    cleanups.push(parent);
    const r = await run('serve', '--profile', join(parent, 'none'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/sealpost profile init .*\[PROFILE_NOT_FOUND\]/);
  });

  it('DNS servers are IP addresses with a port; an IPv6 one is handed on without its brackets', () => {
    expect(parseDnsServer('serve', '[::1]:5353')).toEqual({ host: '::1', port: 5353 });
    expect(parseDnsServer('serve', '192.0.2.53:53')).toEqual({ host: '192.0.2.53', port: 53 });
    for (const bad of ['ns1.example:53', '999.1.1.1:53', '127.0.0.1:0', '[::1]', 'nonsense'])
      expect(() => parseDnsServer('serve', bad), bad).toThrow(
        `--dns wants a DNS server's IP address and port (for example 192.0.2.53:53 or [2001:db8::53]:53), not ${JSON.stringify(bad)}`,
      );
    // --listen keeps the brackets (the bridge's own parsing wants them).
    expect(parseListen('serve', '[::1]:0')).toEqual({ host: '[::1]', port: 0 });
    expect(() => parseListen('serve', 'bad', '--dns-listen')).toThrow(
      '--dns-listen wants HOST:PORT',
    );
  });

  it('a profile restored from an unusable export leaves no directory behind', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'sealpost-restore-'));
    cleanups.push(parent);
    const junk = join(parent, 'junk.export');
    await writeFile(junk, 'not an export');
    const r = await run(
      'profile',
      'init',
      '--from-export',
      junk,
      '--export-pass',
      'env:PROFILE_PASS',
      '--vault',
      ...vaultProfile(join(parent, 'restored')),
    );
    expect(r.code, r.err).toBe(2);
    expect(r.err).toContain('[EXPORT_MALFORMED]');
    expect(existsSync(join(parent, 'restored'))).toBe(false);
  });

  it('profile init where no directory can be made: exit 1 with the reason, at once', async () => {
    for (const [dir, why] of [
      ['/dev/null/clinic', 'a part of the path is not a directory'],
      // mkdir answers ENOENT under /proc, which exists: Node's recursive mkdir spun forever.
      ['/proc/sealpost-clinic', 'no such directory'],
    ] as const) {
      const r = await run('profile', 'init', '--vault', ...vaultProfile(dir));
      expect(r.code, r.err).toBe(1);
      expect(r.err).toContain(`sealpost profile init: --profile ${dir}: ${why}`);
    }
  }, 10_000);

  it('refuses a non-loopback listen address', async () => {
    const profile = await mkdtemp(join(tmpdir(), 'sealpost-serve-'));
    try {
      expect((await run('profile', 'init', '--vault', ...vaultProfile(profile))).code).toBe(0);
      const r = await run('serve', ...vaultProfile(profile), '--listen', '0.0.0.0:0');
      expect(r.code).toBe(2);
      expect(r.err).toContain('[NOT_LOOPBACK]');
    } finally {
      await rm(profile, { recursive: true, force: true });
    }
  });

  it('serves, hands the token over in a private file only, and cleans up on stop', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'sealpost-serve-'));
    cleanups.push(parent);
    const profile = join(parent, 'clinic');
    expect((await run('profile', 'init', '--vault', ...vaultProfile(profile))).code).toBe(0);
    const served = await startServe([...vaultProfile(profile), '--listen', '127.0.0.1:0'], {
      env: ENV,
      root,
      profileDir: profile,
    });
    const bridgeFile = join(profile, 'bridge.json');
    const info = served.bridge;
    expect(info?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(info?.token).toMatch(/^[0-9a-f]{64}$/);
    expect((await stat(bridgeFile)).mode & 0o777).toBe(0o600);
    expect((await stat(profile)).mode & 0o777).toBe(0o700);

    const answer = await fetch(`${info?.url}api/call/status`, {
      method: 'POST',
      headers: { authorization: `Bearer ${info?.token}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({
      result: { mode: 'server', profile: { name: 'clinic' } },
    });

    // Lock and unlock the running HISP's profile from the command line, through the bridge.
    const status = async () => {
      const response = await fetch(`${info?.url}api/call/status`, {
        method: 'POST',
        headers: { authorization: `Bearer ${info?.token}`, 'content-type': 'application/json' },
        body: '{}',
      });
      return ((await response.json()) as { result: { state: string } }).result.state;
    };
    const locked = await run('profile', 'lock', '--profile', profile);
    expect(locked.err).toBe('');
    expect(locked.out).toBe(`The profile in ${profile} is locked.\n`);
    expect(await status()).toBe('locked');
    const noPass = await run('profile', 'unlock', '--profile', profile);
    expect(noPass.code).toBe(2);
    expect(noPass.err).toContain('[VAULT_BAD_PASSPHRASE]');
    const unlocked = await run('profile', 'unlock', ...vaultProfile(profile));
    expect(unlocked.out).toBe(`The profile in ${profile} is unlocked.\n`);
    expect(await status()).toBe('ready');

    expect(await served.stop()).toBe(0);
    await expect(stat(bridgeFile)).rejects.toThrow();
    const everything = served.out() + served.err();
    expect(everything).toContain('serving http://127.0.0.1:');
    expect(everything).not.toContain(info?.token ?? 'missing');
  });
});

describe('sealpost demo --smoke', () => {
  it('starts a HISP, checks the UI and the contract the way the UI does, and exits 0', async () => {
    const r = await run('demo', '--smoke');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/smoke: OK .* ready/);
  });

  it('fails when the UI is not built', async () => {
    const bare = await mkdtemp(join(tmpdir(), 'sealpost-cli-bare-'));
    try {
      const captured = captureCli({ env: ENV, root: bare });
      const code = await runCli(['demo', '--smoke'], captured.io);
      expect(code).toBe(3);
      expect(captured.err()).toContain('npm run build');
    } finally {
      await rm(bare, { recursive: true, force: true });
    }
  });

  it('removes a throwaway profile on exit', async () => {
    const r = await run('demo', '--smoke');
    const dir = /^Profile: (.+) \(throwaway, removed on exit\)$/m.exec(r.out)?.[1];
    expect(dir).toContain('sealpost-demo-');
    await expect(stat(dir ?? '/nonexistent-x')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('keeps the profile in --data-dir', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'sealpost-demo-keep-'));
    cleanups.push(parent);
    const dir = join(parent, 'profile');
    const r = await run('demo', '--smoke', '--data-dir', dir);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`Profile: ${dir} (kept)`);
    expect((await stat(dir)).isDirectory()).toBe(true);
    await rm(dir, { recursive: true, force: true });
  });
});
