/**
 * Certificate discovery over DNS CERT records (RFC 4398), the DCDT behaviour (DESIGN.md §4):
 * CERT records for the address (the local part and the domain, the '@' turned into '.'),
 * then for the domain. PKIX records carry a DER certificate, IPKIX records a URL that is
 * fetched (http/https only) through the injected Fetcher.
 *
 * Transport: UDP with EDNS0 (advertising DNS_LIMITS.ednsUdpSize), TCP when the answer comes
 * back truncated (TC), a timeout per attempt, retries per server, the next server when one
 * fails. Only when every server failed is the lookup a HispError DNS_FAILED; NXDOMAIN and
 * NOERROR without data simply mean "no candidates".
 *
 * The answers come from the network, so nothing in them is trusted: the response id and
 * question must match the query, a record whose owner or type does not belong to the
 * question (or the CNAME chain it starts) is never used (risk-2), and every size is bounded
 * (DNS_LIMITS). A bad record becomes a problem, never an exception. Selection, trust and
 * policy are not decided here: every certificate found is returned as a candidate with
 * where it came from (risk-9: a certificate from DNS is only a candidate).
 */
import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';

import * as dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, Packet, StringAnswer } from 'dns-packet';

import { AGENT_LIMITS } from '../../agent/limits.js';
import { HispError, type Reason } from '../../api/errors.js';
import type { Logger } from '../../log/logger.js';
import { normalizeDomain, parseCertificate, readCertificates } from '../certificate.js';
import type { Fetcher } from '../fetch.js';

/** Bounds of the DNS CERT client (risk-16: parsers bounded). */
export const DNS_LIMITS = {
  /** Time for one attempt (one UDP query and its TCP retry) at one server, in milliseconds. */
  timeoutMs: 2000,
  /** Extra attempts at the same server after a timeout before moving to the next one. */
  retries: 1,
  /** UDP payload size advertised in the EDNS0 OPT record (RFC 6891). */
  ednsUdpSize: 4096,
  /** DNS servers tried for one lookup (the configured list is cut to this). */
  servers: 8,
  /** Answer records considered in one response; more are ignored and reported. */
  answers: 32,
  /** One CERT record's rdata. A certificate with a long chain of extensions is ~2 KiB;
   * 16 KiB is far above any real end-entity certificate. */
  certRdataBytes: 16 * 1024,
  /** An IPKIX URL, in bytes. */
  urlBytes: 2048,
  /** Certificate bytes (DNS rdata plus IPKIX fetches) accepted in one discovery. */
  totalBytes: 2 * 1024 * 1024,
  /** CNAMEs followed from one name (in one answer and across queries together). */
  cnameDepth: 8,
  /** IPKIX URLs fetched in one discovery. */
  ipkixFetches: 8,
  /** One IPKIX fetch's body (DER, PEM or PKCS#7). */
  fetchedCertificateBytes: AGENT_LIMITS.fetchedCertificateBytes,
} as const;

export interface DnsResolverConfig {
  readonly servers: readonly { host: string; port: number }[];
  /** Per attempt at one server. Default DNS_LIMITS.timeoutMs. */
  readonly timeoutMs?: number;
  /** Extra attempts per server. Default DNS_LIMITS.retries. */
  readonly retries?: number;
  /** EDNS0 UDP payload size advertised; 0 = no EDNS (512-byte UDP answers). Default
   * DNS_LIMITS.ednsUdpSize. Tests use a small value to force truncation and the TCP retry. */
  readonly ednsUdpSize?: number;
}

export interface DnsCandidate {
  readonly der: Buffer;
  readonly source: 'dns';
  /** The DNS name the record was published at (after CNAMEs), no trailing dot. */
  readonly owner: string;
  readonly bound: 'address' | 'domain';
  readonly via: 'PKIX' | 'IPKIX';
  readonly url?: string;
  /** The record's TTL in seconds (how long a cache may keep it). */
  readonly ttl: number;
}

export interface DnsDiscovery {
  readonly candidates: readonly DnsCandidate[];
  /** Non-fatal: a bad record, an IPKIX URL that failed, ... */
  readonly problems: readonly Reason[];
}

export interface DiscoverDnsOptions {
  readonly resolver: DnsResolverConfig;
  readonly fetcher?: Fetcher;
  readonly logger: Logger;
}

