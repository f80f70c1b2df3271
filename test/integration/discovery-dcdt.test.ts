/**
 * The Direct Certificate Discovery Tool cases D1–D18, reproduced one by one against a real
 * knot (DNS CERT and SRV), two real slapd directories, and a loopback HTTP server for CRLs,
 * IPKIX URLs and AIA caIssuers. Every case asserts the exact certificate chosen (by SHA-256
 * fingerprint) or that none was. Then bad DNS and LDAP answers (wrong type, malformed rdata,
 * bogus base64, a certificate for another address, an oversized answer, a server that never
 * answers) and a spoofed DNS answer carrying an attacker's certificate (risk-2 / risk-9).
 *
 * One knot and two slapd for the whole file; each case has its own names under dcdt.test.
 * The test PKI (TestPki, `openssl ca`) shares one RSA key between end-entity certificates.
 */
import { createSocket, type Socket } from 'node:dgram';

import * as dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket } from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Reason } from '../../hisp/api/errors.js';
import {
  discoverCertificates,
  type DiscoveryOptions,
  type DiscoveryResult,
} from '../../hisp/certs/discovery/discover.js';
import { DNS_LIMITS } from '../../hisp/certs/discovery/dns.js';
import { createHttpFetcher } from '../../hisp/certs/fetch.js';
import { createSilentLogger } from '../../hisp/log/logger.js';
import {
  certRecordLine,
  freePorts,
  LOOPBACK,
  personLdif,
  queryUdp,
  srvRecordLine,
  startKnot,
  startSlapd,
} from '../services/index.js';
import type { KnotHandle, SlapdHandle } from '../services/index.js';
import {
  caExtensions,
  captureLogger,
  DAY,
  leafExtensions,
  startFileServer,
  TestPki,
  type FileServer,
  type Issued,
  type LeafExtensionOptions,
} from '../unit/certs-fixtures.js';

const Z = 'dcdt.test';
const logger = createSilentLogger();

let pki: TestPki | undefined;
let files: FileServer | undefined;
let knot: KnotHandle | undefined;
let slapd1: SlapdHandle | undefined; // dc=example,dc=test
let slapd2: SlapdHandle | undefined; // dc=other,dc=test
let hostile: HostileDns | undefined;
let blackHole: Socket | undefined;
let closedPorts: number[] = [];

let root: Issued;
let intermediate: Issued;
let attackerRoot: Issued;

/** Every certificate of the matrix, by name. */
const c: Record<string, Issued> = {};

const fp = (name: string): string => {
  const cert = c[name];
  if (cert === undefined) throw new Error(`no certificate ${name}`);
  return cert.cert.fingerprintSha256;
};

// ── A hostile DNS server on loopback UDP (in process) ─────────────────────────────────────

type HostileAnswer = (name: string, type: string) => Answer[];

interface HostileDns {
  readonly port: number;
  answer: HostileAnswer;
  close(): Promise<void>;
}

