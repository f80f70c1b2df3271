/**
 * Inbound security agent (DESIGN.md §4): decrypt, verify the signature over the exact signed
 * bytes, apply Direct policy to the signer, validate its path to the anchors, and check that
 * the routing was not tampered with. The result says what was found and every reason a
 * message is not trusted; only a message with no blocking reason is `trusted`.
 */
import type { KeyObject } from 'node:crypto';
import { HispError, type ErrorCode, type Reason } from '../api/errors.js';
import { parseCertificate, type ParsedCertificate } from '../certs/certificate.js';
import type { CrlCache } from '../certs/crl.js';
import type { OcspCache } from '../certs/ocsp.js';
import type { Fetcher } from '../certs/fetch.js';
import { validatePath } from '../certs/path.js';
import { addressBinding, checkDirectCertificate } from '../certs/policy.js';
import type { Logger } from '../log/logger.js';
import { decryptContent } from './cms/enveloped.js';
import { verifySignedData, type SignatureCheck } from './cms/signed.js';
import { AGENT_LIMITS } from './limits.js';
import {
  decodeBody,
  headerValue,
  normalizeAddress,
  parseAddressList,
  parseMime,
  toCrlf,
  type MimeEntity,
} from './mime/index.js';
import type { ContentCipher, DigestName, KeyTransport } from './types.js';

export interface InboundKey {
  readonly certDer: Uint8Array;
  readonly key: KeyObject;
}

export interface InboundOptions {
  readonly keys: readonly InboundKey[];
  readonly anchors: readonly ParsedCertificate[];
  readonly revocation: 'hard' | 'soft' | 'off';
  readonly logger: Logger;
  readonly at?: Date;
  readonly fetcher?: Fetcher;
  readonly crlCache?: CrlCache;
  readonly ocspCache?: OcspCache;
  readonly crls?: readonly Uint8Array[];
  /** Accept SHA-1 certificate signatures for legacy trust domains (reported, never silent). */
  readonly allowSha1CertificateSignatures?: boolean;
  /** The SMTP envelope, when known: checked against the inner From/Sender and To/Cc. */
  readonly envelope?: { readonly mailFrom?: string; readonly rcptTo?: readonly string[] };
  /**
   * The caller hands the message buffer over: its encrypted body is decoded and decrypted in
   * place (the result's `inner` then points into it). Saves two copies of a large message.
   */
  readonly consumeInput?: boolean;
}

export interface SignerSummary {
  readonly address: string | undefined;
  readonly subject: string;
  readonly fingerprintSha256: string;
}

export interface InboundResult {
  readonly decrypted: boolean;
  readonly signatureValid: boolean;
  readonly trusted: boolean;
  readonly signer: SignerSummary | undefined;
  readonly cipher: ContentCipher | undefined;
  readonly keyTransport: KeyTransport | undefined;
  readonly digest: DigestName | 'unknown' | undefined;
  /** Every reason found, blocking or not (a soft-fail REVOCATION_UNKNOWN does not block). */
  readonly reasons: readonly Reason[];
  /** The inner message (unwrapped), when it decrypted and carried a signed entity. */
  readonly inner: Buffer | undefined;
  readonly wrapped: boolean;
  readonly anchor: ParsedCertificate | undefined;
  readonly chain: readonly ParsedCertificate[];
}

const ENVELOPED_TYPES = new Set(['application/pkcs7-mime', 'application/x-pkcs7-mime']);
const SIGNATURE_TYPES = new Set(['application/pkcs7-signature', 'application/x-pkcs7-signature']);

function reason(code: ErrorCode, message: string): Reason {
  return { code, message };
}

function fromError(error: unknown): Reason {
  const hispError = HispError.from(error);
  return { code: hispError.code, message: hispError.message };
}

interface Failure {
  readonly decrypted: boolean;
  readonly reasons: readonly Reason[];
  readonly cipher?: ContentCipher;
  readonly keyTransport?: KeyTransport;
}