/** RFC 4398 §2.1 certificate types. */
export const CERT_TYPE = { PKIX: 1, SPKI: 2, PGP: 3, IPKIX: 4, ISPKI: 5, IPGP: 6 } as const;
const CERT_TYPE_NAMES = new Map<number, string>([
  [1, 'PKIX'],
  [2, 'SPKI'],
  [3, 'PGP'],
  [4, 'IPKIX'],
  [5, 'ISPKI'],
  [6, 'IPGP'],
  [7, 'ACPKIX'],
  [8, 'IACPKIX'],
  [253, 'URI'],
  [254, 'OID'],
]);

// ── Pure parts ───────────────────────────────────────────────────────────────────────────

export interface CertRdata {
  readonly certType: number;
  readonly keyTag: number;
  readonly algorithm: number;
  /** DER for PKIX, URL octets for IPKIX. */
  readonly data: Buffer;
}

/** CERT rdata: type(2) keytag(2) algorithm(1) then data. Throws CERT_MALFORMED / LIMIT_EXCEEDED. */
export function parseCertRdata(rdata: Uint8Array): CertRdata {
  if (rdata.byteLength > DNS_LIMITS.certRdataBytes) {
    throw new HispError(
      'LIMIT_EXCEEDED',
      `A CERT record of ${rdata.byteLength} bytes is larger than accepted (${DNS_LIMITS.certRdataBytes}).`,
    );
  }
  if (rdata.byteLength < 5) {
    throw new HispError(
      'CERT_MALFORMED',
      `A CERT record of ${rdata.byteLength} bytes is too short (type, key tag and algorithm need 5).`,
    );
  }
  const buf = Buffer.from(rdata.buffer, rdata.byteOffset, rdata.byteLength);
  const data = Buffer.from(buf.subarray(5));
  if (data.length === 0) throw new HispError('CERT_MALFORMED', 'A CERT record holds no data.');
  return {
    certType: buf.readUInt16BE(0),
    keyTag: buf.readUInt16BE(2),
    algorithm: buf.readUInt8(4),
    data,
  };
}

export function certTypeName(certType: number): string {
  return CERT_TYPE_NAMES.get(certType) ?? `type ${certType}`;
}

export interface DnsNames {
  /** local part + '.' + domain (DCDT), or undefined when the local part cannot be a DNS name. */
  readonly address: string | undefined;
  readonly domain: string;
  /** Why `address` is undefined. */
  readonly problem?: Reason;
}

const MAX_LABEL_BYTES = 63;
/** Wire length of a name, length octets and root label included (RFC 1035 §2.3.4). */
const MAX_NAME_BYTES = 255;

function labelsProblem(labels: readonly string[]): string | undefined {
  let wire = 1;
  for (const label of labels) {
    const bytes = Buffer.byteLength(label, 'utf8');
    if (bytes === 0) return 'it has an empty label';
    if (bytes > MAX_LABEL_BYTES) return `a label is longer than ${MAX_LABEL_BYTES} bytes`;
    wire += bytes + 1;
  }
  if (wire > MAX_NAME_BYTES) return `the name is longer than ${MAX_NAME_BYTES} bytes`;
  return undefined;
}

/**
 * The DNS names to look up for a Direct address: the domain lowercased (IDNA), the local
 * part as written (a quoted local part unquoted). A '.' in the local part separates labels
 * (DCDT); any other byte ('+', a space, ...) stays inside its label. Throws BAD_REQUEST when
 * the address or its domain is not usable.
 */
export function dnsNamesFor(address: string): DnsNames {
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1) {
    throw new HispError('BAD_REQUEST', 'The address is not of the form local-part@domain.');
  }
  const domain = normalizeDomain(address.slice(at + 1));
  const domainProblem = domain === undefined ? 'it is empty' : labelsProblem(domain.split('.'));
  if (domain === undefined || domainProblem !== undefined) {
    throw new HispError(
      'BAD_REQUEST',
      `The address's domain is not a usable DNS name (${domainProblem ?? 'it is empty'}).`,
    );
  }
  let local = address.slice(0, at);
  if (local.length >= 2 && local.startsWith('"') && local.endsWith('"')) {
    local = local.slice(1, -1).replace(/\\(.)/g, '$1');
  }
  const localProblem = labelsProblem([...local.split('.'), ...domain.split('.')]);
  if (localProblem !== undefined) {
    return {
      address: undefined,
      domain,
      problem: {
        code: 'DNS_FAILED',
        message: `The address's local part cannot be looked up in DNS (${localProblem}); only the domain is.`,
      },
    };
  }
  return { address: `${local}.${domain}`, domain };
}

