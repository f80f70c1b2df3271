import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { HostedZone } from '../certs/hosting/dnsResponder.js';
import { HispError } from '../api/errors.js';
import { AGENT_LIMITS } from '../agent/limits.js';
import { readCertificates, type ParsedCertificate } from '../certs/certificate.js';
import { createHttpFetcher } from '../certs/fetch.js';
import { createLogger } from '../log/logger.js';
import { attachBridge, writeBridgeFile } from '../host/headless.js';
import { isLoopbackHost } from '../host/loopback.js';
import { startPractice } from '../host/practice.js';
import { BRIDGE_FILE, readProfileInfo } from '../store/profile.js';
import { parseCommandArgs, parseDnsServer, parseListen } from './args.js';
import { loadServeConfig, type ServeConfig } from './serveConfig.js';
import { readInputFile } from './files.js';
import { UsageError, type CliIo } from './io.js';
import { systemResolvers } from './certs.js';
import {
  masterKeySourceOf,
  profileDirOf,
  profilePassphrase,
  PROFILE_OPTIONS_HELP,
} from './profileAccess.js';

export const SERVE_HELP = `Usage: sealpost serve --profile DIR [--pass SPEC] [--listen HOST:PORT] [--tls-ca FILE]
                      [--config FILE] [--policy FILE] [--dns HOST:PORT ...]
                      [--auto-lock-minutes N]
                      [--dns-listen HOST:PORT --dns-cert FILE ... [--dns-mx HOST ...]
                       [--dns-a IP ...] [--dns-srv SERVICE:PRIORITY:WEIGHT:PORT:TARGET ...]]

Run the HISP headless, for a practice server. The mail UI and the API are served on a
loopback address only (reach it from elsewhere through an SSH tunnel or a reverse proxy).
Trust bundles are refreshed on their intervals while it runs.

Options:
${PROFILE_OPTIONS_HELP}
                       (create the profile first with 'sealpost profile init')
  --listen HOST:PORT   loopback address for the UI and API bridge
                       (default 127.0.0.1:0, any free port)
  --tls-ca FILE        extra CA certificates (PEM) to trust for HTTPS trust-bundle URLs
  --allow-private-fetch
                       also fetch certificates, CRLs, OCSP answers and bundles from
                       loopback and private addresses (by default only public addresses
                       are fetched, so a URL in a hostile certificate cannot reach the
                       practice's own network)
  --config FILE        send and receive Direct mail as this JSON file says (see docs/relay.md):
                       {"inbound": {"listen", "tlsCert", "tlsKey", "maxBytes"?},
                        "relay": {"smarthost": {"host", "port", "secure", "user"?, "pass"?,
                                  "ca"?}} or {"mx": {"tlsRequired"?: true, "exceptions"?,
                                  "port"?}}  ("port": for tests and labs; production
                                  MX is port 25, the default),
                        "upstream": {"host", "port", "secure", "user", "pass", "ca"?,
                                     "mailbox"?, "afterStore", "moveTo"?},
                        "submission": {"listen", "tlsCert", "tlsKey", "user", "pass"},
                        "dns": ["HOST:PORT", ...]}  (every part optional; "secure" is
                       "starttls" or "implicit"; passwords only as "env:NAME" or
                       "file:PATH"). Mail runs while the profile is unlocked.
                       What the file does not set (relay, upstream, delivery
                       notifications) is set in the mail UI's Settings and saved,
                       encrypted, in the profile; until then nothing is relayed or
                       pulled and messages wait in the Outbox.
  --policy FILE        the organisation's policy (the format of the desktop's
                       machine-wide policy file, docs/deployment.md): presets and
                       locks for the relay, upstream, delivery notifications,
                       auto-lock and trust; a file that is not exactly right stops
                       serve with the reason. Default: none.
  --auto-lock-minutes N
                       lock the profile after N minutes without calls from a mail window
                       (default 0: never; given here, Settings cannot change it);
                       unlock with 'sealpost profile unlock'
  --dns HOST:PORT      DNS server for finding recipients' certificates (repeatable;
                       default: this computer's resolvers)
  --dns-listen HOST:PORT
                       also answer DNS for the practice's domains (authoritative only, no
                       recursion): CERT records for each --dns-cert at the names Direct
                       discovery looks up, MX, and the apex A records. Point the domain's
                       NS (or a delegation) here. Off unless given.
  --dns-cert FILE      a certificate to publish (PEM or DER, repeatable; default: the
                       certificates of the profile's identities, published again when
                       one is imported in Settings)
  --dns-mx HOST        mail exchanger for the published domains (repeatable, in order)
  --dns-a IP           IPv4 address for the published domains' apex (repeatable)
  --dns-srv SERVICE:PRIORITY:WEIGHT:PORT:TARGET
                       an SRV record at each published domain, e.g. for the practice's
                       LDAP directory: _ldap._tcp:0:100:389:ldap.clinic.example (repeatable)
  -h, --help           show this help

When the bridge listens, DIR/bridge.json (mode 600) holds {"url", "token", "pid"}: open
the url with '#token=<token>' appended. The token is never printed or logged. SIGINT or
SIGTERM stops the HISP and removes bridge.json. One HISP per profile: a second serve on a
profile that is being served is refused (a bridge.json left by one that is gone is replaced).
`;

