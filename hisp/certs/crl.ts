/**
 * Certificate revocation lists (RFC 5280 §5): reading, checking against the issuer, looking
 * up a serial, and an in-memory cache keyed by distribution-point URL.
 *
 * ```asn
 * CertificateList ::= SEQUENCE {
 *   tbsCertList          TBSCertList,
 *   signatureAlgorithm   AlgorithmIdentifier,
 *   signatureValue       BIT STRING }
 * TBSCertList ::= SEQUENCE {
 *   version              Version OPTIONAL,   -- v2
 *   signature            AlgorithmIdentifier,
 *   issuer               Name,
 *   thisUpdate           Time,
 *   nextUpdate           Time OPTIONAL,
 *   revokedCertificates  SEQUENCE OF SEQUENCE {
 *     userCertificate      CertificateSerialNumber,
 *     revocationDate       Time,
 *     crlEntryExtensions   Extensions OPTIONAL } OPTIONAL,
 *   crlExtensions        [0] EXPLICIT Extensions OPTIONAL }
 * ```
 *
 * The revoked list is walked with a small DER reader of its own: a CRL may be up to
 * AGENT_LIMITS.crlBytes (20 MiB, ~1M entries) and comes from a server that may be hostile
 * (risk-12), so the walk builds nothing but one map entry per serial (for comparison: a
 * general ASN.1 object model took 11 s and 730 MB of heap for a 4.4 MB CRL with 200k
 * entries). The small parts (issuer Name, AlgorithmIdentifier, extensions) are read with the
 * bounded BER reader of hisp/asn1, through the certificate module's readers.
 */
import { constants, createHash, verify, type KeyObject } from 'node:crypto';

import { AGENT_LIMITS } from '../agent/limits.js';
import { HispError } from '../api/errors.js';
import { UNIVERSAL, contextTag, tagMatches } from '../asn1/ber.js';
import {
  describeCertificate,
  describeSignatureAlgorithm,
  isWeakSignatureAlgorithm,
  parseName,
  pssParameters,
  readAlgorithmIdentifier,
  readAsn1Bounded,
  readAuthorityKeyIdentifier,
  readDistributionPointName,
  type AlgorithmIdentifier,
  type Asn1Bounds,
  type ParsedCertificate,
  type SignatureAlgorithm,
} from './certificate.js';
import { ExpiringMap, type CacheBacking } from './expiring.js';

const CRL_OID = {
  authorityKeyIdentifier: '2.5.29.35',
  cRLNumber: '2.5.29.20',
  deltaCRLIndicator: '2.5.29.27',
  issuingDistributionPoint: '2.5.29.28',
  freshestCRL: '2.5.29.46',
  issuerAltName: '2.5.29.18',
  authorityInfoAccess: '1.3.6.1.5.5.7.1.1',
} as const;

/** CRLReason removeFromCRL (only meaningful in delta CRLs). */
const REASON_REMOVE_FROM_CRL = 8;

/** OIDs of CRL entry extensions, as DER content octets. */
const ENTRY_REASON_CODE = Buffer.from([0x55, 0x1d, 0x15]); // 2.5.29.21
const ENTRY_INVALIDITY_DATE = Buffer.from([0x55, 0x1d, 0x18]); // 2.5.29.24
const ENTRY_CERTIFICATE_ISSUER = Buffer.from([0x55, 0x1d, 0x1d]); // 2.5.29.29

export interface RevokedEntry {
  readonly revocationDate: Date;
  /** CRLReason, when the entry says. */
  readonly reason?: number;
}

/** What an IssuingDistributionPoint limits the CRL to (undefined = a full CRL). */
export interface CrlScope {
  readonly onlyUserCerts: boolean;
  readonly onlyCACerts: boolean;
  readonly onlySomeReasons: boolean;
  readonly indirect: boolean;
  readonly onlyAttributeCerts: boolean;
}

function crlMalformed(what: string, cause?: unknown): HispError {
  return new HispError(
    'CERT_MALFORMED',
    `A certificate revocation list could not be read: ${what}.`,
    cause === undefined ? undefined : { cause },
  );
}

// ── A minimal DER reader (definite lengths only, X.690 §10.1) ────────────────────────────
interface Tlv {
  /** The identifier octet (low tag numbers only). */
  readonly tag: number;
  readonly start: number;
  readonly valueStart: number;
  readonly end: number;
}

