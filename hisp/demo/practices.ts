/**
 * The two-practice demo (issue: "`npm run demo`: two practices, A and B, each with its own
 * domain, PKI under one demo anchor, HISP and inbound SMTP endpoint, on loopback, with a DNS
 * responder serving their CERT and MX records; the UI opens for both").
 *
 * Each practice is a HISP put together the way `sealpost serve` puts one together: a profile
 * with its Direct identity and trust anchor, recipient discovery, the mail service (inbound
 * SMTP with STARTTLS, a relay worker, delivery tracking: hisp/host/mailService.ts) and a
 * HISP with its own loopback bridge serving the mail UI (hisp/host/headless.ts). Only the
 * setting differs: a demo anchor and the practices' certificates made here
 * (hisp/certs/issue.ts), our DNS responder publishing both certificates, and each practice's
 * relay pointed at the other's inbound SMTP as a smarthost — MX records carry no port, and on
 * loopback each practice's endpoint is a port of its own.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { HispError } from '../api/errors.js';
import { parseCertificate, type ParsedCertificate } from '../certs/certificate.js';
import { RecipientService } from '../certs/discovery/service.js';
import { createHttpFetcher } from '../certs/fetch.js';
import { startDnsResponder, type DnsResponder } from '../certs/hosting/dnsResponder.js';
import { generateKey, issueCertificate } from '../certs/issue.js';
import { TrustStore } from '../certs/trust/store.js';
import { HispEvents, startHeadless, type RunningHisp } from '../host/headless.js';
import { MailService } from '../host/mailService.js';
import { mailTakesOnIdentity } from '../host/settings.js';
import { IdentityStore } from '../keys/identities.js';
import { vaultMasterKeySource } from '../keys/masterKey.js';
import type { Logger } from '../log/logger.js';
import { initProfile, makeDirectories, VAULT_FILE, type Profile } from '../store/profile.js';

export interface PracticeSpec {
  /** Also the practice's directory under the demo's data directory. */
  readonly name: string;
  readonly label: string;
  readonly domain: string;
  readonly address: string;
  readonly displayName: string;
}

export const DEMO_PRACTICES: readonly [PracticeSpec, PracticeSpec] = [
  {
    name: 'practice-a',
    label: 'Practice A',
    domain: 'practice-a.test',
    address: 'dr.adams@practice-a.test',
    displayName: 'Dr. Adams (Practice A)',
  },
  {
    name: 'practice-b',
    label: 'Practice B',
    domain: 'practice-b.test',
    address: 'dr.baker@practice-b.test',
    displayName: 'Dr. Baker (Practice B)',
  },
];

export interface RunningPractice {
  readonly spec: PracticeSpec;
  /** The profile's directory (`<dir>/<spec.name>`). */
  readonly dir: string;
  readonly profile: Profile;
  readonly mail: MailService;
  /** The practice's HISP and its loopback bridge (the mail UI and the API contract). */
  readonly running: RunningHisp;
  /** The practice's inbound SMTP port on 127.0.0.1. */
  readonly smtpPort: number;
}

export interface RunningDemo {
  readonly dir: string;
  readonly anchor: ParsedCertificate;
  readonly dns: DnsResponder;
  readonly practices: readonly [RunningPractice, RunningPractice];
  stop(): Promise<void>;
}

export interface DemoOptions {
  /** Both profiles go in `dir/practice-a` and `dir/practice-b`, which must not exist yet. */
  readonly dir: string;
  /** The install root: the bridges serve the built UI from its dist/renderer. */
  readonly root: string;
  readonly logger: Logger;
  /** Shown in each HISP's status: the profiles are removed when the demo stops. */
  readonly throwaway: boolean;
  /** Relay worker poll when nothing was due (it is woken on every send anyway). */
  readonly relayPollMs?: number;
}

/** Largest message a demo practice takes over SMTP. */
const DEMO_MAX_BYTES = 64 * 1024 * 1024;

/**
 * A TCP port on 127.0.0.1 that was free a moment ago. Each practice's relay must name the
 * other's inbound port before either listens; a port taken in between fails the start with
 * the listener's error, nothing worse.
 */
function freeLoopbackPort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() =>
        port > 0
          ? resolvePort(port)
          : reject(new HispError('INTERNAL', 'No free loopback port for the demo.')),
      );
    });
  });
}

