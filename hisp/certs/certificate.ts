/**
 * The certificate model: one X.509 certificate (RFC 5280) read once, with the original DER
 * kept next to the parsed view (signatures are over bytes, never over re-encodings), and the
 * readers for the shapes certificates arrive in (PEM bundles, DER, PKCS#7 certs-only).
 *
 * ```asn
 * Certificate ::= SEQUENCE {
 *   tbsCertificate       TBSCertificate,
 *   signatureAlgorithm   AlgorithmIdentifier,
 *   signatureValue       BIT STRING }
 * ```
 *
 * Every input is hostile until parsed (risk-16): sizes, PEM blocks, certificates per input
 * and ASN.1 depth/nodes are bounded, and anything that is not a well-formed certificate is a
 * HispError CERT_MALFORMED (or LIMIT_EXCEEDED naming the bound), never a crash.
 *
 * The ASN.1 is read with the bounded BER reader of hisp/asn1 (offsets into the certificate's
 * own bytes, nothing decoded into a tree); node:crypto's X509Certificate (OpenSSL) must
 * accept the certificate too, and gives the public key and its details.
 */
import { X509Certificate, createHash, type KeyObject } from 'node:crypto';
import { domainToASCII } from 'node:url';

import { AGENT_LIMITS } from '../agent/limits.js';
import { HispError } from '../api/errors.js';
import {
  BerReader,
  TagClass,
  UNIVERSAL,
  UniversalTag,
  contextTag,
  decodeOid,
  tagMatches,
  type Tlv,
} from '../asn1/ber.js';
import type { DirectoryName, NameConstraints, SubtreeBase } from './nameConstraints.js';

/**
 * Bounds of the certificate readers (risk-16). They sit here, next to the only code that
 * uses them; AGENT_LIMITS.fetchedCertificateBytes bounds one certificate.
 */
export const CERTIFICATE_READ_LIMITS = {
  /** One input to readCertificates (a PEM bundle, a DER certificate, a PKCS#7 trust bundle).
   * Trust bundles with a few hundred roots are ~300 KiB of PEM. */
  inputBytes: 16 * 1024 * 1024,
  /** PEM blocks (of any label) in one input; a CA bundle holds a few hundred. */
  pemBlocks: 5000,
  /** Certificates returned from one input (PEM or PKCS#7). */
  certificates: 2000,
  /** ASN.1 nesting depth inside one certificate (real ones are ~10 deep). */
  asn1Depth: AGENT_LIMITS.asn1Depth,
  /** ASN.1 elements in one certificate (real ones have 100-400). */
  asn1Nodes: 20_000,
  /** ASN.1 elements in one PKCS#7 certs-only structure (the certificates are parsed apart). */
  pkcs7Nodes: 2_000_000,
} as const;

export type KeyUsageName =
  | 'digitalSignature'
  | 'nonRepudiation'
  | 'keyEncipherment'
  | 'dataEncipherment'
  | 'keyAgreement'
  | 'keyCertSign'
  | 'cRLSign'
  | 'encipherOnly'
  | 'decipherOnly';

