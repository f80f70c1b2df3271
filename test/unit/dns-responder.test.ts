/**
 * The authoritative DNS responder's packet logic (hisp/certs/hosting): answerQuery on bytes
 * built and read by dns-packet (an encoder/decoder independent of ours), compileZones'
 * checks, and the in-process UDP/TCP server on 127.0.0.1 (framing, several queries per
 * connection, caps, setZones, a fuzzed flood). Certificates are made by the openssl CLI.
 */
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, createServer, type Socket } from 'node:net';

import * as dnsPacket from 'dns-packet';
import type { Answer, Packet, RecordType } from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { HispError } from '../../hisp/api/errors.js';
import { parseCertificate, type ParsedCertificate } from '../../hisp/certs/certificate.js';
import {
  answerQuery,
  compileZones,
  DNS_ANSWER_LIMITS,
  type HostedZone,
  type ZoneSet,
} from '../../hisp/certs/hosting/dnsAnswer.js';
import { startDnsResponder, type DnsResponder } from '../../hisp/certs/hosting/dnsResponder.js';
import { createSilentLogger } from '../../hisp/log/logger.js';
import {
  createTestCa,
  issueEndEntityCert,
  makeTempDir,
  parseCertRdata,
  queryTcp,
  queryUdp,
  type DnsResponse,
  type TempDir,
} from '../services/index.js';
import { captureLogger } from './certs-fixtures.js';

type Decoded = DnsResponse;

let tmp: TempDir | undefined;
let alice: ParsedCertificate;
let alice2: ParsedCertificate;
let domainCert: ParsedCertificate;
let bob: ParsedCertificate;
let zones: HostedZone[];
let set: ZoneSet;

/** An answer's data (dns-packet's OPT answers have none). */
function dataOf(a: Answer | undefined): unknown {
  return a !== undefined && 'data' in a ? a.data : undefined;
}

function zoneConfig(certs: ParsedCertificate[]): HostedZone[] {
  return [
    {
      domain: 'example.test',
      certificates: certs,
      mx: [
        { preference: 10, exchange: 'mail.example.test' },
        { preference: 20, exchange: 'mx.elsewhere.test' },
      ],
      srv: [
        { service: '_ldap._tcp', priority: 0, weight: 5, port: 389, target: 'ldap.example.test' },
      ],
      a: ['192.0.2.1'],
      aaaa: ['2001:db8::1'],
      hosts: {
        'mail.example.test': { a: ['192.0.2.25'], aaaa: ['2001:db8::25'] },
        'ldap.example.test': { a: ['192.0.2.38'] },
      },
    },
  ];
}

interface QueryBuild {
  type?: RecordType | 'ANY';
  edns?: number;
  ednsVersion?: number;
  id?: number;
  flags?: number;
  qclass?: 'IN' | 'CH' | 'ANY';
}

function query(name: string, build: QueryBuild = {}): Buffer {
  const packet: Packet = {
    type: 'query',
    id: build.id ?? 0x1234,
    flags: build.flags ?? dnsPacket.RECURSION_DESIRED,
    questions: [{ type: (build.type ?? 'CERT') as RecordType, name, class: build.qclass ?? 'IN' }],
    ...(build.edns !== undefined
      ? {
          additionals: [
            {
              type: 'OPT',
              name: '.',
              udpPayloadSize: build.edns,
              extendedRcode: 0,
              ednsVersion: build.ednsVersion ?? 0,
              flags: 0,
              flag_do: false,
              options: [],
            },
          ],
        }
      : {}),
  };
  return dnsPacket.encode(packet);
}

function ask(packet: Buffer, transport: 'udp' | 'tcp' = 'tcp', zoneSet = set): Decoded {
  const outcome = answerQuery(packet, zoneSet, transport);
  if (outcome.response === undefined) throw new Error(`dropped: ${outcome.reason ?? ''}`);
  return dnsPacket.decode(outcome.response) as Decoded;
}

function certsIn(answers: readonly Answer[] | undefined): Buffer[] {
  return (answers ?? []).map((a) => {
    expect(a.type).toBe('CERT');
    const rdata = parseCertRdata(dataOf(a) as Buffer);
    expect([rdata.certType, rdata.keyTag, rdata.algorithm]).toEqual([1, 0, 0]);
    return rdata.data;
  });
}

function soaOf(response: Decoded): dnsPacket.SoaData {
  const soa = (response.authorities ?? []).find((a) => a.type === 'SOA');
  if (soa === undefined) throw new Error('no SOA in the authority section');
  return dataOf(soa) as dnsPacket.SoaData;
}

