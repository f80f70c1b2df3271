/**
 * Our authoritative DNS responder (hisp/certs/hosting) checked by clients that are not ours:
 * kdig (knot-dnsutils), Node's own resolver (c-ares) and dns-packet (test/services/dns.ts);
 * its CERT records compared byte for byte with what knot serves from zone.ts's exported
 * lines; and our discovery client finding the certificates through it. Certificates are
 * made by the openssl CLI.
 */
import { promises as dnsPromises } from 'node:dns';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

import type { Answer } from 'dns-packet';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { parseCertificate, type ParsedCertificate } from '../../hisp/certs/certificate.js';
import { discoverCertificates } from '../../hisp/certs/discovery/discover.js';
import { discoverDns } from '../../hisp/certs/discovery/dns.js';
import { zoneRecords } from '../../hisp/certs/discovery/zone.js';
import { startDnsResponder, type DnsResponder } from '../../hisp/certs/hosting/dnsResponder.js';
import type { HostedZone } from '../../hisp/certs/hosting/dnsAnswer.js';
import { createSilentLogger } from '../../hisp/log/logger.js';
import {
  createTestCa,
  issueEndEntityCert,
  makeTempDir,
  parseCertRdata,
  queryTcp,
  queryUdp,
  runKdig,
  runToEnd,
  startKnot,
} from '../services/index.js';
import type { DnsResponse, KnotHandle, TempDir, TestCa } from '../services/index.js';

const logger = createSilentLogger();

let tmp: TempDir | undefined;
let responder: DnsResponder | undefined;
let knot: KnotHandle | undefined;
let ca: TestCa;
let alice: ParsedCertificate;
let alice2: ParsedCertificate;
let domainCert: ParsedCertificate;
let zones: HostedZone[];

const hex = (ders: readonly Buffer[]): string[] => ders.map((d) => d.toString('hex')).sort();

/** An answer's data (dns-packet's OPT answers have none). */
function dataOf(a: Answer | undefined): unknown {
  return a !== undefined && 'data' in a ? a.data : undefined;
}

/** DER certificates from `kdig +short` CERT lines ("1 0 0 <base64>" or "PKIX 0 0 <base64>"). */
function kdigCerts(stdout: string): Buffer[] {
  return stdout
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => {
      const match = /^(1|PKIX) 0 0 ([A-Za-z0-9+/=]+)$/.exec(line);
      if (match?.[2] === undefined) throw new Error(`not a PKIX CERT line from kdig: ${line}`);
      return Buffer.from(match[2], 'base64');
    });
}

/** The header fields of kdig's full output. */
function kdigHeader(stdout: string): { status: string; flags: string[]; answers: number } {
  const status = /status: ([A-Z]+)/.exec(stdout)?.[1];
  const flags = /;; Flags: ([a-z ]+);/.exec(stdout)?.[1];
  const answers = /ANSWER: (\d+)/.exec(stdout)?.[1];
  if (status === undefined || flags === undefined || answers === undefined) {
    throw new Error(`kdig printed no header:\n${stdout}`);
  }
  return { status, flags: flags.trim().split(/\s+/), answers: Number(answers) };
}

function certsOf(response: DnsResponse): Buffer[] {
  return (response.answers ?? [])
    .filter((a) => a.type === 'CERT')
    .map((a) => {
      const rdata = parseCertRdata(dataOf(a) as Buffer);
      expect([rdata.certType, rdata.keyTag, rdata.algorithm]).toEqual([1, 0, 0]);
      return rdata.data;
    });
}

const port = (): number => responder?.port ?? 0;
const kdig = (...args: string[]) => runKdig('127.0.0.1', port(), args);

beforeAll(async () => {
  tmp = await makeTempDir('dns-responder');
  ca = await createTestCa(tmp.path);
  const issued = await Promise.all([
    issueEndEntityCert(ca, tmp.path, { email: 'alice@example.test' }),
    issueEndEntityCert(ca, tmp.path, { email: 'alice@example.test', name: 'alice2' }),
    issueEndEntityCert(ca, tmp.path, {
      email: 'postmaster@example.test',
      name: 'domain',
      dnsNames: ['example.test'],
    }),
  ]);
  [alice, alice2, domainCert] = issued.map((e) => parseCertificate(e.certDer)) as [
    ParsedCertificate,
    ParsedCertificate,
    ParsedCertificate,
  ];
  zones = [
    {
      domain: 'example.test',
      certificates: [alice, alice2, domainCert],
      mx: [{ preference: 10, exchange: 'mail.example.test' }],
      srv: [
        { service: '_ldap._tcp', priority: 0, weight: 0, port: 389, target: 'ldap.example.test' },
      ],
      a: ['192.0.2.1'],
      hosts: { 'mail.example.test': { a: ['192.0.2.25'] } },
    },
  ];
  responder = await startDnsResponder({ host: '127.0.0.1', port: 0, zones, logger, ttl: 600 });
});

