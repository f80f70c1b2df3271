/**
 * Trust bundles fetched over real HTTPS: a loopback node:https server (127.0.0.1, port chosen
 * at run time) with a certificate from a test CA made here by the openssl CLI serves a
 * DirectTrust-style signed bundle (`openssl cms -sign -nodetach -binary`); the fetcher trusts
 * that CA through its `ca` option. Also: a server certificate from another CA, an http: URL,
 * a 404 and an answer over the size limit.
 */
import { readFile } from 'node:fs/promises';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { parseCertificate } from '../../hisp/certs/certificate.js';
import { createHttpFetcher } from '../../hisp/certs/fetch.js';
import { fetchTrustBundle, readTrustBundle } from '../../hisp/certs/trust/bundle.js';
import { createSilentLogger } from '../../hisp/log/logger.js';
import {
  type TestCa,
  type TestEndEntity,
  createTestCa,
  issueEndEntityCert,
  issueServerCert,
} from '../services/certs.js';
import { hispErrorOf as failure } from '../services/hispErrors.js';
import { startLoopbackHttps, type LoopbackHttps } from '../services/https.js';
import { opensslSignedBundle } from '../services/openssl-direct.js';
import { type TempDir, makeTempDir } from '../services/tmp.js';

const logger = createSilentLogger();

let tmp: TempDir;
let tlsCa: TestCa;
let wrongTlsCa: TestCa;
let signerCa: TestCa;
let signer: TestEndEntity;
let anchorA: TestCa;
let anchorB: TestCa;
let signedBundle: Buffer;
let server: LoopbackHttps;
let origin: string;

const BIG_BYTES = 64 * 1024;

beforeAll(async () => {
  tmp = await makeTempDir('trust-bundle');
  const dir = tmp.path;
  [tlsCa, wrongTlsCa, signerCa, anchorA, anchorB] = await Promise.all([
    createTestCa(dir, { name: 'tls-ca', commonName: 'Bundle TLS CA' }),
    createTestCa(dir, { name: 'wrong-tls-ca', commonName: 'Bundle TLS CA' }),
    createTestCa(dir, { name: 'signer-ca', commonName: 'Bundle Signer CA' }),
    createTestCa(dir, { name: 'anchor-a', commonName: 'Anchor A' }),
    createTestCa(dir, { name: 'anchor-b', commonName: 'Anchor B' }),
  ]);
  signer = await issueEndEntityCert(signerCa, dir, { email: 'bundles@signer.example.test' });
  const signedPath = await opensslSignedBundle(
    dir,
    'direct-trust',
    [anchorA, anchorB].map((anchor) => ({ pem: anchor.certPem })),
    signer,
  );
  signedBundle = await readFile(signedPath);

  const tls = await issueServerCert(tlsCa, dir, { commonName: '127.0.0.1' });
  server = await startLoopbackHttps({ key: tls.keyPem, cert: tls.certPem }, (request, response) => {
    const body =
      request.url === '/bundles/direct-trust.p7b'
        ? signedBundle
        : request.url === '/big.p7b'
          ? Buffer.alloc(BIG_BYTES, 0x30)
          : undefined;
    if (request.url === '/downgrade.p7b') {
      // A redirect to plain http (where a man in the middle could answer).
      response.writeHead(302, { location: `http://127.0.0.1:1/bundles/direct-trust.p7b` }).end();
      return;
    }
    if (body === undefined) {
      response.writeHead(404).end('not found');
      return;
    }
    response.writeHead(200, { 'content-type': 'application/pkcs7-mime' });
    response.end(body);
  });
  origin = server.origin;
});

afterAll(async () => {
  await server?.close();
  await tmp?.remove();
});

const trustingFetcher = () => createHttpFetcher({ logger, timeoutMs: 5000, ca: [tlsCa.certPem] });

describe('fetchTrustBundle over HTTPS', () => {
  it('fetches a signed bundle from a server whose CA is trusted, and it verifies', async () => {
    const bytes = await fetchTrustBundle(`${origin}/bundles/direct-trust.p7b`, trustingFetcher());
    expect(bytes.equals(signedBundle)).toBe(true);
    const content = await readTrustBundle(bytes, {
      signers: [parseCertificate(signerCa.certDer)],
      logger,
    });
    expect(content.signed).toBe(true);
    expect(content.signer?.fingerprintSha256).toBe(
      parseCertificate(signer.certDer).fingerprintSha256,
    );
    expect(content.anchors.map((a) => a.subject).sort()).toEqual([
      'CN=Anchor A,O=Sealpost Tests',
      'CN=Anchor B,O=Sealpost Tests',
    ]);
  });

  it('fails (FETCH_FAILED) when the server certificate is from a CA the fetcher does not trust', async () => {
    const wrong = createHttpFetcher({ logger, timeoutMs: 5000, ca: [wrongTlsCa.certPem] });
    const error = await failure(fetchTrustBundle(`${origin}/bundles/direct-trust.p7b`, wrong));
    expect(error.code).toBe('FETCH_FAILED');
    expect(error.message).toContain('127.0.0.1');
    expect(error.message).toMatch(/verify/i);
    // Node's normal CA store does not know the test CA either.
    const plain = createHttpFetcher({ logger, timeoutMs: 5000 });
    const error2 = await failure(fetchTrustBundle(`${origin}/bundles/direct-trust.p7b`, plain));
    expect(error2.code).toBe('FETCH_FAILED');
    expect(error2.message).toMatch(/verify/i);
  });

  it('refuses http: and file: URLs before fetching (FETCH_FAILED: HTTPS only)', async () => {
    let asked = 0;
    const counting = {
      get: () => {
        asked++;
        return Promise.resolve(Buffer.alloc(0));
      },
    };
    for (const url of [
      `${origin.replace('https:', 'http:')}/bundles/direct-trust.p7b`,
      'file:///etc/ssl/certs/ca-certificates.crt',
      'ftp://127.0.0.1/bundle.p7b',
      'not a url',
    ]) {
      const error = await failure(fetchTrustBundle(url, counting));
      expect(error.code, url).toBe('FETCH_FAILED');
      if (url !== 'not a url') expect(error.message, url).toMatch(/only fetched over HTTPS/);
    }
    expect(asked).toBe(0);
  });

  it('refuses (FETCH_FAILED) a redirect from https to plain http, before following it', async () => {
    const error = await failure(fetchTrustBundle(`${origin}/downgrade.p7b`, trustingFetcher()));
    expect(error.code).toBe('FETCH_FAILED');
    expect(error.message).toMatch(/only https is allowed/);
  });

  it('fails (FETCH_FAILED) on a 404', async () => {
    const error = await failure(
      fetchTrustBundle(`${origin}/bundles/missing.p7b`, trustingFetcher()),
    );
    expect(error.code).toBe('FETCH_FAILED');
    expect(error.message).toContain('404');
  });

  it('refuses (LIMIT_EXCEEDED) an answer over maxBytes, and takes one at the limit', async () => {
    const fetcher = trustingFetcher();
    const error = await failure(
      fetchTrustBundle(`${origin}/big.p7b`, fetcher, { maxBytes: BIG_BYTES - 1 }),
    );
    expect(error.code).toBe('LIMIT_EXCEEDED');
    const exact = await fetchTrustBundle(`${origin}/big.p7b`, fetcher, { maxBytes: BIG_BYTES });
    expect(exact.byteLength).toBe(BIG_BYTES);
  });
});
