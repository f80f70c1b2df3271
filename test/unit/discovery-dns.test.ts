/**
 * DNS CERT discovery, pure parts and hostile answers: rdata parsing, the DCDT name, and a
 * loopback UDP server (in process) that answers with whatever a test wants — wrong ids,
 * records for other names, garbage CERT data, too many records, CNAME loops.
 */
import { createSocket, type Socket } from 'node:dgram';

import * as dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket } from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  DNS_LIMITS,
  discoverDns,
  dnsNamesFor,
  parseCertRdata,
  sameDnsName,
} from '../../hisp/certs/discovery/dns.js';
import { createSilentLogger } from '../../hisp/log/logger.js';
import { createTestCa, issueEndEntityCert } from '../services/certs.js';
import { makeTempDir, type TempDir } from '../services/tmp.js';
import { codesOf } from './certs-fixtures.js';
import { hispErrorOf as failure } from '../services/hispErrors.js';

function certRdata(certType: number, data: Buffer, keyTag = 0, algorithm = 0): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt16BE(certType, 0);
  head.writeUInt16BE(keyTag, 2);
  head.writeUInt8(algorithm, 4);
  return Buffer.concat([head, data]);
}

function certAnswer(name: string, rdata: Buffer): Answer {
  return { type: 'CERT', name, class: 'IN', ttl: 300, data: rdata };
}

describe('parseCertRdata', () => {
  it('reads type(2) keytag(2) algorithm(1) then data', () => {
    const record = parseCertRdata(certRdata(1, Buffer.from([0x30, 0x03]), 0x1234, 5));
    expect(record).toEqual({
      certType: 1,
      keyTag: 0x1234,
      algorithm: 5,
      data: Buffer.from([0x30, 0x03]),
    });
  });

  it('risk-16: refuses rdata too short, empty or over the size bound', () => {
    for (const bytes of [Buffer.alloc(0), Buffer.alloc(4), Buffer.alloc(5)]) {
      expect(() => parseCertRdata(bytes)).toThrow(
        expect.objectContaining({ code: 'CERT_MALFORMED' }) as Error,
      );
    }
    expect(() => parseCertRdata(Buffer.alloc(DNS_LIMITS.certRdataBytes + 1, 1))).toThrow(
      expect.objectContaining({ code: 'LIMIT_EXCEEDED' }) as Error,
    );
  });
});

describe('dnsNamesFor (DCDT: the @ becomes a dot)', () => {
  it('lowercases the domain and keeps the local part as written', () => {
    expect(dnsNamesFor('Alice@Example.TEST')).toEqual({
      address: 'Alice.example.test',
      domain: 'example.test',
    });
  });

  it('a dot in the local part makes more labels; + and spaces stay inside a label', () => {
    expect(dnsNamesFor('alice.smith@example.test').address).toBe('alice.smith.example.test');
    expect(dnsNamesFor('alice+direct@example.test').address).toBe('alice+direct.example.test');
    expect(dnsNamesFor('"bob smith"@example.test').address).toBe('bob smith.example.test');
    // On the wire: one label "bob smith" (9 bytes), then example, test.
    const packet = dnsPacket.encode({
      questions: [{ type: 'CERT', name: 'bob smith.example.test', class: 'IN' }],
    });
    const wire = packet.subarray(12); // after the 12-byte header
    expect(wire[0]).toBe(9);
    expect(wire.subarray(1, 10).toString('latin1')).toBe('bob smith');
    expect(wire[10]).toBe(7);
  });

  it('a local part that cannot be a DNS name leaves only the domain, with a problem', () => {
    const long = dnsNamesFor(`${'a'.repeat(64)}@example.test`);
    expect(long.address).toBeUndefined();
    expect(long.domain).toBe('example.test');
    expect(long.problem?.code).toBe('DNS_FAILED');
    expect(dnsNamesFor('a..b@example.test').address).toBeUndefined();
    expect(dnsNamesFor('.a@example.test').address).toBeUndefined();
  });

  it('refuses addresses without a usable domain', () => {
    for (const bad of ['alice', '@example.test', 'alice@', `a@${'x'.repeat(64)}.test`]) {
      expect(() => dnsNamesFor(bad)).toThrow(
        expect.objectContaining({ code: 'BAD_REQUEST' }) as Error,
      );
    }
  });

  it('compares names case-insensitively, ignoring a trailing dot', () => {
    expect(sameDnsName('Alice.Example.test.', 'alice.example.test')).toBe(true);
    expect(sameDnsName('alice.example.test', 'alice.example.tes')).toBe(false);
  });
});

// ── A fake DNS server on loopback UDP ────────────────────────────────────────────────────

type Handler = (query: DecodedPacket) => Buffer | undefined;

