/**
 * Risks 10 and 11 through real discovery: certificates from a spoofed DNS answer, and
 * certificates issued by a broken intermediate CA (fetched through AIA), are rejected,
 * counted per domain and raise an alert for monitoring.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverCertificates } from '../../hisp/certs/discovery/discover.js';
import { CertificateEventMonitor } from '../../hisp/certs/discovery/monitor.js';
import { createHttpFetcher } from '../../hisp/certs/fetch.js';
import { createSilentLogger } from '../../hisp/log/logger.js';
import { certRecordLine } from '../services/dns.js';
import { startKnot, type KnotHandle } from '../services/knot.js';
import {
  DAY,
  TestPki,
  caExtensions,
  leafExtensions,
  startFileServer,
  type FileServer,
  type Issued,
} from '../unit/certs-fixtures.js';

let pki: TestPki;
let files: FileServer;
let knot: KnotHandle;
let root: Issued;
let attackerRoot: Issued;

beforeAll(async () => {
  pki = await TestPki.create('monitor');
  files = await startFileServer();
  // Same name, different keys: the attacker's root imitates the real one.
  [root, attackerRoot] = await Promise.all([
    pki.root('monitor-root', { subject: '/O=Sealpost Tests/CN=Monitor Root' }),
    pki.root('attacker-root', { subject: '/O=Sealpost Tests/CN=Monitor Root' }),
  ]);
  // risk-11: an intermediate that expired yesterday, reachable only through AIA.
  const expiredIntermediate = await pki.issue(root, 'expired-intermediate', {
    subject: '/O=Sealpost Tests/CN=Expired Intermediate',
    notBefore: new Date(Date.now() - 30 * DAY),
    notAfter: new Date(Date.now() - DAY),
    extensions: caExtensions(),
  });
  files.set('/expired-intermediate.cer', { body: expiredIntermediate.der });
  const leaves: Issued[] = [];
  for (const local of ['ann', 'ben', 'cat']) {
    leaves.push(
      await pki.issue(expiredIntermediate, `${local}-leaf`, {
        subject: `/O=Sealpost Tests/CN=${local}@intermediate.test`,
        extensions: leafExtensions({
          email: `${local}@intermediate.test`,
          caIssuersUrl: files.url('/expired-intermediate.cer'),
        }),
      }),
    );
  }
  // risk-10: a spoofed answer: certificates for real addresses from a CA nobody trusts.
  const spoofed: Issued[] = [];
  for (const local of ['dee', 'eve', 'fay']) {
    spoofed.push(
      await pki.issue(attackerRoot, `${local}-spoofed`, {
        subject: `/O=Sealpost Tests/CN=${local}@spoofed.test`,
        extensions: leafExtensions({ email: `${local}@spoofed.test` }),
      }),
    );
  }
  knot = await startKnot({
    zone: 'intermediate.test',
    records: leaves.map((leaf, i) => certRecordLine(['ann', 'ben', 'cat'][i] ?? '', leaf.der)),
    extraZones: {
      'spoofed.test': spoofed.map((leaf, i) =>
        certRecordLine(`${['dee', 'eve', 'fay'][i] ?? ''}.spoofed.test.`, leaf.der),
      ),
    },
  });
});

afterAll(async () => {
  await knot?.stop();
  await files?.close();
  await pki?.remove();
});

describe('invalid certificates are counted and alerted (risk-10, risk-11)', () => {
  it('risk-10: certificates from a spoofed answer are rejected, counted per domain, and the third raises an alert', async () => {
    const alerts: string[] = [];
    const monitor = new CertificateEventMonitor({
      threshold: 3,
      onAlert: (domain) => alerts.push(domain),
    });
    const logger = createSilentLogger();
    for (const local of ['dee', 'eve', 'fay']) {
      const result = await discoverCertificates(`${local}@spoofed.test`, {
        dnsServers: [{ host: '127.0.0.1', port: knot.port }],
        anchors: [root.cert],
        revocation: 'off',
        logger,
        monitor,
      });
      expect(result.selected).toEqual([]);
      expect(result.rejected.map((r) => r.reason.code)).toEqual(['CERT_UNTRUSTED']);
    }
    expect(monitor.counts()).toEqual({ 'spoofed.test': { CERT_UNTRUSTED: 3 } });
    expect(alerts).toEqual(['spoofed.test']);
  });

  it('risk-11: certificates issued by an expired intermediate (fetched via AIA) are flagged invalid and counted', async () => {
    const monitor = new CertificateEventMonitor({ threshold: 3 });
    const logger = createSilentLogger();
    for (const local of ['ann', 'ben', 'cat']) {
      const result = await discoverCertificates(`${local}@intermediate.test`, {
        dnsServers: [{ host: '127.0.0.1', port: knot.port }],
        anchors: [root.cert],
        revocation: 'off',
        logger,
        fetcher: createHttpFetcher({ logger }),
        monitor,
      });
      expect(result.selected).toEqual([]);
      expect(result.rejected[0]?.reasons.map((r) => r.code)).toContain('CERT_EXPIRED');
    }
    expect(files.hits('/expired-intermediate.cer')).toBeGreaterThanOrEqual(1);
    expect(monitor.counts()['intermediate.test']?.CERT_EXPIRED).toBe(3);
    expect(monitor.recent('intermediate.test')).toHaveLength(3);
  });
});
