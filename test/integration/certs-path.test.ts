/**
 * Path validation matrix: certificates made by OpenSSL (`openssl ca`, `-revoke`, `-gencrl`,
 * `crl2pkcs7`), AIA and CRL distribution points served by a loopback HTTP server, and the
 * Java reference implementation's certificates (../shared/interop/java-ri).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Reason } from '../../hisp/api/errors.js';
import { parseCertificate, type ParsedCertificate } from '../../hisp/certs/certificate.js';
import { AiaCache } from '../../hisp/certs/aia.js';
import { CrlCache } from '../../hisp/certs/crl.js';
import { createHttpFetcher, type Fetcher } from '../../hisp/certs/fetch.js';
import { validatePath, type PathOptions, type PathResult } from '../../hisp/certs/path.js';
import { addressBinding, checkDirectCertificate } from '../../hisp/certs/policy.js';
import { createSilentLogger } from '../../hisp/log/logger.js';
import { run } from '../services/proc.js';
import {
  DAY,
  INTEROP_DIR,
  TestPki,
  caExtensions,
  captureLogger,
  codesOf,
  interopCert,
  leafExtensions,
  openssl,
  startFileServer,
  type FileServer,
  type Issued,
} from '../unit/certs-fixtures.js';

let pki: TestPki;
let server: FileServer;
let fetcher: Fetcher;
let closedPortUrl: string;

// The PKI: root -> inter -> leaves, plus the odd intermediates and the attacker's copies.
let root: Issued;
let inter: Issued;
let otherRoot: Issued;
const leaves = new Map<string, Issued>();
const cas = new Map<string, Issued>();
const leaf = (name: string): ParsedCertificate => {
  const found = leaves.get(name);
  if (found === undefined) throw new Error(`no leaf ${name}`);
  return found.cert;
};
const ca = (name: string): ParsedCertificate => {
  const found = cas.get(name);
  if (found === undefined) throw new Error(`no CA ${name}`);
  return found.cert;
};

function options(overrides: Partial<PathOptions> = {}): PathOptions {
  return {
    anchors: [root.cert],
    intermediates: [inter.cert],
    revocation: 'off',
    logger: createSilentLogger(),
    ...overrides,
  };
}

function reason(result: PathResult, code: string): Reason {
  const found = result.reasons.find((r) => r.code === code);
  if (found === undefined) {
    throw new Error(`no ${code} in ${JSON.stringify(result.reasons, null, 2)}`);
  }
  return found;
}

const subjects = (result: PathResult) => result.chain.map((c) => c.subject);

beforeAll(async () => {
  pki = await TestPki.create('certs-path');
  server = await startFileServer();
  fetcher = createHttpFetcher({ logger: createSilentLogger(), timeoutMs: 2000 });
  const closed = await startFileServer();
  closedPortUrl = closed.url('/inter.der');
  await closed.close();

  // Keys first, in parallel: RSA-2048 once per role, one RSA-1024 for the weak-key cases.
  await Promise.all([
    ...['root', 'inter', 'ee', 'evil', 'other', 'x', 'y', 'side'].map((k) => pki.key(k)),
    pki.key('weak', 1024),
  ]);

  // Roots and intermediates valid from 60 days ago for a year, so `at` can move back in time.
  const caValidity = {
    notBefore: new Date(Date.now() - 60 * DAY),
    notAfter: new Date(Date.now() + 365 * DAY),
  };
  root = await pki.root('root', {
    subject: '/O=Sealpost Tests/CN=Path Root',
    key: 'root',
    ...caValidity,
  });
  otherRoot = await pki.root('other-root', { subject: '/O=Other Org/CN=Other Root', key: 'other' });
  const rootCrlUrl = server.url('/crl/root.crl');
  const intermediate = async (
    name: string,
    options: {
      issuer?: Issued;
      key?: string;
      bits?: number;
      md?: 'sha1';
      extensions?: string[];
      asIssuer?: boolean;
    } = {},
  ) => {
    const issued = await pki.issue(options.issuer ?? root, name, {
      subject: `/O=Sealpost Tests/CN=${name}`,
      key: options.key ?? 'side',
      ...(options.bits ? { bits: options.bits } : {}),
      ...(options.md ? { md: options.md } : {}),
      extensions: options.extensions ?? caExtensions({ crlUrl: rootCrlUrl }),
      ...(options.asIssuer ? { asIssuer: true } : {}),
      ...caValidity,
    });
    cas.set(name, issued);
    return issued;
  };
  inter = await intermediate('Path Intermediate', { key: 'inter' });

  const interCrl = server.url('/crl/inter.crl');
  const issueLeaf = async (
    name: string,
    extra: {
      issuer?: Issued;
      crlUrl?: string;
      caIssuersUrl?: string;
      key?: string;
      bits?: number;
      md?: 'sha1';
      notBefore?: Date;
      notAfter?: Date;
    } = {},
  ) => {
    const email = `${name}@example.test`;
    const issued = await pki.issue(extra.issuer ?? inter, name, {
      subject: `/O=Sealpost Tests/CN=${name}/emailAddress=${email}`,
      key: extra.key ?? 'ee',
      ...(extra.bits ? { bits: extra.bits } : {}),
      ...(extra.md ? { md: extra.md } : {}),
      ...(extra.notBefore ? { notBefore: extra.notBefore } : {}),
      ...(extra.notAfter ? { notAfter: extra.notAfter } : {}),
      extensions: leafExtensions({
        email,
        ...(extra.crlUrl ? { crlUrl: extra.crlUrl } : {}),
        ...(extra.caIssuersUrl ? { caIssuersUrl: extra.caIssuersUrl } : {}),
      }),
    });
    leaves.set(name, issued);
    return issued;
  };

  await issueLeaf('alice', { crlUrl: interCrl, caIssuersUrl: server.url('/aia/inter.der') });
  await issueLeaf('aia-pem', { crlUrl: interCrl, caIssuersUrl: server.url('/aia/inter.pem') });
  await issueLeaf('aia-p7', { crlUrl: interCrl, caIssuersUrl: server.url('/aia/inter.p7c') });
  await issueLeaf('aia-p7pem', { crlUrl: interCrl, caIssuersUrl: server.url('/aia/inter-p7.pem') });
  await issueLeaf('aia-missing', { caIssuersUrl: server.url('/aia/missing.der') });
  await issueLeaf('aia-unreachable', { caIssuersUrl: closedPortUrl });
  const revokedLeaf = await issueLeaf('revoked', { crlUrl: interCrl });
  await issueLeaf('stale', { crlUrl: server.url('/crl/inter-stale.crl') });
  await issueLeaf('cached', { crlUrl: server.url('/crl/inter-cached.crl') });
  await issueLeaf('down', { crlUrl: server.url('/crl/down.crl') });
  await issueLeaf('expired', {
    notBefore: new Date(Date.now() - 40 * DAY),
    notAfter: new Date(Date.now() - 10 * DAY),
  });
  await issueLeaf('future', {
    notBefore: new Date(Date.now() + 10 * DAY),
    notAfter: new Date(Date.now() + 40 * DAY),
  });
  await issueLeaf('sha1', { md: 'sha1' });
  await issueLeaf('rsa1024', { key: 'weak', bits: 1024 });

  // Odd intermediates, each with one leaf under it.
  const interRevoked = await intermediate('Revoked Intermediate');
  await issueLeaf('under-revoked', { issuer: interRevoked });
  await issueLeaf('under-sha1', {
    issuer: await intermediate('SHA-1 Intermediate', { md: 'sha1' }),
  });
  await issueLeaf('under-1024', {
    issuer: await intermediate('Weak Intermediate', { key: 'weak', bits: 1024 }),
  });
  await issueLeaf('under-not-ca', {
    // keyCertSign but cA=false: only the CA flag is wrong.
    issuer: await intermediate('Not A CA', {
      extensions: caExtensions({ ca: false }),
      asIssuer: true,
    }),
  });
  await issueLeaf('under-no-keycertsign', {
    issuer: await intermediate('No keyCertSign', {
      extensions: caExtensions({ keyUsage: 'digitalSignature,cRLSign' }),
    }),
  });
  const pathLenZero = await intermediate('PathLen Zero', {
    extensions: caExtensions({ pathLen: 0 }),
  });
  await issueLeaf('under-pathlen', {
    issuer: await intermediate('Below PathLen Zero', {
      issuer: pathLenZero,
      extensions: caExtensions(),
    }),
  });

  // risk-9: the attacker's root and intermediate carry the real names but their own key.
  const evilRoot = await pki.root('evil-root', {
    subject: '/O=Sealpost Tests/CN=Path Root',
    key: 'evil',
  });
  cas.set('evil-root', evilRoot);
  const evilInter = await pki.issue(evilRoot, 'evil-inter', {
    subject: '/O=Sealpost Tests/CN=Path Intermediate',
    key: 'evil',
    extensions: caExtensions(),
  });
  cas.set('evil-inter', evilInter);
  await issueLeaf('spoofed', { issuer: evilInter, key: 'evil' });
  await issueLeaf('spoofed-direct', { issuer: evilRoot, key: 'evil' });

  // A cross-certified pair X <-> Y (a loop) under no anchor.
  const x = await pki.root('cross-x', { subject: '/O=Loop/CN=X', key: 'x' });
  const y = await pki.root('cross-y', { subject: '/O=Loop/CN=Y', key: 'y' });
  cas.set(
    'x-by-y',
    await pki.issue(y, 'x-by-y', { subject: '/O=Loop/CN=X', key: 'x', extensions: caExtensions() }),
  );
  cas.set(
    'y-by-x',
    await pki.issue(x, 'y-by-x', { subject: '/O=Loop/CN=Y', key: 'y', extensions: caExtensions() }),
  );
  await issueLeaf('in-loop', { issuer: x });

  // Revocation, then the CRLs (after the revocations they must list).
  await pki.revoke(inter, revokedLeaf);
  await pki.revoke(root, interRevoked);
  const interCrlDer = await pki.crl(inter);
  server.set('/crl/inter.crl', { body: interCrlDer });
  server.set('/crl/inter-cached.crl', { body: interCrlDer });
  server.set('/crl/root.crl', { body: await pki.crl(root) });
  server.set('/crl/inter-stale.crl', {
    body: await pki.crl(inter, {
      lastUpdate: new Date(Date.now() - 3 * DAY),
      nextUpdate: new Date(Date.now() - DAY),
    }),
  });
  server.set('/crl/down.crl', { body: 'temporarily broken', status: 500 });

  // AIA answers: DER, PEM with junk around it, PKCS#7 certs-only in DER and PEM.
  server.set('/aia/inter.der', { body: inter.der });
  server.set('/aia/inter.pem', { body: `issued by the test CA\n${inter.pem}\ntrailing junk\n` });
  server.set('/aia/inter.p7c', { body: await pki.pkcs7([inter], 'DER') });
  server.set('/aia/inter-p7.pem', { body: await pki.pkcs7([inter], 'PEM') });
}, 60_000);

afterAll(async () => {
  await server?.close();
  await pki?.remove();
});

describe('path validation: the basic matrix', () => {
  it('valid leaf -> intermediate -> root is trusted, with both revocation answers good (hard)', async () => {
    const result = await validatePath(leaf('alice'), options({ revocation: 'hard', fetcher }));
    expect(result.reasons).toEqual([]);
    expect(result.trusted).toBe(true);
    expect(subjects(result)).toEqual([
      leaf('alice').subject,
      inter.cert.subject,
      root.cert.subject,
    ]);
    expect(result.anchor?.fingerprintSha256).toBe(root.cert.fingerprintSha256);
    expect(result.revocation.map((r) => r.status)).toEqual(['good', 'good']);
    expect(result.revocation[0]?.source).toContain('/crl/inter.crl');
    expect(result.revocation[1]?.source).toContain('/crl/root.crl');
  });

  it('an expired leaf is CERT_EXPIRED, naming the certificate and the date', async () => {
    const result = await validatePath(leaf('expired'), options());
    expect(result.trusted).toBe(false);
    expect(codesOf(result.reasons)).toEqual(['CERT_EXPIRED']);
    const message = reason(result, 'CERT_EXPIRED').message;
    expect(message).toContain('CN=expired');
    expect(message).toContain(leaf('expired').notAfter.toISOString());
  });

  it('a leaf not yet valid is CERT_NOT_YET_VALID', async () => {
    const result = await validatePath(leaf('future'), options());
    expect(result.trusted).toBe(false);
    expect(codesOf(result.reasons)).toEqual(['CERT_NOT_YET_VALID']);
    expect(reason(result, 'CERT_NOT_YET_VALID').message).toContain(
      leaf('future').notBefore.toISOString(),
    );
  });

  it('`at` decides validity: the expired leaf was trusted in its time', async () => {
    const result = await validatePath(
      leaf('expired'),
      options({ at: new Date(Date.now() - 20 * DAY) }),
    );
    expect(result.reasons).toEqual([]);
    expect(result.trusted).toBe(true);
  });

  it('a wrong anchor: CERT_UNTRUSTED, no anchor in the result', async () => {
    const result = await validatePath(leaf('alice'), options({ anchors: [otherRoot.cert] }));
    expect(result.trusted).toBe(false);
    expect(result.anchor).toBeUndefined();
    expect(codesOf(result.reasons)).toEqual(['CERT_UNTRUSTED', 'CHAIN_INCOMPLETE']);
    expect(reason(result, 'CERT_UNTRUSTED').message).toContain('CN=Other Root');
    expect(reason(result, 'CHAIN_INCOMPLETE').message).toContain('CN=Path Root');
  });

  it('no anchors at all: CERT_UNTRUSTED', async () => {
    const result = await validatePath(leaf('alice'), options({ anchors: [] }));
    expect(result.trusted).toBe(false);
    expect(codesOf(result.reasons)).toContain('CERT_UNTRUSTED');
  });

  it('the leaf itself configured as the anchor is trusted (Direct allows end-entity anchors)', async () => {
    const result = await validatePath(
      leaf('alice'),
      options({ anchors: [leaf('alice')], intermediates: [] }),
    );
    expect(result.trusted).toBe(true);
    expect(result.chain).toHaveLength(1);
  });

  it('risk-9: a certificate from spoofed DNS that does not chain to a configured anchor is untrusted (same-name intermediate and root, other key)', async () => {
    const result = await validatePath(
      leaf('spoofed'),
      options({ intermediates: [ca('evil-inter'), ca('evil-root'), inter.cert] }),
    );
    expect(result.trusted).toBe(false);
    expect(result.anchor).toBeUndefined();
    expect(codesOf(result.reasons)).toContain('CERT_UNTRUSTED');
    // Names match the real chain all the way; only the keys tell them apart.
    expect(subjects(result)).toEqual([
      leaf('spoofed').subject,
      inter.cert.subject,
      root.cert.subject,
    ]);
    expect(result.chain.at(-1)?.fingerprintSha256).toBe(ca('evil-root').fingerprintSha256);
    expect(reason(result, 'CERT_UNTRUSTED').message).toContain('same name but a different key');
  });

  it('risk-9: a certificate naming the anchor as issuer but signed by another key is untrusted', async () => {
    const result = await validatePath(leaf('spoofed-direct'), options({ intermediates: [] }));
    expect(result.trusted).toBe(false);
    expect(result.anchor).toBeUndefined();
    expect(codesOf(result.reasons)).toEqual(['CERT_UNTRUSTED']);
    expect(reason(result, 'CERT_UNTRUSTED').message).toContain('does not verify its signature');
  });

  it('a cross-certified loop ends: untrusted, no certificate twice', async () => {
    const result = await validatePath(
      leaf('in-loop'),
      options({ intermediates: [ca('x-by-y'), ca('y-by-x')] }),
    );
    expect(result.trusted).toBe(false);
    const fingerprints = result.chain.map((c) => c.fingerprintSha256);
    expect(new Set(fingerprints).size).toBe(fingerprints.length);
    expect(result.chain.length).toBeLessThanOrEqual(8);
  });
});

describe('path validation: AIA caIssuers', () => {
  it.each([
    ['DER', 'alice'],
    ['PEM', 'aia-pem'],
    ['PKCS#7 DER', 'aia-p7'],
    ['PKCS#7 PEM', 'aia-p7pem'],
  ])('fetches the missing intermediate from a %s answer', async (_form, name) => {
    const result = await validatePath(leaf(name), options({ intermediates: [], fetcher }));
    expect(result.reasons).toEqual([]);
    expect(result.trusted).toBe(true);
    expect(result.chain[1]?.fingerprintSha256).toBe(inter.cert.fingerprintSha256);
  });

  it('offline (no fetcher): CHAIN_INCOMPLETE saying the caIssuers were not fetched', async () => {
    const result = await validatePath(leaf('alice'), options({ intermediates: [] }));
    expect(result.trusted).toBe(false);
    expect(codesOf(result.reasons)).toEqual(['CERT_UNTRUSTED', 'CHAIN_INCOMPLETE']);
    expect(reason(result, 'CHAIN_INCOMPLETE').message).toContain('offline');
  });

  it('AIA unreachable (closed port) is CHAIN_INCOMPLETE with the fetch error', async () => {
    const result = await validatePath(
      leaf('aia-unreachable'),
      options({ intermediates: [], fetcher }),
    );
    expect(result.trusted).toBe(false);
    expect(codesOf(result.reasons)).toContain('CHAIN_INCOMPLETE');
    expect(reason(result, 'CHAIN_INCOMPLETE').message).toContain('ECONNREFUSED');
  });

  it('AIA answering 404 is CHAIN_INCOMPLETE with the status', async () => {
    const result = await validatePath(leaf('aia-missing'), options({ intermediates: [], fetcher }));
    expect(result.trusted).toBe(false);
    expect(reason(result, 'CHAIN_INCOMPLETE').message).toContain('HTTP 404');
  });

  it('an AiaCache keeps the fetched intermediate across validations, and a failure for a shorter time', async () => {
    let now = Date.parse('2026-11-26T12:00:00Z');
    const aiaCache = new AiaCache({ ttlMs: 60_000, failureTtlMs: 10_000, now: () => now });
    const path = '/aia/inter.der';
    const before = server.hits(path);
    for (let i = 0; i < 3; i++) {
      const result = await validatePath(
        leaf('alice'),
        options({ intermediates: [], fetcher, aiaCache }),
      );
      expect(result.trusted).toBe(true);
    }
    expect(server.hits(path) - before).toBe(1);
    now += 60_000; // expired: fetched again
    await validatePath(leaf('alice'), options({ intermediates: [], fetcher, aiaCache }));
    expect(server.hits(path) - before).toBe(2);

    const missing = '/aia/missing.der';
    const missingBefore = server.hits(missing);
    for (let i = 0; i < 2; i++) {
      const result = await validatePath(
        leaf('aia-missing'),
        options({ intermediates: [], fetcher, aiaCache }),
      );
      expect(reason(result, 'CHAIN_INCOMPLETE').message).toContain('HTTP 404');
    }
    expect(server.hits(missing) - missingBefore).toBe(1);
    now += 10_000;
    await validatePath(leaf('aia-missing'), options({ intermediates: [], fetcher, aiaCache }));
    expect(server.hits(missing) - missingBefore).toBe(2);
  });
});

describe('path validation: revocation', () => {
  it('a leaf revoked in the CRL (served over HTTP) is CERT_REVOKED, under every mode but off', async () => {
    for (const revocation of ['soft', 'hard'] as const) {
      const result = await validatePath(leaf('revoked'), options({ revocation, fetcher }));
      expect(result.trusted).toBe(false);
      expect(codesOf(result.reasons)).toEqual(['CERT_REVOKED']);
      expect(reason(result, 'CERT_REVOKED').message).toContain('keyCompromise');
      expect(result.revocation[0]).toMatchObject({ status: 'revoked' });
    }
    const off = await validatePath(leaf('revoked'), options({ revocation: 'off', fetcher }));
    expect(off.trusted).toBe(true);
    expect(off.revocation.map((r) => r.status)).toEqual(['not-checked', 'not-checked']);
  });

  it('a revoked intermediate is CERT_REVOKED naming the intermediate', async () => {
    const result = await validatePath(
      leaf('under-revoked'),
      options({ intermediates: [ca('Revoked Intermediate')], revocation: 'soft', fetcher }),
    );
    expect(result.trusted).toBe(false);
    expect(reason(result, 'CERT_REVOKED').message).toContain('CN=Revoked Intermediate');
  });

  it('CRLs given by the caller are used first, with no network', async () => {
    const interCrl = await fetcher.get(server.url('/crl/inter.crl'), { maxBytes: 1 << 20 });
    const rootCrl = await fetcher.get(server.url('/crl/root.crl'), { maxBytes: 1 << 20 });
    const revoked = await validatePath(
      leaf('revoked'),
      options({ revocation: 'hard', crls: [interCrl, rootCrl] }),
    );
    expect(codesOf(revoked.reasons)).toEqual(['CERT_REVOKED']);
    const good = await validatePath(
      leaf('alice'),
      options({ revocation: 'hard', crls: [interCrl, rootCrl] }),
    );
    expect(good.trusted).toBe(true);
    expect(good.revocation.map((r) => r.source)).toEqual(['given CRL', 'given CRL']);
  });

  it('a stale CRL gives REVOCATION_UNKNOWN: trusted under soft, untrusted under hard', async () => {
    const soft = await validatePath(leaf('stale'), options({ revocation: 'soft', fetcher }));
    expect(soft.trusted).toBe(true);
    expect(codesOf(soft.reasons)).toEqual(['REVOCATION_UNKNOWN']);
    expect(reason(soft, 'REVOCATION_UNKNOWN').message).toContain('stale');
    expect(reason(soft, 'REVOCATION_UNKNOWN').message).toContain('soft-fail');
    const hard = await validatePath(leaf('stale'), options({ revocation: 'hard', fetcher }));
    expect(hard.trusted).toBe(false);
    expect(codesOf(hard.reasons)).toEqual(['REVOCATION_UNKNOWN']);
    expect(reason(hard, 'REVOCATION_UNKNOWN').message).toContain('hard-fail');
  });

  it('risk-12: revocation answers are cached until nextUpdate (HTTP hits counted)', async () => {
    const path = '/crl/inter-cached.crl';
    const before = server.hits(path);
    let clock = new Date();
    const cache = new CrlCache({ now: () => clock });
    for (let i = 0; i < 3; i++) {
      const result = await validatePath(
        leaf('cached'),
        options({ revocation: 'hard', fetcher, crlCache: cache }),
      );
      expect(result.trusted).toBe(true);
      expect(result.revocation[0]?.source).toMatch(i === 0 ? /^http/ : /^cache: /);
    }
    expect(server.hits(path) - before).toBe(1);
    // Past nextUpdate the cached CRL is gone and the distribution point is asked again.
    clock = new Date(Date.now() + 2 * DAY);
    await validatePath(leaf('cached'), options({ revocation: 'soft', fetcher, crlCache: cache }));
    expect(server.hits(path) - before).toBe(2);
    // Without a cache every validation asks.
    await validatePath(leaf('cached'), options({ revocation: 'hard', fetcher }));
    expect(server.hits(path) - before).toBe(3);
  });

  it('risk-12: a CRL server that fails is soft/hard-fail, explicit and visible, and asked once per failure period', async () => {
    const path = '/crl/down.crl';
    const before = server.hits(path);
    const cache = new CrlCache();
    const { logger, records } = captureLogger();
    const soft = await validatePath(
      leaf('down'),
      options({ revocation: 'soft', fetcher, crlCache: cache, logger }),
    );
    expect(soft.trusted).toBe(true);
    expect(codesOf(soft.reasons)).toEqual(['REVOCATION_UNKNOWN']);
    expect(reason(soft, 'REVOCATION_UNKNOWN').message).toContain('HTTP 500');
    expect(soft.revocation[0]?.status).toBe('unknown');
    const hard = await validatePath(
      leaf('down'),
      options({ revocation: 'hard', fetcher, crlCache: cache, logger }),
    );
    expect(hard.trusted).toBe(false);
    expect(reason(hard, 'REVOCATION_UNKNOWN').message).toContain('remembered');
    expect(server.hits(path) - before).toBe(1);
    // Both decisions are in the log as warnings, with the codes.
    const warnings = records().filter((r) => r['level'] === 'warn');
    expect(
      warnings.some((r) => r['msg'] === 'certificate path trusted with soft-fail revocation'),
    ).toBe(true);
    expect(warnings.some((r) => r['msg'] === 'certificate path rejected')).toBe(true);
  });

  it('a CRL distribution point that is unreachable (closed port) under hard fails trust', async () => {
    const unreachable = await pki.issue(inter, 'crl-unreachable', {
      subject: '/O=Sealpost Tests/CN=crl-unreachable',
      key: 'ee',
      extensions: leafExtensions({ email: 'x@example.test', crlUrl: closedPortUrl }),
    });
    const result = await validatePath(unreachable.cert, options({ revocation: 'hard', fetcher }));
    expect(result.trusted).toBe(false);
    expect(reason(result, 'REVOCATION_UNKNOWN').message).toContain('ECONNREFUSED');
  });
});

describe('path validation: CA, key usage and algorithm checks', () => {
  it('an intermediate without the CA flag is CERT_NOT_CA', async () => {
    const result = await validatePath(
      leaf('under-not-ca'),
      options({ intermediates: [ca('Not A CA')] }),
    );
    expect(result.trusted).toBe(false);
    expect(codesOf(result.reasons)).toEqual(['CERT_NOT_CA']);
    expect(reason(result, 'CERT_NOT_CA').message).toContain('CN=Not A CA');
  });

  it('an intermediate whose key usage lacks keyCertSign is CERT_KEY_USAGE', async () => {
    const result = await validatePath(
      leaf('under-no-keycertsign'),
      options({ intermediates: [ca('No keyCertSign')] }),
    );
    expect(result.trusted).toBe(false);
    expect(codesOf(result.reasons)).toEqual(['CERT_KEY_USAGE']);
    expect(reason(result, 'CERT_KEY_USAGE').message).toContain('keyCertSign');
  });

  it('pathLenConstraint 0 with an intermediate below it is CERT_NOT_CA', async () => {
    const result = await validatePath(
      leaf('under-pathlen'),
      options({ intermediates: [ca('PathLen Zero'), ca('Below PathLen Zero')] }),
    );
    expect(result.trusted).toBe(false);
    expect(codesOf(result.reasons)).toEqual(['CERT_NOT_CA']);
    expect(reason(result, 'CERT_NOT_CA').message).toContain('pathLenConstraint');
  });

  it('a leaf key-usage mismatch is the policy check, not the path', async () => {
    const noEncipherment = await pki.issue(inter, 'sign-only', {
      subject: '/O=Sealpost Tests/CN=sign-only',
      key: 'ee',
      extensions: leafExtensions({ email: 'sign-only@example.test', keyUsage: 'digitalSignature' }),
    });
    const path = await validatePath(noEncipherment.cert, options());
    expect(path.trusted).toBe(true);
    const policy = checkDirectCertificate(noEncipherment.cert, {
      address: 'sign-only@example.test',
      usage: 'encrypt',
      at: new Date(),
    });
    expect(codesOf(policy)).toEqual(['CERT_KEY_USAGE']);
  });

  it('a SHA-1-signed leaf is CERT_WEAK_SIGNATURE', async () => {
    const result = await validatePath(leaf('sha1'), options());
    expect(result.trusted).toBe(false);
    expect(codesOf(result.reasons)).toEqual(['CERT_WEAK_SIGNATURE']);
    expect(reason(result, 'CERT_WEAK_SIGNATURE').message).toContain('sha1WithRSAEncryption');
  });

  it('a SHA-1-signed intermediate is CERT_WEAK_SIGNATURE naming the intermediate', async () => {
    const result = await validatePath(
      leaf('under-sha1'),
      options({ intermediates: [ca('SHA-1 Intermediate')] }),
    );
    expect(result.trusted).toBe(false);
    expect(codesOf(result.reasons)).toEqual(['CERT_WEAK_SIGNATURE']);
    expect(reason(result, 'CERT_WEAK_SIGNATURE').message).toContain('CN=SHA-1 Intermediate');
  });

  it('RSA-1024 in the chain is WEAK_KEY (leaf and intermediate)', async () => {
    const weakLeaf = await validatePath(leaf('rsa1024'), options());
    expect(codesOf(weakLeaf.reasons)).toEqual(['WEAK_KEY']);
    const weakInter = await validatePath(
      leaf('under-1024'),
      options({ intermediates: [ca('Weak Intermediate')] }),
    );
    expect(weakInter.trusted).toBe(false);
    expect(codesOf(weakInter.reasons)).toEqual(['WEAK_KEY']);
    expect(reason(weakInter, 'WEAK_KEY').message).toContain('CN=Weak Intermediate');
  });

  it('reports every problem at once and logs the rejection for monitoring (risks 10/11)', async () => {
    const { logger, records } = captureLogger();
    const result = await validatePath(
      leaf('under-1024'),
      options({
        intermediates: [ca('Weak Intermediate')],
        at: new Date(Date.now() + 400 * DAY),
        logger,
      }),
    );
    expect(codesOf(result.reasons)).toEqual(['CERT_EXPIRED', 'WEAK_KEY']);
    // The leaf, the intermediate and the anchor each expired: one reason each.
    expect(result.reasons.filter((r) => r.code === 'CERT_EXPIRED')).toHaveLength(3);
    const line = records().find((r) => r['msg'] === 'certificate path rejected');
    expect(line).toMatchObject({
      level: 'warn',
      component: 'certs.path',
      fingerprintSha256: leaf('under-1024').fingerprintSha256,
      certificate: leaf('under-1024').subject,
      codes: expect.arrayContaining(['CERT_EXPIRED', 'WEAK_KEY']) as unknown,
    });
  });
});

describe('path validation: the Java reference implementation certificates', () => {
  let simpleInterop: ParsedCertificate;
  let ryan: ParsedCertificate;
  let cernerRoot: ParsedCertificate;
  const inside = new Date('2030-06-01T00:00:00Z');

  beforeAll(async () => {
    simpleInterop = await interopCert('secureHealthEmailCACert.der');
    ryan = await interopCert('ryan.der');
    cernerRoot = await interopCert('cacert.der');
  });

  it('ryan.der chains to secureHealthEmailCACert.der; SimpleInterop signed it with SHA-1, the only failing check', async () => {
    const result = await validatePath(ryan, {
      anchors: [simpleInterop],
      at: inside,
      revocation: 'off',
      logger: createSilentLogger(),
    });
    expect(result.anchor?.fingerprintSha256).toBe(simpleInterop.fingerprintSha256);
    expect(result.chain.map((c) => c.fingerprintSha256)).toEqual([
      ryan.fingerprintSha256,
      simpleInterop.fingerprintSha256,
    ]);
    expect(codesOf(result.reasons)).toEqual(['CERT_WEAK_SIGNATURE']);
    expect(result.trusted).toBe(false);
    // Soft revocation: no CRL distribution point, reported and trust otherwise unaffected.
    const soft = await validatePath(ryan, {
      anchors: [simpleInterop],
      at: inside,
      revocation: 'soft',
      logger: createSilentLogger(),
    });
    expect(codesOf(soft.reasons)).toEqual(['CERT_WEAK_SIGNATURE', 'REVOCATION_UNKNOWN']);
  });

  it('a SHA-256 certificate issued by the real SimpleInterop key is trusted under that anchor (its own SHA-1 self-signature does not matter)', async () => {
    const keyPem = join(pki.dir, 'simpleinterop-key.pem');
    await run(openssl(), [
      'pkey',
      '-inform',
      'DER',
      '-in',
      join(INTEROP_DIR, 'java-ri', 'secureHealthEmailCACertKey.der'),
      '-out',
      keyPem,
    ]);
    const csr = join(pki.dir, 'si-leaf.csr');
    await run(openssl(), [
      'req',
      '-new',
      '-key',
      await pki.key('ee'),
      '-subj',
      '/O=Sealpost Tests/CN=si-leaf',
      '-out',
      csr,
    ]);
    const ext = join(pki.dir, 'si-leaf.ext');
    await writeFile(
      ext,
      `${leafExtensions({ email: 'newuser@securehealthemail.com' })
        .filter((l) => !l.startsWith('authorityKeyIdentifier'))
        .join('\n')}\n`,
    );
    const out = join(pki.dir, 'si-leaf.der');
    await run(openssl(), [
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      join(INTEROP_DIR, 'java-ri', 'secureHealthEmailCACert.der'),
      '-CAform',
      'DER',
      '-CAkey',
      keyPem,
      '-set_serial',
      '0x1234567',
      '-days',
      '30',
      '-sha256',
      '-extfile',
      ext,
      '-outform',
      'DER',
      '-out',
      out,
    ]);
    const cert = parseCertificate(await readFile(out));
    const result = await validatePath(cert, {
      anchors: [simpleInterop],
      revocation: 'off',
      logger: createSilentLogger(),
    });
    expect(result.reasons).toEqual([]);
    expect(result.trusted).toBe(true);
    expect(addressBinding(cert, 'newuser@securehealthemail.com')).toBe('address');
  });

  it('ryan.der does NOT chain to cacert.der (a different root)', async () => {
    const alone = await validatePath(ryan, {
      anchors: [cernerRoot],
      at: inside,
      revocation: 'off',
      logger: createSilentLogger(),
    });
    expect(alone.trusted).toBe(false);
    expect(alone.anchor).toBeUndefined();
    expect(codesOf(alone.reasons)).toContain('CERT_UNTRUSTED');
    // Even with SimpleInterop offered as an intermediate, the path ends at an untrusted root.
    const offered = await validatePath(ryan, {
      anchors: [cernerRoot],
      intermediates: [simpleInterop],
      at: inside,
      revocation: 'off',
      logger: createSilentLogger(),
    });
    expect(offered.trusted).toBe(false);
    expect(reason(offered, 'CERT_UNTRUSTED').message).toContain('CN=SimpleInterop');
  });

  it('certCheckA.der via CheckSignatureCA.der is rejected: SHA-1-signed (both keys measure 2048 bits, not the 1024/MD5 the README says)', async () => {
    const checkCa = await interopCert('CheckSignatureCA.der');
    const certCheckA = await interopCert('certCheckA.der');
    const result = await validatePath(certCheckA, {
      anchors: [checkCa],
      at: inside,
      revocation: 'off',
      logger: createSilentLogger(),
    });
    expect(result.trusted).toBe(false);
    expect(result.anchor?.fingerprintSha256).toBe(checkCa.fingerprintSha256);
    expect(codesOf(result.reasons)).toEqual(['CERT_WEAK_SIGNATURE']);
    expect([certCheckA.publicKey.bits, checkCa.publicKey.bits]).toEqual([2048, 2048]);
  });

  it('expired.der is CERT_EXPIRED (and RSA-1024, SHA-1, issuer not available)', async () => {
    const expired = await interopCert('expired.der');
    const result = await validatePath(expired, {
      anchors: [simpleInterop],
      revocation: 'soft',
      logger: createSilentLogger(),
    });
    expect(result.trusted).toBe(false);
    expect(codesOf(result.reasons)).toEqual([
      'CERT_EXPIRED',
      'CERT_UNTRUSTED',
      'CERT_WEAK_SIGNATURE',
      'CHAIN_INCOMPLETE',
      'WEAK_KEY',
    ]);
    expect(reason(result, 'CERT_EXPIRED').message).toContain('2010-12-03');
  });

  it('cernerdemos.der chains to cernerDemosCaCert.der and binds the domain messaging.cernerdemos.com', async () => {
    const cert = await interopCert('cernerdemos.der');
    const root = await interopCert('cernerDemosCaCert.der');
    const result = await validatePath(cert, {
      anchors: [root],
      at: inside,
      revocation: 'off',
      logger: createSilentLogger(),
    });
    expect(result.anchor?.fingerprintSha256).toBe(root.fingerprintSha256);
    expect(codesOf(result.reasons)).toEqual(['CERT_WEAK_SIGNATURE']);
    expect(addressBinding(cert, 'anyone@messaging.cernerdemos.com')).toBe('domain');
  });
});
