/**
 * Signed attributes of a CMS SignerInfo (RFC 5652 §5.3, §11; RFC 8551 §2.5): built in DER
 * order for signing, read back (bounded) for verification.
 *
 * ```asn1
 * SignedAttributes ::= SET SIZE (1..MAX) OF Attribute
 *
 * Attribute ::= SEQUENCE {
 *   attrType   OBJECT IDENTIFIER,
 *   attrValues SET OF AttributeValue }
 *
 * ContentType   ::= OBJECT IDENTIFIER                 -- id-contentType
 * MessageDigest ::= OCTET STRING                      -- id-messageDigest
 * SigningTime   ::= Time                              -- id-signingTime
 * Time ::= CHOICE { utcTime UTCTime, generalTime GeneralizedTime }
 *
 * SMIMECapabilities ::= SEQUENCE OF SMIMECapability   -- smimeCapabilities
 * SMIMECapability ::= SEQUENCE {
 *   capabilityID OBJECT IDENTIFIER,
 *   parameters   ANY DEFINED BY capabilityID OPTIONAL }
 * ```
 */
import { AGENT_LIMITS } from '../limits.js';
import type { ContentCipher } from '../types.js';
import {
  type BerReader,
  TAG,
  type Tlv,
  der,
  encodeOid,
  expectTag,
  malformed,
  octetString,
  sequence,
  setOf,
  sortDer,
} from './signedDer.js';
import { CIPHER_OID, SIGNED_OID } from './signedOids.js';

/**
 * What Sealpost announces it can decrypt, most preferred first (RFC 8551 §2.5.2). AES-256-CBC
 * leads because it is the Direct default (DESIGN.md §4); the AES-GCM entries tell peers
 * that AuthEnvelopedData is welcome too. Parameters are absent for all of them.
 */
export const SMIME_CAPABILITIES: readonly ContentCipher[] = [
  'aes256-cbc',
  'aes128-cbc',
  'aes256-gcm',
  'aes128-gcm',
  'aes192-cbc',
  'aes192-gcm',
];

export interface SignedAttributesInput {
  readonly contentType: string;
  readonly messageDigest: Uint8Array;
  readonly signingTime: Date;
  readonly capabilities: readonly ContentCipher[];
}

export interface EncodedSignedAttributes {
  /** Each Attribute's DER, in DER (sorted) order. */
  readonly attributes: readonly Uint8Array[];
  /** The SET OF (tag 0x31): the bytes the signature covers (RFC 5652 §5.4). */
  readonly setDer: Buffer;
  /** The same with the [0] IMPLICIT tag (0xA0): the bytes that go into the SignerInfo. */
  readonly implicitDer: Buffer;
}

function attribute(type: string, ...values: Uint8Array[]): Buffer {
  return sequence(encodeOid(type), setOf(values));
}

export function encodeSignedAttributes(input: SignedAttributesInput): EncodedSignedAttributes {
  const capabilities = sequence(
    ...input.capabilities.map((cipher) => sequence(encodeOid(CIPHER_OID[cipher]))),
  );
  // Listed in RFC 5652 / RFC 8551 order; DER then sorts them by encoding.
  const attributes = sortDer([
    attribute(SIGNED_OID.contentType, encodeOid(input.contentType)),
    attribute(SIGNED_OID.messageDigest, octetString(input.messageDigest)),
    attribute(SIGNED_OID.signingTime, encodeTime(input.signingTime)),
    attribute(SIGNED_OID.smimeCapabilities, capabilities),
  ]);
  const setDer = der(TAG.set, ...attributes);
  const implicitDer = Buffer.from(setDer);
  implicitDer[0] = TAG.context0;
  return { attributes, setDer, implicitDer };
}

// ── Time (RFC 5652 §11.3: UTCTime for 1950–2049, GeneralizedTime otherwise) ────────────────

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

export function encodeTime(date: Date): Buffer {
  if (Number.isNaN(date.getTime())) throw new RangeError('signingTime is not a valid date');
  const year = date.getUTCFullYear();
  const rest =
    pad(date.getUTCMonth() + 1, 2) +
    pad(date.getUTCDate(), 2) +
    pad(date.getUTCHours(), 2) +
    pad(date.getUTCMinutes(), 2) +
    pad(date.getUTCSeconds(), 2) +
    'Z';
  if (year >= 1950 && year < 2050) {
    return der(TAG.utcTime, Buffer.from(pad(year % 100, 2) + rest, 'latin1'));
  }
  return der(TAG.generalizedTime, Buffer.from(pad(year, 4) + rest, 'latin1'));
}

const UTC_TIME = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?Z$/;
const GENERALIZED_TIME = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d{1,9}))?Z$/;

