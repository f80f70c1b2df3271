/**
 * Password-based encryption and MAC keys for PKCS#12 (RFC 7292) and encrypted PKCS#8
 * (RFC 5958 / RFC 8018), done with node:crypto only (synchronous, no WebCrypto).
 *
 * - The RFC 7292 Appendix B.2 KDF ("PKCS#12 KDF") for the MAC key and the legacy
 *   pbeWithSHAAnd3-KeyTripleDES-CBC / 2-KeyTripleDES-CBC keys and IVs.
 * - PBES2 (RFC 8018 §6.2): PBKDF2 with HMAC-SHA-1/224/256/384/512 and AES-128/192/256-CBC or
 *   DES-EDE3-CBC, which is what OpenSSL 3 writes.
 * - RC2 and RC4 (the other RFC 7292 PBEs, and OpenSSL's legacy default for certificates) are
 *   not in Node's OpenSSL 3 default provider: `crypto.getCiphers()` lists no rc2/rc4 and
 *   `createCipheriv('rc2-40-cbc', …)` fails with "unsupported". They are reported as
 *   `UnsupportedAlgorithmError` so the PKCS#12 reader can give the conversion commands.
 *
 * Nothing here logs or stores key material; derived keys live only in local Buffers.
 */
import { createDecipheriv, createHash, pbkdf2Sync } from 'node:crypto';

import { type BerReader, type Tlv, UniversalTag } from '../asn1/ber.js';
import { KEY_LIMITS } from './limits.js';
import { Asn1Error, isUniversal, keyReader, octetStringValue, sequenceItems } from './reader.js';

/** An algorithm that is recognised but cannot be used here (name for the message). */
export class UnsupportedAlgorithmError extends Error {
  override readonly name = 'UnsupportedAlgorithmError';
  constructor(
    readonly algorithm: string,
    readonly legacy: boolean,
    message?: string,
  ) {
    super(message ?? `${algorithm} is not supported`);
  }
}

/** Decryption produced garbage (bad padding): the wrong password, or damaged data. */
export class DecryptError extends Error {
  override readonly name = 'DecryptError';
}

export const OID = {
  // RFC 7292 Appendix C: PKCS#12 PBE
  pbeSha1Rc4_128: '1.2.840.113549.1.12.1.1',
  pbeSha1Rc4_40: '1.2.840.113549.1.12.1.2',
  pbeSha1TripleDes3Key: '1.2.840.113549.1.12.1.3',
  pbeSha1TripleDes2Key: '1.2.840.113549.1.12.1.4',
  pbeSha1Rc2_128: '1.2.840.113549.1.12.1.5',
  pbeSha1Rc2_40: '1.2.840.113549.1.12.1.6',
  // RFC 8018
  pbes2: '1.2.840.113549.1.5.13',
  pbkdf2: '1.2.840.113549.1.5.12',
  pbmac1: '1.2.840.113549.1.5.14',
  hmacSha1: '1.2.840.113549.2.7',
  hmacSha224: '1.2.840.113549.2.8',
  hmacSha256: '1.2.840.113549.2.9',
  hmacSha384: '1.2.840.113549.2.10',
  hmacSha512: '1.2.840.113549.2.11',
  hmacSha512_224: '1.2.840.113549.2.12',
  hmacSha512_256: '1.2.840.113549.2.13',
  aes128Cbc: '2.16.840.1.101.3.4.1.2',
  aes192Cbc: '2.16.840.1.101.3.4.1.22',
  aes256Cbc: '2.16.840.1.101.3.4.1.42',
  desEde3Cbc: '1.2.840.113549.3.7',
  desCbc: '1.3.14.3.2.7',
  rc2Cbc: '1.2.840.113549.3.2',
  // PBES1 (RFC 8018 §6.1)
  pbeMd2Des: '1.2.840.113549.1.5.1',
  pbeMd5Des: '1.2.840.113549.1.5.3',
  pbeMd2Rc2: '1.2.840.113549.1.5.4',
  pbeMd5Rc2: '1.2.840.113549.1.5.6',
  pbeSha1Des: '1.2.840.113549.1.5.10',
  pbeSha1Rc2: '1.2.840.113549.1.5.11',
  // Digests (MacData)
  md5: '1.2.840.113549.2.5',
  sha1: '1.3.14.3.2.26',
  sha224: '2.16.840.1.101.3.4.2.4',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
  sha512_224: '2.16.840.1.101.3.4.2.5',
  sha512_256: '2.16.840.1.101.3.4.2.6',
} as const;