function readTlv(bytes: Buffer, offset: number, limit: number, what: string): Tlv {
  if (offset + 2 > limit) throw crlMalformed(`${what} is truncated`);
  const tag = bytes[offset] ?? 0;
  if ((tag & 0x1f) === 0x1f) throw crlMalformed(`${what} uses a high tag number`);
  const first = bytes[offset + 1] ?? 0;
  let length: number;
  let valueStart: number;
  if (first < 0x80) {
    length = first;
    valueStart = offset + 2;
  } else {
    const count = first & 0x7f;
    if (count === 0) throw crlMalformed(`${what} uses an indefinite length (not DER)`);
    if (count > 4) throw crlMalformed(`${what} has a length field of ${count} octets`);
    if (offset + 2 + count > limit) throw crlMalformed(`${what} is truncated`);
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (bytes[offset + 2 + i] ?? 0);
    valueStart = offset + 2 + count;
  }
  const end = valueStart + length;
  if (end > limit) throw crlMalformed(`${what} claims ${length} bytes, past its end`);
  return { tag, start: offset, valueStart, end };
}

function expectTag(tlv: Tlv, tag: number, what: string): Tlv {
  if (tlv.tag !== tag) {
    throw crlMalformed(`${what} has tag 0x${tlv.tag.toString(16)}, expected 0x${tag.toString(16)}`);
  }
  return tlv;
}

/** UTCTime (YYMMDDHHMMSSZ) or GeneralizedTime (YYYYMMDDHHMMSS[.f]Z), as RFC 5280 §4.1.2.5. */
function readTime(bytes: Buffer, tlv: Tlv, what: string): Date {
  const text = bytes.toString('latin1', tlv.valueStart, tlv.end);
  let match: RegExpExecArray | null;
  let year: number;
  if (tlv.tag === 0x17) {
    match = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
    if (match === null) throw crlMalformed(`${what} is not a valid UTCTime`);
    const yy = Number(match[1]);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
  } else if (tlv.tag === 0x18) {
    match = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.\d{1,9})?Z$/.exec(text);
    if (match === null) throw crlMalformed(`${what} is not a valid GeneralizedTime`);
    year = Number(match[1]);
  } else {
    throw crlMalformed(`${what} is not a time`);
  }
  const [month, day, hour, minute, second] = match.slice(2, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  if (
    date.getUTCFullYear() !== year ||
    date.getUTCMonth() !== month - 1 ||
    date.getUTCDate() !== day ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  ) {
    throw crlMalformed(`${what} is not a calendar date`);
  }
  return date;
}

function serialKey(bytes: Buffer, tlv: Tlv): string {
  let start = tlv.valueStart;
  if (start === tlv.end) throw crlMalformed('a revoked entry has an empty serial number');
  while (start < tlv.end - 1 && bytes[start] === 0) start++;
  return bytes.toString('hex', start, tlv.end);
}

// ── ParsedCrl ────────────────────────────────────────────────────────────────────────────
export class ParsedCrl {
  readonly der: Buffer;
  readonly fingerprintSha256: string;
  readonly issuer: string;
  readonly issuerDer: Buffer;
  readonly issuerKey: string;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date | undefined;
  readonly signatureAlgorithm: SignatureAlgorithm;
  readonly authorityKeyId: string | undefined;
  readonly crlNumber: string | undefined;
  /** A delta CRL (deltaCRLIndicator): not usable on its own. */
  readonly delta: boolean;
  readonly scope: CrlScope | undefined;
  /** Critical CRL or entry extensions this code does not process (the CRL is then unusable). */
  readonly unhandledCriticalExtensions: readonly string[];
  readonly revokedCount: number;

  readonly #tbs: Buffer;
  readonly #signature: Buffer;
  readonly #algorithm: AlgorithmIdentifier;
  readonly #revoked: Map<string, number>;
  readonly #reasons: Map<string, number>;
  readonly #verified = new Map<string, boolean>();

