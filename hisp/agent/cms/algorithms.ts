/**
 * The algorithm identifiers of CMS enveloping: content-encryption (AES-CBC, RFC 3565; AES-GCM,
 * RFC 5084) and key transport (rsaEncryption, RFC 3370; RSAES-OAEP, RFC 4055), written as
 * OpenSSL 3 writes them and read in every encoding the RFCs allow.
 *
 * ```asn1
 * AlgorithmIdentifier ::= SEQUENCE {
 *   algorithm OBJECT IDENTIFIER,
 *   parameters ANY DEFINED BY algorithm OPTIONAL }
 * ```
 */
import type { CipherGCMTypes } from 'node:crypto';

import { HispError } from '../../api/errors.js';
import { type BerReader, contextTag, UNIVERSAL } from '../../asn1/ber.js';
import type { Tlv } from '../../asn1/ber.js';
import {
  contextIdentifier,
  integer,
  nullValue,
  octetString,
  oid,
  sequence,
  tlv,
} from '../../asn1/der.js';
import type { ContentCipher, KeyTransport } from '../types.js';
import {
  describeOid,
  ID_AES128_CBC,
  ID_AES128_GCM,
  ID_AES192_CBC,
  ID_AES192_GCM,
  ID_AES256_CBC,
  ID_AES256_GCM,
  ID_MGF1,
  ID_P_SPECIFIED,
  ID_RSAES_OAEP,
  ID_SHA1,
  ID_SHA256,
  ID_SHA384,
  ID_SHA512,
  RSA_ENCRYPTION,
} from './oids.js';

// ── Content encryption ──────────────────────────────────────────────────────────────────────

interface CipherSpecCommon {
  readonly cipher: ContentCipher;
  readonly oid: string;
  /** Key length in bytes. */
  readonly keyLength: number;
}
/** A content cipher: its OID, key length and node:crypto name. */
export type ContentCipherSpec =
  | (CipherSpecCommon & { readonly mode: 'cbc'; readonly nodeName: `aes-${AesBits}-cbc` })
  | (CipherSpecCommon & { readonly mode: 'gcm'; readonly nodeName: CipherGCMTypes });
type AesBits = 128 | 192 | 256;

export const CONTENT_CIPHER_SPECS: Readonly<Record<ContentCipher, ContentCipherSpec>> = {
  'aes128-cbc': cbc('aes128-cbc', ID_AES128_CBC, 128),
  'aes192-cbc': cbc('aes192-cbc', ID_AES192_CBC, 192),
  'aes256-cbc': cbc('aes256-cbc', ID_AES256_CBC, 256),
  'aes128-gcm': gcm('aes128-gcm', ID_AES128_GCM, 128),
  'aes192-gcm': gcm('aes192-gcm', ID_AES192_GCM, 192),
  'aes256-gcm': gcm('aes256-gcm', ID_AES256_GCM, 256),
};

function cbc(cipher: ContentCipher, algorithm: string, bits: AesBits): ContentCipherSpec {
  return { cipher, oid: algorithm, mode: 'cbc', keyLength: bits / 8, nodeName: `aes-${bits}-cbc` };
}

function gcm(cipher: ContentCipher, algorithm: string, bits: AesBits): ContentCipherSpec {
  return { cipher, oid: algorithm, mode: 'gcm', keyLength: bits / 8, nodeName: `aes-${bits}-gcm` };
}

const CIPHER_BY_OID = new Map(Object.values(CONTENT_CIPHER_SPECS).map((s) => [s.oid, s]));

/** AES block and CBC IV size. */
export const AES_BLOCK_BYTES = 16;
/** The GCM nonce we write (RFC 5084 recommends 12 octets). */
export const GCM_NONCE_BYTES = 12;
/** The GCM ICV (tag) length we write. */
export const GCM_TAG_BYTES = 16;
/** GCM nonces accepted on input (node:crypto takes any length; bound it). */
const GCM_NONCE_RANGE = { min: 8, max: 64 } as const;
/** GCM tag lengths accepted on input: RFC 5084 allows 4, 8 and 12–16; short tags are refused. */
const GCM_TAG_RANGE = { min: 12, max: 16 } as const;

