import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ParsedCertificate } from '../../hisp/certs/certificate.js';
import { addressBinding, checkDirectCertificate } from '../../hisp/certs/policy.js';
import {
  DAY,
  TestPki,
  caExtensions,
  codesOf,
  interopCert,
  leafExtensions,
  type Issued,
} from './certs-fixtures.js';

const NOW = new Date();

describe('addressBinding on the Java RI certificates', () => {
  it('ryan.der binds its own address (SAN rfc822Name), in any case, and nothing else', async () => {
    const ryan = await interopCert('ryan.der');
    expect(addressBinding(ryan, 'ryan@securehealthemail.com')).toBe('address');
    expect(addressBinding(ryan, 'Ryan@SecureHealthEmail.COM')).toBe('address');
    expect(addressBinding(ryan, ' ryan@securehealthemail.com. ')).toBe('address');
    expect(addressBinding(ryan, 'gm2552@securehealthemail.com')).toBeUndefined();
    expect(addressBinding(ryan, 'securehealthemail.com')).toBeUndefined();
    expect(addressBinding(ryan, 'ryan@securehealthemail.com.evil.test')).toBeUndefined();
  });

  it('cernerdemos.der binds the domain messaging.cernerdemos.com for any address there', async () => {
    const cert = await interopCert('cernerdemos.der');
    for (const address of [
      'gm2552@messaging.cernerdemos.com',
      'anyone@messaging.cernerdemos.com',
      'Someone.Else@MESSAGING.cernerdemos.com',
      'messaging.cernerdemos.com',
    ]) {
      expect(addressBinding(cert, address), address).toBe('domain');
    }
    expect(addressBinding(cert, 'a@cernerdemos.com')).toBeUndefined();
    expect(addressBinding(cert, 'a@sub.messaging.cernerdemos.com')).toBeUndefined();
    expect(addressBinding(cert, 'a@messaging.cernerdemos.com.evil.test')).toBeUndefined();
    // Its subject DN "emailAddress" is the domain; that is not what binds it.
    expect(cert.rfc822Names).toEqual([]);
  });

  it('altNameOnly.der binds by SAN only', async () => {
    const cert = await interopCert('altNameOnly.der');
    expect(addressBinding(cert, 'altNameOnly@test.email.com')).toBe('address');
    expect(addressBinding(cert, 'altnameonly@TEST.email.com')).toBe('address');
    expect(addressBinding(cert, 'other@test.email.com')).toBeUndefined();
  });

  it('CheckSignatureCA.der: a dNSName with spaces binds nothing', async () => {
    const ca = await interopCert('CheckSignatureCA.der');
    expect(addressBinding(ca, 'x@Check Signature CA')).toBeUndefined();
  });
});

describe('checkDirectCertificate on the Java RI certificates', () => {
  it('ryan.der is refused only because SimpleInterop signed it with SHA-1', async () => {
    const ryan = await interopCert('ryan.der');
    const reasons = checkDirectCertificate(ryan, {
      address: 'ryan@securehealthemail.com',
      usage: 'sign',
      at: new Date('2026-01-01T00:00:00Z'),
    });
    expect(codesOf(reasons)).toEqual(['CERT_WEAK_SIGNATURE']);
    expect(reasons[0]?.message).toContain('sha1WithRSAEncryption');
    expect(reasons[0]?.message).toContain('Ryan Niemeyer');
  });

  it('expired.der: expired, RSA-1024 and SHA-1, each reported', async () => {
    const cert = await interopCert('expired.der');
    const reasons = checkDirectCertificate(cert, {
      address: 'expired@testexpired.email.com',
      usage: 'encrypt',
      at: new Date('2026-01-01T00:00:00Z'),
    });
    expect(codesOf(reasons)).toEqual(['CERT_EXPIRED', 'CERT_WEAK_SIGNATURE', 'WEAK_KEY']);
    expect(reasons.find((r) => r.code === 'CERT_EXPIRED')?.message).toContain(
      '2010-12-03T13:25:28.000Z',
    );
    // Its notBefore is after its notAfter: between the two it is both expired and not yet valid.
    const between = checkDirectCertificate(cert, {
      usage: 'encrypt',
      at: new Date('2010-12-05T00:00:00Z'),
    });
    expect(codesOf(between)).toContain('CERT_NOT_YET_VALID');
    expect(codesOf(between)).toContain('CERT_EXPIRED');
  });

  it('cernerdemos.der is accepted for a domain address except for its SHA-1 signature', async () => {
    const cert = await interopCert('cernerdemos.der');
    const reasons = checkDirectCertificate(cert, {
      address: 'someone@messaging.cernerdemos.com',
      usage: 'encrypt',
      at: NOW,
    });
    expect(codesOf(reasons)).toEqual(['CERT_WEAK_SIGNATURE']);
  });
});

