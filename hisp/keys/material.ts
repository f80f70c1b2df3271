/**
 * Reading private keys and certificates as the command line and the import dialog receive
 * them: PEM or DER, auto-detected (DESIGN.md §8). Keys become node:crypto KeyObjects and
 * never leave memory: nothing here writes key material to disk or to a log, and error
 * messages name formats and algorithms, never bytes.
 *
 * Formats:
 * - private keys: PEM "PRIVATE KEY" (PKCS#8), "RSA PRIVATE KEY" (PKCS#1), "EC PRIVATE KEY"
 *   (SEC1) — the last two also with OpenSSL's legacy `Proc-Type: 4,ENCRYPTED` headers —
 *   "ENCRYPTED PRIVATE KEY" (PKCS#8 EncryptedPrivateKeyInfo: PBES2, or the PKCS#12 3DES PBE);
 *   DER of any of those, told apart by their ASN.1 shape.
 * - certificates: PEM "CERTIFICATE" / "X509 CERTIFICATE" / "TRUSTED CERTIFICATE" blocks, or
 *   one DER certificate.
 *
 * This is a lightweight reader (framing and validity as Node's X509Certificate sees it); the
 * full certificate model lives in hisp/certs.
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';

import { UniversalTag } from '../asn1/ber.js';
import { HispError } from '../api/errors.js';
import { KEY_LIMITS } from './limits.js';
import { keyMatchesCertificate } from './match.js';
import { DecryptError, UnsupportedAlgorithmError, decryptPrivateKeyInfo } from './pbe.js';
import { PemError, looksLikePem, readPemBlocks, type PemBlock } from './pem.js';
import { Asn1Error, asBuffer, isUniversal, keyReader, sequenceItems } from './reader.js';

export { keyMatchesCertificate } from './match.js';
export { readPkcs12, type Pkcs12Contents } from './pkcs12.js';

type KeyDerType = 'pkcs8' | 'pkcs1' | 'sec1' | 'encrypted-pkcs8';

const KEY_LABELS: Readonly<Record<string, KeyDerType>> = {
  'PRIVATE KEY': 'pkcs8',
  'RSA PRIVATE KEY': 'pkcs1',
  'EC PRIVATE KEY': 'sec1',
  'ENCRYPTED PRIVATE KEY': 'encrypted-pkcs8',
};

const CERT_LABELS = new Set(['CERTIFICATE', 'X509 CERTIFICATE', 'TRUSTED CERTIFICATE']);

function keyError(message: string, cause?: unknown): HispError {
  return new HispError('KEY_MALFORMED', message, cause === undefined ? undefined : { cause });
}

/**
 * A private key from PEM or DER (PKCS#8, PKCS#1 RSA, SEC1 EC, or encrypted PKCS#8 with
 * `password`), auto-detected.
 * @throws HispError KEY_MALFORMED — unreadable, no key in the PEM, more than one key, encrypted
 * without a password, or a wrong password (the message says which).
 */
export function readPrivateKey(data: Uint8Array, password?: string): KeyObject {
  if (data.byteLength === 0) throw keyError('The private-key file is empty.');
  if (data.byteLength > KEY_LIMITS.keyFileBytes)
    throw keyError(
      `The private-key file is larger than ${KEY_LIMITS.keyFileBytes} bytes, so it is not a key.`,
    );
  if (password !== undefined && password.length > KEY_LIMITS.passwordChars)
    throw keyError(`The password is longer than ${KEY_LIMITS.passwordChars} characters.`);
  const buf = asBuffer(data);
  if (looksLikePem(buf)) return readPemPrivateKey(buf, password);
  return readDerPrivateKey(buf, detectKeyDer(buf), password);
}

