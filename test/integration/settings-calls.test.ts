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
import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDnsResponder, type DnsResponder } from '../../hisp/certs/hosting/dnsResponder.js';
import type { CliIo } from '../../hisp/cli/io.js';
import { runCli } from '../../hisp/cli/main.js';
import { vaultMasterKeySource } from '../../hisp/keys/masterKey.js';
import { createSilentLogger } from '../../hisp/log/logger.js';
import { openProfile, VAULT_FILE } from '../../hisp/store/profile.js';
import { freePort } from '../services/ports.js';
import { DAY, leafExtensions, openssl, TestPki, type Issued } from '../unit/certs-fixtures.js';

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
let https: Server;
let httpsBody: Buffer = Buffer.alloc(0);
let bundleUrl: string;
let profileDir: string;
let configFile: string;
const p12: Record<'modern' | 'legacy', string> = { modern: '', legacy: '' };
const bundles: Record<'first' | 'second', Buffer> = {
  first: Buffer.alloc(0),
  second: Buffer.alloc(0),
};

function opensslOk(args: string[]): void {
  const result = spawnSync(openssl(), args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${result.stderr}`);
}

/** An unsigned .p7b of the given certificates (`openssl crl2pkcs7 -nocrl`). */
async function unsignedBundle(name: string, certs: Issued[]): Promise<Buffer> {
  const pem = join(pki.dir, `${name}.certs.pem`);
  await writeFile(pem, certs.map((cert) => cert.pem).join(''));
  const out = join(pki.dir, `${name}.p7b`);
  opensslOk(['crl2pkcs7', '-nocrl', '-certfile', pem, '-outform', 'DER', '-out', out]);
  return readFile(out);
}

function cliIo(stop: Promise<string> = new Promise(() => undefined)) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    stdout: (text) => out.push(text),
    stderr: (text) => err.push(text),
    readStdin: () => Promise.resolve(Buffer.alloc(0)),
    writeStdout: () => Promise.resolve(),
    env: { PATH: process.env['PATH'] ?? '', PASS },
    stopSignal: stop,
    root: pki.dir,
  };
  return { io, out: () => out.join(''), err: () => err.join('') };
}

async function sealpost(...argv: string[]) {
  const captured = cliIo();
  const code = await runCli(argv, captured.io);
  return { code, out: captured.out(), err: captured.err() };
}

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
    extensions: [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
  });

  // Dr. Cole's identity as a practice would get it: a PKCS#12 file from OpenSSL 3 (AES,
  // PBKDF2), and the same as an old-style -legacy file (RC2-40 certificates).
  for (const kind of ['modern', 'legacy'] as const) {
    p12[kind] = join(pki.dir, `cole-${kind}.p12`);
    opensslOk([
      'pkcs12',
      '-export',
      '-in',
      cole.certPath,
      '-inkey',
      cole.keyPath,
      '-out',
      p12[kind],
      '-passout',
      `pass:${P12_PASS}`,
      ...(kind === 'legacy' ? ['-legacy'] : []),
    ]);
  }
  bundles.first = await unsignedBundle('first', [
    bundleRoots[0] as Issued,
    bundleRoots[1] as Issued,
  ]);
  bundles.second = await unsignedBundle('second', [
    bundleRoots[1] as Issued,
    bundleRoots[2] as Issued,
  ]);

  https = createServer({ key: await readFile(tls.keyPath), cert: tls.pem }, (request, response) => {
    if (request.url === '/bundle.p7b') response.writeHead(200).end(httpsBody);
    else response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
  bundleUrl = `https://127.0.0.1:${(https.address() as AddressInfo).port}/bundle.p7b`;

  // The recipient's certificate, published in DNS as Direct discovery looks for it.
  dns = await startDnsResponder({
    host: '127.0.0.1',
    port: 0,
    logger: createSilentLogger(),
    zones: [{ domain: 'practice-b.test', certificates: [baker.cert] }],
  });

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
  await new Promise<void>((resolve) => {
    if (https === undefined) resolve();
    else {
      https.closeAllConnections();
      https.close(() => resolve());
    }
  });
  await pki?.remove();
});

