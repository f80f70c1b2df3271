/**
 * The certificate reader (hisp/certs on the BER reader of hisp/asn1) against two independent
 * readers: pkijs/asn1js (a general ASN.1 object model, a devDependency kept for this) and
 * OpenSSL through node:crypto's X509Certificate. Every Java RI certificate and a set that
 * `openssl req -x509` makes here (RSA, RSA-PSS, EC, Ed25519; multi-valued and escaped names;
 * every extension the reader takes; GeneralizedTime) must read the same in all three.
 */
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { HispError } from '../../hisp/api/errors.js';
import { nullValue, octetString, oid, sequence, setOf, tlv } from '../../hisp/asn1/der.js';
import {
  parseCertificate,
  parseName,
  type ParsedCertificate,
} from '../../hisp/certs/certificate.js';
import { run } from '../services/proc.js';
import { makeTempDir, type TempDir } from '../services/tmp.js';
import { INTEROP_DIR, openssl } from './certs-fixtures.js';

const LABELS: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.5': 'serialNumber',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.12': 'title',
  '0.9.2342.19200300.100.1.1': 'UID',
  '0.9.2342.19200300.100.1.25': 'DC',
  '1.2.840.113549.1.9.1': 'emailAddress',
};

/** RFC 4514 text of a Name read with asn1js: most specific RDN first, `+` inside an RDN. */
function referenceName(der: ArrayBuffer): string {
  const name = asn1js.fromBER(der).result as asn1js.Sequence;
  return name.valueBlock.value
    .map((rdn) =>
      (rdn as asn1js.Set).valueBlock.value
        .map((atv) => {
          const [type, value] = (atv as asn1js.Sequence).valueBlock.value;
          const oid = (type as asn1js.ObjectIdentifier).valueBlock.toString();
          const text = (value as asn1js.Utf8String).valueBlock.value;
          return `${LABELS[oid] ?? oid}=${escape(text)}`;
        })
        .join('+'),
    )
    .reverse()
    .join(',');
}

