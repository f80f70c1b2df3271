/**
 * Direct practices for integration tests, set up one way instead of once per test file: a
 * test PKI (one anchor, a TLS server certificate and one address-bound Direct certificate per
 * practice, written as PEM files), vault profiles holding a practice's identity and trusting
 * the anchor, an in-process practice (mail store, recipient discovery through our DNS
 * responder, mail agent, a relay worker to a smarthost and inbound SMTP, all on loopback), and
 * the calls a mail window makes on a running `sealpost serve` (bridge.json, the bridge's HTTP
 * calls and its WebSocket). Everything here is the real code; nothing is mocked.
 */
import type { KeyObject } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import WebSocket from 'ws';
import {
  BEARER_PROTOCOL_PREFIX,
  HispClient,
  WebSocketTransport,
  WIRE_PROTOCOL,
} from '../../hisp/api/index.js';
import { parseCertificate, type ParsedCertificate } from '../../hisp/certs/certificate.js';
import { RecipientService } from '../../hisp/certs/discovery/service.js';
import {
  startDnsResponder,
  type DnsResponder,
  type HostedZone,
} from '../../hisp/certs/hosting/dnsResponder.js';
import { generateKey, issueCertificate } from '../../hisp/certs/issue.js';
import { TrustStore } from '../../hisp/certs/trust/store.js';
import { IdentityStore } from '../../hisp/keys/identities.js';
import { vaultMasterKeySource, type MasterKeySource } from '../../hisp/keys/masterKey.js';
import { createSilentLogger, type Logger } from '../../hisp/log/logger.js';
import { MailAgent } from '../../hisp/relay/mailAgent.js';
import { RelayWorker } from '../../hisp/relay/relayWorker.js';
import {
  startInboundSmtp,
  type InboundSmtpOptions,
  type RunningSmtp,
} from '../../hisp/relay/smtpServer.js';
import { MailStore } from '../../hisp/store/mail.js';
import { BRIDGE_FILE, initProfile, VAULT_FILE, type Profile } from '../../hisp/store/profile.js';
import { LOOPBACK } from './ports.js';
import { sleep } from './proc.js';

/** One practice: its profile directory's name, its Direct domain, its clinician's address. */
export interface PracticeSpec {
  readonly name: string;
  readonly domain: string;
  readonly address: string;
  /** The Direct certificate's common name (default: the address). */
  readonly commonName?: string;
}

/** Practice A and practice B, as the serve tests and the demo name them. */
export const TWO_PRACTICES = [
  { name: 'practice-a', domain: 'practice-a.test', address: 'dr.adams@practice-a.test' },
  { name: 'practice-b', domain: 'practice-b.test', address: 'dr.baker@practice-b.test' },
] as const satisfies readonly PracticeSpec[];

/** A private key and its certificate (also the `issuer` shape of issueCertificate). */
export interface KeyAndCert {
  readonly key: KeyObject;
  readonly cert: ParsedCertificate;
}

/** Practices (a tuple stays a tuple), each with its Direct key and certificate. */
export type WithCredentials<T extends readonly PracticeSpec[]> = {
  readonly [K in keyof T]: T[K] & KeyAndCert;
};

/** The PEM files a PKI writes; the TLS key is mode 600. */
export interface PkiFiles {
  readonly anchor: string;
  readonly tlsCert: string;
  readonly tlsKey: string;
}

export interface PracticePkiOptions<T extends readonly PracticeSpec[]> {
  /** The anchor's common name (tests check it in a message's verification). */
  readonly anchorName: string;
  readonly practices: T;
  /** The TLS server certificate's names (default: `localhost`, both as CN and as DNS name). */
  readonly tls?: { readonly commonName: string; readonly dnsNames: readonly string[] };
}

/** What createPracticePki made. */
export interface PracticePki<T extends readonly PracticeSpec[] = readonly PracticeSpec[]> {
  readonly anchor: ParsedCertificate;
  /** The anchor and its key, to issue more certificates under it. */
  readonly issuer: KeyAndCert;
  /** The TLS server certificate (for inbound SMTP, submission, MX hosts) and its PEM. */
  readonly tls: KeyAndCert & { readonly pem: { readonly key: string; readonly cert: string } };
  /** The practices in the order given, each with its Direct key and certificate. */
  readonly practices: WithCredentials<T>;
  /** anchor.pem, tls.pem and tls.key in the directory given. */
  readonly files: PkiFiles;
}

