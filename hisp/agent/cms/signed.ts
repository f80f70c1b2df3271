/**
 * CMS SignedData (RFC 5652 §5, S/MIME 4.0 RFC 8551): detached signing for outbound Direct
 * messages and verification of detached or encapsulated signatures, interoperable with
 * OpenSSL 3.
 *
 * ```asn1
 * ContentInfo ::= SEQUENCE {
 *   contentType ContentType,                       -- id-signedData
 *   content     [0] EXPLICIT ANY DEFINED BY contentType }
 *
 * SignedData ::= SEQUENCE {
 *   version          CMSVersion,
 *   digestAlgorithms DigestAlgorithmIdentifiers,   -- SET OF DigestAlgorithmIdentifier
 *   encapContentInfo EncapsulatedContentInfo,
 *   certificates     [0] IMPLICIT CertificateSet OPTIONAL,
 *   crls             [1] IMPLICIT RevocationInfoChoices OPTIONAL,
 *   signerInfos      SignerInfos }                 -- SET OF SignerInfo
 *
 * EncapsulatedContentInfo ::= SEQUENCE {
 *   eContentType ContentType,
 *   eContent     [0] EXPLICIT OCTET STRING OPTIONAL }
 *
 * SignerInfo ::= SEQUENCE {
 *   version            CMSVersion,
 *   sid                SignerIdentifier,
 *   digestAlgorithm    DigestAlgorithmIdentifier,
 *   signedAttrs        [0] IMPLICIT SignedAttributes OPTIONAL,
 *   signatureAlgorithm SignatureAlgorithmIdentifier,
 *   signature          SignatureValue,             -- OCTET STRING
 *   unsignedAttrs      [1] IMPLICIT UnsignedAttributes OPTIONAL }
 *
 * SignerIdentifier ::= CHOICE {
 *   issuerAndSerialNumber IssuerAndSerialNumber,
 *   subjectKeyIdentifier  [0] SubjectKeyIdentifier }
 *
 * IssuerAndSerialNumber ::= SEQUENCE { issuer Name, serialNumber CertificateSerialNumber }
 *
 * RSASSA-PSS-params ::= SEQUENCE {                 -- RFC 4055 §3.1, EXPLICIT tags
 *   hashAlgorithm    [0] HashAlgorithm DEFAULT sha1,
 *   maskGenAlgorithm [1] MaskGenAlgorithm DEFAULT mgf1SHA1,
 *   saltLength       [2] INTEGER DEFAULT 20,
 *   trailerField     [3] TrailerField DEFAULT trailerFieldBC }
 * ```
 *
 * Hashing and signatures use node:crypto; the structures are read with the bounded BER
 * reader of hisp/asn1, which keeps every element's original bytes, and written with its DER
 * writer.
 */
import {
  type KeyObject,
  constants,
  createHash,
  createPublicKey,
  sign as cryptoSign,
  verify as cryptoVerify,
} from 'node:crypto';

import {
  BerReader,
  type Tlv,
  TagClass,
  contextTag,
  tagMatches,
  UNIVERSAL,
} from '../../asn1/ber.js';
import {
  algorithmIdentifier,
  compareDer,
  contextIdentifier,
  DerTag,
  derOrder,
  integer,
  integerFromOctets,
  nullValue,
  octetString,
  oid,
  sequence,
  setOf,
  tlv,
} from '../../asn1/der.js';
import { HispError, type Reason } from '../../api/errors.js';
import { AGENT_LIMITS } from '../limits.js';
import { type ByteSource, type DigestName, SIGNING_DIGESTS, type SigningDigest } from '../types.js';
import { type CertificateFields, readCertificateFields } from './certificateFields.js';
import {
  SMIME_CAPABILITIES,
  encodeSignedAttributes,
  readSignedAttributes,
} from './signedAttributes.js';
import {
  DIGEST_LENGTH,
  DIGEST_OID,
  ECDSA_OID_BY_DIGEST,
  OTHER_SIGNATURE_NAMES,
  SIGNED_OID,
  digestByOid,
  ecdsaDigestByOid,
  rsaPkcs1DigestByOid,
} from './signedOids.js';

// ── Signing ────────────────────────────────────────────────────────────────────────────────

export interface Signer {
  /** The signer's certificate (DER). */
  readonly certDer: Uint8Array;
  /** Intermediates (and optionally the anchor), DER, carried in `certificates`. */
  readonly chainDer: readonly Uint8Array[];
  /** The private key matching `certDer`: RSA, or EC on P-256 / P-384. */
  readonly key: KeyObject;
}

