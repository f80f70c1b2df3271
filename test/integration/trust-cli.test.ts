/**
 * The trust store from the command line, end to end: `profile init` (passphrase vault),
 * `anchors import|list|remove`, `bundles add|refresh|list|remove` with bundles made by
 * OpenSSL (`crl2pkcs7`, `cms -sign`) read from a file and from a loopback HTTPS server, and
 * `serve` refreshing bundles and answering DNS for the practice's certificates.
 */
import { promises as dnsPromises } from 'node:dns';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverDns } from '../../hisp/certs/discovery/dns.js';
import { createLogger } from '../../hisp/log/logger.js';
import { runCaptured, startServe, type CliIoOptions } from '../services/cliIo.js';
import {
  loopbackServerExtensions,
  startBundleServer,
  type BundleServer,
} from '../services/https.js';
import { freeTcpUdpPort } from '../services/index.js';
import {
  opensslPkcs12,
  opensslSignedBundle,
  opensslUnsignedBundle,
} from '../services/openssl-direct.js';
import { caExtensions, leafExtensions, TestPki, type Issued } from '../unit/certs-fixtures.js';

const PASS = 'correct horse battery staple';
let pki: TestPki;
let rootA: Issued;
let rootB: Issued;
let rootC: Issued;
let expired: Issued;
let signerCa: Issued;
let signer: Issued;
let wrongSigner: Issued;
let practiceLeaf: Issued;
const files: Record<string, string> = {};

const cliOptions = (): CliIoOptions => ({
  env: { SEALPOST_PASS: PASS, WRONG_PASS: 'not the passphrase' },
  root: pki.dir,
});

const sealpost = (...argv: string[]) => runCaptured(argv, cliOptions());

let profile: string;
let https: BundleServer;

beforeAll(async () => {
  pki = await TestPki.create('trust-cli');
  [rootA, rootB, rootC, signerCa] = (await Promise.all(
    ['A', 'B', 'C', 'Bundle Signing CA'].map((name) =>
      pki.root(`root-${name}`, { subject: `/O=Trust CLI Tests/CN=${name}` }),
    ),
  )) as [Issued, Issued, Issued, Issued];
  const day = 24 * 3600 * 1000;
  expired = await pki.root('expired', {
    subject: '/O=Trust CLI Tests/CN=Expired Root',
    notBefore: new Date(Date.now() - 30 * day),
    notAfter: new Date(Date.now() - day),
  });
  const signingExtensions = leafExtensions({ keyUsage: 'digitalSignature', extKeyUsage: false });
  signer = await pki.issue(signerCa, 'bundle-signer', {
    subject: '/O=Trust CLI Tests/CN=Bundle Signer',
    extensions: signingExtensions,
  });
  const rogueCa = await pki.root('rogue', {
    subject: '/O=Trust CLI Tests/CN=Bundle Signing CA',
    extensions: caExtensions({ aki: false }),
  });
  wrongSigner = await pki.issue(rogueCa, 'wrong-signer', {
    subject: '/O=Trust CLI Tests/CN=Bundle Signer',
    extensions: signingExtensions,
  });
  practiceLeaf = await pki.issue(rootA, 'practice', {
    subject: '/O=Clinic/CN=clinic.example',
    extensions: leafExtensions({ dnsNames: ['clinic.example'] }),
  });
  const httpsCert = await pki.issue(rootA, 'https', {
    subject: '/CN=127.0.0.1',
    extensions: loopbackServerExtensions(),
  });
  const signedBundle = (name: string, certs: Issued[], by: Issued) =>
    opensslSignedBundle(pki.dir, name, certs, by);
  files['ab'] = await signedBundle('ab', [rootA, rootB], signer);
  files['bc'] = await signedBundle('bc', [rootB, rootC], signer);
  files['wrong'] = await signedBundle('wrong', [rootC], wrongSigner);
  files['unsigned'] = await opensslUnsignedBundle(pki.dir, 'unsigned-c', [rootC]);
  files['empty'] = await signedBundle('empty', [], signer);
  files['live'] = join(pki.dir, 'live.p7b');
  await writeFile(files['live'], await readFile(files['ab']));

  https = await startBundleServer({ key: await readFile(httpsCert.keyPath), cert: httpsCert.pem });

  profile = join(pki.dir, 'clinic');
  const init = await sealpost(
    'profile',
    'init',
    '--profile',
    profile,
    '--vault',
    '--pass',
    'env:SEALPOST_PASS',
  );
  expect(init.err).toBe('');
  expect(init.code).toBe(0);
}, 60_000);

