/**
 * OCSP in path validation against OpenSSL's OCSP responder (`openssl ocsp -index index.txt
 * -CA … -rsigner … -rkey …`) over HTTP on loopback. OpenSSL 3.0's `-port` takes a port number
 * only and binds every interface, so the responder runs per request in file mode
 * (`-reqin`/`-respout`, the same responder code) behind a 127.0.0.1 HTTP server that records
 * every request (method and path): GET requests (RFC 6960 A.1, the URL-encoded base64
 * request after the responder URL) and POSTs. The PKI is `openssl ca` (its index.txt is the
 * responder's database), with delegated responders with and without id-pkix-ocsp-nocheck.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CrlCache, readCrl } from '../../hisp/certs/crl.js';
import { createHttpFetcher, type Fetcher } from '../../hisp/certs/fetch.js';
import {
  OCSP_CONTENT_TYPE,
  OcspCache,
  buildOcspRequest,
  queryOcsp,
} from '../../hisp/certs/ocsp.js';
import { validatePath, type PathOptions } from '../../hisp/certs/path.js';
import { createSilentLogger } from '../../hisp/log/logger.js';
import { run } from '../services/proc.js';
import {
  TestPki,
  codesOf,
  leafExtensions,
  openssl,
  opensslOcspRespond,
  startFileServer,
  type FileServer,
  type Issued,
  type OcspResponderOptions,
} from '../unit/certs-fixtures.js';

let pki: TestPki;
let server: FileServer;
let ocsp: OcspServer;
let fetcher: Fetcher;
let closedUrl: string;
let root: Issued;
const leaves = new Map<string, Issued>();
const leaf = (name: string) => {
  const found = leaves.get(name);
  if (found === undefined) throw new Error(`no leaf ${name}`);
  return found.cert;
};

interface Recorded {
  readonly method: string;
  /** The DER request as the server received it. */
  readonly request: Buffer;
}

interface OcspRoute extends OcspResponderOptions {
  /** Answer GET (default true); false: 405, as a POST-only responder does. */
  readonly get?: boolean;
  /** A fixed answer to every GET, as a misbehaving cache in between would give. */
  readonly getBody?: Buffer;
}

/** A loopback HTTP server in front of OpenSSL's responder, one route per first path segment. */
interface OcspServer {
  url(route: string): string;
  serve(route: string, options: OcspRoute): void;
  /** The requests that reached `route`, in order. */
  requests(route: string): readonly Recorded[];
  close(): Promise<void>;
}