/** UTCTime (YYMMDDHHMM[SS]Z) or GeneralizedTime (YYYYMMDDHHMMSS[.f]Z), UTC only. */
export function decodeTime(reader: BerReader, tlv: Tlv): Date {
  if (tlv.tag !== TAG.utcTime && tlv.tag !== TAG.generalizedTime) {
    throw malformed('signingTime is neither UTCTime nor GeneralizedTime');
  }
  const content = reader.content(tlv);
  if (content.byteLength > 32) throw malformed('signingTime too long');
  const text = Buffer.from(content).toString('latin1');
  let parts: number[];
  let millis = 0;
  if (tlv.tag === TAG.utcTime) {
    const m = UTC_TIME.exec(text);
    if (!m) throw malformed('malformed UTCTime in signingTime');
    const yy = Number(m[1]);
    parts = [yy < 50 ? 2000 + yy : 1900 + yy, ...m.slice(2, 6).map(Number), Number(m[6] ?? 0)];
  } else {
    const m = GENERALIZED_TIME.exec(text);
    if (!m) throw malformed('malformed GeneralizedTime in signingTime');
    parts = m.slice(1, 7).map(Number);
    millis = m[7] === undefined ? 0 : Math.floor(Number(`0.${m[7]}`) * 1000);
  }
  const [year = 0, month = 1, day = 1, hour = 0, minute = 0, second = 0] = parts;
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second, millis));
  if (
    month < 1 ||
    month > 12 ||
    date.getUTCDate() !== day ||
    hour > 23 ||
    minute > 59 ||
    second > 60
  ) {
    throw malformed('signingTime is not a real date');
  }
  return date;
}

// ── Reading ────────────────────────────────────────────────────────────────────────────────

export interface ReadSignedAttributes {
  /** Every attribute type, in the order received. */
  readonly types: readonly string[];
  readonly contentType: string | undefined;
  readonly messageDigest: Uint8Array | undefined;
  readonly signingTime: Date | undefined;
  /**
   * What RFC 5652 §5.3/§11 forbids but is not a parse failure: a missing or repeated
   * contentType/messageDigest, several values where one is allowed. The signature is not
   * accepted when any is present.
   */
  readonly problems: readonly string[];
}

const SINGLE_VALUED = new Map<string, string>([
  [SIGNED_OID.contentType, 'contentType'],
  [SIGNED_OID.messageDigest, 'messageDigest'],
  [SIGNED_OID.signingTime, 'signingTime'],
]);

/**
 * Reads the [0] IMPLICIT SignedAttributes element of a SignerInfo.
 * @throws HispError LIMIT_EXCEEDED beyond AGENT_LIMITS.signedAttributes, CMS_MALFORMED when broken.
 */
export function readSignedAttributes(
  reader: BerReader,
  tlv: Tlv,
  depth: number,
): ReadSignedAttributes {
  const types: string[] = [];
  const problems: string[] = [];
  let contentType: string | undefined;
  let messageDigest: Uint8Array | undefined;
  let signingTime: Date | undefined;
  const elements = reader.children(tlv, depth, AGENT_LIMITS.signedAttributes, 'signed attributes');
  if (elements.length === 0) throw malformed('empty signed attributes');
  for (const element of elements) {
    const [typeTlv, valuesTlv, ...extra] = reader.fields(
      expectTag(element, TAG.sequence, 'Attribute'),
      depth + 1,
      2,
      'Attribute',
    );
    if (extra.length > 0) throw malformed('Attribute with extra fields');
    const type = reader.oid(expectTag(typeTlv, TAG.oid, 'attrType'));
    const values = expectTag(valuesTlv, TAG.set, 'attrValues');
    const name = SINGLE_VALUED.get(type);
    if (name !== undefined && types.includes(type)) problems.push(`${name} appears more than once`);
    types.push(type);
    if (name === undefined) continue;
    const [value, ...more] = reader.children(
      values,
      depth + 2,
      AGENT_LIMITS.signedAttributes,
      `${name} values`,
    );
    if (value === undefined) throw malformed(`${name} has no value`);
    if (more.length > 0) problems.push(`${name} has more than one value`);
    switch (type) {
      case SIGNED_OID.contentType:
        contentType ??= reader.oid(expectTag(value, TAG.oid, 'contentType'));
        break;
      case SIGNED_OID.messageDigest:
        messageDigest ??= reader.content(expectTag(value, TAG.octetString, 'messageDigest'));
        break;
      default:
        signingTime ??= decodeTime(reader, value);
    }
  }
  if (contentType === undefined) problems.push('the contentType attribute is missing');
  if (messageDigest === undefined) problems.push('the messageDigest attribute is missing');
  return { types, contentType, messageDigest, signingTime, problems };
}