/** KeyUsage ::= BIT STRING, in bit order (RFC 5280 §4.2.1.3). */
export const KEY_USAGE_BITS: readonly KeyUsageName[] = [
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

export type SignatureHash = 'md5' | 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512';

export interface SignatureAlgorithm {
  readonly oid: string;
  readonly name: string;
  readonly hash: SignatureHash | undefined;
}

export interface PublicKeySummary {
  readonly type: 'rsa' | 'rsa-pss' | 'ec' | 'ed25519' | 'other';
  readonly bits: number;
  readonly curve?: string;
}

export interface ParsedCertificate {
  /** The original bytes. */
  readonly der: Buffer;
  readonly x509: X509Certificate;
  /** Human-readable names, RFC 4514 order (most specific RDN first). */
  readonly subject: string;
  readonly issuer: string;
  /** Name DER exactly as in the certificate. */
  readonly subjectDer: Buffer;
  readonly issuerDer: Buffer;
  /** Lowercase hex of the serial number's content octets (leading zero octets removed). */
  readonly serialHex: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Lowercase hex, no colons. */
  readonly fingerprintSha256: string;
  /** From the subjectAltName extension only (never the subject DN e-mail). */
  readonly rfc822Names: readonly string[];
  readonly dnsNames: readonly string[];
  /** SAN directoryNames and iPAddresses (4 or 16 octets): for name constraints only. */
  readonly directoryNames: readonly DirectoryName[];
  readonly ipAddresses: readonly Buffer[];
  /** The subject DN's emailAddress attributes: checked against rfc822Name constraints
   * (RFC 5280 §4.2.1.10), never used to bind an address (DESIGN.md §4). */
  readonly subjectEmailAddresses: readonly string[];
  /** The subject DN's RDNs as comparison keys (directoryName constraints). */
  readonly subjectRdns: readonly (readonly string[])[];
  /** The nameConstraints extension; undefined = absent. */
  readonly nameConstraints: NameConstraints | undefined;
  /** id-pkix-ocsp-nocheck is present (a delegated OCSP responder not itself checked). */
  readonly ocspNoCheck: boolean;
  /** undefined = the extension is absent. */
  readonly keyUsage: ReadonlySet<KeyUsageName> | undefined;
  /** OIDs; undefined = the extension is absent. */
  readonly extKeyUsage: readonly string[] | undefined;
  readonly basicConstraints: { readonly ca: boolean; readonly pathLength?: number } | undefined;
  /** http(s) URLs from the distribution points' fullName. */
  readonly crlDistributionPoints: readonly string[];
  /** URLs from authorityInfoAccess (caIssuers / OCSP). */
  readonly caIssuers: readonly string[];
  readonly ocsp: readonly string[];
  /** Lowercase hex. */
  readonly subjectKeyId: string | undefined;
  readonly authorityKeyId: string | undefined;
  readonly publicKey: PublicKeySummary;
  readonly signatureAlgorithm: SignatureAlgorithm;
  /** Subject and issuer names are the same (compared as names, RFC 5280 §7.1). */
  readonly selfIssued: boolean;
  /** Comparison keys of the subject and issuer names (RFC 5280 §7.1: case- and space-folded). */
  readonly subjectKey: string;
  readonly issuerKey: string;
  /** Critical extensions this code does not process (RFC 5280 §6.1.4 (o): such a
   * certificate must not be accepted in a path). */
  readonly unhandledCriticalExtensions: readonly string[];
}

// ── OIDs ───────────────────────────────────────────────────────────────────────────────────
const OID = {
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  issuerAltName: '2.5.29.18',
  basicConstraints: '2.5.29.19',
  nameConstraints: '2.5.29.30',
  crlDistributionPoints: '2.5.29.31',
  certificatePolicies: '2.5.29.32',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  authorityInfoAccess: '1.3.6.1.5.5.7.1.1',
  caIssuers: '1.3.6.1.5.5.7.48.2',
  ocsp: '1.3.6.1.5.5.7.48.1',
  ocspNoCheck: '1.3.6.1.5.5.7.48.1.5',
  emailAddress: '1.2.840.113549.1.9.1',
  signedData: '1.2.840.113549.1.7.2',
} as const;

/** Extensions whose content this module reads (or, for policies, deliberately accepts:
 * Direct trust here is anchor-based, not policy-based). */
const HANDLED_EXTENSIONS = new Set<string>([
  OID.subjectKeyIdentifier,
  OID.keyUsage,
  OID.subjectAltName,
  OID.issuerAltName,
  OID.basicConstraints,
  OID.nameConstraints,
  OID.crlDistributionPoints,
  OID.certificatePolicies,
  OID.authorityKeyIdentifier,
  OID.extKeyUsage,
  OID.authorityInfoAccess,
  OID.ocspNoCheck,
]);

const HASH_OIDS: Readonly<Record<string, SignatureHash>> = {
  '1.2.840.113549.2.5': 'md5',
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.4': 'sha224',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

const SIGNATURE_ALGORITHMS: Readonly<
  Record<string, { readonly name: string; readonly hash: SignatureHash | undefined }>
> = {
  '1.2.840.113549.1.1.2': { name: 'md2WithRSAEncryption', hash: undefined },
  '1.2.840.113549.1.1.3': { name: 'md4WithRSAEncryption', hash: undefined },
  '1.2.840.113549.1.1.4': { name: 'md5WithRSAEncryption', hash: 'md5' },
  '1.2.840.113549.1.1.5': { name: 'sha1WithRSAEncryption', hash: 'sha1' },
  '1.3.14.3.2.29': { name: 'sha1WithRSASignature', hash: 'sha1' },
  '1.2.840.113549.1.1.14': { name: 'sha224WithRSAEncryption', hash: 'sha224' },
  '1.2.840.113549.1.1.11': { name: 'sha256WithRSAEncryption', hash: 'sha256' },
  '1.2.840.113549.1.1.12': { name: 'sha384WithRSAEncryption', hash: 'sha384' },
  '1.2.840.113549.1.1.13': { name: 'sha512WithRSAEncryption', hash: 'sha512' },
  '1.2.840.113549.1.1.10': { name: 'rsassaPss', hash: 'sha1' }, // hash from the parameters
  '1.2.840.10045.4.1': { name: 'ecdsa-with-SHA1', hash: 'sha1' },
  '1.2.840.10045.4.3.1': { name: 'ecdsa-with-SHA224', hash: 'sha224' },
  '1.2.840.10045.4.3.2': { name: 'ecdsa-with-SHA256', hash: 'sha256' },
  '1.2.840.10045.4.3.3': { name: 'ecdsa-with-SHA384', hash: 'sha384' },
  '1.2.840.10045.4.3.4': { name: 'ecdsa-with-SHA512', hash: 'sha512' },
  '1.2.840.10040.4.3': { name: 'dsa-with-sha1', hash: 'sha1' },
  '2.16.840.1.101.3.4.3.1': { name: 'dsa-with-sha224', hash: 'sha224' },
  '2.16.840.1.101.3.4.3.2': { name: 'dsa-with-sha256', hash: 'sha256' },
  '1.3.101.112': { name: 'Ed25519', hash: undefined },
  '1.3.101.113': { name: 'Ed448', hash: undefined },
};

/** Digest algorithms no longer acceptable in a certificate or CRL signature. */
const WEAK_SIGNATURE_NAMES = new Set(['md2WithRSAEncryption', 'md4WithRSAEncryption']);

/** True for MD2/MD4/MD5/SHA-1 signatures (Direct: CERT_WEAK_SIGNATURE). */
export function isWeakSignatureAlgorithm(algorithm: SignatureAlgorithm): boolean {
  return (
    algorithm.hash === 'md5' ||
    algorithm.hash === 'sha1' ||
    WEAK_SIGNATURE_NAMES.has(algorithm.name)
  );
}

/**
 * ```asn
 * AlgorithmIdentifier ::= SEQUENCE { algorithm OBJECT IDENTIFIER, parameters ANY OPTIONAL }
 * ```
 */
export interface AlgorithmIdentifier {
  readonly algorithmId: string;
  /** The parameters element as encoded (tag, length, content); undefined when absent. */
  readonly parameters: Uint8Array | undefined;
}

/** An AlgorithmIdentifier at `tlv` (`what` names it in errors). */
export function readAlgorithmIdentifier(
  reader: BerReader,
  tlv: Tlv | undefined,
  what: string,
): AlgorithmIdentifier {
  const [id, parameters] = reader.fieldList(
    reader.expect(tlv, UNIVERSAL.SEQUENCE, what),
    what,
    1,
    2,
  );
  return {
    algorithmId: reader.oid(id, `${what} algorithm`),
    parameters: parameters === undefined ? undefined : reader.raw(parameters),
  };
}

/** The signature algorithm (and its digest) named by an AlgorithmIdentifier. */
export function describeSignatureAlgorithm(id: AlgorithmIdentifier): SignatureAlgorithm {
  const oid = id.algorithmId;
  const known = SIGNATURE_ALGORITHMS[oid];
  if (known === undefined) return { oid, name: oid, hash: undefined };
  if (oid !== '1.2.840.113549.1.1.10') return { oid, ...known };
  // RSASSA-PSS-params: hashAlgorithm [0] DEFAULT sha1.
  const pss = pssParameters(id);
  return { oid, name: `rsassaPss(${pss.hash ?? 'unknown'})`, hash: pss.hash };
}

/** RSASSA-PSS-params are a handful of elements. */
const PSS_PARAMETER_BOUNDS: Asn1Bounds = { maxDepth: 8, maxElements: 64 };

/**
 * RSASSA-PSS-params (RFC 4055): hash and salt length, with the defaults (SHA-1, 20); hash
 * undefined and salt length 0 when the parameters cannot be read.
 *
 * ```asn
 * RSASSA-PSS-params ::= SEQUENCE {
 *   hashAlgorithm     [0] EXPLICIT HashAlgorithm DEFAULT sha1,
 *   maskGenAlgorithm  [1] EXPLICIT MaskGenAlgorithm DEFAULT mgf1SHA1,
 *   saltLength        [2] EXPLICIT INTEGER DEFAULT 20,
 *   trailerField      [3] EXPLICIT TrailerField DEFAULT trailerFieldBC }
 * ```
 */
export function pssParameters(id: AlgorithmIdentifier): {
  hash: SignatureHash | undefined;
  saltLength: number;
} {
  const parameters = id.parameters;
  if (parameters === undefined || parameters[0] === UniversalTag.NULL) {
    return { hash: 'sha1', saltLength: 20 };
  }
  try {
    const { reader, root } = readAsn1Bounded(
      parameters,
      PSS_PARAMETER_BOUNDS,
      'RSASSA-PSS parameters',
    );
    const fields = reader.fields(
      reader.expect(root, UNIVERSAL.SEQUENCE, 'RSASSA-PSS-params'),
      'RSASSA-PSS-params',
    );
    const hashAlgorithm = fields.optional(contextTag(0, true));
    fields.optional(contextTag(1, true));
    const saltLength = fields.optional(contextTag(2, true));
    fields.optional(contextTag(3, true));
    fields.end();
    const hash =
      hashAlgorithm === undefined
        ? 'sha1'
        : HASH_OIDS[
            readAlgorithmIdentifier(
              reader,
              reader.explicit(hashAlgorithm, contextTag(0, true), 'hashAlgorithm'),
              'hashAlgorithm',
            ).algorithmId
          ];
    return {
      hash,
      saltLength:
        saltLength === undefined
          ? 20
          : reader.unsignedInteger(
              reader.explicit(saltLength, contextTag(2, true), 'saltLength'),
              'saltLength',
              4,
            ),
    };
  } catch {
    return { hash: undefined, saltLength: 0 };
  }
}

// ── Errors ───────────────────────────────────────────────────────────────────────────────
function malformed(what: string, cause?: unknown): HispError {
  return new HispError(
    'CERT_MALFORMED',
    `A certificate could not be read: ${what}.`,
    cause === undefined ? undefined : { cause },
  );
}

function tooLarge(what: string): HispError {
  return new HispError('LIMIT_EXCEEDED', `Certificate input refused: ${what}.`);
}

// ── The ASN.1 reader ─────────────────────────────────────────────────────────────────────
/** Bounds of one ASN.1 read: nesting depth (the outer element is level 1) and elements read. */
export interface Asn1Bounds {
  readonly maxDepth: number;
  readonly maxElements: number;
}

const CERTIFICATE_BOUNDS: Asn1Bounds = {
  maxDepth: CERTIFICATE_READ_LIMITS.asn1Depth,
  maxElements: CERTIFICATE_READ_LIMITS.asn1Nodes,
};

/** A BerReader over certificate material: bounds, and errors that name `what`. */
function asn1Reader(
  bytes: Uint8Array,
  bounds: Asn1Bounds,
  what: string,
  onError: (message: string) => HispError,
): BerReader {
  return new BerReader(bytes, {
    what,
    maxBytes: bytes.byteLength,
    maxDepth: bounds.maxDepth,
    maxElements: bounds.maxElements,
    error: (kind, detail) =>
      kind === 'limit'
        ? new HispError('LIMIT_EXCEEDED', `${what} refused: ${detail}.`)
        : onError(`${what} is not well-formed (${detail})`),
  });
}

/** Visits every element under `tlv` once: the structure is sound, the bounds are kept. */
function walk(reader: BerReader, tlv: Tlv): void {
  if (!tlv.constructed) return;
  for (const child of reader.children(tlv)) walk(reader, child);
}

/**
 * One BER element (a certificate, a Name, an extension value, a CRL part) checked whole
 * with the bounded reader of hisp/asn1, as certificates are hostile until parsed (risk-16):
 * every element is read (nesting at most `maxDepth`, at most `maxElements` element headers,
 * no length past its parent, nothing after the element), a bound exceeded is LIMIT_EXCEEDED
 * naming `what`, anything malformed `onError` (CERT_MALFORMED by default). BER is accepted,
 * as OpenSSL accepts it.
 *
 * Returns a reader for walking the element (offsets into `bytes`, which are never copied or
 * re-encoded) and the element itself.
 */
export function readAsn1Bounded(
  bytes: Uint8Array,
  bounds: Asn1Bounds,
  what: string,
  onError: (message: string) => HispError = (message) => malformed(message),
): { reader: BerReader; root: Tlv } {
  const checker = asn1Reader(bytes, bounds, what, onError);
  walk(checker, checker.root());
  // The fields are then read with the same depth bound; the element count is known.
  const reader = asn1Reader(
    bytes,
    { maxDepth: bounds.maxDepth, maxElements: Number.POSITIVE_INFINITY },
    what,
    onError,
  );
  return { reader, root: reader.root() };
}

/** BOOLEAN: any non-zero content octet is TRUE (X.690 §8.2, BER). */
function readBoolean(reader: BerReader, tlv: Tlv): boolean {
  return reader.content(reader.expect(tlv, UNIVERSAL.BOOLEAN, 'BOOLEAN')).some((b) => b !== 0);
}

/** A primitive BIT STRING's unused-bits octet is 0-7 (and absent only when it is empty). */
function checkBitString(reader: BerReader, tlv: Tlv | undefined, what: string): void {
  const content = reader.content(
    reader.expect(tlv, { ...UNIVERSAL.BIT_STRING, constructed: false }, what),
  );
  if ((content[0] ?? 0) > 7) throw malformed(`${what} has more than 7 unused bits`);
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

// ── Character strings and times ──────────────────────────────────────────────────────────
/** The ASN.1 character string types a Name's attribute value is shown as text for. */
const CHARACTER_STRING_TAGS: ReadonlySet<number> = new Set([
  12, // UTF8String
  18, // NumericString
  19, // PrintableString
  20, // TeletexString (T61String)
  21, // VideotexString
  22, // IA5String
  25, // GraphicString
  26, // VisibleString
  27, // GeneralString
  28, // UniversalString
  30, // BMPString
]);

const UNIVERSAL_STRING = 28;
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const REPLACEMENT_CHARACTER = 0xfffd;

/**
 * The text of a character string element, or undefined for any other type. UTF8String is
 * UTF-8 (bytes as Latin-1 when it is not valid UTF-8), BMPString UTF-16BE code units,
 * UniversalString UTF-32BE code points (U+FFFD for what is not a Unicode scalar value), and
 * the 8-bit types one character per octet. A BMPString or UniversalString whose length is
 * not a whole number of characters is malformed. Constructed (BER) strings are joined.
 */
function characterString(reader: BerReader, tlv: Tlv, what: string): string | undefined {
  if (tlv.tagClass !== TagClass.universal || !CHARACTER_STRING_TAGS.has(tlv.tagNumber)) {
    return undefined;
  }
  const bytes = reader.stringBytes(tlv, Number.POSITIVE_INFINITY, tlv.tagNumber);
  switch (tlv.tagNumber) {
    case UniversalTag.UTF8String:
      try {
        return UTF8.decode(bytes);
      } catch {
        return latin1(bytes);
      }
    case UniversalTag.BMPString: {
      if (bytes.byteLength % 2 !== 0) throw malformed(`${what} is a BMPString of odd length`);
      let text = '';
      for (let i = 0; i < bytes.byteLength; i += 2) {
        text += String.fromCharCode(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
      }
      return text;
    }
    case UNIVERSAL_STRING: {
      if (bytes.byteLength % 4 !== 0) {
        throw malformed(`${what} is a UniversalString whose length is not a multiple of 4`);
      }
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const count = bytes.byteLength / 4;
      let text = '';
      for (let i = 0; i < count; i++) {
        const codePoint = view.getUint32(i * 4);
        if (codePoint > 0x10ffff) {
          text += String.fromCodePoint(REPLACEMENT_CHARACTER);
        } else if (codePoint >= 0xd800 && codePoint <= 0xdfff) {
          // A surrogate pair written as two code points is joined; a lone one is replaced.
          const next = i + 1 < count ? view.getUint32((i + 1) * 4) : 0;
          if (codePoint <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
            text += String.fromCodePoint(0x10000 + ((codePoint - 0xd800) << 10) + (next - 0xdc00));
            i++;
          } else {
            text += String.fromCodePoint(REPLACEMENT_CHARACTER);
          }
        } else {
          text += String.fromCodePoint(codePoint);
        }
      }
      return text;
    }
    default:
      return latin1(bytes);
  }
}

const UTC_TIME = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/;
const GENERALIZED_TIME = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d{1,9}))?Z$/;

/**
 * ```asn
 * Time ::= CHOICE { utcTime UTCTime, generalTime GeneralizedTime }
 * ```
 * In the forms RFC 5280 §4.1.2.5 allows (UTC, seconds present; fractional seconds of a
 * GeneralizedTime are kept to the millisecond); UTCTime years 50-99 are 19xx. Undefined for
 * anything else, including dates that are not on the calendar.
 */
export function readTime(reader: BerReader, tlv: Tlv | undefined): Date | undefined {
  if (tlv === undefined || tlv.tagClass !== TagClass.universal || tlv.constructed) {
    return undefined;
  }
  let match: RegExpExecArray | null;
  let year: number;
  if (tlv.tagNumber === UniversalTag.UTCTime) {
    match = UTC_TIME.exec(latin1(reader.content(tlv)));
    if (match === null) return undefined;
    const yy = Number(match[1]);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
  } else if (tlv.tagNumber === UniversalTag.GeneralizedTime) {
    match = GENERALIZED_TIME.exec(latin1(reader.content(tlv)));
    if (match === null) return undefined;
    year = Number(match[1]);
  } else {
    return undefined;
  }
  const [month, day, hour, minute, second] = match.slice(2, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const millisecond = Number((match[7] ?? '').slice(0, 3).padEnd(3, '0'));
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second, millisecond));
  // Date.UTC maps years 0-99 to 1900-1999; set the year again for GeneralizedTime 00xx.
  date.setUTCFullYear(year, month - 1, day);
  if (
    date.getUTCFullYear() !== year ||
    date.getUTCMonth() !== month - 1 ||
    date.getUTCDate() !== day ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  ) {
    return undefined;
  }
  return date;
}

// ── Names ────────────────────────────────────────────────────────────────────────────────
const NAME_LABELS: Readonly<Record<string, string>> = {
  '2.5.4.3': 'CN',
  '2.5.4.4': 'SN',
  '2.5.4.5': 'serialNumber',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.9': 'STREET',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.12': 'title',
  '2.5.4.42': 'GN',
  '2.5.4.43': 'initials',
  '2.5.4.46': 'dnQualifier',
  '0.9.2342.19200300.100.1.1': 'UID',
  '0.9.2342.19200300.100.1.25': 'DC',
  '1.2.840.113549.1.9.1': 'emailAddress',
};

/** A Name (RFC 5280 §4.1.2.4) as text, as a comparison key, and as its DER. */
export interface NameView {
  /** RFC 4514 order (most specific RDN first), e.g. `CN=Alice,O=Example`. */
  readonly text: string;
  /** RFC 5280 §7.1 comparison key: attribute types with case- and space-folded values. */
  readonly key: string;
  /** The same keys per RDN, most significant RDN first (`key` is their JSON). */
  readonly rdns: readonly (readonly string[])[];
  /** Values of the emailAddress attributes. */
  readonly emailAddresses: readonly string[];
  readonly der: Buffer;
}

/** RFC 4514 §2.4 escaping (control characters as \XX). */
function escapeAttributeValue(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value.charAt(i);
    const code = value.charCodeAt(i);
    if (',+"\\<>;='.includes(ch)) out += `\\${ch}`;
    else if (code < 0x20 || code === 0x7f) out += `\\${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  if (out.startsWith('#') || out.startsWith(' ')) out = `\\${out}`;
  if (out.endsWith(' ') && out.length > 1) out = `${out.slice(0, -1)}\\ `;
  return out;
}

/**
 * ```asn
 * Name ::= SEQUENCE OF RelativeDistinguishedName
 * RelativeDistinguishedName ::= SET SIZE (1..MAX) OF AttributeTypeAndValue
 * ```
 * Throws CERT_MALFORMED (naming `what`) when the bytes are not a Name.
 */
export function parseName(der: Uint8Array, what: string): NameView {
  const { reader, root } = readAsn1Bounded(
    Buffer.from(der), // a private copy: the view keeps it
    { maxDepth: 8, maxElements: CERTIFICATE_READ_LIMITS.asn1Nodes },
    `the ${what} name`,
  );
  return readName(reader, root, what);
}

interface Attribute {
  readonly type: string;
  /** The text of a character string value, undefined for any other type. */
  readonly value: string | undefined;
  /** The value element as encoded. */
  readonly raw: Uint8Array;
}

/** The AttributeTypeAndValues of one RelativeDistinguishedName (a SET, or an IMPLICIT tag). */
function readAttributes(reader: BerReader, rdn: Tlv, what: string): Attribute[] {
  const attributes: Attribute[] = [];
  for (const attribute of reader.children(rdn)) {
    if (!tagMatches(attribute, UNIVERSAL.SEQUENCE)) {
      throw malformed(`the ${what} name has a broken attribute`);
    }
    const [type, value] = reader.fieldList(attribute, 'AttributeTypeAndValue', 2, 2);
    if (value === undefined) throw malformed(`the ${what} name has a broken attribute`);
    attributes.push({
      type: reader.oid(type, 'AttributeType'),
      value: characterString(reader, value, `an attribute of the ${what} name`),
      raw: reader.raw(value),
    });
  }
  if (attributes.length === 0) throw malformed(`the ${what} name has a broken RDN`);
  return attributes;
}

/**
 * ```asn
 * AttributeTypeAndValue ::= SEQUENCE { type OBJECT IDENTIFIER, value ANY -- DEFINED BY type }
 * ```
 * A value of a character string type is shown as text (`CN=Alice`, with the usual short
 * names), any other as `type=#hex` of its encoding (RFC 4514 §2.4). The comparison key
 * folds text values (NFKC, case, inner space runs) and sorts the attributes of each RDN.
 */
function readName(reader: BerReader, name: Tlv, what: string): NameView {
  if (!tagMatches(name, UNIVERSAL.SEQUENCE)) throw malformed(`the ${what} name is not a SEQUENCE`);
  const rdns: Attribute[][] = [];
  for (const rdn of reader.children(name)) {
    if (!tagMatches(rdn, UNIVERSAL.SET)) {
      throw malformed(`the ${what} name has an RDN that is not a SET`);
    }
    rdns.push(readAttributes(reader, rdn, what));
  }
  const text = rdns
    .map((rdn) =>
      rdn
        .map((atv) =>
          atv.value === undefined
            ? `${atv.type}=#${hex(atv.raw)}`
            : `${NAME_LABELS[atv.type] ?? atv.type}=${escapeAttributeValue(atv.value)}`,
        )
        .join('+'),
    )
    .reverse()
    .join(',');
  const rdnKeys = rdns.map((rdn) =>
    rdn
      .map((atv) => {
        const folded =
          atv.value === undefined
            ? `#${hex(atv.raw)}`
            : atv.value.normalize('NFKC').trim().replace(/\s+/g, ' ').toLowerCase();
        return `${atv.type}=${folded}`;
      })
      .sort(),
  );
  const emailAddresses = rdns
    .flat()
    .filter((atv) => atv.type === OID.emailAddress)
    .map((atv) => atv.value ?? `#${hex(atv.raw)}`);
  return {
    text,
    key: JSON.stringify(rdnKeys),
    rdns: rdnKeys,
    emailAddresses,
    der: asBuffer(reader.raw(name)),
  };
}

// ── Extensions ───────────────────────────────────────────────────────────────────────────
/** The one element of an extension's extnValue, read with its own bounds. */
function extensionValue(value: Uint8Array, what: string): { reader: BerReader; root: Tlv } {
  return readAsn1Bounded(value, CERTIFICATE_BOUNDS, `the ${what} extension`);
}

function readKeyUsage(reader: BerReader, value: Tlv): Set<KeyUsageName> {
  if (!tagMatches(value, { ...UNIVERSAL.BIT_STRING, constructed: false })) {
    throw malformed('keyUsage is not a BIT STRING');
  }
  const content = reader.content(value);
  const usages = new Set<KeyUsageName>();
  if (content.byteLength === 0) return usages; // an empty BIT STRING: no bits
  const unused = content[0] ?? 0;
  if (unused > 7) throw malformed('keyUsage has more than 7 unused bits');
  const bytes = content.subarray(1);
  const totalBits = bytes.length * 8 - unused;
  KEY_USAGE_BITS.forEach((usage, bit) => {
    if (bit >= totalBits) return;
    const byte = bytes[bit >> 3] ?? 0;
    if ((byte & (0x80 >> (bit & 7))) !== 0) usages.add(usage);
  });
  return usages;
}

/**
 * ```asn
 * GeneralName ::= CHOICE {
 *   otherName [0] OtherName, rfc822Name [1] IA5String, dNSName [2] IA5String,
 *   x400Address [3] ORAddress, directoryName [4] Name, ediPartyName [5] EDIPartyName,
 *   uniformResourceIdentifier [6] IA5String, iPAddress [7] OCTET STRING,
 *   registeredID [8] OBJECT IDENTIFIER }
 * ```
 * The choice (tag number) and, for the IA5String choices, the text (one character per
 * octet); the other choices are checked for their form and skipped.
 */
export interface GeneralName {
  readonly type: number;
  readonly text: string | undefined;
  /** A directoryName's name. */
  readonly directoryName?: DirectoryName;
  /** An iPAddress's octets. */
  readonly bytes?: Buffer;
}

function readGeneralName(reader: BerReader, tlv: Tlv, what: string): GeneralName {
  const bad = () => reader.malformed(`${what}: a GeneralName is malformed`);
  if (tlv.tagClass !== TagClass.context) throw bad();
  switch (tlv.tagNumber) {
    case 1:
    case 2:
    case 6:
      if (tlv.constructed) throw bad();
      return { type: tlv.tagNumber, text: latin1(reader.content(tlv)) };
    case 7:
      if (tlv.constructed) throw bad();
      return { type: 7, text: undefined, bytes: Buffer.from(reader.content(tlv)) };
    case 8:
      if (tlv.constructed) throw bad();
      if (decodeOid(reader.content(tlv)) === undefined) throw bad();
      return { type: 8, text: undefined };
    case 0: {
      const [typeId, value] = reader.fieldList(tlv, 'OtherName', 2, 2);
      reader.oid(typeId, 'OtherName type-id');
      reader.explicit(value, contextTag(0, true), 'OtherName value');
      return { type: 0, text: undefined };
    }
    case 4: {
      const [name] = reader.fieldList(tlv, 'directoryName', 1, 1);
      if (name === undefined) throw bad();
      const view = readName(reader, name, `${what} directoryName`);
      return { type: 4, text: undefined, directoryName: { text: view.text, rdns: view.rdns } };
    }
    case 3:
      if (!tlv.constructed) throw bad();
      return { type: 3, text: undefined };
    case 5: {
      // EDIPartyName ::= SEQUENCE { nameAssigner [0] DirectoryString OPTIONAL,
      //                             partyName    [1] DirectoryString }
      const fields = reader.fields(reader.expect(tlv, contextTag(5, true), what), 'EDIPartyName');
      const assigner = fields.optional(contextTag(0, true));
      const party = fields.next(contextTag(1, true), 'partyName');
      fields.end();
      for (const [field, tag] of [
        [assigner, 0],
        [party, 1],
      ] as const) {
        if (field === undefined) continue;
        const text = reader.explicit(field, contextTag(tag, true), 'EDIPartyName');
        if (characterString(reader, text, what) === undefined) throw bad();
      }
      return { type: 5, text: undefined };
    }
    default:
      throw bad();
  }
}

/** GeneralNames ::= SEQUENCE SIZE (1..MAX) OF GeneralName (the content of `tlv`; read as
 * given, an empty one too). */
function readGeneralNames(reader: BerReader, tlv: Tlv, what: string): GeneralName[] {
  return reader.childList(tlv, `${what} names`).map((name) => readGeneralName(reader, name, what));
}

/**
 * The fullName of a `[0] EXPLICIT DistributionPointName` (CRL distribution points, a CRL's
 * issuing distribution point); none for a nameRelativeToCRLIssuer, which is not a URL.
 *
 * ```asn
 * DistributionPointName ::= CHOICE {
 *   fullName                [0] IMPLICIT GeneralNames,
 *   nameRelativeToCRLIssuer [1] IMPLICIT RelativeDistinguishedName }
 * ```
 */
export function readDistributionPointName(
  reader: BerReader,
  tlv: Tlv,
  what: string,
): GeneralName[] {
  const choice = reader.explicit(tlv, contextTag(0, true), 'distributionPoint');
  if (tagMatches(choice, contextTag(1, true))) {
    readAttributes(reader, choice, `${what} nameRelativeToCRLIssuer`);
    return [];
  }
  return readGeneralNames(
    reader,
    reader.expect(choice, contextTag(0, true), 'DistributionPointName'),
    what,
  );
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/** An IA5String dNSName or rfc822Name, checked for being plain ASCII without controls. */
function ia5(value: string | undefined, what: string): string {
  if (value === undefined) throw malformed(`a ${what} is not a string`);
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code > 0x7e) throw malformed(`a ${what} holds a non-ASCII character`);
  }
  return value;
}

interface ExtensionView {
  rfc822Names: string[];
  dnsNames: string[];
  directoryNames: DirectoryName[];
  ipAddresses: Buffer[];
  nameConstraints: NameConstraints | undefined;
  ocspNoCheck: boolean;
  keyUsage: Set<KeyUsageName> | undefined;
  extKeyUsage: string[] | undefined;
  basicConstraints: { ca: boolean; pathLength?: number } | undefined;
  crlDistributionPoints: string[];
  caIssuers: string[];
  ocsp: string[];
  subjectKeyId: string | undefined;
  authorityKeyId: string | undefined;
  unhandledCriticalExtensions: string[];
}

/** A SEQUENCE OF with at least one element (the extensions below are SIZE (1..MAX)). */
function nonEmptyList(reader: BerReader, tlv: Tlv, what: string): Tlv[] {
  const list = reader.childList(reader.expect(tlv, UNIVERSAL.SEQUENCE, what), what);
  if (list.length === 0) throw malformed(`the ${what} extension is empty`);
  return list;
}

/**
 * ```asn
 * Extensions ::= SEQUENCE SIZE (1..MAX) OF Extension
 * Extension  ::= SEQUENCE { extnID OBJECT IDENTIFIER, critical BOOLEAN DEFAULT FALSE,
 *                           extnValue OCTET STRING }
 * ```
 * `wrapper` is the `[3] EXPLICIT` field of the TBSCertificate.
 */
function readExtensions(reader: BerReader, wrapper: Tlv | undefined): ExtensionView {
  const view: ExtensionView = {
    rfc822Names: [],
    dnsNames: [],
    directoryNames: [],
    ipAddresses: [],
    nameConstraints: undefined,
    ocspNoCheck: false,
    keyUsage: undefined,
    extKeyUsage: undefined,
    basicConstraints: undefined,
    crlDistributionPoints: [],
    caIssuers: [],
    ocsp: [],
    subjectKeyId: undefined,
    authorityKeyId: undefined,
    unhandledCriticalExtensions: [],
  };
  if (wrapper === undefined) return view;
  const list = reader.expect(
    reader.explicit(wrapper, contextTag(3, true), 'extensions'),
    UNIVERSAL.SEQUENCE,
    'Extensions',
  );
  const seen = new Set<string>();
  for (const element of reader.children(list)) {
    const fields = reader.fields(
      reader.expect(element, UNIVERSAL.SEQUENCE, 'Extension'),
      'Extension',
    );
    const id = reader.oid(fields.next(UNIVERSAL.OBJECT_IDENTIFIER, 'extnID'), 'extnID');
    const criticalTlv = fields.optional(UNIVERSAL.BOOLEAN);
    const critical = criticalTlv !== undefined && readBoolean(reader, criticalTlv);
    const extnValue = reader.stringBytes(fields.next(UNIVERSAL.OCTET_STRING, 'extnValue'));
    fields.end();
    if (seen.has(id)) throw malformed(`extension ${id} appears twice (RFC 5280 §4.2)`);
    seen.add(id);
    if (!HANDLED_EXTENSIONS.has(id)) {
      if (critical) view.unhandledCriticalExtensions.push(id);
      continue;
    }
    readExtension(id, extnValue, critical, view);
  }
  return view;
}

/** GeneralName choices by tag number, for messages. */
const GENERAL_NAME_FORMS = [
  'otherName',
  'rfc822Name',
  'dNSName',
  'x400Address',
  'directoryName',
  'ediPartyName',
  'uniformResourceIdentifier',
  'iPAddress',
  'registeredID',
];

/**
 * The nameConstraints extension (RFC 5280 §4.2.1.10; the ASN.1 is in nameConstraints.ts).
 * Subtrees with a minimum other than 0 or with a maximum (which RFC 5280 forbids) and
 * iPAddress subtrees that are not address and mask are kept as problems for path
 * validation to refuse, not as parse errors: the certificate stays readable.
 */
function readNameConstraints(extnValue: Uint8Array, critical: boolean): NameConstraints {
  const what = 'nameConstraints';
  const { reader, root } = extensionValue(extnValue, what);
  const fields = reader.fields(
    reader.expect(root, UNIVERSAL.SEQUENCE, 'NameConstraints'),
    'NameConstraints',
  );
  const permittedTlv = fields.optional(contextTag(0, true));
  const excludedTlv = fields.optional(contextTag(1, true));
  fields.end();
  const problems: string[] = [];
  const subtrees = (tlv: Tlv | undefined, which: string): SubtreeBase[] | undefined => {
    if (tlv === undefined) return undefined;
    const list = reader.childList(tlv, `${which} subtrees`);
    if (list.length === 0) throw malformed(`the ${what} ${which}Subtrees field is empty`);
    return list.map((element) => {
      const subtree = reader.fields(
        reader.expect(element, UNIVERSAL.SEQUENCE, 'GeneralSubtree'),
        'GeneralSubtree',
      );
      const general = readGeneralName(reader, subtree.any('base'), what);
      const minimum = subtree.optional(contextTag(0, false));
      const maximum = subtree.optional(contextTag(1, false));
      subtree.end();
      const form = GENERAL_NAME_FORMS[general.type] ?? `GeneralName [${general.type}]`;
      if (minimum !== undefined && reader.content(minimum).some((b) => b !== 0)) {
        problems.push(
          `a ${which} ${form} subtree has a minimum other than 0 (RFC 5280 forbids it)`,
        );
      }
      if (maximum !== undefined) {
        problems.push(`a ${which} ${form} subtree has a maximum (RFC 5280 forbids it)`);
      }
      switch (general.type) {
        case 1:
          return { form: 'rfc822Name', value: ia5(general.text, 'rfc822Name constraint') };
        case 2:
          return { form: 'dNSName', value: ia5(general.text, 'dNSName constraint') };
        case 4:
          if (general.directoryName === undefined) throw malformed(`a ${what} is not well-formed`);
          return { form: 'directoryName', name: general.directoryName };
        case 7: {
          const bytes = general.bytes ?? Buffer.alloc(0);
          if (bytes.byteLength !== 8 && bytes.byteLength !== 32) {
            problems.push(
              `a ${which} iPAddress subtree is ${bytes.byteLength} octets, not an address and mask (8 or 32)`,
            );
          }
          return { form: 'iPAddress', bytes };
        }
        default:
          return { form: 'other', label: form };
      }
    });
  };
  return {
    critical,
    permitted: subtrees(permittedTlv, 'permitted'),
    excluded: subtrees(excludedTlv, 'excluded'),
    problems,
  };
}

function readExtension(
  id: string,
  extnValue: Uint8Array,
  critical: boolean,
  view: ExtensionView,
): void {
  switch (id) {
    case OID.subjectAltName: {
      // SubjectAltName ::= GeneralNames
      const { reader, root } = extensionValue(extnValue, 'subjectAltName');
      const names = readGeneralNames(
        reader,
        reader.expect(root, UNIVERSAL.SEQUENCE, 'subjectAltName'),
        'subjectAltName',
      );
      for (const name of names) {
        if (name.type === 1) view.rfc822Names.push(ia5(name.text, 'rfc822Name'));
        else if (name.type === 2) view.dnsNames.push(ia5(name.text, 'dNSName'));
        else if (name.type === 4 && name.directoryName !== undefined) {
          view.directoryNames.push(name.directoryName);
        } else if (name.type === 7 && name.bytes !== undefined) view.ipAddresses.push(name.bytes);
      }
      break;
    }
    case OID.nameConstraints:
      view.nameConstraints = readNameConstraints(extnValue, critical);
      break;
    case OID.ocspNoCheck:
      // OCSPNoCheck ::= NULL (RFC 6960 §4.2.2.2.1); its presence is what counts.
      view.ocspNoCheck = true;
      break;
    case OID.keyUsage: {
      const { reader, root } = extensionValue(extnValue, 'keyUsage');
      view.keyUsage = readKeyUsage(reader, root);
      break;
    }
    case OID.extKeyUsage: {
      // ExtKeyUsageSyntax ::= SEQUENCE SIZE (1..MAX) OF KeyPurposeId
      const { reader, root } = extensionValue(extnValue, 'extKeyUsage');
      view.extKeyUsage = nonEmptyList(reader, root, 'extKeyUsage').map((purpose) =>
        reader.oid(purpose, 'KeyPurposeId'),
      );
      break;
    }
    case OID.basicConstraints: {
      // BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE,
      //                                 pathLenConstraint INTEGER (0..MAX) OPTIONAL }
      const { reader, root } = extensionValue(extnValue, 'basicConstraints');
      const fields = reader.fields(
        reader.expect(root, UNIVERSAL.SEQUENCE, 'BasicConstraints'),
        'BasicConstraints',
      );
      const caTlv = fields.optional(UNIVERSAL.BOOLEAN);
      const pathTlv = fields.optional(UNIVERSAL.INTEGER);
      fields.end();
      const ca = caTlv !== undefined && readBoolean(reader, caTlv);
      if (pathTlv === undefined) {
        view.basicConstraints = { ca };
      } else {
        let pathLength: number;
        try {
          pathLength = reader.unsignedInteger(pathTlv, 'pathLenConstraint');
        } catch (error) {
          throw malformed('basicConstraints has an invalid pathLenConstraint', error);
        }
        view.basicConstraints = { ca, pathLength };
      }
      break;
    }
    case OID.crlDistributionPoints: {
      // CRLDistributionPoints ::= SEQUENCE SIZE (1..MAX) OF DistributionPoint
      // DistributionPoint ::= SEQUENCE {
      //   distributionPoint [0] EXPLICIT DistributionPointName OPTIONAL,
      //   reasons [1] IMPLICIT ReasonFlags OPTIONAL, cRLIssuer [2] IMPLICIT GeneralNames OPTIONAL }
      // DistributionPointName ::= CHOICE {
      //   fullName [0] IMPLICIT GeneralNames, nameRelativeToCRLIssuer [1] IMPLICIT RDN }
      const what = 'cRLDistributionPoints';
      const { reader, root } = extensionValue(extnValue, what);
      for (const point of nonEmptyList(reader, root, what)) {
        const fields = reader.fields(
          reader.expect(point, UNIVERSAL.SEQUENCE, 'DistributionPoint'),
          'DistributionPoint',
        );
        const name = fields.optional(contextTag(0, true));
        fields.optional(contextTag(1, false));
        const issuer = fields.optional(contextTag(2, true));
        fields.end();
        if (issuer !== undefined) readGeneralNames(reader, issuer, what);
        if (name === undefined) continue;
        for (const general of readDistributionPointName(reader, name, what)) {
          if (general.type === 6 && general.text !== undefined && isHttpUrl(general.text)) {
            view.crlDistributionPoints.push(general.text);
          }
        }
      }
      break;
    }
    case OID.authorityInfoAccess: {
      // AuthorityInfoAccessSyntax ::= SEQUENCE SIZE (1..MAX) OF AccessDescription
      // AccessDescription ::= SEQUENCE { accessMethod OBJECT IDENTIFIER, accessLocation GeneralName }
      const what = 'authorityInfoAccess';
      const { reader, root } = extensionValue(extnValue, what);
      for (const description of nonEmptyList(reader, root, what)) {
        const [method, location] = reader.fieldList(
          reader.expect(description, UNIVERSAL.SEQUENCE, 'AccessDescription'),
          'AccessDescription',
          2,
          2,
        );
        const accessMethod = reader.oid(method, 'accessMethod');
        if (location === undefined) throw malformed(`the ${what} extension is not well-formed`);
        const general = readGeneralName(reader, location, what);
        const uri = general.type === 6 ? general.text : undefined;
        if (uri === undefined || !isHttpUrl(uri)) continue;
        if (accessMethod === OID.caIssuers) view.caIssuers.push(uri);
        else if (accessMethod === OID.ocsp) view.ocsp.push(uri);
      }
      break;
    }
    case OID.subjectKeyIdentifier: {
      // SubjectKeyIdentifier ::= KeyIdentifier ::= OCTET STRING
      const { reader, root } = extensionValue(extnValue, 'subjectKeyIdentifier');
      if (!tagMatches(root, UNIVERSAL.OCTET_STRING)) {
        throw malformed('subjectKeyIdentifier is not an OCTET STRING');
      }
      view.subjectKeyId = hex(reader.stringBytes(root));
      break;
    }
    case OID.authorityKeyIdentifier:
      view.authorityKeyId = readAuthorityKeyIdentifier(extnValue, CERTIFICATE_BOUNDS, (message) =>
        malformed(message),
      );
      break;
    default:
      // issuerAltName, certificatePolicies: accepted, not used.
      break;
  }
}

/**
 * The keyIdentifier (lowercase hex) of an AuthorityKeyIdentifier extension value, if it has
 * one (certificates and CRLs).
 *
 * ```asn
 * AuthorityKeyIdentifier ::= SEQUENCE {
 *   keyIdentifier             [0] IMPLICIT KeyIdentifier OPTIONAL,
 *   authorityCertIssuer       [1] IMPLICIT GeneralNames OPTIONAL,
 *   authorityCertSerialNumber [2] IMPLICIT CertificateSerialNumber OPTIONAL }
 * ```
 */
export function readAuthorityKeyIdentifier(
  extnValue: Uint8Array,
  bounds: Asn1Bounds,
  onError: (message: string) => HispError,
): string | undefined {
  const what = 'the authorityKeyIdentifier extension';
  const { reader, root } = readAsn1Bounded(extnValue, bounds, what, onError);
  const fields = reader.fields(
    reader.expect(root, UNIVERSAL.SEQUENCE, 'AuthorityKeyIdentifier'),
    'AuthorityKeyIdentifier',
  );
  const keyIdentifier = fields.optional(contextTag(0, false));
  const issuer = fields.optional(contextTag(1, true));
  fields.optional(contextTag(2, false));
  fields.end();
  if (issuer !== undefined) readGeneralNames(reader, issuer, 'authorityKeyIdentifier');
  return keyIdentifier === undefined ? undefined : hex(reader.content(keyIdentifier));
}

// ── Public key ───────────────────────────────────────────────────────────────────────────
const CURVE_BITS: Readonly<Record<string, number>> = {
  prime256v1: 256,
  secp256r1: 256,
  'P-256': 256,
  secp256k1: 256,
  secp384r1: 384,
  'P-384': 384,
  secp521r1: 521,
  'P-521': 521,
  secp224r1: 224,
  secp192r1: 192,
  prime192v1: 192,
};

function summarizeKey(key: KeyObject): PublicKeySummary {
  const details = key.asymmetricKeyDetails ?? {};
  const type = key.asymmetricKeyType;
  if (type === 'rsa' || type === 'rsa-pss') return { type, bits: details.modulusLength ?? 0 };
  if (type === 'ec') {
    const curve = details.namedCurve ?? 'unknown';
    return { type: 'ec', bits: CURVE_BITS[curve] ?? 0, curve };
  }
  if (type === 'ed25519') return { type: 'ed25519', bits: 256 };
  return { type: 'other', bits: details.modulusLength ?? 0 };
}

// ── parseCertificate ─────────────────────────────────────────────────────────────────────
/** What parseCertificate reads from the certificate's own structure. */
interface CertificateBody {
  readonly serial: Uint8Array;
  readonly signature: AlgorithmIdentifier;
  readonly signatureAlgorithm: AlgorithmIdentifier;
  readonly issuer: NameView;
  readonly subject: NameView;
  readonly notBefore: Date | undefined;
  readonly notAfter: Date | undefined;
  readonly extensions: Tlv | undefined;
}

/**
 * ```asn
 * TBSCertificate ::= SEQUENCE {
 *   version         [0]  EXPLICIT Version DEFAULT v1,
 *   serialNumber         CertificateSerialNumber,
 *   signature            AlgorithmIdentifier,
 *   issuer               Name,
 *   validity             Validity,   -- SEQUENCE { notBefore Time, notAfter Time }
 *   subject              Name,
 *   subjectPublicKeyInfo SubjectPublicKeyInfo,   -- SEQUENCE { AlgorithmIdentifier, BIT STRING }
 *   issuerUniqueID  [1]  IMPLICIT UniqueIdentifier OPTIONAL,
 *   subjectUniqueID [2]  IMPLICIT UniqueIdentifier OPTIONAL,
 *   extensions      [3]  EXPLICIT Extensions OPTIONAL }
 * ```
 */
function readCertificateBody(reader: BerReader, root: Tlv): CertificateBody {
  const outer = reader.fields(
    reader.expect(root, UNIVERSAL.SEQUENCE, 'Certificate'),
    'Certificate',
  );
  const tbs = outer.next(UNIVERSAL.SEQUENCE, 'tbsCertificate');
  const signatureAlgorithm = readAlgorithmIdentifier(
    reader,
    outer.next(UNIVERSAL.SEQUENCE, 'signatureAlgorithm'),
    'signatureAlgorithm',
  );
  checkBitString(reader, outer.any('signatureValue'), 'signatureValue');
  outer.end();

  const fields = reader.fields(tbs, 'TBSCertificate');
  const version = fields.optional(contextTag(0, true));
  if (version !== undefined) {
    reader.expect(
      reader.explicit(version, contextTag(0, true), 'version'),
      UNIVERSAL.INTEGER,
      'version',
    );
  }
  const serial = reader.content(fields.next(UNIVERSAL.INTEGER, 'serialNumber'));
  const signature = readAlgorithmIdentifier(
    reader,
    fields.next(UNIVERSAL.SEQUENCE, 'signature'),
    'signature',
  );
  const issuer = readName(reader, fields.any('issuer'), 'issuer');
  const [notBefore, notAfter] = reader.fieldList(
    fields.next(UNIVERSAL.SEQUENCE, 'validity'),
    'Validity',
    2,
    2,
  );
  const subject = readName(reader, fields.any('subject'), 'subject');
  const [spkiAlgorithm, subjectPublicKey] = reader.fieldList(
    fields.next(UNIVERSAL.SEQUENCE, 'subjectPublicKeyInfo'),
    'SubjectPublicKeyInfo',
    2,
    2,
  );
  readAlgorithmIdentifier(reader, spkiAlgorithm, 'subjectPublicKeyInfo.algorithm');
  checkBitString(reader, subjectPublicKey, 'subjectPublicKey');
  fields.optional(contextTag(1, false));
  fields.optional(contextTag(2, false));
  const extensions = fields.optional(contextTag(3, true));
  fields.end();
  return {
    serial,
    signature,
    signatureAlgorithm,
    issuer,
    subject,
    notBefore: readTime(reader, notBefore),
    notAfter: readTime(reader, notAfter),
    extensions,
  };
}

/**
 * One DER certificate. Throws HispError CERT_MALFORMED for anything else (including
 * trailing bytes, duplicate or malformed extensions) and LIMIT_EXCEEDED above the bounds.
 */
export function parseCertificate(der: Uint8Array): ParsedCertificate {
  if (!(der instanceof Uint8Array)) throw malformed('the input is not bytes');
  if (der.byteLength > AGENT_LIMITS.fetchedCertificateBytes) {
    throw tooLarge(
      `${der.byteLength} bytes is more than one certificate may have (${AGENT_LIMITS.fetchedCertificateBytes})`,
    );
  }
  if (der.byteLength < 2 || der[0] !== 0x30) throw malformed('the input is not a DER SEQUENCE');
  const bytes = Buffer.from(der); // a private copy: callers may reuse their buffer
  const { reader, root } = readAsn1Bounded(bytes, CERTIFICATE_BOUNDS, 'the certificate');
  const cert = typed('it is not an X.509 certificate', () => readCertificateBody(reader, root));
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(bytes);
  } catch (error) {
    throw malformed(`OpenSSL refuses it (${errorText(error)})`, error);
  }
  if (cert.signature.algorithmId !== cert.signatureAlgorithm.algorithmId) {
    throw malformed('the signature algorithm inside and outside the signed part differ');
  }
  const { subject, issuer, notBefore, notAfter } = cert;
  if (notBefore === undefined || notAfter === undefined) {
    throw malformed('its validity dates cannot be read');
  }
  const extensions = typed('its extensions cannot be read', () =>
    readExtensions(reader, cert.extensions),
  );
  let publicKey: PublicKeySummary;
  try {
    publicKey = summarizeKey(x509.publicKey);
  } catch {
    publicKey = { type: 'other', bits: 0 };
  }
  let serial = asBuffer(cert.serial);
  while (serial.byteLength > 1 && serial[0] === 0) serial = serial.subarray(1);
  if (serial.byteLength === 0) throw malformed('its serial number is empty');

  return Object.freeze({
    der: bytes,
    x509,
    subject: subject.text,
    issuer: issuer.text,
    subjectDer: subject.der,
    issuerDer: issuer.der,
    serialHex: serial.toString('hex'),
    notBefore,
    notAfter,
    fingerprintSha256: createHash('sha256').update(bytes).digest('hex'),
    rfc822Names: Object.freeze(extensions.rfc822Names),
    dnsNames: Object.freeze(extensions.dnsNames),
    directoryNames: Object.freeze(extensions.directoryNames),
    ipAddresses: Object.freeze(extensions.ipAddresses),
    subjectEmailAddresses: Object.freeze([...subject.emailAddresses]),
    subjectRdns: subject.rdns,
    nameConstraints: extensions.nameConstraints,
    ocspNoCheck: extensions.ocspNoCheck,
    keyUsage: extensions.keyUsage,
    extKeyUsage:
      extensions.extKeyUsage === undefined ? undefined : Object.freeze(extensions.extKeyUsage),
    basicConstraints: extensions.basicConstraints,
    crlDistributionPoints: Object.freeze(extensions.crlDistributionPoints),
    caIssuers: Object.freeze(extensions.caIssuers),
    ocsp: Object.freeze(extensions.ocsp),
    subjectKeyId: extensions.subjectKeyId,
    authorityKeyId: extensions.authorityKeyId,
    publicKey,
    signatureAlgorithm: describeSignatureAlgorithm(cert.signatureAlgorithm),
    selfIssued: subject.der.equals(issuer.der) || subject.key === issuer.key,
    subjectKey: subject.key,
    issuerKey: issuer.key,
    unhandledCriticalExtensions: Object.freeze(extensions.unhandledCriticalExtensions),
  });
}

