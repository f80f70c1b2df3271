/**
 * CMS EnvelopedData (RFC 5652 §6) and AuthEnvelopedData (RFC 5083, AES-GCM per RFC 5084):
 * encrypt to recipient certificates and decrypt with our keys, interoperable with OpenSSL 3.
 *
 * ```asn1
 * ContentInfo ::= SEQUENCE {
 *   contentType ContentType,
 *   content [0] EXPLICIT ANY DEFINED BY contentType }
 *
 * EnvelopedData ::= SEQUENCE {
 *   version CMSVersion,
 *   originatorInfo [0] IMPLICIT OriginatorInfo OPTIONAL,
 *   recipientInfos RecipientInfos,
 *   encryptedContentInfo EncryptedContentInfo,
 *   unprotectedAttrs [1] IMPLICIT UnprotectedAttributes OPTIONAL }
 *
 * AuthEnvelopedData ::= SEQUENCE {
 *   version CMSVersion,
 *   originatorInfo [0] IMPLICIT OriginatorInfo OPTIONAL,
 *   recipientInfos RecipientInfos,
 *   authEncryptedContentInfo EncryptedContentInfo,
 *   authAttrs [1] IMPLICIT AuthAttributes OPTIONAL,
 *   mac MessageAuthenticationCode,
 *   unauthAttrs [2] IMPLICIT UnauthAttributes OPTIONAL }
 *
 * RecipientInfos ::= SET SIZE (1..MAX) OF RecipientInfo
 * RecipientInfo ::= CHOICE {
 *   ktri KeyTransRecipientInfo,
 *   kari [1] KeyAgreeRecipientInfo,
 *   kekri [2] KEKRecipientInfo,
 *   pwri [3] PasswordRecipientInfo,
 *   ori [4] OtherRecipientInfo }
 *
 * KeyTransRecipientInfo ::= SEQUENCE {
 *   version CMSVersion,  -- always set to 0 or 2
 *   rid RecipientIdentifier,
 *   keyEncryptionAlgorithm KeyEncryptionAlgorithmIdentifier,
 *   encryptedKey EncryptedKey }
 * EncryptedKey ::= OCTET STRING
 *
 * EncryptedContentInfo ::= SEQUENCE {
 *   contentType ContentType,
 *   contentEncryptionAlgorithm ContentEncryptionAlgorithmIdentifier,
 *   encryptedContent [0] IMPLICIT EncryptedContent OPTIONAL }
 * EncryptedContent ::= OCTET STRING
 * MessageAuthenticationCode ::= OCTET STRING
 * ```
 *
 * Memory: encryption streams the cipher's output through the returned ByteSource (the
 * content is never copied into the structure); decryption reads encryptedContent segments
 * as subarrays of the input and deciphers them piece by piece into one output buffer.
 *
 * No oracle: a wrong key, a bad OAEP or PKCS#1 block (Node's implicit rejection hands back
 * random bytes), a CEK of the wrong length, bad CBC padding and a bad GCM tag all end in the
 * same DECRYPT_FAILED error with the same message, and a failed unwrap still runs the content
 * decryption with a random key (RFC 3218 §2.3.2) before failing.
 */
import {
  constants,
  createCipheriv,
  createDecipheriv,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
} from 'node:crypto';
import type { KeyObject } from 'node:crypto';

import { HispError } from '../../api/errors.js';
import { BerReader, contextTag, TagClass, UNIVERSAL, UniversalTag } from '../../asn1/ber.js';
import type { Tlv } from '../../asn1/ber.js';
import {
  contextIdentifier,
  DerTag,
  integer,
  octetString,
  oid,
  sequence,
  setOf,
  tlv,
  tlvSource,
} from '../../asn1/der.js';
import { AGENT_LIMITS } from '../limits.js';
import type { ByteSource, ContentCipher, KeyTransport } from '../types.js';
import {
  AES_BLOCK_BYTES,
  CONTENT_CIPHER_SPECS,
  encodeContentEncryptionAlgorithm,
  encodeKeyTransportAlgorithm,
  GCM_NONCE_BYTES,
  GCM_TAG_BYTES,
  oaepHashOf,
  readContentEncryptionAlgorithm,
  readKeyTransportAlgorithm,
} from './algorithms.js';
import type { ContentEncryptionParameters } from './algorithms.js';
import { describeOid, ID_CT_AUTH_ENVELOPED_DATA, ID_DATA, ID_ENVELOPED_DATA } from './oids.js';
import { readCertificateIdentifiers } from './certificateFields.js';
import type { CertificateIdentifiers } from './certificateFields.js';
import { identifiesCertificate, readRecipientIdentifier } from './recipient-identifier.js';
import type { RecipientIdentifier } from './recipient-identifier.js';