  /** @internal use parseCrl */
  constructor(fields: {
    der: Buffer;
    issuer: { text: string; der: Buffer; key: string };
    thisUpdate: Date;
    nextUpdate: Date | undefined;
    algorithm: AlgorithmIdentifier;
    authorityKeyId: string | undefined;
    crlNumber: string | undefined;
    delta: boolean;
    scope: CrlScope | undefined;
    unhandledCriticalExtensions: string[];
    tbs: Buffer;
    signature: Buffer;
    revoked: Map<string, number>;
    reasons: Map<string, number>;
  }) {
    this.der = fields.der;
    this.fingerprintSha256 = createHash('sha256').update(fields.der).digest('hex');
    this.issuer = fields.issuer.text;
    this.issuerDer = fields.issuer.der;
    this.issuerKey = fields.issuer.key;
    this.thisUpdate = fields.thisUpdate;
    this.nextUpdate = fields.nextUpdate;
    this.#algorithm = fields.algorithm;
    this.signatureAlgorithm = describeSignatureAlgorithm(fields.algorithm);
    this.authorityKeyId = fields.authorityKeyId;
    this.crlNumber = fields.crlNumber;
    this.delta = fields.delta;
    this.scope = fields.scope;
    this.unhandledCriticalExtensions = Object.freeze(fields.unhandledCriticalExtensions);
    this.#tbs = fields.tbs;
    this.#signature = fields.signature;
    this.#revoked = fields.revoked;
    this.#reasons = fields.reasons;
    this.revokedCount = fields.revoked.size;
  }

  /** The entry for this serial (lowercase hex as in ParsedCertificate.serialHex), if listed. */
  lookup(serialHex: string): RevokedEntry | undefined {
    const date = this.#revoked.get(serialHex);
    if (date === undefined) return undefined;
    const reason = this.#reasons.get(serialHex);
    return reason === undefined
      ? { revocationDate: new Date(date) }
      : { revocationDate: new Date(date), reason };
  }

  /** True when `issuer`'s key verifies this CRL's signature (memoized per issuer). */
  signatureVerifiesWith(issuer: ParsedCertificate): boolean {
    const known = this.#verified.get(issuer.fingerprintSha256);
    if (known !== undefined) return known;
    let ok: boolean;
    try {
      ok = verifySignature(this.#algorithm, this.#tbs, this.#signature, issuer.x509.publicKey);
    } catch {
      ok = false;
    }
    this.#verified.set(issuer.fingerprintSha256, ok);
    return ok;
  }
}

/** Verify `signature` over `data` with the algorithm an AlgorithmIdentifier names. */
export function verifySignature(
  algorithm: AlgorithmIdentifier,
  data: Buffer,
  signature: Buffer,
  key: KeyObject,
): boolean {
  const described = describeSignatureAlgorithm(algorithm);
  if (described.name === 'Ed25519' || described.name === 'Ed448') {
    return verify(null, data, key, signature);
  }
  if (described.hash === undefined) return false;
  if (algorithm.algorithmId === '1.2.840.113549.1.1.10') {
    const pss = pssParameters(algorithm);
    return verify(
      described.hash,
      data,
      { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: pss.saltLength },
      signature,
    );
  }
  if (key.asymmetricKeyType === 'rsa') {
    return verify(described.hash, data, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
  }
  return verify(described.hash, data, key, signature);
}

const parsedGiven = new WeakMap<Uint8Array, ParsedCrl>();

/** A CRL from DER or PEM ("X509 CRL"). Throws CERT_MALFORMED or LIMIT_EXCEEDED. */
export function readCrl(data: Uint8Array): ParsedCrl {
  const cached = parsedGiven.get(data);
  if (cached !== undefined) return cached;
  if (data.byteLength > AGENT_LIMITS.crlBytes * 2) {
    throw new HispError(
      'LIMIT_EXCEEDED',
      `A certificate revocation list file of ${data.byteLength} bytes is larger than accepted.`,
    );
  }
  let der: Buffer = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (der[0] !== 0x30) {
    const text = der.toString('latin1');
    const begin = text.indexOf('-----BEGIN X509 CRL-----');
    const end = text.indexOf('-----END X509 CRL-----', begin + 1);
    if (begin === -1 || end === -1) throw crlMalformed('it is neither DER nor PEM "X509 CRL"');
    const body = text.slice(begin + '-----BEGIN X509 CRL-----'.length, end).replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body)) throw crlMalformed('its PEM is not valid base64');
    der = Buffer.from(body, 'base64');
  }
  const crl = parseCrl(der);
  parsedGiven.set(data, crl);
  return crl;
}

