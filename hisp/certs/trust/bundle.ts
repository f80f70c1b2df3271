/**
 * Trust bundles (DESIGN.md §4 "Trust"): PKCS#7 `.p7b` files of trust anchors, as DirectTrust
 * and other trust communities publish them, read from bytes (a file or an HTTPS answer).
 *
 * - Unsigned bundle: a degenerate "certs-only" SignedData (no SignerInfo), as written by
 *   `openssl crl2pkcs7 -nocrl -certfile certs.pem`. Its anchors are its `certificates`.
 *   A PEM text of concatenated CERTIFICATE blocks is read as an unsigned bundle too.
 * - Signed bundle (DirectTrust style): a SignedData with exactly one SignerInfo whose
 *   encapsulated content (id-data, present) IS an unsigned bundle (DER, or PEM inside), as
 *   written by `openssl cms -sign -nodetach -binary` or `openssl smime -sign -nodetach
 *   -binary`. Its anchors are the INNER bundle's certificates; the outer `certificates` only
 *   carry the signer's chain. The signature is checked by the security agent's CMS verifier
 *   (hisp/agent/cms/signed.ts: messageDigest/contentType attributes, RSA PKCS#1 v1.5,
 *   RSASSA-PSS, ECDSA, SHA-256/384/512; MD5 and SHA-1 refused), then the signer must be a
 *   configured signer or chain to one (hisp/certs/path.ts, revocation off).
 *
 * ```asn1
 * ContentInfo ::= SEQUENCE { contentType OBJECT IDENTIFIER, content [0] EXPLICIT ANY }
 * SignedData ::= SEQUENCE {
 *   version CMSVersion, digestAlgorithms SET, encapContentInfo SEQUENCE,
 *   certificates [0] IMPLICIT CertificateSet OPTIONAL,
 *   crls [1] IMPLICIT RevocationInfoChoices OPTIONAL,
 *   signerInfos SET OF SignerInfo }
 * ```
 *
 * Every input is hostile until parsed (risk-16): its size, the number of certificates, the
 * ASN.1 depth and element count, and the nesting (no signed bundle inside a signed bundle)
 * are bounded (TRUST_BUNDLE_LIMITS; exceeding one is LIMIT_EXCEEDED). Anything that is not a
 * bundle is BUNDLE_MALFORMED with a message that says what it was. A certificate inside a
 * bundle that cannot be read, or is expired, not yet valid or has a weak key at `at`, is
 * skipped (and listed with its reason) rather than failing the whole bundle.
 */
import { createHash } from 'node:crypto';

import { verifySignedData, type SignatureCheck } from '../../agent/cms/signed.js';
import { HispError, type Reason } from '../../api/errors.js';
import { BerReader, UNIVERSAL, contextTag, tagMatches, tagName, type Tlv } from '../../asn1/ber.js';
import { looksLikePem, readPemBlocks, PemError } from '../../keys/pem.js';
import type { Logger } from '../../log/logger.js';
import { parseCertificate, type ParsedCertificate } from '../certificate.js';
import type { Fetcher } from '../fetch.js';
import { validatePath } from '../path.js';
import { validityReasons, weakKeyReason } from '../policy.js';

/** Bounds of the trust-bundle reader (risk-16). Real DirectTrust bundles are a few hundred KB
 * with a few hundred anchors. */
export const TRUST_BUNDLE_LIMITS = {
  /** One bundle (file or HTTPS answer), DER or PEM. */
  bytes: 16 * 1024 * 1024,
  /** Certificates in one bundle (inner and outer sets each). */
  certificates: 10_000,
  /** ASN.1 nesting depth of the bundle's structure (the certificates are parsed apart). */
  asn1Depth: 32,
  /** ASN.1 element headers read in one bundle's structure. */
  asn1Elements: 200_000,
  /** Bundles inside bundles: a signed bundle may hold one unsigned bundle, nothing deeper. */
  nesting: 1,
} as const;

