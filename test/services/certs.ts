/**
 * Throwaway test certificates made with the `openssl` CLI into a directory the caller owns
 * (normally a service's temp dir): a self-signed CA, intermediate CAs under it, Direct-style
 * end-entity certificates with a SAN rfc822Name (PEM + DER), and TLS server certificates for
 * daemons and loopback servers (self-signed, or issued by a test CA).
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { findBinary, run } from './proc.js';

export interface CertFiles {
  /** PEM private key (unencrypted PKCS#8). */
  keyPath: string;
  /** PEM certificate. */
  certPath: string;
  /** DER certificate. */
  derPath: string;
  keyPem: string;
  certPem: string;
  certDer: Buffer;
}

export interface TestCa extends CertFiles {
  commonName: string;
}

export interface TestEndEntity extends CertFiles {
  email: string;
}

export interface CaOptions {
  /** File name stem in `dir`. Default "ca". */
  name?: string;
  commonName?: string;
  /** RSA key size. Default 2048. */
  bits?: number;
  days?: number;
}

export interface EndEntityOptions {
  /** The Direct address, put in the SAN as rfc822Name (and as the subject emailAddress). */
  email: string;
  /** File name stem in `dir`. Default: the address with "@" turned into ".". */
  name?: string;
  commonName?: string;
  /** RSA key size. Default 2048. */
  bits?: number;
  days?: number;
  /** Extra SAN dNSName entries. */
  dnsNames?: readonly string[];
  /** Optional AIA caIssuers URL and CRL distribution point URL (make the cert bigger / realistic). */
  caIssuersUrl?: string;
  crlUrl?: string;
}

export interface ServerCertOptions {
  /** File name stem in `dir`. Default "server". */
  name?: string;
  commonName?: string;
  dnsNames?: readonly string[];
  ipAddresses?: readonly string[];
  bits?: number;
  days?: number;
}

function openssl(): string {
  return findBinary('openssl', 'openssl');
}

function randomSerial(): string {
  // Positive 64-bit serial.
  const bytes = randomBytes(8);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return `0x${bytes.toString('hex')}`;
}

async function finish(dir: string, name: string): Promise<CertFiles> {
  const keyPath = join(dir, `${name}.key`);
  const certPath = join(dir, `${name}.pem`);
  const derPath = join(dir, `${name}.der`);
  await run(openssl(), ['x509', '-in', certPath, '-outform', 'DER', '-out', derPath]);
  const [keyPem, certPem, certDer] = await Promise.all([
    readFile(keyPath, 'utf8'),
    readFile(certPath, 'utf8'),
    readFile(derPath),
  ]);
  return { keyPath, certPath, derPath, keyPem, certPem, certDer };
}

/** A self-signed CA certificate (basicConstraints CA:TRUE, keyCertSign, cRLSign). */
export async function createTestCa(dir: string, options: CaOptions = {}): Promise<TestCa> {
  const commonName = options.commonName ?? 'Sealpost Test CA';
  const files = await selfSigned(dir, options.name ?? 'ca', {
    subject: `/O=Sealpost Tests/CN=${commonName}`,
    extensions: [
      'basicConstraints=critical,CA:TRUE',
      'keyUsage=critical,keyCertSign,cRLSign',
      'subjectKeyIdentifier=hash',
    ],
    bits: options.bits,
    days: options.days,
  });
  return { commonName, ...files };
}

/** A new RSA key and a self-signed certificate for it (`req -x509 -addext`), as dir/<name>.*. */
async function selfSigned(
  dir: string,
  name: string,
  options: Omit<IssueOptions, 'newkey' | 'serial'>,
): Promise<CertFiles> {
  await run(openssl(), [
    'req',
    '-x509',
    '-newkey',
    `rsa:${options.bits ?? 2048}`,
    '-nodes',
    '-sha256',
    '-keyout',
    join(dir, `${name}.key`),
    '-out',
    join(dir, `${name}.pem`),
    '-days',
    String(options.days ?? 30),
    '-set_serial',
    randomSerial(),
    '-subj',
    options.subject,
    ...options.extensions.flatMap((line) => ['-addext', line]),
  ]);
  return finish(dir, name);
}

/**
 * An end-entity certificate for a Direct address, signed by `ca`: SAN rfc822Name, key usage
 * digitalSignature+keyEncipherment, EKU emailProtection, SKI/AKI, optional AIA and CRL DP.
 */
export async function issueEndEntityCert(
  ca: TestCa,
  dir: string,
  options: EndEntityOptions,
): Promise<TestEndEntity> {
  const name = options.name ?? options.email.replace('@', '.');
  const sans = [`email:${options.email}`, ...(options.dnsNames ?? []).map((d) => `DNS:${d}`)];
  const files = await issueCert(ca, dir, name, {
    subject: `/O=Sealpost Tests/CN=${options.commonName ?? options.email}/emailAddress=${options.email}`,
    extensions: [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=emailProtection',
      `subjectAltName=${sans.join(',')}`,
      'subjectKeyIdentifier=hash',
      'authorityKeyIdentifier=keyid',
      ...(options.caIssuersUrl
        ? [`authorityInfoAccess=caIssuers;URI:${options.caIssuersUrl}`]
        : []),
      ...(options.crlUrl ? [`crlDistributionPoints=URI:${options.crlUrl}`] : []),
    ],
    bits: options.bits,
    days: options.days,
  });
  return { email: options.email, ...files };
}