export interface DecryptKey {
  readonly certDer: Uint8Array;
  readonly key: KeyObject;
}

export interface Decrypted {
  /** The decrypted content octets. */
  readonly content: Buffer;
  /** e.g. 'aes128-cbc', 'aes256-gcm'. */
  readonly cipher: ContentCipher;
  readonly keyTransport: KeyTransport;
  /** Which of our certificates matched. */
  readonly recipientCertDer: Uint8Array;
  /** EncryptedContentInfo.contentType (dotted OID; id-data for S/MIME). */
  readonly contentType: string;
}

export interface EncryptOptions {
  readonly cipher: ContentCipher;
  readonly keyTransport: KeyTransport;
  /**
   * How each KeyTransRecipientInfo names its certificate. Default issuerAndSerialNumber
   * (version 0); subjectKeyIdentifier (version 2) needs the certificate's SKI extension.
   */
  readonly recipientIdentifier?: 'issuerAndSerialNumber' | 'subjectKeyIdentifier';
}

/** The one message for every decryption failure (no padding/key/tag oracle). */
export const DECRYPT_FAILED_MESSAGE =
  'The content could not be decrypted: it was encrypted to another key or damaged on the way';

/** Plaintext and ciphertext are fed to node:crypto in slices of at most this many bytes. */
const SLICE_BYTES = 1024 * 1024;
/** Largest EncryptedKey accepted: an RSA-16384 block. */
const MAX_ENCRYPTED_KEY_BYTES = 2048;

function decryptFailed(): HispError {
  return new HispError('DECRYPT_FAILED', DECRYPT_FAILED_MESSAGE);
}

// ── Encrypt ─────────────────────────────────────────────────────────────────────────────────

/**
 * ContentInfo(EnvelopedData) for CBC ciphers, ContentInfo(AuthEnvelopedData) for GCM; DER.
 * One KeyTransRecipientInfo per recipient certificate (rid = issuerAndSerialNumber, version
 * 0, unless options.recipientIdentifier says otherwise). The CEK is wrapped now; the returned
 * source runs the cipher as it is iterated (reiterable: false) and has an exact length.
 * @throws HispError CERT_MALFORMED, UNSUPPORTED_ALGORITHM (a non-RSA recipient key),
 *   LIMIT_EXCEEDED (too many recipients or too much content)
 */