/** A raw header + body, for packets dns-packet would not build. */
function raw(header: [number, number, number, number, number, number], body: Buffer): Buffer {
  const head = Buffer.alloc(12);
  header.forEach((value, i) => head.writeUInt16BE(value, i * 2));
  return Buffer.concat([head, body]);
}

const QNAME_ALICE = Buffer.from('05616c696365076578616d706c65047465737400', 'hex');
const TYPE_CLASS_CERT_IN = Buffer.from('00250001', 'hex');

beforeAll(async () => {
  tmp = await makeTempDir('dns-responder-unit');
  const ca = await createTestCa(tmp.path);
  const issued = await Promise.all([
    issueEndEntityCert(ca, tmp.path, { email: 'alice@example.test' }),
    issueEndEntityCert(ca, tmp.path, { email: 'alice@example.test', name: 'alice2' }),
    issueEndEntityCert(ca, tmp.path, {
      email: 'postmaster@example.test',
      name: 'domain',
      dnsNames: ['example.test'],
    }),
    issueEndEntityCert(ca, tmp.path, { email: 'bob.smith@example.test' }),
  ]);
  [alice, alice2, domainCert, bob] = issued.map((e) => parseCertificate(e.certDer)) as [
    ParsedCertificate,
    ParsedCertificate,
    ParsedCertificate,
    ParsedCertificate,
  ];
  zones = zoneConfig([alice, alice2, domainCert, bob]);
  set = compileZones(zones, { serial: 7 });
});

afterAll(async () => {
  await tmp?.remove();
});

