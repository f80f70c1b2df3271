/**
 * A profile moved to a new machine, as IT would do it with the built `sealpost`: a keychain
 * profile with an identity (private key in the Secret Service), trust anchors and an audit
 * log is exported on "machine A" (one private gnome-keyring) and restored on "machine B"
 * (another): the same profile, its private key now in B's keychain, the audit chain intact.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestCa,
  issueEndEntityCert,
  type TestCa,
  type TestEndEntity,
} from '../services/certs.js';
import {
  findBinary,
  makeTempDir,
  startKeyring,
  type KeyringHandle,
  type TempDir,
  runToEnd,
} from '../services/index.js';
import { opensslPkcs12 } from '../services/openssl-direct.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(root, 'bin', 'sealpost.js');
const EXPORT_PASS = 'export passphrase for the move';

let machineA: KeyringHandle;
let machineB: KeyringHandle;
let tmp: TempDir;
let ca: TestCa;
let alice: TestEndEntity;
let p12: string;

const exec = (command: string, args: string[], env: NodeJS.ProcessEnv) =>
  runToEnd(command, args, { env, cwd: root });

const sealpost = (machine: KeyringHandle, ...args: string[]) =>
  exec(process.execPath, [bin, ...args], { ...machine.env, EXPORT_PASS, P12_PASS: 'p12 password' });

const secretTool = (machine: KeyringHandle, ...args: string[]) =>
  exec(findBinary('secret-tool', 'libsecret-tools'), args, machine.env);

beforeAll(async () => {
  if (!existsSync(join(root, 'dist', 'hisp', 'cli.js'))) {
    throw new Error('dist/ is not built: run `npm run build` first (npm test does)');
  }
  [machineA, machineB] = await Promise.all([startKeyring(), startKeyring()]);
  tmp = await makeTempDir('profile-export');
  ca = await createTestCa(tmp.path, { name: 'clinic-ca', commonName: 'Clinic Test CA' });
  alice = await issueEndEntityCert(ca, tmp.path, { email: 'alice@clinic.test' });
  p12 = join(tmp.path, 'alice.p12');
  await opensslPkcs12(alice, p12, 'p12 password');
}, 60_000);

afterAll(async () => {
  await Promise.all([machineA?.stop(), machineB?.stop()]);
  await tmp?.remove();
});

describe('export and audit files that cannot be written', () => {
  it('a missing directory or a directory as --out: exit 1 with the reason, and no file left behind', async () => {
    const dir = join(tmp.path, 'unwritable');
    expect((await sealpost(machineA, 'profile', 'init', '--profile', dir)).code).toBe(0);
    const missing = join(tmp.path, 'no-such-dir', 'clinic.sealpost-export');
    for (const [out, why] of [
      [missing, 'no such directory'],
      [tmp.path, 'is a directory'],
    ] as const) {
      const exported = await sealpost(
        machineA,
        'profile',
        'export',
        '--profile',
        dir,
        '--out',
        out,
        '--export-pass',
        'env:EXPORT_PASS',
      );
      expect(exported.code, exported.stderr).toBe(1);
      expect(exported.stderr).toContain(`sealpost profile export: --out ${out}: ${why}`);
      expect(exported.stderr).not.toContain('INTERNAL');
      // No temporary export left beside it (the encrypted export, written before the rename).
      const left = (await readdir(dirname(out)).catch(() => [])).filter(
        (name) => name.startsWith(`.${basename(out)}.`) && name.endsWith('.partial'),
      );
      expect(left).toEqual([]);

      const audit = await sealpost(machineA, 'profile', 'audit', '--profile', dir, '--out', out);
      expect(audit.code, audit.stderr).toBe(1);
      expect(audit.stderr).toContain(`sealpost profile audit: --out ${out}: ${why}`);
    }
  });
});

describe('export on one machine, restore on another', () => {
  it('the same profile, its private key in the new keychain, its trust and an intact audit chain', async () => {
    const a = join(tmp.path, 'a');
    const b = join(tmp.path, 'b');
    expect((await sealpost(machineA, 'profile', 'init', '--profile', a)).code).toBe(0);
    const imported = await sealpost(
      machineA,
      'profile',
      'import-key',
      '--profile',
      a,
      '--p12',
      p12,
      '--p12-pass',
      'env:P12_PASS',
    );
    expect(imported.stderr).toBe('');
    expect(imported.code).toBe(0);
    expect(
      (
        await sealpost(
          machineA,
          'anchors',
          'import',
          '--profile',
          a,
          '--domain',
          'clinic.test',
          ca.certPath,
        )
      ).code,
    ).toBe(0);
    const info = JSON.parse(await readFile(join(a, 'profile.json'), 'utf8')) as { id: string };
    // The entry's label is keyring:<account>@<service> (set by the keychain library).
    const keyAccount = new RegExp(`keyring:(profile:${info.id}:key:[0-9a-f]{64})@Sealpost`).exec(
      (await secretTool(machineA, 'search', '--all', 'service', 'Sealpost')).stdout,
    )?.[1];
    expect(keyAccount, 'the private key is in machine A keychain').toBeDefined();

    const file = join(tmp.path, 'clinic.sealpost-export');
    const exported = await sealpost(
      machineA,
      'profile',
      'export',
      '--profile',
      a,
      '--out',
      file,
      '--export-pass',
      'env:EXPORT_PASS',
    );
    expect(exported.stderr).toBe('');
    expect(exported.code).toBe(0);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const privateKey = (
      await secretTool(machineA, 'lookup', 'service', 'Sealpost', 'username', keyAccount ?? '')
    ).bytes;
    expect(privateKey.length).toBeGreaterThan(100);
    expect((await readFile(file)).includes(privateKey)).toBe(false);

    const wrong = await exec(
      process.execPath,
      [bin, 'profile', 'init', '--profile', b, '--from-export', file, '--export-pass', 'env:BAD'],
      {
        ...machineB.env,
        BAD: 'not the export passphrase',
      },
    );
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('[EXPORT_BAD_PASSPHRASE]');
    expect(existsSync(join(b, 'profile.json'))).toBe(false);

    const restored = await sealpost(
      machineB,
      'profile',
      'init',
      '--profile',
      b,
      '--from-export',
      file,
      '--export-pass',
      'env:EXPORT_PASS',
    );
    expect(restored.stderr).toBe('');
    expect(restored.code).toBe(0);
    expect(JSON.parse(await readFile(join(b, 'profile.json'), 'utf8'))).toMatchObject({
      id: info.id,
      keySource: 'keychain',
    });
    // Machine B's keychain now holds the same private key.
    const moved = (
      await secretTool(machineB, 'lookup', 'service', 'Sealpost', 'username', keyAccount ?? '')
    ).bytes;
    expect(moved.equals(privateKey)).toBe(true);

    const verify = await sealpost(machineB, 'profile', 'audit', '--profile', b, '--verify');
    expect(verify.stderr).toBe('');
    expect(verify.stdout).toMatch(/^audit chain intact: \d+ entries/);
    const actions = (
      JSON.parse(
        (await sealpost(machineB, 'profile', 'audit', '--profile', b, '--format', 'json')).stdout,
      ) as { action: string }[]
    ).map((entry) => entry.action);
    expect(actions).toEqual(['key-import', 'trust-change', 'profile-export', 'profile-restore']);
    const anchors = await sealpost(machineB, 'anchors', 'list', '--profile', b, '--json');
    expect(
      (JSON.parse(anchors.stdout) as { domain: string }[]).map((anchor) => anchor.domain),
    ).toEqual(['clinic.test', 'clinic.test']);
  });
});