/** Content types, for messages naming what a non-bundle was. */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '1.2.840.113549.1.7.1': 'CMS data',
  '1.2.840.113549.1.7.2': 'CMS signed-data',
  '1.2.840.113549.1.7.3': 'CMS enveloped-data (an encrypted message)',
  '1.2.840.113549.1.7.5': 'CMS digested-data',
  '1.2.840.113549.1.7.6': 'CMS encrypted-data',
  '1.2.840.113549.1.9.16.1.2': 'CMS authenticated-data',
  '1.2.840.113549.1.9.16.1.23': 'CMS auth-enveloped-data (an encrypted message)',
};
/** SignerInfos read before refusing a bundle for having more than one. */
const MAX_SIGNER_INFOS = 16;
const ID_DATA = '1.2.840.113549.1.7.1';
const ID_SIGNED_DATA = '1.2.840.113549.1.7.2';

export interface ReadBundleOptions {
  /**
   * The configured trusted signers of this bundle: the signing certificate itself or a CA
   * that issued it. Empty: a signed bundle is refused (BUNDLE_SIGNER_UNTRUSTED naming its
   * signer, so a person can decide to configure it).
   */
  readonly signers: readonly ParsedCertificate[];
  /** Refuse an unsigned bundle (BUNDLE_SIGNER_UNTRUSTED). Default false. */
  readonly requireSigned?: boolean;
  /** Time for the anchors' and the signer's validity. Default: now. */
  readonly at?: Date;
  /** For the signer's path validation. */
  readonly logger: Logger;
  /** Largest input accepted. Default TRUST_BUNDLE_LIMITS.bytes. */
  readonly maxBytes?: number;
  /** Most certificates in one bundle. Default TRUST_BUNDLE_LIMITS.certificates. */
  readonly maxCertificates?: number;
}

/** A certificate of the bundle that was not taken as an anchor, and why. */
export interface SkippedCertificate {
  /** SHA-256 of the entry's bytes (lowercase hex), also when it could not be parsed. */
  readonly fingerprintSha256?: string;
  readonly subject?: string;
  readonly reason: Reason;
}

export type TrustBundleFormat = 'pkcs7-der' | 'pkcs7-pem' | 'pem-certificates';

export interface TrustBundleContent {
  /** A signed bundle whose signature and signer were checked. */
  readonly signed: boolean;
  readonly signer?: { readonly subject: string; readonly fingerprintSha256: string };
  /** The signing-time attribute of a signed bundle, when present (informational, unchecked). */
  readonly signingTime?: Date;
  /** How the outer bytes were written. */
  readonly format: TrustBundleFormat;
  /** Lowercase hex SHA-256 of exactly the bytes given (to detect an unchanged bundle). */
  readonly digestSha256: string;
  /** De-duplicated by fingerprint, in bundle order; CA and end-entity certificates alike. */
  readonly anchors: ParsedCertificate[];
  readonly skipped: SkippedCertificate[];
}

// ── Errors ───────────────────────────────────────────────────────────────────────────────
const MALFORMED_PREFIX = 'The trust bundle could not be read: ';

function malformed(message: string, cause?: unknown): HispError {
  return new HispError(
    'BUNDLE_MALFORMED',
    `${MALFORMED_PREFIX}${message}.`,
    cause === undefined ? undefined : { cause },
  );
}

function tooLarge(message: string): HispError {
  return new HispError('LIMIT_EXCEEDED', `The trust bundle is too large: ${message}.`);
}

function signatureInvalid(message: string): HispError {
  return new HispError('BUNDLE_SIGNATURE_INVALID', message);
}

function signerUntrusted(message: string): HispError {
  return new HispError('BUNDLE_SIGNER_UNTRUSTED', message);
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// ── Container: DER, PEM PKCS7/CMS, PEM certificates ─────────────────────────────────────────
interface Limits {
  readonly maxBytes: number;
  readonly maxCertificates: number;
}

/** What the bytes hold, before any certificate is parsed. */
type Container =
  | {
      readonly kind: 'certificates';
      readonly format: TrustBundleFormat;
      /** Each entry's bytes as found (DER expected), in order. */
      readonly entries: readonly Entry[];
    }
  | {
      readonly kind: 'signed';
      readonly format: TrustBundleFormat;
      /** The whole ContentInfo (DER/BER), for the signature check. */
      readonly der: Uint8Array;
    };

type Entry = { readonly der: Uint8Array } | { readonly der: Uint8Array; readonly problem: string };

const PEM_BEGIN = '-----BEGIN ';

function countOccurrences(text: string, needle: string, max: number): number {
  let count = 0;
  for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + needle.length)) {
    if (++count > max) break;
  }
  return count;
}

