/**
 * The two-practice demo (issue: "`npm run demo`: two practices, A and B, each with its own
 * domain, PKI under one demo anchor, HISP and inbound SMTP endpoint, on loopback, with a DNS
 * responder serving their CERT and MX records").
 *
 * Everything is real and local: a demo anchor and one Direct certificate per practice made
 * here (hisp/certs/issue.ts), two profiles with their encrypted databases, our DNS responder
 * publishing both certificates, discovery finding them through it, the security agent signing
 * and encrypting, each practice's relay worker delivering over STARTTLS to the other's
 * inbound SMTP endpoint, and delivery notifications coming back the same way.
 */
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseCertificate, type ParsedCertificate } from '../certs/certificate.js';
import { RecipientService } from '../certs/discovery/service.js';
import { startDnsResponder, type DnsResponder } from '../certs/hosting/dnsResponder.js';
import { generateKey, issueCertificate } from '../certs/issue.js';
import { TrustStore } from '../certs/trust/store.js';
import { IdentityStore } from '../keys/identities.js';
import { vaultMasterKeySource } from '../keys/masterKey.js';
import type { Logger } from '../log/logger.js';
import { MailAgent } from '../relay/mailAgent.js';
import { RelayWorker } from '../relay/relayWorker.js';
import { startInboundSmtp, type RunningSmtp } from '../relay/smtpServer.js';
import { MailStore } from '../store/mail.js';
import { initProfile, VAULT_FILE, type Profile } from '../store/profile.js';

export interface PracticeSpec {
  readonly name: string;
  readonly domain: string;
  readonly address: string;
  readonly displayName: string;
}

export const DEMO_PRACTICES: readonly [PracticeSpec, PracticeSpec] = [
  {
    name: 'practice-a',
    domain: 'practice-a.test',
    address: 'dr.adams@practice-a.test',
    displayName: 'Dr. Adams (Practice A)',
  },
  {
    name: 'practice-b',
    domain: 'practice-b.test',
    address: 'dr.baker@practice-b.test',
    displayName: 'Dr. Baker (Practice B)',
  },
];

export interface RunningPractice {
  readonly spec: PracticeSpec;
  readonly profile: Profile;
  readonly store: MailStore;
  readonly agent: MailAgent;
  readonly relay: RelayWorker;
  readonly smtp: RunningSmtp;
}

export interface RunningDemo {
  readonly dir: string;
  readonly anchor: ParsedCertificate;
  readonly dns: DnsResponder;
  readonly practices: readonly [RunningPractice, RunningPractice];
  stop(): Promise<void>;
}

/** Start both practices in `dir` (each profile in its own subdirectory). */
export async function startDemoPractices(dir: string, logger: Logger): Promise<RunningDemo> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const stack: (() => Promise<void> | void)[] = [];
  try {
    // The demo PKI: one anchor, a Direct certificate per practice, a TLS certificate for SMTP.
    const [rootKey, tlsKey, ...practiceKeys] = await Promise.all([
      generateKey(),
      generateKey(),
      ...DEMO_PRACTICES.map(() => generateKey()),
    ]);
    const anchor = parseCertificate(
      issueCertificate({
        subject: { commonName: 'Sealpost Demo Anchor', organization: 'Sealpost Demo' },
        key: rootKey,
        ca: true,
      }),
    );
    const tlsCert = issueCertificate({
      subject: { commonName: 'localhost', organization: 'Sealpost Demo' },
      issuer: { cert: anchor, key: rootKey },
      key: tlsKey,
      dnsNames: ['localhost'],
      purpose: 'tls-server',
    });
    const tls = {
      key: tlsKey.export({ type: 'pkcs8', format: 'pem' }) as string,
      cert: parseCertificate(tlsCert).x509.toString(),
    };
    const certs = DEMO_PRACTICES.map((spec, index) =>
      parseCertificate(
        issueCertificate({
          subject: { commonName: spec.displayName, organization: spec.name },
          issuer: { cert: anchor, key: rootKey },
          key: practiceKeys[index] ?? rootKey,
          email: [spec.address],
        }),
      ),
    );

    // DNS: both practices' certificates (CERT) and mail hosts (MX, A), authoritative.
    const dns = await startDnsResponder({
      host: '127.0.0.1',
      port: 0,
      logger,
      zones: DEMO_PRACTICES.map((spec, index) => ({
        domain: spec.domain,
        certificates: [certs[index] ?? anchor],
        mx: [{ preference: 10, exchange: `mail.${spec.domain}` }],
        hosts: { [`mail.${spec.domain}`]: { a: ['127.0.0.1'] } },
      })),
    });
    stack.push(() => dns.close());

    const smtpPorts = new Map<string, number>();
    const practices: RunningPractice[] = [];
    for (const [index, spec] of DEMO_PRACTICES.entries()) {
      const profileDir = join(dir, spec.name);
      const passphrase = randomBytes(24);
      const profile = await initProfile(profileDir, {
        keySource: vaultMasterKeySource({ file: join(profileDir, VAULT_FILE), passphrase }),
      });
      stack.push(() => profile.close());
      const identities = new IdentityStore(profile);
      await identities.import({
        key: practiceKeys[index] ?? rootKey,
        cert: certs[index] ?? anchor,
      });
      const trust = TrustStore.forProfile(profile);
      trust.addAnchors([anchor], { domain: spec.domain, direction: 'both' });
      const store = new MailStore(profile, { logger });
      const recipients = new RecipientService({
        anchors: (domain) => trust.anchorsFor(domain, 'outbound'),
        dnsServers: [{ host: '127.0.0.1', port: dns.port }],
        // The demo PKI publishes no CRL or OCSP service: revocation is not checked here.
        revocation: 'off',
        logger,
      });
      const agent = new MailAgent({
        store,
        identities,
        trust,
        recipients,
        revocation: 'off',
        logger,
      });
      const smtp = await startInboundSmtp({
        host: '127.0.0.1',
        port: 0,
        tls,
        maxBytes: 64 * 1024 * 1024,
        localDomains: [spec.domain],
        logger,
        accept: (raw, envelope) => agent.receive(raw, envelope),
      });
      stack.push(() => smtp.close());
      smtpPorts.set(spec.domain, smtp.port);
      const relay = new RelayWorker({
        store,
        // MX records carry no port: on loopback each practice's endpoint is its own port.
        target: (domain) => ({
          kind: 'smarthost',
          host: '127.0.0.1',
          port: smtpPorts.get(domain) ?? 25,
          secure: 'starttls',
          tls: { ca: [anchor.x509.toString()], servername: 'localhost' },
        }),
        pollMs: 250,
        logger,
      });
      relay.start();
      stack.push(() => relay.stop());
      practices.push({ spec, profile, store, agent, relay, smtp });
    }
    const [a, b] = practices as [RunningPractice, RunningPractice];
    return {
      dir,
      anchor,
      dns,
      practices: [a, b],
      stop: async () => {
        for (const undo of stack.reverse()) await undo();
      },
    };
  } catch (error) {
    for (const undo of stack.reverse()) await undo();
    throw error;
  }
}