function readPemPrivateKey(buf: Buffer, password: string | undefined): KeyObject {
  let blocks: PemBlock[];
  try {
    blocks = readPemBlocks(buf);
  } catch (error) {
    if (error instanceof PemError)
      throw keyError(`The PEM key file is damaged: ${error.message}.`, error);
    throw error;
  }
  const keyBlocks = blocks.filter((block) => Object.hasOwn(KEY_LABELS, block.label));
  const [block] = keyBlocks;
  if (block === undefined) {
    const found = [...new Set(blocks.map((b) => b.label))].join(', ') || 'nothing';
    throw keyError(`The PEM file holds no private key (found: ${found}).`);
  }
  if (keyBlocks.length > 1)
    throw keyError(
      `The PEM file holds ${keyBlocks.length} private keys; give a file with exactly one.`,
    );
  const type = KEY_LABELS[block.label] ?? 'pkcs8';
  const procType = block.headers.get('Proc-Type') ?? '';
  if (/ENCRYPTED/i.test(procType)) {
    // OpenSSL's legacy PEM encryption (DEK-Info); Node's PEM reader implements it.
    if (password === undefined)
      throw keyError('The private key is encrypted (PEM Proc-Type ENCRYPTED); give its password.');
    try {
      return privateOnly(
        createPrivateKey({ key: block.text, format: 'pem', passphrase: password }),
      );
    } catch (cause) {
      throw keyError(
        'The encrypted private key could not be decrypted: the password is wrong or the key is damaged.',
        cause,
      );
    }
  }
  return readDerPrivateKey(block.der, type, password);
}

/** Tell PKCS#8, encrypted PKCS#8, PKCS#1 and SEC1 apart by their ASN.1 shape. */
function detectKeyDer(buf: Buffer): KeyDerType {
  try {
    const reader = keyReader(buf);
    const [first, second] = sequenceItems(reader, reader.root(), 'private key', 2);
    if (
      first &&
      second &&
      isUniversal(first, UniversalTag.SEQUENCE) &&
      isUniversal(second, UniversalTag.OCTET_STRING)
    )
      return 'encrypted-pkcs8';
    if (first && isUniversal(first, UniversalTag.INTEGER) && second) {
      if (isUniversal(second, UniversalTag.SEQUENCE)) return 'pkcs8';
      if (isUniversal(second, UniversalTag.INTEGER)) return 'pkcs1';
      if (isUniversal(second, UniversalTag.OCTET_STRING)) return 'sec1';
    }
  } catch (error) {
    if (error instanceof Asn1Error)
      throw keyError(`The file is neither PEM nor a DER private key (${error.message}).`, error);
    throw error;
  }
  throw keyError('The file is neither PEM nor a DER private key (PKCS#8, PKCS#1 or SEC1).');
}

function readDerPrivateKey(der: Buffer, type: KeyDerType, password: string | undefined): KeyObject {
  if (type === 'encrypted-pkcs8') {
    if (password === undefined)
      throw keyError(
        'The private key is encrypted (PKCS#8 EncryptedPrivateKeyInfo); give its password.',
      );
    const plain = decryptPkcs8(der, password);
    try {
      return loadDer(plain, 'pkcs8');
    } finally {
      plain.fill(0); // the decrypted key lives on only inside the KeyObject
    }
  }
  return loadDer(der, type);
}

function decryptPkcs8(der: Buffer, password: string): Buffer {
  try {
    const reader = keyReader(der);
    return decryptPrivateKeyInfo(reader, reader.root(), password).der;
  } catch (error) {
    if (error instanceof DecryptError)
      throw keyError(
        'The encrypted private key could not be decrypted: the password is wrong or the key is damaged.',
        error,
      );
    if (error instanceof UnsupportedAlgorithmError)
      throw keyError(
        `The private key is encrypted with ${error.algorithm}, which Sealpost does not read. ` +
          'Re-encrypt it with OpenSSL 3: openssl pkcs8 -topk8 -v2 aes-256-cbc -provider legacy -provider default -in old.key -out new.key',
        error,
      );
    if (error instanceof Asn1Error)
      throw keyError(`The encrypted private key is damaged (${error.message}).`, error);
    throw error;
  }
}