function readContainer(bytes: Uint8Array, limits: Limits, nesting: number): Container {
  if (bytes.byteLength === 0) throw malformed('it is empty');
  if (bytes.byteLength > limits.maxBytes) {
    throw tooLarge(`${bytes.byteLength} bytes, more than the ${limits.maxBytes} accepted`);
  }
  if (bytes[0] === 0x30) return readContentInfo(bytes, 'pkcs7-der', limits, nesting);
  if (!looksLikePem(bytes)) {
    throw malformed(
      'it is not PKCS#7: neither DER (it does not start with an ASN.1 SEQUENCE) nor PEM text',
    );
  }
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  // PEM blocks beyond any bundle accepted are refused before they are decoded.
  const maxBlocks = limits.maxCertificates + 16;
  const count = countOccurrences(text, PEM_BEGIN, maxBlocks);
  if (count > maxBlocks) throw tooLarge(`more than ${maxBlocks} PEM blocks`);
  let blocks;
  try {
    blocks = readPemBlocks(bytes, maxBlocks);
  } catch (error) {
    if (error instanceof PemError) throw malformed(`its PEM is broken (${error.message})`, error);
    throw error;
  }
  const pkcs7 = blocks.filter((b) => b.label === 'PKCS7' || b.label === 'CMS');
  const certificates = blocks.filter(
    (b) => b.label === 'CERTIFICATE' || b.label === 'X509 CERTIFICATE',
  );
  if (pkcs7.length > 1) throw malformed(`it holds ${pkcs7.length} PKCS7 blocks, one expected`);
  const [only] = pkcs7;
  if (only !== undefined) {
    if (certificates.length > 0) {
      throw malformed('it mixes a PKCS7 block with CERTIFICATE blocks');
    }
    return readContentInfo(only.der, 'pkcs7-pem', limits, nesting);
  }
  if (certificates.length === 0) {
    const labels = [...new Set(blocks.map((b) => b.label))].slice(0, 5).join(', ');
    throw malformed(
      `it is not PKCS#7: its PEM holds no PKCS7, CMS or CERTIFICATE block${labels === '' ? '' : ` (found: ${labels})`}`,
    );
  }
  if (certificates.length > limits.maxCertificates) {
    throw tooLarge(`more than ${limits.maxCertificates} certificates`);
  }
  return {
    kind: 'certificates',
    format: 'pem-certificates',
    entries: certificates.map((b) => ({ der: b.der })),
  };
}

/** The element header at the start: for the "truncated" message of a cut-off file. */
function declaredEnd(bytes: Uint8Array): number | undefined {
  const first = bytes[1];
  if (first === undefined) return undefined;
  if (first < 0x80) return 2 + first;
  const count = first & 0x7f;
  if (count === 0 || count > 6) return undefined;
  let length = 0;
  for (let i = 0; i < count; i++) {
    const byte = bytes[2 + i];
    if (byte === undefined) return undefined;
    length = length * 256 + byte;
  }
  return 2 + count + length;
}

function bundleReader(bytes: Uint8Array, limits: Limits): BerReader {
  return new BerReader(bytes, {
    what: 'trust bundle',
    maxBytes: limits.maxBytes,
    maxDepth: TRUST_BUNDLE_LIMITS.asn1Depth,
    maxElements: TRUST_BUNDLE_LIMITS.asn1Elements,
    maxDeclaredLength: limits.maxBytes,
    error: (kind, detail) =>
      kind === 'limit' ? tooLarge(detail) : malformed(`it is not valid PKCS#7 (${detail})`),
  });
}

