/**
 * Key material readers: private keys (PEM/DER, PKCS#8/PKCS#1/SEC1, encrypted PKCS#8),
 * certificates (PEM/DER), key/certificate matching, and the PKCS#12 building blocks checked
 * against other people's vectors (the RFC 7292 KDF against BouncyCastle's published vector,
 * PBMAC1 against RFC 9579 Appendix A.1). OpenSSL-made PKCS#12 files are in
 * test/integration/keys-pkcs12-openssl.test.ts.
 */
import { generateKeyPairSync, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

import {
  assertKeyMatchesCertificate,
  readCertificateDers,
  readPkcs12,
  readPrivateKey,
} from '../../hisp/keys/material.js';
import { KEY_LIMITS } from '../../hisp/keys/limits.js';
import {
  OID,
  bmpPassword,
  digestInfo,
  pkcs12Kdf,
  pkcs12PasswordVariants,
} from '../../hisp/keys/pbe.js';
import { readPemBlocks } from '../../hisp/keys/pem.js';
import { thrownCode as codeOf, thrownHispError as errorOf } from '../services/hispErrors.js';

const interop = resolve(import.meta.dirname, '..', '..', '..', 'shared', 'interop');
const javaRi = (name: string): Buffer => readFileSync(join(interop, 'java-ri', name));

function sameKey(a: KeyObject, b: KeyObject): boolean {
  return a.equals(b);
}

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ed = generateKeyPairSync('ed25519');

describe('readPrivateKey: formats, auto-detected', () => {
  const cases: [string, KeyObject, Buffer | string][] = [
    ['RSA PKCS#8 PEM', rsa.privateKey, rsa.privateKey.export({ type: 'pkcs8', format: 'pem' })],
    ['RSA PKCS#8 DER', rsa.privateKey, rsa.privateKey.export({ type: 'pkcs8', format: 'der' })],
    ['RSA PKCS#1 PEM', rsa.privateKey, rsa.privateKey.export({ type: 'pkcs1', format: 'pem' })],
    ['RSA PKCS#1 DER', rsa.privateKey, rsa.privateKey.export({ type: 'pkcs1', format: 'der' })],
    ['EC SEC1 PEM', ec.privateKey, ec.privateKey.export({ type: 'sec1', format: 'pem' })],
    ['EC SEC1 DER', ec.privateKey, ec.privateKey.export({ type: 'sec1', format: 'der' })],
    ['EC PKCS#8 PEM', ec.privateKey, ec.privateKey.export({ type: 'pkcs8', format: 'pem' })],
    ['EC PKCS#8 DER', ec.privateKey, ec.privateKey.export({ type: 'pkcs8', format: 'der' })],
    ['Ed25519 PKCS#8 DER', ed.privateKey, ed.privateKey.export({ type: 'pkcs8', format: 'der' })],
  ];
  for (const [name, expected, data] of cases) {
    it(`reads ${name}`, () => {
      const bytes = typeof data === 'string' ? Buffer.from(data) : data;
      const key = readPrivateKey(bytes);
      expect(key.type).toBe('private');
      expect(sameKey(key, expected)).toBe(true);
    });
  }

  it('reads PEM with CRLF line endings and text around the block', () => {
    const pem = String(rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const text = `Bag Attributes\r\n    localKeyID: 01 02\r\n${pem.replace(/\n/g, '\r\n')}trailing words\r\n`;
    expect(sameKey(readPrivateKey(Buffer.from(text)), rsa.privateKey)).toBe(true);
  });

  it('finds the key in a PEM file that also holds certificates and EC PARAMETERS', () => {
    const cert = new X509Certificate(javaRi('ryan.der')).toString();
    const params = '-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n';
    const key = String(ec.privateKey.export({ type: 'sec1', format: 'pem' }));
    expect(sameKey(readPrivateKey(Buffer.from(cert + params + key)), ec.privateKey)).toBe(true);
  });

  it('reads encrypted PKCS#8 (PBES2, AES-256-CBC) in PEM and DER with the password', () => {
    const pem = rsa.privateKey.export({
      type: 'pkcs8',
      format: 'pem',
      cipher: 'aes-256-cbc',
      passphrase: 'sekrit',
    });
    const der = rsa.privateKey.export({
      type: 'pkcs8',
      format: 'der',
      cipher: 'aes-128-cbc',
      passphrase: 'sekrit',
    });
    expect(String(pem)).toContain('ENCRYPTED PRIVATE KEY');
    expect(sameKey(readPrivateKey(Buffer.from(pem), 'sekrit'), rsa.privateKey)).toBe(true);
    expect(sameKey(readPrivateKey(der, 'sekrit'), rsa.privateKey)).toBe(true);
  });

  it('reads an encrypted PKCS#8 EC key with a non-ASCII password', () => {
    const pem = ec.privateKey.export({
      type: 'pkcs8',
      format: 'pem',
      cipher: 'aes-256-cbc',
      passphrase: 'pässwörd€',
    });
    expect(sameKey(readPrivateKey(Buffer.from(pem), 'pässwörd€'), ec.privateKey)).toBe(true);
  });

  it("reads OpenSSL's legacy PEM encryption (Proc-Type: 4,ENCRYPTED) with the password", () => {
    const pem = String(
      rsa.privateKey.export({
        type: 'pkcs1',
        format: 'pem',
        cipher: 'aes-256-cbc',
        passphrase: 'pw',
      }),
    );
    expect(pem).toContain('Proc-Type: 4,ENCRYPTED');
    expect(sameKey(readPrivateKey(Buffer.from(pem), 'pw'), rsa.privateKey)).toBe(true);
    expect(errorOf(() => readPrivateKey(Buffer.from(pem), 'wrong')).message).toMatch(
      /password is wrong/,
    );
    expect(errorOf(() => readPrivateKey(Buffer.from(pem))).message).toMatch(/give its password/);
  });

  it('a wrong or missing password on encrypted PKCS#8 is KEY_MALFORMED with a clear message', () => {
    const pem = Buffer.from(
      rsa.privateKey.export({
        type: 'pkcs8',
        format: 'pem',
        cipher: 'aes-256-cbc',
        passphrase: 'right',
      }),
    );
    const wrong = errorOf(() => readPrivateKey(pem, 'wrong'));
    expect(wrong.code).toBe('KEY_MALFORMED');
    expect(wrong.message).toMatch(/password is wrong/);
    const missing = errorOf(() => readPrivateKey(pem));
    expect(missing.code).toBe('KEY_MALFORMED');
    expect(missing.message).toMatch(/encrypted.*give its password/);
  });

  it('the java-ri ryanKey.der (PKCS#8 DER) matches ryan.der, and gm2552Key.der does not', () => {
    const key = readPrivateKey(javaRi('ryanKey.der'));
    expect(() => assertKeyMatchesCertificate(key, javaRi('ryan.der'))).not.toThrow();
    const other = readPrivateKey(javaRi('gm2552Key.der'));
    expect(codeOf(() => assertKeyMatchesCertificate(other, javaRi('ryan.der')))).toBe(
      'KEY_CERT_MISMATCH',
    );
  });

  it('every java-ri *Key.der reads and matches its certificate', () => {
    for (const stem of [
      'ryan',
      'gm2552',
      'cernerdemos',
      'altNameOnly',
      'certCheckA',
      'expired',
      'secureHealthEmailCACert',
      'cernerDemosCaCert',
    ]) {
      const key = readPrivateKey(javaRi(`${stem}Key.der`));
      expect(() => assertKeyMatchesCertificate(key, javaRi(`${stem}.der`)), stem).not.toThrow();
    }
  });

  it('accepts the public KeyObject of the certificate and refuses another key type', () => {
    const cert = new X509Certificate(javaRi('ryan.der'));
    expect(() => assertKeyMatchesCertificate(cert.publicKey, javaRi('ryan.der'))).not.toThrow();
    expect(codeOf(() => assertKeyMatchesCertificate(ec.privateKey, javaRi('ryan.der')))).toBe(
      'KEY_CERT_MISMATCH',
    );
    expect(codeOf(() => assertKeyMatchesCertificate(rsa.privateKey, Buffer.from('nope')))).toBe(
      'CERT_MALFORMED',
    );
  });

  const garbage: [string, Buffer][] = [
    ['empty', Buffer.alloc(0)],
    ['random bytes', randomBytes(300)],
    ['text', Buffer.from('this is not a key\n')],
    ['a DER certificate', javaRi('ryan.der')],
    ['a PEM certificate only', Buffer.from(new X509Certificate(javaRi('ryan.der')).toString())],
    [
      'a public key PEM',
      Buffer.from(String(rsa.publicKey.export({ type: 'spki', format: 'pem' }))),
    ],
    [
      'truncated PKCS#8 DER',
      rsa.privateKey.export({ type: 'pkcs8', format: 'der' }).subarray(0, 200),
    ],
    [
      'PKCS#8 DER with trailing bytes',
      Buffer.concat([rsa.privateKey.export({ type: 'pkcs8', format: 'der' }), Buffer.from([0])]),
    ],
    [
      'PEM with bad base64',
      Buffer.from('-----BEGIN PRIVATE KEY-----\nMIIB$$$\n-----END PRIVATE KEY-----\n'),
    ],
    ['PEM with no END line', Buffer.from('-----BEGIN PRIVATE KEY-----\nMIIB\n')],
    [
      'two keys in one PEM',
      Buffer.from(String(rsa.privateKey.export({ type: 'pkcs8', format: 'pem' })).repeat(2)),
    ],
    [
      'a DER SEQUENCE of the right shape with junk inside',
      Buffer.from('300a020100300506032b6570', 'hex'),
    ],
    ['a huge length field', Buffer.from('3084ffffffff0201', 'hex')],
    ['deep nesting', Buffer.from('30'.repeat(1) + '80' + '3080'.repeat(5000), 'hex')],
    ['more than the size limit', Buffer.alloc(KEY_LIMITS.keyFileBytes + 1, 0x30)],
  ];
  for (const [name, data] of garbage) {
    it(`refuses ${name} with KEY_MALFORMED`, () => {
      expect(codeOf(() => readPrivateKey(data))).toBe('KEY_MALFORMED');
    });
  }
});

describe('readCertificateDers', () => {
  const ryan = javaRi('ryan.der');
  const ca = javaRi('secureHealthEmailCACert.der');

  it('reads one DER certificate', () => {
    const [only, ...rest] = readCertificateDers(ryan);
    expect(rest).toHaveLength(0);
    expect(only?.equals(ryan)).toBe(true);
  });

  it('reads every CERTIFICATE block of a PEM bundle in order, skipping other blocks', () => {
    const pem =
      'subject=CN=ryan\n' +
      new X509Certificate(ryan).toString() +
      String(ec.privateKey.export({ type: 'pkcs8', format: 'pem' })) +
      new X509Certificate(ca).toString().replace(/\n/g, '\r\n');
    const ders = readCertificateDers(Buffer.from(pem));
    expect(ders.map((d) => d.toString('hex'))).toEqual([ryan.toString('hex'), ca.toString('hex')]);
  });

  it("reads OpenSSL's TRUSTED CERTIFICATE (certificate followed by trust settings)", () => {
    const aux = Buffer.from('300c300a06082b06010505070304', 'hex');
    const b64 = Buffer.concat([ryan, aux]).toString('base64').replace(/.{64}/g, '$&\n');
    const pem = `-----BEGIN TRUSTED CERTIFICATE-----\n${b64}\n-----END TRUSTED CERTIFICATE-----\n`;
    expect(readCertificateDers(Buffer.from(pem))[0]?.equals(ryan)).toBe(true);
  });

  const bad: [string, Buffer][] = [
    ['empty', Buffer.alloc(0)],
    ['garbage', randomBytes(100)],
    ['a truncated DER certificate', ryan.subarray(0, ryan.length - 10)],
    ['a DER certificate with trailing bytes', Buffer.concat([ryan, Buffer.from('00', 'hex')])],
    ['a key, not a certificate', javaRi('ryanKey.der')],
    [
      'PEM with no certificate',
      Buffer.from(String(rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }))),
    ],
    [
      'PEM with bad base64',
      Buffer.from('-----BEGIN CERTIFICATE-----\nMII*\n-----END CERTIFICATE-----\n'),
    ],
    [
      'a PEM block that is not a certificate inside',
      Buffer.from(
        `-----BEGIN CERTIFICATE-----\n${Buffer.from('300a020100300506032b6570', 'hex').toString('base64')}\n-----END CERTIFICATE-----\n`,
      ),
    ],
  ];
  for (const [name, data] of bad) {
    it(`refuses ${name} with CERT_MALFORMED`, () => {
      expect(codeOf(() => readCertificateDers(data))).toBe('CERT_MALFORMED');
    });
  }
});

