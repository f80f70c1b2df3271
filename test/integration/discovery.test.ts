/**
 * Certificate discovery end to end, DCDT style: real knot serving CERT and SRV records, a
 * real slapd directory, and the selection rules — each case asserts exactly which
 * certificate is chosen, or that none is. Also the `sealpost certs discover` command.
 */
import { spawnSync } from 'node:child_process';
import { promises as dnsPromises } from 'node:dns';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCertificate } from '../../hisp/certs/certificate.js';
import {
  discoverCertificates,
  type DiscoveryOptions,
} from '../../hisp/certs/discovery/discover.js';
import { DiscoveryCache } from '../../hisp/certs/discovery/cache.js';
import { discoverDns } from '../../hisp/certs/discovery/dns.js';
import { zoneRecords } from '../../hisp/certs/discovery/zone.js';
import { createSilentLogger } from '../../hisp/log/logger.js';
import {
  createTestCa,
  issueEndEntityCert,
  type TestCa,
  type TestEndEntity,
} from '../services/certs.js';
import { certRecordLine, srvRecordLine } from '../services/dns.js';
import { startKnot, type KnotHandle } from '../services/knot.js';
import { personLdif, startSlapd, type SlapdHandle } from '../services/slapd.js';
import { makeTempDir, type TempDir } from '../services/tmp.js';

const root = resolve(import.meta.dirname, '..', '..');
const DAY = 24 * 60 * 60 * 1000;

let dir: TempDir;
let ca: TestCa;
let attackerCa: TestCa;
let alice: TestEndEntity; // address-bound, valid
let aliceShortLived: TestEndEntity; // address-bound, expired at the check date
let aliceSpoofed: TestEndEntity; // address-bound, issued by a CA nobody trusts
let bob: TestEndEntity; // for bob@ — published at alice's name as a wrong-address decoy
let domainCert: TestEndEntity; // domain-bound (dNSName) for d2.test
let carol: TestEndEntity; // only in LDAP
let expiredOnly: TestEndEntity; // only an expired one, in DNS and LDAP
let knot: KnotHandle;
let slapd: SlapdHandle;

/** Checked three days from now: the one-day certificates have expired, the others have not. */
const at = () => new Date(Date.now() + 3 * DAY);

beforeAll(async () => {
  dir = await makeTempDir('discovery');
  [ca, attackerCa] = await Promise.all([
    createTestCa(dir.path, { name: 'anchor', commonName: 'Sealpost Test Anchor' }),
    createTestCa(dir.path, { name: 'attacker', commonName: 'Sealpost Test Anchor' }), // same name, other key
  ]);
  [alice, aliceShortLived, aliceSpoofed, bob, domainCert, carol, expiredOnly] = await Promise.all([
    issueEndEntityCert(ca, dir.path, { email: 'alice@example.test' }),
    issueEndEntityCert(ca, dir.path, { email: 'alice@example.test', name: 'alice-short', days: 1 }),
    issueEndEntityCert(attackerCa, dir.path, {
      email: 'alice@example.test',
      name: 'alice-spoofed',
    }),
    issueEndEntityCert(ca, dir.path, { email: 'bob@example.test' }),
    issueEndEntityCert(ca, dir.path, {
      email: 'postmaster@d2.test',
      name: 'd2',
      dnsNames: ['d2.test'],
    }),
    issueEndEntityCert(ca, dir.path, { email: 'carol@example.test' }),
    issueEndEntityCert(ca, dir.path, { email: 'old@example.test', days: 1 }),
  ]);
  slapd = await startSlapd({
    ldif: [
      personLdif('dc=example,dc=test', 'carol@example.test', carol.certDer),
      personLdif('dc=example,dc=test', 'old@example.test', expiredOnly.certDer),
    ].join('\n'),
  });
  knot = await startKnot({
    zone: 'example.test',
    records: [
      certRecordLine('alice', alice.certDer),
      certRecordLine('alice', aliceShortLived.certDer),
      certRecordLine('alice', aliceSpoofed.certDer),
      certRecordLine('alice', bob.certDer),
      certRecordLine('old', expiredOnly.certDer),
      srvRecordLine('_ldap._tcp', 0, 0, slapd.port, 'ldap.example.test.'),
      'ldap 300 IN A 127.0.0.1',
    ],
    extraZones: { 'd2.test': [certRecordLine('d2.test.', domainCert.certDer)] },
  });
});