export interface IntermediateOptions {
  /** File name stem in `dir`. Default "intermediate". */
  name?: string;
  commonName?: string;
  /** basicConstraints pathlen; none by default. */
  pathLen?: number;
  bits?: number;
  days?: number;
}

/** An intermediate CA certificate signed by `issuer` (CA:TRUE, keyCertSign, cRLSign, SKI/AKI). */
export async function issueIntermediateCa(
  issuer: TestCa,
  dir: string,
  options: IntermediateOptions = {},
): Promise<TestCa> {
  const commonName = options.commonName ?? 'Sealpost Test Intermediate';
  const pathLen = options.pathLen === undefined ? '' : `,pathlen:${options.pathLen}`;
  const files = await issueCert(issuer, dir, options.name ?? 'intermediate', {
    subject: `/O=Sealpost Tests/CN=${commonName}`,
    extensions: [
      `basicConstraints=critical,CA:TRUE${pathLen}`,
      'keyUsage=critical,keyCertSign,cRLSign',
      'subjectKeyIdentifier=hash',
      'authorityKeyIdentifier=keyid',
    ],
    bits: options.bits,
    days: options.days,
  });
  return { commonName, ...files };
}

/**
 * A TLS server certificate signed by `ca` (default CN localhost, SAN DNS localhost and IP
 * 127.0.0.1; serverAuth), for a loopback server whose clients trust `ca`.
 */
export async function issueServerCert(
  ca: TestCa,
  dir: string,
  options: ServerCertOptions = {},
): Promise<CertFiles> {
  return issueCert(ca, dir, options.name ?? 'server', {
    subject: `/CN=${options.commonName ?? 'localhost'}`,
    extensions: [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      `subjectAltName=${serverSans(options).join(',')}`,
      'subjectKeyIdentifier=hash',
      'authorityKeyIdentifier=keyid',
    ],
    bits: options.bits,
    days: options.days,
  });
}

export interface IssueOptions {
  /** openssl -subj form, e.g. `/O=Sealpost Tests/CN=name`. */
  subject: string;
  /** x509v3 extension lines (`-extfile`). */
  extensions: readonly string[];
  /** `openssl req` key arguments (default `-newkey rsa:<bits>`), e.g. an EC curve. */
  newkey?: readonly string[] | undefined;
  /** RSA key size for the default key. Default 2048. */
  bits?: number | undefined;
  days?: number | undefined;
  /** `-set_serial` value. Default: a random positive 64-bit serial. */
  serial?: string | undefined;
}

/** A new key and a certificate for it signed by `ca`, as dir/<name>.{key,pem,der}. */
export async function issueCert(
  ca: Pick<CertFiles, 'certPath' | 'keyPath'>,
  dir: string,
  name: string,
  options: IssueOptions,
): Promise<CertFiles> {
  const keyPath = join(dir, `${name}.key`);
  const csrPath = join(dir, `${name}.csr`);
  const extPath = join(dir, `${name}.ext`);
  await writeFile(extPath, options.extensions.join('\n') + '\n');
  await run(openssl(), [
    'req',
    '-new',
    ...(options.newkey ?? ['-newkey', `rsa:${options.bits ?? 2048}`]),
    '-nodes',
    '-sha256',
    '-keyout',
    keyPath,
    '-out',
    csrPath,
    '-subj',
    options.subject,
  ]);
  await run(openssl(), [
    'x509',
    '-req',
    '-in',
    csrPath,
    '-sha256',
    '-CA',
    ca.certPath,
    '-CAkey',
    ca.keyPath,
    '-set_serial',
    options.serial ?? randomSerial(),
    '-days',
    String(options.days ?? 30),
    '-extfile',
    extPath,
    '-out',
    join(dir, `${name}.pem`),
  ]);
  return finish(dir, name);
}

/**
 * The x509v3 lines of a signing-only Direct certificate for `email`: not a CA,
 * digitalSignature, emailProtection, SAN rfc822Name, SKI/AKI.
 */
export function signingLeafExtensions(email: string): string[] {
  return [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature',
    'extendedKeyUsage=emailProtection',
    `subjectAltName=email:${email}`,
    'subjectKeyIdentifier=hash',
    'authorityKeyIdentifier=keyid',
  ];
}

function serverSans(options: ServerCertOptions): string[] {
  const dnsNames = options.dnsNames ?? ['localhost'];
  const ips = options.ipAddresses ?? ['127.0.0.1'];
  return [...dnsNames.map((d) => `DNS:${d}`), ...ips.map((ip) => `IP:${ip}`)];
}

/** A self-signed TLS server certificate (default CN/SAN localhost + IP 127.0.0.1). */
export async function createSelfSignedServerCert(
  dir: string,
  options: ServerCertOptions = {},
): Promise<CertFiles> {
  return selfSigned(dir, options.name ?? 'server', {
    subject: `/CN=${options.commonName ?? 'localhost'}`,
    extensions: [
      `subjectAltName=${serverSans(options).join(',')}`,
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
    ],
    bits: options.bits,
    days: options.days,
  });
}