describe('PEM framing', () => {
  it('keeps RFC 1421 headers and refuses a block nested in another', () => {
    const [block] = readPemBlocks(
      Buffer.from(
        '-----BEGIN X-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00\n\nAAAA\n-----END X-----\n',
      ),
    );
    expect(block?.headers.get('DEK-Info')).toBe('AES-256-CBC,00');
    expect(block?.der).toEqual(Buffer.from([0, 0, 0]));
    expect(() =>
      readPemBlocks(
        Buffer.from(
          '-----BEGIN X-----\n-----BEGIN Y-----\nAAAA\n-----END Y-----\n-----END X-----\n',
        ),
      ),
    ).toThrow(/not closed/);
  });
});

describe('PKCS#12 KDF (RFC 7292 Appendix B.2)', () => {
  it('matches the published vector (password "smeg", BouncyCastle PKCS12 test)', () => {
    const salt = Buffer.from('0A58CF64530D823F', 'hex');
    const sha1 = digestInfo(OID.sha1);
    expect(pkcs12Kdf(sha1, bmpPassword('smeg'), salt, 1, 1, 24).toString('hex').toUpperCase()).toBe(
      '8AAAE6297B6CB04642AB5B077851284EB7128F1A2A7FBCA3',
    );
    expect(pkcs12Kdf(sha1, bmpPassword('smeg'), salt, 2, 1, 8).toString('hex').toUpperCase()).toBe(
      '79993DFE048D3B76',
    );
  });

  it('encodes the password as a BMPString with two trailing zero bytes; empty also as zero-length', () => {
    expect(bmpPassword('')).toEqual(Buffer.from([0, 0]));
    expect(bmpPassword('ab')).toEqual(Buffer.from([0, 0x61, 0, 0x62, 0, 0]));
    expect(pkcs12PasswordVariants('')).toEqual([Buffer.from([0, 0]), Buffer.alloc(0)]);
    expect(pkcs12PasswordVariants('é')).toHaveLength(2);
  });

  it('refuses an iteration count above the limit instead of hanging (risk-16)', () => {
    const sha1 = digestInfo(OID.sha1);
    expect(() =>
      pkcs12Kdf(sha1, bmpPassword('x'), Buffer.alloc(8), 3, KEY_LIMITS.pkcs12KdfIterations + 1, 20),
    ).toThrow(/above the limit/);
  });
});

