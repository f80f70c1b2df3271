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
 */
import { X509Certificate, createHash, type KeyObject } from 'node:crypto';
import { domainToASCII } from 'node:url';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';

import { AGENT_LIMITS } from '../agent/limits.js';
import { HispError } from '../api/errors.js';

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
  crlDistributionPoints: '2.5.29.31',
  certificatePolicies: '2.5.29.32',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  authorityInfoAccess: '1.3.6.1.5.5.7.1.1',
  caIssuers: '1.3.6.1.5.5.7.48.2',
  ocsp: '1.3.6.1.5.5.7.48.1',
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
  OID.crlDistributionPoints,
  OID.certificatePolicies,
  OID.authorityKeyIdentifier,
  OID.extKeyUsage,
  OID.authorityInfoAccess,
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

/** The signature algorithm (and its digest) named by an AlgorithmIdentifier. */
export function describeSignatureAlgorithm(id: pkijs.AlgorithmIdentifier): SignatureAlgorithm {
  const oid = id.algorithmId;
  const known = SIGNATURE_ALGORITHMS[oid];
  if (known === undefined) return { oid, name: oid, hash: undefined };
  if (oid !== '1.2.840.113549.1.1.10') return { oid, ...known };
  // RSASSA-PSS-params: hashAlgorithm [0] DEFAULT sha1.
  const pss = pssParameters(id);
  return { oid, name: `rsassaPss(${pss.hash ?? 'unknown'})`, hash: pss.hash };
}

