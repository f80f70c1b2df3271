/**
 * The settings calls of the contract over the real bridge (`sealpost serve` in process,
 * `POST /api/call/<method>`): trust anchors imported (an expired one refused with its
 * reason), listed and removed; a trust bundle made by OpenSSL served by a loopback HTTPS
 * server, added, refreshed and removed (and refused from a loopback address when serve runs
 * without --allow-private-fetch); a PKCS#12 identity made by OpenSSL imported (wrong
 * password, legacy RC2 file, right password) after which the new address can send and
 * inbound SMTP serves its domain; the audit log filtered and exported, and a tampered chain
 * reported as broken. Certificates come from the `openssl` CLI (test/unit/certs-fixtures.ts).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DnsResponder } from '../../hisp/certs/hosting/dnsResponder.js';
import { vaultMasterKeySource } from '../../hisp/keys/masterKey.js';
import { openProfile, VAULT_FILE } from '../../hisp/store/profile.js';
import { runCaptured, serveInProcess, type Served } from '../services/cliIo.js';
import {
  loopbackServerExtensions,
  startBundleServer,
  type BundleServer,
} from '../services/https.js';
import { opensslPkcs12, opensslUnsignedBundle } from '../services/openssl-direct.js';
import { freePort } from '../services/ports.js';
import { bridgeError, bridgeResult, startLoopbackDns } from '../services/practices.js';
import { DAY, leafExtensions, TestPki, type Issued } from '../unit/certs-fixtures.js';

const PASS = 'settings calls passphrase';
const P12_PASS = 'p12 pässword';
const NEW_ADDRESS = 'dr.cole@practice-c.test';
const RECIPIENT = 'dr.baker@practice-b.test';

let pki: TestPki;
let root: Issued;
let expired: Issued;
let bundleRoots: Issued[];
let practiceA: Issued;
let cole: Issued;
let baker: Issued;
let dns: DnsResponder;
let https: BundleServer;
let profileDir: string;
let configFile: string;
const p12: Record<'modern' | 'legacy', string> = { modern: '', legacy: '' };
const bundles: Record<'first' | 'second', Buffer> = {
  first: Buffer.alloc(0),
  second: Buffer.alloc(0),
};

const sealpost = (...argv: string[]) => runCaptured(argv, { env: { PASS }, root: pki.dir });

const profileArgs = () => ['--profile', profileDir, '--pass', 'env:PASS'];

beforeAll(async () => {
  pki = await TestPki.create('settings-calls');
  root = await pki.root('root', { subject: '/O=Settings Tests/CN=Settings Test Root' });
  expired = await pki.root('expired', {
    subject: '/O=Settings Tests/CN=Expired Root',
    notBefore: new Date(Date.now() - 30 * DAY),
    notAfter: new Date(Date.now() - DAY),
  });
  bundleRoots = await Promise.all(
    ['B', 'C', 'D'].map((name) =>
      pki.root(`bundle-${name}`, { subject: `/O=Settings Tests/CN=Bundle Root ${name}` }),
    ),
  );
  const leaf = (name: string, subject: string, email: string) =>
    pki.issue(root, name, { subject, extensions: leafExtensions({ email }) });
  [practiceA, cole, baker] = await Promise.all([
    leaf('adams', '/O=Practice A/CN=Dr. Adams', 'dr.adams@practice-a.test'),
    leaf('cole', '/O=Practice C/CN=Dr. Cole', NEW_ADDRESS),
    leaf('baker', '/O=Practice B/CN=Dr. Baker', RECIPIENT),
  ]);
  const tls = await pki.issue(root, 'tls', {
    subject: '/CN=127.0.0.1',
    extensions: loopbackServerExtensions(['localhost']),
  });

  // Dr. Cole's identity as a practice would get it: a PKCS#12 file from OpenSSL 3 (AES,
  // PBKDF2), and the same as an old-style -legacy file (RC2-40 certificates).
  for (const kind of ['modern', 'legacy'] as const) {
    p12[kind] = await opensslPkcs12(cole, join(pki.dir, `cole-${kind}.p12`), P12_PASS, {
      legacy: kind === 'legacy',
    });
  }
  const unsignedBundle = async (name: string, certs: Issued[]) =>
    readFile(await opensslUnsignedBundle(pki.dir, name, certs));
  bundles.first = await unsignedBundle('first', [
    bundleRoots[0] as Issued,
    bundleRoots[1] as Issued,
  ]);
  bundles.second = await unsignedBundle('second', [
    bundleRoots[1] as Issued,
    bundleRoots[2] as Issued,
  ]);

  https = await startBundleServer({ key: await readFile(tls.keyPath), cert: tls.pem });

  // The recipient's certificate, published in DNS as Direct discovery looks for it.
  dns = await startLoopbackDns([{ domain: 'practice-b.test', certificates: [baker.cert] }]);

  // A vault profile with Practice A's identity (inbound SMTP needs one to start).
  profileDir = join(pki.dir, 'practice');
  const init = await sealpost('profile', 'init', ...profileArgs(), '--vault');
  expect(init.err).toBe('');
  const imported = await sealpost(
    'profile',
    'import-key',
    ...profileArgs(),
    '--key',
    practiceA.keyPath,
    '--cert',
    practiceA.certPath,
  );
  expect(imported.err).toBe('');
  configFile = join(pki.dir, 'serve.json');
  await writeFile(
    configFile,
    JSON.stringify({
      inbound: {
        listen: `127.0.0.1:${await freePort()}`,
        tlsCert: tls.certPath,
        tlsKey: tls.keyPath,
      },
      dns: [`127.0.0.1:${dns.port}`],
    }),
  );
}, 120_000);

afterAll(async () => {
  await served?.stop();
  await dns?.close();
  await https?.close();
  await pki?.remove();
});

let served: Served | undefined;

/** `sealpost serve` on the practice's profile with its config and the test root as TLS CA. */
function serve(extra: readonly string[]): Promise<Served> {
  return serveInProcess(
    [
      ...profileArgs(),
      '--listen',
      '127.0.0.1:0',
      '--config',
      configFile,
      '--tls-ca',
      root.certPath,
      ...extra,
    ],
    { env: { PASS }, root: pki.dir, profileDir },
  );
}

