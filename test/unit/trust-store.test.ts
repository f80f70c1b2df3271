import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HispError } from '../../hisp/api/errors.js';
import type { ParsedCertificate } from '../../hisp/certs/certificate.js';
import { normaliseDomain, TrustStore } from '../../hisp/certs/trust/store.js';
import { EncryptedDatabase } from '../../hisp/store/database.js';
import { caExtensions, TestPki } from './certs-fixtures.js';

let pki: TestPki;
let dir: string;
let rootA: ParsedCertificate;
let rootB: ParsedCertificate;
let rootC: ParsedCertificate;
let db: EncryptedDatabase;
let store: TrustStore;

beforeAll(async () => {
  pki = await TestPki.create('trust-store');
  dir = await mkdtemp(join(tmpdir(), 'sealpost-trust-'));
  [rootA, rootB, rootC] = (
    await Promise.all(
      ['A', 'B', 'C'].map((name) =>
        pki.root(`root-${name}`, {
          subject: `/O=Trust Store Tests/CN=Root ${name}`,
          extensions: caExtensions(),
        }),
      ),
    )
  ).map((issued) => issued.cert) as [ParsedCertificate, ParsedCertificate, ParsedCertificate];
});

afterAll(async () => {
  db.close();
  await pki.remove();
  await rm(dir, { recursive: true, force: true });
});

let counter = 0;
beforeEach(() => {
  if (counter > 0) db.close();
  db = EncryptedDatabase.open({ file: join(dir, `db-${counter++}`), key: randomBytes(32) });
  store = new TrustStore(db, { now: () => new Date('2026-11-26T12:00:00Z') });
});

function codeOf(work: () => unknown): string | undefined {
  try {
    work();
  } catch (error) {
    return error instanceof HispError ? error.code : `not a HispError: ${String(error)}`;
  }
  return undefined;
}

const fp = (cert: ParsedCertificate) => cert.fingerprintSha256;

describe('trust store: anchors by hand', () => {
  it('keeps inbound and outbound apart, per local domain, with "*" serving every domain', () => {
    store.addAnchors([rootA], { domain: 'clinic-a.example', direction: 'inbound' });
    store.addAnchors([rootB], { domain: 'clinic-a.example', direction: 'outbound' });
    store.addAnchors([rootC], { domain: '*', direction: 'both' });
    expect(store.anchorsFor('clinic-a.example', 'inbound').map(fp)).toEqual([fp(rootA), fp(rootC)]);
    expect(store.anchorsFor('clinic-a.example', 'outbound').map(fp)).toEqual([
      fp(rootB),
      fp(rootC),
    ]);
    expect(store.anchorsFor('CLINIC-B.example.', 'inbound').map(fp)).toEqual([fp(rootC)]);
    expect(store.anchorsFor('clinic-b.example', 'outbound').map(fp)).toEqual([fp(rootC)]);
  });

  it('adding the same anchor twice is reported, not duplicated', () => {
    const first = store.addAnchors([rootA, rootB], { domain: 'a.example', direction: 'both' });
    expect(first).toEqual({ added: [fp(rootA), fp(rootB)], already: [] });
    const second = store.addAnchors([rootA], { domain: 'a.example', direction: 'inbound' });
    expect(second).toEqual({ added: [], already: [fp(rootA)] });
    expect(store.listAnchors({ domain: 'a.example' })).toHaveLength(4);
  });

  it('lists with origin, subject and expiry', () => {
    store.addAnchors([rootA], { domain: 'a.example', direction: 'inbound' });
    const [anchor] = store.listAnchors();
    expect(anchor).toMatchObject({
      fingerprintSha256: fp(rootA),
      subject: rootA.subject,
      notAfter: rootA.notAfter.toISOString(),
      domain: 'a.example',
      direction: 'inbound',
      origin: { kind: 'manual' },
      addedAt: '2026-11-26T12:00:00.000Z',
    });
  });

  it('removes by fingerprint prefix, optionally for one domain or direction only', () => {
    store.addAnchors([rootA], { domain: 'a.example', direction: 'both' });
    store.addAnchors([rootA], { domain: 'b.example', direction: 'both' });
    const removed = store.removeAnchor(fp(rootA).slice(0, 12), {
      domain: 'a.example',
      direction: 'outbound',
    });
    expect(removed.map((anchor) => [anchor.domain, anchor.direction])).toEqual([
      ['a.example', 'outbound'],
    ]);
    expect(store.anchorsFor('a.example', 'outbound')).toEqual([]);
    expect(store.anchorsFor('a.example', 'inbound').map(fp)).toEqual([fp(rootA)]);
    expect(store.removeAnchor(fp(rootA).toUpperCase())).toHaveLength(3);
    expect(store.listAnchors()).toEqual([]);
  });

  it('unknown, too short or ambiguous fingerprints are typed errors', () => {
    store.addAnchors([rootA], { domain: 'a.example', direction: 'inbound' });
    expect(codeOf(() => store.removeAnchor('0000000000'))).toBe('ANCHOR_NOT_FOUND');
    expect(codeOf(() => store.removeAnchor('abc'))).toBe('BAD_REQUEST');
    expect(codeOf(() => store.removeAnchor('not hex at all'))).toBe('BAD_REQUEST');
  });

  it('domain names are checked and normalised', () => {
    expect(normaliseDomain(' Clinic.Example. ')).toBe('clinic.example');
    expect(normaliseDomain('*')).toBe('*');
    for (const bad of ['', 'a..b', '-a.example', 'a b.example', '*.example', 'x'.repeat(64)]) {
      expect(
        codeOf(() => normaliseDomain(bad)),
        bad,
      ).toBe('BAD_REQUEST');
    }
  });
});