/** Runs `read`; anything it throws that is not a HispError becomes CERT_MALFORMED (`what`). */
function typed<T>(what: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof HispError) throw error;
    throw malformed(what, error);
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The issuer name of `child` is the subject name of `issuer` (RFC 5280 §7.1 comparison). */
export function namesChain(child: ParsedCertificate, issuer: ParsedCertificate): boolean {
  return child.issuerDer.equals(issuer.subjectDer) || child.issuerKey === issuer.subjectKey;
}

/** A short, log-friendly description: subject, serial and the start of the fingerprint. */
export function describeCertificate(cert: ParsedCertificate): string {
  return `"${cert.subject}" (serial ${cert.serialHex}, SHA-256 ${cert.fingerprintSha256.slice(0, 16)})`;
}

/** Lowercase ASCII (IDNA) form of a domain name without a trailing dot, or undefined. */
export function normalizeDomain(domain: string): string | undefined {
  const trimmed = domain.trim().replace(/\.$/, '');
  if (trimmed === '') return undefined;
  const ascii = domainToASCII(trimmed.toLowerCase());
  return ascii === '' ? undefined : ascii;
}

// ── readCertificates ─────────────────────────────────────────────────────────────────────
/**
 * Certificates from a PEM text (one or many blocks, anything between them), one DER
 * certificate, or a PKCS#7/CMS SignedData "certs-only" (DER, or PEM "PKCS7"/"CMS"),
 * detected from the bytes. PEM blocks with other labels (keys, CRLs) are skipped.
 */
