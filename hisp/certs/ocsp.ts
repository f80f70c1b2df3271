/**
 * OCSP (RFC 6960) as a second revocation source: the request for one certificate, sent to
 * the responder named in its AIA, the BasicOCSPResponse read with the bounded BER reader,
 * its signature checked against the issuer or a delegated responder the issuer authorized,
 * and a small cache of answers until their nextUpdate.
 *
 * Transport (RFC 6960 A.1, RFC 5019 §5): a request whose base64 is under 255 characters is
 * sent as GET `{url}/{url-encoded base64}` without a nonce, so HTTP caches in between can
 * answer (freshness then rests on thisUpdate/nextUpdate); when the GET fails with an HTTP
 * 4xx/5xx, answers with something that is not an OCSP response or with malformedRequest, or
 * gives a successful answer that cannot be used (stale, say, from a cache), and for larger
 * requests or URLs with a query, the request is POSTed with a nonce.
 *
 * Delegated responders (RFC 6960 §4.2.2.2): a responder certificate issued by the CA with
 * id-kp-OCSPSigning may sign; the answer records it (`responderCertificate`). Whether the
 * responder itself is revoked is path validation's job (path.ts): one with
 * id-pkix-ocsp-nocheck is not checked, any other is checked against CRLs.
 *
 * ```asn
 * OCSPRequest ::= SEQUENCE { tbsRequest TBSRequest, optionalSignature [0] EXPLICIT ... OPTIONAL }
 * TBSRequest  ::= SEQUENCE { version [0] EXPLICIT Version DEFAULT v1,
 *   requestorName [1] EXPLICIT GeneralName OPTIONAL, requestList SEQUENCE OF Request,
 *   requestExtensions [2] EXPLICIT Extensions OPTIONAL }
 * Request     ::= SEQUENCE { reqCert CertID, singleRequestExtensions [0] EXPLICIT ... OPTIONAL }
 * CertID      ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, issuerNameHash OCTET STRING,
 *   issuerKeyHash OCTET STRING, serialNumber CertificateSerialNumber }
 * OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED,
 *   responseBytes [0] EXPLICIT SEQUENCE { responseType OID, response OCTET STRING } OPTIONAL }
 * BasicOCSPResponse ::= SEQUENCE { tbsResponseData ResponseData,
 *   signatureAlgorithm AlgorithmIdentifier, signature BIT STRING,
 *   certs [0] EXPLICIT SEQUENCE OF Certificate OPTIONAL }
 * ResponseData ::= SEQUENCE { version [0] EXPLICIT Version DEFAULT v1,
 *   responderID CHOICE { byName [1] Name, byKey [2] OCTET STRING }, producedAt GeneralizedTime,
 *   responses SEQUENCE OF SingleResponse, responseExtensions [1] EXPLICIT Extensions OPTIONAL }
 * SingleResponse ::= SEQUENCE { certID CertID,
 *   certStatus CHOICE { good [0] IMPLICIT NULL, revoked [1] IMPLICIT RevokedInfo,
 *                       unknown [2] IMPLICIT NULL },
 *   thisUpdate GeneralizedTime, nextUpdate [0] EXPLICIT GeneralizedTime OPTIONAL,
 *   singleExtensions [1] EXPLICIT Extensions OPTIONAL }
 * RevokedInfo ::= SEQUENCE { revocationTime GeneralizedTime,
 *   revocationReason [0] EXPLICIT CRLReason OPTIONAL }
 * ```
 *
 * The CertID hashes are SHA-1 (what responders expect; it is an identifier here, not a
 * signature). The responder is hostile until checked (risk-16, risk-12): the answer is
 * bounded in size, depth and elements, and anything malformed, unsigned, signed by a key the
 * issuer did not authorize, for another certificate, from the future or past its nextUpdate
 * is an `unknown` answer with a reason — never a crash and never a `good`.
 */
import { createHash, randomBytes } from 'node:crypto';

import { HispError } from '../api/errors.js';
import { UNIVERSAL, contextTag, tagMatches, type BerReader, type Tlv } from '../asn1/ber.js';
import {
  algorithmIdentifier,
  contextIdentifier,
  integerFromOctets,
  nullValue,
  octetString,
  oid,
  sequence,
  tlv,
} from '../asn1/der.js';
import {
  describeCertificate,
  describeSignatureAlgorithm,
  isWeakSignatureAlgorithm,
  namesChain,
  parseCertificate,
  readAlgorithmIdentifier,
  readAsn1Bounded,
  readTime,
  type Asn1Bounds,
  type ParsedCertificate,
} from './certificate.js';
import { verifySignature } from './crl.js';
import { ExpiringMap, type CacheBacking } from './expiring.js';
import type { Fetcher } from './fetch.js';