// RFC 9579 Appendix A.1: "Valid PKCS #12 File with SHA-256 HMAC and PRF" (password "1234"):
// PBMAC1 integrity, PBES2 AES-256-CBC privacy. OpenSSL 3.0 on this machine cannot verify it.
const RFC9579_A1 = [
  'MIIKigIBAzCCCgUGCSqGSIb3DQEHAaCCCfYEggnyMIIJ7jCCBGIGCSqGSIb3DQEH',
  'BqCCBFMwggRPAgEAMIIESAYJKoZIhvcNAQcBMFcGCSqGSIb3DQEFDTBKMCkGCSqG',
  'SIb3DQEFDDAcBAg9pxXxY2yscwICCAAwDAYIKoZIhvcNAgkFADAdBglghkgBZQME',
  'ASoEEK7yYaFQDi1pYwWzm9F/fs+AggPgFIT2XapyaFgDppdvLkdvaF3HXw+zjzKb',
  '7xFC76DtVPhVTWVHD+kIss+jsj+XyvMwY0aCuAhAG/Dig+vzWomnsqB5ssw5/kTb',
  '+TMQ5PXLkNeoBmB6ArKeGc/QmCBQvQG/a6b+nXSWmxNpP+71772dmWmB8gcSJ0kF',
  'Fj75NrIbmNiDMCb71Q8gOzBMFf6BpXf/3xWAJtxyic+tSNETfOJa8zTZb0+lV0w9',
  '5eUmDrPUpuxEVbb0KJtIc63gRkcfrPtDd6Ii4Zzbzj2Evr4/S4hnrQBsiryVzJWy',
  'IEjaD0y6+DmG0JwMgRuGi1wBoGowi37GMrDCOyOZWC4n5wHLtYyhR6JaElxbrhxP',
  'H46z2USLKmZoF+YgEQgYcSBXMgP0t36+XQocFWYi2N5niy02TnctwF430FYsQlhJ',
  'Suma4I33E808dJuMv8T/soF66HsD4Zj46hOf4nWmas7IaoSAbGKXgIa7KhGRJvij',
  'xM3WOX0aqNi/8bhnxSA7fCmIy/7opyx5UYJFWGBSmHP1pBHBVmx7Ad8SAsB9MSsh',
  'nbGjGiUk4h0QcOi29/M9WwFlo4urePyI8PK2qtVAmpD3rTLlsmgzguZ69L0Q/CFU',
  'fbtqsMF0bgEuh8cfivd1DYFABEt1gypuwCUtCqQ7AXK2nQqOjsQCxVz9i9K8NDeD',
  'aau98VAl0To2sk3/VR/QUq0PRwU1jPN5BzUevhE7SOy/ImuJKwpGqqFljYdrQmj5',
  'jDe+LmYH9QGVRlfN8zuU+48FY8CAoeBeHn5AAPml0PYPVUnt3/jQN1+v+CahNVI+',
  'La8q1Nen+j1R44aa2I3y/pUgtzXRwK+tPrxTQbG030EU51LYJn8amPWmn3w75ZIA',
  'MJrXWeKj44de7u4zdUsEBVC2uM44rIHM8MFjyYAwYsey0rcp0emsaxzar+7ZA67r',
  'lDoXvvS3NqsnTXHcn3T9tkPRoee6L7Dh3x4Od96lcRwgdYT5BwyH7e34ld4VTUmJ',
  'bDEq7Ijvn4JKrwQJh1RCC+Z/ObfkC42xAm7G010u3g08xB0Qujpdg4a7VcuWrywF',
  'c7hLNquuaF4qoDaVwYXHH3iuX6YlJ/3siTKbYCVXPEZOAMBP9lF/OU76UMJBQNfU',
  '0xjDx+3AhUVgnGuCsmYlK6ETDp8qOZKGyV0KrNSGtqLx3uMhd7PETeW+ML3tDQ/0',
  'X9fMkcZHi4C2fXnoHV/qa2dGhBj4jjQ0Xh1poU6mxGn2Mebe2hDsBZkkBpnn7pK4',
  'wP/VqXdQTwqEuvzGHLVFsCuADe40ZFBmtBrf70wG7ZkO8SUZ8Zz1IX3+S024g7yj',
  'QRev/6x6TtkwggWEBgkqhkiG9w0BBwGgggV1BIIFcTCCBW0wggVpBgsqhkiG9w0B',
  'DAoBAqCCBTEwggUtMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAhTxzw+',
  'VptrYAICCAAwDAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEEK9nSqc1I2t4tMVG',
  'bWHpdtQEggTQzCwI7j34gCTvfj6nuOSndAjShGv7mN2j7WMV0pslTpq2b9Bn3vn1',
  'Y0JMvL4E7sLrUzNU02pdOcfCnEpMFccNv2sQrLp1mOCKxu8OjSqHZLoKVL0ROVsZ',
  '8dMECLLigDlPKRiSyLErl14tErX4/zbkUaWMROO28kFbTbubQ8YoHlRUwsKW1xLg',
  'vfi0gRkG/zHXRfQHjX/8NStv7hXlehn7/Gy2EKPsRFhadm/iUHAfmCMkMgHTU248',
  'JER9+nsXltd59H+IeDpj/kbxZ+YvHow9XUZKu828d3MQnUpLZ1BfJGhMBPVwbVUD',
  'A40CiQBVdCoGtPJyalL28xoS3H0ILFCnwQOr6u0HwleNJPGHq78HUyH6Hwxnh0b0',
  '5o163r6wTFZn5cMOxpbs/Ttd+3TrxmrYpd2XnuRme3cnaYJ0ILvpc/8eLLR7SKjD',
  'T4JhZ0h/CfcV2WWvhpQugkY0pWrZ+EIMneB1dZB96mJVLxOi148OeSgi0PsxZMNi',
  'YM33rTpwQT5WqOsEyDwUQpne5b8Kkt/s7EN0LJNnPyJJRL1LcqOdr6j+6YqRtPa7',
  'a9oWJqMcuTP+bqzGRJh+3HDlFBw2Yzp9iadv4KmB2MzhStLUoi2MSjvnnkkd5Led',
  'sshAd6WbKfF7kLAHQHT4Ai6dMEO4EKkEVF9JBtxCR4JEn6C98Lpg+Lk+rfY7gHOf',
  'ZxtgGURwgXRY3aLUrdT55ZKgk3ExVKPzi5EhdpAau7JKhpOwyKozAp/OKWMNrz6h',
  'obu2Mbn1B+IA60psYHHxynBgsJHv7WQmbYh8HyGfHgVvaA8pZCYqxxjpLjSJrR8B',
  'Bu9H9xkTh7KlhxgreXYv19uAYbUd95kcox9izad6VPnovgFSb+Omdy6PJACPj6hF',
  'W6PJbucP0YPpO0VtWtQdZZ3df1P0hZ7qvKwOPFA+gKZSckgqASfygiP9V3Zc8jIi',
  'wjNzoDM2QT+UUJKiiGYXJUEOO9hxzFHlGj759DcNRhpgl5AgR57ofISD9yBuCAJY',
  'PQ/aZHPFuRTrcVG3RaIbCAS73nEznKyFaLOXfzyfyaSmyhsH253tnyL1MejC+2bR',
  'Eko/yldgFUxvU5JI+Q3KJ6Awj+PnduHXx71E4UwSuu2xXYMpxnQwI6rroQpZBX82',
  'HhqgcLV83P8lpzQwPdHjH5zkoxmWdC0+jU/tcQfNXYpJdyoaX7tDmVclLhwl9ps/',
  'O841pIsNLJWXwvxG6B+3LN/kw4QjwN194PopiOD7+oDm5mhttO78CrBrRxHMD/0Q',
  'qniZjKzSZepxlZq+J792u8vtMnuzzChxu0Bf3PhIXcJNcVhwUtr0yKe/N+NvC0tm',
  'p8wyik/BlndxN9eKbdTOi2wIi64h2QG8nOk66wQ/PSIJYwZl6eDNEQSzH/1mGCfU',
  'QnUT17UC/p+Qgenf6Auap2GWlvsJrB7u/pytz65rtjt/ouo6Ih6EwWqwVVpGXZD0',
  '7gVWH0Ke/Vr6aPGNvkLcmftPuDZsn9jiig3guhdeyRVf10Ox369kKWcG75q77hxE',
  'IzSzDyUlBNbnom9SIjut3r+qVYmWONatC6q/4D0I42Lnjd3dEyZx7jmH3g/S2ASM',
  'FzWr9pvXc61dsYOkdZ4PYa9XPUZxXFagZsoS3F1sU799+IJVU0tC0MExJTAjBgkq',
  'hkiG9w0BCRUxFgQUwWO5DorvVWYF3BWUmAw0rUEajScwfDBtMEkGCSqGSIb3DQEF',
  'DjA8MCwGCSqGSIb3DQEFDDAfBAhvRzw4sC4xcwICCAACASAwDAYIKoZIhvcNAgkF',
  'ADAMBggqhkiG9w0CCQUABCB6pW2FOdcCNj87zS64NUXG36K5aXDnFHctIk5Bf4kG',
  '3QQITk9UIFVTRUQCAQE=',
].join('');