export function readCertificates(data: Uint8Array): ParsedCertificate[] {
  if (!(data instanceof Uint8Array)) throw malformed('the input is not bytes');
  if (data.byteLength > CERTIFICATE_READ_LIMITS.inputBytes) {
    throw tooLarge(
      `${data.byteLength} bytes is more than a certificate file may have (${CERTIFICATE_READ_LIMITS.inputBytes})`,
    );
  }
  if (data.byteLength === 0) throw malformed('the input is empty');
  if (data[0] === 0x30) return readDer(data);
  const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1');
  const blocks = pemBlocks(text);
  if (blocks.length === 0) throw malformed('the input is neither DER nor PEM');
  const out: ParsedCertificate[] = [];
  let sawCertificateBlock = false;
  for (const block of blocks) {
    switch (block.label) {
      case 'CERTIFICATE':
      case 'X509 CERTIFICATE':
        sawCertificateBlock = true;
        out.push(parseCertificate(block.der));
        break;
      case 'TRUSTED CERTIFICATE':
        // OpenSSL's trusted form: the certificate followed by its trust settings.
        sawCertificateBlock = true;
        out.push(parseCertificate(firstElement(block.der)));
        break;
      case 'PKCS7':
      case 'CMS':
        sawCertificateBlock = true;
        out.push(...readPkcs7(block.der));
        break;
      default:
        break;
    }
    if (out.length > CERTIFICATE_READ_LIMITS.certificates) {
      throw tooLarge(`more than ${CERTIFICATE_READ_LIMITS.certificates} certificates`);
    }
  }
  if (!sawCertificateBlock) throw malformed('the PEM input holds no CERTIFICATE or PKCS7 block');
  return out;
}