describe('answerQuery', () => {
  it('answers CERT for an address-bound name: both certificates at one name, PKIX 0 0 DER, AA, no RA', () => {
    const response = ask(query('alice.example.test'));
    expect(response.rcode).toBe('NOERROR');
    expect(response.flag_aa).toBe(true);
    expect(response.flag_ra).toBe(false);
    expect(response.flag_tc).toBe(false);
    expect(response.flag_rd).toBe(true); // copied from the query
    expect(response.id).toBe(0x1234);
    const ders = certsIn(response.answers);
    expect(ders.map((d) => d.toString('hex')).sort()).toEqual(
      [alice.der, alice2.der].map((d) => d.toString('hex')).sort(),
    );
  });

  it('answers CERT for a domain-bound certificate at the domain, and a dotted local part as labels', () => {
    expect(certsIn(ask(query('example.test')).answers)).toEqual([domainCert.der]);
    expect(certsIn(ask(query('bob.smith.example.test')).answers)).toEqual([bob.der]);
    // smith.example.test exists only as a parent of bob.smith: NODATA, not NXDOMAIN (RFC 8020).
    const ent = ask(query('smith.example.test'));
    expect([ent.rcode, ent.answers?.length, soaOf(ent).serial]).toEqual(['NOERROR', 0, 7]);
  });

  it('matches names case-insensitively and echoes the question exactly as asked', () => {
    const packet = query('ALICE.Example.TEST');
    const outcome = answerQuery(packet, set, 'tcp');
    const response = dnsPacket.decode(outcome.response ?? Buffer.alloc(0)) as Decoded;
    expect(response.questions?.[0]?.name).toBe('ALICE.Example.TEST');
    // Byte-exact echo of the question section.
    expect(outcome.response?.subarray(12, packet.length).equals(packet.subarray(12))).toBe(true);
    expect(certsIn(response.answers)).toHaveLength(2);
    expect(response.answers?.[0]?.name.toLowerCase()).toBe('alice.example.test');
  });

  it('NXDOMAIN with the SOA (synthesised timers) in the authority section', () => {
    const response = ask(query('nobody.example.test'));
    expect(response.rcode).toBe('NXDOMAIN');
    expect(response.flag_aa).toBe(true);
    expect(response.answers).toEqual([]);
    const soa = soaOf(response);
    expect(soa).toMatchObject({
      mname: 'ns.example.test',
      rname: 'hostmaster.example.test',
      serial: 7,
      refresh: DNS_ANSWER_LIMITS.soaRefresh,
      retry: DNS_ANSWER_LIMITS.soaRetry,
      expire: DNS_ANSWER_LIMITS.soaExpire,
      minimum: DNS_ANSWER_LIMITS.negativeTtl,
    });
  });

  it('NODATA (NOERROR, no answer, SOA) for a known name without the asked type', () => {
    const response = ask(query('alice.example.test', { type: 'TXT' }));
    expect([response.rcode, response.flag_aa, response.answers?.length]).toEqual([
      'NOERROR',
      true,
      0,
    ]);
    expect(soaOf(response).mname).toBe('ns.example.test');
  });

  it('SOA and NS at the apex', () => {
    const soa = ask(query('example.test', { type: 'SOA' }));
    expect(soa.answers?.map((a) => a.type)).toEqual(['SOA']);
    const ns = ask(query('example.test', { type: 'NS' }));
    expect(ns.answers?.map((a) => [a.type, dataOf(a)])).toEqual([['NS', 'ns.example.test']]);
  });

  it('MX, SRV, A and AAAA, with in-zone addresses of MX and SRV targets as additional data', () => {
    const mx = ask(query('example.test', { type: 'MX' }), 'udp');
    expect(mx.answers?.map((a) => dataOf(a))).toEqual([
      { preference: 10, exchange: 'mail.example.test' },
      { preference: 20, exchange: 'mx.elsewhere.test' },
    ]);
    expect(mx.additionals?.map((a) => [a.name, a.type, dataOf(a)])).toEqual([
      ['mail.example.test', 'A', '192.0.2.25'],
      ['mail.example.test', 'AAAA', '2001:db8::25'],
    ]);
    const srv = ask(query('_ldap._tcp.example.test', { type: 'SRV' }), 'udp');
    expect(srv.answers?.map((a) => dataOf(a))).toEqual([
      { priority: 0, weight: 5, port: 389, target: 'ldap.example.test' },
    ]);
    expect(srv.additionals?.map((a) => dataOf(a))).toEqual(['192.0.2.38']);
    expect(ask(query('example.test', { type: 'A' })).answers?.map((a) => dataOf(a))).toEqual([
      '192.0.2.1',
    ]);
    expect(ask(query('example.test', { type: 'AAAA' })).answers?.map((a) => dataOf(a))).toEqual([
      '2001:db8::1',
    ]);
    // _tcp.example.test is an empty non-terminal.
    expect(ask(query('_tcp.example.test', { type: 'SRV' })).rcode).toBe('NOERROR');
  });

  it('REFUSED outside every zone, for other classes and for zone transfers; never AA or RA', () => {
    for (const packet of [
      query('example.org'),
      query('test', { type: 'SOA' }),
      query('xexample.test'),
      query('alice.example.test', { qclass: 'CH' }),
      query('example.test', { type: 'AXFR' }),
    ]) {
      const response = ask(packet);
      expect([response.rcode, response.flag_aa, response.flag_ra]).toEqual([
        'REFUSED',
        false,
        false,
      ]);
      expect(response.answers).toEqual([]);
    }
  });

  it('ANY gets one synthesised HINFO (RFC 8482), never every record set', () => {
    const response = ask(query('alice.example.test', { type: 'ANY' }), 'udp');
    expect(response.rcode).toBe('NOERROR');
    expect(response.answers?.map((a) => [a.type, dataOf(a)])).toEqual([
      ['HINFO', { cpu: 'RFC8482', os: '' }],
    ]);
    expect(ask(query('ghost.example.test', { type: 'ANY' })).rcode).toBe('NXDOMAIN');
  });

  it('NOTIMP for opcodes other than QUERY, echoing the id', () => {
    for (const opcode of [1, 2, 4, 5]) {
      const packet = raw(
        [0xbeef, opcode << 11, 1, 0, 0, 0],
        Buffer.concat([QNAME_ALICE, TYPE_CLASS_CERT_IN]),
      );
      const response = ask(packet);
      const bytes = answerQuery(packet, set, 'udp').response ?? Buffer.alloc(4);
      // The opcode is echoed (header bits 11-14).
      expect([response.id, response.rcode, (bytes.readUInt16BE(2) >> 11) & 0x0f]).toEqual([
        0xbeef,
        'NOTIMP',
        opcode,
      ]);
    }
  });

  it('FORMERR for malformed queries whose header can be read, with the id', () => {
    const q = Buffer.concat([QNAME_ALICE, TYPE_CLASS_CERT_IN]);
    const opt = Buffer.from('0000290200000000000000', 'hex');
    const cases: [string, Buffer][] = [
      ['no question', raw([1, 0, 0, 0, 0, 0], Buffer.alloc(0))],
      ['two questions', raw([2, 0, 2, 0, 0, 0], Buffer.concat([q, q]))],
      ['an answer record in a query', raw([3, 0, 1, 1, 0, 0], q)],
      ['trailing bytes', raw([4, 0, 1, 0, 0, 0], Buffer.concat([q, Buffer.from([0])]))],
      ['a question cut short', raw([5, 0, 1, 0, 0, 0], q.subarray(0, q.length - 2))],
      ['a name cut short', raw([6, 0, 1, 0, 0, 0], Buffer.from([5, 0x61, 0x62]))],
      ['a pointer in the question', raw([7, 0, 1, 0, 0, 0], Buffer.from([0xc0, 12, 0, 37, 0, 1]))],
      ['a label type 0x40', raw([8, 0, 1, 0, 0, 0], Buffer.from([0x41, 0, 0, 37, 0, 1]))],
      ['two OPT records', raw([9, 0, 1, 0, 0, 2], Buffer.concat([q, opt, opt]))],
      [
        'an OPT not at the root',
        raw([10, 0, 1, 0, 0, 1], Buffer.concat([q, Buffer.from([1, 0x61]), opt])),
      ],
      [
        'an EDNS option past the end',
        raw(
          [11, 0, 1, 0, 0, 1],
          Buffer.concat([q, Buffer.from('00002902000000000000040008', 'hex')]),
        ),
      ],
      ['a missing additional record', raw([12, 0, 1, 0, 0, 1], q)],
      ['asking for OPT', query('alice.example.test', { type: 'OPT', id: 13 })],
    ];
    for (const [what, packet] of cases) {
      const outcome = answerQuery(packet, set, 'udp');
      expect(outcome.rcode, what).toBe('FORMERR');
      const response = dnsPacket.decode(outcome.response ?? Buffer.alloc(0)) as Decoded;
      expect([response.id, response.rcode, response.flag_qr], what).toEqual([
        packet.readUInt16BE(0),
        'FORMERR',
        true,
      ]);
    }
    // Too long a name: 5 labels of 63 bytes.
    const long = Buffer.concat([
      ...Array.from({ length: 5 }, () =>
        Buffer.concat([Buffer.from([63]), Buffer.alloc(63, 0x61)]),
      ),
      Buffer.from([0]),
      TYPE_CLASS_CERT_IN,
    ]);
    expect(answerQuery(raw([14, 0, 1, 0, 0, 0], long), set, 'udp').rcode).toBe('FORMERR');
  });

  it('drops what has no readable header and responses, silently', () => {
    for (const packet of [
      Buffer.alloc(0),
      Buffer.from([0x12]),
      Buffer.from([0x12, 0x34, 0, 0]),
      Buffer.alloc(11),
      raw([1, 0x8000, 1, 0, 0, 0], Buffer.concat([QNAME_ALICE, TYPE_CLASS_CERT_IN])),
    ]) {
      const outcome = answerQuery(packet, set, 'udp');
      expect([outcome.response, outcome.rcode]).toEqual([undefined, 'DROPPED']);
    }
  });

  it('UDP: 512 bytes without EDNS, the EDNS size clamped to 1232, else TC with the answer empty', () => {
    const plain = answerQuery(query('example.test'), set, 'udp');
    expect(plain.truncated).toBe(true);
    expect(plain.response?.length).toBeLessThanOrEqual(512);
    const tc = dnsPacket.decode(plain.response ?? Buffer.alloc(0)) as Decoded;
    expect([tc.flag_tc, tc.rcode, tc.flag_aa, tc.answers, tc.authorities]).toEqual([
      true,
      'NOERROR',
      true,
      [],
      [],
    ]);
    // One certificate (~1 KB) fits in 1232 bytes of EDNS...
    const one = answerQuery(query('example.test', { edns: 4096 }), set, 'udp');
    expect(one.truncated).toBe(false);
    expect(one.response?.length).toBeLessThanOrEqual(DNS_ANSWER_LIMITS.maxUdpBytes);
    const decoded = dnsPacket.decode(one.response ?? Buffer.alloc(0)) as Decoded;
    expect(certsIn(decoded.answers)).toEqual([domainCert.der]);
    const opt = decoded.additionals?.find((a) => a.type === 'OPT') as dnsPacket.OptAnswer;
    expect(opt.udpPayloadSize).toBe(DNS_ANSWER_LIMITS.maxUdpBytes);
    // ...two do not, even if the client offers 4096; a size below 512 counts as 512.
    const two = answerQuery(query('alice.example.test', { edns: 4096 }), set, 'udp');
    expect(two.truncated).toBe(true);
    const tcEdns = dnsPacket.decode(two.response ?? Buffer.alloc(0)) as Decoded;
    expect([tcEdns.flag_tc, tcEdns.answers]).toEqual([true, []]);
    expect(tcEdns.additionals?.map((a) => a.type)).toEqual(['OPT']);
    expect(answerQuery(query('example.test', { edns: 100 }), set, 'udp').truncated).toBe(true);
    // The same query over TCP is complete.
    expect(certsIn(ask(query('alice.example.test'), 'tcp').answers)).toHaveLength(2);
  });

  it('BADVERS for EDNS versions above 0', () => {
    const outcome = answerQuery(
      query('alice.example.test', { edns: 1232, ednsVersion: 1 }),
      set,
      'udp',
    );
    expect(outcome.rcode).toBe('BADVERS');
    const response = dnsPacket.decode(outcome.response ?? Buffer.alloc(0)) as Decoded;
    const opt = response.additionals?.find((a) => a.type === 'OPT') as dnsPacket.OptAnswer;
    expect(opt.extendedRcode).toBe(1);
    expect(response.answers).toEqual([]);
  });

  it('SERVFAIL (with the id) instead of an exception when the data itself fails', () => {
    const broken = {
      serial: 1,
      zones: [
        {
          apex: [Buffer.from('example'), Buffer.from('test')],
          get nodes(): never {
            throw new Error('broken zone data');
          },
        },
      ],
    } as unknown as ZoneSet;
    const outcome = answerQuery(query('alice.example.test', { id: 77 }), broken, 'udp');
    expect([outcome.rcode, outcome.reason]).toEqual(['SERVFAIL', 'broken zone data']);
    const response = dnsPacket.decode(outcome.response ?? Buffer.alloc(0)) as Decoded;
    expect([response.id, response.rcode, response.flag_aa]).toEqual([77, 'SERVFAIL', false]);
  });

  it('never throws and only sends well-formed responses to random and mutated packets', () => {
    const seeds = [
      query('alice.example.test'),
      query('example.test', { type: 'MX', edns: 1232 }),
      query('_ldap._tcp.example.test', { type: 'SRV' }),
    ];
    for (let i = 0; i < 3000; i++) {
      let packet: Buffer;
      if (i % 3 === 0) {
        packet = randomBytes(i % 200);
      } else {
        packet = Buffer.from(seeds[i % seeds.length] ?? Buffer.alloc(0));
        for (let flips = 1 + (i % 4); flips > 0; flips--) {
          const at = Math.floor(Math.random() * packet.length);
          packet[at] = Math.floor(Math.random() * 256);
        }
        if (i % 7 === 0) packet = packet.subarray(0, Math.floor(Math.random() * packet.length));
      }
      const outcome = answerQuery(packet, set, i % 2 === 0 ? 'udp' : 'tcp');
      if (outcome.response === undefined) continue;
      expect(outcome.response.readUInt16BE(0)).toBe(packet.readUInt16BE(0));
      expect(outcome.response.readUInt16BE(2) & 0x8000).toBe(0x8000);
      if (i % 2 === 0) expect(outcome.response.length).toBeLessThanOrEqual(1232);
      expect(() => dnsPacket.decode(outcome.response ?? Buffer.alloc(0))).not.toThrow();
    }
  });
});