function readContentInfo(
  bytes: Uint8Array,
  format: TrustBundleFormat,
  limits: Limits,
  nesting: number,
): Container {
  const reader = bundleReader(bytes, limits);
  const end = declaredEnd(bytes);
  if (end !== undefined && end > bytes.byteLength && end - 2 <= limits.maxBytes) {
    throw malformed(
      `it is truncated (its outer element declares ${end} bytes, ${bytes.byteLength} are present)`,
    );
  }
  const root = reader.root();
  if (!tagMatches(root, UNIVERSAL.SEQUENCE)) throw malformed('it is not PKCS#7');
  const [first] = reader.children(root);
  if (first !== undefined && tagMatches(first, UNIVERSAL.SEQUENCE)) {
    throw malformed(
      'it is not PKCS#7 but looks like a single X.509 certificate (add it as an anchor instead)',
    );
  }
  const [typeTlv, explicit] = reader.fieldList(root, 'ContentInfo', 0, 2);
  const contentType = reader.oid(typeTlv, 'contentType');
  if (contentType !== ID_SIGNED_DATA) {
    throw malformed(
      `it is not a PKCS#7 certificate bundle but ${CONTENT_TYPES[contentType] ?? `content of type ${contentType}`}`,
    );
  }
  const signedData = reader.expect(
    reader.explicit(explicit, contextTag(0, true), 'content'),
    UNIVERSAL.SEQUENCE,
    'SignedData',
  );
  const fields = reader.fieldList(signedData, 'SignedData', 4, 6);
  reader.expect(fields[0], UNIVERSAL.INTEGER, 'SignedData version');
  reader.expect(fields[1], UNIVERSAL.SET, 'digestAlgorithms');
  const encap = reader.expect(fields[2], UNIVERSAL.SEQUENCE, 'encapContentInfo');
  let i = 3;
  let certificateSet: Tlv | undefined;
  const maybeCerts = fields[i];
  if (maybeCerts !== undefined && tagMatches(maybeCerts, contextTag(0, true))) {
    certificateSet = maybeCerts;
    i++;
  }
  const maybeCrls = fields[i];
  if (maybeCrls !== undefined && tagMatches(maybeCrls, contextTag(1, true))) i++;
  const signerInfos = reader.expect(fields[i++], UNIVERSAL.SET, 'signerInfos');
  if (i !== fields.length) throw malformed('it is not valid PKCS#7 (SignedData has extra fields)');
  const signerCount = reader.childList(signerInfos, 'SignerInfos', MAX_SIGNER_INFOS).length;
  if (signerCount > 1) {
    throw malformed(`it carries ${signerCount} signatures (SignerInfos); a signed bundle has one`);
  }

  if (signerCount === 0) {
    const entries: Entry[] = [];
    if (certificateSet !== undefined) {
      for (const choice of reader.childList(
        certificateSet,
        'certificates',
        limits.maxCertificates,
      )) {
        entries.push(
          tagMatches(choice, UNIVERSAL.SEQUENCE)
            ? { der: reader.raw(choice) }
            : {
                der: reader.raw(choice),
                problem: `the entry is not an X.509 certificate (CertificateChoices ${tagName(choice)})`,
              },
        );
      }
    }
    return { kind: 'certificates', format, entries };
  }

  if (nesting >= TRUST_BUNDLE_LIMITS.nesting) {
    throw new HispError(
      'LIMIT_EXCEEDED',
      'The trust bundle nests a signed bundle inside a signed bundle; only one level of signing is read.',
    );
  }
  const [eType, eContent] = reader.fieldList(encap, 'encapContentInfo', 1, 2);
  const eContentType = reader.oid(eType, 'eContentType');
  if (eContentType !== ID_DATA) {
    throw malformed(
      `it is signed but encapsulates ${CONTENT_TYPES[eContentType] ?? eContentType}, not a certificate bundle (id-data)`,
    );
  }
  if (eContent === undefined) {
    throw malformed(
      'it is a detached signature: the signed bundle must encapsulate the certificate bundle (sign with -nodetach)',
    );
  }
  return { kind: 'signed', format, der: bytes };
}

// ── Signature and signer ──────────────────────────────────────────────────────────────────
function weakDigestOf(check: SignatureCheck): string | undefined {
  if (check.digest === 'md5' || check.digest === 'sha1') return check.digest.toUpperCase();
  const match = /-(md5|sha1)$/.exec(check.signatureAlgorithm);
  return match?.[1]?.toUpperCase();
}