function readDer(data: Uint8Array): ParsedCertificate[] {
  // Certificate ::= SEQUENCE { SEQUENCE ...}; ContentInfo ::= SEQUENCE { OID, [0] ... }.
  const header = tlvHeader(data, 0);
  if (header !== undefined && data[header.headerLength] === 0x06) return readPkcs7(data);
  return [parseCertificate(data)];
}

/** Bytes of the first DER element of `bytes` (for TRUSTED CERTIFICATE). */
function firstElement(bytes: Buffer): Buffer {
  const header = tlvHeader(bytes, 0);
  if (header === undefined) throw malformed('a TRUSTED CERTIFICATE block is not DER');
  const end = header.headerLength + header.length;
  if (end > bytes.byteLength) throw malformed('a TRUSTED CERTIFICATE block is truncated');
  return bytes.subarray(0, end);
}

/** Identifier (one octet) and definite length of the element at `offset`. */
function tlvHeader(
  bytes: Uint8Array,
  offset: number,
): { headerLength: number; length: number } | undefined {
  const first = bytes[offset + 1];
  if (first === undefined) return undefined;
  if (first < 0x80) return { headerLength: 2, length: first };
  const count = first & 0x7f;
  if (count === 0 || count > 4) return undefined;
  let length = 0;
  for (let i = 0; i < count; i++) {
    const byte = bytes[offset + 2 + i];
    if (byte === undefined) return undefined;
    length = length * 256 + byte;
  }
  return { headerLength: 2 + count, length };
}

