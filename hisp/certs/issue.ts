/**
 * A minimal X.509 v3 issuer (RFC 5280) for the demo PKI `sealpost demo` creates at run time
 * without OpenSSL: one self-signed trust anchor and, per practice, a Direct certificate that
 * signs and encrypts (address-bound through SAN rfc822Name or domain-bound through SAN
 * dNSName, DESIGN.md §4).
 *
 * What it writes, and nothing more:
 * - version 3, a positive serial (random 16 octets unless given), sha256WithRSAEncryption;
 * - names as an RDNSequence, one attribute per RDN, O then CN, as UTF8String; the issuer name
 *   is copied byte for byte from the issuer certificate's subject (so names chain exactly);
 * - validity as UTCTime before 2050 and GeneralizedTime from 2050 on (RFC 5280 §4.1.2.5),
 *   whole seconds;
 * - extensions: basicConstraints (critical; cA with pathLenConstraint 0 for a CA under
 *   another CA), keyUsage (critical; CA keyCertSign + cRLSign, end entity digitalSignature +
 *   keyEncipherment), extKeyUsage emailProtection (end entities), subjectAltName (when there
 *   are names), subjectKeyIdentifier (RFC 5280 §4.2.1.2 method 1: SHA-1 of the
 *   subjectPublicKey BIT STRING value) and authorityKeyIdentifier (the issuer's SKI; the own
 *   SKI when self-signed).
 *
 * RSA keys only. Nothing is written to disk and nothing is logged.
 */
import {
  createHash,
  createPublicKey,
  generateKeyPair,
  randomBytes,
  sign,
  type KeyObject,
} from 'node:crypto';
import { promisify } from 'node:util';
import { HispError } from '../api/errors.js';
import { BerReader, UNIVERSAL } from '../asn1/ber.js';
import {
  DerTag,
  algorithmIdentifier,
  concat,
  contextIdentifier,
  integer,
  nullValue,
  octetString,
  oid,
  sequence,
  setOf,
  tlv,
} from '../asn1/der.js';
import { normalizeDomain, type ParsedCertificate } from './certificate.js';
import { EKU_EMAIL_PROTECTION } from './policy.js';

const EKU_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';

const generateKeyPairAsync = promisify(generateKeyPair);

const OIDS = {
  sha256WithRSAEncryption: '1.2.840.113549.1.1.11',
  commonName: '2.5.4.3',
  organizationName: '2.5.4.10',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
} as const;

/** KeyUsage bit numbers (RFC 5280 §4.2.1.3). */
const KU = {
  digitalSignature: 0,
  keyEncipherment: 2,
  keyCertSign: 5,
  cRLSign: 6,
} as const;

const HOUR = 60 * 60 * 1000;
const YEAR = 365 * 24 * HOUR;
/** RFC 5280 §4.1.2.2: at most 20 octets. */
const MAX_SERIAL_OCTETS = 20;
/** Limits of what this issuer writes (bounds on caller input, not on X.509). */
export const ISSUE_LIMITS = {
  nameChars: 64,
  altNames: 100,
  minRsaBits: 2048,
  maxRsaBits: 8192,
} as const;

/** A new RSA private key (public exponent 65537). Its public half comes with it. */
export async function generateKey(bits = 2048): Promise<KeyObject> {
  if (
    !Number.isSafeInteger(bits) ||
    bits < ISSUE_LIMITS.minRsaBits ||
    bits > ISSUE_LIMITS.maxRsaBits
  ) {
    throw new HispError(
      'BAD_REQUEST',
      `An RSA key must have ${ISSUE_LIMITS.minRsaBits} to ${ISSUE_LIMITS.maxRsaBits} bits.`,
    );
  }
  const { privateKey } = await generateKeyPairAsync('rsa', {
    modulusLength: bits,
    publicExponent: 0x10001,
  });
  return privateKey;
}

export interface IssueInput {
  readonly subject: { readonly commonName: string; readonly organization?: string };
  /** The issuing CA and its private key; absent = self-signed by `key`. */
  readonly issuer?: { readonly cert: ParsedCertificate; readonly key: KeyObject };
  /** The subject's private key; its public half goes in the certificate. */
  readonly key: KeyObject;
  /** A CA certificate: cA, keyCertSign + cRLSign (pathLenConstraint 0 under another CA). */
  readonly ca?: boolean;
  /** SAN rfc822Name: the certificate is address-bound. */
  readonly email?: readonly string[];
  /** SAN dNSName: the certificate is domain-bound. */
  readonly dnsNames?: readonly string[];
  /** An end entity's purpose: a Direct certificate (emailProtection, the default) or a TLS server (serverAuth). */
  readonly purpose?: 'email' | 'tls-server';
  /** Default: now − 1 hour. */
  readonly notBefore?: Date;
  /** Default: 2 years (a CA: 10 years) after now, or after `notBefore` when it is given. */
  readonly notAfter?: Date;
  /** Default: random 16 octets, positive. */
  readonly serial?: bigint;
}