/**
 * A Direct certificate for `address` under `issuer` (SAN rfc822Name, emailProtection), with
 * a fresh key unless `key` is given.
 */
export async function issueDirectCert(
  issuer: KeyAndCert,
  address: string,
  options: { readonly commonName?: string | undefined; readonly key?: KeyObject } = {},
): Promise<KeyAndCert> {
  const key = options.key ?? (await generateKey());
  const cert = parseCertificate(
    issueCertificate({
      subject: { commonName: options.commonName ?? address },
      issuer,
      key,
      email: [address],
    }),
  );
  return { key, cert };
}

/**
 * A test PKI made with the real current time: one anchor (a self-signed CA), a TLS server
 * certificate and one Direct certificate per practice under it, with anchor.pem, tls.pem and
 * tls.key written to `dir`. Keys are generated in parallel.
 */
export async function createPracticePki<const T extends readonly PracticeSpec[]>(
  dir: string,
  options: PracticePkiOptions<T>,
): Promise<PracticePki<T>> {
  const [rootKey, tlsKey, ...practiceKeys] = await Promise.all([
    generateKey(),
    generateKey(),
    ...options.practices.map(() => generateKey()),
  ]);
  const anchor = parseCertificate(
    issueCertificate({ subject: { commonName: options.anchorName }, key: rootKey, ca: true }),
  );
  const issuer = { cert: anchor, key: rootKey };
  const tlsNames = options.tls ?? { commonName: 'localhost', dnsNames: ['localhost'] };
  const tlsCert = parseCertificate(
    issueCertificate({
      subject: { commonName: tlsNames.commonName },
      issuer,
      key: tlsKey,
      dnsNames: tlsNames.dnsNames,
      purpose: 'tls-server',
    }),
  );
  const practices = await Promise.all(
    options.practices.map(async (spec, index) => {
      const key = practiceKeys[index];
      if (key === undefined) throw new Error(`no key generated for ${spec.address}`);
      const credentials = await issueDirectCert(issuer, spec.address, {
        key,
        commonName: spec.commonName,
      });
      return { ...spec, ...credentials };
    }),
  );
  const pem = {
    key: tlsKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    cert: tlsCert.x509.toString(),
  };
  const files = {
    anchor: join(dir, 'anchor.pem'),
    tlsCert: join(dir, 'tls.pem'),
    tlsKey: join(dir, 'tls.key'),
  };
  await writeFile(files.anchor, anchor.x509.toString());
  await writeFile(files.tlsCert, pem.cert);
  await writeFile(files.tlsKey, pem.key, { mode: 0o600 });
  return {
    anchor,
    issuer,
    tls: { key: tlsKey, cert: tlsCert, pem },
    // The same practices in the same order, each with its credentials: the tuple type holds.
    practices: practices as unknown as WithCredentials<T>,
    files,
  };
}

/** Our DNS responder on loopback (a port chosen at run time) serving `zones`. */
export function startLoopbackDns(
  zones: readonly HostedZone[],
  logger: Logger = createSilentLogger(),
): Promise<DnsResponder> {
  return startDnsResponder({ host: LOOPBACK, port: 0, logger, zones });
}

/** The master key source of the vault profile in `dir`, unlocked with `passphrase`. */
export function practiceKeySource(dir: string, passphrase: string): MasterKeySource {
  return vaultMasterKeySource({ file: join(dir, VAULT_FILE), passphrase: Buffer.from(passphrase) });
}

export interface PracticeProfileOptions {
  /** The vault passphrase. */
  readonly passphrase: string;
  /** The practice's Direct key and certificate, imported as its identity. */
  readonly identity: KeyAndCert;
  /** Trusted for `domain` in both directions. */
  readonly anchor: ParsedCertificate;
  readonly domain: string;
}

