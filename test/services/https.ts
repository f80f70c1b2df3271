/**
 * Loopback HTTPS servers for the trust bundle tests: a node:https server on 127.0.0.1 (a port
 * chosen at run time) with a certificate the test made, and on it the usual case, one trust
 * bundle at /bundle.p7b whose bytes the test swaps between calls (a publisher updating its
 * bundle). Also the x509v3 lines of such a server's certificate (openssl `-extfile` form), so
 * the OpenSSL-made test PKIs issue it one way. Stopped with `close()` (open connections cut).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { LOOPBACK } from './ports.js';

/** The server's TLS key and certificate chain (PEM). */
export interface HttpsIdentity {
  readonly key: string | Buffer;
  readonly cert: string | Buffer;
}

/** A running loopback HTTPS server. */
export interface LoopbackHttps {
  readonly server: Server;
  /** `https://127.0.0.1:PORT`. */
  readonly origin: string;
  close(): Promise<void>;
}

/** Starts a node:https server on loopback with `handler`. */
export async function startLoopbackHttps(
  tls: HttpsIdentity,
  handler: (request: IncomingMessage, response: ServerResponse) => void,
): Promise<LoopbackHttps> {
  const server = createServer({ key: tls.key, cert: tls.cert }, handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const origin = `https://${LOOPBACK}:${(server.address() as AddressInfo).port}`;
  let closed: Promise<void> | undefined;
  return {
    server,
    origin,
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      return closed;
    },
  };
}

/** A loopback HTTPS server publishing one trust bundle. */
export interface BundleServer extends LoopbackHttps {
  /** `<origin>/bundle.p7b`; every other path is 404. */
  readonly url: string;
  /** What /bundle.p7b answers (200), from now on. Empty at first. */
  body: Buffer;
}

/** Starts a BundleServer (see startLoopbackHttps). */
export async function startBundleServer(tls: HttpsIdentity): Promise<BundleServer> {
  let body: Buffer = Buffer.alloc(0);
  const https = await startLoopbackHttps(tls, (request, response) => {
    if (request.url === '/bundle.p7b') response.writeHead(200).end(body);
    else response.writeHead(404).end();
  });
  return {
    ...https,
    url: `${https.origin}/bundle.p7b`,
    get body() {
      return body;
    },
    set body(bytes: Buffer) {
      body = bytes;
    },
  };
}

/**
 * The x509v3 extensions of a TLS server certificate for 127.0.0.1 (and `dnsNames`): not a
 * CA, serverAuth, SAN IP:127.0.0.1.
 */
export function loopbackServerExtensions(dnsNames: readonly string[] = []): string[] {
  return [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth',
    `subjectAltName=${[`IP:${LOOPBACK}`, ...dnsNames.map((name) => `DNS:${name}`)].join(',')}`,
  ];
}
