/**
 * DNS CERT discovery (RFC 4398, DCDT) against a real knot on 127.0.0.1 and a loopback HTTP
 * server for IPKIX URLs. Certificates are made by the openssl CLI.
 */
import { createSocket, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { discoverDns, type DnsResolverConfig } from '../../hisp/certs/discovery/dns.js';
import { createHttpFetcher } from '../../hisp/certs/fetch.js';
import { createSilentLogger } from '../../hisp/log/logger.js';
import {
  certRecordLine,
  createTestCa,
  freePort,
  issueEndEntityCert,
  makeTempDir,
  queryUdp,
  startKnot,
} from '../services/index.js';
import type { KnotHandle, TempDir, TestEndEntity } from '../services/index.js';
import {
  captureLogger,
  codesOf,
  startFileServer,
  type FileServer,
} from '../unit/certs-fixtures.js';
import { hispErrorOf as failure } from '../services/hispErrors.js';

const logger = createSilentLogger();

describe('discoverDns against knot (real DNS server)', () => {
  let tmp: TempDir | undefined;
  let knot: KnotHandle | undefined;
  let files: FileServer | undefined;
  let blackHole: Socket | undefined;
  let alice: TestEndEntity;
  let domain: TestEndEntity;
  let big: TestEndEntity;
  let dave: TestEndEntity;
  let erin: TestEndEntity;
  let frank: TestEndEntity;
  let plus: TestEndEntity;
  let mallory: TestEndEntity;

  const resolver = (extra: Partial<DnsResolverConfig> = {}): DnsResolverConfig => ({
    servers: [{ host: '127.0.0.1', port: knot?.port ?? 0 }],
    timeoutMs: 1000,
    ...extra,
  });

  beforeAll(async () => {
    tmp = await makeTempDir('discovery-dns');
    const dir = tmp.path;
    files = await startFileServer();
    const ca = await createTestCa(dir);
    [alice, domain, big, dave, erin, frank, plus, mallory] = await Promise.all([
      issueEndEntityCert(ca, dir, { email: 'alice@example.test' }),
      issueEndEntityCert(ca, dir, {
        email: 'postmaster@example.test',
        name: 'domain',
        dnsNames: ['example.test'],
      }),
      issueEndEntityCert(ca, dir, {
        email: 'big@example.test',
        dnsNames: ['example.test', 'direct.example.test', 'mail.example.test'],
        caIssuersUrl: 'http://ca.example.test/issuer/intermediate-ca-certificate.cer',
        crlUrl: 'http://ca.example.test/crl/intermediate-ca-revocation-list.crl',
      }),
      issueEndEntityCert(ca, dir, { email: 'dave@example.test' }),
      issueEndEntityCert(ca, dir, { email: 'erin@example.test' }),
      issueEndEntityCert(ca, dir, { email: 'frank@example.test' }),
      // openssl -subj cannot take a '+' unescaped; the certificate's address does not matter here.
      issueEndEntityCert(ca, dir, { email: 'alice.plus@example.test', name: 'plus' }),
      issueEndEntityCert(ca, dir, { email: 'mallory@example.test' }),
    ]);
    files.set('/erin.cer', { body: erin.certDer });
    files.set('/frank.pem', { body: frank.certPem });
    knot = await startKnot({
      zone: 'example.test',
      records: [
        certRecordLine('alice.example.test.', alice.certDer),
        certRecordLine('example.test.', domain.certDer),
        certRecordLine('big.example.test.', big.certDer),
        'dave.example.test. 300 IN CNAME certs.example.test.',
        certRecordLine('certs.example.test.', dave.certDer),
        'carl.example.test. 300 IN CNAME carl.other.test.',
        certRecordLine('erin.example.test.', files.url('/erin.cer'), { certType: 'IPKIX' }),
        certRecordLine('frank.example.test.', files.url('/frank.pem'), { certType: 'IPKIX' }),
        // '+' is not a zone-file name character: \043 is its RFC 1035 escape.
        certRecordLine('alice\\043direct.example.test.', plus.certDer),
        certRecordLine('garbage.example.test.', Buffer.from('this is not a certificate')),
        certRecordLine('garbage.example.test.', Buffer.from('a PGP key'), { certType: 'PGP' }),
        // Names near "ghost" hold a certificate; "ghost" itself holds nothing.
        certRecordLine('ghost-not.example.test.', mallory.certDer),
        certRecordLine('x.ghost.example.test.', mallory.certDer),
      ],
      extraZones: {
        'other.test': [certRecordLine('carl.other.test.', dave.certDer)],
        'empty.test': [],
      },
    });
    blackHole = createSocket('udp4');
    await new Promise<void>((resolve) => blackHole?.bind(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    await knot?.stop();
    await files?.close();
    await new Promise<void>((resolve) =>
      blackHole ? blackHole.close(() => resolve()) : resolve(),
    );
    await tmp?.remove();
  });

  it('finds an address-bound PKIX certificate at alice.example.test, then the domain one', async () => {
    const found = await discoverDns('alice@example.test', { resolver: resolver(), logger });
    expect(found.problems).toEqual([]);
    expect(found.candidates.map((c) => [c.owner, c.bound, c.via])).toEqual([
      ['alice.example.test', 'address', 'PKIX'],
      ['example.test', 'domain', 'PKIX'],
    ]);
    expect(found.candidates[0]?.der.equals(alice.certDer)).toBe(true);
    expect(found.candidates[1]?.der.equals(domain.certDer)).toBe(true);
  });

  it('finds a domain-bound PKIX certificate at example.test when the address has none', async () => {
    const found = await discoverDns('carol@Example.Test', { resolver: resolver(), logger });
    expect(found.problems).toEqual([]);
    expect(found.candidates).toHaveLength(1);
    expect(found.candidates[0]).toMatchObject({ owner: 'example.test', bound: 'domain' });
    expect(found.candidates[0]?.der.equals(domain.certDer)).toBe(true);
  });

  it('risk-9: a certificate served by DNS is only a candidate (source dns, no trust claimed)', async () => {
    const found = await discoverDns('alice@example.test', { resolver: resolver(), logger });
    for (const candidate of found.candidates) {
      expect(candidate.source).toBe('dns');
      // Nothing that reads as a trust decision: where it came from, the bytes, and how long a
      // cache may keep the record (its TTL, 300 s in this zone).
      expect(Object.keys(candidate).sort()).toEqual([
        'bound',
        'der',
        'owner',
        'source',
        'ttl',
        'via',
      ]);
      expect(candidate.ttl).toBe(300);
    }
    expect(Object.keys(found).sort()).toEqual(['candidates', 'problems']);
  });

  it('retries over TCP when the UDP answer is truncated (a cert answer over 512 bytes)', async () => {
    const port = knot?.port ?? 0;
    // Without EDNS, knot truncates this answer over UDP.
    const plain = await queryUdp('127.0.0.1', port, 'big.example.test', 'CERT');
    expect(plain.flag_tc).toBe(true);
    expect(big.certDer.length).toBeGreaterThan(512);

    const capture = captureLogger();
    const found = await discoverDns('big@example.test', {
      resolver: resolver({ ednsUdpSize: 512 }),
      logger: capture.logger,
    });
    expect(found.candidates[0]?.der.equals(big.certDer)).toBe(true);
    expect(found.candidates[0]?.bound).toBe('address');
    expect(capture.records().some((r) => String(r.msg).includes('truncated'))).toBe(true);

    // With the default EDNS size (4096) the same answer fits in UDP: no TCP retry.
    const capture2 = captureLogger();
    const again = await discoverDns('big@example.test', {
      resolver: resolver(),
      logger: capture2.logger,
    });
    expect(again.candidates[0]?.der.equals(big.certDer)).toBe(true);
    expect(capture2.records().some((r) => String(r.msg).includes('truncated'))).toBe(false);
  });

  it('follows a CNAME to a name in the same zone (knot answers both in one response)', async () => {
    const found = await discoverDns('dave@example.test', { resolver: resolver(), logger });
    expect(found.problems).toEqual([]);
    expect(found.candidates[0]).toMatchObject({ owner: 'certs.example.test', bound: 'address' });
    expect(found.candidates[0]?.der.equals(dave.certDer)).toBe(true);
  });

  it('follows a CNAME to another zone with a separate query', async () => {
    // knot answers carl.example.test with the CNAME only (the target is in another zone).
    const raw = await queryUdp('127.0.0.1', knot?.port ?? 0, 'carl.example.test', 'CERT', {
      ednsUdpSize: 4096,
    });
    expect(raw.answers?.map((a) => a.type)).toEqual(['CNAME']);
    const found = await discoverDns('carl@example.test', { resolver: resolver(), logger });
    expect(found.problems).toEqual([]);
    expect(found.candidates[0]).toMatchObject({ owner: 'carl.other.test', bound: 'address' });
    expect(found.candidates[0]?.der.equals(dave.certDer)).toBe(true);
  });

  it('a local part with + is looked up as one label', async () => {
    const found = await discoverDns('alice+direct@example.test', { resolver: resolver(), logger });
    expect(found.candidates[0]).toMatchObject({ owner: 'alice+direct.example.test' });
    expect(found.candidates[0]?.der.equals(plus.certDer)).toBe(true);
  });

  it('fetches IPKIX URLs serving DER and PEM from the loopback server', async () => {
    const fetcher = createHttpFetcher({ logger, timeoutMs: 2000 });
    const der = await discoverDns('erin@example.test', { resolver: resolver(), fetcher, logger });
    expect(der.problems).toEqual([]);
    expect(der.candidates[0]).toMatchObject({
      via: 'IPKIX',
      bound: 'address',
      url: files?.url('/erin.cer'),
    });
    expect(der.candidates[0]?.der.equals(erin.certDer)).toBe(true);

    const pem = await discoverDns('frank@example.test', { resolver: resolver(), fetcher, logger });
    expect(pem.candidates[0]?.via).toBe('IPKIX');
    expect(pem.candidates[0]?.der.equals(frank.certDer)).toBe(true);
    expect(files?.hits('/frank.pem')).toBe(1);
  });

  it('an IPKIX record without a fetcher (offline) is a problem, not a candidate', async () => {
    const before = files?.hits('/erin.cer') ?? 0;
    const found = await discoverDns('erin@example.test', { resolver: resolver(), logger });
    expect(found.candidates.filter((c) => c.bound === 'address')).toEqual([]);
    expect(found.problems.map((p) => p.message).join(' ')).toContain('not fetched (offline)');
    expect(codesOf(found.problems)).toEqual(['FETCH_FAILED']);
    expect(files?.hits('/erin.cer')).toBe(before);
  });

  it('NXDOMAIN and NOERROR without data are no candidates and no error', async () => {
    const found = await discoverDns('zed@empty.test', { resolver: resolver(), logger });
    expect(found).toEqual({ candidates: [], problems: [] });
  });

  it('bad records (garbage CERT data, a PGP record) are problems, never candidates', async () => {
    const found = await discoverDns('garbage@example.test', { resolver: resolver(), logger });
    expect(found.candidates.filter((c) => c.bound === 'address')).toEqual([]);
    expect(found.problems).toHaveLength(2);
    expect(codesOf(found.problems)).toEqual(['CERT_MALFORMED']);
  });

  it('risk-2: a record whose owner is a different name is ignored', async () => {
    const found = await discoverDns('ghost@example.test', { resolver: resolver(), logger });
    expect(found.candidates.map((c) => c.owner)).toEqual(['example.test']);
    expect(found.candidates.some((c) => c.der.equals(mallory.certDer))).toBe(false);
    // The hostile-server form (a server answering with another owner) is in
    // test/unit/discovery-dns.test.ts, against a fake server.
  });

  it('fails over from a server on a closed port to knot', async () => {
    const closed = await freePort();
    const found = await discoverDns('alice@example.test', {
      resolver: {
        servers: [
          { host: '127.0.0.1', port: closed },
          { host: '127.0.0.1', port: knot?.port ?? 0 },
        ],
        timeoutMs: 1000,
      },
      logger,
    });
    expect(found.candidates[0]?.der.equals(alice.certDer)).toBe(true);
  });

  it('only dead servers: DNS_FAILED naming every server, within the timeout', async () => {
    const closed = await freePort();
    const silent = (blackHole?.address() as AddressInfo).port;
    const started = Date.now();
    const error = await failure(
      discoverDns('alice@example.test', {
        resolver: {
          servers: [
            { host: '127.0.0.1', port: closed },
            { host: '127.0.0.1', port: silent },
          ],
          timeoutMs: 300,
          retries: 1,
        },
        logger,
      }),
    );
    const elapsed = Date.now() - started;
    expect(error.code).toBe('DNS_FAILED');
    expect(error.message).toContain(`127.0.0.1:${closed}`);
    expect(error.message).toContain(`127.0.0.1:${silent}`);
    // Closed port: refused at once; silent server: two attempts of 300 ms.
    expect(elapsed).toBeLessThan(2000);
  });
});