export interface SignOptions {
  readonly digest: SigningDigest;
  /** Default: now. */
  readonly signingTime?: Date;
  /**
   * RSA keys only. 'pkcs1' (default) writes PKCS#1 v1.5 with signatureAlgorithm
   * rsaEncryption, as OpenSSL does; 'pss' writes RSASSA-PSS (MGF1 with the same digest,
   * salt as long as the digest).
   */
  readonly rsaPadding?: 'pkcs1' | 'pss';
}

/** EC curves Direct allows (DESIGN.md §4), by node:crypto's names. */
const ALLOWED_CURVES: ReadonlyMap<string, string> = new Map([
  ['prime256v1', 'P-256'],
  ['secp384r1', 'P-384'],
]);

interface SigningScheme {
  readonly signatureAlgorithm: Uint8Array;
  readonly signOptions: Parameters<typeof cryptoSign>[2];
}

function signingScheme(
  key: KeyObject,
  digest: SigningDigest,
  rsaPadding: 'pkcs1' | 'pss',
): SigningScheme {
  if (key.type !== 'private') {
    throw new HispError('KEY_MALFORMED', 'The signing key is not a private key.');
  }
  const type = key.asymmetricKeyType;
  if (type === 'rsa') {
    if (rsaPadding === 'pss') {
      return {
        signatureAlgorithm: algorithmIdentifier(SIGNED_OID.rsassaPss, pssParameters(digest)),
        signOptions: {
          key,
          padding: constants.RSA_PKCS1_PSS_PADDING,
          saltLength: DIGEST_LENGTH[digest],
        },
      };
    }
    // What OpenSSL writes in a SignerInfo: rsaEncryption with NULL parameters.
    return {
      signatureAlgorithm: algorithmIdentifier(SIGNED_OID.rsaEncryption, nullValue()),
      signOptions: { key, padding: constants.RSA_PKCS1_PADDING },
    };
  }
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve ?? 'unknown';
    const oid = ECDSA_OID_BY_DIGEST[digest];
    if (!ALLOWED_CURVES.has(curve) || oid === undefined) {
      throw new HispError(
        'UNSUPPORTED_ALGORITHM',
        `ECDSA on ${curve} is not allowed for Direct (P-256 or P-384 only).`,
      );
    }
    return {
      signatureAlgorithm: algorithmIdentifier(oid),
      signOptions: { key, dsaEncoding: 'der' },
    };
  }
  throw new HispError(
    'UNSUPPORTED_ALGORITHM',
    `A ${type ?? 'unknown'} key cannot sign Direct messages (RSA or ECDSA only).`,
  );
}

/** RSASSA-PSS-params with MGF1 over the same digest and salt as long as the digest. */
function pssParameters(digest: SigningDigest): Uint8Array {
  const hash = algorithmIdentifier(DIGEST_OID[digest], nullValue());
  return sequence(
    tlv(contextIdentifier(0, true), hash),
    tlv(contextIdentifier(1, true), algorithmIdentifier(SIGNED_OID.mgf1, hash)),
    tlv(contextIdentifier(2, true), integer(DIGEST_LENGTH[digest])),
  );
}

/** Hash a byte source, iterating it exactly once. */
function digestSource(content: ByteSource, digest: DigestName): Buffer {
  if (content.length > AGENT_LIMITS.messageBytes) {
    throw new HispError(
      'LIMIT_EXCEEDED',
      `The content is larger than ${AGENT_LIMITS.messageBytes} bytes.`,
    );
  }
  const hash = createHash(digest);
  let total = 0;
  for (const chunk of content.chunks()) {
    total += chunk.byteLength;
    if (total > AGENT_LIMITS.messageBytes) {
      throw new HispError(
        'LIMIT_EXCEEDED',
        `The content is larger than ${AGENT_LIMITS.messageBytes} bytes.`,
      );
    }
    hash.update(chunk);
  }
  if (total !== content.length) {
    throw new HispError(
      'INTERNAL',
      `The content produced ${total} bytes but declared ${content.length}.`,
    );
  }
  return hash.digest();
}

function certificateFieldsOrThrow(certDer: Uint8Array, what: string): CertificateFields {
  try {
    return readCertificateFields(certDer);
  } catch (error) {
    throw new HispError('CERT_MALFORMED', `The ${what} is not a DER X.509 certificate.`, {
      cause: error,
    });
  }
}