function checkSignature(der: Uint8Array): SignatureCheck & { encapsulatedContent: Buffer } {
  let check: SignatureCheck;
  try {
    check = verifySignedData(der);
  } catch (error) {
    if (error instanceof HispError && error.code === 'CMS_MALFORMED') {
      throw malformed(`its signed-data is broken (${error.message})`, error);
    }
    throw error;
  }
  const weak = weakDigestOf(check);
  if (weak !== undefined) {
    throw signatureInvalid(
      `The trust bundle is signed with ${weak} (${check.signatureAlgorithm}), a weak digest that Sealpost refuses (MD5 and SHA-1); ask its publisher for a SHA-256 or stronger signature.`,
    );
  }
  if (check.reasons.some((r) => r.code === 'NOT_SIGNED')) {
    throw signerUntrusted(
      "The trust bundle does not carry its signer's certificate (it was signed without certificates), so its signer cannot be identified.",
    );
  }
  if (
    !check.signatureValid ||
    check.reasons.length > 0 ||
    check.encapsulatedContent === undefined
  ) {
    const why = check.reasons.map((r) => r.message).join(' ');
    throw signatureInvalid(
      `The trust bundle's signature does not verify (${check.signatureAlgorithm}): it was changed after it was signed, or is damaged, so it was not used.${why === '' ? '' : ` ${why}`}`,
    );
  }
  return { ...check, encapsulatedContent: check.encapsulatedContent };
}

function describe(cert: { subject: string; fingerprintSha256: string }): string {
  return `"${cert.subject}" (SHA-256 ${cert.fingerprintSha256})`;
}

async function checkSigner(
  check: SignatureCheck,
  options: ReadBundleOptions,
  at: Date,
): Promise<ParsedCertificate> {
  const signerDer = check.signerCertDer;
  if (signerDer === undefined) {
    throw signerUntrusted("The trust bundle does not carry its signer's certificate.");
  }
  let signer: ParsedCertificate;
  try {
    signer = parseCertificate(signerDer);
  } catch (error) {
    throw signerUntrusted(
      `The trust bundle's signer certificate (SHA-256 ${sha256Hex(signerDer)}) cannot be read: ${errorText(error)}`,
    );
  }
  if (options.signers.length === 0) {
    throw signerUntrusted(
      `The trust bundle is signed by ${describe(signer)}, but no signer is configured for this bundle. If you trust this signer, configure its certificate (or the CA that issued it) as the bundle's signer.`,
    );
  }
  const intermediates: ParsedCertificate[] = [];
  for (const der of check.certificatesDer) {
    try {
      intermediates.push(parseCertificate(der));
    } catch {
      // Not readable: it cannot be part of the signer's path; the path result says what is missing.
    }
  }
  // The configured signer itself (same bytes) is an anchor of a one-certificate path; a
  // configured CA anchors a path through the bundle's own certificates.
  const result = await validatePath(signer, {
    anchors: options.signers,
    intermediates,
    at,
    revocation: 'off',
    logger: options.logger,
  });
  if (!result.trusted) {
    const configured = options.signers.slice(0, 3).map(describe).join(', ');
    const more = options.signers.length > 3 ? ` and ${options.signers.length - 3} more` : '';
    const why = result.reasons[0]?.message ?? '';
    throw signerUntrusted(
      `The trust bundle is signed by ${describe(signer)}, which is not a configured signer of this bundle and does not chain to one (configured: ${configured}${more}).${why === '' ? '' : ` ${why}`}`,
    );
  }
  return signer;
}

// ── Anchors ────────────────────────────────────────────────────────────────────────────────
function collectAnchors(
  entries: readonly Entry[],
  at: Date,
): { anchors: ParsedCertificate[]; skipped: SkippedCertificate[] } {
  const anchors: ParsedCertificate[] = [];
  const skipped: SkippedCertificate[] = [];
  const seen = new Set<string>();
  for (const [index, entry] of entries.entries()) {
    const fingerprintSha256 = sha256Hex(entry.der);
    if (seen.has(fingerprintSha256)) continue;
    seen.add(fingerprintSha256);
    if ('problem' in entry) {
      skipped.push({
        fingerprintSha256,
        reason: { code: 'CERT_MALFORMED', message: `Entry ${index + 1}: ${entry.problem}.` },
      });
      continue;
    }
    let cert: ParsedCertificate;
    try {
      cert = parseCertificate(entry.der);
    } catch (error) {
      skipped.push({
        fingerprintSha256,
        reason: {
          code: error instanceof HispError ? error.code : 'CERT_MALFORMED',
          message: `Entry ${index + 1} is not a readable certificate: ${errorText(error)}`,
        },
      });
      continue;
    }
    const problems = [...validityReasons(cert, at, 'Anchor')];
    const weak = weakKeyReason(cert, 'Anchor');
    if (weak !== undefined) problems.push(weak);
    const [first] = problems;
    if (first !== undefined) {
      skipped.push({ fingerprintSha256, subject: cert.subject, reason: first });
      continue;
    }
    anchors.push(cert);
  }
  return { anchors, skipped };
}