describe('trust store: bundles', () => {
  const bundle = {
    name: 'directtrust',
    source: 'https://bundles.example/accredited.p7b',
    domain: '*',
    direction: 'both' as const,
    refreshSeconds: 86400,
    requireSigned: true,
  };
  const content = (anchors: ParsedCertificate[], digest: string) => ({
    digestSha256: digest,
    signed: true,
    signer: { subject: 'CN=Bundle Signer' },
    anchors,
  });

  it('every anchor shows the bundle it came from; the bundle shows its state', () => {
    store.addBundle({ ...bundle, signers: [rootC] });
    const change = store.applyBundle('directtrust', content([rootA, rootB], 'd1'));
    expect(change).toEqual({ added: [fp(rootA), fp(rootB)], removed: [], unchanged: false });
    expect(
      store
        .listAnchors({ direction: 'inbound' })
        .map((anchor) => [anchor.fingerprintSha256, anchor.origin]),
    ).toEqual([
      [fp(rootA), { kind: 'bundle', name: 'directtrust' }],
      [fp(rootB), { kind: 'bundle', name: 'directtrust' }],
    ]);
    const [record] = store.listBundles();
    expect(record).toMatchObject({
      name: 'directtrust',
      source: bundle.source,
      domain: '*',
      direction: 'both',
      refreshSeconds: 86400,
      requireSigned: true,
      digestSha256: 'd1',
      signed: true,
      signer: 'CN=Bundle Signer',
      anchorCount: 2,
      checkedAt: '2026-11-26T12:00:00.000Z',
      changedAt: '2026-11-26T12:00:00.000Z',
    });
    expect(record?.signers.map(fp)).toEqual([fp(rootC)]);
  });

  it('the same bytes again are not re-imported', () => {
    store.addBundle({ ...bundle, signers: [] });
    store.applyBundle('directtrust', content([rootA], 'd1'));
    const before = store.listAnchors();
    expect(store.applyBundle('directtrust', content([rootB], 'd1'))).toEqual({
      added: [],
      removed: [],
      unchanged: true,
    });
    expect(store.listAnchors()).toEqual(before);
  });

  it('a refresh adds and removes anchors, and never touches anchors added by hand', () => {
    store.addBundle({ ...bundle, signers: [] });
    store.addAnchors([rootA], { domain: 'a.example', direction: 'inbound' });
    store.applyBundle('directtrust', content([rootA, rootB], 'd1'));
    const change = store.applyBundle('directtrust', content([rootC], 'd2'));
    expect(change).toEqual({
      added: [fp(rootC)],
      removed: [fp(rootA), fp(rootB)],
      unchanged: false,
    });
    expect(store.anchorsFor('a.example', 'inbound').map(fp)).toEqual([fp(rootA), fp(rootC)]);
    expect(store.anchorsFor('z.example', 'inbound').map(fp)).toEqual([fp(rootC)]);
  });

  it('a bundle anchor cannot be removed by hand; removing the bundle removes its anchors', () => {
    store.addBundle({ ...bundle, signers: [] });
    store.applyBundle('directtrust', content([rootB], 'd1'));
    const error = (() => {
      try {
        store.removeAnchor(fp(rootB));
      } catch (caught) {
        return caught as HispError;
      }
      return undefined;
    })();
    expect(error?.code).toBe('ANCHOR_NOT_FOUND');
    expect(error?.message).toMatch(/trust bundle directtrust/);
    store.removeBundle('directtrust');
    expect(store.listAnchors()).toEqual([]);
    expect(store.listBundles()).toEqual([]);
  });

  it('a failed refresh keeps the anchors and records why; the next success clears it', () => {
    store.addBundle({ ...bundle, signers: [] });
    store.applyBundle('directtrust', content([rootA], 'd1'));
    store.recordBundleFailure('directtrust', {
      code: 'BUNDLE_SIGNATURE_INVALID',
      message: 'The signature does not match.',
    });
    expect(store.getBundle('directtrust').lastError).toBe(
      'BUNDLE_SIGNATURE_INVALID: The signature does not match.',
    );
    expect(store.anchorsFor('a.example', 'outbound').map(fp)).toEqual([fp(rootA)]);
    store.applyBundle('directtrust', content([rootA], 'd1'));
    expect(store.getBundle('directtrust').lastError).toBeUndefined();
  });

  it('names are unique and checked; unknown bundles are ANCHOR_NOT_FOUND', () => {
    store.addBundle({ ...bundle, signers: [] });
    expect(codeOf(() => store.addBundle({ ...bundle, signers: [] }))).toBe('BAD_REQUEST');
    expect(codeOf(() => store.addBundle({ ...bundle, name: '../x', signers: [] }))).toBe(
      'BAD_REQUEST',
    );
    expect(
      codeOf(() => store.addBundle({ ...bundle, name: 'n', refreshSeconds: -1, signers: [] })),
    ).toBe('BAD_REQUEST');
    expect(codeOf(() => store.getBundle('nope'))).toBe('ANCHOR_NOT_FOUND');
    expect(codeOf(() => store.applyBundle('nope', content([], 'x')))).toBe('ANCHOR_NOT_FOUND');
  });
});