export const OCSP_OID = {
  basic: '1.3.6.1.5.5.7.48.1.1',
  nonce: '1.3.6.1.5.5.7.48.1.2',
  noCheck: '1.3.6.1.5.5.7.48.1.5',
  ocspSigning: '1.3.6.1.5.5.7.3.9',
  sha1: '1.3.14.3.2.26',
  sha256: '2.16.840.1.101.3.4.2.1',
} as const;

/** Bounds of one OCSP exchange (risk-16/risk-12). */
export const OCSP_LIMITS = {
  /** Bytes of one OCSP response (real ones are 1-5 KiB, a few certificates included). */
  responseBytes: 64 * 1024,
  /** ASN.1 nesting and elements of one response. */
  asn1: { maxDepth: 32, maxElements: 20_000 } satisfies Asn1Bounds,
  /** SingleResponses looked at in one response. */
  singleResponses: 64,
  /** Certificates taken from one response when looking for a delegated responder. */
  responderCertificates: 8,
  /** Clock skew allowed on thisUpdate, in milliseconds. */
  clockSkewMs: 5 * 60 * 1000,
  /** Nonce octets sent (POST only). */
  nonceBytes: 16,
  /** A request whose base64 is shorter than this goes as GET (RFC 5019 §5). */
  getBase64Chars: 255,
} as const;

export const OCSP_CONTENT_TYPE = 'application/ocsp-request';

export type OcspStatus = 'good' | 'revoked' | 'unknown';

export interface OcspAnswer {
  readonly status: OcspStatus;
  /** Why: the responder's verdict, or why there is none. */
  readonly detail: string;
  readonly revocationTime?: Date;
  /** CRLReason, when the responder says. */
  readonly revocationReason?: number;
  readonly thisUpdate?: Date;
  readonly nextUpdate?: Date;
  /** Who signed: "the issuer" or the delegated responder. */
  readonly signer?: string;
  /** The responder URL that gave the answer. */
  readonly url?: string;
  /** The responder could not be asked or its answer could not be used (not: it said unknown). */
  readonly responderFailed?: boolean;
  /** Base64 DER of the delegated responder certificate that signed (absent: the issuer signed). */
  readonly responderCertificate?: string;
  /** How the request went (absent for answers not fetched). */
  readonly method?: 'GET' | 'POST';
}

// ── The request ──────────────────────────────────────────────────────────────────────────
export interface OcspCertId {
  readonly hashAlgorithm: string;
  readonly issuerNameHash: Buffer;
  readonly issuerKeyHash: Buffer;
  /** Lowercase hex, leading zero octets removed (as ParsedCertificate.serialHex). */
  readonly serialHex: string;
}

function sha1(data: Uint8Array): Buffer {
  return createHash('sha1').update(data).digest();
}

/** The content of the issuer's subjectPublicKey BIT STRING, without the unused-bits octet. */
export function subjectPublicKeyBits(issuer: ParsedCertificate): Buffer {
  const { reader, root } = readAsn1Bounded(
    issuer.der,
    { maxDepth: 64, maxElements: 100_000 },
    'the issuer certificate',
  );
  const [tbs] = reader.fieldList(
    reader.expect(root, UNIVERSAL.SEQUENCE, 'Certificate'),
    'Certificate',
    3,
    3,
  );
  const fields = reader.fields(
    reader.expect(tbs, UNIVERSAL.SEQUENCE, 'tbsCertificate'),
    'TBSCertificate',
  );
  fields.optional(contextTag(0, true));
  fields.next(UNIVERSAL.INTEGER, 'serialNumber');
  fields.next(UNIVERSAL.SEQUENCE, 'signature');
  fields.any('issuer');
  fields.next(UNIVERSAL.SEQUENCE, 'validity');
  fields.any('subject');
  const [, bits] = reader.fieldList(
    fields.next(UNIVERSAL.SEQUENCE, 'subjectPublicKeyInfo'),
    'SubjectPublicKeyInfo',
    2,
    2,
  );
  const content = reader.content(reader.expect(bits, UNIVERSAL.BIT_STRING, 'subjectPublicKey'));
  return Buffer.from(content.subarray(1));
}

/** DER content octets of a positive INTEGER from serialHex (a 0x00 before a set high bit). */
function serialOctets(serialHex: string): Buffer {
  const bytes = Buffer.from(serialHex.length % 2 === 1 ? `0${serialHex}` : serialHex, 'hex');
  return (bytes[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.of(0), bytes]) : bytes;
}

/** The SHA-1 CertID of `cert`, issued by `issuer`. */
export function certIdFor(cert: ParsedCertificate, issuer: ParsedCertificate): OcspCertId {
  return {
    hashAlgorithm: OCSP_OID.sha1,
    issuerNameHash: sha1(cert.issuerDer),
    issuerKeyHash: sha1(subjectPublicKeyBits(issuer)),
    serialHex: cert.serialHex,
  };
}

export interface OcspRequest {
  readonly der: Buffer;
  readonly certId: OcspCertId;
  /** The nonce sent (undefined when none). */
  readonly nonce: Buffer | undefined;
}