afterAll(async () => {
  await responder?.close();
  await knot?.stop();
  await tmp?.remove();
});

describe('kdig (knot-dnsutils) against our responder', () => {
  it('CERT for an address-bound name: both certificates, DER byte-exact, authoritative, no recursion', async () => {
    const short = await kdig('CERT', 'alice.example.test', '+tcp', '+short');
    expect(hex(kdigCerts(short.stdout))).toEqual(hex([alice.der, alice2.der]));
    const full = await kdig('CERT', 'alice.example.test', '+tcp');
    expect(kdigHeader(full.stdout)).toEqual({
      status: 'NOERROR',
      flags: ['qr', 'aa', 'rd'],
      answers: 2,
    });
    expect(full.stdout).toMatch(/^alice\.example\.test\.\s+600\s+IN\s+CERT\s/m);
  });

  it('CERT for a domain-bound certificate at the domain', async () => {
    const short = await kdig('CERT', 'example.test', '+tcp', '+short');
    expect(hex(kdigCerts(short.stdout))).toEqual(hex([domainCert.der]));
  });

  it('over UDP without EDNS the answer is truncated (TC, no answer); kdig then gets it over TCP', async () => {
    const truncated = await kdig('CERT', 'alice.example.test', '+notcp', '+noedns', '+ignore');
    expect(kdigHeader(truncated.stdout)).toMatchObject({ answers: 0 });
    expect(kdigHeader(truncated.stdout).flags).toContain('tc');
    const retried = await kdig('CERT', 'alice.example.test', '+noedns', '+short');
    expect(retried.stderr).toContain('truncated reply');
    expect(retried.stderr).toContain('retrying over TCP');
    expect(hex(kdigCerts(retried.stdout))).toEqual(hex([alice.der, alice2.der]));
  });

  it('with EDNS one certificate fits a UDP answer', async () => {
    const full = await kdig('CERT', 'example.test', '+notcp', '+edns', '+bufsize=1232', '+ignore');
    expect(kdigHeader(full.stdout)).toEqual({
      status: 'NOERROR',
      flags: ['qr', 'aa', 'rd'],
      answers: 1,
    });
    expect(full.stdout).toContain('(UDP)');
    expect(full.stdout).toMatch(/EDNS PSEUDOSECTION/);
  });

  it('NXDOMAIN with the SOA in the authority section, case-insensitive names, REFUSED outside the zone', async () => {
    const nx = await kdig('CERT', 'nobody.example.test', '+tcp');
    expect(kdigHeader(nx.stdout)).toMatchObject({ status: 'NXDOMAIN', answers: 0 });
    expect(nx.stdout).toMatch(
      /AUTHORITY SECTION:\s*\nexample\.test\.\s+\d+\s+IN\s+SOA\s+ns\.example\.test\. hostmaster\.example\.test\. \d+ /,
    );
    const mixed = await kdig('CERT', 'ALICE.Example.Test', '+tcp', '+short');
    expect(kdigCerts(mixed.stdout)).toHaveLength(2);
    const refused = await kdig('A', 'example.org');
    expect(kdigHeader(refused.stdout)).toEqual({
      status: 'REFUSED',
      flags: ['qr', 'rd'],
      answers: 0,
    });
  });

  it('ANY is answered minimally (RFC 8482)', async () => {
    const any = await kdig('ANY', 'alice.example.test', '+short');
    expect(any.stdout.trim()).toBe('"RFC8482" ""');
  });
});