/** A DNS name folded for comparison: ASCII case only (RFC 4343), no trailing dot. */
function foldDnsName(name: string): string {
  return name.replace(/\.$/, '').replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/** DNS names compare case-insensitively in ASCII only (RFC 4343). */
export function sameDnsName(a: string, b: string): boolean {
  return foldDnsName(a) === foldDnsName(b);
}

// ── Transport ────────────────────────────────────────────────────────────────────────────

type Response = DecodedPacket & { rcode?: string };

interface Server {
  readonly host: string;
  readonly port: number;
}

function serverName(server: Server): string {
  return server.host.includes(':')
    ? `[${server.host}]:${server.port}`
    : `${server.host}:${server.port}`;
}

function buildQuery(name: string, ednsUdpSize: number): Packet & { id: number } {
  return {
    type: 'query',
    id: randomInt(0, 0x10000),
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: 'CERT', name, class: 'IN' }],
    ...(ednsUdpSize > 0
      ? {
          additionals: [
            {
              type: 'OPT',
              name: '.',
              udpPayloadSize: ednsUdpSize,
              extendedRcode: 0,
              ednsVersion: 0,
              flags: 0,
              flag_do: false,
              options: [],
            },
          ],
        }
      : {}),
  };
}

/** Why a response cannot be the answer to `query`, or undefined when it can. */
function mismatch(
  response: Response,
  query: Packet & { id: number },
  name: string,
): string | undefined {
  if (response.id !== query.id) return 'the response id does not match the query';
  if (!response.flag_qr) return 'the packet is not a response';
  const questions = response.questions ?? [];
  const question = questions[0];
  if (
    questions.length !== 1 ||
    question === undefined ||
    question.type !== 'CERT' ||
    (question.class ?? 'IN') !== 'IN' ||
    !sameDnsName(question.name, name)
  ) {
    return 'the response question does not match the query';
  }
  return undefined;
}

function decodeResponse(buf: Buffer): Response | undefined {
  try {
    const packet: Response = dnsPacket.decode(buf);
    return packet;
  } catch {
    return undefined;
  }
}

function queryUdp(
  server: Server,
  query: Packet & { id: number },
  name: string,
  timeoutMs: number,
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(server.host.includes(':') ? 'udp6' : 'udp4');
    let done = false;
    const finish = (error: Error | undefined, response?: Response): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.close();
      if (error !== undefined) reject(error);
      else if (response !== undefined) resolve(response);
    };
    const timer = setTimeout(
      () => finish(new Error(`no UDP answer after ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.on('error', (error) => finish(error));
    socket.on('message', (msg) => {
      // A connected socket only hears its server; a packet that does not decode or does not
      // answer this query is ignored (it may be spoofed) and the wait goes on.
      const response = decodeResponse(msg);
      if (response === undefined || mismatch(response, query, name) !== undefined) return;
      finish(undefined, response);
    });
    socket.connect(server.port, server.host, () => {
      socket.send(dnsPacket.encode(query), (error) => {
        if (error) finish(error);
      });
    });
  });
}

function queryTcp(
  server: Server,
  query: Packet & { id: number },
  name: string,
  timeoutMs: number,
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: server.host, port: server.port });
    let buffered = Buffer.alloc(0);
    let done = false;
    const finish = (error: Error | undefined, response?: Response): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (error !== undefined) reject(error);
      else if (response !== undefined) resolve(response);
    };
    const timer = setTimeout(
      () => finish(new Error(`no TCP answer after ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.on('error', (error) => finish(error));
    socket.on('connect', () => socket.write(dnsPacket.streamEncode(query)));
    socket.on('data', (chunk: Buffer) => {
      // The 2-byte length prefix bounds a message to 65535 bytes (RFC 1035 §4.2.2).
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < 2) return;
      const length = buffered.readUInt16BE(0);
      if (buffered.length < 2 + length) return;
      const response = decodeResponse(buffered.subarray(2, 2 + length));
      if (response === undefined) {
        finish(new Error('the TCP answer could not be decoded'));
        return;
      }
      const why = mismatch(response, query, name);
      finish(why === undefined ? undefined : new Error(why), response);
    });
    socket.on('end', () => finish(new Error('the TCP connection closed before a full answer')));
  });
}

