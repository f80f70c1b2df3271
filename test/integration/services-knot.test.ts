import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  CERT_TYPES,
  certRecordLine,
  createTestCa,
  issueEndEntityCert,
  makeTempDir,
  parseCertRdata,
  queryTcp,
  queryUdp,
  srvRecordLine,
  startKnot,
} from '../services/index.js';
import type { KnotHandle, TempDir, TestEndEntity } from '../services/index.js';

const ADDRESS = 'alice@example.test';
const OWNER = 'alice.example.test'; // the address with "@" turned into "."
const KEY_TAG = 4242;
const ALGORITHM = 8;

describe('services: knot DNS serving CERT records (real server)', () => {
  let certs: TempDir | undefined;
  let alice: TestEndEntity | undefined;
  let knot: KnotHandle | undefined;

  beforeAll(async () => {
    certs = await makeTempDir('knot-certs');
    const ca = await createTestCa(certs.path);
    alice = await issueEndEntityCert(ca, certs.path, {
      email: ADDRESS,
      dnsNames: ['example.test'],
      caIssuersUrl: 'http://ca.example.test/issuer.cer',
      crlUrl: 'http://ca.example.test/ca.crl',
    });
    knot = await startKnot({
      zone: 'example.test',
      records: [
        certRecordLine(`${OWNER}.`, alice.certDer, { keyTag: KEY_TAG, algorithm: ALGORITHM }),
        srvRecordLine('_ldap._tcp.example.test.', 0, 0, 389, 'ldap.example.test.'),
      ],
    });
  });

  afterAll(async () => {
    try {
      await knot?.stop();
    } finally {
      await certs?.remove();
    }
  });

  function ready(): { knot: KnotHandle; alice: TestEndEntity } {
    if (!knot || !alice) throw new Error('knot did not start');
    return { knot, alice };
  }

  it('truncates the CERT answer over UDP without EDNS and returns it whole over TCP', async () => {
    const { knot: dns, alice: cert } = ready();
    // A 2048-bit RSA cert with SAN/AIA/CRL DP is ~1 KB DER: far over the 512-byte UDP limit.
    expect(cert.certDer.length).toBeGreaterThan(600);

    const udp = await queryUdp(dns.host, dns.port, OWNER, 'CERT');
    expect(udp.rcode).toBe('NOERROR');
    expect(udp.flag_tc).toBe(true);
    expect(udp.answers ?? []).toHaveLength(0);

    const tcp = await queryTcp(dns.host, dns.port, OWNER, 'CERT');
    expect(tcp.rcode).toBe('NOERROR');
    expect(tcp.flag_tc).toBe(false);
    expect(tcp.flag_aa).toBe(true);
    const answers = (tcp.answers ?? []).filter((a) => a.type === 'CERT');
    expect(answers).toHaveLength(1);
    const answer = answers[0];
    if (answer?.type !== 'CERT') throw new Error('no CERT answer');
    expect(answer.name).toBe(OWNER);
    expect(Buffer.isBuffer(answer.data)).toBe(true);

    const rdata = parseCertRdata(answer.data);
    expect(rdata.certType).toBe(CERT_TYPES.PKIX);
    expect(rdata.keyTag).toBe(KEY_TAG);
    expect(rdata.algorithm).toBe(ALGORITHM);
    expect(rdata.data.equals(cert.certDer)).toBe(true);
  });

  it('fits the answer into UDP when EDNS0 advertises a large buffer', async () => {
    const { knot: dns, alice: cert } = ready();
    const udp = await queryUdp(dns.host, dns.port, OWNER, 'CERT', { ednsUdpSize: 4096 });
    expect(udp.flag_tc).toBe(false);
    const answer = udp.answers?.find((a) => a.type === 'CERT');
    if (answer?.type !== 'CERT') throw new Error('no CERT answer');
    expect(parseCertRdata(answer.data).data.equals(cert.certDer)).toBe(true);
  });

  it('serves SRV, answers NXDOMAIN for unknown names, and reloads new records', async () => {
    const { knot: dns, alice: cert } = ready();
    const srv = await queryUdp(dns.host, dns.port, '_ldap._tcp.example.test', 'SRV');
    const srvAnswer = srv.answers?.find((a) => a.type === 'SRV');
    if (srvAnswer?.type !== 'SRV') throw new Error('no SRV answer');
    expect(srvAnswer.data).toMatchObject({
      priority: 0,
      weight: 0,
      port: 389,
      target: 'ldap.example.test',
    });

    const missing = await queryTcp(dns.host, dns.port, 'bob.example.test', 'CERT');
    expect(missing.rcode).toBe('NXDOMAIN');

    // Swap the record set: alice's PKIX goes away, bob gets an IPKIX (URL) record.
    const url = 'http://certs.example.test/bob.cer';
    await dns.setRecords('example.test', [
      certRecordLine('bob.example.test.', url, { certType: 'IPKIX' }),
    ]);
    expect(dns.serial('example.test')).toBe(2);
    const bob = await queryTcp(dns.host, dns.port, 'bob.example.test', 'CERT');
    const bobAnswer = bob.answers?.find((a) => a.type === 'CERT');
    if (bobAnswer?.type !== 'CERT') throw new Error('no CERT answer for bob');
    const rdata = parseCertRdata(bobAnswer.data);
    expect(rdata.certType).toBe(CERT_TYPES.IPKIX);
    expect(rdata.data.toString('utf8')).toBe(url);
    const gone = await queryTcp(dns.host, dns.port, OWNER, 'CERT');
    expect(gone.rcode).toBe('NXDOMAIN');

    // Put alice back for any test that runs after this one.
    await dns.setRecords('example.test', [
      certRecordLine(`${OWNER}.`, cert.certDer, { keyTag: KEY_TAG, algorithm: ALGORITHM }),
    ]);
  });
});