/**
 * A DER ContentInfo(SignedData), detached (no eContent), version 1, with one SignerInfo
 * (sid issuerAndSerialNumber, version 1). Signed attributes: contentType (id-data),
 * signingTime, messageDigest and smimeCapabilities, in DER order. `certificates` holds the
 * signer's certificate and `chainDer` (deduplicated, DER order). The digest is computed by
 * streaming `content.chunks()` once.
 *
 * @throws HispError CERT_MALFORMED (a certificate is not DER), KEY_CERT_MISMATCH,
 *   UNSUPPORTED_ALGORITHM (key type or curve), LIMIT_EXCEEDED (content or chain too large).
 */
export function signDetached(content: ByteSource, signer: Signer, options: SignOptions): Buffer {
  const digest = options.digest;
  if (!SIGNING_DIGESTS.includes(digest)) {
    throw new HispError(
      'UNSUPPORTED_ALGORITHM',
      `Signing with ${String(digest)} is not allowed for Direct.`,
    );
  }
  const ids = certificateFieldsOrThrow(signer.certDer, "signer's certificate");
  const scheme = signingScheme(signer.key, digest, options.rsaPadding ?? 'pkcs1');
  const certKey = createPublicKey({ key: Buffer.from(ids.spkiDer), format: 'der', type: 'spki' });
  if (!certKey.equals(createPublicKey(signer.key))) {
    throw new HispError('KEY_CERT_MISMATCH');
  }

  const certificates: Uint8Array[] = [];
  for (const [index, cert] of [signer.certDer, ...signer.chainDer].entries()) {
    if (index > 0) certificateFieldsOrThrow(cert, 'chain certificate');
    if (!certificates.some((known) => sameBytes(known, cert))) certificates.push(cert);
  }
  if (certificates.length > AGENT_LIMITS.certificatesInMessage) {
    throw new HispError(
      'LIMIT_EXCEEDED',
      `More than ${AGENT_LIMITS.certificatesInMessage} certificates to carry in one signature.`,
    );
  }

  const signingTime = options.signingTime ?? new Date();
  if (Number.isNaN(signingTime.getTime())) {
    throw new HispError('INTERNAL', 'The signing time is not a valid date.');
  }
  const messageDigest = digestSource(content, digest);
  const attributes = encodeSignedAttributes({
    contentType: SIGNED_OID.data,
    messageDigest,
    signingTime,
    capabilities: SMIME_CAPABILITIES,
  });
  const signature = cryptoSign(digest, attributes.setDer, scheme.signOptions);

  const digestAlgorithm = algorithmIdentifier(DIGEST_OID[digest]);
  const signerInfo = sequence(
    integer(1),
    sequence(ids.issuerDer, integerFromOctets(ids.serialContent)),
    digestAlgorithm,
    attributes.implicitDer,
    scheme.signatureAlgorithm,
    octetString(signature),
  );
  const signedData = sequence(
    integer(1),
    setOf(digestAlgorithm),
    sequence(oid(SIGNED_OID.data)),
    tlv(contextIdentifier(0, true), ...derOrder(certificates)),
    setOf(signerInfo),
  );
  const contentInfo = sequence(
    oid(SIGNED_OID.signedData),
    tlv(contextIdentifier(0, true), signedData),
  );
  return Buffer.from(contentInfo.buffer, contentInfo.byteOffset, contentInfo.byteLength);
}

// ── Verification ───────────────────────────────────────────────────────────────────────────

export interface SignatureCheck {
  /** The signature verifies over the content (and, with signed attributes, they match it). */
  readonly signatureValid: boolean;
  /** The SignerInfo's digestAlgorithm. */
  readonly digest: DigestName | 'unknown';
  /** e.g. 'rsa-pkcs1-sha256', 'rsa-pss-sha384', 'ecdsa-sha256'; 'none' without a SignerInfo. */
  readonly signatureAlgorithm: string;
  /** The certificate matching the SignerInfo's sid, from the message's certificates. */
  readonly signerCertDer: Uint8Array | undefined;
  /** Every certificate the SignedData carries, byte for byte (for path building). */
  readonly certificatesDer: readonly Uint8Array[];
  readonly signingTime: Date | undefined;
  /** The eContent of an opaque (encapsulating) SignedData. */
  readonly encapsulatedContent: Buffer | undefined;
  /**
   * Why the signature is not valid or not acceptable (SIGNATURE_INVALID, WEAK_DIGEST,
   * UNSUPPORTED_ALGORITHM, NOT_SIGNED). A caller accepts only when this is empty.
   */
  readonly reasons: readonly Reason[];
}

