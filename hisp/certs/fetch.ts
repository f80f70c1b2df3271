/**
 * HTTP fetches for AIA caIssuers certificates and CRLs (RFC 5280 §4.2.2.1, §4.2.1.13), and
 * OCSP requests POSTed to a responder (RFC 6960 appendix A.1).
 *
 * The URLs come from certificates, i.e. from whoever sent the message, so every fetch is
 * bounded: http and https only, at most AGENT_LIMITS.fetchRedirects redirects, one deadline
 * for the whole fetch (redirects and body included), and the body is cut off as soon as it
 * grows past `maxBytes` — while it is arriving, not after it was buffered. Errors name the
 * URL's host only (never the path or query, which may carry tokens).
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import type { IncomingMessage, request as httpRequestType } from 'node:http';
import { BlockList, isIP } from 'node:net';

import { AGENT_LIMITS } from '../agent/limits.js';
import { HispError } from '../api/errors.js';
import type { Logger } from '../log/logger.js';

export interface FetchOptions {
  /** Refuse (LIMIT_EXCEEDED) a body larger than this. */
  readonly maxBytes: number;
  /** Refuse any URL that is not https, redirects included (trust bundles). */
  readonly httpsOnly?: boolean;
}

export interface PostOptions extends FetchOptions {
  /** The request's Content-Type, e.g. `application/ocsp-request`. */
  readonly contentType: string;
}

/** Something that fetches bytes by URL. Failures are HispError FETCH_FAILED or LIMIT_EXCEEDED. */
export interface Fetcher {
  get(url: string, options: FetchOptions): Promise<Buffer>;
  /**
   * POST `body` and read the answer, with the same bounds as `get`. A 307/308 redirect is
   * followed with the same body; any other redirect of a POST fails.
   */
  post?(url: string, body: Uint8Array, options: PostOptions): Promise<Buffer>;
}

export interface HttpFetcherOptions {
  readonly logger: Logger;
  /** Deadline for one fetch, redirects and body included. Default AGENT_LIMITS.fetchTimeoutMs. */
  readonly timeoutMs?: number;
  /** Redirects followed. Default AGENT_LIMITS.fetchRedirects. */
  readonly redirects?: number;
  /**
   * CA certificates (PEM or DER) trusted for https fetches, e.g. a test CA or an IT-managed
   * private CA. They REPLACE Node's CA store for this fetcher (include `tls.rootCertificates`
   * to keep the public ones). Default: Node's normal CA store.
   */
  readonly ca?: readonly (string | Buffer)[];
  /**
   * Refuse URLs whose host is, or resolves to, a loopback, private, link-local or other
   * non-public address (redirects included) — for a HISP on a practice server, where a URL
   * in a hostile certificate could otherwise reach the internal network (SSRF). The address
   * that was checked is the one connected to, so a DNS answer cannot change in between.
   */
  readonly publicOnly?: boolean;
}

/** Address ranges that are not the public internet (IANA special-purpose registries). */
const NON_PUBLIC = (() => {
  const list = new BlockList();
  for (const [network, prefix] of [
    ['0.0.0.0', 8],
    ['10.0.0.0', 8],
    ['100.64.0.0', 10],
    ['127.0.0.0', 8],
    ['169.254.0.0', 16],
    ['172.16.0.0', 12],
    ['192.0.0.0', 24],
    ['192.0.2.0', 24],
    ['192.168.0.0', 16],
    ['198.18.0.0', 15],
    ['198.51.100.0', 24],
    ['203.0.113.0', 24],
    ['224.0.0.0', 4],
    ['240.0.0.0', 4],
  ] as const) {
    list.addSubnet(network, prefix, 'ipv4');
  }
  for (const [network, prefix] of [
    ['::', 128],
    ['::1', 128],
    ['64:ff9b::', 96],
    ['100::', 64],
    ['2001:db8::', 32],
    ['fc00::', 7],
    ['fe80::', 10],
    ['ff00::', 8],
  ] as const) {
    list.addSubnet(network, prefix, 'ipv6');
  }
  return list;
})();

/** Whether `address` (an IP literal) is outside the public internet. */
export function isNonPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (mapped?.[1] !== undefined) return NON_PUBLIC.check(mapped[1], 'ipv4');
  }
  return NON_PUBLIC.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** A request body (POST); none = GET. */
