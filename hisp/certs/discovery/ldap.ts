/**
 * LDAP certificate discovery (DESIGN.md §4, the DCDT behaviour): locate the recipient
 * domain's directories with the `_ldap._tcp.<domain>` SRV record (priority ascending, RFC 2782
 * weighted random order within a priority), bind anonymously to the first server that can be
 * reached, take the base DNs from the rootDSE `namingContexts`, search `mail=<address>` and
 * read `userCertificate;binary` (and plain `userCertificate`).
 *
 * The address is searched first; when no entry for it holds a certificate value, the bare
 * domain (`mail=<domain>`) is searched next on the same server, for a domain-bound
 * certificate (DCDT D4/D8). Selection, trust and policy are not done here: every certificate
 * that parses is returned with the server, DN and search it came from (the binding is
 * decided later from the certificate itself); the ones that do not parse become problems.
 */
import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';

import { Client, ResultCodeError, SizeLimitExceededError } from 'ldapts';
import type { Entry } from 'ldapts';

import { HispError, type Reason } from '../../api/errors.js';
import type { Logger } from '../../log/logger.js';
import { normalizeDomain, parseCertificate } from '../certificate.js';

/** Bounds of LDAP discovery (risk-16): a hostile DNS zone or directory cannot make us loop,
 * wait or allocate without end. Exceeding one is LIMIT_EXCEEDED (a problem or an error). */
export const LDAP_LIMITS = {
  /** Longest address searched (RFC 5321: 64 local + @ + 255 domain). */
  addressLength: 320,
  /** SRV targets tried for one domain; more records than this are ignored (after ordering). */
  srvTargets: 10,
  /** Default time for the TCP connect and for each LDAP operation, in milliseconds. */
  timeoutMs: 5_000,
  /** Time limit sent with each search, in seconds (the server enforces it too). */
  searchTimeLimitSeconds: 10,
  /** Entries returned by one search (sent as the search size limit). */
  searchSizeLimit: 20,
  /** Naming contexts searched on one server (a directory usually has one or two). */
  namingContexts: 8,
  /** Certificate values read in one discovery, all entries together. */
  certificates: 50,
  /** DNS tries per query (Resolver `tries`). */
  dnsTries: 2,
} as const;

export interface LdapDiscoveryOptions {
  readonly dnsServers: readonly { host: string; port: number }[];
  /** Connect timeout and per-operation timeout in milliseconds (default LDAP_LIMITS.timeoutMs). */
  readonly timeoutMs?: number;
  /** Per-try timeout of the SRV and A/AAAA lookups in milliseconds (default `timeoutMs`). */
  readonly dnsTimeoutMs?: number;
  readonly logger: Logger;
  /** tests: skip SRV and use these targets */
  readonly targets?: readonly SrvTarget[];
  /** Random source in [0, 1) for the RFC 2782 weighted order (default Math.random). */
  readonly random?: () => number;
}

export interface SrvTarget {
  readonly host: string;
  readonly port: number;
  readonly priority: number;
  readonly weight: number;
}

export type LdapAttribute = 'userCertificate;binary' | 'userCertificate';

export interface LdapCandidate {
  readonly der: Buffer;
  readonly source: 'ldap';
  /** host:port (the SRV target name, not the resolved address) */
  readonly server: string;
  readonly dn: string;
  readonly attribute: LdapAttribute;
  /** Which search found it: `mail=<address>`, or `mail=<domain>` after the address had none. */
  readonly searched: 'address' | 'domain';
}

export interface LdapDiscovery {
  readonly candidates: readonly LdapCandidate[];
  readonly problems: readonly Reason[];
  /** host:port of every server tried, in order. */
  readonly serversTried: readonly string[];
}

const ATTRIBUTES: readonly LdapAttribute[] = ['userCertificate;binary', 'userCertificate'];

// ── Pure parts ───────────────────────────────────────────────────────────────────────────

/** RFC 4515 §3 escaping of an assertion value: `*`, `(`, `)`, `\` and NUL become `\XX`. */
export function escapeFilterValue(value: string): string {
  let out = '';
  for (const ch of value) {
    switch (ch) {
      case '*':
        out += '\\2a';
        break;
      case '(':
        out += '\\28';
        break;
      case ')':
        out += '\\29';
        break;
      case '\\':
        out += '\\5c';
        break;
      case '\0':
        out += '\\00';
        break;
      default:
        out += ch;
    }
  }
  return out;
}