interface ResolverSettings {
  readonly servers: readonly Server[];
  readonly timeoutMs: number;
  readonly retries: number;
  readonly ednsUdpSize: number;
}

function settingsOf(config: DnsResolverConfig): ResolverSettings {
  const servers = config.servers.slice(0, DNS_LIMITS.servers);
  if (servers.length === 0) {
    throw new HispError('DNS_FAILED', 'No DNS server is configured for certificate discovery.');
  }
  const timeoutMs = config.timeoutMs ?? DNS_LIMITS.timeoutMs;
  const retries = config.retries ?? DNS_LIMITS.retries;
  const ednsUdpSize = config.ednsUdpSize ?? DNS_LIMITS.ednsUdpSize;
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0) {
    throw new HispError(
      'BAD_REQUEST',
      'The DNS timeout must be a positive number of milliseconds.',
    );
  }
  if (!Number.isSafeInteger(retries) || retries < 0 || retries > 10) {
    throw new HispError('BAD_REQUEST', 'DNS retries must be an integer from 0 to 10.');
  }
  if (!Number.isSafeInteger(ednsUdpSize) || ednsUdpSize < 0 || ednsUdpSize > 0xffff) {
    throw new HispError('BAD_REQUEST', 'The EDNS UDP size must be an integer from 0 to 65535.');
  }
  return { servers, timeoutMs, retries, ednsUdpSize };
}

/** Rcodes that answer the question (NXDOMAIN and NOERROR-no-data = nothing there). */
const ANSWERING_RCODES = new Set(['NOERROR', 'NXDOMAIN']);

/** Ask the servers in order for CERT records at `name`; DNS_FAILED when none answers. */
async function lookup(name: string, settings: ResolverSettings, logger: Logger): Promise<Response> {
  const failures: string[] = [];
  for (const server of settings.servers) {
    for (let attempt = 0; attempt <= settings.retries; attempt++) {
      const query = buildQuery(name, settings.ednsUdpSize);
      let response: Response;
      try {
        response = await queryUdp(server, query, name, settings.timeoutMs);
        if (response.flag_tc) {
          logger.debug('truncated over UDP; retrying over TCP', { server: serverName(server) });
          response = await queryTcp(server, query, name, settings.timeoutMs);
        }
      } catch (error) {
        const why = error instanceof Error ? error.message : String(error);
        logger.debug('DNS attempt failed', { server: serverName(server), attempt, why });
        failures.push(`${serverName(server)}: ${why}`);
        // A refused connection will not change on a retry: go to the next server.
        if ((error as NodeJS.ErrnoException).code === 'ECONNREFUSED') break;
        continue;
      }
      const rcode = response.rcode ?? 'NOERROR';
      if (ANSWERING_RCODES.has(rcode)) return response;
      failures.push(`${serverName(server)}: ${rcode}`);
      break; // SERVFAIL, REFUSED, ...: the next server may know
    }
  }
  throw new HispError(
    'DNS_FAILED',
    `The DNS lookup for certificates failed at every server (${settings.servers
      .map(serverName)
      .join(', ')}): ${failures.slice(0, DNS_LIMITS.servers * 2).join('; ')}.`,
  );
}

// ── Discovery ────────────────────────────────────────────────────────────────────────────

interface Budget {
  bytes: number;
  fetches: number;
}

interface NameContext {
  readonly bound: 'address' | 'domain';
  readonly settings: ResolverSettings;
  readonly fetcher: Fetcher | undefined;
  readonly logger: Logger;
  readonly budget: Budget;
  readonly candidates: DnsCandidate[];
  readonly problems: Reason[];
}

function problemOf(error: unknown, fallback: Reason['code'], context: string): Reason {
  if (error instanceof HispError)
    return { code: error.code, message: `${context}: ${error.message}` };
  return { code: fallback, message: context };
}

function spend(ctx: NameContext, bytes: number, owner: string): boolean {
  if (ctx.budget.bytes + bytes > DNS_LIMITS.totalBytes) {
    ctx.problems.push({
      code: 'LIMIT_EXCEEDED',
      message: `A certificate at ${owner} was skipped: the certificates found by DNS exceed ${DNS_LIMITS.totalBytes} bytes.`,
    });
    return false;
  }
  ctx.budget.bytes += bytes;
  return true;
}