interface Send {
  readonly body: Buffer;
  readonly contentType: string;
}

type Hop =
  | { readonly kind: 'redirect'; readonly status: number; readonly location: string }
  | { readonly kind: 'body'; readonly body: Buffer };

function fetchFailed(host: string, why: string, cause?: unknown): HispError {
  return new HispError(
    'FETCH_FAILED',
    `Could not fetch from ${host}: ${why}.`,
    cause === undefined ? undefined : { cause },
  );
}

function parseHttpUrl(value: string, host: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw fetchFailed(host, 'the URL is not valid');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw fetchFailed(
      url.host || host,
      `the ${url.protocol.replace(/:$/, '')} scheme is not fetched (http and https only)`,
    );
  }
  return url;
}

function hostOf(value: string): string {
  try {
    return new URL(value).host || 'an invalid URL';
  } catch {
    return 'an invalid URL';
  }
}

export function createHttpFetcher(options: HttpFetcherOptions): Fetcher {
  const logger = options.logger.child({ component: 'certs.fetch' });
  const timeoutMs = options.timeoutMs ?? AGENT_LIMITS.fetchTimeoutMs;
  const maxRedirects = options.redirects ?? AGENT_LIMITS.fetchRedirects;
  const ca = options.ca === undefined ? undefined : [...options.ca];
  const publicOnly = options.publicOnly === true;

  async function exchange(
    url: string,
    maxBytes: number,
    send: Send | undefined,
    httpsOnly = false,
  ): Promise<Buffer> {
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
      throw new HispError(
        'INTERNAL',
        `maxBytes must be a non-negative integer, got ${String(maxBytes)}.`,
      );
    }
    const checked = (next: URL): URL => {
      if (httpsOnly && next.protocol !== 'https:') {
        throw fetchFailed(
          next.host,
          'only https is allowed here, and the URL or a redirect was not https',
        );
      }
      return next;
    };
    let current = checked(parseHttpUrl(url, hostOf(url)));
    const started = Date.now();
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      for (let redirects = 0; ; redirects++) {
        const hop = await requestOnce(current, controller.signal, maxBytes, send, ca, publicOnly);
        if (hop.kind === 'body') {
          logger.debug('fetched', {
            host: current.host,
            ...(send === undefined ? {} : { method: 'POST' }),
            bytes: hop.body.byteLength,
            redirects,
            ms: Date.now() - started,
          });
          return hop.body;
        }
        if (redirects >= maxRedirects) {
          throw fetchFailed(current.host, `more than ${maxRedirects} redirects`);
        }
        if (send !== undefined && hop.status !== 307 && hop.status !== 308) {
          throw fetchFailed(current.host, `HTTP ${hop.status} redirect of a POST (not followed)`);
        }
        let next: string;
        try {
          next = new URL(hop.location, current).href;
        } catch {
          throw fetchFailed(current.host, 'it redirected to an invalid URL');
        }
        current = checked(parseHttpUrl(next, current.host));
      }
    } catch (error) {
      const failure =
        error instanceof HispError
          ? error
          : controller.signal.aborted
            ? fetchFailed(current.host, `no complete answer within ${timeoutMs} ms`, error)
            : fetchFailed(current.host, describeNetworkError(error), error);
      logger.warn('fetch failed', {
        host: current.host,
        code: failure.code,
        reason: failure.message,
        ms: Date.now() - started,
      });
      throw failure;
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    get(url: string, fetchOptions: FetchOptions): Promise<Buffer> {
      return exchange(url, fetchOptions.maxBytes, undefined, fetchOptions.httpsOnly);
    },
    post(url: string, body: Uint8Array, postOptions: PostOptions): Promise<Buffer> {
      return exchange(
        url,
        postOptions.maxBytes,
        {
          body: Buffer.from(body.buffer, body.byteOffset, body.byteLength),
          contentType: postOptions.contentType,
        },
        postOptions.httpsOnly,
      );
    },
  };
}

function describeNetworkError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === undefined ? error.message : `${code} (${error.message})`;
  }
  return String(error);
}

type RequestFunction = typeof httpRequestType;
let transports: Promise<{ http: RequestFunction; https: RequestFunction }> | undefined;