async function startHostileDns(): Promise<HostileDns> {
  const socket = createSocket('udp4');
  const server: HostileDns = {
    port: 0,
    answer: () => [],
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
  socket.on('message', (msg, rinfo) => {
    let query: DecodedPacket;
    try {
      query = dnsPacket.decode(msg);
    } catch {
      return;
    }
    const question = query.questions?.[0];
    if (question === undefined) return;
    const response = dnsPacket.encode({
      type: 'response',
      id: query.id,
      flags: dnsPacket.AUTHORITATIVE_ANSWER,
      questions: query.questions,
      answers: server.answer(question.name.toLowerCase(), question.type),
    });
    socket.send(response, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, LOOPBACK, resolve));
  return Object.assign(server, { port: socket.address().port });
}

function certRdata(certType: number, data: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt16BE(certType, 0);
  return Buffer.concat([head, data]);
}

// ── Fixtures ─────────────────────────────────────────────────────────────────────────────

const SRV = (domain: string): string => `_ldap._tcp.${domain}.${Z}.`;
const LDAP1 = `ldap1.${Z}.`;
const LDAP2 = `ldap2.${Z}.`;
const DEAD = `dead.${Z}.`;

async function leaf(
  name: string,
  ext: LeafExtensionOptions,
  options: { issuer?: Issued; expired?: boolean } = {},
): Promise<void> {
  const now = Date.now();
  c[name] = await (pki as TestPki).issue(options.issuer ?? root, name, {
    subject: `/O=Sealpost Tests/CN=${name}`,
    key: 'leaf',
    extensions: leafExtensions(ext),
    ...(options.expired
      ? { notBefore: new Date(now - 10 * DAY), notAfter: new Date(now - DAY) }
      : {}),
  });
}

/** An LDIF entry with several userCertificate;binary values. */
function entryLdif(baseDn: string, mail: string, certs: readonly string[], cn = mail): string {
  const [first, ...rest] = certs.map((n) => (c[n] as Issued).der);
  return (
    personLdif(baseDn, mail, first, `cn=${cn},${baseDn}`) +
    rest.map((der) => `userCertificate;binary:: ${der.toString('base64')}\n`).join('')
  );
}

beforeAll(async () => {
  pki = await TestPki.create('discovery-dcdt');
  files = await startFileServer();
  [slapd1, slapd2] = await Promise.all([
    startSlapd({ baseDn: 'dc=example,dc=test' }),
    startSlapd({ baseDn: 'dc=other,dc=test' }),
  ]);
  hostile = await startHostileDns();
  blackHole = createSocket('udp4');
  blackHole.on('message', () => undefined); // reads and drops
  await new Promise<void>((resolve) => blackHole?.bind(0, LOOPBACK, resolve));
  closedPorts = await freePorts(2);

  root = await pki.root('dcdt-root', { key: 'root' });
  [intermediate, attackerRoot] = await Promise.all([
    pki.issue(root, 'dcdt-intermediate', {
      subject: '/O=Sealpost Tests/CN=dcdt-intermediate',
      key: 'intermediate',
      extensions: caExtensions(),
    }),
    // The same name as the real anchor, another key: it anchors nothing (risk-9).
    pki.root('dcdt-attacker', {
      key: 'attacker',
      subject: '/O=Sealpost Tests/CN=dcdt-root',
    }),
  ]);
  const crlUrl = files.url('/root.crl');
  const a = (local: string, domain: string): string => `${local}@${domain}.${Z}`;
  const d = (domain: string): string => `${domain}.${Z}`;
  await Promise.all([
    leaf('d1', { email: a('d1', 'd1') }),
    leaf('d1-expired-a', { email: a('d1', 'd1') }, { expired: true }),
    leaf('d1-expired-b', { email: a('d1', 'd1') }, { expired: true }),
    leaf('d2', { email: a('postmaster', 'd2'), dnsNames: [d('d2')] }),
    leaf('d3', { email: a('d3', 'd3') }),
    leaf('d4', { email: a('postmaster', 'd4'), dnsNames: [d('d4')] }),
    leaf('d5-expired', { email: a('d5', 'd5') }, { expired: true }),
    leaf('d6-expired', { email: a('postmaster', 'd6'), dnsNames: [d('d6')] }, { expired: true }),
    leaf('d7-expired', { email: a('d7', 'd7') }, { expired: true }),
    leaf('d8-expired', { email: a('postmaster', 'd8'), dnsNames: [d('d8')] }, { expired: true }),
    leaf('d9-expired', { email: a('d9', 'd9') }, { expired: true }),
    leaf('d9-domain', { email: a('postmaster', 'd9'), dnsNames: [d('d9')] }),
    leaf('d9l-expired', { email: a('d9', 'd9l') }, { expired: true }),
    leaf('d9l', { email: a('d9', 'd9l') }),
    leaf('d10', { email: a('d10', 'd10') }),
    // Over 4096 bytes: larger than any UDP answer we ask for, so it only comes over TCP.
    leaf('d14', {
      email: a('d14', 'd14'),
      dnsNames: Array.from({ length: 120 }, (_, i) => `host-${i}.padding.d14.${Z}`),
    }),
    leaf('d15-priority10', { email: a('d15', 'd15') }),
    leaf('d15-priority5', { email: a('d15', 'd15') }),
    leaf('d16-weight0', { email: a('d16', 'd16') }),
    leaf('d16-weight100', { email: a('d16', 'd16') }),
    leaf('d17-revoked', { email: a('d17', 'd17'), crlUrl }),
    leaf('d17', { email: a('d17', 'd17'), crlUrl }),
    leaf('pgp', { email: a('pgp', 'bad') }),
    leaf('bob', { email: a('bob', 'bad') }),
    leaf('ldap-bob', { email: a('bob', 'ldapbad') }),
  ]);
  await Promise.all([
    leaf(
      'd18',
      { email: a('d18', 'd18'), caIssuersUrl: files.url('/intermediate.cer') },
      { issuer: intermediate },
    ),
    (async () => {
      c['spoofed'] = await pki.issue(attackerRoot, 'spoofed', {
        subject: '/O=Sealpost Tests/CN=spoofed',
        key: 'leaf',
        extensions: leafExtensions({
          email: 'victim@spoof.test',
          caIssuersUrl: files?.url('/attacker-root.cer'),
        }),
      });
    })(),
  ]);
  await pki.revoke(root, c['d17-revoked'] as Issued);
  files.set('/root.crl', { body: await pki.crl(root) });
  files.set('/intermediate.cer', { body: intermediate.der });
  files.set('/attacker-root.cer', { body: attackerRoot.der });
  files.set('/bogus.pem', {
    body: '-----BEGIN CERTIFICATE-----\n!!this*is*not%base64~~\n-----END CERTIFICATE-----\n',
  });
  files.set('/garbage.cer', { body: Buffer.from('\x30\x82\xff\xffnot DER at all') });

  const s1 = slapd1;
  const s2 = slapd2;
  const b1 = s1.baseDn;
  const b2 = s2.baseDn;
  const der = (name: string): Buffer => (c[name] as Issued).der;
  // A value slapd's certificate syntax accepts but our parser must not: the outer
  // signatureAlgorithm (sha256WithRSA, last in the DER) turned into sha384WithRSA.
  const broken = Buffer.from(der('d3'));
  const oid = Buffer.from('06092a864886f70d01010b', 'hex');
  broken[broken.lastIndexOf(oid) + oid.length - 1] = 0x0c;
  await Promise.all([
    s1.ldapAdd(
      [
        personLdif(b1, a('d3', 'd3'), der('d3')),
        personLdif(b1, d('d4'), der('d4'), `cn=domain-d4,${b1}`),
        personLdif(b1, a('d7', 'd7'), der('d7-expired')),
        personLdif(b1, d('d8'), der('d8-expired'), `cn=domain-d8,${b1}`),
        entryLdif(b1, a('d9', 'd9l'), ['d9l-expired', 'd9l']),
        personLdif(b1, a('d10', 'd10'), der('d10')),
        personLdif(b1, a('d15', 'd15'), der('d15-priority10')),
        personLdif(b1, a('d16', 'd16'), der('d16-weight0')),
        personLdif(b1, a('wrong', 'ldapbad'), der('ldap-bob')),
        personLdif(b1, a('broken', 'ldapbad'), broken),
      ].join('\n'),
    ),
    s2.ldapAdd(
      [
        personLdif(b2, a('d13', 'd13')), // an entry, but no certificate
        personLdif(b2, a('d15', 'd15'), der('d15-priority5')),
        personLdif(b2, a('d16', 'd16'), der('d16-weight100')),
      ].join('\n'),
    ),
  ]);

  const [closed0, closed1] = closedPorts as [number, number];
  const cert = (owner: string, name: string): string => certRecordLine(owner, der(name));
  knot = await startKnot({
    zone: Z,
    records: [
      `ldap1 IN A ${LOOPBACK}`,
      `ldap2 IN A ${LOOPBACK}`,
      `dead IN A ${LOOPBACK}`,
      // D1: the valid one between two expired decoys
      cert(`d1.d1.${Z}.`, 'd1-expired-a'),
      cert(`d1.d1.${Z}.`, 'd1'),
      cert(`d1.d1.${Z}.`, 'd1-expired-b'),
      cert(`d2.${Z}.`, 'd2'),
      srvRecordLine(SRV('d3'), 0, 0, s1.port, LDAP1),
      srvRecordLine(SRV('d4'), 0, 0, s1.port, LDAP1),
      cert(`d5.d5.${Z}.`, 'd5-expired'),
      cert(`d6.${Z}.`, 'd6-expired'),
      srvRecordLine(SRV('d7'), 0, 0, s1.port, LDAP1),
      srvRecordLine(SRV('d8'), 0, 0, s1.port, LDAP1),
      // D9 (DNS): an expired address-bound certificate and a valid domain-bound one
      cert(`d9.d9.${Z}.`, 'd9-expired'),
      cert(`d9.${Z}.`, 'd9-domain'),
      srvRecordLine(SRV('d9l'), 0, 0, s1.port, LDAP1),
      // D10: priority 0 is a closed port, priority 1 is slapd1
      srvRecordLine(SRV('d10'), 0, 0, closed0, DEAD),
      srvRecordLine(SRV('d10'), 1, 0, s1.port, LDAP1),
      // D11: nothing at all for d11
      srvRecordLine(SRV('d12'), 0, 0, closed1, DEAD),
      srvRecordLine(SRV('d13'), 0, 0, s2.port, LDAP2),
      cert(`d14.d14.${Z}.`, 'd14'),
      srvRecordLine(SRV('d15'), 10, 0, s1.port, LDAP1),
      srvRecordLine(SRV('d15'), 5, 0, s2.port, LDAP2),
      // D16: same priority; the weight-0 record is listed first
      srvRecordLine(SRV('d16'), 0, 0, s1.port, LDAP1),
      srvRecordLine(SRV('d16'), 0, 100, s2.port, LDAP2),
      cert(`d17.d17.${Z}.`, 'd17-revoked'),
      cert(`d17.d17.${Z}.`, 'd17'),
      cert(`d18.d18.${Z}.`, 'd18'),
      // Bad answers
      certRecordLine(`pgp.bad.${Z}.`, der('pgp'), { certType: 'PGP' }),
      certRecordLine(`malformed.bad.${Z}.`, Buffer.from('this is not a certificate')),
      certRecordLine(`malformed.bad.${Z}.`, der('d1').subarray(0, 300)),
      certRecordLine(`ipkix.bad.${Z}.`, files.url('/bogus.pem'), { certType: 'IPKIX' }),
      certRecordLine(`ipkix.bad.${Z}.`, files.url('/garbage.cer'), { certType: 'IPKIX' }),
      cert(`wrong.bad.${Z}.`, 'bob'),
      certRecordLine(`oversized.bad.${Z}.`, Buffer.alloc(DNS_LIMITS.certRdataBytes + 100, 0x30)),
      ...Array.from({ length: DNS_LIMITS.answers + 8 }, (_, i) =>
        certRecordLine(`many.bad.${Z}.`, Buffer.from(`PGP key number ${i}`), {
          certType: 'PGP',
        }),
      ),
      srvRecordLine(SRV('ldapbad'), 0, 0, s1.port, LDAP1),
    ],
  });
});

afterAll(async () => {
  await Promise.all([knot?.stop(), slapd1?.stop(), slapd2?.stop(), files?.close()]);
  await hostile?.close();
  await new Promise<void>((resolve) => (blackHole ? blackHole.close(() => resolve()) : resolve()));
  await pki?.remove();
});

function options(overrides: Partial<DiscoveryOptions> = {}): DiscoveryOptions {
  if (knot === undefined) throw new Error('knot did not start');
  return {
    dnsServers: [{ host: LOOPBACK, port: knot.port }],
    anchors: [root.cert],
    revocation: 'off',
    logger,
    dnsTimeoutMs: 1000,
    ...overrides,
  };
}

const discover = (address: string, overrides: Partial<DiscoveryOptions> = {}) =>
  discoverCertificates(address, options(overrides));

/** [fingerprint, source, bound] of each selected certificate, in order. */
const chosen = (result: DiscoveryResult): [string, string, string][] =>
  result.selected.map((s) => [s.cert.fingerprintSha256, s.source, s.bound]);

/** fingerprint -> the codes of its reasons. */
const rejections = (result: DiscoveryResult): Map<string, string[]> =>
  new Map(result.rejected.map((r) => [r.fingerprintSha256, r.reasons.map((x) => x.code)]));

const codes = (reasons: readonly Reason[]): string[] => [...new Set(reasons.map((r) => r.code))];

describe('DCDT discovery cases D1–D18 (knot, two slapd, loopback HTTP)', () => {
  it('D1 valid address-bound in DNS with expired decoys -> the valid one', async () => {
    const result = await discover(`d1@d1.${Z}`);
    expect(chosen(result)).toEqual([[fp('d1'), 'dns', 'address']]);
    expect(result.problems).toEqual([]);
    const rejected = rejections(result);
    expect([...rejected.keys()].sort()).toEqual([fp('d1-expired-a'), fp('d1-expired-b')].sort());
    expect(rejected.get(fp('d1-expired-a'))).toContain('CERT_EXPIRED');
    expect(rejected.get(fp('d1-expired-b'))).toContain('CERT_EXPIRED');
  });

  it('D2 valid domain-bound in DNS -> found for any address at the domain', async () => {
    const result = await discover(`anyone@d2.${Z}`);
    expect(chosen(result)).toEqual([[fp('d2'), 'dns', 'domain']]);
    expect(result.rejected).toEqual([]);
    expect(result.problems).toEqual([]);
  });

  it('D3 address-bound via SRV -> LDAP', async () => {
    const result = await discover(`d3@d3.${Z}`);
    expect(chosen(result)).toEqual([[fp('d3'), 'ldap', 'address']]);
    expect(result.problems).toEqual([]);
  });

  it('D4 domain-bound via SRV -> LDAP (mail=<domain> after the address had none)', async () => {
    const result = await discover(`anyone@d4.${Z}`);
    expect(chosen(result)).toEqual([[fp('d4'), 'ldap', 'domain']]);
    expect(result.problems).toEqual([]);
  });

  it('D5 only an expired address-bound certificate in DNS -> nothing usable', async () => {
    const result = await discover(`d5@d5.${Z}`);
    expect(result.selected).toEqual([]);
    expect([...rejections(result)]).toEqual([[fp('d5-expired'), ['CERT_EXPIRED']]]);
  });

  it('D6 only an expired domain-bound certificate in DNS -> nothing usable', async () => {
    const result = await discover(`anyone@d6.${Z}`);
    expect(result.selected).toEqual([]);
    expect([...rejections(result)]).toEqual([[fp('d6-expired'), ['CERT_EXPIRED']]]);
  });

  it('D7 only an expired address-bound certificate in LDAP -> nothing usable', async () => {
    const result = await discover(`d7@d7.${Z}`);
    expect(result.selected).toEqual([]);
    expect(result.rejected.map((r) => [r.fingerprintSha256, r.source, r.reason.code])).toEqual([
      [fp('d7-expired'), 'ldap', 'CERT_EXPIRED'],
    ]);
  });

  it('D8 only an expired domain-bound certificate in LDAP -> nothing usable', async () => {
    const result = await discover(`anyone@d8.${Z}`);
    expect(result.selected).toEqual([]);
    expect(result.rejected.map((r) => [r.fingerprintSha256, r.source, r.reason.code])).toEqual([
      [fp('d8-expired'), 'ldap', 'CERT_EXPIRED'],
    ]);
  });

  it('D9 valid and expired together in DNS -> the valid one', async () => {
    const result = await discover(`d9@d9.${Z}`);
    expect(chosen(result)).toEqual([[fp('d9-domain'), 'dns', 'domain']]);
    expect([...rejections(result)]).toEqual([[fp('d9-expired'), ['CERT_EXPIRED']]]);
  });

  it('D9 valid and expired together on one LDAP entry -> the valid one', async () => {
    const result = await discover(`d9@d9l.${Z}`);
    expect(chosen(result)).toEqual([[fp('d9l'), 'ldap', 'address']]);
    expect([...rejections(result)]).toEqual([[fp('d9l-expired'), ['CERT_EXPIRED']]]);
  });

  it('D10 priority-0 LDAP server down -> fail over to priority 1', async () => {
    const capture = captureLogger();
    const result = await discover(`d10@d10.${Z}`, { logger: capture.logger });
    expect(chosen(result)).toEqual([[fp('d10'), 'ldap', 'address']]);
    const failedOver = capture
      .records()
      .filter((r) => String(r.msg).includes('LDAP server failed'))
      .map((r) => r.server);
    expect(failedOver).toEqual([`dead.${Z}:${closedPorts[0]}`]);
  });

  it('D11 no CERT and no SRV -> nothing, no error', async () => {
    const result = await discover(`d11@d11.${Z}`);
    expect(result).toEqual({ address: `d11@d11.${Z}`, selected: [], rejected: [], problems: [] });
  });

  it('D12 the only SRV target unreachable -> nothing, an LDAP_FAILED problem, no exception', async () => {
    const result = await discover(`d12@d12.${Z}`);
    expect(result.selected).toEqual([]);
    expect(result.rejected).toEqual([]);
    expect(codes(result.problems)).toEqual(['LDAP_FAILED']);
    expect(result.problems[0]?.message).toContain(`dead.${Z}:${closedPorts[1]}`);
  });

  it('D13 no certificates anywhere (SRV to a live directory without one) -> nothing', async () => {
    const result = await discover(`d13@d13.${Z}`);
    expect(result).toEqual({ address: `d13@d13.${Z}`, selected: [], rejected: [], problems: [] });
  });

  it('D14 a CERT answer over 512 bytes -> found over TCP', async () => {
    const port = knot?.port ?? 0;
    expect((c['d14'] as Issued).der.length).toBeGreaterThan(DNS_LIMITS.ednsUdpSize);
    // Truncated over UDP without EDNS (512 bytes) and with the EDNS size discovery asks for.
    const plain = await queryUdp(LOOPBACK, port, `d14.d14.${Z}`, 'CERT');
    const edns = await queryUdp(LOOPBACK, port, `d14.d14.${Z}`, 'CERT', {
      ednsUdpSize: DNS_LIMITS.ednsUdpSize,
    });
    expect([plain.flag_tc, edns.flag_tc]).toEqual([true, true]);
    const capture = captureLogger();
    const result = await discover(`d14@d14.${Z}`, { logger: capture.logger });
    expect(chosen(result)).toEqual([[fp('d14'), 'dns', 'address']]);
    expect(capture.records().some((r) => String(r.msg).includes('retrying over TCP'))).toBe(true);
  });

  it('D15 two SRV priorities -> the lower number (5 over 10)', async () => {
    const result = await discover(`d15@d15.${Z}`);
    expect(chosen(result)).toEqual([[fp('d15-priority5'), 'ldap', 'address']]);
    expect(result.rejected).toEqual([]);
  });

  it('D16 equal priority, weights 100 and 0 -> the weight-100 server, every time', async () => {
    for (let i = 0; i < 5; i++) {
      const result = await discover(`d16@d16.${Z}`);
      expect(chosen(result), `run ${i}`).toEqual([[fp('d16-weight100'), 'ldap', 'address']]);
    }
  });

  it('D17 revoked and valid -> the valid one (CRL over HTTP, revocation hard)', async () => {
    const before = files?.hits('/root.crl') ?? 0;
    const result = await discover(`d17@d17.${Z}`, {
      revocation: 'hard',
      fetcher: createHttpFetcher({ logger, timeoutMs: 2000 }),
    });
    expect(chosen(result)).toEqual([[fp('d17'), 'dns', 'address']]);
    expect(rejections(result).get(fp('d17-revoked'))).toEqual(['CERT_REVOKED']);
    expect(result.rejected).toHaveLength(1);
    expect(files?.hits('/root.crl')).toBeGreaterThan(before);
  });

  it('D17 control: offline under hard revocation, neither is usable', async () => {
    const result = await discover(`d17@d17.${Z}`, { revocation: 'hard' });
    expect(result.selected).toEqual([]);
    expect(rejections(result).get(fp('d17'))).toContain('REVOCATION_UNKNOWN');
  });

  it('D18 intermediate reachable only via AIA -> chain built and the leaf selected', async () => {
    const before = files?.hits('/intermediate.cer') ?? 0;
    const result = await discover(`d18@d18.${Z}`, {
      fetcher: createHttpFetcher({ logger, timeoutMs: 2000 }),
    });
    expect(chosen(result)).toEqual([[fp('d18'), 'dns', 'address']]);
    expect(result.selected[0]?.chain.map((x) => x.fingerprintSha256)).toEqual([
      fp('d18'),
      intermediate.cert.fingerprintSha256,
      root.cert.fingerprintSha256,
    ]);
    expect(result.selected[0]?.anchor?.fingerprintSha256).toBe(root.cert.fingerprintSha256);
    expect(files?.hits('/intermediate.cer')).toBeGreaterThan(before);
  });

  it('D18 control: offline, the intermediate cannot be found and the leaf is untrusted', async () => {
    const result = await discover(`d18@d18.${Z}`);
    expect(result.selected).toEqual([]);
    expect(rejections(result).get(fp('d18'))).toEqual(['CHAIN_INCOMPLETE', 'CERT_UNTRUSTED']);
  });
});

describe('DCDT bad DNS and LDAP answers: rejected or timed out with reasons, never used', () => {
  it('a CERT record of another type (PGP) holding a valid certificate is skipped', async () => {
    const result = await discover(`pgp@bad.${Z}`);
    expect(result.selected).toEqual([]);
    expect(result.rejected).toEqual([]);
    expect(codes(result.problems)).toEqual(['CERT_MALFORMED']);
    expect(result.problems[0]?.message).toContain('PGP');
  });

  it('malformed PKIX rdata (garbage, a truncated certificate) is a problem per record', async () => {
    const result = await discover(`malformed@bad.${Z}`);
    expect(result.selected).toEqual([]);
    expect(result.rejected).toEqual([]);
    expect(result.problems.map((p) => p.code)).toEqual(['CERT_MALFORMED', 'CERT_MALFORMED']);
  });

  it('IPKIX URLs serving bogus base64 and garbage DER are problems, not candidates', async () => {
    const result = await discover(`ipkix@bad.${Z}`, {
      fetcher: createHttpFetcher({ logger, timeoutMs: 2000 }),
    });
    expect(result.selected).toEqual([]);
    expect(result.rejected).toEqual([]);
    expect(result.problems).toHaveLength(2);
    expect(codes(result.problems)).toEqual(['CERT_MALFORMED']);
    expect([files?.hits('/bogus.pem'), files?.hits('/garbage.cer')]).toEqual([1, 1]);
  });

  it('risk-2: a certificate for a different address, in DNS and in LDAP, is rejected', async () => {
    const dns = await discover(`wrong@bad.${Z}`);
    expect(dns.selected).toEqual([]);
    expect([...rejections(dns)]).toEqual([[fp('bob'), ['CERT_ADDRESS_MISMATCH']]]);
    const ldap = await discover(`wrong@ldapbad.${Z}`);
    expect(ldap.selected).toEqual([]);
    expect([...rejections(ldap)]).toEqual([[fp('ldap-bob'), ['CERT_ADDRESS_MISMATCH']]]);
  });

  it('an LDAP value that is not a certificate is a CERT_MALFORMED problem', async () => {
    const result = await discover(`broken@ldapbad.${Z}`);
    expect(result.selected).toEqual([]);
    expect(result.rejected).toEqual([]);
    expect(codes(result.problems)).toEqual(['CERT_MALFORMED']);
    expect(result.problems[0]?.message).toContain(`cn=broken@ldapbad.${Z}`);
  });

  it('risk-16: an oversized CERT record (over the rdata bound, fetched over TCP) is refused', async () => {
    const result = await discover(`oversized@bad.${Z}`);
    expect(result.selected).toEqual([]);
    expect(result.rejected).toEqual([]);
    expect(codes(result.problems)).toEqual(['LIMIT_EXCEEDED']);
  });

  it('risk-16: an answer with more records than the bound is read only up to it', async () => {
    const result = await discover(`many@bad.${Z}`);
    expect(result.selected).toEqual([]);
    expect(result.problems[0]?.code).toBe('LIMIT_EXCEEDED');
    // the first DNS_LIMITS.answers records, each a skipped PGP record
    expect(result.problems.slice(1).map((p) => p.code)).toEqual(
      Array.from({ length: DNS_LIMITS.answers }, () => 'CERT_MALFORMED'),
    );
  });

  it('a DNS server that never answers: DNS_FAILED within the timeout, nothing selected', async () => {
    const port = (blackHole?.address() as { port: number }).port;
    const result = await discover(`d1@d1.${Z}`, {
      dnsServers: [{ host: LOOPBACK, port }],
      dnsTimeoutMs: 200,
    });
    expect(result.selected).toEqual([]);
    expect(result.rejected).toEqual([]);
    expect(codes(result.problems)).toContain('DNS_FAILED');
    expect(result.problems.find((p) => p.code === 'DNS_FAILED')?.message).toContain(
      `${LOOPBACK}:${port}`,
    );
  });
});

describe('DCDT risk-2 / risk-9: spoofed DNS answers', () => {
  it("risk-2 risk-9: a spoofed answer carrying an attacker's certificate (no configured anchor) is never used to encrypt", async () => {
    const spoofed = c['spoofed'] as Issued;
    // Every CERT question is answered with the attacker's certificate, for whatever name.
    (hostile as HostileDns).answer = (name, type) =>
      type === 'CERT'
        ? [{ type: 'CERT', name, class: 'IN', ttl: 300, data: certRdata(1, spoofed.der) }]
        : [];
    const fetcher = createHttpFetcher({ logger, timeoutMs: 2000 });
    for (const revocation of ['off', 'soft', 'hard'] as const) {
      const result = await discover('victim@spoof.test', {
        dnsServers: [{ host: LOOPBACK, port: (hostile as HostileDns).port }],
        revocation,
        fetcher,
      });
      expect(result.selected, revocation).toEqual([]);
      expect(result.rejected.map((r) => [r.fingerprintSha256, r.reason.code])).toEqual([
        [spoofed.cert.fingerprintSha256, 'CERT_UNTRUSTED'],
      ]);
    }
    // Its AIA led to the attacker's root (same name as the anchor): fetched, still untrusted.
    expect(files?.hits('/attacker-root.cer')).toBeGreaterThanOrEqual(1);
  });

  it('risk-2: a spoofed answer with records for another name and of another type is never used', async () => {
    // A valid, anchored certificate — but the record is for another owner; plus an A record.
    const valid = c['d1'] as Issued;
    (hostile as HostileDns).answer = (name, type) =>
      type === 'CERT'
        ? [
            {
              type: 'CERT',
              name: `d1.d1.${Z}`,
              class: 'IN',
              ttl: 300,
              data: certRdata(1, valid.der),
            },
            { type: 'A', name, class: 'IN', ttl: 300, data: '192.0.2.1' },
          ]
        : [];
    const result = await discover('someone@spoof.test', {
      dnsServers: [{ host: LOOPBACK, port: (hostile as HostileDns).port }],
    });
    expect(result.selected).toEqual([]);
    expect(result.rejected).toEqual([]);
    expect(codes(result.problems)).toEqual(['DNS_FAILED']);
    expect(result.problems.map((p) => p.message).join(' ')).toContain(`CERT record for d1.d1.${Z}`);
  });
});