/** A DER CertificateList. Throws CERT_MALFORMED, or LIMIT_EXCEEDED above AGENT_LIMITS.crlBytes. */
export function parseCrl(input: Uint8Array): ParsedCrl {
  if (input.byteLength > AGENT_LIMITS.crlBytes) {
    throw new HispError(
      'LIMIT_EXCEEDED',
      `A certificate revocation list of ${input.byteLength} bytes is larger than the ${AGENT_LIMITS.crlBytes} accepted.`,
    );
  }
  const der = Buffer.from(input); // private copy: cached CRLs must not change under us
  const outer = expectTag(readTlv(der, 0, der.byteLength, 'the CRL'), 0x30, 'the CRL');
  if (outer.end !== der.byteLength) throw crlMalformed('it has bytes after its end');
  const tbs = expectTag(
    readTlv(der, outer.valueStart, outer.end, 'tbsCertList'),
    0x30,
    'tbsCertList',
  );
  const outerAlg = expectTag(
    readTlv(der, tbs.end, outer.end, 'signatureAlgorithm'),
    0x30,
    'signatureAlgorithm',
  );
  const sigValue = expectTag(
    readTlv(der, outerAlg.end, outer.end, 'signatureValue'),
    0x03,
    'signatureValue',
  );
  if (sigValue.end !== outer.end) throw crlMalformed('it has extra fields after the signature');
  if (der[sigValue.valueStart] !== 0) throw crlMalformed('its signature has unused bits');

  let offset = tbs.valueStart;
  let field = readTlv(der, offset, tbs.end, 'tbsCertList');
  if (field.tag === 0x02) {
    const version = der.subarray(field.valueStart, field.end);
    if (version.byteLength !== 1 || version[0] !== 1) throw crlMalformed('its version is not v2');
    offset = field.end;
    field = readTlv(der, offset, tbs.end, 'the signature field');
  }
  const innerAlg = expectTag(field, 0x30, 'the signature field');
  if (
    !der.subarray(innerAlg.start, innerAlg.end).equals(der.subarray(outerAlg.start, outerAlg.end))
  ) {
    throw crlMalformed('the signature algorithm inside and outside the signed part differ');
  }
  const issuerTlv = expectTag(readTlv(der, innerAlg.end, tbs.end, 'issuer'), 0x30, 'issuer');
  const thisUpdateTlv = readTlv(der, issuerTlv.end, tbs.end, 'thisUpdate');
  const thisUpdate = readTime(der, thisUpdateTlv, 'thisUpdate');
  offset = thisUpdateTlv.end;
  let nextUpdate: Date | undefined;
  let revokedTlv: Tlv | undefined;
  let extensionsTlv: Tlv | undefined;
  while (offset < tbs.end) {
    const next = readTlv(der, offset, tbs.end, 'tbsCertList');
    if (
      (next.tag === 0x17 || next.tag === 0x18) &&
      nextUpdate === undefined &&
      revokedTlv === undefined
    ) {
      nextUpdate = readTime(der, next, 'nextUpdate');
    } else if (next.tag === 0x30 && revokedTlv === undefined && extensionsTlv === undefined) {
      revokedTlv = next;
    } else if (next.tag === 0xa0 && extensionsTlv === undefined) {
      extensionsTlv = next;
    } else {
      throw crlMalformed(`tbsCertList has an unexpected field (tag 0x${next.tag.toString(16)})`);
    }
    offset = next.end;
  }
  if (nextUpdate !== undefined && nextUpdate.getTime() < thisUpdate.getTime()) {
    throw crlMalformed('its nextUpdate is before its thisUpdate');
  }

  const issuer = parseName(der.subarray(issuerTlv.start, issuerTlv.end), 'CRL issuer');
  const algorithm = readAlgorithm(der.subarray(outerAlg.start, outerAlg.end));
  const unhandled: string[] = [];
  const revoked = new Map<string, number>();
  const reasons = new Map<string, number>();
  let indirectEntries = false;
  if (revokedTlv !== undefined) {
    indirectEntries = readRevoked(der, revokedTlv, revoked, reasons, unhandled);
  }
  const extensions =
    extensionsTlv === undefined ? undefined : readCrlExtensions(der, extensionsTlv);
  if (extensions !== undefined) unhandled.push(...extensions.unhandled);
  let scope = extensions?.scope;
  if (indirectEntries) {
    scope = { ...(scope ?? noScope()), indirect: true };
  }
  return new ParsedCrl({
    der,
    issuer,
    thisUpdate,
    nextUpdate,
    algorithm,
    authorityKeyId: extensions?.authorityKeyId,
    crlNumber: extensions?.crlNumber,
    delta: extensions?.delta ?? false,
    scope,
    unhandledCriticalExtensions: unhandled,
    tbs: der.subarray(tbs.start, tbs.end),
    signature: der.subarray(sigValue.valueStart + 1, sigValue.end),
    revoked,
    reasons,
  });
}

function noScope(): CrlScope {
  return {
    onlyUserCerts: false,
    onlyCACerts: false,
    onlySomeReasons: false,
    indirect: false,
    onlyAttributeCerts: false,
  };
}