/** node:http costs ~20 ms to load (it brings zlib and undici): loaded on the first fetch only. */
function loadTransports(): Promise<{ http: RequestFunction; https: RequestFunction }> {
  transports ??= Promise.all([import('node:http'), import('node:https')]).then(([http, https]) => ({
    http: http.request,
    https: https.request,
  }));
  return transports;
}

async function requestOnce(
  url: URL,
  signal: AbortSignal,
  maxBytes: number,
  send: Send | undefined,
  ca: (string | Buffer)[] | undefined,
  publicOnly: boolean,
): Promise<Hop> {
  const { http: httpRequest, https: httpsRequest } = await loadTransports();
  const literal = url.hostname.replace(/^\[|\]$/g, '');
  if (publicOnly && isNonPublicAddress(literal)) {
    throw fetchFailed(
      url.host,
      `${literal} is not a public address, and this HISP fetches only from the public internet`,
    );
  }
  return new Promise<Hop>((resolve, reject) => {
    let settled = false;
    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      request.destroy();
      reject(error instanceof Error ? error : new Error(String(error)));
    };
    const succeed = (hop: Hop) => {
      if (settled) return;
      settled = true;
      resolve(hop);
    };
    const https = url.protocol === 'https:';
    const transport = https ? httpsRequest : httpRequest;
    const request = transport(
      url,
      {
        ...(https && ca !== undefined ? { ca } : {}),
        ...(publicOnly ? { lookup: publicLookup } : {}),
        method: send === undefined ? 'GET' : 'POST',
        agent: false, // one connection per fetch, closed afterwards
        signal,
        headers:
          send === undefined
            ? { accept: '*/*', 'user-agent': 'Sealpost' }
            : {
                accept: '*/*',
                'user-agent': 'Sealpost',
                'content-type': send.contentType,
                'content-length': String(send.body.byteLength),
              },
      },
      (response: IncomingMessage) => {
        const status = response.statusCode ?? 0;
        if (REDIRECT_STATUSES.has(status)) {
          const location = response.headers.location;
          response.resume();
          if (location === undefined || location === '') {
            fail(fetchFailed(url.host, `HTTP ${status} without a Location`));
          } else {
            succeed({ kind: 'redirect', status, location });
          }
          return;
        }
        if (status !== 200) {
          response.resume();
          fail(fetchFailed(url.host, `HTTP ${status}`));
          return;
        }
        const declared = Number(response.headers['content-length']);
        if (Number.isFinite(declared) && declared > maxBytes) {
          fail(
            new HispError(
              'LIMIT_EXCEEDED',
              `The answer from ${url.host} is ${declared} bytes, more than the ${maxBytes} allowed.`,
            ),
          );
          return;
        }
        const chunks: Buffer[] = [];
        let total = 0;
        response.on('data', (chunk: Buffer) => {
          total += chunk.byteLength;
          if (total > maxBytes) {
            fail(
              new HispError(
                'LIMIT_EXCEEDED',
                `The answer from ${url.host} grew past the ${maxBytes} bytes allowed.`,
              ),
            );
            return;
          }
          chunks.push(chunk);
        });
        response.on('end', () => {
          if (!response.complete) {
            fail(fetchFailed(url.host, 'the connection closed before the answer was complete'));
            return;
          }
          succeed({ kind: 'body', body: Buffer.concat(chunks, total) });
        });
        response.on('error', (error) => fail(error));
        response.on('close', () => {
          if (!settled)
            fail(fetchFailed(url.host, 'the connection closed before the answer was complete'));
        });
      },
    );
    request.on('error', (error) => fail(error));
    request.end(send?.body);
  });
}

/** dns.lookup that refuses a name resolving to a non-public address (the checked address is used). */
function publicLookup(
  hostname: string,
  options: LookupOptions,
  callback: (
    error: NodeJS.ErrnoException | null,
    address: string | LookupAddress[],
    family?: number,
  ) => void,
): void {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error !== null) return callback(error, []);
    const blocked = addresses.find((entry) => isNonPublicAddress(entry.address));
    if (blocked !== undefined) {
      const refusal = fetchFailed(
        hostname,
        `it resolves to ${blocked.address}, not a public address, and this HISP fetches only from the public internet`,
      ) as Error as NodeJS.ErrnoException;
      return callback(refusal, []);
    }
    if (options.all === true) return callback(null, addresses);
    const first = addresses[0];
    if (first === undefined)
      return callback(
        Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }),
        [],
      );
    callback(null, first.address, first.family);
  });
}