/** Human names for the algorithms a message may mention. */
const ALGORITHM_NAMES: Readonly<Record<string, string>> = {
  [OID.pbeSha1Rc4_128]: 'pbeWithSHA1And128BitRC4',
  [OID.pbeSha1Rc4_40]: 'pbeWithSHA1And40BitRC4',
  [OID.pbeSha1TripleDes3Key]: 'pbeWithSHA1And3-KeyTripleDES-CBC',
  [OID.pbeSha1TripleDes2Key]: 'pbeWithSHA1And2-KeyTripleDES-CBC',
  [OID.pbeSha1Rc2_128]: 'pbeWithSHA1And128BitRC2-CBC',
  [OID.pbeSha1Rc2_40]: 'pbeWithSHA1And40BitRC2-CBC',
  [OID.pbeMd2Des]: 'pbeWithMD2AndDES-CBC',
  [OID.pbeMd5Des]: 'pbeWithMD5AndDES-CBC',
  [OID.pbeMd2Rc2]: 'pbeWithMD2AndRC2-CBC',
  [OID.pbeMd5Rc2]: 'pbeWithMD5AndRC2-CBC',
  [OID.pbeSha1Des]: 'pbeWithSHA1AndDES-CBC',
  [OID.pbeSha1Rc2]: 'pbeWithSHA1AndRC2-CBC',
  [OID.desCbc]: 'DES-CBC',
  [OID.rc2Cbc]: 'RC2-CBC',
};

export function algorithmName(oid: string): string {
  return ALGORITHM_NAMES[oid] ?? oid;
}

/** Hash parameters for the PKCS#12 KDF: output length u and block length v, in bytes. */
interface HashInfo {
  readonly node: string;
  readonly u: number;
  readonly v: number;
}

const DIGESTS: Readonly<Record<string, HashInfo>> = {
  [OID.md5]: { node: 'md5', u: 16, v: 64 },
  [OID.sha1]: { node: 'sha1', u: 20, v: 64 },
  [OID.sha224]: { node: 'sha224', u: 28, v: 64 },
  [OID.sha256]: { node: 'sha256', u: 32, v: 64 },
  [OID.sha384]: { node: 'sha384', u: 48, v: 128 },
  [OID.sha512]: { node: 'sha512', u: 64, v: 128 },
  [OID.sha512_224]: { node: 'sha512-224', u: 28, v: 128 },
  [OID.sha512_256]: { node: 'sha512-256', u: 32, v: 128 },
};

export function digestInfo(oid: string): HashInfo {
  const info = DIGESTS[oid];
  if (!info) throw new UnsupportedAlgorithmError(oid, false, `MAC digest ${oid} is not supported`);
  return info;
}

const HMAC_PRFS: Readonly<Record<string, string>> = {
  [OID.hmacSha1]: 'sha1',
  [OID.hmacSha224]: 'sha224',
  [OID.hmacSha256]: 'sha256',
  [OID.hmacSha384]: 'sha384',
  [OID.hmacSha512]: 'sha512',
  [OID.hmacSha512_224]: 'sha512-224',
  [OID.hmacSha512_256]: 'sha512-256',
};

export function hmacPrf(oid: string): string {
  const name = HMAC_PRFS[oid];
  if (!name) throw new UnsupportedAlgorithmError(oid, false, `PRF ${oid} is not supported`);
  return name;
}

// ── Passwords ───────────────────────────────────────────────────────────────────────────────

/**
 * RFC 7292 Appendix B.1: the password as a BMPString (UTF-16BE) with two trailing zero bytes.
 * An empty password is therefore the two bytes 00 00.
 */
export function bmpPassword(password: string): Buffer {
  const out = Buffer.alloc(password.length * 2 + 2);
  for (let i = 0; i < password.length; i++) out.writeUInt16BE(password.charCodeAt(i), i * 2);
  return out;
}

/**
 * The byte strings to try as the PKCS#12-KDF password, most likely first:
 * the RFC 7292 encoding; for an empty password also the zero-length string (what OpenSSL
 * uses when the password is absent rather than empty); for a non-ASCII password also its
 * UTF-8 bytes widened one by one to 16 bits (what OpenSSL before 1.1.0 wrote from a UTF-8
 * terminal).
 */