function failed(failure: Failure): InboundResult {
  return {
    decrypted: failure.decrypted,
    signatureValid: false,
    trusted: false,
    signer: undefined,
    cipher: failure.cipher,
    keyTransport: failure.keyTransport,
    digest: undefined,
    reasons: failure.reasons,
    inner: undefined,
    wrapped: false,
    anchor: undefined,
    chain: [],
  };
}

/**
 * Decrypts and verifies one Direct message. Never throws for a bad message: everything wrong
 * with it is a reason in the result. (Programming errors still throw.)
 */
export async function decryptAndVerify(
  message: Buffer,
  options: InboundOptions,
): Promise<InboundResult> {
  const at = options.at ?? new Date();
  if (message.byteLength > AGENT_LIMITS.messageBytes) {
    return failed({
      decrypted: false,
      reasons: [reason('LIMIT_EXCEEDED', 'The message is too large.')],
    });
  }

  // 1. The outer message must be S/MIME enveloped data (risk-8).
  let outer: MimeEntity;
  let der: Buffer;
  try {
    outer = parseMime(message);
    if (!isEnveloped(outer)) {
      return failed({
        decrypted: false,
        reasons: [
          reason(
            'NOT_SMIME',
            `The message is ${outer.contentType.type}/${outer.contentType.subtype}, not S/MIME enveloped data.`,
          ),
        ],
      });
    }
    der = decodeBody(outer, { inPlace: options.consumeInput === true });
  } catch (error) {
    return failed({ decrypted: false, reasons: [fromError(error)] });
  }

  // 2. Decrypt.
  let content: Buffer;
  let cipher: ContentCipher;
  let keyTransport: KeyTransport;
  try {
    // A decoded (base64) body is our own copy: decrypt it in place rather than hold the
    // content twice.
    const decrypted = decryptContent(der, options.keys, {
      reuseInput: outer.transferEncoding === 'base64',
    });
    ({ content, cipher, keyTransport } = decrypted);
  } catch (error) {
    return failed({ decrypted: false, reasons: [fromError(error)] });
  }

  // 3. Find the signature and the signed entity.
  let signedEntity: MimeEntity | Buffer;
  let check: SignatureCheck;
  let signedParent: MimeEntity;
  try {
    signedParent = parseMime(content);
    const found = verifyEntity(signedParent);
    if (found === undefined) {
      return failed({
        decrypted: true,
        cipher,
        keyTransport,
        reasons: [reason('NOT_SIGNED', 'The decrypted message carries no S/MIME signature.')],
      });
    }
    ({ check, signedEntity } = found);
  } catch (error) {
    return failed({ decrypted: true, cipher, keyTransport, reasons: [fromError(error)] });
  }

  const reasons: Reason[] = [...check.reasons];
  if (
    !check.signatureValid &&
    !reasons.some((r) => r.code === 'SIGNATURE_INVALID' || r.code === 'NOT_SIGNED')
  ) {
    reasons.push(reason('SIGNATURE_INVALID', 'The signature does not verify.'));
  }

  // 4. The inner message: wrapped (message/rfc822) or the outer headers around the signed body.
  let inner: Buffer;
  let wrapped: boolean;
  let innerEntity: MimeEntity;
  try {
    ({ inner, wrapped } = innerMessage(outer, signedEntity));
    innerEntity = parseMime(inner);
  } catch (error) {
    reasons.push(fromError(error));
    return { ...failed({ decrypted: true, cipher, keyTransport, reasons }), digest: check.digest };
  }
  const innerFrom = singleAddress(innerEntity, 'from');

  // 5. The signer: Direct policy, then its path to an anchor.
  let signer: SignerSummary | undefined;
  let anchor: ParsedCertificate | undefined;
  let chain: readonly ParsedCertificate[] = [];
  let pathTrusted = false;
  if (check.signerCertDer === undefined) {
    if (!reasons.some((r) => r.code === 'NOT_SIGNED')) {
      reasons.push(reason('NOT_SIGNED', "The signer's certificate is not in the message."));
    }
  } else {
    const signerCert = parseCertificate(check.signerCertDer);
    const bound = innerFrom === undefined ? undefined : addressBinding(signerCert, innerFrom);
    signer = {
      address: bound === undefined ? signerCert.rfc822Names[0] : innerFrom,
      subject: signerCert.subject,
      fingerprintSha256: signerCert.fingerprintSha256,
    };
    if (innerFrom === undefined) {
      reasons.push(reason('MIME_MALFORMED', 'The message has no single From address.'));
    }
    reasons.push(
      ...checkDirectCertificate(signerCert, {
        ...(innerFrom === undefined ? {} : { address: innerFrom }),
        usage: 'sign',
        at,
        allowSha1Signatures: options.allowSha1CertificateSignatures === true,
      }),
    );
    const intermediates = check.certificatesDer.flatMap((certDer) => {
      try {
        return [parseCertificate(certDer)];
      } catch {
        return [];
      }
    });
    const path = await validatePath(signerCert, {
      anchors: options.anchors,
      intermediates,
      at,
      revocation: options.revocation,
      allowSha1Signatures: options.allowSha1CertificateSignatures === true,
      logger: options.logger,
      ...(options.fetcher ? { fetcher: options.fetcher } : {}),
      ...(options.crlCache ? { crlCache: options.crlCache } : {}),
      ...(options.ocspCache ? { ocspCache: options.ocspCache } : {}),
      ...(options.crls ? { crls: options.crls } : {}),
    });
    reasons.push(...path.reasons);
    pathTrusted = path.trusted;
    anchor = path.anchor;
    chain = path.chain;
  }

  // 6. Routing tamper check: envelope and outer headers against the protected inner headers.
  reasons.push(...routingReasons(outer, innerEntity, wrapped, options.envelope));

  const unique = dedupe(reasons);
  const blocking = unique.filter((r) => !isAdvisory(r, options));
  const trusted = check.signatureValid && pathTrusted && blocking.length === 0;
  if (!trusted) {
    options.logger.warn('inbound message not trusted', {
      codes: blocking.map((r) => r.code),
      signer: signer?.fingerprintSha256,
    });
  }
  return {
    decrypted: true,
    signatureValid: check.signatureValid,
    trusted,
    signer,
    cipher,
    keyTransport,
    digest: check.digest,
    reasons: unique,
    inner,
    wrapped,
    anchor,
    chain,
  };
}