afterAll(async () => {
  await Promise.all([knot?.stop(), slapd?.stop()]);
  await dir?.remove();
});

function options(overrides: Partial<DiscoveryOptions> = {}): DiscoveryOptions {
  return {
    dnsServers: [{ host: '127.0.0.1', port: knot.port }],
    anchors: [parseCertificate(ca.certDer)],
    revocation: 'off',
    logger: createSilentLogger(),
    at: at(),
    ...overrides,
  };
}

const fp = (cert: TestEndEntity) => parseCertificate(cert.certDer).fingerprintSha256;

describe('discovery: which certificate is chosen', () => {
  it('risk-2 risk-9: in DNS, only the valid anchored address-bound certificate is used; the expired, the spoofed and the wrong-address ones are rejected with reasons', async () => {
    const result = await discoverCertificates('alice@example.test', options());
    expect(result.selected.map((s) => [s.cert.fingerprintSha256, s.source, s.bound])).toEqual([
      [fp(alice), 'dns', 'address'],
    ]);
    const rejected = new Map(
      result.rejected.map((r) => [r.fingerprintSha256, r.reasons.map((x) => x.code)]),
    );
    expect(rejected.get(fp(aliceShortLived))).toContain('CERT_EXPIRED');
    expect(rejected.get(fp(aliceSpoofed))).toContain('CERT_UNTRUSTED');
    expect(rejected.get(fp(bob))).toContain('CERT_ADDRESS_MISMATCH');
  });

  it('a domain-bound certificate serves every address at the domain', async () => {
    const result = await discoverCertificates('anyone@d2.test', options());
    expect(result.selected.map((s) => [s.cert.fingerprintSha256, s.bound])).toEqual([
      [fp(domainCert), 'domain'],
    ]);
  });

  it('nothing in DNS: the directory found by SRV is searched', async () => {
    const result = await discoverCertificates('carol@example.test', options());
    expect(result.selected.map((s) => [s.cert.fingerprintSha256, s.source, s.bound])).toEqual([
      [fp(carol), 'ldap', 'address'],
    ]);
  });

  it('only expired certificates, in DNS and in LDAP: nothing is usable', async () => {
    const result = await discoverCertificates('old@example.test', options());
    expect(result.selected).toEqual([]);
    expect(result.rejected.map((r) => r.reason.code)).toEqual(['CERT_EXPIRED']);
  });

  it('no CERT and no directory entry: nothing, without an error', async () => {
    const result = await discoverCertificates('nobody@example.test', options());
    expect(result.selected).toEqual([]);
    expect(result.rejected).toEqual([]);
  });

  it('risk-9: with no anchor configured, nothing found in DNS is ever usable', async () => {
    const result = await discoverCertificates('alice@example.test', options({ anchors: [] }));
    expect(result.selected).toEqual([]);
    expect(result.rejected.length).toBeGreaterThanOrEqual(4);
  });
});

describe('discovery cache', () => {
  it('a second lookup within the TTL asks no server; a failed lookup is not cached', async () => {
    const cache = new DiscoveryCache();
    const first = await discoverCertificates('alice@example.test', options({ cache }));
    expect(first.selected).toHaveLength(1);
    // The DNS server is now unreachable: the cached answer is still given.
    const again = await discoverCertificates(
      'alice@example.test',
      options({ cache, dnsServers: [{ host: '127.0.0.1', port: 9 }], dnsTimeoutMs: 200 }),
    );
    expect(again).toBe(first);
    const down = await discoverCertificates(
      'carol@example.test',
      options({ cache, dnsServers: [{ host: '127.0.0.1', port: 9 }], dnsTimeoutMs: 200 }),
    );
    expect(down.selected).toEqual([]);
    expect(cache.get('carol@example.test')).toBeUndefined();
  });
});