describe('readPkcs12: RFC 9579 PBMAC1 vector', () => {
  it('reads A.1 with password "1234": key and certificate match', () => {
    const p12 = Buffer.from(RFC9579_A1, 'base64');
    const { key, certDer, chainDer } = readPkcs12(p12, '1234');
    expect(chainDer).toHaveLength(0);
    expect(() => assertKeyMatchesCertificate(key, certDer)).not.toThrow();
  });

  it('a wrong password on A.1 is PKCS12_BAD_PASSWORD, a flipped MAC byte too', () => {
    const p12 = Buffer.from(RFC9579_A1, 'base64');
    expect(codeOf(() => readPkcs12(p12, '12345'))).toBe('PKCS12_BAD_PASSWORD');
    const tampered = Buffer.from(p12);
    const macAt = tampered.length - 20;
    tampered[macAt] = (tampered[macAt] ?? 0) ^ 1;
    expect(codeOf(() => readPkcs12(tampered, '1234'))).toBe('PKCS12_BAD_PASSWORD');
  });

  it('refuses PEM, empty and garbage input with PKCS12_MALFORMED (risk-16)', () => {
    expect(codeOf(() => readPkcs12(Buffer.alloc(0), ''))).toBe('PKCS12_MALFORMED');
    expect(
      codeOf(() => readPkcs12(Buffer.from(new X509Certificate(javaRi('ryan.der')).toString()), '')),
    ).toBe('PKCS12_MALFORMED');
    expect(codeOf(() => readPkcs12(randomBytes(2000), ''))).toBe('PKCS12_MALFORMED');
    expect(codeOf(() => readPkcs12(javaRi('ryan.der'), ''))).toBe('PKCS12_MALFORMED');
    expect(codeOf(() => readPkcs12(Buffer.alloc(KEY_LIMITS.pkcs12Bytes + 1), ''))).toBe(
      'PKCS12_MALFORMED',
    );
  });

  it('every truncation of A.1 is a typed error, never a crash (risk-16)', () => {
    const p12 = Buffer.from(RFC9579_A1, 'base64');
    for (let length = 0; length < p12.length; length += 37) {
      const code = codeOf(() => readPkcs12(p12.subarray(0, length), '1234'));
      expect(['PKCS12_MALFORMED', 'PKCS12_BAD_PASSWORD'], `length ${length}`).toContain(code);
    }
  });
});