/**
 * ```asn
 * ContentInfo ::= SEQUENCE { contentType OBJECT IDENTIFIER, content [0] EXPLICIT ANY }
 * SignedData ::= SEQUENCE { version, digestAlgorithms SET, encapContentInfo SEQUENCE,
 *   certificates [0] IMPLICIT CertificateSet OPTIONAL, crls [1] IMPLICIT ... OPTIONAL,
 *   signerInfos SET }
 * ```
 * Only the certificate choice of CertificateChoices is read; the others are skipped.
 */
function readPkcs7(bytes: Uint8Array): ParsedCertificate[] {
  const fail = (message: string) =>
    new HispError('CERT_MALFORMED', `A PKCS#7 certificate bundle could not be read: ${message}.`);
  const { reader, root } = readAsn1Bounded(
    bytes,
    {
      maxDepth: CERTIFICATE_READ_LIMITS.asn1Depth,
      maxElements: CERTIFICATE_READ_LIMITS.pkcs7Nodes,
    },
    'the PKCS#7 bundle',
    fail,
  );
  if (!tagMatches(root, UNIVERSAL.SEQUENCE)) throw fail('it is not a SEQUENCE');
  const [type, content] = reader.childList(root, 'ContentInfo fields');
  if (type === undefined || !tagMatches(type, UNIVERSAL.OBJECT_IDENTIFIER)) {
    throw fail('it has no content type');
  }
  const contentType = reader.oid(type, 'contentType');
  if (contentType !== OID.signedData) {
    throw fail(`its content type is ${contentType}, not SignedData`);
  }
  if (content === undefined || !tagMatches(content, contextTag(0, true))) {
    throw fail('its content is not [0] EXPLICIT');
  }
  const [signedData] = reader.childList(content, 'content');
  if (signedData === undefined || !tagMatches(signedData, UNIVERSAL.SEQUENCE)) {
    throw fail('SignedData is not a SEQUENCE');
  }
  const certificates = reader
    .childList(signedData, 'SignedData fields')
    .find((element) => tagMatches(element, contextTag(0, true)));
  if (certificates === undefined) throw fail('it holds no certificates');
  const out: ParsedCertificate[] = [];
  for (const choice of reader.children(certificates)) {
    // Certificate is a universal SEQUENCE; the other choices are context-tagged.
    if (!tagMatches(choice, UNIVERSAL.SEQUENCE)) continue;
    if (out.length >= CERTIFICATE_READ_LIMITS.certificates) {
      throw tooLarge(`more than ${CERTIFICATE_READ_LIMITS.certificates} certificates`);
    }
    out.push(parseCertificate(reader.raw(choice)));
  }
  if (out.length === 0) throw fail('it holds no certificates');
  return out;
}