/** A content-encryption algorithm with its parameters, read from a message. */
export interface ContentEncryptionParameters {
  readonly spec: ContentCipherSpec;
  /** CBC: the IV; GCM: the nonce. */
  readonly iv: Uint8Array;
  /** GCM only: aes-ICVlen. */
  readonly tagLength: number | undefined;
}

/**
 * ```asn1
 * AES-IV ::= OCTET STRING (SIZE(16))                 -- parameters of id-aesNNN-CBC
 * GCMParameters ::= SEQUENCE {                       -- parameters of id-aesNNN-GCM
 *   aes-nonce        OCTET STRING, -- recommended size is 12 octets
 *   aes-ICVlen       AES-GCM-ICVlen DEFAULT 12 }
 * AES-GCM-ICVlen ::= INTEGER (12 | 13 | 14 | 15 | 16)
 * ```
 * The ICV length 16 differs from the DEFAULT, so DER writes it (as OpenSSL does).
 */
export function encodeContentEncryptionAlgorithm(
  cipher: ContentCipher,
  iv: Uint8Array,
): Uint8Array {
  const s = CONTENT_CIPHER_SPECS[cipher];
  const parameters =
    s.mode === 'cbc' ? octetString(iv) : sequence(octetString(iv), integer(GCM_TAG_BYTES));
  return sequence(oid(s.oid), parameters);
}

/**
 * Reads a ContentEncryptionAlgorithmIdentifier.
 * @throws HispError UNSUPPORTED_ALGORITHM (3DES, RC2, CCM, unknown…), CMS_MALFORMED
 */
export function readContentEncryptionAlgorithm(
  reader: BerReader,
  algorithm: Tlv,
): ContentEncryptionParameters {
  const fields = reader.fields(
    reader.expect(algorithm, UNIVERSAL.SEQUENCE, 'contentEncryptionAlgorithm'),
    'ContentEncryptionAlgorithmIdentifier',
  );
  const id = reader.oid(fields.next(UNIVERSAL.OBJECT_IDENTIFIER, 'algorithm'));
  const s = CIPHER_BY_OID.get(id);
  if (!s) {
    throw new HispError(
      'UNSUPPORTED_ALGORITHM',
      `content encryption ${describeOid(id)} is not supported; Direct uses AES-CBC or AES-GCM`,
    );
  }
  const parameters = fields.any('parameters');
  fields.end();
  if (s.mode === 'cbc') {
    const iv = reader.stringBytes(
      reader.expect(parameters, UNIVERSAL.OCTET_STRING, 'AES-IV'),
      AES_BLOCK_BYTES,
    );
    if (iv.byteLength !== AES_BLOCK_BYTES) throw reader.malformed('AES-IV is not 16 octets');
    return { spec: s, iv, tagLength: undefined };
  }
  const gcm = reader.fields(
    reader.expect(parameters, UNIVERSAL.SEQUENCE, 'GCMParameters'),
    'GCMParameters',
  );
  const nonce = reader.stringBytes(
    gcm.next(UNIVERSAL.OCTET_STRING, 'aes-nonce'),
    GCM_NONCE_RANGE.max,
  );
  const icv = gcm.optional(UNIVERSAL.INTEGER);
  gcm.end();
  const tagLength = icv ? reader.smallInteger(icv) : 12;
  if (nonce.byteLength < GCM_NONCE_RANGE.min)
    throw reader.malformed(`GCM nonce of ${nonce.byteLength} octets`);
  if (tagLength === 4 || tagLength === 8) {
    throw new HispError('UNSUPPORTED_ALGORITHM', `GCM tag of ${tagLength} octets is too short`);
  }
  if (tagLength < GCM_TAG_RANGE.min || tagLength > GCM_TAG_RANGE.max)
    throw reader.malformed(`GCM aes-ICVlen ${tagLength} is not allowed`);
  return { spec: s, iv: nonce, tagLength };
}

// ── Key transport ───────────────────────────────────────────────────────────────────────────

/** A key-transport algorithm read from a KeyTransRecipientInfo. */
export interface KeyTransportParameters {
  readonly keyTransport: KeyTransport;
  /** OAEP only: the node:crypto hash name for oaepHash (MGF1 uses the same). */
  readonly oaepHash: 'sha1' | 'sha256' | 'sha384' | 'sha512' | undefined;
  /** OAEP only: the pSpecified label (usually empty). */
  readonly oaepLabel: Uint8Array | undefined;
}

