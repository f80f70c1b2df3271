/**
 * The answers of the authoritative DNS responder, with no I/O: the configured zones compiled
 * into a lookup table (`compileZones`) and one query turned into one response
 * (`answerQuery`).
 *
 * What is served per zone: a synthesised SOA (mname ns.<domain>, rname hostmaster.<domain>)
 * and NS at the apex; a CERT record (RFC 4398, type PKIX, key tag 0, algorithm 0, the DER)
 * per certificate at every name `publicationNames` gives inside the zone — the address with
 * '@' turned into '.', the domain for a domain-bound certificate, the same records
 * `zoneRecords` exports; MX, A and AAAA at the apex; SRV at <service>.<domain>; A/AAAA for
 * named hosts.
 *
 * Behaviour (RFC 1035, 2181, 2308, 6891, 8482, 8020): authoritative answers (AA) for names
 * in a zone, never recursion (RA clear); NXDOMAIN or NODATA with the SOA in the authority
 * section; names that only exist as parents of other names (empty non-terminals) are NODATA,
 * not NXDOMAIN; REFUSED outside every zone, for other classes and for zone transfers; ANY
 * answered with the RFC 8482 HINFO so the server is no amplifier; FORMERR for malformed
 * queries, NOTIMP for other opcodes; EDNS0 with the requester's UDP size clamped; an answer
 * too large for UDP comes back truncated (TC, answer section empty) so the client retries
 * over TCP.
 */
import { isIPv4, isIPv6 } from 'node:net';

import { HispError } from '../../api/errors.js';
import type { ParsedCertificate } from '../certificate.js';
import { normalizeDomain } from '../certificate.js';
import { publicationNames } from '../discovery/zone.js';
import {
  CLASS_IN,
  FLAG,
  MAX_MESSAGE_BYTES,
  MAX_NAME_BYTES,
  PLAIN_UDP_BYTES,
  RCODE,
  TYPE,
  encodeResponse,
  isAtOrBelow,
  nameFromText,
  nameKey,
  nameWireBytes,
  parseQuery,
  presentName,
  typeName,
  type Name,
  type QueryHeader,
  type Question,
  type RcodeName,
  type ResourceRecord,
  type ResponseParts,
} from './dnsWire.js';

/** What the responder serves for one of the practice's domains. */
export interface HostedZone {
  /** The zone apex, e.g. "example.org" (IDN allowed; trailing dot optional). */
  readonly domain: string;
  /** Published as CERT PKIX records at each name publicationNames() gives inside the zone. */
  readonly certificates: readonly ParsedCertificate[];
  /** MX at the apex. */
  readonly mx?: readonly { readonly preference: number; readonly exchange: string }[];
  /** SRV at <service>.<domain>, e.g. service "_ldap._tcp". */
  readonly srv?: readonly {
    readonly service: string;
    readonly priority: number;
    readonly weight: number;
    readonly port: number;
    readonly target: string;
  }[];
  /** Addresses of the apex. */
  readonly a?: readonly string[];
  readonly aaaa?: readonly string[];
  /** Addresses of other names in the zone, by full name (e.g. "mail.example.org"). */
  readonly hosts?: Readonly<
    Record<string, { readonly a?: readonly string[]; readonly aaaa?: readonly string[] }>
  >;
}

export const DNS_ANSWER_LIMITS = {
  /** Our EDNS UDP payload size and the most a UDP answer may be (the DNS Flag Day 2020 value). */
  maxUdpBytes: 1232,
  /** Record sets above this cannot be served even over TCP (with room for the rest). */
  rrsetBytes: 60_000,
  /** SOA timers (seconds). */
  soaRefresh: 3600,
  soaRetry: 600,
  soaExpire: 1_209_600,
  /** Negative caching (RFC 2308): the SOA minimum, capped by the record TTL. */
  negativeTtl: 300,
} as const;