interface PemBlock {
  readonly label: string;
  readonly der: Buffer;
}

const PEM_BEGIN = '-----BEGIN ';
const PEM_END = '-----END ';
const PEM_DASHES = '-----';

/** PEM blocks (RFC 7468, lax: any text between blocks), scanned without regexes. */
function pemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  let position = 0;
  for (;;) {
    const begin = text.indexOf(PEM_BEGIN, position);
    if (begin === -1) break;
    if (blocks.length >= CERTIFICATE_READ_LIMITS.pemBlocks) {
      throw tooLarge(`more than ${CERTIFICATE_READ_LIMITS.pemBlocks} PEM blocks`);
    }
    const labelStart = begin + PEM_BEGIN.length;
    const labelEnd = text.indexOf(PEM_DASHES, labelStart);
    if (labelEnd === -1 || labelEnd - labelStart > 64) throw malformed('a PEM header is broken');
    const label = text.slice(labelStart, labelEnd);
    const bodyStart = labelEnd + PEM_DASHES.length;
    const endMarker = `${PEM_END}${label}${PEM_DASHES}`;
    const end = text.indexOf(endMarker, bodyStart);
    if (end === -1) throw malformed(`the PEM block "${label}" has no END line`);
    const nextBegin = text.indexOf(PEM_BEGIN, bodyStart);
    if (nextBegin !== -1 && nextBegin < end) {
      throw malformed(`the PEM block "${label}" has no END line before the next block`);
    }
    blocks.push({ label, der: decodeBase64Strict(text.slice(bodyStart, end), label) });
    position = end + endMarker.length;
  }
  return blocks;
}

function decodeBase64Strict(body: string, label: string): Buffer {
  let compact = '';
  for (const line of body.split(/\r?\n/)) {
    const trimmed = line.trim();
    // RFC 1421 headers (Proc-Type, DEK-Info) in old PEM: skip lines with a colon.
    if (trimmed === '' || trimmed.includes(':')) continue;
    compact += trimmed;
  }
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 === 1) {
    throw malformed(`the PEM block "${label}" is not valid base64`);
  }
  return Buffer.from(compact, 'base64');
}