describe('sealpost certs discover', () => {
  const bin = join(root, 'bin', 'sealpost.js');
  const sealpost = (...args: string[]) =>
    spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000 });

  beforeAll(() => {
    if (!existsSync(join(root, 'dist', 'hisp', 'cli.js')))
      throw new Error('dist/ is not built: run `npm run build` first (npm test does)');
  });

  it('prints the usable certificate as PEM, writes the report, exits 0', async () => {
    const report = join(dir.path, 'discover.json');
    const r = sealpost(
      'certs',
      'discover',
      'carol@example.test',
      '--dns',
      `127.0.0.1:${knot.port}`,
      '--anchor',
      ca.certPath,
      '--offline',
      '--report',
      report,
    );
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(
      parseCertificate(Buffer.from(r.stdout.replace(/-----[^-]+-----|\s/g, ''), 'base64'))
        .fingerprintSha256,
    ).toBe(fp(carol));
    expect(JSON.parse(await readFile(report, 'utf8'))).toEqual({
      address: 'carol@example.test',
      selected: [{ fingerprintSha256: fp(carol), source: 'ldap', bound: 'address' }],
      rejected: [],
    });
  });

  it('exits 5 when nothing is usable, and says why', () => {
    const none = sealpost(
      'certs',
      'discover',
      'nobody@example.test',
      '--dns',
      `127.0.0.1:${knot.port}`,
      '--anchor',
      ca.certPath,
      '--offline',
    );
    expect(none.status).toBe(5);
    expect(none.stderr).toContain('no usable certificate for nobody@example.test');
    expect(none.stdout).toBe('');
  });

  it('usage errors exit 1', () => {
    expect(sealpost('certs', 'discover', '--anchor', ca.certPath).status).toBe(1);
    expect(sealpost('certs', 'discover', 'alice@example.test').status).toBe(1);
    expect(sealpost('certs', 'frob').status).toBe(1);
  });
});

describe('hosting our own certificates: the exported zone records, served by knot, are found', () => {
  let hosted: KnotHandle | undefined;
  afterAll(async () => {
    await hosted?.stop();
  });

  it('CERT for an address-bound and a domain-bound certificate, and the MX, round trip through a real DNS server', async () => {
    const aliceLines = zoneRecords([parseCertificate(alice.certDer)], {
      ttl: 600,
      mx: ['mx1.example.test'],
    });
    const d2Lines = zoneRecords([parseCertificate(domainCert.certDer)], { ttl: 600 });
    expect(aliceLines.filter((l) => !l.startsWith(';'))[0]).toMatch(
      /^alice\.example\.test\. 600 IN CERT PKIX 0 0 \(/,
    );
    // Its SAN has the postmaster address and the domain: published under both names.
    expect(d2Lines.filter((l) => !l.startsWith(';')).map((l) => l.split(' ')[0])).toEqual([
      'postmaster.d2.test.',
      'd2.test.',
    ]);
    hosted = await startKnot({
      zone: 'example.test',
      records: [...aliceLines, 'mx1 600 IN A 127.0.0.1'],
      extraZones: { 'd2.test': d2Lines },
    });
    const resolver = { servers: [{ host: '127.0.0.1', port: hosted.port }] };
    const forAlice = await discoverDns('alice@example.test', {
      resolver,
      logger: createSilentLogger(),
    });
    expect(forAlice.candidates.map((c) => [c.der.equals(alice.certDer), c.bound, c.via])).toEqual([
      [true, 'address', 'PKIX'],
    ]);
    const forD2 = await discoverDns('anyone@d2.test', { resolver, logger: createSilentLogger() });
    expect(forD2.candidates.map((c) => [c.der.equals(domainCert.certDer), c.bound])).toEqual([
      [true, 'domain'],
    ]);
    // The MX, through Node's own resolver: an independent client.
    const dnsResolver = new dnsPromises.Resolver();
    dnsResolver.setServers([`127.0.0.1:${hosted.port}`]);
    expect(await dnsResolver.resolveMx('example.test')).toEqual([
      { exchange: 'mx1.example.test', priority: 10 },
    ]);
  });

  it('sealpost certs zone prints the same records', () => {
    const r = spawnSync(
      process.execPath,
      [
        join(root, 'bin', 'sealpost.js'),
        'certs',
        'zone',
        '--cert',
        alice.certPath,
        '--mx',
        'mx1.example.test',
        '--ttl',
        '600',
      ],
      {
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(
      `${zoneRecords([parseCertificate(alice.certDer)], { ttl: 600, mx: ['mx1.example.test'] }).join('\n')}\n`,
    );
    const bad = spawnSync(process.execPath, [join(root, 'bin', 'sealpost.js'), 'certs', 'zone'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('at least one --cert FILE is required');
  });
});