/** An unsigned OCSPRequest for one certificate, with a nonce unless `nonce: false`. */
export function buildOcspRequest(
  cert: ParsedCertificate,
  issuer: ParsedCertificate,
  options: { readonly nonce?: boolean | Uint8Array } = {},
): OcspRequest {
  const certId = certIdFor(cert, issuer);
  const nonce =
    options.nonce === false
      ? undefined
      : options.nonce instanceof Uint8Array
        ? Buffer.from(options.nonce)
        : randomBytes(OCSP_LIMITS.nonceBytes);
  const certIdDer = sequence(
    algorithmIdentifier(certId.hashAlgorithm, nullValue()),
    octetString(certId.issuerNameHash),
    octetString(certId.issuerKeyHash),
    integerFromOctets(serialOctets(certId.serialHex)),
  );
  const requestList = sequence(sequence(certIdDer));
  // Nonce (RFC 8954): extnValue holds an OCTET STRING of the nonce.
  const extensions =
    nonce === undefined
      ? []
      : [
          tlv(
            contextIdentifier(2, true),
            sequence(sequence(oid(OCSP_OID.nonce), octetString(octetString(nonce)))),
          ),
        ];
  const der = Buffer.from(sequence(sequence(requestList, ...extensions)));
  return { der, certId, nonce };
}

// ── The response ─────────────────────────────────────────────────────────────────────────
const RESPONSE_STATUS = [
  'successful',
  'malformedRequest',
  'internalError',
  'tryLater',
  'unused (4)',
  'sigRequired',
  'unauthorized',
];

class OcspProblem extends Error {}

function problem(message: string): never {
  throw new OcspProblem(message);
}

interface SingleResponse {
  readonly certId: OcspCertId;
  readonly status: OcspStatus;
  readonly revocationTime: Date | undefined;
  readonly revocationReason: number | undefined;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date | undefined;
}

export interface ParsedOcspResponse {
  readonly tbsResponseData: Buffer;
  readonly signatureAlgorithm: ReturnType<typeof readAlgorithmIdentifier>;
  readonly signature: Buffer;
  readonly certs: readonly Buffer[];
  readonly responderByName: Buffer | undefined;
  readonly responderByKey: Buffer | undefined;
  readonly producedAt: Date;
  readonly responses: readonly SingleResponse[];
  readonly nonce: Buffer | undefined;
}

function readGeneralizedTime(reader: BerReader, element: Tlv | undefined, what: string): Date {
  const time =
    element !== undefined && tagMatches(element, UNIVERSAL.GeneralizedTime)
      ? readTime(reader, element)
      : undefined;
  return time ?? problem(`${what} is not a GeneralizedTime`);
}

function readCertId(reader: BerReader, element: Tlv): OcspCertId {
  const fields = reader.fields(reader.expect(element, UNIVERSAL.SEQUENCE, 'CertID'), 'CertID');
  const algorithm = readAlgorithmIdentifier(
    reader,
    fields.next(UNIVERSAL.SEQUENCE, 'hashAlgorithm'),
    'hashAlgorithm',
  );
  const nameHash = reader.content(fields.next(UNIVERSAL.OCTET_STRING, 'issuerNameHash'));
  const keyHash = reader.content(fields.next(UNIVERSAL.OCTET_STRING, 'issuerKeyHash'));
  let serial = Buffer.from(reader.content(fields.next(UNIVERSAL.INTEGER, 'serialNumber')));
  fields.end();
  while (serial.byteLength > 1 && serial[0] === 0) serial = serial.subarray(1);
  return {
    hashAlgorithm: algorithm.algorithmId,
    issuerNameHash: Buffer.from(nameHash),
    issuerKeyHash: Buffer.from(keyHash),
    serialHex: serial.toString('hex'),
  };
}

function readSingleResponse(reader: BerReader, element: Tlv): SingleResponse {
  const fields = reader.fields(
    reader.expect(element, UNIVERSAL.SEQUENCE, 'SingleResponse'),
    'SingleResponse',
  );
  const certId = readCertId(reader, fields.next(UNIVERSAL.SEQUENCE, 'certID'));
  const statusTlv = fields.any('certStatus');
  let status: OcspStatus;
  let revocationTime: Date | undefined;
  let revocationReason: number | undefined;
  if (tagMatches(statusTlv, contextTag(0, false))) {
    status = 'good';
  } else if (tagMatches(statusTlv, contextTag(1, true))) {
    status = 'revoked';
    const info = reader.fields(statusTlv, 'RevokedInfo');
    revocationTime = readGeneralizedTime(reader, info.any('revocationTime'), 'revocationTime');
    const reason = info.optional(contextTag(0, true));
    info.end();
    if (reason !== undefined) {
      const enumerated = reader.explicit(reason, contextTag(0, true), 'revocationReason');
      if (tagMatches(enumerated, { tagClass: 0, tagNumber: 10, constructed: false })) {
        const content = reader.content(enumerated);
        if (content.byteLength === 1) revocationReason = content[0];
      }
    }
  } else if (tagMatches(statusTlv, contextTag(2, false))) {
    status = 'unknown';
  } else {
    problem('certStatus is none of good, revoked, unknown');
  }
  const thisUpdate = readGeneralizedTime(reader, fields.any('thisUpdate'), 'thisUpdate');
  const next = fields.optional(contextTag(0, true));
  const nextUpdate =
    next === undefined
      ? undefined
      : readGeneralizedTime(
          reader,
          reader.explicit(next, contextTag(0, true), 'nextUpdate'),
          'nextUpdate',
        );
  fields.optional(contextTag(1, true));
  fields.end();
  return { certId, status, revocationTime, revocationReason, thisUpdate, nextUpdate };
}