/** Reasons that are reported but, by configuration, do not block trust. */
function isAdvisory(r: Reason, options: InboundOptions): boolean {
  if (r.code === 'REVOCATION_UNKNOWN') return options.revocation !== 'hard';
  return r.code === 'CERT_SHA1_SIGNATURE';
}

function isEnveloped(entity: MimeEntity): boolean {
  const type = `${entity.contentType.type}/${entity.contentType.subtype}`.toLowerCase();
  if (ENVELOPED_TYPES.has(type)) {
    const smimeType = entity.contentType.params['smime-type']?.toLowerCase();
    return (
      smimeType === undefined ||
      smimeType === 'enveloped-data' ||
      smimeType === 'authenveloped-data'
    );
  }
  // Some mail systems label the envelope application/octet-stream with a .p7m name.
  if (type === 'application/octet-stream') {
    const name = entity.contentType.params['name'] ?? '';
    return /\.p7m$/i.test(name);
  }
  return false;
}

/**
 * The signature and the entity it covers: a multipart/signed (detached; verified over the
 * first part's exact bytes, with a CRLF-canonical retry for senders that wrote bare LFs) or
 * an opaque application/pkcs7-mime signed-data.
 */
function verifyEntity(
  entity: MimeEntity,
): { check: SignatureCheck; signedEntity: MimeEntity | Buffer } | undefined {
  const type = `${entity.contentType.type}/${entity.contentType.subtype}`.toLowerCase();
  if (type === 'multipart/signed') {
    const [content, signaturePart] = entity.children;
    if (content === undefined || signaturePart === undefined) {
      throw new HispError(
        'MIME_MALFORMED',
        'The multipart/signed message does not have two parts.',
      );
    }
    const signatureType =
      `${signaturePart.contentType.type}/${signaturePart.contentType.subtype}`.toLowerCase();
    if (!SIGNATURE_TYPES.has(signatureType)) {
      throw new HispError(
        'MIME_MALFORMED',
        `The signature part is ${signatureType}, not application/pkcs7-signature.`,
      );
    }
    const signatureDer = decodeBody(signaturePart);
    let check = verifySignedData(signatureDer, content.raw);
    if (!check.signatureValid) {
      const canonical = toCrlf(content.raw);
      if (canonical !== content.raw) {
        const retry = verifySignedData(signatureDer, canonical);
        if (retry.signatureValid) check = retry;
      }
    }
    return { check, signedEntity: content };
  }
  if (
    ENVELOPED_TYPES.has(type) &&
    entity.contentType.params['smime-type']?.toLowerCase() === 'signed-data'
  ) {
    const check = verifySignedData(decodeBody(entity));
    if (check.encapsulatedContent === undefined) {
      throw new HispError('CMS_MALFORMED', 'The signed-data carries no content.');
    }
    return { check, signedEntity: check.encapsulatedContent };
  }
  return undefined;
}