interface FakeDns {
  port: number;
  handler: Handler;
  close(): Promise<void>;
}

async function startFakeDns(): Promise<FakeDns> {
  const socket: Socket = createSocket('udp4');
  const fake: FakeDns = {
    port: 0,
    handler: () => undefined,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
  socket.on('message', (msg, rinfo) => {
    const query = dnsPacket.decode(msg);
    const answer = fake.handler(query);
    if (answer !== undefined) socket.send(answer, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  fake.port = socket.address().port;
  return fake;
}

/** A response to `query` with these answers (override anything with `patch`). */
function respond(
  query: DecodedPacket,
  answers: Answer[],
  patch: Partial<Parameters<typeof dnsPacket.encode>[0]> = {},
): Buffer {
  return dnsPacket.encode({
    type: 'response',
    id: query.id,
    flags: dnsPacket.AUTHORITATIVE_ANSWER,
    questions: query.questions,
    answers,
    ...patch,
  });
}

function byName(records: Record<string, Answer[]>): Handler {
  return (query) => {
    const name = query.questions?.[0]?.name.toLowerCase() ?? '';
    return respond(query, records[name] ?? []);
  };
}

describe('discoverDns against hostile answers (loopback UDP)', () => {
  let fake: FakeDns;
  let tmp: TempDir;
  let der: Buffer;
  const logger = createSilentLogger();
  const resolver = (): { servers: { host: string; port: number }[]; timeoutMs: number } => ({
    servers: [{ host: '127.0.0.1', port: fake.port }],
    timeoutMs: 300,
  });

  beforeAll(async () => {
    fake = await startFakeDns();
    tmp = await makeTempDir('discovery-dns-unit');
    const ca = await createTestCa(tmp.path);
    der = (await issueEndEntityCert(ca, tmp.path, { email: 'alice@example.test' })).certDer;
  });
  afterAll(async () => {
    await fake.close();
    await tmp.remove();
  });

  it('reads a PKIX record at the address name', async () => {
    fake.handler = byName({
      'alice.example.test': [certAnswer('alice.example.test', certRdata(1, der))],
    });
    const found = await discoverDns('alice@example.test', { resolver: resolver(), logger });
    expect(found.problems).toEqual([]);
    expect(found.candidates).toHaveLength(1);
    expect(found.candidates[0]).toMatchObject({
      source: 'dns',
      owner: 'alice.example.test',
      bound: 'address',
      via: 'PKIX',
    });
    expect(found.candidates[0]?.der.equals(der)).toBe(true);
  });

  it('risk-16: garbage CERT data, short rdata and other types are problems, never candidates', async () => {
    fake.handler = byName({
      'alice.example.test': [
        certAnswer('alice.example.test', certRdata(1, Buffer.from('not a certificate'))),
        certAnswer('alice.example.test', Buffer.from([0, 1, 0])),
        certAnswer('alice.example.test', certRdata(3, Buffer.from('pgp key'))),
        certAnswer('alice.example.test', certRdata(1, Buffer.from([0x30, 0x82, 0xff, 0xff]))),
      ],
      'example.test': [certAnswer('example.test', certRdata(4, Buffer.from('ftp://x/y.cer')))],
    });
    const found = await discoverDns('alice@example.test', { resolver: resolver(), logger });
    expect(found.candidates).toEqual([]);
    expect(found.problems).toHaveLength(5);
    expect(codesOf(found.problems)).toEqual(['CERT_MALFORMED', 'FETCH_FAILED']);
  });

  it('risk-16: an oversized CERT record is a LIMIT_EXCEEDED problem', async () => {
    const big = certRdata(1, Buffer.concat([der, Buffer.alloc(DNS_LIMITS.certRdataBytes)]));
    fake.handler = (query) => {
      const name = query.questions?.[0]?.name ?? '';
      return respond(query, name === 'example.test' ? [certAnswer(name, big)] : []);
    };
    const found = await discoverDns('alice@example.test', { resolver: resolver(), logger });
    expect(found.candidates).toEqual([]);
    expect(codesOf(found.problems)).toEqual(['LIMIT_EXCEEDED']);
  });

  it('risk-16: only the first DNS_LIMITS.answers records of an answer are read', async () => {
    const many = Array.from({ length: DNS_LIMITS.answers + 5 }, () =>
      certAnswer('example.test', certRdata(1, der)),
    );
    fake.handler = byName({ 'example.test': many });
    const found = await discoverDns('alice@example.test', { resolver: resolver(), logger });
    expect(found.candidates).toHaveLength(DNS_LIMITS.answers);
    expect(codesOf(found.problems)).toEqual(['LIMIT_EXCEEDED']);
  });

  it('risk-2: a record whose owner is a different name is never used', async () => {
    fake.handler = byName({
      'alice.example.test': [certAnswer('mallory.example.test', certRdata(1, der))],
      'example.test': [certAnswer('evil.test', certRdata(1, der))],
    });
    const found = await discoverDns('alice@example.test', { resolver: resolver(), logger });
    expect(found.candidates).toEqual([]);
    expect(codesOf(found.problems)).toEqual(['DNS_FAILED']);
    expect(found.problems.map((p) => p.message).join(' ')).toContain('mallory.example.test');
  });

  it('risk-2: a response with another id or question is ignored (then the lookup times out)', async () => {
    fake.handler = (query) =>
      respond(query, [certAnswer('alice.example.test', certRdata(1, der))], {
        id: ((query.id ?? 0) + 1) & 0xffff,
      });
    const wrongId = await failure(
      discoverDns('alice@example.test', { resolver: { ...resolver(), retries: 0 }, logger }),
    );
    expect(wrongId.code).toBe('DNS_FAILED');

    fake.handler = (query) =>
      respond(query, [certAnswer('alice.example.test', certRdata(1, der))], {
        questions: [{ type: 'CERT', name: 'other.example.test', class: 'IN' }],
      });
    const wrongQuestion = await failure(
      discoverDns('alice@example.test', { resolver: { ...resolver(), retries: 0 }, logger }),
    );
    expect(wrongQuestion.code).toBe('DNS_FAILED');
    expect(wrongQuestion.message).toContain(`127.0.0.1:${fake.port}`);
  });

  it('follows a CNAME in the answer but never a CERT at a name outside the chain', async () => {
    fake.handler = byName({
      'alice.example.test': [
        {
          type: 'CNAME',
          name: 'alice.example.test',
          class: 'IN',
          ttl: 300,
          data: 'certs.example.test',
        },
        certAnswer('certs.example.test', certRdata(1, der)),
        certAnswer('other.example.test', certRdata(1, der)),
      ],
    });
    const found = await discoverDns('alice@example.test', { resolver: resolver(), logger });
    expect(found.candidates.map((c) => c.owner)).toEqual(['certs.example.test']);
    expect(codesOf(found.problems)).toEqual(['DNS_FAILED']);
  });

  it('risk-16: a CNAME loop and an over-long CNAME chain stop with a problem', async () => {
    const cname = (from: string, to: string): Answer => ({
      type: 'CNAME',
      name: from,
      class: 'IN',
      ttl: 300,
      data: to,
    });
    fake.handler = byName({
      'alice.example.test': [cname('alice.example.test', 'b.example.test')],
      'b.example.test': [cname('b.example.test', 'alice.example.test')],
    });
    const loop = await discoverDns('alice@example.test', { resolver: resolver(), logger });
    expect(loop.candidates).toEqual([]);
    expect(codesOf(loop.problems)).toEqual(['DNS_FAILED']);

    const chain: Record<string, Answer[]> = {};
    for (let i = 0; i <= DNS_LIMITS.cnameDepth + 2; i++) {
      const from = i === 0 ? 'alice.example.test' : `c${i}.example.test`;
      chain[from] = [cname(from, `c${i + 1}.example.test`)];
    }
    fake.handler = byName(chain);
    const long = await discoverDns('alice@example.test', { resolver: resolver(), logger });
    expect(long.candidates).toEqual([]);
    expect(codesOf(long.problems)).toEqual(['LIMIT_EXCEEDED']);
  });

  it('SERVFAIL at every server is DNS_FAILED; NXDOMAIN is no candidates', async () => {
    fake.handler = (query) => respond(query, [], { flags: 2 /* SERVFAIL rcode */ });
    const failed = await failure(
      discoverDns('alice@example.test', { resolver: resolver(), logger }),
    );
    expect(failed.code).toBe('DNS_FAILED');
    expect(failed.message).toContain('SERVFAIL');

    fake.handler = (query) => respond(query, [], { flags: 3 /* NXDOMAIN rcode */ });
    expect(await discoverDns('alice@example.test', { resolver: resolver(), logger })).toEqual({
      candidates: [],
      problems: [],
    });
  });

  it('an IPKIX record without a fetcher is a problem "not fetched (offline)"', async () => {
    fake.handler = byName({
      'alice.example.test': [
        certAnswer('alice.example.test', certRdata(4, Buffer.from('http://127.0.0.1:9/a.cer'))),
      ],
    });
    const found = await discoverDns('alice@example.test', { resolver: resolver(), logger });
    expect(found.candidates).toEqual([]);
    expect(found.problems).toHaveLength(1);
    expect(found.problems[0]?.message).toContain('not fetched (offline)');
  });
});