export { BRIDGE_FILE };

export async function serveCommand(args: readonly string[], io: CliIo): Promise<number> {
  const command = 'serve';
  const { values } = parseCommandArgs(command, args, {
    profile: { type: 'string' },
    pass: { type: 'string' },
    listen: { type: 'string' },
    'tls-ca': { type: 'string' },
    dns: { type: 'string', multiple: true },
    'dns-listen': { type: 'string' },
    'dns-cert': { type: 'string', multiple: true },
    'dns-mx': { type: 'string', multiple: true },
    'dns-a': { type: 'string', multiple: true },
    'dns-srv': { type: 'string', multiple: true },
    'auto-lock-minutes': { type: 'string' },
    'allow-private-fetch': { type: 'boolean' },
    config: { type: 'string' },
    policy: { type: 'string' },
  });
  const profileDir = profileDirOf(command, values.profile);
  const listen = parseListen(command, values.listen ?? '127.0.0.1:0');
  const dns = await dnsOptions(values);
  const config: ServeConfig | undefined =
    values.config === undefined ? undefined : await loadServeConfig(values.config, io.env);
  const policy =
    values.policy === undefined
      ? undefined
      : await import('../host/policy.js').then(({ loadPolicy }) =>
          loadPolicy(resolve(values.policy ?? '')),
        );
  if (policy !== undefined && !policy.found) {
    throw new UsageError(command, `--policy ${values.policy ?? ''}: no such file`);
  }
  if (values.dns !== undefined && config?.dns !== undefined) {
    throw new UsageError(
      command,
      'give the DNS servers with --dns or in the config file, not both',
    );
  }
  const dnsServers =
    config?.dns !== undefined
      ? [...config.dns]
      : (values.dns ?? systemResolvers()).map((server) => parseDnsServer(command, server));
  if (dnsServers.length === 0) {
    throw new UsageError(
      command,
      'this computer has no DNS resolver configured: give --dns HOST:PORT',
    );
  }
  const ca =
    values['tls-ca'] === undefined
      ? undefined
      : await readInputFile(
          command,
          '--tls-ca',
          values['tls-ca'],
          AGENT_LIMITS.fetchedCertificateBytes,
        );

  const logger = createLogger({
    sink: (line) => io.stderr(`${line}\n`),
    bindings: { process: 'sealpost-serve' },
  });
  const info = await readProfileInfo(profileDir);
  await refuseSecondServe(command, profileDir);
  // The vault passphrase given at start is kept only while the practice starts.
  const startPassphrase = await profilePassphrase(command, info.keySource, values.pass, io);
  const autoLockMinutes = Number(values['auto-lock-minutes'] ?? '0');
  if (!Number.isFinite(autoLockMinutes) || autoLockMinutes < 0 || autoLockMinutes > 24 * 60) {
    throw new UsageError(command, '--auto-lock-minutes wants minutes from 0 (never) to 1440');
  }
  // URLs in certificates and bundles come from outside: by default nothing on the local
  // network is fetched (SSRF); --allow-private-fetch is for a CRL or bundle server on the LAN.
  const fetcher = createHttpFetcher({
    logger,
    publicOnly: values['allow-private-fetch'] !== true,
    ...(ca === undefined ? {} : { ca: [ca] }),
  });
  /** Publishes the profile's identities in DNS again (when DNS publishes them). */
  let republish: (() => Promise<void>) | undefined;
  // The profile, recipients, mail, settings and lock hooks, as the desktop app has them too
  // (hisp/host/practice.ts); here served on the loopback bridge.
  const practice = await startPractice({
    dir: profileDir,
    mode: 'server',
    profileName: basename(profileDir),
    ...(config === undefined ? {} : { config }),
    preferences: {
      configFile: values.config === undefined ? undefined : resolve(values.config),
      autoLockFromCommandLine:
        values['auto-lock-minutes'] === undefined ? undefined : autoLockMinutes,
      policy,
      dataLocation: profileDir,
    },
    dnsServers,
    fetcher,
    logger,
    keySource: (kind, passphrase) => masterKeySourceOf(kind, profileDir, passphrase),
    idleLockMs: autoLockMinutes * 60_000,
    // Set below once DNS publishes the profile's identities.
    identityImported: () => republish?.() ?? Promise.resolve(),
    ...(startPassphrase === undefined ? {} : { passphrase: startPassphrase }),
    atStart: 'fail',
    attach: (hisp) =>
      attachBridge(hisp, { host: listen.host, port: listen.port, root: io.root, logger }),
  }).finally(() => startPassphrase?.fill(0));
  const { session, transport } = practice;
  const stack: (() => Promise<void> | void)[] = [() => practice.stop()];
  try {
    if (dns !== undefined) {
      const { startDnsResponder } = await import('../certs/hosting/dnsResponder.js');
      const { IdentityStore } = await import('../keys/identities.js');
      // --dns-cert, else the profile's own identities (imported with 'sealpost profile
      // import-key' or in Settings).
      const published = dns.certificates.length > 0;
      const identityCertificates = () =>
        new IdentityStore(session.profile).list().map((identity) => identity.cert);
      const certificates = published ? dns.certificates : identityCertificates();
      if (certificates.length === 0) {
        throw new HispError(
          'IDENTITY_NOT_FOUND',
          'There is nothing to publish in DNS: import an identity with `sealpost profile import-key`, or give --dns-cert FILE.',
        );
      }
      const zones = await hostedZones(dns, certificates);
      const responder = await startDnsResponder({
        host: dns.listen.host,
        port: dns.listen.port,
        zones,
        logger,
      });
      stack.push(() => responder.close());
      let domains = zones.map((zone) => zone.domain).join(', ');
      if (!published) {
        // A new identity (a new domain, or a new certificate for one) is found by its peers
        // at once, not after a restart.
        republish = async () => {
          try {
            const next = await hostedZones(dns, identityCertificates());
            responder.setZones(next);
            domains = next.map((zone) => zone.domain).join(', ');
            logger.info('DNS: the identities are published again', { domains });
          } catch (error) {
            logger.error(
              'DNS: the new identity could not be published; the records before it are still served',
              {
                code: HispError.from(error).code,
              },
            );
          }
        };
      }
      practice.hisp.addComponent('dns', () => ({
        name: 'dns',
        state: 'ok',
        detail: `authoritative for ${domains} on ${dns.listen.host}:${responder.port}`,
      }));
      io.stdout(
        `DNS: answering for ${domains} on ${dns.listen.host} port ${responder.port} (UDP and TCP)\n`,
      );
    }

    const bridgeFile = join(profileDir, BRIDGE_FILE);
    stack.push(await writeBridgeFile(bridgeFile, transport.bridge));
    io.stdout(
      `Sealpost HISP serving ${transport.bridge.url} (profile ${profileDir}); the access token is in ${bridgeFile}\n`,
    );
    const signal = await io.stopSignal;
    logger.info('stopping', { signal });
  } finally {
    for (const undo of stack.reverse()) await undo();
  }
  return 0;
}

