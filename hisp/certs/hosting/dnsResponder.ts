/**
 * An authoritative DNS responder for the practice's own domain(s), for `sealpost serve`: it
 * publishes the practice's Direct certificates as CERT records (RFC 4398) where certificate
 * discovery looks for them, with the MX, SRV and A/AAAA records the domain needs
 * (dnsAnswer.ts decides every answer; this module only moves bytes).
 *
 * UDP and TCP on the same port (RFC 1035 §4.2, RFC 7766): UDP answers fit the requester's
 * EDNS0 size (clamped) or 512 bytes, else they come back truncated for a TCP retry; TCP
 * takes 2-byte length-framed messages, several per connection, answered in order, with an
 * idle timeout (no complete query for a while), a cap on open connections, a cap on a
 * query's size, and no reading while answers wait for the client (the socket's high-water
 * mark), so a client that does not read cannot make the responder buffer without bound.
 *
 * The caller chooses the address; there is no default. One debug line per query; no input
 * crashes the responder. Zones can be replaced while it runs (`setZones`), atomically: a
 * query is answered entirely from the old data or entirely from the new.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, isIP, isIPv6, type Server, type Socket } from 'node:net';

import { HispError } from '../../api/errors.js';
import type { Logger } from '../../log/logger.js';
import {
  answerQuery,
  compileZones,
  type HostedZone,
  type QueryOutcome,
  type Transport,
  type ZoneSet,
} from './dnsAnswer.js';

export type { HostedZone } from './dnsAnswer.js';

export const DNS_RESPONDER_LIMITS = {
  /** A TCP connection with no complete query for this long is closed (RFC 7766 §6.2.3). */
  tcpIdleMs: 10_000,
  /** Open TCP connections; more are closed at once. */
  tcpConnections: 64,
  /** A query (UDP datagram or TCP message) larger than this is not read. Real queries are a
   * few hundred bytes; EDNS padding (RFC 8467) keeps them under 512. */
  queryBytes: 4096,
} as const;

export type DnsResponderLimits = { -readonly [K in keyof typeof DNS_RESPONDER_LIMITS]: number };

export interface DnsResponderOptions {
  /** An IP address to listen on (UDP and TCP), e.g. "127.0.0.1", "::1" or "0.0.0.0". */
  readonly host: string;
  /** 0 = a free port chosen by the system (the same number for UDP and TCP). */
  readonly port: number;
  readonly zones: readonly HostedZone[];
  readonly logger: Logger;
  /** Record TTL in seconds. Default 3600. */
  readonly ttl?: number;
  /** Override limits (tests use a short idle time). */
  readonly limits?: Partial<DnsResponderLimits>;
}

export interface DnsResponder {
  readonly host: string;
  readonly port: number;
  readonly udpPort: number;
  readonly tcpPort: number;
  /** Replace the served data (e.g. after a certificate change); the SOA serial goes up.
   * Throws like startDnsResponder on bad zones, and then the old data stays served. */
  setZones(zones: readonly HostedZone[]): void;
  close(): Promise<void>;
}

/** SOA serials: the time in seconds, and always above the previous one (RFC 1982 wraps). */
function nextSerial(previous: number | undefined): number {
  const now = Math.floor(Date.now() / 1000) >>> 0;
  if (previous === undefined) return now;
  const bumped = (previous + 1) >>> 0;
  // now is "after" previous in serial arithmetic when the difference is in (0, 2^31).
  const ahead = (now - previous) >>> 0;
  return ahead > 0 && ahead < 0x80000000 ? now : bumped;
}

function display(host: string, port: number): string {
  return isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

function listenError(error: NodeJS.ErrnoException, host: string, port: number, proto: string) {
  const where = `${display(host, port)} (${proto})`;
  if (error.code === 'EADDRINUSE') {
    return new HispError('ADDRESS_IN_USE', `The DNS responder's port ${where} is already in use.`, {
      cause: error,
    });
  }
  if (error.code === 'EACCES') {
    return new HispError(
      'BAD_REQUEST',
      `The DNS responder may not listen on ${where} (a port below 1024 needs privileges).`,
      { cause: error },
    );
  }
  if (error.code === 'EADDRNOTAVAIL') {
    return new HispError(
      'BAD_REQUEST',
      `The DNS responder cannot listen on ${where}: the address is not on this machine.`,
      { cause: error },
    );
  }
  return error;
}

function listenTcp(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void =>
      reject(listenError(error, host, port, 'TCP'));
    server.once('error', onError);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', onError);
      const address = server.address();
      if (address === null || typeof address === 'string') {
        reject(new Error('the DNS responder could not read its TCP port'));
        return;
      }
      resolve(address.port);
    });
  });
}

function bindUdp(socket: UdpSocket, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void =>
      reject(listenError(error, host, port, 'UDP'));
    socket.once('error', onError);
    socket.bind({ address: host, port, exclusive: true }, () => {
      socket.off('error', onError);
      resolve();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
  });
}

function closeUdp(socket: UdpSocket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // not bound / already closed
    }
  });
}

/**
 * Start answering on UDP and TCP at host:port. Throws HispError BAD_REQUEST for a host that
 * is not an IP address or bad zones (see compileZones), ADDRESS_IN_USE when the port is
 * taken (the message names the address).
 */