interface ParsedSignedData {
  readonly eContentType: string;
  readonly eContent: Uint8Array | undefined;
  readonly certificates: readonly Uint8Array[];
  readonly signerInfos: readonly Tlv[];
  readonly reader: BerReader;
}

interface AlgorithmId {
  readonly oid: string;
  readonly parameters: Tlv | undefined;
}

/** `[n]` constructed: an EXPLICIT tag, or IMPLICIT over a SET OF / SEQUENCE. */
const CONTEXT_0 = contextTag(0, true);
const CONTEXT_1 = contextTag(1, true);
/** Versions, saltLength and trailerField: non-negative INTEGERs of at most 4 octets. */
const SMALL_INTEGER_OCTETS = 4;

function readAlgorithm(reader: BerReader, algorithm: Tlv | undefined, what: string): AlgorithmId {
  const [id, parameters] = reader.fieldList(
    reader.expect(algorithm, UNIVERSAL.SEQUENCE, what),
    what,
    0,
    2,
  );
  return {
    oid: reader.oid(id, `${what} algorithm`),
    parameters,
  };
}

/**
 * The SignedData reader: CMS bounds (AGENT_LIMITS), an element count, and declared lengths
 * beyond any CMS accepted refused as LIMIT_EXCEEDED.
 */
function signedDataReader(input: Uint8Array): BerReader {
  return new BerReader(input, {
    what: 'CMS',
    maxElements: AGENT_LIMITS.asn1Elements,
    maxDeclaredLength: AGENT_LIMITS.cmsBytes,
  });
}

function parseSignedData(input: Uint8Array): ParsedSignedData {
  if (input.byteLength > AGENT_LIMITS.cmsBytes) {
    throw new HispError(
      'LIMIT_EXCEEDED',
      `The signature is larger than ${AGENT_LIMITS.cmsBytes} bytes.`,
    );
  }
  const reader = signedDataReader(input);
  const contentInfo = reader.expect(reader.root(), UNIVERSAL.SEQUENCE, 'ContentInfo');
  const [typeTlv, explicit] = reader.fieldList(contentInfo, 'ContentInfo', 0, 2);
  const contentType = reader.oid(typeTlv, 'contentType');
  if (contentType !== SIGNED_OID.signedData) {
    throw new HispError(
      'CMS_MALFORMED',
      `The CMS content type is ${contentType}, not signed-data.`,
    );
  }
  const signedDataTlv = reader.explicit(explicit, CONTEXT_0, 'content');
  const fields = reader.fieldList(
    reader.expect(signedDataTlv, UNIVERSAL.SEQUENCE, 'SignedData'),
    'SignedData',
    0,
    6,
  );
  reader.unsignedInteger(fields[0], 'SignedData version', SMALL_INTEGER_OCTETS);
  reader.expect(fields[1], UNIVERSAL.SET, 'digestAlgorithms');
  const encap = reader.expect(fields[2], UNIVERSAL.SEQUENCE, 'encapContentInfo');
  let i = 3;
  let certificates: Uint8Array[] = [];
  const certificateSet = fields[i];
  if (certificateSet && tagMatches(certificateSet, CONTEXT_0)) {
    i++;
    certificates = reader
      .childList(certificateSet, 'certificates', AGENT_LIMITS.certificatesInMessage)
      // CertificateChoices: only `certificate` (a SEQUENCE); attribute certificates and
      // other formats ([0]..[3]) are skipped.
      .filter((choice) => tagMatches(choice, UNIVERSAL.SEQUENCE))
      .map((choice) => reader.raw(choice));
  }
  const crls = fields[i];
  if (crls && tagMatches(crls, CONTEXT_1)) i++; // crls: not used for signature checks
  const signerInfosTlv = reader.expect(fields[i++], UNIVERSAL.SET, 'signerInfos');
  if (i !== fields.length) throw reader.malformed('SignedData: unexpected fields');
  const signerInfos = reader.childList(signerInfosTlv, 'SignerInfos', AGENT_LIMITS.signerInfos);

  const [eTypeTlv, eContentTlv] = reader.fieldList(encap, 'encapContentInfo', 0, 2);
  const eContentType = reader.oid(eTypeTlv, 'eContentType');
  let eContent: Uint8Array | undefined;
  if (eContentTlv !== undefined) {
    const octets = reader.explicit(eContentTlv, CONTEXT_0, 'eContent');
    eContent = reader.stringBytes(reader.expect(octets, UNIVERSAL.OCTET_STRING, 'eContent'));
  }
  return { eContentType, eContent, certificates, signerInfos, reader };
}