interface DnsSetup {
  readonly listen: { host: string; port: number };
  /** From --dns-cert; empty = the profile's identities. */
  readonly certificates: readonly ParsedCertificate[];
  readonly mx: { preference: number; exchange: string }[];
  readonly a: string[] | undefined;
  readonly srv: {
    service: string;
    priority: number;
    weight: number;
    port: number;
    target: string;
  }[];
}

type HostedZones = HostedZone[];

/** One zone per domain the certificates are published under. */
async function hostedZones(
  setup: DnsSetup,
  certificates: readonly ParsedCertificate[],
): Promise<HostedZones> {
  const { publicationNames } = await import('../certs/discovery/zone.js');
  const byDomain = new Map<string, ParsedCertificate[]>();
  for (const cert of certificates) {
    const domains = new Set(publicationNames(cert).map((entry) => entry.domain));
    if (domains.size === 0) {
      throw new UsageError(
        'serve',
        `${cert.subject}: the certificate names no Direct address or domain to publish`,
      );
    }
    for (const domain of domains) byDomain.set(domain, [...(byDomain.get(domain) ?? []), cert]);
  }
  return [...byDomain].map(([domain, certs]) => ({
    domain,
    certificates: certs,
    ...(setup.mx.length > 0 ? { mx: setup.mx } : {}),
    ...(setup.a !== undefined ? { a: setup.a } : {}),
    ...(setup.srv.length > 0 ? { srv: setup.srv } : {}),
  }));
}