export function encryptContent(
  content: ByteSource,
  recipientCertsDer: readonly Uint8Array[],
  options: EncryptOptions,
): ByteSource {
  const spec = CONTENT_CIPHER_SPECS[options.cipher];
  if (recipientCertsDer.length === 0) {
    throw new HispError('INTERNAL', 'encryptContent needs at least one recipient certificate');
  }
  if (recipientCertsDer.length > AGENT_LIMITS.recipientInfos) {
    throw new HispError(
      'LIMIT_EXCEEDED',
      `${recipientCertsDer.length} recipients, at most ${AGENT_LIMITS.recipientInfos}`,
    );
  }
  const bySki = options.recipientIdentifier === 'subjectKeyIdentifier';
  const cek = randomBytes(spec.keyLength);
  const iv = randomBytes(spec.mode === 'cbc' ? AES_BLOCK_BYTES : GCM_NONCE_BYTES);
  const keyEncryptionAlgorithm = encodeKeyTransportAlgorithm(options.keyTransport);
  const recipientInfos = recipientCertsDer.map((certDer) =>
    keyTransRecipientInfo(
      readCertificateIdentifiers(certDer),
      cek,
      options.keyTransport,
      keyEncryptionAlgorithm,
      bySki,
    ),
  );

  const ciphertextLength =
    spec.mode === 'cbc'
      ? (Math.floor(content.length / AES_BLOCK_BYTES) + 1) * AES_BLOCK_BYTES
      : content.length;
  let authTag: Buffer | undefined;
  let used = false;
  const ciphertext: ByteSource = {
    length: ciphertextLength,
    reiterable: false,
    *chunks() {
      if (used) throw new Error('encryptContent: the encrypted source can be read only once');
      used = true;
      try {
        const gcmCipher =
          spec.mode === 'gcm'
            ? createCipheriv(spec.nodeName, cek, iv, { authTagLength: GCM_TAG_BYTES })
            : undefined;
        const cipher = gcmCipher ?? createCipheriv(spec.nodeName, cek, iv);
        let consumed = 0;
        for (const chunk of content.chunks()) {
          consumed += chunk.byteLength;
          for (let offset = 0; offset < chunk.byteLength; offset += SLICE_BYTES) {
            const out = cipher.update(chunk.subarray(offset, offset + SLICE_BYTES));
            if (out.byteLength > 0) yield out;
          }
        }
        if (consumed !== content.length) {
          throw new Error(`content produced ${consumed} bytes, declared ${content.length}`);
        }
        const last = cipher.final();
        if (last.byteLength > 0) yield last;
        if (gcmCipher) authTag = gcmCipher.getAuthTag();
      } finally {
        cek.fill(0);
      }
    },
  };

  const version = integer(bySki && spec.mode === 'cbc' ? 2 : 0);
  const encryptedContentInfo = tlvSource(
    DerTag.SEQUENCE,
    oid(ID_DATA),
    encodeContentEncryptionAlgorithm(options.cipher, iv),
    tlvSource(contextIdentifier(0, false), ciphertext),
  );
  const body =
    spec.mode === 'cbc'
      ? tlvSource(DerTag.SEQUENCE, version, setOf(...recipientInfos), encryptedContentInfo)
      : tlvSource(DerTag.SEQUENCE, version, setOf(...recipientInfos), encryptedContentInfo, {
          length: 2 + GCM_TAG_BYTES,
          reiterable: false,
          *chunks() {
            if (!authTag) throw new Error('encryptContent: GCM tag read before the content');
            yield octetString(authTag);
          },
        });
  const result = tlvSource(
    DerTag.SEQUENCE,
    oid(spec.mode === 'cbc' ? ID_ENVELOPED_DATA : ID_CT_AUTH_ENVELOPED_DATA),
    tlvSource(contextIdentifier(0, true), body),
  );
  if (result.length > AGENT_LIMITS.cmsBytes) {
    cek.fill(0);
    throw new HispError(
      'LIMIT_EXCEEDED',
      `the encrypted message would be ${result.length} bytes, more than the ${AGENT_LIMITS.cmsBytes} accepted`,
    );
  }
  return result;
}

/** One KeyTransRecipientInfo wrapping `cek` for a certificate's RSA key. */
function keyTransRecipientInfo(
  certificate: CertificateIdentifiers,
  cek: Buffer,
  keyTransport: KeyTransport,
  keyEncryptionAlgorithm: Uint8Array,
  bySki: boolean,
): Uint8Array {
  const keyType = certificate.publicKey.asymmetricKeyType;
  if (keyType !== 'rsa') {
    throw new HispError(
      'UNSUPPORTED_ALGORITHM',
      `recipient key type ${keyType ?? 'unknown'} cannot receive a key by RSA key transport`,
    );
  }
  let rid: Uint8Array;
  if (bySki) {
    if (!certificate.subjectKeyIdentifier) {
      throw new HispError(
        'CERT_MALFORMED',
        'the recipient certificate has no subjectKeyIdentifier extension to name it by',
      );
    }
    rid = tlv(contextIdentifier(0, false), certificate.subjectKeyIdentifier);
  } else {
    rid = sequence(certificate.issuerDer, certificate.serialNumberDer);
  }
  const encryptedKey = publicEncrypt(
    keyTransport === 'pkcs1'
      ? { key: certificate.publicKey, padding: constants.RSA_PKCS1_PADDING }
      : {
          key: certificate.publicKey,
          padding: constants.RSA_PKCS1_OAEP_PADDING,
          oaepHash: oaepHashOf(keyTransport),
        },
    cek,
  );
  return sequence(integer(bySki ? 2 : 0), rid, keyEncryptionAlgorithm, octetString(encryptedKey));
}

// ── Decrypt ─────────────────────────────────────────────────────────────────────────────────