/** RFC 4398 CERT type PKIX, key tag 0, algorithm 0 (as zone.ts and knot publish it). */
const CERT_PKIX_PREFIX = Buffer.from([0x00, 0x01, 0x00, 0x00, 0x00]);
/** RFC 8482 §4.2: HINFO CPU "RFC8482", OS "". */
const RFC8482_HINFO = Buffer.from([7, ...Buffer.from('RFC8482', 'ascii'), 0]);

interface ZoneData {
  readonly apex: Name;
  readonly soa: ResourceRecord;
  /** Folded name key -> type -> records. Empty non-terminals have an empty map. */
  readonly nodes: ReadonlyMap<string, ReadonlyMap<number, readonly ResourceRecord[]>>;
}

/** The compiled, immutable data the responder answers from. */
export interface ZoneSet {
  readonly zones: readonly ZoneData[];
  readonly serial: number;
}

export interface CompileOptions {
  /** Record TTL in seconds. Default 3600. */
  readonly ttl?: number;
  /** SOA serial (0..2^32-1). */
  readonly serial: number;
}

function bad(message: string): HispError {
  return new HispError('BAD_REQUEST', message);
}

function parseName(text: string, what: string): Name {
  const name = nameFromText(text);
  if (typeof name === 'string') throw bad(`${what} "${text}" is not a usable DNS name (${name}).`);
  return name;
}

function u16(value: number, what: string): Buffer {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff) {
    throw bad(`${what} must be a whole number from 0 to 65535.`);
  }
  const buf = Buffer.alloc(2);
  buf.writeUInt16BE(value);
  return buf;
}

function ipv4Bytes(text: string): Buffer {
  if (!isIPv4(text)) throw bad(`"${text}" is not an IPv4 address.`);
  return Buffer.from(text.split('.').map(Number));
}

function ipv6Bytes(text: string): Buffer {
  if (!isIPv6(text) || text.includes('%')) throw bad(`"${text}" is not an IPv6 address.`);
  let groups: number[];
  const toGroups = (part: string): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    for (const piece of part.split(':')) {
      if (piece.includes('.')) {
        const [a = 0, b = 0, c = 0, d = 0] = piece.split('.').map(Number);
        out.push((a << 8) | b, (c << 8) | d);
      } else {
        out.push(parseInt(piece, 16));
      }
    }
    return out;
  };
  const double = text.indexOf('::');
  if (double >= 0) {
    const head = toGroups(text.slice(0, double));
    const tail = toGroups(text.slice(double + 2));
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    groups = toGroups(text);
  }
  const buf = Buffer.alloc(16);
  groups.forEach((group, i) => buf.writeUInt16BE(group, i * 2));
  return buf;
}

class ZoneBuilder {
  readonly apex: Name;
  readonly #ttl: number;
  readonly #nodes = new Map<string, Map<number, ResourceRecord[]>>();
  /** Duplicate suppression (RFC 2181 §5) and size per record set. */
  readonly #seen = new Set<string>();
  readonly #sizes = new Map<string, number>();

  constructor(apex: Name, ttl: number) {
    this.apex = apex;
    this.#ttl = ttl;
  }

