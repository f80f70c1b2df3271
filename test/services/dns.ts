/**
 * Small DNS helpers for tests (dns-packet over UDP and TCP) and zone-file line builders for
 * CERT (RFC 4398) and SRV records.
 */
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { randomInt } from 'node:crypto';
import * as dnsPacket from 'dns-packet';
import type { DecodedPacket, Packet, RecordType } from 'dns-packet';

import { findBinary, run, type RunResult } from './proc.js';

/** A decoded answer; dns-packet also sets `rcode` ("NOERROR", "NXDOMAIN", ...), missing from its types. */
export type DnsResponse = DecodedPacket & { rcode: string };

export interface DnsQueryOptions {
  /** Default 2000 ms. */
  timeoutMs?: number;
  /** Add an EDNS0 OPT record advertising this UDP payload size. Default: no EDNS (512-byte limit). */
  ednsUdpSize?: number;
}

function buildQuery(
  name: string,
  type: RecordType,
  options: DnsQueryOptions,
): Packet & { id: number } {
  const id = randomInt(1, 0xffff);
  return {
    type: 'query',
    id,
    flags: 0,
    questions: [{ type, name, class: 'IN' }],
    ...(options.ednsUdpSize !== undefined
      ? {
          additionals: [
            {
              type: 'OPT',
              name: '.',
              udpPayloadSize: options.ednsUdpSize,
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

/** One query over UDP; the answer may be truncated (check `flag_tc`). */
export function queryUdp(
  host: string,
  port: number,
  name: string,
  type: RecordType,
  options: DnsQueryOptions = {},
): Promise<DnsResponse> {
  const query = buildQuery(name, type, options);
  const timeoutMs = options.timeoutMs ?? 2000;
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      reject(
        new Error(`DNS UDP ${name} ${type} @${host}:${port}: no answer after ${timeoutMs} ms`),
      );
    }, timeoutMs);
    socket.on('error', (err) => {
      clearTimeout(timer);
      socket.close();
      reject(err);
    });
    socket.on('message', (msg) => {
      let packet: DnsResponse;
      try {
        packet = dnsPacket.decode(msg) as DnsResponse;
      } catch {
        return; // not for us / garbage: keep waiting
      }
      if (packet.id !== query.id) return;
      clearTimeout(timer);
      socket.close();
      resolve(packet);
    });
    socket.send(dnsPacket.encode(query), port, host);
  });
}

/** One query over TCP with the 2-byte length prefix (RFC 1035 §4.2.2). */
export function queryTcp(
  host: string,
  port: number,
  name: string,
  type: RecordType,
  options: DnsQueryOptions = {},
): Promise<DnsResponse> {
  const query = buildQuery(name, type, options);
  const timeoutMs = options.timeoutMs ?? 2000;
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let buffered = Buffer.alloc(0);
    const fail = (err: Error): void => {
      socket.destroy();
      reject(err);
    };
    socket.setTimeout(timeoutMs, () =>
      fail(new Error(`DNS TCP ${name} ${type} @${host}:${port}: no answer after ${timeoutMs} ms`)),
    );
    socket.on('error', fail);
    socket.on('connect', () => socket.write(dnsPacket.streamEncode(query)));
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < 2) return;
      const length = buffered.readUInt16BE(0);
      if (buffered.length < 2 + length) return;
      socket.destroy();
      try {
        const packet = dnsPacket.decode(buffered.subarray(2, 2 + length)) as DnsResponse;
        if (packet.id !== query.id)
          throw new Error(`DNS TCP answer id ${String(packet.id)} != ${query.id}`);
        resolve(packet);
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
    socket.on('end', () =>
      fail(new Error(`DNS TCP ${name} ${type}: connection closed before a full answer`)),
    );
  });
}

/** RFC 4398 certificate types. */
export const CERT_TYPES = {
  PKIX: 1,
  SPKI: 2,
  PGP: 3,
  IPKIX: 4,
  ISPKI: 5,
  IPGP: 6,
  ACPKIX: 7,
  IACPKIX: 8,
} as const;
export type CertTypeName = keyof typeof CERT_TYPES;

export interface CertRdata {
  /** 1 = PKIX (X.509 DER), 4 = IPKIX (URL), ... */
  certType: number;
  keyTag: number;
  algorithm: number;
  /** DER certificate for PKIX; URL octets for IPKIX. */
  data: Buffer;
}

/** Decode CERT rdata: type(2) keytag(2) algorithm(1) then the certificate or URL. */
export function parseCertRdata(rdata: Buffer): CertRdata {
  if (rdata.length < 5) throw new Error(`CERT rdata too short: ${rdata.length} bytes`);
  return {
    certType: rdata.readUInt16BE(0),
    keyTag: rdata.readUInt16BE(2),
    algorithm: rdata.readUInt8(4),
    data: Buffer.from(rdata.subarray(5)),
  };
}

export interface CertRecordOptions {
  /** Default PKIX (data = DER). IPKIX: data = URL octets. */
  certType?: CertTypeName;
  keyTag?: number;
  algorithm?: number;
  ttl?: number;
}

/**
 * A zone-file line `owner TTL IN CERT PKIX keytag alg ( base64 )`. Use an absolute owner
 * ("alice.example.test." — the address with "@" turned into ".") or one relative to the zone.
 */
export function certRecordLine(
  owner: string,
  data: Buffer | string,
  options: CertRecordOptions = {},
): string {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const b64 = bytes.toString('base64').replace(/.{1,64}/g, (chunk) => `\n    ${chunk}`);
  return (
    `${owner} ${options.ttl ?? 300} IN CERT ${options.certType ?? 'PKIX'} ` +
    `${options.keyTag ?? 0} ${options.algorithm ?? 0} (${b64} )`
  );
}

/** A zone-file SRV line, e.g. srvRecordLine('_ldap._tcp.example.test.', 0, 0, 389, 'ldap.example.test.'). */
export function srvRecordLine(
  owner: string,
  priority: number,
  weight: number,
  port: number,
  target: string,
  ttl = 300,
): string {
  return `${owner} ${ttl} IN SRV ${priority} ${weight} ${port} ${target}`;
}

/**
 * Run `kdig` (Debian knot-dnsutils), an independent DNS client, against host:port:
 * `kdig @host -p port +timeout=2 +retry=0 ...args` (e.g. `['CERT', 'alice.example.test', '+tcp']`).
 * kdig prints the answer on stdout and warnings (such as "truncated reply ..., retrying over
 * TCP") on stderr; it retries a truncated UDP answer over TCP itself unless given `+ignore`.
 * @throws ServiceUnavailableError when kdig is not installed, CommandError when it fails.
 */
export function runKdig(host: string, port: number, args: readonly string[]): Promise<RunResult> {
  const kdig = findBinary('kdig', 'knot-dnsutils');
  return run(kdig, [`@${host}`, '-p', String(port), '+timeout=2', '+retry=0', ...args], {
    timeoutMs: 15_000,
  });
}