function loadDer(der: Buffer, type: 'pkcs8' | 'pkcs1' | 'sec1'): KeyObject {
  try {
    return privateOnly(createPrivateKey({ key: der, format: 'der', type }));
  } catch (cause) {
    const name = { pkcs8: 'PKCS#8', pkcs1: 'PKCS#1 RSA', sec1: 'SEC1 EC' }[type];
    throw keyError(
      `The ${name} private key could not be read: it is damaged or of an unknown kind.`,
      cause,
    );
  }
}

function privateOnly(key: KeyObject): KeyObject {
  if (key.type !== 'private') throw keyError('The file holds a public key, not a private key.');
  return key;
}

// ── Certificates ────────────────────────────────────────────────────────────────────────────

function certError(message: string, cause?: unknown): HispError {
  return new HispError('CERT_MALFORMED', message, cause === undefined ? undefined : { cause });
}

/**
 * Certificates as DER: every certificate PEM block in order, or one DER certificate.
 * Each is checked to be a readable X.509 certificate with nothing after it.
 * @throws HispError CERT_MALFORMED
 */
export function readCertificateDers(data: Uint8Array): Buffer[] {
  if (data.byteLength === 0) throw certError('The certificate file is empty.');
  if (data.byteLength > KEY_LIMITS.certFileBytes)
    throw certError(`The certificate file is larger than ${KEY_LIMITS.certFileBytes} bytes.`);
  const buf = asBuffer(data);
  if (!looksLikePem(buf)) return [checkCertificateDer(Buffer.from(buf), 'The DER certificate')];
  let blocks: PemBlock[];
  try {
    blocks = readPemBlocks(buf);
  } catch (error) {
    if (error instanceof PemError)
      throw certError(`The PEM certificate file is damaged: ${error.message}.`, error);
    throw error;
  }
  const certs: Buffer[] = [];
  for (const block of blocks) {
    if (!CERT_LABELS.has(block.label)) continue;
    let der = block.der;
    // OpenSSL's TRUSTED CERTIFICATE is the certificate followed by its trust settings.
    if (block.label === 'TRUSTED CERTIFICATE') der = firstElement(der, certs.length + 1);
    certs.push(checkCertificateDer(der, `Certificate ${certs.length + 1} in the PEM file`));
  }
  if (certs.length === 0) {
    const found = [...new Set(blocks.map((b) => b.label))].join(', ') || 'nothing';
    throw certError(`The PEM file holds no certificate (found: ${found}).`);
  }
  return certs;
}

function firstElement(der: Buffer, index: number): Buffer {
  try {
    const reader = keyReader(der);
    return Buffer.from(reader.raw(reader.root(true)));
  } catch (error) {
    throw certError(`Certificate ${index} in the PEM file is damaged.`, error);
  }
}

function checkCertificateDer(der: Buffer, what: string): Buffer {
  try {
    const reader = keyReader(der);
    sequenceItems(reader, reader.root(), 'certificate', 3);
  } catch (error) {
    if (error instanceof Asn1Error)
      throw certError(`${what} is not valid DER X.509 (${error.message}).`, error);
    throw error;
  }
  parseCertificate(der, what);
  return der;
}

function parseCertificate(der: Uint8Array, what: string): X509Certificate {
  try {
    return new X509Certificate(der);
  } catch (cause) {
    throw certError(`${what} is not a readable X.509 certificate.`, cause);
  }
}

/**
 * @throws HispError KEY_CERT_MISMATCH unless `key` (private, or public) is the key pair of the
 * certificate's public key; CERT_MALFORMED if the certificate cannot be read.
 */
export function assertKeyMatchesCertificate(key: KeyObject, certDer: Uint8Array): void {
  if (!keyMatchesCertificate(key, parseCertificate(certDer, 'The certificate'))) {
    const cert = parseCertificate(certDer, 'The certificate');
    throw new HispError(
      'KEY_CERT_MISMATCH',
      `The private key does not belong to the certificate "${cert.subject.replace(/\n/g, ', ')}".`,
    );
  }
}