type SignerId =
  | {
      readonly kind: 'issuerAndSerialNumber';
      readonly issuer: Uint8Array;
      readonly serial: Uint8Array;
    }
  | { readonly kind: 'subjectKeyIdentifier'; readonly keyId: Uint8Array };

interface SignatureScheme {
  readonly kind: 'rsa-pkcs1' | 'rsa-pss' | 'ecdsa' | 'unsupported';
  /** The digest the signature itself uses (undefined when unknown). */
  readonly hash: DigestName | undefined;
  readonly saltLength?: number;
  readonly name: string;
  /** Set when the scheme cannot be used as given. */
  readonly problem?: string;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && compareDer(a, b) === 0;
}

function readSignerId(reader: BerReader, sid: Tlv | undefined): SignerId {
  if (sid && tagMatches(sid, UNIVERSAL.SEQUENCE)) {
    const [issuer, serial] = reader.fieldList(sid, 'IssuerAndSerialNumber', 0, 2);
    return {
      kind: 'issuerAndSerialNumber',
      issuer: reader.raw(reader.expect(issuer, UNIVERSAL.SEQUENCE, 'issuer')),
      serial: reader.content(reader.expect(serial, UNIVERSAL.INTEGER, 'serialNumber')),
    };
  }
  if (sid && tagMatches(sid, contextTag(0))) {
    return { kind: 'subjectKeyIdentifier', keyId: reader.stringBytes(sid) };
  }
  throw reader.malformed(
    'SignerInfo sid is neither IssuerAndSerialNumber nor a subjectKeyIdentifier',
  );
}

function findSignerCert(
  certificates: readonly Uint8Array[],
  sid: SignerId,
): CertificateFields | undefined {
  for (const der of certificates) {
    let ids: CertificateFields;
    try {
      ids = readCertificateFields(der);
    } catch {
      continue; // Not a certificate we can read: the caller's path building reports it.
    }
    if (sid.kind === 'issuerAndSerialNumber') {
      if (sameBytes(ids.issuerDer, sid.issuer) && sameBytes(ids.serialContent, sid.serial)) {
        return ids;
      }
    } else if (
      ids.subjectKeyIdentifier !== undefined &&
      sameBytes(ids.subjectKeyIdentifier, sid.keyId)
    ) {
      return ids;
    }
  }
  return undefined;
}

function readPssParameters(
  reader: BerReader,
  parameters: Tlv | undefined,
  digest: DigestName | undefined,
): SignatureScheme {
  let hash: DigestName | undefined = 'sha1';
  let mgfHash: DigestName | undefined = 'sha1';
  let saltLength = 20;
  let trailer = 1;
  if (parameters !== undefined && !tagMatches(parameters, UNIVERSAL.NULL)) {
    for (const field of reader.fieldList(
      reader.expect(parameters, UNIVERSAL.SEQUENCE, 'RSASSA-PSS-params'),
      'RSASSA-PSS-params',
      0,
      4,
    )) {
      const [inner] = reader.fieldList(field, 'RSASSA-PSS-params field', 0, 1);
      // [0]..[3] EXPLICIT (fieldList above refused a primitive field); anything else is not PSS.
      switch (field.tagClass === TagClass.context ? field.tagNumber : -1) {
        case 0: {
          const hashOid = readAlgorithm(reader, inner, 'hashAlgorithm').oid;
          hash = digestByOid(hashOid);
          break;
        }
        case 1: {
          const mgf = readAlgorithm(reader, inner, 'maskGenAlgorithm');
          mgfHash =
            mgf.oid === SIGNED_OID.mgf1
              ? digestByOid(readAlgorithm(reader, mgf.parameters, 'MGF1 hash').oid)
              : undefined;
          break;
        }
        case 2:
          saltLength = reader.unsignedInteger(inner, 'saltLength', SMALL_INTEGER_OCTETS);
          break;
        case 3:
          trailer = reader.unsignedInteger(inner, 'trailerField', SMALL_INTEGER_OCTETS);
          break;
        default:
          throw reader.malformed('RSASSA-PSS-params: unexpected field');
      }
    }
  }
  const name = `rsa-pss-${hash ?? 'unknown'}`;
  if (hash === undefined)
    return { kind: 'unsupported', hash, name, problem: 'RSASSA-PSS with an unknown hash' };
  if (mgfHash !== hash) {
    return {
      kind: 'unsupported',
      hash,
      name,
      problem: 'RSASSA-PSS whose MGF1 hash differs from its hash',
    };
  }
  if (trailer !== 1)
    return {
      kind: 'unsupported',
      hash,
      name,
      problem: 'RSASSA-PSS with a trailer field other than 1',
    };
  return withDigestCheck({ kind: 'rsa-pss', hash, saltLength, name }, digest);
}