// ── Public API ─────────────────────────────────────────────────────────────────────────────
/**
 * Reads a trust bundle: DER or PEM PKCS#7/CMS (signed or unsigned), or PEM concatenated
 * certificates (unsigned). A signed bundle must verify and be signed by one of
 * `options.signers` (or a certificate that chains to one, at `options.at`).
 *
 * @throws HispError BUNDLE_MALFORMED (not a bundle: the message says what it was),
 *   BUNDLE_SIGNATURE_INVALID (bad signature, MD5/SHA-1, unsupported algorithm),
 *   BUNDLE_SIGNER_UNTRUSTED (signer not configured — the message names its subject and
 *   SHA-256 fingerprint — or an unsigned bundle when `requireSigned`), LIMIT_EXCEEDED.
 */
export async function readTrustBundle(
  bytes: Uint8Array,
  options: ReadBundleOptions,
): Promise<TrustBundleContent> {
  if (!(bytes instanceof Uint8Array)) throw malformed('the input is not bytes');
  const limits: Limits = {
    maxBytes: options.maxBytes ?? TRUST_BUNDLE_LIMITS.bytes,
    maxCertificates: options.maxCertificates ?? TRUST_BUNDLE_LIMITS.certificates,
  };
  const at = options.at ?? new Date();
  if (Number.isNaN(at.getTime())) throw new HispError('INTERNAL', 'The time `at` is not a date.');
  const container = readContainer(bytes, limits, 0);
  const digestSha256 = sha256Hex(bytes);

  if (container.kind === 'certificates') {
    if (options.requireSigned === true) {
      throw signerUntrusted(
        'The trust bundle is not signed, but this bundle is configured to require a signature, so it was not used.',
      );
    }
    return {
      signed: false,
      format: container.format,
      digestSha256,
      ...collectAnchors(container.entries, at),
    };
  }

  const check = checkSignature(container.der);
  const signer = await checkSigner(check, options, at);
  // Only now, authenticated, is the inner bundle read.
  let inner: Container;
  try {
    inner = readContainer(check.encapsulatedContent, limits, 1);
  } catch (error) {
    if (error instanceof HispError && error.code === 'BUNDLE_MALFORMED') {
      throw malformed(
        `its signature is valid, but the signed content is not a certificate bundle (${error.message.replace(MALFORMED_PREFIX, '').replace(/\.$/, '')})`,
        error,
      );
    }
    throw error;
  }
  if (inner.kind !== 'certificates') {
    // readContainer refuses a signed bundle at nesting 1; kept for the type.
    throw new HispError('LIMIT_EXCEEDED', 'The trust bundle nests a signed bundle.');
  }
  return {
    signed: true,
    signer: { subject: signer.subject, fingerprintSha256: signer.fingerprintSha256 },
    ...(check.signingTime === undefined ? {} : { signingTime: check.signingTime }),
    format: container.format,
    digestSha256,
    ...collectAnchors(inner.entries, at),
  };
}

export interface FetchBundleOptions {
  /** Refuse (LIMIT_EXCEEDED) a larger answer. Default TRUST_BUNDLE_LIMITS.bytes. */
  readonly maxBytes?: number;
}

/**
 * Fetches a trust bundle's bytes over HTTPS with `fetcher` (createHttpFetcher: redirects,
 * deadline and the size limit apply while the body arrives). Any other scheme (http:, file:…)
 * is FETCH_FAILED before anything is sent. Read the result with readTrustBundle.
 *
 * @throws HispError FETCH_FAILED, LIMIT_EXCEEDED.
 */
export async function fetchTrustBundle(
  url: string,
  fetcher: Fetcher,
  options: FetchBundleOptions = {},
): Promise<Buffer> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new HispError('FETCH_FAILED', 'Could not fetch the trust bundle: the URL is not valid.');
  }
  if (parsed.protocol !== 'https:') {
    throw new HispError(
      'FETCH_FAILED',
      `Could not fetch the trust bundle from ${parsed.host || 'that URL'}: trust bundles are only fetched over HTTPS, not ${parsed.protocol.replace(/:$/, '')}.`,
    );
  }
  return fetcher.get(parsed.href, {
    maxBytes: options.maxBytes ?? TRUST_BUNDLE_LIMITS.bytes,
    httpsOnly: true,
  });
}