async function dnsOptions(values: {
  readonly 'dns-listen'?: string | undefined;
  readonly 'dns-cert'?: string[] | undefined;
  readonly 'dns-mx'?: string[] | undefined;
  readonly 'dns-a'?: string[] | undefined;
  readonly 'dns-srv'?: string[] | undefined;
}): Promise<DnsSetup | undefined> {
  const command = 'serve';
  if (values['dns-listen'] === undefined) {
    for (const flag of ['dns-cert', 'dns-mx', 'dns-a', 'dns-srv'] as const) {
      if (values[flag] !== undefined) throw new UsageError(command, `--${flag} needs --dns-listen`);
    }
    return undefined;
  }
  const listen = parseListen(command, values['dns-listen'], '--dns-listen');
  const certificates: ParsedCertificate[] = [];
  for (const path of values['dns-cert'] ?? []) {
    certificates.push(
      ...readCertificates(
        await readInputFile(command, '--dns-cert', path, AGENT_LIMITS.fetchedCertificateBytes),
      ),
    );
  }
  for (const ip of values['dns-a'] ?? []) {
    if (!/^(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)$/.test(ip)) {
      throw new UsageError(command, `--dns-a wants an IPv4 address, not ${JSON.stringify(ip)}`);
    }
  }
  const srv = (values['dns-srv'] ?? []).map((spec) => {
    const match =
      /^(_[A-Za-z0-9-]+\._(?:tcp|udp)):(\d{1,5}):(\d{1,5}):(\d{1,5}):([A-Za-z0-9.-]+)$/.exec(spec);
    const numbers = match?.slice(2, 5).map(Number) ?? [];
    if (match === null || numbers.some((n) => n > 65535)) {
      throw new UsageError(
        command,
        `--dns-srv wants SERVICE:PRIORITY:WEIGHT:PORT:TARGET (e.g. _ldap._tcp:0:100:389:ldap.example.org), not ${JSON.stringify(spec)}`,
      );
    }
    const [priority = 0, weight = 0, port = 0] = numbers;
    return { service: match[1] ?? '', priority, weight, port, target: match[5] ?? '' };
  });
  const mx = (values['dns-mx'] ?? []).map((exchange, index) => ({
    preference: (index + 1) * 10,
    exchange,
  }));
  return { listen, certificates, mx, a: values['dns-a'], srv };
}

/**
 * One HISP per profile: when DIR/bridge.json names a live process whose bridge answers, that
 * is a `sealpost serve` on this profile already — two would both relay, pull and receive, and
 * the second would overwrite the first's access token. A file left by one that is gone (a
 * crash, a kill -9) is replaced.
 * @throws UsageError naming the process and what to do
 */
async function refuseSecondServe(command: string, profileDir: string): Promise<void> {
  const file = join(profileDir, BRIDGE_FILE);
  let found: { pid?: unknown; url?: unknown };
  try {
    found = JSON.parse(await readFile(file, 'utf8')) as { pid?: unknown; url?: unknown };
  } catch {
    return; // none, or not ours to read: written anew at start
  }
  const pid = typeof found.pid === 'number' && Number.isInteger(found.pid) ? found.pid : 0;
  if (pid <= 0 || pid === process.pid) return;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return; // gone
  }
  let url: URL | undefined;
  try {
    url = new URL(String(found.url));
  } catch {
    return;
  }
  // Only our own loopback bridge is asked; any answer at all means it is there.
  if (!isLoopbackHost(url.hostname)) return;
  const answered = await fetch(new URL('api/call/status', url), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
    signal: AbortSignal.timeout(2000),
  }).then(
    () => true,
    () => false,
  );
  if (!answered) return;
  throw new UsageError(
    command,
    `${profileDir} is already being served by Sealpost (pid ${pid}, ${url.origin}); one HISP per profile. Stop that one first. If no Sealpost is running, remove ${file}.`,
  );
}
