/**
 * Throwaway test certificates made with the `openssl` CLI into a directory the caller owns
 * (normally a service's temp dir): a self-signed CA, Direct-style end-entity certificates
 * with a SAN rfc822Name (PEM + DER), and self-signed TLS server certificates for daemons.
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
  const name = options.name ?? 'ca';
  const commonName = options.commonName ?? 'Sealpost Test CA';
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
    `/O=Sealpost Tests/CN=${commonName}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-addext',
    'subjectKeyIdentifier=hash',
  ]);
  return { commonName, ...(await finish(dir, name)) };
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
  const keyPath = join(dir, `${name}.key`);
  const csrPath = join(dir, `${name}.csr`);
  const extPath = join(dir, `${name}.ext`);
  const sans = [`email:${options.email}`, ...(options.dnsNames ?? []).map((d) => `DNS:${d}`)];
  const ext = [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=emailProtection',
    `subjectAltName=${sans.join(',')}`,
    'subjectKeyIdentifier=hash',
    'authorityKeyIdentifier=keyid',
    ...(options.caIssuersUrl ? [`authorityInfoAccess=caIssuers;URI:${options.caIssuersUrl}`] : []),
    ...(options.crlUrl ? [`crlDistributionPoints=URI:${options.crlUrl}`] : []),
  ];
  await writeFile(extPath, ext.join('\n') + '\n');
  await run(openssl(), [
    'req',
    '-new',
    '-newkey',
    `rsa:${options.bits ?? 2048}`,
    '-nodes',
    '-sha256',
    '-keyout',
    keyPath,
    '-out',
    csrPath,
    '-subj',
    `/O=Sealpost Tests/CN=${options.commonName ?? options.email}/emailAddress=${options.email}`,
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
    randomSerial(),
    '-days',
    String(options.days ?? 30),
    '-extfile',
    extPath,
    '-out',
    join(dir, `${name}.pem`),
  ]);
  return { email: options.email, ...(await finish(dir, name)) };
}

/** A self-signed TLS server certificate (default CN/SAN localhost + IP 127.0.0.1). */
export async function createSelfSignedServerCert(
  dir: string,
  options: ServerCertOptions = {},
): Promise<CertFiles> {
  const name = options.name ?? 'server';
  const dnsNames = options.dnsNames ?? ['localhost'];
  const ips = options.ipAddresses ?? ['127.0.0.1'];
  const sans = [...dnsNames.map((d) => `DNS:${d}`), ...ips.map((ip) => `IP:${ip}`)];
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
    `/CN=${options.commonName ?? 'localhost'}`,
    '-addext',
    `subjectAltName=${sans.join(',')}`,
    '-addext',
    'basicConstraints=critical,CA:FALSE',
    '-addext',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    '-addext',
    'extendedKeyUsage=serverAuth',
  ]);
  return finish(dir, name);
}