/** The nonce in responseExtensions, if any. */
function readNonce(reader: BerReader, wrapper: Tlv): Buffer | undefined {
  const extensions = reader.explicit(wrapper, contextTag(1, true), 'responseExtensions');
  for (const extension of reader.childList(extensions, 'response extensions', 32)) {
    const fields = reader.fields(
      reader.expect(extension, UNIVERSAL.SEQUENCE, 'Extension'),
      'Extension',
    );
    const id = reader.oid(fields.next(UNIVERSAL.OBJECT_IDENTIFIER, 'extnID'), 'extnID');
    fields.optional(UNIVERSAL.BOOLEAN);
    const value = fields.next(UNIVERSAL.OCTET_STRING, 'extnValue');
    fields.end();
    if (id !== OCSP_OID.nonce) continue;
    const bytes = reader.content(value);
    // RFC 8954: an OCTET STRING inside; some responders put the raw nonce.
    if (bytes[0] === 0x04 && bytes.byteLength >= 2 && bytes[1] === bytes.byteLength - 2) {
      return Buffer.from(bytes.subarray(2));
    }
    return Buffer.from(bytes);
  }
  return undefined;
}

/**
 * An OCSPResponse, read whole with the bounded reader. Throws OcspProblem (a message for
 * the `unknown` answer) for anything that is not a successful, well-formed basic response.
 */
export function parseOcspResponse(bytes: Uint8Array): ParsedOcspResponse {
  if (bytes.byteLength > OCSP_LIMITS.responseBytes) {
    problem(`the response is ${bytes.byteLength} bytes, more than ${OCSP_LIMITS.responseBytes}`);
  }
  if (bytes.byteLength === 0) problem('the response is empty');
  const onError = (message: string) => new HispError('CERT_MALFORMED', message);
  let outer: ReturnType<typeof readAsn1Bounded>;
  try {
    outer = readAsn1Bounded(bytes, OCSP_LIMITS.asn1, 'the OCSP response', onError);
  } catch (error) {
    problem(error instanceof Error ? error.message : String(error));
  }
  const { reader, root } = outer;
  const fields = reader.fields(
    reader.expect(root, UNIVERSAL.SEQUENCE, 'OCSPResponse'),
    'OCSPResponse',
  );
  const statusTlv = fields.next(
    { tagClass: 0, tagNumber: 10, constructed: false },
    'responseStatus',
  );
  const statusContent = reader.content(statusTlv);
  const statusCode = statusContent.byteLength === 1 ? (statusContent[0] ?? 255) : 255;
  if (statusCode !== 0) {
    problem(`the responder answered ${RESPONSE_STATUS[statusCode] ?? `status ${statusCode}`}`);
  }
  const responseBytes = fields.optional(contextTag(0, true));
  fields.end();
  if (responseBytes === undefined) problem('the successful response carries no responseBytes');
  const rb = reader.fields(
    reader.expect(
      reader.explicit(responseBytes, contextTag(0, true), 'responseBytes'),
      UNIVERSAL.SEQUENCE,
      'ResponseBytes',
    ),
    'ResponseBytes',
  );
  const type = reader.oid(rb.next(UNIVERSAL.OBJECT_IDENTIFIER, 'responseType'), 'responseType');
  const response = reader.content(
    rb.next({ ...UNIVERSAL.OCTET_STRING, constructed: false }, 'response'),
  );
  rb.end();
  if (type !== OCSP_OID.basic) problem(`the response type is ${type}, not id-pkix-ocsp-basic`);

  const inner = readAsn1Bounded(response, OCSP_LIMITS.asn1, 'the BasicOCSPResponse', onError);
  const r = inner.reader;
  const basic = r.fields(
    r.expect(inner.root, UNIVERSAL.SEQUENCE, 'BasicOCSPResponse'),
    'BasicOCSPResponse',
  );
  const tbs = basic.next(UNIVERSAL.SEQUENCE, 'tbsResponseData');
  const signatureAlgorithm = readAlgorithmIdentifier(
    r,
    basic.next(UNIVERSAL.SEQUENCE, 'signatureAlgorithm'),
    'signatureAlgorithm',
  );
  const signatureBits = r.content(
    basic.next({ ...UNIVERSAL.BIT_STRING, constructed: false }, 'signature'),
  );
  if (signatureBits[0] !== 0) problem('the signature BIT STRING has unused bits');
  const certsTlv = basic.optional(contextTag(0, true));
  basic.end();
  const certs: Buffer[] = [];
  if (certsTlv !== undefined) {
    const list = r.explicit(certsTlv, contextTag(0, true), 'certs');
    for (const cert of r.childList(
      r.expect(list, UNIVERSAL.SEQUENCE, 'certs'),
      'certificates in the response',
    )) {
      if (certs.length >= OCSP_LIMITS.responderCertificates) break;
      certs.push(Buffer.from(r.raw(cert)));
    }
  }

  const data = r.fields(tbs, 'ResponseData');
  const version = data.optional(contextTag(0, true));
  if (version !== undefined) {
    const v = r.explicit(version, contextTag(0, true), 'version');
    if (r.unsignedInteger(v, 'version', 1) !== 0) problem('the ResponseData version is not v1');
  }
  const responder = data.any('responderID');
  let responderByName: Buffer | undefined;
  let responderByKey: Buffer | undefined;
  if (tagMatches(responder, contextTag(1, true))) {
    responderByName = Buffer.from(r.raw(r.explicit(responder, contextTag(1, true), 'byName')));
  } else if (tagMatches(responder, contextTag(2, true))) {
    const key = r.explicit(responder, contextTag(2, true), 'byKey');
    responderByKey = Buffer.from(r.content(r.expect(key, UNIVERSAL.OCTET_STRING, 'byKey')));
  } else {
    problem('the responderID is neither byName nor byKey');
  }
  const producedAt = readGeneralizedTime(r, data.any('producedAt'), 'producedAt');
  const responses = r
    .childList(
      data.next(UNIVERSAL.SEQUENCE, 'responses'),
      'single responses',
      OCSP_LIMITS.singleResponses,
    )
    .map((single) => readSingleResponse(r, single));
  const extensions = data.optional(contextTag(1, true));
  data.end();
  return {
    tbsResponseData: Buffer.from(r.raw(tbs)),
    signatureAlgorithm,
    signature: Buffer.from(signatureBits.subarray(1)),
    certs,
    responderByName,
    responderByKey,
    producedAt,
    responses,
    nonce: extensions === undefined ? undefined : readNonce(r, extensions),
  };
}