/** A DER X.509 v3 certificate for `input`, signed with sha256WithRSAEncryption. */
export function issueCertificate(input: IssueInput): Buffer {
  const ca = input.ca === true;
  const subjectKey = rsaPrivateKey(input.key, 'The subject key');
  const spki = createPublicKey(subjectKey).export({ type: 'spki', format: 'der' });
  const ski = subjectKeyIdentifier(spki);

  let issuerName: Uint8Array;
  let issuerKey: KeyObject;
  let authorityKeyId: Buffer | undefined;
  if (input.issuer === undefined) {
    issuerName = encodeName(input.subject);
    issuerKey = subjectKey;
    authorityKeyId = ski;
  } else {
    const { cert } = input.issuer;
    issuerKey = rsaPrivateKey(input.issuer.key, 'The issuer key');
    if (cert.basicConstraints?.ca !== true) {
      throw new HispError('BAD_REQUEST', `The issuer "${cert.subject}" is not a CA certificate.`);
    }
    if (cert.keyUsage !== undefined && !cert.keyUsage.has('keyCertSign')) {
      throw new HispError('BAD_REQUEST', `The issuer "${cert.subject}" may not sign certificates.`);
    }
    const issuerSpki = createPublicKey(issuerKey).export({ type: 'spki', format: 'der' });
    if (!issuerSpki.equals(cert.x509.publicKey.export({ type: 'spki', format: 'der' }))) {
      throw new HispError(
        'KEY_CERT_MISMATCH',
        `The issuer key does not belong to the issuer certificate "${cert.subject}".`,
      );
    }
    issuerName = cert.subjectDer;
    authorityKeyId =
      cert.subjectKeyId === undefined ? undefined : Buffer.from(cert.subjectKeyId, 'hex');
  }

  const start = input.notBefore ?? new Date();
  const notBefore = input.notBefore ?? new Date(start.getTime() - HOUR);
  const notAfter = input.notAfter ?? new Date(start.getTime() + (ca ? 10 : 2) * YEAR);
  if (!validDate(notBefore) || !validDate(notAfter) || notAfter.getTime() <= notBefore.getTime()) {
    throw new HispError('BAD_REQUEST', 'The validity must end after it starts (years 1950–9999).');
  }

  const extensions: Uint8Array[] = [
    extension(
      OIDS.basicConstraints,
      true,
      ca
        ? sequence(tlv(DerTag.BOOLEAN, Uint8Array.of(0xff)), ...(input.issuer ? [integer(0)] : []))
        : sequence(),
    ),
    extension(
      OIDS.keyUsage,
      true,
      keyUsageBits(ca ? [KU.keyCertSign, KU.cRLSign] : [KU.digitalSignature, KU.keyEncipherment]),
    ),
  ];
  if (!ca) {
    const eku = input.purpose === 'tls-server' ? EKU_SERVER_AUTH : EKU_EMAIL_PROTECTION;
    extensions.push(extension(OIDS.extKeyUsage, false, sequence(oid(eku))));
  }
  const altNames = subjectAltNames(input.email ?? [], input.dnsNames ?? []);
  if (altNames.length > 0) {
    extensions.push(extension(OIDS.subjectAltName, false, sequence(...altNames)));
  }
  extensions.push(extension(OIDS.subjectKeyIdentifier, false, octetString(ski)));
  if (authorityKeyId !== undefined) {
    extensions.push(
      extension(
        OIDS.authorityKeyIdentifier,
        false,
        sequence(tlv(contextIdentifier(0, false), authorityKeyId)),
      ),
    );
  }

  const signatureAlgorithm = algorithmIdentifier(OIDS.sha256WithRSAEncryption, nullValue());
  const tbs = sequence(
    tlv(contextIdentifier(0, true), integer(2)), // version v3
    serialNumber(input.serial),
    signatureAlgorithm,
    issuerName,
    sequence(encodeTime(notBefore), encodeTime(notAfter)),
    encodeName(input.subject),
    spki,
    tlv(contextIdentifier(3, true), sequence(...extensions)),
  );
  const signature = sign('sha256', tbs, issuerKey);
  return Buffer.from(
    sequence(tbs, signatureAlgorithm, tlv(DerTag.BIT_STRING, Uint8Array.of(0), signature)),
  );
}

/**
 * RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING's value (without the
 * tag, length and unused-bits octet), from a DER SubjectPublicKeyInfo.
 */
export function subjectKeyIdentifier(spki: Uint8Array): Buffer {
  const reader = new BerReader(spki, { der: true, malformedCode: 'KEY_MALFORMED', what: 'key' });
  const [, bits] = reader.fieldList(reader.root(), 'SubjectPublicKeyInfo', 2, 2);
  const content = reader.content(reader.expect(bits, UNIVERSAL.BIT_STRING, 'subjectPublicKey'));
  if (content[0] !== 0) throw reader.malformed('subjectPublicKey has unused bits');
  return createHash('sha1').update(content.subarray(1)).digest();
}

function rsaPrivateKey(key: KeyObject, what: string): KeyObject {
  if (key?.type !== 'private' || key.asymmetricKeyType !== 'rsa') {
    throw new HispError('BAD_REQUEST', `${what} must be an RSA private key.`);
  }
  return key;
}