describe('compileZones', () => {
  const base = (extra: Partial<HostedZone>): HostedZone[] => [
    { domain: 'example.test', certificates: [], ...extra },
  ];
  const code = (fn: () => unknown): string => {
    try {
      fn();
    } catch (error) {
      if (error instanceof HispError) return `${error.code}: ${error.message}`;
      throw error;
    }
    return 'no error';
  };

  it('rejects unusable configuration with a message that says what', () => {
    expect(code(() => compileZones(base({ a: ['999.1.1.1'] }), { serial: 1 }))).toMatch(
      /^BAD_REQUEST: .*999\.1\.1\.1/,
    );
    expect(code(() => compileZones(base({ aaaa: ['192.0.2.1'] }), { serial: 1 }))).toMatch(
      /^BAD_REQUEST/,
    );
    expect(
      code(() =>
        compileZones(base({ mx: [{ preference: 70000, exchange: 'm.example.test' }] }), {
          serial: 1,
        }),
      ),
    ).toMatch(/^BAD_REQUEST: An MX preference/);
    expect(
      code(() => compileZones(base({ mx: [{ preference: 1, exchange: 'a..b' }] }), { serial: 1 })),
    ).toMatch(/^BAD_REQUEST: .*empty label/);
    expect(
      code(() =>
        compileZones(base({ hosts: { 'mail.example.org': { a: ['192.0.2.1'] } } }), { serial: 1 }),
      ),
    ).toMatch(/^BAD_REQUEST: .*not inside the zone/);
    expect(
      code(() =>
        compileZones([...base({}), { domain: 'sub.example.test', certificates: [] }], {
          serial: 1,
        }),
      ),
    ).toMatch(/^BAD_REQUEST: .*overlap/);
    expect(code(() => compileZones([...base({}), ...base({})], { serial: 1 }))).toMatch(/overlap/);
    expect(code(() => compileZones(base({}), { serial: 1, ttl: -1 }))).toMatch(/^BAD_REQUEST/);
    expect(
      code(() => compileZones([{ domain: 'other.test', certificates: [alice] }], { serial: 1 })),
    ).toMatch(/^CERT_ADDRESS_MISMATCH/);
  });

  it('refuses record sets a DNS message cannot carry, and serves big ones whole over TCP only', () => {
    const fake = (bytes: number, fill: number): ParsedCertificate => ({
      ...alice,
      der: Buffer.alloc(bytes, fill),
    });
    expect(
      code(() => compileZones(base({ certificates: [fake(70_000, 1)] }), { serial: 1 })),
    ).toMatch(/^LIMIT_EXCEEDED: .*too large for a CERT record/);
    expect(
      code(() =>
        compileZones(base({ certificates: [fake(30_000, 1), fake(30_000, 2)] }), { serial: 1 }),
      ),
    ).toMatch(/^LIMIT_EXCEEDED: The CERT records at alice\.example\.test/);
    const big = compileZones(
      base({ certificates: [fake(19_000, 1), fake(19_000, 2), fake(19_000, 3)] }),
      { serial: 1 },
    );
    const tcp = answerQuery(query('alice.example.test'), big, 'tcp');
    expect(tcp.response?.length).toBeGreaterThan(57_000);
    expect(certsIn(ask(query('alice.example.test'), 'tcp', big).answers)).toHaveLength(3);
    const udp = answerQuery(query('alice.example.test', { edns: 65_000 }), big, 'udp');
    // Header, question, OPT: nothing else.
    expect([udp.truncated, udp.response?.length]).toEqual([true, 12 + 24 + 11]);
  });

  it('publishes a certificate once per name even when configured twice, and IPv6 forms correctly', () => {
    const zoneSet = compileZones(
      [
        {
          domain: 'Example.Test.',
          certificates: [alice, alice],
          aaaa: ['::ffff:192.0.2.1', 'fe80::1:2', '::'],
        },
      ],
      { serial: 1 },
    );
    expect(certsIn(ask(query('alice.example.test'), 'tcp', zoneSet).answers)).toEqual([alice.der]);
    expect(
      ask(query('example.test', { type: 'AAAA' }), 'tcp', zoneSet).answers?.map((a) => dataOf(a)),
    ).toEqual(['::ffff:c000:201', 'fe80::1:2', '::']);
  });
});

