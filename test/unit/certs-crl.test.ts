import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { AGENT_LIMITS } from '../../hisp/agent/limits.js';
import { HispError } from '../../hisp/api/errors.js';
import { CrlCache, checkCrl, parseCrl, readCrl, type ParsedCrl } from '../../hisp/certs/crl.js';
import { run } from '../services/proc.js';
import {
  DAY,
  TestPki,
  caExtensions,
  leafExtensions,
  openssl,
  type Issued,
} from './certs-fixtures.js';

function codeOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    if (error instanceof HispError) return error.code;
    throw error;
  }
  return 'NO_ERROR';
}

describe('CRLs made by openssl ca', () => {
  let pki: TestPki;
  let ca: Issued;
  let impostor: Issued;
  let noCrlSign: Issued;
  let good: Issued;
  let revoked: Issued;
  let crlDer: Buffer;
  let crlPem: Buffer;
  let staleDer: Buffer;
  let sha1Der: Buffer;
  let impostorCrl: Buffer;
  let noCrlSignCrl: Buffer;
  let noCrlSignLeaf: Issued;
  const now = new Date();

  beforeAll(async () => {
    pki = await TestPki.create('certs-crl');
    ca = await pki.root('crl-ca', { subject: '/O=Sealpost Tests/CN=CRL CA' });
    // Same name, another key: its CRLs must not count for ca's certificates.
    impostor = await pki.root('crl-impostor', {
      subject: '/O=Sealpost Tests/CN=CRL CA',
      key: 'impostor',
    });
    noCrlSign = await pki.root('crl-nocrlsign', {
      subject: '/O=Sealpost Tests/CN=No CRL Sign CA',
      extensions: caExtensions({ aki: false, keyUsage: 'keyCertSign' }),
    });
    const leaf = (issuer: Issued, name: string) =>
      pki.issue(issuer, name, {
        subject: `/O=Sealpost Tests/CN=${name}`,
        key: 'ee',
        extensions: leafExtensions({ email: `${name}@example.test` }),
      });
    good = await leaf(ca, 'crl-good');
    revoked = await leaf(ca, 'crl-revoked');
    noCrlSignLeaf = await leaf(noCrlSign, 'crl-nocrlsign-leaf');
    await pki.revoke(ca, revoked, 'keyCompromise');
    crlDer = await pki.crl(ca);
    staleDer = await pki.crl(ca, {
      lastUpdate: new Date(now.getTime() - 3 * DAY),
      nextUpdate: new Date(now.getTime() - DAY),
    });
    sha1Der = await pki.crl(ca, { md: 'sha1' });
    impostorCrl = await pki.crl(impostor);
    noCrlSignCrl = await pki.crl(noCrlSign);
    const pemPath = join(pki.dir, 'crl.pem');
    await writeFile(join(pki.dir, 'crl.der'), crlDer);
    await run(openssl(), [
      'crl',
      '-inform',
      'DER',
      '-in',
      join(pki.dir, 'crl.der'),
      '-out',
      pemPath,
    ]);
    crlPem = Buffer.from(`leading text\n${await readFile(pemPath, 'utf8')}`);
  });
  afterAll(() => pki.remove());

  it('reads issuer, dates, number and the revoked serial with its reason', () => {
    const crl = parseCrl(crlDer);
    expect(crl.issuer).toBe('CN=CRL CA,O=Sealpost Tests');
    expect(crl.issuerDer.equals(ca.cert.subjectDer)).toBe(true);
    expect(crl.thisUpdate.getTime()).toBeLessThan(now.getTime());
    expect(crl.nextUpdate?.getTime()).toBeGreaterThan(now.getTime());
    expect(crl.crlNumber).toBe('01');
    expect(crl.authorityKeyId).toBe(ca.cert.subjectKeyId);
    expect(crl.revokedCount).toBe(1);
    expect(crl.lookup(good.cert.serialHex)).toBeUndefined();
    expect(crl.lookup(revoked.cert.serialHex)).toMatchObject({ reason: 1 });
    expect(crl.signatureAlgorithm.hash).toBe('sha256');
  });

  it('reads PEM "X509 CRL" too', () => {
    expect(readCrl(crlPem).fingerprintSha256).toBe(parseCrl(crlDer).fingerprintSha256);
  });

  it('checkCrl: good, revoked (with date and reason), stale', () => {
    const crl = parseCrl(crlDer);
    expect(checkCrl(crl, good.cert, ca.cert, now, 'test').status).toBe('good');
    const verdict = checkCrl(crl, revoked.cert, ca.cert, now, 'test');
    expect(verdict.status).toBe('revoked');
    expect(verdict.detail).toContain('keyCompromise');
    const stale = checkCrl(parseCrl(staleDer), good.cert, ca.cert, now, 'test');
    expect(stale.status).toBe('stale');
    expect(stale.detail).toContain(parseCrl(staleDer).nextUpdate?.toISOString() ?? 'missing');
    // A CRL is judged at the validation time: the same stale CRL answered in its day.
    expect(
      checkCrl(parseCrl(staleDer), good.cert, ca.cert, new Date(now.getTime() - 2 * DAY), 'test')
        .status,
    ).toBe('good');
  });

  it('checkCrl: a same-name CRL signed by another key is unusable', () => {
    const verdict = checkCrl(parseCrl(impostorCrl), good.cert, ca.cert, now, 'test');
    expect(verdict.status).toBe('unusable');
    expect(verdict.detail).toMatch(/names key|does not verify/);
  });

  it('checkCrl: a CRL from an issuer without cRLSign is unusable', () => {
    const verdict = checkCrl(
      parseCrl(noCrlSignCrl),
      noCrlSignLeaf.cert,
      noCrlSign.cert,
      now,
      'test',
    );
    expect(verdict.status).toBe('unusable');
    expect(verdict.detail).toContain('cRLSign');
  });

  it('checkCrl: a SHA-1-signed CRL is unusable', () => {
    const verdict = checkCrl(parseCrl(sha1Der), good.cert, ca.cert, now, 'test');
    expect(verdict.status).toBe('unusable');
    expect(verdict.detail).toContain('sha1WithRSAEncryption');
  });

  it('checkCrl: a CRL of another issuer does not answer', () => {
    const verdict = checkCrl(parseCrl(crlDer), noCrlSignLeaf.cert, noCrlSign.cert, now, 'test');
    expect(verdict.status).toBe('unusable');
  });

  it('checkCrl: a CRL whose signature was altered does not verify', () => {
    const tampered = Buffer.from(crlDer);
    const last = tampered.length - 1;
    tampered.writeUInt8(tampered.readUInt8(last) ^ 0x01, last);
    const verdict = checkCrl(parseCrl(tampered), good.cert, ca.cert, now, 'test');
    expect(verdict.status).toBe('unusable');
    expect(verdict.detail).toContain('does not verify');
  });

  it('risk-16: garbage, truncation, trailing bytes and oversize are typed errors', () => {
    expect(codeOf(() => parseCrl(Buffer.from('garbage')))).toBe('CERT_MALFORMED');
    expect(codeOf(() => readCrl(Buffer.from('garbage')))).toBe('CERT_MALFORMED');
    for (let length = 0; length < crlDer.length; length += 5) {
      expect(codeOf(() => parseCrl(crlDer.subarray(0, length)))).toBe('CERT_MALFORMED');
    }
    expect(codeOf(() => parseCrl(Buffer.concat([crlDer, Buffer.from([0])])))).toBe(
      'CERT_MALFORMED',
    );
    expect(codeOf(() => parseCrl(Buffer.from([0x30, 0x84, 0x7f, 0xff, 0xff, 0xff])))).toBe(
      'CERT_MALFORMED',
    );
    expect(codeOf(() => parseCrl(Buffer.alloc(AGENT_LIMITS.crlBytes + 1)))).toBe('LIMIT_EXCEEDED');
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    for (let i = 0; i < 500; i++) {
      const mutant = Buffer.from(crlDer);
      mutant[random() % mutant.length] = random() & 0xff;
      expect(['NO_ERROR', 'CERT_MALFORMED']).toContain(codeOf(() => parseCrl(mutant)));
    }
  });

  it('reads a CRL with 50,000 entries and finds the last one', async () => {
    // An index.txt written directly (as `openssl ca -revoke` would), then `openssl ca -gencrl`.
    const bigCa = await pki.root('crl-big', { subject: '/O=Sealpost Tests/CN=Big CRL CA' });
    const lines: string[] = [];
    for (let i = 0; i < 50_000; i++) {
      lines.push(
        `R\t301231000000Z\t250101000000Z\t${(0x100000 + i).toString(16).toUpperCase()}\tunknown\t/CN=x${i}`,
      );
    }
    await writeFile(join(bigCa.caDir, 'index.txt'), `${lines.join('\n')}\n`);
    const der = await pki.crl(bigCa);
    const crl = parseCrl(der);
    expect(crl.revokedCount).toBe(50_000);
    expect(crl.lookup((0x100000 + 49_999).toString(16))).toBeDefined();
    expect(crl.lookup('0fffff')).toBeUndefined();
  });
});