// ── Checking a response ──────────────────────────────────────────────────────────────────
function sameCertId(a: OcspCertId, cert: ParsedCertificate, issuer: ParsedCertificate): boolean {
  if (a.serialHex !== cert.serialHex) return false;
  let hash: 'sha1' | 'sha256';
  if (a.hashAlgorithm === OCSP_OID.sha1) hash = 'sha1';
  else if (a.hashAlgorithm === OCSP_OID.sha256) hash = 'sha256';
  else return false;
  const nameHash = createHash(hash).update(cert.issuerDer).digest();
  const keyHash = createHash(hash).update(subjectPublicKeyBits(issuer)).digest();
  return a.issuerNameHash.equals(nameHash) && a.issuerKeyHash.equals(keyHash);
}

function verifiesWith(response: ParsedOcspResponse, cert: ParsedCertificate): boolean {
  try {
    return verifySignature(
      response.signatureAlgorithm,
      response.tbsResponseData,
      response.signature,
      cert.x509.publicKey,
    );
  } catch {
    return false;
  }
}

/** Why `responder` may not sign OCSP answers for `issuer`'s certificates, or undefined. */
function delegationProblem(
  responder: ParsedCertificate,
  issuer: ParsedCertificate,
  at: Date,
): string | undefined {
  if (!namesChain(responder, issuer)) return `it is not issued by "${issuer.subject}"`;
  let signed: boolean;
  try {
    signed = responder.x509.verify(issuer.x509.publicKey);
  } catch {
    signed = false;
  }
  if (!signed) return `the issuer's key does not verify its signature`;
  if (isWeakSignatureAlgorithm(responder.signatureAlgorithm)) {
    return `it is signed with ${responder.signatureAlgorithm.name}`;
  }
  if (!(responder.extKeyUsage ?? []).includes(OCSP_OID.ocspSigning)) {
    return 'it lacks the extended key usage id-kp-OCSPSigning';
  }
  if (responder.notBefore.getTime() > at.getTime() || responder.notAfter.getTime() < at.getTime()) {
    return 'it is not valid at the time of checking';
  }
  return undefined;
}

/**
 * Whether `bytes` (from `source`) answers for `cert` issued by `issuer` at `at`. Never
 * throws: every problem is an `unknown` answer saying why.
 */