function withDigestCheck(scheme: SignatureScheme, digest: DigestName | undefined): SignatureScheme {
  if (digest !== undefined && scheme.hash !== digest) {
    return {
      ...scheme,
      problem: `the signature algorithm uses ${scheme.hash ?? 'an unknown hash'} but the digest algorithm is ${digest}`,
    };
  }
  return scheme;
}

function signatureScheme(
  reader: BerReader,
  algorithm: AlgorithmId,
  digest: DigestName | undefined,
): SignatureScheme {
  const { oid } = algorithm;
  if (oid === SIGNED_OID.rsaEncryption) {
    return { kind: 'rsa-pkcs1', hash: digest, name: `rsa-pkcs1-${digest ?? 'unknown'}` };
  }
  const rsaHash = rsaPkcs1DigestByOid(oid);
  if (rsaHash !== undefined) {
    return withDigestCheck(
      { kind: 'rsa-pkcs1', hash: rsaHash, name: `rsa-pkcs1-${rsaHash}` },
      digest,
    );
  }
  if (oid === SIGNED_OID.rsassaPss) return readPssParameters(reader, algorithm.parameters, digest);
  if (oid === SIGNED_OID.ecPublicKey) {
    return { kind: 'ecdsa', hash: digest, name: `ecdsa-${digest ?? 'unknown'}` };
  }
  const ecHash = ecdsaDigestByOid(oid);
  if (ecHash !== undefined) {
    return withDigestCheck({ kind: 'ecdsa', hash: ecHash, name: `ecdsa-${ecHash}` }, digest);
  }
  const name = OTHER_SIGNATURE_NAMES.get(oid) ?? `oid:${oid}`;
  return {
    kind: 'unsupported',
    hash: undefined,
    name,
    problem: `the signature algorithm ${name} is not supported`,
  };
}

interface SignerResult {
  readonly signatureValid: boolean;
  readonly digest: DigestName | 'unknown';
  readonly signatureAlgorithm: string;
  readonly signerCertDer: Uint8Array | undefined;
  readonly signingTime: Date | undefined;
  readonly reasons: readonly Reason[];
}

function reason(code: Reason['code'], message: string): Reason {
  return { code, message };
}

const WEAK_DIGESTS: ReadonlySet<DigestName> = new Set(['md5', 'sha1']);
const ACCEPTED_DIGESTS: ReadonlySet<DigestName> = new Set(SIGNING_DIGESTS);

class ContentDigests {
  private readonly cache = new Map<DigestName, Buffer>();
  constructor(readonly content: Uint8Array) {}
  of(digest: DigestName): Buffer {
    let value = this.cache.get(digest);
    if (value === undefined) {
      value = createHash(digest).update(this.content).digest();
      this.cache.set(digest, value);
    }
    return value;
  }
}