/** Start both practices, each a full HISP with its own bridge, in `options.dir`. */
export async function startDemoPractices(options: DemoOptions): Promise<RunningDemo> {
  const { dir, logger } = options;
  await makeDirectories(dir, 0o700);
  const stack: (() => Promise<void> | void)[] = [];
  const unwind = async (): Promise<void> => {
    for (const undo of stack.splice(0).reverse()) await undo();
  };
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
    const tls = {
      key: Buffer.from(tlsKey.export({ type: 'pkcs8', format: 'pem' }) as string),
      cert: Buffer.from(
        parseCertificate(
          issueCertificate({
            subject: { commonName: 'localhost', organization: 'Sealpost Demo' },
            issuer: { cert: anchor, key: rootKey },
            key: tlsKey,
            dnsNames: ['localhost'],
            purpose: 'tls-server',
          }),
        ).x509.toString(),
      ),
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
    const dnsServers = [{ host: '127.0.0.1', port: dns.port }];

    const ports = [await freeLoopbackPort(), await freeLoopbackPort()] as const;
    const practices: RunningPractice[] = [];
    for (const [index, spec] of DEMO_PRACTICES.entries()) {
      const log = logger.child({ practice: spec.name });
      const profileDir = join(dir, spec.name);
      const profile = await initProfile(profileDir, {
        keySource: vaultMasterKeySource({
          file: join(profileDir, VAULT_FILE),
          passphrase: randomBytes(24),
        }),
      });
      stack.push(() => profile.close());
      await new IdentityStore(profile).import({
        key: practiceKeys[index] ?? rootKey,
        cert: certs[index] ?? anchor,
      });
      const trust = TrustStore.forProfile(profile);
      trust.addAnchors([anchor], { domain: spec.domain, direction: 'both' });

      // From here on as `sealpost serve` does it (hisp/cli/serve.ts).
      const events = new HispEvents();
      const recipients = new RecipientService({
        anchors: (domain) => trust.anchorsFor(domain, 'outbound'),
        dnsServers,
        // The demo PKI publishes no CRL or OCSP service: revocation is not checked here.
        revocation: 'off',
        logger: log,
        onAlert: events.certificateAlert,
      });
      const smtpPort = ports[index] ?? 0;
      // Bundles and remote images, as a practice server fetches them: public addresses only.
      const publicFetcher = createHttpFetcher({ logger: log, publicOnly: true });
      const mail = new MailService({
        config: {
          inbound: {
            listen: { host: '127.0.0.1', port: smtpPort },
            tls,
            maxBytes: DEMO_MAX_BYTES,
          },
          relay: {
            kind: 'smarthost',
            host: 'localhost',
            port: ports[1 - index] ?? 0,
            secure: 'starttls',
            ca: Buffer.from(anchor.x509.toString()),
          },
        },
        recipients,
        dnsServers,
        fetcher: publicFetcher,
        logger: log,
        relayPollMs: options.relayPollMs ?? 250,
        // As for recipients above: with no CRL or OCSP to ask, every message would otherwise
        // say "revocation could not be checked".
        revocation: 'off',
        onChange: events.statusChanged,
        onDelivery: events.delivery,
        onMailbox: events.mailbox,
        onAlert: events.alert,
        onAlertCleared: events.alertCleared,
      });
      await mail.start(profile, trust);
      stack.push(() => mail.stop());
      const running = await startHeadless({
        mode: 'demo',
        profileName: `${spec.label} (${spec.address})`,
        throwaway: options.throwaway,
        host: '127.0.0.1',
        port: 0,
        root: options.root,
        logger: log,
        recipients,
        mail,
        events,
        discovery: { recipients, dnsServers },
        // Settings as serve has them; bundles fetched from public addresses only.
        settings: {
          parts: () => ({ profile, trust }),
          fetcher: publicFetcher,
          identityImported: mailTakesOnIdentity(mail, () => ({ profile, trust })),
        },
      });
      stack.push(() => running.stop());
      practices.push({
        spec,
        dir: profileDir,
        profile,
        mail,
        running,
        smtpPort,
      });
    }
    const [a, b] = practices as [RunningPractice, RunningPractice];
    return { dir, anchor, dns, practices: [a, b], stop: unwind };
  } catch (error) {
    await unwind();
    throw error;
  }
}