afterAll(async () => {
  await https.close();
  await pki.remove();
});

const p = () => ['--profile', profile, '--pass', 'env:SEALPOST_PASS'];

function importAnchor(domain: string, direction: string, cert: Issued) {
  return sealpost(
    'anchors',
    'import',
    ...p(),
    '--domain',
    domain,
    '--direction',
    direction,
    cert.certPath,
  );
}

describe('sealpost profile init', () => {
  it('made a private directory with the description, the vault and the encrypted database', async () => {
    expect((await stat(profile)).mode & 0o777).toBe(0o700);
    for (const name of ['profile.json', 'vault.json']) {
      expect((await stat(join(profile, name))).mode & 0o777, name).toBe(0o600);
    }
    const info = JSON.parse(await readFile(join(profile, 'profile.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(info).toMatchObject({ format: 'sealpost-profile', version: 1, keySource: 'vault' });
    const header = (await readFile(join(profile, 'sealpost.db')))
      .subarray(0, 15)
      .toString('latin1');
    expect(header).not.toBe('SQLite format 3');
  });

  it('refuses a second init, a wrong passphrase and a missing --pass, each with its own message', async () => {
    const again = await sealpost(
      'profile',
      'init',
      '--profile',
      profile,
      '--vault',
      '--pass',
      'env:SEALPOST_PASS',
    );
    expect(again.code).toBe(2);
    expect(again.err).toContain('[PROFILE_EXISTS]');
    const wrong = await sealpost(
      'anchors',
      'list',
      '--profile',
      profile,
      '--pass',
      'env:WRONG_PASS',
    );
    expect(wrong.code).toBe(2);
    expect(wrong.err).toContain('[VAULT_BAD_PASSPHRASE]');
    const none = await sealpost('anchors', 'list', '--profile', profile);
    expect(none.code).toBe(1);
    expect(none.err).toMatch(/passphrase vault: give --pass/);
    const missing = await sealpost('anchors', 'list', '--profile', join(pki.dir, 'nowhere'));
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/sealpost profile init.*\[PROFILE_NOT_FOUND\]/);
  });
});

describe('sealpost anchors', () => {
  it('imports by hand per domain and direction, lists with origin, removes by fingerprint prefix', async () => {
    const added = await sealpost(
      'anchors',
      'import',
      ...p(),
      '--domain',
      'clinic.example',
      '--direction',
      'inbound',
      rootC.certPath,
    );
    expect(added.code).toBe(0);
    expect(added.out).toContain(`added  ${rootC.cert.fingerprintSha256}`);

    const again = await sealpost(
      'anchors',
      'import',
      ...p(),
      '--domain',
      'clinic.example',
      '--direction',
      'inbound',
      rootC.certPath,
    );
    expect(again.out).toContain(`already there  ${rootC.cert.fingerprintSha256}`);

    const listed = await sealpost('anchors', 'list', ...p(), '--json');
    const anchors = JSON.parse(listed.out) as {
      fingerprintSha256: string;
      domain: string;
      direction: string;
      origin: unknown;
    }[];
    expect(anchors).toEqual([
      expect.objectContaining({
        fingerprintSha256: rootC.cert.fingerprintSha256,
        domain: 'clinic.example',
        direction: 'inbound',
        origin: { kind: 'manual' },
      }),
    ]);

    const removed = await sealpost(
      'anchors',
      'remove',
      ...p(),
      rootC.cert.fingerprintSha256.slice(0, 10),
    );
    expect(removed.code).toBe(0);
    expect(removed.out).toContain(`removed  ${rootC.cert.fingerprintSha256}`);
    expect((await sealpost('anchors', 'list', ...p())).out).toBe('No trust anchors.\n');
  });

  it('refuses an expired certificate, and a file that is not a certificate', async () => {
    const old = await sealpost('anchors', 'import', ...p(), expired.certPath);
    expect(old.code).toBe(2);
    expect(old.err).toMatch(/not imported: .*expired/i);
    const garbage = join(pki.dir, 'garbage.pem');
    await writeFile(garbage, 'this is not a certificate\n');
    const bad = await sealpost('anchors', 'import', ...p(), garbage);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/\[CERT_MALFORMED\]/);
  });

  it('usage errors exit 1', async () => {
    expect((await sealpost('anchors')).code).toBe(1);
    expect(
      (await sealpost('anchors', 'import', ...p(), '--direction', 'sideways', rootA.certPath)).code,
    ).toBe(1);
    expect((await sealpost('anchors', 'remove', ...p())).code).toBe(1);
  });
});

describe('sealpost bundles', () => {
  it('a signed bundle from a file: anchors come from it, each showing the bundle', async () => {
    const added = await sealpost(
      'bundles',
      'add',
      ...p(),
      '--name',
      'community',
      '--file',
      files['live']!,
      '--signer',
      signerCa.certPath,
      '--require-signed',
    );
    expect(added.err).toBe('');
    expect(added.code).toBe(0);
    expect(added.out).toContain('community: 2 anchor(s) added, 0 removed');
    const anchors = JSON.parse((await sealpost('anchors', 'list', ...p(), '--json')).out) as {
      fingerprintSha256: string;
      origin: { kind: string; name?: string };
    }[];
    expect(new Set(anchors.map((anchor) => anchor.fingerprintSha256))).toEqual(
      new Set([rootA.cert.fingerprintSha256, rootB.cert.fingerprintSha256]),
    );
    expect(
      anchors.every(
        (anchor) => anchor.origin.kind === 'bundle' && anchor.origin.name === 'community',
      ),
    ).toBe(true);
  });

  it('the unchanged bundle is not re-imported; a changed one adds and removes anchors', async () => {
    const same = await sealpost('bundles', 'refresh', ...p(), 'community');
    expect(same.code).toBe(0);
    expect(same.out).toBe('community: unchanged\n');

    await writeFile(files['live']!, await readFile(files['bc']!));
    const changed = await sealpost('bundles', 'refresh', ...p(), 'community');
    expect(changed.code).toBe(0);
    expect(changed.out).toContain('community: 1 anchor(s) added, 1 removed');
    expect(changed.out).toContain(`+ ${rootC.cert.fingerprintSha256}`);
    expect(changed.out).toContain(`- ${rootA.cert.fingerprintSha256}`);
  });

  it('a bundle signed by the wrong signer is refused at refresh: the anchors are kept and the failure shown', async () => {
    await writeFile(files['live']!, await readFile(files['wrong']!));
    const refused = await sealpost('bundles', 'refresh', ...p(), 'community');
    expect(refused.code).toBe(2);
    expect(refused.out).toMatch(
      /community: refresh failed, anchors kept: .*\[BUNDLE_SIGNER_UNTRUSTED\]/,
    );
    const anchors = JSON.parse((await sealpost('anchors', 'list', ...p(), '--json')).out) as {
      fingerprintSha256: string;
    }[];
    expect(new Set(anchors.map((anchor) => anchor.fingerprintSha256))).toEqual(
      new Set([rootB.cert.fingerprintSha256, rootC.cert.fingerprintSha256]),
    );
    const listed = await sealpost('bundles', 'list', ...p());
    expect(listed.out).toMatch(/LAST REFRESH FAILED: BUNDLE_SIGNER_UNTRUSTED/);

    // An unsigned bundle where a signature is required is refused the same way.
    await writeFile(files['live']!, await readFile(files['unsigned']!));
    const unsigned = await sealpost('bundles', 'refresh', ...p(), 'community');
    expect(unsigned.code).toBe(2);
    expect(unsigned.out).toMatch(/not signed.*\[BUNDLE_SIGNER_UNTRUSTED\]/);

    // A correctly signed bundle that suddenly holds nothing would drop every anchor: refused.
    await writeFile(files['live']!, await readFile(files['empty']!));
    const empty = await sealpost('bundles', 'refresh', ...p(), 'community');
    expect(empty.code).toBe(2);
    expect(empty.out).toMatch(/no usable anchor \(it had 2\).*\[BUNDLE_MALFORMED\]/);
    const kept = JSON.parse((await sealpost('anchors', 'list', ...p(), '--json')).out) as unknown[];
    expect(kept).toHaveLength(4); // B and C, inbound and outbound
  });

  it('adding a bundle whose signer is not the configured one registers nothing', async () => {
    const added = await sealpost(
      'bundles',
      'add',
      ...p(),
      '--name',
      'rogue',
      '--file',
      files['wrong']!,
      '--signer',
      signer.certPath,
    );
    expect(added.code).toBe(2);
    expect(added.err).toMatch(/Bundle Signer.*not added.*\[BUNDLE_SIGNER_UNTRUSTED\]/s);
    const listed = JSON.parse((await sealpost('bundles', 'list', ...p(), '--json')).out) as {
      name: string;
    }[];
    expect(listed.map((bundle) => bundle.name)).toEqual(['community']);
  });

  it('from an HTTPS URL, trusting a private CA with --tls-ca; plain http is refused', async () => {
    https.body = await readFile(files['ab']!);
    const { url } = https;
    const untrusted = await sealpost(
      'bundles',
      'add',
      ...p(),
      '--name',
      'web',
      '--url',
      url,
      '--signer',
      signer.certPath,
    );
    expect(untrusted.code).toBe(2);
    expect(untrusted.err).toContain('[FETCH_FAILED]');
    const added = await sealpost(
      'bundles',
      'add',
      ...p(),
      '--name',
      'web',
      '--url',
      url,
      '--signer',
      signer.certPath,
      '--domain',
      'clinic.example',
      '--direction',
      'outbound',
      '--tls-ca',
      rootA.certPath,
    );
    expect(added.err).toBe('');
    expect(added.code).toBe(0);
    expect(added.out).toContain('web: 2 anchor(s) added');
    const http = await sealpost(
      'bundles',
      'add',
      ...p(),
      '--name',
      'plain',
      '--url',
      url.replace('https:', 'http:'),
    );
    expect(http.code).toBe(1);
    expect(http.err).toMatch(/https:\/\/ URL/);
  });

  it('removing a bundle removes its anchors', async () => {
    const removed = await sealpost('bundles', 'remove', ...p(), 'web');
    expect(removed.code).toBe(0);
    expect(removed.out).toBe('removed bundle web and its 2 anchor(s)\n');
    const anchors = JSON.parse((await sealpost('anchors', 'list', ...p(), '--json')).out) as {
      origin: { name?: string };
    }[];
    expect(anchors.some((anchor) => anchor.origin.name === 'web')).toBe(false);
  });
});

describe('trust changes are in the audit log', () => {
  it('every anchor and bundle change was recorded, and the chain verifies', async () => {
    const verified = await sealpost('profile', 'audit', ...p(), '--verify');
    expect(verified.err).toBe('');
    expect(verified.out).toMatch(/^audit chain intact: \d+ entries/);
    const listed = await sealpost(
      'profile',
      'audit',
      ...p(),
      '--action',
      'trust-change',
      '--format',
      'json',
    );
    expect(listed.code).toBe(0);
    const changes = (JSON.parse(listed.out) as { detail: { change: string } }[]).map(
      (entry) => entry.detail.change,
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
  });
});

describe('sealpost serve with the trust store', () => {
  /** The practice's identity: its certificate is what the DNS responder publishes. */
  const importPracticeIdentity = async (): Promise<void> => {
    const imported = await sealpost(
      'profile',
      'import-key',
      ...p(),
      '--key',
      practiceLeaf.keyPath,
      '--cert',
      practiceLeaf.certPath,
    );
    expect(imported.err).toBe('');
    expect(imported.code).toBe(0);
  };

  it('reports trust in its status and answers DNS CERT queries for the practice identity', async () => {
    await importPracticeIdentity();
    const dnsPort = await freeTcpUdpPort();
    const served = await startServe(
      [
        ...p(),
        '--listen',
        '127.0.0.1:0',
        '--dns-listen',
        `127.0.0.1:${dnsPort}`,
        '--dns-mx',
        'mail.clinic.example',
        '--dns-a',
        '192.0.2.10',
        '--dns-srv',
        '_ldap._tcp:0:100:389:ldap.clinic.example',
      ],
      { ...cliOptions(), profileDir: profile },
    );
    const bridgeFile = join(profile, 'bridge.json');
    const info = served.bridge;
    try {
      expect(info, served.err()).toBeDefined();
      const answer = await fetch(`${info?.url}api/call/status`, {
        method: 'POST',
        headers: { authorization: `Bearer ${info?.token}`, 'content-type': 'application/json' },
        body: '{}',
      });
      const status = (await answer.json()) as {
        result: { components: { name: string; state: string; detail?: string }[] };
      };
      const trust = status.result.components.find((component) => component.name === 'trust');
      expect(trust).toMatchObject({ state: 'degraded' });
      expect(trust?.detail).toMatch(/2 anchor\(s\), 1 bundle\(s\); refresh failing: community/);
      expect(
        status.result.components.find((component) => component.name === 'dns')?.detail,
      ).toContain('clinic.example');

      const logger = createLogger({ level: 'error', sink: () => undefined });
      const found = await discoverDns('someone@clinic.example', {
        resolver: { servers: [{ host: '127.0.0.1', port: dnsPort }] },
        logger,
      });
      expect(found.candidates.map((candidate) => candidate.der.toString('hex'))).toContain(
        practiceLeaf.der.toString('hex'),
      );

      // MX, A and SRV, asked with Node's own resolver (c-ares), an independent client.
      const resolver = new dnsPromises.Resolver({ timeout: 2000, tries: 1 });
      resolver.setServers([`127.0.0.1:${dnsPort}`]);
      expect(await resolver.resolveMx('clinic.example')).toEqual([
        { exchange: 'mail.clinic.example', priority: 10 },
      ]);
      expect(await resolver.resolve4('clinic.example')).toEqual(['192.0.2.10']);
      expect(await resolver.resolveSrv('_ldap._tcp.clinic.example')).toEqual([
        { name: 'ldap.clinic.example', port: 389, priority: 0, weight: 100 },
      ]);

      // Discovery takes its anchors from the trust store: the outbound anchors of the sending
      // domain. Root A (the practice certificate's issuer) is not one yet…
      const discover = (from: string) =>
        sealpost(
          'certs',
          'discover',
          'someone@clinic.example',
          '--dns',
          `127.0.0.1:${dnsPort}`,
          ...p(),
          '--from',
          from,
          '--offline',
          '--revocation',
          'off',
        );
      const untrusted = await discover('sender.example');
      expect(untrusted.code).toBe(5);
      expect(untrusted.err).toContain('is neither a configured anchor');
      // …an inbound anchor does not count for sending…
      await importAnchor('sender.example', 'inbound', rootA);
      expect((await discover('sender.example')).code).toBe(5);
      // …an outbound one for another local domain neither; for this one it does.
      await importAnchor('other.example', 'outbound', rootA);
      expect((await discover('sender.example')).code).toBe(5);
      await importAnchor('sender.example', 'outbound', rootA);
      const trusted = await discover('sender.example');
      expect(trusted.err).toBe('');
      expect(trusted.code).toBe(0);
      expect(trusted.out).toBe(practiceLeaf.cert.x509.toString());
    } finally {
      expect(await served.stop()).toBe(0);
    }
    await expect(stat(bridgeFile)).rejects.toThrow();
  });

  it('publishes an identity imported in Settings at once, under its new domain', async () => {
    const second = await pki.issue(rootA, 'second', {
      subject: '/O=Second Clinic/CN=second.example',
      extensions: leafExtensions({ dnsNames: ['second.example'] }),
    });
    const p12 = await opensslPkcs12(second, join(pki.dir, 'second.p12'), 'p12 words');
    await importPracticeIdentity(); // the same again changes nothing
    const dnsPort = await freeTcpUdpPort();
    const served = await startServe(
      [...p(), '--listen', '127.0.0.1:0', '--dns-listen', `127.0.0.1:${dnsPort}`],
      { ...cliOptions(), profileDir: profile },
    );
    const info = served.bridge;
    const call = async (method: string, params: unknown): Promise<unknown> => {
      const answer = await fetch(`${info?.url}api/call/${method}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${info?.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(params),
      });
      return ((await answer.json()) as { result?: unknown }).result;
    };
    const logger = createLogger({ level: 'error', sink: () => undefined });
    const published = async (address: string): Promise<string[]> => {
      try {
        const found = await discoverDns(address, {
          resolver: { servers: [{ host: '127.0.0.1', port: dnsPort }] },
          logger,
        });
        return found.candidates.map((candidate) => candidate.der.toString('hex'));
      } catch {
        return []; // not a zone this responder answers for
      }
    };
    const dnsDetail = async () =>
      (
        (await call('status', {})) as { components: { name: string; detail?: string }[] }
      ).components.find((component) => component.name === 'dns')?.detail;
    try {
      expect(info, served.err()).toBeDefined();
      expect(await published('someone@second.example')).toEqual([]);
      expect(await dnsDetail()).not.toContain('second.example');

      const imported = (await call('importIdentity', {
        pkcs12Base64: (await readFile(p12)).toString('base64'),
        password: 'p12 words',
      })) as { already: boolean } | undefined;
      expect(imported?.already, served.err()).toBe(false);

      // No restart: the new domain answers, and the first one still does.
      expect(await published('someone@second.example')).toEqual([second.der.toString('hex')]);
      expect(await published('someone@clinic.example')).toContain(practiceLeaf.der.toString('hex'));
      expect(await dnsDetail()).toMatch(
        /clinic\.example.*second\.example|second\.example.*clinic\.example/,
      );
    } finally {
      expect(await served.stop()).toBe(0);
    }
  });
});