const HASH_OID: Readonly<Record<'sha1' | 'sha256' | 'sha384' | 'sha512', string>> = {
  sha1: ID_SHA1,
  sha256: ID_SHA256,
  sha384: ID_SHA384,
  sha512: ID_SHA512,
};
const HASH_BY_OID = new Map(
  (Object.entries(HASH_OID) as Array<[keyof typeof HASH_OID, string]>).map(([n, o]) => [o, n]),
);

/**
 * ```asn1
 * rsaEncryption: parameters NULL                                  -- RFC 3370 §4.2.1
 * RSAES-OAEP-params ::= SEQUENCE {                                -- RFC 4055 §4.1
 *   hashFunc    [0] AlgorithmIdentifier DEFAULT sha1Identifier,
 *   maskGenFunc [1] AlgorithmIdentifier DEFAULT mgf1SHA1Identifier,
 *   pSourceFunc [2] AlgorithmIdentifier DEFAULT pSpecifiedEmptyIdentifier }
 * ```
 * As OpenSSL 3 writes them: SHA-1 OAEP is all defaults (an empty SEQUENCE, RFC 4055's
 * rSAES-OAEP-Default-Identifier); SHA-2 hash identifiers have absent parameters (RFC 5754 §2);
 * pSourceFunc is left at its default (empty label).
 */
export function encodeKeyTransportAlgorithm(keyTransport: KeyTransport): Uint8Array {
  if (keyTransport === 'pkcs1') return sequence(oid(RSA_ENCRYPTION), nullValue());
  const hash = oaepHashOf(keyTransport);
  if (hash === 'sha1') return sequence(oid(ID_RSAES_OAEP), sequence());
  const hashAlgorithm = sequence(oid(HASH_OID[hash]));
  return sequence(
    oid(ID_RSAES_OAEP),
    sequence(
      tlv(contextIdentifier(0, true), hashAlgorithm),
      tlv(contextIdentifier(1, true), sequence(oid(ID_MGF1), hashAlgorithm)),
    ),
  );
}

export function oaepHashOf(keyTransport: Exclude<KeyTransport, 'pkcs1'>) {
  switch (keyTransport) {
    case 'oaep-sha1':
      return 'sha1';
    case 'oaep-sha256':
      return 'sha256';
    case 'oaep-sha384':
      return 'sha384';
    case 'oaep-sha512':
      return 'sha512';
  }
}

/** Largest OAEP label accepted. */
const MAX_OAEP_LABEL_BYTES = 1024;

/**
 * Reads a KeyEncryptionAlgorithmIdentifier of a KeyTransRecipientInfo.
 * @throws HispError UNSUPPORTED_ALGORITHM, CMS_MALFORMED
 */