// ── The server ───────────────────────────────────────────────────────────────────────────

/** A DNS message with its 2-byte TCP length prefix (RFC 1035 §4.2.2). */
function frame(packet: Buffer): Buffer {
  const prefix = Buffer.alloc(2);
  prefix.writeUInt16BE(packet.length);
  return Buffer.concat([prefix, packet]);
}

/**
 * Send all queries in one write on one TCP connection and collect the answers until the
 * server closes it. `halfClose`: end our side right after the queries (the server must still
 * answer them all, then close). `readLate`: do not read until everything was sent.
 */
function tcpExchange(
  port: number,
  packets: readonly Buffer[],
  options: { halfClose?: boolean; readLate?: boolean } = {},
): Promise<Decoded[]> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let buffered = Buffer.alloc(0);
    const out: Decoded[] = [];
    socket.on('error', reject);
    socket.on('connect', () => {
      if (options.readLate) socket.pause();
      const all = Buffer.concat(packets.map(frame));
      if (options.halfClose) socket.end(all);
      else socket.write(all);
      if (options.readLate) setTimeout(() => socket.resume(), 50);
    });
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const length = buffered.readUInt16BE(0);
        out.push(dnsPacket.decode(buffered.subarray(2, 2 + length)) as Decoded);
        buffered = buffered.subarray(2 + length);
      }
      if (out.length === packets.length && !options.halfClose) socket.end();
    });
    socket.on('close', () => resolve(out));
  });
}