/** A KeyTransRecipientInfo as read (subarrays of the message). */
interface KeyTransRecipientInfo {
  readonly rid: RecipientIdentifier;
  readonly keyEncryptionAlgorithm: Tlv;
  readonly encryptedKey: Uint8Array;
}

/** The parts of an EnvelopedData or AuthEnvelopedData that decryption needs. */
interface EnvelopedView {
  readonly authenticated: boolean;
  readonly recipientInfos: readonly KeyTransRecipientInfo[];
  readonly contentType: string;
  readonly contentEncryptionAlgorithm: Tlv;
  readonly encryptedContent: Tlv;
  /** AuthEnvelopedData: the DER of authAttrs with the SET OF tag (the GCM AAD), if present. */
  readonly aad: Uint8Array | undefined;
  readonly mac: Uint8Array | undefined;
}

/**
 * Accepts EnvelopedData and AuthEnvelopedData, DER or BER (indefinite lengths, chunked
 * encryptedContent), rid as issuerAndSerialNumber or subjectKeyIdentifier. Finds the
 * KeyTransRecipientInfo for one of `keys` (other kinds of RecipientInfo are skipped),
 * unwraps the CEK, decrypts. For GCM no plaintext is returned unless the tag verifies.
 * @throws HispError CMS_MALFORMED, LIMIT_EXCEEDED, UNSUPPORTED_ALGORITHM,
 *   NO_MATCHING_RECIPIENT, DECRYPT_FAILED, CERT_MALFORMED (one of `keys`)
 */
export interface DecryptOptions {
  /**
   * Decrypt in place: the plaintext is written over the ciphertext inside `der`, which is
   * destroyed. Safe because output never runs ahead of the input consumed; saves one copy of
   * the content for large messages. Only for a buffer the caller owns and no longer needs.
   */
  readonly reuseInput?: boolean;
}

export function decryptContent(
  der: Uint8Array,
  keys: readonly DecryptKey[],
  options: DecryptOptions = {},
): Decrypted {
  const reader = new BerReader(der, { what: 'CMS' });
  const view = readEnveloped(reader);

  // Which RecipientInfo is ours: the first (in message order) naming one of our certificates.
  const ours = keys
    .filter((k) => k.key.type === 'private' && k.key.asymmetricKeyType === 'rsa')
    .map((k) => ({ key: k.key, certificate: readCertificateIdentifiers(k.certDer) }));
  let match:
    { ri: KeyTransRecipientInfo; key: KeyObject; certificate: CertificateIdentifiers } | undefined;
  for (const ri of view.recipientInfos) {
    const found = ours.find((k) => identifiesCertificate(ri.rid, k.certificate));
    if (found) {
      match = { ri, ...found };
      break;
    }
  }
  if (!match) {
    throw new HispError(
      'NO_MATCHING_RECIPIENT',
      `none of the ${view.recipientInfos.length} key-transport recipients is one of our ${ours.length} certificates`,
    );
  }

  const transport = readKeyTransportAlgorithm(reader, match.ri.keyEncryptionAlgorithm);
  const algorithm = readContentEncryptionAlgorithm(reader, view.contentEncryptionAlgorithm);
  if (view.authenticated !== (algorithm.spec.mode === 'gcm')) {
    throw new HispError(
      'UNSUPPORTED_ALGORITHM',
      view.authenticated
        ? `AuthEnvelopedData with ${algorithm.spec.cipher} (not an authenticated cipher)`
        : `EnvelopedData with ${algorithm.spec.cipher} (use AuthEnvelopedData, RFC 5083)`,
    );
  }
  // Structure and sizes are checked before any use of the key.
  const ciphertextLength = reader.stringLength(view.encryptedContent);
  if (algorithm.spec.mode === 'cbc') {
    if (ciphertextLength === 0 || ciphertextLength % AES_BLOCK_BYTES !== 0) {
      throw reader.malformed(`CBC ciphertext of ${ciphertextLength} bytes`);
    }
  } else if (view.mac?.byteLength !== algorithm.tagLength) {
    throw reader.malformed(
      `mac of ${view.mac?.byteLength ?? 0} bytes, aes-ICVlen ${algorithm.tagLength}`,
    );
  }

  // Unwrap. Any failure (OAEP decoding error, or PKCS#1 implicit rejection returning bytes of
  // another length) continues with a random CEK and fails at the end, the same way.
  let cek: Buffer;
  let unwrapped = true;
  try {
    cek =
      transport.keyTransport === 'pkcs1'
        ? privateDecrypt(
            { key: match.key, padding: constants.RSA_PKCS1_PADDING },
            match.ri.encryptedKey,
          )
        : privateDecrypt(
            {
              key: match.key,
              padding: constants.RSA_PKCS1_OAEP_PADDING,
              ...(transport.oaepHash ? { oaepHash: transport.oaepHash } : {}),
              ...(transport.oaepLabel ? { oaepLabel: transport.oaepLabel } : {}),
            },
            match.ri.encryptedKey,
          );
  } catch {
    cek = Buffer.alloc(0);
    unwrapped = false;
  }
  if (cek.byteLength !== algorithm.spec.keyLength) {
    cek.fill(0);
    cek = randomBytes(algorithm.spec.keyLength);
    unwrapped = false;
  }

  const content = decipherContent(
    reader,
    view,
    algorithm,
    cek,
    ciphertextLength,
    options.reuseInput === true,
  );
  cek.fill(0);
  if (!unwrapped || !content) {
    content?.fill(0);
    throw decryptFailed();
  }
  return {
    content,
    cipher: algorithm.spec.cipher,
    keyTransport: transport.keyTransport,
    recipientCertDer: match.certificate.der,
    contentType: view.contentType,
  };
}