async function startOcspServer(): Promise<OcspServer> {
  const routes = new Map<string, OcspRoute>();
  const seen = new Map<string, Recorded[]>();
  const answer = (route: OcspRoute, request: Buffer, response: ServerResponse) => {
    opensslOcspRespond(pki, route, request).then(
      (body) => response.writeHead(200, { 'content-type': 'application/ocsp-response' }).end(body),
      () => response.writeHead(500).end(),
    );
  };
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const raw = request.url ?? '/';
    const slash = raw.indexOf('/', 1);
    const path = raw.split('?')[0] ?? raw;
    const name = slash === -1 ? path : raw.slice(0, slash);
    const route = routes.get(name);
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const method = request.method ?? '';
      let der = Buffer.concat(chunks);
      if (method === 'GET' && slash !== -1) {
        der = Buffer.from(decodeURIComponent(raw.slice(slash + 1)), 'base64');
      }
      const list = seen.get(name) ?? [];
      list.push({ method, request: der });
      seen.set(name, list);
      if (route === undefined) {
        response.writeHead(404).end();
      } else if (method === 'GET' && slash !== -1 && route.getBody !== undefined) {
        response.writeHead(200, { 'content-type': 'application/ocsp-response' }).end(route.getBody);
      } else if (method === 'GET' && slash !== -1 && route.get !== false) {
        answer(route, der, response);
      } else if (method === 'POST' && request.headers['content-type'] === OCSP_CONTENT_TYPE) {
        answer(route, der, response);
      } else {
        response.writeHead(405).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (route) => `http://127.0.0.1:${port}${route}`,
    serve: (route, options) => routes.set(route, options),
    requests: (route) => seen.get(route) ?? [],
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

const methods = (route: string) => ocsp.requests(route).map((r) => r.method);

function options(overrides: Partial<PathOptions> = {}): PathOptions {
  return {
    anchors: [root.cert],
    revocation: 'hard',
    fetcher,
    logger: createSilentLogger(),
    ...overrides,
  };
}

beforeAll(async () => {
  pki = await TestPki.create('certs-ocsp-int');
  server = await startFileServer();
  ocsp = await startOcspServer();
  fetcher = createHttpFetcher({ logger: createSilentLogger(), timeoutMs: 3000 });
  const closed = await startFileServer();
  closedUrl = closed.url('/ocsp');
  await closed.close();
  await Promise.all(['root', 'ee', 'resp', 'other'].map((k) => pki.key(k)));

  root = await pki.root('root', { subject: '/O=Sealpost Tests/CN=OCSP Path Root', key: 'root' });
  const otherRoot = await pki.root('other', { subject: '/O=Other/CN=Other', key: 'other' });
  const rootCrl = server.url('/root.crl');
  const responderExtensions = (extra: { noCheck?: boolean; crlUrl?: string } = {}) => [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature',
    'extendedKeyUsage=OCSPSigning',
    'subjectKeyIdentifier=hash',
    'authorityKeyIdentifier=keyid',
    ...(extra.noCheck === true ? ['noCheck=ignored'] : []),
    ...(extra.crlUrl === undefined ? [] : [`crlDistributionPoints=URI:${extra.crlUrl}`]),
  ];
  const responderCert = (name: string, extra: { noCheck?: boolean; crlUrl?: string }) =>
    pki.issue(root, name, {
      subject: `/O=Sealpost Tests/CN=${name}`,
      key: 'resp',
      extensions: responderExtensions(extra),
    });
  // RFC 6960 §4.2.2.2.1: with nocheck the responder is trusted for its lifetime.
  const responder = await responderCert('OCSP Responder', { noCheck: true });
  // Without nocheck: checked against the CRL (good), unknowable, or revoked.
  const checked = await responderCert('OCSP Responder Checked', { crlUrl: rootCrl });
  const unchecked = await responderCert('OCSP Responder Unchecked', {});
  const revokedResponder = await responderCert('OCSP Responder Revoked', { crlUrl: rootCrl });
  // Same name and EKU, but issued by another CA: not authorized for root's certificates.
  const rogue = await pki.issue(otherRoot, 'rogue', {
    subject: '/O=Sealpost Tests/CN=OCSP Responder',
    key: 'resp',
    extensions: responderExtensions({ noCheck: true }),
  });

  const issueLeaf = async (name: string, urls: { ocspUrl?: string; crlUrl?: string }) => {
    const issued = await pki.issue(root, name, {
      subject: `/O=Sealpost Tests/CN=${name}`,
      key: 'ee',
      extensions: leafExtensions({ email: `${name}@example.test`, ...urls }),
    });
    leaves.set(name, issued);
    return issued;
  };
  await issueLeaf('good', { ocspUrl: ocsp.url('/ocsp') });
  const revoked = await issueLeaf('revoked', { ocspUrl: ocsp.url('/ocsp') });
  await issueLeaf('cached', { ocspUrl: ocsp.url('/ocsp-cached') });
  await issueLeaf('down', { ocspUrl: closedUrl });
  await issueLeaf('rogue-signed', { ocspUrl: ocsp.url('/ocsp-rogue') });
  await issueLeaf('fallback', { ocspUrl: closedUrl, crlUrl: rootCrl });
  await issueLeaf('both', { ocspUrl: ocsp.url('/ocsp-both'), crlUrl: server.url('/both.crl') });
  await issueLeaf('checked', { ocspUrl: ocsp.url('/ocsp-checked') });
  await issueLeaf('unchecked', { ocspUrl: ocsp.url('/ocsp-unchecked') });
  await issueLeaf('revoked-responder', { ocspUrl: ocsp.url('/ocsp-revoked-responder') });
  await issueLeaf('revoked-responder-crl', {
    ocspUrl: ocsp.url('/ocsp-revoked-responder'),
    crlUrl: rootCrl,
  });
  await issueLeaf('post-only', { ocspUrl: ocsp.url('/ocsp-post-only') });
  await issueLeaf('query', { ocspUrl: `${ocsp.url('/ocsp-query')}?tenant=1` });
  const cachedWrong = await issueLeaf('cache-wrong', { ocspUrl: ocsp.url('/ocsp-cache-wrong') });
  await pki.revoke(root, revoked);
  await pki.revoke(root, revokedResponder);
  const crl = await pki.crl(root);
  server.set('/root.crl', { body: crl });
  server.set('/both.crl', { body: crl });

  ocsp.serve('/ocsp', { ca: root, signer: responder });
  ocsp.serve('/ocsp-cached', { ca: root, signer: root });
  ocsp.serve('/ocsp-rogue', { ca: root, signer: rogue });
  ocsp.serve('/ocsp-both', { ca: root, signer: root });
  ocsp.serve('/ocsp-checked', { ca: root, signer: checked });
  ocsp.serve('/ocsp-unchecked', { ca: root, signer: unchecked });
  ocsp.serve('/ocsp-revoked-responder', { ca: root, signer: revokedResponder });
  ocsp.serve('/ocsp-post-only', { ca: root, signer: root, get: false });
  ocsp.serve('/ocsp-query', { ca: root, signer: root });
  // GETs get a real answer, but for another certificate (the "good" leaf).
  const other = await opensslOcspRespond(
    pki,
    { ca: root, signer: root },
    buildOcspRequest(leaf('good'), root.cert, { nonce: false }).der,
  );
  expect(cachedWrong.cert.serialHex).not.toBe(leaf('good').serialHex);
  ocsp.serve('/ocsp-cache-wrong', { ca: root, signer: root, getBody: other });
}, 60_000);

afterAll(async () => {
  await ocsp.close();
  await server.close();
  await pki.remove();
});

describe('OCSP as a revocation source (OpenSSL responder)', () => {
  it('good over GET, signed by a delegated responder with nocheck (not itself checked)', async () => {
    const before = ocsp.requests('/ocsp').length;
    const result = await validatePath(leaf('good'), options());
    expect(result.reasons).toEqual([]);
    expect(result.trusted).toBe(true);
    expect(result.revocation[0]).toMatchObject({
      status: 'good',
      source: `ocsp: ${ocsp.url('/ocsp')}`,
      responder: {
        subject: 'CN=OCSP Responder,O=Sealpost Tests',
        status: 'not-checked',
        source: expect.stringMatching(/id-pkix-ocsp-nocheck/) as unknown,
      },
    });
    expect(methods('/ocsp').slice(before)).toEqual(['GET']);
  });

  it('revoked: CERT_REVOKED, whatever the mode', async () => {
    for (const revocation of ['hard', 'soft'] as const) {
      const result = await validatePath(leaf('revoked'), options({ revocation }));
      expect(result.trusted).toBe(false);
      expect(codesOf(result.reasons)).toEqual(['CERT_REVOKED']);
      expect(result.revocation[0]?.status).toBe('revoked');
      expect(result.revocation[0]?.source).toMatch(/OCSP response from .* says revoked on/);
    }
  });

  it('risk-12: responder down → unknown: soft trusts and reports, hard fails; the failure is remembered', async () => {
    const ocspCache = new OcspCache();
    const soft = await validatePath(leaf('down'), options({ revocation: 'soft', ocspCache }));
    expect(soft.trusted).toBe(true);
    expect(codesOf(soft.reasons)).toEqual(['REVOCATION_UNKNOWN']);
    expect(soft.revocation[0]?.status).toBe('unknown');
    expect(soft.revocation[0]?.source).toMatch(/OCSP responder .* could not be asked/);

    const hard = await validatePath(leaf('down'), options({ revocation: 'hard', ocspCache }));
    expect(hard.trusted).toBe(false);
    expect(codesOf(hard.reasons)).toEqual(['REVOCATION_UNKNOWN']);
    expect(hard.revocation[0]?.source).toMatch(/remembered from an earlier attempt/);
  });

  it('a response signed by a key the issuer did not authorize is not accepted (unknown)', async () => {
    const result = await validatePath(leaf('rogue-signed'), options());
    expect(result.trusted).toBe(false);
    expect(codesOf(result.reasons)).toEqual(['REVOCATION_UNKNOWN']);
    expect(result.revocation[0]?.status).toBe('unknown');
    expect(result.revocation[0]?.source).toMatch(/not accepted/);
    // The unusable GET answer is asked again by POST (a cache might have served it).
    expect(methods('/ocsp-rogue')).toEqual(['GET', 'POST']);
  });

  it('the cache answers until nextUpdate: one request to the responder for two validations', async () => {
    const ocspCache = new OcspCache();
    const first = await validatePath(leaf('cached'), options({ ocspCache }));
    expect(first.trusted).toBe(true);
    expect(first.revocation[0]?.source).toBe(`ocsp: ${ocsp.url('/ocsp-cached')}`);
    const second = await validatePath(leaf('cached'), options({ ocspCache }));
    expect(second.trusted).toBe(true);
    expect(second.revocation[0]?.source).toBe(`cache: ocsp: ${ocsp.url('/ocsp-cached')}`);
    expect(methods('/ocsp-cached')).toHaveLength(1);
    // Without the cache the responder is asked again.
    await validatePath(leaf('cached'), options());
    expect(methods('/ocsp-cached')).toHaveLength(2);
  });

  it('OCSP unknown falls back to the CRL distribution point', async () => {
    const result = await validatePath(leaf('fallback'), options());
    expect(result.trusted).toBe(true);
    expect(result.revocation[0]).toMatchObject({
      status: 'good',
      source: server.url('/root.crl'),
    });
  });

  it('order: given CRLs and the CRL cache come before OCSP, OCSP before fetching CRLs', async () => {
    const crlCache = new CrlCache();
    const viaOcsp = await validatePath(leaf('both'), options({ crlCache }));
    expect(viaOcsp.revocation[0]?.source).toBe(`ocsp: ${ocsp.url('/ocsp-both')}`);
    expect(server.hits('/both.crl')).toBe(0);
    expect(methods('/ocsp-both')).toHaveLength(1);

    const crl = await pki.crl(root);
    const given = await validatePath(leaf('both'), options({ crls: [crl] }));
    expect(given.revocation[0]?.source).toBe('given CRL');
    expect(methods('/ocsp-both')).toHaveLength(1);

    crlCache.set(server.url('/both.crl'), readCrl(crl));
    const cached = await validatePath(leaf('both'), options({ crlCache }));
    expect(cached.revocation[0]?.source).toBe(`cache: ${server.url('/both.crl')}`);
    expect(methods('/ocsp-both')).toHaveLength(1);
  });

  it('offline: the responder is not asked', async () => {
    const before = ocsp.requests('/ocsp').length;
    const result = await validatePath(leaf('good'), {
      anchors: [root.cert],
      revocation: 'soft',
      logger: createSilentLogger(),
    });
    expect(result.trusted).toBe(true);
    expect(result.revocation[0]?.status).toBe('unknown');
    expect(result.revocation[0]?.source).toMatch(/was not asked \(offline\)/);
    expect(ocsp.requests('/ocsp')).toHaveLength(before);
  });
});

describe('delegated responders without id-pkix-ocsp-nocheck are revocation-checked', () => {
  it('checked against its CRL: good, and the responder entry says where from', async () => {
    const result = await validatePath(leaf('checked'), options());
    expect(result.reasons).toEqual([]);
    expect(result.trusted).toBe(true);
    expect(result.revocation[0]).toMatchObject({
      status: 'good',
      source: `ocsp: ${ocsp.url('/ocsp-checked')}`,
      responder: {
        subject: 'CN=OCSP Responder Checked,O=Sealpost Tests',
        status: 'good',
        source: server.url('/root.crl'),
      },
    });
  });

  it('no way to check it: REVOCATION_UNKNOWN naming the responder (hard fails, soft reports)', async () => {
    const hard = await validatePath(leaf('unchecked'), options({ revocation: 'hard' }));
    expect(hard.trusted).toBe(false);
    expect(codesOf(hard.reasons)).toEqual(['REVOCATION_UNKNOWN']);
    expect(hard.reasons[0]?.message).toMatch(
      /delegated OCSP responder "CN=OCSP Responder Unchecked,O=Sealpost Tests".* does not carry id-pkix-ocsp-nocheck.*hard-fail/,
    );
    expect(hard.revocation[0]).toMatchObject({
      status: 'good',
      responder: { status: 'unknown' },
    });

    const soft = await validatePath(leaf('unchecked'), options({ revocation: 'soft' }));
    expect(soft.trusted).toBe(true);
    expect(codesOf(soft.reasons)).toEqual(['REVOCATION_UNKNOWN']);
    expect(soft.reasons[0]?.message).toMatch(/soft-fail: trust stands, reported/);
  });

  it('a revoked responder: its answer is not used; the CRL decides, or the status is unknown', async () => {
    const withCrl = await validatePath(leaf('revoked-responder-crl'), options());
    expect(withCrl.reasons).toEqual([]);
    expect(withCrl.trusted).toBe(true);
    expect(withCrl.revocation[0]).toMatchObject({
      status: 'good',
      source: server.url('/root.crl'),
    });
    expect(withCrl.revocation[0]?.responder).toBeUndefined();

    const ocspCache = new OcspCache();
    const only = await validatePath(leaf('revoked-responder'), options({ ocspCache }));
    expect(only.trusted).toBe(false);
    expect(codesOf(only.reasons)).toEqual(['REVOCATION_UNKNOWN']);
    expect(only.revocation[0]?.status).toBe('unknown');
    expect(only.revocation[0]?.source).toMatch(
      /signed by the delegated responder "CN=OCSP Responder Revoked,O=Sealpost Tests".* which is revoked/,
    );
    // Not kept in the cache either.
    expect(ocspCache.size).toBe(0);
  });
});

describe('OCSP over GET (RFC 6960 A.1, RFC 5019) and the POST fallback', () => {
  it('the GET carries the URL-encoded base64 request without a nonce; OpenSSL reads it', async () => {
    const before = ocsp.requests('/ocsp').length;
    expect((await validatePath(leaf('good'), options())).trusted).toBe(true);
    const seen = ocsp.requests('/ocsp')[before];
    expect(seen?.method).toBe('GET');
    if (seen === undefined) throw new Error('no GET reached /ocsp');
    const path = join(pki.dir, 'seen-get-request.der');
    await writeFile(path, seen.request);
    const { stdout } = await run(openssl(), ['ocsp', '-reqin', path, '-req_text']);
    expect(stdout).toContain('Hash Algorithm: sha1');
    expect(stdout.toUpperCase()).toContain(
      `SERIAL NUMBER: ${leaf('good').serialHex.toUpperCase()}`,
    );
    expect(stdout).not.toContain('OCSP Nonce');
  });

  it('a responder that refuses GET (405) is asked again by POST, with a nonce', async () => {
    const result = await validatePath(leaf('post-only'), options());
    expect(result.reasons).toEqual([]);
    expect(result.trusted).toBe(true);
    expect(methods('/ocsp-post-only')).toEqual(['GET', 'POST']);
    const post = ocsp.requests('/ocsp-post-only')[1];
    if (post === undefined) throw new Error('no POST');
    const path = join(pki.dir, 'seen-post-request.der');
    await writeFile(path, post.request);
    const { stdout } = await run(openssl(), ['ocsp', '-reqin', path, '-req_text']);
    expect(stdout).toContain('OCSP Nonce');
  });

  it('queryOcsp says how it asked; a responder URL with a query goes straight to POST', async () => {
    const good = leaves.get('good');
    if (good === undefined) throw new Error('no good leaf');
    const viaGet = await queryOcsp(ocsp.url('/ocsp'), good.cert, root.cert, fetcher, new Date());
    expect(viaGet).toMatchObject({ status: 'good', method: 'GET' });
    const viaPost = await queryOcsp(ocsp.url('/ocsp'), good.cert, root.cert, fetcher, new Date(), {
      get: false,
    });
    expect(viaPost).toMatchObject({ status: 'good', method: 'POST' });

    const result = await validatePath(leaf('query'), options());
    expect(result.trusted).toBe(true);
    expect(methods('/ocsp-query')).toEqual(['POST']);
  });

  it('an unusable answer to the GET (a cache serving another answer) is asked again by POST', async () => {
    const result = await validatePath(leaf('cache-wrong'), options());
    expect(result.reasons).toEqual([]);
    expect(result.trusted).toBe(true);
    expect(methods('/ocsp-cache-wrong')).toEqual(['GET', 'POST']);
    // Without POST, the GET answer's own problem is what is reported.
    const getOnly: Fetcher = { get: (url, o) => fetcher.get(url, o) };
    const unusable = await validatePath(leaf('cache-wrong'), options({ fetcher: getOnly }));
    expect(unusable.trusted).toBe(false);
    expect(unusable.revocation[0]?.source).toMatch(/holds no answer for this certificate/);
  });

  it('a fetcher that cannot POST still asks by GET; after a refused GET it says so', async () => {
    const getOnly: Fetcher = { get: (url, o) => fetcher.get(url, o) };
    const good = await validatePath(leaf('good'), options({ fetcher: getOnly }));
    expect(good.trusted).toBe(true);
    const refused = await validatePath(leaf('post-only'), options({ fetcher: getOnly }));
    expect(refused.trusted).toBe(false);
    expect(refused.revocation[0]?.source).toMatch(
      /was not asked by POST after GET failed \(.*HTTP 405.*\) \(this fetcher cannot POST\)/,
    );
  });
});