export function checkOcspResponse(
  bytes: Uint8Array,
  cert: ParsedCertificate,
  issuer: ParsedCertificate,
  at: Date,
  options: { readonly nonce?: Buffer | undefined; readonly source: string },
): OcspAnswer {
  const from = `the OCSP response from ${options.source}`;
  const unknown = (why: string): OcspAnswer => ({
    status: 'unknown',
    detail: `${from} ${why}`,
    responderFailed: true,
  });
  let response: ParsedOcspResponse;
  try {
    response = parseOcspResponse(bytes);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return unknown(
      error instanceof OcspProblem ? `cannot be used: ${message}` : `is malformed: ${message}`,
    );
  }
  try {
    return decide(response, cert, issuer, at, options.nonce, unknown, from);
  } catch (error) {
    return unknown(`cannot be used: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function decide(
  response: ParsedOcspResponse,
  cert: ParsedCertificate,
  issuer: ParsedCertificate,
  at: Date,
  nonce: Buffer | undefined,
  unknown: (why: string) => OcspAnswer,
  from: string,
): OcspAnswer {
  const algorithm = describeSignatureAlgorithm(response.signatureAlgorithm);
  if (isWeakSignatureAlgorithm(algorithm)) {
    return unknown(`is signed with ${algorithm.name}, which is no longer accepted`);
  }
  // The signer: the issuer itself, or a delegated responder the issuer signed (RFC 6960 §4.2.2.2).
  let signer: string | undefined;
  let responderCertificate: string | undefined;
  if (verifiesWith(response, issuer)) {
    signer = 'the issuer';
  } else {
    const refusals: string[] = [];
    for (const der of response.certs) {
      let candidate: ParsedCertificate;
      try {
        candidate = parseCertificate(der);
      } catch {
        refusals.push('an included certificate is malformed');
        continue;
      }
      if (!verifiesWith(response, candidate)) continue;
      const why = delegationProblem(candidate, issuer, at);
      if (why !== undefined) {
        refusals.push(`its signer ${describeCertificate(candidate)} is not authorized: ${why}`);
        continue;
      }
      signer = `delegated responder ${describeCertificate(candidate)}`;
      responderCertificate = candidate.der.toString('base64');
      break;
    }
    if (signer === undefined) {
      return unknown(
        refusals.length > 0
          ? `is not accepted: ${refusals.join('; ')}`
          : `is not accepted: its signature verifies neither with the issuer's key nor with an authorized responder certificate`,
      );
    }
  }
  if (nonce !== undefined && response.nonce !== undefined && !response.nonce.equals(nonce)) {
    return unknown('answers another request (its nonce differs)');
  }
  const single = response.responses.find((r) => sameCertId(r.certId, cert, issuer));
  if (single === undefined) return unknown('holds no answer for this certificate');
  const now = at.getTime();
  if (single.thisUpdate.getTime() > now + OCSP_LIMITS.clockSkewMs) {
    return unknown(`is from the future (thisUpdate ${single.thisUpdate.toISOString()})`);
  }
  if (single.nextUpdate !== undefined && single.nextUpdate.getTime() <= now) {
    return unknown(`is stale: its next update was due ${single.nextUpdate.toISOString()}`);
  }
  const dates = {
    thisUpdate: single.thisUpdate,
    ...(single.nextUpdate === undefined ? {} : { nextUpdate: single.nextUpdate }),
    signer,
    ...(responderCertificate === undefined ? {} : { responderCertificate }),
  };
  if (single.status === 'good') {
    return { status: 'good', detail: `${from} says good (signed by ${signer})`, ...dates };
  }
  if (single.status === 'revoked') {
    const time = single.revocationTime ?? single.thisUpdate;
    return {
      status: 'revoked',
      detail: `${from} says revoked on ${time.toISOString()}${single.revocationReason === undefined ? '' : ` (reason ${single.revocationReason})`}`,
      revocationTime: time,
      ...(single.revocationReason === undefined
        ? {}
        : { revocationReason: single.revocationReason }),
      ...dates,
    };
  }
  return { status: 'unknown', detail: `${from} says the certificate is unknown to it`, ...dates };
}

// ── Asking a responder ───────────────────────────────────────────────────────────────────
/**
 * The GET URL for `der` at the responder `url` (RFC 6960 A.1: the URL-encoded base64 after a
 * `/`), or undefined when the request is too large for GET (RFC 5019 §5) or the URL carries
 * a query or fragment a path cannot be appended to.
 */
export function ocspGetUrl(url: string, der: Uint8Array): string | undefined {
  const base64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  if (base64.length >= OCSP_LIMITS.getBase64Chars) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.search !== '' || parsed.hash !== '' || url.includes('?') || url.includes('#')) {
    return undefined;
  }
  return `${url.endsWith('/') ? url : `${url}/`}${encodeURIComponent(base64)}`;
}

