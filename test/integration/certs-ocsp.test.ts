/**
 * OCSP in path validation against OpenSSL's OCSP responder (`openssl ocsp -index index.txt
 * -CA … -rsigner … -rkey …`) over HTTP on loopback. OpenSSL 3.0's `-port` takes a port number
 * only and binds every interface, so the responder runs per request in file mode
 * (`-reqin`/`-respout`, the same responder code) behind a 127.0.0.1 HTTP server that counts
 * the requests. The PKI is `openssl ca` (its index.txt is the responder's database).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CrlCache, readCrl } from '../../hisp/certs/crl.js';
import { createHttpFetcher, type Fetcher } from '../../hisp/certs/fetch.js';
import { OCSP_CONTENT_TYPE, OcspCache } from '../../hisp/certs/ocsp.js';
import { validatePath, type PathOptions } from '../../hisp/certs/path.js';
import { createSilentLogger } from '../../hisp/log/logger.js';
import {
  TestPki,
  codesOf,
  leafExtensions,
  opensslOcspRespond,
  startFileServer,
  type FileServer,
  type Issued,
  type OcspResponderOptions,
} from '../unit/certs-fixtures.js';

let pki: TestPki;
let server: FileServer;
let fetcher: Fetcher;
let closedUrl: string;
let root: Issued;
const leaves = new Map<string, Issued>();
const leaf = (name: string) => {
  const found = leaves.get(name);
  if (found === undefined) throw new Error(`no leaf ${name}`);
  return found.cert;
};

/** An OpenSSL OCSP responder at `path` on the loopback server. */
function serveOcsp(path: string, options: OcspResponderOptions): void {
  server.set(path, (request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.method !== 'POST' || request.headers['content-type'] !== OCSP_CONTENT_TYPE) {
        response.writeHead(405).end();
        return;
      }
      opensslOcspRespond(pki, options, Buffer.concat(chunks)).then(
        (body) =>
          response.writeHead(200, { 'content-type': 'application/ocsp-response' }).end(body),
        () => response.writeHead(500).end(),
      );
    });
  });
}

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
  fetcher = createHttpFetcher({ logger: createSilentLogger(), timeoutMs: 3000 });
  const closed = await startFileServer();
  closedUrl = closed.url('/ocsp');
  await closed.close();
  await Promise.all(['root', 'ee', 'resp', 'other'].map((k) => pki.key(k)));

  root = await pki.root('root', { subject: '/O=Sealpost Tests/CN=OCSP Path Root', key: 'root' });
  const otherRoot = await pki.root('other', { subject: '/O=Other/CN=Other', key: 'other' });
  const responderExtensions = [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature',
    'extendedKeyUsage=OCSPSigning',
    'subjectKeyIdentifier=hash',
    'authorityKeyIdentifier=keyid',
  ];
  const responder = await pki.issue(root, 'responder', {
    subject: '/O=Sealpost Tests/CN=OCSP Responder',
    key: 'resp',
    extensions: responderExtensions,
  });
  // Same name and EKU, but issued by another CA: not authorized for root's certificates.
  const rogue = await pki.issue(otherRoot, 'rogue', {
    subject: '/O=Sealpost Tests/CN=OCSP Responder',
    key: 'resp',
    extensions: responderExtensions,
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
  await issueLeaf('good', { ocspUrl: server.url('/ocsp') });
  const revoked = await issueLeaf('revoked', { ocspUrl: server.url('/ocsp') });
  await issueLeaf('cached', { ocspUrl: server.url('/ocsp-cached') });
  await issueLeaf('down', { ocspUrl: closedUrl });
  await issueLeaf('rogue-signed', { ocspUrl: server.url('/ocsp-rogue') });
  await issueLeaf('fallback', { ocspUrl: closedUrl, crlUrl: server.url('/root.crl') });
  await issueLeaf('both', { ocspUrl: server.url('/ocsp-both'), crlUrl: server.url('/both.crl') });
  await pki.revoke(root, revoked);
  const crl = await pki.crl(root);
  server.set('/root.crl', { body: crl });
  server.set('/both.crl', { body: crl });

  serveOcsp('/ocsp', { ca: root, signer: responder });
  serveOcsp('/ocsp-cached', { ca: root, signer: root });
  serveOcsp('/ocsp-rogue', { ca: root, signer: rogue });
  serveOcsp('/ocsp-both', { ca: root, signer: root });
}, 60_000);

afterAll(async () => {
  await server.close();
  await pki.remove();
});

describe('OCSP as a revocation source (OpenSSL responder)', () => {
  it('good: trusted, the source names the OCSP responder (delegated signer)', async () => {
    const before = server.hits('/ocsp');
    const result = await validatePath(leaf('good'), options());
    expect(result.reasons).toEqual([]);
    expect(result.trusted).toBe(true);
    expect(result.revocation[0]).toMatchObject({
      status: 'good',
      source: `ocsp: ${server.url('/ocsp')}`,
    });
    expect(server.hits('/ocsp')).toBe(before + 1);
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
    expect(server.hits('/ocsp-rogue')).toBe(1);
  });

  it('the cache answers until nextUpdate: one request to the responder for two validations', async () => {
    const ocspCache = new OcspCache();
    const first = await validatePath(leaf('cached'), options({ ocspCache }));
    expect(first.trusted).toBe(true);
    expect(first.revocation[0]?.source).toBe(`ocsp: ${server.url('/ocsp-cached')}`);
    const second = await validatePath(leaf('cached'), options({ ocspCache }));
    expect(second.trusted).toBe(true);
    expect(second.revocation[0]?.source).toBe(`cache: ocsp: ${server.url('/ocsp-cached')}`);
    expect(server.hits('/ocsp-cached')).toBe(1);
    // Without the cache the responder is asked again.
    await validatePath(leaf('cached'), options());
    expect(server.hits('/ocsp-cached')).toBe(2);
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
    expect(viaOcsp.revocation[0]?.source).toBe(`ocsp: ${server.url('/ocsp-both')}`);
    expect(server.hits('/both.crl')).toBe(0);
    expect(server.hits('/ocsp-both')).toBe(1);

    const crl = await pki.crl(root);
    const given = await validatePath(leaf('both'), options({ crls: [crl] }));
    expect(given.revocation[0]?.source).toBe('given CRL');
    expect(server.hits('/ocsp-both')).toBe(1);

    crlCache.set(server.url('/both.crl'), readCrl(crl));
    const cached = await validatePath(leaf('both'), options({ crlCache }));
    expect(cached.revocation[0]?.source).toBe(`cache: ${server.url('/both.crl')}`);
    expect(server.hits('/ocsp-both')).toBe(1);
  });

  it('offline: the responder is not asked', async () => {
    const before = server.hits('/ocsp');
    const result = await validatePath(leaf('good'), {
      anchors: [root.cert],
      revocation: 'soft',
      logger: createSilentLogger(),
    });
    expect(result.trusted).toBe(true);
    expect(result.revocation[0]?.status).toBe('unknown');
    expect(result.revocation[0]?.source).toMatch(/was not asked \(offline\)/);
    expect(server.hits('/ocsp')).toBe(before);
  });
});