/** An open practice profile with its identity and trust stores. */
export interface PracticeProfile {
  readonly profile: Profile;
  readonly identities: IdentityStore;
  readonly trust: TrustStore;
}

/**
 * A new vault profile in `dir` holding the practice's identity and trusting the anchor for
 * its domain (inbound and outbound). It stays open: the caller closes `profile`.
 */
export async function initPracticeProfile(
  dir: string,
  options: PracticeProfileOptions,
): Promise<PracticeProfile> {
  const profile = await initProfile(dir, {
    keySource: practiceKeySource(dir, options.passphrase),
  });
  try {
    const identities = new IdentityStore(profile);
    await identities.import({ key: options.identity.key, cert: options.identity.cert });
    const trust = TrustStore.forProfile(profile);
    trust.addAnchors([options.anchor], { domain: options.domain, direction: 'both' });
    return { profile, identities, trust };
  } catch (error) {
    profile.close();
    throw error;
  }
}

/**
 * One profile per practice of `pki`, at `<root>/<practice name>`, all with `passphrase`, and
 * closed again: ready for `sealpost serve --profile`.
 */
export async function initPracticeProfiles(
  root: string,
  pki: PracticePki,
  passphrase: string,
): Promise<void> {
  for (const practice of pki.practices) {
    const { profile } = await initPracticeProfile(join(root, practice.name), {
      passphrase,
      identity: practice,
      anchor: pki.anchor,
      domain: practice.domain,
    });
    profile.close();
  }
}

export interface PracticeAgentOptions extends PracticeProfileOptions {
  /** The DNS server recipient discovery asks (ours, on loopback). */
  readonly dnsPort: number;
  readonly logger: Logger;
  /** The mail store's clock (default: the real time). */
  readonly now?: () => Date;
}

/** A practice running in process: its profile, mail store, recipient checks and mail agent. */
export interface PracticeAgent extends PracticeProfile {
  readonly store: MailStore;
  readonly recipients: RecipientService;
  readonly agent: MailAgent;
}

/**
 * A practice in process, as `serve` builds one: a new profile (initPracticeProfile), its
 * mail store, recipient discovery through the DNS server on loopback `dnsPort` with the
 * profile's outbound anchors (revocation off: the test PKI publishes none), and the mail
 * agent over them. The caller closes `profile`.
 */
export async function createPracticeAgent(
  dir: string,
  options: PracticeAgentOptions,
): Promise<PracticeAgent> {
  const { profile, identities, trust } = await initPracticeProfile(dir, options);
  const { logger } = options;
  const store = new MailStore(profile, options.now === undefined ? {} : { now: options.now });
  const recipients = new RecipientService({
    anchors: (domain) => trust.anchorsFor(domain, 'outbound'),
    dnsServers: [{ host: LOOPBACK, port: options.dnsPort }],
    revocation: 'off',
    logger,
  });
  const agent = new MailAgent({ store, identities, trust, recipients, revocation: 'off', logger });
  return { profile, identities, trust, store, recipients, agent };
}

/**
 * A relay worker for `store` that hands every message to the smarthost on loopback `port`
 * over STARTTLS, trusting only `anchor` for its certificate (issued to `localhost`).
 */
export function smarthostRelay(
  store: MailStore,
  port: number,
  anchor: ParsedCertificate,
  logger: Logger,
): RelayWorker {
  return new RelayWorker({
    store,
    target: () => ({
      kind: 'smarthost',
      host: LOOPBACK,
      port,
      secure: 'starttls',
      tls: { ca: [anchor.x509.toString()], servername: 'localhost' },
    }),
    logger,
  });
}

/** Inbound SMTP (STARTTLS, 8 MiB at most) on loopback, a port chosen at run time, for `domain`'s mail. */
export function startLoopbackInbound(
  domain: string,
  tls: InboundSmtpOptions['tls'],
  accept: InboundSmtpOptions['accept'],
  logger: Logger,
): Promise<RunningSmtp> {
  return startInboundSmtp({
    host: LOOPBACK,
    port: 0,
    tls,
    maxBytes: 8 << 20,
    localDomains: [domain],
    logger,
    accept,
  });
}