function running(): Served {
  if (served === undefined) throw new Error('serve is not running');
  return served;
}

/** The result of a call that must succeed. */
const ok = <T = Record<string, unknown>>(method: string, params: unknown): Promise<T> =>
  bridgeResult<T>(running(), method, params);

/** The error of a call that must fail. */
const failure = (method: string, params: unknown) => bridgeError(running(), method, params);

interface AnchorView {
  fingerprintSha256: string;
  subject: string;
  domain: string;
  direction: string;
  origin: string;
  bundle?: string;
}

const fingerprint = (cert: Issued) => cert.cert.fingerprintSha256;

describe('the settings calls over the bridge of sealpost serve', () => {
  it('starts serve (bundles may be fetched from loopback here: --allow-private-fetch)', async () => {
    served = await serve(['--allow-private-fetch']);
    const { anchors } = await ok<{ anchors: AnchorView[] }>('listAnchors', {});
    expect(anchors).toEqual([]);
  });

  it('importAnchors adds a PEM anchor and refuses an expired one with its reason; listAnchors and removeAnchor', async () => {
    const imported = await ok<{
      added: { fingerprintSha256: string }[];
      already: unknown[];
      refused: { fingerprintSha256: string; reasons: { code: string; message: string }[] }[];
    }>('importAnchors', {
      certificates: root.pem + expired.pem,
      direction: 'outbound',
    });
    expect(imported.added.map((c) => c.fingerprintSha256)).toEqual([fingerprint(root)]);
    expect(imported.already).toEqual([]);
    expect(imported.refused).toHaveLength(1);
    expect(imported.refused[0]?.fingerprintSha256).toBe(fingerprint(expired));
    expect(imported.refused[0]?.reasons.map((r) => r.code)).toEqual(['CERT_EXPIRED']);
    expect(imported.refused[0]?.reasons[0]?.message).toMatch(/Expired Root/);

    // The same certificate as base64 DER, inbound for one domain.
    const der = await ok<{ added: { fingerprintSha256: string }[]; already: unknown[] }>(
      'importAnchors',
      {
        certificates: root.der.toString('base64'),
        domain: 'Practice-A.test',
        direction: 'inbound',
      },
    );
    expect(der.added.map((c) => c.fingerprintSha256)).toEqual([fingerprint(root)]);
    const again = await ok<{ added: unknown[]; already: { fingerprintSha256: string }[] }>(
      'importAnchors',
      { certificates: root.pem, direction: 'outbound' },
    );
    expect(again.added).toEqual([]);
    expect(again.already.map((c) => c.fingerprintSha256)).toEqual([fingerprint(root)]);

    const listed = await ok<{ anchors: AnchorView[] }>('listAnchors', {});
    expect(
      listed.anchors.map((a) => [a.fingerprintSha256, a.domain, a.direction, a.origin]),
    ).toEqual(
      expect.arrayContaining([
        [fingerprint(root), '*', 'outbound', 'manual'],
        [fingerprint(root), 'practice-a.test', 'inbound', 'manual'],
      ]),
    );
    expect(listed.anchors).toHaveLength(2);

    const removed = await ok<{ removed: AnchorView[] }>('removeAnchor', {
      fingerprintSha256: fingerprint(root),
      domain: 'practice-a.test',
    });
    expect(removed.removed.map((a) => [a.domain, a.direction])).toEqual([
      ['practice-a.test', 'inbound'],
    ]);
    const after = await ok<{ anchors: AnchorView[] }>('listAnchors', {});
    expect(after.anchors.map((a) => [a.domain, a.direction])).toEqual([['*', 'outbound']]);

    // Bad input is a typed error, not a crash.
    expect((await failure('importAnchors', { certificates: 'not a certificate!' })).code).toBe(
      'CERT_MALFORMED',
    );
    expect(
      (await failure('importAnchors', { certificates: root.pem, domain: 'no domain' })).code,
    ).toBe('BAD_REQUEST');
    expect((await failure('removeAnchor', { fingerprintSha256: fingerprint(expired) })).code).toBe(
      'ANCHOR_NOT_FOUND',
    );
  });

  it('a bundle from loopback HTTPS is added, refreshed and removed; its anchors go only with it', async () => {
    https.body = bundles.first;
    const added = await ok<{
      bundle: { name: string; anchorCount: number; signed: boolean; refreshHours: number };
      refresh: { ok: boolean; added: string[] };
    }>('addBundle', {
      name: 'community',
      url: https.url,
      domain: 'practice-a.test',
      direction: 'inbound',
      refreshHours: 0,
    });
    expect(added.bundle).toMatchObject({
      name: 'community',
      anchorCount: 2,
      signed: false,
      refreshHours: 0,
    });
    expect(added.refresh.ok).toBe(true);
    expect([...added.refresh.added].sort()).toEqual(
      [fingerprint(bundleRoots[0] as Issued), fingerprint(bundleRoots[1] as Issued)].sort(),
    );
    const listed = await ok<{ anchors: AnchorView[] }>('listAnchors', {
      domain: 'practice-a.test',
      direction: 'inbound',
    });
    expect(listed.anchors.filter((a) => a.origin === 'bundle').map((a) => a.bundle)).toEqual([
      'community',
      'community',
    ]);

    // A bundle anchor is not removed by hand: it goes with its bundle.
    const refusedRemove = await failure('removeAnchor', {
      fingerprintSha256: fingerprint(bundleRoots[0] as Issued),
    });
    expect(refusedRemove.code).toBe('ANCHOR_NOT_FOUND');
    expect(refusedRemove.message).toMatch(/trust bundle community/);

    // Unchanged bytes, then a new bundle: one root out, one in.
    const same = await ok<{ refresh: { ok: boolean; unchanged: boolean } }>('refreshBundle', {
      name: 'community',
    });
    expect(same.refresh).toMatchObject({ ok: true, unchanged: true });
    https.body = bundles.second;
    const changed = await ok<{
      bundle: { anchorCount: number };
      refresh: { ok: boolean; added: string[]; removed: string[] };
    }>('refreshBundle', { name: 'community' });
    expect(changed.refresh.added).toEqual([fingerprint(bundleRoots[2] as Issued)]);
    expect(changed.refresh.removed).toEqual([fingerprint(bundleRoots[0] as Issued)]);
    expect(changed.bundle.anchorCount).toBe(2);

    // A failed refresh keeps the anchors and says why.
    https.body = Buffer.from('this is not a bundle');
    const failed = await ok<{
      bundle: { anchorCount: number; lastError?: string };
      refresh: { ok: boolean; reason?: { code: string } };
    }>('refreshBundle', { name: 'community' });
    expect(failed.refresh).toMatchObject({ ok: false, reason: { code: 'BUNDLE_MALFORMED' } });
    expect(failed.bundle.anchorCount).toBe(2);
    expect(failed.bundle.lastError).toMatch(/BUNDLE_MALFORMED/);
    const { bundles: listedBundles } = await ok<{ bundles: { name: string }[] }>('listBundles', {});
    expect(listedBundles.map((b) => b.name)).toEqual(['community']);

    // Refused up front: plain http, an unsigned bundle where a signature is required.
    expect(
      (await failure('addBundle', { name: 'plain', url: https.url.replace('https:', 'http:') }))
        .code,
    ).toBe('BAD_REQUEST');
    https.body = bundles.first;
    const unsigned = await failure('addBundle', {
      name: 'must-sign',
      url: https.url,
      requireSigned: true,
    });
    expect(unsigned.code).toBe('BUNDLE_SIGNER_UNTRUSTED');
    expect(unsigned.message).toMatch(/not added/);
    expect((await failure('refreshBundle', { name: 'must-sign' })).code).toBe('ANCHOR_NOT_FOUND');

    const removed = await ok<{ removed: { name: string; anchorCount: number } }>('removeBundle', {
      name: 'community',
    });
    expect(removed.removed).toMatchObject({ name: 'community', anchorCount: 2 });
    const left = await ok<{ anchors: AnchorView[] }>('listAnchors', {});
    expect(left.anchors.map((a) => a.origin)).toEqual(['manual']);
    expect((await ok<{ bundles: unknown[] }>('listBundles', {})).bundles).toEqual([]);
  });

  it('importIdentity: wrong password and a legacy file are refused; then the new address can send', async () => {
    const modern = (await readFile(p12.modern)).toString('base64');
    const wrong = await failure('importIdentity', { pkcs12Base64: modern, password: 'wrong' });
    expect(wrong.code).toBe('PKCS12_BAD_PASSWORD');
    const legacy = await failure('importIdentity', {
      pkcs12Base64: (await readFile(p12.legacy)).toString('base64'),
      password: P12_PASS,
    });
    expect(legacy.code).toBe('PKCS12_UNSUPPORTED');
    expect(legacy.message).toContain('openssl pkcs12 -legacy -in old.p12 -nodes -out tmp.pem');
    const before = await ok<{ identities: { address: string }[] }>('identities', {});
    expect(before.identities.map((i) => i.address)).toEqual(['dr.adams@practice-a.test']);

    const imported = await ok<{
      identity: {
        fingerprintSha256: string;
        subject: string;
        addresses: { address: string; bound: string }[];
        keyLocation: string;
      };
      already: boolean;
    }>('importIdentity', { pkcs12Base64: modern, password: P12_PASS });
    expect(imported.already).toBe(false);
    expect(imported.identity).toMatchObject({
      fingerprintSha256: fingerprint(cole),
      addresses: [{ address: NEW_ADDRESS, bound: 'address' }],
      keyLocation: 'database',
    });
    expect(imported.identity.subject).toMatch(/Dr\. Cole/);
    const twice = await ok<{ already: boolean }>('importIdentity', {
      pkcs12Base64: modern,
      password: P12_PASS,
    });
    expect(twice.already).toBe(true);

    const after = await ok<{ identities: { address: string }[] }>('identities', {});
    expect(after.identities.map((i) => i.address)).toEqual([
      'dr.adams@practice-a.test',
      NEW_ADDRESS,
    ]);
    // The mail service took on the new domain: inbound SMTP now serves it too.
    const status = await ok<{ components: { name: string; state: string; detail?: string }[] }>(
      'status',
      {},
    );
    const inbound = status.components.find((c) => c.name === 'inbound');
    expect(inbound?.state).toBe('ok');
    expect(inbound?.detail).toMatch(/practice-a\.test, practice-c\.test/);

    // Sending from the new address: discovery finds the recipient under the '*' outbound anchor.
    const sent = await ok<{
      id?: number;
      recipients: { address: string; state: string; check: { state: string } }[];
    }>('sendMessage', {
      from: NEW_ADDRESS,
      to: [RECIPIENT],
      subject: 'From the new identity',
      text: 'Signed with the key imported through the mail window.',
    });
    expect(sent.recipients.map((r) => [r.address, r.state, r.check.state])).toEqual([
      [RECIPIENT, 'queued', 'found'],
    ]);
    expect(sent.id).toBeGreaterThan(0);
  });

  it('locked: every settings call is PROFILE_LOCKED until the profile is unlocked', async () => {
    await ok('lock', {});
    for (const [method, params] of [
      ['listAnchors', {}],
      ['importAnchors', { certificates: root.pem }],
      ['listBundles', {}],
      ['importIdentity', { pkcs12Base64: 'AAAA', password: '' }],
      ['auditLog', {}],
      ['exportAudit', { format: 'csv' }],
    ] as const) {
      expect((await failure(method, params)).code, method).toBe('PROFILE_LOCKED');
    }
    await ok('unlock', { passphrase: PASS });
    expect((await ok<{ anchors: unknown[] }>('listAnchors', {})).anchors).toHaveLength(1);
  });

  it('auditLog filters, exportAudit writes CSV and is itself audited; the chain is intact', async () => {
    const trust = await ok<{
      entries: { seq: number; action: string; detail?: string; counterpart?: string }[];
      chain: { intact: boolean; entries: number };
    }>('auditLog', { action: 'trust-change' });
    expect(trust.entries.length).toBeGreaterThanOrEqual(6);
    expect(new Set(trust.entries.map((e) => e.action))).toEqual(new Set(['trust-change']));
    const changes = trust.entries.map(
      (e) => (JSON.parse(e.detail ?? '{}') as { change: string }).change,
    );
    expect(changes).toEqual(
      expect.arrayContaining([
        'anchors-added',
        'anchor-removed',
        'bundle-added',
        'bundle-refreshed',
        'bundle-removed',
      ]),
    );
    expect(trust.chain.intact).toBe(true);

    const keys = await ok<{ entries: { action: string; counterpart?: string }[] }>('auditLog', {
      counterpart: NEW_ADDRESS.toUpperCase(),
    });
    expect(keys.entries.map((e) => [e.action, e.counterpart])).toEqual([
      ['key-import', NEW_ADDRESS],
    ]);
    const limited = await ok<{ entries: { seq: number }[]; chain: { entries: number } }>(
      'auditLog',
      { limit: 2 },
    );
    expect(limited.entries).toHaveLength(2);
    expect(limited.entries[1]?.seq).toBe(limited.chain.entries);
    expect(
      (
        await ok<{ entries: unknown[] }>('auditLog', {
          since: new Date(Date.now() + DAY).toISOString(),
        })
      ).entries,
    ).toEqual([]);

    const exported = await ok<{ filename: string; data: string; entries: number }>('exportAudit', {
      format: 'csv',
      action: 'trust-change',
    });
    expect(exported.filename).toMatch(/^sealpost-audit-\d{8}T\d{6}Z\.csv$/);
    const lines = exported.data.trimEnd().split('\r\n');
    expect(lines[0]).toBe('seq,at,user,action,counterpart,message_id,detail,prev,mac');
    expect(lines).toHaveLength(trust.entries.length + 1);
    expect(exported.entries).toBe(trust.entries.length);
    expect(lines.slice(1).every((line) => line.split(',')[3] === 'trust-change')).toBe(true);

    const json = await ok<{ data: string; filename: string }>('exportAudit', {
      format: 'json',
      action: 'key-import',
    });
    expect(json.filename).toMatch(/\.json$/);
    expect((JSON.parse(json.data) as { action: string }[]).map((e) => e.action)).toEqual([
      'key-import',
      'key-import',
    ]);

    const exports = await ok<{ entries: { detail?: string }[]; chain: { intact: boolean } }>(
      'auditLog',
      { action: 'audit-export' },
    );
    expect(exports.entries.map((e) => JSON.parse(e.detail ?? '{}') as unknown)).toEqual([
      { format: 'csv', entries: trust.entries.length, to: 'mail window', action: 'trust-change' },
      { format: 'json', entries: 2, to: 'mail window', action: 'key-import' },
    ]);
    expect(exports.chain.intact).toBe(true);
  });

  it('without --allow-private-fetch a bundle on a loopback address is refused and not registered', async () => {
    await served?.stop();
    served = await serve([]);
    https.body = bundles.first;
    const blocked = await failure('addBundle', { name: 'internal', url: https.url });
    expect(blocked.code).toBe('FETCH_FAILED');
    expect(blocked.message).toMatch(/not added/);
    expect((await ok<{ bundles: unknown[] }>('listBundles', {})).bundles).toEqual([]);
  });

  it('a tampered audit log is reported as intact: false, naming the entry', async () => {
    // Someone with the database key edits an entry by hand (the triggers dropped first).
    const profile = await openProfile(profileDir, {
      keySourceFor: () =>
        vaultMasterKeySource({ file: join(profileDir, VAULT_FILE), passphrase: Buffer.from(PASS) }),
    });
    try {
      profile.db.transaction((db) => {
        db.exec('DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;');
        db.prepare("UPDATE audit_log SET counterpart = 'mallory@evil.example' WHERE seq = 2").run();
      });
    } finally {
      profile.close();
    }
    const log = await ok<{
      entries: { seq: number; counterpart?: string }[];
      chain: { intact: boolean; entries: number; seq?: number; problem?: string; message?: string };
    }>('auditLog', {});
    expect(log.chain).toMatchObject({ intact: false, seq: 2, problem: 'changed' });
    expect(log.chain.entries).toBeGreaterThan(2);
    expect(log.chain.message).toMatch(/entry 2/);
    expect(log.entries.find((e) => e.seq === 2)?.counterpart).toBe('mallory@evil.example');
  });
});