/**
 * The search filters for an address: strict (only entries holding a certificate) and plain.
 * `(userCertificate=*)` also matches values stored as `userCertificate;binary`: a filter on an
 * attribute type matches its values with any options (RFC 4512 §2.5.2). ldapts cannot write
 * `userCertificate;binary=*` (its filter parser refuses attribute options).
 */
export function ldapFilters(address: string): { strict: string; plain: string } {
  const mail = `(mail=${escapeFilterValue(address)})`;
  return { strict: `(&${mail}(userCertificate=*))`, plain: mail };
}

/**
 * The `mail` values searched, in order: the address, then (only when no entry for the address
 * holds a certificate) its domain, for a domain-bound certificate.
 */
export function ldapMailValues(
  address: string,
): readonly { readonly mail: string; readonly searched: 'address' | 'domain' }[] {
  const split = splitAddress(address);
  return [
    { mail: split.address, searched: 'address' },
    { mail: split.domain, searched: 'domain' },
  ];
}

/**
 * SRV targets in the order to try them: priority ascending; within one priority, RFC 2782
 * weighted random selection. The running-sum pick is drawn from 1..sum, so a weight-0 target
 * is only chosen once every weighted one of its priority has been (RFC 2782 lets it have "a
 * very small chance"; we give it none). Targets "." (no service) are dropped.
 */
export function orderSrvTargets(
  records: readonly SrvTarget[],
  random: () => number = Math.random,
): SrvTarget[] {
  const usable = records.filter((r) => r.host !== '.' && r.host !== '');
  const priorities = [...new Set(usable.map((r) => r.priority))].sort((a, b) => a - b);
  const out: SrvTarget[] = [];
  for (const priority of priorities) {
    // zero-weight records first, as RFC 2782 says, then the others in their given order
    const group = usable.filter((r) => r.priority === priority);
    const pool = [...group.filter((r) => r.weight === 0), ...group.filter((r) => r.weight !== 0)];
    while (pool.length > 0) {
      const sum = pool.reduce((total, r) => total + Math.max(0, r.weight), 0);
      let index = 0;
      if (sum > 0) {
        const draw = Math.min(sum, Math.floor(clampUnit(random()) * sum) + 1);
        let running = 0;
        index = pool.findIndex((r) => {
          running += Math.max(0, r.weight);
          return running >= draw;
        });
        if (index < 0) index = pool.length - 1;
      }
      const [picked] = pool.splice(index, 1);
      if (picked) out.push(picked);
    }
  }
  return out;
}

function clampUnit(value: number): number {
  if (!Number.isFinite(value) || value < 0) return 0;
  return value >= 1 ? 0.999_999_999 : value;
}

/** The address with its domain in lowercase IDNA form, and the domain; BAD_REQUEST for something that is not one. */
export function splitAddress(address: string): { address: string; domain: string } {
  if (typeof address !== 'string' || address.length > LDAP_LIMITS.addressLength) {
    throw new HispError('BAD_REQUEST', 'The address is not an e-mail address or is too long.');
  }
  const at = address.lastIndexOf('@');
  const local = address.slice(0, at);
  const domain = at > 0 ? normalizeDomain(address.slice(at + 1)) : undefined;
  if (at <= 0 || domain === undefined || /[\s\0]/.test(address)) {
    throw new HispError('BAD_REQUEST', 'The address is not an e-mail address.');
  }
  return { address: `${local}@${domain}`, domain };
}

// ── Discovery ────────────────────────────────────────────────────────────────────────────

/** Certificates for `address` from the LDAP directories its domain publishes by SRV. */
export async function discoverLdap(
  address: string,
  options: LdapDiscoveryOptions,
): Promise<LdapDiscovery> {
  const { domain } = splitAddress(address);
  const mailValues = ldapMailValues(address);
  const log = options.logger.child({ component: 'ldap-discovery', domain });
  const timeoutMs = options.timeoutMs ?? LDAP_LIMITS.timeoutMs;
  const resolver = makeResolver(options, options.dnsTimeoutMs ?? timeoutMs);
  const records = options.targets ?? (await lookupSrv(resolver, domain));
  const ordered = orderSrvTargets(records, options.random).slice(0, LDAP_LIMITS.srvTargets);
  if (ordered.length === 0) {
    log.debug('no LDAP server published');
    return { candidates: [], problems: [], serversTried: [] };
  }

  const serversTried: string[] = [];
  const failures: string[] = [];
  for (const target of ordered) {
    const server = `${target.host}:${target.port}`;
    serversTried.push(server);
    try {
      const found = await searchServer(mailValues, target, server, resolver, timeoutMs);
      log.info('LDAP server answered', {
        server,
        searched: found.candidates[0]?.searched ?? 'none',
        certificates: found.candidates.length,
        problems: found.problems.length,
      });
      return { ...found, serversTried };
    } catch (error) {
      const why = errorText(error);
      failures.push(`${server} (${why})`);
      log.warn('LDAP server failed, trying the next one', { server, reason: why });
    }
  }
  throw new HispError(
    'LDAP_FAILED',
    `No LDAP server for ${domain} could be searched: ${failures.join('; ')}.`,
  );
}