function checkSignerInfo(
  parsed: ParsedSignedData,
  signerInfo: Tlv,
  digests: ContentDigests,
): SignerResult {
  const { reader } = parsed;
  const fields = reader.fieldList(
    reader.expect(signerInfo, UNIVERSAL.SEQUENCE, 'SignerInfo'),
    'SignerInfo',
    0,
    7,
  );
  reader.unsignedInteger(fields[0], 'SignerInfo version', SMALL_INTEGER_OCTETS);
  const sid = readSignerId(reader, fields[1]);
  const digestAlgorithm = readAlgorithm(reader, fields[2], 'digestAlgorithm');
  let i = 3;
  const maybeAttrs = fields[i];
  const signedAttrsTlv = maybeAttrs && tagMatches(maybeAttrs, CONTEXT_0) ? maybeAttrs : undefined;
  if (signedAttrsTlv) i++;
  const signatureAlgorithm = readAlgorithm(reader, fields[i++], 'signatureAlgorithm');
  const signature = reader.stringBytes(
    reader.expect(fields[i++], UNIVERSAL.OCTET_STRING, 'SignerInfo signature'),
  );
  const unsignedAttrs = fields[i];
  if (unsignedAttrs && tagMatches(unsignedAttrs, CONTEXT_1)) i++; // unsignedAttrs: not used
  if (i !== fields.length) throw reader.malformed('SignerInfo: unexpected fields');
  const attributes =
    signedAttrsTlv === undefined ? undefined : readSignedAttributes(reader, signedAttrsTlv);

  const reasons: Reason[] = [];
  const digest = digestByOid(digestAlgorithm.oid);
  const scheme = signatureScheme(reader, signatureAlgorithm, digest);
  const signerCert = findSignerCert(parsed.certificates, sid);
  const base = {
    digest: digest ?? 'unknown',
    signatureAlgorithm: scheme.name,
    signerCertDer: signerCert?.der,
    signingTime: attributes?.signingTime,
  } as const;

  if (digest === undefined) {
    reasons.push(
      reason(
        'UNSUPPORTED_ALGORITHM',
        `The digest algorithm ${digestAlgorithm.oid} is not supported.`,
      ),
    );
  }
  for (const hash of new Set([digest, scheme.hash])) {
    if (hash === undefined) continue;
    if (WEAK_DIGESTS.has(hash)) {
      reasons.push(
        reason(
          'WEAK_DIGEST',
          `The signature uses ${hash.toUpperCase()}, which Direct no longer accepts.`,
        ),
      );
    } else if (!ACCEPTED_DIGESTS.has(hash)) {
      reasons.push(
        reason(
          'UNSUPPORTED_ALGORITHM',
          `The signature uses ${hash}; Direct requires SHA-256, SHA-384 or SHA-512.`,
        ),
      );
    }
  }
  if (scheme.problem !== undefined) {
    reasons.push(
      reason('UNSUPPORTED_ALGORITHM', `The signature cannot be checked: ${scheme.problem}.`),
    );
  }
  if (signerCert === undefined) {
    reasons.push(reason('NOT_SIGNED', "The signer's certificate is not in the message."));
  }
  if (
    digest === undefined ||
    scheme.hash === undefined ||
    scheme.kind === 'unsupported' ||
    signerCert === undefined
  ) {
    return { ...base, signatureValid: false, reasons };
  }

  let signedBytes: Uint8Array;
  const contentDigest = digests.of(digest);
  if (attributes !== undefined && signedAttrsTlv !== undefined) {
    const problems = [...attributes.problems];
    if (attributes.contentType !== undefined && attributes.contentType !== parsed.eContentType) {
      problems.push('the contentType attribute does not match the content type');
    }
    if (
      attributes.messageDigest !== undefined &&
      !sameBytes(attributes.messageDigest, contentDigest)
    ) {
      problems.push('the content does not match the messageDigest attribute');
    }
    if (problems.length > 0) {
      reasons.push(
        reason(
          'SIGNATURE_INVALID',
          `The signature does not match the message: ${problems.join('; ')}.`,
        ),
      );
      return { ...base, signatureValid: false, reasons };
    }
    // The signature covers the DER of the SignedAttributes as received, with the SET tag.
    const received = reader.raw(signedAttrsTlv);
    const asSet = Buffer.from(received);
    asSet[0] = DerTag.SET;
    signedBytes = asSet;
  } else {
    if (parsed.eContentType !== SIGNED_OID.data) {
      reasons.push(
        reason(
          'SIGNATURE_INVALID',
          'A content type other than data must be signed with signed attributes.',
        ),
      );
      return { ...base, signatureValid: false, reasons };
    }
    signedBytes = digests.content;
  }

  const verdict = verifyWithCertificate(signerCert, scheme, signedBytes, signature);
  reasons.push(...verdict.reasons);
  if (!verdict.valid) {
    reasons.push(
      reason('SIGNATURE_INVALID', "The signature does not verify with the signer's key."),
    );
  }
  return { ...base, signatureValid: verdict.valid, reasons };
}