/**
 * The responseStatus of an OCSPResponse (0 successful, 1 malformedRequest, ...), or
 * undefined when `bytes` are not an OCSPResponse at all (e.g. a web page).
 */
export function ocspResponseStatus(bytes: Uint8Array): number | undefined {
  if (bytes.byteLength === 0 || bytes.byteLength > OCSP_LIMITS.responseBytes) return undefined;
  try {
    const { reader, root } = readAsn1Bounded(bytes, OCSP_LIMITS.asn1, 'the OCSP response');
    const [status] = reader.fieldList(
      reader.expect(root, UNIVERSAL.SEQUENCE, 'OCSPResponse'),
      'OCSPResponse',
      1,
      2,
    );
    const content = reader.content(
      reader.expect(status, { tagClass: 0, tagNumber: 10, constructed: false }, 'responseStatus'),
    );
    return content.byteLength === 1 ? content[0] : undefined;
  } catch {
    return undefined;
  }
}

/** The delegated responder certificate that signed `answer`, if one did (and it parses). */
export function delegatedResponder(answer: OcspAnswer): ParsedCertificate | undefined {
  if (answer.responderCertificate === undefined) return undefined;
  try {
    return parseCertificate(Buffer.from(answer.responderCertificate, 'base64'));
  } catch {
    return undefined;
  }
}