function readAlgorithm(bytes: Buffer): AlgorithmIdentifier {
  const { reader, root } = readAsn1Bounded(
    bytes,
    { maxDepth: 8, maxElements: 64 },
    'the CRL signature algorithm',
    (m) => crlMalformed(m),
  );
  return readAlgorithmIdentifier(reader, root, 'the CRL signature algorithm');
}

/** Walks revokedCertificates; returns true when an entry names another issuer (indirect CRL). */
function readRevoked(
  der: Buffer,
  list: Tlv,
  revoked: Map<string, number>,
  reasons: Map<string, number>,
  unhandled: string[],
): boolean {
  let indirect = false;
  let offset = list.valueStart;
  while (offset < list.end) {
    const entry = expectTag(
      readTlv(der, offset, list.end, 'a revoked entry'),
      0x30,
      'a revoked entry',
    );
    const serial = expectTag(
      readTlv(der, entry.valueStart, entry.end, 'a revoked serial'),
      0x02,
      'a revoked serial',
    );
    const dateTlv = readTlv(der, serial.end, entry.end, 'a revocation date');
    const date = readTime(der, dateTlv, 'a revocation date');
    const key = serialKey(der, serial);
    revoked.set(key, date.getTime());
    if (dateTlv.end < entry.end) {
      const exts = expectTag(
        readTlv(der, dateTlv.end, entry.end, 'entry extensions'),
        0x30,
        'entry extensions',
      );
      if (exts.end !== entry.end) throw crlMalformed('a revoked entry has extra fields');
      let extOffset = exts.valueStart;
      while (extOffset < exts.end) {
        const ext = expectTag(
          readTlv(der, extOffset, exts.end, 'an entry extension'),
          0x30,
          'an entry extension',
        );
        const oid = expectTag(
          readTlv(der, ext.valueStart, ext.end, 'an entry extension id'),
          0x06,
          'an entry extension id',
        );
        let valueTlv = readTlv(der, oid.end, ext.end, 'an entry extension');
        let critical = false;
        if (valueTlv.tag === 0x01) {
          critical = der[valueTlv.valueStart] !== 0;
          valueTlv = readTlv(der, valueTlv.end, ext.end, 'an entry extension');
        }
        expectTag(valueTlv, 0x04, 'an entry extension value');
        const oidBytes = der.subarray(oid.valueStart, oid.end);
        if (oidBytes.equals(ENTRY_REASON_CODE)) {
          const enumerated = readTlv(der, valueTlv.valueStart, valueTlv.end, 'a reason code');
          if (enumerated.tag === 0x0a && enumerated.end - enumerated.valueStart === 1) {
            reasons.set(key, der[enumerated.valueStart] ?? 0);
          }
        } else if (oidBytes.equals(ENTRY_CERTIFICATE_ISSUER)) {
          indirect = true;
        } else if (!oidBytes.equals(ENTRY_INVALIDITY_DATE) && critical) {
          unhandled.push(`entry extension ${oidBytes.toString('hex')}`);
        }
        extOffset = ext.end;
      }
    }
    offset = entry.end;
  }
  return indirect;
}

interface CrlExtensions {
  authorityKeyId: string | undefined;
  crlNumber: string | undefined;
  delta: boolean;
  scope: CrlScope | undefined;
  unhandled: string[];
}

