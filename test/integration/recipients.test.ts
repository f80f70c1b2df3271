/**
 * Recipient checks inside the running HISP: the `checkRecipients` call the compose window
 * will make before send, answered with the sending domain's outbound anchors from the trust
 * store, against real knot; and the certificate alert (risks 10 and 11) as a contract event
 * over the bridge's WebSocket.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CertificateAlert, HispClient } from '../../hisp/api/index.js';
import { parseCertificate } from '../../hisp/certs/certificate.js';
import { RecipientService } from '../../hisp/certs/discovery/service.js';
import { TrustStore } from '../../hisp/certs/trust/store.js';
import { createSilentLogger } from '../../hisp/log/logger.js';
import { EncryptedDatabase } from '../../hisp/store/database.js';
import { runCaptured, startServe, type CliIoOptions } from '../services/cliIo.js';
import {
  createTestCa,
  issueEndEntityCert,
  type TestCa,
  type TestEndEntity,
} from '../services/certs.js';
import { certRecordLine } from '../services/dns.js';
import { startKnot, type KnotHandle } from '../services/knot.js';
import { freePort } from '../services/ports.js';
import { openMailWindow } from '../services/practices.js';
import { makeTempDir, type TempDir } from '../services/tmp.js';

let dir: TempDir;
let ca: TestCa;
let attackerCa: TestCa;
let alice: TestEndEntity;
let spoofed: TestEndEntity[];
let knot: KnotHandle;
let db: EncryptedDatabase;
let trust: TrustStore;

beforeAll(async () => {
  dir = await makeTempDir('recipients');
  [ca, attackerCa] = await Promise.all([
    createTestCa(dir.path, { name: 'anchor', commonName: 'Practice B Anchor' }),
    createTestCa(dir.path, { name: 'attacker', commonName: 'Practice B Anchor' }), // same name, other key
  ]);
  alice = await issueEndEntityCert(ca, dir.path, { email: 'alice@practice-b.test' });
  spoofed = await Promise.all(
    [1, 2, 3, 4, 5].map((n) =>
      issueEndEntityCert(attackerCa, dir.path, {
        email: 'mallory@practice-b.test',
        name: `spoof-${n}`,
      }),
    ),
  );
  knot = await startKnot({
    zone: 'practice-b.test',
    records: [
      certRecordLine('alice', alice.certDer),
      ...spoofed.map((cert) => certRecordLine('mallory', cert.certDer)),
    ],
  });
  db = EncryptedDatabase.open({ file: join(dir.path, 'db'), key: randomBytes(32) });
  trust = new TrustStore(db);
});

afterAll(async () => {
  db?.close();
  await knot?.stop();
  await dir?.remove();
});

function service(overrides: Partial<ConstructorParameters<typeof RecipientService>[0]> = {}) {
  return new RecipientService({
    anchors: (domain) => trust.anchorsFor(domain, 'outbound'),
    dnsServers: [{ host: '127.0.0.1', port: knot.port }],
    logger: createSilentLogger(),
    revocation: 'off',
    ...overrides,
  });
}

describe('RecipientService', () => {
  it('per recipient: found, untrusted, not-found, invalid — with the anchors of the sending domain only', async () => {
    const recipients = service();
    // No outbound anchor yet: alice's certificate is published but cannot be trusted.
    const before = await recipients.check('dr.a@practice-a.test', ['alice@practice-b.test']);
    expect(before[0]).toMatchObject({ state: 'untrusted' });
    expect(before[0]?.problems.map((problem) => problem.code)).toContain('CERT_UNTRUSTED');

    // An inbound anchor, or an outbound one for another local domain, does not count…
    trust.addAnchors([parseCertificate(ca.certDer)], {
      domain: 'practice-a.test',
      direction: 'inbound',
    });
    trust.addAnchors([parseCertificate(ca.certDer)], {
      domain: 'elsewhere.test',
      direction: 'outbound',
    });
    expect(
      (await recipients.check('dr.a@practice-a.test', ['alice@practice-b.test']))[0]?.state,
    ).toBe('untrusted');
    // …the outbound anchor of the sending domain does, at once (a new anchor set is a new cache).
    trust.addAnchors([parseCertificate(ca.certDer)], {
      domain: 'practice-a.test',
      direction: 'outbound',
    });
    const checks = await recipients.check('dr.a@practice-a.test', [
      'alice@practice-b.test',
      'mallory@practice-b.test',
      'nobody@practice-b.test',
      'not an address',
    ]);
    expect(checks.map((check) => [check.address, check.state])).toEqual([
      ['alice@practice-b.test', 'found'],
      ['mallory@practice-b.test', 'untrusted'],
      ['nobody@practice-b.test', 'not-found'],
      ['not an address', 'invalid'],
    ]);
    expect(checks[0]?.certificates).toEqual([
      expect.objectContaining({
        fingerprintSha256: parseCertificate(alice.certDer).fingerprintSha256,
        source: 'dns',
        bound: 'address',
        anchor: parseCertificate(ca.certDer).subject,
      }),
    ]);
    // risk-9: the same-name attacker CA never makes mallory's certificates usable.
    expect(checks[1]?.rejected).toHaveLength(5);
    expect(checks[1]?.certificates).toEqual([]);
  });

  it('a DNS server that does not answer: failed, with the reason', async () => {
    const recipients = service({
      dnsServers: [{ host: '127.0.0.1', port: await freePort() }],
      dnsTimeoutMs: 300,
    });
    const [check] = await recipients.check('dr.a@practice-a.test', ['alice@practice-b.test']);
    expect(check?.state).toBe('failed');
    expect(check?.problems.map((problem) => problem.code)).toContain('DNS_FAILED');
  });

  it('risk-10: many invalid certificates for one domain raise one alert, and the summary shows it', async () => {
    const alerts: CertificateAlert[] = [];
    const recipients = service({ onAlert: (alert) => alerts.push(alert) });
    await recipients.check('dr.a@practice-a.test', ['mallory@practice-b.test']);
    await recipients.check('dr.a@practice-a.test', ['mallory@practice-b.test']); // cached: no new events
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ domain: 'practice-b.test', count: 5 });
    expect(alerts[0]?.reasons.reduce((sum, entry) => sum + entry.count, 0)).toBe(5);
    expect(recipients.summary().alert?.domain).toBe('practice-b.test');
  });

  it('refuses a sending address that is not one', async () => {
    await expect(service().check('nobody', ['alice@practice-b.test'])).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
  });
});

describe('checkRecipients through sealpost serve', () => {
  it('answers over the bridge by the contract, and the alert arrives as an event', async () => {
    const profile = join(dir.path, 'practice-a');
    const options: CliIoOptions = {
      env: { PASS: 'recipients test passphrase' },
      root: dir.path,
    };
    const code = async (argv: string[]) => (await runCaptured(argv, options)).code;
    const pass = ['--profile', profile, '--pass', 'env:PASS'];
    expect(await code(['profile', 'init', '--vault', ...pass])).toBe(0);
    expect(
      await code([
        'anchors',
        'import',
        ...pass,
        '--domain',
        'practice-a.test',
        '--direction',
        'outbound',
        ca.certPath,
      ]),
    ).toBe(0);

    const served = await startServe(
      [...pass, '--listen', '127.0.0.1:0', '--dns', `127.0.0.1:${knot.port}`],
      { ...options, profileDir: profile },
    );
    const { bridge } = served;
    let client: HispClient | undefined;
    try {
      expect(bridge, served.err()).toBeDefined();
      const window = await openMailWindow({
        bridge: bridge ?? { url: 'http://127.0.0.1:1/', token: '' },
      });
      client = window;
      const alert = new Promise<CertificateAlert>((resolve) =>
        window.on('certificateAlert', resolve),
      );
      const { recipients } = await client.call('checkRecipients', {
        from: 'dr.a@practice-a.test',
        addresses: ['alice@practice-b.test', 'mallory@practice-b.test'],
      });
      expect(recipients.map((check) => check.state)).toEqual(['found', 'untrusted']);
      await expect(alert).resolves.toMatchObject({ domain: 'practice-b.test', count: 5 });
      const status = await client.call('status', {});
      expect(status.components.find((component) => component.name === 'discovery')).toMatchObject({
        state: 'degraded',
        detail: expect.stringMatching(/5 invalid certificates for practice-b\.test/) as unknown,
      });
      await expect(
        client.call('checkRecipients', { from: 'dr.a@practice-a.test', addresses: [] }),
      ).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    } finally {
      client?.close();
      expect(await served.stop()).toBe(0);
    }
  });
});