function urlHost(url: URL): string {
  return url.host || 'an invalid URL';
}

async function ipkixCandidates(
  ctx: NameContext,
  owner: string,
  data: Buffer,
  ttl: number,
): Promise<void> {
  if (data.length > DNS_LIMITS.urlBytes) {
    ctx.problems.push({
      code: 'LIMIT_EXCEEDED',
      message: `An IPKIX record at ${owner} holds a URL longer than ${DNS_LIMITS.urlBytes} bytes.`,
    });
    return;
  }
  const text = data.toString('utf8');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    ctx.problems.push({
      code: 'CERT_MALFORMED',
      message: `An IPKIX record at ${owner} does not hold a valid URL.`,
    });
    return;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    ctx.problems.push({
      code: 'FETCH_FAILED',
      message: `An IPKIX record at ${owner} points to a ${url.protocol.replace(/:$/, '')} URL; only http and https are fetched.`,
    });
    return;
  }
  if (ctx.fetcher === undefined) {
    ctx.problems.push({
      code: 'FETCH_FAILED',
      message: `The certificate at ${urlHost(url)} named by the IPKIX record at ${owner} was not fetched (offline).`,
    });
    return;
  }
  if (ctx.budget.fetches >= DNS_LIMITS.ipkixFetches) {
    ctx.problems.push({
      code: 'LIMIT_EXCEEDED',
      message: `The IPKIX record at ${owner} was not fetched: more than ${DNS_LIMITS.ipkixFetches} IPKIX URLs.`,
    });
    return;
  }
  ctx.budget.fetches += 1;
  let body: Buffer;
  try {
    body = await ctx.fetcher.get(url.href, { maxBytes: DNS_LIMITS.fetchedCertificateBytes });
  } catch (error) {
    ctx.problems.push(
      problemOf(error, 'FETCH_FAILED', `The IPKIX certificate for ${owner} from ${urlHost(url)}`),
    );
    return;
  }
  try {
    const certs = readCertificates(body);
    if (certs.length === 0) throw new HispError('CERT_MALFORMED', 'no certificate in the body');
    for (const cert of certs) {
      if (!spend(ctx, cert.der.length, owner)) return;
      ctx.candidates.push({
        der: Buffer.from(cert.der),
        source: 'dns',
        owner,
        bound: ctx.bound,
        via: 'IPKIX',
        url: url.href,
        ttl,
      });
    }
  } catch (error) {
    ctx.problems.push(
      problemOf(error, 'CERT_MALFORMED', `The IPKIX body for ${owner} from ${urlHost(url)}`),
    );
  }
}

async function recordCandidates(
  ctx: NameContext,
  owner: string,
  rdata: unknown,
  ttl: number,
): Promise<void> {
  if (!Buffer.isBuffer(rdata)) {
    ctx.problems.push({
      code: 'CERT_MALFORMED',
      message: `A CERT record at ${owner} has no data.`,
    });
    return;
  }
  let record: CertRdata;
  try {
    record = parseCertRdata(rdata);
  } catch (error) {
    ctx.problems.push(problemOf(error, 'CERT_MALFORMED', `A CERT record at ${owner}`));
    return;
  }
  if (record.certType === CERT_TYPE.PKIX) {
    try {
      parseCertificate(record.data);
    } catch (error) {
      ctx.problems.push({
        code: 'CERT_MALFORMED',
        message: `The PKIX record at ${owner} does not hold an X.509 certificate${
          error instanceof HispError ? ` (${error.message})` : ''
        }.`,
      });
      return;
    }
    if (!spend(ctx, record.data.length, owner)) return;
    ctx.candidates.push({
      der: record.data,
      source: 'dns',
      owner,
      bound: ctx.bound,
      via: 'PKIX',
      ttl,
    });
    return;
  }
  if (record.certType === CERT_TYPE.IPKIX) {
    await ipkixCandidates(ctx, owner, record.data, ttl);
    return;
  }
  ctx.problems.push({
    code: 'CERT_MALFORMED',
    message: `A CERT record at ${owner} of ${certTypeName(record.certType)} was skipped (only PKIX and IPKIX are used).`,
  });
}

