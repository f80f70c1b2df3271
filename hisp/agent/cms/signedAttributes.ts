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
import { type BerReader, type Tlv, tagMatches, UNIVERSAL } from '../../asn1/ber.js';
import {
  contextIdentifier,
  DerTag,
  derOrder,
  octetString,
  oid,
  sequence,
  setOf,
  tlv,
} from '../../asn1/der.js';
import { AGENT_LIMITS } from '../limits.js';
import type { ContentCipher } from '../types.js';
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
  readonly setDer: Uint8Array;
  /** The same with the [0] IMPLICIT tag (0xA0): the bytes that go into the SignerInfo. */
  readonly implicitDer: Uint8Array;
}

function attribute(type: string, ...values: Uint8Array[]): Uint8Array {
  return sequence(oid(type), setOf(...values));
}

export function encodeSignedAttributes(input: SignedAttributesInput): EncodedSignedAttributes {
  const capabilities = sequence(
    ...input.capabilities.map((cipher) => sequence(oid(CIPHER_OID[cipher]))),
  );
  // Listed in RFC 5652 / RFC 8551 order; DER then sorts them by encoding.
  const attributes = derOrder([
    attribute(SIGNED_OID.contentType, oid(input.contentType)),
    attribute(SIGNED_OID.messageDigest, octetString(input.messageDigest)),
    attribute(SIGNED_OID.signingTime, encodeTime(input.signingTime)),
    attribute(SIGNED_OID.smimeCapabilities, capabilities),
  ]);
  const setDer = tlv(DerTag.SET, ...attributes);
  const implicitDer = tlv(contextIdentifier(0, true), ...attributes);
  return { attributes, setDer, implicitDer };
}

// ── Time (RFC 5652 §11.3: UTCTime for 1950–2049, GeneralizedTime otherwise) ────────────────

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

export function encodeTime(date: Date): Uint8Array {
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
    return tlv(DerTag.UTCTime, Buffer.from(pad(year % 100, 2) + rest, 'latin1'));
  }
  return tlv(DerTag.GeneralizedTime, Buffer.from(pad(year, 4) + rest, 'latin1'));
}

const UTC_TIME = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?Z$/;
const GENERALIZED_TIME = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d{1,9}))?Z$/;

/** UTCTime (YYMMDDHHMM[SS]Z) or GeneralizedTime (YYYYMMDDHHMMSS[.f]Z), UTC only. */
export function decodeTime(reader: BerReader, time: Tlv): Date {
  const utc = tagMatches(time, UNIVERSAL.UTCTime);
  if (!utc && !tagMatches(time, UNIVERSAL.GeneralizedTime)) {
    throw reader.malformed('signingTime is neither UTCTime nor GeneralizedTime');
  }
  const content = reader.content(time);
  if (content.byteLength > 32) throw reader.malformed('signingTime too long');
  const text = Buffer.from(content).toString('latin1');
  let parts: number[];
  let millis = 0;
  if (utc) {
    const m = UTC_TIME.exec(text);
    if (!m) throw reader.malformed('malformed UTCTime in signingTime');
    const yy = Number(m[1]);
    parts = [yy < 50 ? 2000 + yy : 1900 + yy, ...m.slice(2, 6).map(Number), Number(m[6] ?? 0)];
  } else {
    const m = GENERALIZED_TIME.exec(text);
    if (!m) throw reader.malformed('malformed GeneralizedTime in signingTime');
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
    throw reader.malformed('signingTime is not a real date');
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
export function readSignedAttributes(reader: BerReader, attrs: Tlv): ReadSignedAttributes {
  const types: string[] = [];
  const problems: string[] = [];
  let contentType: string | undefined;
  let messageDigest: Uint8Array | undefined;
  let signingTime: Date | undefined;
  const elements = reader.childList(attrs, 'signed attributes', AGENT_LIMITS.signedAttributes);
  if (elements.length === 0) throw reader.malformed('empty signed attributes');
  for (const element of elements) {
    const [typeTlv, valuesTlv] = reader.fieldList(
      reader.expect(element, UNIVERSAL.SEQUENCE, 'Attribute'),
      'Attribute',
      0,
      2,
    );
    const type = reader.oid(typeTlv, 'attrType');
    const values = reader.expect(valuesTlv, UNIVERSAL.SET, 'attrValues');
    const name = SINGLE_VALUED.get(type);
    if (name !== undefined && types.includes(type)) problems.push(`${name} appears more than once`);
    types.push(type);
    if (name === undefined) continue;
    const [value, ...more] = reader.childList(
      values,
      `${name} values`,
      AGENT_LIMITS.signedAttributes,
    );
    if (value === undefined) throw reader.malformed(`${name} has no value`);
    if (more.length > 0) problems.push(`${name} has more than one value`);
    switch (type) {
      case SIGNED_OID.contentType:
        contentType ??= reader.oid(value, 'contentType');
        break;
      case SIGNED_OID.messageDigest:
        messageDigest ??= reader.content(
          reader.expect(value, { ...UNIVERSAL.OCTET_STRING, constructed: false }, 'messageDigest'),
        );
        break;
      default:
        signingTime ??= decodeTime(reader, value);
    }
  }
  if (contentType === undefined) problems.push('the contentType attribute is missing');
  if (messageDigest === undefined) problems.push('the messageDigest attribute is missing');
  return { types, contentType, messageDigest, signingTime, problems };
}