/** Deciphers encryptedContent into one buffer; undefined (buffer zeroed) on a padding or tag failure. */
function decipherContent(
  reader: BerReader,
  view: EnvelopedView,
  algorithm: ContentEncryptionParameters,
  cek: Buffer,
  ciphertextLength: number,
  reuseInput: boolean,
): Buffer | undefined {
  let out: Buffer | undefined = reuseInput ? undefined : Buffer.alloc(ciphertextLength);
  let written = 0;
  try {
    let decipher;
    if (algorithm.spec.mode === 'gcm') {
      const gcm = createDecipheriv(algorithm.spec.nodeName, cek, algorithm.iv, {
        authTagLength: algorithm.tagLength ?? GCM_TAG_BYTES,
      });
      if (view.mac) gcm.setAuthTag(view.mac);
      if (view.aad) gcm.setAAD(view.aad);
      decipher = gcm;
    } else {
      decipher = createDecipheriv(algorithm.spec.nodeName, cek, algorithm.iv);
    }
    for (const segment of reader.stringSegments(view.encryptedContent)) {
      // In place: the output starts where the first segment's octets start; every later write
      // lands on ciphertext already consumed (segment headers only widen the gap).
      out ??= Buffer.from(segment.buffer, segment.byteOffset, ciphertextLength);
      for (let offset = 0; offset < segment.byteLength; offset += SLICE_BYTES) {
        const part = decipher.update(segment.subarray(offset, offset + SLICE_BYTES));
        out.set(part, written);
        written += part.byteLength;
      }
    }
    out ??= Buffer.alloc(0);
    const last = decipher.final(); // throws on bad CBC padding or a bad GCM tag
    out.set(last, written);
    written += last.byteLength;
  } catch (error) {
    out?.fill(0);
    if (error instanceof HispError) throw error;
    return undefined;
  }
  return out.subarray(0, written);
}