export async function startDnsResponder(options: DnsResponderOptions): Promise<DnsResponder> {
  const { host, port } = options;
  if (isIP(host) === 0) {
    throw new HispError(
      'BAD_REQUEST',
      `The DNS responder listens on an IP address ("${host}" is not one).`,
    );
  }
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) {
    throw new HispError('BAD_REQUEST', 'The DNS responder port must be from 0 to 65535.');
  }
  const limits: DnsResponderLimits = { ...DNS_RESPONDER_LIMITS, ...options.limits };
  const logger = options.logger.child({ component: 'certs.hosting.dns' });
  let serial = nextSerial(undefined);
  const compile = (zones: readonly HostedZone[]): ZoneSet =>
    compileZones(zones, { serial, ...(options.ttl === undefined ? {} : { ttl: options.ttl }) });
  let zoneSet = compile(options.zones);

  const connections = new Set<Socket>();
  const answer = (packet: Buffer, transport: Transport): QueryOutcome => {
    const outcome = answerQuery(packet, zoneSet, transport);
    logger.debug('dns query', {
      transport,
      ...(outcome.name === undefined ? {} : { name: outcome.name }),
      ...(outcome.type === undefined ? {} : { type: outcome.type }),
      rcode: outcome.rcode,
      ...(outcome.truncated ? { truncated: true } : {}),
      ...(outcome.reason === undefined ? {} : { reason: outcome.reason }),
    });
    return outcome;
  };

  const onConnection = (socket: Socket): void => {
    connections.add(socket);
    socket.setNoDelay(true);
    // Idle = no complete query for tcpIdleMs (a trickle of bytes does not keep it open).
    const idle = setTimeout(() => socket.destroy(), limits.tcpIdleMs);
    let buffered: Buffer = Buffer.alloc(0);
    /** Reading is paused until the client takes the answers already written. */
    let waiting = false;
    /** The client has sent everything (half-close): answer what is buffered, then end. */
    let readEnded = false;
    const pump = (): void => {
      while (!waiting && buffered.length >= 2) {
        const length = buffered.readUInt16BE(0);
        if (length > limits.queryBytes) {
          logger.debug('dns query', { transport: 'tcp', rcode: 'DROPPED', reason: 'too large' });
          socket.destroy();
          return;
        }
        if (buffered.length < 2 + length) break;
        const packet = buffered.subarray(2, 2 + length);
        buffered = buffered.subarray(2 + length);
        idle.refresh();
        const { response } = answer(packet, 'tcp');
        if (response === undefined) {
          // Not a query we can answer at all: the stream cannot be trusted any more.
          socket.destroy();
          return;
        }
        const prefix = Buffer.alloc(2);
        prefix.writeUInt16BE(response.length);
        // write() says false once the socket's buffer passes its high-water mark (16 KiB):
        // stop reading until 'drain' (which follows only such a false).
        if (!socket.write(Buffer.concat([prefix, response]))) {
          waiting = true;
          socket.pause();
        }
      }
      if (readEnded && !waiting) socket.end();
    };
    socket.on('drain', () => {
      if (!waiting) return;
      waiting = false;
      if (!readEnded) socket.resume();
      pump();
    });
    socket.on('data', (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      pump();
    });
    socket.on('end', () => {
      readEnded = true;
      pump();
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      clearTimeout(idle);
      connections.delete(socket);
    });
  };

  // Port 0: TCP picks the port; if UDP cannot have the same one, try another.
  let tcp: Server | undefined;
  let udp: UdpSocket | undefined;
  let bound = 0;
  for (let attempt = 0; ; attempt++) {
    const server = createServer({ allowHalfOpen: true }, onConnection);
    server.maxConnections = limits.tcpConnections;
    const socket = createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4', ipv6Only: isIPv6(host) });
    let udpStage = false;
    try {
      bound = await listenTcp(server, host, port);
      udpStage = true;
      await bindUdp(socket, host, bound);
      tcp = server;
      udp = socket;
      break;
    } catch (error) {
      await closeServer(server);
      await closeUdp(socket);
      const retry =
        port === 0 &&
        udpStage &&
        attempt < 10 &&
        error instanceof HispError &&
        error.code === 'ADDRESS_IN_USE';
      if (!retry) throw error;
    }
  }
  const udpSocket = udp;
  const tcpServer = tcp;

  udpSocket.on('message', (msg, rinfo) => {
    if (msg.length > limits.queryBytes) {
      logger.debug('dns query', { transport: 'udp', rcode: 'DROPPED', reason: 'too large' });
      return;
    }
    const { response } = answer(msg, 'udp');
    if (response === undefined || rinfo.port === 0) return;
    // A failed send (an unreachable or spoofed source) is not logged: one line per query.
    udpSocket.send(response, rinfo.port, rinfo.address, () => undefined);
  });
  udpSocket.on('error', (error) => logger.warn('dns UDP socket error', { error }));
  tcpServer.on('error', (error) => logger.warn('dns TCP server error', { error }));

  logger.info('DNS responder listening', {
    address: display(host, bound),
    zones: zoneSet.zones.length,
    serial,
  });

  let closed: Promise<void> | undefined;
  return {
    host,
    port: bound,
    udpPort: bound,
    tcpPort: bound,
    setZones(zones: readonly HostedZone[]): void {
      const next = nextSerial(serial);
      const previous = serial;
      serial = next;
      try {
        zoneSet = compile(zones);
      } catch (error) {
        serial = previous;
        throw error;
      }
      logger.info('DNS responder zones replaced', { zones: zoneSet.zones.length, serial });
    },
    close(): Promise<void> {
      closed ??= (async () => {
        for (const socket of connections) socket.destroy();
        await Promise.all([closeServer(tcpServer), closeUdp(udpSocket)]);
        logger.info('DNS responder stopped', { address: display(host, bound) });
      })();
      return closed;
    },
  };
}