  add(owner: Name, type: number, rdata: ResourceRecord['rdata'], ttl = this.#ttl): void {
    const key = nameKey(owner);
    const identity = `${key} ${type} ${rdata
      .map((part) => (Buffer.isBuffer(part) ? part.toString('hex') : `<${nameKey(part.name)}>`))
      .join(' ')}`;
    if (this.#seen.has(identity)) return;
    this.#seen.add(identity);
    const bytes =
      12 +
      rdata.reduce(
        (sum, part) => sum + (Buffer.isBuffer(part) ? part.length : nameWireBytes(part.name)),
        0,
      );
    const setKey = `${key} ${type}`;
    const size = (this.#sizes.get(setKey) ?? 0) + bytes;
    if (size > DNS_ANSWER_LIMITS.rrsetBytes) {
      throw new HispError(
        'LIMIT_EXCEEDED',
        `The ${typeName(type)} records at ${presentName(owner)} would be larger than a DNS message can carry (${DNS_ANSWER_LIMITS.rrsetBytes} bytes).`,
      );
    }
    this.#sizes.set(setKey, size);
    // The node and every name between it and the apex exist (empty non-terminals).
    for (let i = 0; i <= owner.length - this.apex.length; i++) {
      const ancestor = nameKey(owner.slice(i));
      if (!this.#nodes.has(ancestor)) this.#nodes.set(ancestor, new Map());
    }
    const node = this.#nodes.get(key);
    if (node === undefined) return;
    const list = node.get(type) ?? [];
    list.push({ owner, type, rclass: CLASS_IN, ttl, rdata });
    node.set(type, list);
  }

  inZone(name: Name): boolean {
    return isAtOrBelow(name, this.apex);
  }

  build(soa: ResourceRecord): ZoneData {
    return { apex: this.apex, soa, nodes: this.#nodes };
  }
}

function compileZone(zone: HostedZone, ttl: number, serial: number): ZoneData {
  const domain = normalizeDomain(zone.domain);
  if (domain === undefined) throw bad('A hosted zone has no domain.');
  const apex = parseName(domain, 'The zone domain');
  if (apex.length === 0) throw bad('The root cannot be a hosted zone.');
  const zb = new ZoneBuilder(apex, ttl);
  const label = (text: string): Buffer => Buffer.from(text, 'ascii');
  const ns: Name = [label('ns'), ...apex];
  const negativeTtl = Math.min(ttl, DNS_ANSWER_LIMITS.negativeTtl);

  const timers = Buffer.alloc(20);
  timers.writeUInt32BE(serial >>> 0, 0);
  timers.writeUInt32BE(DNS_ANSWER_LIMITS.soaRefresh, 4);
  timers.writeUInt32BE(DNS_ANSWER_LIMITS.soaRetry, 8);
  timers.writeUInt32BE(DNS_ANSWER_LIMITS.soaExpire, 12);
  timers.writeUInt32BE(negativeTtl, 16);
  const soaRdata = [
    { name: ns, compress: true },
    { name: [label('hostmaster'), ...apex], compress: true },
    timers,
  ];
  zb.add(apex, TYPE.SOA, soaRdata);
  zb.add(apex, TYPE.NS, [{ name: ns, compress: true }]);

  for (const cert of zone.certificates) {
    if (cert.der.length > 0xffff - CERT_PKIX_PREFIX.length) {
      throw new HispError(
        'LIMIT_EXCEEDED',
        `Certificate ${cert.subject} is too large for a CERT record.`,
      );
    }
    const rdata = Buffer.concat([CERT_PKIX_PREFIX, cert.der]);
    let published = 0;
    for (const { name } of publicationNames(cert)) {
      const owner = nameFromText(name);
      // A name that cannot be a DNS name (a long or odd local part) is not looked up by
      // discovery either (dns.ts dnsNamesFor); names in other zones belong to those zones.
      if (typeof owner === 'string' || !zb.inZone(owner)) continue;
      zb.add(owner, TYPE.CERT, [rdata]);
      published++;
    }
    if (published === 0) {
      throw new HispError(
        'CERT_ADDRESS_MISMATCH',
        `Certificate ${cert.subject} names no address or domain in ${domain} to publish it under.`,
      );
    }
  }

  for (const mx of zone.mx ?? []) {
    const exchange = parseName(mx.exchange, 'The mail exchanger');
    zb.add(apex, TYPE.MX, [
      u16(mx.preference, 'An MX preference'),
      { name: exchange, compress: true },
    ]);
  }

  for (const srv of zone.srv ?? []) {
    const service = parseName(srv.service, 'The SRV service');
    if (service.length === 0) throw bad('An SRV record needs a service such as "_ldap._tcp".');
    const owner = [...service, ...apex];
    if (nameWireBytes(owner) > MAX_NAME_BYTES) {
      throw bad(`The SRV name ${srv.service}.${domain} is too long.`);
    }
    zb.add(owner, TYPE.SRV, [
      u16(srv.priority, 'An SRV priority'),
      u16(srv.weight, 'An SRV weight'),
      u16(srv.port, 'An SRV port'),
      // RFC 2782: the SRV target is never compressed.
      { name: parseName(srv.target, 'The SRV target'), compress: false },
    ]);
  }

  const addresses = (owner: Name, a: readonly string[], aaaa: readonly string[]): void => {
    for (const text of a) zb.add(owner, TYPE.A, [ipv4Bytes(text)]);
    for (const text of aaaa) zb.add(owner, TYPE.AAAA, [ipv6Bytes(text)]);
  };
  addresses(apex, zone.a ?? [], zone.aaaa ?? []);
  for (const [host, data] of Object.entries(zone.hosts ?? {})) {
    const owner = parseName(host, 'The host name');
    if (!zb.inZone(owner)) throw bad(`The host ${host} is not inside the zone ${domain}.`);
    addresses(owner, data.a ?? [], data.aaaa ?? []);
  }

  return zb.build({
    owner: apex,
    type: TYPE.SOA,
    rclass: CLASS_IN,
    ttl: negativeTtl,
    rdata: soaRdata,
  });
}

/**
 * Compile the zones. Throws HispError BAD_REQUEST for unusable configuration (names,
 * addresses, numbers, a duplicate or nested zone), CERT_ADDRESS_MISMATCH for a certificate
 * with no name in its zone, LIMIT_EXCEEDED for data a DNS message cannot carry.
 */
export function compileZones(zones: readonly HostedZone[], options: CompileOptions): ZoneSet {
  const ttl = options.ttl ?? 3600;
  if (!Number.isInteger(ttl) || ttl < 0 || ttl > 2_147_483_647) {
    throw bad('The DNS TTL must be a whole number of seconds.');
  }
  if (!Number.isInteger(options.serial) || options.serial < 0 || options.serial > 0xffffffff) {
    throw bad('The SOA serial must be a whole number from 0 to 4294967295.');
  }
  const compiled = zones.map((zone) => compileZone(zone, ttl, options.serial));
  for (const [i, zone] of compiled.entries()) {
    for (const [j, other] of compiled.entries()) {
      if (i !== j && isAtOrBelow(zone.apex, other.apex)) {
        throw bad(
          `The hosted zones ${presentName(zone.apex)} and ${presentName(other.apex)} overlap; host one zone with both names in it.`,
        );
      }
    }
  }
  return { zones: compiled, serial: options.serial };
}

// ── Answering ────────────────────────────────────────────────────────────────────────────

export type Transport = 'udp' | 'tcp';

export interface QueryOutcome {
  /** The bytes to send back, or undefined: send nothing. */
  readonly response: Buffer | undefined;
  /** For the log line: the question name (presentation form) and type when they were read. */
  readonly name?: string;
  readonly type?: string;
  /** The response code, or "DROPPED" when nothing is sent. */
  readonly rcode: RcodeName | 'DROPPED';
  readonly truncated: boolean;
  /** Why a query was dropped, malformed or failed. */
  readonly reason?: string;
}

interface Answer {
  readonly rcode: RcodeName;
  readonly aa: boolean;
  readonly answers: readonly ResourceRecord[];
  readonly authority: readonly ResourceRecord[];
  readonly additional: readonly ResourceRecord[];
}

function findZone(zones: ZoneSet, name: Name): ZoneData | undefined {
  return zones.zones.find((zone) => isAtOrBelow(name, zone.apex));
}

/** In-zone addresses of the names an MX, SRV or NS answer points to (RFC 1035 §3.3.9). */
function additionalFor(zones: ZoneSet, answers: readonly ResourceRecord[]): ResourceRecord[] {
  const out: ResourceRecord[] = [];
  const done = new Set<string>();
  for (const rr of answers) {
    for (const part of rr.rdata) {
      if (Buffer.isBuffer(part)) continue;
      const key = nameKey(part.name);
      if (done.has(key)) continue;
      done.add(key);
      const node = findZone(zones, part.name)?.nodes.get(key);
      out.push(...(node?.get(TYPE.A) ?? []), ...(node?.get(TYPE.AAAA) ?? []));
    }
  }
  return out;
}

function lookup(zones: ZoneSet, question: Question): Answer {
  const none = { answers: [], authority: [], additional: [] };
  if (question.qclass !== CLASS_IN) return { rcode: 'REFUSED', aa: false, ...none };
  const zone = findZone(zones, question.name);
  if (zone === undefined) return { rcode: 'REFUSED', aa: false, ...none };
  const type = question.type;
  if (type === TYPE.AXFR || type === TYPE.IXFR) return { rcode: 'REFUSED', aa: false, ...none };
  if (type === TYPE.MAILA || type === TYPE.MAILB) return { rcode: 'NOTIMP', aa: false, ...none };
  if (type === 0 || type === TYPE.OPT || type === TYPE.TSIG || type === TYPE.TKEY) {
    // Meta types that only live in additional sections cannot be asked for.
    return { rcode: 'FORMERR', aa: false, ...none };
  }
  const node = zone.nodes.get(nameKey(question.name));
  if (node === undefined) {
    return { rcode: 'NXDOMAIN', aa: true, answers: [], authority: [zone.soa], additional: [] };
  }
  if (type === TYPE.ANY && node.size > 0) {
    // RFC 8482 §4.2: one synthesised HINFO instead of every record set.
    const hinfo: ResourceRecord = {
      owner: question.name,
      type: TYPE.HINFO,
      rclass: CLASS_IN,
      ttl: zone.soa.ttl,
      rdata: [RFC8482_HINFO],
    };
    return { rcode: 'NOERROR', aa: true, answers: [hinfo], authority: [], additional: [] };
  }
  const answers = node.get(type);
  if (answers === undefined || answers.length === 0) {
    return { rcode: 'NOERROR', aa: true, answers: [], authority: [zone.soa], additional: [] };
  }
  return {
    rcode: 'NOERROR',
    aa: true,
    answers,
    authority: [],
    additional: additionalFor(zones, answers),
  };
}

/** Header flags of a response: QR, the opcode, RD and CD copied, AA, TC, the rcode's low bits. */
function responseFlags(header: QueryHeader, rcode: number, aa: boolean, tc: boolean): number {
  return (
    FLAG.QR |
    (header.opcode << 11) |
    (aa ? FLAG.AA : 0) |
    (tc ? FLAG.TC : 0) |
    (header.flags & (FLAG.RD | FLAG.CD)) |
    (rcode & 0x0f)
  );
}

function headerOnly(header: QueryHeader, rcode: RcodeName): Buffer {
  const parts: ResponseParts = {
    id: header.id,
    flags: responseFlags(header, RCODE[rcode], false, false),
    question: undefined,
    answers: [],
    authority: [],
    additional: [],
  };
  return encodeResponse(parts, PLAIN_UDP_BYTES) ?? Buffer.alloc(0);
}

function optRecord(rcode: number): ResourceRecord {
  return {
    owner: [],
    type: TYPE.OPT,
    rclass: DNS_ANSWER_LIMITS.maxUdpBytes,
    // Extended rcode (upper 8 of 12 bits), version 0, no flags (DO clear: no DNSSEC here).
    ttl: ((rcode >> 4) & 0xff) << 24,
    rdata: [],
  };
}

function answerParsed(
  query: Extract<ReturnType<typeof parseQuery>, { kind: 'query' }>,
  zones: ZoneSet,
  transport: Transport,
): QueryOutcome {
  const { header, question, edns } = query;
  const log = { name: presentName(question.name), type: typeName(question.type) };
  const limit =
    transport === 'tcp'
      ? MAX_MESSAGE_BYTES
      : edns === undefined
        ? PLAIN_UDP_BYTES
        : Math.min(Math.max(edns.udpSize, PLAIN_UDP_BYTES), DNS_ANSWER_LIMITS.maxUdpBytes);
  const base = { id: header.id, question };
  if (edns !== undefined && edns.version > 0) {
    // RFC 6891 §6.1.3: we speak EDNS version 0 only.
    const parts: ResponseParts = {
      ...base,
      flags: responseFlags(header, RCODE.BADVERS, false, false),
      answers: [],
      authority: [],
      additional: [optRecord(RCODE.BADVERS)],
    };
    return { response: encodeResponse(parts, limit), ...log, rcode: 'BADVERS', truncated: false };
  }
  const answer = lookup(zones, question);
  const opt = edns === undefined ? [] : [optRecord(0)];
  const flags = responseFlags(header, RCODE[answer.rcode], answer.aa, false);
  const full: ResponseParts = {
    ...base,
    flags,
    answers: answer.answers,
    authority: answer.authority,
    additional: [...answer.additional, ...opt],
  };
  // Additional addresses are optional: drop them before truncating (RFC 2181 §9).
  const response =
    encodeResponse(full, limit) ?? encodeResponse({ ...full, additional: opt }, limit);
  if (response !== undefined) {
    return { response, ...log, rcode: answer.rcode, truncated: false };
  }
  if (transport === 'tcp') {
    // Cannot happen with compiled zones (rrsetBytes); never send a broken message.
    const parts: ResponseParts = {
      ...base,
      flags: responseFlags(header, RCODE.SERVFAIL, false, false),
      answers: [],
      authority: [],
      additional: opt,
    };
    return {
      response: encodeResponse(parts, limit),
      ...log,
      rcode: 'SERVFAIL',
      truncated: false,
      reason: 'the answer does not fit in a DNS message',
    };
  }
  const truncated: ResponseParts = {
    ...base,
    flags: responseFlags(header, RCODE[answer.rcode], answer.aa, true),
    answers: [],
    authority: [],
    additional: opt,
  };
  return {
    response: encodeResponse(truncated, limit),
    ...log,
    rcode: answer.rcode,
    truncated: true,
  };
}

/**
 * Answer one query (the bytes of one UDP datagram or one TCP message without its length
 * prefix). Never throws: an unexpected failure becomes SERVFAIL, or nothing when not even
 * the header could be read.
 */
export function answerQuery(packet: Buffer, zones: ZoneSet, transport: Transport): QueryOutcome {
  let parsed: ReturnType<typeof parseQuery> | undefined;
  try {
    parsed = parseQuery(packet);
    switch (parsed.kind) {
      case 'drop':
        return { response: undefined, rcode: 'DROPPED', truncated: false, reason: parsed.reason };
      case 'notimp':
        return { response: headerOnly(parsed.header, 'NOTIMP'), rcode: 'NOTIMP', truncated: false };
      case 'formerr':
        return {
          response: headerOnly(parsed.header, 'FORMERR'),
          rcode: 'FORMERR',
          truncated: false,
          reason: parsed.reason,
        };
      case 'query':
        return answerParsed(parsed, zones, transport);
    }
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    if (parsed !== undefined && parsed.kind !== 'drop') {
      return {
        response: headerOnly(parsed.header, 'SERVFAIL'),
        rcode: 'SERVFAIL',
        truncated: false,
        reason,
      };
    }
    return { response: undefined, rcode: 'DROPPED', truncated: false, reason };
  }
}