function trimDot(name: string): string {
  return name.replace(/\.$/, '');
}

/** Look up `name`, follow CNAMEs (in the answer or by a new query), collect CERT records. */
async function discoverName(ctx: NameContext, name: string): Promise<void> {
  let current = name;
  const visited = new Set<string>([foldDnsName(current)]);
  let depth = 0;
  for (;;) {
    const response = await lookup(current, ctx.settings, ctx.logger);
    let answers: readonly Answer[] = response.answers ?? [];
    if (answers.length > DNS_LIMITS.answers) {
      ctx.problems.push({
        code: 'LIMIT_EXCEEDED',
        message: `The DNS answer for ${current} had ${answers.length} records; only the first ${DNS_LIMITS.answers} were read.`,
      });
      answers = answers.slice(0, DNS_LIMITS.answers);
    }
    // Walk the CNAME chain inside this answer: each step only from the current owner.
    for (;;) {
      const cname = answers.find(
        (a): a is StringAnswer => a.type === 'CNAME' && sameDnsName(a.name, current),
      );
      if (cname === undefined || typeof cname.data !== 'string') break;
      const target = trimDot(cname.data);
      if (visited.has(foldDnsName(target))) {
        ctx.problems.push({
          code: 'DNS_FAILED',
          message: `The CNAME chain from ${name} loops; it was not followed.`,
        });
        return;
      }
      if (++depth > DNS_LIMITS.cnameDepth) {
        ctx.problems.push({
          code: 'LIMIT_EXCEEDED',
          message: `The CNAME chain from ${name} is longer than ${DNS_LIMITS.cnameDepth}; it was not followed.`,
        });
        return;
      }
      visited.add(foldDnsName(target));
      current = target;
    }
    let certs = 0;
    for (const answer of answers) {
      const belongs = visited.has(foldDnsName(answer.name));
      if (answer.type === 'CERT' && sameDnsName(answer.name, current)) {
        if ((answer.class ?? 'IN') !== 'IN') continue;
        certs++;
        await recordCandidates(ctx, trimDot(current), answer.data, answer.ttl ?? 0);
      } else if (answer.type === 'CNAME' && belongs) {
        continue;
      } else if (answer.type !== 'RRSIG') {
        // A record for another name or of another type is never used (risk-2).
        ctx.logger.warn('ignored a DNS record that does not answer the question', {
          type: answer.type,
        });
        ctx.problems.push({
          code: 'DNS_FAILED',
          message: `The DNS answer for ${current} held a ${answer.type} record for ${trimDot(answer.name)}; it was ignored.`,
        });
      }
    }
    const chainEndedOutside =
      certs === 0 &&
      !sameDnsName(current, name) &&
      response.rcode !== 'NXDOMAIN' &&
      !answers.some((a) => sameDnsName(a.name, current));
    const askedAlready = sameDnsName(response.questions?.[0]?.name ?? '', current);
    if (!chainEndedOutside || askedAlready) return;
    // The CNAME target's records were not in the answer: ask for the target itself.
  }
}

/**
 * CERT records for the address (local part + '.' + domain, per DCDT: the '@' becomes '.'),
 * then for the domain. Both are looked up; address-bound candidates first. Throws
 * DNS_FAILED only when the DNS servers could not be asked (every server failed), BAD_REQUEST
 * for an address that is not local@domain; everything else is a problem.
 */
export async function discoverDns(
  address: string,
  options: DiscoverDnsOptions,
): Promise<DnsDiscovery> {
  const names = dnsNamesFor(address);
  const settings = settingsOf(options.resolver);
  const logger = options.logger.child({ component: 'certs.discovery.dns' });
  const budget: Budget = { bytes: 0, fetches: 0 };
  const candidates: DnsCandidate[] = [];
  const problems: Reason[] = names.problem === undefined ? [] : [names.problem];
  const base = { settings, fetcher: options.fetcher, logger, budget, candidates, problems };
  if (names.address !== undefined) {
    await discoverName({ ...base, bound: 'address' }, names.address);
  }
  await discoverName({ ...base, bound: 'domain' }, names.domain);
  logger.info('DNS certificate discovery', {
    domain: names.domain,
    candidates: candidates.length,
    problems: problems.length,
  });
  return { candidates, problems };
}