describe("Node's resolver (c-ares) against our responder", () => {
  const resolver = (): dnsPromises.Resolver => {
    const r = new dnsPromises.Resolver({ timeout: 2000, tries: 1 });
    r.setServers([`127.0.0.1:${port()}`]);
    return r;
  };

  it('MX, SRV _ldap._tcp, A', async () => {
    const r = resolver();
    expect(await r.resolveMx('example.test')).toEqual([
      { exchange: 'mail.example.test', priority: 10 },
    ]);
    expect(await r.resolveSrv('_ldap._tcp.example.test')).toEqual([
      { name: 'ldap.example.test', port: 389, priority: 0, weight: 0 },
    ]);
    expect(await r.resolve4('example.test')).toEqual(['192.0.2.1']);
    expect(await r.resolve4('mail.example.test', { ttl: true })).toEqual([
      { address: '192.0.2.25', ttl: 600 },
    ]);
  });

  it('NXDOMAIN and REFUSED as errors', async () => {
    const r = resolver();
    await expect(r.resolve4('nobody.example.test')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await expect(r.resolve4('example.org')).rejects.toMatchObject({ code: 'EREFUSED' });
  });
});

describe('dns-packet (test/services) and knot: the same records', () => {
  it('UDP without EDNS: TC with the answer empty; TCP: complete', async () => {
    const udp = await queryUdp('127.0.0.1', port(), 'alice.example.test', 'CERT');
    expect([udp.flag_tc, udp.rcode, udp.answers]).toEqual([true, 'NOERROR', []]);
    const tcp = await queryTcp('127.0.0.1', port(), 'alice.example.test', 'CERT');
    expect(tcp.flag_tc).toBe(false);
    expect(hex(certsOf(tcp))).toEqual(hex([alice.der, alice2.der]));
  });

  it("serves CERT rdata byte-identical to knot serving zone.ts's exported lines", async () => {
    knot = await startKnot({
      zone: 'example.test',
      records: zoneRecords([alice, alice2, domainCert], { ttl: 600 }),
    });
    for (const name of ['alice.example.test', 'postmaster.example.test', 'example.test']) {
      const ours = await queryTcp('127.0.0.1', port(), name, 'CERT');
      const theirs = await queryTcp('127.0.0.1', knot.port, name, 'CERT');
      const rdata = (r: DnsResponse): string[] =>
        (r.answers ?? []).map((a) => (dataOf(a) as Buffer).toString('hex')).sort();
      expect(rdata(ours).length, name).toBeGreaterThan(0);
      expect(rdata(ours), name).toEqual(rdata(theirs));
    }
  });
});

describe('our discovery client through the responder', () => {
  it('discoverDns finds the address-bound certificates, then the domain-bound one', async () => {
    const found = await discoverDns('alice@example.test', {
      resolver: { servers: [{ host: '127.0.0.1', port: port() }], timeoutMs: 2000 },
      logger,
    });
    expect(found.problems).toEqual([]);
    expect(found.candidates.map((c) => [c.bound, c.owner, c.via, c.ttl])).toEqual([
      ['address', 'alice.example.test', 'PKIX', 600],
      ['address', 'alice.example.test', 'PKIX', 600],
      ['domain', 'example.test', 'PKIX', 600],
    ]);
    expect(hex(found.candidates.slice(0, 2).map((c) => c.der))).toEqual(
      hex([alice.der, alice2.der]),
    );
    expect(found.candidates[2]?.der.equals(domainCert.der)).toBe(true);
  });

  it('discoverCertificates selects them under the anchor, and sees a certificate change after setZones', async () => {
    const options = {
      dnsServers: [{ host: '127.0.0.1', port: port() }],
      anchors: [parseCertificate(ca.certDer)],
      revocation: 'off' as const,
      logger,
    };
    const before = await discoverCertificates('alice@example.test', options);
    expect(before.selected.map((s) => [s.bound, s.source])).toEqual([
      ['address', 'dns'],
      ['address', 'dns'],
      ['domain', 'dns'],
    ]);
    responder?.setZones([{ ...(zones[0] as HostedZone), certificates: [alice2] }]);
    try {
      const after = await discoverCertificates('alice@example.test', options);
      expect(after.selected.map((s) => s.cert.fingerprintSha256)).toEqual([
        alice2.fingerprintSha256,
      ]);
    } finally {
      responder?.setZones(zones);
    }
  });
});

describe('sealpost certs discover with an IPv6 DNS server', () => {
  it('--dns [::1]:PORT reaches a responder on ::1 (the brackets are not sent to the DNS client)', async (ctx) => {
    const root = resolve(import.meta.dirname, '..', '..');
    const bin = join(root, 'bin', 'sealpost.js');
    if (!existsSync(join(root, 'dist', 'hisp', 'cli.js')))
      throw new Error('dist/ is not built: run `npm run build` first (npm test does)');
    let v6: DnsResponder | undefined;
    let why = '';
    try {
      v6 = await startDnsResponder({ host: '::1', port: 0, zones, logger });
    } catch (error) {
      why = String(error);
    }
    ctx.skip(v6 === undefined, `skipped: this machine has no IPv6 loopback (${why})`);
    if (v6 === undefined) return;
    try {
      // Not spawnSync: the responder answers from this process's event loop.
      const r = await runToEnd(
        process.execPath,
        [
          bin,
          'certs',
          'discover',
          'alice@example.test',
          '--dns',
          `[::1]:${v6.port}`,
          '--anchor',
          ca.certPath,
          '--offline',
        ],
        { timeoutMs: 60_000 },
      );
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const printed = r.stdout
        .split('-----END CERTIFICATE-----')
        .map((block) => block.replace(/-----BEGIN CERTIFICATE-----|\s/g, ''))
        .filter((block) => block !== '')
        .map((block) => Buffer.from(block, 'base64'));
      // Both address-bound certificates and the domain-bound one, as over IPv4 above.
      expect(hex(printed)).toEqual(hex([alice.der, alice2.der, domainCert.der]));
    } finally {
      await v6.close();
    }
  });
});