describe('checkDirectCertificate with OpenSSL-made certificates', () => {
  let pki: TestPki;
  let root: Issued;
  const made = new Map<string, ParsedCertificate>();
  const cert = (name: string): ParsedCertificate => {
    const found = made.get(name);
    if (found === undefined) throw new Error(`no fixture ${name}`);
    return found;
  };

  beforeAll(async () => {
    pki = await TestPki.create('certs-policy');
    root = await pki.root('policy-root', { extensions: caExtensions({ aki: false }) });
    const leaf = (name: string, options: Parameters<TestPki['issue']>[2]) =>
      pki
        .issue(root, name, { key: 'ee', ...options })
        .then((issued) => made.set(name, issued.cert));
    const subject = (email: string) => `/O=Sealpost Tests/CN=${email}/emailAddress=${email}`;
    await Promise.all([
      leaf('good', {
        subject: subject('alice@example.test'),
        extensions: leafExtensions({ email: 'alice@example.test' }),
      }),
      leaf('dn-email-only', {
        subject: subject('bob@example.test'),
        extensions: leafExtensions({}),
      }),
      leaf('domain', {
        subject: '/O=Sealpost Tests/CN=example.test',
        extensions: leafExtensions({ dnsNames: ['Example.Test'] }),
      }),
      leaf('wildcard', {
        subject: '/O=Sealpost Tests/CN=wildcard',
        extensions: leafExtensions({ dnsNames: ['*.example.test'] }),
      }),
      leaf('sign-only', {
        subject: subject('carol@example.test'),
        extensions: leafExtensions({ email: 'carol@example.test', keyUsage: 'digitalSignature' }),
      }),
      leaf('encrypt-only', {
        subject: subject('dave@example.test'),
        extensions: leafExtensions({ email: 'dave@example.test', keyUsage: 'keyEncipherment' }),
      }),
      leaf('non-repudiation', {
        subject: subject('erin@example.test'),
        extensions: leafExtensions({
          email: 'erin@example.test',
          keyUsage: 'nonRepudiation,keyEncipherment',
        }),
      }),
      leaf('no-ku-no-eku', {
        subject: subject('frank@example.test'),
        extensions: leafExtensions({
          email: 'frank@example.test',
          keyUsage: false,
          extKeyUsage: false,
        }),
      }),
      leaf('server-eku', {
        subject: subject('grace@example.test'),
        extensions: leafExtensions({
          email: 'grace@example.test',
          extKeyUsage: 'serverAuth,clientAuth',
        }),
      }),
      leaf('any-eku', {
        subject: subject('heidi@example.test'),
        extensions: leafExtensions({
          email: 'heidi@example.test',
          extKeyUsage: 'anyExtendedKeyUsage',
        }),
      }),
      leaf('sha1', {
        subject: subject('ivan@example.test'),
        md: 'sha1',
        extensions: leafExtensions({ email: 'ivan@example.test' }),
      }),
      leaf('md5', {
        subject: subject('judy@example.test'),
        md: 'md5',
        extensions: leafExtensions({ email: 'judy@example.test' }),
      }),
      leaf('rsa1024', {
        subject: subject('mallory@example.test'),
        key: 'weak',
        bits: 1024,
        extensions: leafExtensions({ email: 'mallory@example.test' }),
      }),
      leaf('future', {
        subject: subject('niaj@example.test'),
        notBefore: new Date(Date.now() + 10 * DAY),
        notAfter: new Date(Date.now() + 40 * DAY),
        extensions: leafExtensions({ email: 'niaj@example.test' }),
      }),
      leaf('past', {
        subject: subject('olivia@example.test'),
        notBefore: new Date(Date.now() - 40 * DAY),
        notAfter: new Date(Date.now() - 10 * DAY),
        extensions: leafExtensions({ email: 'olivia@example.test' }),
      }),
    ]);
  });
  afterAll(() => pki.remove());

  it('accepts a good address-bound certificate for signing and encryption', () => {
    for (const usage of ['sign', 'encrypt'] as const) {
      expect(
        checkDirectCertificate(cert('good'), { address: 'alice@example.test', usage, at: NOW }),
      ).toEqual([]);
    }
  });

  it('the subject DN e-mail alone never binds', () => {
    const c = cert('dn-email-only');
    expect(c.subject).toContain('emailAddress=bob@example.test');
    expect(addressBinding(c, 'bob@example.test')).toBeUndefined();
    const reasons = checkDirectCertificate(c, {
      address: 'bob@example.test',
      usage: 'sign',
      at: NOW,
    });
    expect(codesOf(reasons)).toEqual(['CERT_ADDRESS_MISMATCH']);
    expect(reasons[0]?.message).toContain('bob@example.test');
    expect(reasons[0]?.message).toContain('subject DN e-mail is not used');
  });

  it('a dNSName binds its domain (case-insensitive); a wildcard dNSName binds nothing', () => {
    expect(addressBinding(cert('domain'), 'anyone@example.test')).toBe('domain');
    expect(addressBinding(cert('domain'), 'anyone@EXAMPLE.test')).toBe('domain');
    expect(addressBinding(cert('domain'), 'anyone@sub.example.test')).toBeUndefined();
    expect(addressBinding(cert('wildcard'), 'anyone@sub.example.test')).toBeUndefined();
    expect(addressBinding(cert('good'), 'someone-else@example.test')).toBeUndefined();
  });

  it('key usage: signing needs digitalSignature or nonRepudiation, encryption keyEncipherment', () => {
    const check = (name: string, address: string, usage: 'sign' | 'encrypt') =>
      codesOf(checkDirectCertificate(cert(name), { address, usage, at: NOW }));
    expect(check('sign-only', 'carol@example.test', 'sign')).toEqual([]);
    expect(check('sign-only', 'carol@example.test', 'encrypt')).toEqual(['CERT_KEY_USAGE']);
    expect(check('encrypt-only', 'dave@example.test', 'encrypt')).toEqual([]);
    expect(check('encrypt-only', 'dave@example.test', 'sign')).toEqual(['CERT_KEY_USAGE']);
    expect(check('non-repudiation', 'erin@example.test', 'sign')).toEqual([]);
    // Where the extensions are absent there is nothing to forbid the use.
    expect(check('no-ku-no-eku', 'frank@example.test', 'sign')).toEqual([]);
    expect(check('no-ku-no-eku', 'frank@example.test', 'encrypt')).toEqual([]);
  });

  it('extended key usage: where present it must allow e-mail protection', () => {
    const reasons = checkDirectCertificate(cert('server-eku'), {
      address: 'grace@example.test',
      usage: 'sign',
      at: NOW,
    });
    expect(codesOf(reasons)).toEqual(['CERT_KEY_USAGE']);
    expect(reasons[0]?.message).toContain('emailProtection');
    expect(
      checkDirectCertificate(cert('any-eku'), {
        address: 'heidi@example.test',
        usage: 'sign',
        at: NOW,
      }),
    ).toEqual([]);
  });

  it('SHA-1 and MD5 signatures are CERT_WEAK_SIGNATURE; RSA-1024 is WEAK_KEY', () => {
    expect(cert('sha1').signatureAlgorithm.hash).toBe('sha1');
    expect(cert('md5').signatureAlgorithm.hash).toBe('md5');
    expect(
      codesOf(
        checkDirectCertificate(cert('sha1'), {
          address: 'ivan@example.test',
          usage: 'sign',
          at: NOW,
        }),
      ),
    ).toEqual(['CERT_WEAK_SIGNATURE']);
    expect(
      codesOf(
        checkDirectCertificate(cert('md5'), {
          address: 'judy@example.test',
          usage: 'sign',
          at: NOW,
        }),
      ),
    ).toEqual(['CERT_WEAK_SIGNATURE']);
    const weak = checkDirectCertificate(cert('rsa1024'), {
      address: 'mallory@example.test',
      usage: 'encrypt',
      at: NOW,
    });
    expect(codesOf(weak)).toEqual(['WEAK_KEY']);
    expect(weak[0]?.message).toContain('RSA-1024');
  });

  it('validity: not yet valid and expired, with the dates in the message', () => {
    const future = checkDirectCertificate(cert('future'), { usage: 'sign', at: NOW });
    expect(codesOf(future)).toEqual(['CERT_NOT_YET_VALID']);
    expect(future[0]?.message).toContain(cert('future').notBefore.toISOString());
    const past = checkDirectCertificate(cert('past'), { usage: 'sign', at: NOW });
    expect(codesOf(past)).toEqual(['CERT_EXPIRED']);
    expect(past[0]?.message).toContain(cert('past').notAfter.toISOString());
    // `at` is the only clock: the same certificate was fine in its time.
    expect(
      checkDirectCertificate(cert('past'), { usage: 'sign', at: new Date(Date.now() - 20 * DAY) }),
    ).toEqual([]);
  });

  it('reports every failing check at once, without binding check when no address is given', () => {
    const reasons = checkDirectCertificate(cert('rsa1024'), {
      address: 'not-mallory@example.test',
      usage: 'sign',
      at: new Date(Date.now() + 400 * DAY),
    });
    expect(codesOf(reasons)).toEqual(['CERT_ADDRESS_MISMATCH', 'CERT_EXPIRED', 'WEAK_KEY']);
    expect(codesOf(checkDirectCertificate(cert('rsa1024'), { usage: 'sign', at: NOW }))).toEqual([
      'WEAK_KEY',
    ]);
  });
});
