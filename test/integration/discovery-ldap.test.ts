import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { HispError } from '../../hisp/api/errors.js';
import { discoverLdap, LDAP_LIMITS } from '../../hisp/certs/discovery/ldap.js';
import type { LdapDiscoveryOptions } from '../../hisp/certs/discovery/ldap.js';
import { createLogger } from '../../hisp/log/logger.js';
import {
  createTestCa,
  freePorts,
  issueEndEntityCert,
  LOOPBACK,
  makeTempDir,
  personLdif,
  srvRecordLine,
  startKnot,
  startSlapd,
} from '../services/index.js';
import type { KnotHandle, SlapdHandle, TempDir, TestEndEntity } from '../services/index.js';

const SRV = (domain: string): string => `_ldap._tcp.${domain}.`;

describe('LDAP certificate discovery (real knot and slapd)', () => {
  let certs: TempDir | undefined;
  let slapd1: SlapdHandle | undefined; // dc=example,dc=test
  let slapd2: SlapdHandle | undefined; // dc=other,dc=test: a second directory
  let knot: KnotHandle | undefined;
  let alice: TestEndEntity | undefined; // in slapd1
  let alice2: TestEndEntity | undefined; // the same addresses, in slapd2
  let closedPorts: number[] = [];
  const lines: string[] = [];

  beforeAll(async () => {
    certs = await makeTempDir('ldap-discovery-certs');
    const ca = await createTestCa(certs.path);
    alice = await issueEndEntityCert(ca, certs.path, { email: 'alice@example.test' });
    const dir2 = join(certs.path, 'second');
    await mkdir(dir2);
    alice2 = await issueEndEntityCert(ca, dir2, { email: 'alice@prio.example.test' });
    [slapd1, slapd2] = await Promise.all([
      startSlapd({ baseDn: 'dc=example,dc=test' }),
      startSlapd({ baseDn: 'dc=other,dc=test' }),
    ]);
    const base1 = slapd1.baseDn;
    await slapd1.ldapAdd(
      [
        personLdif(base1, 'alice@example.test', alice.certDer),
        personLdif(base1, 'nocert@example.test'),
        // domain entry (mail=example.test): searched only when the address has no certificate
        personLdif(base1, 'example.test', alice2.certDer, `cn=domain,${base1}`),
        personLdif(base1, 'alice@failover.example.test', alice.certDer),
        personLdif(base1, 'alice@prio.example.test', alice.certDer),
        // matched by "*@example.test" if the address were not escaped
        personLdif(base1, 'bob@example.test', alice2.certDer),
      ].join('\n'),
    );
    await slapd2.ldapAdd(
      [
        personLdif(slapd2.baseDn, 'alice@prio.example.test', alice2.certDer),
        // no certificate, and no mail=prio.example.test entry either
        personLdif(slapd2.baseDn, 'nocert@prio.example.test'),
      ].join('\n'),
    );
    closedPorts = await freePorts(2);
    lines.push(
      srvRecordLine(SRV('example.test'), 0, 0, slapd1.port, 'ldap1.example.test.'),
      `ldap1.example.test. IN A ${LOOPBACK}`,
      `ldap2.example.test. IN A ${LOOPBACK}`,
      `dead.example.test. IN A ${LOOPBACK}`,
      // priority 0 is a closed port, priority 1 is slapd1
      srvRecordLine(SRV('failover.example.test'), 1, 0, slapd1.port, 'ldap1.example.test.'),
      srvRecordLine(SRV('failover.example.test'), 0, 0, closedPorts[0] ?? 1, 'dead.example.test.'),
      // two live directories: the lower priority number (slapd2) must be used
      srvRecordLine(SRV('prio.example.test'), 10, 0, slapd1.port, 'ldap1.example.test.'),
      srvRecordLine(SRV('prio.example.test'), 5, 0, slapd2.port, 'ldap2.example.test.'),
      // every target down
      srvRecordLine(SRV('down.example.test'), 0, 0, closedPorts[0] ?? 1, 'dead.example.test.'),
      srvRecordLine(SRV('down.example.test'), 1, 0, closedPorts[1] ?? 1, 'dead.example.test.'),
      // "." target: service decidedly not available
      srvRecordLine(SRV('none.example.test'), 0, 0, 0, '.'),
      // a name that exists without SRV (NODATA)
      `nodata.example.test. IN A ${LOOPBACK}`,
    );
    knot = await startKnot({ zone: 'example.test', records: lines });
  });

  afterAll(async () => {
    await Promise.all([slapd1?.stop(), slapd2?.stop(), knot?.stop()]);
    await certs?.remove();
  });

  function options(extra: Partial<LdapDiscoveryOptions> = {}): LdapDiscoveryOptions {
    if (!knot) throw new Error('knot did not start');
    return {
      dnsServers: [{ host: LOOPBACK, port: knot.port }],
      timeoutMs: 2000,
      logger: createLogger({ level: 'error', sink: () => undefined }),
      random: () => 0.5,
      ...extra,
    };
  }

  function ready(): { slapd1: SlapdHandle; slapd2: SlapdHandle; knot: KnotHandle } {
    if (!slapd1 || !slapd2 || !knot || !alice || !alice2) throw new Error('services missing');
    return { slapd1, slapd2, knot };
  }

  it('finds the address-bound certificate through SRV, A, rootDSE and userCertificate;binary', async () => {
    const { slapd1: s1 } = ready();
    const found = await discoverLdap('alice@example.test', options());
    expect(found.problems).toEqual([]);
    expect(found.serversTried).toEqual([`ldap1.example.test:${s1.port}`]);
    expect(found.candidates).toHaveLength(1);
    const [candidate] = found.candidates;
    expect(candidate?.source).toBe('ldap');
    expect(candidate?.attribute).toBe('userCertificate;binary');
    expect(candidate?.server).toBe(`ldap1.example.test:${s1.port}`);
    expect(candidate?.dn).toBe(`cn=alice@example.test,${s1.baseDn}`);
    expect(
      Buffer.compare(candidate?.der ?? Buffer.alloc(0), alice?.certDer ?? Buffer.alloc(1)),
    ).toBe(0);
  });

  it('the address entry holds a certificate: the domain entry (mail=example.test) is not searched', async () => {
    const found = await discoverLdap('alice@example.test', options());
    expect(found.candidates.map((c) => [c.dn, c.searched])).toEqual([
      [`cn=alice@example.test,${ready().slapd1.baseDn}`, 'address'],
    ]);
  });

  it('DCDT D4: an address entry without a certificate -> mail=<domain> is searched next on the same server', async () => {
    const { slapd1: s1 } = ready();
    const found = await discoverLdap('nocert@example.test', options());
    expect(found.problems).toEqual([]);
    expect(found.serversTried).toEqual([`ldap1.example.test:${s1.port}`]);
    expect(found.candidates.map((c) => [c.dn, c.searched])).toEqual([
      [`cn=domain,${s1.baseDn}`, 'domain'],
    ]);
    expect(found.candidates[0]?.der.equals(alice2?.certDer ?? Buffer.alloc(0))).toBe(true);
  });

  it('an entry without a certificate and no domain entry gives no candidates and no error', async () => {
    const found = await discoverLdap('nocert@prio.example.test', options());
    expect(found.candidates).toEqual([]);
    expect(found.problems).toEqual([]);
    expect(found.serversTried).toHaveLength(1);
  });

  it('risk-16: a hostile address with filter syntax matches no address entry (only the domain one)', async () => {
    const domainEntry = `cn=domain,${ready().slapd1.baseDn}`;
    for (const hostile of ['*@example.test', '*)(mail=*@example.test', 'a\\2a@example.test']) {
      const found = await discoverLdap(hostile, options());
      expect(
        found.candidates.map((c) => [c.dn, c.searched]),
        hostile,
      ).toEqual([[domainEntry, 'domain']]);
    }
  });

  it('fails over from a closed port (priority 0) to the next server (priority 1)', async () => {
    const { slapd1: s1 } = ready();
    const found = await discoverLdap('alice@failover.example.test', options());
    expect(found.serversTried).toEqual([
      `dead.example.test:${closedPorts[0]}`,
      `ldap1.example.test:${s1.port}`,
    ]);
    expect(found.candidates).toHaveLength(1);
    expect(found.candidates[0]?.server).toBe(`ldap1.example.test:${s1.port}`);
  });

  it('uses the lower priority number of two live directories, base DN from namingContexts', async () => {
    const { slapd2: s2 } = ready();
    const found = await discoverLdap('alice@prio.example.test', options());
    expect(found.serversTried).toEqual([`ldap2.example.test:${s2.port}`]);
    expect(found.candidates).toHaveLength(1);
    expect(found.candidates[0]?.dn).toBe(`cn=alice@prio.example.test,dc=other,dc=test`);
    expect(found.candidates[0]?.der.equals(alice2?.certDer ?? Buffer.alloc(0))).toBe(true);
  });

  it('no SRV (NXDOMAIN, NODATA or target ".") is no LDAP, not an error', async () => {
    for (const address of [
      'a@nxdomain.example.test',
      'a@nodata.example.test',
      'a@none.example.test',
    ]) {
      const found = await discoverLdap(address, options());
      expect(found, address).toEqual({ candidates: [], problems: [], serversTried: [] });
    }
  });

  it('every target down is LDAP_FAILED naming the servers tried', async () => {
    const error = await discoverLdap('alice@down.example.test', options()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HispError);
    expect((error as HispError).code).toBe('LDAP_FAILED');
    expect((error as HispError).message).toContain(`dead.example.test:${closedPorts[0]}`);
    expect((error as HispError).message).toContain(`dead.example.test:${closedPorts[1]}`);
  });

  it('an SRV lookup that fails (DNS server not answering) is DNS_FAILED', async () => {
    const error = await discoverLdap(
      'alice@example.test',
      options({ dnsServers: [{ host: LOOPBACK, port: closedPorts[0] ?? 1 }], timeoutMs: 300 }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HispError);
    expect((error as HispError).code).toBe('DNS_FAILED');
  });

  it('a userCertificate;binary that is not a certificate is a CERT_MALFORMED problem, no candidate', async () => {
    const { slapd1: s1 } = ready();
    // slapd checks the certificate syntax, so plain garbage is refused by ldapadd. Store a
    // value with the right shape whose outer signatureAlgorithm (sha256WithRSA, last in the
    // DER) is changed to sha384WithRSA: slapd takes it, our parser must not.
    const garbage = Buffer.from(alice?.certDer ?? Buffer.alloc(0));
    const oid = Buffer.from('06092a864886f70d01010b', 'hex');
    const at = garbage.lastIndexOf(oid);
    expect(at).toBeGreaterThan(0);
    garbage[at + oid.length - 1] = 0x0c;
    const result = await s1
      .ldapAdd(personLdif(s1.baseDn, 'garbage@example.test', garbage))
      .catch((e: unknown) => e);
    expect(result, 'slapd accepted the garbage value').not.toBeInstanceOf(Error);
    const found = await discoverLdap('garbage@example.test', options());
    expect(found.candidates).toEqual([]);
    expect(found.problems.map((p) => p.code)).toEqual(['CERT_MALFORMED']);
    expect(found.problems[0]?.message).toContain(`cn=garbage@example.test,${s1.baseDn}`);
  });

  it('explicit targets skip SRV; the walk stops at the first server that answers', async () => {
    const { slapd1: s1, slapd2: s2 } = ready();
    const found = await discoverLdap(
      'alice@prio.example.test',
      options({
        targets: [
          { host: LOOPBACK, port: s1.port, priority: 0, weight: 0 },
          { host: LOOPBACK, port: s2.port, priority: 1, weight: 0 },
        ],
      }),
    );
    expect(found.serversTried).toEqual([`${LOOPBACK}:${s1.port}`]);
    expect(found.candidates[0]?.der.equals(alice?.certDer ?? Buffer.alloc(0))).toBe(true);
    expect(LDAP_LIMITS.srvTargets).toBeGreaterThan(1);
  });

  it('leaves no LDAP socket open after success, failover and failure', async () => {
    await discoverLdap('alice@failover.example.test', options());
    await discoverLdap('alice@down.example.test', options()).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(process.getActiveResourcesInfo()).not.toContain('TCPSocketWrap');
  });
});