function readCrlExtensions(der: Buffer, wrapper: Tlv): CrlExtensions {
  const sequence = expectTag(
    readTlv(der, wrapper.valueStart, wrapper.end, 'crlExtensions'),
    0x30,
    'crlExtensions',
  );
  const result: CrlExtensions = {
    authorityKeyId: undefined,
    crlNumber: undefined,
    delta: false,
    scope: undefined,
    unhandled: [],
  };
  const seen = new Set<string>();
  let offset = sequence.valueStart;
  while (offset < sequence.end) {
    const tlv = readTlv(der, offset, sequence.end, 'a CRL extension');
    // Extension ::= SEQUENCE { extnID OBJECT IDENTIFIER, critical BOOLEAN DEFAULT FALSE,
    //                          extnValue OCTET STRING }
    const extension = readAsn1Bounded(
      der.subarray(tlv.start, tlv.end),
      CRL_EXTENSION_BOUNDS,
      'a CRL extension',
      (m) => crlMalformed(m),
    );
    const fields = extension.reader.fields(
      extension.reader.expect(extension.root, UNIVERSAL.SEQUENCE, 'Extension'),
      'Extension',
    );
    const id = extension.reader.oid(fields.next(UNIVERSAL.OBJECT_IDENTIFIER, 'extnID'), 'extnID');
    const criticalTlv = fields.optional(UNIVERSAL.BOOLEAN);
    const critical =
      criticalTlv !== undefined && extension.reader.content(criticalTlv).some((b) => b !== 0);
    const extnValue = extension.reader.stringBytes(
      fields.next(UNIVERSAL.OCTET_STRING, 'extnValue'),
    );
    fields.end();
    if (seen.has(id)) throw crlMalformed(`extension ${id} appears twice`);
    seen.add(id);
    const value = () =>
      readAsn1Bounded(extnValue, CRL_EXTENSION_BOUNDS, `CRL extension ${id}`, (m) =>
        crlMalformed(m),
      );
    try {
      switch (id) {
        case CRL_OID.authorityKeyIdentifier:
          result.authorityKeyId = readAuthorityKeyIdentifier(extnValue, CRL_EXTENSION_BOUNDS, (m) =>
            crlMalformed(m),
          );
          break;
        case CRL_OID.cRLNumber: {
          // CRLNumber ::= INTEGER (0..MAX)
          const { reader, root } = value();
          if (tagMatches(root, UNIVERSAL.INTEGER)) {
            result.crlNumber = Buffer.from(reader.content(root)).toString('hex');
          }
          break;
        }
        case CRL_OID.deltaCRLIndicator:
          result.delta = true;
          break;
        case CRL_OID.issuingDistributionPoint:
          result.scope = readIssuingDistributionPoint(value());
          break;
        case CRL_OID.freshestCRL:
        case CRL_OID.issuerAltName:
        case CRL_OID.authorityInfoAccess:
          break;
        default:
          if (critical) result.unhandled.push(id);
      }
    } catch (error) {
      if (error instanceof HispError) throw error;
      throw crlMalformed(`CRL extension ${id} is not well-formed`, error);
    }
    offset = tlv.end;
  }
  return result;
}

/** One CRL extension is a few dozen elements. */
const CRL_EXTENSION_BOUNDS: Asn1Bounds = { maxDepth: 16, maxElements: 4096 };

/**
 * ```asn
 * IssuingDistributionPoint ::= SEQUENCE {
 *   distributionPoint          [0] EXPLICIT DistributionPointName OPTIONAL,
 *   onlyContainsUserCerts      [1] IMPLICIT BOOLEAN DEFAULT FALSE,
 *   onlyContainsCACerts        [2] IMPLICIT BOOLEAN DEFAULT FALSE,
 *   onlySomeReasons            [3] IMPLICIT ReasonFlags OPTIONAL,
 *   indirectCRL                [4] IMPLICIT BOOLEAN DEFAULT FALSE,
 *   onlyContainsAttributeCerts [5] IMPLICIT BOOLEAN DEFAULT FALSE }
 * DistributionPointName ::= CHOICE {
 *   fullName [0] IMPLICIT GeneralNames, nameRelativeToCRLIssuer [1] IMPLICIT RDN }
 * ```
 * A flag whose first content octet is not zero (or that has none) is set: when in doubt,
 * the CRL covers less.
 */
function readIssuingDistributionPoint({
  reader,
  root,
}: ReturnType<typeof readAsn1Bounded>): CrlScope {
  const fields = reader.fields(
    reader.expect(root, UNIVERSAL.SEQUENCE, 'IssuingDistributionPoint'),
    'IssuingDistributionPoint',
  );
  const name = fields.optional(contextTag(0, true));
  const flag = (tagNumber: number): boolean => {
    const tlv = fields.optional(contextTag(tagNumber, false));
    return tlv !== undefined && reader.content(tlv)[0] !== 0;
  };
  const onlyUserCerts = flag(1);
  const onlyCACerts = flag(2);
  const onlySomeReasons = fields.optional(contextTag(3, false)) !== undefined;
  const indirect = flag(4);
  const onlyAttributeCerts = flag(5);
  fields.end();
  if (name !== undefined) readDistributionPointName(reader, name, 'issuingDistributionPoint');
  return { onlyUserCerts, onlyCACerts, onlySomeReasons, indirect, onlyAttributeCerts };
}

// ── Checking a certificate against a CRL ────────────────────────────────────────────────
export type CrlVerdict =
  | { readonly status: 'good'; readonly detail: string }
  | { readonly status: 'revoked'; readonly detail: string; readonly entry: RevokedEntry }
  | { readonly status: 'unusable'; readonly detail: string }
  | { readonly status: 'stale'; readonly detail: string };