function validDate(date: Date): boolean {
  const year = date.getUTCFullYear();
  return !Number.isNaN(date.getTime()) && year >= 1950 && year <= 9999;
}

function serialNumber(serial: bigint | undefined): Uint8Array {
  if (serial === undefined) {
    const octets = randomBytes(16);
    // Positive, and exactly 16 octets: top bit clear, next bit set.
    octets[0] = ((octets[0] ?? 0) & 0x7f) | 0x40;
    return tlv(DerTag.INTEGER, octets);
  }
  const encoded = integer(serial);
  if (serial <= 0n || encoded.byteLength - 2 > MAX_SERIAL_OCTETS) {
    throw new HispError('BAD_REQUEST', 'A serial number must be positive and at most 20 octets.');
  }
  return encoded;
}

/** RDNSequence: O then CN, one AttributeTypeAndValue per RDN, UTF8String values. */
function encodeName(subject: IssueInput['subject']): Uint8Array {
  const rdns: Uint8Array[] = [];
  if (subject.organization !== undefined) {
    rdns.push(rdn(OIDS.organizationName, nameValue(subject.organization, 'organization')));
  }
  rdns.push(rdn(OIDS.commonName, nameValue(subject.commonName, 'common name')));
  return sequence(...rdns);
}

function rdn(type: string, value: string): Uint8Array {
  return setOf(sequence(oid(type), tlv(DerTag.UTF8String, Buffer.from(value, 'utf8'))));
}

function nameValue(value: string, what: string): string {
  const trimmed = typeof value === 'string' ? value.trim() : '';
  // ub-common-name and ub-organization-name are 64 (RFC 5280 Appendix A).
  if (trimmed === '' || [...trimmed].length > ISSUE_LIMITS.nameChars || /\p{Cc}/u.test(trimmed)) {
    throw new HispError(
      'BAD_REQUEST',
      `The ${what} must be 1 to ${ISSUE_LIMITS.nameChars} characters, without control characters.`,
    );
  }
  return trimmed;
}

/** GeneralNames: rfc822Name [1] and dNSName [2], IA5String, domains in IDNA (A-label) form. */
function subjectAltNames(email: readonly string[], dnsNames: readonly string[]): Uint8Array[] {
  if (email.length + dnsNames.length > ISSUE_LIMITS.altNames) {
    throw new HispError('BAD_REQUEST', `At most ${ISSUE_LIMITS.altNames} alternative names.`);
  }
  const names: Uint8Array[] = [];
  for (const address of email) {
    const at = address.lastIndexOf('@');
    const local = address.slice(0, at);
    const domain = at > 0 ? normalizeDomain(address.slice(at + 1)) : undefined;
    // The local part stays as given (RFC 5280 §4.2.1.6: rfc822Name is an RFC 5321 Mailbox).
    if (domain === undefined || !/^[\x21-\x7e]+$/.test(local) || local.includes('@')) {
      throw new HispError('BAD_REQUEST', 'An e-mail name must be an ASCII address local@domain.');
    }
    names.push(tlv(contextIdentifier(1, false), Buffer.from(`${local}@${domain}`, 'ascii')));
  }
  for (const name of dnsNames) {
    const domain = normalizeDomain(name);
    if (domain === undefined || !/^[a-z0-9.-]+$/.test(domain)) {
      throw new HispError('BAD_REQUEST', 'A DNS name must be a domain name (no wildcard).');
    }
    names.push(tlv(contextIdentifier(2, false), Buffer.from(domain, 'ascii')));
  }
  return names;
}

/** Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING } */
function extension(id: string, critical: boolean, value: Uint8Array): Uint8Array {
  return critical
    ? sequence(oid(id), tlv(DerTag.BOOLEAN, Uint8Array.of(0xff)), octetString(value))
    : sequence(oid(id), octetString(value));
}

/** A named BIT STRING in DER (X.690 §11.2.2): trailing zero bits removed. */
function keyUsageBits(bits: readonly number[]): Uint8Array {
  const highest = Math.max(...bits);
  const octets = new Uint8Array(Math.floor(highest / 8) + 1);
  for (const bit of bits) {
    octets[Math.floor(bit / 8)]! |= 0x80 >> (bit % 8);
  }
  const unused = 7 - (highest % 8);
  return tlv(DerTag.BIT_STRING, concat(Uint8Array.of(unused), octets));
}

/** UTCTime (YYMMDDHHMMSSZ) before 2050, GeneralizedTime (YYYYMMDDHHMMSSZ) from 2050 on. */
function encodeTime(date: Date): Uint8Array {
  const digits = date.toISOString().replace(/[-:T]/g, '').slice(0, 14); // YYYYMMDDHHMMSS
  return date.getUTCFullYear() < 2050
    ? tlv(DerTag.UTCTime, Buffer.from(`${digits.slice(2)}Z`, 'ascii'))
    : tlv(DerTag.GeneralizedTime, Buffer.from(`${digits}Z`, 'ascii'));
}