export function readKeyTransportAlgorithm(
  reader: BerReader,
  algorithm: Tlv,
): KeyTransportParameters {
  const fields = reader.fields(
    reader.expect(algorithm, UNIVERSAL.SEQUENCE, 'keyEncryptionAlgorithm'),
    'KeyEncryptionAlgorithmIdentifier',
  );
  const id = reader.oid(fields.next(UNIVERSAL.OBJECT_IDENTIFIER, 'algorithm'));
  const parameters = fields.hasMore() ? fields.any('parameters') : undefined;
  fields.end();
  if (id === RSA_ENCRYPTION) {
    if (parameters) expectNull(reader, parameters, 'rsaEncryption parameters');
    return { keyTransport: 'pkcs1', oaepHash: undefined, oaepLabel: undefined };
  }
  if (id !== ID_RSAES_OAEP) {
    throw new HispError(
      'UNSUPPORTED_ALGORITHM',
      `key transport ${describeOid(id)} is not supported; Direct uses RSAES-OAEP or RSAES-PKCS1-v1_5`,
    );
  }
  let hash: keyof typeof HASH_OID = 'sha1';
  let mgfHash: keyof typeof HASH_OID = 'sha1';
  let label: Uint8Array = new Uint8Array(0);
  // Absent or NULL parameters are read as all defaults, like an empty SEQUENCE.
  if (parameters && !isNull(parameters)) {
    const oaep = reader.fields(
      reader.expect(parameters, UNIVERSAL.SEQUENCE, 'RSAES-OAEP-params'),
      'RSAES-OAEP-params',
    );
    const hashFunc = oaep.optional(contextTag(0, true));
    const maskGenFunc = oaep.optional(contextTag(1, true));
    const pSourceFunc = oaep.optional(contextTag(2, true));
    oaep.end();
    if (hashFunc) hash = readHashAlgorithm(reader, explicitInner(reader, hashFunc, 'hashFunc'));
    if (maskGenFunc) {
      const mgf = reader.fields(
        reader.expect(
          explicitInner(reader, maskGenFunc, 'maskGenFunc'),
          UNIVERSAL.SEQUENCE,
          'maskGenFunc',
        ),
        'maskGenFunc',
      );
      const mgfId = reader.oid(mgf.next(UNIVERSAL.OBJECT_IDENTIFIER, 'algorithm'));
      if (mgfId !== ID_MGF1) {
        throw new HispError(
          'UNSUPPORTED_ALGORITHM',
          `OAEP mask generation ${describeOid(mgfId)} is not supported`,
        );
      }
      mgfHash = readHashAlgorithm(reader, mgf.next(UNIVERSAL.SEQUENCE, 'parameters'));
      mgf.end();
    }
    if (pSourceFunc) {
      const pSource = reader.fields(
        reader.expect(
          explicitInner(reader, pSourceFunc, 'pSourceFunc'),
          UNIVERSAL.SEQUENCE,
          'pSourceFunc',
        ),
        'pSourceFunc',
      );
      const pSourceId = reader.oid(pSource.next(UNIVERSAL.OBJECT_IDENTIFIER, 'algorithm'));
      if (pSourceId !== ID_P_SPECIFIED) {
        throw new HispError(
          'UNSUPPORTED_ALGORITHM',
          `OAEP label source ${describeOid(pSourceId)} is not supported`,
        );
      }
      label = reader.stringBytes(
        pSource.next(UNIVERSAL.OCTET_STRING, 'parameters'),
        MAX_OAEP_LABEL_BYTES,
      );
      pSource.end();
    }
  }
  if (mgfHash !== hash) {
    throw new HispError(
      'UNSUPPORTED_ALGORITHM',
      `RSAES-OAEP with ${hash} and MGF1 with ${mgfHash} is not supported (the hashes must match)`,
    );
  }
  return {
    keyTransport: `oaep-${hash}`,
    oaepHash: hash,
    oaepLabel: label.byteLength > 0 ? label : undefined,
  };
}

/** A hash AlgorithmIdentifier: parameters absent or NULL (RFC 4055 §2.1: accept both). */
function readHashAlgorithm(reader: BerReader, algorithm: Tlv): keyof typeof HASH_OID {
  const fields = reader.fields(
    reader.expect(algorithm, UNIVERSAL.SEQUENCE, 'hash algorithm'),
    'AlgorithmIdentifier',
  );
  const id = reader.oid(fields.next(UNIVERSAL.OBJECT_IDENTIFIER, 'algorithm'));
  const parameters = fields.hasMore() ? fields.any('parameters') : undefined;
  fields.end();
  if (parameters) expectNull(reader, parameters, 'hash parameters');
  const hash = HASH_BY_OID.get(id);
  if (!hash) {
    throw new HispError('UNSUPPORTED_ALGORITHM', `OAEP hash ${describeOid(id)} is not supported`);
  }
  return hash;
}

/** The one element inside an EXPLICIT context tag. */
function explicitInner(reader: BerReader, tagged: Tlv, field: string): Tlv {
  const fields = reader.fields(tagged, field);
  const inner = fields.any(field);
  fields.end();
  return inner;
}

function isNull(tlv: Tlv): boolean {
  return tlv.tagClass === 0 && tlv.tagNumber === UNIVERSAL.NULL.tagNumber;
}

function expectNull(reader: BerReader, tlv: Tlv, what: string): void {
  reader.expect(tlv, UNIVERSAL.NULL, what);
  if (tlv.contentLength !== 0) throw reader.malformed(`${what}: NULL with content`);
}