/** A failed fetch that got an HTTP error status (the responder is there but refused GET). */
function isHttpErrorStatus(error: unknown): boolean {
  // fetch.ts words a status failure "Could not fetch from HOST: HTTP 405." (fetchFailed).
  return (
    error instanceof HispError &&
    error.code === 'FETCH_FAILED' &&
    /: HTTP [45]\d\d\.$/.test(error.message)
  );
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export interface QueryOcspOptions {
  /** Send a nonce with a POST (default true); a GET never carries one (RFC 5019). */
  readonly nonce?: boolean;
  /** Try GET for small requests first (default true). */
  readonly get?: boolean;
  /** How the responder is named in details (default: the URL). */
  readonly source?: string;
}

/**
 * Ask the OCSP responder at `url` about `cert` and check the answer: GET when the request is
 * small enough, POST otherwise or when the GET is refused (see the module comment). Never
 * throws: a fetcher that cannot send the request, a network failure or a bad answer is
 * `unknown` saying why.
 */
export async function queryOcsp(
  url: string,
  cert: ParsedCertificate,
  issuer: ParsedCertificate,
  fetcher: Fetcher,
  at: Date,
  options: QueryOcspOptions = {},
): Promise<OcspAnswer> {
  const source = options.source ?? url;
  const notAsked = (why: string): OcspAnswer => ({
    status: 'unknown',
    detail: `the OCSP responder ${source} could not be asked: ${why}`,
    responderFailed: true,
  });
  let request: OcspRequest;
  let plain: OcspRequest;
  try {
    request = buildOcspRequest(cert, issuer, { nonce: options.nonce ?? true });
    plain =
      request.nonce === undefined ? request : buildOcspRequest(cert, issuer, { nonce: false });
  } catch (error) {
    return {
      status: 'unknown',
      detail: `no OCSP request could be made: ${errorText(error)}`,
    };
  }

  const refusedGet: string[] = [];
  let unusableGet: OcspAnswer | undefined;
  const getUrl = options.get === false ? undefined : ocspGetUrl(url, plain.der);
  if (getUrl !== undefined) {
    let body: Buffer | undefined;
    try {
      body = await fetcher.get(getUrl, { maxBytes: OCSP_LIMITS.responseBytes });
    } catch (error) {
      if (!isHttpErrorStatus(error)) return notAsked(errorText(error));
      refusedGet.push(`GET failed (${errorText(error)})`);
    }
    if (body !== undefined) {
      const status = ocspResponseStatus(body);
      if (status !== undefined && status !== 1) {
        const answer: OcspAnswer = {
          ...checkOcspResponse(body, cert, issuer, at, { source }),
          method: 'GET',
        };
        // A successful but unusable answer (stale, for another request, badly signed) may come
        // from a cache in between: the POST, with a nonce, reaches the responder itself.
        if (status !== 0 || answer.responderFailed !== true) return answer;
        unusableGet = answer;
        refusedGet.push(`the GET answer was unusable (${answer.detail})`);
      } else {
        refusedGet.push(
          status === undefined
            ? 'GET was answered with something that is not an OCSP response'
            : 'GET was answered malformedRequest',
        );
      }
    }
  }
  const after = refusedGet.length > 0 ? ` after ${refusedGet.join('; ')}` : '';
  if (fetcher.post === undefined) {
    if (unusableGet !== undefined) return unusableGet;
    return {
      status: 'unknown',
      detail: `the OCSP responder ${source} was not asked${after ? ` by POST${after}` : ''} (this fetcher cannot POST)`,
      ...(refusedGet.length > 0 ? { responderFailed: true } : {}),
    };
  }
  let body: Buffer;
  try {
    body = await fetcher.post(url, request.der, {
      maxBytes: OCSP_LIMITS.responseBytes,
      contentType: OCSP_CONTENT_TYPE,
    });
  } catch (error) {
    return notAsked(`${errorText(error)}${after ? ` (POST${after})` : ''}`);
  }
  return {
    ...checkOcspResponse(body, cert, issuer, at, { nonce: request.nonce, source }),
    method: 'POST',
  };
}

// ── OcspCache ────────────────────────────────────────────────────────────────────────────
export interface OcspCacheOptions {
  /** The clock (tests inject one). */
  readonly now?: () => Date;
  /** Answers kept at most (oldest dropped first). Default 4096. */
  readonly maxEntries?: number;
  /** How long an answer without nextUpdate is kept. Default 5 minutes. */
  readonly defaultTtlMs?: number;
  /** How long a failure for a responder URL is remembered (risk-12). Default 5 minutes. */
  readonly failureTtlMs?: number;
  /** A second level that survives restarts (the profile's database); answers kept as JSON. */
  readonly backing?: CacheBacking;
}

/**
 * Definite OCSP answers (good / revoked) by certificate (issuer fingerprint + serial), kept
 * until their nextUpdate; failures by responder URL, kept for failureTtlMs so a dead or
 * hostile responder costs one timeout per period, not one per message (risk-12).
 */
export class OcspCache {
  readonly #now: () => Date;
  readonly #defaultTtlMs: number;
  readonly #failureTtlMs: number;
  readonly #entries: ExpiringMap<OcspAnswer>;
  readonly #failures: ExpiringMap<string>;
  readonly #backing: CacheBacking | undefined;

  constructor(options: OcspCacheOptions = {}) {
    this.#backing = options.backing;
    const now = options.now ?? (() => new Date());
    const maxEntries = options.maxEntries ?? 4096;
    this.#now = now;
    this.#defaultTtlMs = options.defaultTtlMs ?? 5 * 60 * 1000;
    this.#failureTtlMs = options.failureTtlMs ?? 5 * 60 * 1000;
    this.#entries = new ExpiringMap(maxEntries, () => now().getTime());
    this.#failures = new ExpiringMap(maxEntries, () => now().getTime());
  }

  static key(cert: ParsedCertificate, issuer: ParsedCertificate): string {
    return `${issuer.fingerprintSha256}/${cert.serialHex}`;
  }

  get(cert: ParsedCertificate, issuer: ParsedCertificate): OcspAnswer | undefined {
    const key = OcspCache.key(cert, issuer);
    const answer = this.#entries.get(key);
    if (answer !== undefined) return answer;
    const stored = this.#backing?.get(key);
    if (stored === undefined) return undefined;
    const revived = reviveAnswer(stored.value);
    if (revived !== undefined) this.#entries.set(key, revived, stored.expires);
    return revived;
  }

  /** Keep a good/revoked answer until its nextUpdate; other answers are not kept. */
  set(cert: ParsedCertificate, issuer: ParsedCertificate, answer: OcspAnswer): void {
    if (answer.status === 'unknown') return;
    const expires = answer.nextUpdate?.getTime() ?? this.#now().getTime() + this.#defaultTtlMs;
    this.#entries.set(OcspCache.key(cert, issuer), answer, expires);
    this.#backing?.set(
      OcspCache.key(cert, issuer),
      Buffer.from(JSON.stringify(answer), 'utf8'),
      expires,
    );
  }

  failure(url: string): string | undefined {
    return this.#failures.get(url);
  }

  setFailure(url: string, detail: string): void {
    if (this.#failureTtlMs <= 0) return;
    this.#failures.set(url, detail, this.#now().getTime() + this.#failureTtlMs);
  }

  clear(): void {
    this.#entries.clear();
    this.#failures.clear();
  }

  get size(): number {
    return this.#entries.size;
  }
}

/** An answer stored as JSON by an earlier run; anything odd is a miss. */
function reviveAnswer(bytes: Buffer): OcspAnswer | undefined {
  try {
    const value = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
    if (value['status'] !== 'good' && value['status'] !== 'revoked') return undefined;
    if (typeof value['detail'] !== 'string') return undefined;
    const date = (key: string) =>
      typeof value[key] === 'string' ? { [key]: new Date(value[key]) } : {};
    const text = (key: string) => (typeof value[key] === 'string' ? { [key]: value[key] } : {});
    return {
      status: value['status'],
      detail: value['detail'],
      ...date('revocationTime'),
      ...date('thisUpdate'),
      ...date('nextUpdate'),
      ...(typeof value['revocationReason'] === 'number'
        ? { revocationReason: value['revocationReason'] }
        : {}),
      ...text('signer'),
      ...text('url'),
      ...text('responderCertificate'),
    };
  } catch {
    return undefined;
  }
}