function makeResolver(options: LdapDiscoveryOptions, timeoutMs: number): Resolver {
  const resolver = new Resolver({ timeout: timeoutMs, tries: LDAP_LIMITS.dnsTries });
  if (options.dnsServers.length > 0) {
    resolver.setServers(
      options.dnsServers.map(({ host, port }) =>
        isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`,
      ),
    );
  }
  return resolver;
}

const NO_RECORD = new Set(['ENOTFOUND', 'ENODATA']);

async function lookupSrv(resolver: Resolver, domain: string): Promise<SrvTarget[]> {
  const name = `_ldap._tcp.${domain}`;
  try {
    const records = await resolver.resolveSrv(name);
    return records.map((r) => ({
      host: r.name.replace(/\.$/, '') || '.',
      port: r.port,
      priority: r.priority,
      weight: r.weight,
    }));
  } catch (error) {
    if (NO_RECORD.has(errorCode(error))) return [];
    throw new HispError('DNS_FAILED', `The SRV lookup of ${name} failed (${errorText(error)}).`, {
      cause: error,
    });
  }
}

/** The address to connect to for an SRV target: an IP literal, else A, then AAAA, via `resolver`. */
async function resolveHost(resolver: Resolver, host: string): Promise<string> {
  if (isIP(host) === 4) return host;
  if (isIP(host) === 6) return `[${host}]`;
  try {
    const [v4] = await resolver.resolve4(host);
    if (v4 !== undefined) return v4;
  } catch (error) {
    if (!NO_RECORD.has(errorCode(error))) throw error;
  }
  const [v6] = await resolver.resolve6(host);
  if (v6 === undefined) throw new Error(`${host} has no address`);
  return `[${v6}]`;
}

interface ServerResult {
  readonly candidates: LdapCandidate[];
  readonly problems: Reason[];
}

/**
 * Search one server: the address, then (when no entry for it held a certificate value) the
 * domain. Throws when the server cannot be reached or cannot be searched at all.
 */
async function searchServer(
  mailValues: readonly { readonly mail: string; readonly searched: 'address' | 'domain' }[],
  target: SrvTarget,
  server: string,
  resolver: Resolver,
  timeoutMs: number,
): Promise<ServerResult> {
  if (!Number.isInteger(target.port) || target.port < 1 || target.port > 65535) {
    throw new Error(`port ${target.port} is not a TCP port`);
  }
  const ip = await resolveHost(resolver, target.host);
  const client = new Client({
    url: `ldap://${ip}:${target.port}`,
    timeout: timeoutMs,
    connectTimeout: timeoutMs,
  });
  try {
    await client.bind('', '');
    const contexts = await namingContexts(client);
    if (contexts.length === 0) throw new Error('the rootDSE lists no namingContexts');
    const candidates: LdapCandidate[] = [];
    const problems: Reason[] = [];
    for (const { mail, searched } of mailValues) {
      const values = await searchContexts(client, contexts, mail, searched, server, {
        candidates,
        problems,
      });
      // A certificate value for the address (usable or not) ends the search: the domain is
      // only for addresses without one.
      if (values > 0) break;
    }
    return { candidates, problems };
  } finally {
    try {
      await client.unbind();
    } catch {
      // the socket is gone already
    }
  }
}

/** Search every naming context for `mail`; the number of certificate values seen. Throws
 * when no context could be searched. */
async function searchContexts(
  client: Client,
  contexts: readonly string[],
  mail: string,
  searched: 'address' | 'domain',
  server: string,
  out: ServerResult,
): Promise<number> {
  let contextsSearched = 0;
  let values = 0;
  let lastError: Error | undefined;
  for (const base of contexts) {
    let entries: Entry[];
    try {
      entries = await searchContext(client, base, mail);
      contextsSearched += 1;
    } catch (error) {
      if (error instanceof HispError) {
        out.problems.push({ code: error.code, message: error.message });
        contextsSearched += 1;
        continue;
      }
      lastError = error instanceof Error ? error : new Error(String(error));
      out.problems.push({
        code: 'LDAP_FAILED',
        message: `The search for "${mail}" under "${base}" on ${server} failed (${errorText(error)}).`,
      });
      continue;
    }
    values += collect(entries, server, searched, out.candidates, out.problems);
  }
  if (contextsSearched === 0) throw lastError ?? new Error('no naming context could be searched');
  return values;
}

async function namingContexts(client: Client): Promise<string[]> {
  const { searchEntries } = await client.search('', {
    scope: 'base',
    filter: '(objectClass=*)',
    attributes: ['namingContexts'],
    sizeLimit: 1,
    timeLimit: LDAP_LIMITS.searchTimeLimitSeconds,
  });
  const values = searchEntries[0]?.['namingContexts'];
  const list = (Array.isArray(values) ? values : values === undefined ? [] : [values])
    .map((v) => (Buffer.isBuffer(v) ? v.toString('utf8') : v))
    .filter((v) => v !== '');
  return [...new Set(list)].slice(0, LDAP_LIMITS.namingContexts);
}

/** Entries under `base` for `mail`: the strict filter, then the plain one if it is refused. */
async function searchContext(client: Client, base: string, mail: string): Promise<Entry[]> {
  const filters = ldapFilters(mail);
  const run = async (filter: string): Promise<Entry[]> => {
    try {
      const result = await client.search(base, {
        scope: 'sub',
        filter,
        attributes: [...ATTRIBUTES],
        explicitBufferAttributes: [...ATTRIBUTES],
        sizeLimit: LDAP_LIMITS.searchSizeLimit,
        timeLimit: LDAP_LIMITS.searchTimeLimitSeconds,
      });
      return result.searchEntries;
    } catch (error) {
      if (error instanceof SizeLimitExceededError) {
        throw new HispError(
          'LIMIT_EXCEEDED',
          `More than ${LDAP_LIMITS.searchSizeLimit} directory entries under "${base}" match the address.`,
          { cause: error },
        );
      }
      throw error;
    }
  };
  try {
    return await run(filters.strict);
  } catch (error) {
    if (!(error instanceof ResultCodeError)) throw error;
    return await run(filters.plain);
  }
}

/** Read the certificate values of `entries`; returns how many values were seen. */
function collect(
  entries: readonly Entry[],
  server: string,
  searched: 'address' | 'domain',
  candidates: LdapCandidate[],
  problems: Reason[],
): number {
  let seen = 0;
  let count = candidates.length + problems.length;
  for (const entry of entries) {
    for (const [key, raw] of Object.entries(entry)) {
      const attribute = ATTRIBUTES.find((a) => a.toLowerCase() === key.toLowerCase());
      if (attribute === undefined) continue;
      const values = Array.isArray(raw) ? raw : [raw];
      for (const value of values) {
        if (count >= LDAP_LIMITS.certificates) {
          problems.push({
            code: 'LIMIT_EXCEEDED',
            message: `More than ${LDAP_LIMITS.certificates} certificates were found on ${server}; the rest were ignored.`,
          });
          return seen + 1;
        }
        count += 1;
        seen += 1;
        const der = Buffer.isBuffer(value) ? value : Buffer.from(value, 'latin1');
        try {
          parseCertificate(der);
          candidates.push({
            der: Buffer.from(der),
            source: 'ldap',
            server,
            dn: entry.dn,
            attribute,
            searched,
          });
        } catch (error) {
          const hisp = error instanceof HispError ? error : HispError.from(error);
          problems.push({
            code: hisp.code,
            message: `The ${attribute} value of "${entry.dn}" on ${server} is not a usable certificate: ${hisp.message}`,
          });
        }
      }
    }
  }
  return seen;
}

function errorCode(error: unknown): string {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
}

function errorText(error: unknown): string {
  if (error instanceof Error) {
    const code = errorCode(error);
    return code !== '' && !error.message.includes(code)
      ? `${code}: ${error.message}`
      : error.message;
  }
  return String(error);
}