/** Reads ContentInfo → EnvelopedData | AuthEnvelopedData into the parts decryption needs. */
function readEnveloped(reader: BerReader): EnvelopedView {
  const contentInfo = reader.fields(
    reader.expect(reader.root(), UNIVERSAL.SEQUENCE, 'ContentInfo'),
    'ContentInfo',
  );
  const contentType = reader.oid(contentInfo.next(UNIVERSAL.OBJECT_IDENTIFIER, 'contentType'));
  const explicit = contentInfo.next(contextTag(0, true), 'content');
  contentInfo.end();
  if (contentType !== ID_ENVELOPED_DATA && contentType !== ID_CT_AUTH_ENVELOPED_DATA) {
    throw reader.malformed(
      `ContentInfo holds ${describeOid(contentType)}, not EnvelopedData or AuthEnvelopedData`,
    );
  }
  const authenticated = contentType === ID_CT_AUTH_ENVELOPED_DATA;
  const typeName = authenticated ? 'AuthEnvelopedData' : 'EnvelopedData';
  const wrapper = reader.fields(explicit, 'content');
  const body = wrapper.next(UNIVERSAL.SEQUENCE, typeName);
  wrapper.end();

  const fields = reader.fields(body, typeName);
  const version = reader.smallInteger(fields.next(UNIVERSAL.INTEGER, 'version'));
  if (version < 0 || version > 4) throw reader.malformed(`${typeName} version ${version}`);
  fields.optional(contextTag(0, true)); // originatorInfo: not needed for key transport
  const recipientInfos = readRecipientInfos(reader, fields.next(UNIVERSAL.SET, 'recipientInfos'));
  const eci = reader.fields(
    fields.next(UNIVERSAL.SEQUENCE, 'encryptedContentInfo'),
    'EncryptedContentInfo',
  );
  const innerType = reader.oid(eci.next(UNIVERSAL.OBJECT_IDENTIFIER, 'contentType'));
  const contentEncryptionAlgorithm = eci.next(UNIVERSAL.SEQUENCE, 'contentEncryptionAlgorithm');
  const encryptedContent = eci.optional(contextTag(0));
  eci.end();
  if (!encryptedContent) {
    throw new HispError(
      'CMS_MALFORMED',
      `${typeName} has no encryptedContent (detached content is not supported)`,
    );
  }

  let aad: Uint8Array | undefined;
  let mac: Uint8Array | undefined;
  if (authenticated) {
    const authAttrs = fields.optional(contextTag(1, true));
    if (authAttrs) {
      // RFC 5083 §2.2: the AAD is the DER of authAttrs with an EXPLICIT SET OF tag.
      if (authAttrs.indefinite) throw reader.malformed('authAttrs must be DER');
      aad = Uint8Array.from(reader.raw(authAttrs));
      aad[0] = DerTag.SET;
    }
    mac = reader.stringBytes(fields.next(UNIVERSAL.OCTET_STRING, 'mac'), 64);
    fields.optional(contextTag(2, true)); // unauthAttrs
  } else {
    fields.optional(contextTag(1, true)); // unprotectedAttrs
  }
  fields.end();
  return {
    authenticated,
    recipientInfos,
    contentType: innerType,
    contentEncryptionAlgorithm,
    encryptedContent,
    aad,
    mac,
  };
}

/** The KeyTransRecipientInfos of a RecipientInfos SET; kari, kekri, pwri and ori are skipped. */
function readRecipientInfos(reader: BerReader, set: Tlv): KeyTransRecipientInfo[] {
  const result: KeyTransRecipientInfo[] = [];
  let count = 0;
  for (const element of reader.children(set)) {
    count += 1;
    if (count > AGENT_LIMITS.recipientInfos) {
      throw new HispError(
        'LIMIT_EXCEEDED',
        `more than ${AGENT_LIMITS.recipientInfos} RecipientInfos`,
      );
    }
    if (element.tagClass === TagClass.context && element.tagNumber >= 1 && element.tagNumber <= 4) {
      continue; // KeyAgree-, KEK-, Password- or OtherRecipientInfo: not ours to read
    }
    if (element.tagClass !== TagClass.universal || element.tagNumber !== UniversalTag.SEQUENCE) {
      throw reader.malformed('RecipientInfo of an unknown kind');
    }
    const fields = reader.fields(
      reader.expect(element, UNIVERSAL.SEQUENCE, 'KeyTransRecipientInfo'),
      'KeyTransRecipientInfo',
    );
    const version = reader.smallInteger(fields.next(UNIVERSAL.INTEGER, 'version'));
    if (version !== 0 && version !== 2)
      throw reader.malformed(`KeyTransRecipientInfo version ${version}`);
    const rid = readRecipientIdentifier(reader, fields.any('rid'));
    const keyEncryptionAlgorithm = fields.next(UNIVERSAL.SEQUENCE, 'keyEncryptionAlgorithm');
    const encryptedKey = reader.stringBytes(
      fields.next(UNIVERSAL.OCTET_STRING, 'encryptedKey'),
      MAX_ENCRYPTED_KEY_BYTES,
    );
    fields.end();
    result.push({ rid, keyEncryptionAlgorithm, encryptedKey });
  }
  if (count === 0) throw reader.malformed('RecipientInfos is empty');
  return result;
}