/** Resolves when the server closes the connection; `data` says whether anything came first. */
function closedBy(socket: Socket): Promise<{ data: number }> {
  return new Promise((resolve) => {
    let data = 0;
    socket.on('data', (chunk: Buffer) => {
      data += chunk.length;
    });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve({ data }));
  });
}

function opened(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => resolve(socket));
    socket.once('error', reject);
  });
}

describe('startDnsResponder (UDP and TCP on 127.0.0.1)', () => {
  let responder: DnsResponder | undefined;
  const captured = captureLogger();

  beforeAll(async () => {
    responder = await startDnsResponder({
      host: '127.0.0.1',
      port: 0,
      zones,
      logger: captured.logger,
      limits: { tcpIdleMs: 200, queryBytes: 1024 },
    });
  });

  afterAll(async () => {
    await responder?.close();
  });

  const port = (): number => responder?.port ?? 0;

  it('listens on one port for UDP and TCP and logs one debug line per query', async () => {
    expect(responder?.udpPort).toBe(responder?.tcpPort);
    const before = captured.records().length;
    const udp = await queryUdp('127.0.0.1', port(), 'Example.test', 'MX');
    expect(udp.answers?.map((a) => dataOf(a))).toHaveLength(2);
    const lines = captured.records().slice(before);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'debug',
      msg: 'dns query',
      transport: 'udp',
      name: 'Example.test',
      type: 'MX',
      rcode: 'NOERROR',
    });
  });

  it('answers several queries on one TCP connection, in order', async () => {
    const answers = await tcpExchange(port(), [
      query('alice.example.test', { id: 1 }),
      query('nobody.example.test', { id: 2 }),
      query('example.test', { id: 3, type: 'A' }),
      query('example.org', { id: 4 }),
    ]);
    expect(answers.map((a) => [a.id, a.rcode])).toEqual([
      [1, 'NOERROR'],
      [2, 'NXDOMAIN'],
      [3, 'NOERROR'],
      [4, 'REFUSED'],
    ]);
    expect(certsIn(answers[0]?.answers)).toHaveLength(2);
    // The client may half-close after its queries: every one is still answered.
    const halfClosed = await tcpExchange(
      port(),
      [1, 2, 3].map((id) => query('example.test', { id, type: 'MX' })),
      { halfClose: true },
    );
    expect(halfClosed.map((a) => [a.id, a.rcode])).toEqual([
      [1, 'NOERROR'],
      [2, 'NOERROR'],
      [3, 'NOERROR'],
    ]);
  });

  it('answers thousands of pipelined big queries in order to a client that reads late', async () => {
    // ~6 MB of answers: more than the socket buffers hold, so the server must stop reading
    // while the client does not read, and carry on when it does.
    const slow = await startDnsResponder({
      host: '127.0.0.1',
      port: 0,
      zones,
      logger: createSilentLogger(),
    });
    try {
      const ids = Array.from({ length: 3000 }, (_, i) => i + 1);
      const answers = await tcpExchange(
        slow.port,
        ids.map((id) => query('alice.example.test', { id })),
        { halfClose: true, readLate: true },
      );
      expect(answers.map((a) => a.id)).toEqual(ids);
      expect(answers.every((a) => a.answers?.length === 2)).toBe(true);
    } finally {
      await slow.close();
    }
  });

  it('truncates a big UDP answer and completes it over TCP', async () => {
    const udp = await queryUdp('127.0.0.1', port(), 'alice.example.test', 'CERT');
    expect([udp.flag_tc, udp.answers]).toEqual([true, []]);
    const tcp = await queryTcp('127.0.0.1', port(), 'alice.example.test', 'CERT');
    expect(certsIn(tcp.answers)).toHaveLength(2);
  });

  it('closes a TCP connection that announces a query above the size cap, and one left idle', async () => {
    const big = await opened(port());
    const bigClosed = closedBy(big);
    big.write(Buffer.from([0x10, 0x00])); // 4096 > queryBytes
    expect(await bigClosed).toEqual({ data: 0 });
    const idle = await opened(port());
    const idleClosed = closedBy(idle);
    idle.write(Buffer.from([0x00])); // a trickle, never a whole query
    expect(await idleClosed).toEqual({ data: 0 });
  });

  it('caps open TCP connections: the next one is closed unanswered, earlier ones keep working', async () => {
    // Its own responder, so no connection of another test counts against the cap.
    const capped = await startDnsResponder({
      host: '127.0.0.1',
      port: 0,
      zones,
      logger: createSilentLogger(),
      limits: { tcpConnections: 3 },
    });
    const port = (): number => capped.port;
    const held = await Promise.all([opened(port()), opened(port()), opened(port())]);
    // Make sure the server has accepted all three: each answers a query.
    for (const socket of held) {
      const answered = new Promise<void>((resolve) => socket.once('data', () => resolve()));
      socket.write(frame(query('example.test', { type: 'A' })));
      await answered;
    }
    // The kernel completes the handshake; the server then closes the socket unread.
    const extra = await opened(port());
    const extraClosed = closedBy(extra);
    extra.write(frame(query('example.test', { type: 'A' })));
    expect(await extraClosed).toEqual({ data: 0 });
    await Promise.all(
      held.map((socket) => {
        const done = closedBy(socket);
        socket.end();
        return done;
      }),
    );
    expect((await queryTcp('127.0.0.1', port(), 'example.test', 'A')).rcode).toBe('NOERROR');
    await capped.close();
  });

  it('setZones replaces the data and raises the SOA serial; bad zones keep the old data', async () => {
    const soa = async (): Promise<number> => {
      const response = await queryUdp('127.0.0.1', port(), 'example.test', 'SOA');
      return (dataOf(response.answers?.[0]) as dnsPacket.SoaData).serial ?? -1;
    };
    const first = await soa();
    responder?.setZones(zoneConfig([alice, domainCert]));
    const second = await soa();
    expect(second).not.toBe(first);
    expect((second - first) >>> 0 < 0x80000000).toBe(true); // later in RFC 1982 terms
    expect(
      certsIn((await queryTcp('127.0.0.1', port(), 'alice.example.test', 'CERT')).answers),
    ).toEqual([alice.der]);
    expect((await queryUdp('127.0.0.1', port(), 'bob.smith.example.test', 'CERT')).rcode).toBe(
      'NXDOMAIN',
    );
    expect(() =>
      responder?.setZones([{ domain: 'example.test', certificates: [], a: ['x'] }]),
    ).toThrow(HispError);
    expect(await soa()).toBe(second);
    expect((await queryUdp('127.0.0.1', port(), 'example.test', 'A')).answers).toHaveLength(1);
    responder?.setZones(zones);
  });

  it('keeps answering after a flood of random UDP datagrams and TCP garbage', async () => {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    let sent = 0;
    for (let i = 0; i < 2000; i++) {
      const packet =
        i % 2 === 0
          ? randomBytes(1 + (i % 300))
          : (() => {
              const p = query('alice.example.test', { edns: i });
              p[Math.floor(Math.random() * p.length)] = Math.floor(Math.random() * 256);
              return p;
            })();
      await new Promise<void>((resolve) =>
        socket.send(packet, port(), '127.0.0.1', () => resolve()),
      );
      sent++;
    }
    await new Promise<void>((resolve) => socket.close(() => resolve()));
    expect(sent).toBe(2000);
    for (let i = 0; i < 5; i++) {
      const garbage = await opened(port());
      const done = closedBy(garbage);
      garbage.end(randomBytes(300));
      await done;
    }
    const after = await queryUdp('127.0.0.1', port(), 'example.test', 'CERT', {
      ednsUdpSize: 1232,
    });
    expect(certsIn(after.answers)).toEqual([domainCert.der]);
    expect(
      (await queryTcp('127.0.0.1', port(), 'alice.example.test', 'CERT')).answers,
    ).toHaveLength(2);
  });

  it('refuses a host name and a port in use, naming the address', async () => {
    await expect(
      startDnsResponder({ host: 'localhost', port: 0, zones, logger: createSilentLogger() }),
    ).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    const error = await startDnsResponder({
      host: '127.0.0.1',
      port: port(),
      zones,
      logger: createSilentLogger(),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HispError);
    expect(error).toMatchObject({ code: 'ADDRESS_IN_USE' });
    expect((error as HispError).message).toContain(`127.0.0.1:${port()}`);
    // Only UDP taken: still ADDRESS_IN_USE, naming UDP. The UDP port is one whose TCP twin is
    // free just now (other tests run in parallel and hold TCP ports of their own).
    const { socket: udpOnly, port: udpPort } = await udpPortWithFreeTcp();
    const udpError = await startDnsResponder({
      host: '127.0.0.1',
      port: udpPort,
      zones,
      logger: createSilentLogger(),
    }).catch((e: unknown) => e);
    await new Promise<void>((resolve) => udpOnly.close(() => resolve()));
    expect(udpError).toMatchObject({ code: 'ADDRESS_IN_USE' });
    expect((udpError as HispError).message).toContain(`127.0.0.1:${udpPort} (UDP)`);
  });
});

/** A UDP socket bound on 127.0.0.1 at a port that is free for TCP (checked by listening on it). */
async function udpPortWithFreeTcp(): Promise<{ socket: UdpSocket; port: number }> {
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const port = socket.address().port;
    const tcpFree = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(false));
      probe.listen({ host: '127.0.0.1', port, exclusive: true }, () =>
        probe.close(() => resolve(true)),
      );
    });
    if (tcpFree) return { socket, port };
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
  throw new Error('no UDP port with a free TCP twin in 20 tries');
}