interface Served {
  readonly bridge: { url: string; token: string };
  readonly err: () => string;
  stop(): Promise<number>;
}

let served: Served | undefined;

async function serve(extra: readonly string[]): Promise<Served> {
  let stop = (_signal: string): void => undefined;
  const run = cliIo(new Promise((resolve) => (stop = resolve)));
  const exit = runCli(
    [
      'serve',
      ...profileArgs(),
      '--listen',
      '127.0.0.1:0',
      '--config',
      configFile,
      '--tls-ca',
      root.certPath,
      ...extra,
    ],
    run.io,
  );
  let settled: number | undefined;
  void exit.then((code) => (settled = code));
  let bridge: { url: string; token: string } | undefined;
  while (bridge === undefined && settled === undefined) {
    bridge = await readFile(join(profileDir, 'bridge.json'), 'utf8').then(
      (text) => JSON.parse(text) as { url: string; token: string },
      () => undefined,
    );
    if (bridge === undefined) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  if (bridge === undefined) throw new Error(`serve exited with ${settled}:\n${run.err()}`);
  let stopped: Promise<number> | undefined;
  return {
    bridge,
    err: run.err,
    stop: () => {
      stopped ??= (async () => {
        stop('SIGTERM');
        const code = await exit;
        // The next serve waits for this one's bridge.json to be gone.
        return code;
      })();
      return stopped;
    },
  };
}

type Answer<T> = { ok: true; result: T } | { ok: false; error: { code: string; message: string } };

async function call<T = Record<string, unknown>>(
  method: string,
  params: unknown,
): Promise<Answer<T>> {
  if (served === undefined) throw new Error('serve is not running');
  const response = await fetch(new URL(`/api/call/${method}`, served.bridge.url), {
    method: 'POST',
    headers: {
      authorization: `Bearer ${served.bridge.token}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify(params),
  });
  return (await response.json()) as Answer<T>;
}

/** The result of a call that must succeed. */
async function ok<T = Record<string, unknown>>(method: string, params: unknown): Promise<T> {
  const answer = await call<T>(method, params);
  if (!answer.ok) throw new Error(`${method}: ${answer.error.code} ${answer.error.message}`);
  return answer.result;
}

/** The error of a call that must fail. */
async function failure(
  method: string,
  params: unknown,
): Promise<{ code: string; message: string }> {
  const answer = await call(method, params);
  if (answer.ok) throw new Error(`${method} succeeded: ${JSON.stringify(answer.result)}`);
  return answer.error;
}

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
    httpsBody = bundles.first;
    const added = await ok<{
      bundle: { name: string; anchorCount: number; signed: boolean; refreshHours: number };
      refresh: { ok: boolean; added: string[] };
    }>('addBundle', {
      name: 'community',
      url: bundleUrl,
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
    httpsBody = bundles.second;
    const changed = await ok<{
      bundle: { anchorCount: number };
      refresh: { ok: boolean; added: string[]; removed: string[] };
    }>('refreshBundle', { name: 'community' });
    expect(changed.refresh.added).toEqual([fingerprint(bundleRoots[2] as Issued)]);
    expect(changed.refresh.removed).toEqual([fingerprint(bundleRoots[0] as Issued)]);
    expect(changed.bundle.anchorCount).toBe(2);

    // A failed refresh keeps the anchors and says why.
    httpsBody = Buffer.from('this is not a bundle');
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
      (await failure('addBundle', { name: 'plain', url: bundleUrl.replace('https:', 'http:') }))
        .code,
    ).toBe('BAD_REQUEST');
    httpsBody = bundles.first;
    const unsigned = await failure('addBundle', {
      name: 'must-sign',
      url: bundleUrl,
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
    httpsBody = bundles.first;
    const blocked = await failure('addBundle', { name: 'internal', url: bundleUrl });
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