export function pkcs12PasswordVariants(password: string): Buffer[] {
  const variants = [bmpPassword(password)];
  if (password === '') variants.push(Buffer.alloc(0));
  if (/[^\x20-\x7e]/.test(password)) {
    const bytes = Buffer.from(password, 'utf8');
    const widened = Buffer.alloc(bytes.length * 2 + 2);
    for (let i = 0; i < bytes.length; i++) widened[i * 2 + 1] = bytes[i] ?? 0;
    variants.push(widened);
  }
  return variants;
}

/** The password bytes for PBKDF2 (PBES2, PBMAC1): UTF-8, as OpenSSL and RFC 9579 use. */
export function utf8Password(password: string): Buffer {
  return Buffer.from(password, 'utf8');
}

// ── RFC 7292 Appendix B.2 ───────────────────────────────────────────────────────────────────

/** Diversifier ID: 1 = key material, 2 = IV, 3 = MAC key. */
export type Pkcs12KdfId = 1 | 2 | 3;

/**
 * The PKCS#12 KDF (RFC 7292 Appendix B.2). `password` is already encoded (see
 * pkcs12PasswordVariants); `n` is the number of bytes wanted.
 */
export function pkcs12Kdf(
  hash: HashInfo,
  password: Buffer,
  salt: Buffer,
  id: Pkcs12KdfId,
  iterations: number,
  n: number,
): Buffer {
  checkIterations(iterations, KEY_LIMITS.pkcs12KdfIterations);
  const { u, v } = hash;
  const D = Buffer.alloc(v, id);
  const S = repeatToMultiple(salt, v);
  const P = repeatToMultiple(password, v);
  const I = Buffer.concat([S, P]);
  const c = Math.ceil(n / u);
  const out = Buffer.alloc(c * u);
  const B = Buffer.alloc(v);
  for (let i = 0; i < c; i++) {
    let A = createHash(hash.node).update(D).update(I).digest();
    for (let r = 1; r < iterations; r++) A = createHash(hash.node).update(A).digest();
    A.copy(out, i * u);
    if (i === c - 1) break;
    for (let k = 0; k < v; k++) B[k] = A[k % u] ?? 0;
    // I_j = (I_j + B + 1) mod 2^(8v), for each v-byte block I_j of I.
    for (let j = 0; j < I.length; j += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        const sum = (I[j + k] ?? 0) + (B[k] ?? 0) + carry;
        I[j + k] = sum & 0xff;
        carry = sum >> 8;
      }
    }
  }
  return out.subarray(0, n);
}

function repeatToMultiple(data: Buffer, v: number): Buffer {
  if (data.length === 0) return Buffer.alloc(0);
  const length = v * Math.ceil(data.length / v);
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = data[i % data.length] ?? 0;
  return out;
}

function checkIterations(iterations: number, max: number): void {
  if (!Number.isSafeInteger(iterations) || iterations < 1)
    throw new Asn1Error(`iteration count ${iterations} is not valid`);
  if (iterations > max)
    throw new Asn1Error(`iteration count ${iterations} is above the limit of ${max}`);
}

// ── Encryption schemes ──────────────────────────────────────────────────────────────────────

/** How a password decrypts one blob: the scheme is parsed once, then tried per password. */
export interface PbeScheme {
  readonly oid: string;
  readonly name: string;
  /** 'pkcs12' schemes take BMP password variants; 'pbes2' takes UTF-8 bytes. */
  readonly passwordEncoding: 'pkcs12' | 'pbes2';
  decrypt(password: Buffer, ciphertext: Buffer): Buffer;
}

const PBES2_CIPHERS: Readonly<
  Record<string, { node: string; keyLength: number; ivLength: number }>
> = {
  [OID.aes128Cbc]: { node: 'aes-128-cbc', keyLength: 16, ivLength: 16 },
  [OID.aes192Cbc]: { node: 'aes-192-cbc', keyLength: 24, ivLength: 16 },
  [OID.aes256Cbc]: { node: 'aes-256-cbc', keyLength: 32, ivLength: 16 },
  [OID.desEde3Cbc]: { node: 'des-ede3-cbc', keyLength: 24, ivLength: 8 },
};

const LEGACY_UNSUPPORTED = new Set<string>([
  OID.pbeSha1Rc4_128,
  OID.pbeSha1Rc4_40,
  OID.pbeSha1Rc2_128,
  OID.pbeSha1Rc2_40,
  OID.pbeMd2Des,
  OID.pbeMd5Des,
  OID.pbeMd2Rc2,
  OID.pbeMd5Rc2,
  OID.pbeSha1Des,
  OID.pbeSha1Rc2,
]);