/** RSASSA-PSS-params (RFC 4055): hash and salt length, with the defaults (SHA-1, 20). */
export function pssParameters(id: pkijs.AlgorithmIdentifier): {
  hash: SignatureHash | undefined;
  saltLength: number;
} {
  if (id.algorithmParams === undefined || id.algorithmParams instanceof asn1js.Null) {
    return { hash: 'sha1', saltLength: 20 };
  }
  try {
    const params = new pkijs.RSASSAPSSParams({ schema: id.algorithmParams });
    return {
      hash: HASH_OIDS[params.hashAlgorithm.algorithmId],
      saltLength: params.saltLength,
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

/**
 * asn1js with explicit bounds; the whole input must be one element (no trailing bytes).
 * Limit errors from asn1js become LIMIT_EXCEEDED, anything else `onError`.
 */
export function parseAsn1Bounded(
  bytes: Uint8Array,
  limits: { maxDepth: number; maxNodes: number },
  what: string,
  onError: (message: string) => HispError,
): asn1js.AsnType {
  let parsed: ReturnType<typeof asn1js.fromBER>;
  try {
    parsed = asn1js.fromBER(bytes, {
      maxDepth: limits.maxDepth,
      maxNodes: limits.maxNodes,
      maxContentLength: Math.max(bytes.byteLength, 1),
    });
  } catch (error) {
    throw onError(`${what} is not valid ASN.1 (${errorText(error)})`);
  }
  const error = parsed.result.error;
  if (parsed.offset === -1 || error !== '') {
    if (/^Maximum ASN\.1 (nesting depth|node count) exceeded/.test(error)) {
      throw new HispError('LIMIT_EXCEEDED', `${what} refused: ${error}.`);
    }
    throw onError(`${what} is not valid ASN.1${error === '' ? '' : ` (${error})`}`);
  }
  if (parsed.offset !== bytes.byteLength) {
    throw onError(`${what} has ${bytes.byteLength - parsed.offset} bytes after its end`);
  }
  return parsed.result;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
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
  readonly der: Buffer;
}

function attributeString(value: unknown): string | undefined {
  if (
    value instanceof asn1js.Utf8String ||
    value instanceof asn1js.PrintableString ||
    value instanceof asn1js.IA5String ||
    value instanceof asn1js.TeletexString ||
    value instanceof asn1js.BmpString ||
    value instanceof asn1js.UniversalString ||
    value instanceof asn1js.VisibleString ||
    value instanceof asn1js.NumericString ||
    value instanceof asn1js.GeneralString ||
    value instanceof asn1js.GraphicString ||
    value instanceof asn1js.VideotexString
  ) {
    return value.valueBlock.value;
  }
  return undefined;
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
  const parsed = parseAsn1Bounded(
    der,
    { maxDepth: 8, maxNodes: CERTIFICATE_READ_LIMITS.asn1Nodes },
    `the ${what} name`,
    (message) => malformed(message),
  );
  let name: pkijs.RelativeDistinguishedNames;
  try {
    name = new pkijs.RelativeDistinguishedNames({ schema: parsed });
  } catch (error) {
    throw malformed(`the ${what} name is not a Name`, error);
  }
  return nameView(name, what, Buffer.from(der));
}

/** The number of AttributeTypeAndValues in each RDN, from the Name's DER (pkijs flattens them). */
function rdnSizes(der: Uint8Array, what: string): number[] {
  const outer = tlvHeader(der, 0);
  if (
    der[0] !== 0x30 ||
    outer === undefined ||
    outer.headerLength + outer.length !== der.byteLength
  ) {
    throw malformed(`the ${what} name is not a SEQUENCE`);
  }
  const sizes: number[] = [];
  let offset = outer.headerLength;
  while (offset < der.byteLength) {
    const set = tlvHeader(der, offset);
    const setEnd = set === undefined ? -1 : offset + set.headerLength + set.length;
    if (der[offset] !== 0x31 || set === undefined || setEnd > der.byteLength) {
      throw malformed(`the ${what} name has an RDN that is not a SET`);
    }
    let count = 0;
    let inner = offset + set.headerLength;
    while (inner < setEnd) {
      const atv = tlvHeader(der, inner);
      if (atv === undefined) throw malformed(`the ${what} name has a broken attribute`);
      inner += atv.headerLength + atv.length;
      count++;
    }
    if (count === 0 || inner !== setEnd) throw malformed(`the ${what} name has a broken RDN`);
    sizes.push(count);
    offset = setEnd;
  }
  return sizes;
}

function nameView(
  name: pkijs.RelativeDistinguishedNames,
  what: string,
  der: Buffer = Buffer.from(name.valueBeforeDecode),
): NameView {
  if (der.byteLength === 0) throw malformed(`the ${what} name is missing`);
  const rdns: { type: string; value: unknown }[][] = [];
  let index = 0;
  for (const size of rdnSizes(der, what)) {
    const group = name.typesAndValues.slice(index, index + size);
    if (group.length !== size) throw malformed(`the ${what} name could not be read`);
    rdns.push(group.map((atv) => ({ type: atv.type, value: atv.value })));
    index += size;
  }
  if (index !== name.typesAndValues.length) throw malformed(`the ${what} name could not be read`);
  const valueHex = (value: unknown) =>
    value instanceof asn1js.BaseBlock ? Buffer.from(value.toBER(false)).toString('hex') : '';
  const text = rdns
    .map((rdn) =>
      rdn
        .map((atv) => {
          const label = NAME_LABELS[atv.type] ?? atv.type;
          const value = attributeString(atv.value);
          return value === undefined
            ? `${atv.type}=#${valueHex(atv.value)}`
            : `${label}=${escapeAttributeValue(value)}`;
        })
        .join('+'),
    )
    .reverse()
    .join(',');
  const key = JSON.stringify(
    rdns.map((rdn) =>
      rdn
        .map((atv) => {
          const value = attributeString(atv.value);
          const folded =
            value === undefined
              ? `#${valueHex(atv.value)}`
              : value.normalize('NFKC').trim().replace(/\s+/g, ' ').toLowerCase();
          return `${atv.type}=${folded}`;
        })
        .sort(),
    ),
  );
  return { text, key, der };
}

// ── Extensions ───────────────────────────────────────────────────────────────────────────
function extensionValue(extension: pkijs.Extension, what: string): asn1js.AsnType {
  return parseAsn1Bounded(
    extension.extnValue.valueBlock.valueHexView,
    { maxDepth: CERTIFICATE_READ_LIMITS.asn1Depth, maxNodes: CERTIFICATE_READ_LIMITS.asn1Nodes },
    `the ${what} extension`,
    (message) => malformed(message),
  );
}

function construct<T>(what: string, make: () => T): T {
  try {
    return make();
  } catch (error) {
    throw malformed(`the ${what} extension is not well-formed`, error);
  }
}

function hex(bytes: ArrayBuffer | Uint8Array): string {
  return Buffer.from(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)).toString('hex');
}

function readKeyUsage(value: asn1js.AsnType): Set<KeyUsageName> {
  if (!(value instanceof asn1js.BitString)) throw malformed('keyUsage is not a BIT STRING');
  const bytes = value.valueBlock.valueHexView;
  const unused = value.valueBlock.unusedBits;
  const usages = new Set<KeyUsageName>();
  const totalBits = bytes.length * 8 - unused;
  KEY_USAGE_BITS.forEach((usage, bit) => {
    if (bit >= totalBits) return;
    const byte = bytes[bit >> 3] ?? 0;
    if ((byte & (0x80 >> (bit & 7))) !== 0) usages.add(usage);
  });
  return usages;
}

function uriOf(name: pkijs.GeneralName): string | undefined {
  return name.type === 6 && typeof name.value === 'string' ? name.value : undefined;
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
function ia5(value: unknown, what: string): string {
  if (typeof value !== 'string') throw malformed(`a ${what} is not a string`);
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code > 0x7e) throw malformed(`a ${what} holds a non-ASCII character`);
  }
  return value;
}

interface ExtensionView {
  rfc822Names: string[];
  dnsNames: string[];
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

function readExtensions(extensions: readonly pkijs.Extension[]): ExtensionView {
  const view: ExtensionView = {
    rfc822Names: [],
    dnsNames: [],
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
  const seen = new Set<string>();
  for (const extension of extensions) {
    const id = extension.extnID;
    if (seen.has(id)) throw malformed(`extension ${id} appears twice (RFC 5280 §4.2)`);
    seen.add(id);
    if (!HANDLED_EXTENSIONS.has(id)) {
      if (extension.critical) view.unhandledCriticalExtensions.push(id);
      continue;
    }
    switch (id) {
      case OID.subjectAltName: {
        const value = extensionValue(extension, 'subjectAltName');
        const alt = construct('subjectAltName', () => new pkijs.AltName({ schema: value }));
        for (const name of alt.altNames) {
          if (name.type === 1) view.rfc822Names.push(ia5(name.value, 'rfc822Name'));
          else if (name.type === 2) view.dnsNames.push(ia5(name.value, 'dNSName'));
        }
        break;
      }
      case OID.keyUsage:
        view.keyUsage = readKeyUsage(extensionValue(extension, 'keyUsage'));
        break;
      case OID.extKeyUsage: {
        const value = extensionValue(extension, 'extKeyUsage');
        const eku = construct('extKeyUsage', () => new pkijs.ExtKeyUsage({ schema: value }));
        view.extKeyUsage = [...eku.keyPurposes];
        break;
      }
      case OID.basicConstraints: {
        const value = extensionValue(extension, 'basicConstraints');
        const bc = construct(
          'basicConstraints',
          () => new pkijs.BasicConstraints({ schema: value }),
        );
        const raw = bc.pathLenConstraint;
        let pathLength: number | undefined;
        if (typeof raw === 'number') pathLength = raw;
        else if (raw instanceof asn1js.Integer) pathLength = raw.valueBlock.valueDec;
        if (pathLength !== undefined && (!Number.isSafeInteger(pathLength) || pathLength < 0)) {
          throw malformed('basicConstraints has an invalid pathLenConstraint');
        }
        view.basicConstraints =
          pathLength === undefined ? { ca: bc.cA } : { ca: bc.cA, pathLength };
        break;
      }
      case OID.crlDistributionPoints: {
        const value = extensionValue(extension, 'cRLDistributionPoints');
        const cdp = construct(
          'cRLDistributionPoints',
          () => new pkijs.CRLDistributionPoints({ schema: value }),
        );
        for (const point of cdp.distributionPoints) {
          const names = point.distributionPoint;
          if (!Array.isArray(names)) continue; // nameRelativeToCRLIssuer: not a URL
          for (const name of names) {
            const uri = uriOf(name);
            if (uri !== undefined && isHttpUrl(uri)) view.crlDistributionPoints.push(uri);
          }
        }
        break;
      }
      case OID.authorityInfoAccess: {
        const value = extensionValue(extension, 'authorityInfoAccess');
        const aia = construct('authorityInfoAccess', () => new pkijs.InfoAccess({ schema: value }));
        for (const access of aia.accessDescriptions) {
          const uri = uriOf(access.accessLocation);
          if (uri === undefined || !isHttpUrl(uri)) continue;
          if (access.accessMethod === OID.caIssuers) view.caIssuers.push(uri);
          else if (access.accessMethod === OID.ocsp) view.ocsp.push(uri);
        }
        break;
      }
      case OID.subjectKeyIdentifier: {
        const value = extensionValue(extension, 'subjectKeyIdentifier');
        if (!(value instanceof asn1js.OctetString)) {
          throw malformed('subjectKeyIdentifier is not an OCTET STRING');
        }
        view.subjectKeyId = hex(value.valueBlock.valueHexView);
        break;
      }
      case OID.authorityKeyIdentifier: {
        const value = extensionValue(extension, 'authorityKeyIdentifier');
        const aki = construct(
          'authorityKeyIdentifier',
          () => new pkijs.AuthorityKeyIdentifier({ schema: value }),
        );
        if (aki.keyIdentifier !== undefined) {
          view.authorityKeyId = hex(aki.keyIdentifier.valueBlock.valueHexView);
        }
        break;
      }
      default:
        // issuerAltName, certificatePolicies: accepted, not used.
        break;
    }
  }
  return view;
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
  const root = parseAsn1Bounded(
    bytes,
    { maxDepth: CERTIFICATE_READ_LIMITS.asn1Depth, maxNodes: CERTIFICATE_READ_LIMITS.asn1Nodes },
    'the certificate',
    (message) => malformed(message),
  );
  let cert: pkijs.Certificate;
  try {
    cert = new pkijs.Certificate({ schema: root });
  } catch (error) {
    throw malformed('it is not an X.509 certificate', error);
  }
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(bytes);
  } catch (error) {
    throw malformed(`OpenSSL refuses it (${errorText(error)})`, error);
  }
  if (cert.signature.algorithmId !== cert.signatureAlgorithm.algorithmId) {
    throw malformed('the signature algorithm inside and outside the signed part differ');
  }
  const subject = nameView(cert.subject, 'subject');
  const issuer = nameView(cert.issuer, 'issuer');
  const notBefore = cert.notBefore.value;
  const notAfter = cert.notAfter.value;
  if (Number.isNaN(notBefore.getTime()) || Number.isNaN(notAfter.getTime())) {
    throw malformed('its validity dates cannot be read');
  }
  const extensions = readExtensions(cert.extensions ?? []);
  let publicKey: PublicKeySummary;
  try {
    publicKey = summarizeKey(x509.publicKey);
  } catch {
    publicKey = { type: 'other', bits: 0 };
  }
  let serial = Buffer.from(cert.serialNumber.valueBlock.valueHexView);
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
  const root = parseAsn1Bounded(
    bytes,
    { maxDepth: CERTIFICATE_READ_LIMITS.asn1Depth, maxNodes: CERTIFICATE_READ_LIMITS.pkcs7Nodes },
    'the PKCS#7 bundle',
    fail,
  );
  if (!(root instanceof asn1js.Sequence)) throw fail('it is not a SEQUENCE');
  const [type, content] = root.valueBlock.value;
  if (!(type instanceof asn1js.ObjectIdentifier)) throw fail('it has no content type');
  if (type.valueBlock.toString() !== OID.signedData) {
    throw fail(`its content type is ${type.valueBlock.toString()}, not SignedData`);
  }
  if (
    !(content instanceof asn1js.Constructed) ||
    content.idBlock.tagClass !== 3 ||
    content.idBlock.tagNumber !== 0
  ) {
    throw fail('its content is not [0] EXPLICIT');
  }
  const signedData = content.valueBlock.value[0];
  if (!(signedData instanceof asn1js.Sequence)) throw fail('SignedData is not a SEQUENCE');
  const certificates = signedData.valueBlock.value.find(
    (element) =>
      element.idBlock.tagClass === 3 &&
      element.idBlock.tagNumber === 0 &&
      element.idBlock.isConstructed,
  );
  if (!(certificates instanceof asn1js.Constructed)) throw fail('it holds no certificates');
  const out: ParsedCertificate[] = [];
  for (const choice of certificates.valueBlock.value) {
    // Certificate is a universal SEQUENCE; the other choices are context-tagged.
    if (choice.idBlock.tagClass !== 1 || choice.idBlock.tagNumber !== 16) continue;
    if (out.length >= CERTIFICATE_READ_LIMITS.certificates) {
      throw tooLarge(`more than ${CERTIFICATE_READ_LIMITS.certificates} certificates`);
    }
    out.push(parseCertificate(choice.valueBeforeDecodeView));
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
