/**
 * hisp/keys/identities.ts on a KEYCHAIN profile against a real gnome-keyring in a private
 * D-Bus session (test/services/keyring.ts): the private key goes to the Secret Service and
 * nowhere in the profile (no `private_keys` row, no file), is read back from there, is
 * deleted from there by remove(), and a deleted entry is KEYCHAIN_ENTRY_MISSING.
 *
 * The code under test must run INSIDE the keyring's session, so each step runs in a child
 * Node with the keyring's env, importing hisp bundled by esbuild into a temp dir (the two
 * native modules, `@napi-rs/keyring` and `better-sqlite3-multiple-ciphers`, left external at
 * their absolute paths in this checkout). No key material is printed by the child.
 */
import { spawnSync } from 'node:child_process';
import { createVerify, randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { parseCertificate } from '../../hisp/certs/certificate.js';
import { readPrivateKey } from '../../hisp/keys/material.js';
import {
  createTestCa,
  findBinary,
  issueEndEntityCert,
  makeTempDir,
  startKeyring,
  type KeyringHandle,
  type TempDir,
  type TestEndEntity,
} from '../services/index.js';
import { bundleForChild } from '../services/bundle.js';
import { opensslPkcs12 } from '../services/openssl-direct.js';

interface Step {
  op: string;
  ok: boolean;
  value?: unknown;
  code?: string;
  message?: string;
}

/**
 * Runs in the child. argv: [bundle URL, JSON {dir, ops}]. Ops: init; import <p12 path>
 * <password>; list; private-rows; sign <fingerprint> <data hex>; remove <fingerprint>;
 * export (fingerprints only). The profile is opened once (keychain key source) and closed.
 */
const CHILD = `
const [bundleUrl, json] = process.argv.slice(1);
const m = await import(bundleUrl);
const { readFileSync } = await import('node:fs');
const { createSign } = await import('node:crypto');
const { dir, ops } = JSON.parse(json);
const steps = [];
let profile;
const summary = (r) => ({ fingerprint: r.fingerprintSha256, keyLocation: r.keyLocation, addresses: r.addresses });
try {
  if (ops[0][0] === 'init') {
    profile = await m.initProfile(dir, { keySource: m.keychainMasterKeySource() });
    steps.push({ op: 'init', ok: true, value: profile.id });
    ops.shift();
  } else {
    profile = await m.openProfile(dir, { keySourceFor: () => m.keychainMasterKeySource() });
  }
  const store = new m.IdentityStore(profile);
  for (const [op, a, b] of ops) {
    try {
      let value;
      if (op === 'import') {
        const c = m.readPkcs12(readFileSync(a), b);
        value = summary(await store.import({ key: c.key, cert: m.parseCertificate(c.certDer), chain: c.chainDer.map((d) => m.parseCertificate(d)) }));
      } else if (op === 'list') value = store.list().map(summary);
      else if (op === 'private-rows') value = profile.db.read((db) => db.prepare('SELECT count(*) AS n FROM private_keys').get().n);
      else if (op === 'key-ref') value = profile.db.read((db) => db.prepare('SELECT key_ref, key_location FROM identities WHERE fingerprint = ?').get(a));
      else if (op === 'sign') {
        const key = await store.privateKey(a);
        value = createSign('sha256').update(Buffer.from(b, 'hex')).sign(key).toString('hex');
      } else if (op === 'remove') value = await store.remove(a);
      else if (op === 'export') value = (await store.exportSecrets()).map((s) => { s.pkcs8.fill(0); return s.fingerprint; });
      else throw new Error('unknown op ' + op);
      steps.push({ op, ok: true, value: value === undefined ? null : value });
    } catch (err) {
      steps.push({ op, ok: false, code: err && err.code, message: err && err.message });
    }
  }
} catch (err) {
  steps.push({ op: 'open', ok: false, code: err && err.code, message: err && err.message });
} finally {
  profile?.close();
}
process.stdout.write(JSON.stringify(steps));
`;

let bundleDir: TempDir | undefined;
let bundleUrl = '';
let keyring: KeyringHandle | undefined;
let tmp: TempDir | undefined;
let alice: TestEndEntity;
let p12Path = '';

beforeAll(async () => {
  bundleDir = await makeTempDir('identities-bundle');
  bundleUrl = (
    await bundleForChild(
      [
        "export * from './hisp/store/profile.ts';",
        "export * from './hisp/keys/masterKey.ts';",
        "export * from './hisp/keys/identities.ts';",
        "export { readPkcs12 } from './hisp/keys/material.ts';",
        "export { parseCertificate } from './hisp/certs/certificate.ts';",
      ].join('\n'),
      bundleDir.path,
      'hisp.mjs',
    )
  ).url;
  tmp = await makeTempDir('identities-keychain');
  const ca = await createTestCa(tmp.path);
  alice = await issueEndEntityCert(ca, tmp.path, {
    email: 'alice@example.test',
    dnsNames: ['example.test'],
  });
  p12Path = join(tmp.path, 'alice.p12');
  await opensslPkcs12(alice, p12Path, 'p12 pw', { chain: ca.certPath });
  keyring = await startKeyring();
}, 60_000);

afterAll(async () => {
  await keyring?.stop();
  await tmp?.remove();
  await bundleDir?.remove();
});

async function steps(dir: string, ops: Array<[string, string?, string?]>): Promise<Step[]> {
  if (keyring === undefined) throw new Error('no keyring');
  const { stdout } = await keyring.runNode(
    ['--input-type=module', '-e', CHILD, bundleUrl, JSON.stringify({ dir, ops })],
    { cwd: keyring.dir },
  );
  return JSON.parse(stdout) as Step[];
}

/** The secret's bytes via `secret-tool lookup` (an independent Secret Service client), or undefined. */
function lookup(account: string): Buffer | undefined {
  if (keyring === undefined) throw new Error('no keyring');
  const result = spawnSync(
    findBinary('secret-tool', 'libsecret-tools'),
    ['lookup', 'service', 'Sealpost', 'username', account],
    { env: keyring.env, timeout: 20_000 },
  );
  if (result.status !== 0 || result.stdout.length === 0) return undefined;
  return result.stdout;
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

function verifies(signatureHex: unknown, data: Buffer): boolean {
  return createVerify('sha256')
    .update(data)
    .verify(
      parseCertificate(alice.certDer).x509.publicKey,
      Buffer.from(String(signatureHex), 'hex'),
    );
}

describe('identities in a keychain profile', () => {
  let dir = '';
  let profileId = '';
  let fingerprint = '';
  let account = '';
  let pkcs8: Buffer;

  it('import puts the private key in the Secret Service and nothing of it in the database or any file', async () => {
    if (tmp === undefined || keyring === undefined) throw new Error('setup failed');
    dir = join(tmp.path, 'desk');
    fingerprint = parseCertificate(alice.certDer).fingerprintSha256;
    pkcs8 = readPrivateKey(Buffer.from(alice.keyPem)).export({ format: 'der', type: 'pkcs8' });
    const result = await steps(dir, [
      ['init'],
      ['import', p12Path, 'p12 pw'],
      ['private-rows'],
      ['key-ref', fingerprint],
    ]);
    expect(
      result.map((s) => s.ok),
      JSON.stringify(result),
    ).toEqual([true, true, true, true]);
    profileId = String(result[0]?.value);
    account = `profile:${profileId}:key:${fingerprint}`;
    expect(result[1]?.value).toEqual({
      fingerprint,
      keyLocation: 'keychain',
      addresses: [
        { address: 'alice@example.test', bound: 'address' },
        { address: 'example.test', bound: 'domain' },
      ],
    });
    expect(result[2]?.value).toBe(0);
    expect(result[3]?.value).toEqual({ key_ref: account, key_location: 'keychain' });

    // The Secret Service holds exactly the key (PKCS#8 DER), under the documented account.
    const search = await keyring.secretTool([
      'search',
      '--all',
      'service',
      'Sealpost',
      'username',
      account,
    ]);
    expect(search.stdout + search.stderr).toContain(`attribute.username = ${account}`);
    expect(lookup(account)?.equals(pkcs8)).toBe(true);

    // Not in any file of the profile, nor in the keyring's own file, in any form.
    const files = [...(await filesUnder(dir)), ...(await filesUnder(keyring.keyringsDir))];
    expect(files.some((f) => f.endsWith('sealpost.db'))).toBe(true);
    const middle = pkcs8.subarray(100, 148);
    const forms = [
      pkcs8,
      middle,
      Buffer.from(pkcs8.toString('hex')),
      Buffer.from(middle.toString('hex')),
      Buffer.from(pkcs8.toString('base64').slice(256, 320)),
      Buffer.from(middle.toString('base64').slice(4, 40)),
    ];
    for (const file of files) {
      const content = await readFile(file);
      for (const [i, form] of forms.entries()) {
        expect(content.includes(form), `form ${i} in ${file}`).toBe(false);
      }
    }
  });

  it('privateKey() reads it back from the keychain: it signs what the certificate verifies; re-import is idempotent', async () => {
    const data = randomBytes(48);
    const result = await steps(dir, [
      ['sign', fingerprint, data.toString('hex')],
      ['import', p12Path, 'p12 pw'],
      ['list'],
      ['export'],
    ]);
    expect(
      result.map((s) => s.ok),
      JSON.stringify(result),
    ).toEqual([true, true, true, true]);
    expect(verifies(result[0]?.value, data)).toBe(true);
    expect(verifies(result[0]?.value, randomBytes(48))).toBe(false);
    expect((result[2]?.value as unknown[]).length).toBe(1);
    expect(result[3]?.value).toEqual([fingerprint]);
  });

  it('a keychain entry deleted outside Sealpost is KEYCHAIN_ENTRY_MISSING; importing again puts it back', async () => {
    if (keyring === undefined) throw new Error('no keyring');
    await keyring.secretTool(['clear', 'service', 'Sealpost', 'username', account]);
    expect(lookup(account)).toBeUndefined();
    const data = randomBytes(16);
    const missing = await steps(dir, [['sign', fingerprint, data.toString('hex')], ['export']]);
    expect(missing[0]).toMatchObject({ ok: false, code: 'KEYCHAIN_ENTRY_MISSING' });
    expect(missing[0]?.message).toContain(account);
    expect(missing[1]).toMatchObject({ ok: false, code: 'KEYCHAIN_ENTRY_MISSING' });
    const repaired = await steps(dir, [
      ['import', p12Path, 'p12 pw'],
      ['sign', fingerprint, data.toString('hex')],
    ]);
    expect(
      repaired.map((s) => s.ok),
      JSON.stringify(repaired),
    ).toEqual([true, true]);
    expect(verifies(repaired[1]?.value, data)).toBe(true);
    expect(lookup(account)?.equals(pkcs8)).toBe(true);
  });

  it('remove() deletes the key from the keychain and the identity from the profile', async () => {
    const result = await steps(dir, [
      ['remove', fingerprint],
      ['list'],
      ['sign', fingerprint, '00'],
    ]);
    expect(result[0]?.ok, JSON.stringify(result)).toBe(true);
    expect(result[1]?.value).toEqual([]);
    expect(result[2]).toMatchObject({ ok: false, code: 'IDENTITY_NOT_FOUND' });
    expect(lookup(account)).toBeUndefined();
    // The profile's own master key is untouched.
    expect(lookup(`profile:${profileId}:master-key`)?.length).toBe(32);
  });
});