function escape(value: string): string {
  let out = value.replace(/[,+"\\<>;=]/g, (ch) => `\\${ch}`);
  if (out.startsWith('#') || out.startsWith(' ')) out = `\\${out}`;
  if (out.endsWith(' ') && out.length > 1) out = `${out.slice(0, -1)}\\ `;
  return out;
}

const hex = (view: Uint8Array | ArrayBuffer) => Buffer.from(new Uint8Array(view)).toString('hex');

const HANDLED = new Set([
  '2.5.29.14',
  '2.5.29.15',
  '2.5.29.17',
  '2.5.29.18',
  '2.5.29.19',
  '2.5.29.31',
  '2.5.29.32',
  '2.5.29.35',
  '2.5.29.37',
  '1.3.6.1.5.5.7.1.1',
]);

const HASHES: Record<string, string> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

const KEY_USAGE = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
];

const isHttp = (url: string) => /^https?:\/\//.test(url);

/** What pkijs and node:crypto read, in ParsedCertificate's terms. */
function reference(der: Buffer) {
  const cert = pkijs.Certificate.fromBER(new Uint8Array(der));
  const x509 = new X509Certificate(der);
  const extension = (oid: string) => cert.extensions?.find((e) => e.extnID === oid);
  const altNames =
    (extension('2.5.29.17')?.parsedValue as pkijs.AltName | undefined)?.altNames ?? [];
  const keyUsage = extension('2.5.29.15')?.parsedValue as asn1js.BitString | undefined;
  const basic = extension('2.5.29.19')?.parsedValue as pkijs.BasicConstraints | undefined;
  const cdp = extension('2.5.29.31')?.parsedValue as pkijs.CRLDistributionPoints | undefined;
  const aia = extension('1.3.6.1.5.5.7.1.1')?.parsedValue as pkijs.InfoAccess | undefined;
  const ski = extension('2.5.29.14')?.parsedValue as asn1js.OctetString | undefined;
  const aki = extension('2.5.29.35')?.parsedValue as pkijs.AuthorityKeyIdentifier | undefined;
  const uris = (names: readonly pkijs.GeneralName[]) =>
    names.filter((n) => n.type === 6).map((n) => n.value as string);
  const accessUrls = (method: string) =>
    uris(
      (aia?.accessDescriptions ?? [])
        .filter((a) => a.accessMethod === method)
        .map((a) => a.accessLocation),
    ).filter(isHttp);
  const algorithm = cert.signatureAlgorithm;
  const pss =
    algorithm.algorithmId === '1.2.840.113549.1.1.10'
      ? new pkijs.RSASSAPSSParams({ schema: algorithm.algorithmParams })
      : undefined;
  let serial = Buffer.from(cert.serialNumber.valueBlock.valueHexView);
  while (serial.byteLength > 1 && serial[0] === 0) serial = serial.subarray(1);
  const bits = keyUsage ? keyUsage.valueBlock.valueHexView : undefined;
  return {
    subject: referenceName(cert.subject.valueBeforeDecode),
    issuer: referenceName(cert.issuer.valueBeforeDecode),
    subjectDer: hex(cert.subject.valueBeforeDecode),
    issuerDer: hex(cert.issuer.valueBeforeDecode),
    serialHex: serial.toString('hex'),
    opensslSerial: x509.serialNumber.toLowerCase(),
    notBefore: cert.notBefore.value.toISOString(),
    notAfter: cert.notAfter.value.toISOString(),
    opensslDates: [x509.validFromDate.toISOString(), x509.validToDate.toISOString()],
    fingerprintSha256: x509.fingerprint256.replace(/:/g, '').toLowerCase(),
    rfc822Names: altNames.filter((n) => n.type === 1).map((n) => n.value as string),
    dnsNames: altNames.filter((n) => n.type === 2).map((n) => n.value as string),
    keyUsage:
      bits === undefined
        ? undefined
        : KEY_USAGE.filter((_, bit) => ((bits[bit >> 3] ?? 0) & (0x80 >> (bit & 7))) !== 0),
    extKeyUsage: (extension('2.5.29.37')?.parsedValue as pkijs.ExtKeyUsage | undefined)
      ?.keyPurposes,
    // undefined without the extension, whatever @types/node says
    opensslExtKeyUsage: x509.keyUsage as string[] | undefined,
    basicConstraints:
      basic === undefined
        ? undefined
        : basic.pathLenConstraint === undefined
          ? { ca: basic.cA }
          : { ca: basic.cA, pathLength: basic.pathLenConstraint as number },
    opensslCa: x509.ca,
    crlDistributionPoints: (cdp?.distributionPoints ?? [])
      .flatMap((p) => (Array.isArray(p.distributionPoint) ? uris(p.distributionPoint) : []))
      .filter(isHttp),
    caIssuers: accessUrls('1.3.6.1.5.5.7.48.2'),
    ocsp: accessUrls('1.3.6.1.5.5.7.48.1'),
    subjectKeyId: ski === undefined ? undefined : hex(ski.valueBlock.valueHexView),
    authorityKeyId:
      aki?.keyIdentifier === undefined ? undefined : hex(aki.keyIdentifier.valueBlock.valueHexView),
    signatureOid: algorithm.algorithmId,
    pssHash: pss === undefined ? undefined : HASHES[pss.hashAlgorithm.algorithmId],
    unhandledCriticalExtensions: (cert.extensions ?? [])
      .filter((e) => e.critical && !HANDLED.has(e.extnID))
      .map((e) => e.extnID),
  };
}

function ours(cert: ParsedCertificate): ReturnType<typeof reference> {
  return {
    subject: cert.subject,
    issuer: cert.issuer,
    subjectDer: cert.subjectDer.toString('hex'),
    issuerDer: cert.issuerDer.toString('hex'),
    serialHex: cert.serialHex,
    opensslSerial: cert.serialHex,
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
    opensslDates: [cert.notBefore.toISOString(), cert.notAfter.toISOString()],
    fingerprintSha256: cert.fingerprintSha256,
    rfc822Names: [...cert.rfc822Names],
    dnsNames: [...cert.dnsNames],
    keyUsage:
      cert.keyUsage === undefined
        ? undefined
        : KEY_USAGE.filter((u) => cert.keyUsage?.has(u as never)),
    extKeyUsage: cert.extKeyUsage === undefined ? undefined : [...cert.extKeyUsage],
    opensslExtKeyUsage: cert.extKeyUsage === undefined ? undefined : [...cert.extKeyUsage],
    basicConstraints: cert.basicConstraints,
    opensslCa: cert.basicConstraints?.ca === true,
    crlDistributionPoints: [...cert.crlDistributionPoints],
    caIssuers: [...cert.caIssuers],
    ocsp: [...cert.ocsp],
    subjectKeyId: cert.subjectKeyId,
    authorityKeyId: cert.authorityKeyId,
    signatureOid: cert.signatureAlgorithm.oid,
    pssHash:
      cert.signatureAlgorithm.oid === '1.2.840.113549.1.1.10'
        ? cert.signatureAlgorithm.hash
        : undefined,
    unhandledCriticalExtensions: [...cert.unhandledCriticalExtensions],
  };
}

describe('the certificate reader agrees with pkijs and with OpenSSL', () => {
  let temp: TempDir;
  const made = new Map<string, Buffer>();

  beforeAll(async () => {
    temp = await makeTempDir('certs-crosscheck');
    const ext = join(temp.path, 'ext.cnf');
    await writeFile(
      ext,
      [
        '[leaf]',
        'basicConstraints=critical,CA:TRUE,pathlen:2',
        'keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign,cRLSign,decipherOnly',
        'extendedKeyUsage=emailProtection,clientAuth,1.2.3.4.5',
        'subjectAltName=email:alice@example.test,DNS:example.test,DNS:mail.example.test,URI:http://x.test/,IP:127.0.0.1,dirName:dir_sect,otherName:1.2.3.4;UTF8:other',
        'crlDistributionPoints=URI:http://crl.example.test/a.crl,URI:ldap://ldap.example.test/x,URI:https://crl.example.test/b.crl',
        'authorityInfoAccess=caIssuers;URI:http://aia.example.test/ca.der,OCSP;URI:http://ocsp.example.test/,caIssuers;URI:ldap://ldap.example.test/ca',
        'subjectKeyIdentifier=hash',
        'authorityKeyIdentifier=keyid:always,issuer:always',
        'certificatePolicies=critical,1.2.3.4',
        '1.2.3.4.5.6=critical,ASN1:NULL',
        'nsComment=not critical',
        '[dir_sect]',
        'CN=Directory Name',
        '',
      ].join('\n'),
    );
    const keys: Record<string, string[]> = {
      rsa: ['-newkey', 'rsa:2048'],
      'rsa-pss-signed': [
        '-newkey',
        'rsa:2048',
        '-sha384',
        '-sigopt',
        'rsa_padding_mode:pss',
        '-sigopt',
        'rsa_pss_saltlen:32',
      ],
      'rsa-pss-key': ['-newkey', 'rsa-pss', '-pkeyopt', 'rsa_keygen_bits:2048'],
      'ec-p256': ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'],
      'ec-p384': ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384', '-sha512'],
      ed25519: ['-newkey', 'ed25519'],
    };
    const subjects = [
      '/C=US/O=Sealpost Tests/OU=Unit+CN=Multi Valued/title= lead#, "quoted" \\+ <x>;=\\\\ /UID=u1',
      '/DC=test/DC=example/O=Ünïcode Örg/CN=Ålice/emailAddress=alice@example.test',
    ];
    let index = 0;
    for (const [name, args] of Object.entries(keys)) {
      const subject = subjects[index % subjects.length] ?? '';
      index++;
      const out = join(temp.path, `${name}.der`);
      await run(openssl(), [
        'req',
        '-x509',
        ...args,
        '-nodes',
        '-keyout',
        join(temp.path, `${name}.key`),
        '-utf8',
        '-multivalue-rdn',
        '-subj',
        subject,
        // Past 2049: notAfter is a GeneralizedTime.
        '-days',
        String(index % 2 === 0 ? 30 : 40_000),
        '-config',
        ext,
        '-extensions',
        'leaf',
        '-outform',
        'DER',
        '-out',
        out,
      ]);
      made.set(name, await readFile(out));
    }
  });
  afterAll(() => temp.remove());

  it('every Java RI certificate', async () => {
    const dir = join(INTEROP_DIR, 'java-ri');
    const names = (await readdir(dir)).filter((n) => n.endsWith('.der') && !n.endsWith('Key.der'));
    expect(names.length).toBeGreaterThanOrEqual(10);
    for (const name of names) {
      const der = await readFile(join(dir, name));
      expect(ours(parseCertificate(der)), name).toEqual(reference(der));
    }
  });

  it('certificates openssl made: every key type, names that need escaping, every extension', () => {
    expect(made.size).toBe(6);
    for (const [name, der] of made) {
      const cert = parseCertificate(der);
      expect(ours(cert), name).toEqual(reference(der));
      // What the extensions above must give, so that the comparison is not vacuous.
      expect(cert.rfc822Names, name).toEqual(['alice@example.test']);
      expect(cert.dnsNames, name).toEqual(['example.test', 'mail.example.test']);
      expect(cert.crlDistributionPoints, name).toEqual([
        'http://crl.example.test/a.crl',
        'https://crl.example.test/b.crl',
      ]);
      expect(cert.caIssuers, name).toEqual(['http://aia.example.test/ca.der']);
      expect(cert.ocsp, name).toEqual(['http://ocsp.example.test/']);
      expect(cert.basicConstraints, name).toEqual({ ca: true, pathLength: 2 });
      expect(cert.unhandledCriticalExtensions, name).toEqual(['1.2.3.4.5.6']);
      expect(cert.authorityKeyId, name).toBe(cert.subjectKeyId);
      expect(cert.selfIssued, name).toBe(true);
    }
    expect(made.get('rsa')?.length).toBeGreaterThan(0);
    const first = parseCertificate(made.get('rsa') ?? Buffer.alloc(0));
    expect(first.subject).toBe(
      'UID=u1,title=\\ lead#\\, \\"quoted\\" \\+ \\<x\\>\\;\\=\\\\\\ ,OU=Unit+CN=Multi Valued,O=Sealpost Tests,C=US',
    );
    const second = parseCertificate(made.get('rsa-pss-signed') ?? Buffer.alloc(0));
    expect(second.subject).toBe(
      'emailAddress=alice@example.test,CN=Ålice,O=Ünïcode Örg,DC=example,DC=test',
    );
    expect(second.signatureAlgorithm).toEqual({
      oid: '1.2.840.113549.1.1.10',
      name: 'rsassaPss(sha384)',
      hash: 'sha384',
    });
    expect(parseCertificate(made.get('ed25519') ?? Buffer.alloc(0)).publicKey).toEqual({
      type: 'ed25519',
      bits: 256,
    });
    expect(parseCertificate(made.get('ec-p384') ?? Buffer.alloc(0)).publicKey).toEqual({
      type: 'ec',
      bits: 384,
      curve: 'secp384r1',
    });
  });
});

describe('odd inputs: what the reader makes of them', () => {
  const spki = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
    type: 'spki',
    format: 'der',
  });
  const ecdsaSha256 = sequence(oid('1.2.840.10045.4.3.2'));
  const text = (tag: number, value: string, encoding: BufferEncoding = 'latin1') =>
    tlv(tag, Buffer.from(value, encoding));
  const cn = (value: Uint8Array) => sequence(setOf(sequence(oid('2.5.4.3'), value)));
  const utc = (value: string) => text(0x17, value);
  const extension = (id: string, value: Uint8Array) => sequence(oid(id), octetString(value));

  /** A certificate node:crypto accepts (the signature is not checked when reading). */
  function certificate(
    options: {
      subject?: Uint8Array;
      validity?: Uint8Array;
      extensions?: Uint8Array[];
    } = {},
  ): Buffer {
    const tbs = sequence(
      tlv(0xa0, tlv(0x02, Uint8Array.of(2))),
      tlv(0x02, Uint8Array.of(0x01)),
      ecdsaSha256,
      cn(text(0x0c, 'Odd CA')),
      options.validity ?? sequence(utc('250101000000Z'), utc('350101000000Z')),
      options.subject ?? cn(text(0x0c, 'Odd')),
      spki,
      ...(options.extensions ? [tlv(0xa3, sequence(...options.extensions))] : []),
    );
    return Buffer.from(sequence(tbs, ecdsaSha256, tlv(0x03, Uint8Array.of(0, 0x30, 0))));
  }

  const codeOf = (der: Buffer) => {
    try {
      parseCertificate(der);
      return 'NO_ERROR';
    } catch (error) {
      if (error instanceof HispError) return error.code;
      throw error;
    }
  };

  it('reads the baseline certificate', () => {
    expect(parseCertificate(certificate()).subject).toBe('CN=Odd');
  });

  it('validity: the RFC 5280 forms, to the millisecond; anything else is CERT_MALFORMED', () => {
    const generalized = parseCertificate(
      certificate({
        validity: sequence(text(0x18, '20250101000000.25Z'), text(0x18, '20500101000000Z')),
      }),
    );
    expect(generalized.notBefore.toISOString()).toBe('2025-01-01T00:00:00.250Z');
    expect(generalized.notAfter.toISOString()).toBe('2050-01-01T00:00:00.000Z');
    const boundary = parseCertificate(
      certificate({ validity: sequence(utc('500101000000Z'), utc('491231235959Z')) }),
    );
    expect(boundary.notBefore.toISOString()).toBe('1950-01-01T00:00:00.000Z');
    expect(boundary.notAfter.toISOString()).toBe('2049-12-31T23:59:59.000Z');
    // asn1js read these as 1899-11-30 (or rolled them over to the next day or month).
    for (const bad of [
      '2501010000Z', // no seconds
      '250101000000+0100', // an offset
      '250230000000Z', // February 30
      '250101240000Z', // hour 24
      '250101000000Zjunk',
      '25010100000xZ',
    ]) {
      const der = certificate({ validity: sequence(utc(bad), utc('350101000000Z')) });
      expect(codeOf(der), bad).toBe('CERT_MALFORMED');
    }
  });

  it('names: character strings decoded as before, other values as #hex, BER strings joined', () => {
    const subject = (value: Uint8Array) => parseCertificate(certificate({ subject: cn(value) }));
    expect(subject(tlv(0x1e, Buffer.from('004100e9', 'hex'))).subject).toBe('CN=Aé');
    expect(subject(tlv(0x1c, Buffer.from('000000410001f600', 'hex'))).subject).toBe('CN=A😀');
    expect(subject(text(0x14, 'caf\xe9')).subject).toBe('CN=café');
    // Not UTF-8 (OpenSSL refuses it in a certificate, a CRL issuer is read by parseName only):
    // one character per octet, as asn1js did.
    expect(parseName(cn(tlv(0x0c, Buffer.from('41c328', 'hex'))), 'CRL issuer').text).toBe(
      'CN=AÃ(',
    );
    expect(parseName(cn(tlv(0x02, Uint8Array.of(5))), 'CRL issuer').text).toBe('2.5.4.3=#020105');
    expect(subject(tlv(0x0c, Buffer.alloc(0))).subject).toBe('CN=');
    const joined = subject(tlv(0x33, text(0x13, 'Ab'), text(0x13, 'c')));
    expect(joined.subject).toBe('CN=Abc');
    expect(joined.subjectKey).toBe(subject(text(0x13, 'ABC')).subjectKey);
    // A BMPString of odd length is not a BMPString.
    expect(codeOf(certificate({ subject: cn(tlv(0x1e, Uint8Array.of(0, 0x41, 0))) }))).toBe(
      'CERT_MALFORMED',
    );
    expect(codeOf(certificate({ subject: sequence(setOf()) }))).toBe('CERT_MALFORMED');
    expect(parseCertificate(certificate({ subject: sequence() })).subject).toBe('');
  });

  it('extensions: INTEGERs of any length, BER OCTET STRINGs, RFC nameRelativeToCRLIssuer', () => {
    const basic = (...fields: Uint8Array[]) =>
      certificate({ extensions: [extension('2.5.29.19', sequence(...fields))] });
    const yes = tlv(0x01, Uint8Array.of(0xff));
    // asn1js decoded INTEGERs of 4 octets or more as 0.
    expect(
      parseCertificate(basic(yes, tlv(0x02, Uint8Array.of(0, 0, 0, 5)))).basicConstraints,
    ).toEqual({ ca: true, pathLength: 5 });
    expect(parseCertificate(basic(tlv(0x01, Uint8Array.of(1)))).basicConstraints).toEqual({
      ca: true,
    });
    for (const bad of [
      basic(yes, tlv(0x02, Uint8Array.of(0xff))), // negative
      basic(yes, tlv(0x02, new Uint8Array(0))), // empty
      basic(yes, tlv(0x02, Uint8Array.of(1)), nullValue()), // a field BasicConstraints has not
    ]) {
      expect(codeOf(bad)).toBe('CERT_MALFORMED');
    }
    const segmented = tlv(0x24, octetString(Uint8Array.of(1, 2)), octetString(Uint8Array.of(3)));
    expect(
      parseCertificate(certificate({ extensions: [extension('2.5.29.14', segmented)] }))
        .subjectKeyId,
    ).toBe('010203');
    const relative = tlv(0xa1, sequence(oid('2.5.4.3'), text(0x0c, 'x')));
    const points = sequence(
      sequence(tlv(0xa0, relative)),
      sequence(tlv(0xa0, tlv(0xa0, text(0x86, 'http://crl.example.test/x.crl')))),
    );
    expect(
      parseCertificate(certificate({ extensions: [extension('2.5.29.31', points)] }))
        .crlDistributionPoints,
    ).toEqual(['http://crl.example.test/x.crl']);
    for (const [id, empty] of [
      ['2.5.29.37', sequence()],
      ['2.5.29.31', sequence()],
      ['1.3.6.1.5.5.7.1.1', sequence()],
    ] as const) {
      expect(codeOf(certificate({ extensions: [extension(id, empty)] })), id).toBe(
        'CERT_MALFORMED',
      );
    }
    expect(
      parseCertificate(certificate({ extensions: [extension('2.5.29.17', sequence())] }))
        .rfc822Names,
    ).toEqual([]);
  });
});