function verifyWithCertificate(
  cert: CertificateFields,
  scheme: SignatureScheme,
  data: Uint8Array,
  signature: Uint8Array,
): { valid: boolean; reasons: Reason[] } {
  const reasons: Reason[] = [];
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(cert.spkiDer), format: 'der', type: 'spki' });
  } catch {
    reasons.push(reason('UNSUPPORTED_ALGORITHM', "The signer's public key could not be read."));
    return { valid: false, reasons };
  }
  const keyType = key.asymmetricKeyType;
  const hash = scheme.hash ?? 'sha256';
  let options: Parameters<typeof cryptoVerify>[2];
  switch (scheme.kind) {
    case 'rsa-pkcs1':
      if (keyType !== 'rsa') return { valid: false, reasons };
      options = { key, padding: constants.RSA_PKCS1_PADDING };
      break;
    case 'rsa-pss':
      if (keyType !== 'rsa' && keyType !== 'rsa-pss') return { valid: false, reasons };
      options = {
        key,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: scheme.saltLength ?? DIGEST_LENGTH[hash],
      };
      break;
    case 'ecdsa': {
      if (keyType !== 'ec') return { valid: false, reasons };
      const curve = key.asymmetricKeyDetails?.namedCurve ?? 'unknown';
      if (!ALLOWED_CURVES.has(curve)) {
        reasons.push(
          reason(
            'UNSUPPORTED_ALGORITHM',
            `ECDSA on ${curve} is not allowed for Direct (P-256 or P-384 only).`,
          ),
        );
      }
      options = { key, dsaEncoding: 'der' };
      break;
    }
    case 'unsupported':
      return { valid: false, reasons };
  }
  try {
    return { valid: cryptoVerify(hash, data, options, signature), reasons };
  } catch {
    // OpenSSL refuses the inputs (e.g. a signature longer than the modulus): not valid.
    return { valid: false, reasons };
  }
}

/**
 * Verifies a ContentInfo(SignedData) over exactly `detachedContent` (the bytes as received)
 * or, when it encapsulates its content, over that.
 *
 * With signed attributes: contentType must equal eContentType, messageDigest must equal the
 * content's digest, and the signature covers the SignedAttributes as received with the
 * [0] IMPLICIT tag replaced by SET (0x31). Without: the signature covers the content.
 * Accepts SHA-256/384/512 with RSA (PKCS#1 v1.5, RSASSA-PSS) and ECDSA P-256/P-384; MD5 and
 * SHA-1 still verify but carry WEAK_DIGEST; unknown algorithms carry UNSUPPORTED_ALGORITHM.
 * With several SignerInfos, the first that verifies with no reasons is reported, else the
 * first that verifies, else the first.
 *
 * @throws HispError CMS_MALFORMED (not SignedData, truncated, broken, detached without
 *   content) or LIMIT_EXCEEDED (beyond AGENT_LIMITS).
 */
export function verifySignedData(der: Uint8Array, detachedContent?: Uint8Array): SignatureCheck {
  const parsed = parseSignedData(der);
  const encapsulatedContent =
    parsed.eContent === undefined ? undefined : Buffer.from(parsed.eContent);
  const common = { certificatesDer: parsed.certificates, encapsulatedContent };
  if (parsed.signerInfos.length === 0) {
    return {
      ...common,
      signatureValid: false,
      digest: 'unknown',
      signatureAlgorithm: 'none',
      signerCertDer: undefined,
      signingTime: undefined,
      reasons: [reason('NOT_SIGNED', 'The signed-data carries no signature (no SignerInfo).')],
    };
  }
  const content = detachedContent ?? encapsulatedContent;
  if (content === undefined) {
    throw new HispError(
      'CMS_MALFORMED',
      'The signature is detached but no content was given to check it against.',
    );
  }
  if (content.byteLength > AGENT_LIMITS.messageBytes) {
    throw new HispError(
      'LIMIT_EXCEEDED',
      `The signed content is larger than ${AGENT_LIMITS.messageBytes} bytes.`,
    );
  }
  const mismatch =
    detachedContent !== undefined &&
    encapsulatedContent !== undefined &&
    !sameBytes(detachedContent, encapsulatedContent);

  const digests = new ContentDigests(content);
  const results = parsed.signerInfos.map((tlv) => checkSignerInfo(parsed, tlv, digests));
  const chosen =
    results.find((r) => r.signatureValid && r.reasons.length === 0) ??
    results.find((r) => r.signatureValid) ??
    results[0];
  if (chosen === undefined) throw new HispError('CMS_MALFORMED', 'no SignerInfo'); // unreachable: length checked above
  if (mismatch) {
    return {
      ...common,
      ...chosen,
      signatureValid: false,
      reasons: [
        ...chosen.reasons,
        reason(
          'SIGNATURE_INVALID',
          'The content given differs from the content the signature encapsulates.',
        ),
      ],
    };
  }
  return { ...common, ...chosen };
}