describe('CrlCache', () => {
  let pki: TestPki;
  let ca: Issued;
  let fresh: ParsedCrl;

  beforeAll(async () => {
    pki = await TestPki.create('certs-crlcache');
    ca = await pki.root('cache-ca');
    fresh = parseCrl(
      await pki.crl(ca, {
        lastUpdate: new Date('2030-01-01T00:00:00Z'),
        nextUpdate: new Date('2030-01-02T00:00:00Z'),
      }),
    );
  });
  afterAll(() => pki.remove());

  it('keeps a CRL until its nextUpdate, by the injected clock', () => {
    let clock = new Date('2030-01-01T12:00:00Z');
    const cache = new CrlCache({ now: () => clock });
    cache.set('http://a/crl', fresh);
    expect(cache.get('http://a/crl')).toBe(fresh);
    clock = new Date('2030-01-01T23:59:59Z');
    expect(cache.get('http://a/crl')).toBe(fresh);
    clock = new Date('2030-01-02T00:00:00Z');
    expect(cache.get('http://a/crl')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('does not keep a CRL that is already past its nextUpdate', () => {
    const cache = new CrlCache({ now: () => new Date('2031-01-01T00:00:00Z') });
    cache.set('http://a/crl', fresh);
    expect(cache.get('http://a/crl')).toBeUndefined();
  });

  it('remembers failures for failureTtlMs (risk-12: a dead CRL server costs one attempt per period)', () => {
    let clock = new Date('2030-01-01T00:00:00Z');
    const cache = new CrlCache({ now: () => clock, failureTtlMs: 60_000 });
    cache.setFailure('http://dead/crl', 'HTTP 500');
    expect(cache.failure('http://dead/crl')).toBe('HTTP 500');
    clock = new Date(clock.getTime() + 60_000);
    expect(cache.failure('http://dead/crl')).toBeUndefined();
  });

  it('drops the oldest entries above maxEntries', () => {
    const cache = new CrlCache({ now: () => new Date('2030-01-01T12:00:00Z'), maxEntries: 2 });
    cache.set('http://1', fresh);
    cache.set('http://2', fresh);
    cache.set('http://3', fresh);
    expect(cache.size).toBe(2);
    expect(cache.get('http://1')).toBeUndefined();
    expect(cache.get('http://3')).toBe(fresh);
  });
});