/**
 * Whether `crl` (from `source`, for messages) answers for `cert`, issued by `issuer`, at
 * `at`: the CRL must be by the certificate's issuer (name, and AKI/SKI where both exist),
 * signed by the issuer's key with SHA-256 or stronger, the issuer allowed to sign CRLs
 * (cRLSign where it has a key usage), a complete CRL for this kind of certificate, and not
 * stale (its nextUpdate after `at`).
 */
export function checkCrl(
  crl: ParsedCrl,
  cert: ParsedCertificate,
  issuer: ParsedCertificate,
  at: Date,
  source: string,
): CrlVerdict {
  const from = `the CRL from ${source}`;
  const unusable = (why: string): CrlVerdict => ({ status: 'unusable', detail: `${from} ${why}` });
  if (!(crl.issuerDer.equals(cert.issuerDer) || crl.issuerKey === cert.issuerKey)) {
    return unusable(
      `is issued by "${crl.issuer}", not by the certificate's issuer "${cert.issuer}"`,
    );
  }
  if (!(crl.issuerDer.equals(issuer.subjectDer) || crl.issuerKey === issuer.subjectKey)) {
    return unusable(`is issued by "${crl.issuer}", not by ${describeCertificate(issuer)}`);
  }
  if (
    crl.authorityKeyId !== undefined &&
    issuer.subjectKeyId !== undefined &&
    crl.authorityKeyId !== issuer.subjectKeyId
  ) {
    return unusable(`names key ${crl.authorityKeyId}, not the issuer's key ${issuer.subjectKeyId}`);
  }
  if (issuer.keyUsage !== undefined && !issuer.keyUsage.has('cRLSign')) {
    return unusable(
      `cannot be trusted: its issuer ${describeCertificate(issuer)} has no cRLSign key usage`,
    );
  }
  if (isWeakSignatureAlgorithm(crl.signatureAlgorithm)) {
    return unusable(`is signed with ${crl.signatureAlgorithm.name}, which is no longer accepted`);
  }
  if (!crl.signatureVerifiesWith(issuer)) {
    return unusable(
      `has a signature that does not verify with the key of ${describeCertificate(issuer)}`,
    );
  }
  if (crl.unhandledCriticalExtensions.length > 0) {
    return unusable(
      `has critical extensions Sealpost does not process (${crl.unhandledCriticalExtensions.join(', ')})`,
    );
  }
  if (crl.delta) return unusable('is a delta CRL, which does not answer on its own');
  const scope = crl.scope;
  if (scope !== undefined) {
    const isCa = cert.basicConstraints?.ca === true;
    if (scope.indirect) return unusable('is an indirect CRL, which Sealpost does not use');
    if (scope.onlySomeReasons) return unusable('covers only some revocation reasons');
    if (scope.onlyAttributeCerts) return unusable('covers only attribute certificates');
    if (scope.onlyUserCerts && isCa) return unusable('covers only end-entity certificates');
    if (scope.onlyCACerts && !isCa) return unusable('covers only CA certificates');
  }
  if (crl.nextUpdate !== undefined && crl.nextUpdate.getTime() <= at.getTime()) {
    return {
      status: 'stale',
      detail: `${from} is stale: its next update was due ${crl.nextUpdate.toISOString()} (checked at ${at.toISOString()})`,
    };
  }
  const entry = crl.lookup(cert.serialHex);
  if (entry !== undefined && entry.reason !== REASON_REMOVE_FROM_CRL) {
    return {
      status: 'revoked',
      entry,
      detail: `${from} lists it as revoked on ${entry.revocationDate.toISOString()}${entry.reason === undefined ? '' : ` (reason ${reasonName(entry.reason)})`}`,
    };
  }
  return {
    status: 'good',
    detail: `not listed in ${from} (issued ${crl.thisUpdate.toISOString()})`,
  };
}

const REASON_NAMES = [
  'unspecified',
  'keyCompromise',
  'cACompromise',
  'affiliationChanged',
  'superseded',
  'cessationOfOperation',
  'certificateHold',
  'unused',
  'removeFromCRL',
  'privilegeWithdrawn',
  'aACompromise',
];

function reasonName(reason: number): string {
  return REASON_NAMES[reason] ?? String(reason);
}