/** Where a running `sealpost serve` bridge listens, and its bearer token (bridge.json). */
export interface BridgeInfo {
  readonly url: string;
  readonly token: string;
}

/** Anything that holds a running bridge (a test's served practice). */
export interface HasBridge {
  readonly bridge: BridgeInfo;
}

/** bridge.json as `sealpost serve` (or `demo`, per practice) writes it: the bridge and its process. */
export interface BridgeFile extends BridgeInfo {
  readonly pid: number;
}

/** The bridge.json in `profileDir`, if it is there. */
export function readBridgeFile(profileDir: string): Promise<BridgeFile | undefined> {
  return readFile(join(profileDir, BRIDGE_FILE), 'utf8').then(
    (text) => JSON.parse(text) as BridgeFile,
    () => undefined,
  );
}

/**
 * The bridge.json that `sealpost serve --profile profileDir` writes once its bridge listens,
 * polled until it is there; undefined once `stopped()` says the process ended, or after
 * `timeoutMs` (default 20 s).
 */
export async function waitForBridgeFile(
  profileDir: string,
  stopped: () => boolean,
  timeoutMs = 20_000,
): Promise<BridgeFile | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (!stopped() && Date.now() < deadline) {
    const bridge = await readBridgeFile(profileDir);
    if (bridge !== undefined) return bridge;
    await sleep(20);
  }
  return undefined;
}

/** A bridge HTTP call's answer, as it comes over the wire. */
export interface BridgeAnswer {
  readonly ok: boolean;
  readonly result?: unknown;
  readonly error?: { readonly code: string; readonly message: string };
}

/** One bridge HTTP call (`POST /api/call/<method>` with the bearer token), its answer as is. */
export async function bridgeCall(
  served: HasBridge,
  method: string,
  params: unknown,
): Promise<BridgeAnswer> {
  const response = await fetch(new URL(`/api/call/${method}`, served.bridge.url), {
    method: 'POST',
    headers: {
      authorization: `Bearer ${served.bridge.token}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify(params),
  });
  return (await response.json()) as BridgeAnswer;
}

/** A bridge HTTP call's result; an error answer (or none) throws, naming the method. */
export async function bridgeResult<T>(
  served: HasBridge,
  method: string,
  params: unknown,
): Promise<T> {
  const answer = await bridgeCall(served, method, params);
  if (!answer.ok || answer.result === undefined) {
    throw new Error(`${method}: ${JSON.stringify(answer.error)}`);
  }
  return answer.result as T;
}

/** A bridge HTTP call's error; an answer that succeeded throws, naming the method. */
export async function bridgeError(
  served: HasBridge,
  method: string,
  params: unknown,
): Promise<{ readonly code: string; readonly message: string }> {
  const answer = await bridgeCall(served, method, params);
  if (answer.ok || answer.error === undefined) {
    throw new Error(`${method} succeeded: ${JSON.stringify(answer.result)}`);
  }
  return answer.error;
}

/**
 * A mail window's connection to a running bridge: its WebSocket (the wire protocol and the
 * bearer token as subprotocols, the bridge's own origin, as the UI opens it), once open.
 */
export async function openMailWindow(
  served: HasBridge,
  /** Attach event listeners here: the HISP sends `status` (and any alert that holds) at once. */
  listen: (client: HispClient) => void = () => undefined,
): Promise<HispClient> {
  const url = new URL(served.bridge.url);
  const socket = new WebSocket(
    `ws://${url.host}/api/ws`,
    [WIRE_PROTOCOL, BEARER_PROTOCOL_PREFIX + served.bridge.token],
    { headers: { origin: url.origin } },
  );
  const client = new HispClient(new WebSocketTransport(socket), { timeoutMs: 20_000 });
  listen(client);
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  return client;
}

/**
 * Poll `probe` every 100 ms until it gives a value; after `timeoutMs` (default 30 s) throw
 * an error naming `what`, with `log()` (the tail of the processes' output) appended.
 */
export async function pollUntil<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  log: () => string,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${log()}`);
    await sleep(100);
  }
}