function innerMessage(
  outer: MimeEntity,
  signed: MimeEntity | Buffer,
): { inner: Buffer; wrapped: boolean } {
  const entity = Buffer.isBuffer(signed) ? parseMime(signed) : signed;
  const type = `${entity.contentType.type}/${entity.contentType.subtype}`.toLowerCase();
  if (type === 'message/rfc822') return { inner: decodeBody(entity), wrapped: true };
  // Unwrapped: the outer headers (less the envelope's own Content-*) around the signed entity.
  const headers = outer.headers
    .filter(({ name }) => !/^(content-|mime-version$)/i.test(name))
    .map(({ name, value }) => `${name}: ${value}\r\n`)
    .join('');
  return {
    inner: Buffer.concat([Buffer.from(`${headers}MIME-Version: 1.0\r\n`), entity.raw]),
    wrapped: false,
  };
}

/** Addresses in a header; an unparsable header counts as none (the caller reports what is missing). */
function addressList(entity: MimeEntity, name: string): { address: string }[] {
  const value = headerValue(entity, name);
  if (value === undefined) return [];
  try {
    return parseAddressList(value);
  } catch {
    return [];
  }
}

function singleAddress(entity: MimeEntity, name: string): string | undefined {
  const list = addressList(entity, name);
  return list.length === 1 ? list[0]?.address : undefined;
}

function addressesOf(entity: MimeEntity, ...names: string[]): Set<string> {
  const out = new Set<string>();
  for (const name of names) {
    for (const { address } of addressList(entity, name)) out.add(normalizeAddress(address));
  }
  return out;
}

function routingReasons(
  outer: MimeEntity,
  inner: MimeEntity,
  wrapped: boolean,
  envelope: InboundOptions['envelope'],
): Reason[] {
  const reasons: Reason[] = [];
  const innerSenders = addressesOf(inner, 'from', 'sender');
  const innerRecipients = addressesOf(inner, 'to', 'cc');
  if (envelope?.mailFrom !== undefined && envelope.mailFrom !== '') {
    if (!innerSenders.has(normalizeAddress(envelope.mailFrom))) {
      reasons.push(
        reason(
          'ROUTING_MISMATCH',
          `The envelope sender ${envelope.mailFrom} is not the message's From or Sender.`,
        ),
      );
    }
  }
  for (const recipient of envelope?.rcptTo ?? []) {
    if (!innerRecipients.has(normalizeAddress(recipient))) {
      reasons.push(
        reason(
          'ROUTING_MISMATCH',
          `The envelope recipient ${recipient} is not in the message's To or Cc.`,
        ),
      );
    }
  }
  if (wrapped) {
    const outerFrom = addressesOf(outer, 'from');
    const innerFrom = addressesOf(inner, 'from');
    if (outerFrom.size > 0 && [...outerFrom].some((a) => !innerFrom.has(a))) {
      reasons.push(
        reason(
          'ROUTING_MISMATCH',
          'The outer From differs from the protected From inside the message.',
        ),
      );
    }
  }
  return reasons;
}

function dedupe(reasons: readonly Reason[]): Reason[] {
  const seen = new Set<string>();
  return reasons.filter((r) => {
    const key = `${r.code}\u0000${r.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