// ── CrlCache ─────────────────────────────────────────────────────────────────────────────
export interface CrlCacheOptions {
  /** The clock (tests inject one). */
  readonly now?: () => Date;
  /** Entries kept at most (oldest dropped first). Default 256. */
  readonly maxEntries?: number;
  /** DER bytes kept at most over all entries. Default 64 MiB. */
  readonly maxBytes?: number;
  /** How long a CRL without nextUpdate is kept. Default 1 hour. */
  readonly defaultTtlMs?: number;
  /** How long a failed fetch (or unusable CRL) for a URL is remembered, so a dead or hostile
   * CRL server costs one timeout per period, not one per message (risk-12). Default 5 min. */
  readonly failureTtlMs?: number;
  /** A second level that survives restarts (the profile's database); CRLs kept as DER. */
  readonly backing?: CacheBacking;
}

interface CacheEntry {
  readonly crl: ParsedCrl;
  readonly expires: number;
}

/**
 * Revocation answers by distribution-point URL, kept until the CRL's nextUpdate (in memory for
 * now; the encrypted store comes later). The cache does not vouch for a CRL: callers check it
 * against the issuer on every use (checkCrl; the signature check is memoized per issuer).
 */
export class CrlCache {
  readonly #now: () => Date;
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  readonly #defaultTtlMs: number;
  readonly #failureTtlMs: number;
  readonly #entries = new Map<string, CacheEntry>();
  readonly #failures: ExpiringMap<string>;
  readonly #backing: CacheBacking | undefined;
  #bytes = 0;

  constructor(options: CrlCacheOptions = {}) {
    this.#now = options.now ?? (() => new Date());
    this.#maxEntries = options.maxEntries ?? 256;
    this.#maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
    this.#defaultTtlMs = options.defaultTtlMs ?? 60 * 60 * 1000;
    this.#failureTtlMs = options.failureTtlMs ?? 5 * 60 * 1000;
    this.#backing = options.backing;
    const now = this.#now;
    this.#failures = new ExpiringMap(this.#maxEntries, () => now().getTime());
  }

  now(): Date {
    return this.#now();
  }

  /** The CRL fetched from `url`, while it is before its nextUpdate. */
  get(url: string): ParsedCrl | undefined {
    const entry = this.#entries.get(url);
    if (entry === undefined) return this.#fromBacking(url);
    if (entry.expires <= this.#now().getTime()) {
      this.delete(url);
      return undefined;
    }
    return entry.crl;
  }

  /** A CRL kept by an earlier run: parsed again (its signature was checked when it was used). */
  #fromBacking(url: string): ParsedCrl | undefined {
    const stored = this.#backing?.get(url);
    if (stored === undefined) return undefined;
    try {
      const crl = parseCrl(stored.value);
      this.#remember(url, crl, stored.expires);
      return crl;
    } catch {
      return undefined;
    }
  }

  /** Keep `crl` for `url` until its nextUpdate; a CRL already past it is not kept. */
  set(url: string, crl: ParsedCrl): void {
    const expires = crl.nextUpdate?.getTime() ?? this.#now().getTime() + this.#defaultTtlMs;
    if (this.#remember(url, crl, expires)) this.#backing?.set(url, crl.der, expires);
  }

  #remember(url: string, crl: ParsedCrl, expires: number): boolean {
    const now = this.#now().getTime();
    this.delete(url);
    this.#failures.delete(url);
    if (expires <= now || crl.der.byteLength > this.#maxBytes) return false;
    this.#entries.set(url, { crl, expires });
    this.#bytes += crl.der.byteLength;
    while (this.#entries.size > this.#maxEntries || this.#bytes > this.#maxBytes) {
      const oldest = this.#entries.keys().next();
      if (oldest.done === true) break;
      this.delete(oldest.value);
    }
    return true;
  }

  /** A recent failure for `url` (why its CRL could not be used), if still remembered. */
  failure(url: string): string | undefined {
    return this.#failures.get(url);
  }

  /** Remember that `url` gave no usable CRL, for failureTtlMs. */
  setFailure(url: string, detail: string): void {
    if (this.#failureTtlMs <= 0) return;
    this.#failures.set(url, detail, this.#now().getTime() + this.#failureTtlMs);
  }

  delete(url: string): void {
    const entry = this.#entries.get(url);
    if (entry === undefined) return;
    this.#entries.delete(url);
    this.#bytes -= entry.crl.der.byteLength;
  }

  clear(): void {
    this.#entries.clear();
    this.#failures.clear();
    this.#bytes = 0;
  }

  get size(): number {
    return this.#entries.size;
  }
}