function runCipher(cipher: string, key: Buffer, iv: Buffer, ciphertext: Buffer): Buffer {
  if (ciphertext.length === 0 || ciphertext.length % iv.length !== 0)
    throw new DecryptError('ciphertext length is not a whole number of blocks');
  try {
    const decipher = createDecipheriv(cipher, key, iv);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch (cause) {
    throw new DecryptError('decryption failed (bad padding)', { cause });
  }
}

/**
 * Parse an AlgorithmIdentifier for a password-based encryption scheme.
 * @throws UnsupportedAlgorithmError for RC2, RC4, single DES, PBES1; Asn1Error when malformed.
 */
export function parsePbeScheme(reader: BerReader, algorithm: Tlv): PbeScheme {
  const [oidNode, params] = sequenceItems(reader, algorithm, 'encryption algorithm', 1);
  const oid = reader.oid(oidNode, 'encryption algorithm');
  if (oid === OID.pbeSha1TripleDes3Key || oid === OID.pbeSha1TripleDes2Key) {
    const [saltNode, iterNode] = sequenceItems(reader, params, 'PKCS#12 PBE parameters', 2);
    const salt = boundedSalt(octetStringValue(reader, saltNode, 'PBE salt'));
    const iterations = reader.unsignedInteger(iterNode, 'PBE iterations');
    checkIterations(iterations, KEY_LIMITS.pkcs12KdfIterations);
    const threeKey = oid === OID.pbeSha1TripleDes3Key;
    const sha1 = digestInfo(OID.sha1);
    return {
      oid,
      name: algorithmName(oid),
      passwordEncoding: 'pkcs12',
      decrypt(password, ciphertext) {
        const key = pkcs12Kdf(sha1, password, salt, 1, iterations, threeKey ? 24 : 16);
        const iv = pkcs12Kdf(sha1, password, salt, 2, iterations, 8);
        try {
          return runCipher(threeKey ? 'des-ede3-cbc' : 'des-ede-cbc', key, iv, ciphertext);
        } finally {
          key.fill(0);
        }
      },
    };
  }
  if (oid === OID.pbes2) return parsePbes2(reader, params);
  if (LEGACY_UNSUPPORTED.has(oid)) throw new UnsupportedAlgorithmError(algorithmName(oid), true);
  throw new UnsupportedAlgorithmError(oid, false, `encryption algorithm ${oid} is not supported`);
}

/** PBKDF2-params (RFC 8018 A.2), as used by PBES2 and PBMAC1. */
export interface Pbkdf2Params {
  readonly salt: Buffer;
  readonly iterations: number;
  readonly keyLength: number | undefined;
  readonly prf: string;
}

export function parsePbkdf2(reader: BerReader, kdf: Tlv | undefined): Pbkdf2Params {
  const [kdfOid, kdfParams] = sequenceItems(reader, kdf, 'key derivation function', 1);
  const oid = reader.oid(kdfOid, 'key derivation function');
  if (oid !== OID.pbkdf2)
    throw new UnsupportedAlgorithmError(
      oid,
      false,
      `key derivation function ${oid} is not supported`,
    );
  const items = sequenceItems(reader, kdfParams, 'PBKDF2 parameters', 2);
  const [saltNode, iterNode] = items;
  if (saltNode && !isUniversal(saltNode, UniversalTag.OCTET_STRING))
    throw new UnsupportedAlgorithmError('PBKDF2 otherSource salt', false);
  const salt = boundedSalt(octetStringValue(reader, saltNode, 'PBKDF2 salt'));
  const iterations = reader.unsignedInteger(iterNode, 'PBKDF2 iterations');
  checkIterations(iterations, KEY_LIMITS.pbkdf2Iterations);
  let keyLength: number | undefined;
  let prf = 'sha1';
  for (const item of items.slice(2)) {
    if (isUniversal(item, UniversalTag.INTEGER)) {
      keyLength = reader.unsignedInteger(item, 'PBKDF2 key length');
      if (keyLength < 1 || keyLength > 64) throw new Asn1Error('PBKDF2 key length out of range');
    } else {
      const [prfOid] = sequenceItems(reader, item, 'PBKDF2 PRF', 1);
      prf = hmacPrf(reader.oid(prfOid, 'PBKDF2 PRF'));
    }
  }
  return { salt, iterations, keyLength, prf };
}

function parsePbes2(reader: BerReader, params: Tlv | undefined): PbeScheme {
  const [kdf, scheme] = sequenceItems(reader, params, 'PBES2 parameters', 2);
  const pbkdf2 = parsePbkdf2(reader, kdf);
  const [cipherOid, ivNode] = sequenceItems(reader, scheme, 'PBES2 encryption scheme', 1);
  const oid = reader.oid(cipherOid, 'PBES2 encryption scheme');
  const cipher = PBES2_CIPHERS[oid];
  if (!cipher) {
    const legacy = oid === OID.rc2Cbc || oid === OID.desCbc;
    throw new UnsupportedAlgorithmError(
      algorithmName(oid),
      legacy,
      `PBES2 cipher ${algorithmName(oid)} is not supported`,
    );
  }
  const iv = octetStringValue(reader, ivNode, 'PBES2 IV');
  if (iv.length !== cipher.ivLength) throw new Asn1Error('PBES2 IV has the wrong length');
  if (pbkdf2.keyLength !== undefined && pbkdf2.keyLength !== cipher.keyLength)
    throw new Asn1Error('PBKDF2 key length does not match the cipher');
  return {
    oid: OID.pbes2,
    name: `PBES2 (PBKDF2-HMAC-${pbkdf2.prf.toUpperCase()}, ${cipher.node.toUpperCase()})`,
    passwordEncoding: 'pbes2',
    decrypt(password, ciphertext) {
      const key = pbkdf2Sync(
        password,
        pbkdf2.salt,
        pbkdf2.iterations,
        cipher.keyLength,
        pbkdf2.prf,
      );
      try {
        return runCipher(cipher.node, key, iv, ciphertext);
      } finally {
        key.fill(0);
      }
    },
  };
}

function boundedSalt(salt: Buffer): Buffer {
  if (salt.length > KEY_LIMITS.saltBytes) throw new Asn1Error('salt is longer than the limit');
  return salt;
}

/** The password byte strings to try for a scheme. */
export function passwordsFor(scheme: PbeScheme, password: string): Buffer[] {
  return scheme.passwordEncoding === 'pkcs12'
    ? pkcs12PasswordVariants(password)
    : [utf8Password(password)];
}

/**
 * Decrypt with each password variant; the first result that passes `accept` (a structural
 * check: valid padding can happen by chance with a wrong password) wins.
 * @throws DecryptError when no variant gives an acceptable plaintext.
 */
export function decryptWithPassword<T>(
  scheme: PbeScheme,
  password: string,
  ciphertext: Buffer,
  accept: (plaintext: Buffer) => T,
): T {
  let last: unknown;
  for (const variant of passwordsFor(scheme, password)) {
    try {
      return accept(scheme.decrypt(variant, ciphertext));
    } catch (error) {
      if (error instanceof UnsupportedAlgorithmError) throw error;
      last = error;
    }
  }
  throw new DecryptError('could not decrypt with this password', { cause: last });
}

/**
 * EncryptedPrivateKeyInfo (RFC 5958):
 *   EncryptedPrivateKeyInfo ::= SEQUENCE {
 *     encryptionAlgorithm  EncryptionAlgorithmIdentifier,
 *     encryptedData        EncryptedData }   -- OCTET STRING
 * Returns the PrivateKeyInfo DER and the name of the scheme that protected it.
 */
export function decryptPrivateKeyInfo(
  reader: BerReader,
  encrypted: Tlv,
  password: string,
): { readonly der: Buffer; readonly scheme: string } {
  const [algorithm, data] = sequenceItems(reader, encrypted, 'EncryptedPrivateKeyInfo', 2);
  if (algorithm === undefined) throw new Asn1Error('EncryptedPrivateKeyInfo: missing algorithm');
  const scheme = parsePbeScheme(reader, algorithm);
  const ciphertext = octetStringValue(reader, data, 'EncryptedPrivateKeyInfo data');
  const der = decryptWithPassword(scheme, password, ciphertext, (plain) => {
    // The plaintext must be one PrivateKeyInfo SEQUENCE { INTEGER version, ... }.
    const plainReader = keyReader(plain);
    const [version] = sequenceItems(plainReader, plainReader.root(), 'PrivateKeyInfo', 3);
    plainReader.unsignedInteger(version, 'PrivateKeyInfo version');
    return plain;
  });
  return { der, scheme: scheme.name };
}
